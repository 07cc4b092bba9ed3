//! The v1 schema produced by 0001..0005 is the one the specification describes, names included.

use std::collections::BTreeSet;

use torghut_migrate::MigrationSet;
use torghut_testdb::empty_db;

use crate::fixtures::migrator;

const VC: &str = "character varying";
const TS: &str = "timestamp with time zone";
const NUM: &str = "numeric(20,8)";

/// (table, column, type, not null, default)
fn spec_columns() -> Vec<(
    &'static str,
    &'static str,
    String,
    bool,
    Option<&'static str>,
)> {
    let v = |n: u32| format!("{VC}({n})");
    let s = |t: &str| t.to_string();
    vec![
        ("strategies", "id", s("uuid"), true, None),
        ("strategies", "name", v(255), true, None),
        ("strategies", "description", s("text"), false, None),
        ("strategies", "enabled", s("boolean"), true, Some("true")),
        ("strategies", "base_timeframe", v(16), true, None),
        ("strategies", "universe_type", v(64), true, None),
        ("strategies", "universe_symbols", s("jsonb"), false, None),
        ("strategies", "max_position_pct_equity", s(NUM), false, None),
        ("strategies", "max_notional_per_trade", s(NUM), false, None),
        ("strategies", "created_at", s(TS), true, Some("now()")),
        ("strategies", "updated_at", s(TS), true, Some("now()")),
        ("trade_decisions", "id", s("uuid"), true, None),
        ("trade_decisions", "strategy_id", s("uuid"), true, None),
        ("trade_decisions", "alpaca_account_label", v(64), true, None),
        ("trade_decisions", "symbol", v(16), true, None),
        ("trade_decisions", "timeframe", v(16), true, None),
        ("trade_decisions", "decision_json", s("jsonb"), true, None),
        ("trade_decisions", "rationale", s("text"), false, None),
        (
            "trade_decisions",
            "status",
            v(32),
            true,
            Some("'planned'::character varying"),
        ),
        ("trade_decisions", "created_at", s(TS), true, Some("now()")),
        ("trade_decisions", "decision_hash", v(64), false, None),
        ("trade_decisions", "executed_at", s(TS), false, None),
        ("executions", "id", s("uuid"), true, None),
        ("executions", "trade_decision_id", s("uuid"), false, None),
        ("executions", "alpaca_order_id", v(128), true, None),
        ("executions", "client_order_id", v(128), false, None),
        ("executions", "symbol", v(16), true, None),
        ("executions", "side", v(8), true, None),
        ("executions", "order_type", v(32), true, None),
        ("executions", "time_in_force", v(16), true, None),
        ("executions", "submitted_qty", s(NUM), true, None),
        ("executions", "filled_qty", s(NUM), true, Some("0")),
        ("executions", "avg_fill_price", s(NUM), false, None),
        ("executions", "status", v(32), true, None),
        ("executions", "raw_order", s("jsonb"), false, None),
        ("executions", "created_at", s(TS), true, Some("now()")),
        ("executions", "updated_at", s(TS), true, Some("now()")),
        ("executions", "last_update_at", s(TS), false, None),
        ("position_snapshots", "id", s("uuid"), true, None),
        (
            "position_snapshots",
            "alpaca_account_label",
            v(64),
            true,
            None,
        ),
        ("position_snapshots", "as_of", s(TS), true, None),
        ("position_snapshots", "equity", s(NUM), true, None),
        ("position_snapshots", "cash", s(NUM), true, None),
        ("position_snapshots", "buying_power", s(NUM), true, None),
        ("position_snapshots", "positions", s("jsonb"), true, None),
        (
            "position_snapshots",
            "created_at",
            s(TS),
            true,
            Some("now()"),
        ),
        ("tool_run_logs", "id", s("uuid"), true, None),
        ("tool_run_logs", "codex_session_id", v(128), true, None),
        ("tool_run_logs", "tool_name", v(128), true, None),
        ("tool_run_logs", "request_payload", s("jsonb"), true, None),
        ("tool_run_logs", "response_payload", s("jsonb"), true, None),
        ("tool_run_logs", "success", s("boolean"), true, Some("true")),
        ("tool_run_logs", "created_at", s(TS), true, Some("now()")),
        ("trade_cursor", "id", s("uuid"), true, None),
        ("trade_cursor", "source", v(64), true, None),
        ("trade_cursor", "cursor_at", s(TS), true, None),
        ("trade_cursor", "created_at", s(TS), true, Some("now()")),
        ("trade_cursor", "updated_at", s(TS), true, Some("now()")),
        ("trade_cursor", "cursor_seq", s("bigint"), false, None),
        ("trade_cursor", "cursor_symbol", v(32), false, None),
        ("llm_decision_reviews", "id", s("uuid"), true, None),
        (
            "llm_decision_reviews",
            "trade_decision_id",
            s("uuid"),
            true,
            None,
        ),
        ("llm_decision_reviews", "model", v(128), true, None),
        ("llm_decision_reviews", "prompt_version", v(32), true, None),
        ("llm_decision_reviews", "input_json", s("jsonb"), true, None),
        (
            "llm_decision_reviews",
            "response_json",
            s("jsonb"),
            true,
            None,
        ),
        ("llm_decision_reviews", "verdict", v(16), true, None),
        (
            "llm_decision_reviews",
            "confidence",
            s("numeric(6,4)"),
            false,
            None,
        ),
        ("llm_decision_reviews", "adjusted_qty", s(NUM), false, None),
        (
            "llm_decision_reviews",
            "adjusted_order_type",
            v(32),
            false,
            None,
        ),
        ("llm_decision_reviews", "rationale", s("text"), false, None),
        (
            "llm_decision_reviews",
            "risk_flags",
            s("jsonb"),
            false,
            None,
        ),
        (
            "llm_decision_reviews",
            "tokens_prompt",
            s("integer"),
            false,
            None,
        ),
        (
            "llm_decision_reviews",
            "tokens_completion",
            s("integer"),
            false,
            None,
        ),
        (
            "llm_decision_reviews",
            "created_at",
            s(TS),
            true,
            Some("now()"),
        ),
    ]
}

