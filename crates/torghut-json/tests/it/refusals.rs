//! Each refusal, with its exact path and reason, and what its message shows.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use torghut_json::{
    audit_array, audit_object, AuditJson, AuditValue, JsonError, JsonErrorReason, JsonPolicy,
    NonFiniteKind,
};

fn text_err(raw: &str) -> JsonError {
    AuditJson::from_text(raw, &JsonPolicy::default()).expect_err(raw)
}

fn value_err(v: &AuditValue) -> JsonError {
    AuditJson::from_audit_value(v, &JsonPolicy::default()).expect_err("refused")
}

#[derive(Serialize)]
struct Params {
    levels: Vec<f64>,
}

#[derive(Serialize)]
struct Decision {
    symbol: &'static str,
    params: Params,
}

#[test]
fn nan_in_a_typed_struct_names_its_path() {
    let d = Decision {
        symbol: "AAPL",
        params: Params {
            levels: vec![1.0, 2.0, 3.0, f64::NAN],
        },
    };
    let err = AuditJson::from_serialize(&d, &JsonPolicy::default()).unwrap_err();
    assert_eq!(err.path, "$.params.levels[3]");
    assert_eq!(err.reason, JsonErrorReason::NonFinite(NonFiniteKind::NaN));
    assert_eq!(err.to_string(), "$.params.levels[3]: NaN is not valid JSON");
}

#[test]
fn infinities_in_typed_structs_and_built_values() {
    let mut m = BTreeMap::new();
    m.insert("we ird", vec![f32::INFINITY]);
    let err = AuditJson::from_serialize(&m, &JsonPolicy::default()).unwrap_err();
    assert_eq!(err.path, r#"$["we ird"][0]"#);
    assert_eq!(
        err.reason,
        JsonErrorReason::NonFinite(NonFiniteKind::Infinity)
    );
    assert_eq!(
        err.to_string(),
        r#"$["we ird"][0]: Infinity is not valid JSON"#
    );

    let v = audit_object! { "x" => audit_array![1, f64::NEG_INFINITY] };
    let err = value_err(&v);
    assert_eq!(err.path, "$.x[1]");
    assert_eq!(
        err.reason,
        JsonErrorReason::NonFinite(NonFiniteKind::NegInfinity)
    );

    // A NaN map key is refused too.
    let mut keyed = std::collections::HashMap::new();
    keyed.insert(ordered(f64::NAN), 1);
    let err = AuditJson::from_serialize(&keyed, &JsonPolicy::default()).unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.reason),
        ("$", JsonErrorReason::NonFinite(NonFiniteKind::NaN))
    );
}

