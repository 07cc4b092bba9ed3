//! Depth and size bounds: exact edges, no stack overflow on any nesting.

use serde_json::Value;
use torghut_json::{
    AuditJson, AuditValue, JsonErrorReason, JsonPolicy, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH,
    MAX_BYTES_CEILING, MAX_DEPTH_CEILING,
};

fn nested_text(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_value(depth: usize) -> Value {
    let mut v = Value::Array(vec![]);
    for _ in 1..depth {
        v = Value::Array(vec![v]);
    }
    v
}

fn nested_audit(depth: usize) -> AuditValue {
    let mut v = AuditValue::Object(vec![]);
    for _ in 1..depth {
        v = AuditValue::object([("a", v)]);
    }
    v
}

fn zeros_path(n: usize) -> String {
    format!("${}", "[0]".repeat(n))
}

#[test]
fn default_depth_is_64_inclusive() {
    let p = JsonPolicy::default();
    assert_eq!(p.max_depth, DEFAULT_MAX_DEPTH);
    assert_eq!(DEFAULT_MAX_DEPTH, 64);

    assert!(AuditJson::from_text(&nested_text(64), &p).is_ok());
    assert!(AuditJson::from_value(&nested_value(64), &p).is_ok());
    assert!(AuditJson::from_serialize(&nested_value(64), &p).is_ok());
    assert!(AuditJson::from_audit_value(&nested_audit(64), &p).is_ok());

    let want_path = zeros_path(64);
    for err in [
        AuditJson::from_text(&nested_text(65), &p).unwrap_err(),
        AuditJson::from_value(&nested_value(65), &p).unwrap_err(),
        AuditJson::from_serialize(&nested_value(65), &p).unwrap_err(),
    ] {
        assert_eq!(err.reason, JsonErrorReason::TooDeep { max: 64 });
        assert_eq!(err.path, want_path);
    }
    let err = AuditJson::from_audit_value(&nested_audit(65), &p).unwrap_err();
    assert_eq!(err.reason, JsonErrorReason::TooDeep { max: 64 });
    assert_eq!(err.path, format!("${}", ".a".repeat(64)));
    assert!(err.to_string().ends_with(": nesting deeper than 64 levels"));

    // A scalar has depth 0; a limit of 0 allows only scalars.
    let flat = JsonPolicy::default().depth_limit(0);
    assert!(AuditJson::from_text("1", &flat).is_ok());
    assert_eq!(
        AuditJson::from_text("[]", &flat).unwrap_err().reason,
        JsonErrorReason::TooDeep { max: 0 }
    );
}

#[test]
fn hostile_nesting_does_not_overflow_the_stack() {
    let p = JsonPolicy::default();
    for raw in [
        "[".repeat(100_000),
        nested_text(100_000),
        "{\"a\":".repeat(100_000),
        "[{\"a\":".repeat(50_000),
    ] {
        let err = AuditJson::from_text(&raw, &p).unwrap_err();
        assert_eq!(err.reason, JsonErrorReason::TooDeep { max: 64 });
    }
    // Whatever the policy says, nesting stops at the ceiling.
    let unbounded = JsonPolicy::default().depth_limit(usize::MAX);
    assert_eq!(unbounded.effective_max_depth(), MAX_DEPTH_CEILING);
    let err = AuditJson::from_text(&"[".repeat(100_000), &unbounded).unwrap_err();
    assert_eq!(
        err.reason,
        JsonErrorReason::TooDeep {
            max: MAX_DEPTH_CEILING
        }
    );
    assert!(!torghut_json::json_semantic_eq(
        &nested_text(100_000),
        &nested_text(100_000)
    ));
}

/// The deepest payload any policy allows goes through every constructor, and compares, on a
/// quarter of a 2 MiB thread stack (the size of tokio's worker stacks), even unoptimised.
#[test]
fn ceiling_depth_fits_a_quarter_of_a_thread_stack() {
    let n = MAX_DEPTH_CEILING;
    let text = nested_text(n);
    let value = nested_value(n);
    let audit = nested_audit(n);
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let p = JsonPolicy::default().depth_limit(n);
            let (a, _) = AuditJson::from_text(&text, &p).unwrap();
            let (b, _) = AuditJson::from_value(&value, &p).unwrap();
            let (c, _) = AuditJson::from_serialize(&value, &p).unwrap();
            let (d, _) = AuditJson::from_audit_value(&audit, &p).unwrap();
            assert_eq!(a, b);
            assert_eq!(b, c);
            assert!(a.semantic_eq_text(&text));
            assert!(d.to_value() == audit);
            assert!(AuditJson::from_text(&nested_text(n + 1), &p).is_err());
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn size_is_measured_on_the_canonical_text() {
    let p = JsonPolicy::default();
    assert_eq!(p.max_bytes, DEFAULT_MAX_BYTES);
    assert_eq!(DEFAULT_MAX_BYTES, 1_048_576);

    // `"` + n + `"`: exactly the limit is fine, one more byte is not.
    let at_limit = Value::String("x".repeat(DEFAULT_MAX_BYTES - 2));
    let (j, _) = AuditJson::from_value(&at_limit, &p).unwrap();
    assert_eq!(j.byte_len(), DEFAULT_MAX_BYTES);
    let over = Value::String("x".repeat(DEFAULT_MAX_BYTES - 1));
    let err = AuditJson::from_value(&over, &p).unwrap_err();
    assert_eq!(err.path, "$");
    assert_eq!(
        err.reason,
        JsonErrorReason::TooLarge {
            max: DEFAULT_MAX_BYTES,
            actual: DEFAULT_MAX_BYTES + 1
        }
    );
    assert_eq!(
        err.to_string(),
        "$: payload of 1048577 bytes exceeds the limit of 1048576 bytes"
    );

    // Whitespace in raw text does not count; escapes and expanded numbers do.
    let small = JsonPolicy::default().size_limit(10);
    assert_eq!(
        AuditJson::from_text("[ 1 ,\n\n 2 ,   3 ]", &small)
            .unwrap()
            .0
            .as_str(),
        "[1,2,3]"
    );
    assert_eq!(
        AuditJson::from_text("1e10", &small).unwrap_err().reason,
        JsonErrorReason::TooLarge {
            max: 10,
            actual: 11
        }
    );
    assert_eq!(
        AuditJson::from_text(r#""\n\n\n\n""#, &small)
            .unwrap()
            .0
            .as_str(),
        r#""\n\n\n\n""#
    );
    assert_eq!(
        AuditJson::from_text("\"\\u0001\\u0001\"", &small)
            .unwrap_err()
            .reason,
        JsonErrorReason::TooLarge {
            max: 10,
            actual: 14
        }
    );

    // Content problems are reported before size.
    let err = AuditJson::from_text(r#"["xxxxxxxxxxxxxxxxxxxx", "\u0000"]"#, &small).unwrap_err();
    assert_eq!(err.reason, JsonErrorReason::NulCharacter);
}

#[test]
fn size_ceiling_applies_whatever_the_policy() {
    let p = JsonPolicy::default().size_limit(usize::MAX);
    assert_eq!(p.effective_max_bytes(), MAX_BYTES_CEILING);
    let huge = Value::String("y".repeat(MAX_BYTES_CEILING));
    let err = AuditJson::from_value(&huge, &p).unwrap_err();
    assert_eq!(
        err.reason,
        JsonErrorReason::TooLarge {
            max: MAX_BYTES_CEILING,
            actual: MAX_BYTES_CEILING + 2
        }
    );
}

#[test]
fn debug_is_truncated() {
    let (j, _) =
        AuditJson::from_value(&Value::String("z".repeat(10_000)), &JsonPolicy::default()).unwrap();
    let shown = format!("{j:?}");
    assert!(shown.len() < 400, "{}", shown.len());
    assert!(shown.contains("10002 bytes"), "{shown}");
    let (j, _) = AuditJson::from_text("[1,2]", &JsonPolicy::default()).unwrap();
    assert_eq!(format!("{j:?}"), r#"AuditJson("[1,2]")"#);
    // Cut at a character boundary.
    let (j, _) =
        AuditJson::from_value(&Value::String("é".repeat(1_000)), &JsonPolicy::default()).unwrap();
    assert!(format!("{j:?}").contains("bytes"));
}
