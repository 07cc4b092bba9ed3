//! The migrator: status, plan, up, down, verify, adopt and repair against one database.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use crate::backfill::{BackfillOptions, Connector, Event, ProgressSink};
use crate::catalog::{self, CatalogDiff};
use crate::history::{
    self, Action, AppliedMigration, BackfillState, LogEntry, NewHistoryRow, Outcome, Recorder,
    META_DDL,
};
use crate::source::{Migration, MigrationSet};
use crate::split::split_statements;

/// Advisory lock key held by the run that changes the schema ("tghut_mg").
pub const LOCK_KEY: i64 = 0x7467_6875_745f_6d67;

/// The schema whose tables the migrations manage.
pub const MANAGED_SCHEMA: &str = "public";

/// Tables of the original service that the migrations do not manage: its Alembic bookkeeping,
/// and the key/value table its start-up creates (present or not; `0007_audit_capture` creates it
/// when missing).
const IGNORED_TABLES: &[&str] = &["alembic_version", "torghut_meta"];

/// Version of this tool, recorded with every migration it applies.
pub const TOOL_VERSION: &str = concat!("torghut ", env!("CARGO_PKG_VERSION"));

/// Tunables of a run.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// How long to wait for another run's lock before giving up.
    pub lock_wait: Duration,
    /// `lock_timeout` for every statement of a migration. Below PostgreSQL's `deadlock_timeout`
    /// (1 s by default), so that a migration waiting for a table lock gives up before a writer
    /// waiting behind it would be chosen as a deadlock victim.
    pub lock_timeout: Duration,
    /// `statement_timeout` for every statement of a migration.
    pub statement_timeout: Duration,
    /// How many times a migration is retried after hitting `lock_timeout`.
    pub lock_retries: u32,
    /// Host name recorded in the history and the run log.
    pub host: String,
    /// How backfill migrations batch and pace their work.
    pub backfill: BackfillOptions,
    /// Where the run reports what it does, as it happens.
    pub progress: ProgressSink,
    /// Opens more connections to the same database: backfill steps then run side by side
    /// (up to [`BackfillOptions::workers`]); without it they run one after the other.
    pub connect: Option<Connector>,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            lock_wait: Duration::from_secs(60),
            lock_timeout: Duration::from_millis(500),
            statement_timeout: Duration::from_secs(600),
            lock_retries: 5,
            host: hostname(),
            backfill: BackfillOptions::default(),
            progress: ProgressSink::default(),
            connect: None,
        }
    }
}

/// The local host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or truncates.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

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

/// A checksum that does not match its file.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    /// Migration id.
    pub id: String,
    /// Checksum recorded when applied.
    pub recorded: String,
    /// Checksum of the file now.
    pub file: String,
}

/// The state of a database against the migrations.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Last applied migration.
    pub current: Option<String>,
    /// The revision this binary expects (its last migration).
    pub expected: Option<String>,
    /// History rows.
    pub applied: Vec<AppliedMigration>,
    /// Migrations not applied yet, in order.
    pub pending: Vec<String>,
    /// Migrations left dirty.
    pub dirty: Vec<String>,
    /// Edited applied migrations.
    pub checksum_mismatches: Vec<Mismatch>,
    /// Applied migrations that this binary does not have.
    pub unknown_applied: Vec<String>,
    /// `alembic_version` of the old tool, when the table exists.
    pub alembic_version: Option<String>,
    /// Backfills that started and are not applied yet: how far each step got (`up` carries on
    /// from there).
    pub unfinished_backfills: Vec<BackfillState>,
    /// True when nothing is pending, dirty, edited or unknown.
    pub clean: bool,
}

/// What `up` did.
#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    /// Applied by this run, in order.
    pub applied: Vec<String>,
    /// Revision afterwards.
    pub current: Option<String>,
    /// Time spent waiting for the lock.
    pub lock_wait_ms: u64,
}

/// What `down` did.
#[derive(Debug, Clone, Serialize)]
pub struct DownReport {
    /// Reverted by this run, newest first.
    pub reverted: Vec<String>,
    /// Revision afterwards.
    pub current: Option<String>,
}

/// One step of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStep {
    /// Migration id.
    pub id: String,
    /// Whether it runs in one transaction.
    pub transactional: bool,
    /// The SQL as it will be sent.
    pub sql: String,
}

/// The result of `verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Revision checked against.
    pub current: Option<String>,
    /// Checksum mismatches.
    pub checksum_mismatches: Vec<Mismatch>,
    /// Applied migrations unknown to this binary.
    pub unknown_applied: Vec<String>,
    /// Dirty migrations.
    pub dirty: Vec<String>,
    /// Catalog comparison.
    pub catalog: CatalogDiff,
    /// True when everything matches.
    pub clean: bool,
}

