//! `torghut serve`: configuration, the dev-only local PostgreSQL and migrations, then the HTTP
//! service of `torghut-http` until SIGTERM or Ctrl-C (graceful: stop accepting, finish
//! in-flight requests, close the pool).

use torghut_config::{AppEnv, DbConfig};
use torghut_http::{AppState, ServiceConfig};
use torghut_json::JsonPolicy;
use torghut_localpg::{ClusterOptions, LocalPg};
use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};

use crate::cli::ServeArgs;
use crate::db;
use crate::failure::Failure;

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs) -> u8 {
    let app_env = match AppEnv::from_env() {
        Ok(e) => e,
        Err(e) => {
            return Failure::config(e.to_string()).report(false);
        }
    };
    let mut local: Option<LocalPg> = None;
    let config = match torghut_config::resolve_dsn(args.db.dsn.as_deref()) {
        Some(_) => match db::resolve(args.db.dsn.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                return Failure::config(e.to_string()).report(false);
            }
        },
        None if app_env == AppEnv::Dev => {
            let dir = args.data_dir.join("pg");
            let started = tokio::task::spawn_blocking(move || {
                LocalPg::start(ClusterOptions::persistent(dir))
            })
            .await;
            let pg = match started {
                Ok(Ok(pg)) => pg,
                Ok(Err(e)) => {
                    return Failure::config(format!("cannot start the local PostgreSQL: {e}"))
                        .report(false);
                }
                Err(e) => {
                    return Failure::config(e.to_string()).report(false);
                }
            };
            let config = match DbConfig::parse(&pg.socket_dsn("postgres")) {
                Ok(c) => c,
                Err(e) => {
                    return Failure::config(e.to_string()).report(false);
                }
            };
            let dev = crate::dev_cmd::DevServer {
                socket_dir: pg.socket_dir().to_path_buf(),
                port: pg.port(),
            };
            eprintln!(
                "local PostgreSQL running in {} (user {}, database postgres, trust over the \
                 socket; the superuser's password, for TCP, is in {})\n  connect: {}\n  for other \
                 commands: eval \"$(torghut dev env)\"   (sets DB_DSN='{}')",
                pg.base_dir().display(),
                torghut_localpg::SUPERUSER,
                pg.base_dir().join("password").display(),
                dev.psql(),
                dev.dsn()
            );
            local = Some(pg);
            config
        }
        None => {
            return Failure::config(format!("APP_ENV={app_env} needs a database: pass --dsn or set DB_DSN (or DB_URL, DATABASE_URL)")).report(false);
        }
    };
    let set = MigrationSet::embedded();
    // Only the dev service's own local PostgreSQL is migrated here; stage and prod never
    // migrate from the service (their readiness waits for the migration job).
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
                        return Failure::new(e.exit_code() as u8, e.to_string()).report(false);
                    }
                }
            }
            Err(e) => {
                return Failure::config(e.to_string()).report(false);
            }
        }
    }
    let service_config = ServiceConfig {
        pool_size: args.pool_size as usize,
        pool_wait: args.pool_wait,
        max_body_bytes: usize::try_from(args.max_body).unwrap_or(usize::MAX),
        body_timeout: args.body_timeout,
        readiness_interval: args.readiness_interval,
        json_policy: JsonPolicy::default(),
    };
    let state = match AppState::new(&config, set, service_config) {
        Ok(s) => s,
        Err(e) => {
            return Failure::config(e.to_string()).report(false);
        }
    };
    tracing::info!(database = %config.redacted(), env = %app_env, "starting the service");
    let first = state.check_readiness().await;
    if !first.ready {
        eprintln!(
            "not ready yet: {} (readiness is rechecked every {:?})",
            first.reason.as_deref().unwrap_or("unknown"),
            args.readiness_interval
        );
    }
    let readiness = torghut_http::spawn_readiness(state.clone());
    let app = torghut_http::router(state.clone());
    let listener = match tokio::net::TcpListener::bind(&args.bind).await {
        Ok(l) => l,
        Err(e) => {
            return Failure::config(format!("cannot listen on {}: {e}", args.bind)).report(false);
        }
    };
    let shown = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| args.bind.clone());
    eprintln!("listening on http://{shown}");
    // The accept loop: each connection served by hyper's HTTP/1 with a timer, so that a client
    // that does not finish its headers within --header-timeout is disconnected (bodies have
    // their own timeout in the router). On SIGTERM or Ctrl-C: stop accepting, let in-flight
    // requests finish within --shutdown-grace, then close the remaining connections.
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(args.header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut signal = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let service = hyper_util::service::TowerToHyperService::new(app.clone());
                    let conn = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, go on accepting.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            () = &mut signal => break,
        }
    }
    drop(listener);
    state.mark_shutting_down();
    tracing::info!("shutting down: finishing in-flight requests");
    let grace = args.shutdown_grace;
    let served: Result<(), std::io::Error> = tokio::select! {
        () = graceful.shutdown() => Ok(()),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "shutdown grace elapsed: closing the remaining connections");
            eprintln!("shutdown grace of {grace:?} elapsed: closing the remaining connections");
            Ok(())
        }
    };
    readiness.abort();
    state.pool().close();
    drop(local);
    match served {
        Ok(()) => {
            eprintln!("stopped");
            0
        }
        Err(e) => Failure::config(e.to_string()).report(false),
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
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
