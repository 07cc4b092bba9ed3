//! up, down, status, plan, verify and repair, with broken, edited, missing and divergent sets.

use std::time::Duration;

use torghut_migrate::history::read_log;
use torghut_migrate::{MigrateError, MigrationSet, Migrator, RepairAction};
use torghut_testdb::empty_db;

use crate::fixtures::*;

const LATEST_LEGACY: &str = "0005_trade_cursor_symbol";

#[tokio::test]
async fn up_applies_everything_once_and_records_history_and_log() {
    let db = empty_db().await;
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    let before = m.status().await.unwrap();
    assert!(!before.clean);
    assert_eq!(before.pending.len(), MigrationSet::embedded().all().len());

    let report = m.up(None).await.unwrap();
    assert_eq!(report.applied.len(), MigrationSet::embedded().all().len());
    let status = m.status().await.unwrap();
    assert!(status.clean, "{status:?}");
    assert_eq!(status.current.as_deref(), MigrationSet::embedded().latest());
    for a in &status.applied {
        assert!(a.applied_by.ends_with("@test-host"), "{}", a.applied_by);
        assert!(a.tool_version.starts_with("torghut "));
        assert!(!a.dirty && !a.adopted);
        assert_eq!(a.checksum.len(), 64);
    }
    // Nothing left to do, and a second run says so.
    assert!(m.up(None).await.unwrap().applied.is_empty());
    let log = read_log(m.client(), None).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|l| l.action == "up" && l.outcome == "ok")
            .count(),
        report.applied.len()
    );
    assert_eq!(locks_held(&db).await, 0);
}

#[tokio::test]
async fn every_migration_goes_down_and_up_again() {
    let db = empty_db().await;
    let set = MigrationSet::embedded();
    let mut m = migrator(&db, set.clone()).await;
    m.up(None).await.unwrap();
    let full = m.verify().await.unwrap();
    assert!(full.clean, "{full:?}");
    // Step down one migration at a time, checking the catalog at every revision, then back up.
    let ids: Vec<String> = set.all().iter().map(|x| x.id.clone()).collect();
    for i in (0..ids.len()).rev() {
        let target = if i == 0 {
            "base".to_string()
        } else {
            ids[i - 1].clone()
        };
        let r = m.down(&target, false, false, Some("test")).await.unwrap();
        assert_eq!(r.reverted, vec![ids[i].clone()]);
        let v = m.verify().await.unwrap();
        assert!(v.clean, "after reverting {}: {:?}", ids[i], v);
    }
    assert!(!table_exists(&db, "strategies").await);
    assert!(history_ids(&db).await.is_empty());
    let r = m.up(None).await.unwrap();
    assert_eq!(r.applied, ids);
    assert!(m.verify().await.unwrap().clean);
    let log = read_log(m.client(), None).await.unwrap();
    assert!(log
        .iter()
        .any(|l| l.action == "down" && l.reason.as_deref() == Some("test")));
}

#[tokio::test]
async fn up_to_a_target_and_unknown_targets() {
    let db = empty_db().await;
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    let r = m.up(Some("0003_llm_decision_reviews")).await.unwrap();
    assert_eq!(r.current.as_deref(), Some("0003_llm_decision_reviews"));
    assert!(table_exists(&db, "llm_decision_reviews").await);
    let e = m.up(Some("0003")).await.unwrap_err();
    assert!(matches!(e, MigrateError::UnknownTarget(_)), "{e}");
    assert_eq!(e.exit_code(), 2);
    let e = m
        .down("0005_trade_cursor_symbol", false, false, None)
        .await
        .unwrap_err();
    assert!(matches!(e, MigrateError::BadTarget(_)), "{e}");
}

#[tokio::test]
async fn down_is_refused_in_prod_without_allow_destructive_and_reason() {
    let db = empty_db().await;
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    m.up(None).await.unwrap();
    for (allow, reason) in [
        (false, None),
        (true, None),
        (false, Some("why")),
        (true, Some("  ")),
    ] {
        let e = m.down("base", true, allow, reason).await.unwrap_err();
        assert!(matches!(e, MigrateError::Refused(_)), "{e}");
    }
    assert!(m.status().await.unwrap().clean);
    let r = m
        .down(LATEST_LEGACY, true, true, Some("rollback of release 42"))
        .await
        .unwrap();
    assert_eq!(r.current.as_deref(), Some(LATEST_LEGACY));
}

