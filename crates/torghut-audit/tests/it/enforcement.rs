//! Capture and refusals: every change a writer of the trading tables makes (the store's, or the
//! original service's statements, as the runtime role or as the owner) succeeds and is recorded
//! as a chained event naming who made it; what destroys history (deletes, truncates, changes of
//! identity, rewriting the append-only tables, forged events) is refused, with SQLSTATE TA001
//! from the triggers and 42501 from the runtime role's privileges.

use chrono::Utc;
use rust_decimal::Decimal;
use tokio_postgres::Client;
use torghut_store::cursor::{self, CursorPosition};
use torghut_store::decision::{self, Transition};
use torghut_store::position::{self, NewPositionSnapshot};
use torghut_store::trail::TrailInput;
use torghut_store::{execution, review, strategy};
use uuid::Uuid;

use crate::support::*;

const INSUFFICIENT_PRIVILEGE: &str = "42501";
const REFUSED: &str = torghut_audit::SQLSTATE_REFUSED;

#[tokio::test]
async fn the_runtime_role_takes_checkpoints_as_the_checkpoint_cronjob_does() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    seed(&mut rt, sid, 2).await;
    let first = torghut_audit::chain::checkpoint(&rt).await.unwrap();
    assert!(first.streams > 0, "{first:?}");
    // Nothing moved since: the next one records no stream, and the chain goes on.
    let second = torghut_audit::chain::checkpoint(&rt).await.unwrap();
    assert_eq!((second.id, second.streams), (first.id + 1, 0));
}

#[tokio::test]
async fn the_store_works_as_the_runtime_role() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let who: String = rt
        .query_one("SELECT current_user", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(who, RUNTIME);
    // The chain does not depend on the writer's time zone.
    rt.batch_execute("SET TimeZone = 'Asia/Kolkata'")
        .await
        .unwrap();
    let sid = strategy(&mut rt).await;
    strategy::disable(&mut rt, sid).await.unwrap();
    strategy::enable(&mut rt, sid).await.unwrap();
    let s = seed(&mut rt, sid, 1).await;
    review::append(&rt, s.decision_id, &review(), &policy())
        .await
        .unwrap();
    let x = execution::upsert(
        &mut rt,
        &order(&s.order_id, &s.decision_hash, "1.5", "filled"),
        &policy(),
    )
    .await
    .unwrap();
    assert_eq!(x.filled_qty.to_decimal(), Some(Decimal::new(15, 1)));
    // A stale update is recorded (its payload changes), filled_qty stays.
    execution::upsert(
        &mut rt,
        &order(&s.order_id, &s.decision_hash, "0.5", "partially_filled"),
        &policy(),
    )
    .await
    .unwrap();
    decision::transition(&mut rt, s.decision_id, &Transition::to("filled"), &policy())
        .await
        .unwrap();
    let err = decision::transition(
        &mut rt,
        s.decision_id,
        &Transition::to("canceled"),
        &policy(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, decision::DecisionError::Terminal { .. }),
        "{err}"
    );
    // An order first recorded by client order id gets its broker id later.
    let coid = format!("c-{}", uuid::Uuid::now_v7());
    let provisional = format!(
        r#"{{"client_order_id":"{coid}","symbol":"MSFT","side":"sell","type":"limit","time_in_force":"day","qty":"2","status":"new"}}"#
    );
    execution::upsert(&mut rt, &provisional, &policy())
        .await
        .unwrap();
    execution::upsert(
        &mut rt,
        &order("broker-1", &coid, "0", "accepted")
            .replace("AAPL", "MSFT")
            .replace("\"buy\"", "\"sell\""),
        &policy(),
    )
    .await
    .unwrap();
    cursor::advance(&mut rt, "alpaca", &CursorPosition::at(Utc::now()), false)
        .await
        .unwrap();
    cursor::advance(&mut rt, "alpaca", &CursorPosition::at(Utc::now()), false)
        .await
        .unwrap();
    position::insert(
        &mut rt,
        &NewPositionSnapshot {
            account_label: "paper".into(),
            as_of: Utc::now(),
            equity: Decimal::ONE,
            cash: Decimal::ONE,
            buying_power: Decimal::ONE,
            positions: "[]".into(),
        },
        &policy(),
    )
    .await
    .unwrap();

    let mut admin = db.connect().await;
    let report = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(report.ok, "{}", report.render());
    assert!(report.rows_checked >= 12, "{}", report.render());
}

