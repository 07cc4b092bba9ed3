//! `torghut audit`: verify the audit chains, take checkpoints.

use serde_json::json;
use torghut_audit::AuditError;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use torghut_audit::archive::{self, ArchiveRequest};

use crate::cli::{AuditArchiveArgs, AuditArgs, AuditCommand, DbArgs};
use crate::db;

/// Runs one audit command and returns the exit code.
pub async fn run(args: AuditArgs) -> u8 {
    match args.command {
        AuditCommand::Verify(a) => match &a.archive {
            Some(dir) => verify_archive(&a.db, dir, a.out.json).await,
            None => verify(&a.db, a.out.json).await,
        },
        AuditCommand::Archive(a) => archive(&a).await,
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
        AuditError::ArchiveMismatch(_) => 1,
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

/// Parses YYYY-MM-DD (midnight UTC) or an RFC 3339 date-time.
fn parse_before(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("--before {s:?}: expected YYYY-MM-DD or an RFC 3339 date-time"))
}

async fn archive(a: &AuditArchiveArgs) -> u8 {
    let json_out = a.output.json;
    let before = match parse_before(&a.before) {
        Ok(b) => b,
        Err(m) => return fail(json_out, 2, &m),
    };
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "audit-archive-{}-{}",
            before.format("%Y%m%d"),
            Utc::now().format("%Y%m%dT%H%M%SZ")
        ))
    });
    let mut client = match connect(&a.db).await {
        Ok(c) => c,
        Err(m) => return fail(json_out, 2, &m),
    };
    let req = ArchiveRequest {
        before,
        reason: a.reason.clone(),
        approved_by: a.approved_by.clone(),
        out,
    };
    match archive::archive(&mut client, &req).await {
        Ok(report) => {
            if json_out {
                println!("{}", json!({ "ok": true, "archive": report }));
            } else if report.log_id.is_none() {
                println!(
                    "audit archive: no stream is entirely older than {before}; nothing archived"
                );
            } else {
                let rows: Vec<String> = report
                    .rows
                    .iter()
                    .map(|(t, n)| format!("{t} {n}"))
                    .collect();
                println!(
                    "audit archive: {} decision and {} execution streams ({}) archived to {} and deleted; governance log #{}, checkpoint #{}, manifest SHA-256 {}",
                    report.decision_streams,
                    report.execution_streams,
                    rows.join(", "),
                    report.dir,
                    report.log_id.unwrap_or_default(),
                    report.checkpoint_id.unwrap_or_default(),
                    report.manifest_sha256.as_deref().unwrap_or_default()
                );
            }
            0
        }
        Err(e) => fail(json_out, audit_error_code(&e), &e.to_string()),
    }
}

async fn verify_archive(dsn: &DbArgs, dir: &Path, json_out: bool) -> u8 {
    let mut client = match connect(dsn).await {
        Ok(c) => c,
        Err(m) => return fail(json_out, 2, &m),
    };
    match archive::verify_archive(&mut client, dir).await {
        Ok(report) => {
            if json_out {
                match serde_json::to_string(&report) {
                    Ok(s) => println!("{s}"),
                    Err(e) => return fail(false, 2, &format!("cannot encode the report: {e}")),
                }
            } else {
                for p in &report.problems {
                    println!("{p}");
                }
                println!(
                    "audit verify --archive {}: {} ({} rows, {} streams{})",
                    report.dir,
                    if report.ok {
                        "intact"
                    } else {
                        "does not verify"
                    },
                    report.rows_checked,
                    report.streams_checked,
                    report
                        .log_id
                        .map(|id| format!(", governance log #{id}"))
                        .unwrap_or_default()
                );
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
