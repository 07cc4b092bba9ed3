-- Governed retention: the one way audit rows are deleted. torghut audit archive exports whole
-- streams older than a date to an archive (JSON Lines and a manifest with SHA-256 digests),
-- verifies it, then calls audit_archive_delete, which deletes exactly those streams, takes an
-- 'archive' checkpoint recording each archived stream's last hash (seq 0: archived) so that
-- verify stays green and the archive can be verified against it, and records the governance
-- log row. Only the owner may execute it (EXECUTE is revoked from PUBLIC).

CREATE TABLE audit_archive_log (
    id bigint NOT NULL,
    archived_at timestamptz DEFAULT now() NOT NULL,
    archived_by text DEFAULT session_user NOT NULL,
    approved_by text NOT NULL,
    reason text NOT NULL,
    before timestamptz NOT NULL,
    row_counts jsonb NOT NULL,
    file_digests jsonb NOT NULL,
    manifest_sha256 text NOT NULL,
    checkpoint_id bigint NOT NULL,
    checkpoint_hash bytea NOT NULL,
    CONSTRAINT pk_audit_archive_log PRIMARY KEY (id),
    CONSTRAINT uq_audit_archive_log_manifest_sha256 UNIQUE (manifest_sha256)
);
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_archive_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_archive_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Deletes the given whole streams, after checking that every row of them is older than
-- before and that the row counts are the archive's; then an archive checkpoint and the
-- governance log row. Returns the log row's id.
CREATE FUNCTION audit_archive_delete(
    p_before timestamptz, p_reason text, p_approved_by text, p_manifest_sha256 text,
    p_file_digests jsonb, p_decisions uuid[], p_executions uuid[], p_row_counts jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  counts jsonb;
  cp bigint;
  cp_hash bytea;
  log_id bigint;
  newer bigint;
BEGIN
  IF coalesce(btrim(p_reason), '') = '' OR coalesce(btrim(p_approved_by), '') = '' THEN
    RAISE EXCEPTION 'audit archive refused: a reason and an approver are required' USING ERRCODE = 'TA004';
  END IF;
  IF p_before > now() THEN
    RAISE EXCEPTION 'audit archive refused: % is in the future', p_before USING ERRCODE = 'TA004';
  END IF;
  -- Every execution of an archived decision is archived with it.
  IF EXISTS (SELECT 1 FROM executions x WHERE x.trade_decision_id = ANY (p_decisions)
             AND NOT x.id = ANY (p_executions)) THEN
    RAISE EXCEPTION 'audit archive refused: an execution of an archived decision is not in the archive' USING ERRCODE = 'TA004';
  END IF;
  SELECT count(*) INTO newer FROM (
    SELECT created_at FROM trade_decisions WHERE id = ANY (p_decisions)
    UNION ALL SELECT created_at FROM decision_events WHERE decision_id = ANY (p_decisions)
    UNION ALL SELECT created_at FROM llm_decision_reviews WHERE trade_decision_id = ANY (p_decisions)
    UNION ALL SELECT greatest(created_at, updated_at) FROM executions WHERE id = ANY (p_executions)
    UNION ALL SELECT created_at FROM execution_events WHERE execution_id = ANY (p_executions)) r
  WHERE r.created_at >= p_before;
  IF newer > 0 THEN
    RAISE EXCEPTION 'audit archive refused: % row(s) of these streams are not older than %', newer, p_before USING ERRCODE = 'TA004';
  END IF;
  counts := jsonb_build_object(
    'trade_decisions', (SELECT count(*) FROM trade_decisions WHERE id = ANY (p_decisions)),
    'decision_events', (SELECT count(*) FROM decision_events WHERE decision_id = ANY (p_decisions)),
    'llm_decision_reviews', (SELECT count(*) FROM llm_decision_reviews WHERE trade_decision_id = ANY (p_decisions)),
    'executions', (SELECT count(*) FROM executions WHERE id = ANY (p_executions)),
    'execution_events', (SELECT count(*) FROM execution_events WHERE execution_id = ANY (p_executions)));
  IF counts IS DISTINCT FROM p_row_counts THEN
    RAISE EXCEPTION 'audit archive refused: the database has % rows for these streams, the archive %', counts, p_row_counts USING ERRCODE = 'TA004';
  END IF;

  cp := audit_take_checkpoint('archive', p_decisions, p_executions, false, NULL);
  SELECT c.hash INTO cp_hash FROM audit_checkpoints c WHERE c.id = cp;

  PERFORM set_config('torghut.audit_maintenance', 'on', true);
  DELETE FROM execution_events WHERE execution_id = ANY (p_executions);
  DELETE FROM executions WHERE id = ANY (p_executions);
  DELETE FROM decision_events WHERE decision_id = ANY (p_decisions);
  DELETE FROM llm_decision_reviews WHERE trade_decision_id = ANY (p_decisions);
  DELETE FROM trade_decisions WHERE id = ANY (p_decisions);
  DELETE FROM audit_chain_heads WHERE (stream = 'decision' AND stream_id = ANY (p_decisions))
    OR (stream = 'execution' AND stream_id = ANY (p_executions));
  PERFORM set_config('torghut.audit_maintenance', 'off', true);

  LOCK TABLE audit_archive_log IN SHARE ROW EXCLUSIVE MODE;
  SELECT coalesce(max(l.id), 0) + 1 INTO log_id FROM audit_archive_log l;
  INSERT INTO audit_archive_log (id, approved_by, reason, before, row_counts, file_digests,
    manifest_sha256, checkpoint_id, checkpoint_hash)
  VALUES (log_id, p_approved_by, p_reason, p_before, counts, p_file_digests, p_manifest_sha256, cp, cp_hash);
  RETURN log_id;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_archive_delete(timestamptz, text, text, text, jsonb, uuid[], uuid[], jsonb) FROM PUBLIC;

DO $$
DECLARE
  r text := coalesce(nullif(current_setting('torghut.runtime_role', true), ''), 'torghut_runtime');
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
    EXECUTE format('GRANT SELECT ON audit_archive_log TO %I', r);
  END IF;
END
$$;
