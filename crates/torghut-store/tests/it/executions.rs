use torghut_store::execution::{self, ExecutionError};
use torghut_store::InputError;

use crate::support::{count, db, order, policy, with_decision, WithDecision};

#[tokio::test]
async fn upsert_links_by_client_order_id_and_never_lowers_filled_qty() {
    let WithDecision {
        db: _db,
        mut c,
        p,
        d,
        ..
    } = with_decision().await;
    let h = d.decision_hash.as_str();

    let first = execution::upsert(
        &mut c,
        &order(Some("o-1"), Some(h), "\"0\"", "accepted"),
        &p,
    )
    .await
    .unwrap();
    assert!(first.created);
    assert_eq!(first.trade_decision_id, Some(d.id));
    // The creating payload is sealed into the row, not an event.
    assert_eq!(first.event_seq, None);

    // A number, then a string; a stale update does not lower filled_qty.
    let u = execution::upsert(
        &mut c,
        &order(Some("o-1"), Some(h), "1.0", "partially_filled"),
        &p,
    )
    .await
    .unwrap();
    assert!(!u.created);
    assert_eq!(u.id, first.id);
    assert_eq!(u.filled_qty.to_string(), "1.00000000");
    let u = execution::upsert(
        &mut c,
        &order(Some("o-1"), Some(h), "\"1.5\"", "filled"),
        &p,
    )
    .await
    .unwrap();
    assert_eq!(u.status, "filled");
    let stale = order(Some("o-1"), Some(h), "\"0.5\"", "partially_filled");
    let u = execution::upsert(&mut c, &stale, &p).await.unwrap();
    assert_eq!(u.filled_qty.to_string(), "1.50000000");
    assert_eq!(u.status, "filled");
    assert_eq!(u.event_seq, Some(3));
    let e = execution::get(&c, first.id).await.unwrap().unwrap();
    assert_eq!(e.filled_qty.to_string(), "1.50000000");
    assert_eq!(e.avg_fill_price.unwrap().to_string(), "187.25000000");
    assert_eq!(e.raw_order.as_ref().unwrap()["filled_qty"], "0.5");
    let events = execution::events(&c, first.id).await.unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    // Each event says what changed; the first one keeps the creating payload as its "from".
    let raw = |i: usize| &events[i].payload["changes"]["raw_order"];
    assert_eq!(raw(0)["from"]["status"], "accepted");
    assert_eq!(raw(0)["to"]["status"], "partially_filled");
    assert_eq!(raw(2)["to"]["status"], "partially_filled");
    // The stale payload changed raw_order only.
    assert!(events[2].payload["changes"].get("filled_qty").is_none());
    // The same payload again changes nothing and records nothing.
    let again = execution::upsert(&mut c, &stale, &p).await.unwrap();
    assert_eq!(
        (again.id, again.created, again.event_seq),
        (first.id, false, None)
    );
    assert_eq!(execution::events(&c, first.id).await.unwrap().len(), 3);
    assert_eq!(count(&c, "executions").await, 1);
}

