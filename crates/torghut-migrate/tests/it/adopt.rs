//! Adopting databases built by the old service's Alembic chain.
//!
//! Databases are built from `tests/fixtures/legacy/alembic_*.sql` when present (dumps of databases
//! that the old chain built, with rows in every table); otherwise from the legacy migrations' SQL with
//! an `alembic_version` row, as the old service left it.

use std::path::PathBuf;
use std::process::Command;

use torghut_migrate::{MigrateError, MigrationSet};
use torghut_testdb::{empty_db, TestDb};

use crate::fixtures::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/legacy")
        .join(name)
}

/// A database at `revision` as the old service built it, with rows in every table.
async fn legacy_db(revision: &str) -> TestDb {
    let db = empty_db().await;
    let num = &revision[..4];
    let dump = fixture(&format!("alembic_{num}.sql"));
    if dump.exists() {
        let out = Command::new("psql")
            .args([&db.dsn(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(&dump)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return db;
    }
    let c = db.connect().await;
    let set = MigrationSet::embedded();
    for m in set.all() {
        c.batch_execute(&m.up).await.unwrap();
        if m.id == revision {
            break;
        }
    }
    c.batch_execute(&format!(
        "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, \
           CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
         INSERT INTO alembic_version VALUES ('{revision}');
         INSERT INTO strategies (id, name, base_timeframe, universe_type, universe_symbols)
           VALUES ('6f1c1a8e-2d3b-4c5d-9e8f-0a1b2c3d4e5f', 'macd', '1Min', 'static', '[\"AAPL\"]');
         INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, decision_json)
           VALUES ('00000000-0000-0000-0000-000000000001', '6f1c1a8e-2d3b-4c5d-9e8f-0a1b2c3d4e5f', 'paper', 'AAPL', '1Min', '{{\"qty\": \"1.50\"}}');
         INSERT INTO executions (id, trade_decision_id, alpaca_order_id, symbol, side, order_type, time_in_force, submitted_qty, status)
           VALUES ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001', 'o-1', 'AAPL', 'buy', 'market', 'day', 1.5, 'filled');
         INSERT INTO position_snapshots (id, alpaca_account_label, as_of, equity, cash, buying_power, positions)
           VALUES ('00000000-0000-0000-0000-000000000003', 'paper', now(), 1, 1, 1, '[]');
         INSERT INTO tool_run_logs (id, codex_session_id, tool_name, request_payload, response_payload)
           VALUES ('00000000-0000-0000-0000-000000000004', 's', 't', '{{}}', '{{}}');"
    ))
    .await
    .unwrap();
    if set.position(revision).unwrap() >= 1 {
        c.batch_execute(
            "INSERT INTO trade_cursor (id, source, cursor_at) VALUES ('00000000-0000-0000-0000-000000000005', 'alpaca', now())",
        )
        .await
        .unwrap();
    }
    if set.position(revision).unwrap() >= 2 {
        c.batch_execute(
            "INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, response_json, verdict)
             VALUES ('00000000-0000-0000-0000-000000000006', '00000000-0000-0000-0000-000000000001', 'm', 'v1', '{}', '{}', 'approve')",
        )
        .await
        .unwrap();
    }
    db
}

async fn row_counts(db: &TestDb) -> Vec<(String, i64)> {
    let c = db.connect().await;
    let tables: Vec<String> = c
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .await
            .unwrap()
            .get(0);
        out.push((t, n));
    }
    out
}

async fn adopt_then_up_keeps_every_row(revision: &str) {
    let db = legacy_db(revision).await;
    let before = row_counts(&db).await;
    assert!(
        before.iter().all(|(_, n)| *n > 0 || !cfg!(test)),
        "{before:?}"
    );

    let mut m = migrator(&db, MigrationSet::embedded()).await;
    // `up` on an Alembic database without adoption is refused, not attempted.
    assert!(matches!(
        m.up(None).await.unwrap_err(),
        MigrateError::NeedsAdopt(_)
    ));

    let r = m.adopt(Some("switch to torghut migrate")).await.unwrap();
    assert_eq!(r.alembic_version, revision);
    assert_eq!(r.recorded.last().map(String::as_str), Some(revision));
    assert!(!r.already_adopted);
    let st = m.status().await.unwrap();
    assert!(st.applied.iter().all(|a| a.adopted));
    assert_eq!(st.current.as_deref(), Some(revision));
    // Adopting again is a no-op.
    assert!(m.adopt(None).await.unwrap().already_adopted);

    m.up(None).await.unwrap();
    let st = m.status().await.unwrap();
    assert!(st.clean, "{st:?}");
    let v = m.verify().await.unwrap();
    assert!(v.clean, "{}", torghut_migrate::render_diff(&v.catalog));

    let after = row_counts(&db).await;
    for (table, n) in &before {
        let kept = after.iter().find(|(t, _)| t == table).map(|x| x.1);
        assert_eq!(kept, Some(*n), "rows of {table}");
    }
    // alembic_version is left as it was.
    let c = db.connect().await;
    let v: String = c
        .query_one("SELECT version_num::text FROM alembic_version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, revision);
    let log = torghut_migrate::history::read_log(&c, None).await.unwrap();
    assert!(log.iter().any(|l| l.action == "adopt"
        && l.outcome == "ok"
        && l.reason.as_deref() == Some("switch to torghut migrate")));
}

#[tokio::test]
async fn adopt_from_0003_keeps_every_row() {
    adopt_then_up_keeps_every_row("0003_llm_decision_reviews").await;
}

#[tokio::test]
async fn adopt_from_0005_keeps_every_row() {
    adopt_then_up_keeps_every_row("0005_trade_cursor_symbol").await;
}

#[tokio::test]
async fn adopt_from_0001_keeps_every_row() {
    adopt_then_up_keeps_every_row("0001_initial").await;
}

#[tokio::test]
async fn adopt_refuses_a_drifted_database_with_the_diff() {
    let db = legacy_db("0005_trade_cursor_symbol").await;
    db.connect()
        .await
        .batch_execute(
            "ALTER TABLE executions ALTER COLUMN symbol TYPE varchar(32);
             DROP INDEX ix_executions_symbol_status;",
        )
        .await
        .unwrap();
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    let e = m.adopt(None).await.unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, MigrateError::AdoptDrift { .. }), "{text}");
    assert!(
        text.contains(
            "column symbol type: expected character varying(16), found character varying(32)"
        ),
        "{text}"
    );
    assert!(text.contains("ix_executions_symbol_status"), "{text}");
    assert_eq!(e.exit_code(), 1);
    assert!(
        m.status().await.unwrap().applied.is_empty(),
        "nothing recorded"
    );
    assert_eq!(locks_held(&db).await, 0);
}

