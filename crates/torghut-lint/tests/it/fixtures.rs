//! One fixture file per situation the lint must get right.

use torghut_lint::Severity;

use crate::{assert_no_findings, lint_fixture, only, rules_of};

#[test]
fn non_concurrent_index_on_existing_table_is_an_error() {
    let report = lint_fixture("index_non_concurrent.sql");
    assert!(!report.is_clean());
    assert!(report.in_transaction);
    let v = only(&report, "require-concurrent-index-creation");
    assert_eq!(v.severity, Severity::Error);
    assert_eq!((v.line, v.column), (2, 1));
    assert_eq!(
        v.statement,
        "CREATE INDEX ix_trade_decisions_symbol ON trade_decisions (symbol);"
    );
    assert!(v.help.as_deref().unwrap().contains("concurrently"));
    assert_eq!(rules_of(&report), ["require-concurrent-index-creation"]);
}

#[test]
fn concurrent_index_in_no_transaction_migration_is_clean() {
    let report = lint_fixture("index_concurrent_no_transaction.sql");
    assert!(!report.in_transaction);
    assert_no_findings(&report);
}

#[test]
fn concurrent_index_without_the_marker_is_an_error() {
    let report = lint_fixture("index_concurrent_in_transaction.sql");
    assert!(!report.is_clean());
    let v = only(&report, "ban-concurrent-index-creation-in-transaction");
    assert_eq!(v.severity, Severity::Error);
    // Points at `CONCURRENTLY`.
    assert_eq!((v.line, v.column), (2, 14));
    assert!(v.message.contains("-- torghut:no-transaction"));
    assert!(v
        .help
        .as_deref()
        .unwrap()
        .contains("-- torghut:no-transaction"));
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn add_column_not_null_without_default_is_an_error() {
    let report = lint_fixture("add_column_not_null.sql");
    assert!(!report.is_clean());
    let v = only(&report, "adding-required-field");
    assert_eq!((v.line, v.column), (3, 5));
    assert_eq!(
        v.statement,
        "ALTER TABLE executions ADD COLUMN venue text NOT NULL;"
    );
}

#[test]
fn add_column_not_null_with_constant_default_is_clean() {
    assert_no_findings(&lint_fixture("add_column_not_null_default.sql"));
}

#[test]
fn set_not_null_on_existing_table_is_an_error() {
    let report = lint_fixture("set_not_null.sql");
    assert!(!report.is_clean());
    only(&report, "adding-not-nullable-field");
}

#[test]
fn foreign_key_without_not_valid_is_an_error() {
    let report = lint_fixture("fk_without_not_valid.sql");
    assert!(!report.is_clean());
    let v = only(&report, "adding-foreign-key-constraint");
    assert_eq!(v.line, 4);
    only(&report, "constraint-missing-not-valid");
}

#[test]
fn foreign_key_not_valid_then_validate_in_a_later_migration_is_clean() {
    assert_no_findings(&lint_fixture("fk_not_valid.sql"));
    assert_no_findings(&lint_fixture("fk_validate.sql"));
}

#[test]
fn foreign_key_not_valid_then_validate_outside_a_transaction_is_clean() {
    let report = lint_fixture("fk_not_valid_then_validate_no_transaction.sql");
    assert!(!report.in_transaction);
    assert_no_findings(&report);
}

#[test]
fn foreign_key_not_valid_then_validate_in_one_transaction_is_an_error() {
    let report = lint_fixture("fk_not_valid_then_validate_same_transaction.sql");
    let v = only(&report, "constraint-missing-not-valid");
    assert_eq!(v.line, 5);
    assert!(v.message.contains("same transaction"));
    assert!(!report.is_clean());
}

#[test]
fn check_constraint_without_not_valid_is_an_error() {
    let report = lint_fixture("check_without_not_valid.sql");
    assert!(!report.is_clean());
    only(&report, "constraint-missing-not-valid");
}

#[test]
fn new_table_with_constraints_and_indexes_is_clean() {
    assert_no_findings(&lint_fixture("create_table_with_constraints.sql"));
}

#[test]
fn syntax_error_is_reported_with_its_line() {
    let report = lint_fixture("syntax_error.sql");
    assert!(!report.is_clean());
    assert_eq!(report.parse_errors.len(), 1, "{report}");
    let e = &report.parse_errors[0];
    assert_eq!((e.line, e.column), (3, 33));
    assert!(e.message.contains("expected"));
    let v = only(&report, "syntax-error");
    assert_eq!((v.line, v.column), (3, 33));
    assert_eq!(v.severity, Severity::Error);
    assert_eq!(v.message, e.message);
    assert_eq!(v.statement, "ALTER TABLE ok_table ADD COLUMN ;");
}

#[test]
fn suppression_with_reason_suppresses_and_is_clean() {
    let report = lint_fixture("suppression_with_reason.sql");
    assert!(report.is_clean(), "{report}");
    let v = only(&report, "ban-drop-column");
    assert_eq!(v.line, 3);
    assert_eq!(
        v.suppressed.as_deref(),
        Some("unused since release 2024.06, no reader left")
    );
    assert_eq!(report.violations.len(), 1);
}

#[test]
fn suppression_without_reason_is_a_violation_and_suppresses_nothing() {
    let report = lint_fixture("suppression_without_reason.sql");
    assert!(!report.is_clean());
    let meta = only(&report, "suppression-without-reason");
    assert_eq!((meta.line, meta.column), (2, 1));
    assert_eq!(meta.severity, Severity::Error);
    let v = only(&report, "ban-drop-column");
    assert_eq!(v.suppressed, None);
}

#[test]
fn suppression_with_unknown_rule_is_a_violation_and_suppresses_nothing() {
    let report = lint_fixture("suppression_unknown_rule.sql");
    assert!(!report.is_clean());
    let meta = only(&report, "unknown-rule-in-suppression");
    assert!(meta.message.contains("ban-drop-colum"));
    assert_eq!(only(&report, "ban-drop-column").suppressed, None);
}

#[test]
fn suppression_naming_an_idle_rule_is_an_unused_warning() {
    let report = lint_fixture("suppression_unused.sql");
    assert!(report.is_clean(), "{report}");
    let unused = only(&report, "unused-suppression");
    assert_eq!(unused.severity, Severity::Warning);
    assert!(unused.message.contains("ban-drop-table"));
    assert!(only(&report, "ban-drop-column").suppressed.is_some());
}

#[test]
fn suppression_applies_to_the_next_statement_only() {
    let report = lint_fixture("suppression_scope.sql");
    assert!(!report.is_clean());
    let drops: Vec<_> = report.by_rule("ban-drop-column").collect();
    assert_eq!(drops.len(), 2);
    assert_eq!(drops[0].line, 2);
    assert!(drops[0].suppressed.is_some());
    assert_eq!(drops[1].line, 3);
    assert!(drops[1].suppressed.is_none());
}

#[test]
fn squawk_ignore_comments_are_not_honoured() {
    let report = lint_fixture("squawk_ignore.sql");
    assert!(!report.is_clean());
    only(&report, "squawk-directive");
    assert_eq!(only(&report, "ban-drop-column").suppressed, None);
}

#[test]
fn row_changes_are_errors_outside_a_backfill_and_allowed_in_one() {
    let report = lint_fixture("update_outside_backfill.sql");
    assert_eq!(
        rules_of(&report),
        [
            "ban-row-changes-outside-backfill",
            "ban-row-changes-outside-backfill"
        ]
    );
    let v = &report.violations[0];
    assert_eq!(v.severity, Severity::Error);
    assert_eq!((v.line, v.column), (2, 1));
    assert!(
        v.message.starts_with("`UPDATE` changes rows"),
        "{}",
        v.message
    );
    assert!(v.help.as_deref().unwrap().contains("-- torghut:backfill"));
    assert_eq!(
        (report.violations[1].line, report.violations[1].column),
        (3, 1)
    );

    let report = lint_fixture("update_in_backfill.sql");
    assert!(report.is_clean(), "{report}");
}

#[test]
fn row_changes_nested_in_a_statement_and_truncate_are_errors_too() {
    let report = lint_fixture("row_changes_nested.sql");
    let found: Vec<_> = report
        .by_rule("ban-row-changes-outside-backfill")
        .map(|v| (v.line, v.column, v.message.split('`').nth(1).unwrap_or("")))
        .collect();
    assert_eq!(
        found,
        [(2, 1, "TRUNCATE"), (3, 15, "DELETE"), (5, 16, "UPDATE")],
        "{report}"
    );
    let truncate = &report.violations[0];
    assert!(
        truncate.message.contains("every row of the table"),
        "{}",
        truncate.message
    );
}

#[test]
fn table_rewrites_are_errors() {
    let report = lint_fixture("table_rewrite.sql");
    let found: Vec<_> = report
        .by_rule("ban-table-rewrite")
        .map(|v| (v.line, v.message.split('`').nth(1).unwrap_or("")))
        .collect();
    assert_eq!(
        found,
        [
            (3, "CLUSTER"),
            (4, "VACUUM FULL"),
            (5, "VACUUM FULL"),
            (6, "SET UNLOGGED"),
            (7, "SET LOGGED"),
            (8, "SET TABLESPACE")
        ],
        "{report}"
    );
}
