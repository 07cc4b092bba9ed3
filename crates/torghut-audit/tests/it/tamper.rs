//! Changes made behind the service's back, as a superuser with the triggers off
//! (`session_replication_role = replica` or `ALTER TABLE ... DISABLE TRIGGER`), and what
//! `verify` reports.

use tokio_postgres::Client;
use torghut_audit::{Finding, Problem, VerifyReport};
use torghut_testdb::TestDb;
use uuid::Uuid;

use crate::support::*;

struct World {
    db: TestDb,
    admin: Client,
    trails: Vec<Seeded>,
}

/// Three trails written by the runtime role; verify is green.
async fn world() -> World {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let mut trails = Vec::new();
    for n in 0..3 {
        trails.push(seed(&mut rt, sid, n).await);
    }
    let mut admin = db.connect().await;
    let report = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(report.ok, "{}", report.render());
    assert_eq!(report.rows_by_table["trade_decisions"], 3);
    assert_eq!(report.rows_by_table["decision_events"], 9);
    assert_eq!(report.rows_by_table["execution_events"], 6);
    World { db, admin, trails }
}

impl World {
    /// Runs `sql` as the superuser with every trigger off.
    async fn behind_the_back(&self, sql: &str) {
        replica(&self.admin, sql).await;
    }

    /// Verifies on one connection, and on three side by side (the stream kinds cut into ranges
    /// of stream ids, after an ANALYZE that gives the split its row counts): both reports must
    /// be the same.
    async fn verify(&mut self) -> VerifyReport {
        let one = torghut_audit::verify(&mut self.admin).await.unwrap();
        self.admin.batch_execute("ANALYZE").await.unwrap();
        let helpers = vec![self.db.connect().await, self.db.connect().await];
        let three = torghut_audit::verify_parallel(&mut self.admin, helpers, Default::default())
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&one).unwrap(),
            serde_json::to_value(&three).unwrap(),
            "one connection:\n{}\nthree:\n{}",
            one.render(),
            three.render()
        );
        one
    }

    async fn id_of(&self, sql: &str) -> Uuid {
        self.admin.query_one(sql, &[]).await.unwrap().get(0)
    }
}

/// Whether `report` has a finding of `problem` in the stream `stream_id`.
fn in_stream(report: &VerifyReport, problem: Problem, stream_id: Uuid) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.problem == problem && f.stream_id == Some(stream_id))
}

fn has(report: &VerifyReport, problem: Problem, table: &str, id: Option<Uuid>) -> bool {
    report
        .findings
        .iter()
        .any(|f: &Finding| f.problem == problem && f.table == table && (id.is_none() || f.id == id))
}

#[tokio::test]
async fn modified_rows_are_named() {
    let mut w = world().await;
    let t = w.trails[1].clone();
    let ev = w
        .id_of(&format!(
            "SELECT id FROM decision_events WHERE decision_id = '{}' AND seq = 1",
            t.decision_id
        ))
        .await;
    w.behind_the_back(&format!(
        "UPDATE decision_events SET reason_codes = '{{risk_ok}}' WHERE id = '{ev}'"
    ))
    .await;
    w.behind_the_back(&format!(
        "UPDATE trade_decisions SET decision_json = decision_json || '{{\"qty\":\"9\"}}' WHERE id = '{}'",
        t.decision_id
    ))
    .await;
    w.behind_the_back(&format!(
        "UPDATE llm_decision_reviews SET verdict = 'reject' WHERE trade_decision_id = '{}'",
        t.decision_id
    ))
    .await;
    let xe = w
        .id_of(&format!(
            "SELECT id FROM execution_events WHERE execution_id = '{}' AND seq = 2",
            t.execution_id
        ))
        .await;
    w.behind_the_back(&format!(
        "UPDATE execution_events SET payload = payload || '{{\"filled_qty\":\"1.5\"}}' WHERE id = '{xe}'"
    ))
    .await;
    let review = w
        .id_of(&format!(
            "SELECT id FROM llm_decision_reviews WHERE trade_decision_id = '{}'",
            t.decision_id
        ))
        .await;
    let r = w.verify().await;
    assert!(!r.ok);
    assert!(
        has(&r, Problem::Modified, "decision_events", Some(ev)),
        "{}",
        r.render()
    );
    assert!(
        has(
            &r,
            Problem::Modified,
            "trade_decisions",
            Some(t.decision_id)
        ),
        "{}",
        r.render()
    );
    assert!(
        has(&r, Problem::Modified, "llm_decision_reviews", Some(review)),
        "{}",
        r.render()
    );
    assert!(
        has(&r, Problem::Modified, "execution_events", Some(xe)),
        "{}",
        r.render()
    );
    // Only the changed rows: the other trails are intact.
    for f in &r.findings {
        assert!(
            f.stream_id == Some(t.decision_id) || f.stream_id == Some(t.execution_id),
            "{f}"
        );
    }
}

