//! Batched backfills: the only way a migration touches rows that are already there.
//!
//! A backfill migration (`-- torghut:backfill`, see [`crate::source`]) is a list of steps, each a
//! statement over one table's rows by ranges of a unique key. Each batch is its own short
//! transaction: the statement over the batch's key range and the step's progress row in
//! `torghut_meta.backfill_progress` commit together, so a run that is killed loses at most the
//! batch in flight and the next `up` carries on after the last committed key. Batches are sized
//! to take about [`BackfillOptions::target_batch`] (doubled or halved after each one), run under
//! the migration's `lock_timeout`, and are followed by a pause of [`BackfillOptions::throttle`]
//! times their duration, so that the writers of the tables keep their pace. A batch that hits a
//! lock timeout or a deadlock is retried, smaller. The migration is recorded in the history,
//! in one transaction with its log row, only when every step has walked its whole table: `up`
//! returns when the database is at head, backfills included.
//!
//! The steps must be repeatable: a batch that ran but whose commit was lost runs again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use crate::engine::{DbFailure, MigrateError, Migrator, TOOL_VERSION};
use crate::history::{self, BackfillState, LogEntry, NewHistoryRow};
use crate::source::{BackfillStep, Migration};

/// Tunables of backfills.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// Rows in the first batch.
    pub first_batch: i64,
    /// Smallest and largest batch.
    pub min_batch: i64,
    pub max_batch: i64,
    /// The time a batch should take; batches are resized towards it.
    pub target_batch: Duration,
    /// Pause after each batch, as a fraction of its duration (0.25: a quarter of it).
    pub throttle: f64,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        Self {
            first_batch: 500,
            min_batch: 50,
            max_batch: 20_000,
            target_batch: Duration::from_millis(200),
            throttle: 0.1,
        }
    }
}

/// What a run is doing, as it happens (`migrate up` shows it, or prints it as JSON lines).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A migration starts.
    MigrationStarted {
        id: String,
        description: String,
        /// `transaction`, `no-transaction` or `backfill`.
        kind: &'static str,
    },
    /// A migration was applied and recorded.
    MigrationApplied { id: String, duration_ms: u64 },
    /// A batch of a backfill step committed.
    BackfillProgress {
        id: String,
        /// 1-based step and the number of steps.
        step: usize,
        steps: usize,
        table: String,
        rows_done: i64,
        /// Rows of the table when the step (re)started, plus those done before.
        rows_total: i64,
        /// Rows per second over this run of the step.
        rows_per_s: f64,
        /// Seconds left at that rate.
        eta_s: Option<f64>,
        batch_rows: i64,
        /// Batches retried after a lock timeout or deadlock in this run of the step.
        retries: u64,
    },
    /// A backfill step walked its whole table.
    BackfillStepDone {
        id: String,
        step: usize,
        steps: usize,
        table: String,
        rows_done: i64,
        duration_ms: u64,
    },
}

/// A receiver of events.
type Listener = Arc<dyn Fn(&Event) + Send + Sync>;

/// Where events go: nowhere by default.
#[derive(Clone, Default)]
pub struct ProgressSink(Option<Listener>);

impl ProgressSink {
    /// Events are passed to `f`, in order, from the task running the migrations.
    pub fn new(f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(f)))
    }

    pub(crate) fn emit(&self, e: Event) {
        if let Some(f) = &self.0 {
            f(&e);
        }
    }
}

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ProgressSink(..)"
        } else {
            "ProgressSink(none)"
        })
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Worth running again: the batch rolled back whole on a lock it could not get in time, a
/// deadlock or a serialization failure.
fn retryable(e: &tokio_postgres::Error) -> bool {
    [
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::T_R_SERIALIZATION_FAILURE,
    ]
    .iter()
    .any(|c| e.code() == Some(c))
}

struct Walk<'a> {
    m: &'a Migration,
    index: usize,
    step: &'a BackfillStep,
    done: &'a [String],
}

