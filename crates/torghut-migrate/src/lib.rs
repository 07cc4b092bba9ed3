//! The migration engine.
//!
//! Migrations are SQL files in the repository's `migrations/` directory, embedded in the binary at
//! build time ([`MigrationSet::embedded`]). The first five carry the ids of the old service's Alembic
//! chain and reproduce its schema exactly, so that its databases can be adopted ([`Migrator::adopt`])
//! and carried forward.
//!
//! Guarantees:
//! * one run at a time per database: a session-level advisory lock ([`engine::LOCK_KEY`]) that is
//!   released explicitly on every path and by the server when the connection ends;
//! * each migration runs in one transaction together with its history row, under `lock_timeout` and
//!   `statement_timeout`, retried a bounded number of times on lock timeout; a migration marked
//!   `-- torghut:no-transaction` runs statement by statement behind a dirty marker instead;
//! * rows already there are touched only by backfill migrations ([`backfill`]): short batches,
//!   each committed with its progress, resumable after a kill, recorded applied when complete;
//! * applied migrations are checksummed (BOM and line endings ignored) and edits are detected;
//! * `verify` compares the live catalog with the one the migrations produce, built in a scratch
//!   schema inside a transaction that is rolled back.

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod backfill;
pub mod catalog;
pub mod engine;
pub mod history;
pub mod source;
pub mod split;
#[cfg(feature = "testdb")]
pub mod testing;

pub use backfill::{BackfillOptions, Connector, Event, ProgressSink};
pub use catalog::{Catalog, CatalogDiff, Difference, TriggerNotEnabled};
pub use engine::{
    render_diff, AdoptReport, DbFailure, DownReport, MigrateError, MigrateOptions, Migrator,
    Mismatch, PlanStep, RepairAction, RepairReport, Status, UpReport, VerifyReport, TOOL_VERSION,
};
pub use history::{AppliedMigration, BackfillState, LogRecord};
pub use source::{checksum, BackfillStep, Migration, MigrationSet, SourceError};
