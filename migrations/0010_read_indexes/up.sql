-- Read indexes: newest-first listings (GET /trading/decisions, /trading/executions) and a decision's executions.
-- torghut:no-transaction
--
-- The tables hold production rows, so the indexes are built CONCURRENTLY (no lock on writers),
-- one statement at a time outside a transaction. A build that fails leaves an INVALID index and
-- the migration dirty: drop the index, then `torghut migrate repair --mark-rolled-back` and run
-- `up` again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_trade_decisions_created_at ON trade_decisions (created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_executions_created_at ON executions (created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_executions_trade_decision_id ON executions (trade_decision_id);
