//! Production-safety lint for SQL migration files, built on the
//! [Squawk](https://squawkhq.com) linter.
//!
//! [`lint_sql`] parses one migration file with squawk's PostgreSQL parser, runs squawk's rules
//! plus a few of its own, applies suppression comments and returns a [`LintReport`] that renders
//! like compiler output ([`std::fmt::Display`]) or as JSON ([`serde::Serialize`]). It never
//! panics; a parse failure is a finding (`syntax-error`) like any other.
//!
//! ```
//! use torghut_lint::{lint_sql, LintOptions};
//!
//! let sql = "ALTER TABLE trades ADD COLUMN venue text NOT NULL;\n";
//! let report = lint_sql("migrations/0006_venue/up.sql", sql, &LintOptions::default());
//! assert!(!report.is_clean());
//! assert_eq!(report.violations[0].rule, "adding-required-field");
//! print!("{report}");
//! ```
//!
//! Which files are linted is the caller's business: the migrations that reproduce the legacy
//! schema (`0001` to `0005`) are exempt by the engine's policy, not by this crate. A `down.sql`
//! undoes its migration and so mostly drops things, which are errors here; a caller linting
//! those files will want to exclude the drop rules for them.
//!
//! # How the engine runs a migration, and what the lint assumes
//!
//! * **One transaction per migration.** The engine runs each `up.sql` inside one transaction,
//!   unless the file has a line `-- torghut:no-transaction` ([`NO_TRANSACTION_MARKER`]); then it
//!   runs the file statement by statement, each in its own implicit transaction. The lint
//!   follows the same rule: a file is linted as transactional when
//!   [`LintOptions::assume_in_transaction`] is set (the default) and the file has no marker.
//!   This matters to squawk (a table created in the same transaction is empty and invisible to
//!   others, so indexing it or adding constraints to it is safe) and to the check that
//!   statements such as `CREATE INDEX CONCURRENTLY`, which PostgreSQL refuses inside a
//!   transaction block, only appear in marked files.
//! * **Timeouts.** The engine sets `lock_timeout` and `statement_timeout` itself around every
//!   migration, so squawk's `require-lock-timeout` and `require-statement-timeout` rules (which
//!   would ask each file to `SET` them) are turned off while
//!   [`LintOptions::engine_sets_timeouts`] is on (the default).
//!
//! # Rules
//!
//! The default rule set is squawk's own default set (squawk 2.68) with these changes:
//!
//! * `prefer-robust-stmts` is off ([`DEFAULT_EXCLUDED_RULES`]). It asks for `IF NOT EXISTS` and
//!   the like so that a half-applied file can be re-run. A transactional migration is never
//!   half applied (squawk itself stays quiet there); a `-- torghut:no-transaction` one that
//!   fails part-way is held by the engine's dirty marker for an operator, and an `IF NOT EXISTS`
//!   on re-run would silently keep the INVALID index a failed `CREATE INDEX CONCURRENTLY`
//!   leaves behind.
//! * `require-lock-timeout` and `require-statement-timeout` are off (see above).
//! * squawk's `ban-concurrent-index-creation-in-transaction` is replaced by this crate's check
//!   of the same name, which knows about the engine's transaction and also fires in
//!   single-statement files; `ban-non-transactional-statement-in-transaction` does the same for
//!   `DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`, `DETACH PARTITION … CONCURRENTLY`,
//!   `VACUUM`, `CREATE`/`DROP DATABASE`, `CREATE`/`DROP TABLESPACE` and `ALTER SYSTEM`.
//!
//! Every finding is an **error** except the style rules of [`DEFAULT_WARNING_RULES`]
//! (`prefer-bigint-over-int`, `prefer-text-field`, `prefer-timestamp-tz`, `ban-char-field`,
//! `identifier-too-long`, …), which are **warnings**. The rules that matter most for a live
//! database, all errors:
//!
//! | rule | catches |
//! |------|---------|
//! | `require-concurrent-index-creation` | `CREATE INDEX` without `CONCURRENTLY` on an existing table (blocks writes for the whole build) |
//! | `require-concurrent-index-deletion` | `DROP INDEX` without `CONCURRENTLY` |
//! | `adding-not-nullable-field`, `adding-required-field` | `SET NOT NULL` without a validated `CHECK (c IS NOT NULL)`, `ADD COLUMN … NOT NULL` without a default |
//! | `adding-field-with-default` | a column with a volatile default (rewrites the table) |
//! | `adding-foreign-key-constraint`, `constraint-missing-not-valid` | `ADD CONSTRAINT` (foreign key, `CHECK`) without `NOT VALID`, or validated in the same transaction |
//! | `disallowed-unique-constraint`, `adding-serial-primary-key-field` | unique / primary key constraints built under an exclusive lock |
//! | `changing-column-type` | `ALTER COLUMN … TYPE` (table rewrite) |
//! | `renaming-column`, `renaming-table`, `renaming-object` | renames, which break the application version still running during a deploy |
//! | `ban-drop-column`, `ban-drop-table`, `ban-drop-not-null`, `ban-drop-constraint`, `ban-drop-default`, … | drops, likewise |
//! | `ban-table-rewrite` (this crate's) | `CLUSTER`, `VACUUM FULL`, `ALTER TABLE ... SET LOGGED`, `SET UNLOGGED` or `SET TABLESPACE`: the whole table rewritten under an `ACCESS EXCLUSIVE` lock |
//! | `ban-row-changes-outside-backfill` (this crate's) | `UPDATE`, `DELETE` or `MERGE` (also nested in a data-modifying `WITH`) and `TRUNCATE` in a migration that is not a batched backfill (`-- torghut:backfill`): rows (for `TRUNCATE`, the table) locked for the whole migration |
//! | `transaction-nesting`, `ban-uncommitted-transaction` | `BEGIN`/`COMMIT` in a file the engine already wraps in a transaction |
//!
//! A table created earlier in the same transaction is new: nobody else sees it and it is empty.
//! Squawk already leaves indexes and constraints on such a table alone; this crate also drops
//! squawk's column, rename and drop findings on an `ALTER TABLE` of it (`SET NOT NULL`, `ADD
//! COLUMN … NOT NULL`, type changes, …), so a migration that creates a table and then shapes it
//! is clean.
//!
//! Drops and renames are errors, not warnings, on purpose: during a rolling deploy the previous
//! application version still reads the old names, so a drop or rename is only safe once no
//! running code uses the object, and that is exactly what a suppression's reason should state.
//!
//! Squawk's opt-in rules (`ban-drop-index`, `require-table-schema`, …) can be switched on with
//! [`LintOptions::included_rules`]; any rule can be switched off with
//! [`LintOptions::excluded_rules`] or downgraded with [`LintOptions::warning_rules`].
//! [`LintOptions::enabled_rules`] lists the resulting set.
//!
//! # Suppressions
//!
//! A finding that is safe in context is allowed with a comment on its own line directly above
//! the statement:
//!
//! ```sql
//! -- torghut-lint: allow ban-drop-column reason: unused since release 2024.06 (see #412)
//! ALTER TABLE trade_decisions DROP COLUMN legacy_score;
//! ```
//!
//! * Syntax: `-- torghut-lint: allow <rule>[, <rule>...] reason: <text>`, on one line. Rule codes
//!   are the ones printed in brackets in the output (squawk's aliases are accepted).
//! * It applies to the **next statement only**, and only to the named rules. Several such
//!   comments may precede one statement.
//! * The reason is mandatory. A comment without one (or with an empty one) is itself an error,
//!   `suppression-without-reason`, and suppresses nothing. So is a comment naming an unknown
//!   rule (`unknown-rule-in-suppression`) and a malformed or misplaced one
//!   (`invalid-suppression`: a block comment, a comment after code on the same line, a comment
//!   inside a statement).
//! * A named rule that the next statement does not trigger is reported as
//!   `unused-suppression` (a warning).
//! * Suppressed findings stay in the report, with the reason, so that they can be audited.
//! * `syntax-error` and the other codes about the lint run itself ([`rules::META_RULES`])
//!   cannot be suppressed.
//! * Squawk's own comment directives (`squawk-ignore`, `squawk-ignore-file`,
//!   `squawk-disable-assume-in-transaction`) are not honoured: they need no reason. Each is
//!   reported as `squawk-directive` (an error).
//!
//! # Dependency pin
//!
//! squawk is pinned to release 2.68.0, the last one whose declared minimum Rust version (1.94)
//! the workspace toolchain meets; later releases declare 1.99.

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use squawk_linter::{Linter, Rule};
use squawk_syntax::{SourceFile, SyntaxElement, SyntaxKind};

