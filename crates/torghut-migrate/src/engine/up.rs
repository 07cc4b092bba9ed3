//! `up` and `plan`: pending migrations applied in order, each with its bookkeeping in one
//! transaction (or outside one, marked dirty until it finishes).

use super::*;

impl Migrator {
    /// Checks that `up` may proceed and returns the migrations to apply up to `to`.
    pub(super) fn pending_until(
        &self,
        status: &Status,
        to: Option<&str>,
    ) -> Result<Vec<Migration>, MigrateError> {
        if let Some(d) = status.dirty.first() {
            return Err(MigrateError::Dirty(d.clone()));
        }
        if !status.unknown_applied.is_empty() {
            return Err(MigrateError::UnknownApplied(status.unknown_applied.clone()));
        }
        if !status.checksum_mismatches.is_empty() {
            return Err(MigrateError::ChecksumMismatch(
                status
                    .checksum_mismatches
                    .iter()
                    .map(|m| m.id.clone())
                    .collect(),
            ));
        }
        if let Some(last) = status.applied.last() {
            for p in &status.pending {
                if let Some(m) = self.set.get(p) {
                    if (m.version as i32) < last.version {
                        return Err(MigrateError::OutOfOrder {
                            pending: p.clone(),
                            applied: last.id.clone(),
                        });
                    }
                }
            }
        }
        let end = match to {
            None => self.set.all().len(),
            Some(t) => {
                let pos = self
                    .set
                    .position(t)
                    .ok_or_else(|| MigrateError::UnknownTarget(t.to_string()))?;
                pos + 1
            }
        };
        Ok(self.set.all()[..end]
            .iter()
            .filter(|m| status.pending.contains(&m.id))
            .cloned()
            .collect())
    }

    /// The exact SQL `up` would run, without changing anything.
    pub async fn plan(&self, to: Option<&str>) -> Result<Vec<PlanStep>, MigrateError> {
        let status = self.status().await?;
        if status.applied.is_empty() {
            if let Some(v) = &status.alembic_version {
                return Err(MigrateError::NeedsAdopt(v.clone()));
            }
        }
        let pending = self.pending_until(&status, to)?;
        Ok(pending
            .iter()
            .map(|m| {
                let sql = if !m.backfill.is_empty() {
                    let mut s = format!(
                        "-- batched backfill: each batch in its own transaction with its progress row\n{}\n",
                        self.timeouts_sql(true)
                    );
                    for (i, st) in m.backfill.iter().enumerate() {
                        s.push_str(&format!(
                            "-- step {}: the rows of {} by {}, $1 and $2 the first and last key of each batch\n{};\n",
                            i + 1,
                            st.label(),
                            st.key,
                            st.sql
                        ));
                    }
                    s.push_str(&format!(
                        "-- then: INSERT INTO torghut_meta.schema_history (id = {:?}, checksum = {})\n",
                        m.id, m.checksum
                    ));
                    s
                } else if m.no_transaction {
                    let mut s = format!("{}\n", self.timeouts_sql(false));
                    for st in split_statements(&m.up) {
                        s.push_str(&st);
                        s.push_str(";\n");
                    }
                    s
                } else {
                    format!(
                        "BEGIN;\n{}\n{}\n-- then: INSERT INTO torghut_meta.schema_history (id = {:?}, checksum = {})\nCOMMIT;\n",
                        self.timeouts_sql(true),
                        m.up.trim_end(),
                        m.id,
                        m.checksum
                    )
                };
                PlanStep {
                    id: m.id.clone(),
                    transactional: !m.no_transaction,
                    sql,
                }
            })
            .collect())
    }

    /// Applies pending migrations up to `to` (all when `None`), each in its own transaction together
    /// with its history row.
    pub async fn up(&mut self, to: Option<&str>) -> Result<UpReport, MigrateError> {
        if let Some(t) = to {
            if self.set.get(t).is_none() {
                return Err(MigrateError::UnknownTarget(t.to_string()));
            }
        }
        let to = to.map(str::to_string);
        let (applied, waited) = self
            .locked(move |m| Box::pin(async move { m.up_locked(to.as_deref()).await }))
            .await?;
        let status = self.status().await?;
        Ok(UpReport {
            applied,
            current: status.current,
            lock_wait_ms: waited.as_millis() as u64,
        })
    }

    pub(super) async fn up_locked(
        &mut self,
        to: Option<&str>,
    ) -> Result<Vec<String>, MigrateError> {
        let status = self.status().await?;
        if status.applied.is_empty() {
            if let Some(v) = &status.alembic_version {
                return Err(MigrateError::NeedsAdopt(v.clone()));
            }
        }
        let pending = self.pending_until(&status, to)?;
        let mut done = Vec::new();
        let last = pending.len().saturating_sub(1);
        for (i, m) in pending.into_iter().enumerate() {
            let start = Instant::now();
            self.opts.progress.emit(Event::MigrationStarted {
                id: m.id.clone(),
                description: m.description.clone(),
                kind: if !m.backfill.is_empty() {
                    "backfill"
                } else if m.no_transaction {
                    "no-transaction"
                } else {
                    "transaction"
                },
            });
            if !m.backfill.is_empty() {
                self.apply_backfill(&m, &done, i == last).await?;
            } else if m.no_transaction {
                self.apply_no_transaction(&m, &done).await?;
            } else {
                // Every commit but the run's last skips the WAL flush wait: WAL is flushed in order,
                // so the last (synchronous) commit makes all of them durable before `up` returns.
                // A server crash in between loses whole migrations together with their history
                // rows, never one without the other.
                self.apply_transactional(&m, &done, i == last).await?;
            }
            self.opts.progress.emit(Event::MigrationApplied {
                id: m.id.clone(),
                duration_ms: start.elapsed().as_millis() as u64,
            });
            done.push(m.id.clone());
        }
        Ok(done)
    }

