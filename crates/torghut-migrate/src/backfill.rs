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
//!
//! A step walks its table by a unique key (`key=COLUMN`: batches of rows by key order, through
//! the key's index), or by pages (`key=ctid`: runs of pages in the order they are stored).
//! Walking by pages reads the heap sequentially; by a random key such as a UUID, each batch
//! reads pages all over the table (measured: twice the time per row on a table larger than
//! shared_buffers). It suits steps for which a row's place does not matter: an UPDATE moves a
//! row to another page, so a row updated during the walk may be met twice or not at all (the
//! seal of rows from before the chain is such a step: a legacy row is sealed by its writer
//! before it is first changed, and is then skipped).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use crate::engine::{DbFailure, MigrateError, MigrateOptions, Migrator, TOOL_VERSION};
use crate::history::{self, Action, BackfillState, LogEntry, Recorder};
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
    /// How many steps may run side by side, each on its own connection (needs
    /// [`MigrateOptions::connect`](crate::MigrateOptions::connect)).
    pub workers: usize,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        Self {
            first_batch: 500,
            min_batch: 50,
            max_batch: 20_000,
            target_batch: Duration::from_millis(200),
            throttle: 0.1,
            workers: 2,
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

/// A connection being opened.
type Connecting = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<tokio_postgres::Client, String>> + Send>,
>;

/// Opens another connection to the database being migrated (for backfill steps that run side
/// by side).
#[derive(Clone)]
pub struct Connector(Arc<dyn Fn() -> Connecting + Send + Sync>);

impl Connector {
    /// `f` opens a connection, or says why it could not.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<tokio_postgres::Client, String>> + Send + 'static,
    {
        Self(Arc::new(move || Box::pin(f())))
    }

    pub(crate) async fn connect(&self) -> Result<tokio_postgres::Client, String> {
        (self.0)().await
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connector(..)")
    }
}

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

/// The key that walks a table by its pages (`key=ctid`) rather than by a column.
pub const PAGES: &str = "ctid";

/// The block of a tid written `(block,0)`.
fn parse_tid_block(s: &str) -> Option<i64> {
    let inner = s.strip_prefix('(')?.strip_suffix(",0)")?;
    inner.parse().ok().filter(|b: &i64| *b >= 0)
}

/// Where a walk is, and how big its batches are.
enum Cursor {
    /// By a unique column: the last key handled (as text) and the batch size in rows.
    Keys {
        key: String,
        key_type: String,
        last: Option<String>,
        rows: i64,
    },
    /// By pages: the next block and the batch size in blocks; for one of several parts of the
    /// table, which part of how many (the part walks stripes `part`, `part + parts`, ... of
    /// [`STRIPE`] pages each, so that the parts' shares stay even while the table grows).
    Pages {
        block: i64,
        blocks: i64,
        part: Option<(i64, i64)>,
    },
}

/// Pages in a stripe of a walk split into parts (8 MiB).
const STRIPE: i64 = 1024;

/// The first block at or after `block` in stripes of `part` of `parts`.
fn own_block(block: i64, part: Option<(i64, i64)>) -> i64 {
    match part {
        None => block,
        Some((p, n)) => {
            let stripe = block / STRIPE;
            let ahead = (p - stripe % n).rem_euclid(n);
            if ahead == 0 {
                block
            } else {
                (stripe + ahead) * STRIPE
            }
        }
    }
}

/// The SQL condition (over `ctid`) of the rows in a part's stripes; empty for a whole table.
fn part_filter(part: Option<(i64, i64)>) -> String {
    match part {
        None => String::new(),
        Some((p, n)) => format!(" AND (((ctid::text::point)[0])::bigint / {STRIPE}) % {n} = {p}"),
    }
}

impl Cursor {
    /// Rows not handled yet.
    async fn remaining(
        &self,
        c: &tokio_postgres::Client,
        table: &str,
    ) -> Result<i64, tokio_postgres::Error> {
        Ok(match self {
            Cursor::Keys {
                key,
                key_type,
                last,
                ..
            } => {
                let filter = match last {
                    Some(_) => format!("WHERE {key} > $1::text::{key_type}"),
                    None => "WHERE $1::text IS NULL".to_string(),
                };
                c.query_one(&format!("SELECT count(*) FROM {table} {filter}"), &[last])
                    .await?
                    .try_get(0)?
            }
            Cursor::Pages { block, part, .. } => c
                .query_one(
                    &format!(
                        "SELECT count(*) FROM {table} WHERE ctid >= $1::text::tid{}",
                        part_filter(*part)
                    ),
                    &[&format!("({block},0)")],
                )
                .await?
                .try_get(0)?,
        })
    }

    /// The next batch: its first and last key (or first page and the page after its last, as
    /// tids), and its rows; none at the end of the table.
    async fn next(
        &self,
        c: &tokio_postgres::Client,
        table: &str,
    ) -> Result<Option<(String, String, i64)>, tokio_postgres::Error> {
        match self {
            Cursor::Keys {
                key,
                key_type,
                last,
                rows,
            } => {
                let filter = match last {
                    Some(_) => format!("WHERE {key} > $1::text::{key_type}"),
                    None => "WHERE $1::text IS NULL".to_string(),
                };
                let r = c
                    .query_one(
                        &format!(
                            "WITH s AS MATERIALIZED (SELECT {key} AS k FROM {table} {filter} ORDER BY {key} LIMIT $2) \
                             SELECT (SELECT s.k::text AS first FROM s ORDER BY s.k LIMIT 1), \
                                    (SELECT s.k::text AS last FROM s ORDER BY s.k DESC LIMIT 1), \
                                    (SELECT count(*) FROM s)"
                        ),
                        &[last, rows],
                    )
                    .await?;
                let n: i64 = r.try_get(2)?;
                if n <= 0 {
                    return Ok(None);
                }
                Ok(Some((r.try_get(0)?, r.try_get(1)?, n)))
            }
            Cursor::Pages {
                block,
                blocks,
                part,
            } => {
                let block = own_block(*block, *part);
                // The table's size now: it may have grown since the walk started.
                let size: i64 = c
                    .query_one(
                        "SELECT pg_relation_size($1::text::regclass) / current_setting('block_size')::bigint",
                        &[&table],
                    )
                    .await?
                    .try_get(0)?;
                if block >= size {
                    return Ok(None);
                }
                let end = match part {
                    // A batch ends at its stripe's end.
                    Some(_) => (block + blocks).min((block / STRIPE + 1) * STRIPE),
                    None => block + blocks,
                };
                let (lo, hi) = (format!("({block},0)"), format!("({end},0)"));
                let n: i64 = c
                    .query_one(
                        &format!(
                            "SELECT count(*) FROM {table} WHERE ctid >= $1::text::tid AND ctid < $2::text::tid"
                        ),
                        &[&lo, &hi],
                    )
                    .await?
                    .try_get(0)?;
                Ok(Some((lo, hi, n)))
            }
        }
    }

    fn advance(&mut self, hi: String) {
        match self {
            Cursor::Keys { last, .. } => *last = Some(hi),
            Cursor::Pages { block, .. } => {
                if let Some(b) = parse_tid_block(&hi) {
                    *block = b;
                }
            }
        }
    }

    fn grow(&mut self, o: &BackfillOptions) {
        match self {
            Cursor::Keys { rows, .. } => *rows = (*rows * 2).min(o.max_batch),
            Cursor::Pages { blocks, .. } => *blocks = (*blocks * 2).min(MAX_PAGES),
        }
    }

    fn shrink(&mut self, o: &BackfillOptions) {
        match self {
            Cursor::Keys { rows, .. } => *rows = (*rows / 2).max(o.min_batch),
            Cursor::Pages { blocks, .. } => *blocks = (*blocks / 2).max(1),
        }
    }
}

/// The most pages in one batch.
const MAX_PAGES: i64 = 4096;

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
            table: self.step.label(),
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
        let detail = if states.is_empty() {
            format!("batched backfill of {} step(s)", m.backfill.len())
        } else {
            format!("batched backfill resumed ({resumed} rows done before)")
        };
        self.record(LogEntry::started(Action::Up, &m.id, None, &detail))
            .await?;
        let walks: Vec<(Walk<'_>, Option<&BackfillState>)> = m
            .backfill
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let state = states.iter().find(|s| s.step as usize == index);
                (
                    Walk {
                        m,
                        index,
                        step,
                        done,
                    },
                    state,
                )
            })
            .filter(|(_, state)| !state.is_some_and(|s| s.finished_at.is_some()))
            .collect();
        // Steps run side by side on extra connections when the run may open them: each worker
        // takes the next step not taken yet.
        let mut helpers = Vec::new();
        if let Some(connect) = self.opts.connect.clone() {
            let extra = self
                .opts
                .backfill
                .workers
                .saturating_sub(1)
                .min(walks.len().saturating_sub(1));
            for _ in 0..extra {
                let client = connect.connect().await.map_err(|e| {
                    let first = walks.first().map(|(w, _)| w);
                    MigrateError::BackfillFailed {
                        id: m.id.clone(),
                        table: first.map_or_else(String::new, |w| w.step.label()),
                        rows_done: 0,
                        failure: Box::new(DbFailure::other(format!(
                            "cannot open another connection for the backfill: {e}"
                        ))),
                        applied: done.to_vec(),
                    }
                })?;
                let opts = MigrateOptions {
                    connect: None,
                    ..self.opts.clone()
                };
                helpers.push(Migrator::new(client, self.migrations().clone(), opts));
            }
        }
        let queue =
            std::sync::Mutex::new(walks.into_iter().collect::<std::collections::VecDeque<_>>());
        let mut all: Vec<&mut Migrator> = vec![self];
        all.extend(helpers.iter_mut());
        let queue = &queue;
        futures_util::future::try_join_all(all.into_iter().map(|worker| async move {
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some((walk, state)) = next else {
                    return Ok::<(), MigrateError>(());
                };
                worker.walk(&walk, state).await?;
            }
        }))
        .await?;
        drop(helpers);
        let dur = start.elapsed().as_millis() as i64;
        let host = self.opts.host.clone();
        let tx = self.client.transaction().await?;
        if !durable {
            tx.batch_execute("SET LOCAL synchronous_commit = off")
                .await?;
        }
        Recorder::new(&host, TOOL_VERSION)
            .applied(&tx, m, dur, None)
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
        let mut cursor = if step.key == PAGES {
            let exists: bool = self
                .client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
                .await?
                .try_get(0)?;
            if !exists {
                return Err(w.failed(DbFailure::other(format!("table {table} does not exist")), 0));
            }
            let block = match state.and_then(|s| s.last_key.as_deref()) {
                None => 0,
                Some(k) => parse_tid_block(k).ok_or_else(|| {
                    w.failed(
                        DbFailure::other(format!(
                            "the recorded progress {k:?} is not a page (block,0)"
                        )),
                        0,
                    )
                })?,
            };
            Cursor::Pages {
                block,
                blocks: 16,
                part: step.part.map(|(i, n)| (i64::from(i), i64::from(n))),
            }
        } else {
            let key_type: Option<String> = self
                .client
                .query_opt(
                    "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                     WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
                    &[&table, &step.key],
                )
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            let Some(key_type) = key_type else {
                return Err(w.failed(
                    DbFailure::other(format!("table {table} has no column {}", step.key)),
                    0,
                ));
            };
            Cursor::Keys {
                key: quote_ident(&step.key),
                key_type,
                last: state.and_then(|s| s.last_key.clone()),
                rows: opts.first_batch.clamp(opts.min_batch, opts.max_batch),
            }
        };
        let mut rows_done = state.map_or(0, |s| s.rows_done);
        let remaining = cursor.remaining(&self.client, &table).await?;
        let rows_total = rows_done + remaining;
        let started = Instant::now();
        let done_at_start = rows_done;
        let mut retries = 0u64;
        loop {
            let Some((lo, hi, n)) = cursor.next(&self.client, &table).await? else {
                break;
            };
            let t0 = Instant::now();
            match self.run_batch(w, &lo, &hi, n).await {
                Ok(()) => {}
                Err(e) if retryable(&e) && retries < 10 * u64::from(self.opts.lock_retries + 1) => {
                    retries += 1;
                    cursor.shrink(&opts);
                    tracing::warn!(migration = %w.m.id, table = %step.label(), retries, "batch rolled back on a lock; retrying smaller");
                    tokio::time::sleep(Duration::from_millis(100 * retries.min(10))).await;
                    continue;
                }
                Err(e) => return Err(w.failed(DbFailure::from(e), rows_done)),
            }
            let took = t0.elapsed();
            rows_done += n;
            cursor.advance(hi);
            if took < opts.target_batch / 2 {
                cursor.grow(&opts);
            } else if took > opts.target_batch * 2 {
                cursor.shrink(&opts);
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
                table: step.label(),
                rows_done,
                rows_total: rows_total.max(rows_done),
                rows_per_s: rate,
                eta_s: (rate > 0.0).then(|| left as f64 / rate),
                batch_rows: n,
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
            table: step.label(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_walks_its_own_stripes_only() {
        let whole = None;
        assert_eq!(own_block(5, whole), 5);
        // Two parts: part 0 has stripes 0, 2, 4..., part 1 has stripes 1, 3, 5...
        assert_eq!(own_block(0, Some((0, 2))), 0);
        assert_eq!(own_block(STRIPE - 1, Some((0, 2))), STRIPE - 1);
        assert_eq!(own_block(STRIPE, Some((0, 2))), 2 * STRIPE);
        assert_eq!(own_block(0, Some((1, 2))), STRIPE);
        assert_eq!(own_block(2 * STRIPE + 7, Some((1, 2))), 3 * STRIPE);
        assert_eq!(own_block(3 * STRIPE + 7, Some((1, 2))), 3 * STRIPE + 7);
        // Three parts: every block belongs to exactly one part.
        for b in 0..(10 * STRIPE) {
            let owners = (0..3).filter(|p| own_block(b, Some((*p, 3))) == b).count();
            assert_eq!(owners, 1, "block {b}");
        }
        assert_eq!(part_filter(None), "");
        assert!(part_filter(Some((1, 2))).ends_with("% 2 = 1"));
    }
}
