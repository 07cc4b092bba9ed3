-- Initial trading and audit schema (v1): strategies, decisions, executions, position snapshots and tool run logs.
-- Reproduces the original service's revision 0001_initial exactly, constraint and index names included.

CREATE TABLE strategies (
    id uuid NOT NULL,
    name varchar(255) NOT NULL,
    description text,
    enabled boolean DEFAULT true NOT NULL,
    base_timeframe varchar(16) NOT NULL,
    universe_type varchar(64) NOT NULL,
    universe_symbols jsonb,
    max_position_pct_equity numeric(20,8),
    max_notional_per_trade numeric(20,8),
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_strategies PRIMARY KEY (id)
);
CREATE INDEX ix_strategies_enabled ON strategies (enabled);
CREATE INDEX ix_strategies_name ON strategies (name);

CREATE TABLE trade_decisions (
    id uuid NOT NULL,
    strategy_id uuid NOT NULL,
    alpaca_account_label varchar(64) NOT NULL,
    symbol varchar(16) NOT NULL,
    timeframe varchar(16) NOT NULL,
    decision_json jsonb NOT NULL,
    rationale text,
    status varchar(32) DEFAULT 'planned' NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_trade_decisions PRIMARY KEY (id),
    CONSTRAINT fk_trade_decisions_strategy_id_strategies FOREIGN KEY (strategy_id)
        REFERENCES strategies (id) ON DELETE CASCADE
);
CREATE INDEX ix_trade_decisions_strategy ON trade_decisions (strategy_id);
CREATE INDEX ix_trade_decisions_status ON trade_decisions (status);

CREATE TABLE executions (
    id uuid NOT NULL,
    trade_decision_id uuid,
    alpaca_order_id varchar(128) NOT NULL,
    client_order_id varchar(128),
    symbol varchar(16) NOT NULL,
    side varchar(8) NOT NULL,
    order_type varchar(32) NOT NULL,
    time_in_force varchar(16) NOT NULL,
    submitted_qty numeric(20,8) NOT NULL,
    filled_qty numeric(20,8) DEFAULT 0 NOT NULL,
    avg_fill_price numeric(20,8),
    status varchar(32) NOT NULL,
    raw_order jsonb,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_executions PRIMARY KEY (id),
    CONSTRAINT fk_executions_trade_decision_id_trade_decisions FOREIGN KEY (trade_decision_id)
        REFERENCES trade_decisions (id) ON DELETE SET NULL,
    CONSTRAINT uq_executions_alpaca_order_id UNIQUE (alpaca_order_id),
    CONSTRAINT uq_executions_client_order_id UNIQUE (client_order_id)
);
-- Redundant with uq_executions_alpaca_order_id, but production databases have it.
CREATE INDEX ix_executions_alpaca_order_id ON executions (alpaca_order_id);
CREATE INDEX ix_executions_symbol_status ON executions (symbol, status);

CREATE TABLE position_snapshots (
    id uuid NOT NULL,
    alpaca_account_label varchar(64) NOT NULL,
    as_of timestamptz NOT NULL,
    equity numeric(20,8) NOT NULL,
    cash numeric(20,8) NOT NULL,
    buying_power numeric(20,8) NOT NULL,
    positions jsonb NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_position_snapshots PRIMARY KEY (id)
);
CREATE INDEX ix_position_snapshots_as_of ON position_snapshots (as_of);
CREATE INDEX ix_position_snapshots_account_label ON position_snapshots (alpaca_account_label);

CREATE TABLE tool_run_logs (
    id uuid NOT NULL,
    codex_session_id varchar(128) NOT NULL,
    tool_name varchar(128) NOT NULL,
    request_payload jsonb NOT NULL,
    response_payload jsonb NOT NULL,
    success boolean DEFAULT true NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_tool_run_logs PRIMARY KEY (id)
);
CREATE INDEX ix_tool_run_logs_codex_session ON tool_run_logs (codex_session_id);
