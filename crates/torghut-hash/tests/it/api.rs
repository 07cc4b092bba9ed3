//! The public API: canonical text, hashes and errors.

use torghut_hash::{canonical_text, decision_hash_from_json, HashError, MAX_DEPTH};

/// A decision with the required fields, then `extra` members (raw JSON text, may be empty).
fn decision(extra: &str) -> String {
    let base = r#""strategy_id": "s1", "symbol": "AAPL", "event_ts": "2026-02-10T00:00:00Z", "timeframe": "1Min", "action": "buy", "qty": "1""#;
    if extra.is_empty() {
        format!("{{{base}}}")
    } else {
        format!("{{{base}, {extra}}}")
    }
}

fn error_of(text: &str) -> HashError {
    canonical_text(text).expect_err("should be rejected")
}

#[test]
fn canonical_text_is_pythons_json_dumps() {
    let text = canonical_text(&decision(
        r#""qty": 2.5, "order_type": "limit", "limit_price": "101.250", "rationale": "not hashed", "extra": 1, "params": {"b": [1e-07, 1e16, -0.0, 100.0], "a": "é😀\n", "A": 12345678901234567890123}"#,
    ))
    .unwrap();
    assert_eq!(
        text,
        r#"{"action":"buy","event_ts":"2026-02-10T00:00:00+00:00","limit_price":"101.250","order_type":"limit","params":{"A":12345678901234567890123,"a":"\u00e9\ud83d\ude00\n","b":[1e-07,1e+16,-0.0,100.0]},"qty":"2.5","stop_price":null,"strategy_id":"s1","symbol":"AAPL","time_in_force":"day","timeframe":"1Min"}"#
    );
}

