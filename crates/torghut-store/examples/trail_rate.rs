//! Rough write rates of `record_trail` and `bulk::backfill`, to set beside the yardsticks in
//! `shared/bench` (pgbench running `trail.pgbench.sql`, psql `\copy`) on the same server.
//!
//! Usage:
//!   trail_rate DSN trail CLIENTS SECONDS [STATUS]   trails/s of record_trail
//!   trail_rate DSN bulk N [BATCH]                   trails/s of bulk::backfill
//!
//! The database must be migrated and hold at least one strategy.

use std::time::{Duration, Instant};

use tokio_postgres::NoTls;
use torghut_store::bulk::backfill;
use torghut_store::review::NewReview;
use torghut_store::trail::{record_trail, TrailInput, TrailStatements};
use torghut_store::JsonPolicy;
use uuid::Uuid;

fn trail(sid: Uuid, run: &str, n: u64, status: Option<&str>) -> TrailInput {
    let decision = format!(
        r#"{{"strategy_id":"{sid}","symbol":"AAPL","event_ts":"2026-02-10T00:00:00+00:00","timeframe":"1Min","action":"buy","qty":"1.5","order_type":"market","time_in_force":"day","rationale":"bench","params":{{"signal":"macd","threshold":"1.5","i":{n},"run":"{run}"}}}}"#
    );
    let order = format!(
        r#"{{"id":"{run}-{n}","client_order_id":"c-{run}-{n}","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1.5","filled_qty":"0","status":"accepted"}}"#
    );
    TrailInput {
        strategy_id: sid,
        account_label: "paper".into(),
        decision_json_text: decision,
        review: Some(NewReview {
            model: "gpt-x".into(),
            prompt_version: "v1".into(),
            input_json: r#"{"decision":{"symbol":"AAPL"}}"#.into(),
            response_json: r#"{"verdict":"approve"}"#.into(),
            verdict: "approve".into(),
            confidence: Some("0.9".parse().unwrap()),
            rationale: Some("ok".into()),
            risk_flags: Some(r#"["none"]"#.into()),
            tokens_prompt: Some(100),
            tokens_completion: Some(20),
            ..NewReview::default()
        }),
        execution: Some(order),
        status: status.map(str::to_owned),
    }
}

async fn connect(dsn: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(dsn, NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dsn = args[1].clone();
    let c = connect(&dsn).await;
    let sid: Uuid = c
        .query_one("SELECT id FROM strategies LIMIT 1", &[])
        .await
        .expect("a strategy")
        .get(0);
    let run = Uuid::now_v7().simple().to_string()[20..].to_owned();
    match args[2].as_str() {
        "trail" => {
            let clients: u64 = args[3].parse().unwrap();
            let secs: u64 = args[4].parse().unwrap();
            let status = args.get(5).cloned();
            let deadline = Instant::now() + Duration::from_secs(secs);
            let mut tasks = Vec::new();
            for t in 0..clients {
                let (dsn, run, status) = (dsn.clone(), format!("{run}-{t}"), status.clone());
                tasks.push(tokio::spawn(async move {
                    let mut c = connect(&dsn).await;
                    let stmts = TrailStatements::prepare(&c).await.unwrap();
                    let policy = JsonPolicy::default();
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let input = trail(sid, &run, n, status.as_deref());
                        record_trail(&mut c, &stmts, &input, &policy).await.unwrap();
                        n += 1;
                    }
                    n
                }));
            }
            let start = Instant::now();
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap();
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "record_trail clients={clients} trails={total} secs={secs:.2} trails_per_s={:.0}",
                total as f64 / secs
            );
        }
        "bulk" => {
            let n: u64 = args[3].parse().unwrap();
            let batch: usize = args.get(4).map_or(10_000, |b| b.parse().unwrap());
            let status = args.get(5).cloned();
            let inputs: Vec<TrailInput> = (0..n)
                .map(|i| trail(sid, &run, i, status.as_deref()))
                .collect();
            let mut c = c;
            let policy = JsonPolicy::default();
            let start = Instant::now();
            for chunk in inputs.chunks(batch) {
                backfill(&mut c, chunk, &policy).await.unwrap();
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "backfill trails={n} batch={batch} secs={secs:.3} trails_per_s={:.0}",
                n as f64 / secs
            );
        }
        "prep" => {
            let policy = JsonPolicy::default();
            let input = trail(sid, &run, 1, Some("submitted"));
            let n = 20_000;
            let start = Instant::now();
            for _ in 0..n {
                torghut_hash::canonical_text(&input.decision_json_text).unwrap();
            }
            println!("canonical_text {:?}", start.elapsed() / n);
            let start = Instant::now();
            for _ in 0..n {
                torghut_store::AuditJson::from_text(&input.decision_json_text, &policy).unwrap();
            }
            println!("AuditJson::from_text(decision) {:?}", start.elapsed() / n);
            let start = Instant::now();
            for _ in 0..n {
                torghut_store::decision::prepare("paper", &input.decision_json_text, &policy)
                    .unwrap();
            }
            println!("decision::prepare {:?}", start.elapsed() / n);
            let start = Instant::now();
            for _ in 0..n {
                torghut_store::execution::parse_order(input.execution.as_deref().unwrap(), &policy)
                    .unwrap();
            }
            println!("execution::parse_order {:?}", start.elapsed() / n);
        }
        other => panic!("unknown mode {other}"),
    }
}
