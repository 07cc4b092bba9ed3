ALTER TABLE trade_cursor DROP COLUMN cursor_seq;
