//! A database with an audit table, and helpers to store payloads and read them back.

use tokio_postgres::Client;
use torghut_json::AuditJson;

/// A runtime for tests that drive the database from a synchronous body (property tests).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A connection to a fresh database holding `audit (id serial, payload jsonb not null, doc json)`.
pub async fn audit_db() -> Client {
    let db = torghut_testdb::empty_db().await;
    let client = db.connect().await;
    client
        .batch_execute(
            "CREATE TABLE audit (id serial PRIMARY KEY, payload jsonb NOT NULL, doc json)",
        )
        .await
        .expect("create the audit table");
    client
}

/// Inserts `json` through `$1` into the jsonb column and returns `payload::text`.
pub async fn store(client: &Client, json: &AuditJson) -> Result<String, tokio_postgres::Error> {
    let row = client
        .query_one(
            "INSERT INTO audit (payload) VALUES ($1) RETURNING payload::text",
            &[json],
        )
        .await?;
    Ok(row.get(0))
}

/// PostgreSQL's own reading of `raw` as jsonb (`$1::text::jsonb::text`), or its error.
pub async fn pg_jsonb_text(client: &Client, raw: &str) -> Result<String, tokio_postgres::Error> {
    let row = client
        .query_one("SELECT $1::text::jsonb::text", &[&raw])
        .await?;
    Ok(row.get(0))
}
