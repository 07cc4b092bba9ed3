-- Append-only audit events: decision status transitions (with reason codes) and execution updates.
-- New tables only; their indexes are created here, while the tables are still empty.

-- torghut-lint: allow prefer-bigint-over-int reason: seq counts events of one decision, far below 2^31
-- torghut-lint: allow prefer-text-field reason: kind is a short code (status, ...) following the v1 varchar convention
CREATE TABLE decision_events (
    id uuid NOT NULL,
    decision_id uuid NOT NULL,
    seq integer NOT NULL,
    kind varchar(32) NOT NULL,
    payload jsonb NOT NULL,
    reason_codes text[] DEFAULT '{}' NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_decision_events PRIMARY KEY (id),
    CONSTRAINT fk_decision_events_decision_id_trade_decisions FOREIGN KEY (decision_id)
        REFERENCES trade_decisions (id) ON DELETE CASCADE,
    CONSTRAINT uq_decision_events_decision_id_seq UNIQUE (decision_id, seq)
);
-- Partial: most events carry no reason code, and an empty array needs no index entry.
CREATE INDEX ix_decision_events_reason_codes ON decision_events USING gin (reason_codes)
    WHERE reason_codes <> '{}';

-- torghut-lint: allow prefer-bigint-over-int reason: seq counts broker updates of one order, far below 2^31
CREATE TABLE execution_events (
    id uuid NOT NULL,
    execution_id uuid NOT NULL,
    seq integer NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_execution_events PRIMARY KEY (id),
    CONSTRAINT fk_execution_events_execution_id_executions FOREIGN KEY (execution_id)
        REFERENCES executions (id) ON DELETE CASCADE,
    CONSTRAINT uq_execution_events_execution_id_seq UNIQUE (execution_id, seq)
);
