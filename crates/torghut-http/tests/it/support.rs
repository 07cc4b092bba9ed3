use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use torghut_config::DbConfig;
use torghut_http::{AppState, ServiceConfig};
use torghut_migrate::MigrationSet;
use torghut_testdb::TestDb;
use tower::ServiceExt;

/// A database migrated to the latest revision.
pub async fn db() -> TestDb {
    torghut_migrate::testing::migrated_db("http_latest").await
}

pub fn config() -> ServiceConfig {
    ServiceConfig {
        pool_size: 4,
        pool_wait: Duration::from_millis(1500),
        max_body_bytes: 64 * 1024,
        readiness_interval: Duration::from_millis(200),
        ..ServiceConfig::default()
    }
}

/// The service's state and router on `db`, readiness checked once.
pub async fn app_on(dsn: &str, cfg: ServiceConfig) -> (Arc<AppState>, Router) {
    let db = DbConfig::parse(dsn).expect("valid DSN");
    let state = AppState::new(&db, MigrationSet::embedded(), cfg).expect("state");
    state.check_readiness().await;
    let router = torghut_http::router(state.clone());
    (state, router)
}

pub async fn app(db: &TestDb) -> (Arc<AppState>, Router) {
    app_on(&db.dsn(), config()).await
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a problem response with this status and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text
        );
        let v = self.json();
        assert_eq!(v["status"], status);
        assert!(v["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:torghut:problem:"));
        assert!(v["title"].is_string() && v["detail"].is_string(), "{v}");
        v
    }
}

pub async fn send(router: &Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(router: &Router, path: &str) -> Answer {
    send(
        router,
        Request::builder().uri(path).body(Body::empty()).unwrap(),
    )
    .await
}

pub async fn call(router: &Router, method: Method, path: &str, body: impl Into<Vec<u8>>) -> Answer {
    send(
        router,
        Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.into()))
            .unwrap(),
    )
    .await
}

pub async fn post(router: &Router, path: &str, body: &str) -> Answer {
    call(router, Method::POST, path, body.to_owned()).await
}

pub async fn strategy(router: &Router) -> String {
    let a = post(
        router,
        "/v1/strategies",
        r#"{"name":"macd","base_timeframe":"1Min","universe_type":"static","universe_symbols":["AAPL","MSFT"],"max_position_pct_equity":"0.10","max_notional_per_trade":1000.5}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.json()["id"].as_str().unwrap().to_owned()
}

/// A decision (without the account) of `strategy`, unique by `n`.
pub fn decision_text(strategy: &str, n: u64, symbol: &str) -> String {
    format!(
        r#"{{"strategy_id":"{strategy}","symbol":"{symbol}","event_ts":"2026-02-10T14:30:00.25+05:30","timeframe":"1Min","action":"buy","qty":"1.50","limit_price":187.5,"rationale":"macd cross","params":{{"signal":"macd","i":{n},"big":123456789012345678901234567890,"f":1.10}}}}"#
    )
}

/// The body of `POST /v1/decisions`: the decision plus `account_label`.
pub fn decision(strategy: &str, n: u64, symbol: &str) -> String {
    let d = decision_text(strategy, n, symbol);
    format!(r#"{{"account_label":"paper",{}"#, &d[1..])
}

/// The last migration of this binary.
pub fn latest_revision() -> String {
    MigrationSet::embedded().all().last().unwrap().id.clone()
}
