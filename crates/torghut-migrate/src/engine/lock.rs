//! One run at a time: the session-level advisory lock, the bookkeeping schema, and statements
//! run outside a transaction.

use super::*;

impl Migrator {
    /// Takes the migration lock, waiting up to `lock_wait`. Returns how long it waited.
    pub(super) async fn lock(&self) -> Result<Duration, MigrateError> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(25);
        loop {
            let got: bool = self
                .client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
                .await?
                .try_get(0)?;
            if got {
                return Ok(start.elapsed());
            }
            if start.elapsed() >= self.opts.lock_wait {
                // Best effort, like the query itself: a holder that cannot be read is left out
                // rather than hiding the lock wait behind another error.
                let holder = self
                    .client
                    .query_opt(
                        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local') \
                         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                         WHERE l.locktype = 'advisory' AND l.granted \
                           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                           AND ((l.classid::bigint << 32) | l.objid::bigint) = $1 LIMIT 1",
                        &[&LOCK_KEY],
                    )
                    .await
                    .ok()
                    .flatten()
                    .and_then(|r| {
                        Some(format!(
                            " (backend pid {}, application {:?}, from {})",
                            r.try_get::<_, i32>(0).ok()?,
                            r.try_get::<_, String>(1).ok()?,
                            r.try_get::<_, String>(2).ok()?
                        ))
                    })
                    .unwrap_or_default();
                return Err(MigrateError::LockWait {
                    waited: start.elapsed(),
                    holder,
                });
            }
            tokio::time::sleep(pause.min(self.opts.lock_wait.saturating_sub(start.elapsed())))
                .await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    pub(super) async fn unlock(&self) {
        if let Err(e) = self
            .client
            .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
            .await
        {
            // The session's lock also ends with the connection.
            tracing::warn!(error = %DbFailure::from(&e), "could not release the migration lock");
        }
    }

    pub(super) async fn ensure_meta(&self) -> Result<(), MigrateError> {
        // Made durable by the next synchronous commit; losing it in a crash loses nothing else.
        self.client
            .batch_execute(&format!(
                "BEGIN; SET LOCAL synchronous_commit = off; {META_DDL} COMMIT;"
            ))
            .await?;
        Ok(())
    }

    /// Runs `f` holding the migration lock, with the bookkeeping tables in place; the lock is
    /// released whatever `f` returns.
    pub(super) async fn locked<T, F>(&mut self, f: F) -> Result<(T, Duration), MigrateError>
    where
        F: for<'a> FnOnce(
            &'a mut Migrator,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, MigrateError>> + Send + 'a>,
        >,
    {
        // Lets a server notice a vanished client even in the middle of a long statement (PG 14+).
        let _ = self
            .client
            .batch_execute("SET client_connection_check_interval = '2s'")
            .await;
        let waited = self.lock().await?;
        let result = match self.ensure_meta().await {
            Ok(()) => f(self).await,
            Err(e) => Err(e),
        };
        self.unlock().await;
        result.map(|r| (r, waited))
    }

    /// Runs a migration's statements one by one outside any transaction, under the lock and
    /// statement timeouts (reset afterwards). The outer error is a failure to set the
    /// timeouts; the inner one the first statement that failed (nothing after it runs).
    pub(super) async fn run_outside_transaction(
        &mut self,
        sql: &str,
    ) -> Result<Result<(), tokio_postgres::Error>, tokio_postgres::Error> {
        self.client.batch_execute(&self.timeouts_sql(false)).await?;
        let mut result = Ok(());
        for st in split_statements(sql) {
            if let Err(e) = self.client.batch_execute(&st).await {
                result = Err(e);
                break;
            }
        }
        let _ = self
            .client
            .batch_execute("RESET lock_timeout; RESET statement_timeout;")
            .await;
        Ok(result)
    }

    pub(crate) fn timeouts_sql(&self, local: bool) -> String {
        let scope = if local { "LOCAL " } else { "" };
        format!(
            "SET {scope}lock_timeout = '{}'; SET {scope}statement_timeout = '{}';",
            ms(self.opts.lock_timeout),
            ms(self.opts.statement_timeout)
        )
    }
}