#[tokio::test]
async fn projections_must_equal_the_replay_of_their_events() {
    let mut w = world().await;
    let t = w.trails[0].clone();
    w.behind_the_back(&format!(
        "UPDATE trade_decisions SET status = 'filled' WHERE id = '{}'; \
         UPDATE executions SET filled_qty = 1.5, raw_order = '{{}}' WHERE id = '{}'",
        t.decision_id, t.execution_id
    ))
    .await;
    let r = w.verify().await;
    assert!(
        has(
            &r,
            Problem::Projection,
            "trade_decisions",
            Some(t.decision_id)
        ),
        "{}",
        r.render()
    );
    assert!(
        has(&r, Problem::Projection, "executions", Some(t.execution_id)),
        "{}",
        r.render()
    );
    assert_eq!(r.findings.len(), 3, "{}", r.render());
}

/// The values a root row was created with are sealed into it, and every later change is an
/// event: a change made without one is found whether or not the row had events before, and so
/// is a change slipped in between two recorded ones.
#[tokio::test]
async fn changes_without_an_event_are_found() {
    let mut w = world().await;
    let mut rt = connect_as(&w.db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let (x, y, z) = (
        record(&mut rt, sid, 10).await,
        record(&mut rt, sid, 11).await,
        record(&mut rt, sid, 12).await,
    );
    let r = w.verify().await;
    assert!(r.ok, "{}", r.render());
    // x: its status (changed once, recorded) and its execution's payload (never changed, no
    // event) rewritten behind the service's back.
    w.behind_the_back(&format!(
        "UPDATE trade_decisions SET status = 'canceled' WHERE id = '{}'; \
         UPDATE executions SET raw_order = raw_order || '{{\"filled_qty\":\"1\"}}', filled_qty = 1 \
         WHERE id = '{}'",
        x.decision_id, x.execution_id
    ))
    .await;
    // y: a column no event ever changed (its decision_json), and a strategy's settings.
    w.behind_the_back(&format!(
        "UPDATE trade_decisions SET decision_json = '{{}}' WHERE id = '{}'; \
         UPDATE strategies SET max_notional_per_trade = 1 WHERE id = '{sid}'",
        y.decision_id
    ))
    .await;
    // z: a status slipped in behind the back, then a recorded change on top of it: the last
    // recorded value matches the row, but the recorded history has a hole.
    w.behind_the_back(&format!(
        "UPDATE trade_decisions SET status = 'accepted' WHERE id = '{}'",
        z.decision_id
    ))
    .await;
    rt.batch_execute(&format!(
        "UPDATE trade_decisions SET status = 'filled' WHERE id = '{}'",
        z.decision_id
    ))
    .await
    .unwrap();
    let r = w.verify().await;
    for (problem, table, id) in [
        (Problem::Projection, "trade_decisions", x.decision_id),
        (Problem::Modified, "executions", x.execution_id),
        (Problem::Modified, "trade_decisions", y.decision_id),
        (Problem::Modified, "strategies", sid),
        (Problem::Projection, "trade_decisions", z.decision_id),
    ] {
        assert!(
            has(&r, problem, table, Some(id)),
            "{problem:?} {table}: {}",
            r.render()
        );
    }
    for f in &r.findings {
        assert!(
            [
                x.decision_id,
                x.execution_id,
                y.decision_id,
                z.decision_id,
                sid
            ]
            .contains(&f.stream_id.unwrap_or_default()),
            "{f}"
        );
    }
}

#[tokio::test]
async fn deleted_rows_are_found_in_the_middle_at_the_end_and_whole_streams() {
    let mut w = world().await;
    let (a, b, c) = (
        w.trails[0].clone(),
        w.trails[1].clone(),
        w.trails[2].clone(),
    );
    // A checkpoint commits to every stream head.
    let cp = torghut_audit::chain::checkpoint(&w.admin).await.unwrap();
    assert_eq!(cp.id, 1);
    // Seven streams and the runtime connection's lane.
    assert_eq!(cp.streams, 8);
    // Middle of a stream: the review (seq 2 of decision a: decision, review, its events).
    w.behind_the_back(&format!(
        "DELETE FROM llm_decision_reviews WHERE trade_decision_id = '{}'",
        a.decision_id
    ))
    .await;
    // End of a stream: the last execution event of b.
    w.behind_the_back(&format!(
        "DELETE FROM execution_events WHERE execution_id = '{}' AND seq = 2",
        b.execution_id
    ))
    .await;
    // A whole decision stream, its head included.
    w.behind_the_back(&format!(
        "DELETE FROM decision_events WHERE decision_id = '{d}'; \
         DELETE FROM llm_decision_reviews WHERE trade_decision_id = '{d}'; \
         UPDATE executions SET trade_decision_id = NULL WHERE trade_decision_id = '{d}'; \
         DELETE FROM trade_decisions WHERE id = '{d}'; \
         DELETE FROM audit_chain_heads WHERE stream_id = '{d}'",
        d = c.decision_id
    ))
    .await;
    let r = w.verify().await;
    assert!(
        in_stream(&r, Problem::Deleted, a.decision_id),
        "{}",
        r.render()
    );
    assert!(
        in_stream(&r, Problem::Deleted, b.execution_id),
        "{}",
        r.render()
    );
    assert!(
        has(&r, Problem::Deleted, "trade_decisions", Some(c.decision_id)),
        "{}",
        r.render()
    );
    // A full checkpoint compares every recorded stream: it refuses.
    let full = torghut_audit::chain::CheckpointOptions {
        full: true,
        max_heads: None,
    };
    let err = torghut_audit::chain::checkpoint_with(&w.admin, full)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TA002"), "{err}");
    // An incremental one reads only what moved: it is taken, and launders nothing (the earlier
    // record of the deleted stream stays in the chain and verify still compares with it).
    torghut_audit::chain::checkpoint(&w.admin).await.unwrap();
    let r = w.verify().await;
    assert!(
        has(&r, Problem::Deleted, "trade_decisions", Some(c.decision_id)),
        "{}",
        r.render()
    );
}

#[tokio::test]
async fn verify_says_how_many_streams_no_checkpoint_has_recorded() {
    let mut w = world().await;
    let r = w.verify().await;
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.streams_not_checkpointed, 7, "{}", r.render());
    assert!(
        r.render()
            .contains("note: 7 stream(s) not recorded by any checkpoint yet"),
        "{}",
        r.render()
    );
    torghut_audit::chain::checkpoint(&w.admin).await.unwrap();
    let r = w.verify().await;
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.streams_not_checkpointed, 0, "{}", r.render());
    assert!(!r.render().contains("note:"), "{}", r.render());
    // A whole execution stream (row, events, head) deleted after the checkpoint that recorded
    // it is found.
    let t = w.trails[0].clone();
    w.behind_the_back(&format!(
        "DELETE FROM execution_events WHERE execution_id = '{x}'; \
         DELETE FROM executions WHERE id = '{x}'; \
         DELETE FROM audit_chain_heads WHERE stream_id = '{x}'",
        x = t.execution_id
    ))
    .await;
    let r = w.verify().await;
    assert!(
        has(&r, Problem::Deleted, "executions", Some(t.execution_id)),
        "{}",
        r.render()
    );
}

