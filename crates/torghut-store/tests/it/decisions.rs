use std::sync::Arc;

use torghut_json::JsonErrorReason;
use torghut_store::decision::{self, DecisionError, Transition};
use torghut_store::InputError;

use crate::support::{
    count, db, decision as decision_text, policy, strategy, with_decision, WithDecision,
};

#[tokio::test]
async fn ensure_inserts_once_and_normalises_decision_json() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let text = decision_text(sid, 1);
    let first = decision::ensure(&mut c, "paper", &text, &policy())
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(first.status, "planned");
    assert_eq!(
        first.decision_hash,
        torghut_hash::decision_hash_from_json(&text).unwrap()
    );
    let again = decision::ensure(&mut c, "paper", &text, &policy())
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.id, first.id);
    assert_eq!(count(&c, "trade_decisions").await, 1);

    let d = decision::get(&c, first.id).await.unwrap().unwrap();
    assert_eq!(d.strategy_id, sid);
    assert_eq!(d.symbol, "AAPL");
    assert_eq!(d.timeframe, "1Min");
    assert_eq!(d.account_label, "paper");
    assert_eq!(d.rationale.as_deref(), Some("macd cross"));
    assert_eq!(
        d.decision_hash.as_deref(),
        Some(first.decision_hash.as_str())
    );
    let j = &d.decision_json;
    assert_eq!(j["qty"], "1.50");
    assert_eq!(j["limit_price"], "187.5");
    assert_eq!(j["stop_price"], serde_json::Value::Null);
    assert_eq!(j["order_type"], "market");
    assert_eq!(j["time_in_force"], "day");
    assert_eq!(j["event_ts"], "2026-02-10T14:30:00.250000+05:30");
    assert_eq!(j["source"], "test");
    assert_eq!(j["rationale"], "macd cross");
    assert_eq!(j["params"]["i"], 1);
    // Re-hashing the stored decision gives the stored hash.
    let stored: String = c
        .query_one(
            "SELECT decision_json::text FROM trade_decisions WHERE id = $1",
            &[&first.id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(stored.contains("123456789012345678901234567890"));
    assert_eq!(
        torghut_hash::decision_hash_from_json(&stored).unwrap(),
        first.decision_hash
    );
}

#[tokio::test]
async fn sixteen_tasks_racing_on_one_decision_make_one_row() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let text = Arc::new(decision_text(sid, 7));
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let mut handles = Vec::new();
    for _ in 0..16 {
        let (db, text, barrier) = (db.clone(), text.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            let mut c = db.connect().await;
            barrier.wait().await;
            decision::ensure(&mut c, "paper", &text, &policy())
                .await
                .unwrap()
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let id = results[0].id;
    assert!(results.iter().all(|r| r.id == id));
    assert_eq!(results.iter().filter(|r| r.created).count(), 1);
    assert_eq!(count(&c, "trade_decisions").await, 1);
}

#[tokio::test]
async fn bad_decisions_name_the_field_and_write_nothing() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let p = policy();

    let unknown = uuid::Uuid::now_v7();
    let err = decision::ensure(&mut c, "paper", &decision_text(unknown, 1), &p)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DecisionError::UnknownStrategy { strategy_id } if strategy_id == unknown),
        "{err:?}"
    );
    assert_eq!(err.field(), Some("strategy_id"));

    let bad_qty = decision_text(sid, 1).replace(r#""qty":"1.50""#, r#""qty":"abc""#);
    let err = decision::ensure(&mut c, "paper", &bad_qty, &p)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("qty"), "{err}");

    let not_uuid = decision_text(sid, 1).replace(&sid.to_string(), "s1");
    let err = decision::ensure(&mut c, "paper", &not_uuid, &p)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("strategy_id"), "{err}");

    let long_symbol = decision_text(sid, 1).replace("\"AAPL\"", "\"AAPLAAPLAAPLAAPLX\"");
    let err = decision::ensure(&mut c, "paper", &long_symbol, &p)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("symbol"), "{err}");

    let err = decision::ensure(&mut c, &"a".repeat(65), &decision_text(sid, 1), &p)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("account_label"), "{err}");
    assert_eq!(
        err.to_string(),
        "decision field \"account_label\": 65 characters, at most 64 allowed"
    );

    // NUL and NaN: refused by the JSON boundary with the path.
    let nul = decision_text(sid, 1).replace(r#""signal":"macd""#, r#""signal":"ma\u0000cd""#);
    match decision::ensure(&mut c, "paper", &nul, &p)
        .await
        .unwrap_err()
    {
        DecisionError::Input(InputError::Json {
            field,
            source,
            whole_document,
            ..
        }) => {
            assert_eq!(field, "decision_json");
            assert!(whole_document);
            assert_eq!(source.path, "$.params.signal");
            assert_eq!(source.reason, JsonErrorReason::NulCharacter);
        }
        other => panic!("{other:?}"),
    }
    let nan = decision_text(sid, 1).replace(r#""threshold":1.5"#, r#""threshold":NaN"#);
    match decision::ensure(&mut c, "paper", &nan, &p)
        .await
        .unwrap_err()
    {
        DecisionError::Input(InputError::Json { source, .. }) => {
            assert_eq!(source.path, "$.params.threshold")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&c, "trade_decisions").await, 0);
}

#[tokio::test]
async fn transitions_append_events_and_stop_at_terminal_statuses() {
    let WithDecision {
        db: _db,
        mut c,
        sid,
        p,
        d,
    } = with_decision().await;
    let before = decision::get(&c, d.id).await.unwrap().unwrap();

    let t1 = decision::transition(&mut c, d.id, &Transition::to("submitted"), &p)
        .await
        .unwrap();
    assert_eq!(
        (t1.from.as_str(), t1.to.as_str(), t1.seq),
        ("planned", "submitted", Some(1))
    );
    let t2 = decision::transition(
        &mut c,
        d.id,
        &Transition {
            to: "filled".into(),
            reason_codes: vec!["broker_fill".into()],
            detail: Some(r#"{"filled_qty":"1.5"}"#.into()),
        },
        &p,
    )
    .await
    .unwrap();
    assert_eq!(t2.seq, Some(2));
    let after = decision::get(&c, d.id).await.unwrap().unwrap();
    assert_eq!(after.status, "filled");
    assert!(after.executed_at.is_some());
    assert_eq!(after.decision_json, before.decision_json);

    let err = decision::transition(&mut c, d.id, &Transition::to("canceled"), &p)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DecisionError::Terminal { status, to, .. } if status == "filled" && to == "canceled"),
        "{err:?}"
    );
    let events = decision::events(&c, d.id).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].kind, "status");
    assert_eq!(
        events[1].payload["changes"]["status"],
        serde_json::json!({"from": "submitted", "to": "filled"})
    );
    assert_eq!(
        events[1].payload["changes"]["executed_at"]["from"],
        serde_json::Value::Null
    );
    assert_eq!(
        events[1].payload["detail"],
        serde_json::json!({"filled_qty": "1.5"})
    );
    assert_eq!(events[1].reason_codes, ["broker_fill"]);
    // The reason codes and detail went with that change only.
    assert!(events[0].reason_codes.is_empty());
    assert!(events[0].payload.get("detail").is_none());

    // Rejected with reason codes, found through the reason-code index.
    let r = decision::ensure(&mut c, "paper", &decision_text(sid, 2), &p)
        .await
        .unwrap();
    decision::transition(
        &mut c,
        r.id,
        &Transition {
            to: "rejected".into(),
            reason_codes: vec!["risk_limit".into(), "llm_veto".into()],
            detail: None,
        },
        &p,
    )
    .await
    .unwrap();
    let found = decision::events_with_reason_code(&c, "llm_veto", 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].decision_id, r.id);

    // Bad targets are named.
    for bad in ["planned", "", "Filled", &"x".repeat(33)] {
        let err = decision::transition(&mut c, r.id, &Transition::to(bad), &p)
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("to"), "{bad}: {err}");
    }
    let missing = uuid::Uuid::now_v7();
    assert!(matches!(
        decision::transition(&mut c, missing, &Transition::to("submitted"), &p).await,
        Err(DecisionError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_transition_the_database_does_not_record_is_rolled_back() {
    let WithDecision {
        db: _db,
        mut c,
        p,
        d,
        ..
    } = with_decision().await;
    // An owner turns the capture trigger off: the change would go unaudited.
    c.batch_execute("ALTER TABLE trade_decisions DISABLE TRIGGER audit_capture")
        .await
        .unwrap();
    let err = decision::transition(&mut c, d.id, &Transition::to("submitted"), &p)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DecisionError::NotRecorded { id } if id == d.id),
        "{err:?}"
    );
    let stored = decision::get(&c, d.id).await.unwrap().unwrap();
    assert_eq!(stored.status, "planned");
    assert!(decision::events(&c, d.id).await.unwrap().is_empty());

    c.batch_execute("ALTER TABLE trade_decisions ENABLE TRIGGER audit_capture")
        .await
        .unwrap();
    let t = decision::transition(&mut c, d.id, &Transition::to("submitted"), &p)
        .await
        .unwrap();
    assert_eq!(t.seq, Some(1));
}

#[tokio::test]
async fn concurrent_transitions_get_distinct_seq() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let d = decision::ensure(&mut c, "paper", &decision_text(sid, 1), &policy())
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(12));
    let mut handles = Vec::new();
    for _ in 0..12 {
        let (db, barrier) = (db.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            let mut c = db.connect().await;
            barrier.wait().await;
            decision::transition(&mut c, d.id, &Transition::to("partially_filled"), &policy())
                .await
                .unwrap()
                .seq
        }));
    }
    let mut seqs = Vec::new();
    for h in handles {
        seqs.push(h.await.unwrap());
    }
    seqs.sort_unstable();
    // One of them changed the status; the others found it there already: no change, no event.
    let mut expected = vec![None; 11];
    expected.push(Some(1));
    assert_eq!(seqs, expected);
    let events = decision::events(&c, d.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload["changes"]["status"]["from"], "planned");
}