/// (table, constraint, definition)
const SPEC_CONSTRAINTS: &[(&str, &str, &str)] = &[
    ("strategies", "pk_strategies", "PRIMARY KEY (id)"),
    ("trade_decisions", "pk_trade_decisions", "PRIMARY KEY (id)"),
    (
        "trade_decisions",
        "fk_trade_decisions_strategy_id_strategies",
        "FOREIGN KEY (strategy_id) REFERENCES strategies(id) ON DELETE CASCADE",
    ),
    ("executions", "pk_executions", "PRIMARY KEY (id)"),
    (
        "executions",
        "fk_executions_trade_decision_id_trade_decisions",
        "FOREIGN KEY (trade_decision_id) REFERENCES trade_decisions(id) ON DELETE SET NULL",
    ),
    (
        "executions",
        "uq_executions_alpaca_order_id",
        "UNIQUE (alpaca_order_id)",
    ),
    (
        "executions",
        "uq_executions_client_order_id",
        "UNIQUE (client_order_id)",
    ),
    (
        "position_snapshots",
        "pk_position_snapshots",
        "PRIMARY KEY (id)",
    ),
    ("tool_run_logs", "pk_tool_run_logs", "PRIMARY KEY (id)"),
    ("trade_cursor", "pk_trade_cursor", "PRIMARY KEY (id)"),
    ("trade_cursor", "uq_trade_cursor_source", "UNIQUE (source)"),
    (
        "llm_decision_reviews",
        "pk_llm_decision_reviews",
        "PRIMARY KEY (id)",
    ),
    (
        "llm_decision_reviews",
        "fk_llm_decision_reviews_trade_decision_id_trade_decisions",
        "FOREIGN KEY (trade_decision_id) REFERENCES trade_decisions(id) ON DELETE CASCADE",
    ),
];

