-- LLM reviews of trade decisions: inputs, outputs and verdicts.

CREATE TABLE llm_decision_reviews (
    id uuid NOT NULL,
    trade_decision_id uuid NOT NULL,
    model varchar(128) NOT NULL,
    prompt_version varchar(32) NOT NULL,
    input_json jsonb NOT NULL,
    response_json jsonb NOT NULL,
    verdict varchar(16) NOT NULL,
    confidence numeric(6,4),
    adjusted_qty numeric(20,8),
    adjusted_order_type varchar(32),
    rationale text,
    risk_flags jsonb,
    tokens_prompt integer,
    tokens_completion integer,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT pk_llm_decision_reviews PRIMARY KEY (id),
    CONSTRAINT fk_llm_decision_reviews_trade_decision_id_trade_decisions FOREIGN KEY (trade_decision_id)
        REFERENCES trade_decisions (id) ON DELETE CASCADE
);
CREATE INDEX ix_llm_decision_reviews_trade_decision_id ON llm_decision_reviews (trade_decision_id);
CREATE INDEX ix_llm_decision_reviews_verdict ON llm_decision_reviews (verdict);
CREATE INDEX ix_llm_decision_reviews_created_at ON llm_decision_reviews (created_at);
