//! Bookkeeping: the history of applied migrations and the run log, in schema `torghut_meta`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::source::Migration;

/// Schema holding the bookkeeping tables.
pub const META_SCHEMA: &str = "torghut_meta";

/// Creates the bookkeeping schema and tables when missing. Run under the migration lock.
pub(crate) const META_DDL: &str = "
CREATE SCHEMA IF NOT EXISTS torghut_meta;
CREATE TABLE IF NOT EXISTS torghut_meta.schema_history (
    version integer PRIMARY KEY,
    id text NOT NULL UNIQUE,
    description text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL,
    duration_ms bigint NOT NULL DEFAULT 0,
    tool_version text NOT NULL,
    dirty boolean NOT NULL DEFAULT false,
    adopted boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE torghut_meta.schema_history IS
    'Migrations applied to this database, one row each (written by torghut migrate).';
CREATE TABLE IF NOT EXISTS torghut_meta.migration_log (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    action text NOT NULL CHECK (action IN ('up', 'down', 'adopt', 'repair')),
    migration_id text,
    outcome text NOT NULL CHECK (outcome IN ('ok', 'failed', 'started')),
    db_user text NOT NULL DEFAULT current_user,
    client_host text NOT NULL,
    client_addr inet DEFAULT inet_client_addr(),
    reason text,
    detail text,
    duration_ms bigint,
    tool_version text NOT NULL
);
COMMENT ON TABLE torghut_meta.migration_log IS
    'Every up, down, adopt and repair run by torghut migrate: who, when, what and why.';
CREATE TABLE IF NOT EXISTS torghut_meta.backfill_progress (
    migration_id text NOT NULL,
    step integer NOT NULL,
    table_name text NOT NULL,
    last_key text,
    rows_done bigint NOT NULL DEFAULT 0,
    batches bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (migration_id, step)
);
COMMENT ON TABLE torghut_meta.backfill_progress IS
    'Where each step of a backfill migration got to (the last key of its last committed batch), so that a run that stopped carries on from there.';
";

/// Where a step of a backfill got to.
#[derive(Debug, Clone, Serialize)]
pub struct BackfillState {
    /// The backfill migration.
    pub migration_id: String,
    /// The step's place in the migration (0-based).
    pub step: i32,
    /// The table it walks.
    pub table: String,
    /// The last key of the last committed batch (as text); none before the first batch.
    pub last_key: Option<String>,
    /// Rows handled so far.
    pub rows_done: i64,
    /// Batches committed so far.
    pub batches: i64,
    /// When its first batch started.
    pub started_at: DateTime<Utc>,
    /// When its last batch committed.
    pub updated_at: DateTime<Utc>,
    /// When it finished (none while unfinished).
    pub finished_at: Option<DateTime<Utc>>,
}

/// The progress rows of every backfill that has started, by migration and step.
pub(crate) async fn read_backfills<C: GenericClient>(
    c: &C,
) -> Result<Vec<BackfillState>, tokio_postgres::Error> {
    let exists: bool = c
        .query_one(
            "SELECT CASE WHEN to_regclass('torghut_meta.backfill_progress') IS NULL THEN false \
               ELSE has_table_privilege('torghut_meta.backfill_progress', 'SELECT') END",
            &[],
        )
        .await?
        .try_get(0)?;
    // (A role that may not read it, such as the service's, sees no backfill.)
    if !exists {
        return Ok(Vec::new());
    }
    let rows = c
        .query(
            "SELECT migration_id, step, table_name, last_key, rows_done, batches, started_at,                     updated_at, finished_at              FROM torghut_meta.backfill_progress ORDER BY migration_id, step",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(BackfillState {
                migration_id: r.try_get(0)?,
                step: r.try_get(1)?,
                table: r.try_get(2)?,
                last_key: r.try_get(3)?,
                rows_done: r.try_get(4)?,
                batches: r.try_get(5)?,
                started_at: r.try_get(6)?,
                updated_at: r.try_get(7)?,
                finished_at: r.try_get(8)?,
            })
        })
        .collect()
}

