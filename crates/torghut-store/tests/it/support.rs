use tokio_postgres::Client;

use torghut_store::decision::{self, EnsuredDecision};
use torghut_store::review::NewReview;
use torghut_store::strategy::{self, NewStrategy};
use torghut_store::JsonPolicy;
use torghut_testdb::TestDb;
use uuid::Uuid;

/// A database migrated to the latest revision.
pub async fn db() -> TestDb {
    torghut_migrate::testing::migrated_db("store_latest").await
}

pub fn policy() -> JsonPolicy {
    JsonPolicy::default()
}

pub async fn strategy(client: &mut Client) -> Uuid {
    strategy::create(
        client,
        &NewStrategy {
            name: "macd".into(),
            description: None,
            enabled: true,
            base_timeframe: "1Min".into(),
            universe_type: "static".into(),
            universe_symbols: Some(r#"["AAPL","MSFT"]"#.into()),
            max_position_pct_equity: None,
            max_notional_per_trade: None,
        },
        &policy(),
    )
    .await
    .expect("create strategy")
    .id
}

/// A decision of `strategy`, made unique by `n`.
pub fn decision(strategy: Uuid, n: u64) -> String {
    format!(
        r#"{{"strategy_id":"{strategy}","symbol":"AAPL","event_ts":"2026-02-10T14:30:00.25+05:30","timeframe":"1Min","action":"buy","qty":"1.50","limit_price":187.5,"rationale":"macd cross","params":{{"signal":"macd","threshold":1.5,"i":{n},"big":123456789012345678901234567890}},"source":"test"}}"#
    )
}

pub fn review() -> NewReview {
    NewReview {
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
    }
}

pub fn order(
    id: Option<&str>,
    client_order_id: Option<&str>,
    filled: &str,
    status: &str,
) -> String {
    let mut members = vec![];
    if let Some(id) = id {
        members.push(format!(r#""id":"{id}""#));
    }
    if let Some(c) = client_order_id {
        members.push(format!(r#""client_order_id":"{c}""#));
    }
    members.push(format!(
        r#""symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1.5","filled_qty":{filled},"filled_avg_price":"187.25","status":"{status}""#
    ));
    format!("{{{}}}", members.join(","))
}

pub async fn count(client: &Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

/// A fresh database with one strategy and one decision of it (`decision(strategy, 1)`, account
/// `paper`), on a connection of its own.
pub struct WithDecision {
    pub db: TestDb,
    pub c: Client,
    pub sid: Uuid,
    pub p: JsonPolicy,
    pub d: EnsuredDecision,
}

pub async fn with_decision() -> WithDecision {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let p = policy();
    let d = decision::ensure(&mut c, "paper", &decision(sid, 1), &p)
        .await
        .unwrap();
    WithDecision { db, c, sid, p, d }
}
