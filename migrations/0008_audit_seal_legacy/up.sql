-- Seals the rows that were there before the audit chain, batch by batch, without rewriting them
-- torghut:backfill
--
-- A database carried forward from the original service holds strategies, decisions, reviews and
-- executions written before 0007_audit_capture; their chain columns are NULL. Each step walks one
-- root table by id, a batch of ids per transaction, and records for each of those streams not
-- sealed yet the fold of its rows in audit_chain_heads (legacy_rows = their number), without
-- touching the rows themselves (audit_seal_legacy, 0007). A stream that changed before its batch
-- ran was sealed by the writer's own transaction and is skipped. Progress is kept in
-- torghut_meta.backfill_progress: a run that stops carries on where it stopped.
-- torghut:batch table=strategies key=id
SELECT audit_seal_legacy('strategy', $1::uuid, $2::uuid);
-- torghut:batch table=trade_decisions key=id
SELECT audit_seal_legacy('decision', $1::uuid, $2::uuid);
-- torghut:batch table=executions key=id
SELECT audit_seal_legacy('execution', $1::uuid, $2::uuid);