impl Walk<'_> {
    fn failed(&self, failure: DbFailure, rows_done: i64) -> MigrateError {
        MigrateError::BackfillFailed {
            id: self.m.id.clone(),
            table: self.step.table.clone(),
            rows_done,
            failure: Box::new(failure),
            applied: self.done.to_vec(),
        }
    }
}

impl Migrator {
    /// Runs a backfill migration to its end (resuming where an earlier run stopped), then records
    /// it in the history.
    pub(crate) async fn apply_backfill(
        &mut self,
        m: &Migration,
        done: &[String],
        durable: bool,
    ) -> Result<(), MigrateError> {
        let start = Instant::now();
        let states: Vec<BackfillState> = history::read_backfills(&self.client)
            .await?
            .into_iter()
            .filter(|s| s.migration_id == m.id)
            .collect();
        let resumed: i64 = states.iter().map(|s| s.rows_done).sum();
        history::log(
            &self.client,
            &self.opts.host,
            TOOL_VERSION,
            &LogEntry {
                action: "up",
                migration_id: Some(&m.id),
                outcome: "started",
                reason: None,
                detail: Some(&if states.is_empty() {
                    format!("batched backfill of {} step(s)", m.backfill.len())
                } else {
                    format!("batched backfill resumed ({resumed} rows done before)")
                }),
                duration_ms: None,
            },
        )
        .await?;
        for (index, step) in m.backfill.iter().enumerate() {
            let state = states.iter().find(|s| s.step as usize == index);
            if state.is_some_and(|s| s.finished_at.is_some()) {
                continue;
            }
            let walk = Walk {
                m,
                index,
                step,
                done,
            };
            self.walk(&walk, state).await?;
        }
        let dur = start.elapsed().as_millis() as i64;
        let host = self.opts.host.clone();
        let tx = self.client.transaction().await?;
        if !durable {
            tx.batch_execute("SET LOCAL synchronous_commit = off")
                .await?;
        }
        history::insert_history(
            &tx,
            &NewHistoryRow {
                version: m.version as i32,
                id: &m.id,
                description: &m.description,
                checksum: &m.checksum,
                host: &host,
                duration_ms: dur,
                tool_version: TOOL_VERSION,
                dirty: false,
                adopted: false,
            },
        )
        .await?;
        history::log(
            &tx,
            &host,
            TOOL_VERSION,
            &LogEntry {
                action: "up",
                migration_id: Some(&m.id),
                outcome: "ok",
                reason: None,
                detail: None,
                duration_ms: Some(dur),
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(migration = %m.id, duration_ms = dur, "backfill applied");
        Ok(())
    }

    /// Walks one step's table from where it got to, batch by batch.
    async fn walk(
        &mut self,
        w: &Walk<'_>,
        state: Option<&BackfillState>,
    ) -> Result<(), MigrateError> {
        let step = w.step;
        let opts = self.opts.backfill.clone();
        let table = format!("public.{}", quote_ident(&step.table));
        let key = quote_ident(&step.key);
        let key_type: Option<String> = self
            .client
            .query_opt(
                "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
                &[&table, &step.key],
            )
            .await?
            .map(|r| r.get(0));
        let Some(key_type) = key_type else {
            return Err(w.failed(
                DbFailure {
                    sqlstate: None,
                    message: format!("table {table} has no column {key}"),
                },
                0,
            ));
        };
        let mut last_key = state.and_then(|s| s.last_key.clone());
        let mut rows_done = state.map_or(0, |s| s.rows_done);
        let after = |last: &Option<String>| match last {
            Some(_) => format!("WHERE {key} > $1::text::{key_type}"),
            None => "WHERE $1::text IS NULL".to_string(),
        };
        let remaining: i64 = self
            .client
            .query_one(
                &format!("SELECT count(*) FROM {table} {}", after(&last_key)),
                &[&last_key],
            )
            .await?
            .get(0);
        let rows_total = rows_done + remaining;
        let started = Instant::now();
        let done_at_start = rows_done;
        let mut batch = opts.first_batch.clamp(opts.min_batch, opts.max_batch);
        let mut retries = 0u64;
        loop {
            let bounds = self
                .client
                .query_one(
                    &format!(
                        "WITH s AS MATERIALIZED (SELECT {key} AS k FROM {table} {} ORDER BY {key} LIMIT $2) \
                         SELECT (SELECT s.k::text AS first FROM s ORDER BY s.k LIMIT 1), \
                                (SELECT s.k::text AS last FROM s ORDER BY s.k DESC LIMIT 1), \
                                (SELECT count(*) FROM s)",
                        after(&last_key)
                    ),
                    &[&last_key, &batch],
                )
                .await?;
            let n: i64 = bounds.get(2);
            if n == 0 {
                break;
            }
            let (lo, hi): (String, String) = (bounds.get(0), bounds.get(1));
            let t0 = Instant::now();
            match self.run_batch(w, &lo, &hi, n).await {
                Ok(()) => {}
                Err(e) if retryable(&e) && retries < 10 * u64::from(self.opts.lock_retries + 1) => {
                    retries += 1;
                    batch = (batch / 2).max(opts.min_batch);
                    tracing::warn!(migration = %w.m.id, table = %step.table, retries, "batch rolled back on a lock; retrying smaller");
                    tokio::time::sleep(Duration::from_millis(100 * retries.min(10))).await;
                    continue;
                }
                Err(e) => return Err(w.failed(DbFailure::from(&e), rows_done)),
            }
            let took = t0.elapsed();
            rows_done += n;
            last_key = Some(hi);
            if took < opts.target_batch / 2 {
                batch = (batch * 2).min(opts.max_batch);
            } else if took > opts.target_batch * 2 {
                batch = (batch / 2).max(opts.min_batch);
            }
            let secs = started.elapsed().as_secs_f64();
            let rate = if secs > 0.0 {
                (rows_done - done_at_start) as f64 / secs
            } else {
                0.0
            };
            let left = (rows_total - rows_done).max(0);
            self.opts.progress.emit(Event::BackfillProgress {
                id: w.m.id.clone(),
                step: w.index + 1,
                steps: w.m.backfill.len(),
                table: step.table.clone(),
                rows_done,
                rows_total: rows_total.max(rows_done),
                rows_per_s: rate,
                eta_s: (rate > 0.0).then(|| left as f64 / rate),
                batch_rows: batch,
                retries,
            });
            let pause = took.mul_f64(opts.throttle.max(0.0));
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        history::finish_step(&self.client, &w.m.id, w.index as i32, &step.table).await?;
        self.opts.progress.emit(Event::BackfillStepDone {
            id: w.m.id.clone(),
            step: w.index + 1,
            steps: w.m.backfill.len(),
            table: step.table.clone(),
            rows_done,
            duration_ms: started.elapsed().as_millis() as u64,
        });
        Ok(())
    }

    /// One batch: the step's statement over [lo, hi] and its progress row, in one transaction.
    /// Its commit does not wait for the WAL flush: a batch lost in a crash runs again.
    async fn run_batch(
        &mut self,
        w: &Walk<'_>,
        lo: &str,
        hi: &str,
        n: i64,
    ) -> Result<(), tokio_postgres::Error> {
        let timeouts = self.timeouts_sql(true);
        let tx = self.client.transaction().await?;
        tx.batch_execute(&format!("{timeouts} SET LOCAL synchronous_commit = off;"))
            .await?;
        let st = tx
            .prepare_typed(&w.step.sql, &[Type::TEXT, Type::TEXT])
            .await?;
        tx.execute(&st, &[&lo, &hi]).await?;
        history::record_batch(&tx, &w.m.id, w.index as i32, &w.step.table, hi, n).await?;
        tx.commit().await
    }
}
