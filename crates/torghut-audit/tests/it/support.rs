use rust_decimal::Decimal;
use tokio_postgres::Client;
use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
use torghut_store::review::NewReview;
use torghut_store::strategy::{self, NewStrategy};
use torghut_store::trail::{self, TrailInput};
use torghut_store::JsonPolicy;
use torghut_testdb::TestDb;
use uuid::Uuid;

/// The role migrations run as (owns every table); not a superuser.
pub const OWNER: &str = "torghut_owner";
/// A login role that is a member of the runtime role `torghut_runtime`, as the service's is.
pub const RUNTIME: &str = "torghut_app";

/// Runs `sql` ignoring "already exists" (roles are cluster-wide, shared by every test database).
async fn idempotent(admin: &Client, sql: &str) {
    if let Err(e) = admin.batch_execute(sql).await {
        let code = e.code().map(|c| c.code().to_owned()).unwrap_or_default();
        assert!(code == "42710" || code == "23505", "{sql}: {e}");
    }
}

/// A database migrated to the latest revision by the owner role.
pub async fn db() -> TestDb {
    torghut_testdb::from_template("audit_latest", |db| async move {
        let admin = db.connect().await;
        idempotent(&admin, &format!("CREATE ROLE {OWNER} LOGIN CREATEROLE")).await;
        admin
            .batch_execute(&format!("ALTER DATABASE {} OWNER TO {OWNER}", db.name))
            .await
            .unwrap();
        let owner = connect_as(&db, OWNER).await;
        let mut m = Migrator::new(owner, MigrationSet::embedded(), MigrateOptions::default());
        m.up(None).await.expect("migrate up as the owner");
        drop(m.into_client());
        idempotent(&admin, &format!("CREATE ROLE {RUNTIME} LOGIN")).await;
        admin
            .batch_execute(&format!("GRANT torghut_runtime TO {RUNTIME}"))
            .await
            .unwrap();
        drop(admin);
    })
    .await
}

pub async fn connect_as(db: &TestDb, user: &str) -> Client {
    let mut cfg = db.config();
    cfg.user(user);
    torghut_testdb::connect_config(cfg).await
}

pub fn policy() -> JsonPolicy {
    JsonPolicy::default()
}

pub async fn strategy(client: &mut Client) -> Uuid {
    strategy::create(
        client,
        &NewStrategy {
            name: format!("s-{}", Uuid::now_v7()),
            description: None,
            enabled: true,
            base_timeframe: "1Min".into(),
            universe_type: "static".into(),
            universe_symbols: None,
            max_position_pct_equity: None,
            max_notional_per_trade: None,
        },
        &policy(),
    )
    .await
    .expect("create strategy")
    .id
}

pub fn decision(strategy: Uuid, n: u64) -> String {
    format!(
        r#"{{"strategy_id":"{strategy}","symbol":"AAPL","event_ts":"2026-02-10T14:30:00Z","timeframe":"1Min","action":"buy","qty":"1.50","params":{{"i":{n}}}}}"#
    )
}

pub fn review() -> NewReview {
    NewReview {
        model: "gpt-x".into(),
        prompt_version: "v1".into(),
        input_json: r#"{"decision":{"symbol":"AAPL"}}"#.into(),
        response_json: r#"{"verdict":"approve"}"#.into(),
        verdict: "approve".into(),
        confidence: Some(Decimal::new(9, 1)),
        rationale: Some("ok".into()),
        ..NewReview::default()
    }
}

pub fn order(id: &str, client_order_id: &str, filled: &str, status: &str) -> String {
    format!(
        r#"{{"id":"{id}","client_order_id":"{client_order_id}","symbol":"AAPL","side":"buy","type":"market","time_in_force":"day","qty":"1.5","filled_qty":"{filled}","filled_avg_price":"187.25","status":"{status}"}}"#
    )
}

/// One recorded trail: decision (submitted), review, execution with two broker updates.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub decision_id: Uuid,
    pub decision_hash: String,
    pub execution_id: Uuid,
    pub order_id: String,
}

pub async fn seed(client: &mut Client, strategy_id: Uuid, n: u64) -> Seeded {
    let s = record(client, strategy_id, n).await;
    // Two broker updates and two transitions after creation: two events in each stream.
    for filled in ["0.5", "0.75"] {
        torghut_store::execution::upsert(
            client,
            &order(&s.order_id, &s.decision_hash, filled, "partially_filled"),
            &policy(),
        )
        .await
        .expect("upsert");
    }
    for to in ["accepted", "partially_filled"] {
        torghut_store::decision::transition(
            client,
            s.decision_id,
            &torghut_store::decision::Transition::to(to),
            &policy(),
        )
        .await
        .expect("transition");
    }
    s
}

/// One trail recorded and nothing after: a submitted decision (one status event) with a review
/// and a new execution (sealed into its row, no event).
pub async fn record(client: &mut Client, strategy_id: Uuid, n: u64) -> Seeded {
    let order_id = format!("order-{}", Uuid::now_v7());
    let prepared =
        torghut_store::decision::prepare("paper", &decision(strategy_id, n), &policy()).unwrap();
    let ids = trail::record_trail(
        client,
        &TrailInput {
            strategy_id,
            account_label: "paper".into(),
            decision_json_text: decision(strategy_id, n),
            review: Some(review()),
            execution: Some(order(&order_id, &prepared.decision_hash, "0", "new")),
            status: Some("submitted".into()),
        },
        &policy(),
    )
    .await
    .expect("record trail");
    Seeded {
        decision_id: ids.decision_id,
        decision_hash: ids.decision_hash,
        execution_id: ids.execution_id.expect("execution"),
        order_id,
    }
}

/// The SQLSTATE of a failed statement (panics when it succeeded).
pub async fn refused(client: &Client, sql: &str) -> (String, String) {
    match client.batch_execute(sql).await {
        Ok(()) => panic!("{sql}: succeeded, expected a refusal"),
        Err(e) => {
            let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
            (db.code().code().to_owned(), db.message().to_owned())
        }
    }
}

/// Runs `sql` on `admin` (a superuser) in one transaction with every trigger off
/// (`session_replication_role = replica`), as an attacker with database rights could.
pub async fn replica(admin: &Client, sql: &str) {
    admin
        .batch_execute(&format!(
            "BEGIN; SET LOCAL session_replication_role = replica; {sql}; COMMIT"
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