#[tokio::test]
async fn plan_shows_the_sql_and_changes_nothing() {
    let db = empty_db().await;
    let m = migrator(&db, MigrationSet::embedded()).await;
    let plan = m.plan(Some("0002_trading_core")).await.unwrap();
    assert_eq!(plan.len(), 2);
    assert!(plan[0].sql.contains("CREATE TABLE strategies"));
    assert!(plan[0].sql.contains("SET LOCAL lock_timeout = '2000ms'"));
    assert!(plan[1].sql.contains("trade_cursor"));
    assert!(!table_exists(&db, "strategies").await);
    assert!(!table_exists(&db, "torghut_meta.schema_history").await);
}

#[tokio::test]
async fn concurrent_runners_apply_each_migration_exactly_once() {
    let db = empty_db().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut m = migrator(&db, MigrationSet::embedded()).await;
            m.up(None).await.map(|r| r.applied)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap().expect("every runner succeeds").len();
    }
    assert_eq!(total, MigrationSet::embedded().all().len());
    let log = read_log(&db.connect().await, None).await.unwrap();
    // One "ok" entry per migration (a no-transaction one also logs when it starts).
    assert_eq!(
        log.iter()
            .filter(|l| l.action == "up" && l.outcome == "ok")
            .count(),
        total
    );
    assert_eq!(locks_held(&db).await, 0);
}

#[tokio::test]
async fn a_runner_gives_up_after_lock_wait_with_a_clear_error() {
    let db = empty_db().await;
    let holder = db.connect().await;
    holder
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&torghut_migrate::engine::LOCK_KEY],
        )
        .await
        .unwrap();
    let mut o = opts();
    o.lock_wait = Duration::from_millis(300);
    let mut m = Migrator::new(db.connect().await, MigrationSet::embedded(), o);
    let e = m.up(None).await.unwrap_err();
    assert!(matches!(e, MigrateError::LockWait { .. }), "{e}");
    assert!(e.to_string().contains("backend pid"), "{e}");
    drop(holder);
}

#[tokio::test]
async fn a_failing_migration_leaves_the_previous_revision_intact() {
    let db = empty_db().await;
    let set = with_extra(&[(
        "9001_broken",
        "CREATE TABLE half_done (x int);\nINSERT INTO strategies (id) VALUES (NULL);",
        "DROP TABLE half_done;",
    )]);
    let mut m = migrator(&db, set).await;
    let e = m.up(None).await.unwrap_err();
    match &e {
        MigrateError::MigrationFailed {
            id,
            failure,
            applied,
            dirty,
        } => {
            assert_eq!(id, "9001_broken");
            assert_eq!(failure.sqlstate.as_deref(), Some("23502"));
            assert_eq!(applied.len(), MigrationSet::embedded().all().len());
            assert!(!dirty);
        }
        other => panic!("{other}"),
    }
    assert_eq!(e.applied().len(), MigrationSet::embedded().all().len());
    assert_eq!(e.exit_code(), 1);
    // The database error itself is kept as the error's source, with its whole report.
    let source = std::error::Error::source(&e).expect("the failure is the source");
    let pg = std::error::Error::source(source)
        .and_then(|s| s.downcast_ref::<tokio_postgres::Error>())
        .and_then(tokio_postgres::Error::as_db_error)
        .expect("the database error is the failure's source");
    assert_eq!(pg.code().code(), "23502");
    assert_eq!(pg.table(), Some("strategies"));
    assert_eq!(pg.column(), Some("id"));
    assert!(
        !table_exists(&db, "half_done").await,
        "the failed migration was rolled back"
    );
    let status = m.status().await.unwrap();
    assert_eq!(status.current.as_deref(), MigrationSet::embedded().latest());
    assert_eq!(status.pending, vec!["9001_broken".to_string()]);
    assert_eq!(locks_held(&db).await, 0, "the lock is released on error");
    let log = read_log(m.client(), None).await.unwrap();
    assert!(log
        .iter()
        .any(|l| l.outcome == "failed" && l.migration_id.as_deref() == Some("9001_broken")));
}