mod report;
pub mod rules;
mod suppress;
mod text;

pub use report::{LintReport, ParseError, Severity, Violation};
pub use rules::{DEFAULT_EXCLUDED_RULES, DEFAULT_WARNING_RULES};

use rules::Finding;
use text::Lines;

/// The line that makes the engine run a migration outside a transaction, statement by
/// statement (same text as the engine's directive).
pub const NO_TRANSACTION_MARKER: &str = "-- torghut:no-transaction";

/// The line that makes a migration a batched backfill (the engine runs each step over key
/// ranges, one short transaction per batch): the only place `UPDATE`, `DELETE` and `MERGE` are
/// allowed.
pub const BACKFILL_MARKER: &str = "-- torghut:backfill";

/// The line that starts a step of a backfill.
pub const BATCH_MARKER: &str = "-- torghut:batch";

/// Whether `sql` has a line consisting of [`BACKFILL_MARKER`].
pub fn has_backfill_marker(sql: &str) -> bool {
    sql.lines().any(|line| line.trim() == BACKFILL_MARKER)
}

/// Whether `sql` has a line consisting of [`NO_TRANSACTION_MARKER`] (surrounding whitespace
/// allowed), detected the way the engine does: BOM ignored, CRLF and lone CR as line breaks.
pub fn has_no_transaction_marker(sql: &str) -> bool {
    let sql = sql.strip_prefix('\u{feff}').unwrap_or(sql);
    sql.split(['\n', '\r'])
        .any(|line| line.trim() == NO_TRANSACTION_MARKER)
}

