//! Recent decisions and executions, newest first: the reads behind the service's
//! `/trading/decisions` and `/trading/executions`.

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;

use crate::decision::{self, Decision};
use crate::execution::{self, Execution};

/// Which rows to list: an optional symbol, an optional lower bound on `created_at`
/// (inclusive), and at most `limit` rows (clamped to 1..=10000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentFilter {
    pub symbol: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
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
    /// A stored value that cannot be read back (PostgreSQL's jsonb text is always JSON).
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
    if let Some(since) = &f.since {
        params.push(since);
        predicates.push(format!("created_at >= ${}", params.len()));
    }
    let filter = if predicates.is_empty() {
        String::new()
    } else {
        format!("WHERE {} ", predicates.join(" AND "))
    };
    let sql =
        format!("SELECT {columns} FROM {table} {filter}ORDER BY created_at DESC, id DESC LIMIT $1");
    Ok(db.query(&sql, &params).await?)
}

/// A decision as listed by [`recent_decision_rows`]: its `decision_json` is the stored JSON text,
/// passed through without being parsed into a tree (numbers keep every digit).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecentDecision {
    pub id: uuid::Uuid,
    pub strategy_id: uuid::Uuid,
    pub alpaca_account_label: String,
    pub symbol: String,
    pub timeframe: String,
    pub decision_json: Box<serde_json::value::RawValue>,
    pub rationale: Option<String>,
    pub status: String,
    pub decision_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub executed_at: Option<DateTime<Utc>>,
}

/// The columns of [`RecentDecision`], `decision_json` as text.
const RECENT_DECISION_COLUMNS: &str = "id, strategy_id, alpaca_account_label, symbol, timeframe, \
    decision_json::text, rationale, status, decision_hash, created_at, executed_at";

/// [`recent_decisions`] for serving: the same rows and order, `decision_json` as raw JSON text.
pub async fn recent_decision_rows(
    db: &impl GenericClient,
    f: &RecentFilter,
) -> Result<Vec<RecentDecision>, ListingError> {
    let rows = recent_rows(db, RECENT_DECISION_COLUMNS, "trade_decisions", f).await?;
    rows.iter()
        .map(|r| {
            let text: String = r.get(5);
            let decision_json = serde_json::value::RawValue::from_string(text).map_err(|e| {
                ListingError::Stored(format!(
                    "decision_json of {}: {e}",
                    r.get::<_, uuid::Uuid>(0)
                ))
            })?;
            Ok(RecentDecision {
                id: r.get(0),
                strategy_id: r.get(1),
                alpaca_account_label: r.get(2),
                symbol: r.get(3),
                timeframe: r.get(4),
                decision_json,
                rationale: r.get(6),
                status: r.get(7),
                decision_hash: r.get(8),
                created_at: r.get(9),
                executed_at: r.get(10),
            })
        })
        .collect()
}

/// Decisions, newest (`created_at`, then `id`) first.
pub async fn recent_decisions(
    db: &impl GenericClient,
    f: &RecentFilter,
) -> Result<Vec<Decision>, ListingError> {
    let rows = recent_rows(db, decision::DECISION_COLUMNS, "trade_decisions", f).await?;
    Ok(rows.iter().map(decision::decision_from_row).collect())
}

/// Executions, newest (`created_at`, then `id`) first.
pub async fn recent_executions(
    db: &impl GenericClient,
    f: &RecentFilter,
) -> Result<Vec<Execution>, ListingError> {
    let rows = recent_rows(db, execution::EXECUTION_COLUMNS, "executions", f).await?;
    Ok(rows.iter().map(execution::execution_from_row).collect())
}
