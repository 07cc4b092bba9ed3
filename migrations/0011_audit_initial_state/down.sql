-- Revert to sealing without the initial state. Refused once a row has been sealed with its
-- initial state: its root hash covers it, and without the columns (and without the events its
-- creation did not write) its chain and its history could no longer be checked.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM trade_decisions WHERE initial_status IS NOT NULL)
     OR EXISTS (SELECT 1 FROM executions WHERE initial_raw_order IS NOT NULL) THEN
    RAISE EXCEPTION 'cannot revert 0011_audit_initial_state: rows were sealed with their initial state'
      USING ERRCODE = 'TA003',
            HINT = 'applied audit history is not rewritten; move forward with a new migration instead';
  END IF;
END
$$;
DROP TRIGGER audit_guard_initial ON executions;
DROP TRIGGER audit_guard_initial ON trade_decisions;
DROP FUNCTION audit_guard_initial();
CREATE OR REPLACE FUNCTION audit_stream_heads() RETURNS TABLE (stream text, stream_id uuid, seq bigint, head bytea)
LANGUAGE sql STABLE AS $$
  SELECT h.stream, h.stream_id, h.seq, h.head FROM audit_chain_heads h
  UNION ALL
  SELECT 'decision', d.id, d.chain_seq, d.chain_hash FROM trade_decisions d
  WHERE d.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'decision' AND h.stream_id = d.id)
  UNION ALL
  SELECT 'execution', x.id, x.chain_seq, x.chain_hash FROM executions x
  WHERE x.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'execution' AND h.stream_id = x.id)
$$;
CREATE OR REPLACE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  c bytea;
  sid uuid;
  mine boolean;
BEGIN
  IF TG_TABLE_NAME = 'trade_decisions' THEN
    NEW.chain_seq := 1;
    NEW.chain_hash := sha256(sha256(convert_to('trade_decisions ' || jsonb_build_object(
      'id', NEW.id, 'strategy_id', NEW.strategy_id, 'alpaca_account_label', NEW.alpaca_account_label,
      'symbol', NEW.symbol, 'timeframe', NEW.timeframe, 'decision_json', NEW.decision_json,
      'rationale', NEW.rationale, 'decision_hash', NEW.decision_hash,
      'created_at', NEW.created_at AT TIME ZONE 'UTC')::text, 'UTF8')));
    RETURN NEW;
  ELSIF TG_TABLE_NAME = 'executions' THEN
    NEW.chain_seq := 1;
    NEW.chain_hash := sha256(sha256(convert_to('executions ' || jsonb_build_object(
      'id', NEW.id, 'symbol', NEW.symbol, 'side', NEW.side,
      'created_at', NEW.created_at AT TIME ZONE 'UTC')::text, 'UTF8')));
    RETURN NEW;
  ELSIF TG_TABLE_NAME = 'decision_events' THEN
    sid := NEW.decision_id;
  ELSIF TG_TABLE_NAME = 'llm_decision_reviews' THEN
    sid := NEW.trade_decision_id;
    SELECT d.xmin = pg_current_xact_id()::xid INTO mine FROM trade_decisions d WHERE d.id = sid;
    -- A decision inserted by this transaction is seen by no other writer: no lock needed.
    IF NOT coalesce(mine, true) THEN
      PERFORM 1 FROM trade_decisions d WHERE d.id = sid FOR NO KEY UPDATE;
    END IF;
  ELSE
    sid := NEW.execution_id;
  END IF;
  c := sha256(convert_to(TG_TABLE_NAME || ' ' || ((to_jsonb(NEW) - 'chain_seq' - 'chain_hash')
    || jsonb_build_object('created_at', NEW.created_at AT TIME ZONE 'UTC'))::text, 'UTF8'));
  -- One statement: the head moves, or the stream's second row creates it from the root's hash
  -- (no root, or an unsealed one: nothing is returned, the row stays unsealed and the foreign
  -- key or verify reports it).
  IF TG_ARGV[0] = 'decision' THEN
    INSERT INTO audit_chain_heads AS h (stream, stream_id, seq, head)
    SELECT 'decision', sid, 2, sha256(r.chain_hash || c) FROM trade_decisions r
    WHERE r.id = sid AND r.chain_hash IS NOT NULL
    ON CONFLICT (stream, stream_id) DO UPDATE SET seq = h.seq + 1, head = sha256(h.head || c)
    RETURNING h.seq, h.head INTO NEW.chain_seq, NEW.chain_hash;
  ELSE
    INSERT INTO audit_chain_heads AS h (stream, stream_id, seq, head)
    SELECT 'execution', sid, 2, sha256(r.chain_hash || c) FROM executions r
    WHERE r.id = sid AND r.chain_hash IS NOT NULL
    ON CONFLICT (stream, stream_id) DO UPDATE SET seq = h.seq + 1, head = sha256(h.head || c)
    RETURNING h.seq, h.head INTO NEW.chain_seq, NEW.chain_hash;
  END IF;
  RETURN NEW;
END
$$;
DROP TRIGGER audit_seal ON executions;
CREATE TRIGGER audit_seal BEFORE INSERT ON executions
  FOR EACH ROW EXECUTE FUNCTION audit_seal('execution');
DROP TRIGGER audit_seal ON trade_decisions;
CREATE TRIGGER audit_seal BEFORE INSERT ON trade_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_seal('decision');
DROP FUNCTION audit_seal_execution();
DROP FUNCTION audit_seal_decision();
ALTER TABLE executions DROP COLUMN initial_raw_order;
ALTER TABLE trade_decisions DROP COLUMN initial_chain_rows;
ALTER TABLE trade_decisions DROP COLUMN initial_status;
