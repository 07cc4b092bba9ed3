-- Cursor sequence number, to order events that share a timestamp.
ALTER TABLE trade_cursor ADD COLUMN cursor_seq bigint;
