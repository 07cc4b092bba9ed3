//! The service's shared state: the pool, the readiness report and the metrics.

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use serde::Serialize;
use torghut_config::deadpool_postgres::{Object, Pool, PoolError};
use torghut_config::{DbConfig, PoolOptions};
use torghut_json::JsonPolicy;
use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
use utoipa::ToSchema;

use crate::metrics::Metrics;
use crate::problem::Problem;

/// Settings of the service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Largest number of database connections.
    pub pool_size: usize,
    /// How long a request waits for a connection (and a new connection may take) before it
    /// is answered 503.
    pub pool_wait: Duration,
    /// Largest request body, in bytes (413 above; at once when `Content-Length` says so).
    pub max_body_bytes: usize,
    /// How long reading a request body may take (408 after).
    pub body_timeout: Duration,
    /// How often the schema is checked for readiness.
    pub readiness_interval: Duration,
    /// The JSON boundary policy for stored payloads.
    pub json_policy: JsonPolicy,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            pool_size: 16,
            pool_wait: Duration::from_secs(2),
            max_body_bytes: 1024 * 1024,
            body_timeout: Duration::from_secs(10),
            readiness_interval: Duration::from_secs(5),
            json_policy: JsonPolicy::default(),
        }
    }
}

/// Why the service could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The pool could not be built (TLS settings).
    #[error(transparent)]
    Pool(#[from] torghut_config::ConnectError),
}

/// What `/readyz` answers.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct ReadinessReport {
    /// Whether the service is ready for traffic.
    pub ready: bool,
    /// Why not, when not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The database's schema revision (last applied migration).
    pub revision: Option<String>,
    /// The revision this binary expects.
    pub expected: Option<String>,
    /// Migrations not applied yet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
    /// Migrations left dirty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dirty: Vec<String>,
    /// Applied migrations whose checksum differs from this binary's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checksum_mismatches: Vec<String>,
    /// Applied migrations this binary does not know.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_applied: Vec<String>,
    /// Whether the database answers and its schema does not serve, or its history cannot be
    /// read (as opposed to an unreachable database): API requests are answered 503.
    #[serde(skip)]
    #[schema(ignore)]
    pub schema_mismatch: bool,
}

impl ReadinessReport {
    fn not_ready(reason: &str, expected: Option<String>) -> Self {
        Self {
            ready: false,
            reason: Some(reason.to_owned()),
            revision: None,
            expected,
            pending: Vec::new(),
            dirty: Vec::new(),
            checksum_mismatches: Vec::new(),
            unknown_applied: Vec::new(),
            schema_mismatch: false,
        }
    }
}

