//! Rows sealed by their writer (`0012_audit_writer_seal`): the store seals a trail's decision,
//! opening review and execution itself and the sealing triggers do not run; `verify` (whose SQL
//! is the triggers') must find every such seal right, whatever the payloads hold, and must
//! report a seal that does not match its row.

use rust_decimal::Decimal;
use tokio_postgres::Client;
use torghut_audit::Problem;
use torghut_store::bulk;
use torghut_store::review::NewReview;
use torghut_store::trail::{self, TrailInput, TrailStatements};
use uuid::Uuid;

use crate::support::*;

/// The sealing functions, replaced (as the superuser) by ones that refuse: while they are in
/// place, a row the store writes gets in only if its trigger does not run.
const SEALS: [&str; 3] = [
    "audit_seal_decision()",
    "audit_seal_execution()",
    "audit_seal()",
];

async fn triggers_refuse(admin: &Client) -> Vec<String> {
    let mut saved = Vec::new();
    for f in SEALS {
        let def: String = admin
            .query_one(
                &format!("SELECT pg_get_functiondef('{f}'::regprocedure)"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        saved.push(def);
        let name = f.trim_end_matches("()");
        admin
            .batch_execute(&format!(
                "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'sealing trigger ran on %', TG_TABLE_NAME; END $$"
            ))
            .await
            .unwrap();
    }
    saved
}

async fn triggers_restored(admin: &Client, saved: Vec<String>) {
    for def in saved {
        admin.batch_execute(&def).await.unwrap();
    }
}

/// Payload text with what jsonb reorders, rewrites or escapes.
fn hostile_json(n: u64) -> String {
    format!(
        concat!(
            r#"{{"zz":1,"a":[1.50,-0,1e2,2.5E-3,123456789012345678901234567890.000,{{}},[]],"#,
            r#""é":"\u00e9\u0001\u001f\"\\\n\t\r\b\f/ 😀 \u2028","ab":{{"y":null,"x":true,"#,
            r#""":false}},"n":{n},"deep":[[[{{"k":"v"}}]]],"Z":"\u007f"}}"#
        ),
        n = n
    )
}

fn hostile_review(n: u64) -> NewReview {
    NewReview {
        model: format!("model \"{n}\" \\ é\u{1}"),
        prompt_version: "v\t2".into(),
        input_json: hostile_json(n),
        response_json: r#"[1, "two", {"three": 3.000}]"#.into(),
        verdict: "adjust".into(),
        // numeric(6,4) and numeric(20,8): rounded half away from zero, written at scale.
        confidence: Some(Decimal::new(12345, 5)),
        adjusted_qty: Some(Decimal::new(-15, 1)),
        adjusted_order_type: Some("limit".into()),
        rationale: Some("line 1\nline 2 \u{1b}[0m 😀".into()),
        risk_flags: Some(r#"["a", "b\"c", "\u0001", {"é": 1, "e": 2}]"#.into()),
        tokens_prompt: Some(0),
        tokens_completion: Some(i32::MAX),
    }
}

/// Trails of every shape: with and without review, execution, status, rationale.
fn trails(strategy_id: Uuid, from: u64) -> Vec<TrailInput> {
    (from..from + 6)
        .map(|n| {
            let decision = format!(
                r#"{{"strategy_id":"{strategy_id}","symbol":"MSFT","event_ts":"2026-02-10T14:30:00Z","timeframe":"1Min","action":"buy","qty":"1.50","rationale":"why \"{n}\" é","params":{}}}"#,
                hostile_json(n)
            );
            let hash = torghut_store::decision::prepare("paper", &decision, &policy())
                .unwrap()
                .decision_hash;
            TrailInput {
                strategy_id,
                account_label: format!("acct-{}", n % 2),
                decision_json_text: decision,
                review: match n % 3 {
                    0 => None,
                    1 => Some(review()),
                    _ => Some(hostile_review(n)),
                },
                execution: (n % 4 != 3).then(|| {
                    let mut o = order(&format!("o-{n}-{}", Uuid::now_v7()), &hash, "0", "new");
                    o.insert_str(1, &format!(r#""extra":{},"#, hostile_json(n)));
                    o
                }),
                status: match n % 3 {
                    0 => None,
                    1 => Some("submitted".into()),
                    _ => Some("filled".into()),
                },
            }
        })
        .collect()
}

#[tokio::test]
async fn trails_are_sealed_by_the_store_without_the_triggers_and_verify() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let mut admin = db.connect().await;
    let sid = strategy(&mut rt).await;
    let stmts = TrailStatements::prepare(&rt).await.unwrap();
    let saved = triggers_refuse(&admin).await;

    for t in trails(sid, 0) {
        trail::record_trail(&mut rt, &stmts, &t, &policy())
            .await
            .expect("record_trail, sealed by the store");
    }
    {
        let tx = rt.transaction().await.unwrap();
        for t in trails(sid, 100) {
            trail::record_trail_in_tx(&tx, &stmts, &t, &policy())
                .await
                .expect("record_trail_in_tx");
        }
        tx.commit().await.unwrap();
    }
    let report = bulk::backfill(&mut rt, &trails(sid, 200), &policy())
        .await
        .expect("backfill (copy)");
    assert_eq!(report.decisions_inserted, 6);
    let report = bulk::backfill_staged(&mut rt, &trails(sid, 300), &policy())
        .await
        .expect("backfill (staged)");
    assert_eq!(report.decisions_inserted, 6);

    // The general path (a decision already stored) is sealed by the triggers: refused here.
    let again = &trails(sid, 0)[1];
    let err = trail::record_trail(&mut rt, &stmts, again, &policy())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sealing trigger ran"), "{err}");

    triggers_restored(&admin, saved).await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.rows_by_table["trade_decisions"], 24);
    assert_eq!(r.rows_by_table["llm_decision_reviews"], 16);
    assert_eq!(r.rows_by_table["executions"], 20);
    // And they keep verifying once later rows extend their streams.
    let d: Uuid = admin
        .query_one(
            "SELECT d.id FROM trade_decisions d JOIN llm_decision_reviews v \
             ON v.trade_decision_id = d.id WHERE d.status = 'submitted' LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    torghut_store::decision::transition(
        &mut rt,
        d,
        &torghut_store::decision::Transition::to("accepted"),
        &policy(),
    )
    .await
    .unwrap();
    torghut_store::review::append(&mut rt, d, &hostile_review(7), &policy())
        .await
        .unwrap();
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
}

#[tokio::test]
async fn a_wrong_writer_seal_is_reported_and_rows_without_one_are_sealed_by_their_trigger() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let mut admin = db.connect().await;
    let sid = strategy(&mut rt).await;
    let insert = |id: Uuid, n: u32, status: &str, seal: &str| {
        format!(
            "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
               decision_json, status, decision_hash, initial_status, chain_seq, chain_hash) \
             VALUES ('{id}', '{sid}', 'paper', 'AAPL', '1Min', '{{\"n\": {n}}}', '{status}', \
               'h{n}', 'planned', {seal})"
        )
    };
    let zeros = "1, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea";
    // Without a chain_hash, the trigger seals the row whatever else it was given.
    let a = Uuid::now_v7();
    rt.batch_execute(&insert(a, 1, "planned", "7, NULL"))
        .await
        .unwrap();
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    // A writer's seal is not recomputed: one that does not match its row gets in, and is
    // reported; so is an initial state that is not the row's.
    let (b, c) = (Uuid::now_v7(), Uuid::now_v7());
    rt.batch_execute(&insert(b, 2, "planned", zeros))
        .await
        .unwrap();
    rt.batch_execute(&insert(c, 3, "submitted", zeros))
        .await
        .unwrap();
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(!r.ok);
    for (id, problem) in [
        (b, Problem::Modified),
        (c, Problem::Modified),
        (c, Problem::Projection),
    ] {
        assert!(
            r.findings
                .iter()
                .any(|f| f.problem == problem && f.table == "trade_decisions" && f.id == Some(id)),
            "{problem} {id}: {}",
            r.render()
        );
    }
    assert!(
        !r.findings.iter().any(|f| f.id == Some(a)),
        "{}",
        r.render()
    );

    // A review claimed as the opening row of a stream that was not opened with one (the trigger
    // would have sealed it as row 2 with a head row): reported, as is a stream that claims more
    // opening rows than it has.
    let review = Uuid::now_v7();
    rt.batch_execute(&format!(
        "INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, \
           input_json, response_json, verdict, chain_seq, chain_hash) \
         VALUES ('{review}', '{a}', 'm', 'v1', '{{}}', '{{}}', 'approve', 2, \
           '\\x0101010101010101010101010101010101010101010101010101010101010101')"
    ))
    .await
    .unwrap();
    let d = Uuid::now_v7();
    rt.batch_execute(&format!(
        "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
           decision_json, status, decision_hash, initial_status, initial_chain_rows, chain_seq, \
           chain_hash) \
         VALUES ('{d}', '{sid}', 'paper', 'AAPL', '1Min', '{{}}', 'planned', 'h9', 'planned', 5, \
           1, '\\x0101010101010101010101010101010101010101010101010101010101010101')"
    ))
    .await
    .unwrap();
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(
        r.findings
            .iter()
            .any(|f| f.table == "llm_decision_reviews" && f.id == Some(review)),
        "{}",
        r.render()
    );
    assert!(
        r.findings.iter().any(|f| f.stream_id == Some(d)),
        "{}",
        r.render()
    );
}

