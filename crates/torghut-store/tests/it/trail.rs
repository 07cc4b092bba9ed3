use std::sync::Arc;

use torghut_store::decision::{self, DecisionError};
use torghut_store::execution;
use torghut_store::review::ReviewError;
use torghut_store::trail::{self, record_trail, record_trail_in_tx, TrailError, TrailInput};
use torghut_store::InputError;

use crate::support::{count, db, decision as decision_text, order, policy, review, strategy};

fn input(sid: uuid::Uuid, n: u64, order_id: Option<&str>) -> TrailInput {
    let text = decision_text(sid, n);
    let hash = torghut_hash::decision_hash_from_json(&text).unwrap();
    TrailInput {
        strategy_id: sid,
        account_label: "paper".into(),
        decision_json_text: text,
        review: Some(review()),
        execution: order_id.map(|id| order(Some(id), Some(&hash), "\"0\"", "accepted")),
        status: Some("submitted".into()),
    }
}

#[tokio::test]
async fn record_trail_writes_everything_and_the_trail_reads_it_back() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let p = policy();
    let ids = record_trail(&mut c, &input(sid, 1, Some("o-1")), &p)
        .await
        .unwrap();
    assert!(ids.created);
    assert_eq!(ids.status, "submitted");

    let t = trail::get(&c, ids.decision_id).await.unwrap().unwrap();
    assert_eq!(t.decision.id, ids.decision_id);
    assert_eq!(t.decision.status, "submitted");
    assert_eq!(t.decision.decision_json["qty"], "1.50");
    assert_eq!(
        t.decision.decision_hash.as_deref(),
        Some(ids.decision_hash.as_str())
    );
    // Created planned, then moved to its status: one event recorded by the database.
    assert_eq!(t.events.len(), 1);
    assert_eq!(t.events[0].kind, "status");
    assert_eq!(t.events[0].payload["changes"]["status"]["from"], "planned");
    assert_eq!(t.events[0].payload["changes"]["status"]["to"], "submitted");
    assert_eq!(t.reviews.len(), 1);
    assert_eq!(Some(t.reviews[0].id), ids.review_id);
    assert_eq!(t.executions.len(), 1);
    assert_eq!(Some(t.executions[0].id), ids.execution_id);
    assert_eq!(t.executions[0].trade_decision_id, Some(ids.decision_id));
    assert_eq!(t.executions[0].alpaca_order_id, "o-1");
    assert!(t.execution_events.is_empty());
    assert_eq!(t.executions[0].raw_order.as_ref().unwrap()["id"], "o-1");

    // The same trail again: the decision exists, the general path adds to it.
    let mut next = input(sid, 1, Some("o-1"));
    next.execution = Some(order(
        Some("o-1"),
        Some(&ids.decision_hash),
        "1.5",
        "filled",
    ));
    next.status = Some("filled".into());
    let again = record_trail(&mut c, &next, &p).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.decision_id, ids.decision_id);
    assert_eq!(again.execution_id, ids.execution_id);
    assert_eq!(again.status, "filled");
    let t = trail::get(&c, ids.decision_id).await.unwrap().unwrap();
    assert_eq!(t.events.len(), 2);
    assert_eq!(
        t.events[1].payload["changes"]["status"],
        serde_json::json!({"from": "submitted", "to": "filled"})
    );
    assert_eq!(t.execution_events.len(), 1);
    assert_eq!(
        t.execution_events[0].payload["changes"]["raw_order"]["to"]["status"],
        "filled"
    );
    assert_eq!(t.reviews.len(), 2);
    assert_eq!(t.executions.len(), 1);
    assert_eq!(t.executions[0].filled_qty.to_string(), "1.50000000");
    assert!(t.decision.executed_at.is_some());

    // Without review, execution or status.
    let bare = TrailInput {
        review: None,
        execution: None,
        status: None,
        ..input(sid, 2, None)
    };
    let ids = record_trail(&mut c, &bare, &p).await.unwrap();
    assert_eq!(ids.status, "planned");
    let t = trail::get(&c, ids.decision_id).await.unwrap().unwrap();
    assert!(t.events.is_empty() && t.reviews.is_empty() && t.executions.is_empty());
    assert!(trail::get(&c, uuid::Uuid::now_v7())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn an_order_recorded_before_its_decision_is_linked() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let p = policy();
    let inp = input(sid, 1, Some("o-7"));
    let pre = execution::upsert(&mut c, inp.execution.as_deref().unwrap(), &p)
        .await
        .unwrap();
    assert_eq!(pre.trade_decision_id, None);
    let ids = record_trail(&mut c, &inp, &p).await.unwrap();
    assert!(ids.created);
    assert_eq!(ids.execution_id, Some(pre.id));
    let t = trail::get(&c, ids.decision_id).await.unwrap().unwrap();
    assert_eq!(t.executions.len(), 1);
    assert_eq!(t.executions[0].trade_decision_id, Some(ids.decision_id));
    // Created by the first upsert; the trail's payload is its first event.
    assert_eq!(t.execution_events.len(), 1);
}

#[tokio::test]
async fn an_order_recorded_before_its_decision_is_linked_in_the_callers_transaction() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let p = policy();
    let inp = input(sid, 2, Some("o-8"));
    let pre = execution::upsert(&mut c, inp.execution.as_deref().unwrap(), &p)
        .await
        .unwrap();
    let tx = c.transaction().await.unwrap();
    let ids = record_trail_in_tx(&tx, &inp, &p).await.unwrap();
    // The caller's transaction is still usable: the guarded statement did not fail.
    tx.batch_execute("SELECT 1").await.unwrap();
    tx.commit().await.unwrap();
    assert!(ids.created);
    assert_eq!(ids.execution_id, Some(pre.id));
    assert_eq!(count(&c, "executions").await, 1);
    assert_eq!(count(&c, "trade_decisions").await, 1);
}

