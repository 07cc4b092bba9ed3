//! Recent decisions and executions, newest first: the reads behind the service's
//! `/trading/decisions` and `/trading/executions`.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;

use crate::execution::{self, Execution};
use crate::statements;

/// Which rows to list: an optional symbol, an optional lower bound on `created_at`
/// (inclusive), and at most `limit` rows (clamped to 1..=10000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentFilter {
    pub symbol: Option<String>,
    pub since: Option<Since>,
    pub limit: i64,
}

/// A lower bound on `created_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// An instant.
    At(DateTime<Utc>),
    /// A date and time without an offset, sent as a `timestamp`: PostgreSQL reads it in the
    /// session's `TimeZone` when comparing it with `created_at` (as it reads the naive
    /// `datetime` a psycopg client sends).
    Local(NaiveDateTime),
}

impl Default for RecentFilter {
    fn default() -> Self {
        Self {
            symbol: None,
            since: None,
            limit: 200,
        }
    }
}

/// Why a listing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListingError {
    /// Any database error.
    #[error("database error: {}", crate::check::describe(.0))]
    Db(#[from] tokio_postgres::Error),
    /// A stored value that cannot be read (e.g. a timestamp of `infinity`).
    #[error("stored value unreadable: {0}")]
    Stored(String),
}

async fn recent_rows(
    db: &impl GenericClient,
    columns: &str,
    table: &str,
    f: &RecentFilter,
) -> Result<Vec<tokio_postgres::Row>, ListingError> {
    let limit = f.limit.clamp(1, 10_000);
    // Only the predicates given, so the plan can walk the `(created_at, id)` index backwards
    // (or the symbol's) and stop after `limit` rows.
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&limit];
    let mut predicates = Vec::new();
    if let Some(symbol) = &f.symbol {
        params.push(symbol);
        predicates.push(format!("symbol = ${}", params.len()));
    }
    match &f.since {
        Some(Since::At(at)) => {
            params.push(at);
            predicates.push(format!("created_at >= ${}", params.len()));
        }
        Some(Since::Local(local)) => {
            params.push(local);
            predicates.push(format!("created_at >= ${}::timestamp", params.len()));
        }
        None => {}
    }
    let filter = if predicates.is_empty() {
        String::new()
    } else {
        format!("WHERE {} ", predicates.join(" AND "))
    };
    let sql =
        format!("SELECT {columns} FROM {table} {filter}ORDER BY created_at DESC, id DESC LIMIT $1");
    Ok(statements::query(db, &sql, &params).await?)
}

/// A `timestamptz` as the session shows it: the instant at the offset of the session's
/// `TimeZone` at that instant (what a client such as psycopg receives).
pub type SessionTime = DateTime<FixedOffset>;

/// A decision as the old service's `/trading/decisions` listed it: its columns in the order of
/// that answer, `decision_json` as PostgreSQL's `jsonb` text (not parsed here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldServiceDecision {
    pub id: uuid::Uuid,
    pub strategy_id: uuid::Uuid,
    pub symbol: String,
    pub timeframe: String,
    pub status: String,
    pub rationale: Option<String>,
    pub decision_json: String,
    pub created_at: SessionTime,
    pub executed_at: Option<SessionTime>,
    pub alpaca_account_label: String,
}

/// An execution as the old service's `/trading/executions` listed it: its columns in the order
/// of that answer, decimals as PostgreSQL's `numeric` text (`1.50000000`, or `NaN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldServiceExecution {
    pub id: uuid::Uuid,
    pub trade_decision_id: Option<uuid::Uuid>,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub time_in_force: String,
    pub submitted_qty: String,
    pub filled_qty: String,
    pub avg_fill_price: Option<String>,
    pub status: String,
    pub created_at: SessionTime,
    pub last_update_at: Option<SessionTime>,
    pub alpaca_order_id: String,
}

/// Each timestamp comes with its offset in the session's time zone, in seconds.
const OLD_SERVICE_DECISION_COLUMNS: &str = "id, strategy_id, symbol, timeframe, status, \
    rationale, decision_json::text, created_at, extract(timezone from created_at)::int, \
    executed_at, extract(timezone from executed_at)::int, alpaca_account_label";

