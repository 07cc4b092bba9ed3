-- Cursor symbol, the last tie-breaker of (cursor_at, cursor_seq, cursor_symbol).
ALTER TABLE trade_cursor ADD COLUMN cursor_symbol varchar(32);
