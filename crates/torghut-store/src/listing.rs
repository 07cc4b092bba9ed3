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
