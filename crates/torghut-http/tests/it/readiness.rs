//! Readiness follows the schema; stage and prod never migrate from the service.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};

use crate::support::*;

#[tokio::test]
async fn an_unmigrated_database_is_not_ready_and_writes_answer_503_until_migrated() {
    let db = torghut_testdb::empty_db().await;
    let (state, app) = app(&db).await;
    let r = get(&app, "/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let v = r.json();
    assert_eq!(v["ready"], false);
    assert!(v["reason"].as_str().unwrap().contains("revision"), "{v}");
    assert_eq!(v["expected"], latest_revision().as_str());
    assert!(v["pending"].as_array().unwrap().len() >= 6);
    let w = post(
        &app,
        "/v1/strategies",
        r#"{"name":"x","base_timeframe":"1Min","universe_type":"static"}"#,
    )
    .await;
    w.problem(503);
    assert_eq!(w.headers["retry-after"], "1");
    get(&app, "/trading/decisions").await.problem(503);
    assert!(get(&app, "/metrics").await.text.contains("torghut_ready 0"));
    // /healthz stays live.
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);

    // The service changed nothing: no history, no tables.
    let c = db.connect().await;
    let tables: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "the service never migrates");

    // Migrated by someone else: the periodic check makes it ready without a restart.
    let task = torghut_http::spawn_readiness(state.clone());
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(None).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if get(&app, "/readyz").await.status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let w = post(
        &app,
        "/v1/strategies",
        r#"{"name":"x","base_timeframe":"1Min","universe_type":"static"}"#,
    )
    .await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.text);
    task.abort();
}

#[tokio::test]
async fn a_partial_schema_or_an_edited_checksum_is_not_ready() {
    let db = torghut_testdb::empty_db().await;
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(Some("0003_llm_decision_reviews")).await.unwrap();
    let (state, app) = app(&db).await;
    let v = get(&app, "/readyz").await.json();
    assert_eq!(v["ready"], false);
    assert_eq!(v["revision"], "0003_llm_decision_reviews");
    assert_eq!(v["pending"][0], "0004_trade_cursor_seq");

    m.up(None).await.unwrap();
    assert!(state.check_readiness().await.ready);
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
    db.connect()
        .await
        .execute(
            "UPDATE torghut_meta.schema_history SET checksum = 'edited' WHERE id = '0002_trading_core'",
            &[],
        )
        .await
        .unwrap();
    let r = state.check_readiness().await;
    assert!(!r.ready);
    let a = get(&app, "/readyz").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["checksum_mismatches"][0], "0002_trading_core");
}

#[tokio::test]
async fn newer_migrations_of_a_later_release_keep_this_revision_ready() {
    // A later release ran its (expand) migrations; this binary is the rollback target and
    // keeps serving. A migration it does not know applied before one of its own is refused.
    let db = torghut_testdb::empty_db().await;
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(None).await.unwrap();
    let c = db.connect().await;
    c.execute(
        "INSERT INTO torghut_meta.schema_history (version, id, description, checksum, applied_by, tool_version) \
         VALUES (9000, '9000_later_release', 'later', 'x', 'test', 'test')",
        &[],
    )
    .await
    .unwrap();
    let (state, app) = app(&db).await;
    let r = state.check_readiness().await;
    assert!(r.ready, "{:?}", r.reason);
    let v = get(&app, "/readyz").await.json();
    assert_eq!(v["ready"], true);
    assert_eq!(v["unknown_applied"][0], "9000_later_release");

    c.execute(
        "INSERT INTO torghut_meta.schema_history (version, id, description, checksum, applied_by, tool_version) \
         VALUES (0, '0000_foreign', 'foreign', 'x', 'test', 'test')",
        &[],
    )
    .await
    .unwrap();
    let r = state.check_readiness().await;
    assert!(!r.ready);
    assert!(r.reason.unwrap().contains("unknown"));
}