/// An f64 usable as a map key (serialized as the float).
#[derive(Serialize, PartialEq, Eq, Hash)]
struct Key(#[serde(serialize_with = "ser_bits")] u64);

fn ordered(x: f64) -> Key {
    Key(x.to_bits())
}

fn ser_bits<S: serde::Serializer>(bits: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(f64::from_bits(*bits))
}

#[test]
fn serde_json_value_cannot_carry_nan_but_from_serialize_of_a_struct_can() {
    // serde_json turns NaN into null before this crate sees it: documented, not detectable.
    let v = json!({ "x": f64::NAN });
    assert_eq!(v["x"], serde_json::Value::Null);
    #[derive(Serialize)]
    struct S {
        x: f64,
    }
    let err = AuditJson::from_serialize(&S { x: f64::NAN }, &JsonPolicy::default()).unwrap_err();
    assert_eq!(err.path, "$.x");
}

#[test]
fn nul_characters() {
    let err = text_err(r#"{"a": ["ok", "x\u0000y"]}"#);
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$.a[1]", &JsonErrorReason::NulCharacter)
    );

    let err = text_err(r#"{"a": {"k\u0000": 1}}"#);
    assert_eq!(
        (err.path.as_str(), &err.reason),
        (r#"$.a["k\u0000"]"#, &JsonErrorReason::NulCharacter)
    );

    let err = AuditJson::from_value(&json!({"s": "a\0b"}), &JsonPolicy::default()).unwrap_err();
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$.s", &JsonErrorReason::NulCharacter)
    );

    #[derive(Serialize)]
    struct S {
        notes: Vec<String>,
    }
    let s = S {
        notes: vec!["fine".into(), "\0".into()],
    };
    let err = AuditJson::from_serialize(&s, &JsonPolicy::default()).unwrap_err();
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$.notes[1]", &JsonErrorReason::NulCharacter)
    );
    assert_eq!(
        err.to_string(),
        "$.notes[1]: a NUL character (U+0000) cannot be stored in jsonb"
    );
}

#[test]
fn lone_surrogates() {
    let err = text_err(r#"{"a": {"b": "x\ud800"}}"#);
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$.a.b", &JsonErrorReason::LoneSurrogate)
    );
    let err = text_err(r#"{"a": ["\udfff"]}"#);
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$.a[0]", &JsonErrorReason::LoneSurrogate)
    );
    let err = text_err(r#"["\ud83d\u0041"]"#);
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$[0]", &JsonErrorReason::LoneSurrogate)
    );
    let err = text_err(r#"["\uD83D\uD83D"]"#);
    assert_eq!(err.reason, JsonErrorReason::LoneSurrogate);
    // In a member name: the object's path.
    let err = text_err(r#"{"a": {"\udc00": 1}}"#);
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$.a", &JsonErrorReason::LoneSurrogate)
    );
    // Even under a redacted name: the text is not Unicode, so it is not JSON to redact.
    let err = text_err(r#"{"password": "\ud800"}"#);
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$.password", &JsonErrorReason::LoneSurrogate)
    );
    // A proper pair, in either case of hex digits, is fine.
    let (j, _) =
        AuditJson::from_text(r#"["\ud83d\ude00\uD83D\uDE00"]"#, &JsonPolicy::default()).unwrap();
    assert_eq!(j.as_str(), "[\"😀😀\"]");
}

#[test]
fn duplicate_keys_name_the_key_not_the_value() {
    let err = text_err(r#"{"a": {"x": 1, "y": 2, "x": 3}}"#);
    assert_eq!(err.path, "$.a");
    assert_eq!(err.reason, JsonErrorReason::DuplicateKey("x".into()));
    assert_eq!(err.to_string(), r#"$.a: duplicate key "x""#);

    // Equal after unescaping.
    let err = text_err(r#"{"a": 1, "\u0061": 2}"#);
    assert_eq!(err.reason, JsonErrorReason::DuplicateKey("a".into()));

    // A repeated secret: the name is given, neither value.
    let err = text_err(r#"{"token": "s3cr3t-one", "token": "s3cr3t-two"}"#);
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$", &JsonErrorReason::DuplicateKey("token".into()))
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");

    // Built values can repeat names too.
    let v = AuditValue::object([("k", 1), ("k", 2)]);
    assert_eq!(
        value_err(&v).reason,
        JsonErrorReason::DuplicateKey("k".into())
    );

    // Names differing only in case are distinct (as in jsonb).
    assert!(AuditJson::from_text(r#"{"a": 1, "A": 2}"#, &JsonPolicy::default()).is_ok());
}

#[test]
fn errors_never_show_values() {
    for raw in [
        r#"{"note": "hunter2\u0000"}"#,
        r#"{"note": ["hunter2", 1e99999999]}"#,
        r#"{"note": "hunter2", "x": [1,]}"#,
        r#"{"note": "hunter2\ud800"}"#,
    ] {
        let err = text_err(raw);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[test]
fn syntax_errors_give_the_offset() {
    let err = text_err(r#"{"a": [1, 2,]}"#);
    assert_eq!(err.path, "$.a[2]");
    assert!(
        matches!(err.reason, JsonErrorReason::Syntax { offset: 12, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("$.a[2]: invalid JSON at byte 12: "),
        "{err}"
    );

    for (raw, offset) in [
        ("", 0),
        ("   ", 3),
        ("{", 1),
        ("[1 2]", 3),
        ("{\"a\" 1}", 5),
        ("{'a': 1}", 1),
        ("[NaN]", 1),
        ("[Infinity]", 1),
        ("[-Infinity]", 1),
        ("[01]", 1),
        ("[1.]", 1),
        ("[.5]", 1),
        ("[+1]", 1),
        ("[\"a\tb\"]", 3),
        ("[\"\\q\"]", 2),
        ("tru", 0),
        ("nul", 0),
        ("{} {}", 3),
        ("\u{feff}{}", 0),
        ("[\"abc", 5),
    ] {
        let err = text_err(raw);
        match err.reason {
            JsonErrorReason::Syntax { offset: got, .. } => {
                assert_eq!(got, offset, "{raw:?}: {err}")
            }
            other => panic!("{raw:?}: {other:?}"),
        }
    }
}

#[test]
fn numbers_beyond_numeric() {
    let err = text_err(r#"{"p": [1, 1e131072]}"#);
    assert_eq!(
        (err.path.as_str(), &err.reason),
        ("$.p[1]", &JsonErrorReason::NumberOutOfRange)
    );
    let err = text_err(r#"{"p": 1e-16384}"#);
    assert_eq!(err.reason, JsonErrorReason::NumberOutOfRange);
    let err = text_err(r#"{"p": 0.0e-16384}"#);
    assert_eq!(err.reason, JsonErrorReason::NumberOutOfRange);
    let err = text_err("-1e999999999999999999999999");
    assert_eq!(err.reason, JsonErrorReason::NumberOutOfRange);
    // The largest ones are fine.
    assert!(AuditJson::from_text("1e131071", &JsonPolicy::default()).is_ok());
    assert!(AuditJson::from_text("-1e-16383", &JsonPolicy::default()).is_ok());
    assert!(AuditJson::from_text("0e999999999999999999999999", &JsonPolicy::default()).is_ok());
}

#[test]
fn not_an_object_when_required() {
    let policy = JsonPolicy::default().object_required();
    for raw in ["[]", "1", "\"x\"", "null", "true"] {
        let err = AuditJson::from_text(raw, &policy).unwrap_err();
        assert_eq!(
            (err.path.as_str(), &err.reason),
            ("$", &JsonErrorReason::NotAnObject),
            "{raw}"
        );
    }
    assert!(AuditJson::from_text("{}", &policy).is_ok());
    assert!(AuditJson::from_text("[]", &JsonPolicy::default()).is_ok());
    assert_eq!(
        AuditJson::from_value(&json!([1]), &policy)
            .unwrap_err()
            .reason,
        JsonErrorReason::NotAnObject
    );
}

#[test]
fn serialize_failures_carry_the_path() {
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("broken field"))
        }
    }
    #[derive(Serialize)]
    struct Outer {
        inner: Vec<Fails>,
    }
    let err = AuditJson::from_serialize(&Outer { inner: vec![Fails] }, &JsonPolicy::default())
        .unwrap_err();
    assert_eq!(err.path, "$.inner[0]");
    assert_eq!(
        err.reason,
        JsonErrorReason::Serialize("broken field".into())
    );

    // A map key that is not a string, number, boolean or unit variant.
    let mut m = BTreeMap::new();
    m.insert((1, 2), "x");
    let err = AuditJson::from_serialize(&json_wrap(m), &JsonPolicy::default()).unwrap_err();
    assert_eq!(err.path, "$.m");
    assert!(matches!(err.reason, JsonErrorReason::Serialize(_)), "{err}");
}

fn json_wrap<T: Serialize>(m: T) -> impl Serialize {
    #[derive(Serialize)]
    struct W<T> {
        m: T,
    }
    W { m }
}