/// How many events the database has recorded.
async fn events(c: &Client) -> i64 {
    c.query_one(
        "SELECT (SELECT count(*) FROM decision_events) + (SELECT count(*) FROM execution_events) \
         + (SELECT count(*) FROM strategy_events)",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

/// The original service's updates (see its recorded SQL): each succeeds and leaves one event
/// with the old and new values, the role and the application name.
async fn old_service_updates_are_recorded(db: &torghut_testdb::TestDb, c: &mut Client, role: &str) {
    c.batch_execute("SET application_name = 'torghut-old'")
        .await
        .unwrap();
    let sid = strategy(c).await;
    let s = seed(c, sid, 7).await;
    let (d, x) = (s.decision_id, s.execution_id);
    let updates = [
        format!("UPDATE strategies SET description = 'v2', max_notional_per_trade = 1000, updated_at = now() WHERE id = '{sid}'"),
        format!("UPDATE trade_decisions SET decision_json = decision_json || '{{\"price_snapshot\": {{\"price\": \"100.10\"}}}}' WHERE id = '{d}'"),
        format!("UPDATE trade_decisions SET status = 'planned' WHERE id = '{d}'"),
        format!("UPDATE trade_decisions SET status = 'submitted', executed_at = now() WHERE id = '{d}'"),
        format!("UPDATE trade_decisions SET status = 'filled' WHERE id = '{d}'"),
        format!("UPDATE trade_decisions SET status = 'canceled', executed_at = NULL WHERE id = '{d}'"),
        format!("UPDATE trade_decisions SET alpaca_account_label = 'live' WHERE id = '{d}'"),
        format!("UPDATE trade_decisions SET decision_json = '{{\"risk_reasons\": [\"x\"]}}', status = 'rejected' WHERE id = '{d}'"),
        format!("UPDATE executions SET filled_qty = 0.25, status = 'partially_filled', raw_order = '{{\"filled_qty\": \"0.25\"}}', last_update_at = now(), updated_at = now() WHERE id = '{x}'"),
        format!("UPDATE executions SET alpaca_order_id = 'replaced-{x}', raw_order = '{{\"id\": \"replaced\"}}', updated_at = now() WHERE id = '{x}'"),
        format!("UPDATE executions SET trade_decision_id = NULL, updated_at = now() WHERE id = '{x}'"),
        format!("UPDATE executions SET trade_decision_id = '{d}', symbol = 'MSFT', side = 'sell' WHERE id = '{x}'"),
    ];
    for sql in &updates {
        let before = events(c).await;
        c.batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(events(c).await, before + 1, "{sql}: one event");
    }
    // Nothing but updated_at changes: nothing is recorded.
    let before = events(c).await;
    c.batch_execute(&format!(
        "UPDATE strategies SET updated_at = now() WHERE id = '{sid}'"
    ))
    .await
    .unwrap();
    assert_eq!(events(c).await, before);

    let ev = c
        .query_one(
            "SELECT payload, actor, application_name, kind FROM decision_events \
             WHERE decision_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&d],
        )
        .await
        .unwrap();
    let payload: serde_json::Value = ev.get(0);
    assert_eq!(payload["changes"]["status"]["from"], "canceled");
    assert_eq!(payload["changes"]["status"]["to"], "rejected");
    assert_eq!(
        payload["changes"]["decision_json"]["to"]["risk_reasons"][0],
        "x"
    );
    assert_eq!(ev.get::<_, Option<String>>(1).as_deref(), Some(role));
    assert_eq!(
        ev.get::<_, Option<String>>(2).as_deref(),
        Some("torghut-old")
    );
    assert_eq!(ev.get::<_, String>(3), "status");
    let fill = c
        .query_one(
            "SELECT payload -> 'changes' -> 'filled_qty' ->> 'from', \
                    payload -> 'changes' -> 'filled_qty' ->> 'to' \
             FROM execution_events WHERE execution_id = $1 \
             AND payload -> 'changes' ? 'filled_qty' ORDER BY seq DESC LIMIT 1",
            &[&x],
        )
        .await
        .unwrap();
    // A lower filled_qty (a stale broker payload) is kept as it was written, and recorded.
    assert_eq!(fill.get::<_, String>(0), "0.75000000");
    assert_eq!(fill.get::<_, String>(1), "0.25000000");

    let mut admin = db.connect().await;
    let report = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(report.ok, "{}", report.render());
}

#[tokio::test]
async fn the_original_services_updates_succeed_and_are_recorded_as_the_runtime_role() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    old_service_updates_are_recorded(&db, &mut rt, RUNTIME).await;
}

#[tokio::test]
async fn the_original_services_updates_succeed_and_are_recorded_as_the_owner() {
    let db = db().await;
    let mut owner = connect_as(&db, OWNER).await;
    old_service_updates_are_recorded(&db, &mut owner, OWNER).await;
}

/// Statements the runtime role may never run, with the SQLSTATE expected.
fn runtime_forbidden(s: &Seeded, sid: Uuid) -> Vec<(String, &'static str)> {
    let d = s.decision_id;
    let x = s.execution_id;
    let mut v: Vec<(String, &'static str)> = Vec::new();
    for t in [
        "llm_decision_reviews",
        "decision_events",
        "execution_events",
        "strategy_events",
    ] {
        v.push((
            format!("UPDATE {t} SET created_at = now()"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((format!("DELETE FROM {t}"), INSUFFICIENT_PRIVILEGE));
        v.push((format!("TRUNCATE {t} CASCADE"), INSUFFICIENT_PRIVILEGE));
    }
    for t in ["strategies", "trade_decisions", "executions"] {
        v.push((format!("DELETE FROM {t}"), INSUFFICIENT_PRIVILEGE));
        v.push((format!("TRUNCATE {t} CASCADE"), INSUFFICIENT_PRIVILEGE));
        v.push((
            format!("UPDATE {t} SET created_at = now()"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!("UPDATE {t} SET id = gen_random_uuid()"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!("UPDATE {t} SET chain_hash = NULL"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!("ALTER TABLE {t} DISABLE TRIGGER USER"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!("DROP TRIGGER audit_capture ON {t}"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!("ALTER TABLE {t} ADD COLUMN x integer"),
            INSUFFICIENT_PRIVILEGE,
        ));
    }
    v.push((
        format!("UPDATE trade_decisions SET decision_hash = 'x' WHERE id = '{d}'"),
        INSUFFICIENT_PRIVILEGE,
    ));
    // Events come only from the capture trigger.
    v.push((
        format!(
            "INSERT INTO decision_events (id, decision_id, seq, kind, payload) \
             VALUES (gen_random_uuid(), '{d}', 99, 'status', '{{}}')"
        ),
        REFUSED,
    ));
    v.push((
        format!(
            "INSERT INTO execution_events (id, execution_id, seq, payload) \
             VALUES (gen_random_uuid(), '{x}', 99, '{{}}')"
        ),
        REFUSED,
    ));
    v.push((
        format!(
            "INSERT INTO strategy_events (id, strategy_id, seq, payload) \
             VALUES (gen_random_uuid(), '{sid}', 99, '{{}}')"
        ),
        REFUSED,
    ));
    v.push((
        "UPDATE audit_chain_heads SET seq = 0".into(),
        INSUFFICIENT_PRIVILEGE,
    ));
    v.push((
        "DELETE FROM audit_chain_heads".into(),
        INSUFFICIENT_PRIVILEGE,
    ));
    v.push((
        "INSERT INTO audit_checkpoints (id, kind, streams, hash) VALUES (99, 'checkpoint', 0, '\\x00')".into(),
        INSUFFICIENT_PRIVILEGE,
    ));
    v.push((
        "DELETE FROM audit_checkpoints".into(),
        INSUFFICIENT_PRIVILEGE,
    ));
    v.push((
        "CREATE TABLE public.scratch (i integer)".into(),
        INSUFFICIENT_PRIVILEGE,
    ));
    v.push((
        "SET session_replication_role = replica".into(),
        INSUFFICIENT_PRIVILEGE,
    ));
    v
}

#[tokio::test]
async fn every_forbidden_statement_fails_as_the_runtime_role() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let s = seed(&mut rt, sid, 1).await;
    for (sql, code) in runtime_forbidden(&s, sid) {
        let (got, message) = refused(&rt, &sql).await;
        assert_eq!(got, code, "{sql}: {message}");
    }
    // The maintenance switch is the owner's only: the runtime role setting it changes nothing.
    rt.batch_execute("SET torghut.audit_maintenance = 'on'")
        .await
        .unwrap();
    let (code, _) = refused(
        &rt,
        &format!(
            "INSERT INTO decision_events (id, decision_id, seq, kind, payload) \
             VALUES (gen_random_uuid(), '{}', 99, 'status', '{{}}')",
            s.decision_id
        ),
    )
    .await;
    assert_eq!(code, REFUSED);
}

#[tokio::test]
async fn every_forbidden_statement_fails_as_the_owner() {
    let db = db().await;
    let mut owner = connect_as(&db, OWNER).await;
    let sid = strategy(&mut owner).await;
    let s = seed(&mut owner, sid, 1).await;
    let (d, x) = (s.decision_id, s.execution_id);
    let mut cases: Vec<(String, &str, &str)> = Vec::new();
    for t in [
        "llm_decision_reviews",
        "decision_events",
        "execution_events",
        "strategy_events",
        "audit_checkpoints",
        "audit_checkpoint_heads",
        "audit_archive_log",
    ] {
        let set = match t {
            "audit_checkpoint_heads" => "seq = 0",
            "audit_archive_log" => "reason = 'x'",
            _ => "created_at = now()",
        };
        cases.push((format!("UPDATE {t} SET {set}"), "UPDATE", t));
        cases.push((format!("DELETE FROM {t}"), "DELETE", t));
        cases.push((format!("TRUNCATE {t} CASCADE"), "TRUNCATE", t));
    }
    for t in ["strategies", "trade_decisions", "executions"] {
        cases.push((format!("DELETE FROM {t}"), "DELETE", t));
        cases.push((format!("TRUNCATE {t} CASCADE"), "TRUNCATE", t));
        cases.push((format!("UPDATE {t} SET created_at = now()"), "UPDATE", t));
        cases.push((
            format!("UPDATE {t} SET id = gen_random_uuid()"),
            "UPDATE",
            t,
        ));
        cases.push((format!("UPDATE {t} SET chain_seq = 7"), "UPDATE", t));
        cases.push((format!("UPDATE {t} SET chain_hash = NULL"), "UPDATE", t));
    }
    cases.push((
        format!("UPDATE trade_decisions SET decision_hash = 'x' WHERE id = '{d}'"),
        "UPDATE",
        "trade_decisions",
    ));
    cases.push((
        format!(
            "INSERT INTO decision_events (id, decision_id, seq, kind, payload) \
             VALUES (gen_random_uuid(), '{d}', 99, 'status', '{{}}')"
        ),
        "INSERT",
        "decision_events",
    ));
    cases.push((
        format!(
            "INSERT INTO execution_events (id, execution_id, seq, payload) \
             VALUES (gen_random_uuid(), '{x}', 99, '{{}}')"
        ),
        "INSERT",
        "execution_events",
    ));
    // A strategy's deletion would cascade to its decisions.
    cases.push((
        format!("DELETE FROM strategies WHERE id = '{sid}'"),
        "DELETE",
        "strategies",
    ));
    for (sql, op, table) in cases {
        let (code, message) = refused(&owner, &sql).await;
        assert_eq!(code, REFUSED, "{sql}: {message}");
        assert!(
            message.contains(&format!("{op} on {table} refused")),
            "{sql}: {message}"
        );
    }
}

/// A trail recorded again for an existing decision (review, then transition, in one
/// transaction) beside transitions of the same decision: the sealing trigger locks the decision
/// before its chain head, in the order transitions do, so neither deadlocks; the chain stays
/// whole and every change is recorded.
#[tokio::test]
async fn concurrent_writers_of_one_decision_neither_deadlock_nor_break_the_chain() {
    use torghut_store::trail;
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let s = seed(&mut rt, sid, 1).await;
    let mut a = connect_as(&db, RUNTIME).await;
    let mut b = connect_as(&db, RUNTIME).await;
    let d = s.decision_id;
    let transitions = tokio::spawn(async move {
        for i in 0..40 {
            let to = if i % 2 == 0 { "accepted" } else { "submitted" };
            decision::transition(&mut a, d, &Transition::to(to), &policy())
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    });
    let trails = tokio::spawn(async move {
        for _ in 0..40 {
            trail::record_trail(
                &mut b,
                &TrailInput {
                    strategy_id: sid,
                    account_label: "paper".into(),
                    decision_json_text: decision(sid, 1),
                    review: Some(review()),
                    execution: None,
                    status: Some("accepted".into()),
                },
                &policy(),
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    });
    transitions.await.unwrap().unwrap();
    trails.await.unwrap().unwrap();
    let mut admin = db.connect().await;
    let report = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(report.ok, "{}", report.render());
    assert_eq!(report.rows_by_table["llm_decision_reviews"], 41);
}