/// Any review the store accepts: its fields as generated, the decision and the order payload
/// with generated strings in them.
#[derive(Debug, Clone)]
struct Generated {
    model: String,
    rationale: Option<String>,
    confidence: Option<Decimal>,
    adjusted_qty: Option<Decimal>,
    tokens: Option<i32>,
    label: String,
}

fn text_without_nul(max: usize) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    proptest::collection::vec(
        prop_oneof![
            any::<char>().prop_filter("no NUL", |c| *c != '\0'),
            proptest::char::range('\u{1}', '\u{1f}'),
            Just('"'),
            Just('\\'),
            Just('é'),
        ],
        1..max,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn generated() -> impl proptest::strategy::Strategy<Value = Generated> {
    use proptest::prelude::*;
    (
        text_without_nul(40),
        proptest::option::of(text_without_nul(80)),
        proptest::option::of((0i64..=1_000_000_000, 0u32..=12).prop_map(|(m, s)| {
            let d = Decimal::new(m, s);
            if d > Decimal::ONE {
                Decimal::ONE
            } else {
                d
            }
        })),
        proptest::option::of(
            (-999_999_999_999i64..=999_999_999_999, 0u32..=14)
                .prop_map(|(m, s)| Decimal::new(m, s)),
        ),
        proptest::option::of(any::<i32>().prop_map(|n| n.saturating_abs())),
        text_without_nul(20),
    )
        .prop_map(
            |(model, rationale, confidence, adjusted_qty, tokens, label)| Generated {
                model,
                rationale,
                confidence,
                adjusted_qty,
                tokens,
                label,
            },
        )
}

/// Generated reviews and strings, sealed by the store with the triggers refusing: verify finds
/// every seal right.
#[test]
fn generated_trails_are_sealed_as_verify_recomputes() {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (db, client, mut admin, sid, stmts, saved) = rt.block_on(async {
        let db = db().await;
        let mut client = connect_as(&db, RUNTIME).await;
        let admin = db.connect().await;
        let sid = strategy(&mut client).await;
        let stmts = TrailStatements::prepare(&client).await.unwrap();
        let saved = triggers_refuse(&admin).await;
        (db, client, admin, sid, stmts, saved)
    });
    let counter = std::cell::Cell::new(1000u64);
    let client = std::cell::RefCell::new(client);
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&generated(), |g| {
            counter.set(counter.get() + 1);
            let n = counter.get();
            let decision = format!(
                r#"{{"strategy_id":"{sid}","symbol":"AAPL","event_ts":"2026-02-10T14:30:00Z","timeframe":"1Min","action":"buy","qty":"1","params":{{"i":{n},"label":{}}}}}"#,
                serde_json::to_string(&g.label).unwrap()
            );
            let input = TrailInput {
                strategy_id: sid,
                account_label: g.label.chars().take(64).collect(),
                decision_json_text: decision,
                review: Some(NewReview {
                    model: g.model.clone(),
                    rationale: g.rationale.clone(),
                    confidence: g.confidence,
                    adjusted_qty: g.adjusted_qty,
                    tokens_prompt: g.tokens,
                    ..review()
                }),
                execution: Some(format!(
                    r#"{{"id":"o-{n}","note":{},"symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1","status":"new"}}"#,
                    serde_json::to_string(&g.label).unwrap()
                )),
                status: None,
            };
            rt.block_on(trail::record_trail(
                &mut client.borrow_mut(),
                &stmts,
                &input,
                &policy(),
            ))
                .map_err(|e| TestCaseError::fail(format!("{e}")))?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        triggers_restored(&admin, saved).await;
        let r = torghut_audit::verify(&mut admin).await.unwrap();
        assert!(r.ok, "{}", r.render());
        assert_eq!(r.rows_by_table["llm_decision_reviews"], 64);
        drop(client);
        drop(db);
    });
}