#[test]
fn hash_is_sha256_of_the_canonical_text() {
    let text =
        decision(r#""params": {"signal": "macd", "threshold": 1.5}"#).replace("\"1\"", "\"1.0\"");
    assert_eq!(
        decision_hash_from_json(&text).unwrap(),
        "8c1f8a6404e333aeb0aed7a8c51336ce03d3afe26f55d79241ff00e8e34b8294"
    );
    let hash = decision_hash_from_json(&decision("")).unwrap();
    assert_eq!(hash.len(), 64);
    assert!(hash
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
}

#[test]
fn unhashed_members_do_not_change_the_hash() {
    let plain = decision_hash_from_json(&decision("")).unwrap();
    for extra in [
        r#""rationale": "because""#,
        r#""rationale": null"#,
        r#""anything": {"x": [1, 2]}"#,
        r#""params": {}"#,
        r#""order_type": "market", "time_in_force": "day""#,
        r#""limit_price": null, "stop_price": null"#,
    ] {
        assert_eq!(
            decision_hash_from_json(&decision(extra)).unwrap(),
            plain,
            "{extra}"
        );
    }
    assert_ne!(
        decision_hash_from_json(&decision(r#""params": {"x": 1}"#)).unwrap(),
        plain
    );
}

#[test]
fn field_errors_name_the_field() {
    for (extra, field, message) in [
        (
            r#""qty": "abc""#,
            "qty",
            r#"field "qty": not a decimal: "abc""#,
        ),
        (
            r#""qty": "NaN""#,
            "qty",
            r#"field "qty": not a finite decimal: "NaN""#,
        ),
        (
            r#""qty": 1e400"#,
            "qty",
            r#"field "qty": not a finite decimal: Infinity"#,
        ),
        (
            r#""qty": true"#,
            "qty",
            r#"field "qty": expected a decimal as a string or number, found a boolean"#,
        ),
        (
            r#""limit_price": "1.2.3""#,
            "limit_price",
            r#"field "limit_price": not a decimal: "1.2.3""#,
        ),
        (
            r#""stop_price": [1]"#,
            "stop_price",
            r#"field "stop_price": expected a decimal as a string or number, found an array"#,
        ),
        (
            r#""action": "hold""#,
            "action",
            r#"field "action": expected one of "buy", "sell", found "hold""#,
        ),
        (
            r#""order_type": null"#,
            "order_type",
            r#"field "order_type": expected one of "market", "limit", "stop", "stop_limit", found null"#,
        ),
        (
            r#""time_in_force": "GTC""#,
            "time_in_force",
            r#"field "time_in_force": expected one of "day", "gtc", "ioc", "fok", found "GTC""#,
        ),
        (
            r#""event_ts": "yesterday""#,
            "event_ts",
            r#"field "event_ts": not a date-time: "yesterday""#,
        ),
        (
            r#""event_ts": "0000-01-01T00:00:00""#,
            "event_ts",
            r#"field "event_ts": date-time out of range (years 1 to 9999): "0000-01-01T00:00:00""#,
        ),
        (
            r#""event_ts": false"#,
            "event_ts",
            r#"field "event_ts": expected a date-time string or a unix timestamp, found a boolean"#,
        ),
        (
            r#""symbol": 5"#,
            "symbol",
            r#"field "symbol": expected a string, found a number"#,
        ),
        (
            r#""rationale": 5"#,
            "rationale",
            r#"field "rationale": expected a string or null, found a number"#,
        ),
        (
            r#""params": []"#,
            "params",
            r#"field "params": expected an object, found an array"#,
        ),
    ] {
        let e = error_of(&decision(extra));
        assert_eq!(e.field(), Some(field), "{extra}");
        assert_eq!(e.to_string(), message, "{extra}");
        assert_eq!(e.offset(), None);
    }
}

#[test]
fn missing_fields_are_named() {
    for field in [
        "strategy_id",
        "symbol",
        "event_ts",
        "timeframe",
        "action",
        "qty",
    ] {
        let text = canonical_text(&decision("")).unwrap();
        assert!(text.contains(field));
        // Rebuild the decision without `field`.
        let members: Vec<&str> = [
            r#""strategy_id": "s1""#,
            r#""symbol": "AAPL""#,
            r#""event_ts": "2026-02-10T00:00:00Z""#,
            r#""timeframe": "1Min""#,
            r#""action": "buy""#,
            r#""qty": "1""#,
        ]
        .into_iter()
        .filter(|m| !m.starts_with(&format!("\"{field}\"")))
        .collect();
        let e = error_of(&format!("{{{}}}", members.join(", ")));
        assert_eq!(e.field(), Some(field));
        assert_eq!(
            e.to_string(),
            format!("field \"{field}\": required but missing")
        );
    }
}

#[test]
fn the_first_invalid_field_in_model_order_is_reported() {
    let e = error_of(r#"{"qty": "x", "action": "hold", "symbol": 1}"#);
    assert_eq!(e.field(), Some("strategy_id"));
    let e = error_of(&decision(r#""params": 1, "qty": "x", "action": "hold""#));
    assert_eq!(e.field(), Some("action"));
}

#[test]
fn json_errors_give_offset_path_and_member() {
    let text = decision(r#""params": {"levels": [1, 2, {"a b": tru}]}"#);
    let e = error_of(&text);
    let offset = text.find("tru}").unwrap();
    assert_eq!(e.offset(), Some(offset));
    assert_eq!(e.field(), Some("params"));
    assert_eq!(
        e.to_string(),
        format!(
            r#"invalid JSON at byte {offset} (in $.params.levels[2]["a b"]): expected a JSON value"#
        )
    );

    let e = error_of(r#"{"qty": "1",}"#);
    assert_eq!(
        e.to_string(),
        "invalid JSON at byte 12: expected a member name in double quotes"
    );
    assert_eq!(e.field(), None);

    let e = error_of("");
    assert_eq!(
        e.to_string(),
        "invalid JSON at byte 0: expected a JSON value"
    );
    let e = error_of(&format!("{} x", decision("")));
    assert!(e.to_string().contains("extra data"), "{e}");
    let e = error_of("\u{feff}{}");
    assert_eq!(e.offset(), Some(0));
    let e = error_of(&decision(r#""symbol": "a	b""#));
    assert!(e.to_string().contains("control character"), "{e}");
    assert_eq!(e.field(), Some("symbol"));
}

#[test]
fn documents_that_are_not_objects_are_rejected() {
    for (text, found) in [
        ("[]", "an array"),
        ("null", "null"),
        ("1", "a number"),
        (r#""{}""#, "a string"),
    ] {
        let e = error_of(text);
        assert_eq!(
            e.to_string(),
            format!("invalid decision: expected a JSON object, found {found}")
        );
        assert_eq!(e.field(), None);
    }
}

#[test]
fn member_names_with_lone_surrogates_are_rejected() {
    let e = error_of(&decision(r#""\ud800x": 1"#));
    assert_eq!(
        e.to_string(),
        r#"invalid decision: member name "\ud800x" is not valid Unicode"#
    );
    // Inside params they are fine, as are surrogates in string values.
    assert!(canonical_text(&decision(r#""params": {"\ud800": "\udfff"}"#)).is_ok());
    assert!(canonical_text(&decision(r#""rationale": "\ud800""#)).is_ok());
}

#[test]
fn long_rejected_values_are_shortened_in_messages() {
    let long = "x".repeat(1000);
    let e = error_of(&decision(&format!(r#""qty": "{long}""#)));
    let message = e.to_string();
    assert!(message.len() < 120, "{message}");
    assert!(message.ends_with("xxx\"..."), "{message}");
}

#[test]
fn nesting_is_bounded() {
    // The decision object is level 1 and `params` level 2.
    let nested = |levels: usize| {
        decision(&format!(
            r#""params": {{"a": {}{}}}"#,
            "[".repeat(levels),
            "]".repeat(levels)
        ))
    };
    assert!(canonical_text(&nested(MAX_DEPTH - 2)).is_ok());
    let e = error_of(&nested(MAX_DEPTH - 1));
    assert!(e.to_string().contains("nest deeper than 512"), "{e}");
    assert_eq!(e.field(), Some("params"));
    assert!(canonical_text(&nested(1_000_000)).is_err());
}
