//! Upgrading a populated v1 database while writers in the original service's style keep writing:
//! every writer transaction succeeds (the migration gives way on a lock wait instead of
//! deadlocking them), and `verify` is green afterwards, rows written during the upgrade included.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
use uuid::Uuid;

/// One writer: the original service's statements (insert a decision, rewrite its decision_json,
/// move its status, insert an execution and update it), one transaction each, as the superuser
/// (the v1 service's owner), until told to stop. Returns (transactions, failures).
async fn writer(
    db: torghut_testdb::TestDb,
    sid: Uuid,
    stop: Arc<AtomicBool>,
) -> (u64, Vec<String>) {
    let c = db.connect().await;
    let (mut n, mut failures) = (0u64, Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let d = Uuid::now_v7();
        let x = Uuid::now_v7();
        let steps = [
            format!(
                "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
                   decision_json, decision_hash, status) VALUES ('{d}', '{sid}', 'paper', 'AAPL', '1Min', \
                   '{{\"qty\": \"1\"}}', '{d}', 'planned')"
            ),
            format!(
                "UPDATE trade_decisions SET decision_json = decision_json || '{{\"price\": \"100.5\"}}' \
                 WHERE id = '{d}'"
            ),
            format!(
                "INSERT INTO executions (id, trade_decision_id, alpaca_order_id, client_order_id, symbol, \
                   side, order_type, time_in_force, submitted_qty, filled_qty, status, raw_order) \
                 VALUES ('{x}', '{d}', 'o-{x}', '{d}', 'AAPL', 'buy', 'market', 'day', 1, 0, 'accepted', \
                   '{{\"status\": \"accepted\"}}')"
            ),
            format!("UPDATE trade_decisions SET status = 'submitted', executed_at = now() WHERE id = '{d}'"),
            format!(
                "BEGIN; UPDATE trade_decisions SET status = 'filled' WHERE id = '{d}'; \
                 UPDATE executions SET filled_qty = 1, status = 'filled', \
                   raw_order = '{{\"status\": \"filled\"}}', updated_at = now() WHERE id = '{x}'; COMMIT"
            ),
        ];
        for sql in &steps {
            n += 1;
            if let Err(e) = c.batch_execute(sql).await {
                failures.push(format!("{sql}: {e}"));
                let _ = c.batch_execute("ROLLBACK").await;
            }
        }
    }
    (n, failures)
}

#[tokio::test]
async fn writers_keep_writing_through_the_upgrade_and_verify_is_green() {
    let db = torghut_testdb::empty_db().await;
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(Some("0005_trade_cursor_symbol")).await.unwrap();
    let sid = Uuid::now_v7();
    let c = db.connect().await;
    c.batch_execute(&format!(
        "INSERT INTO strategies (id, name, base_timeframe, universe_type) VALUES ('{sid}', 's', '1Min', 'static')"
    ))
    .await
    .unwrap();
    // Rows already there, written the same way.
    let stop = Arc::new(AtomicBool::new(false));
    let seeding = tokio::spawn(writer(db.clone(), sid, stop.clone()));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let (seeded, failures) = seeding.await.unwrap();
    assert!(seeded > 0 && failures.is_empty(), "{failures:?}");

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|_| tokio::spawn(writer(db.clone(), sid, stop.clone())))
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    m.up(None).await.expect("up while writers write");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for w in writers {
        let (n, failures) = w.await.unwrap();
        assert!(
            failures.is_empty(),
            "writer transactions failed: {failures:?}"
        );
        total += n;
    }
    assert!(total > 0);
    let mut admin = db.connect().await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    // Changes made after the upgrade were recorded.
    let events: i64 = admin
        .query_one("SELECT count(*) FROM decision_events", &[])
        .await
        .unwrap()
        .get(0);
    assert!(events > 0, "no decision change recorded after the upgrade");
}

