-- Tamper evidence: per-stream hash chains over every audit row, and chained checkpoints that commit
-- to every stream head (see ARCHITECTURE.md, "Audit integrity").
--
-- Streams: one per decision (its trade_decisions row, decision_events, llm_decision_reviews) and
-- one per execution (its executions row, execution_events). Each row gets, when inserted,
-- chain_seq (1, 2, ... within its stream) and
--   chain_hash = sha256(previous row's chain_hash || sha256(table || ' ' || canonical JSON))
-- where the canonical JSON is PostgreSQL's jsonb text of the row without the chain columns and
-- with created_at as a UTC timestamp (so the session's TimeZone does not matter); for trade_decisions and executions only their immutable columns are covered (their
-- mutable columns are checked against the events by torghut audit verify). The stream head lives
-- in audit_chain_heads, one row per stream: writers of different streams never wait on each other.

ALTER TABLE trade_decisions ADD COLUMN chain_seq bigint;
ALTER TABLE trade_decisions ADD COLUMN chain_hash bytea;
ALTER TABLE decision_events ADD COLUMN chain_seq bigint;
ALTER TABLE decision_events ADD COLUMN chain_hash bytea;
ALTER TABLE llm_decision_reviews ADD COLUMN chain_seq bigint;
ALTER TABLE llm_decision_reviews ADD COLUMN chain_hash bytea;
ALTER TABLE executions ADD COLUMN chain_seq bigint;
ALTER TABLE executions ADD COLUMN chain_hash bytea;
ALTER TABLE execution_events ADD COLUMN chain_seq bigint;
ALTER TABLE execution_events ADD COLUMN chain_hash bytea;

CREATE TABLE audit_chain_heads (
    stream text NOT NULL,
    stream_id uuid NOT NULL,
    seq bigint NOT NULL,
    head bytea NOT NULL,
    CONSTRAINT pk_audit_chain_heads PRIMARY KEY (stream, stream_id)
);

-- Checkpoints, chained: hash = sha256(prev_hash || text), text = id, kind and the heads that
-- changed since the previous checkpoint (audit_checkpoint_heads), one line each, sorted.
CREATE TABLE audit_checkpoints (
    id bigint NOT NULL,
    kind text NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    created_by text DEFAULT current_user NOT NULL,
    streams bigint NOT NULL,
    prev_hash bytea,
    hash bytea NOT NULL,
    CONSTRAINT pk_audit_checkpoints PRIMARY KEY (id),
    CONSTRAINT ck_audit_checkpoints_kind CHECK (kind IN ('checkpoint', 'archive'))
);

-- seq 0 and a null head: the stream was archived (deleted through torghut audit archive).
CREATE TABLE audit_checkpoint_heads (
    checkpoint_id bigint NOT NULL,
    stream text NOT NULL,
    stream_id uuid NOT NULL,
    seq bigint NOT NULL,
    head bytea,
    CONSTRAINT pk_audit_checkpoint_heads PRIMARY KEY (checkpoint_id, stream, stream_id)
);
CREATE INDEX ix_audit_checkpoint_heads_stream ON audit_checkpoint_heads (stream, stream_id, checkpoint_id);

-- The content digest of a row given as to_jsonb(row), as audit_seal computes it (used to seal
-- the rows already there).
CREATE FUNCTION audit_row_digest(tbl text, j jsonb) RETURNS bytea
LANGUAGE sql STABLE AS $$
  SELECT sha256(convert_to(tbl || ' ' || (CASE tbl
    WHEN 'trade_decisions' THEN jsonb_build_object('id', j -> 'id', 'strategy_id', j -> 'strategy_id',
      'alpaca_account_label', j -> 'alpaca_account_label', 'symbol', j -> 'symbol',
      'timeframe', j -> 'timeframe', 'decision_json', j -> 'decision_json',
      'rationale', j -> 'rationale', 'decision_hash', j -> 'decision_hash',
      'created_at', (j ->> 'created_at')::timestamptz AT TIME ZONE 'UTC')
    WHEN 'executions' THEN jsonb_build_object('id', j -> 'id', 'symbol', j -> 'symbol',
      'side', j -> 'side', 'created_at', (j ->> 'created_at')::timestamptz AT TIME ZONE 'UTC')
    ELSE (j - 'chain_seq' - 'chain_hash')
      || jsonb_build_object('created_at', (j ->> 'created_at')::timestamptz AT TIME ZONE 'UTC') END)::text, 'UTF8'))
$$;

-- Appends a non-root row's content digest to a stream (what audit_seal does; used to seal the
-- rows already there): the head row moves one step (it is created,
-- from the root row's hash, by the stream's second row). Returns the row's seq and hash. Only the
-- head row of this stream is locked: writers of other streams never wait.
CREATE FUNCTION audit_chain_append(s text, sid uuid, c bytea, OUT seq bigint, OUT head bytea)
LANGUAGE plpgsql AS $$
DECLARE
  root bytea;