#[tokio::test]
async fn keyed_by_client_order_id_until_the_broker_id_is_known() {
    let db = db().await;
    let mut c = db.connect().await;
    let p = policy();
    let a = execution::upsert(&mut c, &order(None, Some("c-9"), "0", "pending_new"), &p)
        .await
        .unwrap();
    assert!(a.created);
    assert_eq!(a.trade_decision_id, None);
    let b = execution::upsert(&mut c, &order(None, Some("c-9"), "0", "new"), &p)
        .await
        .unwrap();
    assert_eq!(b.id, a.id);
    let cc = execution::upsert(&mut c, &order(Some("o-9"), Some("c-9"), "1", "filled"), &p)
        .await
        .unwrap();
    assert_eq!(cc.id, a.id);
    assert!(!cc.created);
    let e = execution::get_by_order_id(&c, "o-9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.id, a.id);
    assert_eq!(e.client_order_id.as_deref(), Some("c-9"));
    // The broker id replaced the provisional one (event 2), then the payload (event 3).
    assert_eq!(cc.event_seq, Some(3));
    assert_eq!(count(&c, "executions").await, 1);

    // Another broker order with the same client order id is refused, typed.
    let err = execution::upsert(&mut c, &order(Some("o-10"), Some("c-9"), "0", "new"), &p)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecutionError::ClientOrderIdTaken { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn re_keying_onto_a_taken_broker_id_is_refused_typed_and_changes_nothing() {
    let db = db().await;
    let mut c = db.connect().await;
    let p = policy();
    // A provisional row (keyed by its client order id) and another order with broker id o-1.
    let provisional = execution::upsert(&mut c, &order(None, Some("c-1"), "0", "new"), &p)
        .await
        .unwrap();
    execution::upsert(&mut c, &order(Some("o-1"), Some("c-2"), "0", "new"), &p)
        .await
        .unwrap();
    // The broker reports o-1 for c-1: re-keying the provisional row onto o-1 (the first of the
    // two statements sent together) is refused by the broker id's uniqueness, named as such.
    let err = execution::upsert(&mut c, &order(Some("o-1"), Some("c-1"), "1", "filled"), &p)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ExecutionError::AlpacaOrderIdTaken { alpaca_order_id } if alpaca_order_id == "o-1"),
        "{err:?}"
    );
    let kept = execution::get_by_order_id(&c, "c-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.id, provisional.id);
    assert_eq!(kept.status, "new");
    assert_eq!(count(&c, "executions").await, 2);
    // The connection is usable afterwards (the failed transaction was rolled back).
    let again = execution::upsert(&mut c, &order(None, Some("c-1"), "0", "accepted"), &p)
        .await
        .unwrap();
    assert_eq!(again.id, provisional.id);
}

#[tokio::test]
async fn bad_order_payloads_name_the_field() {
    let db = db().await;
    let mut c = db.connect().await;
    let p = policy();
    let good = order(Some("o-1"), Some("c-1"), "0", "new");
    let cases = [
        ("qty", good.replace(r#""qty":"1.5""#, r#""qty":"x""#)),
        ("qty", good.replace(r#""qty":"1.5""#, r#""qty":null"#)),
        (
            "filled_qty",
            good.replace(r#""filled_qty":0"#, r#""filled_qty":[1]"#),
        ),
        ("filled_avg_price", good.replace(r#""187.25""#, r#""-1""#)),
        ("symbol", good.replace(r#""symbol":"AAPL","#, "")),
        ("side", good.replace(r#""side":"buy""#, r#""side":1"#)),
        (
            "type",
            good.replace(r#""type":"market""#, r#""kind":"market""#),
        ),
        (
            "status",
            good.replace(r#""status":"new""#, r#""status":"""#),
        ),
        ("id", r#"{"symbol":"AAPL"}"#.to_owned()),
        (
            "raw_order",
            good.replace(r#""side":"buy""#, r#""side":"buy","side":"sell""#),
        ),
        ("raw_order", "[1]".to_owned()),
    ];
    for (field, text) in cases {
        let err = execution::upsert(&mut c, &text, &p).await.unwrap_err();
        assert_eq!(err.field(), Some(field), "{text}: {err}");
    }
    // The payload as a whole: refused as the whole document, not as a member of it.
    let err = execution::upsert(&mut c, "[1]", &p).await.unwrap_err();
    assert!(
        matches!(
            &err,
            ExecutionError::Input(InputError::Document {
                field: "raw_order",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "order field \"raw_order\": an order payload is a JSON object"
    );
    let dup = good.replace(r#""side":"buy""#, r#""side":"buy","side":"sell""#);
    let err = execution::upsert(&mut c, &dup, &p).await.unwrap_err();
    assert!(
        matches!(
            &err,
            ExecutionError::Input(InputError::Json {
                field: "raw_order",
                whole_document: true,
                ..
            })
        ),
        "{err:?}"
    );
    // `order_type` is accepted when `type` is absent, numbers as numbers.
    let alt = good
        .replace(r#""type":"market""#, r#""order_type":"limit""#)
        .replace(r#""qty":"1.5""#, r#""qty":2"#);
    let u = execution::upsert(&mut c, &alt, &p).await.unwrap();
    let e = execution::get(&c, u.id).await.unwrap().unwrap();
    assert_eq!(e.order_type, "limit");
    assert_eq!(e.submitted_qty.to_string(), "2.00000000");
    assert_eq!(count(&c, "executions").await, 1);
}

#[tokio::test]
async fn reconciliation_attaches_a_missing_execution() {
    let WithDecision {
        db: _db,
        mut c,
        p,
        d,
        ..
    } = with_decision().await;
    // The broker's payload as fetched by client order id (given or not in the payload).
    let u =
        execution::attach_to_decision(&mut c, d.id, &order(Some("o-5"), None, "1.5", "filled"), &p)
            .await
            .unwrap();
    assert!(u.created);
    assert_eq!(u.trade_decision_id, Some(d.id));
    let e = execution::get(&c, u.id).await.unwrap().unwrap();
    assert_eq!(e.client_order_id.as_deref(), Some(d.decision_hash.as_str()));
    // Again: the same row.
    let again = execution::attach_to_decision(
        &mut c,
        d.id,
        &order(Some("o-5"), Some(&d.decision_hash), "1.5", "filled"),
        &p,
    )
    .await
    .unwrap();
    assert_eq!(again.id, u.id);
    let err = execution::attach_to_decision(
        &mut c,
        d.id,
        &order(Some("o-5"), Some("other"), "1", "filled"),
        &p,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ExecutionError::ClientOrderIdMismatch { .. }),
        "{err:?}"
    );
    let err = execution::attach_to_decision(
        &mut c,
        uuid::Uuid::now_v7(),
        &order(Some("o-6"), None, "1", "filled"),
        &p,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ExecutionError::UnknownDecision { .. }),
        "{err:?}"
    );
}
