//! `torghut bench write`: trails per second and latency of the write path, from concurrent
//! connections, against a migrated database.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde::Serialize;
use torghut_config::tokio_postgres::{self, Client};
use torghut_json::JsonPolicy;
use torghut_store::review::NewReview;
use torghut_store::strategy::{self, NewStrategy};
use torghut_store::trail::{self, TrailInput};
use torghut_store::{decision, execution, review};
use uuid::Uuid;

use crate::cli::{BenchArgs, BenchCommand, BenchWriteArgs};
use crate::db;
use crate::failure::Failure;

/// The migration the trail tables are complete at (0003: reviews).
const REQUIRED_VERSION: i32 = 3;
const REQUIRED_ID: &str = "0003_llm_decision_reviews";
/// Below this migration (0006: event tables) trails are written by [`record_v1`] (the v1
/// schema, for comparison); the store's `record_trail` needs [`STORE_VERSION`].
const EVENTS_VERSION: i32 = 6;
/// From this migration on (0007: audit by capture) trails are written by the store.
const STORE_VERSION: i32 = 7;
const STORE_ID: &str = "0007_audit_capture";
/// How long a call still in flight at the end may run before the run is cut short.
const GRACE: Duration = Duration::from_secs(10);

/// Runs one bench command and returns the exit code.
pub async fn run(args: BenchArgs) -> u8 {
    match args.command {
        BenchCommand::Write(a) => write(a).await,
    }
}

async fn write(args: BenchWriteArgs) -> u8 {
    let json_out = args.out.json;
    match execute(&args).await {
        Ok(report) => {
            let code = if report.trails > 0 { 0 } else { 1 };
            if json_out {
                match serde_json::to_string(&report) {
                    Ok(s) => println!("{s}"),
                    Err(e) => eprintln!("error: cannot encode the report: {e}"),
                }
            } else {
                print!("{}", report.render());
            }
            if code != 0 {
                eprintln!(
                    "error: no trail was written{}",
                    report
                        .first_error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
            }
            code
        }
        Err(failure) => failure.report(json_out),
    }
}

/// What one run measured.
#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    database: String,
    /// The latest migration applied to the database.
    schema: String,
    /// `store` (`record_trail`), or `v1-no-events` below 0006: the same statements, without the
    /// status event's read back (there are no event tables).
    path: &'static str,
    strategy_id: Uuid,
    clients: u32,
    seconds: u32,
    /// Wall time from the first call to the end of the last one.
    elapsed_s: f64,
    /// Trails written.
    trails: u64,
    /// Trails that failed.
    errors: u64,
    trails_per_s: f64,
    calls: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    first_error: Option<String>,
}

impl Report {
    fn render(&self) -> String {
        let mode = "one trail per call (decision + review + execution + status, one transaction)";
        let mut s = format!(
            "bench write on {} (at {}, {} path): {} client{}, {} s, {mode}\n",
            self.database,
            self.schema,
            self.path,
            self.clients,
            if self.clients == 1 { "" } else { "s" },
            self.seconds
        );
        s.push_str(&format!(
            "trails/s: {:.1}  ({} trails in {:.2} s)\n",
            self.trails_per_s, self.trails, self.elapsed_s
        ));
        s.push_str(&format!(
            "latency per trail (ms): p50 {:.3}  p99 {:.3}  max {:.3}  ({} calls)\n",
            self.p50_ms, self.p99_ms, self.max_ms, self.calls
        ));
        s.push_str(&format!("errors: {}\n", self.errors));
        if let Some(e) = &self.first_error {
            s.push_str(&format!("first error: {e}\n"));
        }
        s
    }
}

