-- Idempotency keys of the HTTP service (the `Idempotency-Key` request header of every POST): the
-- first answer to a key is kept, so that a retry with the same key and the same body gets the same
-- answer instead of writing again, and a retry with another body is refused. Not audit history:
-- rows are deleted once they are older than the service's retention (24 hours by default).
-- A new table only; its index is created while it is empty.

-- torghut-lint: allow prefer-bigint-over-int reason: an HTTP status code
CREATE TABLE http_idempotency_keys (
    route text NOT NULL,
    key text NOT NULL,
    request_sha256 bytea NOT NULL,
    status integer,
    response bytea,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_http_idempotency_keys PRIMARY KEY (route, key)
);
CREATE INDEX ix_http_idempotency_keys_created_at ON http_idempotency_keys (created_at);

DO $$
DECLARE
  r text := coalesce(nullif(current_setting('torghut.runtime_role', true), ''), 'torghut_runtime');
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON http_idempotency_keys TO %I', r);
  END IF;
END
$$;
