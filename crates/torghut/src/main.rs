//! `torghut`: the one binary. Parses the command line and hands over to a command module.

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod audit_cmd;
mod bench_cmd;
mod cli;
mod db;
mod dev_cmd;
mod failure;
mod hash_cmd;
mod migrate_cmd;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(&cli.log_format);
    // `audit verify` reads every audit row through its connection: on a runtime of one thread,
    // the rows are checked on the thread that reads them from the socket instead of being handed
    // from one thread to another batch after batch (a third of its CPU time otherwise).
    let single_thread = matches!(
        &cli.command,
        cli::Command::Audit(cli::AuditArgs {
            command: cli::AuditCommand::Verify(_)
        })
    );
    let mut builder = if single_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(cli::run(cli));
    ExitCode::from(code)
}

fn init_logging(format: &cli::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TORGHUT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        cli::LogFormat::Json => builder.json().init(),
        cli::LogFormat::Text => builder.init(),
    }
}
