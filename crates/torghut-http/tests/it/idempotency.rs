//! `Idempotency-Key` on every POST: same key and body, the first answer again; another body, 422;
//! a malformed key, 400; without the header, nothing changes.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::support::*;

async fn post_keyed(app: &axum::Router, path: &str, key: &str, body: &str) -> Answer {
    send(
        app,
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}

async fn count(db: &torghut_testdb::TestDb, table: &str) -> i64 {
    db.connect()
        .await
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_retried_post_with_its_key_is_answered_as_the_first_time() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let strategy_body = r#"{"name":"k","base_timeframe":"1Min","universe_type":"static"}"#;
    let first = post_keyed(&app, "/v1/strategies", "k-1", strategy_body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let again = post_keyed(&app, "/v1/strategies", "k-1", strategy_body).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(again.text, first.text);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(count(&db, "strategies").await, 1);
    // Another body with the same key: refused, nothing written.
    let other = post_keyed(
        &app,
        "/v1/strategies",
        "k-1",
        r#"{"name":"other","base_timeframe":"1Min","universe_type":"static"}"#,
    )
    .await
    .problem(422);
    assert_eq!(other["field"], "Idempotency-Key", "{other}");
    assert_eq!(count(&db, "strategies").await, 1);
    // Without the key, a POST is a new request.
    let plain = post(&app, "/v1/strategies", strategy_body).await;
    assert_eq!(plain.status, StatusCode::CREATED);
    assert_eq!(count(&db, "strategies").await, 2);

    // Reviews and transitions: a retry adds nothing, and is answered as the first time.
    let sid = first.json()["id"].as_str().unwrap().to_owned();
    let d = post(&app, "/v1/decisions", &decision(&sid, 1, "AAPL")).await;
    let id = d.json()["id"].as_str().unwrap().to_owned();
    let review = r#"{"model":"m","prompt_version":"v1","input_json":{},"response_json":{},"verdict":"approve"}"#;
    let path = format!("/v1/decisions/{id}/reviews");
    let r1 = post_keyed(&app, &path, "r-1", review).await;
    let r2 = post_keyed(&app, &path, "r-1", review).await;
    assert_eq!(
        (r1.status, r2.text.as_str()),
        (StatusCode::CREATED, r1.text.as_str())
    );
    assert_eq!(count(&db, "llm_decision_reviews").await, 1);
    let path = format!("/v1/decisions/{id}/transitions");
    let t1 = post_keyed(&app, &path, "t-1", r#"{"to":"filled"}"#).await;
    let t2 = post_keyed(&app, &path, "t-1", r#"{"to":"filled"}"#).await;
    assert_eq!(t1.status, StatusCode::OK, "{}", t1.text);
    assert_eq!(
        (t2.status, t2.text.as_str()),
        (StatusCode::OK, t1.text.as_str())
    );
    assert_eq!(count(&db, "decision_events").await, 1);
    // A problem is an answer too: kept and replayed.
    let bad = r#"{"to":"planned"}"#;
    let b1 = post_keyed(&app, &path, "t-2", bad).await;
    let b2 = post_keyed(&app, &path, "t-2", bad).await;
    assert_eq!(b1.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", b1.text);
    assert_eq!((b2.status, b2.text.as_str()), (b1.status, b1.text.as_str()));
    assert_eq!(b2.content_type(), "application/problem+json");

    // Keys are per route: the same key elsewhere is another request.
    let elsewhere = post_keyed(&app, "/v1/strategies", "t-1", strategy_body).await;
    assert_eq!(elsewhere.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_malformed_key_is_refused() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let body = r#"{"name":"k","base_timeframe":"1Min","universe_type":"static"}"#;
    for key in ["", "has space", &"x".repeat(256), "caf\u{e9}"] {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/v1/strategies")
            .header("content-type", "application/json")
            .header("idempotency-key", key.as_bytes())
            .body(Body::from(body))
            .unwrap();
        let p = send(&app, req).await.problem(400);
        assert_eq!(p["field"], "Idempotency-Key", "{key:?}: {p}");
    }
    // A structured-field string's quotes are not part of the key.
    let a = post_keyed(&app, "/v1/strategies", "\"q-1\"", body).await;
    let b = post_keyed(&app, "/v1/strategies", "q-1", body).await;
    assert_eq!(b.text, a.text);
    assert_eq!(count(&db, "strategies").await, 1);
}
