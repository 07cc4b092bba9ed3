//! Bookkeeping: the history of applied migrations and the run log, in schema `torghut_meta`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::GenericClient;

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
";

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
    Ok(row.get(0))
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
    Ok(rows
        .iter()
        .map(|r| AppliedMigration {
            version: r.get(0),
            id: r.get(1),
            description: r.get(2),
            checksum: r.get(3),
            applied_at: r.get(4),
            applied_by: r.get(5),
            duration_ms: r.get(6),
            tool_version: r.get(7),
            dirty: r.get(8),
            adopted: r.get(9),
        })
        .collect())
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

/// A run-log entry.
pub(crate) struct LogEntry<'a> {
    pub action: &'a str,
    pub migration_id: Option<&'a str>,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub duration_ms: Option<i64>,
}

pub(crate) async fn log<C: GenericClient>(
    c: &C,
    host: &str,
    tool_version: &str,
    e: &LogEntry<'_>,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO torghut_meta.migration_log \
           (action, migration_id, outcome, client_host, reason, detail, duration_ms, tool_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &e.action,
            &e.migration_id,
            &e.outcome,
            &host,
            &e.reason,
            &e.detail,
            &e.duration_ms,
            &tool_version,
        ],
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

/// Reads the run log, oldest first.
pub async fn read_log<C: GenericClient>(c: &C) -> Result<Vec<LogRecord>, tokio_postgres::Error> {
    if !meta_exists(c).await? {
        return Ok(Vec::new());
    }
    let rows = c
        .query(
            "SELECT seq, at, action, migration_id, outcome, db_user, client_host, reason, detail \
             FROM torghut_meta.migration_log ORDER BY seq",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| LogRecord {
            seq: r.get(0),
            at: r.get(1),
            action: r.get(2),
            migration_id: r.get(3),
            outcome: r.get(4),
            db_user: r.get(5),
            client_host: r.get(6),
            reason: r.get(7),
            detail: r.get(8),
        })
        .collect())
}