    pub(super) async fn apply_transactional(
        &mut self,
        m: &Migration,
        done: &[String],
        durable: bool,
    ) -> Result<(), MigrateError> {
        let attempts = self.opts.lock_retries + 1;
        for attempt in 1..=attempts {
            let start = Instant::now();
            let mut timeouts = self.timeouts_sql(true);
            if !durable {
                timeouts.push_str(" SET LOCAL synchronous_commit = off;");
            }
            let host = self.opts.host.clone();
            let tx = self.client.transaction().await?;
            let run = async {
                tx.batch_execute(&timeouts).await?;
                tx.batch_execute(&m.up).await?;
                Ok::<(), tokio_postgres::Error>(())
            }
            .await;
            match run {
                Ok(()) => {
                    let dur = start.elapsed().as_millis() as i64;
                    let detail = (attempt > 1).then(|| format!("applied on attempt {attempt}"));
                    Recorder::new(&host, TOOL_VERSION)
                        .applied(&tx, m, dur, detail.as_deref())
                        .await?;
                    tx.commit().await?;
                    tracing::info!(migration = %m.id, duration_ms = dur, "applied");
                    return Ok(());
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    if is_lock_timeout(&e) && attempt < attempts {
                        tracing::warn!(migration = %m.id, attempt, "lock_timeout; retrying");
                        tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
                        continue;
                    }
                    let lock_timeout = is_lock_timeout(&e);
                    let failed = self
                        .migration_failed(Action::Up, &m.id, e, done, false)
                        .await;
                    if lock_timeout {
                        return Err(MigrateError::LockRetriesExhausted {
                            id: m.id.clone(),
                            attempts,
                            applied: done.to_vec(),
                        });
                    }
                    return Err(failed);
                }
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// Writes `entry` to the run log on the migrator's connection (outside any transaction).
    pub(crate) async fn record(&self, entry: LogEntry<'_>) -> Result<(), tokio_postgres::Error> {
        Recorder::new(&self.opts.host, TOOL_VERSION)
            .record(&self.client, entry)
            .await
    }

    pub(super) async fn log_failure(&self, action: Action, id: &str, detail: &str) {
        let r = self
            .record(LogEntry {
                action,
                migration_id: Some(id),
                outcome: Outcome::Failed,
                reason: None,
                detail: Some(detail),
                duration_ms: None,
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %DbFailure::from(&e), "could not write the run log");
        }
    }

    /// Logs that `action` failed on migration `id` with `e`, and returns the error that says
    /// so: `done` lists the migrations this run completed before it, `dirty` whether `id` is
    /// left dirty.
    pub(super) async fn migration_failed(
        &self,
        action: Action,
        id: &str,
        e: tokio_postgres::Error,
        done: &[String],
        dirty: bool,
    ) -> MigrateError {
        let failure = DbFailure::from(e);
        self.log_failure(action, id, &failure.to_string()).await;
        MigrateError::MigrationFailed {
            id: id.to_owned(),
            failure,
            applied: done.to_vec(),
            dirty,
        }
    }

    /// Runs `sql`, the `action` script of migration `m`, outside any transaction once its
    /// history row is marked dirty: logs the start, then runs the statements one by one. A
    /// failed statement is logged, and the error returned leaves the migration dirty.
    pub(super) async fn run_marked_dirty(
        &mut self,
        action: Action,
        m: &Migration,
        sql: &str,
        reason: Option<&str>,
        done: &[String],
    ) -> Result<(), MigrateError> {
        self.record(LogEntry::started(
            action,
            &m.id,
            reason,
            "outside a transaction; dirty until it finishes",
        ))
        .await?;
        if let Err(e) = self.run_outside_transaction(sql).await? {
            return Err(self.migration_failed(action, &m.id, e, done, true).await);
        }
        Ok(())
    }

    pub(super) async fn apply_no_transaction(
        &mut self,
        m: &Migration,
        done: &[String],
    ) -> Result<(), MigrateError> {
        let start = Instant::now();
        history::insert_history(
            &self.client,
            &NewHistoryRow {
                dirty: true,
                ..NewHistoryRow::of(m, &self.opts.host, TOOL_VERSION)
            },
        )
        .await?;
        self.run_marked_dirty(Action::Up, m, &m.up, None, done)
            .await?;
        let dur = start.elapsed().as_millis() as i64;
        history::mark_finished(&self.client, &m.id, dur).await?;
        self.record(LogEntry::done(Action::Up, &m.id, None, dur))
            .await?;
        Ok(())
    }
}
