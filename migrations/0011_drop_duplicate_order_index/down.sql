-- torghut:no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_executions_alpaca_order_id ON executions (alpaca_order_id);
