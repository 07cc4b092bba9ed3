//! Rule codes of this crate, rule-name resolution, and the transaction-block check.

use squawk_linter::Rule;
use squawk_syntax::ast::{self, AstNode};
use std::ops::Range;

/// The SQL does not parse. Cannot be suppressed.
pub const SYNTAX_ERROR: &str = "syntax-error";
/// A suppression comment without a reason (or with an empty one). It suppresses nothing.
pub const SUPPRESSION_WITHOUT_REASON: &str = "suppression-without-reason";
/// A suppression comment naming a rule that does not exist or cannot be suppressed. It
/// suppresses nothing.
pub const UNKNOWN_RULE_IN_SUPPRESSION: &str = "unknown-rule-in-suppression";
/// A malformed or misplaced suppression comment. It suppresses nothing.
pub const INVALID_SUPPRESSION: &str = "invalid-suppression";
/// A suppression naming a rule that the next statement does not trigger (a warning).
pub const UNUSED_SUPPRESSION: &str = "unused-suppression";
/// A `squawk-ignore…` or `squawk-disable-assume-in-transaction` comment. Squawk's own
/// directives are switched off (they need no reason); use a `torghut-lint: allow` comment.
pub const SQUAWK_DIRECTIVE: &str = "squawk-directive";
/// [`LintOptions`](crate::LintOptions) names a rule that does not exist.
pub const INVALID_OPTIONS: &str = "invalid-options";
/// The linter itself failed on this input (a bug); the file is reported as not clean.
pub const INTERNAL_ERROR: &str = "internal-error";

/// `CREATE INDEX CONCURRENTLY` inside a transaction block (the squawk rule code is reused,
/// but this crate checks every such statement, including in single-statement files).
pub const BAN_CONCURRENT_INDEX_IN_TRANSACTION: &str =
    "ban-concurrent-index-creation-in-transaction";
/// Another statement PostgreSQL refuses inside a transaction block (`DROP INDEX CONCURRENTLY`,
/// `REINDEX … CONCURRENTLY`, `DETACH PARTITION … CONCURRENTLY`, `VACUUM`, `CREATE`/`DROP
/// DATABASE`, `CREATE`/`DROP TABLESPACE`, `ALTER SYSTEM`).
pub const BAN_NON_TRANSACTIONAL_IN_TRANSACTION: &str =
    "ban-non-transactional-statement-in-transaction";

/// This crate's check that rows already in a table are changed only by a backfill: `UPDATE`,
/// `DELETE` and `MERGE` statements in a migration that is not a batched backfill.
pub const BAN_ROW_CHANGES_OUTSIDE_BACKFILL: &str = "ban-row-changes-outside-backfill";

/// This crate's check that no statement rewrites a whole table under an `ACCESS EXCLUSIVE`
/// lock that squawk does not already catch: `CLUSTER`, `VACUUM FULL` and `ALTER TABLE ... SET
/// LOGGED`, `SET UNLOGGED` or `SET TABLESPACE`.
pub const BAN_TABLE_REWRITE: &str = "ban-table-rewrite";

/// Rule codes that describe the lint run itself rather than the SQL: they cannot be
/// suppressed, excluded or re-graded.
pub const META_RULES: &[&str] = &[
    SYNTAX_ERROR,
    SUPPRESSION_WITHOUT_REASON,
    UNKNOWN_RULE_IN_SUPPRESSION,
    INVALID_SUPPRESSION,
    UNUSED_SUPPRESSION,
    SQUAWK_DIRECTIVE,
    INVALID_OPTIONS,
    INTERNAL_ERROR,
];

/// Squawk rules reported as warnings by default: type and naming style, which never block a
/// deployment by themselves.
pub const DEFAULT_WARNING_RULES: &[&str] = &[
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-text-field",
    "prefer-timestamp-tz",
    "prefer-repack",
    "ban-char-field",
    "identifier-too-long",
    "require-enum-value-ordering",
];

/// Squawk rules excluded by default. `prefer-robust-stmts` asks for `IF NOT EXISTS` and the
/// like so that a half-applied file can be re-run: a transactional migration is never half
/// applied, and a failed `-- torghut:no-transaction` one is held by the engine's dirty marker
/// for an operator (where `IF NOT EXISTS` would hide an INVALID index left by a failed
/// concurrent build).
pub const DEFAULT_EXCLUDED_RULES: &[&str] = &["prefer-robust-stmts"];

