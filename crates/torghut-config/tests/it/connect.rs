//! `DbConfig::connect` against the fake server, one sslmode at a time.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use torghut_config::{ConnectError, DbConfig};

use crate::fake_server::{serve, Observed, TestPki};

/// Distinctive, so that it cannot appear in an error by accident.
pub const PASSWORD: &str = "Fake-Pw-7QxZ9";

const TIMEOUT: Duration = Duration::from_secs(20);

/// Starts a one-shot fake server; returns its port and the observation.
pub async fn start(tls: Option<&TestPki>) -> (u16, JoinHandle<std::io::Result<Observed>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tls.map(|pki| pki.acceptor.clone());
    let handle = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        serve(stream, acceptor).await
    });
    (port, handle)
}

/// Connects with the given DSN; the fake server always rejects the login.
async fn attempt(dsn: &str) -> ConnectError {
    let cfg = DbConfig::parse(dsn).unwrap();
    match tokio::time::timeout(TIMEOUT, cfg.connect()).await {
        Err(_) => panic!("connect timed out for {cfg}"),
        Ok(Ok(_)) => panic!("the fake server never accepts a login"),
        Ok(Err(e)) => {
            let text = e.to_string();
            assert!(!text.contains(PASSWORD), "error shows the password: {text}");
            assert!(
                !format!("{e:?}").contains(PASSWORD),
                "debug shows the password"
            );
            e
        }
    }
}

async fn observed(handle: JoinHandle<std::io::Result<Observed>>) -> std::io::Result<Observed> {
    tokio::time::timeout(TIMEOUT, handle)
        .await
        .expect("server finished")
        .expect("server task did not panic")
}

/// The login reached the server and was rejected there (so any TLS
/// handshake succeeded).
fn assert_rejected_by_server(err: &ConnectError) {
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("expected a server error, got: {err}"));
    assert_eq!(db.code().code(), "28P01");
}

/// The connection failed before reaching the server's login step.
fn assert_failed_before_login(err: &ConnectError) {
    assert!(
        err.as_db_error().is_none(),
        "unexpected server error: {err}"
    );
    assert!(err.postgres_error().is_some(), "{err}");
}

fn ca_file(pki: &TestPki) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &pki.ca_pem).unwrap();
    file
}

fn dsn(host: &str, port: u16, params: &str) -> String {
    format!("postgresql://app:{PASSWORD}@{host}:{port}/app?{params}")
}

#[tokio::test]
async fn error_names_the_redacted_target_and_the_server_message() {
    let (port, server) = start(None).await;
    let err = attempt(&dsn("127.0.0.1", port, "sslmode=disable")).await;
    assert_rejected_by_server(&err);
    assert_eq!(
        err.to_string(),
        format!(
            "cannot connect to postgresql://app:***@127.0.0.1:{port}/app?sslmode=disable: \
             db error: FATAL: password authentication failed for user \"app\""
        )
    );
    let seen = observed(server).await.unwrap();
    assert!(!seen.ssl_request);
    assert_eq!(seen.user.as_deref(), Some("app"));
    assert_eq!(seen.database.as_deref(), Some("app"));
    assert_eq!(seen.password.as_deref(), Some(PASSWORD));
}

#[tokio::test]
async fn refused_connection_error_hides_the_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = attempt(&dsn("127.0.0.1", port, "connect_timeout=5")).await;
    assert_failed_before_login(&err);
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot connect to postgresql://app:***@127.0.0.1:{port}/app"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn prefer_falls_back_to_plain_text_when_tls_is_declined() {
    let (port, server) = start(None).await;
    let err = attempt(&dsn("127.0.0.1", port, "")).await;
    assert_rejected_by_server(&err);
    let seen = observed(server).await.unwrap();
    assert!(seen.ssl_request);
    assert!(!seen.tls);
    assert_eq!(seen.password.as_deref(), Some(PASSWORD));
}

#[tokio::test]
async fn prefer_uses_tls_without_checking_the_certificate() {
    let pki = TestPki::new();
    let (port, server) = start(Some(&pki)).await;
    let err = attempt(&dsn("127.0.0.1", port, "sslmode=prefer")).await;
    assert_rejected_by_server(&err);
    assert!(observed(server).await.unwrap().tls);
}

#[tokio::test]
async fn require_fails_when_tls_is_declined() {
    let (port, _server) = start(None).await;
    let err = attempt(&dsn("127.0.0.1", port, "sslmode=require")).await;
    assert_failed_before_login(&err);
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test]
async fn require_accepts_an_untrusted_certificate() {
    let pki = TestPki::new();
    let (port, server) = start(Some(&pki)).await;
    let err = attempt(&dsn("127.0.0.1", port, "sslmode=require")).await;
    assert_rejected_by_server(&err);
    let seen = observed(server).await.unwrap();
    assert!(seen.tls);
    assert_eq!(seen.password.as_deref(), Some(PASSWORD));
}

