//! The migrations reproducing the legacy schema (`0001` to `0005`) must at least parse; their
//! findings are expected (they are exempt from the lint by the engine's policy).

use std::path::PathBuf;

use torghut_lint::{lint_sql, rules, LintOptions};

fn legacy_dirs() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.len() > 5
                    && n.starts_with("000")
                    && matches!(n.as_bytes()[3], b'1'..=b'5')
                    && n.as_bytes()[4] == b'_'
            })
        })
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn legacy_migrations_parse() {
    let dirs = legacy_dirs();
    assert_eq!(dirs.len(), 5, "expected migrations 0001 to 0005: {dirs:?}");
    for dir in dirs {
        for file in ["up.sql", "down.sql"] {
            let path = dir.join(file);
            let sql = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let report = lint_sql(&path.display().to_string(), &sql, &LintOptions::default());
            assert!(
                report.parse_errors.is_empty(),
                "{} does not parse:\n{report}",
                path.display()
            );
            for rule in [rules::SYNTAX_ERROR, rules::INTERNAL_ERROR] {
                assert_eq!(report.by_rule(rule).count(), 0, "{report}");
            }
        }
    }
}
