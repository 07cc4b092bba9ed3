//! The OpenAPI document and the router agree.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::support::*;

/// Every route the service must serve.
const EXPECTED: [(&str, &str); 18] = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/db-check"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/trading/decisions"),
    ("get", "/trading/executions"),
    ("get", "/v1/decisions/{id}"),
    ("get", "/v1/strategies"),
    ("post", "/v1/strategies"),
    ("post", "/v1/decisions"),
    ("post", "/v1/decisions/{id}/reviews"),
    ("post", "/v1/decisions/{id}/transitions"),
    ("post", "/v1/executions"),
    ("post", "/v1/trails"),
    ("get", "/v1/cursors/{source}"),
    ("put", "/v1/cursors/{source}"),
    ("get", "/v1/cursors/{source}"),
];

const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

fn concrete(path: &str) -> String {
    path.replace("{id}", "0190b9a0-0000-7000-8000-0000000000aa")
        .replace("{source}", "probe")
}

#[tokio::test]
async fn the_document_and_the_routes_agree() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let served = get(&app, "/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    let doc = served.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc,
        serde_json::to_value(torghut_http::openapi()).unwrap(),
        "/openapi.json is the generated document"
    );
    let paths = doc["paths"].as_object().unwrap();
    for (m, p) in EXPECTED {
        assert!(
            paths.get(p).and_then(|o| o.get(m)).is_some(),
            "{m} {p} is not documented"
        );
    }
    let mut documented = 0;
    for (path, item) in paths {
        for m in METHODS {
            let req = Request::builder()
                .method(Method::from_bytes(m.to_uppercase().as_bytes()).unwrap())
                .uri(concrete(path))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let a = send(&app, req).await;
            let routed = a.status != StatusCode::METHOD_NOT_ALLOWED
                && !(a.status == StatusCode::NOT_FOUND && a.text.contains("no-route"));
            let in_doc = item.get(m).is_some();
            if m == "head" {
                // axum answers HEAD for every GET route.
                continue;
            }
            assert_eq!(
                routed, in_doc,
                "{m} {path}: routed {routed}, documented {in_doc} ({} {})",
                a.status, a.text
            );
            documented += usize::from(in_doc);
            if in_doc {
                let op = &item[m];
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{m} {path}"
                );
                // The handler's real answer to this probe is one the document lists.
                documented_status(&doc, m, path, a.status);
            }
        }
    }
    assert_eq!(documented, 17);
    // The old routes document what they return: the old service's keys, decimals as numbers
    // (null for NaN), every key present.
    let schemas = &doc["components"]["schemas"];
    let row = &schemas["OldExecutionRow"];
    assert_eq!(
        row["properties"]["submitted_qty"]["type"],
        serde_json::json!(["number", "null"])
    );
    assert_eq!(row["properties"]["created_at"]["format"], "date-time");
    assert_eq!(
        row["required"].as_array().unwrap().len(),
        row["properties"].as_object().unwrap().len()
    );
    let row = &schemas["OldDecisionRow"];
    assert!(row["properties"]["decision"].get("type").is_none(), "{row}");
    assert!(row["properties"].get("decision_json").is_none(), "{row}");
    assert_eq!(
        row["required"].as_array().unwrap().len(),
        row["properties"].as_object().unwrap().len()
    );
    for path in ["/trading/decisions", "/trading/executions"] {
        let responses = &paths[path]["get"]["responses"];
        assert!(
            responses.get("422").is_some() && responses.get("400").is_none(),
            "{path}"
        );
    }
    // A path nobody documented is not routed either.
    let a = get(&app, "/v1/orders").await;
    assert!(a.text.contains("no-route"), "{}", a.text);
}

/// The pattern the document gives a member of a request body.
fn member_pattern(doc: &serde_json::Value, body: &str, member: &str) -> regex::Regex {
    let mut schema = &doc["components"]["schemas"][body];
    if let Some(base) = schema.get("allOf") {
        schema = &base[0];
    }
    let p = schema["properties"][member]["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}.{member} has no pattern"));
    regex::Regex::new(p).unwrap()
}

/// Asserts that the document lists `status` among the answers of `method path`.
#[track_caller]
fn documented_status(doc: &serde_json::Value, method: &str, path: &str, status: StatusCode) {
    let responses = &doc["paths"][path][method]["responses"];
    assert!(
        responses.get(status.as_str()).is_some(),
        "{method} {path} answered {status}, which the document does not list"
    );
}

/// Strings in the plain notation, edge cases of `numeric(20,8)` and `numeric(6,4)` included,
/// and strings no decimal member takes.
const DECIMAL_SAMPLES: [&str; 36] = [
    "0",
    "-0",
    "-0.000",
    "00",
    "007",
    "0000000000000001.5",
    "1",
    "1.0000",
    "0.9999",
    "0.99995",
    "1.0001",
    "0.00001",
    "187.25",
    "999999999999.99999999",
    "999999999999.999999990000",
    "1000000000000",
    "-999999999999.5",
    "-1",
    "0.00000001",
    "0.000000001",
    "1.123456780",
    "1.1234567891",
    "0.5",
    ".5",
    "5.",
    "+1",
    " 1",
    "1 ",
    "1_000",
    "-",
    "",
    "-.5",
    "1,5",
    "0x10",
    "NaN",
    "١",
];

