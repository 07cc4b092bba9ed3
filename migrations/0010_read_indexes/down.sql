-- torghut:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS ix_executions_trade_decision_id;
DROP INDEX CONCURRENTLY IF EXISTS ix_executions_created_at;
DROP INDEX CONCURRENTLY IF EXISTS ix_trade_decisions_created_at;