#[tokio::test]
async fn reordered_rows_are_named() {
    let mut w = world().await;
    let t = w.trails[2].clone();
    // The review and the second status event swap places.
    let d = t.decision_id;
    let review_seq: i64 = w
        .admin
        .query_one(
            &format!("SELECT chain_seq FROM llm_decision_reviews WHERE trade_decision_id = '{d}'"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let event_seq: i64 = w
        .admin
        .query_one(
            &format!("SELECT chain_seq FROM decision_events WHERE decision_id = '{d}' AND seq = 2"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    w.behind_the_back(&format!(
        "UPDATE llm_decision_reviews SET chain_seq = {event_seq} WHERE trade_decision_id = '{d}'; \
         UPDATE decision_events SET chain_seq = {review_seq} WHERE decision_id = '{d}' AND seq = 2"
    ))
    .await;
    let r = w.verify().await;
    let reordered: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.problem == Problem::Reordered)
        .collect();
    assert_eq!(reordered.len(), 2, "{}", r.render());
    assert!(has(&r, Problem::Reordered, "llm_decision_reviews", None));
    assert!(has(&r, Problem::Reordered, "decision_events", None));
    assert!(
        r.findings.iter().all(|f| f.problem == Problem::Reordered),
        "{}",
        r.render()
    );
}

#[tokio::test]
async fn rows_inserted_out_of_band_are_named() {
    let mut w = world().await;
    let t = w.trails[0].clone();
    // With the sealing trigger disabled: no chain hash.
    let forged = Uuid::now_v7();
    w.admin
        .batch_execute(&format!(
            "ALTER TABLE decision_events DISABLE TRIGGER audit_seal; \
             INSERT INTO decision_events (id, decision_id, seq, kind, payload) \
               VALUES ('{forged}', '{d}', 99, 'status', '{{\"from\":\"partially_filled\",\"to\":\"partially_filled\"}}'); \
             ALTER TABLE decision_events ENABLE TRIGGER audit_seal",
            d = t.decision_id
        ))
        .await
        .unwrap();
    // With every trigger off, a row claiming the next place with a made-up hash.
    let forged2 = Uuid::now_v7();
    w.behind_the_back(&format!(
        "INSERT INTO execution_events (id, execution_id, seq, payload, chain_seq, chain_hash) \
         SELECT '{forged2}', '{x}', 3, raw_order, 3, sha256('x') FROM executions WHERE id = '{x}'",
        x = t.execution_id
    ))
    .await;
    // A copy of a review (new id) at the place its original holds.
    let forged3 = Uuid::now_v7();
    w.behind_the_back(&format!(
        "INSERT INTO llm_decision_reviews SELECT (jsonb_populate_record(NULL::llm_decision_reviews, \
           to_jsonb(r) || jsonb_build_object('id', '{forged3}'::text))).* \
         FROM llm_decision_reviews r WHERE trade_decision_id = '{d}'",
        d = w.trails[1].decision_id
    ))
    .await;
    let r = w.verify().await;
    assert!(
        has(&r, Problem::Inserted, "decision_events", Some(forged)),
        "{}",
        r.render()
    );
    assert!(
        has(&r, Problem::Inserted, "execution_events", Some(forged2)),
        "{}",
        r.render()
    );
    assert!(
        has(&r, Problem::Inserted, "llm_decision_reviews", Some(forged3)),
        "{}",
        r.render()
    );
}

#[tokio::test]
async fn an_intact_database_verifies_after_a_checkpoint_and_more_writes() {
    let mut w = world().await;
    torghut_audit::chain::checkpoint(&w.admin).await.unwrap();
    let mut rt = connect_as(&w.db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    seed(&mut rt, sid, 7).await;
    let cp = torghut_audit::chain::checkpoint(&rt).await.unwrap();
    assert_eq!(cp.id, 2);
    // Only the new streams (strategy, decision, execution) and the lane that linked them are in
    // the second checkpoint.
    assert_eq!(cp.streams, 4);
    let r = w.verify().await;
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.checkpoints_checked, 2);
    assert_eq!(
        r.latest_checkpoint.as_ref().map(|c| c.1.clone()),
        Some(cp.hash)
    );
    // Tampering with a checkpoint is found too.
    w.behind_the_back("UPDATE audit_checkpoint_heads SET seq = seq + 1 WHERE checkpoint_id = 1 AND stream = 'decision'")
        .await;
    let r = w.verify().await;
    assert!(
        has(&r, Problem::Checkpoint, "audit_checkpoints", None),
        "{}",
        r.render()
    );
}

/// A database carried forward from v1: the rows the original service left (decisions in any
/// status, several reviews, executions with payloads) are sealed by the backfill with the values
/// they have, without being rewritten, and the chains go on from there.
async fn legacy_world() -> (torghut_testdb::TestDb, Client, Uuid, Uuid, Uuid) {
    use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
    let db = torghut_testdb::empty_db().await;
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(Some("0005_trade_cursor_symbol")).await.unwrap();
    let c = m.into_client();
    let sid = Uuid::now_v7();
    let legacy = Uuid::now_v7();
    let legacy_x = Uuid::now_v7();
    c.batch_execute(&format!(
        "SET TimeZone = 'America/New_York'; \
         INSERT INTO strategies (id, name, base_timeframe, universe_type, max_notional_per_trade) \
           VALUES ('{sid}', 'legacy', '1Min', 'static', 1000); \
         INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
           decision_json, status, executed_at) VALUES ('{legacy}', '{sid}', 'paper', 'AAPL', '1Min', \
           '{{\"qty\": \"1.50\", \"n\": 1e2}}', 'filled', now()); \
         INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, \
           response_json, verdict, confidence, created_at) VALUES \
           (gen_random_uuid(), '{legacy}', 'm', 'v1', '{{}}', '{{}}', 'approve', 0.9, now() - interval '1 minute'), \
           (gen_random_uuid(), '{legacy}', 'm', 'v1', '{{}}', '{{}}', 'reject', 0.1, now()); \
         INSERT INTO executions (id, trade_decision_id, alpaca_order_id, symbol, side, order_type, \
           time_in_force, submitted_qty, filled_qty, status, raw_order) VALUES ('{legacy_x}', '{legacy}', \
           'legacy-1', 'AAPL', 'buy', 'market', 'day', 1, 1, 'filled', '{{\"legacy\":true}}')"
    ))
    .await
    .unwrap();
    let mut m = Migrator::new(c, MigrationSet::embedded(), MigrateOptions::default());
    m.up(None).await.unwrap();
    (db, m.into_client(), sid, legacy, legacy_x)
}

#[tokio::test]
async fn rows_written_before_the_chain_are_sealed_by_the_backfill_without_being_rewritten() {
    let (_db, mut c, sid, legacy, legacy_x) = legacy_world().await;
    let r = torghut_audit::verify(&mut c).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.rows_by_table["trade_decisions"], 1);
    assert_eq!(r.rows_by_table["llm_decision_reviews"], 2);
    // Nothing was written: no event for the state they were found in, no chain column set;
    // each stream's fold is recorded beside the rows.
    assert_eq!(r.rows_by_table["decision_events"], 0);
    let unsealed: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM llm_decision_reviews WHERE chain_seq IS NULL) \
                  + (SELECT count(*) FROM trade_decisions WHERE chain_seq IS NULL) \
                  + (SELECT count(*) FROM executions WHERE chain_seq IS NULL)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unsealed, 4);
    let heads: Vec<(String, i64, Option<i64>)> = c
        .query(
            "SELECT stream, seq, legacy_rows FROM audit_chain_heads ORDER BY stream",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        heads,
        vec![
            ("decision".into(), 3, Some(3)),
            ("execution".into(), 1, Some(1)),
            ("strategy".into(), 1, Some(1)),
        ]
    );
    // The chains go on: the original service's updates, the store's writes, a checkpoint.
    c.batch_execute(&format!(
        "UPDATE trade_decisions SET status = 'canceled' WHERE id = '{legacy}'; \
         UPDATE executions SET filled_qty = 0.5, raw_order = '{{}}' WHERE id = '{legacy_x}'; \
         UPDATE strategies SET description = 'x', updated_at = now() WHERE id = '{sid}'"
    ))
    .await
    .unwrap();
    torghut_store::review::append(&c, legacy, &review(), &policy())
        .await
        .unwrap();
    seed(&mut c, sid, 2).await;
    torghut_audit::chain::checkpoint(&c).await.unwrap();
    let r = torghut_audit::verify(&mut c).await.unwrap();
    assert!(r.ok, "{}", r.render());
    let seqs: Vec<i64> = c
        .query(
            &format!(
                "SELECT chain_seq FROM decision_events WHERE decision_id = '{legacy}' ORDER BY seq"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        seqs,
        vec![4],
        "the first event follows the three rows from before the chain"
    );
}

