//! The lint report: findings, their rendering, and their JSON form.

use std::fmt;

use serde::Serialize;

/// How serious a finding is. Only errors make a report unclean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the migration unless suppressed with a reason.
    Error,
    /// Reported, but does not make the report unclean.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The rule code: a squawk rule such as `require-concurrent-index-creation`, or one of this
    /// crate's codes (see [`crate::rules`]), such as `syntax-error`.
    pub rule: String,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is advice.
    pub help: Option<String>,
    /// 1-based line of the start of the finding.
    pub line: usize,
    /// 1-based column (in characters) of the start of the finding.
    pub column: usize,
    /// The statement the finding is in (or the comment, for suppression problems), with
    /// whitespace collapsed and long text cut short with `…`.
    pub statement: String,
    /// The reason given in the suppression comment, when the finding is suppressed.
    pub suppressed: Option<String>,
}

impl Violation {
    /// Whether this finding makes the report unclean: an error that is not suppressed.
    pub fn is_blocking(&self) -> bool {
        self.severity == Severity::Error && self.suppressed.is_none()
    }
}

/// A place where the SQL does not parse. Each one is also in
/// [`LintReport::violations`] with rule `syntax-error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseError {
    /// The parser's message, such as `expected R_PAREN`.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// The result of linting one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintReport {
    /// The file name as given to [`crate::lint_sql`], used when rendering.
    pub file: String,
    /// Whether the file was linted as running inside one transaction (the engine's default), as
    /// opposed to statement by statement (a `-- torghut:no-transaction` migration).
    pub in_transaction: bool,
    /// All findings, suppressed ones included, in the order they appear in the file.
    pub violations: Vec<Violation>,
    /// Where the SQL does not parse; empty when it parses.
    pub parse_errors: Vec<ParseError>,
}

impl LintReport {
    /// No unsuppressed errors (warnings and suppressed findings are allowed).
    pub fn is_clean(&self) -> bool {
        !self.violations.iter().any(Violation::is_blocking)
    }

    /// Unsuppressed errors.
    pub fn errors(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.is_blocking())
    }

    /// Unsuppressed warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Violation> {
        self.violations
            .iter()
            .filter(|v| v.severity == Severity::Warning && v.suppressed.is_none())
    }

    /// Suppressed findings.
    pub fn suppressed(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.suppressed.is_some())
    }

    /// Findings of one rule, suppressed or not.
    pub fn by_rule<'a: 'r, 'r>(
        &'a self,
        rule: &'r str,
    ) -> impl Iterator<Item = &'a Violation> + 'r {
        self.violations.iter().filter(move |v| v.rule == rule)
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Compiler-style rendering. Nothing at all for a report without findings; otherwise one block
/// per finding and a summary line:
///
/// ```text
/// migrations/0006_x/up.sql:12:5: error[adding-not-nullable-field]: Adding a new column ...
///     | ALTER TABLE trades ADD COLUMN venue text NOT NULL;
///     = help: Make the field nullable or add a non-VOLATILE DEFAULT
/// migrations/0006_x/up.sql:20:1: allowed[ban-drop-column]: Dropping a column may break ...
///     = reason: column unused since release 2024.06
/// migrations/0006_x/up.sql: 1 error, 0 warnings, 1 suppressed
/// ```
impl fmt::Display for LintReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.violations.is_empty() {
            return Ok(());
        }
        for v in &self.violations {
            let label = match &v.suppressed {
                Some(_) => "allowed".to_string(),
                None => v.severity.to_string(),
            };
            writeln!(
                f,
                "{}:{}:{}: {label}[{}]: {}",
                self.file, v.line, v.column, v.rule, v.message
            )?;
            match &v.suppressed {
                Some(reason) => writeln!(f, "    = reason: {reason}")?,
                None => {
                    if !v.statement.is_empty() {
                        writeln!(f, "    | {}", v.statement)?;
                    }
                    if let Some(help) = &v.help {
                        writeln!(f, "    = help: {help}")?;
                    }
                }
            }
        }
        writeln!(
            f,
            "{}: {}, {}, {} suppressed",
            self.file,
            plural(self.errors().count(), "error"),
            plural(self.warnings().count(), "warning"),
            self.suppressed().count()
        )
    }
}