BEGIN
  UPDATE audit_chain_heads h SET seq = h.seq + 1, head = sha256(h.head || c)
  WHERE h.stream = s AND h.stream_id = sid
  RETURNING h.seq, h.head INTO seq, head;
  IF FOUND THEN
    RETURN;
  END IF;
  IF s = 'decision' THEN
    SELECT d.chain_hash INTO root FROM trade_decisions d WHERE d.id = sid;
  ELSE
    SELECT x.chain_hash INTO root FROM executions x WHERE x.id = sid;
  END IF;
  IF root IS NULL THEN
    -- No such root: the foreign key refuses the row right after this trigger. (A root the
    -- writer's snapshot cannot see, REPEATABLE READ only, leaves the row unsealed: verify
    -- reports it.)
    RETURN;
  END IF;
  INSERT INTO audit_chain_heads AS h (stream, stream_id, seq, head)
  VALUES (s, sid, 2, sha256(root || c))
  ON CONFLICT (stream, stream_id) DO UPDATE SET seq = h.seq + 1, head = sha256(h.head || c)
  RETURNING h.seq, h.head INTO seq, head;
END
$$;

-- Seals an inserted row (TG_ARGV[0]: its stream). A root row (trade_decisions, executions) is
-- chain_seq 1, chain_hash = sha256(digest), and touches nothing else (so an INSERT ... ON CONFLICT
-- that inserts nothing leaves nothing behind). Any other row moves its stream's head row: the
-- stream's second row creates it from the root's hash. A review first locks its decision row
-- (FOR NO KEY UPDATE, as a status transition does; not needed when this transaction inserted the
-- decision): writers of one decision always lock the decision before its head and cannot
-- deadlock. Written out per table (no helper calls): this
-- runs for every audit row.
CREATE FUNCTION audit_seal() RETURNS trigger
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

-- The chain columns of the projection rows never change.
CREATE FUNCTION audit_guard_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF audit_maintenance(TG_RELID) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'UPDATE on % refused: chain_seq and chain_hash never change (row %)', TG_TABLE_NAME, OLD.id
    USING ERRCODE = 'TA001';
END
$$;

-- Rows already there (a database carried forward) are sealed in stream order: the decision or
-- execution row, then events by seq, then reviews by creation. First, the current state of rows
-- written before events existed is recorded as an 'adopted' event, so that every projection is
-- the replay of its events: a decision not planned and without a status event gets one
-- ({"from": null, "to": status}), an execution with a payload and no event gets its payload.
SET LOCAL torghut.audit_maintenance = 'on';
SET LOCAL "TimeZone" = 'UTC';
INSERT INTO decision_events (id, decision_id, seq, kind, payload)
SELECT gen_random_uuid(), d.id, 1, 'adopted',
       jsonb_build_object('from', NULL, 'to', d.status, 'detail', 'status when the audit chain was introduced')
FROM trade_decisions d
WHERE d.status <> 'planned' AND NOT EXISTS (SELECT 1 FROM decision_events e WHERE e.decision_id = d.id);
INSERT INTO execution_events (id, execution_id, seq, payload)
SELECT gen_random_uuid(), x.id, 1, x.raw_order
FROM executions x
WHERE x.raw_order IS NOT NULL AND NOT EXISTS (SELECT 1 FROM execution_events e WHERE e.execution_id = x.id);
DO $$
DECLARE
  r record;
  a record;
BEGIN
  FOR r IN
    SELECT 'decision' AS s, t.id AS sid, 'trade_decisions' AS tbl, t.id, to_jsonb(t) AS j, 0 AS o, 0::bigint AS k, t.created_at AS at FROM trade_decisions t
    UNION ALL SELECT 'decision', e.decision_id, 'decision_events', e.id, to_jsonb(e), 1, e.seq, e.created_at FROM decision_events e
    UNION ALL SELECT 'decision', v.trade_decision_id, 'llm_decision_reviews', v.id, to_jsonb(v), 2, 0, v.created_at FROM llm_decision_reviews v
    UNION ALL SELECT 'execution', x.id, 'executions', x.id, to_jsonb(x), 0, 0, x.created_at FROM executions x
    UNION ALL SELECT 'execution', xe.execution_id, 'execution_events', xe.id, to_jsonb(xe), 1, xe.seq, xe.created_at FROM execution_events xe
    ORDER BY 1, 2, 6, 7, 8, 4
  LOOP
    IF r.o = 0 THEN
      EXECUTE format('UPDATE %I SET chain_seq = 1, chain_hash = sha256($1) WHERE id = $2', r.tbl)
        USING audit_row_digest(r.tbl, r.j), r.id;
    ELSE
      SELECT * INTO a FROM audit_chain_append(r.s, r.sid, audit_row_digest(r.tbl, r.j));
      EXECUTE format('UPDATE %I SET chain_seq = $1, chain_hash = $2 WHERE id = $3', r.tbl)
        USING a.seq, a.head, r.id;
    END IF;
  END LOOP;
END
$$;
RESET "TimeZone";
RESET torghut.audit_maintenance;

