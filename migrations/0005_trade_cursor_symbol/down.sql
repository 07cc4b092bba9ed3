ALTER TABLE trade_cursor DROP COLUMN cursor_symbol;