#[tokio::test]
async fn adopt_refuses_unknown_revisions_and_non_alembic_databases() {
    let db = empty_db().await;
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    assert!(matches!(
        m.adopt(None).await.unwrap_err(),
        MigrateError::NotAdoptable(_)
    ));

    let db = legacy_db("0005_trade_cursor_symbol").await;
    db.connect()
        .await
        .batch_execute("UPDATE alembic_version SET version_num = '0006_autonomy_ledger'")
        .await
        .unwrap();
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    let e = m.adopt(None).await.unwrap_err();
    assert!(e.to_string().contains("0006_autonomy_ledger"), "{e}");
}

/// The original service creates a key/value table `torghut_meta` at start-up (SQLAlchemy
/// `create_all`), which its Alembic chain does not: adopt accepts it, `up` keeps it and its rows,
/// and the schema verifies clean (the migrations create the same table when it is missing).
#[tokio::test]
async fn adopt_accepts_the_original_services_key_value_table() {
    let db = legacy_db("0005_trade_cursor_symbol").await;
    let c = db.connect().await;
    // The DDL SQLAlchemy 2 emits for the service's table, and a row.
    c.batch_execute(
        "CREATE TABLE torghut_meta (id SERIAL NOT NULL, key VARCHAR(64) NOT NULL, \
           value VARCHAR(255) NOT NULL, PRIMARY KEY (id), UNIQUE (key)); \
         INSERT INTO torghut_meta (key, value) VALUES ('schema', 'v1')",
    )
    .await
    .unwrap();
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    m.adopt(Some("cut-over")).await.unwrap();
    m.up(None).await.unwrap();
    let v = m.verify().await.unwrap();
    assert!(v.clean, "{}", torghut_migrate::render_diff(&v.catalog));
    let value: String = c
        .query_one("SELECT value FROM torghut_meta WHERE key = 'schema'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(value, "v1");
}
