use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

const DECISION_COLUMNS: [&str; 11] = [
    "id",
    "strategy_id",
    "alpaca_account_label",
    "symbol",
    "timeframe",
    "decision_json",
    "rationale",
    "status",
    "decision_hash",
    "created_at",
    "executed_at",
];

/// The keys of the old service's `/trading/decisions` rows, in its order.
const OLD_DECISION_KEYS: [&str; 10] = [
    "id",
    "strategy_id",
    "symbol",
    "timeframe",
    "status",
    "rationale",
    "decision",
    "created_at",
    "executed_at",
    "alpaca_account_label",
];

/// The keys of the old service's `/trading/executions` rows, in its order.
const OLD_EXECUTION_KEYS: [&str; 13] = [
    "id",
    "trade_decision_id",
    "symbol",
    "side",
    "order_type",
    "time_in_force",
    "submitted_qty",
    "filled_qty",
    "avg_fill_price",
    "status",
    "created_at",
    "last_update_at",
    "alpaca_order_id",
];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(cols: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = cols.iter().map(|s| (*s).to_owned()).collect();
    k.sort();
    k
}

#[tokio::test]
async fn strategies_are_created_and_listed_with_decimals_as_strings() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let id = strategy(&app).await;
    let list = get(&app, "/v1/strategies").await;
    assert_eq!(list.status, StatusCode::OK);
    let v = list.json();
    let s = &v.as_array().unwrap()[0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["max_position_pct_equity"], "0.10000000");
    assert_eq!(s["max_notional_per_trade"], "1000.50000000");
    assert_eq!(s["universe_symbols"], serde_json::json!(["AAPL", "MSFT"]));
    assert_eq!(s["enabled"], true);

    let bad = post(&app, "/v1/strategies", r#"{"name":"x","base_timeframe":"1Min","universe_type":"static","max_notional_per_trade":"NaN"}"#).await;
    let p = bad.problem(422);
    assert_eq!(p["field"], "max_notional_per_trade");
    let bad = post(
        &app,
        "/v1/strategies",
        r#"{"name":"x","base_timeframe":"1Min","universe_type":"static","colour":"red"}"#,
    )
    .await;
    assert_eq!(bad.problem(422)["field"], "colour");
    let bad = post(&app, "/v1/strategies", r#"{"name":"x","base_timeframe":"1Min","universe_type":"static","max_notional_per_trade":"1e30"}"#).await;
    assert_eq!(bad.problem(422)["field"], "max_notional_per_trade");
    let bad = post(
        &app,
        "/v1/strategies",
        r#"{"base_timeframe":"1Min","universe_type":"static"}"#,
    )
    .await;
    assert_eq!(bad.problem(422)["field"], "name");
    let bad = post(&app, "/v1/strategies", r#"{"name":"x","base_timeframe":"1Min","universe_type":"static","universe_symbols":{"deep":"a\u0000b"}}"#).await;
    let p = bad.problem(422);
    assert_eq!(p["pointer"], "$.universe_symbols.deep");
    assert_eq!(p["reason"], "nul_character");
}

#[tokio::test]
async fn decisions_are_idempotent_by_hash_and_hash_as_the_old_service() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let body = decision(&sid, 1, "AAPL");
    let first = post(&app, "/v1/decisions", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let v = first.json();
    assert_eq!(v["created"], true);
    assert_eq!(v["status"], "planned");
    let expected = torghut_hash::decision_hash_from_json(&decision_text(&sid, 1, "AAPL")).unwrap();
    assert_eq!(v["decision_hash"], expected.as_str());
    let again = post(&app, "/v1/decisions", &body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json()["id"], v["id"]);
    assert_eq!(again.json()["created"], false);

    // The same decision from 8 concurrent requests: one row, one id.
    let body = decision(&sid, 2, "AAPL");
    let answers = futures_join(&app, &body, 8).await;
    let created = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "exactly one request records the decision");
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| a.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    let n: i64 = db
        .connect()
        .await
        .query_one("SELECT count(*) FROM trade_decisions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);

    // The stored decision_json keeps the decision (not the account) and hashes to the same.
    let trail = get(
        &app,
        &format!("/v1/decisions/{}", v["id"].as_str().unwrap()),
    )
    .await;
    let t = trail.json();
    assert!(t["decision"]["decision_json"]
        .get("account_label")
        .is_none());
    assert_eq!(t["decision"]["alpaca_account_label"], "paper");

    let unknown = post(
        &app,
        "/v1/decisions",
        &decision("0190b9a0-0000-7000-8000-000000000001", 1, "AAPL"),
    )
    .await;
    let unknown = unknown.problem(404);
    assert_eq!(unknown["field"], "strategy_id");
    assert_eq!(unknown["type"], "urn:torghut:problem:unknown-strategy");
    let no_account = post(&app, "/v1/decisions", &decision_text(&sid, 3, "AAPL")).await;
    assert_eq!(no_account.problem(422)["field"], "account_label");
    let bad_qty = post(
        &app,
        "/v1/decisions",
        &decision(&sid, 4, "AAPL").replace(r#""qty":"1.50""#, r#""qty":"NaN""#),
    )
    .await;
    assert_eq!(bad_qty.problem(422)["field"], "qty");
    let bad_action = post(
        &app,
        "/v1/decisions",
        &decision(&sid, 4, "AAPL").replace(r#""action":"buy""#, r#""action":7"#),
    )
    .await;
    assert_eq!(bad_action.problem(422)["field"], "action");
}

async fn futures_join(app: &axum::Router, body: &str, n: usize) -> Vec<Answer> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let app = app.clone();
        let body = body.to_owned();
        tasks.push(tokio::spawn(async move {
            post(&app, "/v1/decisions", &body).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn trading_decisions_is_compatible_newest_first_filtered_and_bounded() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let mut ids = Vec::new();
    for (i, sym) in ["AAPL", "MSFT", "AAPL"].iter().enumerate() {
        let a = post(&app, "/v1/decisions", &decision(&sid, i as u64, sym)).await;
        assert_eq!(a.status, StatusCode::CREATED);
        ids.push(a.json()["id"].as_str().unwrap().to_owned());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let all = get(&app, "/trading/decisions").await;
    assert_eq!(all.status, StatusCode::OK);
    let v = all.json();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    // The old service's keys, in its order.
    assert_eq!(
        rows[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        OLD_DECISION_KEYS
    );
    let got: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        got,
        vec![ids[2].as_str(), ids[1].as_str(), ids[0].as_str()],
        "newest first"
    );
    // `decision` is decision_json as the old service wrote it: strings as they are, integers
    // with every digit, other numbers as floats.
    let d = &rows[0]["decision"];
    assert_eq!(d["qty"], "1.50");
    assert_eq!(d["limit_price"], "187.5");
    assert_eq!(d["params"]["f"], 1.1);
    assert!(
        all.text
            .contains(r#""big":123456789012345678901234567890,"#),
        "{}",
        all.text
    );
    let trail = get(&app, &format!("/v1/decisions/{}", ids[2])).await.json();
    assert_eq!(trail["decision"]["decision_json"]["qty"], d["qty"]);

    let aapl = get(&app, "/trading/decisions?symbol=AAPL&limit=1")
        .await
        .json();
    assert_eq!(aapl.as_array().unwrap().len(), 1);
    assert_eq!(aapl[0]["id"], ids[2].as_str());
    let future = get(&app, "/trading/decisions?since=2999-01-01T00:00:00Z")
        .await
        .json();
    assert_eq!(future.as_array().unwrap().len(), 0);
    let past = get(
        &app,
        "/trading/decisions?since=2000-01-01T00:00:00%2B02:00&limit=500",
    )
    .await
    .json();
    assert_eq!(past.as_array().unwrap().len(), 3);

    for q in [
        "limit=0",
        "limit=501",
        "limit=abc",
        "limit=-1",
        "limit=1e2",
        "limit=",
    ] {
        let a = get(&app, &format!("/trading/decisions?{q}")).await;
        assert_eq!(a.problem(422)["field"], "limit", "{q}");
    }
    for q in ["since=yesterday", "since=2026-02-30", "since=%FF"] {
        let a = get(&app, &format!("/trading/decisions?{q}")).await;
        assert_eq!(a.problem(422)["field"], "since", "{q}");
    }
    let a = get(&app, "/trading/decisions?symbol=%00").await;
    assert_eq!(a.problem(422)["field"], "symbol");
    // A number beyond f64 is the old service's float on the way out; the row keeps every digit.
    let big = decision(&sid, 99, "AAPL").replace(
        r#""params":{"#,
        r#""params":{"huge":123456789012345678901234567890.000000000000000000001,"#,
    );
    assert!(big.contains("\"huge\""), "{big}");
    let created = post(&app, "/v1/decisions", &big).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let newest = get(&app, "/trading/decisions?limit=1").await;
    assert!(
        newest.text.contains(r#""huge":1.2345678901234568e+29"#),
        "{}",
        newest.text
    );
    let id: uuid::Uuid = created.json()["id"].as_str().unwrap().parse().unwrap();
    let stored: String = db
        .connect()
        .await
        .query_one(
            "SELECT decision_json->'params'->>'huge' FROM trade_decisions WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stored,
        "123456789012345678901234567890.000000000000000000001"
    );
}

#[tokio::test]
async fn the_trail_of_a_decision_and_its_writes() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let d = post(&app, "/v1/decisions", &decision(&sid, 1, "AAPL"))
        .await
        .json();
    let id = d["id"].as_str().unwrap();
    let hash = d["decision_hash"].as_str().unwrap();

    let r = post(&app, &format!("/v1/decisions/{id}/reviews"), r#"{"model":"gpt-x","prompt_version":"v1","input_json":{"decision":{"symbol":"AAPL"}},"response_json":{"verdict":"approve","api_key":"sk-1"},"verdict":"approve","confidence":0.9,"risk_flags":["none"],"tokens_prompt":100,"tokens_completion":20}"#).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let t = post(
        &app,
        &format!("/v1/decisions/{id}/transitions"),
        r#"{"to":"submitted","reason_codes":["risk_ok"],"detail":{"broker":"alpaca"}}"#,
    )
    .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    assert_eq!(t.json()["seq"], 1);
    let order = format!(
        r#"{{"id":"ord-1","client_order_id":"{hash}","symbol":"AAPL","side":"buy","type":"limit","time_in_force":"day","qty":"1.5","filled_qty":"0","status":"accepted"}}"#
    );
    let x = post(&app, "/v1/executions", &order).await;
    assert_eq!(x.status, StatusCode::CREATED, "{}", x.text);
    assert_eq!(x.json()["trade_decision_id"], id);
    let filled = order.replace(
        r#""filled_qty":"0","status":"accepted""#,
        r#""filled_qty":"1.5","filled_avg_price":187.25,"status":"filled""#,
    );
    let x2 = post(&app, "/v1/executions", &filled).await;
    assert_eq!(x2.status, StatusCode::OK, "{}", x2.text);
    assert_eq!(x2.json()["id"], x.json()["id"]);
    assert_eq!(x2.json()["filled_qty"], "1.50000000");
    // The same order with another side: an order's side never changes (a store rule, 409).
    let flipped = filled.replace(r#""side":"buy""#, r#""side":"sell""#);
    let p = post(&app, "/v1/executions", &flipped).await.problem(409);
    assert!(
        p["type"].as_str().unwrap().contains("order-conflict"),
        "{p}"
    );
    assert_eq!(p["field"], "side", "{p}");
    let t2 = post(
        &app,
        &format!("/v1/decisions/{id}/transitions"),
        r#"{"to":"filled"}"#,
    )
    .await;
    assert_eq!(t2.status, StatusCode::OK);
    let t3 = post(
        &app,
        &format!("/v1/decisions/{id}/transitions"),
        r#"{"to":"canceled"}"#,
    )
    .await;
    t3.problem(409);

    let trail = get(&app, &format!("/v1/decisions/{id}")).await;
    assert_eq!(trail.status, StatusCode::OK);
    let v = trail.json();
    assert_eq!(
        keys(&v),
        vec!["decision", "events", "executions", "reviews"]
    );
    // Created planned (POST /v1/decisions), then two transitions, each an event with its
    // values before and after.
    assert_eq!(
        v["events"][0]["payload"]["changes"]["status"]["from"],
        "planned"
    );
    assert_eq!(keys(&v["decision"]), sorted(&DECISION_COLUMNS));
    assert_eq!(v["decision"]["status"], "filled");
    assert_eq!(v["events"].as_array().unwrap().len(), 2);
    assert_eq!(v["reviews"][0]["response_json"]["api_key"], "[REDACTED]");
    assert_eq!(v["reviews"][0]["confidence"], "0.9000");
    assert_eq!(v["executions"][0]["avg_fill_price"], "187.25000000");
    // The first payload created the execution and is sealed into its row; the second is event 1,
    // which keeps the first as its "from".
    assert_eq!(v["executions"][0]["events"].as_array().unwrap().len(), 1);
    let raw = &v["executions"][0]["events"][0]["payload"]["changes"]["raw_order"];
    assert_eq!(raw["from"]["status"], "accepted");
    assert_eq!(raw["to"]["status"], "filled");

    let ex = get(&app, "/trading/executions?symbol=AAPL").await;
    let v = ex.json();
    assert_eq!(
        v[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        OLD_EXECUTION_KEYS
    );
    // Decimals as the old service's floats: 1.50000000 is 1.5, 187.25000000 is 187.25.
    assert!(
        ex.text.contains(
            r#""submitted_qty":1.5,"filled_qty":1.5,"avg_fill_price":187.25,"status":"filled""#
        ),
        "{}",
        ex.text
    );

    // Unknown and malformed ids.
    let unknown = "0190b9a0-0000-7000-8000-0000000000ff";
    get(&app, &format!("/v1/decisions/{unknown}"))
        .await
        .problem(404);
    get(&app, "/v1/decisions/not-a-uuid").await.problem(404);
    get(&app, "/v1/decisions/%FF%FE").await.problem(400);
    post(&app, &format!("/v1/decisions/{unknown}/reviews"), r#"{"model":"m","prompt_version":"v1","input_json":{},"response_json":{},"verdict":"approve"}"#).await.problem(404);
    post(
        &app,
        &format!("/v1/decisions/{unknown}/transitions"),
        r#"{"to":"submitted"}"#,
    )
    .await
    .problem(404);
    post(&app, "/v1/decisions/x/transitions", r#"{"to":"submitted"}"#)
        .await
        .problem(404);
    let p = post(&app, &format!("/v1/decisions/{id}/reviews"), r#"{"model":"m","prompt_version":"v1","input_json":{},"response_json":{},"verdict":"maybe"}"#).await.problem(422);
    assert_eq!(p["field"], "verdict");
    let p = post(
        &app,
        &format!("/v1/decisions/{id}/transitions"),
        r#"{"to":"planned"}"#,
    )
    .await
    .problem(422);
    assert_eq!(p["field"], "to");
    let p = post(&app, "/v1/executions", r#"{"id":"o2","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"-1","status":"new"}"#).await.problem(422);
    assert_eq!(p["field"], "qty");
}

/// `POST /v1/trails`: a step of the loop in one request and one transaction; a bad part is
/// refused by its JSONPath before anything is written; a part the database refuses rolls the
/// whole trail back.
#[tokio::test]
async fn trails_record_a_step_in_one_transaction() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let trail = |status: &str, confidence: &str, order: &str| {
        format!(
            r#"{{"account_label":"paper","decision":{},"review":{{"model":"gpt","prompt_version":"v1","input_json":{{"rsi":61.5}},"response_json":{{"ok":true}},"verdict":"approve","confidence":"{confidence}"}},"order":{{"id":"{order}","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1.5","status":"accepted"}},"status":"{status}"}}"#,
            decision_text(&sid, 91, "AAPL")
        )
    };
    let first = post(&app, "/v1/trails", &trail("submitted", "0.9", "trail-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let ids = first.json();
    assert_eq!(ids["status"], "submitted");
    assert_eq!(ids["created"], true);
    let id = ids["decision_id"].as_str().unwrap().to_owned();
    // The same decision over POST /v1/decisions is the same row.
    let again = post(&app, "/v1/decisions", &decision(&sid, 91, "AAPL")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json()["id"], id.as_str());
    let t = get(&app, &format!("/v1/decisions/{id}")).await.json();
    assert_eq!(t["reviews"].as_array().unwrap().len(), 1, "{t}");
    assert_eq!(t["executions"][0]["alpaca_order_id"], "trail-1", "{t}");
    assert_eq!(t["executions"][0]["trade_decision_id"], id.as_str(), "{t}");
    assert_eq!(t["decision"]["status"], "submitted", "{t}");

    // A bad part: named by its path, nothing written.
    let bad = post(&app, "/v1/trails", &trail("filled", "1.5", "trail-2")).await;
    let p = bad.problem(422);
    assert_eq!(p["pointer"], "$.review.confidence", "{p}");
    assert_eq!(p["field"], "review.confidence", "{p}");
    let bad_order = post(
        &app,
        "/v1/trails",
        &trail("filled", "0.9", "trail-2")
            .replace(r#""qty":"1.5","status""#, r#""qty":"x","status""#),
    )
    .await;
    assert_eq!(bad_order.problem(422)["pointer"], "$.order.qty");
    let bad_decision = post(
        &app,
        "/v1/trails",
        &trail("filled", "0.9", "trail-2").replace(r#""action":"buy""#, r#""action":"hold""#),
    )
    .await;
    assert_eq!(bad_decision.problem(422)["pointer"], "$.decision.action");
    // The trail's own members (its status, its account label) are named at the top.
    let bad_status = post(&app, "/v1/trails", &trail("Filled", "0.9", "trail-2")).await;
    let p = bad_status.problem(422);
    assert_eq!(p["type"], "urn:torghut:problem:invalid-field", "{p}");
    assert_eq!(p["field"], "status", "{p}");
    assert_eq!(p["pointer"], "$.status", "{p}");
    assert_eq!(
        p["detail"], "status: a status is lower-case letters, digits and '_'",
        "{p}"
    );
    let long_account = format!(r#""account_label":"{}""#, "a".repeat(65));
    let bad_account = post(
        &app,
        "/v1/trails",
        &trail("filled", "0.9", "trail-2").replace(r#""account_label":"paper""#, &long_account),
    )
    .await;
    let p = bad_account.problem(422);
    assert_eq!(p["field"], "account_label", "{p}");
    assert_eq!(p["pointer"], "$.account_label", "{p}");
    assert_eq!(
        p["detail"], "account_label: 65 characters, at most 64 allowed",
        "{p}"
    );
    let t = get(&app, &format!("/v1/decisions/{id}")).await.json();
    assert_eq!(t["reviews"].as_array().unwrap().len(), 1, "{t}");
    assert_eq!(t["executions"].as_array().unwrap().len(), 1, "{t}");

    // To a terminal status, then a trail the database refuses (409): rolled back whole.
    let filled = post(&app, "/v1/trails", &trail("filled", "0.8", "trail-1")).await;
    assert_eq!(filled.status, StatusCode::OK, "{}", filled.text);
    assert_eq!(filled.json()["status"], "filled");
    let refused = post(&app, "/v1/trails", &trail("canceled", "0.7", "trail-3")).await;
    refused.problem(409);
    let t = get(&app, &format!("/v1/decisions/{id}")).await.json();
    assert_eq!(t["reviews"].as_array().unwrap().len(), 2, "{t}");
    assert_eq!(t["executions"].as_array().unwrap().len(), 1, "{t}");
    assert_eq!(t["decision"]["status"], "filled", "{t}");

    // An unknown strategy is 404 under the decision.
    let unknown = post(
        &app,
        "/v1/trails",
        &trail("submitted", "0.9", "trail-4").replace(&sid, "0190b9a0-0000-7000-8000-000000000009"),
    )
    .await;
    assert_eq!(unknown.problem(404)["pointer"], "$.decision.strategy_id");
}

#[tokio::test]
async fn cursors_only_move_forward() {
    let db = db().await;
    let (_, app) = app(&db).await;
    get(&app, "/v1/cursors/alpaca").await.problem(404);
    let put = |body: &'static str| {
        let app = app.clone();
        async move { call(&app, Method::PUT, "/v1/cursors/alpaca", body).await }
    };
    let a =
        put(r#"{"cursor_at":"2026-02-10T14:30:00Z","cursor_seq":5,"cursor_symbol":"AAPL"}"#).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json()["result"], "created");
    let a =
        put(r#"{"cursor_at":"2026-02-10T14:30:00Z","cursor_seq":5,"cursor_symbol":"AAPL"}"#).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["result"], "unchanged");
    put(r#"{"cursor_at":"2026-02-10T14:29:59Z"}"#)
        .await
        .problem(409);
    let a = put(r#"{"cursor_at":"2026-02-10T14:29:59Z","force":true}"#).await;
    assert_eq!(a.json()["result"], "moved");
    let c = get(&app, "/v1/cursors/alpaca").await.json();
    assert_eq!(c["cursor_at"], "2026-02-10T14:29:59Z");
    assert_eq!(c["cursor_seq"], Value::Null);
    assert_eq!(
        put(r#"{"cursor_seq":1}"#).await.problem(422)["field"],
        "cursor_at"
    );
    assert_eq!(
        put(r#"{"cursor_at":"soon"}"#).await.problem(422)["field"],
        "cursor_at"
    );
    assert_eq!(
        put(r#"{"cursor_at":"2026-02-10T14:31:00Z","cursor_seq":"5"}"#)
            .await
            .problem(422)["field"],
        "cursor_seq"
    );
    let p = put(r#"{"cursor_at":"2026-02-10T14:31:00Z","cursor_symbol":"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}"#).await.problem(422);
    assert_eq!(p["field"], "cursor_symbol", "{p}");
    assert_eq!(p["pointer"], "$.cursor_symbol", "{p}");
    assert_eq!(
        p["detail"], "cursor_symbol: 36 characters, at most 32 allowed",
        "{p}"
    );
    let long = "s".repeat(65);
    call(
        &app,
        Method::PUT,
        &format!("/v1/cursors/{long}"),
        r#"{"cursor_at":"2026-02-10T14:31:00Z"}"#,
    )
    .await
    .problem(400);
    get(&app, &format!("/v1/cursors/{long}")).await.problem(404);
    get(&app, "/v1/cursors/a%00b").await.problem(400);
}

#[tokio::test]
async fn request_ids_are_echoed_or_made_and_metrics_count() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let a = send(
        &app,
        axum::http::Request::builder()
            .uri("/healthz")
            .header("x-request-id", "abc-123")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.headers["x-request-id"], "abc-123");
    let b = get(&app, "/healthz").await;
    let made = b.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(made).is_ok(), "{made}");

    let sid = strategy(&app).await;
    post(&app, "/v1/decisions", &decision(&sid, 1, "AAPL")).await;
    post(&app, "/v1/strategies", r#"{"a":1,"a":2}"#)
        .await
        .problem(422);
    get(&app, "/trading/decisions").await;
    let m = get(&app, "/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.content_type().starts_with("text/plain; version=0.0.4"));
    for needle in [
        r#"torghut_http_requests_total{method="POST",route="/v1/decisions",status="201"} 1"#,
        r#"torghut_http_request_duration_seconds_count{method="GET",route="/trading/decisions"} 1"#,
        r#"torghut_http_request_duration_seconds_bucket{method="GET",route="/trading/decisions",le="+Inf"} 1"#,
        r#"torghut_store_writes_total{table="trade_decisions"} 1"#,
        r#"torghut_store_writes_total{table="strategies"} 1"#,
        r#"torghut_json_refusals_total{reason="duplicate_key"} 1"#,
        "torghut_db_pool_max 4",
        "torghut_db_pool_in_use ",
        "torghut_ready 1",
    ] {
        assert!(m.text.contains(needle), "missing {needle} in\n{}", m.text);
    }
    let latest = latest_revision();
    let needle = format!(r#"torghut_schema_revision{{revision="{latest}",expected="{latest}"}} 1"#);
    assert!(m.text.contains(&needle), "missing {needle} in\n{}", m.text);
}
