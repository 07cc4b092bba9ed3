//! Test databases on a real PostgreSQL.
//!
//! Each test process starts one temporary local server ([`torghut_localpg`]) on first use; it stops
//! and its directory is removed when the process exits. Each test gets a database of its own:
//! empty ([`empty_db`]) or cloned from a template that is built once per process ([`from_template`],
//! e.g. a database migrated to the latest revision).

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};
use torghut_localpg::{ClusterOptions, LocalPg};

static CLUSTER: OnceLock<LocalPg> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);
static TEMPLATES: tokio::sync::Mutex<Option<HashSet<String>>> = tokio::sync::Mutex::const_new(None);

/// The process's server, started on first use (with a loopback TCP port, for tests that need one).
pub fn cluster() -> &'static LocalPg {
    CLUSTER.get_or_init(|| {
        let mut opts =
            ClusterOptions::temporary().expect("temporary directory for the test server");
        opts.tcp_port = Some(0);
        LocalPg::start(opts)
            .unwrap_or_else(|e| panic!("cannot start the test PostgreSQL server: {e}"))
    })
}

/// A database for one test.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// Database name.
    pub name: String,
}

impl TestDb {
    /// libpq key=value DSN over the Unix socket, as the superuser.
    pub fn dsn(&self) -> String {
        cluster().socket_dsn(&self.name)
    }

    /// `postgresql://` URL over loopback TCP with the superuser password (a secret: tests that check
    /// redaction use it).
    pub fn url(&self) -> String {
        cluster()
            .tcp_url(&self.name)
            .expect("the test server listens on TCP")
    }

    /// tokio-postgres configuration for this database.
    pub fn config(&self) -> Config {
        self.dsn().parse().expect("valid test DSN")
    }

    /// A new connection (its task runs on the current runtime).
    pub async fn connect(&self) -> Client {
        connect_config(self.config()).await
    }
}

/// Connects with `config`, spawning the connection task.
pub async fn connect_config(config: Config) -> Client {
    let (client, conn) = config
        .connect(NoTls)
        .await
        .expect("connect to the test server");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

async fn admin() -> Client {
    let mut cfg: Config = cluster().socket_dsn("postgres").parse().expect("valid DSN");
    cfg.application_name("torghut-testdb");
    connect_config(cfg).await
}

fn next_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new empty database.
pub async fn empty_db() -> TestDb {
    let name = next_name("t");
    admin()
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    TestDb { name }
}

/// A new database cloned from the template `key`, which `init` builds once per process (given a
/// connection to the template database, which it must drop before returning).
pub async fn from_template<F, Fut>(key: &str, init: F) -> TestDb
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let template = format!("tpl_{key}");
    {
        let mut guard = TEMPLATES.lock().await;
        let set = guard.get_or_insert_with(HashSet::new);
        if !set.contains(&template) {
            admin()
                .await
                .batch_execute(&format!("CREATE DATABASE {template}"))
                .await
                .expect("create template database");
            init(TestDb {
                name: template.clone(),
            })
            .await;
            set.insert(template.clone());
        }
    }
    let name = next_name("t");
    let admin = admin().await;
    let mut attempts = 0;
    loop {
        match admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
        {
            Ok(()) => break,
            // The template's last connection may still be closing.
            Err(e)
                if e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE)
                    && attempts < 100 =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("clone template {template}: {e}"),
        }
    }
    TestDb { name }
}
