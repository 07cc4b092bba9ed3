//! Integration tests of `torghut-lint`: fixture files, the legacy migrations, options,
//! suppressions, rendering, and robustness on arbitrary input.

mod fixtures;
mod legacy;
mod options;
mod output;
mod props;
mod suppressions;

use std::path::PathBuf;

use torghut_lint::{lint_sql, LintOptions, LintReport, Violation};

/// The fixture directory.
fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Lints `tests/fixtures/<name>` with the default options.
fn lint_fixture(name: &str) -> LintReport {
    lint_fixture_with(name, &LintOptions::default())
}

fn lint_fixture_with(name: &str, opts: &LintOptions) -> LintReport {
    let path = fixture_dir().join(name);
    let sql = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    lint_sql(&format!("tests/fixtures/{name}"), &sql, opts)
}

/// Lints a snippet with the default options.
fn lint(sql: &str) -> LintReport {
    lint_sql("test.sql", sql, &LintOptions::default())
}

/// The rule codes of the report's findings, in order.
fn rules_of(report: &LintReport) -> Vec<&str> {
    report.violations.iter().map(|v| v.rule.as_str()).collect()
}

/// The only finding of `rule`, failing with the whole report otherwise.
fn only<'a>(report: &'a LintReport, rule: &str) -> &'a Violation {
    let found: Vec<&Violation> = report.by_rule(rule).collect();
    assert_eq!(found.len(), 1, "expected one `{rule}` in:\n{report}");
    found[0]
}

/// Asserts a report has no findings at all (not even warnings or suppressed ones).
fn assert_no_findings(report: &LintReport) {
    assert!(
        report.violations.is_empty() && report.parse_errors.is_empty(),
        "expected no findings, got:\n{report}"
    );
    assert!(report.is_clean());
}