/// The result of `adopt`.
#[derive(Debug, Clone, Serialize)]
pub struct AdoptReport {
    /// The Alembic revision found.
    pub alembic_version: String,
    /// Migrations recorded as applied.
    pub recorded: Vec<String>,
    /// True when the database had already been adopted (nothing done).
    pub already_adopted: bool,
    /// Tables not managed by the migrations (listed, not checked).
    pub unmanaged_tables: Vec<String>,
}

/// What `repair` should do.
#[derive(Debug, Clone)]
pub enum RepairAction {
    /// The dirty migration's remaining statements were completed by hand: record it applied.
    MarkApplied,
    /// The dirty migration's partial effects were undone by hand: forget it.
    MarkRolledBack,
    /// Record the file's checksum for an applied migration (after review).
    AcceptChecksum(String),
}

/// The result of `repair`.
#[derive(Debug, Clone, Serialize)]
pub struct RepairReport {
    /// The migration repaired.
    pub id: String,
    /// What was done.
    pub action: String,
}

/// Runs migrations against one database connection.
pub struct Migrator {
    pub(crate) client: Client,
    set: MigrationSet,
    pub(crate) opts: MigrateOptions,
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis().max(1))
}

/// A lock not had within `lock_timeout`, or a deadlock with a writer found by this session:
/// either way the migration's transaction rolled back whole, and it is worth trying again.
fn is_lock_timeout(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
        || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
}

impl Migrator {
    /// A migrator over `client` (a dedicated connection: the migration lock is held by its session).
    pub fn new(client: Client, set: MigrationSet, opts: MigrateOptions) -> Self {
        Self { client, set, opts }
    }

