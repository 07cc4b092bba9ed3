-- What a stream is created with is sealed into its root row, so that creating a decision or an
-- execution writes no event row and (for a trail) no stream head row:
--
-- * trade_decisions.initial_status and executions.initial_raw_order are set by the sealing
--   trigger from the inserted row (whatever the writer gave) and never change. Events record
--   what happens after creation: a status transition (payload {"from", "to"}) and every later
--   broker payload.
-- * trade_decisions.initial_chain_rows is 2 when the writer inserts the decision's review in the
--   same statement (a trail), else NULL. That review is then row 2 of the stream, linked to the
--   root, and needs no head row: the root says how long the stream is until a later row
--   creates the head (at row 3, from the review's hash).
--
-- The root content (see 0008) covers these columns when they are set; rows sealed before this
-- migration have them NULL and keep the content they were sealed with. torghut audit verify
-- replays a decision's status from initial_status (else 'planned') and its status events, an
-- execution's fill state from initial_raw_order (when set) and its events, and takes a stream
-- without a head row to end at row initial_chain_rows (else 1).

ALTER TABLE trade_decisions ADD COLUMN initial_status text;
ALTER TABLE trade_decisions ADD COLUMN initial_chain_rows bigint;
ALTER TABLE executions ADD COLUMN initial_raw_order jsonb;

-- The stream roots: sealing needs no table access, so these run as the inserting role.
CREATE FUNCTION audit_seal_decision() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.initial_chain_rows IS DISTINCT FROM 2 AND NEW.initial_chain_rows IS NOT NULL THEN
    RAISE EXCEPTION 'INSERT on trade_decisions refused: initial_chain_rows is 2 (its review is inserted in the same statement) or null, not %', NEW.initial_chain_rows
      USING ERRCODE = 'TA001';
  END IF;
  NEW.initial_status := NEW.status;
  NEW.chain_seq := 1;
  NEW.chain_hash := sha256(sha256(convert_to('trade_decisions ' || (jsonb_build_object(
      'id', NEW.id, 'strategy_id', NEW.strategy_id, 'alpaca_account_label', NEW.alpaca_account_label,
      'symbol', NEW.symbol, 'timeframe', NEW.timeframe, 'decision_json', NEW.decision_json,
      'rationale', NEW.rationale, 'decision_hash', NEW.decision_hash,
      'created_at', NEW.created_at AT TIME ZONE 'UTC', 'initial_status', NEW.initial_status)
    || CASE WHEN NEW.initial_chain_rows IS NULL THEN '{}'::jsonb
       ELSE jsonb_build_object('initial_chain_rows', NEW.initial_chain_rows) END)::text, 'UTF8')));
  RETURN NEW;
END
$$;

CREATE FUNCTION audit_seal_execution() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.initial_raw_order := NEW.raw_order;
  NEW.chain_seq := 1;
  NEW.chain_hash := sha256(sha256(convert_to('executions ' || (jsonb_build_object(
      'id', NEW.id, 'symbol', NEW.symbol, 'side', NEW.side,
      'created_at', NEW.created_at AT TIME ZONE 'UTC')
    || CASE WHEN NEW.initial_raw_order IS NULL THEN '{}'::jsonb
       ELSE jsonb_build_object('initial_raw_order', NEW.initial_raw_order) END)::text, 'UTF8')));
  RETURN NEW;
END
$$;

-- Every other row: as in 0008 (see there), except that the review a trail inserts with its
-- decision (initial_chain_rows = 2, no row 2 yet) is row 2 without a head row, and the head row
-- of such a stream is created at row 3 from that review's hash.
CREATE OR REPLACE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  c bytea;
  sid uuid;
  mine boolean;
  opening boolean := false;
  root bytea;
BEGIN
  IF TG_TABLE_NAME = 'decision_events' THEN
    sid := NEW.decision_id;
  ELSIF TG_TABLE_NAME = 'llm_decision_reviews' THEN
    sid := NEW.trade_decision_id;
    SELECT d.xmin = pg_current_xact_id()::xid, d.chain_hash,
           d.initial_chain_rows = 2 AND NOT EXISTS (SELECT 1 FROM llm_decision_reviews v
             WHERE v.trade_decision_id = d.id AND v.chain_seq = 2)
      INTO mine, root, opening
      FROM trade_decisions d WHERE d.id = sid;
    -- The review of a trail, inserted with its decision by this transaction, is row 2.
    opening := mine AND opening AND root IS NOT NULL;
    -- A decision inserted by this transaction is seen by no other writer: no lock needed.
    IF NOT coalesce(mine, true) THEN
      PERFORM 1 FROM trade_decisions d WHERE d.id = sid FOR NO KEY UPDATE;
    END IF;
  ELSIF TG_TABLE_NAME = 'execution_events' THEN
    sid := NEW.execution_id;
  ELSE
    RAISE EXCEPTION 'audit_seal: unexpected table %', TG_TABLE_NAME;
  END IF;
  c := sha256(convert_to(TG_TABLE_NAME || ' ' || ((to_jsonb(NEW) - 'chain_seq' - 'chain_hash')
    || jsonb_build_object('created_at', NEW.created_at AT TIME ZONE 'UTC'))::text, 'UTF8'));
  IF opening THEN
    NEW.chain_seq := 2;
    NEW.chain_hash := sha256(root || c);
    RETURN NEW;
  END IF;
  -- One statement: the head moves, or the stream's first row after its opening rows creates it
  -- (no root, or an unsealed one: nothing is returned, the row stays unsealed and the foreign
  -- key or verify reports it).
  IF TG_ARGV[0] = 'decision' THEN
    INSERT INTO audit_chain_heads AS h (stream, stream_id, seq, head)
    SELECT 'decision', sid, coalesce(r.initial_chain_rows, 1) + 1,
           sha256(coalesce(v.chain_hash, r.chain_hash) || c)
    FROM trade_decisions r
    LEFT JOIN llm_decision_reviews v
      ON r.initial_chain_rows = 2 AND v.trade_decision_id = r.id AND v.chain_seq = 2
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

DROP TRIGGER audit_seal ON trade_decisions;
CREATE TRIGGER audit_seal BEFORE INSERT ON trade_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_seal_decision();
DROP TRIGGER audit_seal ON executions;
CREATE TRIGGER audit_seal BEFORE INSERT ON executions
  FOR EACH ROW EXECUTE FUNCTION audit_seal_execution();

-- Every stream's head: the head row; without one, the root row, or the opening review of a
-- stream opened with one (initial_chain_rows = 2).
CREATE OR REPLACE FUNCTION audit_stream_heads() RETURNS TABLE (stream text, stream_id uuid, seq bigint, head bytea)
LANGUAGE sql STABLE AS $$
  SELECT h.stream, h.stream_id, h.seq, h.head FROM audit_chain_heads h
  UNION ALL
  SELECT 'decision', d.id, coalesce(v.chain_seq, d.chain_seq), coalesce(v.chain_hash, d.chain_hash)
  FROM trade_decisions d
  LEFT JOIN llm_decision_reviews v
    ON d.initial_chain_rows = 2 AND v.trade_decision_id = d.id AND v.chain_seq = 2
  WHERE d.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'decision' AND h.stream_id = d.id)
  UNION ALL
  SELECT 'execution', x.id, x.chain_seq, x.chain_hash FROM executions x
  WHERE x.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'execution' AND h.stream_id = x.id)
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
  FOR EACH ROW WHEN (OLD.initial_status IS DISTINCT FROM NEW.initial_status
                     OR OLD.initial_chain_rows IS DISTINCT FROM NEW.initial_chain_rows)
  EXECUTE FUNCTION audit_guard_initial();
CREATE TRIGGER audit_guard_initial BEFORE UPDATE ON executions
  FOR EACH ROW WHEN (OLD.initial_raw_order IS DISTINCT FROM NEW.initial_raw_order)
  EXECUTE FUNCTION audit_guard_initial();
