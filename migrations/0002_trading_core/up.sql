-- Trading core: decision hash (idempotency key) and execution timestamps, and the trade cursor.
-- Like the original revision, every step is skipped when its column, index or table already exists.

ALTER TABLE trade_decisions ADD COLUMN IF NOT EXISTS decision_hash varchar(64);
ALTER TABLE trade_decisions ADD COLUMN IF NOT EXISTS executed_at timestamptz;
CREATE UNIQUE INDEX IF NOT EXISTS ix_trade_decisions_decision_hash ON trade_decisions (decision_hash);

ALTER TABLE executions ADD COLUMN IF NOT EXISTS last_update_at timestamptz;

CREATE TABLE IF NOT EXISTS trade_cursor (
    id uuid NOT NULL,
    source varchar(64) NOT NULL,
    cursor_at timestamptz NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_trade_cursor PRIMARY KEY (id),
    CONSTRAINT uq_trade_cursor_source UNIQUE (source)
);
