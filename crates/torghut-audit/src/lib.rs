//! Audit integrity: verification of the hash chains over the audit tables, checkpoints, and
//! governed archival (see ARCHITECTURE.md, "Audit integrity").
//!
//! The database (migration `0007_audit_capture`) seals every inserted audit row into its
//! stream's hash chain, records every change of a strategy, decision or execution as a chained
//! event, and refuses deletes and changes of identity.
//! [`verify::verify`] recomputes every chain from the rows themselves, without relying on the
//! triggers, so that a change made behind the triggers' back (a superuser with
//! `session_replication_role = replica` or a disabled trigger) is reported by table and id.

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod anchor;
pub mod archive;
pub mod chain;
pub mod lanes;
mod render;
pub mod verify;

pub use verify::{
    verify, verify_parallel, verify_with, Finding, Problem, VerifyOptions, VerifyReport,
};

/// The SQLSTATE of every refusal by the audit enforcement triggers.
pub const SQLSTATE_REFUSED: &str = "TA001";
/// The SQLSTATE of a checkpoint refused because a stream got shorter since an earlier one.
pub const SQLSTATE_CHECKPOINT_REFUSED: &str = "TA002";
/// Why an audit operation failed (a verification that ran and found problems is not an
/// error: see [`VerifyReport::ok`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The database has no audit chain, or an older one than this build checks (not migrated
    /// to `0007_audit_capture`).
    #[error(
        "the database's audit schema is missing or older than this build's: migrate it to \
         0007_audit_capture or later (torghut migrate up)"
    )]
    NotMigrated,
    /// A file of an archive could not be read or written.
    #[error("archive file {path}: {message}")]
    Archive { path: String, message: String },
    /// A key or anchors file could not be read, written or understood.
    #[error("{path}: {message}")]
    File { path: String, message: String },
    /// The archive request is not acceptable.
    #[error("archive: {0}")]
    InvalidRequest(String),
    /// The archive about to be deleted did not verify; nothing was deleted.
    #[error("archive verification failed, nothing deleted: {0}")]
    ArchiveMismatch(String),
    /// Any database error.
    #[error("database error: {}", torghut_store::describe_db_error(.0))]
    Db(#[from] tokio_postgres::Error),
}

/// Starts a read-only `REPEATABLE READ` transaction on `client`: every query in it reads the
/// same snapshot.
pub(crate) async fn read_only_snapshot(
    client: &mut tokio_postgres::Client,
) -> Result<tokio_postgres::Transaction<'_>, tokio_postgres::Error> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
}

/// Whether the connected database has the audit chain this build checks (from
/// `0007_audit_capture`).
pub(crate) async fn has_chain(db: &impl tokio_postgres::GenericClient) -> Result<bool, AuditError> {
    Ok(db
        .query_one(
            "SELECT to_regclass('audit_chain_heads') IS NOT NULL \
               AND to_regclass('strategy_events') IS NOT NULL \
               AND to_regprocedure('audit_initial(jsonb, jsonb[])') IS NOT NULL",
            &[],
        )
        .await?
        .try_get(0)?)
}