/// What to check and how to grade it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintOptions {
    /// Lint files as running inside one transaction, as the engine runs every migration whose
    /// `up.sql` lacks [`NO_TRANSACTION_MARKER`]. A file with the marker is always linted as
    /// running statement by statement. Default: `true`.
    pub assume_in_transaction: bool,
    /// The engine sets `lock_timeout` and `statement_timeout` around every migration, so the
    /// squawk rules asking each file to set them (`require-lock-timeout`,
    /// `require-statement-timeout`) are off. Turn this off to lint SQL that runs without the
    /// engine. Default: `true`.
    pub engine_sets_timeouts: bool,
    /// Rule codes to switch off. Default: [`DEFAULT_EXCLUDED_RULES`] (`prefer-robust-stmts`);
    /// extend the default rather than replacing it.
    pub excluded_rules: Vec<String>,
    /// Squawk opt-in rule codes to switch on (such as `ban-drop-index`). Exclusion wins over
    /// inclusion. Default: none.
    pub included_rules: Vec<String>,
    /// Rule codes reported as warnings instead of errors. Default: [`DEFAULT_WARNING_RULES`].
    pub warning_rules: Vec<String>,
    /// The PostgreSQL major version the migrations run on; some squawk rules depend on it
    /// (for example, from 11 on a non-volatile column default no longer rewrites the table).
    /// Default: `15`, the server the test suite runs against.
    pub pg_major_version: u32,
}

impl Default for LintOptions {
    fn default() -> Self {
        Self {
            assume_in_transaction: true,
            engine_sets_timeouts: true,
            excluded_rules: to_strings(DEFAULT_EXCLUDED_RULES),
            included_rules: Vec::new(),
            warning_rules: to_strings(DEFAULT_WARNING_RULES),
            pg_major_version: 15,
        }
    }
}

fn to_strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

