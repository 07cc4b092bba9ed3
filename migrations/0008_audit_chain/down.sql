-- Remove the hash chains and checkpoints.
DO $$
DECLARE
  r text := coalesce(nullif(current_setting('torghut.runtime_role', true), ''), 'torghut_runtime');
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
    EXECUTE format('REVOKE ALL ON audit_chain_heads, audit_checkpoints, audit_checkpoint_heads FROM %I', r);
  END IF;
END
$$;
DROP FUNCTION audit_checkpoint();
DROP FUNCTION audit_checkpoint_text(bigint, text);
DROP FUNCTION audit_stream_heads();
DROP TRIGGER audit_no_truncate ON audit_checkpoint_heads;
DROP TRIGGER audit_append_only ON audit_checkpoint_heads;
DROP TRIGGER audit_no_truncate ON audit_checkpoints;
DROP TRIGGER audit_append_only ON audit_checkpoints;
DROP TRIGGER audit_guard_chain ON executions;
DROP TRIGGER audit_guard_chain ON trade_decisions;
DROP TRIGGER audit_seal ON execution_events;
DROP TRIGGER audit_seal ON executions;
DROP TRIGGER audit_seal ON llm_decision_reviews;
DROP TRIGGER audit_seal ON decision_events;
DROP TRIGGER audit_seal ON trade_decisions;
DROP FUNCTION audit_guard_chain();
DROP FUNCTION audit_seal();
DROP FUNCTION audit_chain_append(text, uuid, bytea);
DROP FUNCTION audit_row_digest(text, jsonb);
DROP TABLE audit_checkpoint_heads;
DROP TABLE audit_checkpoints;
DROP TABLE audit_chain_heads;
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
-- The 'adopted' events recorded by up stay: they are audit history (and harmless to 0006).
