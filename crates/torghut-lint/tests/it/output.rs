//! The compiler-style rendering and the JSON form.

use crate::{lint, lint_fixture};

#[test]
fn renders_like_a_compiler() {
    let report = lint_fixture("index_non_concurrent.sql");
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "tests/fixtures/index_non_concurrent.sql:2:1: error[require-concurrent-index-creation]: During normal index creation, table updates are blocked, but reads are still allowed."
    );
    assert_eq!(
        lines[1],
        "    | CREATE INDEX ix_trade_decisions_symbol ON trade_decisions (symbol);"
    );
    assert_eq!(
        lines[2],
        "    = help: Use `concurrently` to avoid blocking writes."
    );
    assert_eq!(
        lines[3],
        "tests/fixtures/index_non_concurrent.sql: 1 error, 0 warnings, 0 suppressed"
    );
    assert_eq!(lines.len(), 4);
}

#[test]
fn renders_suppressed_findings_with_their_reason() {
    let text = lint_fixture("suppression_with_reason.sql").to_string();
    assert!(text
        .contains("tests/fixtures/suppression_with_reason.sql:3:29: allowed[ban-drop-column]: "));
    assert!(text.contains("    = reason: unused since release 2024.06, no reader left\n"));
    assert!(text.ends_with("0 errors, 0 warnings, 1 suppressed\n"));
}

#[test]
fn renders_nothing_without_findings() {
    assert_eq!(lint("SELECT 1;").to_string(), "");
}

#[test]
fn serializes_to_json() {
    let report = lint_fixture("suppression_without_reason.sql");
    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(
        json["file"],
        "tests/fixtures/suppression_without_reason.sql"
    );
    assert_eq!(json["in_transaction"], true);
    assert_eq!(json["parse_errors"], serde_json::json!([]));
    let violations = json["violations"].as_array().expect("array");
    assert_eq!(violations.len(), 2);
    let first = &violations[0];
    assert_eq!(first["rule"], "suppression-without-reason");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 1);
    assert_eq!(first["suppressed"], serde_json::Value::Null);
    assert!(first["help"].is_string());
    assert_eq!(violations[1]["rule"], "ban-drop-column");
    assert_eq!(
        violations[1]["statement"],
        "ALTER TABLE trade_decisions DROP COLUMN rationale;"
    );

    let report = lint_fixture("syntax_error.sql");
    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(json["parse_errors"][0]["line"], 3);
    assert_eq!(json["parse_errors"][0]["column"], 33);
}
