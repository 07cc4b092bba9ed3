//! Backfill migrations: batches committed with their progress, shown as they go, resumed after
//! the run is killed, each row handled exactly once, the migration recorded only at the end.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use torghut_migrate::{
    BackfillOptions, Connector, Event, MigrateOptions, Migration, MigrationSet, Migrator,
    ProgressSink,
};
use torghut_testdb::{empty_db, TestDb};

use crate::fixtures::opts;

const ROWS: i64 = 20_000;

fn set() -> MigrationSet {
    MigrationSet::from_vec(vec![
        Migration::new(
            "0001_things",
            &format!(
                "CREATE TABLE things (id bigint PRIMARY KEY, n integer NOT NULL DEFAULT 0);\n\
                 INSERT INTO things (id) SELECT g FROM generate_series(1, {ROWS}) g;\n\
                 CREATE TABLE empty_things (id bigint PRIMARY KEY, n integer NOT NULL DEFAULT 0);\n\
                 CREATE TABLE paged_things (id bigint PRIMARY KEY, n integer NOT NULL DEFAULT 0);\n\
                 INSERT INTO paged_things (id) SELECT g FROM generate_series(1, {ROWS}) g;\n\
                 CREATE TABLE page_log (id bigint NOT NULL);"
            ),
            "DROP TABLE page_log; DROP TABLE paged_things; DROP TABLE empty_things; DROP TABLE things;",
        )
        .unwrap(),
        Migration::new(
            "0002_count_things",
            "-- Counts every thing once\n-- torghut:backfill\n\
             -- torghut:batch table=things key=id\n\
             UPDATE things SET n = n + 1 WHERE id BETWEEN $1::bigint AND $2::bigint;\n\
             -- torghut:batch table=empty_things key=id\n\
             UPDATE empty_things SET n = n + 1 WHERE id BETWEEN $1::bigint AND $2::bigint;\n\
             -- torghut:batch table=paged_things key=ctid\n\
             INSERT INTO page_log (id) SELECT id FROM paged_things WHERE ctid >= $1::tid AND ctid < $2::tid;\n",
            "SELECT 1;",
        )
        .unwrap(),
    ])
    .unwrap()
}

/// Small batches, progress recorded; steps side by side on a second connection of `db`.
fn recording(db: &TestDb, events: Arc<Mutex<Vec<Event>>>) -> MigrateOptions {
    let db = db.clone();
    MigrateOptions {
        backfill: BackfillOptions {
            first_batch: 100,
            min_batch: 100,
            max_batch: 400,
            target_batch: Duration::from_millis(5),
            throttle: 0.5,
            workers: 2,
        },
        progress: ProgressSink::new(move |e| events.lock().unwrap().push(e.clone())),
        connect: Some(Connector::new(move || {
            let db = db.clone();
            async move { Ok(db.connect().await) }
        })),
        ..opts()
    }
}

