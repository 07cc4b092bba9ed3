-- Remove capture, the hash chains and checkpoints, and the runtime role's grants (the role itself
-- is cluster-wide and may serve other databases: it is kept). The events recorded stay in
-- decision_events and execution_events (audit history); strategy_events goes with its stream.
-- The original service's key/value table torghut_meta is kept: that service uses it.
DO $$
DECLARE
  r text := coalesce(nullif(current_setting('torghut.runtime_role', true), ''), 'torghut_runtime');
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
    EXECUTE format('REVOKE ALL ON strategies, trade_decisions, executions, position_snapshots, '
      'tool_run_logs, trade_cursor, llm_decision_reviews, strategy_events, decision_events, '
      'execution_events, torghut_meta, audit_chain_heads, audit_lanes, audit_lane_log, audit_checkpoints, audit_checkpoint_heads FROM %I', r);
    EXECUTE format('REVOKE ALL ON SEQUENCE torghut_meta_id_seq FROM %I', r);
    EXECUTE format('REVOKE ALL ON torghut_meta.schema_history FROM %I', r);
    EXECUTE format('REVOKE ALL ON SCHEMA torghut_meta FROM %I', r);
  END IF;
END
$$;
DROP FUNCTION audit_heads_pending();
DROP FUNCTION audit_checkpoint(boolean, bigint);
DROP FUNCTION audit_take_checkpoint(text, uuid[], uuid[], boolean, bigint);
DROP FUNCTION audit_checkpoint_text(bigint, text);
DROP FUNCTION audit_stream_heads();
DROP TRIGGER audit_no_truncate ON audit_lane_log;
DROP TRIGGER audit_append_only ON audit_lane_log;
DROP TRIGGER audit_no_truncate ON audit_lanes;
DROP TRIGGER audit_no_delete ON audit_lanes;
DROP TRIGGER audit_no_truncate ON audit_checkpoint_heads;
DROP TRIGGER audit_append_only ON audit_checkpoint_heads;
DROP TRIGGER audit_no_truncate ON audit_checkpoints;
DROP TRIGGER audit_append_only ON audit_checkpoints;
DROP TRIGGER audit_no_truncate ON execution_events;
DROP TRIGGER audit_append_only ON execution_events;
DROP TRIGGER audit_no_truncate ON llm_decision_reviews;
DROP TRIGGER audit_append_only ON llm_decision_reviews;
DROP TRIGGER audit_no_truncate ON decision_events;
DROP TRIGGER audit_append_only ON decision_events;
DROP TRIGGER audit_no_truncate ON strategy_events;
DROP TRIGGER audit_append_only ON strategy_events;
DROP TRIGGER audit_no_truncate ON executions;
DROP TRIGGER audit_no_delete ON executions;
DROP TRIGGER audit_no_truncate ON trade_decisions;
DROP TRIGGER audit_no_delete ON trade_decisions;
DROP TRIGGER audit_no_truncate ON strategies;
DROP TRIGGER audit_no_delete ON strategies;
DROP TRIGGER audit_identity ON executions;
DROP TRIGGER audit_identity ON trade_decisions;
DROP TRIGGER audit_identity ON strategies;
DROP TRIGGER audit_legacy ON executions;
DROP TRIGGER audit_legacy ON trade_decisions;
DROP TRIGGER audit_legacy ON strategies;
DROP TRIGGER audit_capture ON executions;
DROP TRIGGER audit_capture ON trade_decisions;
DROP TRIGGER audit_capture ON strategies;
DROP TRIGGER audit_seal ON execution_events;
DROP TRIGGER audit_seal ON llm_decision_reviews;
DROP TRIGGER audit_seal ON decision_events;
DROP TRIGGER audit_seal ON strategy_events;
DROP TRIGGER audit_lane ON executions;
DROP TRIGGER audit_lane ON trade_decisions;
DROP TRIGGER audit_lane ON strategies;
DROP TRIGGER audit_seal ON executions;
DROP TRIGGER audit_seal ON trade_decisions;
DROP TRIGGER audit_seal ON strategies;
DROP FUNCTION audit_capture();
DROP FUNCTION audit_seal();
DROP FUNCTION audit_seal_legacy_before_change();
DROP FUNCTION audit_seal_legacy_pages(text, tid, tid);
DROP FUNCTION audit_seal_legacy(text, uuid, uuid);
DROP FUNCTION audit_seal_legacy_in(text, text, text, text);
DROP FUNCTION audit_link_lane();
DROP FUNCTION audit_seal_root();
DROP AGGREGATE audit_chain_fold(bytea);
DROP FUNCTION audit_chain_step(bytea, bytea);
DROP FUNCTION audit_initial(jsonb, jsonb[]);
DROP FUNCTION audit_content(text, jsonb);
DROP FUNCTION audit_refuse_identity();
DROP FUNCTION audit_refuse_change();
DROP FUNCTION audit_maintenance(oid);
DROP TABLE audit_checkpoint_heads;
DROP TABLE audit_checkpoints;
DROP TABLE audit_chain_heads;
DROP FUNCTION audit_lane_id(bigint);
DROP TABLE audit_lane_log;
DROP TABLE audit_lanes;
ALTER TABLE execution_events DROP COLUMN chain_hash;
ALTER TABLE execution_events DROP COLUMN chain_seq;
ALTER TABLE executions DROP COLUMN chain_hash;
ALTER TABLE executions DROP COLUMN chain_seq;
ALTER TABLE llm_decision_reviews DROP COLUMN chain_hash;
ALTER TABLE llm_decision_reviews DROP COLUMN chain_seq;
ALTER TABLE decision_events DROP COLUMN chain_hash;
ALTER TABLE decision_events DROP COLUMN chain_seq;
ALTER TABLE trade_decisions DROP COLUMN chain_hash;
ALTER TABLE trade_decisions DROP COLUMN chain_seq;
ALTER TABLE strategies DROP COLUMN chain_hash;
ALTER TABLE strategies DROP COLUMN chain_seq;
DROP TABLE strategy_events;
ALTER TABLE execution_events DROP COLUMN application_name;
ALTER TABLE execution_events DROP COLUMN actor;
ALTER TABLE decision_events DROP COLUMN application_name;
ALTER TABLE decision_events DROP COLUMN actor;