impl LintOptions {
    /// Names in [`Self::excluded_rules`], [`Self::included_rules`] and [`Self::warning_rules`]
    /// that are not rule codes, with the field they are in. [`lint_sql`] reports each as an
    /// `invalid-options` error.
    pub fn unknown_rule_names(&self) -> Vec<(&'static str, String)> {
        [
            ("excluded_rules", &self.excluded_rules),
            ("included_rules", &self.included_rules),
            ("warning_rules", &self.warning_rules),
        ]
        .into_iter()
        .flat_map(|(field, names)| {
            names
                .iter()
                .filter(|n| rules::canonical(n).is_none())
                .map(move |n| (field, n.clone()))
        })
        .collect()
    }

    /// The codes of the SQL rules these options enable, sorted.
    pub fn enabled_rules(&self) -> Vec<String> {
        let linter = self.squawk_linter(true);
        let mut names: Vec<String> = linter
            .rules
            .iter()
            .filter(|r| r.expands_to().is_empty() && **r != Rule::UnusedIgnore)
            .map(Rule::to_string)
            .collect();
        let (index, other) = self.own_checks();
        if index {
            names.push(rules::BAN_CONCURRENT_INDEX_IN_TRANSACTION.to_string());
        }
        if other {
            names.push(rules::BAN_NON_TRANSACTIONAL_IN_TRANSACTION.to_string());
        }
        if !self.is_excluded(rules::BAN_ROW_CHANGES_OUTSIDE_BACKFILL) {
            names.push(rules::BAN_ROW_CHANGES_OUTSIDE_BACKFILL.to_string());
        }
        if !self.is_excluded(rules::BAN_TABLE_REWRITE) {
            names.push(rules::BAN_TABLE_REWRITE.to_string());
        }
        names.sort();
        names.dedup();
        names
    }

    fn is_excluded(&self, code: &str) -> bool {
        self.excluded_rules
            .iter()
            .any(|n| rules::canonical(n).as_deref() == Some(code))
    }

    /// Whether this crate's two transaction-block checks are on.
    fn own_checks(&self) -> (bool, bool) {
        (
            !self.is_excluded(rules::BAN_CONCURRENT_INDEX_IN_TRANSACTION),
            !self.is_excluded(rules::BAN_NON_TRANSACTIONAL_IN_TRANSACTION),
        )
    }

    fn squawk_linter(&self, in_transaction: bool) -> Linter {
        let names = |list: &[String]| -> Vec<Rule> {
            list.iter().filter_map(|n| rules::squawk_rule(n)).collect()
        };
        let include = names(&self.included_rules);
        let mut exclude = names(&self.excluded_rules);
        if self.engine_sets_timeouts {
            exclude.extend_from_slice(rules::TIMEOUT_RULES);
            exclude.push(Rule::RequireTimeoutSettings);
        }
        // Replaced by this crate's check of the same name.
        exclude.push(Rule::BanConcurrentIndexCreationInTransaction);
        let mut linter = Linter::with_rules(&include, &exclude);
        linter.settings.assume_in_transaction = in_transaction;
        if let Ok(version) = self.pg_major_version.to_string().parse() {
            linter.settings.pg_version = version;
        }
        linter
    }
}

/// Lints one migration file. `file_name` is only used in the report (for rendering);
/// `sql` is the file's text. Never panics.
pub fn lint_sql(file_name: &str, sql: &str, opts: &LintOptions) -> LintReport {
    let sql = sql.strip_prefix('\u{feff}').unwrap_or(sql);
    let in_transaction = opts.assume_in_transaction && !has_no_transaction_marker(sql);
    let mut report = LintReport {
        file: file_name.to_string(),
        in_transaction,
        violations: Vec::new(),
        parse_errors: Vec::new(),
    };
    if u32::try_from(sql.len()).is_err() {
        // Syntax trees address text with 32-bit offsets.
        let message = "the file is too large to parse (4 GiB or more)".to_string();
        report.parse_errors.push(ParseError {
            message: message.clone(),
            line: 1,
            column: 1,
        });
        report
            .violations
            .push(meta_violation(rules::SYNTAX_ERROR, message, None));
        return report;
    }
    match catch_unwind(AssertUnwindSafe(|| lint_text(sql, in_transaction, opts))) {
        Ok((violations, parse_errors)) => {
            report.violations = violations;
            report.parse_errors = parse_errors;
        }
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown failure".to_string());
            report.violations.push(meta_violation(
                rules::INTERNAL_ERROR,
                format!("the linter failed on this file: {detail}"),
                Some("Lint the file's statements separately to find the one at fault.".into()),
            ));
        }
    }
    report
}