/// Records a committed batch (in the batch's transaction).
pub(crate) async fn record_batch<C: GenericClient>(
    c: &C,
    migration_id: &str,
    step: i32,
    table: &str,
    last_key: &str,
    rows: i64,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO torghut_meta.backfill_progress AS p            (migration_id, step, table_name, last_key, rows_done, batches)          VALUES ($1, $2, $3, $4, $5, 1)          ON CONFLICT (migration_id, step) DO UPDATE SET last_key = EXCLUDED.last_key,            rows_done = p.rows_done + EXCLUDED.rows_done, batches = p.batches + 1, updated_at = now()",
        &[&migration_id, &step, &table, &last_key, &rows],
    )
    .await?;
    Ok(())
}

/// Marks a step finished (creating its row when the table had nothing to walk).
pub(crate) async fn finish_step<C: GenericClient>(
    c: &C,
    migration_id: &str,
    step: i32,
    table: &str,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO torghut_meta.backfill_progress AS p (migration_id, step, table_name, finished_at)          VALUES ($1, $2, $3, now())          ON CONFLICT (migration_id, step) DO UPDATE SET finished_at = now(), updated_at = now()",
        &[&migration_id, &step, &table],
    )
    .await?;
    Ok(())
}

/// Forgets a backfill's progress (its migration was reverted).
pub(crate) async fn forget_backfill<C: GenericClient>(
    c: &C,
    migration_id: &str,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "DELETE FROM torghut_meta.backfill_progress WHERE migration_id = $1",
        &[&migration_id],
    )
    .await?;
    Ok(())
}

/// One row of the history.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedMigration {
    /// Numeric version.
    pub version: i32,
    /// Full id.
    pub id: String,
    /// Description at the time it was applied.
    pub description: String,
    /// Checksum recorded when applied.
    pub checksum: String,
    /// When.
    pub applied_at: DateTime<Utc>,
    /// Database user and runner host, `user@host`.
    pub applied_by: String,
    /// How long it took.
    pub duration_ms: i64,
    /// Version of the tool that applied it.
    pub tool_version: String,
    /// A no-transaction migration that started and did not finish.
    pub dirty: bool,
    /// Recorded by `adopt` from an Alembic-managed database rather than run.
    pub adopted: bool,
}

/// True when the bookkeeping tables exist.
pub(crate) async fn meta_exists<C: GenericClient>(c: &C) -> Result<bool, tokio_postgres::Error> {
    let row = c
        .query_one(
            "SELECT to_regclass('torghut_meta.schema_history') IS NOT NULL",
            &[],
        )
        .await?;
    row.try_get(0)
}

/// Reads the history, oldest first (empty when the bookkeeping tables do not exist).
pub(crate) async fn read_applied<C: GenericClient>(
    c: &C,
) -> Result<Vec<AppliedMigration>, tokio_postgres::Error> {
    if !meta_exists(c).await? {
        return Ok(Vec::new());
    }
    let rows = c
        .query(
            "SELECT version, id, description, checksum, applied_at, applied_by, duration_ms, \
                    tool_version, dirty, adopted \
             FROM torghut_meta.schema_history ORDER BY version",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AppliedMigration {
                version: r.try_get(0)?,
                id: r.try_get(1)?,
                description: r.try_get(2)?,
                checksum: r.try_get(3)?,
                applied_at: r.try_get(4)?,
                applied_by: r.try_get(5)?,
                duration_ms: r.try_get(6)?,
                tool_version: r.try_get(7)?,
                dirty: r.try_get(8)?,
                adopted: r.try_get(9)?,
            })
        })
        .collect()
}

/// A history row to insert.
pub(crate) struct NewHistoryRow<'a> {
    pub version: i32,
    pub id: &'a str,
    pub description: &'a str,
    pub checksum: &'a str,
    pub host: &'a str,
    pub duration_ms: i64,
    pub tool_version: &'a str,
    pub dirty: bool,
    pub adopted: bool,
}

