//! `torghut audit`: verify the audit chains, take checkpoints.

use serde_json::json;
use torghut_audit::AuditError;

use crate::cli::{AuditArgs, AuditCommand, DbArgs};
use crate::db;

/// Runs one audit command and returns the exit code.
pub async fn run(args: AuditArgs) -> u8 {
    match args.command {
        AuditCommand::Verify(a) => verify(&a.db, a.out.json).await,
        AuditCommand::Checkpoint(a) => checkpoint(&a.db, a.out.json).await,
    }
}

/// Prints a failure (and its JSON form) and returns its exit code.
fn fail(json_out: bool, code: u8, message: &str) -> u8 {
    eprintln!("error: {message}");
    if json_out {
        println!(
            "{}",
            json!({ "ok": false, "error": message, "exit_code": code })
        );
    }
    code
}

async fn connect(dsn: &DbArgs) -> Result<torghut_config::tokio_postgres::Client, String> {
    let config = db::resolve(dsn.dsn.as_deref())?;
    db::connect(&config, "torghut-audit").await
}

fn audit_error_code(e: &AuditError) -> u8 {
    match e {
        AuditError::Db(db)
            if db
                .code()
                .is_some_and(|c| c.code() == torghut_audit::SQLSTATE_CHECKPOINT_REFUSED) =>
        {
            1
        }
        _ => 2,
    }
}

async fn verify(dsn: &DbArgs, json_out: bool) -> u8 {
    let mut client = match connect(dsn).await {
        Ok(c) => c,
        Err(m) => return fail(json_out, 2, &m),
    };
    match torghut_audit::verify(&mut client).await {
        Ok(report) => {
            if json_out {
                match serde_json::to_string(&report) {
                    Ok(s) => println!("{s}"),
                    Err(e) => return fail(false, 2, &format!("cannot encode the report: {e}")),
                }
            } else {
                print!("{}", report.render());
            }
            if report.ok {
                0
            } else {
                1
            }
        }
        Err(e) => fail(json_out, audit_error_code(&e), &e.to_string()),
    }
}

async fn checkpoint(dsn: &DbArgs, json_out: bool) -> u8 {
    let client = match connect(dsn).await {
        Ok(c) => c,
        Err(m) => return fail(json_out, 2, &m),
    };
    match torghut_audit::chain::checkpoint(&client).await {
        Ok(cp) => {
            if json_out {
                println!("{}", json!({ "ok": true, "checkpoint": cp }));
            } else {
                println!(
                    "checkpoint {}: {} stream head(s) recorded; hash {}",
                    cp.id, cp.streams, cp.hash
                );
            }
            0
        }
        Err(e) => fail(json_out, audit_error_code(&e), &e.to_string()),
    }
}
