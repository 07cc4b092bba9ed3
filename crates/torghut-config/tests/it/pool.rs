//! `DbConfig::pool` against the fake server.

use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use torghut_config::{DbConfig, PoolOptions};

use crate::connect::{start, PASSWORD};
use crate::fake_server::TestPki;

#[tokio::test]
async fn pool_connections_use_the_tls_settings() {
    let pki = TestPki::new();
    let (port, server) = start(Some(&pki)).await;
    let cfg = DbConfig::parse(&format!(
        "postgresql://app:{PASSWORD}@127.0.0.1:{port}/app?sslmode=require"
    ))
    .unwrap();
    let pool = cfg
        .pool(PoolOptions {
            max_size: 2,
            ..PoolOptions::default()
        })
        .unwrap();
    assert_eq!(pool.status().max_size, 2);
    let err = pool.get().await.unwrap_err();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    let seen = server.await.unwrap().unwrap();
    assert!(seen.tls);
    assert_eq!(seen.password.as_deref(), Some(PASSWORD));
}

#[tokio::test]
async fn pool_create_timeout_applies() {
    // A server that accepts and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    });
    let cfg = DbConfig::parse(&format!(
        "host=127.0.0.1 port={port} user=app password={PASSWORD} sslmode=disable"
    ))
    .unwrap();
    let pool = cfg
        .pool(PoolOptions {
            max_size: 1,
            create_timeout: Some(Duration::from_millis(300)),
            ..PoolOptions::default()
        })
        .unwrap();
    let started = Instant::now();
    let err = pool.get().await.unwrap_err();
    assert!(
        matches!(
            err,
            deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Create)
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    silent.abort();
}

#[tokio::test]
async fn pool_reports_unreadable_root_certificates() {
    let cfg =
        DbConfig::parse("host=h user=u sslmode=verify-ca sslrootcert=/nonexistent.pem").unwrap();
    let err = cfg.pool(PoolOptions::default()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent.pem"), "{err}");
}