/// (index, definition) of the non-constraint indexes.
const SPEC_INDEXES: &[(&str, &str)] = &[
    ("ix_strategies_enabled", "CREATE INDEX ix_strategies_enabled ON public.strategies USING btree (enabled)"),
    ("ix_strategies_name", "CREATE INDEX ix_strategies_name ON public.strategies USING btree (name)"),
    ("ix_trade_decisions_strategy", "CREATE INDEX ix_trade_decisions_strategy ON public.trade_decisions USING btree (strategy_id)"),
    ("ix_trade_decisions_status", "CREATE INDEX ix_trade_decisions_status ON public.trade_decisions USING btree (status)"),
    ("ix_trade_decisions_decision_hash", "CREATE UNIQUE INDEX ix_trade_decisions_decision_hash ON public.trade_decisions USING btree (decision_hash)"),
    ("ix_executions_alpaca_order_id", "CREATE INDEX ix_executions_alpaca_order_id ON public.executions USING btree (alpaca_order_id)"),
    ("ix_executions_symbol_status", "CREATE INDEX ix_executions_symbol_status ON public.executions USING btree (symbol, status)"),
    ("ix_position_snapshots_as_of", "CREATE INDEX ix_position_snapshots_as_of ON public.position_snapshots USING btree (as_of)"),
    ("ix_position_snapshots_account_label", "CREATE INDEX ix_position_snapshots_account_label ON public.position_snapshots USING btree (alpaca_account_label)"),
    ("ix_tool_run_logs_codex_session", "CREATE INDEX ix_tool_run_logs_codex_session ON public.tool_run_logs USING btree (codex_session_id)"),
    ("ix_llm_decision_reviews_trade_decision_id", "CREATE INDEX ix_llm_decision_reviews_trade_decision_id ON public.llm_decision_reviews USING btree (trade_decision_id)"),
    ("ix_llm_decision_reviews_verdict", "CREATE INDEX ix_llm_decision_reviews_verdict ON public.llm_decision_reviews USING btree (verdict)"),
    ("ix_llm_decision_reviews_created_at", "CREATE INDEX ix_llm_decision_reviews_created_at ON public.llm_decision_reviews USING btree (created_at)"),
];

#[tokio::test]
async fn v1_schema_at_0005_matches_the_specification() {
    let db = empty_db().await;
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    m.up(Some("0005_trade_cursor_symbol")).await.unwrap();
    let c = db.connect().await;

    let rows = c
        .query(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                    pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped",
            &[],
        )
        .await
        .unwrap();
    let live: BTreeSet<(String, String, String, bool, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let spec: BTreeSet<(String, String, String, bool, Option<String>)> = spec_columns()
        .into_iter()
        .map(|(t, c, ty, nn, d)| (t.into(), c.into(), ty, nn, d.map(str::to_string)))
        .collect();
    let missing: Vec<_> = spec.difference(&live).collect();
    let extra: Vec<_> = live.difference(&spec).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );

    let rows = c
        .query(
            "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid) FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public'",
            &[],
        )
        .await
        .unwrap();
    let live: BTreeSet<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let spec: BTreeSet<(String, String, String)> = SPEC_CONSTRAINTS
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(live, spec);

    let rows = c
        .query(
            "SELECT i.relname::text, pg_get_indexdef(x.indexrelid) FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace \
             WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
            &[],
        )
        .await
        .unwrap();
    let live: BTreeSet<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let spec: BTreeSet<(String, String)> = SPEC_INDEXES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(live, spec);
}