/// Shared by every request.
pub struct AppState {
    pub(crate) pool: Pool,
    pub(crate) db: DbConfig,
    pub(crate) set: MigrationSet,
    pub(crate) config: ServiceConfig,
    pub(crate) readiness: RwLock<ReadinessReport>,
    pub(crate) metrics: Metrics,
    pub(crate) openapi_json: OnceLock<String>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db.redacted())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state (no connection is opened yet).
    pub fn new(
        db: &DbConfig,
        set: MigrationSet,
        config: ServiceConfig,
    ) -> Result<Arc<Self>, ServiceError> {
        let db = db.with_application_name("torghut-serve");
        let pool = db.pool(PoolOptions {
            max_size: config.pool_size.max(1),
            wait_timeout: Some(config.pool_wait),
            create_timeout: Some(config.pool_wait),
            recycle_timeout: Some(config.pool_wait),
            verify_on_recycle: false,
        })?;
        let expected = set.all().last().map(|m| m.id.clone());
        Ok(Arc::new(Self {
            pool,
            db,
            set,
            config,
            readiness: RwLock::new(ReadinessReport::not_ready(
                "starting: the schema has not been checked yet",
                expected,
            )),
            metrics: Metrics::default(),
            openapi_json: OnceLock::new(),
        }))
    }

    /// The pool (for shutdown: `close()`).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The last readiness report.
    pub fn readiness(&self) -> ReadinessReport {
        self.readiness
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn set_readiness(&self, r: ReadinessReport) {
        match self.readiness.write() {
            Ok(mut g) => *g = r,
            Err(p) => *p.into_inner() = r,
        }
    }

    /// Marks the service as shutting down (readiness 503 from now on).
    pub fn mark_shutting_down(&self) {
        let mut r = self.readiness();
        r.ready = false;
        r.reason = Some("shutting down".into());
        self.set_readiness(r);
    }

    /// Checks the schema now (one short connection) and stores the report.
    pub async fn check_readiness(&self) -> ReadinessReport {
        let report = self.read_schema().await;
        if report.ready != self.readiness().ready {
            tracing::info!(ready = report.ready, reason = ?report.reason, "readiness changed");
        }
        self.set_readiness(report.clone());
        report
    }

    async fn read_schema(&self) -> ReadinessReport {
        let expected = self.set.all().last().map(|m| m.id.clone());
        let db = self.db.with_application_name("torghut-readyz");
        let connect = tokio::time::timeout(self.config.pool_wait, db.connect()).await;
        let client = match connect {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "readiness: cannot connect");
                return ReadinessReport::not_ready("database unavailable", expected);
            }
            Err(_) => {
                return ReadinessReport::not_ready("database unavailable (timeout)", expected)
            }
        };
        let m = Migrator::new(client, self.set.clone(), MigrateOptions::default());
        let status = tokio::time::timeout(self.config.pool_wait * 2, m.status()).await;
        match status {
            Ok(Ok(st)) => {
                let mut ready = schema_serves(&st);
                let mut reason = (!ready).then(|| not_ready_reason(&st));
                if ready {
                    // A disabled audit trigger: writes would go unaudited.
                    match m.audit_triggers_not_enabled().await {
                        Ok(off) if off.is_empty() => {}
                        Ok(off) => {
                            ready = false;
                            let list: Vec<String> = off
                                .iter()
                                .map(|t| format!("{} on {} is {}", t.trigger, t.table, t.state))
                                .collect();
                            tracing::warn!(triggers = %list.join(", "), "audit trigger not enabled");
                            reason = Some(format!(
                                "audit trigger not enabled, writes would go unaudited: {}",
                                list.join(", ")
                            ));
                        }
                        Err(e) => {
                            ready = false;
                            reason = Some(format!("cannot read the audit triggers: {e}"));
                        }
                    }
                }
                ReadinessReport {
                    ready,
                    reason,
                    revision: st.current,
                    expected: st.expected,
                    pending: st.pending,
                    dirty: st.dirty,
                    checksum_mismatches: st.checksum_mismatches.into_iter().map(|m| m.id).collect(),
                    unknown_applied: st.unknown_applied,
                    schema_mismatch: !ready,
                }
            }
            Ok(Err(e)) => {
                // The database answers but its schema history cannot be read (e.g. the role
                // lacks the privileges the migrations grant the runtime role): nothing says the
                // schema serves, so API requests are refused too.
                tracing::warn!(error = %e, "readiness: cannot read the schema history");
                ReadinessReport {
                    schema_mismatch: true,
                    ..ReadinessReport::not_ready(
                        &format!("cannot read the schema history: {e}"),
                        expected,
                    )
                }
            }
            Err(_) => ReadinessReport::not_ready("database unavailable (timeout)", expected),
        }
    }

    /// A pooled connection, or a problem: 503 when the schema is known not to match, or
    /// when no connection can be had within the pool wait.
    pub(crate) async fn conn(&self) -> Result<Object, Problem> {
        if self
            .readiness
            .read()
            .map(|r| r.schema_mismatch)
            .unwrap_or(false)
        {
            return Err(Problem::unavailable(
                "the database schema is not at the revision this service expects",
            ));
        }
        self.pool.get().await.map_err(|e| {
            match &e {
                PoolError::Timeout(_) => {
                    tracing::warn!("no database connection within the pool wait")
                }
                other => tracing::warn!(error = %other, "cannot get a database connection"),
            }
            Problem::unavailable("the database is unavailable; retry later")
        })
    }

    /// Deletes idempotency keys older than their retention (a bounded batch per call: the
    /// readiness loop calls it every interval).
    pub(crate) async fn expire_idempotency_keys(&self) {
        if let Ok(c) = self.pool.get().await {
            if let Err(e) =
                torghut_store::idempotency::expire(&**c, crate::idempotency::RETENTION, 1000).await
            {
                tracing::warn!(error = %e, "cannot expire idempotency keys");
            }
        }
    }

    /// The JSON policy for stored payloads.
    pub(crate) fn policy(&self) -> &JsonPolicy {
        &self.config.json_policy
    }
}

/// Whether this binary can serve the schema described by `st`: every migration it has is
/// applied, with its checksum, none dirty. Migrations applied after all of its own and unknown
/// to it (a newer release ran its expand migrations; this one is the rollback target) are
/// accepted: migrations are expand-then-contract, so the previous binary keeps working on the
/// expanded schema. An unknown migration applied before one of its own is not.
pub(crate) fn schema_serves(st: &torghut_migrate::Status) -> bool {
    if !st.pending.is_empty() || !st.dirty.is_empty() || !st.checksum_mismatches.is_empty() {
        return false;
    }
    if st.unknown_applied.is_empty() {
        return true;
    }
    // Applied history in order: once an unknown migration appears, no known one may follow.
    let mut seen_unknown = false;
    for a in &st.applied {
        let unknown = st.unknown_applied.contains(&a.id);
        if seen_unknown && !unknown {
            return false;
        }
        seen_unknown |= unknown;
    }
    true
}

fn not_ready_reason(st: &torghut_migrate::Status) -> String {
    if !st.dirty.is_empty() {
        format!("dirty migrations: {}", st.dirty.join(", "))
    } else if !st.checksum_mismatches.is_empty() {
        let ids: Vec<&str> = st
            .checksum_mismatches
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        format!("applied migrations edited since: {}", ids.join(", "))
    } else if !st.pending.is_empty() {
        format!(
            "the schema is not at the revision this binary expects: pending {}",
            st.pending.join(", ")
        )
    } else {
        "the schema history has migrations unknown to this binary before its own".to_owned()
    }
}
