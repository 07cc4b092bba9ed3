-- The state a decision or an execution is created in is sealed into its stream's root row, so
-- that creating one writes no event row: trade_decisions.initial_status and
-- executions.initial_raw_order are set by the sealing trigger from the inserted row (whatever
-- the writer gave) and never change. Events record what happens after creation: a status
-- transition (payload {"from", "to"}) and every later broker payload.
--
-- The root content (see 0008) covers them when they are set; rows sealed before this migration
-- have them NULL and keep the content they were sealed with. torghut audit verify replays a
-- decision's status from initial_status (else 'planned') and its status events, and an
-- execution's fill state from initial_raw_order (when set) and its events.

ALTER TABLE trade_decisions ADD COLUMN initial_status text;
ALTER TABLE executions ADD COLUMN initial_raw_order jsonb;

CREATE OR REPLACE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  c bytea;
  sid uuid;
  mine boolean;
BEGIN
  IF TG_TABLE_NAME = 'trade_decisions' THEN
    NEW.initial_status := NEW.status;
    NEW.chain_seq := 1;
    NEW.chain_hash := sha256(sha256(convert_to('trade_decisions ' || jsonb_build_object(
      'id', NEW.id, 'strategy_id', NEW.strategy_id, 'alpaca_account_label', NEW.alpaca_account_label,
      'symbol', NEW.symbol, 'timeframe', NEW.timeframe, 'decision_json', NEW.decision_json,
      'rationale', NEW.rationale, 'decision_hash', NEW.decision_hash,
      'created_at', NEW.created_at AT TIME ZONE 'UTC', 'initial_status', NEW.initial_status)::text, 'UTF8')));
    RETURN NEW;
  ELSIF TG_TABLE_NAME = 'executions' THEN
    NEW.initial_raw_order := NEW.raw_order;
    NEW.chain_seq := 1;
    NEW.chain_hash := sha256(sha256(convert_to('executions ' || (jsonb_build_object(
      'id', NEW.id, 'symbol', NEW.symbol, 'side', NEW.side,
      'created_at', NEW.created_at AT TIME ZONE 'UTC')
      || CASE WHEN NEW.initial_raw_order IS NULL THEN '{}'::jsonb
         ELSE jsonb_build_object('initial_raw_order', NEW.initial_raw_order) END)::text, 'UTF8')));
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

-- The sealed initial state never changes (the runtime role cannot update these columns at all;
-- this refuses it to the owner too, outside audit maintenance).
CREATE FUNCTION audit_guard_initial() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF audit_maintenance(TG_RELID) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'UPDATE on % refused: the initial state a row was created in never changes (row %)', TG_TABLE_NAME, OLD.id
    USING ERRCODE = 'TA001';
END
$$;

CREATE TRIGGER audit_guard_initial BEFORE UPDATE ON trade_decisions
  FOR EACH ROW WHEN (OLD.initial_status IS DISTINCT FROM NEW.initial_status)
  EXECUTE FUNCTION audit_guard_initial();
CREATE TRIGGER audit_guard_initial BEFORE UPDATE ON executions
  FOR EACH ROW WHEN (OLD.initial_raw_order IS DISTINCT FROM NEW.initial_raw_order)
  EXECUTE FUNCTION audit_guard_initial();
