//! Options: the default rule set, exclusions, inclusions, grading, transaction mode, timeouts.

use torghut_lint::{
    has_no_transaction_marker, lint_sql, LintOptions, Severity, DEFAULT_WARNING_RULES,
};

use crate::{lint, only, rules_of};

#[test]
fn default_rule_set() {
    let enabled = LintOptions::default().enabled_rules();
    for rule in [
        "require-concurrent-index-creation",
        "require-concurrent-index-deletion",
        "adding-not-nullable-field",
        "adding-required-field",
        "adding-foreign-key-constraint",
        "constraint-missing-not-valid",
        "changing-column-type",
        "renaming-column",
        "renaming-table",
        "ban-drop-column",
        "ban-drop-table",
        "ban-concurrent-index-creation-in-transaction",
        "ban-non-transactional-statement-in-transaction",
        "transaction-nesting",
    ] {
        assert!(enabled.iter().any(|r| r == rule), "{rule} not enabled");
    }
    for rule in [
        "prefer-robust-stmts",
        "require-lock-timeout",
        "require-statement-timeout",
        "require-timeout-settings",
        "ban-drop-index",
    ] {
        assert!(!enabled.iter().any(|r| r == rule), "{rule} enabled");
    }
    let mut sorted = enabled.clone();
    sorted.sort();
    assert_eq!(sorted, enabled);
}

#[test]
fn timeouts_are_left_to_the_engine_unless_told_otherwise() {
    let sql = "ALTER TABLE t ADD COLUMN c text;";
    assert!(lint(sql).violations.is_empty());
    let opts = LintOptions {
        engine_sets_timeouts: false,
        ..LintOptions::default()
    };
    let report = lint_sql("t.sql", sql, &opts);
    assert_eq!(
        rules_of(&report),
        ["require-lock-timeout", "require-statement-timeout"]
    );
    let with_timeouts =
        "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\n".to_string() + sql;
    assert!(lint_sql("t.sql", &with_timeouts, &opts)
        .violations
        .is_empty());
}

#[test]
fn prefer_robust_stmts_is_off_by_default_and_can_be_turned_on() {
    // Squawk only applies it outside transactions.
    let sql = "-- torghut:no-transaction\nCREATE TABLE t (id bigint PRIMARY KEY);";
    assert!(lint(sql).violations.is_empty());
    let opts = LintOptions {
        excluded_rules: Vec::new(),
        ..LintOptions::default()
    };
    let report = lint_sql("t.sql", sql, &opts);
    assert_eq!(rules_of(&report), ["prefer-robust-stmts"]);
}

#[test]
fn excluded_rules_are_not_reported() {
    let sql = "ALTER TABLE t DROP COLUMN c;";
    let mut opts = LintOptions::default();
    opts.excluded_rules.push("ban-drop-column".to_string());
    assert!(lint_sql("t.sql", sql, &opts).violations.is_empty());

    let mut opts = LintOptions::default();
    opts.excluded_rules
        .push("ban-concurrent-index-creation-in-transaction".to_string());
    let report = lint_sql("t.sql", "CREATE INDEX CONCURRENTLY i ON t (a);", &opts);
    assert!(report.violations.is_empty(), "{report}");
}

#[test]
fn opt_in_rules_can_be_included() {
    let sql = "DROP INDEX CONCURRENTLY i;";
    let no_tx = format!("-- torghut:no-transaction\n{sql}");
    assert!(lint(&no_tx).violations.is_empty());
    let opts = LintOptions {
        included_rules: vec!["ban-drop-index".to_string()],
        ..LintOptions::default()
    };
    let report = lint_sql("t.sql", &no_tx, &opts);
    assert_eq!(rules_of(&report), ["ban-drop-index"]);
}

#[test]
fn warning_rules_are_graded_as_warnings() {
    let report = lint("CREATE TABLE t (id int PRIMARY KEY, name varchar(10));");
    assert!(report.is_clean(), "{report}");
    assert!(report.violations.len() >= 2);
    assert!(report
        .violations
        .iter()
        .all(|v| v.severity == Severity::Warning));
    assert!(DEFAULT_WARNING_RULES.contains(&"prefer-text-field"));

    let mut opts = LintOptions::default();
    opts.warning_rules.push("ban-drop-column".to_string());
    let report = lint_sql("t.sql", "ALTER TABLE t DROP COLUMN c;", &opts);
    assert!(report.is_clean());
    assert_eq!(only(&report, "ban-drop-column").severity, Severity::Warning);

    // Squawk's aliases resolve.
    let opts = LintOptions {
        warning_rules: vec!["prefer-timestamptz".to_string()],
        ..LintOptions::default()
    };
    let report = lint_sql("t.sql", "CREATE TABLE t (at timestamp);", &opts);
    assert_eq!(
        only(&report, "prefer-timestamp-tz").severity,
        Severity::Warning
    );
}

