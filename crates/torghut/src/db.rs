//! Resolving and connecting to the database, with errors that never show a password.

use torghut_config::{resolve_dsn, tokio_postgres::Client, DbConfig};

/// Resolves the DSN from `--dsn` or the environment and parses it.
pub fn resolve(flag: Option<&str>) -> Result<DbConfig, String> {
    let Some(resolved) = resolve_dsn(flag) else {
        return Err("no database: pass --dsn DSN or set DB_DSN (or DB_URL, DATABASE_URL)".into());
    };
    resolved.parse().map_err(|e| format!("invalid DSN: {e}"))
}

/// Connects, naming the server (redacted) on failure.
pub async fn connect(config: &DbConfig, application: &str) -> Result<Client, String> {
    config
        .with_application_name(application)
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", config.redacted()))
}
