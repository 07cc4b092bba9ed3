//! One decision pipeline: `POST /v1/decisions` records the hash `torghut decision-hash` computes
//! for the same decision, for every reference vector and for every spelling of its numbers and of
//! its strategy id.

use axum::http::StatusCode;

use crate::support::*;

/// The vector files of the hash crate (the specification's and the ones generated from the
/// original service's code), as (input, expected hash or None for a refusal) pairs.
fn vector_inputs() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../torghut-hash/tests/data");
    let mut inputs = Vec::new();
    for file in ["spec-vectors.jsonl", "python-vectors.jsonl"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            inputs.push(v["input"].as_str().unwrap().to_owned());
        }
    }
    assert!(inputs.len() > 100, "{}", inputs.len());
    inputs
}

/// `input` with its strategy id replaced by `sid` (as text: every other member keeps its
/// spelling), or None when it has none or is not an object.
fn with_strategy(input: &str, sid: &str) -> Option<String> {
    let key = input.find("\"strategy_id\"")?;
    let colon = key + input[key..].find(':')?;
    let open = colon + input[colon..].find('"')?;
    let close = open + 1 + input[open + 1..].find('"')?;
    Some(format!(
        "{}\"{sid}\"{}",
        &input[..open],
        &input[close + 1..]
    ))
}

/// The body of `POST /v1/decisions` for a decision text.
fn body(decision: &str) -> String {
    let brace = decision.find('{').unwrap();
    format!(
        "{}{{\"account_label\":\"paper\",{}",
        &decision[..brace],
        &decision[brace + 1..]
    )
}

#[tokio::test]
async fn every_vector_hashes_alike_over_http_and_in_the_cli() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    let (mut compared, mut refused) = (0, 0);
    for input in vector_inputs() {
        let Some(decision) = with_strategy(&input, &sid) else {
            continue;
        };
        // Python's json reads NaN and Infinity; a request body must be JSON, so those inputs
        // are refused over HTTP (and hashed by the CLI, as the original service would).
        if !decision.trim_start().starts_with('{')
            || serde_json::from_str::<serde_json::Value>(&decision).is_err()
        {
            continue;
        }
        let cli = torghut_hash::decision_hash_from_json(&decision);
        let r = post(&app, "/v1/decisions", &body(&decision)).await;
        match cli {
            // What the columns cannot hold (a NUL character, a number beyond numeric, an
            // empty or over-long symbol) the hash accepts, as the original service's did; the
            // service refuses it, naming the field or its JSONPath.
            Ok(_) if r.status == StatusCode::UNPROCESSABLE_ENTITY => {
                let p = r.json();
                assert!(
                    p["field"].is_string() || p["pointer"].is_string(),
                    "{}",
                    r.text
                );
                refused += 1;
            }
            Ok(hash) => {
                assert!(
                    r.status == StatusCode::CREATED || r.status == StatusCode::OK,
                    "{decision}: {} {}",
                    r.status,
                    r.text
                );
                assert_eq!(r.json()["decision_hash"], hash.as_str(), "{decision}");
                compared += 1;
            }
            Err(_) => {
                assert!(
                    r.status.is_client_error(),
                    "{decision}: {} {}",
                    r.status,
                    r.text
                );
                refused += 1;
            }
        }
    }
    assert!(compared > 100, "{compared} compared, {refused} refused");
}

#[tokio::test]
async fn every_spelling_of_a_number_or_a_strategy_id_hashes_as_the_cli_does() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let sid = strategy(&app).await;
    // Numbers in params, as written: every spelling, whatever a float makes of it.
    let params = [
        "1e2",
        "-0.0",
        "1e+16",
        "1000000000000000.0",
        "100",
        "1E2",
        "0.1",
        "2.50",
        "123456789012345678901234567890",
        "1e400",
    ];
    // Quantities an order can carry, as strings and as numbers.
    let quantities = ["1e2", "100", "1E2", "2.50", "0.1", "100.0", "1E-8"];
    let mut cases = Vec::new();
    for p in params {
        cases.push(("\"1\"".to_owned(), p.to_owned()));
    }
    for q in quantities {
        cases.push((format!("\"{q}\""), "1".to_owned()));
        cases.push((q.to_owned(), "1".to_owned()));
    }
    for (qty, param) in cases {
        let d = format!(
            r#"{{"strategy_id":"{sid}","symbol":"AAPL","event_ts":"2026-02-10T14:30:00Z","timeframe":"1Min","action":"buy","qty":{qty},"params":{{"x":{param},"l":[{param}]}}}}"#
        );
        let hash = torghut_hash::decision_hash_from_json(&d).unwrap();
        let r = post(&app, "/v1/decisions", &body(&d)).await;
        assert!(r.status.is_success(), "{d}: {}", r.text);
        assert_eq!(r.json()["decision_hash"], hash.as_str(), "{d}");
    }
    // Quantities no order can carry, or that a float would change, are refused naming qty.
    for qty in [
        "\"-1\"",
        "0",
        "\"0\"",
        "-0.0",
        "\"1e400\"",
        "\"0.123456789\"",
        "99999999999.99999999",
        "\"1000000000000\"",
    ] {
        let d = format!(
            r#"{{"strategy_id":"{sid}","symbol":"AAPL","event_ts":"2026-02-10T14:30:00Z","timeframe":"1Min","action":"buy","qty":{qty}}}"#
        );
        let p = post(&app, "/v1/decisions", &body(&d)).await.problem(422);
        assert_eq!(p["field"], "qty", "{qty}: {p}");
    }

    // Every spelling of the strategy's id is the same strategy: one decision, one row.
    let upper = sid.to_uppercase();
    let simple = sid.replace('-', "");
    let braced = format!("{{{sid}}}");
    let urn = format!("urn:uuid:{sid}");
    let mut ids = Vec::new();
    for spelling in [sid.as_str(), &upper, &simple, &braced, &urn] {
        let d = format!(
            r#"{{"strategy_id":"{spelling}","symbol":"MSFT","event_ts":"2026-02-10T14:30:00Z","timeframe":"1Min","action":"sell","qty":"3"}}"#
        );
        let r = post(&app, "/v1/decisions", &body(&d)).await;
        assert!(r.status.is_success(), "{d}: {}", r.text);
        assert_eq!(
            r.json()["decision_hash"],
            torghut_hash::decision_hash_from_json(&d).unwrap().as_str()
        );
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
}
