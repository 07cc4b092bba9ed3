-- Drops the whole v1 schema. Destroys every row: refused in prod without --allow-destructive.
DROP TABLE tool_run_logs;
DROP TABLE position_snapshots;
DROP TABLE executions;
DROP TABLE trade_decisions;
DROP TABLE strategies;
