-- Audit by capture: every change of an audited row is recorded by the database itself, in the
-- writer's transaction, as a chained event; nothing a writer of these tables legitimately does is
-- refused (see ARCHITECTURE.md, "Audit integrity").
--
-- Streams: one per strategy (its strategies row, its strategy_events), one per decision (its
-- trade_decisions row, decision_events, llm_decision_reviews) and one per execution (its
-- executions row, execution_events). Every row of these tables gets, when inserted,
-- chain_seq (1, 2, ... within its stream) and
--   chain_hash = sha256(previous row's chain_hash || sha256(table || ' ' || content))
-- where content is the text of to_jsonb(row) without chain_seq, chain_hash and updated_at,
-- rendered with TimeZone UTC. A root row (strategy, decision, execution) is sealed with the
-- values it was created with; every later UPDATE that changes one of its columns (other than
-- updated_at, bookkeeping) inserts an event whose payload says what changed:
--   {"changes": {"<column>": {"from": <old>, "to": <new>}, ...}}
-- with the role (current_user), application_name and time of the change. So the history that an
-- UPDATE overwrites is kept, the values a root was created with can be rebuilt from its row and
-- its events (and checked against its seal), and the current row must equal the replay of its
-- events.
--
-- Refused, for everyone outside audit maintenance (SQLSTATE TA001): DELETE and TRUNCATE of any
-- audit table (rows leave only through torghut audit archive), UPDATE of the append-only tables
-- (reviews, events, checkpoints), changes of identity (id, created_at, a decision's
-- decision_hash, the chain columns), and events written by anything but the capture trigger.
--
-- Every statement here is short (new nullable columns, new tables, functions, triggers): nothing
-- reads or writes the rows already there. Those rows (a database carried forward) keep NULL chain
-- columns and are never rewritten: 0008_audit_seal_legacy, a batched backfill, records each of
-- their streams' fold in audit_chain_heads (legacy_rows), and a legacy stream changed before the
-- backfill reaches it is sealed on the spot, with the values it had, by the writer's transaction.

-- Who changed a row, beside when (created_at).
ALTER TABLE decision_events ADD COLUMN actor text;
ALTER TABLE decision_events ADD COLUMN application_name text;
ALTER TABLE execution_events ADD COLUMN actor text;
ALTER TABLE execution_events ADD COLUMN application_name text;

-- torghut-lint: allow prefer-bigint-over-int reason: seq counts edits of one strategy, far below 2^31
CREATE TABLE strategy_events (
    id uuid NOT NULL,
    strategy_id uuid NOT NULL,
    seq integer NOT NULL,
    payload jsonb NOT NULL,
    actor text,
    application_name text,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_strategy_events PRIMARY KEY (id),
    CONSTRAINT fk_strategy_events_strategy_id_strategies FOREIGN KEY (strategy_id)
        REFERENCES strategies (id),
    CONSTRAINT uq_strategy_events_strategy_id_seq UNIQUE (strategy_id, seq)
);

ALTER TABLE strategies ADD COLUMN chain_seq bigint;
ALTER TABLE strategies ADD COLUMN chain_hash bytea;
ALTER TABLE strategy_events ADD COLUMN chain_seq bigint;
ALTER TABLE strategy_events ADD COLUMN chain_hash bytea;
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

-- Lanes: every new stream is linked, by the transaction that creates its root, into the lane of
-- the server process (pg_backend_pid) that runs it: an entry in audit_lane_log (lane, seq = 1,
-- 2, ... within the lane, stream, stream id), and the lane's head row moves:
--   head = sha256(previous head || stream || ' ' || id)
-- A process runs one transaction at a time, so writers never wait for one another's lane, and
-- there is no global sequence. A whole stream deleted (its root and its head row), even one no
-- checkpoint has recorded yet, is still named by its lane entry; deleting that entry too leaves
-- a place of the lane missing; and checkpoints record the lanes that moved, so rewinding a lane
-- is found against them (see ARCHITECTURE.md). Entries stay when a stream is archived.
CREATE TABLE audit_lanes (
    lane bigint NOT NULL,
    seq bigint NOT NULL,
    head bytea NOT NULL,
    -- Moved since the last checkpoint that recorded it.
    pending boolean DEFAULT true NOT NULL,
    CONSTRAINT pk_audit_lanes PRIMARY KEY (lane)
);
CREATE INDEX ix_audit_lanes_pending ON audit_lanes (pending) WHERE pending;

CREATE TABLE audit_lane_log (
    lane bigint NOT NULL,
    seq bigint NOT NULL,
    stream text NOT NULL,
    stream_id uuid NOT NULL,
    CONSTRAINT pk_audit_lane_log PRIMARY KEY (lane, seq)
);

-- A lane as a checkpoint records it: stream 'lane', its number as the low bits of a uuid.
CREATE FUNCTION audit_lane_id(lane bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT lpad(to_hex(lane), 32, '0')::uuid
$$;

-- The head of every stream longer than its root row, and of every legacy stream.
-- legacy_rows: for a stream whose rows were there before the chain (a database carried forward),
-- how many: its first legacy_rows rows in stream order (root, events by seq, reviews by
-- created_at and id) have NULL chain columns and are folded, as written, into the chain; NULL
-- for a stream sealed from its first row.
CREATE TABLE audit_chain_heads (
    stream text NOT NULL,
    stream_id uuid NOT NULL,
    seq bigint NOT NULL,
    head bytea NOT NULL,
    legacy_rows bigint,
    -- Moved since the last checkpoint that recorded it (see audit_take_checkpoint).
    pending boolean DEFAULT true NOT NULL,
    CONSTRAINT pk_audit_chain_heads PRIMARY KEY (stream, stream_id)
);
-- Keyed by the flag itself: all its keys are equal, so new entries go to the end of the index
-- (in heap order, deduplicated) instead of all over it as a key by stream id would.
CREATE INDEX ix_audit_chain_heads_pending ON audit_chain_heads (pending) WHERE pending;

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

-- seq 0: the stream was archived (deleted through torghut audit archive); head is its last hash.
CREATE TABLE audit_checkpoint_heads (
    checkpoint_id bigint NOT NULL,
    stream text NOT NULL,
    stream_id uuid NOT NULL,
    seq bigint NOT NULL,
    head bytea,
    CONSTRAINT pk_audit_checkpoint_heads PRIMARY KEY (checkpoint_id, stream, stream_id)
);
CREATE INDEX ix_audit_checkpoint_heads_stream ON audit_checkpoint_heads (stream, stream_id, checkpoint_id);

-- The key/value table the original service creates at start-up (SQLAlchemy create_all of its
-- app.db metadata), created here when missing so that the service's start-up needs no CREATE
-- privilege. Same definition as the service's.
-- torghut-lint: allow prefer-bigint-over-int reason: the original service's definition, kept as it creates it
-- torghut-lint: allow prefer-identity reason: the original service's definition, kept as it creates it
-- torghut-lint: allow prefer-text-field reason: the original service's definition, kept as it creates it
CREATE TABLE IF NOT EXISTS torghut_meta (
    id serial NOT NULL,
    key varchar(64) NOT NULL,
    value varchar(255) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (key)
);

-- Audit maintenance: a transaction that sets torghut.audit_maintenance = 'on' while its current
-- user is a member of the table's owner. Only audit_archive_delete uses it.
CREATE FUNCTION audit_maintenance(rel oid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('torghut.audit_maintenance', true), '') = 'on'
     AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = rel), 'USAGE')