/// Squawk rules always left to the engine when
/// [`LintOptions::engine_sets_timeouts`](crate::LintOptions::engine_sets_timeouts) is on.
pub(crate) const TIMEOUT_RULES: &[Rule] =
    &[Rule::RequireLockTimeout, Rule::RequireStatementTimeout];

/// The rules checked by this crate rather than by squawk.
pub(crate) const OWN_RULES: &[&str] = &[
    BAN_CONCURRENT_INDEX_IN_TRANSACTION,
    BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
    BAN_ROW_CHANGES_OUTSIDE_BACKFILL,
    BAN_TABLE_REWRITE,
];

/// A finding of `rule` for every node of every statement (nested ones included) that `what`
/// names: `what` gives the statement's name for the message, `message` the message from it.
fn node_findings(
    file: &ast::SourceFile,
    rule: &str,
    what: impl Fn(&squawk_syntax::SyntaxNode) -> Option<&'static str>,
    message: impl Fn(&str) -> String,
    help: &str,
) -> Vec<Finding> {
    file.stmts()
        .flat_map(|stmt| stmt.syntax().descendants().collect::<Vec<_>>())
        .filter_map(|node| {
            what(&node).map(|name| Finding {
                rule: rule.to_string(),
                message: message(name),
                help: Some(help.to_string()),
                range: node_range(&node),
            })
        })
        .collect()
}

/// Reports the statements of a migration that is not a backfill that change or remove rows
/// already there: `UPDATE`, `DELETE` and `MERGE`, also where one is nested in another statement
/// (a data-modifying `WITH`), and `TRUNCATE`. Run in the migration's one transaction they lock
/// every row they touch (`TRUNCATE`: the whole table) until it commits, and writers of those rows
/// wait that long. (Statements inside function bodies and `DO` blocks are not looked into.)
pub(crate) fn row_change_checks(file: &ast::SourceFile) -> Vec<Finding> {
    let what = |node: &squawk_syntax::SyntaxNode| {
        let kind = node.kind();
        [
            (ast::Update::can_cast(kind), "UPDATE"),
            (ast::Delete::can_cast(kind), "DELETE"),
            (ast::Merge::can_cast(kind), "MERGE"),
            (ast::Truncate::can_cast(kind), "TRUNCATE"),
        ]
        .into_iter()
        .find_map(|(is, name)| is.then_some(name))
    };
    let message = |name: &str| {
        if name == "TRUNCATE" {
            "`TRUNCATE` removes every row of the table inside the migration's transaction, under \
             a lock that stops every reader and writer of the table until the migration commits"
                .to_string()
        } else {
            format!(
                "`{name}` changes rows that are already there inside the migration's transaction: \
                 every row it touches stays locked until the migration commits, and the writers of \
                 those rows wait"
            )
        }
    };
    let help = format!(
        "Move it into a batched backfill: a migration of its own whose up.sql carries a line `{}` \
         and a step `{} table=NAME key=COLUMN` running it over `$1`..`$2` key ranges.",
        crate::BACKFILL_MARKER,
        crate::BATCH_MARKER
    );
    node_findings(file, BAN_ROW_CHANGES_OUTSIDE_BACKFILL, what, message, &help)
}

/// Reports the statements that rewrite a whole table while holding an `ACCESS EXCLUSIVE` lock
/// on it (every reader and writer waits for the whole rewrite), in any migration: `CLUSTER`,
/// `VACUUM FULL`, and `ALTER TABLE` actions `SET LOGGED`, `SET UNLOGGED` and `SET TABLESPACE`.
pub(crate) fn rewrite_checks(file: &ast::SourceFile) -> Vec<Finding> {
    let what = |node: &squawk_syntax::SyntaxNode| {
        let kind = node.kind();
        [
            (ast::Cluster::can_cast(kind), "CLUSTER"),
            (
                ast::Vacuum::cast(node.clone()).is_some_and(|v| is_vacuum_full(&v)),
                "VACUUM FULL",
            ),
            (ast::SetLogged::can_cast(kind), "SET LOGGED"),
            (ast::SetUnlogged::can_cast(kind), "SET UNLOGGED"),
            (ast::SetTablespace::can_cast(kind), "SET TABLESPACE"),
        ]
        .into_iter()
        .find_map(|(is, name)| is.then_some(name))
    };
    let message = |name: &str| {
        format!(
            "`{name}` rewrites the whole table under an `ACCESS EXCLUSIVE` lock: every reader and \
             writer of the table waits until it is done"
        )
    };
    node_findings(
        file,
        BAN_TABLE_REWRITE,
        what,
        message,
        "Leave table maintenance to the operator (e.g. pg_repack, which rewrites without the \
         long lock), outside migrations.",
    )
}

