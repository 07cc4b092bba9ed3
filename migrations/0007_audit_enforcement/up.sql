-- Audit enforcement in the database: append-only reviews and events, immutable decision and
-- execution identity, status transitions, filled_qty never decreasing, and a least-privilege
-- runtime role. Every refusal raises SQLSTATE TA001 naming the table and the operation.
--
-- The one way around these rules is audit maintenance: a transaction that sets
-- torghut.audit_maintenance = 'on' (SET LOCAL) while its current user is a member of the table's
-- owner (the owner itself, or a superuser). The archive function of 0008_audit_chain (security
-- definer, owned by the owner) uses it; the runtime role never can.

CREATE FUNCTION audit_maintenance(rel oid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('torghut.audit_maintenance', true), '') = 'on'
     AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = rel), 'USAGE')
$$;

-- UPDATE, DELETE and TRUNCATE of an append-only table (statement level: refused even when no
-- row matches).
CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF audit_maintenance(TG_RELID) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION '% on % refused: audit rows are append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'TA001',
          HINT = 'record a new event instead; old rows leave only through torghut audit archive';
END
$$;

-- DELETE and TRUNCATE of a projection table (trade_decisions, executions).
CREATE FUNCTION audit_refuse_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF audit_maintenance(TG_RELID) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION '% on % refused: audit rows are never deleted', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'TA001',
          HINT = 'old rows leave only through torghut audit archive';
END
$$;

-- UPDATE of trade_decisions: identity and payload never change; status never leaves a terminal
-- status and never goes back to planned; executed_at is set once.
CREATE FUNCTION audit_guard_decision_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.id, NEW.strategy_id, NEW.alpaca_account_label, NEW.symbol, NEW.timeframe,
      NEW.decision_json, NEW.rationale, NEW.decision_hash, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.strategy_id, OLD.alpaca_account_label, OLD.symbol, OLD.timeframe,
      OLD.decision_json, OLD.rationale, OLD.decision_hash, OLD.created_at)
     AND NOT audit_maintenance(TG_RELID) THEN
    RAISE EXCEPTION 'UPDATE on trade_decisions refused: id, strategy_id, alpaca_account_label, symbol, timeframe, decision_json, rationale, decision_hash and created_at never change (decision %)', OLD.id
      USING ERRCODE = 'TA001';
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT audit_maintenance(TG_RELID) THEN
    IF OLD.status IN ('filled', 'canceled', 'expired', 'rejected') THEN
      RAISE EXCEPTION 'UPDATE on trade_decisions refused: decision % is %, a terminal status (to %)', OLD.id, OLD.status, NEW.status
        USING ERRCODE = 'TA001';
    END IF;
    IF NEW.status = 'planned' THEN
      RAISE EXCEPTION 'UPDATE on trade_decisions refused: decision % cannot go back to planned (from %)', OLD.id, OLD.status
        USING ERRCODE = 'TA001';
    END IF;
  END IF;
  IF OLD.executed_at IS NOT NULL AND NEW.executed_at IS DISTINCT FROM OLD.executed_at
     AND NOT audit_maintenance(TG_RELID) THEN
    RAISE EXCEPTION 'UPDATE on trade_decisions refused: executed_at of decision % is set once', OLD.id
      USING ERRCODE = 'TA001';
  END IF;
  RETURN NEW;
END
$$;

-- UPDATE of executions: id, symbol, side and created_at never change; alpaca_order_id changes
-- only from the provisional client order id to the broker's id; client_order_id and
-- trade_decision_id are set once; filled_qty never decreases.
CREATE FUNCTION audit_guard_execution_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF audit_maintenance(TG_RELID) THEN
    RETURN NEW;
  END IF;
  IF (NEW.id, NEW.symbol, NEW.side, NEW.created_at)
     IS DISTINCT FROM (OLD.id, OLD.symbol, OLD.side, OLD.created_at) THEN
    RAISE EXCEPTION 'UPDATE on executions refused: id, symbol, side and created_at never change (execution %)', OLD.id
      USING ERRCODE = 'TA001';
  END IF;
  IF NEW.alpaca_order_id IS DISTINCT FROM OLD.alpaca_order_id
     AND OLD.alpaca_order_id IS DISTINCT FROM OLD.client_order_id THEN
    RAISE EXCEPTION 'UPDATE on executions refused: alpaca_order_id of execution % is the broker''s and never changes', OLD.id
      USING ERRCODE = 'TA001';
  END IF;
  IF OLD.client_order_id IS NOT NULL AND NEW.client_order_id IS DISTINCT FROM OLD.client_order_id THEN
    RAISE EXCEPTION 'UPDATE on executions refused: client_order_id of execution % is set once', OLD.id
      USING ERRCODE = 'TA001';
  END IF;
  IF OLD.trade_decision_id IS NOT NULL
     AND NEW.trade_decision_id IS DISTINCT FROM OLD.trade_decision_id THEN
    RAISE EXCEPTION 'UPDATE on executions refused: trade_decision_id of execution % is set once', OLD.id
      USING ERRCODE = 'TA001';
  END IF;
  IF NEW.filled_qty < OLD.filled_qty THEN
    RAISE EXCEPTION 'UPDATE on executions refused: filled_qty of execution % never decreases (% to %)', OLD.id, OLD.filled_qty, NEW.filled_qty
      USING ERRCODE = 'TA001';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON llm_decision_reviews
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON llm_decision_reviews
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON decision_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON decision_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON execution_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON execution_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE TRIGGER audit_no_delete BEFORE DELETE ON trade_decisions
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_delete();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON trade_decisions
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_delete();
CREATE TRIGGER audit_guard_update BEFORE UPDATE ON trade_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_guard_decision_update();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON executions
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_delete();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON executions
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_delete();
CREATE TRIGGER audit_guard_update BEFORE UPDATE ON executions
  FOR EACH ROW EXECUTE FUNCTION audit_guard_execution_update();

-- The runtime role: a NOLOGIN group role the service's login user is made a member of. Its name is
-- the custom setting torghut.runtime_role (default torghut_runtime), read when this migration runs
-- (set it with ALTER DATABASE ... SET torghut.runtime_role = '...' or PGOPTIONS). Roles are
-- cluster-wide: an existing role is reused; a missing one is created when the migrating user may.
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
    'position_snapshots, tool_run_logs, trade_cursor, llm_decision_reviews, decision_events, '
    'execution_events TO %I', r);
  EXECUTE format('GRANT UPDATE (enabled, updated_at) ON strategies TO %I', r);
  EXECUTE format('GRANT UPDATE (status, executed_at) ON trade_decisions TO %I', r);
  EXECUTE format('GRANT UPDATE (trade_decision_id, alpaca_order_id, client_order_id, symbol, side, '
    'order_type, time_in_force, submitted_qty, filled_qty, avg_fill_price, status, raw_order, '
    'updated_at, last_update_at) ON executions TO %I', r);
  EXECUTE format('GRANT UPDATE (cursor_at, cursor_seq, cursor_symbol, updated_at) ON trade_cursor TO %I', r);
END
$$;