/// For every decimal member with a pattern, a plain-notation string is accepted exactly when the
/// pattern allows it (the server also reads scientific notation, which the patterns leave out),
/// and every answer's status is one the document lists.
#[tokio::test]
async fn decimal_members_accept_exactly_what_their_patterns_allow() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let doc = torghut_http::openapi();
    let sid = strategy(&app).await;
    let decision_id = post(&app, "/v1/decisions", &decision(&sid, 1, "AAPL"))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for (i, s) in DECIMAL_SAMPLES.iter().enumerate() {
        let cases = [
            (
                "NewStrategyBody",
                "max_notional_per_trade",
                "/v1/strategies".to_owned(),
                serde_json::json!({"name": format!("s{i}"), "base_timeframe": "1Min",
                    "universe_type": "static", "max_notional_per_trade": s}),
            ),
            (
                "OrderBody",
                "qty",
                "/v1/executions".to_owned(),
                serde_json::json!({"id": format!("order-{i}"), "symbol": "AAPL", "side": "buy",
                    "type": "market", "time_in_force": "day", "qty": s, "status": "new"}),
            ),
            (
                "NewReviewBody",
                "confidence",
                "/v1/decisions/{id}/reviews".to_owned(),
                serde_json::json!({"model": "m", "prompt_version": "v1", "input_json": {},
                    "response_json": {}, "verdict": "approve", "confidence": s}),
            ),
            (
                "NewDecisionBody",
                "qty",
                "/v1/decisions".to_owned(),
                serde_json::json!({"account_label": "paper", "strategy_id": sid,
                    "symbol": "AAPL", "event_ts": "2026-02-10T14:30:00Z", "timeframe": "1Min",
                    "action": "buy", "qty": s, "params": {"i": i}}),
            ),
        ];
        for (body, member, path, request) in cases {
            let allowed = member_pattern(&doc, body, member).is_match(s);
            let uri = path.replace("{id}", &decision_id);
            let answer = post(&app, &uri, &request.to_string()).await;
            documented_status(&doc, "post", &path, answer.status);
            // The decision's quantity is read as the original service reads it (Python's
            // Decimal, which also takes " 1" and "1_000"): only its allowed strings are checked.
            if body == "NewDecisionBody" && !allowed {
                continue;
            }
            assert_eq!(
                answer.status.is_success(),
                allowed,
                "{body}.{member} = {s:?}: answered {} {}",
                answer.status,
                answer.text
            );
        }
    }
}

/// Text the database cannot store (a NUL character) is refused in every request body, as the
/// document says with its patterns and its `StorableJson` schema.
#[tokio::test]
async fn nul_characters_are_refused_as_documented() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let doc = torghut_http::openapi();
    let no_nul = regex::Regex::new(
        doc["components"]["schemas"]["StorableJsonValue"]["anyOf"][1]["pattern"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(no_nul.is_match("text") && !no_nul.is_match("a\u{0}b"));
    assert_eq!(
        doc["components"]["schemas"]["NewStrategyBody"]["properties"]["description"]["pattern"],
        doc["components"]["schemas"]["StorableJsonValue"]["anyOf"][1]["pattern"]
    );
    for (path, body) in [
        (
            "/v1/strategies",
            r#"{"name":"n","base_timeframe":"1Min","universe_type":"static","description":"a\u0000b"}"#,
        ),
        (
            "/v1/strategies",
            r#"{"name":"n","base_timeframe":"1Min","universe_type":"static","universe_symbols":["A\u0000"]}"#,
        ),
        (
            "/v1/executions",
            r#"{"id":"o-nul","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1","status":"new","extra":{"k\u0000":1}}"#,
        ),
    ] {
        let answer = post(&app, path, body).await;
        let problem = answer.problem(422);
        documented_status(&doc, "post", path, answer.status);
        assert!(
            problem["detail"].as_str().unwrap().contains("NUL"),
            "{problem}"
        );
    }
}

/// The decision's `event_ts` as a number: the document's bounds are the handler's, to the last
/// representable value.
#[tokio::test]
async fn event_ts_numbers_are_accepted_exactly_within_the_documented_bounds() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let doc = torghut_http::openapi();
    let sid = strategy(&app).await;
    let ts = &doc["components"]["schemas"]["NewDecisionBody"]["properties"]["event_ts"];
    assert_eq!(ts["minimum"].as_f64(), Some(-62_135_596_800_000.0));
    assert_eq!(ts["exclusiveMaximum"].as_f64(), Some(253_402_300_800_000.0));
    for (i, (value, accepted)) in [
        ("-62135596800000", true),
        ("-62135596800000.5", false),
        ("253402300799999.97", true),
        ("253402300800000", false),
        ("20000000000.5", true),
        ("-20000000000.5", true),
        ("0", true),
    ]
    .into_iter()
    .enumerate()
    {
        let body = format!(
            r#"{{"account_label":"paper","strategy_id":"{sid}","symbol":"AAPL","event_ts":{value},"timeframe":"1Min","action":"buy","qty":"1","params":{{"i":{i}}}}}"#
        );
        let answer = post(&app, "/v1/decisions", &body).await;
        documented_status(&doc, "post", "/v1/decisions", answer.status);
        assert_eq!(
            answer.status.is_success(),
            accepted,
            "event_ts {value}: {} {}",
            answer.status,
            answer.text
        );
    }
}