#[tokio::test]
async fn a_rolled_back_transaction_retried_leaves_one_decision() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let p = policy();
    let inp = input(sid, 1, Some("o-1"));
    {
        let tx = c.transaction().await.unwrap();
        let ids = record_trail_in_tx(&tx, &inp, &p).await.unwrap();
        assert!(ids.created);
        // Something else in the caller's transaction fails.
        assert!(tx.batch_execute("SELECT 1/0").await.is_err());
        tx.rollback().await.unwrap();
    }
    assert_eq!(count(&c, "trade_decisions").await, 0);
    let tx = c.transaction().await.unwrap();
    let ids = record_trail_in_tx(&tx, &inp, &p).await.unwrap();
    tx.commit().await.unwrap();
    assert!(ids.created);
    for table in ["trade_decisions", "llm_decision_reviews", "executions"] {
        assert_eq!(count(&c, table).await, 1, "{table}");
    }
    // The decision's move to its status is its one event; the execution was created as is.
    assert_eq!(count(&c, "decision_events").await, 1);
    assert_eq!(count(&c, "execution_events").await, 0);
    // A retry after the commit (the caller did not learn of it) adds no decision.
    let again = record_trail(&mut c, &inp, &p).await.unwrap();
    assert_eq!(again.decision_id, ids.decision_id);
    assert_eq!(count(&c, "trade_decisions").await, 1);
    assert_eq!(count(&c, "executions").await, 1);
}

#[tokio::test]
async fn concurrent_trails_of_one_decision_make_one_decision() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let inp = Arc::new(input(sid, 3, Some("o-3")));
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let mut handles = Vec::new();
    for _ in 0..8 {
        let (db, inp, barrier) = (db.clone(), inp.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            let mut c = db.connect().await;
            barrier.wait().await;
            // A lost race on a unique key is retryable: retry as a caller would.
            loop {
                match record_trail(&mut c, &inp, &policy()).await {
                    Ok(ids) => return ids,
                    Err(e) if e.is_retryable() => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    assert!(ids.iter().all(|i| i.decision_id == ids[0].decision_id));
    assert_eq!(ids.iter().filter(|i| i.created).count(), 1);
    assert_eq!(count(&c, "trade_decisions").await, 1);
    assert_eq!(count(&c, "executions").await, 1);
    assert_eq!(count(&c, "llm_decision_reviews").await, 8);
    // The same payload and the same status again change nothing: the decision's one status
    // change is its one event, and the execution has none.
    assert_eq!(count(&c, "execution_events").await, 0);
    let events = decision::events(&c, ids[0].decision_id).await.unwrap();
    let seqs: Vec<i32> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1]);
}

#[tokio::test]
async fn bad_trails_are_refused_before_anything_is_written() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let p = policy();

    let mut bad = input(sid, 1, Some("o-1"));
    bad.review.as_mut().unwrap().input_json = r#"{"prompt":"a\u0000b"}"#.into();
    match record_trail(&mut c, &bad, &p).await.unwrap_err() {
        TrailError::Review(ReviewError::Input(InputError::Json { field, source, .. })) => {
            assert_eq!(field, "input_json");
            assert_eq!(source.path, "$.prompt");
        }
        other => panic!("{other:?}"),
    }
    let mut bad = input(sid, 1, Some("o-1"));
    bad.execution = Some(
        bad.execution
            .unwrap()
            .replace(r#""qty":"1.5""#, r#""qty":NaN"#),
    );
    let err = record_trail(&mut c, &bad, &p).await.unwrap_err();
    assert_eq!(err.field(), Some("raw_order"), "{err}");
    let mut bad = input(sid, 1, None);
    bad.review.as_mut().unwrap().confidence = Some("1.5".parse().unwrap());
    assert_eq!(
        record_trail(&mut c, &bad, &p).await.unwrap_err().field(),
        Some("confidence")
    );
    let mut bad = input(sid, 1, None);
    bad.status = Some("Not A Status".into());
    let err = record_trail(&mut c, &bad, &p).await.unwrap_err();
    assert_eq!(err.field(), Some("status"));
    // The trail's own members are refused as the trail's, named as the decision's fields.
    assert!(
        matches!(err, TrailError::Input(InputError::Member { .. })),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "decision field \"status\": a status is lower-case letters, digits and '_'"
    );
    let mut bad = input(sid, 1, None);
    bad.account_label = String::new();
    let err = record_trail(&mut c, &bad, &p).await.unwrap_err();
    assert!(
        matches!(&err, TrailError::Input(e) if e.field() == "account_label"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "decision field \"account_label\": must not be empty"
    );
    let mut bad = input(sid, 1, None);
    bad.strategy_id = uuid::Uuid::now_v7();
    assert_eq!(
        record_trail(&mut c, &bad, &p).await.unwrap_err().field(),
        Some("strategy_id")
    );
    let unknown = uuid::Uuid::now_v7();
    let err = record_trail(&mut c, &input(unknown, 1, Some("o-1")), &p)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrailError::Decision(DecisionError::UnknownStrategy { .. })
        ),
        "{err:?}"
    );
    for table in [
        "trade_decisions",
        "llm_decision_reviews",
        "executions",
        "decision_events",
    ] {
        assert_eq!(count(&c, table).await, 0, "{table}");
    }
}
