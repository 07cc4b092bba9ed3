//! Position snapshots: insert, and the latest of an account.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::numeric::Numeric;
use tokio_postgres::{Client, GenericClient, Row, Transaction};
use torghut_json::JsonPolicy;
use uuid::Uuid;

use crate::check::{self, FieldProblem};
use crate::input::InputError;

/// A snapshot to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPositionSnapshot {
    /// Account label (at most 64 characters, not empty).
    pub account_label: String,
    pub as_of: DateTime<Utc>,
    pub equity: Decimal,
    pub cash: Decimal,
    pub buying_power: Decimal,
    /// The positions as JSON text.
    pub positions: String,
}

/// A stored snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionSnapshot {
    pub id: Uuid,
    pub account_label: String,
    pub as_of: DateTime<Utc>,
    pub equity: Numeric,
    pub cash: Numeric,
    pub buying_power: Numeric,
    pub positions: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Why a snapshot operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PositionError {
    /// An input field or the positions payload is not acceptable (nothing was written).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Any other database error.
    #[error("database error: {}", crate::check::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

impl PositionError {
    /// The input field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Input(e) => Some(e.field()),
            Self::Db(_) => None,
        }
    }
}

/// The subject of this module's input refusals.
const SUBJECT: &str = "position snapshot";

impl From<FieldProblem> for PositionError {
    fn from(p: FieldProblem) -> Self {
        Self::Input(InputError::from_problem(SUBJECT, p))
    }
}

/// Inserts a snapshot in its own transaction; returns its id.
pub async fn insert(
    client: &mut Client,
    snapshot: &NewPositionSnapshot,
    policy: &JsonPolicy,
) -> Result<Uuid, PositionError> {
    let tx = client.transaction().await?;
    let id = insert_in_tx(&tx, snapshot, policy).await?;
    tx.commit().await?;
    Ok(id)
}

/// [`insert`] in the caller's transaction.
pub async fn insert_in_tx(
    tx: &Transaction<'_>,
    s: &NewPositionSnapshot,
    policy: &JsonPolicy,
) -> Result<Uuid, PositionError> {
    check::varchar("account_label", &s.account_label, 64, true)?;
    check::numeric("equity", &s.equity, 20, 8)?;
    check::numeric("cash", &s.cash, 20, 8)?;
    check::numeric("buying_power", &s.buying_power, 20, 8)?;
    let positions = check::payload(&s.positions, policy)
        .map_err(|source| InputError::json(SUBJECT, "positions", source))?;
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO position_snapshots (id, alpaca_account_label, as_of, equity, cash, \
         buying_power, positions) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &s.account_label,
            &s.as_of,
            &s.equity,
            &s.cash,
            &s.buying_power,
            &positions,
        ],
    )
    .await?;
    Ok(id)
}

fn from_row(row: &Row) -> Result<PositionSnapshot, tokio_postgres::Error> {
    Ok(PositionSnapshot {
        id: row.try_get(0)?,
        account_label: row.try_get(1)?,
        as_of: row.try_get(2)?,
        equity: row.try_get(3)?,
        cash: row.try_get(4)?,
        buying_power: row.try_get(5)?,
        positions: row.try_get(6)?,
        created_at: row.try_get(7)?,
    })
}

/// The snapshot of an account with the latest `as_of` (the last inserted among equal ones).
pub async fn latest(
    db: &impl GenericClient,
    account_label: &str,
) -> Result<Option<PositionSnapshot>, PositionError> {
    let row = db
        .query_opt(
            "SELECT id, alpaca_account_label, as_of, equity, cash, buying_power, positions, \
             created_at FROM position_snapshots WHERE alpaca_account_label = $1 \
             ORDER BY as_of DESC, id DESC LIMIT 1",
            &[&account_label],
        )
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}
