//! The migrator's errors: a database failure reduced to what an operator needs, and what went
//! wrong in a run.

use super::*;

/// A database error reduced to what an operator needs (SQLSTATE, and the message with its detail
/// and hint, as reports and the run log show them), keeping the error itself as its `source()`
/// when there was one (its whole report: position, schema, table, column, constraint).
#[derive(Debug, Clone, Serialize)]
pub struct DbFailure {
    /// SQLSTATE code, when the server sent one.
    pub sqlstate: Option<String>,
    /// The message.
    pub message: String,
    /// The database error, when the failure is one.
    #[serde(skip)]
    pub source: Option<std::sync::Arc<tokio_postgres::Error>>,
}

impl DbFailure {
    /// A failure that is not a database error (a missing table, unreadable progress, ...).
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            sqlstate: None,
            message: message.into(),
            source: None,
        }
    }
}

impl std::fmt::Display for DbFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.sqlstate {
            Some(s) => write!(f, "{} (SQLSTATE {s})", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for DbFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The failure of `e`, without keeping `e` (for a log line).
impl From<&tokio_postgres::Error> for DbFailure {
    fn from(e: &tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => {
                let mut message = db.message().to_string();
                if let Some(d) = db.detail() {
                    message.push_str("; detail: ");
                    message.push_str(d);
                }
                if let Some(h) = db.hint() {
                    message.push_str("; hint: ");
                    message.push_str(h);
                }
                DbFailure {
                    sqlstate: Some(db.code().code().to_string()),
                    message,
                    source: None,
                }
            }
            None => DbFailure {
                sqlstate: e.code().map(|c| c.code().to_string()),
                message: e.to_string(),
                source: None,
            },
        }
    }
}

/// The failure of `e`, keeping `e` as its source.
impl From<tokio_postgres::Error> for DbFailure {
    fn from(e: tokio_postgres::Error) -> Self {
        let mut failure = DbFailure::from(&e);
        failure.source = Some(std::sync::Arc::new(e));
        failure
    }
}

/// Errors of the migrator. Each carries enough to act on; those raised during `up` or `down` carry
/// the migrations that this run had already applied or reverted.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database could not be queried (connection lost, permission, ...).
    #[error("database error: {0}")]
    Database(#[source] DbFailure),
    /// Another run holds the migration lock.
    #[error("another migration run holds the lock{holder}; gave up after waiting {waited:?} (raise --lock-wait to wait longer)")]
    LockWait { waited: Duration, holder: String },
    /// An id given on the command line is not a migration.
    #[error("unknown migration id {0:?}; ids are full names such as 0005_trade_cursor_symbol (see `torghut migrate status`)")]
    UnknownTarget(String),
    /// The target is behind (for up) or ahead of (for down) the current revision.
    #[error("{0}")]
    BadTarget(String),
    /// A no-transaction migration did not finish.
    #[error("migration {0} is dirty: it started outside a transaction and did not finish; check the database by hand, then run `torghut migrate repair --mark-applied` or `--mark-rolled-back` with --reason")]
    Dirty(String),
    /// Applied migrations were edited after they were applied.
    #[error("applied migrations differ from their files (checksum mismatch): {0:?}; applied migrations are never edited: restore the file, or after review record the new checksum with `torghut migrate repair --accept-checksum ID --reason ...`")]
    ChecksumMismatch(Vec<String>),
    /// The database has migrations this binary does not know (a newer binary applied them, or a file
    /// was removed or renamed).
    #[error("the database has applied migrations that this binary does not have: {0:?} (a newer release applied them, or their files were removed or renamed)")]
    UnknownApplied(Vec<String>),
    /// A migration file sorts before one already applied.
    #[error("migration {pending} is not applied but sorts before applied migration {applied}; renumber it after the latest applied migration")]
    OutOfOrder { pending: String, applied: String },
    /// The database is managed by the old Alembic chain and has not been adopted.
    #[error("this database is managed by Alembic (alembic_version = {0:?}) and has no torghut history; run `torghut migrate adopt` first")]
    NeedsAdopt(String),
    /// A migration failed; it was rolled back (or, outside a transaction, left dirty).
    #[error("migration {id} failed: {failure}{}", if *.dirty { " (left dirty: it ran outside a transaction)" } else { "; it was rolled back and the database is at the previous revision" })]
    MigrationFailed {
        id: String,
        #[source]
        failure: DbFailure,
        applied: Vec<String>,
        dirty: bool,
    },
    /// A migration kept hitting `lock_timeout`.
    #[error("migration {id} could not take its locks within lock_timeout after {attempts} attempts (a long transaction holds them); nothing of it was applied")]
    LockRetriesExhausted {
        id: String,
        attempts: u32,
        applied: Vec<String>,
    },
    /// A batch of a backfill failed (other than on a lock, which is retried). The batches
    /// committed before it are kept: the next `up` carries on after them.
    #[error("backfill {id} failed on table {table} after {rows_done} rows: {failure}; the batches committed so far are kept and `torghut migrate up` carries on from there")]
    BackfillFailed {
        id: String,
        table: String,
        rows_done: i64,
        #[source]
        failure: Box<DbFailure>,
        applied: Vec<String>,
    },
    /// Refused by policy (prod without --allow-destructive and --reason, missing reason, ...).
    #[error("{0}")]
    Refused(String),
    /// Adopt: the database is not one the old service built.
    #[error("{0}")]
    NotAdoptable(String),
    /// Adopt: the live schema does not match the schema expected at the Alembic revision.
    #[error("the live schema does not match the schema expected at {revision}:\n{}", render_diff(.diff))]
    AdoptDrift { revision: String, diff: CatalogDiff },
}

impl MigrateError {
    /// Exit code: 1 when a check failed or a migration failed, 2 for connection and usage problems.
    pub fn exit_code(&self) -> i32 {
        match self {
            MigrateError::Database(_) | MigrateError::LockWait { .. } => 2,
            MigrateError::UnknownTarget(_) | MigrateError::BadTarget(_) => 2,
            MigrateError::Refused(_) => 2,
            _ => 1,
        }
    }

    /// Migrations applied (or reverted) by this run before the error.
    pub fn applied(&self) -> &[String] {
        match self {
            MigrateError::MigrationFailed { applied, .. }
            | MigrateError::LockRetriesExhausted { applied, .. }
            | MigrateError::BackfillFailed { applied, .. } => applied,
            _ => &[],
        }
    }
}

impl From<tokio_postgres::Error> for MigrateError {
    fn from(e: tokio_postgres::Error) -> Self {
        MigrateError::Database(DbFailure::from(e))
    }
}

/// Renders a catalog diff for people.
pub fn render_diff(d: &CatalogDiff) -> String {
    let mut s = String::new();
    for x in &d.differences {
        s.push_str("  - ");
        s.push_str(&x.to_string());
        s.push('\n');
    }
    if !d.unmanaged_tables.is_empty() {
        s.push_str(&format!(
            "  (not managed by the migrations, not checked: {})\n",
            d.unmanaged_tables.join(", ")
        ));
    }
    s
}
