//! The database stops and starts again: requests get 503 with Retry-After meanwhile, and the
//! service recovers without a restart; nothing acknowledged is lost or duplicated.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use torghut_localpg::{ClusterOptions, LocalPg};
use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};

use crate::support::*;

async fn start(opts: ClusterOptions) -> LocalPg {
    tokio::task::spawn_blocking(move || LocalPg::start(opts))
        .await
        .unwrap()
        .expect("start the local server")
}

#[tokio::test]
async fn the_service_recovers_after_postgres_restarts() {
    let mut opts = ClusterOptions::temporary().unwrap();
    opts.remove_on_stop = false;
    let pg = start(opts.clone()).await;
    let dsn = pg.socket_dsn("postgres");
    let client = torghut_testdb::connect_config(dsn.parse().unwrap()).await;
    let mut m = Migrator::new(client, MigrationSet::embedded(), MigrateOptions::default());
    m.up(None).await.unwrap();
    drop(m);

    let mut cfg = config();
    cfg.pool_wait = Duration::from_millis(700);
    let (state, app) = app_on(&dsn, cfg).await;
    let sid = strategy(&app).await;
    let first = post(&app, "/v1/decisions", &decision(&sid, 1, "AAPL")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let first_id = first.json()["id"].clone();

    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap();

    // Down: fast 503s with Retry-After, for reads and writes.
    for path in ["/trading/decisions", "/v1/strategies"] {
        let t = Instant::now();
        let a = get(&app, path).await;
        a.problem(503);
        assert_eq!(a.headers["retry-after"], "1");
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }
    let t = Instant::now();
    post(&app, "/v1/decisions", &decision(&sid, 2, "AAPL"))
        .await
        .problem(503);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(!state.check_readiness().await.ready);
    assert_eq!(
        get(&app, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Up again on the same data directory: the same service answers, without a restart.
    opts.remove_on_stop = true;
    let pg = start(opts).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let second = loop {
        let a = post(&app, "/v1/decisions", &decision(&sid, 2, "AAPL")).await;
        if a.status.is_success() {
            break a;
        }
        a.problem(503);
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    // The decision acknowledged before the outage is there, once; re-posting it finds it.
    let again = post(&app, "/v1/decisions", &decision(&sid, 1, "AAPL")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], first_id);
    let list = get(&app, "/trading/decisions").await.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(state.check_readiness().await.ready);
    state.pool().close();
    drop(pg);
}
