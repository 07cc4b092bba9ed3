//! The attacks of the threat model (ARCHITECTURE.md, "Audit integrity"), each by name, by the
//! owner of the tables (who may disable their triggers) or a superuser (who may also set
//! `session_replication_role = replica`), after a checkpoint anchored outside the database and
//! more writes that no checkpoint has recorded yet ("fresh" streams). Each is found by `verify`,
//! by `verify` against the anchors, or by `migrate verify` (trigger drift).

use tokio_postgres::Client;
use torghut_audit::anchor::{self, Anchor};
use torghut_audit::{Finding, Problem, VerifyReport};
use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
use torghut_testdb::TestDb;
use uuid::Uuid;

use crate::support::*;

struct Scene {
    db: TestDb,
    owner: Client,
    admin: Client,
    /// Streams recorded by the anchored checkpoint.
    old: Seeded,
    /// Streams created after it: a strategy (its root alone), a decision with its review and
    /// events, an execution with its events.
    fresh_strategy: Uuid,
    fresh: Seeded,
    anchors: Vec<Anchor>,
    key: ed25519_dalek::VerifyingKey,
    _dir: tempfile::TempDir,
}

async fn scene() -> Scene {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let old = seed(&mut rt, sid, 1).await;
    seed(&mut rt, sid, 2).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("key"),
        format!("{}\n", anchor::generate_key().unwrap().0),
    )
    .unwrap();
    let signing = anchor::read_signing_key(&dir.path().join("key")).unwrap();
    let cp = torghut_audit::chain::checkpoint(&rt).await.unwrap();
    let anchors = vec![Anchor::sign(&cp, &signing)];
    // Fresh streams, on another connection (another lane) and on the first one.
    let mut rt2 = connect_as(&db, RUNTIME).await;
    let fresh_strategy = strategy(&mut rt2).await;
    let fresh = seed(&mut rt, sid, 3).await;
    seed(&mut rt2, fresh_strategy, 4).await;
    let mut admin = db.connect().await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert!(r.streams_not_checkpointed >= 5, "{}", r.render());
    let owner = connect_as(&db, OWNER).await;
    Scene {
        db,
        owner,
        admin,
        old,
        fresh_strategy,
        fresh,
        anchors,
        key: signing.verifying_key(),
        _dir: dir,
    }
}

