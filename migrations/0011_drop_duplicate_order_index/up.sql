-- Drops ix_executions_alpaca_order_id: a plain index on the column that the unique constraint
-- uq_executions_alpaca_order_id already indexes, with the same key, operator class and collation.
-- Every lookup by alpaca_order_id uses the constraint's index; the plain one only cost a second
-- index entry (and its WAL) on every execution written.
-- torghut:no-transaction
--
-- First a check that the constraint's index is there and valid, so that a database which has
-- lost it keeps the plain index (the migration fails here and nothing is dropped). The index is
-- dropped CONCURRENTLY: writers are not blocked. Should the drop fail, the migration is left
-- dirty: drop the index by hand (or leave it), then `torghut migrate repair --mark-rolled-back`
-- and run `up` again.
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1
    FROM pg_constraint c
    JOIN pg_index i ON i.indexrelid = c.conindid
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE c.conrelid = 'executions'::regclass
      AND c.conname = 'uq_executions_alpaca_order_id'
      AND c.contype = 'u'
      AND i.indisvalid
      AND i.indnkeyatts = 1
      AND a.attname = 'alpaca_order_id'
  ) THEN
    RAISE EXCEPTION 'executions has no valid unique constraint uq_executions_alpaca_order_id on (alpaca_order_id); ix_executions_alpaca_order_id is kept'
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
END
$$;
DROP INDEX CONCURRENTLY IF EXISTS ix_executions_alpaca_order_id;