/// Whether a `VACUUM` is a full one: `VACUUM FULL`, or a `FULL` option not turned off
/// (`VACUUM (FULL)`, `VACUUM (FULL true)`; not `VACUUM (FULL false)`).
fn is_vacuum_full(v: &ast::Vacuum) -> bool {
    if v.full_token().is_some() {
        return true;
    }
    let Some(options) = v.vacuum_option_list() else {
        return false;
    };
    options.syntax().children().any(|option| {
        let text = option.text().to_string().to_ascii_lowercase();
        let mut words = text.split_whitespace();
        words.next() == Some("full")
            && !matches!(
                words.next(),
                Some("false" | "off" | "0" | "'false'" | "'off'")
            )
    })
}

/// The canonical code of a rule that can appear in options and suppressions: a squawk rule
/// (aliases resolved, e.g. `prefer-timestamptz` to `prefer-timestamp-tz`) or one of this
/// crate's own SQL rules. `None` for unknown names and for [`META_RULES`].
pub(crate) fn canonical(name: &str) -> Option<String> {
    if let Some(own) = OWN_RULES.iter().find(|r| **r == name) {
        return Some((*own).to_string());
    }
    squawk_rule(name).map(|r| r.to_string())
}

/// The squawk rule of that name, if any.
pub(crate) fn squawk_rule(name: &str) -> Option<Rule> {
    Rule::try_from(name).ok()
}

/// Squawk rules that do not apply to an `ALTER TABLE` of a table created earlier in the same
/// transaction: nobody else can see that table yet, it is empty, so locks, rewrites, scans and
/// renames cost nothing and break no client. (Squawk already exempts such tables from its index
/// and constraint rules; these are the ones it does not.)
pub(crate) const NEW_TABLE_EXEMPT_RULES: &[&str] = &[
    "adding-field-with-default",
    "adding-not-nullable-field",
    "adding-required-field",
    "adding-serial-primary-key-field",
    "ban-alter-identity",
    "ban-drop-column",
    "ban-drop-constraint",
    "ban-drop-default",
    "ban-drop-generated-expression",
    "ban-drop-not-null",
    "changing-column-type",
    "renaming-column",
    "renaming-table",
];

/// The ranges of the `ALTER TABLE` statements whose table was created earlier in the same
/// transaction (the engine's, when `engine_transaction`, or one opened by `BEGIN`). Tables are
/// matched by name without schema, as squawk does.
pub(crate) fn alters_of_new_tables(
    file: &ast::SourceFile,
    engine_transaction: bool,
) -> Vec<Range<usize>> {
    let mut created: Vec<String> = Vec::new();
    let mut in_transaction = engine_transaction;
    let mut out = Vec::new();
    for stmt in file.stmts() {
        match &stmt {
            ast::Stmt::Begin(_) => in_transaction = true,
            ast::Stmt::Commit(_) | ast::Stmt::Rollback(_) => {
                in_transaction = false;
                created.clear();
            }
            ast::Stmt::CreateTable(create) if in_transaction => {
                if let Some(name) = create
                    .table_name()
                    .and_then(|t| t.path())
                    .and_then(|p| p.segment())
                {
                    created.push(name.text());
                }
            }
            ast::Stmt::AlterTable(alter) if in_transaction => {
                let name = alter
                    .table_relation_name()
                    .and_then(|r| r.table_name_ref())
                    .and_then(|t| t.path_ref())
                    .and_then(|p| p.segment())
                    .map(|s| s.text());
                if name.is_some_and(|n| created.contains(&n)) {
                    out.push(stmt_range(&stmt));
                }
            }
            _ => {}
        }
    }
    out
}

/// One finding before it is placed in the text.
pub(crate) struct Finding {
    pub(crate) rule: String,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
    /// Byte range in the linted text.
    pub(crate) range: Range<usize>,
}