fn meta_violation(rule: &str, message: String, help: Option<String>) -> Violation {
    Violation {
        rule: rule.to_string(),
        severity: Severity::Error,
        message,
        help,
        line: 1,
        column: 1,
        statement: String::new(),
        suppressed: None,
    }
}

/// Finding `f` as reported: placed by line and column in the text `lines` indexes, with its
/// severity, the excerpt shown with it and the reason it is suppressed, if it is. Returned with
/// its byte offset, which the report is sorted by.
fn placed(
    f: Finding,
    lines: &Lines<'_>,
    severity: Severity,
    statement: String,
    suppressed: Option<String>,
) -> (usize, Violation) {
    let (line, column) = lines.line_col(f.range.start);
    (
        f.range.start,
        Violation {
            rule: f.rule,
            severity,
            message: f.message,
            help: f.help,
            line,
            column,
            statement,
            suppressed,
        },
    )
}

/// The comments carrying a squawk directive (`-- squawk-ignore …` and the like): the byte
/// offset of the `-` after `squawk` in each.
fn squawk_directives(root: &squawk_syntax::SyntaxNode) -> Vec<(Range<usize>, usize)> {
    root.descendants_with_tokens()
        .filter_map(SyntaxElement::into_token)
        .filter(|t| t.kind() == SyntaxKind::COMMENT)
        .filter_map(|t| {
            let text = t.text();
            let body = text
                .strip_prefix("--")
                .or_else(|| text.strip_prefix("/*"))?;
            let trimmed = body.trim_start();
            if !trimmed.starts_with("squawk-") {
                return None;
            }
            let range = rules::token_range(&t);
            let dash = range.start + (text.len() - trimmed.len()) + "squawk".len();
            Some((range, dash))
        })
        .collect()
}

