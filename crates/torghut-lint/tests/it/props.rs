//! No input makes the lint panic (or fail internally).

use proptest::prelude::*;
use torghut_lint::{lint_sql, rules, LintOptions};

/// Fragments that drive the parser and the rules into their less travelled paths.
const FRAGMENTS: &[&str] = &[
    "CREATE",
    "TABLE",
    "INDEX",
    "CONCURRENTLY",
    "ALTER",
    "ADD",
    "DROP",
    "COLUMN",
    "CONSTRAINT",
    "FOREIGN KEY",
    "REFERENCES",
    "NOT VALID",
    "VALIDATE",
    "NOT NULL",
    "DEFAULT",
    "SET",
    "TYPE",
    "RENAME",
    "TO",
    "ON",
    "t",
    "u",
    "\"Q\"",
    "(",
    ")",
    ",",
    ";",
    "a",
    "b",
    "int",
    "text",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "VACUUM",
    "REINDEX",
    "DETACH PARTITION",
    "UNIQUE",
    "CHECK",
    "(a > 0)",
    "PRIMARY KEY",
    "$$",
    "$tag$",
    "'",
    "''",
    "E'\\x'",
    "--",
    "/*",
    "*/",
    "\n",
    "\r\n",
    "-- torghut-lint: allow ban-drop-column reason: r\n",
    "-- torghut-lint: allow\n",
    "-- torghut:no-transaction\n",
    "-- squawk-ignore\n",
    "/* squawk-ignore-file */",
    "é",
    "\u{feff}",
    "😀",
    "\0",
    "SELECT",
    "1",
    "now()",
    "random()",
];

fn check(sql: &str) {
    for opts in [
        LintOptions::default(),
        LintOptions {
            assume_in_transaction: false,
            engine_sets_timeouts: false,
            excluded_rules: Vec::new(),
            ..LintOptions::default()
        },
    ] {
        let report = lint_sql("fuzz.sql", sql, &opts);
        assert_eq!(
            report.by_rule(rules::INTERNAL_ERROR).count(),
            0,
            "internal error on {sql:?}:\n{report}"
        );
        let lines = sql.split('\n').count();
        for v in &report.violations {
            assert!(
                v.line >= 1 && v.line <= lines && v.column >= 1,
                "{v:?} in {sql:?}"
            );
        }
        let _ = report.to_string();
        serde_json::to_string(&report).expect("serializes");
        let _ = report.is_clean();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_arbitrary_text(sql in ".*") {
        check(&sql);
    }

    #[test]
    fn never_panics_on_sql_like_text(
        parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..48)
    ) {
        check(&parts.join(" "));
    }
}

#[test]
fn never_panics_on_edge_cases() {
    for sql in [
        "",
        " ",
        ";",
        ";;;",
        "--",
        "/*",
        "/* unterminated",
        "'unterminated",
        "$$unterminated",
        "\u{feff}",
        "-- torghut-lint:",
        "-- torghut-lint: allow",
        "-- torghut-lint: allow ,",
        "-- torghut-lint: allow reason:",
        "-- squawk-",
        "/* squawk-ignore */",
        "CREATE INDEX CONCURRENTLY",
        "ALTER TABLE",
        "ALTER TABLE t ADD CONSTRAINT",
        "\r\r\n\n\r",
    ] {
        check(sql);
    }
}
