-- An execution's initial payload is kept in place until its payload first changes, instead of a
-- second copy in every row: the row says so with initial_is_raw_order = true (initial_raw_order
-- null), and raw_order is then the payload the execution was created with. The first UPDATE
-- that changes raw_order moves the old payload into initial_raw_order and clears the flag
-- (audit_keep_initial, below), so the initial payload is never lost. The content sealed into the
-- root row is unchanged: initial_raw_order is the payload the execution was created with,
-- wherever it is kept. (A copy was about 290 bytes of heap and WAL per execution, 8% of a
-- trail's WAL.)
--
-- torghut audit verify takes the initial payload from raw_order while the flag is set, else from
-- initial_raw_order; a row with the flag set and an initial_raw_order, or whose flag was cleared
-- without its payload being moved, no longer matches its seal. Rows written before keep their
-- copy (flag null).

ALTER TABLE executions ADD COLUMN initial_is_raw_order boolean;

-- Trigger-sealed executions keep their payload in place too (same content as 0011).
CREATE OR REPLACE FUNCTION audit_seal_execution() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.initial_raw_order := NULL;
  NEW.initial_is_raw_order := CASE WHEN NEW.raw_order IS NOT NULL THEN true END;
  NEW.chain_seq := 1;
  NEW.chain_hash := sha256(sha256(convert_to('executions ' || (jsonb_build_object(
      'id', NEW.id, 'symbol', NEW.symbol, 'side', NEW.side,
      'created_at', NEW.created_at AT TIME ZONE 'UTC')
    || CASE WHEN NEW.raw_order IS NULL THEN '{}'::jsonb
       ELSE jsonb_build_object('initial_raw_order', NEW.raw_order) END)::text, 'UTF8')));
  RETURN NEW;
END
$$;

-- The first change of a flagged row's payload keeps the initial one. Fires after the guards
-- (triggers fire in name order), whose conditions see the update as the writer gave it.
CREATE FUNCTION audit_keep_initial() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.initial_raw_order := OLD.raw_order;
  NEW.initial_is_raw_order := NULL;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_keep_initial BEFORE UPDATE ON executions
  FOR EACH ROW WHEN (OLD.initial_is_raw_order AND NEW.raw_order IS DISTINCT FROM OLD.raw_order)
  EXECUTE FUNCTION audit_keep_initial();

-- Neither column is changed by a writer (the runtime role has no privilege on them; this refuses
-- it to the owner too, outside audit maintenance).
DROP TRIGGER audit_guard_initial ON executions;
CREATE TRIGGER audit_guard_initial BEFORE UPDATE ON executions
  FOR EACH ROW WHEN (OLD.initial_raw_order IS DISTINCT FROM NEW.initial_raw_order
                     OR OLD.initial_is_raw_order IS DISTINCT FROM NEW.initial_is_raw_order)
  EXECUTE FUNCTION audit_guard_initial();