#[tokio::test]
async fn edited_applied_migration_is_detected_and_crlf_or_bom_copies_are_not() {
    let db = empty_db().await;
    migrator(&db, MigrationSet::embedded())
        .await
        .up(None)
        .await
        .unwrap();

    let original = MigrationSet::embedded()
        .get("0004_trade_cursor_seq")
        .unwrap()
        .up
        .clone();
    let crlf = format!("\u{feff}{}", original.replace('\n', "\r\n"));
    let m = migrator(&db, edited("0004_trade_cursor_seq", &crlf)).await;
    assert!(
        m.status().await.unwrap().clean,
        "CRLF and BOM do not change the checksum"
    );

    let changed = original.replace("bigint", "integer");
    let mut m = migrator(&db, edited("0004_trade_cursor_seq", &changed)).await;
    let status = m.status().await.unwrap();
    assert!(!status.clean);
    assert_eq!(status.checksum_mismatches.len(), 1);
    assert_eq!(status.checksum_mismatches[0].id, "0004_trade_cursor_seq");
    let v = m.verify().await.unwrap();
    assert!(!v.clean);
    let set = with_extra(&[("9002_next", "CREATE TABLE nxt (x int);", "DROP TABLE nxt;")]);
    let list: Vec<_> = set
        .all()
        .iter()
        .map(|x| {
            if x.id == "0004_trade_cursor_seq" {
                torghut_migrate::Migration::new(&x.id, &changed, &x.down).unwrap()
            } else {
                x.clone()
            }
        })
        .collect();
    let mut m2 = migrator(&db, MigrationSet::from_vec(list).unwrap()).await;
    let e = m2.up(None).await.unwrap_err();
    assert!(matches!(e, MigrateError::ChecksumMismatch(_)), "{e}");
    assert!(!table_exists(&db, "nxt").await);

    // After review, the new checksum can be accepted; that is logged with the reason.
    m.repair(
        RepairAction::AcceptChecksum("0004_trade_cursor_seq".into()),
        "reviewed: comment only",
    )
    .await
    .unwrap();
    assert!(m.status().await.unwrap().checksum_mismatches.is_empty());
    let log = read_log(m.client(), None).await.unwrap();
    assert!(log
        .iter()
        .any(|l| l.action == "repair" && l.reason.as_deref() == Some("reviewed: comment only")));
}

#[tokio::test]
async fn missing_and_divergent_migrations_are_refused() {
    let db = empty_db().await;
    let set = with_extra(&[("9003_a", "CREATE TABLE a3 (x int);", "DROP TABLE a3;")]);
    migrator(&db, set).await.up(None).await.unwrap();

    // Missing: the database has 9003_a, the binary does not.
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    let st = m.status().await.unwrap();
    assert_eq!(st.unknown_applied, vec!["9003_a".to_string()]);
    assert!(!st.clean);
    assert!(matches!(
        m.up(None).await.unwrap_err(),
        MigrateError::UnknownApplied(_)
    ));

    // Divergent: same version, another name.
    let mut m = migrator(
        &db,
        with_extra(&[("9003_b", "CREATE TABLE b3 (x int);", "DROP TABLE b3;")]),
    )
    .await;
    assert!(matches!(
        m.up(None).await.unwrap_err(),
        MigrateError::UnknownApplied(_)
    ));
    assert!(!table_exists(&db, "b3").await);

    // Out of order: a new migration that sorts before the latest applied one.
    let mut m = migrator(
        &db,
        with_extra(&[
            (
                "9002_late",
                "CREATE TABLE late (x int);",
                "DROP TABLE late;",
            ),
            ("9003_a", "CREATE TABLE a3 (x int);", "DROP TABLE a3;"),
        ]),
    )
    .await;
    assert!(matches!(
        m.up(None).await.unwrap_err(),
        MigrateError::OutOfOrder { .. }
    ));

    // A removed migration: 0004 missing from the files.
    let m = migrator(&db, without("0004_trade_cursor_seq")).await;
    assert!(m
        .status()
        .await
        .unwrap()
        .unknown_applied
        .contains(&"0004_trade_cursor_seq".to_string()));
}