$$;

-- UPDATE, DELETE and TRUNCATE of an append-only table, DELETE and TRUNCATE of a root table
-- (statement level: refused even when no row matches).
CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF audit_maintenance(TG_RELID) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION '% on % refused: audit rows are never changed or deleted', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'TA001',
          HINT = 'changes of strategies, decisions and executions are recorded as events; old rows leave only through torghut audit archive';
END
$$;

-- UPDATE of an identity column (id, created_at, a decision's decision_hash) or of the chain
-- columns of a root row.
CREATE FUNCTION audit_refuse_identity() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF audit_maintenance(TG_RELID) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'UPDATE on % refused: the identity of row % never changes (%)', TG_TABLE_NAME, OLD.id, TG_ARGV[0]
    USING ERRCODE = 'TA001';
END
$$;

-- The content a row is sealed with. STABLE, as convert_to is: so the planner inlines it into the
-- calling expression, instead of parsing and planning its body again in every transaction that
-- calls it (a trigger's expressions are set up once per transaction).
CREATE FUNCTION audit_content(tbl text, j jsonb) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to(tbl || ' ' || (j - '{chain_seq,chain_hash,updated_at}'::text[])::text, 'UTF8'))
$$;

-- The values a root row was created with: the row as it is now (j, its to_jsonb), with every
-- column an event changed set back to the "from" of the first event that changed it. changes:
-- its events' payload -> 'changes', in seq order. torghut audit verify and the archive check
-- a root's seal against this.
CREATE FUNCTION audit_initial(j jsonb, changes jsonb[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT j || coalesce((
    SELECT jsonb_object_agg(s.k, s.f) FROM (
      SELECT DISTINCT ON (c.key) c.key AS k, c.value -> 'from' AS f
      FROM unnest(changes) WITH ORDINALITY AS e(ch, i),
           jsonb_each(CASE WHEN jsonb_typeof(e.ch) = 'object' THEN e.ch ELSE '{}'::jsonb END) AS c
      ORDER BY c.key, e.i) s), '{}'::jsonb)
$$;

-- One step of a chain: sha256(prev || digest); from the empty value: the root's hash.
CREATE FUNCTION audit_chain_step(prev bytea, digest bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT sha256(prev || digest)
$$;
CREATE AGGREGATE audit_chain_fold(bytea) (SFUNC = audit_chain_step, STYPE = bytea, INITCOND = '');

-- Seals a root row (strategies, trade_decisions, executions) with the values it is created with:
-- chain_seq 1, chain_hash = sha256(content digest). Whatever the writer gave for the chain
-- columns is replaced. Needs no table access; runs as the inserting role.
CREATE FUNCTION audit_seal_root() RETURNS trigger
LANGUAGE plpgsql SET "TimeZone" = 'UTC' AS $$
BEGIN
  NEW.chain_seq := 1;
  NEW.chain_hash := sha256(audit_content(TG_TABLE_NAME, to_jsonb(NEW)));
  RETURN NEW;
END
$$;

-- Links a new stream (TG_ARGV[0]: its kind) into the lane of this server process (see
-- audit_lanes above). AFTER INSERT: only a row actually inserted is linked (an INSERT ... ON
-- CONFLICT that finds its row inserts nothing). Only this process's lane row is locked, which
-- no other writer takes.
CREATE FUNCTION audit_link_lane() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  link bytea := convert_to(TG_ARGV[0] || ' ' || NEW.id::text, 'UTF8');
  n bigint;
BEGIN
  INSERT INTO audit_lanes AS l (lane, seq, head) VALUES (pg_backend_pid(), 1, sha256(link))
  ON CONFLICT (lane) DO UPDATE SET seq = l.seq + 1, head = sha256(l.head || link), pending = true
  RETURNING l.seq INTO n;
  INSERT INTO audit_lane_log (lane, seq, stream, stream_id) VALUES (pg_backend_pid(), n, TG_ARGV[0], NEW.id);
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_link_lane() FROM PUBLIC;

-- Seals the legacy streams (rows without chain columns, from before the chain) of kind `stream`
-- whose root row is in a range and that have no head yet (a stream with a head is left as it
-- is, by the ON CONFLICT clause, not by a filter: the planner's estimate of the heads growing
-- during a backfill is no help to a join): their rows, in stream order (root,
-- events by seq, reviews by created_at and id), folded as the chain folds (h1 = sha256(c1),
-- hk = sha256(h(k-1) || ck)), give the head, recorded with legacy_rows = their number. Nothing
-- is rewritten. The range: root ids from lo to hi (by = 'id'), or the root rows stored in the
-- pages from lo up to hi (by = 'ctid', lo and hi tids '(block,0)'). Called by the backfill
-- 0008_audit_seal_legacy over pages, and for one stream by the triggers when a legacy stream is
-- about to change (with the values it had). Returns the number of streams sealed. A stream
-- sealed meanwhile by another transaction is left as that one sealed it (ON CONFLICT DO NOTHING
-- waits for it to commit).
CREATE FUNCTION audit_seal_legacy_in(stream text, by text, lo text, hi text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET "TimeZone" = 'UTC' AS $$
DECLARE
  root text;
  ev text;
  fk text;
  range text;
  reviews text := '';
  n bigint;
BEGIN
  IF stream = 'decision' THEN
    root := 'trade_decisions'; ev := 'decision_events'; fk := 'decision_id';
    reviews := 'UNION ALL SELECT v.trade_decision_id, 2, 0, v.created_at, v.id, '
      'audit_content(''llm_decision_reviews'', to_jsonb(v)) FROM llm_decision_reviews v '
      'JOIN roots ON roots.id = v.trade_decision_id WHERE v.chain_hash IS NULL ';
  ELSIF stream = 'execution' THEN
    root := 'executions'; ev := 'execution_events'; fk := 'execution_id';
  ELSIF stream = 'strategy' THEN
    root := 'strategies'; ev := 'strategy_events'; fk := 'strategy_id';
  ELSE
    RAISE EXCEPTION 'audit_seal_legacy: unknown stream %', stream USING ERRCODE = '22023';
  END IF;
  IF by = 'id' THEN
    range := 't.id BETWEEN $1::uuid AND $2::uuid';
  ELSIF by = 'ctid' THEN
    range := 't.ctid >= $1::tid AND t.ctid < $2::tid';
  ELSE
    RAISE EXCEPTION 'audit_seal_legacy: unknown range %', by USING ERRCODE = '22023';
  END IF;
  EXECUTE format(
    'WITH roots AS MATERIALIZED ('
    '  SELECT t.id, audit_content(%1$L, to_jsonb(t)) AS c FROM %1$I t'
    '  WHERE %6$s AND t.chain_hash IS NULL) '
    'INSERT INTO audit_chain_heads (stream, stream_id, seq, head, legacy_rows) '
    'SELECT %4$L, r.sid, count(*), audit_chain_fold(r.c ORDER BY r.o, r.k, r.at, r.id), count(*) '
    'FROM (SELECT roots.id AS sid, 0 AS o, 0::bigint AS k, NULL::timestamptz AS at, roots.id, roots.c FROM roots '
    '  UNION ALL SELECT e.%3$I, 1, e.seq::bigint, NULL, e.id, audit_content(%2$L, to_jsonb(e)) FROM %2$I e '
    '  JOIN roots ON roots.id = e.%3$I WHERE e.chain_hash IS NULL '
    '  %5$s) r '
    'GROUP BY r.sid '
    'ON CONFLICT (stream, stream_id) DO NOTHING',
    root, ev, fk, stream, reviews, range) USING lo, hi;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_seal_legacy_in(text, text, text, text) FROM PUBLIC;

-- The streams of roots with ids from lo to hi (lo = hi: one stream).
CREATE FUNCTION audit_seal_legacy(stream text, lo uuid, hi uuid) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT audit_seal_legacy_in(stream, 'id', lo::text, hi::text)
$$;
REVOKE EXECUTE ON FUNCTION audit_seal_legacy(text, uuid, uuid) FROM PUBLIC;

-- The streams of the roots stored in the pages from lo up to hi ('(block,0)' tids).
CREATE FUNCTION audit_seal_legacy_pages(stream text, lo tid, hi tid) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT audit_seal_legacy_in(stream, 'ctid', lo::text, hi::text)
$$;
REVOKE EXECUTE ON FUNCTION audit_seal_legacy_pages(text, tid, tid) FROM PUBLIC;

-- Before a legacy root row (no chain columns) changes: its stream is sealed first, with the
-- values it has, so that the change is recorded as an event chained behind them.
CREATE FUNCTION audit_seal_legacy_before_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit_chain_heads h WHERE h.stream = TG_ARGV[0] AND h.stream_id = OLD.id) THEN
    PERFORM audit_seal_legacy(TG_ARGV[0], OLD.id, OLD.id);
  END IF;
  RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_seal_legacy_before_change() FROM PUBLIC;

-- Seals a row appended to a stream (TG_ARGV[0]: the stream): one statement moves the stream's
-- head row, or creates it from the root's hash. Only that head row is locked: writers of other
-- streams never wait. A review first locks its decision row (FOR NO KEY UPDATE, as an UPDATE of
-- the decision does; not needed when this transaction inserted the decision), so that all
-- writers of one decision lock the decision before its head and cannot deadlock; a review of a
-- legacy decision not sealed yet seals its stream first. Event rows are written only by the
-- capture trigger (pg_trigger_depth() 2: this trigger inside it), for everyone: there is no
-- maintenance exception (inside this security definer function, current_user is the owner,
-- whoever inserts). The root of an event is sealed, or, when legacy, has its head (sealed by
-- the trigger before its change).
CREATE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET "TimeZone" = 'UTC' AS $$
DECLARE
  c bytea;
  sid uuid;
  mine boolean;
  legacy boolean;
BEGIN
  IF TG_TABLE_NAME = 'llm_decision_reviews' THEN
    sid := NEW.trade_decision_id;
    SELECT d.xmin = pg_current_xact_id()::xid, d.chain_hash IS NULL INTO mine, legacy
    FROM trade_decisions d WHERE d.id = sid;
    IF NOT coalesce(mine, true) THEN
      PERFORM 1 FROM trade_decisions d WHERE d.id = sid FOR NO KEY UPDATE;
    END IF;
    IF legacy AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h WHERE h.stream = 'decision' AND h.stream_id = sid) THEN
      PERFORM audit_seal_legacy('decision', sid, sid);
    END IF;
  ELSE
    IF pg_trigger_depth() < 2 THEN
      RAISE EXCEPTION 'INSERT on % refused: events are recorded by the database when a row changes', TG_TABLE_NAME
        USING ERRCODE = 'TA001', HINT = 'update the row instead; its change is recorded as an event';
    END IF;
    IF TG_TABLE_NAME = 'decision_events' THEN
      sid := NEW.decision_id;
    ELSIF TG_TABLE_NAME = 'execution_events' THEN
      sid := NEW.execution_id;
    ELSE
      sid := NEW.strategy_id;
    END IF;
  END IF;
  c := audit_content(TG_TABLE_NAME, to_jsonb(NEW));
  -- No root: nothing is returned, the row stays unsealed and the foreign key or verify reports
  -- it. A legacy root has its head row: the conflict branch moves it.
  IF TG_ARGV[0] = 'decision' THEN
    INSERT INTO audit_chain_heads AS h (stream, stream_id, seq, head)
    SELECT 'decision', sid, 2, sha256(coalesce(r.chain_hash, '\x'::bytea) || c) FROM trade_decisions r
    WHERE r.id = sid
    ON CONFLICT (stream, stream_id) DO UPDATE SET seq = h.seq + 1, head = sha256(h.head || c), pending = true
    RETURNING h.seq, h.head INTO NEW.chain_seq, NEW.chain_hash;
  ELSIF TG_ARGV[0] = 'execution' THEN
    INSERT INTO audit_chain_heads AS h (stream, stream_id, seq, head)
    SELECT 'execution', sid, 2, sha256(coalesce(r.chain_hash, '\x'::bytea) || c) FROM executions r
    WHERE r.id = sid
    ON CONFLICT (stream, stream_id) DO UPDATE SET seq = h.seq + 1, head = sha256(h.head || c), pending = true
    RETURNING h.seq, h.head INTO NEW.chain_seq, NEW.chain_hash;
  ELSE
    INSERT INTO audit_chain_heads AS h (stream, stream_id, seq, head)
    SELECT 'strategy', sid, 2, sha256(coalesce(r.chain_hash, '\x'::bytea) || c) FROM strategies r
    WHERE r.id = sid
    ON CONFLICT (stream, stream_id) DO UPDATE SET seq = h.seq + 1, head = sha256(h.head || c), pending = true
    RETURNING h.seq, h.head INTO NEW.chain_seq, NEW.chain_hash;
  END IF;
  RETURN NEW;
END
$$;

-- Records the change of a root row as an event of its stream (AFTER UPDATE, so the event is
-- chained behind the row's seal, under the row lock the UPDATE holds). A change is a column
-- whose jsonb text changed (so 1.0 becoming 1.00 in a payload is a change, as it is to the
-- seal); an UPDATE that changes nothing but updated_at records nothing. Runs as the updating
-- role: the event names current_user and application_name. A decision's event carries the
-- reason codes and detail a writer set for it in its transaction (torghut.event_reason_codes,
-- a JSON array of strings, and torghut.event_detail, JSON), which are then cleared.
CREATE FUNCTION audit_capture() RETURNS trigger
LANGUAGE plpgsql SET "TimeZone" = 'UTC' AS $$
DECLARE
  o jsonb := to_jsonb(OLD);
  ev_changes jsonb;
  ev_payload jsonb;
  ev_detail text;
  ev_codes text;
BEGIN
  SELECT jsonb_object_agg(k, jsonb_build_object('from', o -> k, 'to', v)) INTO ev_changes
  FROM jsonb_each(to_jsonb(NEW) - '{chain_seq,chain_hash,updated_at}'::text[]) AS x(k, v)
  WHERE (o -> k)::text IS DISTINCT FROM v::text;
  IF ev_changes IS NULL THEN
    RETURN NULL;
  END IF;
  ev_payload := jsonb_build_object('changes', ev_changes);
  IF TG_TABLE_NAME = 'trade_decisions' THEN
    ev_detail := nullif(current_setting('torghut.event_detail', true), '');
    ev_codes := nullif(current_setting('torghut.event_reason_codes', true), '');
    IF ev_detail IS NOT NULL THEN
      ev_payload := ev_payload || jsonb_build_object('detail', ev_detail::jsonb);
      PERFORM set_config('torghut.event_detail', '', true);
    END IF;
    IF ev_codes IS NOT NULL THEN
      PERFORM set_config('torghut.event_reason_codes', '', true);
    END IF;
    INSERT INTO decision_events (id, decision_id, seq, kind, payload, reason_codes, actor, application_name)
    SELECT gen_random_uuid(), NEW.id, coalesce(max(e.seq), 0) + 1,
           CASE WHEN ev_changes ? 'status' THEN 'status' ELSE 'update' END, ev_payload,
           coalesce(ARRAY(SELECT jsonb_array_elements_text(ev_codes::jsonb)), '{}'), current_user,
           current_setting('application_name')
    FROM decision_events e WHERE e.decision_id = NEW.id;
  ELSIF TG_TABLE_NAME = 'executions' THEN
    INSERT INTO execution_events (id, execution_id, seq, payload, actor, application_name)
    SELECT gen_random_uuid(), NEW.id, coalesce(max(e.seq), 0) + 1, ev_payload,
           current_user, current_setting('application_name')
    FROM execution_events e WHERE e.execution_id = NEW.id;
  ELSE
    INSERT INTO strategy_events (id, strategy_id, seq, payload, actor, application_name)
    SELECT gen_random_uuid(), NEW.id, coalesce(max(e.seq), 0) + 1, ev_payload,
           current_user, current_setting('application_name')
    FROM strategy_events e WHERE e.strategy_id = NEW.id;
  END IF;
  RETURN NULL;
END
$$;

-- Sealing.
CREATE TRIGGER audit_seal BEFORE INSERT ON strategies
  FOR EACH ROW EXECUTE FUNCTION audit_seal_root();
CREATE TRIGGER audit_lane AFTER INSERT ON strategies
  FOR EACH ROW EXECUTE FUNCTION audit_link_lane('strategy');
CREATE TRIGGER audit_seal BEFORE INSERT ON trade_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_seal_root();
CREATE TRIGGER audit_lane AFTER INSERT ON trade_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_link_lane('decision');
CREATE TRIGGER audit_seal BEFORE INSERT ON executions
  FOR EACH ROW EXECUTE FUNCTION audit_seal_root();
CREATE TRIGGER audit_lane AFTER INSERT ON executions
  FOR EACH ROW EXECUTE FUNCTION audit_link_lane('execution');
CREATE TRIGGER audit_seal BEFORE INSERT ON strategy_events
  FOR EACH ROW EXECUTE FUNCTION audit_seal('strategy');
CREATE TRIGGER audit_seal BEFORE INSERT ON decision_events
  FOR EACH ROW EXECUTE FUNCTION audit_seal('decision');
CREATE TRIGGER audit_seal BEFORE INSERT ON llm_decision_reviews
  FOR EACH ROW EXECUTE FUNCTION audit_seal('decision');
CREATE TRIGGER audit_seal BEFORE INSERT ON execution_events
  FOR EACH ROW EXECUTE FUNCTION audit_seal('execution');

-- Legacy streams are sealed before their first change.
CREATE TRIGGER audit_legacy BEFORE UPDATE ON strategies
  FOR EACH ROW WHEN (OLD.chain_hash IS NULL) EXECUTE FUNCTION audit_seal_legacy_before_change('strategy');
CREATE TRIGGER audit_legacy BEFORE UPDATE ON trade_decisions
  FOR EACH ROW WHEN (OLD.chain_hash IS NULL) EXECUTE FUNCTION audit_seal_legacy_before_change('decision');
CREATE TRIGGER audit_legacy BEFORE UPDATE ON executions
  FOR EACH ROW WHEN (OLD.chain_hash IS NULL) EXECUTE FUNCTION audit_seal_legacy_before_change('execution');

-- Capture.
CREATE TRIGGER audit_capture AFTER UPDATE ON strategies
  FOR EACH ROW EXECUTE FUNCTION audit_capture();
CREATE TRIGGER audit_capture AFTER UPDATE ON trade_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_capture();
CREATE TRIGGER audit_capture AFTER UPDATE ON executions
  FOR EACH ROW EXECUTE FUNCTION audit_capture();

-- Identity.
CREATE TRIGGER audit_identity BEFORE UPDATE ON strategies
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.created_at IS DISTINCT FROM NEW.created_at
                     OR OLD.chain_seq IS DISTINCT FROM NEW.chain_seq OR OLD.chain_hash IS DISTINCT FROM NEW.chain_hash)
  EXECUTE FUNCTION audit_refuse_identity('id, created_at and the chain columns');
CREATE TRIGGER audit_identity BEFORE UPDATE ON trade_decisions
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.created_at IS DISTINCT FROM NEW.created_at
                     OR OLD.decision_hash IS DISTINCT FROM NEW.decision_hash
                     OR OLD.chain_seq IS DISTINCT FROM NEW.chain_seq OR OLD.chain_hash IS DISTINCT FROM NEW.chain_hash)
  EXECUTE FUNCTION audit_refuse_identity('id, created_at, decision_hash and the chain columns');
CREATE TRIGGER audit_identity BEFORE UPDATE ON executions
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.created_at IS DISTINCT FROM NEW.created_at
                     OR OLD.chain_seq IS DISTINCT FROM NEW.chain_seq OR OLD.chain_hash IS DISTINCT FROM NEW.chain_hash)
  EXECUTE FUNCTION audit_refuse_identity('id, created_at and the chain columns');

-- Deletion.
CREATE TRIGGER audit_no_delete BEFORE DELETE ON strategies
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON strategies
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON trade_decisions
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON trade_decisions
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON executions
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON executions
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Append-only.
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON strategy_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON strategy_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON decision_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON decision_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON llm_decision_reviews
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON llm_decision_reviews
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON execution_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON execution_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint_heads
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_checkpoint_heads
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_lanes
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_lanes
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_lane_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_lane_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Every stream's head: its head row, or its root row while it has no other row; and every lane's.
CREATE FUNCTION audit_stream_heads() RETURNS TABLE (stream text, stream_id uuid, seq bigint, head bytea)
LANGUAGE sql STABLE AS $$
  SELECT h.stream, h.stream_id, h.seq, h.head FROM audit_chain_heads h
  UNION ALL
  SELECT 'strategy', s.id, s.chain_seq, s.chain_hash FROM strategies s
  WHERE s.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'strategy' AND h.stream_id = s.id)
  UNION ALL
  SELECT 'decision', d.id, d.chain_seq, d.chain_hash FROM trade_decisions d
  WHERE d.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'decision' AND h.stream_id = d.id)
  UNION ALL
  SELECT 'execution', x.id, x.chain_seq, x.chain_hash FROM executions x
  WHERE x.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'execution' AND h.stream_id = x.id)
  UNION ALL
  SELECT 'lane', audit_lane_id(l.lane), l.seq, l.head FROM audit_lanes l
