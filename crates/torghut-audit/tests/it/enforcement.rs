//! The database refuses every change to audit rows outside the allowed paths: as the runtime role
//! (privileges and triggers) and as the owner (triggers), with SQLSTATE TA001 for the rules.

use chrono::Utc;
use rust_decimal::Decimal;
use torghut_store::cursor::{self, CursorPosition};
use torghut_store::decision::{self, Transition};
use torghut_store::position::{self, NewPositionSnapshot};
use torghut_store::trail::TrailInput;
use torghut_store::{bulk, execution, review, strategy};

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
    review::append(&mut rt, s.decision_id, &review(), &policy())
        .await
        .unwrap();
    let x = execution::upsert(
        &mut rt,
        &order(&s.order_id, &s.decision_hash, "1.5", "filled"),
        &policy(),
    )
    .await
    .unwrap();
    assert_eq!(x.filled_qty, Decimal::new(15, 1));
    // A stale update is stored as an event, filled_qty stays.
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
    bulk::backfill(
        &mut rt,
        &[TrailInput {
            strategy_id: sid,
            account_label: "paper".into(),
            decision_json_text: decision(sid, 99),
            review: Some(review()),
            execution: None,
            status: Some("rejected".into()),
        }],
        &policy(),
    )
    .await
    .unwrap();
    bulk::backfill_staged(
        &mut rt,
        &[TrailInput {
            strategy_id: sid,
            account_label: "paper".into(),
            decision_json_text: decision(sid, 100),
            review: None,
            execution: None,
            status: None,
        }],
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

/// Statements the runtime role may never run, with the SQLSTATE expected.
fn runtime_forbidden(s: &Seeded) -> Vec<(String, &'static str)> {
    let d = s.decision_id;
    let x = s.execution_id;
    let mut v: Vec<(String, &'static str)> = Vec::new();
    for t in [
        "llm_decision_reviews",
        "decision_events",
        "execution_events",
    ] {
        v.push((
            format!("UPDATE {t} SET created_at = now()"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((format!("DELETE FROM {t}"), INSUFFICIENT_PRIVILEGE));
        v.push((format!("TRUNCATE {t} CASCADE"), INSUFFICIENT_PRIVILEGE));
    }
    for t in ["trade_decisions", "executions"] {
        v.push((format!("DELETE FROM {t}"), INSUFFICIENT_PRIVILEGE));
        v.push((format!("TRUNCATE {t} CASCADE"), INSUFFICIENT_PRIVILEGE));
        v.push((
            format!("UPDATE {t} SET created_at = now()"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!("UPDATE {t} SET chain_hash = NULL"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!(
                "UPDATE {t} SET {} = NULL",
                if t == "executions" {
                    "initial_raw_order"
                } else {
                    "initial_status"
                }
            ),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!("ALTER TABLE {t} DISABLE TRIGGER USER"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!("DROP TRIGGER audit_seal ON {t}"),
            INSUFFICIENT_PRIVILEGE,
        ));
        v.push((
            format!("ALTER TABLE {t} ADD COLUMN x integer"),
            INSUFFICIENT_PRIVILEGE,
        ));
    }
    v.push((
        "UPDATE executions SET initial_is_raw_order = NULL".to_owned(),
        INSUFFICIENT_PRIVILEGE,
    ));
    v.push((
        format!("UPDATE trade_decisions SET decision_json = '{{}}' WHERE id = '{d}'"),
        INSUFFICIENT_PRIVILEGE,
    ));
    v.push((
        format!("UPDATE trade_decisions SET status = 'planned' WHERE id = '{d}'"),
        REFUSED,
    ));
    v.push((
        format!("UPDATE executions SET filled_qty = 0 WHERE id = '{x}'"),
        REFUSED,
    ));
    v.push((
        format!("UPDATE executions SET symbol = 'MSFT' WHERE id = '{x}'"),
        REFUSED,
    ));
    v.push((
        format!("UPDATE executions SET alpaca_order_id = 'other' WHERE id = '{x}'"),
        REFUSED,
    ));
    v.push((
        format!("UPDATE executions SET client_order_id = 'other' WHERE id = '{x}'"),
        REFUSED,
    ));
    v.push((
        format!("UPDATE executions SET trade_decision_id = NULL WHERE id = '{x}'"),
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
    for (sql, code) in runtime_forbidden(&s) {
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
            "UPDATE trade_decisions SET status = 'planned' WHERE id = '{}'",
            s.decision_id
        ),
    )
    .await;
    assert_eq!(code, REFUSED);
    rt.batch_execute("RESET torghut.audit_maintenance")
        .await
        .unwrap();

    // Out of a terminal status: never.
    rt.batch_execute(&format!(
        "UPDATE trade_decisions SET status = 'filled' WHERE id = '{}'",
        s.decision_id
    ))
    .await
    .unwrap();
    let (code, message) = refused(
        &rt,
        &format!(
            "UPDATE trade_decisions SET status = 'accepted' WHERE id = '{}'",
            s.decision_id
        ),
    )
    .await;
    assert_eq!(code, REFUSED);
    assert!(message.contains("terminal"), "{message}");
    // executed_at is set once.
    rt.batch_execute(&format!(
        "UPDATE trade_decisions SET executed_at = now() WHERE id = '{}'",
        s.decision_id
    ))
    .await
    .unwrap();
    let (code, message) = refused(
        &rt,
        &format!(
            "UPDATE trade_decisions SET executed_at = NULL WHERE id = '{}'",
            s.decision_id
        ),
    )
    .await;
    assert_eq!(code, REFUSED, "{message}");
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
        "audit_checkpoints",
        "audit_checkpoint_heads",
    ] {
        cases.push((
            format!("UPDATE {t} SET created_at = now()").replace(
                "audit_checkpoint_heads SET created_at = now()",
                "audit_checkpoint_heads SET seq = 0",
            ),
            "UPDATE",
            t,
        ));
        cases.push((format!("DELETE FROM {t}"), "DELETE", t));
        cases.push((format!("TRUNCATE {t} CASCADE"), "TRUNCATE", t));
    }
    for t in ["trade_decisions", "executions"] {
        cases.push((format!("DELETE FROM {t}"), "DELETE", t));
        cases.push((format!("TRUNCATE {t} CASCADE"), "TRUNCATE", t));
        cases.push((format!("UPDATE {t} SET created_at = now()"), "UPDATE", t));
        cases.push((format!("UPDATE {t} SET chain_seq = 7"), "UPDATE", t));
    }
    for col in [
        "strategy_id = gen_random_uuid()",
        "alpaca_account_label = 'live'",
        "symbol = 'MSFT'",
        "timeframe = '1Day'",
        "decision_json = '{}'",
        "decision_hash = 'x'",
        "id = gen_random_uuid()",
        "status = 'planned'",
        "initial_status = 'filled'",
        "initial_status = NULL",
    ] {
        cases.push((
            format!("UPDATE trade_decisions SET {col} WHERE id = '{d}'"),
            "UPDATE",
            "trade_decisions",
        ));
    }
    for col in [
        "filled_qty = 0",
        "side = 'sell'",
        "id = gen_random_uuid()",
        "alpaca_order_id = 'x'",
        "initial_raw_order = '{}'",
        "initial_raw_order = NULL",
        "initial_is_raw_order = true",
        "initial_is_raw_order = false",
    ] {
        cases.push((
            format!("UPDATE executions SET {col} WHERE id = '{x}'"),
            "UPDATE",
            "executions",
        ));
    }
    // A strategy's deletion would cascade to its decisions.
    cases.push((
        format!("DELETE FROM strategies WHERE id = '{sid}'"),
        "DELETE",
        "trade_decisions",
    ));
    for (sql, op, table) in cases {
        let (code, message) = refused(&owner, &sql).await;
        assert_eq!(code, REFUSED, "{sql}: {message}");
        assert!(
            message.contains(&format!("{op} on {table} refused")),
            "{sql}: {message}"
        );
    }
    // Allowed updates still work for the owner.
    owner
        .batch_execute(&format!(
            "UPDATE trade_decisions SET status = 'accepted' WHERE id = '{d}'; \
             UPDATE executions SET filled_qty = 1 WHERE id = '{x}'"
        ))
        .await
        .unwrap();
}

/// A trail recorded again for an existing decision (review, then transition, in one
/// transaction) beside transitions of the same decision: the sealing trigger locks the decision
/// before its chain head, in the order transitions do, so neither deadlocks; the chain stays
/// whole.
#[tokio::test]
async fn concurrent_writers_of_one_decision_neither_deadlock_nor_break_the_chain() {
    use torghut_store::trail::{self, TrailStatements};
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
        let stmts = TrailStatements::prepare(&b)
            .await
            .map_err(|e| e.to_string())?;
        for _ in 0..40 {
            trail::record_trail(
                &mut b,
                &stmts,
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