#[tokio::test]
async fn a_failed_no_transaction_migration_is_dirty_until_repaired() {
    let db = empty_db().await;
    let set = with_extra(&[(
        "9004_concurrent_index",
        "-- torghut:no-transaction\nCREATE INDEX CONCURRENTLY ix_nt_one ON strategies (universe_type);\nCREATE INDEX CONCURRENTLY ix_nt_two ON no_such_table (x);",
        "DROP INDEX IF EXISTS ix_nt_two;\nDROP INDEX IF EXISTS ix_nt_one;",
    )]);
    let mut m = migrator(&db, set.clone()).await;
    let e = m.up(None).await.unwrap_err();
    assert!(
        matches!(e, MigrateError::MigrationFailed { dirty: true, .. }),
        "{e}"
    );
    let st = m.status().await.unwrap();
    assert_eq!(st.dirty, vec!["9004_concurrent_index".to_string()]);
    assert!(!st.clean);
    assert!(matches!(
        m.up(None).await.unwrap_err(),
        MigrateError::Dirty(_)
    ));
    assert_eq!(locks_held(&db).await, 0);

    // A person checks, drops the half-made index, and marks it rolled back.
    let admin = db.connect().await;
    admin.batch_execute("DROP INDEX ix_nt_one").await.unwrap();
    // The change of the history and its run-log row are one transaction: when the log row
    // cannot be written, the history is left as it was.
    admin
        .batch_execute(
            "CREATE FUNCTION no_log() RETURNS trigger LANGUAGE plpgsql AS \
               $$BEGIN RAISE EXCEPTION 'run log unavailable'; END$$; \
             CREATE TRIGGER no_log BEFORE INSERT ON torghut_meta.migration_log \
               FOR EACH ROW EXECUTE FUNCTION no_log()",
        )
        .await
        .unwrap();
    let e = m
        .repair(RepairAction::MarkRolledBack, "dropped ix_nt_one by hand")
        .await
        .unwrap_err();
    assert!(matches!(e, MigrateError::Database(_)), "{e}");
    assert_eq!(
        m.status().await.unwrap().dirty,
        vec!["9004_concurrent_index".to_string()],
        "a repair whose log row failed changed nothing"
    );
    admin
        .batch_execute("DROP TRIGGER no_log ON torghut_meta.migration_log; DROP FUNCTION no_log()")
        .await
        .unwrap();
    assert!(matches!(
        m.repair(RepairAction::MarkRolledBack, " ")
            .await
            .unwrap_err(),
        MigrateError::Refused(_)
    ));
    m.repair(RepairAction::MarkRolledBack, "dropped ix_nt_one by hand")
        .await
        .unwrap();
    assert!(m.status().await.unwrap().dirty.is_empty());

    // With the migration fixed, it applies outside a transaction and is not dirty.
    let fixed = with_extra(&[(
        "9004_concurrent_index",
        "-- torghut:no-transaction\nCREATE INDEX CONCURRENTLY ix_nt_one ON strategies (universe_type);",
        "DROP INDEX IF EXISTS ix_nt_one;",
    )]);
    let mut m = migrator(&db, fixed).await;
    m.up(None).await.unwrap();
    let st = m.status().await.unwrap();
    assert!(st.clean, "{st:?}");
    assert!(m.verify().await.unwrap().clean);
}

#[tokio::test]
async fn lock_timeout_is_retried_then_reported_without_partial_changes() {
    let db = empty_db().await;
    migrator(&db, MigrationSet::embedded())
        .await
        .up(None)
        .await
        .unwrap();
    let set = with_extra(&[(
        "9005_alter_strategies",
        "ALTER TABLE strategies ADD COLUMN note text;",
        "ALTER TABLE strategies DROP COLUMN note;",
    )]);
    // A long transaction holds a lock on strategies.
    let mut holder = db.connect().await;
    let tx = holder.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE strategies IN ACCESS SHARE MODE")
        .await
        .unwrap();
    let mut o = opts();
    o.lock_timeout = Duration::from_millis(100);
    o.lock_retries = 1;
    let mut m = Migrator::new(db.connect().await, set.clone(), o.clone());
    let e = m.up(None).await.unwrap_err();
    assert!(
        matches!(e, MigrateError::LockRetriesExhausted { attempts: 2, .. }),
        "{e}"
    );
    tx.rollback().await.unwrap();

    // With retries, a transaction that ends meanwhile lets the migration through.
    let tx = holder.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE strategies IN ACCESS SHARE MODE")
        .await
        .unwrap();
    o.lock_retries = 10;
    let mut m = Migrator::new(db.connect().await, set, o);
    let run = tokio::spawn(async move { m.up(None).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    tx.rollback().await.unwrap();
    let r = run.await.unwrap().unwrap();
    assert_eq!(r.applied, vec!["9005_alter_strategies".to_string()]);
    let log = read_log(&db.connect().await, None).await.unwrap();
    assert!(log
        .iter()
        .any(|l| l.detail.as_deref().is_some_and(|d| d.contains("attempt"))));
}

#[tokio::test]
async fn verify_reports_drift_and_lists_unmanaged_tables() {
    let db = empty_db().await;
    let mut m = migrator(&db, MigrationSet::embedded()).await;
    m.up(None).await.unwrap();
    let c = db.connect().await;
    c.batch_execute(
        "CREATE TABLE operator_notes (x int);
         ALTER TABLE executions ALTER COLUMN status TYPE text;
         DROP INDEX ix_strategies_name;
         ALTER TABLE strategies ADD COLUMN extra int;",
    )
    .await
    .unwrap();
    let v = m.verify().await.unwrap();
    assert!(!v.clean);
    let text = torghut_migrate::render_diff(&v.catalog);
    assert!(
        text.contains(
            "table executions, column status type: expected character varying(32), found text"
        ),
        "{text}"
    );
    assert!(text.contains("index ix_strategies_name: missing"), "{text}");
    assert!(text.contains("column extra: unexpected"), "{text}");
    assert_eq!(
        v.catalog.unmanaged_tables,
        vec!["operator_notes".to_string()]
    );
    // Nothing of the scratch build is left behind.
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'torghut_expected_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}