#[tokio::test]
async fn a_killed_backfill_carries_on_where_it_stopped_and_handles_each_row_once() {
    let db = empty_db().await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut m = Migrator::new(db.connect().await, set(), recording(&db, events.clone()));
    m.up(Some("0001_things")).await.unwrap();

    // Killed in the middle: the connection goes away with a batch in flight.
    let run = tokio::spawn(async move { m.up(None).await });
    let started = std::time::Instant::now();
    loop {
        let batches = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Event::BackfillProgress { .. }))
            .count();
        if batches >= 5 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());

    let c = db.connect().await;
    // The server ends the killed session (and rolls its batch back) once it notices.
    for _ in 0..100 {
        let others: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if others == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m2 = Migrator::new(db.connect().await, set(), opts());
    let st = m2.status().await.unwrap();
    assert_eq!(st.pending, vec!["0002_count_things".to_string()]);
    let b = &st.unfinished_backfills[0];
    assert_eq!((b.step, b.table.as_str()), (0, "things"));
    assert!(b.finished_at.is_none());
    assert!(b.rows_done > 0 && b.rows_done < ROWS, "{b:?}");
    let done: i64 = c
        .query_one("SELECT count(*) FROM things WHERE n = 1", &[])
        .await
        .unwrap()
        .get(0);
    let gaps: Vec<i64> = c
        .query("SELECT id FROM things WHERE n = 0 AND id <= (SELECT max(id) FROM things WHERE n = 1) ORDER BY id LIMIT 5", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        done, b.rows_done,
        "progress and work commit together; {b:?} gaps {gaps:?}"
    );

    // The second run carries on from the last committed batch.
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut m = Migrator::new(db.connect().await, set(), recording(&db, events.clone()));
    let r = m.up(None).await.unwrap();
    assert_eq!(r.applied, vec!["0002_count_things".to_string()]);
    let counts: Vec<(i32, i64)> = c
        .query("SELECT n, count(*) FROM things GROUP BY n ORDER BY n", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(counts, vec![(1, ROWS)], "every row handled exactly once");
    let paged: Vec<(i64, i64)> = c
        .query("SELECT count(*), count(DISTINCT id) FROM page_log", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(paged, vec![(ROWS, ROWS)], "every page walked once");
    let events: Vec<Event> = events.lock().unwrap().clone();
    let first = events
        .iter()
        .find_map(|e| match e {
            Event::BackfillProgress {
                rows_done,
                rows_total,
                ..
            } => Some((*rows_done, *rows_total)),
            _ => None,
        })
        .unwrap();
    assert!(first.0 > b.rows_done && first.1 == ROWS, "{first:?}");
    let finished: i64 = c
        .query_one(
            "SELECT count(*) FROM torghut_meta.backfill_progress \
             WHERE migration_id = '0002_count_things' AND finished_at IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(finished, 3, "every step, the empty table's too, finished");
    assert!(
        matches!(events.last(), Some(Event::MigrationApplied { id, .. }) if id == "0002_count_things")
    );
    let st = m.status().await.unwrap();
    assert!(st.clean && st.unfinished_backfills.is_empty());
    // Its log: started twice (the second time resumed), applied once.
    let log: Vec<(String, Option<String>)> = c
        .query(
            "SELECT outcome, detail FROM torghut_meta.migration_log WHERE migration_id = '0002_count_things' ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(events.iter().any(|e| matches!(e, Event::BackfillStepDone { table, rows_done, .. } if table == "paged_things" && *rows_done == ROWS)));
    assert!(
        log[1].1.as_deref().unwrap_or("").contains("resumed"),
        "{log:?}"
    );
    assert_eq!(log[2].0, "ok");

    // Down forgets its progress: up runs it again, from the start.
    m.down("0001_things", false, false, None).await.unwrap();
    assert!(m.status().await.unwrap().unfinished_backfills.is_empty());
    m.up(None).await.unwrap();
    let twice: i64 = c
        .query_one("SELECT count(*) FROM things WHERE n = 2", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(twice, ROWS);
}

#[tokio::test]
async fn a_failing_batch_keeps_the_batches_before_it_and_names_the_table() {
    let db = empty_db().await;
    let bad = MigrationSet::from_vec(vec![
        set().all()[0].clone(),
        Migration::new(
            "0002_break_things",
            "-- torghut:backfill\n-- torghut:batch table=things key=id\n\
             UPDATE things SET n = 1 / (5000 - id)::int WHERE id BETWEEN $1::bigint AND $2::bigint;\n",
            "SELECT 1;",
        )
        .unwrap(),
    ])
    .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut m = Migrator::new(db.connect().await, bad, recording(&db, events));
    let e = m.up(None).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("backfill 0002_break_things failed on table things"),
        "{text}"
    );
    assert!(text.contains("22012"), "{text}");
    assert_eq!(e.applied(), ["0001_things".to_string()]);
    let st = m.status().await.unwrap();
    assert!(
        st.unfinished_backfills[0].rows_done >= 4000,
        "{:?}",
        st.unfinished_backfills
    );
}