/// Runs `sql` on `c` as the superuser with every trigger off.
async fn with_triggers_off(c: &Client, sql: &str) {
    c.batch_execute(&format!(
        "BEGIN; SET LOCAL session_replication_role = replica; {sql}; COMMIT"
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn changes_to_rows_written_before_the_chain_are_found() {
    // A legacy row changed: the stream's fold no longer matches its head.
    let (_db, mut c, _sid, legacy, legacy_x) = legacy_world().await;
    with_triggers_off(
        &c,
        &format!("UPDATE llm_decision_reviews SET verdict = 'approve' WHERE trade_decision_id = '{legacy}' AND verdict = 'reject'"),
    )
    .await;
    with_triggers_off(
        &c,
        &format!("UPDATE executions SET filled_qty = 0 WHERE id = '{legacy_x}'"),
    )
    .await;
    let r = torghut_audit::verify(&mut c).await.unwrap();
    assert!(in_stream(&r, Problem::Modified, legacy), "{}", r.render());
    assert!(in_stream(&r, Problem::Modified, legacy_x), "{}", r.render());

    // A legacy review deleted; a row without chain columns added to a legacy stream.
    let (_db, mut c, _sid, legacy, legacy_x) = legacy_world().await;
    with_triggers_off(
        &c,
        &format!("DELETE FROM llm_decision_reviews WHERE trade_decision_id = '{legacy}' AND verdict = 'approve'"),
    )
    .await;
    with_triggers_off(
        &c,
        &format!(
            "INSERT INTO execution_events (id, execution_id, seq, payload) \
             VALUES (gen_random_uuid(), '{legacy_x}', 1, '{{}}')"
        ),
    )
    .await;
    let r = torghut_audit::verify(&mut c).await.unwrap();
    assert!(in_stream(&r, Problem::Deleted, legacy), "{}", r.render());
    assert!(
        has(&r, Problem::Inserted, "execution_events", None),
        "{}",
        r.render()
    );

    // A whole legacy stream deleted after a checkpoint recorded it.
    let (_db, mut c, _sid, legacy, legacy_x) = legacy_world().await;
    torghut_audit::chain::checkpoint(&c).await.unwrap();
    with_triggers_off(
        &c,
        &format!("DELETE FROM executions WHERE id = '{legacy_x}'"),
    )
    .await;
    let r = torghut_audit::verify(&mut c).await.unwrap();
    assert!(in_stream(&r, Problem::Deleted, legacy_x), "{}", r.render());
    assert!(!in_stream(&r, Problem::Deleted, legacy), "{}", r.render());
}

/// Legacy streams changed by the original service between the DDL (0007) and the backfill
/// (0008) are sealed by the writer's transaction with the values they had, before the change is
/// recorded; the backfill leaves them as they are; verify is green. Before the backfill ran,
/// verify counts the streams it has not sealed yet instead of reporting them.
#[tokio::test]
async fn legacy_streams_changed_before_the_backfill_are_sealed_by_their_writer() {
    use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
    let db = torghut_testdb::empty_db().await;
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(Some("0005_trade_cursor_symbol")).await.unwrap();
    let c = db.connect().await;
    let sid = Uuid::now_v7();
    let mut decisions = Vec::new();
    c.batch_execute(&format!(
        "INSERT INTO strategies (id, name, base_timeframe, universe_type) VALUES ('{sid}', 's', '1Min', 'static')"
    ))
    .await
    .unwrap();
    for n in 0..4 {
        let d = Uuid::now_v7();
        decisions.push(d);
        c.batch_execute(&format!(
            "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
               decision_json, decision_hash, status) VALUES ('{d}', '{sid}', 'paper', 'AAPL', '1Min', \
               '{{\"n\": {n}}}', '{d}', 'planned'); \
             INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, \
               response_json, verdict, confidence) VALUES \
               (gen_random_uuid(), '{d}', 'm', 'v1', '{{}}', '{{}}', 'approve', 0.9)"
        ))
        .await
        .unwrap();
    }
    m.up(Some("0007_audit_capture")).await.unwrap();
    let mut admin = db.connect().await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.streams_unsealed, 5, "{}", r.render());
    // The original service's writes before the backfill: an update, a review, both.
    c.batch_execute(&format!(
        "UPDATE trade_decisions SET status = 'submitted' WHERE id = '{}'; \
         INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, \
           response_json, verdict, confidence) VALUES (gen_random_uuid(), '{}', 'm', 'v1', '{{}}', '{{}}', 'reject', 0.2); \
         UPDATE trade_decisions SET decision_json = '{{\"n\": 9}}' WHERE id = '{}'; \
         INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, \
           response_json, verdict, confidence) VALUES (gen_random_uuid(), '{}', 'm', 'v1', '{{}}', '{{}}', 'reject', 0.2)",
        decisions[0], decisions[1], decisions[2], decisions[2]
    ))
    .await
    .unwrap();
    let sealed: i64 = admin
        .query_one(
            "SELECT count(*) FROM audit_chain_heads WHERE legacy_rows = 2",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        sealed, 3,
        "each changed stream sealed with its two rows from before"
    );
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.streams_unsealed, 2, "{}", r.render());
    m.up(None).await.unwrap();
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.streams_unsealed, 0);
    let heads: i64 = admin
        .query_one(
            "SELECT count(*) FROM audit_chain_heads WHERE legacy_rows IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(heads, 5);
    // After the backfill, a root without chain columns and no head is out of band.
    with_triggers_off(
        &admin,
        &format!(
            "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
               decision_json, decision_hash, status) VALUES (gen_random_uuid(), '{sid}', 'paper', 'AAPL', '1Min', \
               '{{}}', 'x-out-of-band', 'planned')"
        ),
    )
    .await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(
        has(&r, Problem::Inserted, "trade_decisions", None),
        "{}",
        r.render()
    );
}

