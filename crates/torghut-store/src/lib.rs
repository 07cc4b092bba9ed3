//! The store API of the trading and audit schema.
//!
//! One module per aggregate, each with its types, its SQL and its own error enum:
//! [`strategy`], [`decision`] (ensure by decision hash, status transitions and their events),
//! [`review`], [`execution`] (broker order upserts and their events), [`position`],
//! [`cursor`] and [`trail`] (the audit trail of one decision: read it, or record one in a single
//! transaction). The input refusals of every aggregate are one shared type, [`InputError`]
//! (in [`input`]), carried by each aggregate error's `Input` variant.
//!
//! Conventions:
//!
//! - Every write comes in two forms: `xxx_in_tx(tx: &Transaction<'_>, ...)` joins the caller's
//!   transaction; `xxx(client: &mut Client, ...)` opens a transaction, calls the `_in_tx` form
//!   and commits. Reads take `&impl GenericClient` (a client or a transaction).
//! - Ids are UUID v7, generated here ([`uuid::Uuid::now_v7`]).
//! - Every jsonb column is written through [`torghut_json::AuditJson`], built from the caller's
//!   JSON text with the caller's [`torghut_json::JsonPolicy`]. A refused payload is a typed error
//!   carrying the column and the JSONPath of the problem; nothing is written.
//! - Database errors are mapped by SQLSTATE and constraint or index name, never by message
//!   text. Input that the database would refuse (too long for its column, NUL characters,
//!   numbers out of range) is refused before any statement is sent, with the field named.
//! - `updated_at` columns are set to `now()` by every `UPDATE`.
//! - The database seals every audit row and records every change of a strategy, decision or
//!   execution as an event (migration `0007_audit_capture`): the store writes no event rows.

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod cursor;
pub mod decision;
pub mod execution;
pub mod idempotency;
pub mod input;
pub mod listing;
pub mod numeric;
pub mod position;
pub mod review;
mod statements;
pub mod strategy;
pub mod trail;

mod check;

pub use check::{describe as describe_db_error, parse_decimal};
pub use input::InputError;
pub use numeric::Numeric;
pub use statements::StatementScope;

pub use torghut_json::{AuditJson, JsonError, JsonPolicy};
