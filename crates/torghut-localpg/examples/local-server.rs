//! Runs a command next to a temporary local PostgreSQL (durable settings, fsync on).
//!
//! Usage: `local-server -- COMMAND [ARGS...]`. The command gets `PGHOST` (the socket directory),
//! `PGPORT` and `PGUSER`; the server stops and is removed when the command ends. Used by the
//! benchmark scripts.
//!
//! `LOCAL_PG_SETTINGS`, if set, holds extra server settings as space-separated `name=value`
//! pairs (passed as `-c name=value`), e.g. `LOCAL_PG_SETTINGS="min_wal_size=2GB max_wal_size=4GB"`.

use std::process::{exit, Command};

use torghut_localpg::{ClusterOptions, LocalPg, SUPERUSER};

fn main() {
    let args: Vec<String> = std::env::args().skip_while(|a| a != "--").skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: local-server -- COMMAND [ARGS...]");
        exit(2);
    }
    let mut opts = match ClusterOptions::temporary() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            exit(2);
        }
    };
    opts.durable = true;
    if let Ok(extra) = std::env::var("LOCAL_PG_SETTINGS") {
        for kv in extra.split_whitespace() {
            match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() && !v.is_empty() => {
                    opts.settings.push((k.to_owned(), v.to_owned()))
                }
                _ => {
                    eprintln!("error: LOCAL_PG_SETTINGS: expected name=value, got {kv:?}");
                    exit(2);
                }
            }
        }
    }
    let pg = match LocalPg::start(opts) {
        Ok(pg) => pg,
        Err(e) => {
            eprintln!("error: {e}");
            exit(2);
        }
    };
    let status = Command::new(&args[0])
        .args(&args[1..])
        .env("PGHOST", pg.socket_dir())
        .env("PGPORT", pg.port().to_string())
        .env("PGUSER", SUPERUSER)
        .status();
    pg.stop();
    match status {
        Ok(s) => exit(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", args[0]);
            exit(2);
        }
    }
}