/// Every index on `executions` (constraints' included), by name.
async fn execution_indexes(c: &tokio_postgres::Client) -> BTreeSet<String> {
    c.query(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'executions'",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn duplicate_order_index_is_dropped_and_lookups_keep_the_unique_index() {
    let db = empty_db().await;
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    m.up(Some("0011_drop_duplicate_order_index")).await.unwrap();
    let c = db.connect().await;
    let ix = execution_indexes(&c).await;
    assert!(!ix.contains("ix_executions_alpaca_order_id"), "{ix:?}");
    assert!(ix.contains("uq_executions_alpaca_order_id"), "{ix:?}");

    // The constraint still refuses a second row with the same order id, and a lookup by it
    // still goes through an index.
    const ORDER_O1: &str =
        "INSERT INTO executions (id, alpaca_order_id, symbol, side, order_type, \
        time_in_force, submitted_qty, status) \
        VALUES (gen_random_uuid(), 'o-1', 'AAPL', 'buy', 'market', 'day', 1, 'new')";
    c.batch_execute(ORDER_O1).await.unwrap();
    let e = c.batch_execute(ORDER_O1).await.unwrap_err();
    let db_err = e.as_db_error().expect("a database error");
    assert_eq!(db_err.constraint(), Some("uq_executions_alpaca_order_id"));
    c.batch_execute("SET enable_seqscan = off").await.unwrap();
    let forced: Vec<String> = c
        .query(
            "EXPLAIN (COSTS OFF) SELECT * FROM executions WHERE alpaca_order_id = 'o-1'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        forced.join("\n").contains("uq_executions_alpaca_order_id"),
        "{forced:?}"
    );

    // Reverting puts the plain index back.
    m.down("0010_read_indexes", false, false, None)
        .await
        .unwrap();
    assert!(execution_indexes(&c)
        .await
        .contains("ix_executions_alpaca_order_id"));
}

#[tokio::test]
async fn duplicate_order_index_is_kept_when_the_unique_constraint_is_missing() {
    let db = empty_db().await;
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    m.up(Some("0010_read_indexes")).await.unwrap();
    let c = db.connect().await;
    c.batch_execute("ALTER TABLE executions DROP CONSTRAINT uq_executions_alpaca_order_id")
        .await
        .unwrap();
    let e = m.up(None).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("0011_drop_duplicate_order_index")
            && text.contains("uq_executions_alpaca_order_id")
            && text.contains("55000"),
        "{text}"
    );
    assert!(execution_indexes(&c)
        .await
        .contains("ix_executions_alpaca_order_id"));
}

/// A trigger disabled (or set to fire only on replicas) is drift, though its definition is the
/// migrations': `verify` names it and how it fires.
#[tokio::test]
async fn a_disabled_trigger_is_drift() {
    let db = empty_db().await;
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    m.up(None).await.unwrap();
    assert!(m.verify().await.unwrap().clean);
    let c = db.connect().await;
    for (sql, state) in [
        (
            "ALTER TABLE decision_events DISABLE TRIGGER audit_append_only",
            "[disabled]",
        ),
        (
            "ALTER TABLE decision_events ENABLE REPLICA TRIGGER audit_append_only",
            "[enabled on replicas only]",
        ),
        (
            "ALTER TABLE decision_events ENABLE ALWAYS TRIGGER audit_append_only",
            "[enabled always]",
        ),
    ] {
        c.batch_execute(sql).await.unwrap();
        let v = m.verify().await.unwrap();
        assert!(!v.clean, "{sql}");
        let d = v
            .catalog
            .differences
            .iter()
            .find(|d| d.object.contains("trigger audit_append_only"))
            .unwrap_or_else(|| panic!("{sql}: {:?}", v.catalog.differences));
        assert!(d.found.as_deref().unwrap_or("").ends_with(state), "{d:?}");
        assert!(
            d.expected.as_deref().unwrap_or("").ends_with("[enabled]"),
            "{d:?}"
        );
        let off = m.audit_triggers_not_enabled().await.unwrap();
        assert_eq!(off.len(), 1, "{off:?}");
        assert_eq!(
            (off[0].table.as_str(), off[0].trigger.as_str()),
            ("decision_events", "audit_append_only")
        );
    }
    c.batch_execute("ALTER TABLE decision_events ENABLE TRIGGER audit_append_only")
        .await
        .unwrap();
    assert!(m.verify().await.unwrap().clean);
    assert!(m.audit_triggers_not_enabled().await.unwrap().is_empty());
}
