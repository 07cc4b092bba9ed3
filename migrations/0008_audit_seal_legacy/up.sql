-- Seals the rows that were there before the audit chain, batch by batch, without rewriting them
-- torghut:backfill
--
-- A database carried forward from the original service holds strategies, decisions, reviews and
-- executions written before 0007_audit_capture; their chain columns are NULL. Each step walks one
-- root table by its pages (in the order they are stored: no random reads), a run of pages per
-- transaction, and records for each of those streams not sealed yet the fold of its rows in
-- audit_chain_heads (legacy_rows = their number), without touching the rows themselves
-- (audit_seal_legacy_pages, 0007). A row that moves while the walk goes on (an UPDATE writes a
-- new version elsewhere) was sealed by the writer's own transaction before it moved and is
-- skipped wherever the walk meets it. Progress is kept in torghut_meta.backfill_progress: a run
-- that stops carries on where it stopped. Decisions and executions are walked in two interleaved
-- halves each (part=1/2, part=2/2), so that the backfill's workers share them evenly.
-- torghut:batch table=strategies key=ctid
SELECT audit_seal_legacy_pages('strategy', $1::tid, $2::tid);
-- torghut:batch table=trade_decisions key=ctid part=1/2
SELECT audit_seal_legacy_pages('decision', $1::tid, $2::tid);
-- torghut:batch table=trade_decisions key=ctid part=2/2
SELECT audit_seal_legacy_pages('decision', $1::tid, $2::tid);
-- torghut:batch table=executions key=ctid part=1/2
SELECT audit_seal_legacy_pages('execution', $1::tid, $2::tid);
-- torghut:batch table=executions key=ctid part=2/2
SELECT audit_seal_legacy_pages('execution', $1::tid, $2::tid);
