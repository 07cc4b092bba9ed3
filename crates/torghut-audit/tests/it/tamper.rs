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
    assert_eq!(report.rows_by_table["decision_events"], 6);
    assert_eq!(report.rows_by_table["execution_events"], 6);
    World { db, admin, trails }
}

impl World {
    /// Runs `sql` as the superuser with every trigger off.
    async fn behind_the_back(&self, sql: &str) {
        self.admin
            .batch_execute(&format!(
                "BEGIN; SET LOCAL session_replication_role = replica; {sql}; COMMIT"
            ))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn verify(&mut self) -> VerifyReport {
        torghut_audit::verify(&mut self.admin).await.unwrap()
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

/// A decision and an execution without events: the state they were created in is sealed into
/// their rows, so changing it (or the current state without an event) is found.
#[tokio::test]
async fn the_state_a_row_was_created_in_is_sealed() {
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
    // The order's payload is its initial payload, kept in place (0013).
    let row = w
        .admin
        .query_one(
            "SELECT d.initial_status, x.initial_is_raw_order AND x.initial_raw_order IS NULL, \
               (SELECT count(*) FROM decision_events WHERE decision_id = d.id), \
               (SELECT count(*) FROM execution_events WHERE execution_id = x.id) \
             FROM trade_decisions d JOIN executions x ON x.trade_decision_id = d.id WHERE d.id = $1",
            &[&x.decision_id],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some("submitted")
    );
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i64>(2), 0);
    assert_eq!(row.get::<_, i64>(3), 0);

    // The current state changed without an event: a projection problem; an order's payload
    // changed while it is still its initial payload, kept in place: the root's seal covers it.
    w.behind_the_back(&format!(
        "UPDATE trade_decisions SET status = 'canceled' WHERE id = '{}'; \
         UPDATE executions SET raw_order = raw_order || '{{\"filled_qty\":\"1\"}}', filled_qty = 1 \
         WHERE id = '{}'",
        x.decision_id, x.execution_id
    ))
    .await;
    // The initial state rewritten (with the current state, so the projections agree), or the
    // initial payload no longer marked in place, or a second copy beside the one in place: the
    // root rows no longer match their hashes.
    w.behind_the_back(&format!(
        "UPDATE trade_decisions SET status = 'canceled', initial_status = 'canceled' WHERE id = '{}'; \
         UPDATE executions SET initial_is_raw_order = NULL WHERE id = '{}'; \
         UPDATE executions SET initial_raw_order = raw_order WHERE id = '{}'",
        y.decision_id, y.execution_id, z.execution_id
    ))
    .await;
    let r = w.verify().await;
    for (problem, table, id) in [
        (Problem::Projection, "trade_decisions", x.decision_id),
        (Problem::Modified, "executions", x.execution_id),
        (Problem::Modified, "trade_decisions", y.decision_id),
        (Problem::Modified, "executions", y.execution_id),
        (Problem::Modified, "executions", z.execution_id),
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
                y.execution_id,
                z.execution_id
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
    assert_eq!(cp.streams, 6);
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
    // A checkpoint now would launder the deletion: refused.
    let err = torghut_audit::chain::checkpoint(&w.admin)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TA002"), "{err}");
}

#[tokio::test]
async fn verify_says_how_many_streams_no_checkpoint_has_recorded() {
    let mut w = world().await;
    let r = w.verify().await;
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.streams_not_checkpointed, 6, "{}", r.render());
    assert!(
        r.render()
            .contains("note: 6 stream(s) not recorded by any checkpoint yet"),
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
               VALUES ('{forged}', '{d}', 3, 'status', '{{\"from\":\"partially_filled\",\"to\":\"partially_filled\"}}'); \
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
    // Only the new streams and the ones that moved are in the second checkpoint.
    assert_eq!(cp.streams, 2);
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

#[tokio::test]
async fn rows_written_before_the_chain_are_sealed_by_the_migration() {
    use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
    let db = torghut_testdb::empty_db().await;
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(Some("0006_audit_events")).await.unwrap();
    let mut c = m.into_client();
    let sid = strategy(&mut c).await;
    let s = seed_stepwise(&mut c, sid, 1).await;
    // Rows as the old service left them: a filled decision without events, an execution with
    // its payload and no event.
    let legacy = Uuid::now_v7();
    let legacy_x = Uuid::now_v7();
    c.batch_execute(&format!(
        "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
           decision_json, status) VALUES ('{legacy}', '{sid}', 'paper', 'AAPL', '1Min', '{{}}', 'filled'); \
         INSERT INTO executions (id, trade_decision_id, alpaca_order_id, symbol, side, order_type, \
           time_in_force, submitted_qty, filled_qty, status, raw_order) VALUES ('{legacy_x}', NULL, \
           'legacy-1', 'AAPL', 'buy', 'market', 'day', 1, 1, 'filled', '{{\"legacy\":true}}')"
    ))
    .await
    .unwrap();
    let mut m = Migrator::new(c, MigrationSet::embedded(), MigrateOptions::default());
    m.up(None).await.unwrap();
    let mut c = m.into_client();
    let r = torghut_audit::verify(&mut c).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.rows_by_table["trade_decisions"], 2);
    // The adopted state is an event; the earlier events keep their places.
    let kinds: Vec<String> = c
        .query(
            &format!("SELECT kind FROM decision_events WHERE decision_id IN ('{legacy}', '{}') ORDER BY decision_id, seq", s.decision_id),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "adopted").count(),
        1,
        "{kinds:?}"
    );
    // And the chain goes on from there.
    seed(&mut c, sid, 2).await;
    let r = torghut_audit::verify(&mut c).await.unwrap();
    assert!(r.ok, "{}", r.render());
}

/// Reverting the initial-state sealing once rows carry it would leave root hashes that cover a
/// dropped column: refused, and nothing changes.
#[tokio::test]
async fn the_initial_state_migration_is_not_reverted_over_sealed_rows() {
    use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
    let mut w = world().await;
    let mut m = Migrator::new(
        w.db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    let err = m
        .down("0010_read_indexes", false, false, None)
        .await
        .expect_err("revert over sealed rows");
    let text = err.to_string();
    assert!(text.contains("sealed with their initial state"), "{text}");
    assert!(
        text.contains(torghut_audit::SQLSTATE_REVERT_REFUSED),
        "{text}"
    );
    // The later migrations were reverted (0013 put a copy of each payload kept in place back
    // into initial_raw_order) before 0011 refused; up again, everything still verifies.
    m.up(None).await.expect("up again");
    drop(m.into_client());
    let still: bool = w
        .admin
        .query_one(
            "SELECT count(*) = 3 FROM trade_decisions WHERE initial_status IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(still);
    let r = w.verify().await;
    assert!(r.ok, "{}", r.render());
}

/// On a database without rows, the migration goes down and up again.
#[tokio::test]
async fn the_initial_state_migration_reverts_on_an_empty_database() {
    use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
    let db = torghut_testdb::empty_db().await;
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(None).await.unwrap();
    m.down("0010_read_indexes", false, false, None)
        .await
        .unwrap();
    m.up(None).await.unwrap();
}

/// A trail's decision and review open their stream together (`initial_chain_rows` 2): no head
/// row until a later row, and the review's deletion is still found, before and after a
/// checkpoint.
#[tokio::test]
async fn a_trail_opens_its_stream_with_its_review_and_no_head_row() {
    let mut w = world().await;
    let mut rt = connect_as(&w.db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let (x, y, z) = (
        record(&mut rt, sid, 20).await,
        record(&mut rt, sid, 21).await,
        record(&mut rt, sid, 22).await,
    );
    let heads = |d: Uuid| {
        format!("SELECT count(*) FROM audit_chain_heads WHERE stream = 'decision' AND stream_id = '{d}'")
    };
    let n: i64 = w
        .admin
        .query_one(&heads(x.decision_id), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "no head row for a stream opened with its review");
    // Only a review can open a stream with its root.
    let (code, message) = refused(
        &rt,
        &format!(
            "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
               decision_json, status, initial_chain_rows) \
             VALUES (gen_random_uuid(), '{sid}', 'paper', 'AAPL', '1Min', '{{}}', 'planned', 3)"
        ),
    )
    .await;
    assert_eq!(code, torghut_audit::SQLSTATE_REFUSED, "{message}");
    let seq: i64 = w
        .admin
        .query_one(
            "SELECT chain_seq FROM llm_decision_reviews WHERE trade_decision_id = $1",
            &[&x.decision_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seq, 2);
    // A later row creates the head at row 3, from the review's hash.
    torghut_store::decision::transition(
        &mut rt,
        y.decision_id,
        &torghut_store::decision::Transition::to("accepted"),
        &policy(),
    )
    .await
    .unwrap();
    let n: i64 = w
        .admin
        .query_one(&heads(y.decision_id), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    let r = w.verify().await;
    assert!(r.ok, "{}", r.render());
    let cp = torghut_audit::chain::checkpoint(&w.admin).await.unwrap();
    assert!(cp.streams >= 12, "{}", cp.streams);
    assert!(w.verify().await.ok);

    // The opening review deleted: found (the root says the stream has two rows). And z's
    // opening count rewritten: its root no longer matches its hash.
    w.behind_the_back(&format!(
        "DELETE FROM llm_decision_reviews WHERE trade_decision_id = '{}'; \
         UPDATE trade_decisions SET initial_chain_rows = NULL WHERE id = '{}'",
        x.decision_id, z.decision_id
    ))
    .await;
    let r = w.verify().await;
    assert!(
        in_stream(&r, Problem::Deleted, x.decision_id),
        "{}",
        r.render()
    );
    assert!(
        has(
            &r,
            Problem::Modified,
            "trade_decisions",
            Some(z.decision_id)
        ),
        "{}",
        r.render()
    );
    for f in &r.findings {
        assert!(
            [x.decision_id, z.decision_id].contains(&f.stream_id.unwrap_or_default()),
            "{f}"
        );
    }
}

/// An execution's initial payload is kept in place (`initial_is_raw_order`) until its payload
/// first changes; that change moves it into `initial_raw_order` (0013), and everything still
/// verifies; the store reads the initial payload either way.
#[tokio::test]
async fn the_initial_payload_moves_out_of_place_on_the_first_change() {
    let mut w = world().await;
    let mut rt = connect_as(&w.db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let s = record(&mut rt, sid, 30).await;
    let state = |id: Uuid| {
        format!(
            "SELECT initial_is_raw_order, initial_raw_order ->> 'status', raw_order ->> 'status' \
             FROM executions WHERE id = '{id}'"
        )
    };
    let row = w
        .admin
        .query_one(&state(s.execution_id), &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<bool>>(0), Some(true));
    assert_eq!(row.get::<_, Option<String>>(1), None);
    assert_eq!(row.get::<_, Option<String>>(2).as_deref(), Some("new"));
    // The same payload again changes nothing; a new one moves the initial payload.
    for (filled, status) in [("0", "new"), ("0.5", "partially_filled"), ("1.5", "filled")] {
        torghut_store::execution::upsert(
            &mut rt,
            &order(&s.order_id, &s.decision_hash, filled, status),
            &policy(),
        )
        .await
        .unwrap();
    }
    let row = w
        .admin
        .query_one(&state(s.execution_id), &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<bool>>(0), None);
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("new"));
    assert_eq!(row.get::<_, Option<String>>(2).as_deref(), Some("filled"));
    let trail = torghut_store::trail::get(&rt, s.decision_id)
        .await
        .unwrap()
        .unwrap();
    let x = &trail.executions[0];
    assert_eq!(x.initial_raw_order.as_ref().unwrap()["status"], "new");
    assert_eq!(x.raw_order.as_ref().unwrap()["status"], "filled");
    let r = w.verify().await;
    assert!(r.ok, "{}", r.render());
    // Moved back behind the service's back: the seal no longer matches.
    w.behind_the_back(&format!(
        "UPDATE executions SET initial_is_raw_order = true, initial_raw_order = NULL WHERE id = '{}'",
        s.execution_id
    ))
    .await;
    let r = w.verify().await;
    assert!(
        has(&r, Problem::Modified, "executions", Some(s.execution_id)),
        "{}",
        r.render()
    );
}
