-- Back to a copy of the initial payload in every row: a flagged row's payload has not changed
-- since creation, so it is its initial payload (the sealed content stays the same).
SET LOCAL torghut.audit_maintenance = 'on';
UPDATE executions SET initial_raw_order = raw_order, initial_is_raw_order = NULL
WHERE initial_is_raw_order;
RESET torghut.audit_maintenance;

DROP TRIGGER audit_guard_initial ON executions;
CREATE TRIGGER audit_guard_initial BEFORE UPDATE ON executions
  FOR EACH ROW WHEN (OLD.initial_raw_order IS DISTINCT FROM NEW.initial_raw_order)
  EXECUTE FUNCTION audit_guard_initial();
DROP TRIGGER audit_keep_initial ON executions;
DROP FUNCTION audit_keep_initial();

CREATE OR REPLACE FUNCTION audit_seal_execution() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.initial_raw_order := NEW.raw_order;
  NEW.chain_seq := 1;
  NEW.chain_hash := sha256(sha256(convert_to('executions ' || (jsonb_build_object(
      'id', NEW.id, 'symbol', NEW.symbol, 'side', NEW.side,
      'created_at', NEW.created_at AT TIME ZONE 'UTC')
    || CASE WHEN NEW.initial_raw_order IS NULL THEN '{}'::jsonb
       ELSE jsonb_build_object('initial_raw_order', NEW.initial_raw_order) END)::text, 'UTF8')));
  RETURN NEW;
END
$$;

ALTER TABLE executions DROP COLUMN initial_is_raw_order;