#[tokio::test]
async fn require_with_sslrootcert_checks_the_chain() {
    let pki = TestPki::new();
    let other = TestPki::new();

    let good = ca_file(&pki);
    let (port, _server) = start(Some(&pki)).await;
    let params = format!("sslmode=require&sslrootcert={}", good.path().display());
    // Host name mismatch (the certificate is for localhost) is fine.
    assert_rejected_by_server(&attempt(&dsn("127.0.0.1", port, &params)).await);

    let wrong = ca_file(&other);
    let (port, _server) = start(Some(&pki)).await;
    let params = format!("sslmode=require&sslrootcert={}", wrong.path().display());
    let err = attempt(&dsn("127.0.0.1", port, &params)).await;
    assert_failed_before_login(&err);
}

#[tokio::test]
async fn verify_ca_checks_the_chain_but_not_the_host_name() {
    let pki = TestPki::new();
    let ca = ca_file(&pki);
    let params = format!("sslmode=verify-ca&sslrootcert={}", ca.path().display());

    let (port, server) = start(Some(&pki)).await;
    assert_rejected_by_server(&attempt(&dsn("127.0.0.1", port, &params)).await);
    assert!(observed(server).await.unwrap().tls);

    let other = TestPki::new();
    let wrong = ca_file(&other);
    let params = format!("sslmode=verify-ca&sslrootcert={}", wrong.path().display());
    let (port, _server) = start(Some(&pki)).await;
    let err = attempt(&dsn("127.0.0.1", port, &params)).await;
    assert_failed_before_login(&err);
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn verify_ca_without_sslrootcert_uses_system_roots() {
    let pki = TestPki::new();
    let (port, _server) = start(Some(&pki)).await;
    let err = attempt(&dsn("127.0.0.1", port, "sslmode=verify-ca")).await;
    assert_failed_before_login(&err);
}

#[tokio::test]
async fn verify_full_checks_the_host_name() {
    let pki = TestPki::new();
    let ca = ca_file(&pki);
    let params = format!("sslmode=verify-full&sslrootcert={}", ca.path().display());

    let (port, server) = start(Some(&pki)).await;
    assert_rejected_by_server(&attempt(&dsn("localhost", port, &params)).await);
    assert!(observed(server).await.unwrap().tls);

    let (port, _server) = start(Some(&pki)).await;
    let err = attempt(&dsn("127.0.0.1", port, &params)).await;
    assert_failed_before_login(&err);
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn verify_full_with_system_roots_rejects_a_private_ca() {
    let pki = TestPki::new();
    let (port, _server) = start(Some(&pki)).await;
    let err = attempt(&dsn("localhost", port, "sslrootcert=system")).await;
    assert_failed_before_login(&err);
}

#[tokio::test]
async fn missing_sslrootcert_file_is_reported_before_connecting() {
    let cfg = DbConfig::parse(&dsn(
        "127.0.0.1",
        1,
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    ))
    .unwrap();
    let err = cfg.connect().await.unwrap_err();
    assert!(matches!(err, ConnectError::RootCertRead { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    assert!(!err.to_string().contains(PASSWORD));
}

#[cfg(unix)]
#[tokio::test]
async fn unix_sockets_never_use_tls() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::UnixListener::bind(dir.path().join(".s.PGSQL.5432")).unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        serve(stream, None).await
    });
    let dsn = format!(
        "host={} user=app password={PASSWORD} sslmode=verify-full",
        dir.path().display()
    );
    assert_rejected_by_server(&attempt(&dsn).await);
    let seen = observed(server).await.unwrap();
    assert!(!seen.ssl_request);
    assert_eq!(seen.password.as_deref(), Some(PASSWORD));
}

#[tokio::test]
async fn with_user_and_with_dbname_reach_the_server() {
    let (port, server) = start(None).await;
    let cfg = DbConfig::parse(&dsn("127.0.0.1", port, "sslmode=disable")).unwrap();
    let other = cfg
        .with_dbname("app_clone_1")
        .with_user("reader", Some("Reader-Pw-31".into()));
    let err = tokio::time::timeout(TIMEOUT, other.connect())
        .await
        .unwrap()
        .unwrap_err();
    assert_rejected_by_server(&err);
    assert!(!err.to_string().contains("Reader-Pw-31"));
    let seen = observed(server).await.unwrap();
    assert_eq!(seen.user.as_deref(), Some("reader"));
    assert_eq!(seen.database.as_deref(), Some("app_clone_1"));
    assert_eq!(seen.password.as_deref(), Some("Reader-Pw-31"));
}
