//! What the migrator reports: status, plan, the result of each operation.

use super::*;

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
