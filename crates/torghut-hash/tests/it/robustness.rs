//! No input makes the hash panic: arbitrary text, arbitrary JSON in every position, damaged
//! decisions, deep nesting and huge numbers.

use proptest::prelude::*;
use torghut_hash::{canonical_text, decision_hash_from_json, hash_lines};

const FIELDS: [&str; 12] = [
    "strategy_id",
    "symbol",
    "event_ts",
    "timeframe",
    "action",
    "qty",
    "order_type",
    "time_in_force",
    "limit_price",
    "stop_price",
    "rationale",
    "params",
];

/// Characters that matter to the reader and the validators, plus anything at all.
fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec![
            '{', '}', '[', ']', '"', '\\', ':', ',', ' ', '\t', '\n', '\r', '-', '+', '.', 'e',
            'E', '0', '1', '9', 'u', 'd', '8', 'n', 't', 'f', 'N', 'I', 'Z', 'T', '_', '\u{0}',
            '\u{1f}', '\u{7f}', 'é', '\u{2212}', '\u{661}', '\u{feff}', '😀',
        ]),
        1 => any::<char>(),
    ]
}

fn interesting_string() -> impl Strategy<Value = String> {
    prop::collection::vec(interesting_char(), 0..40).prop_map(|cs| cs.into_iter().collect())
}

/// Arbitrary JSON text, including the forms Python accepts beyond the standard.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("NaN".to_owned()),
        Just("-Infinity".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|x| format!("{x:e}").replace("inf", "Infinity")),
        "-?[0-9]{1,30}(\\.[0-9]{1,30})?([eE][-+]?[0-9]{1,4})?",
        interesting_string().prop_map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))),
        "\"(\\\\u[dD][89abAB][0-9a-f]{2}|\\\\u[0-9a-fA-F]{4}|[a-z ])*\"",
        "\"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?\"",
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((interesting_string(), inner), 0..6).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v)| {
                        format!("\"{}\":{v}", k.replace('\\', "\\\\").replace('"', "\\\""))
                    })
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

fn valid_decision() -> String {
    r#"{"strategy_id": "s1", "symbol": "ÄPPL", "event_ts": "2026-02-10T09:30:00.250Z", "timeframe": "1Min", "action": "sell", "qty": "2.50", "order_type": "limit", "limit_price": "101.250", "time_in_force": "gtc", "params": {"tiny": 1e-07, "big": 1e+16, "n": [1, 2.0, {"z": null, "a": true}], "s": "é 😀 \ud800"}}"#.to_owned()
}

/// Checks the invariants that hold for any input.
fn check(text: &str) {
    match decision_hash_from_json(text) {
        Ok(hash) => {
            assert_eq!(hash.len(), 64);
            let canonical = canonical_text(text).unwrap();
            assert!(canonical.bytes().all(|b| (0x20..0x7f).contains(&b)));
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
            assert!(!message.contains('\n'));
            assert_eq!(canonical_text(text).unwrap_err(), e);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn json_like_text_never_panics(text in interesting_string()) {
        check(&text);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_text()) {
        check(&value);
    }

    #[test]
    fn arbitrary_json_in_any_field_never_panics(
        field in prop::sample::select(FIELDS.to_vec()),
        value in json_text(),
    ) {
        let text = valid_decision().replacen('{', &format!("{{\"{field}\": {value}, "), 1);
        check(&text);
        // As a later duplicate, which wins as with `json.loads`.
        let mut text = valid_decision();
        text.pop();
        check(&format!("{text}, \"{field}\": {value}}}"));
    }

    #[test]
    fn damaged_decisions_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), interesting_string(), 0usize..3), 1..4),
    ) {
        let mut text = valid_decision();
        for (at, insert, remove) in edits {
            let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let i = at.index(boundaries.len());
            let j = (i + remove).min(boundaries.len() - 1);
            text.replace_range(boundaries[i]..boundaries[j], &insert);
        }
        check(&text);
    }

    #[test]
    fn hash_lines_never_panics(lines in prop::collection::vec(prop_oneof![json_text(), any::<String>(), Just(valid_decision())], 0..8)) {
        let input = lines.join("\n");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let all = hash_lines(input.as_bytes(), &mut out, &mut err).unwrap();
        prop_assert_eq!(all, err.is_empty());
    }
}

#[test]
fn the_valid_decision_is_valid() {
    assert!(canonical_text(&valid_decision()).is_ok());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["[", "{\"a\":", "[{\"a\":"] {
        let text = valid_decision().replace(
            "\"params\": {",
            &format!("\"params\": {{\"x\": {}1, \"y\": {{", open.repeat(200_000)),
        );
        check(&text);
        assert!(canonical_text(&text).is_err());
    }
    check(&"[".repeat(1_000_000));
    check(&"{\"a\":".repeat(1_000_000));
}

#[test]
fn huge_numbers_are_handled() {
    let digits = "7".repeat(200_000);
    for (field, value) in [
        ("params", format!("{{\"int\": {digits}}}")),
        ("params", format!("{{\"float\": {digits}.5e-200000}}")),
        ("params", format!("{{\"float\": 0.{digits}}}")),
        ("params", format!("{{\"exp\": 1e{digits}}}")),
        ("qty", digits.clone()),
        ("qty", format!("\"{digits}\"")),
        ("qty", format!("\"1e{digits}\"")),
        ("qty", format!("\"1e-{digits}\"")),
        ("qty", format!("{digits}.0")),
        ("event_ts", digits.clone()),
        ("event_ts", format!("\"{digits}\"")),
        ("event_ts", format!("\"{digits}.5\"")),
        ("event_ts", format!("1e{digits}")),
    ] {
        let text = valid_decision().replacen('{', &format!("{{\"{field}\": {value}, "), 1);
        check(&text);
    }
    // A decimal string with many digits keeps them all.
    let text = valid_decision().replace("\"2.50\"", &format!("\"{digits}.25\""));
    assert!(canonical_text(&text)
        .unwrap()
        .contains(&format!("\"qty\":\"{digits}.25\"")));
}