const OLD_SERVICE_EXECUTION_COLUMNS: &str = "id, trade_decision_id, symbol, side, order_type, \
    time_in_force, submitted_qty::text, filled_qty::text, avg_fill_price::text, status, \
    created_at, extract(timezone from created_at)::int, last_update_at, \
    extract(timezone from last_update_at)::int, alpaca_order_id";

/// The value of column `i`, or [`ListingError::Stored`] naming the row and column.
fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    r: &'a tokio_postgres::Row,
    i: usize,
) -> Result<T, ListingError> {
    r.try_get(i).map_err(|e| {
        let id = r
            .try_get::<_, uuid::Uuid>(0)
            .map(|id| id.to_string())
            .unwrap_or_default();
        let name = r.columns().get(i).map(|c| c.name()).unwrap_or("?");
        ListingError::Stored(format!("{name} of {id}: {e}"))
    })
}

/// The timestamp in column `i` at the offset in column `i + 1`.
fn session_time(r: &tokio_postgres::Row, i: usize) -> Result<Option<SessionTime>, ListingError> {
    let Some(at) = column::<Option<DateTime<Utc>>>(r, i)? else {
        return Ok(None);
    };
    let offset = column::<Option<i32>>(r, i + 1)?
        .and_then(FixedOffset::east_opt)
        .ok_or_else(|| ListingError::Stored(format!("no UTC offset for {at}")))?;
    Ok(Some(at.with_timezone(&offset)))
}

fn required_time(r: &tokio_postgres::Row, i: usize) -> Result<SessionTime, ListingError> {
    session_time(r, i)?.ok_or_else(|| ListingError::Stored("a required timestamp is null".into()))
}

/// Decisions for the old service's `/trading/decisions`, newest (`created_at`, then `id`)
/// first.
pub async fn old_service_decisions(
    db: &impl GenericClient,
    f: &RecentFilter,
) -> Result<Vec<OldServiceDecision>, ListingError> {
    let rows = recent_rows(db, OLD_SERVICE_DECISION_COLUMNS, "trade_decisions", f).await?;
    rows.iter()
        .map(|r| {
            Ok(OldServiceDecision {
                id: column(r, 0)?,
                strategy_id: column(r, 1)?,
                symbol: column(r, 2)?,
                timeframe: column(r, 3)?,
                status: column(r, 4)?,
                rationale: column(r, 5)?,
                decision_json: column(r, 6)?,
                created_at: required_time(r, 7)?,
                executed_at: session_time(r, 9)?,
                alpaca_account_label: column(r, 11)?,
            })
        })
        .collect()
}

/// Executions for the old service's `/trading/executions`: the same rows and order as
/// [`recent_executions`].
pub async fn old_service_executions(
    db: &impl GenericClient,
    f: &RecentFilter,
) -> Result<Vec<OldServiceExecution>, ListingError> {
    let rows = recent_rows(db, OLD_SERVICE_EXECUTION_COLUMNS, "executions", f).await?;
    rows.iter()
        .map(|r| {
            Ok(OldServiceExecution {
                id: column(r, 0)?,
                trade_decision_id: column(r, 1)?,
                symbol: column(r, 2)?,
                side: column(r, 3)?,
                order_type: column(r, 4)?,
                time_in_force: column(r, 5)?,
                submitted_qty: column(r, 6)?,
                filled_qty: column(r, 7)?,
                avg_fill_price: column(r, 8)?,
                status: column(r, 9)?,
                created_at: required_time(r, 10)?,
                last_update_at: session_time(r, 12)?,
                alpaca_order_id: column(r, 14)?,
            })
        })
        .collect()
}

/// Executions, newest (`created_at`, then `id`) first.
pub async fn recent_executions(
    db: &impl GenericClient,
    f: &RecentFilter,
) -> Result<Vec<Execution>, ListingError> {
    let rows = recent_rows(db, execution::EXECUTION_COLUMNS, "executions", f).await?;
    Ok(rows
        .iter()
        .map(execution::execution_from_row)
        .collect::<Result<_, _>>()?)
}