impl Scene {
    /// As the owner, with the user triggers of every table `sql` touches disabled meanwhile.
    async fn as_owner_without_triggers(&self, tables: &[&str], sql: &str) {
        let off: String = tables
            .iter()
            .map(|t| format!("ALTER TABLE {t} DISABLE TRIGGER USER; "))
            .collect();
        let on: String = tables
            .iter()
            .map(|t| format!("ALTER TABLE {t} ENABLE TRIGGER USER; "))
            .collect();
        self.owner
            .batch_execute(&format!("BEGIN; {off} {sql}; {on} COMMIT"))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// As a superuser with every trigger off (`session_replication_role = replica`).
    async fn as_superuser_replica(&self, sql: &str) {
        replica(&self.admin, sql).await;
    }

    async fn verify(&mut self) -> VerifyReport {
        torghut_audit::verify(&mut self.admin).await.unwrap()
    }

    async fn against_anchors(&self) -> Vec<Finding> {
        anchor::check_anchors(&self.admin, &self.anchors, Some(&self.key))
            .await
            .unwrap()
    }
}

fn named(r: &VerifyReport, problem: Problem, table: &str, id: Uuid) -> bool {
    r.findings
        .iter()
        .any(|f| f.problem == problem && f.table == table && f.id == Some(id))
}

/// Asserts that `r` names each of `expected` (problem, table, row id).
fn expect_named(r: &VerifyReport, expected: &[(Problem, &str, Uuid)]) {
    for (problem, table, id) in expected {
        assert!(
            named(r, *problem, table, *id),
            "{problem:?} {table} {id}:\n{}",
            r.render()
        );
    }
}

fn lane_gap(r: &VerifyReport) -> bool {
    r.findings
        .iter()
        .any(|f| f.problem == Problem::Deleted && f.table == "audit_lanes")
}

/// Deletes a decision stream whole: events, reviews, its executions' link, the row, its head.
fn delete_decision(d: Uuid) -> String {
    format!(
        "DELETE FROM decision_events WHERE decision_id = '{d}'; \
         DELETE FROM llm_decision_reviews WHERE trade_decision_id = '{d}'; \
         UPDATE executions SET trade_decision_id = NULL WHERE trade_decision_id = '{d}'; \
         DELETE FROM trade_decisions WHERE id = '{d}'; \
         DELETE FROM audit_chain_heads WHERE stream = 'decision' AND stream_id = '{d}'"
    )
}

fn delete_execution(x: Uuid) -> String {
    format!(
        "DELETE FROM execution_events WHERE execution_id = '{x}'; \
         DELETE FROM executions WHERE id = '{x}'; \
         DELETE FROM audit_chain_heads WHERE stream = 'execution' AND stream_id = '{x}'"
    )
}

/// Attack: edit a fresh row with the triggers disabled (no event, no seal).
#[tokio::test]
async fn attack_edit_a_row_with_triggers_disabled() {
    let mut s = scene().await;
    s.as_owner_without_triggers(
        &["executions"],
        &format!(
            "UPDATE executions SET filled_qty = 1000 WHERE id = '{}'",
            s.fresh.execution_id
        ),
    )
    .await;
    let r = s.verify().await;
    assert!(
        r.findings
            .iter()
            .any(|f| f.stream_id == Some(s.fresh.execution_id)
                && matches!(f.problem, Problem::Modified | Problem::Projection)),
        "{}",
        r.render()
    );
}

/// Attack: edit an anchored row and recompute every hash after it (stream, head, checkpoint
/// heads, checkpoint chain): `verify` alone finds nothing, the anchors do.
#[tokio::test]
async fn attack_edit_and_recompute_everything() {
    let mut s = scene().await;
    s.as_superuser_replica(&crate::anchors::recompute_sql(s.old.decision_id))
        .await;
    let r = s.verify().await;
    assert!(r.ok, "recomputed, it verifies alone: {}", r.render());
    let found = s.against_anchors().await;
    assert!(
        found
            .iter()
            .any(|f| f.problem == Problem::Checkpoint && f.detail.contains("not the one anchored")),
        "{found:?}"
    );
}

/// Attack: delete fresh streams of every kind whole (rows and head rows), none of them recorded
/// by a checkpoint yet: each is named by its lane entry.
#[tokio::test]
async fn attack_delete_fresh_streams_of_each_kind() {
    let mut s = scene().await;
    let bare = {
        // A strategy that is its root alone (no event, no head row).
        let mut rt = connect_as(&s.db, RUNTIME).await;
        strategy(&mut rt).await
    };
    s.as_owner_without_triggers(
        &[
            "strategies",
            "trade_decisions",
            "decision_events",
            "llm_decision_reviews",
            "executions",
            "execution_events",
        ],
        &format!(
            "{}; {}; DELETE FROM strategies WHERE id = '{bare}'",
            delete_decision(s.fresh.decision_id),
            delete_execution(s.fresh.execution_id),
        ),
    )
    .await;
    let r = s.verify().await;
    expect_named(
        &r,
        &[
            (Problem::Deleted, "trade_decisions", s.fresh.decision_id),
            (Problem::Deleted, "executions", s.fresh.execution_id),
            (Problem::Deleted, "strategies", bare),
        ],
    );
    // `--since-checkpoint` follows the lanes that moved since the checkpoint: the same.
    let since = torghut_audit::verify_with(
        &mut s.admin,
        torghut_audit::VerifyOptions {
            since_checkpoint: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(since.since_checkpoint, Some(1), "{}", since.render());
    for (table, id) in [
        ("trade_decisions", s.fresh.decision_id),
        ("executions", s.fresh.execution_id),
        ("strategies", bare),
    ] {
        assert!(
            named(&since, Problem::Deleted, table, id),
            "{table}: {}",
            since.render()
        );
    }
}

/// Attack: delete a fresh stream together with its lane entry: its place in the lane is
/// missing.
#[tokio::test]
async fn attack_delete_a_fresh_stream_and_its_lane_entry() {
    let mut s = scene().await;
    let x = s.fresh.execution_id;
    s.as_superuser_replica(&format!(
        "{}; DELETE FROM audit_lane_log WHERE stream_id = '{x}'",
        delete_execution(x)
    ))
    .await;
    let r = s.verify().await;
    assert!(lane_gap(&r), "{}", r.render());
}

/// Attack: delete a fresh stream, its lane entry, and rewind its lane (renumbered entries, head
/// recomputed) after a checkpoint recorded the lane: the lane no longer matches the checkpoint.
#[tokio::test]
async fn attack_delete_a_stream_and_rewind_its_lane() {
    let mut s = scene().await;
    torghut_audit::chain::checkpoint(&s.admin).await.unwrap();
    let d = s.fresh.decision_id;
    s.as_superuser_replica(&format!(
        "{}; {rewind}",
        delete_decision(d),
        rewind = rewind_lane_without(d)
    ))
    .await;
    let r = s.verify().await;
    assert!(
        r.findings
            .iter()
            .any(|f| f.table == "audit_lanes" && f.problem != Problem::Inserted),
        "{}",
        r.render()
    );
}

/// Removes stream `id` from its lane as if it had never been linked: the later entries moved
/// down one place, the head recomputed.
fn rewind_lane_without(id: Uuid) -> String {
    format!(
        "DO $$
         DECLARE
           e record;
           l bigint;
           p bigint;
           h bytea := '\\x'::bytea;
           n bigint := 0;
         BEGIN
           SELECT lane, seq INTO l, p FROM audit_lane_log WHERE stream_id = '{id}';
           DELETE FROM audit_lane_log WHERE lane = l AND seq = p;
           UPDATE audit_lane_log SET seq = -seq WHERE lane = l AND seq > p;
           UPDATE audit_lane_log SET seq = -seq - 1 WHERE lane = l AND seq < 0;
           FOR e IN SELECT stream, stream_id FROM audit_lane_log WHERE lane = l ORDER BY seq LOOP
             h := sha256(h || convert_to(e.stream || ' ' || e.stream_id::text, 'UTF8'));
             n := n + 1;
           END LOOP;
           UPDATE audit_lanes SET seq = n, head = h WHERE lane = l;
         END
         $$"
    )
}

/// Attack: truncate the trading tables as a superuser with the replication role (truncate
/// triggers do not fire): every stream is missing.
#[tokio::test]
async fn attack_truncate_with_replication_role() {
    let mut s = scene().await;
    s.as_superuser_replica(
        "TRUNCATE execution_events, executions, decision_events, llm_decision_reviews, \
         trade_decisions CASCADE",
    )
    .await;
    let r = s.verify().await;
    expect_named(
        &r,
        &[
            (Problem::Deleted, "trade_decisions", s.old.decision_id),
            (Problem::Deleted, "trade_decisions", s.fresh.decision_id),
            (Problem::Deleted, "executions", s.fresh.execution_id),
        ],
    );
}

/// Attack: truncate every audit table, the chain, lanes and checkpoints included: the database
/// left is empty and consistent, and the anchors find that their checkpoint is gone.
#[tokio::test]
async fn attack_truncate_everything_with_replication_role() {
    let mut s = scene().await;
    s.as_superuser_replica(
        "TRUNCATE execution_events, executions, decision_events, llm_decision_reviews, \
         trade_decisions, strategy_events, strategies, audit_chain_heads, audit_lanes, \
         audit_lane_log, audit_checkpoint_heads, audit_checkpoints CASCADE",
    )
    .await;
    let r = s.verify().await;
    assert!(r.ok, "an empty database is consistent: {}", r.render());
    let found = s.against_anchors().await;
    assert!(
        found.iter().any(|f| f.problem == Problem::Checkpoint),
        "{found:?}"
    );
}

/// Attack: insert a forged stream whose seal is computed as the trigger would (the chain has no
/// secret), with the triggers off: it is linked into no lane.
#[tokio::test]
async fn attack_insert_a_forged_stream_with_a_computed_seal() {
    let mut s = scene().await;
    let forged = Uuid::now_v7();
    s.as_superuser_replica(&format!(
        "SET LOCAL TimeZone = 'UTC'; \
         INSERT INTO strategies (id, name, description, enabled, base_timeframe, universe_type, \
           universe_symbols, max_position_pct_equity, max_notional_per_trade) \
         SELECT '{forged}', 'forged', description, enabled, base_timeframe, universe_type, \
           universe_symbols, max_position_pct_equity, max_notional_per_trade \
         FROM strategies WHERE id = '{sid}'; \
         UPDATE strategies SET chain_seq = 1, \
           chain_hash = sha256(audit_content('strategies', to_jsonb(strategies.*))) \
         WHERE id = '{forged}'",
        sid = s.fresh_strategy
    ))
    .await;
    let r = s.verify().await;
    expect_named(&r, &[(Problem::Inserted, "strategies", forged)]);
}

/// Attack: disable an audit trigger (writes would go unaudited): `migrate verify` reports it as
/// drift, and the writes made meanwhile are found by `verify`.
#[tokio::test]
async fn attack_disable_an_audit_trigger() {
    let mut s = scene().await;
    s.owner
        .batch_execute("ALTER TABLE trade_decisions DISABLE TRIGGER audit_capture")
        .await
        .unwrap();
    let mut m = Migrator::new(
        s.db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    let v = m.verify().await.unwrap();
    assert!(!v.clean);
    let off = m.audit_triggers_not_enabled().await.unwrap();
    assert!(
        off.iter()
            .any(|t| format!("{t:?}").contains("audit_capture")),
        "{off:?}"
    );
    let rt = connect_as(&s.db, RUNTIME).await;
    rt.execute(
        "UPDATE trade_decisions SET rationale = 'unaudited' WHERE id = $1",
        &[&s.fresh.decision_id],
    )
    .await
    .unwrap();
    s.owner
        .batch_execute("ALTER TABLE trade_decisions ENABLE TRIGGER audit_capture")
        .await
        .unwrap();
    let r = s.verify().await;
    assert!(
        r.findings
            .iter()
            .any(|f| f.stream_id == Some(s.fresh.decision_id)),
        "{}",
        r.render()
    );
}
