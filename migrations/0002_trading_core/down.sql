DROP TABLE trade_cursor;
ALTER TABLE executions DROP COLUMN last_update_at;
DROP INDEX ix_trade_decisions_decision_hash;
ALTER TABLE trade_decisions DROP COLUMN executed_at;
ALTER TABLE trade_decisions DROP COLUMN decision_hash;
