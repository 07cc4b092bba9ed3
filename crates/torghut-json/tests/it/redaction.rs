//! Redaction: which values, how many, where, and before the size check.

use serde_json::json;
use torghut_json::{
    AuditJson, JsonErrorReason, JsonPolicy, Redactions, DEFAULT_REDACT_KEYS, REDACTED,
};

#[test]
fn default_names_case_insensitive_at_any_depth_any_type() {
    let v = json!({
        "Authorization": "Bearer abc",
        "request": {
            "headers": [{"COOKIE": "s=1"}, {"x": 1}],
            "api_KEY": {"nested": ["anything"]},
            "Password": null,
            "token": 12345,
        },
        "dsn": ["postgres://u:p@h/db"],
        "my_token": "not a whole-name match",
        "secrets": "plural is another name",
    });
    let (j, r) = AuditJson::from_value(&v, &JsonPolicy::default()).unwrap();
    assert_eq!(r.count, 6);
    assert_eq!(
        r.paths,
        [
            "$.Authorization",
            "$.request.headers[0].COOKIE",
            "$.request.api_KEY",
            "$.request.Password",
            "$.request.token",
            "$.dsn",
        ]
    );
    assert_eq!(
        j.as_str(),
        r#"{"Authorization":"[REDACTED]","request":{"headers":[{"COOKIE":"[REDACTED]"},{"x":1}],"api_KEY":"[REDACTED]","Password":"[REDACTED]","token":"[REDACTED]"},"dsn":"[REDACTED]","my_token":"not a whole-name match","secrets":"plural is another name"}"#
    );
    for secret in ["Bearer abc", "s=1", "anything", "12345", "postgres://"] {
        assert!(!j.as_str().contains(secret), "{secret}");
        assert!(!format!("{j:?}").contains(secret), "{secret}");
    }
    assert_eq!(REDACTED, "[REDACTED]");
}

#[test]
fn every_default_name_is_redacted() {
    for key in DEFAULT_REDACT_KEYS {
        for spelled in [key.to_owned(), key.to_uppercase()] {
            let (j, r) =
                AuditJson::from_value(&json!({ spelled.clone(): "v" }), &JsonPolicy::default())
                    .unwrap();
            assert_eq!(r.count, 1, "{spelled}");
            assert_eq!(j.as_str(), format!(r#"{{"{spelled}":"[REDACTED]"}}"#));
        }
    }
}

#[test]
fn unicode_case_folding() {
    let policy = JsonPolicy::with_redact_keys(["Passwörd"]);
    let (_, r) =
        AuditJson::from_text(r#"{"PASSWÖRD": 1, "passwörd": 2, "PASSWORD": 3}"#, &policy).unwrap();
    assert_eq!(r.paths, [r#"$["PASSWÖRD"]"#, r#"$["passwörd"]"#]);
}

#[test]
fn configurable_names() {
    let extra = JsonPolicy::with_extra_redact_keys(["X-Api-Key"]);
    let (_, r) = AuditJson::from_text(r#"{"x-api-key": "k", "token": "t"}"#, &extra).unwrap();
    assert_eq!(r.count, 2);

    let only = JsonPolicy::with_redact_keys(["account_number"]);
    let (j, r) = AuditJson::from_text(r#"{"Account_Number": "123", "token": "t"}"#, &only).unwrap();
    assert_eq!(r.paths, ["$.Account_Number"]);
    assert_eq!(j.as_str(), r#"{"Account_Number":"[REDACTED]","token":"t"}"#);

    let none = JsonPolicy::with_redact_keys(Vec::<String>::new());
    let (_, r) = AuditJson::from_text(r#"{"token": "t"}"#, &none).unwrap();
    assert_eq!(r, Redactions::default());
    assert!(r.is_empty());
}

#[test]
fn redacted_values_are_not_inspected() {
    // What would be refused elsewhere is dropped unseen under a redacted name.
    let raw = r#"{"secret": {"a": "\u0000", "a": 1e999999999, "b": [1, 2]}, "ok": 1}"#;
    let (j, r) = AuditJson::from_text(raw, &JsonPolicy::default()).unwrap();
    assert_eq!(j.as_str(), r#"{"secret":"[REDACTED]","ok":1}"#);
    assert_eq!(r.count, 1);

    #[derive(serde::Serialize)]
    struct Creds {
        password: f64,
        user: String,
    }
    let (j, _) = AuditJson::from_serialize(
        &Creds {
            password: f64::NAN,
            user: "u".into(),
        },
        &JsonPolicy::default(),
    )
    .unwrap();
    assert_eq!(j.as_str(), r#"{"password":"[REDACTED]","user":"u"}"#);

    // Nesting is structural and is still bounded under a redacted name.
    let deep = format!("{{\"token\": {}1{}}}", "[".repeat(64), "]".repeat(64));
    let err = AuditJson::from_text(&deep, &JsonPolicy::default()).unwrap_err();
    assert_eq!(err.reason, JsonErrorReason::TooDeep { max: 64 });
}

#[test]
fn redaction_happens_before_the_size_check() {
    let big = "x".repeat(2_000);
    let policy = JsonPolicy::default().size_limit(100);
    let (j, r) = AuditJson::from_value(&json!({"token": big, "n": 1}), &policy).unwrap();
    assert_eq!(j.as_str(), r#"{"token":"[REDACTED]","n":1}"#);
    assert_eq!(r.count, 1);
    let err = AuditJson::from_value(&json!({"note": big}), &policy).unwrap_err();
    assert_eq!(
        err.reason,
        JsonErrorReason::TooLarge {
            max: 100,
            actual: 2_011
        }
    );
}