#[tokio::test]
async fn an_unreachable_database_answers_503_fast() {
    // Nothing listens on port 1.
    let mut cfg = config();
    cfg.pool_wait = Duration::from_millis(800);
    let (_, app) = app_on(
        "postgresql://torghut:secret@127.0.0.1:1/torghut?sslmode=disable",
        cfg,
    )
    .await;
    let v = get(&app, "/readyz").await;
    assert_eq!(v.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v.json()["reason"], "database unavailable");
    let start = Instant::now();
    let a = get(&app, "/trading/decisions").await;
    let p = a.problem(503);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(a.headers["retry-after"], "1");
    assert!(
        !a.text.contains("secret") && !a.text.contains("127.0.0.1"),
        "{p}"
    );
    // The old service's `{"detail": "database unavailable"}`, as a problem.
    let d = get(&app, "/db-check").await;
    assert_eq!(d.problem(503)["detail"], "database unavailable");
    assert_eq!(d.headers["retry-after"], "1");
}

/// The README's recipe: a login role that is a member of the runtime role is all an operator
/// creates; the service is then ready and writes. A login role without it cannot read the
/// schema history: not ready, and API requests answer 503 (nothing is written).
#[tokio::test]
async fn a_member_of_the_runtime_role_is_ready_and_an_outsider_is_refused() {
    let db = db().await;
    let admin = db.connect().await;
    for sql in [
        "CREATE ROLE readyz_app LOGIN IN ROLE torghut_runtime",
        "CREATE ROLE readyz_outsider LOGIN",
    ] {
        if let Err(e) = admin.batch_execute(sql).await {
            // Roles are cluster-wide: another test process may have created it.
            let code = e.code().map(|c| c.code().to_owned()).unwrap_or_default();
            assert!(code == "42710" || code == "23505", "{sql}: {e}");
        }
    }
    let as_user = |user: &str| {
        let dsn = db.dsn();
        let rest: Vec<&str> = dsn
            .split_whitespace()
            .filter(|kv| !kv.starts_with("user=") && !kv.starts_with("password="))
            .collect();
        format!("{} user={user}", rest.join(" "))
    };
    let body = r#"{"name":"x","base_timeframe":"1Min","universe_type":"static"}"#;

    let (_, app) = app_on(&as_user("readyz_app"), config()).await;
    let r = get(&app, "/readyz").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let w = post(&app, "/v1/strategies", body).await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.text);

    let (_, app) = app_on(&as_user("readyz_outsider"), config()).await;
    let r = get(&app, "/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    let reason = r.json()["reason"].as_str().unwrap_or_default().to_owned();
    assert!(
        reason.contains("cannot read the schema history"),
        "{reason}"
    );
    post(&app, "/v1/strategies", body).await.problem(503);
    let n: i64 = admin
        .query_one("SELECT count(*) FROM strategies", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

/// A disabled audit trigger would let writes go unaudited: not ready, naming it, and API
/// writes answer 503 until it is enabled again.
#[tokio::test]
async fn a_disabled_audit_trigger_is_not_ready() {
    let db = db().await;
    let admin = db.connect().await;
    admin
        .batch_execute("ALTER TABLE trade_decisions DISABLE TRIGGER audit_capture")
        .await
        .unwrap();
    let (state, app) = app(&db).await;
    let r = get(&app, "/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    let reason = r.json()["reason"].as_str().unwrap_or_default().to_owned();
    assert!(
        reason.contains("audit_capture on trade_decisions is disabled"),
        "{reason}"
    );
    let body = r#"{"name":"x","base_timeframe":"1Min","universe_type":"static"}"#;
    post(&app, "/v1/strategies", body).await.problem(503);
    admin
        .batch_execute("ALTER TABLE trade_decisions ENABLE TRIGGER audit_capture")
        .await
        .unwrap();
    state.check_readiness().await;
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
    let w = post(&app, "/v1/strategies", body).await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.text);
}

/// A schema that lost what a statement needs (here a column) answers 503, retry later: not a
/// fault of the request, and not a 500 either.
#[tokio::test]
async fn a_missing_column_answers_503() {
    let db = db().await;
    let (_, app) = app(&db).await;
    db.connect()
        .await
        .batch_execute("ALTER TABLE strategies RENAME COLUMN description TO description_gone")
        .await
        .unwrap();
    let body = r#"{"name":"x","base_timeframe":"1Min","universe_type":"static"}"#;
    let w = post(&app, "/v1/strategies", body).await;
    w.problem(503);
    assert_eq!(w.headers["retry-after"], "1");
}