impl<'a> NewHistoryRow<'a> {
    /// The history row of `m`, applied from `host` by `tool_version` (no duration, clean, not
    /// adopted: set what differs).
    pub(crate) fn of(m: &'a Migration, host: &'a str, tool_version: &'a str) -> Self {
        Self {
            version: m.version as i32,
            id: &m.id,
            description: &m.description,
            checksum: &m.checksum,
            host,
            duration_ms: 0,
            tool_version,
            dirty: false,
            adopted: false,
        }
    }
}

pub(crate) async fn insert_history<C: GenericClient>(
    c: &C,
    row: &NewHistoryRow<'_>,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO torghut_meta.schema_history \
           (version, id, description, checksum, applied_by, duration_ms, tool_version, dirty, adopted) \
         VALUES ($1, $2, $3, $4, current_user || '@' || $5, $6, $7, $8, $9)",
        &[
            &row.version,
            &row.id,
            &row.description,
            &row.checksum,
            &row.host,
            &row.duration_ms,
            &row.tool_version,
            &row.dirty,
            &row.adopted,
        ],
    )
    .await?;
    Ok(())
}

/// What a run of the migrator did, as the run log records it (`migration_log.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Up,
    Down,
    Adopt,
    Repair,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::Adopt => "adopt",
            Action::Repair => "repair",
        }
    }
}

/// How it ended (`migration_log.outcome`): `started` is written before a step that could leave
/// the database dirty, then `ok` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Started,
    Ok,
    Failed,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
        }
    }
}

/// A run-log entry.
pub(crate) struct LogEntry<'a> {
    pub action: Action,
    pub migration_id: Option<&'a str>,
    pub outcome: Outcome,
    pub reason: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub duration_ms: Option<i64>,
}

impl<'a> LogEntry<'a> {
    /// `action` on migration `id` started (and will log its end, or leave the migration dirty).
    pub(crate) fn started(
        action: Action,
        id: &'a str,
        reason: Option<&'a str>,
        detail: &'a str,
    ) -> Self {
        Self {
            action,
            migration_id: Some(id),
            outcome: Outcome::Started,
            reason,
            detail: Some(detail),
            duration_ms: None,
        }
    }

    /// `action` on migration `id` done, after `duration_ms`.
    pub(crate) fn done(
        action: Action,
        id: &'a str,
        reason: Option<&'a str>,
        duration_ms: i64,
    ) -> Self {
        Self {
            action,
            migration_id: Some(id),
            outcome: Outcome::Ok,
            reason,
            detail: None,
            duration_ms: Some(duration_ms),
        }
    }
}

/// Writes the run log (`torghut_meta.migration_log`) for one host and tool version: the one place
/// its rows are written.
pub(crate) struct Recorder<'a> {
    host: &'a str,
    tool_version: &'a str,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(host: &'a str, tool_version: &'a str) -> Self {
        Self { host, tool_version }
    }

    /// A migration applied: its history row and its `up`/`ok` entry, on `c` (the migration's own
    /// transaction, so that both commit with it or not at all).
    pub(crate) async fn applied<C: GenericClient>(
        &self,
        c: &C,
        m: &Migration,
        duration_ms: i64,
        detail: Option<&str>,
    ) -> Result<(), tokio_postgres::Error> {
        insert_history(
            c,
            &NewHistoryRow {
                duration_ms,
                ..NewHistoryRow::of(m, self.host, self.tool_version)
            },
        )
        .await?;
        self.record(
            c,
            LogEntry {
                action: Action::Up,
                migration_id: Some(&m.id),
                outcome: Outcome::Ok,
                reason: None,
                detail,
                duration_ms: Some(duration_ms),
            },
        )
        .await
    }

    /// A migration reverted: its history row removed and its `down`/`ok` entry, on `c` (the
    /// revert's own transaction, so that both commit with it or not at all).
    pub(crate) async fn reverted<C: GenericClient>(
        &self,
        c: &C,
        id: &str,
        reason: Option<&str>,
        duration_ms: i64,
    ) -> Result<(), tokio_postgres::Error> {
        remove(c, id).await?;
        self.record(c, LogEntry::done(Action::Down, id, reason, duration_ms))
            .await
    }

    /// Records `e` on `c` (inside the caller's transaction when `c` is one).
    pub(crate) async fn record<C: GenericClient>(
        &self,
        c: &C,
        e: LogEntry<'_>,
    ) -> Result<(), tokio_postgres::Error> {
        c.execute(
            "INSERT INTO torghut_meta.migration_log \
               (action, migration_id, outcome, client_host, reason, detail, duration_ms, tool_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &e.action.as_str(),
                &e.migration_id,
                &e.outcome.as_str(),
                &self.host,
                &e.reason,
                &e.detail,
                &e.duration_ms,
                &self.tool_version,
            ],
        )
        .await?;
        Ok(())
    }
}