#[test]
fn unknown_rule_names_in_options_are_reported() {
    let opts = LintOptions {
        excluded_rules: vec!["no-such-rule".to_string()],
        ..LintOptions::default()
    };
    assert_eq!(
        opts.unknown_rule_names(),
        [("excluded_rules", "no-such-rule".to_string())]
    );
    assert!(LintOptions::default().unknown_rule_names().is_empty());
    let report = lint_sql("t.sql", "SELECT 1;", &opts);
    assert!(!report.is_clean());
    let v = only(&report, "invalid-options");
    assert!(v.message.contains("no-such-rule"));
}

#[test]
fn transaction_mode_follows_the_marker_and_the_option() {
    let concurrently = "CREATE INDEX CONCURRENTLY i ON t (a);";
    assert!(!lint(concurrently).is_clean());

    let opts = LintOptions {
        assume_in_transaction: false,
        ..LintOptions::default()
    };
    let report = lint_sql("t.sql", concurrently, &opts);
    assert!(!report.in_transaction);
    assert!(report.is_clean(), "{report}");

    // The marker works with CRLF line ends, indentation and a byte-order mark.
    let marked =
        format!("\u{feff}-- first line\r\n  -- torghut:no-transaction  \r\n{concurrently}");
    assert!(has_no_transaction_marker(&marked));
    let report = lint(&marked);
    assert!(!report.in_transaction);
    assert!(report.is_clean(), "{report}");

    // Only a whole line counts.
    for text in [
        "-- torghut:no-transaction please",
        "SELECT 1; -- torghut:no-transaction",
        "--torghut:no-transaction",
    ] {
        assert!(!has_no_transaction_marker(text), "{text}");
    }
}

#[test]
fn begin_inside_a_no_transaction_migration_reopens_a_transaction_block() {
    let sql = "-- torghut:no-transaction\nBEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;\nCREATE INDEX CONCURRENTLY j ON t (b);\n";
    let report = lint(sql);
    let v = only(&report, "ban-concurrent-index-creation-in-transaction");
    assert_eq!(v.line, 3);
    assert!(v.message.contains("BEGIN"));
}

#[test]
fn other_non_transactional_statements_need_the_marker() {
    for sql in [
        "DROP INDEX CONCURRENTLY i;",
        "REINDEX INDEX CONCURRENTLY i;",
        "ALTER TABLE p DETACH PARTITION c CONCURRENTLY;",
        "VACUUM t;",
        "ALTER SYSTEM SET work_mem = '64MB';",
    ] {
        let report = lint(sql);
        only(&report, "ban-non-transactional-statement-in-transaction");
        assert!(!report.is_clean());
        let marked = format!("-- torghut:no-transaction\n{sql}");
        assert_eq!(
            lint(&marked)
                .by_rule("ban-non-transactional-statement-in-transaction")
                .count(),
            0,
            "{sql}"
        );
    }
}

#[test]
fn transaction_control_in_a_transactional_migration_is_an_error() {
    let report = lint("BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;\n");
    assert_eq!(report.by_rule("transaction-nesting").count(), 2, "{report}");
    assert!(!report.is_clean());
}

#[test]
fn renames_drops_and_type_changes_are_errors() {
    for (sql, rule) in [
        ("ALTER TABLE t RENAME COLUMN a TO b;", "renaming-column"),
        ("ALTER TABLE t RENAME TO u;", "renaming-table"),
        ("ALTER TABLE t DROP COLUMN a;", "ban-drop-column"),
        ("DROP TABLE t;", "ban-drop-table"),
        (
            "ALTER TABLE t ALTER COLUMN a TYPE bigint;",
            "changing-column-type",
        ),
        ("DROP INDEX i;", "require-concurrent-index-deletion"),
    ] {
        let report = lint(sql);
        assert_eq!(only(&report, rule).severity, Severity::Error, "{sql}");
        assert!(!report.is_clean());
    }
}

#[test]
fn alter_of_a_table_created_in_the_same_migration_is_exempt() {
    let sql = "CREATE TABLE t (id bigint, a text);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;\nALTER TABLE t RENAME COLUMN a TO b;\nALTER TABLE t ALTER COLUMN id TYPE numeric;\n";
    let report = lint(sql);
    assert!(report.violations.is_empty(), "{report}");
    // Not so for another table.
    let other = sql.replace("ALTER TABLE t", "ALTER TABLE u");
    assert_eq!(lint(&other).errors().count(), 3);
}