/// Reports statements PostgreSQL refuses to run inside a transaction block, for a file that
/// starts inside one when `in_transaction` (the engine's own transaction) and also between any
/// `BEGIN` and `COMMIT`/`ROLLBACK` in the file.
pub(crate) fn transaction_block_checks(
    file: &ast::SourceFile,
    engine_transaction: bool,
    check_index: bool,
    check_other: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut in_transaction = engine_transaction;
    // Whether the current block is the engine's (vs one opened by `BEGIN` in the file).
    let mut engine_block = engine_transaction;
    for stmt in file.stmts() {
        let (what, range, rule) = match &stmt {
            ast::Stmt::Begin(_) => {
                // A `BEGIN` inside the engine's transaction only draws a warning from the server:
                // the engine's block goes on.
                if !in_transaction {
                    engine_block = false;
                }
                in_transaction = true;
                continue;
            }
            ast::Stmt::Commit(_) | ast::Stmt::Rollback(_) => {
                in_transaction = false;
                engine_block = false;
                continue;
            }
            _ if !in_transaction => continue,
            ast::Stmt::CreateIndex(create) => match create.concurrently_token() {
                Some(token) if check_index => (
                    "CREATE INDEX CONCURRENTLY",
                    token_range(&token),
                    BAN_CONCURRENT_INDEX_IN_TRANSACTION,
                ),
                _ => continue,
            },
            ast::Stmt::DropIndex(drop) => match drop.concurrently_token() {
                Some(token) => (
                    "DROP INDEX CONCURRENTLY",
                    token_range(&token),
                    BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
                ),
                None => continue,
            },
            ast::Stmt::Reindex(reindex) if reindex.is_concurrently() => (
                "REINDEX CONCURRENTLY",
                stmt_range(&stmt),
                BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
            ),
            ast::Stmt::AlterTable(alter) if detaches_concurrently(alter) => (
                "DETACH PARTITION CONCURRENTLY",
                stmt_range(&stmt),
                BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
            ),
            ast::Stmt::Vacuum(_) => (
                "VACUUM",
                stmt_range(&stmt),
                BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
            ),
            ast::Stmt::CreateDatabase(_) => (
                "CREATE DATABASE",
                stmt_range(&stmt),
                BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
            ),
            ast::Stmt::DropDatabase(_) => (
                "DROP DATABASE",
                stmt_range(&stmt),
                BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
            ),
            ast::Stmt::CreateTablespace(_) => (
                "CREATE TABLESPACE",
                stmt_range(&stmt),
                BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
            ),
            ast::Stmt::DropTablespace(_) => (
                "DROP TABLESPACE",
                stmt_range(&stmt),
                BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
            ),
            ast::Stmt::AlterSystem(_) => (
                "ALTER SYSTEM",
                stmt_range(&stmt),
                BAN_NON_TRANSACTIONAL_IN_TRANSACTION,
            ),
            _ => continue,
        };
        if rule == BAN_NON_TRANSACTIONAL_IN_TRANSACTION && !check_other {
            continue;
        }
        let (message, help) = if engine_block {
            (
                format!(
                    "`{what}` cannot run inside a transaction block, and this migration runs in \
                     one (its up.sql has no `{}` line)",
                    crate::NO_TRANSACTION_MARKER
                ),
                format!(
                    "Move the statement into a migration of its own whose up.sql carries a line \
                     `{}`; the engine then runs it statement by statement, outside a transaction.",
                    crate::NO_TRANSACTION_MARKER
                ),
            )
        } else {
            (
                format!(
                    "`{what}` cannot run inside a transaction block, and this statement follows a \
                     `BEGIN`"
                ),
                "Run the statement outside `BEGIN` … `COMMIT`.".to_string(),
            )
        };
        out.push(Finding {
            rule: rule.to_string(),
            message,
            help: Some(help),
            range,
        });
    }
    out
}

/// The byte range of a token.
pub(crate) fn token_range(token: &squawk_syntax::SyntaxToken) -> Range<usize> {
    let range = token.text_range();
    usize::from(range.start())..usize::from(range.end())
}

/// The range of a statement from its first non-trivia token (leading comments excluded).
pub(crate) fn stmt_range(stmt: &ast::Stmt) -> Range<usize> {
    node_range(stmt.syntax())
}

/// The range of a node from its first non-trivia token to its end.
pub(crate) fn node_range(node: &squawk_syntax::SyntaxNode) -> Range<usize> {
    let full = node.text_range();
    let start = node
        .children_with_tokens()
        .find(|el| !el.kind().is_trivia())
        .map_or(full.start(), |el| el.text_range().start());
    usize::from(start)..usize::from(full.end())
}

fn detaches_concurrently(alter: &ast::AlterTable) -> bool {
    alter.actions().any(|action| match action {
        ast::AlterTableAction::DetachPartition(detach) => matches!(
            detach.detach_partition_option(),
            Some(ast::DetachPartitionOption::DetachConcurrently(_))
        ),
        _ => false,
    })
}