/// Streams written before the chain are archived like any other: the archive recomputes their
/// fold, verifies against the archive checkpoint, and verify stays green after the deletion.
#[tokio::test]
async fn streams_from_before_the_chain_are_archived_and_the_archive_verifies() {
    use torghut_audit::archive::{self, ArchiveRequest};
    let (_db, mut c, _sid, legacy, legacy_x) = legacy_world().await;
    torghut_audit::chain::checkpoint(&c).await.unwrap();
    let cut: chrono::DateTime<chrono::Utc> = c
        .query_one("SELECT clock_timestamp()", &[])
        .await
        .unwrap()
        .get(0);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    let report = archive::archive(
        &mut c,
        &ArchiveRequest {
            before: cut,
            reason: "retention".into(),
            approved_by: "compliance".into(),
            out: dir.clone(),
        },
    )
    .await
    .unwrap();
    assert!(report.log_id.is_some(), "{report:?}");
    let left: i64 = c
        .query_one(
            &format!("SELECT count(*) FROM trade_decisions WHERE id = '{legacy}'"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    let v = archive::verify_archive(&mut c, &dir).await.unwrap();
    assert!(v.ok, "{v:?}");
    let r = torghut_audit::verify(&mut c).await.unwrap();
    assert!(r.ok, "{}", r.render());
    let _ = legacy_x;
}

/// Enough streams that every table is read in several fetches side by side (2,000 rows at a
/// time): changes in the first stream, in the last one and in streams whose rows straddle the
/// end of a fetch are all found, and only they, on one connection and on three.
#[tokio::test]
async fn changes_are_found_in_streams_read_over_several_fetches() {
    let mut w = world().await;
    w.admin
        .batch_execute(
            "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, \
               timeframe, decision_json, decision_hash, status) \
             SELECT md5('d' || i)::uuid, (SELECT id FROM strategies LIMIT 1), 'paper', 'AAPL', \
               '1Min', jsonb_build_object('i', i), md5('h' || i), 'planned' \
             FROM generate_series(1, 2500) i; \
             INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, \
               input_json, response_json, verdict, confidence, rationale) \
             SELECT md5('r' || i)::uuid, md5('d' || i)::uuid, 'm', 'v1', '{}', '{}', \
               'approve', 0.5, 'ok' FROM generate_series(1, 2500) i; \
             UPDATE trade_decisions SET status = 'submitted' WHERE decision_json ? 'i'; \
             UPDATE trade_decisions SET status = 'accepted' WHERE decision_json ? 'i'",
        )
        .await
        .unwrap();
    let all = w.verify().await;
    assert!(all.ok, "{}", all.render());
    assert_eq!(all.rows_by_table["decision_events"], 9 + 2 * 2500);
    // The first and the last decision streams, and ones around each fetch's end.
    let ids: Vec<Uuid> = w
        .admin
        .query(
            "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) n FROM trade_decisions) t \
             WHERE n IN (1, 999, 1000, 1001, 2000, 2001, 2503)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), 7);
    for id in &ids {
        w.behind_the_back(&format!(
            "UPDATE decision_events SET reason_codes = '{{changed}}' \
             WHERE decision_id = '{id}' AND seq = 2"
        ))
        .await;
    }
    let r = w.verify().await;
    let mut found: Vec<Uuid> = r.findings.iter().filter_map(|f| f.stream_id).collect();
    found.dedup();
    assert_eq!(found, ids, "{}", r.render());
    assert!(r
        .findings
        .iter()
        .all(|f| f.problem == Problem::Modified && f.table == "decision_events"));
    assert_eq!(r.rows_checked, all.rows_checked);
}
