//! Strategies: create, get, list, enable and disable.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::numeric::Numeric;
use crate::statements;
use tokio_postgres::{Client, GenericClient, Row, Transaction};
use torghut_json::JsonPolicy;
use uuid::Uuid;

use crate::check::{self, FieldProblem};
use crate::input::InputError;

/// A strategy to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStrategy {
    /// Name (at most 255 characters, not empty).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Whether the strategy is enabled.
    pub enabled: bool,
    /// Base timeframe, e.g. `1Min` (at most 16 characters, not empty).
    pub base_timeframe: String,
    /// Universe type, e.g. `static` (at most 64 characters, not empty).
    pub universe_type: String,
    /// The universe's symbols as JSON text (stored through `AuditJson`).
    pub universe_symbols: Option<String>,
    /// Largest position as a fraction of equity (`numeric(20,8)`).
    pub max_position_pct_equity: Option<Decimal>,
    /// Largest notional of one trade (`numeric(20,8)`).
    pub max_notional_per_trade: Option<Decimal>,
}

/// A row of `strategies`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = StrategyRow)
)]
pub struct Strategy {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub base_timeframe: String,
    pub universe_type: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>))]
    pub universe_symbols: Option<serde_json::Value>,
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, example = "0.10000000")
    )]
    pub max_position_pct_equity: Option<Numeric>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub max_notional_per_trade: Option<Numeric>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a strategy operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// An input field or JSON payload is not acceptable (nothing was written).
    #[error(transparent)]
    Input(#[from] InputError),
    /// No strategy has this id.
    #[error("no strategy with id {id}")]
    NotFound { id: Uuid },
    /// Any other database error.
    #[error("database error: {}", crate::check::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

impl StrategyError {
    /// The input field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Input(e) => Some(e.field()),
            _ => None,
        }
    }
}

/// The subject of this module's input refusals.
const SUBJECT: &str = "strategy";

impl From<FieldProblem> for StrategyError {
    fn from(p: FieldProblem) -> Self {
        Self::Input(InputError::from_problem(SUBJECT, p))
    }
}

const COLUMNS: &str = "id, name, description, enabled, base_timeframe, universe_type, \
    universe_symbols, max_position_pct_equity, max_notional_per_trade, created_at, updated_at";

fn from_row(row: &Row) -> Result<Strategy, tokio_postgres::Error> {
    Ok(Strategy {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        description: row.try_get(2)?,
        enabled: row.try_get(3)?,
        base_timeframe: row.try_get(4)?,
        universe_type: row.try_get(5)?,
        universe_symbols: row.try_get(6)?,
        max_position_pct_equity: row.try_get(7)?,
        max_notional_per_trade: row.try_get(8)?,
        created_at: row.try_get(9)?,
        updated_at: row.try_get(10)?,
    })
}

/// Creates a strategy in its own transaction.
pub async fn create(
    client: &mut Client,
    new: &NewStrategy,
    policy: &JsonPolicy,
) -> Result<Strategy, StrategyError> {
    let tx = client.transaction().await?;
    let s = create_in_tx(&tx, new, policy).await?;
    tx.commit().await?;
    Ok(s)
}

/// Creates a strategy in the caller's transaction.
pub async fn create_in_tx(
    tx: &Transaction<'_>,
    new: &NewStrategy,
    policy: &JsonPolicy,
) -> Result<Strategy, StrategyError> {
    check::varchar("name", &new.name, 255, true)?;
    if let Some(d) = &new.description {
        check::text("description", d)?;
    }
    check::varchar("base_timeframe", &new.base_timeframe, 16, true)?;
    check::varchar("universe_type", &new.universe_type, 64, true)?;
    if let Some(d) = &new.max_position_pct_equity {
        check::numeric("max_position_pct_equity", d, 20, 8)?;
    }
    if let Some(d) = &new.max_notional_per_trade {
        check::numeric("max_notional_per_trade", d, 20, 8)?;
    }
    let universe_symbols = new
        .universe_symbols
        .as_deref()
        .map(|raw| check::payload(raw, policy))
        .transpose()
        .map_err(|source| InputError::json(SUBJECT, "universe_symbols", source))?;
    let row = statements::query_one(
        tx,
        &format!(
            "INSERT INTO strategies (id, name, description, enabled, base_timeframe, \
                 universe_type, universe_symbols, max_position_pct_equity, max_notional_per_trade) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
        ),
        &[
            &Uuid::now_v7(),
            &new.name,
            &new.description,
            &new.enabled,
            &new.base_timeframe,
            &new.universe_type,
            &universe_symbols,
            &new.max_position_pct_equity,
            &new.max_notional_per_trade,
        ],
    )
    .await?;
    Ok(from_row(&row)?)
}

/// The strategy with this id.
pub async fn get(db: &impl GenericClient, id: Uuid) -> Result<Option<Strategy>, StrategyError> {
    let row = statements::query_opt(
        db,
        &format!("SELECT {COLUMNS} FROM strategies WHERE id = $1"),
        &[&id],
    )
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Every strategy, by name then id.
pub async fn list(db: &impl GenericClient) -> Result<Vec<Strategy>, StrategyError> {
    let rows = statements::query(
        db,
        &format!("SELECT {COLUMNS} FROM strategies ORDER BY name, id"),
        &[],
    )
    .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// Enables a strategy (in its own transaction); returns it as stored.
pub async fn enable(client: &mut Client, id: Uuid) -> Result<Strategy, StrategyError> {
    set_enabled(client, id, true).await
}

/// Disables a strategy (in its own transaction); returns it as stored.
pub async fn disable(client: &mut Client, id: Uuid) -> Result<Strategy, StrategyError> {
    set_enabled(client, id, false).await
}

/// Enables a strategy in the caller's transaction.
pub async fn enable_in_tx(tx: &Transaction<'_>, id: Uuid) -> Result<Strategy, StrategyError> {
    set_enabled_in_tx(tx, id, true).await
}

/// Disables a strategy in the caller's transaction.
pub async fn disable_in_tx(tx: &Transaction<'_>, id: Uuid) -> Result<Strategy, StrategyError> {
    set_enabled_in_tx(tx, id, false).await
}

/// Sets `enabled` (in its own transaction). `updated_at` becomes `now()`.
pub async fn set_enabled(
    client: &mut Client,
    id: Uuid,
    enabled: bool,
) -> Result<Strategy, StrategyError> {
    let tx = client.transaction().await?;
    let s = set_enabled_in_tx(&tx, id, enabled).await?;
    tx.commit().await?;
    Ok(s)
}

/// Sets `enabled` in the caller's transaction. `updated_at` becomes `now()`.
pub async fn set_enabled_in_tx(
    tx: &Transaction<'_>,
    id: Uuid,
    enabled: bool,
) -> Result<Strategy, StrategyError> {
    let row = tx
        .query_opt(
            &format!(
                "UPDATE strategies SET enabled = $2, updated_at = now() WHERE id = $1 \
                 RETURNING {COLUMNS}"
            ),
            &[&id, &enabled],
        )
        .await?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(StrategyError::NotFound { id })
}
