//! Suppression comments: placement, lists, and what they cannot do.

use torghut_lint::Severity;

use crate::{lint, only, rules_of};

#[test]
fn one_comment_may_name_several_rules() {
    let sql = "-- torghut-lint: allow renaming-column, ban-drop-column reason: the column moved in 2024.05\nALTER TABLE t RENAME COLUMN a TO b, DROP COLUMN c;\n";
    let report = lint(sql);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.suppressed().count(), 2);
}

#[test]
fn several_comments_may_precede_one_statement() {
    let sql = "-- torghut-lint: allow renaming-column reason: r1\n-- a note\n-- torghut-lint: allow ban-drop-column reason: r2\nALTER TABLE t RENAME COLUMN a TO b, DROP COLUMN c;\n";
    let report = lint(sql);
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        only(&report, "renaming-column").suppressed.as_deref(),
        Some("r1")
    );
    assert_eq!(
        only(&report, "ban-drop-column").suppressed.as_deref(),
        Some("r2")
    );
}

#[test]
fn a_comment_after_code_on_the_same_line_is_invalid() {
    let sql = "ALTER TABLE t DROP COLUMN c; -- torghut-lint: allow ban-drop-column reason: r\nSELECT 1;\n";
    let report = lint(sql);
    assert_eq!(
        rules_of(&report),
        ["ban-drop-column", "invalid-suppression"]
    );
    assert!(report.suppressed().next().is_none());
}

#[test]
fn a_comment_inside_a_statement_is_invalid() {
    let sql =
        "ALTER TABLE t\n  -- torghut-lint: allow ban-drop-column reason: r\n  DROP COLUMN c;\n";
    let report = lint(sql);
    only(&report, "invalid-suppression");
    assert_eq!(only(&report, "ban-drop-column").suppressed, None);
}

#[test]
fn a_block_comment_is_invalid() {
    let sql = "/* torghut-lint: allow ban-drop-column reason: r */\nALTER TABLE t DROP COLUMN c;\n";
    let report = lint(sql);
    only(&report, "invalid-suppression");
    assert!(!report.is_clean());
}

#[test]
fn a_comment_with_nothing_after_it_is_unused() {
    let report = lint("SELECT 1;\n-- torghut-lint: allow ban-drop-column reason: r\n");
    let v = only(&report, "unused-suppression");
    assert_eq!(v.severity, Severity::Warning);
    assert_eq!(v.line, 2);
    assert!(report.is_clean());
}

#[test]
fn meta_rules_cannot_be_suppressed() {
    let report = lint("-- torghut-lint: allow syntax-error reason: r\nCREATE TABLE (;\n");
    only(&report, "unknown-rule-in-suppression");
    assert!(report.by_rule("syntax-error").count() > 0);
    assert!(report.suppressed().next().is_none());
    assert!(!report.is_clean());
}

#[test]
fn malformed_comments_are_invalid() {
    for comment in [
        "-- torghut-lint: deny ban-drop-column reason: r",
        "-- torghut-lint allow ban-drop-column reason: r",
        "-- torghut-lint: allow reason: r",
        "-- torghut-lint:",
    ] {
        let report = lint(&format!("{comment}\nALTER TABLE t DROP COLUMN c;\n"));
        only(&report, "invalid-suppression");
        assert_eq!(
            only(&report, "ban-drop-column").suppressed,
            None,
            "{comment}"
        );
    }
}

#[test]
fn rule_aliases_are_accepted() {
    let sql = "-- torghut-lint: allow prefer-timestamptz reason: matches the upstream feed\nCREATE TABLE t (at timestamp);\n";
    let report = lint(sql);
    assert_eq!(
        only(&report, "prefer-timestamp-tz").suppressed.as_deref(),
        Some("matches the upstream feed")
    );
    assert!(report.violations.len() == 1, "{report}");
}

#[test]
fn own_rules_can_be_suppressed() {
    let sql = "-- torghut-lint: allow ban-non-transactional-statement-in-transaction reason: r\nVACUUM t;\n";
    let report = lint(sql);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.suppressed().count(), 1);
}