CREATE TRIGGER audit_seal BEFORE INSERT ON trade_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_seal('decision');
CREATE TRIGGER audit_seal BEFORE INSERT ON decision_events
  FOR EACH ROW EXECUTE FUNCTION audit_seal('decision');
CREATE TRIGGER audit_seal BEFORE INSERT ON llm_decision_reviews
  FOR EACH ROW EXECUTE FUNCTION audit_seal('decision');
CREATE TRIGGER audit_seal BEFORE INSERT ON executions
  FOR EACH ROW EXECUTE FUNCTION audit_seal('execution');
CREATE TRIGGER audit_seal BEFORE INSERT ON execution_events
  FOR EACH ROW EXECUTE FUNCTION audit_seal('execution');
CREATE TRIGGER audit_guard_chain BEFORE UPDATE ON trade_decisions
  FOR EACH ROW WHEN (OLD.chain_seq IS DISTINCT FROM NEW.chain_seq OR OLD.chain_hash IS DISTINCT FROM NEW.chain_hash)
  EXECUTE FUNCTION audit_guard_chain();
CREATE TRIGGER audit_guard_chain BEFORE UPDATE ON executions
  FOR EACH ROW WHEN (OLD.chain_seq IS DISTINCT FROM NEW.chain_seq OR OLD.chain_hash IS DISTINCT FROM NEW.chain_hash)
  EXECUTE FUNCTION audit_guard_chain();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint_heads
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_checkpoint_heads
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Takes a checkpoint: records the heads that changed since the last checkpoint and chains it.
-- A stream recorded by an earlier checkpoint and missing now is refused (run torghut audit
-- verify): a checkpoint never launders a deletion. Checkpoints are taken one at a time; writers
-- are not blocked. Returns the checkpoint's id.
CREATE FUNCTION audit_checkpoint() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  prev record;
  new_id bigint;
  missing record;
  n bigint;
  body text;
BEGIN
  LOCK TABLE audit_checkpoints IN SHARE ROW EXCLUSIVE MODE;
  SELECT id, hash INTO prev FROM audit_checkpoints ORDER BY id DESC LIMIT 1;
  new_id := coalesce(prev.id, 0) + 1;
  SELECT l.stream, l.stream_id, l.seq INTO missing
  FROM (SELECT DISTINCT ON (stream, stream_id) stream, stream_id, seq FROM audit_checkpoint_heads
        ORDER BY stream, stream_id, checkpoint_id DESC) l
  LEFT JOIN audit_stream_heads() h ON h.stream = l.stream AND h.stream_id = l.stream_id
  WHERE l.seq > 0 AND (h.seq IS NULL OR h.seq < l.seq)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'audit checkpoint refused: stream % % was at seq % at an earlier checkpoint and is now shorter or missing', missing.stream, missing.stream_id, missing.seq
      USING ERRCODE = 'TA002', HINT = 'run torghut audit verify';
  END IF;
  INSERT INTO audit_checkpoint_heads (checkpoint_id, stream, stream_id, seq, head)
  SELECT new_id, h.stream, h.stream_id, h.seq, h.head
  FROM audit_stream_heads() h
  LEFT JOIN LATERAL (SELECT c.seq, c.head FROM audit_checkpoint_heads c
                     WHERE c.stream = h.stream AND c.stream_id = h.stream_id
                     ORDER BY c.checkpoint_id DESC LIMIT 1) l ON true
  WHERE l.seq IS DISTINCT FROM h.seq OR l.head IS DISTINCT FROM h.head;
  GET DIAGNOSTICS n = ROW_COUNT;
  SELECT audit_checkpoint_text(new_id, 'checkpoint') INTO body;
  INSERT INTO audit_checkpoints (id, kind, streams, prev_hash, hash)
  VALUES (new_id, 'checkpoint', n, prev.hash,
          sha256(coalesce(prev.hash, '\x'::bytea) || convert_to(body, 'UTF8')));
  RETURN new_id;
END
$$;

-- Every stream's head: the head row, or the root row for a stream of one row.
CREATE FUNCTION audit_stream_heads() RETURNS TABLE (stream text, stream_id uuid, seq bigint, head bytea)
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

-- The text a checkpoint's hash covers.
CREATE FUNCTION audit_checkpoint_text(cp bigint, kind text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT cp::text || E'\n' || kind || E'\n' || coalesce(string_agg(
    stream || ' ' || stream_id::text || ' ' || seq::text || ' ' || coalesce(encode(head, 'hex'), '') || E'\n',
    '' ORDER BY stream COLLATE "C", stream_id), '')
  FROM audit_checkpoint_heads WHERE checkpoint_id = cp
$$;

-- The runtime role (see 0007_audit_enforcement) may read the chain and take checkpoints; it writes
-- the chain only through the sealing trigger (security definer).
DO $$
DECLARE
  r text := coalesce(nullif(current_setting('torghut.runtime_role', true), ''), 'torghut_runtime');
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
    EXECUTE format('GRANT SELECT ON audit_chain_heads, audit_checkpoints, audit_checkpoint_heads TO %I', r);
  END IF;
END
$$;