/// A migration that ran outside a transaction finished: its history row is no longer dirty.
pub(crate) async fn mark_finished<C: GenericClient>(
    c: &C,
    id: &str,
    duration_ms: i64,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "UPDATE torghut_meta.schema_history SET dirty = false, duration_ms = $2, applied_at = now() \
         WHERE id = $1",
        &[&id, &duration_ms],
    )
    .await?;
    Ok(())
}

/// A migration's revert is starting outside a transaction: its history row is dirty until done.
pub(crate) async fn mark_dirty<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "UPDATE torghut_meta.schema_history SET dirty = true WHERE id = $1",
        &[&id],
    )
    .await?;
    Ok(())
}

/// Repair: a dirty migration is recorded as applied.
pub(crate) async fn clear_dirty<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "UPDATE torghut_meta.schema_history SET dirty = false WHERE id = $1",
        &[&id],
    )
    .await?;
    Ok(())
}

/// A migration is no longer applied (reverted, or marked rolled back by repair).
pub(crate) async fn remove<C: GenericClient>(c: &C, id: &str) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "DELETE FROM torghut_meta.schema_history WHERE id = $1",
        &[&id],
    )
    .await?;
    Ok(())
}

/// Repair: an applied migration's edited file is accepted (its checksum recorded anew).
pub(crate) async fn set_checksum<C: GenericClient>(
    c: &C,
    id: &str,
    checksum: &str,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "UPDATE torghut_meta.schema_history SET checksum = $2 WHERE id = $1",
        &[&id, &checksum],
    )
    .await?;
    Ok(())
}

/// One entry of the run log.
#[derive(Debug, Clone, Serialize)]
pub struct LogRecord {
    /// Sequence number.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// up, down, adopt or repair.
    pub action: String,
    /// The migration concerned, if any.
    pub migration_id: Option<String>,
    /// ok, failed or started.
    pub outcome: String,
    /// Database user.
    pub db_user: String,
    /// Host the command ran on.
    pub client_host: String,
    /// The reason given.
    pub reason: Option<String>,
    /// Details (errors, old and new checksums).
    pub detail: Option<String>,
}

/// Reads the run log, oldest first: all of it, or its `last` entries.
pub async fn read_log<C: GenericClient>(
    c: &C,
    last: Option<i64>,
) -> Result<Vec<LogRecord>, tokio_postgres::Error> {
    if !meta_exists(c).await? {
        return Ok(Vec::new());
    }
    let rows = c
        .query(
            "SELECT * FROM (SELECT seq, at, action, migration_id, outcome, db_user, client_host, \
               reason, detail FROM torghut_meta.migration_log ORDER BY seq DESC LIMIT $1) l \
             ORDER BY seq",
            &[&last],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(LogRecord {
                seq: r.try_get(0)?,
                at: r.try_get(1)?,
                action: r.try_get(2)?,
                migration_id: r.try_get(3)?,
                outcome: r.try_get(4)?,
                db_user: r.try_get(5)?,
                client_host: r.try_get(6)?,
                reason: r.try_get(7)?,
                detail: r.try_get(8)?,
            })
        })
        .collect()
}