async fn execute(args: &BenchWriteArgs) -> Result<Report, Failure> {
    let config = db::resolve(args.db.dsn.as_deref()).map_err(Failure::config)?;
    let database = config.redacted();
    let mut admin = db::connect(&config, "torghut-bench")
        .await
        .map_err(Failure::config)?;
    let (version, schema) = check_schema(&admin, &database).await?;
    let v1 = version < EVENTS_VERSION;
    if !v1 && version < STORE_VERSION {
        return Err(Failure::config(format!(
            "{database} is at {schema}: the store writes trails from {STORE_ID} on; migrate it \
             up (torghut migrate up), or below 0006_audit_events for the plain v1 comparison"
        )));
    }
    let policy = JsonPolicy::default();
    let strategy_id = create_strategy(&mut admin, &policy).await?;

    // Every connection is opened and its statements prepared before the clock starts.
    let mut writers = Vec::with_capacity(args.clients as usize);
    for i in 0..args.clients {
        let client = db::connect(&config, "torghut-bench")
            .await
            .map_err(Failure::config)?;
        let stmts = if v1 {
            Statements::V1
        } else {
            Statements::Store
        };
        let mut gen = TrailGen::new(strategy_id, i);
        // The inputs are generated before the clock starts (what the caller would have in
        // hand), so the timed loop runs record_trail alone; a writer that uses them up
        // generates more inline.
        let n = pregenerated(args.seconds, args.clients);
        let pool: Vec<TrailInput> = (0..n).map(|_| gen.next()).collect();
        writers.push(Writer {
            client,
            stmts,
            gen,
            pool: pool.into_iter(),
        });
    }

    let seconds = args.seconds;
    let start = tokio::time::Instant::now();
    let deadline = start + Duration::from_secs(u64::from(seconds));
    let mut set = tokio::task::JoinSet::new();
    for w in writers {
        let policy = policy.clone();
        set.spawn(async move { w.run(deadline, &policy).await });
    }
    let mut total = Tally::default();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(t) => total.merge(t),
            Err(e) => {
                total.errors += 1;
                total
                    .first_error
                    .get_or_insert_with(|| format!("a writer task failed: {e}"));
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    total.latencies_us.sort_unstable();
    let lat = &total.latencies_us;
    Ok(Report {
        ok: total.trails > 0,
        database,
        schema,
        path: if v1 { "v1-no-events" } else { "store" },
        strategy_id,
        clients: args.clients,
        seconds,
        elapsed_s: round3(elapsed),
        trails: total.trails,
        errors: total.errors,
        trails_per_s: if elapsed > 0.0 {
            round3(total.trails as f64 / elapsed)
        } else {
            0.0
        },
        calls: lat.len() as u64,
        p50_ms: percentile_ms(lat, 0.50),
        p99_ms: percentile_ms(lat, 0.99),
        max_ms: lat.last().map_or(0.0, |&us| round3(f64::from(us) / 1000.0)),
        first_error: total.first_error,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds (0 when empty).
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted_us.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted_us.len()) - 1;
    round3(f64::from(sorted_us[idx]) / 1000.0)
}

/// Refuses a database whose schema history does not reach the trail tables; returns the
/// highest applied version and its id.
async fn check_schema(client: &Client, database: &str) -> Result<(i32, String), Failure> {
    let hint =
        format!("run `torghut migrate --dsn DSN up` first (bench write needs {REQUIRED_ID})");
    let unreadable =
        |e: tokio_postgres::Error| Failure::config(format!("cannot read the schema history: {e}"));
    let meta: bool = client
        .query_one(
            "SELECT to_regclass('torghut_meta.schema_history') IS NOT NULL",
            &[],
        )
        .await
        .map_err(unreadable)?
        .try_get(0)
        .map_err(unreadable)?;
    if !meta {
        return Err(Failure::config(format!(
            "{database} is not migrated: {hint}"
        )));
    }
    let rows = client
        .query(
            "SELECT version, id, dirty FROM torghut_meta.schema_history ORDER BY version",
            &[],
        )
        .await
        .map_err(unreadable)?;
    // (version, id, dirty) of each applied migration, in version order.
    let history: Vec<(i32, String, bool)> = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(unreadable)?;
    let dirty: Vec<&str> = history
        .iter()
        .filter(|(_, _, dirty)| *dirty)
        .map(|(_, id, _)| id.as_str())
        .collect();
    if !dirty.is_empty() {
        return Err(Failure::config(format!(
            "{database} has a dirty migration ({}): resolve it with `torghut migrate repair` first",
            dirty.join(", ")
        )));
    }
    let versions: Vec<i32> = history.iter().map(|(v, _, _)| *v).collect();
    if !(1..=REQUIRED_VERSION).all(|v| versions.contains(&v)) {
        let current: Option<&str> = history.last().map(|(_, id, _)| id.as_str());
        return Err(Failure::config(format!(
            "{database} is migrated only to {}: {hint}",
            current.unwrap_or("nothing")
        )));
    }
    let top = history
        .into_iter()
        .map(|(v, id, _)| (v, id))
        .max_by_key(|(v, _)| *v);
    Ok(top.unwrap_or((0, String::new())))
}

async fn create_strategy(client: &mut Client, policy: &JsonPolicy) -> Result<Uuid, Failure> {
    let new = NewStrategy {
        name: format!("bench-{}", &Uuid::new_v4().simple().to_string()[..12]),
        description: Some("written by `torghut bench write`".into()),
        enabled: false,
        base_timeframe: "1Min".into(),
        universe_type: "static".into(),
        universe_symbols: Some(r#"["AAPL"]"#.into()),
        max_position_pct_equity: None,
        max_notional_per_trade: None,
    };
    strategy::create(client, &new, policy)
        .await
        .map(|s| s.id)
        .map_err(|e| Failure::config(format!("cannot create the bench strategy: {e}")))
}

/// Counts of one writer, merged into the run's.
#[derive(Default)]
struct Tally {
    trails: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.trails += other.trails;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn fail(&mut self, trails: u64, message: String) {
        self.errors += trails;
        self.first_error.get_or_insert(message);
    }
}

/// How a writer records a trail.
enum Statements {
    /// The store's `record_trail`.
    Store,
    /// [`record_v1`], on a database without event tables.
    V1,
}

/// Records one trail on a database before 0006 (no event tables) with the statements the
/// store's `record_trail` sends, in one transaction: the decision ensured by hash, its review,
/// its execution upserted, and its status updated under the decision's row lock; less the read
/// of the status event, which the database records only from `0007_audit_capture` on. Only for
/// comparing with databases without the audit schema.
async fn record_v1(
    client: &mut Client,
    input: &TrailInput,
    policy: &JsonPolicy,
) -> Result<u64, String> {
    let tx = client.transaction().await.map_err(|e| e.to_string())?;
    let d = decision::ensure_in_tx(&tx, &input.account_label, &input.decision_json_text, policy)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(r) = &input.review {
        review::append_in_tx(&tx, d.id, r, policy)
            .await
            .map_err(|e| e.to_string())?;
    }
    if let Some(o) = &input.execution {
        execution::upsert_in_tx(&tx, o, policy)
            .await
            .map_err(|e| e.to_string())?;
    }
    if let Some(to) = input
        .status
        .as_deref()
        .filter(|s| *s != decision::INITIAL_STATUS)
    {
        tx.query_one(
            "SELECT status FROM trade_decisions WHERE id = $1 FOR NO KEY UPDATE",
            &[&d.id],
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.execute(
            "UPDATE trade_decisions SET status = $2, executed_at = CASE WHEN $3 \
             THEN coalesce(executed_at, now()) ELSE executed_at END WHERE id = $1",
            &[&d.id, &to, &(to == "filled")],
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(u64::from(d.created))
}

/// One connection writing in a loop.
struct Writer {
    client: Client,
    stmts: Statements,
    gen: TrailGen,
    /// Trails generated before the clock started.
    pool: std::vec::IntoIter<TrailInput>,
}

/// How many trails each single-trail writer generates before the clock starts: about what it
/// writes in `seconds` on a small machine (1,500 trails/s for one client, 4,000/s shared by
/// many), at least 500 and at most 100,000.
fn pregenerated(seconds: u32, clients: u32) -> usize {
    let per_second = if clients <= 1 {
        1_500
    } else {
        4_000 / clients.max(1)
    };
    (seconds as usize)
        .saturating_mul(per_second as usize)
        .saturating_mul(2)
        .clamp(500, 100_000)
}

impl Writer {
    async fn run(mut self, deadline: tokio::time::Instant, policy: &JsonPolicy) -> Tally {
        let mut t = Tally {
            latencies_us: Vec::with_capacity(65_536),
            ..Tally::default()
        };
        let hard_stop = deadline + GRACE;
        while tokio::time::Instant::now() < deadline {
            let input = self.pool.next().unwrap_or_else(|| self.gen.next());
            let began = Instant::now();
            let outcome = match &self.stmts {
                Statements::Store => tokio::time::timeout_at(
                    hard_stop,
                    trail::record_trail(&mut self.client, &input, policy),
                )
                .await
                .map(|r| r.map(|_| 1u64).map_err(|e| e.to_string())),
                Statements::V1 => {
                    tokio::time::timeout_at(hard_stop, record_v1(&mut self.client, &input, policy))
                        .await
                }
            };
            let us = u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX);
            match outcome {
                Ok(Ok(written)) => {
                    t.trails += written;
                    t.latencies_us.push(us);
                }
                Ok(Err(message)) => {
                    t.fail(1, message);
                    if self.client.is_closed() {
                        break;
                    }
                }
                Err(_) => {
                    t.fail(
                        1,
                        format!(
                            "a call was still running {} s after the end",
                            GRACE.as_secs()
                        ),
                    );
                    break;
                }
            }
        }
        t
    }
}

/// Trail payloads like the pgbench yardstick's, each with a new decision hash.
struct TrailGen {
    strategy_id: Uuid,
    client: u32,
    run: String,
    seq: u64,
    review: NewReview,
}

impl TrailGen {
    fn new(strategy_id: Uuid, client: u32) -> Self {
        Self {
            strategy_id,
            client,
            run: Uuid::new_v4().simple().to_string()[..12].to_string(),
            seq: 0,
            review: NewReview {
                model: "gpt-x".into(),
                prompt_version: "v1".into(),
                input_json: r#"{"decision":{"symbol":"AAPL"}}"#.into(),
                response_json: r#"{"verdict":"approve"}"#.into(),
                verdict: "approve".into(),
                confidence: Some(Decimal::new(9, 1)),
                adjusted_qty: None,
                adjusted_order_type: None,
                rationale: Some("ok".into()),
                risk_flags: Some(r#"["none"]"#.into()),
                tokens_prompt: Some(100),
                tokens_completion: Some(20),
            },
        }
    }

    fn next(&mut self) -> TrailInput {
        self.seq += 1;
        let event_ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
        let decision = format!(
            concat!(
                r#"{{"strategy_id":"{sid}","symbol":"AAPL","event_ts":"{ts}","timeframe":"1Min","#,
                r#""action":"buy","qty":"1.5","order_type":"market","time_in_force":"day","#,
                r#""params":{{"signal":"macd","threshold":"1.5","i":{i},"client":{c},"run":"{run}"}}}}"#
            ),
            sid = self.strategy_id,
            ts = event_ts,
            i = self.seq,
            c = self.client,
            run = self.run,
        );
        // The client order id is the decision hash, as the trading loop sends it (and as
        // reconciliation finds a decision's order by); the broker id is unique per run, client
        // and sequence number.
        let hash = torghut_hash::decision_hash_from_json(&decision).unwrap_or_default();
        let order = format!(
            concat!(
                r#"{{"id":"bench-{run}-{c}-{i}","client_order_id":"{hash}","symbol":"AAPL","#,
                r#""side":"buy","type":"market","time_in_force":"day","qty":"1.5","filled_qty":"0","#,
                r#""status":"accepted","submitted_at":"{ts}"}}"#
            ),
            run = self.run,
            c = self.client,
            i = self.seq,
            hash = hash,
            ts = event_ts,
        );
        TrailInput {
            strategy_id: self.strategy_id,
            account_label: "paper".into(),
            decision_json_text: decision,
            review: Some(self.review.clone()),
            execution: Some(order),
            status: Some("submitted".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pregenerated_trails_are_bounded() {
        assert_eq!(pregenerated(10, 1), 30_000);
        assert_eq!(pregenerated(10, 16), 5_000);
        assert_eq!(pregenerated(0, 1), 500);
        assert_eq!(pregenerated(u32::MAX, 1), 100_000);
        assert_eq!(pregenerated(1, 10_000), 500);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile_ms(&v, 0.50), 50.0);
        assert_eq!(percentile_ms(&v, 0.99), 99.0);
        assert_eq!(percentile_ms(&[1500], 0.99), 1.5);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn generated_decisions_hash_and_differ() {
        let mut g = TrailGen::new(Uuid::new_v4(), 3);
        let a = g.next();
        let b = g.next();
        let ha = torghut_hash::decision_hash_from_json(&a.decision_json_text).unwrap();
        let hb = torghut_hash::decision_hash_from_json(&b.decision_json_text).unwrap();
        assert_ne!(ha, hb);
        assert!(a.execution.unwrap().contains(&ha));
    }
}