fn lint_text(
    sql: &str,
    in_transaction: bool,
    opts: &LintOptions,
) -> (Vec<Violation>, Vec<ParseError>) {
    let lines = Lines::new(sql);
    // Findings of SQL rules (suppressible) and about the lint itself (not suppressible).
    let mut findings: Vec<Finding> = Vec::new();
    let mut meta: Vec<Finding> = Vec::new();

    for (field, name) in opts.unknown_rule_names() {
        meta.push(Finding {
            rule: rules::INVALID_OPTIONS.to_string(),
            message: format!("unknown rule `{name}` in LintOptions::{field}"),
            help: None,
            range: 0..0,
        });
    }

    let mut parse = SourceFile::parse(sql);
    let directives = squawk_directives(&parse.syntax_node());
    let mut linted_text = sql.to_string();
    if !directives.is_empty() {
        for (range, dash) in &directives {
            meta.push(Finding {
                rule: rules::SQUAWK_DIRECTIVE.to_string(),
                message: "squawk's own directives are not honoured here".to_string(),
                help: Some(
                    "Use `-- torghut-lint: allow <rule>[, <rule>...] reason: <text>` on the line \
                     above the statement."
                        .to_string(),
                ),
                range: range.clone(),
            });
            // Same length, so every offset stays valid; squawk no longer sees a directive.
            linted_text.replace_range(*dash..*dash + 1, "_");
        }
        parse = SourceFile::parse(&linted_text);
    }

    // Errors at the same place (`expected name`, `expected type name`) become one message.
    let mut syntax: Vec<(Range<usize>, String)> = Vec::new();
    for error in parse.errors() {
        let range = usize::from(error.range().start())..usize::from(error.range().end());
        match syntax.last_mut() {
            Some((last, message)) if last.start == range.start => {
                if !message.split("; ").any(|m| m == error.message()) {
                    message.push_str("; ");
                    message.push_str(error.message());
                }
            }
            _ => syntax.push((range, error.message().to_string())),
        }
    }
    let mut parse_errors = Vec::new();
    for (range, message) in syntax {
        let (line, column) = lines.line_col(range.start);
        parse_errors.push(ParseError {
            message: message.clone(),
            line,
            column,
        });
        meta.push(Finding {
            rule: rules::SYNTAX_ERROR.to_string(),
            message,
            help: None,
            range,
        });
    }

    let mut linter = opts.squawk_linter(in_transaction);
    let new_table_alters = rules::alters_of_new_tables(&parse.tree(), in_transaction);
    for v in linter.lint(&parse, &linted_text) {
        let start = usize::from(v.text_range.start());
        let code = v.code.to_string();
        if rules::NEW_TABLE_EXEMPT_RULES.contains(&code.as_str())
            && new_table_alters.iter().any(|r| r.contains(&start))
        {
            continue;
        }
        findings.push(Finding {
            rule: code,
            message: v.message,
            help: v.help,
            range: usize::from(v.text_range.start())..usize::from(v.text_range.end()),
        });
    }
    let (check_index, check_other) = opts.own_checks();
    findings.extend(rules::transaction_block_checks(
        &parse.tree(),
        in_transaction,
        check_index,
        check_other,
    ));
    if !opts.is_excluded(rules::BAN_ROW_CHANGES_OUTSIDE_BACKFILL) && !has_backfill_marker(sql) {
        findings.extend(rules::row_change_checks(&parse.tree()));
    }
    if !opts.is_excluded(rules::BAN_TABLE_REWRITE) {
        findings.extend(rules::rewrite_checks(&parse.tree()));
    }

    let root = parse.syntax_node();
    let mut layout = suppress::layout(&root, sql);
    let suppression_problems = std::mem::take(&mut layout.problems);
    let layout = layout;
    let warning_rules: Vec<String> = opts
        .warning_rules
        .iter()
        .filter_map(|n| rules::canonical(n))
        .collect();

    let statement_excerpt = |offset: usize| -> String {
        layout
            .statement_at(offset)
            .map(|i| &layout.statements[i])
            .filter(|r| r.contains(&offset) || r.end == offset)
            .map_or_else(String::new, |r| text::excerpt(sql, r.start, r.end))
    };

    // (byte offset, violation), sorted by offset at the end.
    let mut out: Vec<(usize, Violation)> = Vec::new();
    let mut used: Vec<Vec<bool>> = layout
        .suppressions
        .iter()
        .map(|(_, s)| vec![false; s.rules.len()])
        .collect();
    for f in findings {
        let statement = layout.statement_at(f.range.start);
        let mut suppressed = None;
        for (i, (target, s)) in layout.suppressions.iter().enumerate() {
            if Some(*target) != statement {
                continue;
            }
            if let Some(j) = s.rules.iter().position(|r| *r == f.rule) {
                used[i][j] = true;
                suppressed.get_or_insert_with(|| s.reason.clone());
            }
        }
        let severity = if warning_rules.contains(&f.rule) {
            Severity::Warning
        } else {
            Severity::Error
        };
        let excerpt = statement_excerpt(f.range.start);
        out.push(placed(f, &lines, severity, excerpt, suppressed));
    }
    for (i, (_, s)) in layout.suppressions.iter().enumerate() {
        for (j, rule) in s.rules.iter().enumerate() {
            if !used[i][j] {
                meta.push(Finding {
                    rule: rules::UNUSED_SUPPRESSION.to_string(),
                    message: format!(
                        "`allow {rule}` suppressed nothing: the next statement has no `{rule}` \
                         finding"
                    ),
                    help: Some(format!("Remove `{rule}` from the comment.")),
                    range: s.range.clone(),
                });
            }
        }
    }
    meta.extend(suppression_problems);
    for f in meta {
        let severity = if f.rule == rules::UNUSED_SUPPRESSION {
            Severity::Warning
        } else {
            Severity::Error
        };
        let statement = if f.rule == rules::SYNTAX_ERROR {
            statement_excerpt(f.range.start)
        } else {
            text::excerpt(sql, f.range.start, f.range.end)
        };
        out.push(placed(f, &lines, severity, statement, None));
    }
    out.sort_by_key(|(offset, _)| *offset);
    (out.into_iter().map(|(_, v)| v).collect(), parse_errors)
}