$$;

-- The text a checkpoint's hash covers.
CREATE FUNCTION audit_checkpoint_text(cp bigint, kind text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT cp::text || E'\n' || kind || E'\n' || coalesce(string_agg(
    stream || ' ' || stream_id::text || ' ' || seq::text || ' ' || coalesce(encode(head, 'hex'), '') || E'\n',
    '' ORDER BY stream COLLATE "C", stream_id), '')
  FROM audit_checkpoint_heads WHERE checkpoint_id = cp
$$;

-- A checkpoint of kind k: records the heads (and lanes) that changed since the last checkpoint
-- and chains it. It does not read every stream: the streams that changed are found by
--   * audit_lanes.pending, likewise for the lanes (all of them: one per server process);
--   * audit_chain_heads.pending, set by every move of a head row (audit_seal) and cleared by the
--     checkpoint that records it (rows locked by a writer now are skipped, never waited for:
--     they stay pending for the next checkpoint, and a checkpoint never takes part in a
--     deadlock); at most max_heads of them (NULL: all) per checkpoint, the rest stay pending;
--   * the streams that are still only their root row, created (created_at, indexed by 0010)
--     since the checkpoint before the previous one, or at least 5 minutes before the previous
--     one (a root inserted by a transaction that started earlier still and committed after the
--     previous checkpoint is recorded when its stream first moves; full_scan takes every root);
--   * the streams in archived_* (recorded as archived: seq 0, their head as it is now).
-- A stream whose head is shorter than the last head a checkpoint recorded is refused (TA002).
-- full_scan: every stream is compared with the last head recorded for it, and a stream recorded and
-- missing now is refused as well (TA002); this reads every stream.
-- Returns the checkpoint's id.
CREATE FUNCTION audit_take_checkpoint(k text, archived_decisions uuid[], archived_executions uuid[],
                                      full_scan boolean, max_heads bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  prev record;
  since timestamptz;
  new_id bigint;
  missing record;
  n bigint;
BEGIN
  LOCK TABLE audit_checkpoints IN SHARE ROW EXCLUSIVE MODE;
  SELECT id, hash, created_at INTO prev FROM audit_checkpoints ORDER BY id DESC LIMIT 1;
  new_id := coalesce(prev.id, 0) + 1;
  IF full_scan OR prev.id IS NULL THEN
    since := '-infinity';
  ELSE
    SELECT least(p.created_at, prev.created_at - interval '5 minutes') INTO since
    FROM audit_checkpoints p WHERE p.id < prev.id ORDER BY p.id DESC LIMIT 1;
    since := coalesce(since, '-infinity');
  END IF;
  IF full_scan THEN
    SELECT l.stream, l.stream_id, l.seq INTO missing
    FROM (SELECT DISTINCT ON (c.stream, c.stream_id) c.stream, c.stream_id, c.seq FROM audit_checkpoint_heads c
          ORDER BY c.stream, c.stream_id, c.checkpoint_id DESC) l
    LEFT JOIN audit_stream_heads() h ON h.stream = l.stream AND h.stream_id = l.stream_id
    WHERE l.seq > 0 AND h.seq IS NULL
      AND NOT (l.stream = 'decision' AND l.stream_id = ANY (archived_decisions))
      AND NOT (l.stream = 'execution' AND l.stream_id = ANY (archived_executions))
    LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'audit checkpoint refused: stream % % was at seq % at an earlier checkpoint and is now missing', missing.stream, missing.stream_id, missing.seq
        USING ERRCODE = 'TA002', HINT = 'run torghut audit verify';
    END IF;
  END IF;
  -- The candidates: moved heads (their pending flag cleared), roots alone, archived streams.
  CREATE TEMP TABLE IF NOT EXISTS pg_temp.audit_checkpoint_candidates (
    stream text, stream_id uuid, seq bigint, head bytea, archived boolean
  ) ON COMMIT DROP;
  WITH moved AS (
    UPDATE audit_chain_heads h SET pending = false
    WHERE (h.stream, h.stream_id) IN (
      SELECT p.stream, p.stream_id FROM audit_chain_heads p WHERE p.pending
      LIMIT max_heads FOR NO KEY UPDATE SKIP LOCKED)
    RETURNING h.stream, h.stream_id, h.seq, h.head),
  moved_lanes AS (
    UPDATE audit_lanes l SET pending = false
    WHERE l.lane IN (SELECT p.lane FROM audit_lanes p WHERE p.pending FOR NO KEY UPDATE SKIP LOCKED)
    RETURNING l.lane, l.seq, l.head)
  INSERT INTO pg_temp.audit_checkpoint_candidates
  SELECT m.stream, m.stream_id, m.seq, m.head, false FROM moved m
  UNION ALL
  SELECT 'lane', audit_lane_id(m.lane), m.seq, m.head, false FROM moved_lanes m
  UNION ALL
  SELECT 'decision', d.id, d.chain_seq, d.chain_hash, false FROM trade_decisions d
  WHERE d.created_at >= since AND d.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'decision' AND h.stream_id = d.id)
  UNION ALL
  SELECT 'execution', x.id, x.chain_seq, x.chain_hash, false FROM executions x
  WHERE x.created_at >= since AND x.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'execution' AND h.stream_id = x.id)
  UNION ALL
  SELECT 'strategy', s.id, s.chain_seq, s.chain_hash, false FROM strategies s
  WHERE s.created_at >= since AND s.chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h
    WHERE h.stream = 'strategy' AND h.stream_id = s.id);
  IF full_scan THEN
    -- Heads not pending are recorded too when they differ from the last recorded (a head row
    -- changed behind the triggers' back).
    INSERT INTO pg_temp.audit_checkpoint_candidates
    SELECT h.stream, h.stream_id, h.seq, h.head, false FROM audit_chain_heads h
    WHERE NOT h.pending AND NOT EXISTS (SELECT 1 FROM pg_temp.audit_checkpoint_candidates c
      WHERE c.stream = h.stream AND c.stream_id = h.stream_id)
    UNION ALL
    SELECT 'lane', audit_lane_id(l.lane), l.seq, l.head, false FROM audit_lanes l
    WHERE NOT l.pending;
  END IF;
  -- Archived streams: seq 0, their head as it is now (the candidates' row replaced).
  DELETE FROM pg_temp.audit_checkpoint_candidates c
  WHERE (c.stream = 'decision' AND c.stream_id = ANY (archived_decisions))
     OR (c.stream = 'execution' AND c.stream_id = ANY (archived_executions));
  INSERT INTO pg_temp.audit_checkpoint_candidates
  SELECT 'decision', a.id, 0, coalesce(h.head, d.chain_hash), true
  FROM unnest(archived_decisions) AS a(id)
  LEFT JOIN audit_chain_heads h ON h.stream = 'decision' AND h.stream_id = a.id
  LEFT JOIN trade_decisions d ON d.id = a.id
  WHERE coalesce(h.head, d.chain_hash) IS NOT NULL
  UNION ALL
  SELECT 'execution', a.id, 0, coalesce(h.head, x.chain_hash), true
  FROM unnest(archived_executions) AS a(id)
  LEFT JOIN audit_chain_heads h ON h.stream = 'execution' AND h.stream_id = a.id
  LEFT JOIN executions x ON x.id = a.id
  WHERE coalesce(h.head, x.chain_hash) IS NOT NULL;
  SELECT c.stream, c.stream_id, c.seq, l.seq AS was INTO missing
  FROM pg_temp.audit_checkpoint_candidates c
  CROSS JOIN LATERAL (SELECT r.seq FROM audit_checkpoint_heads r
                      WHERE r.stream = c.stream AND r.stream_id = c.stream_id
                      ORDER BY r.checkpoint_id DESC LIMIT 1) l
  WHERE NOT c.archived AND l.seq > 0 AND c.seq < l.seq
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'audit checkpoint refused: stream % % was at seq % at an earlier checkpoint and is now at seq %', missing.stream, missing.stream_id, missing.was, missing.seq
      USING ERRCODE = 'TA002', HINT = 'run torghut audit verify';
  END IF;
  INSERT INTO audit_checkpoint_heads (checkpoint_id, stream, stream_id, seq, head)
  SELECT new_id, c.stream, c.stream_id, c.seq, c.head
  FROM pg_temp.audit_checkpoint_candidates c
  LEFT JOIN LATERAL (SELECT r.seq, r.head FROM audit_checkpoint_heads r
                     WHERE r.stream = c.stream AND r.stream_id = c.stream_id
                     ORDER BY r.checkpoint_id DESC LIMIT 1) l ON true
  WHERE c.archived OR l.seq IS DISTINCT FROM c.seq OR l.head IS DISTINCT FROM c.head;
  GET DIAGNOSTICS n = ROW_COUNT;
  DROP TABLE pg_temp.audit_checkpoint_candidates;
  INSERT INTO audit_checkpoints (id, kind, streams, prev_hash, hash)
  VALUES (new_id, k, n, prev.hash,
          sha256(coalesce(prev.hash, '\x'::bytea) || convert_to(audit_checkpoint_text(new_id, k), 'UTF8')));
  RETURN new_id;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_take_checkpoint(text, uuid[], uuid[], boolean, bigint) FROM PUBLIC;

-- A checkpoint (see audit_take_checkpoint); full_scan: compare every stream.
CREATE FUNCTION audit_checkpoint(full_scan boolean DEFAULT false, max_heads bigint DEFAULT NULL) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT audit_take_checkpoint('checkpoint', '{}', '{}', full_scan, max_heads)
$$;

-- How many stream heads moved and are not recorded by a checkpoint yet.
CREATE FUNCTION audit_heads_pending() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(*) FROM audit_chain_heads WHERE pending
$$;

-- The runtime role: a NOLOGIN group role the service's login user is made a member of. Its name is
-- the custom setting torghut.runtime_role (default torghut_runtime), read when this migration runs.
-- Roles are cluster-wide: an existing role is reused; a missing one is created when the migrating
-- user may. It gets what the original service's statements and this store's service need:
-- SELECT and INSERT on the trading tables, UPDATE of every column a writer changes (not the
-- identity or chain columns), INSERT on the event tables (only the capture trigger may write
-- them), SELECT on the chain, checkpoint and schema history tables, and its own use of the
-- original service's key/value table. No DELETE, no TRUNCATE, no DDL.
DO $$
DECLARE
  r text := coalesce(nullif(current_setting('torghut.runtime_role', true), ''), 'torghut_runtime');
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile by a migration of another database of the cluster
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'the runtime role % does not exist and % may not create it', r, current_user
          USING HINT = format('create it first (CREATE ROLE %I NOLOGIN) or set torghut.runtime_role', r);
    END;
  END IF;
  EXECUTE format('GRANT SELECT, INSERT ON strategies, trade_decisions, executions, '
    'position_snapshots, tool_run_logs, trade_cursor, llm_decision_reviews, strategy_events, '
    'decision_events, execution_events, torghut_meta TO %I', r);
  EXECUTE format('GRANT UPDATE (name, description, enabled, base_timeframe, universe_type, '
    'universe_symbols, max_position_pct_equity, max_notional_per_trade, updated_at) ON strategies TO %I', r);
  EXECUTE format('GRANT UPDATE (strategy_id, alpaca_account_label, symbol, timeframe, decision_json, '
    'rationale, status, executed_at) ON trade_decisions TO %I', r);
  EXECUTE format('GRANT UPDATE (trade_decision_id, alpaca_order_id, client_order_id, symbol, side, '
    'order_type, time_in_force, submitted_qty, filled_qty, avg_fill_price, status, raw_order, '
    'updated_at, last_update_at) ON executions TO %I', r);
  EXECUTE format('GRANT UPDATE (cursor_at, cursor_seq, cursor_symbol, updated_at) ON trade_cursor TO %I', r);
  EXECUTE format('GRANT UPDATE (key, value) ON torghut_meta TO %I', r);
  EXECUTE format('GRANT USAGE ON SEQUENCE torghut_meta_id_seq TO %I', r);
  EXECUTE format('GRANT SELECT ON audit_chain_heads, audit_lanes, audit_lane_log, audit_checkpoints, audit_checkpoint_heads TO %I', r);
  EXECUTE format('GRANT USAGE ON SCHEMA torghut_meta TO %I', r);
  EXECUTE format('GRANT SELECT ON torghut_meta.schema_history TO %I', r);
END
$$;
