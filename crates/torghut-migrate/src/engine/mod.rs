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
            lock_retries: 10,
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

mod adopt;
mod down;
mod error;
mod lock;
mod repair;
mod report;
mod up;
mod verify;

pub use adopt::LEGACY_REVISIONS;
pub use error::{render_diff, DbFailure, MigrateError};
pub use report::{
    AdoptReport, DownReport, Mismatch, PlanStep, RepairAction, RepairReport, Status, UpReport,
    VerifyReport,
};

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
            .try_get(0)?;
        if !exists {
            return Ok(None);
        }
        let rows = self
            .client
            .query("SELECT version_num::text FROM public.alembic_version", &[])
            .await?;
        Ok(match rows.len() {
            0 => Some(String::new()),
            _ => Some(rows[0].try_get(0)?),
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
}
