//! Prepared statements of a pooled connection: a statement the store sends through
//! [`query_opt`], [`query_one`] or [`execute`] is taken from the connection's statement cache
//! (deadpool's, one per pooled connection) when the caller runs the store function inside
//! [`StatementScope::run`] for that connection, so it is parsed and planned once per
//! connection instead of once per call. Outside a scope, or on another connection than the
//! scope's, the statement is sent as text and prepared for that call, as tokio-postgres does.

use std::future::Future;
use std::sync::Arc;

use deadpool_postgres::StatementCache;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error, GenericClient, Row, Statement, Transaction};

tokio::task_local! {
    static SCOPE: StatementScope;
}

/// The statement cache of one pooled connection, for the store functions run on it.
pub struct StatementScope {
    cache: Arc<StatementCache>,
    /// The address of the connection's client: statements apply to that connection only.
    client: usize,
}

impl StatementScope {
    /// The scope of a pooled connection.
    pub fn of(conn: &deadpool_postgres::Object) -> Self {
        let client: &Client = conn;
        Self {
            cache: conn.statement_cache.clone(),
            client: client as *const Client as usize,
        }
    }

    /// Runs `f` (store calls on this scope's connection) with its statements cached.
    pub async fn run<F: Future>(self, f: F) -> F::Output {
        SCOPE.scope(self, f).await
    }
}

/// The statement for `sql` on `db`'s connection: from the scope's cache when a scope of that
/// connection is running, else prepared for this call (what tokio-postgres does for SQL text).
async fn prepare(db: &impl GenericClient, sql: &str) -> Result<Statement, Error> {
    let client: &Client = db.client();
    let cache = SCOPE
        .try_with(|s| (s.client == client as *const Client as usize).then(|| s.cache.clone()))
        .ok()
        .flatten();
    match cache {
        Some(cache) => cache.prepare(client, sql).await,
        None => db.prepare(sql).await,
    }
}

/// `db.query_opt(sql, params)`, with the statement from the scope's cache when there is one.
pub(crate) async fn query_opt(
    db: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, Error> {
    db.query_opt(&prepare(db, sql).await?, params).await
}

/// `db.query_one(sql, params)`, as [`query_opt`].
pub(crate) async fn query_one(
    db: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, Error> {
    db.query_one(&prepare(db, sql).await?, params).await
}

/// `db.query(sql, params)`, as [`query_opt`].
pub(crate) async fn query(
    db: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, Error> {
    db.query(&prepare(db, sql).await?, params).await
}

/// `db.execute(sql, params)`, as [`query_opt`].
pub(crate) async fn execute(
    db: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, Error> {
    db.execute(&prepare(db, sql).await?, params).await
}

/// `execute(first)` then `query(second)` in the caller's transaction, sent together (the rows of
/// the second are returned): the second
/// statement goes out before the first one's answer comes back, so the two cost one round trip
/// instead of two. PostgreSQL runs them in the order sent, the second seeing the first's changes,
/// as two awaited calls would. Both are prepared first (from the scope's cache when there is
/// one), so that nothing can reorder them. When the first fails, its error is returned (the
/// second then fails only because the transaction is aborted).
pub(crate) async fn execute_then_query(
    tx: &Transaction<'_>,
    first: &str,
    first_params: &[&(dyn ToSql + Sync)],
    second: &str,
    second_params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, Error> {
    let first = prepare(tx, first).await?;
    let second = prepare(tx, second).await?;
    let (n, rows) = futures_util::future::join(
        tx.execute(&first, first_params),
        tx.query(&second, second_params),
    )
    .await;
    n?;
    rows
}
