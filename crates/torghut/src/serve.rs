//! `torghut serve`: the HTTP service (liveness, readiness and database check for now).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use torghut_config::{AppEnv, DbConfig};
use torghut_localpg::{ClusterOptions, LocalPg};
use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};

use crate::cli::ServeArgs;
use crate::db;

struct AppState {
    config: DbConfig,
    set: MigrationSet,
}

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs) -> u8 {
    let app_env = match AppEnv::from_env() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut local: Option<LocalPg> = None;
    let config = match (
        &args.db.dsn,
        torghut_config::resolve_dsn(args.db.dsn.as_deref()),
    ) {
        (_, Some(_)) => match db::resolve(args.db.dsn.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        },
        (_, None) if app_env == AppEnv::Dev => {
            let dir = args.data_dir.join("pg");
            let started = tokio::task::spawn_blocking(move || {
                LocalPg::start(ClusterOptions::persistent(dir))
            })
            .await;
            let pg = match started {
                Ok(Ok(pg)) => pg,
                Ok(Err(e)) => {
                    eprintln!("error: cannot start the local PostgreSQL: {e}");
                    return 2;
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            };
            let config = match DbConfig::parse(&pg.socket_dsn("postgres")) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            };
            eprintln!(
                "local PostgreSQL running in {} (socket {})",
                pg.base_dir().display(),
                pg.socket_dir().display()
            );
            local = Some(pg);
            config
        }
        (_, None) => {
            eprintln!("error: APP_ENV={app_env} needs a database: pass --dsn or set DB_DSN (or DB_URL, DATABASE_URL)");
            return 2;
        }
    };
    let set = MigrationSet::embedded();
    if local.is_some() {
        match db::connect(&config, "torghut-migrate").await {
            Ok(client) => {
                let mut m = Migrator::new(client, set.clone(), MigrateOptions::default());
                match m.up(None).await {
                    Ok(r) => eprintln!(
                        "migrations applied: {} (revision {})",
                        r.applied.len(),
                        r.current.as_deref().unwrap_or("none")
                    ),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return e.exit_code() as u8;
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let state = Arc::new(AppState { config, set });
    let app = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz))
        .route("/db-check", get(db_check))
        .with_state(state);
    let listener = match tokio::net::TcpListener::bind(&args.bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.bind);
            return 2;
        }
    };
    eprintln!("listening on http://{}", args.bind);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    drop(local);
    match served {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let client = match db::connect(&state.config, "torghut-readyz").await {
        Ok(c) => c,
        Err(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "ready": false, "reason": "database unavailable" })),
            )
        }
    };
    let m = Migrator::new(client, state.set.clone(), MigrateOptions::default());
    match m.status().await {
        Ok(st) if st.clean => (
            StatusCode::OK,
            Json(json!({ "ready": true, "revision": st.current })),
        ),
        Ok(st) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "ready": false,
                "reason": "schema is not at the expected revision",
                "revision": st.current,
                "expected": st.expected,
                "pending": st.pending,
                "dirty": st.dirty,
                "checksum_mismatches": st.checksum_mismatches.iter().map(|m| &m.id).collect::<Vec<_>>(),
            })),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "reason": "cannot read the schema history" })),
        ),
    }
}

async fn db_check(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    match db::connect(&state.config, "torghut-db-check").await {
        Ok(c) => match c.simple_query("SELECT 1").await {
            Ok(_) => (StatusCode::OK, Json(json!({ "ok": true }))),
            Err(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "ok": false, "detail": "database query failed" })),
            ),
        },
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ok": false, "detail": "database unavailable" })),
        ),
    }
}
