-- Remove the audit enforcement triggers and functions and the runtime role's grants (the role
-- itself is cluster-wide and may serve other databases: it is kept).
DO $$
DECLARE
  r text := coalesce(nullif(current_setting('torghut.runtime_role', true), ''), 'torghut_runtime');
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
    EXECUTE format('REVOKE ALL ON strategies, trade_decisions, executions, position_snapshots, '
      'tool_run_logs, trade_cursor, llm_decision_reviews, decision_events, execution_events FROM %I', r);
  END IF;
END
$$;
DROP TRIGGER audit_guard_update ON executions;
DROP TRIGGER audit_no_truncate ON executions;
DROP TRIGGER audit_no_delete ON executions;
DROP TRIGGER audit_guard_update ON trade_decisions;
DROP TRIGGER audit_no_truncate ON trade_decisions;
DROP TRIGGER audit_no_delete ON trade_decisions;
DROP TRIGGER audit_no_truncate ON execution_events;
DROP TRIGGER audit_append_only ON execution_events;
DROP TRIGGER audit_no_truncate ON decision_events;
DROP TRIGGER audit_append_only ON decision_events;
DROP TRIGGER audit_no_truncate ON llm_decision_reviews;
DROP TRIGGER audit_append_only ON llm_decision_reviews;
DROP FUNCTION audit_guard_execution_update();
DROP FUNCTION audit_guard_decision_update();
DROP FUNCTION audit_refuse_delete();
DROP FUNCTION audit_refuse_change();
DROP FUNCTION audit_maintenance(oid);
