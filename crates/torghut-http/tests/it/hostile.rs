//! Hostile input: every answer is a 4xx problem, never a 5xx.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::support::*;

fn routes(decision: &str) -> Vec<(Method, String)> {
    vec![
        (Method::POST, "/v1/strategies".into()),
        (Method::POST, "/v1/decisions".into()),
        (Method::POST, format!("/v1/decisions/{decision}/reviews")),
        (
            Method::POST,
            format!("/v1/decisions/{decision}/transitions"),
        ),
        (Method::POST, "/v1/executions".into()),
        (Method::POST, "/v1/trails".into()),
        (Method::PUT, "/v1/cursors/hostile".into()),
    ]
}

fn payloads(sid: &str) -> Vec<Vec<u8>> {
    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!(
        "{{\"params\":{}1{}}}",
        "{\"a\":".repeat(5000),
        "}".repeat(5000)
    );
    let mut v: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"}".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"1".to_vec(),
        b"\"x\"".to_vec(),
        b"{}".to_vec(),
        b"{\"qty\": NaN}".to_vec(),
        b"{\"qty\": Infinity}".to_vec(),
        b"{\"qty\": -Infinity}".to_vec(),
        b"{\"a\":1,\"a\":2}".to_vec(),
        b"{\"a\":\"\\u0000\"}".to_vec(),
        b"{\"a\\u0000\":1}".to_vec(),
        b"{\"a\":\"\\ud800\"}".to_vec(),
        b"{\"a\":1e999999999}".to_vec(),
        b"{\"a\":1}trailing".to_vec(),
        b"\xef\xbb\xbf{}".to_vec(),
        b"{\"a\":\"\xff\xfe\"}".to_vec(),
        b"{'a':1}".to_vec(),
        b"{\"a\":01}".to_vec(),
        deep_array.into_bytes(),
        deep_object.into_bytes(),
        vec![b' '; 70_000],
    ];
    for field in [
        "name",
        "base_timeframe",
        "universe_type",
        "account_label",
        "strategy_id",
        "symbol",
        "event_ts",
        "timeframe",
        "action",
        "qty",
        "limit_price",
        "model",
        "verdict",
        "input_json",
        "response_json",
        "confidence",
        "tokens_prompt",
        "to",
        "reason_codes",
        "id",
        "client_order_id",
        "side",
        "type",
        "status",
        "filled_qty",
        "cursor_at",
        "cursor_seq",
        "cursor_symbol",
        "force",
        "enabled",
    ] {
        for value in [
            "\"NaN\"",
            "\"Infinity\"",
            "\"-inf\"",
            "\"1e999999\"",
            "1e400",
            "-1",
            "\"\"",
            "\"\\u0000\"",
            "true",
            "[]",
            "{}",
            "99999999999999999999999999999999",
            "\"2026-02-30T25:61:00Z\"",
            "\"not-a-uuid\"",
            "null",
        ] {
            v.push(format!(
                r#"{{"account_label":"paper","strategy_id":"{sid}","symbol":"AAPL","event_ts":"2026-02-10T14:30:00Z","timeframe":"1Min","action":"buy","qty":"1","{field}":{value}}}"#
            ).into_bytes());
        }
        v.push(format!(r#"{{"{field}":"{}"}}"#, "x".repeat(5000)).into_bytes());
    }
    v
}

#[tokio::test]
async fn hostile_payloads_are_4xx_problems_never_5xx() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let d = post(&app, "/v1/decisions", &decision(&sid, 1, "AAPL"))
        .await
        .json();
    let id = d["id"].as_str().unwrap().to_owned();
    let mut n = 0;
    for (method, path) in routes(&id) {
        for body in payloads(&sid) {
            let a = call(&app, method.clone(), &path, body.clone()).await;
            let s = a.status.as_u16();
            if (200..300).contains(&s) {
                continue; // e.g. a cursor with a valid "force"
            }
            assert!(
                (400..500).contains(&s),
                "{method} {path} {:?} -> {s} {}",
                String::from_utf8_lossy(&body[..body.len().min(200)]),
                a.text
            );
            a.problem(s);
            n += 1;
        }
        // Wrong or missing content type, and a body over the limit.
        let a = send(
            &app,
            Request::builder()
                .method(method.clone())
                .uri(&path)
                .header("content-type", "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
        a.problem(415);
        // JSON declared in another charset is not read as UTF-8 (é in Latin-1 is one byte).
        let a = send(
            &app,
            Request::builder()
                .method(method.clone())
                .uri(&path)
                .header("content-type", "application/json; charset=latin1")
                .body(Body::from(b"{\"name\":\"caf\xe9\"}".to_vec()))
                .unwrap(),
        )
        .await;
        a.problem(415);
        let a = send(
            &app,
            Request::builder()
                .method(method.clone())
                .uri(&path)
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
        a.problem(415);
        let big = format!("{{\"name\":\"{}\"}}", "x".repeat(200_000));
        call(&app, method.clone(), &path, big).await.problem(413);
    }
    assert!(n > 1000, "{n}");
}

/// A small deterministic generator (no external randomness: failures reproduce).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() as usize) % n.max(1)
    }
}

#[tokio::test]
async fn mutated_valid_bodies_never_answer_5xx() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let d = post(&app, "/v1/decisions", &decision(&sid, 1, "AAPL"))
        .await
        .json();
    let id = d["id"].as_str().unwrap().to_owned();
    let hash = d["decision_hash"].as_str().unwrap().to_owned();
    let seeds: Vec<(Method, String, String)> = vec![
        (Method::POST, "/v1/strategies".into(), r#"{"name":"m","base_timeframe":"1Min","universe_type":"static","universe_symbols":["A"],"max_notional_per_trade":"10.5"}"#.into()),
        (Method::POST, "/v1/decisions".into(), decision(&sid, 7, "MSFT")),
        (Method::POST, format!("/v1/decisions/{id}/reviews"), r#"{"model":"m","prompt_version":"v1","input_json":{"a":[1,2]},"response_json":{"b":"c"},"verdict":"adjust","adjusted_qty":"2","confidence":"0.5"}"#.into()),
        (Method::POST, format!("/v1/decisions/{id}/transitions"), r#"{"to":"accepted","reason_codes":["a"],"detail":{"x":1}}"#.into()),
        (Method::POST, "/v1/executions".into(), format!(r#"{{"id":"o-1","client_order_id":"{hash}","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1","filled_qty":"0.5","status":"partially_filled"}}"#)),
        (Method::PUT, "/v1/cursors/fuzz".into(), r#"{"cursor_at":"2026-02-10T14:30:00Z","cursor_seq":3,"cursor_symbol":"A"}"#.into()),
        (Method::POST, "/v1/trails".into(), format!(r#"{{"account_label":"paper","decision":{},"review":{{"model":"m","prompt_version":"v1","input_json":{{}},"response_json":{{}},"verdict":"approve","confidence":"0.5"}},"order":{{"id":"o-t","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1","status":"new"}},"status":"submitted"}}"#, decision_text(&sid, 8, "NVDA"))),
    ];
    let junk: [&[u8]; 12] = [
        b"\"",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\\u0000",
        b"NaN",
        b"\xff",
        b"-1e9999",
        b"\"\\ud800\"",
    ];
    let mut rng = Lcg(0x5eed);
    let mut counts = [0usize; 7];
    for round in 0..1400 {
        let (method, path, seed) = &seeds[round % seeds.len()];
        let mut body = seed.as_bytes().to_vec();
        for _ in 0..(1 + rng.below(3)) {
            let at = rng.below(body.len() + 1);
            match rng.below(3) {
                0 if !body.is_empty() => {
                    let end = (at + 1 + rng.below(8)).min(body.len());
                    body.drain(at.min(body.len())..end);
                }
                1 => {
                    let j = junk[rng.below(junk.len())];
                    body.splice(at..at, j.iter().copied());
                }
                _ => {
                    let b = rng.below(256) as u8;
                    body.insert(at, b);
                }
            }
        }
        let a = call(&app, method.clone(), path, body.clone()).await;
        let s = a.status.as_u16();
        assert!(
            s < 500,
            "{method} {path} {:?} -> {s} {}",
            String::from_utf8_lossy(&body),
            a.text
        );
        if s >= 400 {
            a.problem(s);
        }
        counts[round % seeds.len()] += 1;
    }
    assert!(counts.iter().all(|c| *c == 200));
}

/// Numbers beyond f64 (and integers beyond i64), accepted and stored exactly, read back exactly
/// from every route that returns them: the trail, its events, the executions; the service never
/// fails to read what it stored.
#[tokio::test]
async fn numbers_beyond_f64_read_back_as_stored() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let big = "123456789012345678901234567890123";
    let d = decision(&sid, 77, "AAPL").replace(
        r#""signal":"macd""#,
        &format!(r#""signal":"macd","huge":1e309,"low":-1.7976931348623157e308,"tiny":1e-400,"wide":{big}"#),
    );
    let r = post(&app, "/v1/decisions", &d).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let t = post(
        &app,
        &format!("/v1/decisions/{id}/transitions"),
        r#"{"to":"submitted","detail":{"n":-1e400,"m":1e309}}"#,
    )
    .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    let hash = r.json()["decision_hash"].as_str().unwrap().to_owned();
    let order = format!(
        r#"{{"id":"o-big","client_order_id":"{hash}","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1.5","filled_qty":"0","status":"accepted","extra":1e309}}"#
    );
    let x = post(&app, "/v1/executions", &order).await;
    assert_eq!(x.status, StatusCode::CREATED, "{}", x.text);

    // What PostgreSQL stored, as its jsonb text.
    let c = db.connect().await;
    let stored: String = c
        .query_one(
            "SELECT (decision_json -> 'params' -> 'huge')::text FROM trade_decisions WHERE id = $1::text::uuid",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        stored.starts_with("1000000000") && stored.len() == 310,
        "{stored}"
    );

    for _ in 0..2 {
        let g = get(&app, &format!("/v1/decisions/{id}")).await;
        assert_eq!(g.status, StatusCode::OK, "{}", g.text);
        assert!(g.text.contains(&format!("\"huge\":{stored}")), "{}", g.text);
        assert!(g.text.contains(&format!("\"wide\":{big}")), "{}", g.text);
        assert!(g.text.contains("\"o-big\""), "{}", g.text);
    }
    let ex = get(&app, "/trading/executions").await;
    assert_eq!(ex.status, StatusCode::OK, "{}", ex.text);
    let ds = get(&app, "/trading/decisions").await;
    assert_eq!(ds.status, StatusCode::OK, "{}", ds.text);
}

/// Decimal columns written by another writer (the original service, an operator) with values a
/// fixed-size decimal cannot hold (`NaN`, as Python's `Decimal('NaN')` is stored) read back as
/// stored through every route, never a 500.
#[tokio::test]
async fn stored_nan_decimals_read_back_as_stored() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let r = post(&app, "/v1/decisions", &decision(&sid, 78, "AAPL")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let c = db.connect().await;
    c.batch_execute(&format!(
        "INSERT INTO executions (id, trade_decision_id, alpaca_order_id, symbol, side, order_type, \
           time_in_force, submitted_qty, filled_qty, avg_fill_price, status) \
         VALUES ('0190b9a0-0000-7000-8000-0000000000e1', '{id}', 'nan-order', 'AAPL', 'buy', \
           'market', 'day', 'NaN', 'NaN', 'NaN', 'new'); \
         UPDATE strategies SET max_notional_per_trade = 'NaN' WHERE id = '{sid}'; \
         INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, \
           input_json, response_json, verdict, confidence, adjusted_qty) \
         VALUES ('0190b9a0-0000-7000-8000-0000000000e2', '{id}', 'm', 'v1', '{{}}', '{{}}', \
           'approve', 'NaN', 'NaN');"
    ))
    .await
    .unwrap();
    for _ in 0..2 {
        let g = get(&app, &format!("/v1/decisions/{id}")).await;
        assert_eq!(g.status, StatusCode::OK, "{}", g.text);
        let v = g.json();
        let e = &v["executions"][0];
        assert_eq!(e["submitted_qty"], "NaN", "{e}");
        assert_eq!(e["avg_fill_price"], "NaN", "{e}");
        assert_eq!(v["reviews"][0]["confidence"], "NaN", "{v}");
    }
    let s = get(&app, "/v1/strategies").await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    assert!(
        s.text.contains("\"max_notional_per_trade\":\"NaN\""),
        "{}",
        s.text
    );
    // The broker's next payload for that order updates it.
    let x = post(
        &app,
        "/v1/executions",
        r#"{"id":"nan-order","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1","filled_qty":"1","status":"filled"}"#,
    )
    .await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.text);
    assert_eq!(x.json()["filled_qty"], "1.00000000", "{}", x.text);
}

/// A decimal a column cannot hold exactly is refused naming the field and the column's limit,
/// never rounded.
#[tokio::test]
async fn decimals_are_never_rounded() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let r = post(&app, "/v1/decisions", &decision(&sid, 5, "AAPL")).await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let order = r#"{"id":"o-fine","client_order_id":"c-fine","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"0.123456789","filled_qty":"0","status":"accepted"}"#;
    let p = post(&app, "/v1/executions", order).await.problem(422);
    assert_eq!(p["field"], "qty", "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("numeric(20,8)"),
        "{p}"
    );
    let review = r#"{"model":"m","prompt_version":"v1","input_json":{},"response_json":{},"verdict":"approve","confidence":0.99999}"#;
    let p = post(&app, &format!("/v1/decisions/{id}/reviews"), review)
        .await
        .problem(422);
    assert_eq!(p["field"], "confidence", "{p}");
    // Trailing zeros are not lost digits.
    let ok = order
        .replace("0.123456789", "1.500000000000")
        .replace("o-fine", "o-ok")
        .replace("c-fine", "c-ok");
    let x = post(&app, "/v1/executions", &ok).await;
    assert_eq!(x.status, StatusCode::CREATED, "{}", x.text);
}