    /// The migration set.
    pub fn migrations(&self) -> &MigrationSet {
        &self.set
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Gives the connection back.
    pub fn into_client(self) -> Client {
        self.client
    }

    async fn alembic_version(&self) -> Result<Option<String>, MigrateError> {
        let exists: bool = self
            .client
            .query_one(
                "SELECT to_regclass('public.alembic_version') IS NOT NULL",
                &[],
            )
            .await?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let rows = self
            .client
            .query("SELECT version_num::text FROM public.alembic_version", &[])
            .await?;
        Ok(match rows.len() {
            0 => Some(String::new()),
            _ => Some(rows[0].get(0)),
        })
    }

    /// The audit triggers (`audit_*`) of the managed schema that do not fire as created: while
    /// one is disabled, writes go unaudited.
    pub async fn audit_triggers_not_enabled(
        &self,
    ) -> Result<Vec<catalog::TriggerNotEnabled>, MigrateError> {
        Ok(catalog::triggers_not_enabled(&self.client, MANAGED_SCHEMA, "audit_").await?)
    }

    /// Reads the state of the database. Changes nothing.
    pub async fn status(&self) -> Result<Status, MigrateError> {
        let applied = history::read_applied(&self.client).await?;
        let mut pending = Vec::new();
        let mut mismatches = Vec::new();
        let mut unknown = Vec::new();
        for a in &applied {
            match self.set.get(&a.id) {
                Some(m) if m.checksum != a.checksum => mismatches.push(Mismatch {
                    id: a.id.clone(),
                    recorded: a.checksum.clone(),
                    file: m.checksum.clone(),
                }),
                Some(_) => {}
                None => unknown.push(a.id.clone()),
            }
        }
        for m in self.set.all() {
            if !applied.iter().any(|a| a.id == m.id) {
                pending.push(m.id.clone());
            }
        }
        let dirty: Vec<String> = applied
            .iter()
            .filter(|a| a.dirty)
            .map(|a| a.id.clone())
            .collect();
        let clean =
            pending.is_empty() && dirty.is_empty() && mismatches.is_empty() && unknown.is_empty();
        let unfinished_backfills = history::read_backfills(&self.client)
            .await?
            .into_iter()
            .filter(|b| pending.contains(&b.migration_id))
            .collect();
        Ok(Status {
            current: applied.last().map(|a| a.id.clone()),
            expected: self.set.latest().map(str::to_string),
            applied,
            pending,
            dirty,
            checksum_mismatches: mismatches,
            unknown_applied: unknown,
            alembic_version: self.alembic_version().await?,
            unfinished_backfills,
            clean,
        })
    }

    /// Takes the migration lock, waiting up to `lock_wait`. Returns how long it waited.
    async fn lock(&self) -> Result<Duration, MigrateError> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(25);
        loop {
            let got: bool = self
                .client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
                .await?
                .get(0);
            if got {
                return Ok(start.elapsed());
            }
            if start.elapsed() >= self.opts.lock_wait {
                let holder = self
                    .client
                    .query_opt(
                        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local') \
                         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                         WHERE l.locktype = 'advisory' AND l.granted \
                           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                           AND ((l.classid::bigint << 32) | l.objid::bigint) = $1 LIMIT 1",
                        &[&LOCK_KEY],
                    )
                    .await
                    .ok()
                    .flatten()
                    .map(|r| {
                        format!(
                            " (backend pid {}, application {:?}, from {})",
                            r.get::<_, i32>(0),
                            r.get::<_, String>(1),
                            r.get::<_, String>(2)
                        )
                    })
                    .unwrap_or_default();
                return Err(MigrateError::LockWait {
                    waited: start.elapsed(),
                    holder,
                });
            }
            tokio::time::sleep(pause.min(self.opts.lock_wait.saturating_sub(start.elapsed())))
                .await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    async fn unlock(&self) {
        if let Err(e) = self
            .client
            .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
            .await
        {
            // The session's lock also ends with the connection.
            tracing::warn!(error = %DbFailure::from(&e), "could not release the migration lock");
        }
    }

    async fn ensure_meta(&self) -> Result<(), MigrateError> {
        // Made durable by the next synchronous commit; losing it in a crash loses nothing else.
        self.client
            .batch_execute(&format!(
                "BEGIN; SET LOCAL synchronous_commit = off; {META_DDL} COMMIT;"
            ))
            .await?;
        Ok(())
    }

    /// Runs `f` holding the migration lock, with the bookkeeping tables in place; the lock is
    /// released whatever `f` returns.
    async fn locked<T, F>(&mut self, f: F) -> Result<(T, Duration), MigrateError>
    where
        F: for<'a> FnOnce(
            &'a mut Migrator,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, MigrateError>> + Send + 'a>,
        >,
    {
        // Lets a server notice a vanished client even in the middle of a long statement (PG 14+).
        let _ = self
            .client
            .batch_execute("SET client_connection_check_interval = '2s'")
            .await;
        let waited = self.lock().await?;
        let result = match self.ensure_meta().await {
            Ok(()) => f(self).await,
            Err(e) => Err(e),
        };
        self.unlock().await;
        result.map(|r| (r, waited))
    }

    /// Runs a migration's statements one by one outside any transaction, under the lock and
    /// statement timeouts (reset afterwards). The outer error is a failure to set the
    /// timeouts; the inner one the first statement that failed (nothing after it runs).
    async fn run_outside_transaction(
        &mut self,
        sql: &str,
    ) -> Result<Result<(), tokio_postgres::Error>, tokio_postgres::Error> {
        self.client.batch_execute(&self.timeouts_sql(false)).await?;
        let mut result = Ok(());
        for st in split_statements(sql) {
            if let Err(e) = self.client.batch_execute(&st).await {
                result = Err(e);
                break;
            }
        }
        let _ = self
            .client
            .batch_execute("RESET lock_timeout; RESET statement_timeout;")
            .await;
        Ok(result)
    }

    pub(crate) fn timeouts_sql(&self, local: bool) -> String {
        let scope = if local { "LOCAL " } else { "" };
        format!(
            "SET {scope}lock_timeout = '{}'; SET {scope}statement_timeout = '{}';",
            ms(self.opts.lock_timeout),
            ms(self.opts.statement_timeout)
        )
    }

    /// Checks that `up` may proceed and returns the migrations to apply up to `to`.
    fn pending_until(
        &self,
        status: &Status,
        to: Option<&str>,
    ) -> Result<Vec<Migration>, MigrateError> {
        if let Some(d) = status.dirty.first() {
            return Err(MigrateError::Dirty(d.clone()));
        }
        if !status.unknown_applied.is_empty() {
            return Err(MigrateError::UnknownApplied(status.unknown_applied.clone()));
        }
        if !status.checksum_mismatches.is_empty() {
            return Err(MigrateError::ChecksumMismatch(
                status
                    .checksum_mismatches
                    .iter()
                    .map(|m| m.id.clone())
                    .collect(),
            ));
        }
        if let Some(last) = status.applied.last() {
            for p in &status.pending {
                if let Some(m) = self.set.get(p) {
                    if (m.version as i32) < last.version {
                        return Err(MigrateError::OutOfOrder {
                            pending: p.clone(),
                            applied: last.id.clone(),
                        });
                    }
                }
            }
        }
        let end = match to {
            None => self.set.all().len(),
            Some(t) => {
                let pos = self
                    .set
                    .position(t)
                    .ok_or_else(|| MigrateError::UnknownTarget(t.to_string()))?;
                pos + 1
            }
        };
        Ok(self.set.all()[..end]
            .iter()
            .filter(|m| status.pending.contains(&m.id))
            .cloned()
            .collect())
    }

    /// The exact SQL `up` would run, without changing anything.
    pub async fn plan(&self, to: Option<&str>) -> Result<Vec<PlanStep>, MigrateError> {
        let status = self.status().await?;
        if status.applied.is_empty() {
            if let Some(v) = &status.alembic_version {
                return Err(MigrateError::NeedsAdopt(v.clone()));
            }
        }
        let pending = self.pending_until(&status, to)?;
        Ok(pending
            .iter()
            .map(|m| {
                let sql = if !m.backfill.is_empty() {
                    let mut s = format!(
                        "-- batched backfill: each batch in its own transaction with its progress row\n{}\n",
                        self.timeouts_sql(true)
                    );
                    for (i, st) in m.backfill.iter().enumerate() {
                        s.push_str(&format!(
                            "-- step {}: the rows of {} by {}, $1 and $2 the first and last key of each batch\n{};\n",
                            i + 1,
                            st.label(),
                            st.key,
                            st.sql
                        ));
                    }
                    s.push_str(&format!(
                        "-- then: INSERT INTO torghut_meta.schema_history (id = {:?}, checksum = {})\n",
                        m.id, m.checksum
                    ));
                    s
                } else if m.no_transaction {
                    let mut s = format!("{}\n", self.timeouts_sql(false));
                    for st in split_statements(&m.up) {
                        s.push_str(&st);
                        s.push_str(";\n");
                    }
                    s
                } else {
                    format!(
                        "BEGIN;\n{}\n{}\n-- then: INSERT INTO torghut_meta.schema_history (id = {:?}, checksum = {})\nCOMMIT;\n",
                        self.timeouts_sql(true),
                        m.up.trim_end(),
                        m.id,
                        m.checksum
                    )
                };
                PlanStep {
                    id: m.id.clone(),
                    transactional: !m.no_transaction,
                    sql,
                }
            })
            .collect())
    }

    /// Applies pending migrations up to `to` (all when `None`), each in its own transaction together
    /// with its history row.
    pub async fn up(&mut self, to: Option<&str>) -> Result<UpReport, MigrateError> {
        if let Some(t) = to {
            if self.set.get(t).is_none() {
                return Err(MigrateError::UnknownTarget(t.to_string()));
            }
        }
        let to = to.map(str::to_string);
        let (applied, waited) = self
            .locked(move |m| Box::pin(async move { m.up_locked(to.as_deref()).await }))
            .await?;
        let status = self.status().await?;
        Ok(UpReport {
            applied,
            current: status.current,
            lock_wait_ms: waited.as_millis() as u64,
        })
    }

    async fn up_locked(&mut self, to: Option<&str>) -> Result<Vec<String>, MigrateError> {
        let status = self.status().await?;
        if status.applied.is_empty() {
            if let Some(v) = &status.alembic_version {
                return Err(MigrateError::NeedsAdopt(v.clone()));
            }
        }
        let pending = self.pending_until(&status, to)?;
        let mut done = Vec::new();
        let last = pending.len().saturating_sub(1);
        for (i, m) in pending.into_iter().enumerate() {
            let start = Instant::now();
            self.opts.progress.emit(Event::MigrationStarted {
                id: m.id.clone(),
                description: m.description.clone(),
                kind: if !m.backfill.is_empty() {
                    "backfill"
                } else if m.no_transaction {
                    "no-transaction"
                } else {
                    "transaction"
                },
            });
            if !m.backfill.is_empty() {
                self.apply_backfill(&m, &done, i == last).await?;
            } else if m.no_transaction {
                self.apply_no_transaction(&m, &done).await?;
            } else {
                // Every commit but the run's last skips the WAL flush wait: WAL is flushed in order,
                // so the last (synchronous) commit makes all of them durable before `up` returns.
                // A server crash in between loses whole migrations together with their history
                // rows, never one without the other.
                self.apply_transactional(&m, &done, i == last).await?;
            }
            self.opts.progress.emit(Event::MigrationApplied {
                id: m.id.clone(),
                duration_ms: start.elapsed().as_millis() as u64,
            });
            done.push(m.id.clone());
        }
        Ok(done)
    }

    async fn apply_transactional(
        &mut self,
        m: &Migration,
        done: &[String],
        durable: bool,
    ) -> Result<(), MigrateError> {
        let attempts = self.opts.lock_retries + 1;
        for attempt in 1..=attempts {
            let start = Instant::now();
            let mut timeouts = self.timeouts_sql(true);
            if !durable {
                timeouts.push_str(" SET LOCAL synchronous_commit = off;");
            }
            let host = self.opts.host.clone();
            let tx = self.client.transaction().await?;
            let run = async {
                tx.batch_execute(&timeouts).await?;
                tx.batch_execute(&m.up).await?;
                Ok::<(), tokio_postgres::Error>(())
            }
            .await;
            match run {
                Ok(()) => {
                    let dur = start.elapsed().as_millis() as i64;
                    history::insert_history(
                        &tx,
                        &NewHistoryRow {
                            version: m.version as i32,
                            id: &m.id,
                            description: &m.description,
                            checksum: &m.checksum,
                            host: &host,
                            duration_ms: dur,
                            tool_version: TOOL_VERSION,
                            dirty: false,
                            adopted: false,
                        },
                    )
                    .await?;
                    Recorder::new(&host, TOOL_VERSION)
                        .record(
                            &tx,
                            LogEntry {
                                action: Action::Up,
                                migration_id: Some(&m.id),
                                outcome: Outcome::Ok,
                                reason: None,
                                detail: (attempt > 1)
                                    .then(|| format!("applied on attempt {attempt}"))
                                    .as_deref(),
                                duration_ms: Some(dur),
                            },
                        )
                        .await?;
                    tx.commit().await?;
                    tracing::info!(migration = %m.id, duration_ms = dur, "applied");
                    return Ok(());
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    if is_lock_timeout(&e) && attempt < attempts {
                        tracing::warn!(migration = %m.id, attempt, "lock_timeout; retrying");
                        tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
                        continue;
                    }
                    let lock_timeout = is_lock_timeout(&e);
                    let failure = DbFailure::from(e);
                    self.log_failure(Action::Up, &m.id, &failure.to_string())
                        .await;
                    if lock_timeout {
                        return Err(MigrateError::LockRetriesExhausted {
                            id: m.id.clone(),
                            attempts,
                            applied: done.to_vec(),
                        });
                    }
                    return Err(MigrateError::MigrationFailed {
                        id: m.id.clone(),
                        failure,
                        applied: done.to_vec(),
                        dirty: false,
                    });
                }
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    async fn log_failure(&self, action: Action, id: &str, detail: &str) {
        let r = Recorder::new(&self.opts.host, TOOL_VERSION)
            .record(
                &self.client,
                LogEntry {
                    action,
                    migration_id: Some(id),
                    outcome: Outcome::Failed,
                    reason: None,
                    detail: Some(detail),
                    duration_ms: None,
                },
            )
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %DbFailure::from(&e), "could not write the run log");
        }
    }

    async fn apply_no_transaction(
        &mut self,
        m: &Migration,
        done: &[String],
    ) -> Result<(), MigrateError> {
        let start = Instant::now();
        history::insert_history(
            &self.client,
            &NewHistoryRow {
                version: m.version as i32,
                id: &m.id,
                description: &m.description,
                checksum: &m.checksum,
                host: &self.opts.host,
                duration_ms: 0,
                tool_version: TOOL_VERSION,
                dirty: true,
                adopted: false,
            },
        )
        .await?;
        Recorder::new(&self.opts.host, TOOL_VERSION)
            .record(
                &self.client,
                LogEntry {
                    action: Action::Up,
                    migration_id: Some(&m.id),
                    outcome: Outcome::Started,
                    reason: None,
                    detail: Some("outside a transaction; dirty until it finishes"),
                    duration_ms: None,
                },
            )
            .await?;
        let result = self.run_outside_transaction(&m.up).await?;
        match result {
            Ok(()) => {
                let dur = start.elapsed().as_millis() as i64;
                history::mark_finished(&self.client, &m.id, dur).await?;
                Recorder::new(&self.opts.host, TOOL_VERSION)
                    .record(
                        &self.client,
                        LogEntry {
                            action: Action::Up,
                            migration_id: Some(&m.id),
                            outcome: Outcome::Ok,
                            reason: None,
                            detail: None,
                            duration_ms: Some(dur),
                        },
                    )
                    .await?;
                Ok(())
            }
            Err(e) => {
                let failure = DbFailure::from(e);
                self.log_failure(Action::Up, &m.id, &failure.to_string())
                    .await;
                Err(MigrateError::MigrationFailed {
                    id: m.id.clone(),
                    failure,
                    applied: done.to_vec(),
                    dirty: true,
                })
            }
        }
    }

    /// Reverts applied migrations newer than `to` (`"base"` reverts all), newest first, each in one
    /// transaction with the removal of its history row. In prod it needs `allow_destructive` and a
    /// reason.
    pub async fn down(
        &mut self,
        to: &str,
        prod: bool,
        allow_destructive: bool,
        reason: Option<&str>,
    ) -> Result<DownReport, MigrateError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if prod && !(allow_destructive && reason.is_some()) {
            return Err(MigrateError::Refused(
                "refusing `migrate down` with APP_ENV=prod: it can destroy data; pass --allow-destructive and --reason TEXT".into(),
            ));
        }
        let target_pos = if to == "base" {
            None
        } else {
            Some(
                self.set
                    .position(to)
                    .ok_or_else(|| MigrateError::UnknownTarget(to.to_string()))?,
            )
        };
        let reason = reason.map(str::to_string);
        let (reverted, _) = self
            .locked(move |m| {
                Box::pin(async move { m.down_locked(target_pos, reason.as_deref()).await })
            })
            .await?;
        let status = self.status().await?;
        Ok(DownReport {
            reverted,
            current: status.current,
        })
    }

    async fn down_locked(
        &mut self,
        target_pos: Option<usize>,
        reason: Option<&str>,
    ) -> Result<Vec<String>, MigrateError> {
        let status = self.status().await?;
        if let Some(d) = status.dirty.first() {
            return Err(MigrateError::Dirty(d.clone()));
        }
        if !status.unknown_applied.is_empty() {
            return Err(MigrateError::UnknownApplied(status.unknown_applied.clone()));
        }
        if let Some(pos) = target_pos {
            let id = &self.set.all()[pos].id;
            if !status.applied.iter().any(|a| &a.id == id) {
                return Err(MigrateError::BadTarget(format!(
                    "{id} is not applied; `down --to` takes an applied migration (or `base`)"
                )));
            }
        }
        let to_revert: Vec<Migration> = status
            .applied
            .iter()
            .rev()
            .filter_map(|a| {
                let pos = self.set.position(&a.id)?;
                (target_pos.is_none_or(|t| pos > t)).then(|| self.set.all()[pos].clone())
            })
            .collect();
        let mut done = Vec::new();
        for m in to_revert {
            if m.down_no_transaction {
                self.revert_no_transaction(&m, &done, reason).await?;
                done.push(m.id.clone());
                continue;
            }
            let start = Instant::now();
            let timeouts = self.timeouts_sql(true);
            let host = self.opts.host.clone();
            let tx = self.client.transaction().await?;
            let run = async {
                tx.batch_execute(&timeouts).await?;
                tx.batch_execute(&m.down).await?;
                history::remove(&tx, &m.id).await?;
                history::forget_backfill(&tx, &m.id).await?;
                Recorder::new(&host, TOOL_VERSION)
                    .record(
                        &tx,
                        LogEntry {
                            action: Action::Down,
                            migration_id: Some(&m.id),
                            outcome: Outcome::Ok,
                            reason,
                            detail: None,
                            duration_ms: Some(start.elapsed().as_millis() as i64),
                        },
                    )
                    .await?;
                Ok::<(), tokio_postgres::Error>(())
            }
            .await;
            match run {
                Ok(()) => {
                    tx.commit().await?;
                    done.push(m.id.clone());
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    let failure = DbFailure::from(e);
                    self.log_failure(Action::Down, &m.id, &failure.to_string())
                        .await;
                    return Err(MigrateError::MigrationFailed {
                        id: m.id.clone(),
                        failure,
                        applied: done,
                        dirty: false,
                    });
                }
            }
        }
        Ok(done)
    }

    /// Reverts one migration whose `down.sql` is marked `-- torghut:no-transaction`: the history
    /// row is marked dirty first, the statements run one by one, then the row is removed. If a
    /// statement fails the row stays dirty (`repair` after a person has looked).
    async fn revert_no_transaction(
        &mut self,
        m: &Migration,
        done: &[String],
        reason: Option<&str>,
    ) -> Result<(), MigrateError> {
        let start = Instant::now();
        history::mark_dirty(&self.client, &m.id).await?;
        Recorder::new(&self.opts.host, TOOL_VERSION)
            .record(
                &self.client,
                LogEntry {
                    action: Action::Down,
                    migration_id: Some(&m.id),
                    outcome: Outcome::Started,
                    reason,
                    detail: Some("outside a transaction; dirty until it finishes"),
                    duration_ms: None,
                },
            )
            .await?;
        let result = self.run_outside_transaction(&m.down).await?;
        if let Err(e) = result {
            let failure = DbFailure::from(e);
            self.log_failure(Action::Down, &m.id, &failure.to_string())
                .await;
            return Err(MigrateError::MigrationFailed {
                id: m.id.clone(),
                failure,
                applied: done.to_vec(),
                dirty: true,
            });
        }
        let tx = self.client.transaction().await?;
        history::remove(&tx, &m.id).await?;
        Recorder::new(&self.opts.host, TOOL_VERSION)
            .record(
                &tx,
                LogEntry {
                    action: Action::Down,
                    migration_id: Some(&m.id),
                    outcome: Outcome::Ok,
                    reason,
                    detail: None,
                    duration_ms: Some(start.elapsed().as_millis() as i64),
                },
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Builds the schema the migrations produce up to `upto` (inclusive) in a scratch schema inside a
    /// transaction that is rolled back, and compares the live managed schema with it.
    pub async fn compare_with_expected(
        &mut self,
        upto: Option<&str>,
    ) -> Result<CatalogDiff, MigrateError> {
        let end = match upto {
            None => 0,
            Some(id) => {
                self.set
                    .position(id)
                    .ok_or_else(|| MigrateError::UnknownTarget(id.to_string()))?
                    + 1
            }
        };
        let migrations: Vec<Migration> = self.set.all()[..end].to_vec();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let scratch = format!("torghut_expected_{}_{nanos}", std::process::id());
        let tx = self.client.transaction().await?;
        let result = async {
            tx.batch_execute(&format!(
                "SET LOCAL lock_timeout = '5s'; CREATE SCHEMA {scratch}; SET LOCAL search_path = {scratch};"
            ))
            .await?;
            // Backfills change rows, never the schema: they are left out.
            for m in migrations.iter().filter(|m| m.backfill.is_empty()) {
                let sql = if m.no_transaction {
                    strip_concurrently(&m.up)
                } else {
                    m.up.clone()
                };
                tx.batch_execute(&sql).await?;
            }
            let expected = catalog::read_catalog(&tx, &scratch).await?;
            tx.batch_execute(&format!("SET LOCAL search_path = {MANAGED_SCHEMA}"))
                .await?;
            let live = catalog::read_catalog(&tx, MANAGED_SCHEMA).await?;
            Ok::<_, tokio_postgres::Error>((expected, live))
        }
        .await;
        let _ = tx.rollback().await;
        let (expected, live) = result?;
        Ok(catalog::diff(&expected, &live, IGNORED_TABLES))
    }

    /// Checks applied checksums against the files and the live catalog against the one expected at
    /// the current revision. Changes nothing.
    pub async fn verify(&mut self) -> Result<VerifyReport, MigrateError> {
        let status = self.status().await?;
        let current = status
            .applied
            .iter()
            .rev()
            .find(|a| self.set.get(&a.id).is_some())
            .map(|a| a.id.clone());
        let catalog = self.compare_with_expected(current.as_deref()).await?;
        let clean = catalog.is_clean()
            && status.checksum_mismatches.is_empty()
            && status.unknown_applied.is_empty()
            && status.dirty.is_empty();
        Ok(VerifyReport {
            current,
            checksum_mismatches: status.checksum_mismatches,
            unknown_applied: status.unknown_applied,
            dirty: status.dirty,
            catalog,
            clean,
        })
    }

    /// Adopts a database that the old service's Alembic chain manages: checks the live schema against
    /// the schema expected at its `alembic_version`, then records the migrations up to it as applied.
    /// `alembic_version` is left as it is.
    pub async fn adopt(&mut self, reason: Option<&str>) -> Result<AdoptReport, MigrateError> {
        let reason = reason.map(str::to_string);
        let (r, _) = self
            .locked(move |m| Box::pin(async move { m.adopt_locked(reason.as_deref()).await }))
            .await?;
        Ok(r)
    }

    async fn adopt_locked(&mut self, reason: Option<&str>) -> Result<AdoptReport, MigrateError> {
        let Some(version) = self.alembic_version().await? else {
            return Err(MigrateError::NotAdoptable(
                "no alembic_version table: this database was not built by the old service (use `migrate up` for a new database)".into(),
            ));
        };
        let Some(pos) = self
            .set
            .position(&version)
            .filter(|p| *p < LEGACY_REVISIONS)
        else {
            return Err(MigrateError::NotAdoptable(format!(
                "alembic_version is {version:?}, which is not one of the old service's revisions this tool can adopt ({})",
                self.set.all()[..LEGACY_REVISIONS.min(self.set.all().len())]
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let applied = history::read_applied(&self.client).await?;
        if !applied.is_empty() {
            let expected: Vec<&str> = self.set.all()[..=pos]
                .iter()
                .map(|m| m.id.as_str())
                .collect();
            let have: Vec<&str> = applied.iter().map(|a| a.id.as_str()).collect();
            if have.len() >= expected.len() && have[..expected.len()] == expected[..] {
                return Ok(AdoptReport {
                    alembic_version: version,
                    recorded: Vec::new(),
                    already_adopted: true,
                    unmanaged_tables: Vec::new(),
                });
            }
            return Err(MigrateError::NotAdoptable(format!(
                "the database already has a torghut history ({}) that does not match alembic_version {version:?}",
                have.join(", ")
            )));
        }
        let diff = self.compare_with_expected(Some(&version)).await?;
        if !diff.is_clean() {
            let detail = render_diff(&diff);
            let _ = Recorder::new(&self.opts.host, TOOL_VERSION)
                .record(
                    &self.client,
                    LogEntry {
                        action: Action::Adopt,
                        migration_id: Some(&version),
                        outcome: Outcome::Failed,
                        reason,
                        detail: Some(&detail),
                        duration_ms: None,
                    },
                )
                .await;
            return Err(MigrateError::AdoptDrift {
                revision: version,
                diff,
            });
        }
        let host = self.opts.host.clone();
        let migrations: Vec<Migration> = self.set.all()[..=pos].to_vec();
        let tx = self.client.transaction().await?;
        for m in &migrations {
            history::insert_history(
                &tx,
                &NewHistoryRow {
                    version: m.version as i32,
                    id: &m.id,
                    description: &m.description,
                    checksum: &m.checksum,
                    host: &host,
                    duration_ms: 0,
                    tool_version: TOOL_VERSION,
                    dirty: false,
                    adopted: true,
                },
            )
            .await?;
        }
        let detail = format!(
            "adopted from alembic_version {version}; recorded {}",
            migrations
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Recorder::new(&host, TOOL_VERSION)
            .record(
                &tx,
                LogEntry {
                    action: Action::Adopt,
                    migration_id: Some(&version),
                    outcome: Outcome::Ok,
                    reason,
                    detail: Some(&detail),
                    duration_ms: None,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(AdoptReport {
            alembic_version: version,
            recorded: migrations.into_iter().map(|m| m.id).collect(),
            already_adopted: false,
            unmanaged_tables: diff.unmanaged_tables,
        })
    }

    /// Resolves a dirty migration or accepts an edited checksum, after a person has checked. Needs a
    /// reason, which is logged.
    pub async fn repair(
        &mut self,
        action: RepairAction,
        reason: &str,
    ) -> Result<RepairReport, MigrateError> {
        if reason.trim().is_empty() {
            return Err(MigrateError::Refused(
                "`migrate repair` needs --reason TEXT saying what was checked".into(),
            ));
        }
        let reason = reason.trim().to_string();
        let (r, _) = self
            .locked(move |m| Box::pin(async move { m.repair_locked(action, &reason).await }))
            .await?;
        Ok(r)
    }

    async fn repair_locked(
        &mut self,
        action: RepairAction,
        reason: &str,
    ) -> Result<RepairReport, MigrateError> {
        let status = self.status().await?;
        // The change of the history and its run-log row commit together, or neither does.
        let tx = self.client.transaction().await?;
        let (id, what, detail) = match &action {
            RepairAction::MarkApplied | RepairAction::MarkRolledBack => {
                let Some(id) = status.dirty.first().cloned() else {
                    return Err(MigrateError::Refused(
                        "no dirty migration to repair (see `torghut migrate status`)".into(),
                    ));
                };
                if matches!(action, RepairAction::MarkApplied) {
                    history::clear_dirty(&tx, &id).await?;
                    (id, "marked applied", "dirty marker cleared".to_string())
                } else {
                    history::remove(&tx, &id).await?;
                    (id, "marked rolled back", "history row removed".to_string())
                }
            }
            RepairAction::AcceptChecksum(id) => {
                let Some(mm) = status.checksum_mismatches.iter().find(|m| &m.id == id) else {
                    return Err(MigrateError::Refused(format!(
                        "{id} has no checksum mismatch to accept (see `torghut migrate status`)"
                    )));
                };
                history::set_checksum(&tx, id, &mm.file).await?;
                (
                    id.clone(),
                    "accepted checksum",
                    format!("checksum {} -> {}", mm.recorded, mm.file),
                )
            }
        };
        Recorder::new(&self.opts.host, TOOL_VERSION)
            .record(
                &tx,
                LogEntry {
                    action: Action::Repair,
                    migration_id: Some(&id),
                    outcome: Outcome::Ok,
                    reason: Some(reason),
                    detail: Some(&format!("{what}: {detail}")),
                    duration_ms: None,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(RepairReport {
            id,
            action: what.to_string(),
        })
    }
}

/// How many leading migrations reproduce the old Alembic chain (adoptable revisions).
pub const LEGACY_REVISIONS: usize = 5;

/// Removes `CONCURRENTLY` so a no-transaction migration can be replayed inside a transaction when
/// building the expected catalog.
fn strip_concurrently(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for word in sql.split_inclusive(char::is_whitespace) {
        if word.trim().eq_ignore_ascii_case("concurrently") {
            continue;
        }
        out.push_str(word);
    }
    out
}
