//! Prometheus metrics in the text exposition format (version 0.0.4), kept by hand: a few
//! counters and one histogram family do not need a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::state::AppState;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
    writes: BTreeMap<&'static str, u64>,
    refusals: BTreeMap<String, u64>,
    panics: u64,
}

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        match self.inner.lock() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Counts a request and its latency.
    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        self.with(|m| {
            *m.requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
            let h = m
                .latency
                .entry((method.to_owned(), route.to_owned()))
                .or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        });
    }

    /// Counts a committed write to `table`.
    pub fn write(&self, table: &'static str) {
        self.with(|m| *m.writes.entry(table).or_default() += 1);
    }

    /// Counts a handler that panicked (answered 500 by the last-resort layer).
    pub fn panic(&self) {
        self.with(|m| m.panics += 1);
    }

    /// Counts a payload refused by the JSON boundary.
    pub fn refusal(&self, reason: &str) {
        self.with(|m| *m.refusals.entry(reason.to_owned()).or_default() += 1);
    }

    /// The exposition text, with the pool and readiness gauges of `state`.
    pub fn render(&self, state: &AppState) -> String {
        let mut out = String::with_capacity(4096);
        self.with(|m| {
            out.push_str("# HELP torghut_http_requests_total HTTP requests answered, by method, route and status.\n");
            out.push_str("# TYPE torghut_http_requests_total counter\n");
            for ((method, route, status), n) in &m.requests {
                let _ = writeln!(
                    out,
                    "torghut_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    esc(method),
                    esc(route)
                );
            }
            out.push_str("# HELP torghut_http_request_duration_seconds Time to answer a request, by method and route.\n");
            out.push_str("# TYPE torghut_http_request_duration_seconds histogram\n");
            for ((method, route), h) in &m.latency {
                let labels = format!("method=\"{}\",route=\"{}\"", esc(method), esc(route));
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "torghut_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "torghut_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(out, "torghut_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
                let _ = writeln!(out, "torghut_http_request_duration_seconds_count{{{labels}}} {}", h.count);
            }
            out.push_str("# HELP torghut_store_writes_total Committed writes, by table.\n");
            out.push_str("# TYPE torghut_store_writes_total counter\n");
            for (table, n) in &m.writes {
                let _ = writeln!(out, "torghut_store_writes_total{{table=\"{table}\"}} {n}");
            }
            out.push_str("# HELP torghut_http_panics_total Requests whose handler panicked (answered 500).\n");
            out.push_str("# TYPE torghut_http_panics_total counter\n");
            let _ = writeln!(out, "torghut_http_panics_total {}", m.panics);
            out.push_str("# HELP torghut_json_refusals_total Payloads refused by the JSON boundary, by reason.\n");
            out.push_str("# TYPE torghut_json_refusals_total counter\n");
            for (reason, n) in &m.refusals {
                let _ = writeln!(out, "torghut_json_refusals_total{{reason=\"{}\"}} {n}", esc(reason));
            }
        });
        let status = state.pool().status();
        out.push_str("# HELP torghut_db_pool_max Largest number of pooled connections.\n");
        out.push_str("# TYPE torghut_db_pool_max gauge\n");
        let _ = writeln!(out, "torghut_db_pool_max {}", status.max_size);
        out.push_str("# HELP torghut_db_pool_connections Open pooled connections.\n");
        out.push_str("# TYPE torghut_db_pool_connections gauge\n");
        let _ = writeln!(out, "torghut_db_pool_connections {}", status.size);
        out.push_str("# HELP torghut_db_pool_in_use Pooled connections serving a request.\n");
        out.push_str("# TYPE torghut_db_pool_in_use gauge\n");
        let _ = writeln!(
            out,
            "torghut_db_pool_in_use {}",
            status.size.saturating_sub(status.available)
        );
        out.push_str("# HELP torghut_db_pool_waiting Requests waiting for a connection.\n");
        out.push_str("# TYPE torghut_db_pool_waiting gauge\n");
        let _ = writeln!(out, "torghut_db_pool_waiting {}", status.waiting);
        let r = state.readiness();
        out.push_str("# HELP torghut_schema_revision The database's schema revision (value 1), and the one this binary expects.\n");
        out.push_str("# TYPE torghut_schema_revision gauge\n");
        let _ = writeln!(
            out,
            "torghut_schema_revision{{revision=\"{}\",expected=\"{}\"}} 1",
            esc(r.revision.as_deref().unwrap_or("")),
            esc(r.expected.as_deref().unwrap_or(""))
        );
        out.push_str("# HELP torghut_ready Whether the service is ready (schema at the expected revision, database reachable).\n");
        out.push_str("# TYPE torghut_ready gauge\n");
        let _ = writeln!(out, "torghut_ready {}", u8::from(r.ready));
        out
    }
}

/// Escapes a label value.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