/// `migrate up` killed in the middle of the backfill that seals the rows from before the chain,
/// with the original service's writers going on (they change legacy rows the backfill has not
/// reached yet), then run again: it ends at head, every legacy stream sealed once, and verify is
/// green.
#[tokio::test]
async fn a_killed_upgrade_run_again_ends_at_head_with_verify_green() {
    use std::sync::Mutex;
    use torghut_migrate::{BackfillOptions, Connector, Event, ProgressSink};

    let db = torghut_testdb::empty_db().await;
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(Some("0005_trade_cursor_symbol")).await.unwrap();
    let sid = Uuid::now_v7();
    let c = db.connect().await;
    c.batch_execute(&format!(
        "INSERT INTO strategies (id, name, base_timeframe, universe_type) VALUES ('{sid}', 's', '1Min', 'static'); \
         INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, decision_json, \
           decision_hash, status) \
         SELECT gen_random_uuid(), '{sid}', 'paper', 'AAPL', '1Min', jsonb_build_object('n', g), md5(g::text), 'planned' \
         FROM generate_series(1, 3000) g; \
         INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, response_json, \
           verdict, confidence) \
         SELECT gen_random_uuid(), id, 'm', 'v1', '{{}}', '{{}}', 'approve', 0.9 FROM trade_decisions; \
         INSERT INTO executions (id, trade_decision_id, alpaca_order_id, symbol, side, order_type, time_in_force, \
           submitted_qty, filled_qty, status, raw_order) \
         SELECT gen_random_uuid(), id, 'o-' || id, 'AAPL', 'buy', 'market', 'day', 1, 0, 'accepted', '{{}}' \
         FROM trade_decisions"
    ))
    .await
    .unwrap();

    let events = Arc::new(Mutex::new(0usize));
    let seen = events.clone();
    let connect_db = db.clone();
    let opts = MigrateOptions {
        backfill: BackfillOptions {
            first_batch: 100,
            target_batch: std::time::Duration::from_millis(2),
            throttle: 1.0,
            ..BackfillOptions::default()
        },
        progress: ProgressSink::new(move |e| {
            if matches!(e, Event::BackfillProgress { .. }) {
                *seen.lock().unwrap() += 1;
            }
        }),
        connect: Some(Connector::new(move || {
            let db = connect_db.clone();
            async move { Ok(db.connect().await) }
        })),
        ..MigrateOptions::default()
    };
    let mut m = Migrator::new(db.connect().await, MigrationSet::embedded(), opts.clone());
    // The original service keeps changing rows from before the upgrade.
    let stop = Arc::new(AtomicBool::new(false));
    let changer = {
        let db = db.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let c = db.connect().await;
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sql = "UPDATE trade_decisions SET status = 'submitted', \
                             decision_json = decision_json || '{\"seen\": true}' \
                           WHERE id = (SELECT id FROM trade_decisions WHERE status = 'planned' \
                                       ORDER BY random() LIMIT 1); \
                           UPDATE executions SET status = 'filled', filled_qty = 1, raw_order = '{\"s\": 1}' \
                           WHERE id = (SELECT id FROM executions WHERE status = 'accepted' ORDER BY random() LIMIT 1); \
                           INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, \
                             input_json, response_json, verdict, confidence) \
                           SELECT gen_random_uuid(), id, 'm', 'v2', '{}', '{}', 'reject', 0.1 \
                           FROM trade_decisions ORDER BY random() LIMIT 1";
                if let Err(e) = c.batch_execute(sql).await {
                    failures.push(e.to_string());
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            failures
        })
    };
    let run = tokio::spawn(async move { m.up(None).await });
    let started = std::time::Instant::now();
    while *events.lock().unwrap() < 4 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no progress"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let status = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    )
    .status()
    .await
    .unwrap();
    assert_eq!(status.current.as_deref(), Some("0007_audit_capture"));
    assert!(!status.unfinished_backfills.is_empty(), "{status:?}");
    let mut admin = db.connect().await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert!(r.streams_unsealed > 0, "{}", r.render());

    let mut m = Migrator::new(db.connect().await, MigrationSet::embedded(), opts);
    m.up(None).await.expect("the second run");
    stop.store(true, Ordering::Relaxed);
    let failures = changer.await.unwrap();
    assert!(
        failures.is_empty(),
        "writer transactions failed: {failures:?}"
    );
    assert!(m.status().await.unwrap().clean);
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.streams_unsealed, 0);
    let (legacy, streams): (i64, i64) = {
        let row = admin
            .query_one(
                "SELECT count(*) FILTER (WHERE legacy_rows IS NOT NULL), count(*) FROM audit_chain_heads",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(legacy, 1 + 3000 + 3000, "every legacy stream sealed once");
    assert_eq!(streams, legacy);
}
