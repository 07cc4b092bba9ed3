//! `torghut audit`: verify the audit chains, take checkpoints.

use serde_json::json;
use torghut_audit::AuditError;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use torghut_audit::anchor;
use torghut_audit::archive::{self, ArchiveRequest};

use crate::cli::{
    AuditArchiveArgs, AuditArgs, AuditCheckpointArgs, AuditCommand, AuditVerifyArgs, DbArgs,
};
use crate::db;
use crate::failure::Failure;

/// Runs one audit command and returns the exit code.
pub async fn run(args: AuditArgs) -> u8 {
    match args.command {
        AuditCommand::Verify(a) => match &a.archive {
            Some(dir) => verify_archive(&a.db, dir, a.out.json).await,
            None => verify(&a, a.out.json).await,
        },
        AuditCommand::Archive(a) => archive(&a).await,
        AuditCommand::Checkpoint(a) => checkpoint(&a, a.out.json).await,
        AuditCommand::Keygen { out } => keygen(&out),
    }
}

/// Prints a failure (and its JSON form) and returns its exit code.
fn fail(json_out: bool, code: u8, message: &str) -> u8 {
    Failure::new(code, message).report(json_out)
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

async fn verify(a: &AuditVerifyArgs, json_out: bool) -> u8 {
    // Anchors and the trusted key are read before anything else: a bad file is a usage error.
    let anchors = match &a.anchors {
        Some(path) => match anchor::read_anchors(path) {
            Ok(v) => Some(v),
            Err(e) => return fail(json_out, 2, &e.to_string()),
        },
        None => None,
    };
    let trusted = match a
        .public_key
        .as_deref()
        .map(anchor::read_public_key)
        .transpose()
    {
        Ok(k) => k,
        Err(e) => return fail(json_out, 2, &e.to_string()),
    };
    let mut client = match connect(&a.db).await {
        Ok(c) => c,
        Err(m) => return fail(json_out, 2, &m),
    };
    let options = torghut_audit::VerifyOptions {
        since_checkpoint: a.since_checkpoint,
    };
    let mut helpers = Vec::new();
    if !a.since_checkpoint {
        for _ in 1..a.jobs {
            match connect(&a.db).await {
                Ok(c) => helpers.push(c),
                Err(m) => return fail(json_out, 2, &m),
            }
        }
    }
    let mut report = match torghut_audit::verify_parallel(&mut client, helpers, options).await {
        Ok(r) => r,
        Err(e) => return fail(json_out, audit_error_code(&e), &e.to_string()),
    };
    if let Some(anchors) = &anchors {
        match anchor::check_anchors(&client, anchors, trusted.as_ref()).await {
            Ok(findings) => {
                report.ok &= findings.is_empty();
                report.findings.extend(findings);
                report.anchors_checked = Some(anchors.len() as u64);
            }
            Err(e) => return fail(json_out, audit_error_code(&e), &e.to_string()),
        }
    }
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

async fn checkpoint(a: &AuditCheckpointArgs, json_out: bool) -> u8 {
    let key = match a
        .signing_key
        .as_deref()
        .map(anchor::read_signing_key)
        .transpose()
    {
        Ok(k) => k,
        Err(e) => return fail(json_out, 2, &e.to_string()),
    };
    let client = match connect(&a.db).await {
        Ok(c) => c,
        Err(m) => return fail(json_out, 2, &m),
    };
    // Checkpoints of at most --max-heads moved heads each, until one is not full.
    let options = torghut_audit::chain::CheckpointOptions {
        full: a.full,
        max_heads: Some(a.max_heads),
    };
    let mut taken = Vec::new();
    let result = loop {
        match torghut_audit::chain::checkpoint_with(&client, options).await {
            Ok(cp) => {
                let full_chunk = cp.streams >= a.max_heads;
                if full_chunk && !json_out {
                    println!(
                        "checkpoint {}: {} stream head(s) recorded; more moved heads remain, taking another",
                        cp.id, cp.streams
                    );
                }
                taken.push(cp.id);
                if !full_chunk || taken.len() >= 100_000 {
                    break Ok(cp);
                }
            }
            Err(e) => break Err(e),
        }
    };
    match result {
        Ok(cp) => {
            let signed = key.as_ref().map(|k| anchor::Anchor::sign(&cp, k));
            if let (Some(out), Some(signed)) = (&a.anchor_out, &signed) {
                if let Err(e) = anchor::write_anchor(out, signed) {
                    return fail(json_out, 2, &format!("checkpoint {} taken, but {e}", cp.id));
                }
            }
            if json_out {
                println!(
                    "{}",
                    json!({ "ok": true, "checkpoint": cp, "checkpoints_taken": taken, "anchor": signed })
                );
            } else {
                println!(
                    "checkpoint {}: {} stream head(s) recorded; hash {}",
                    cp.id, cp.streams, cp.hash
                );
                if let Some(signed) = &signed {
                    println!("{}", signed.to_line());
                }
            }
            0
        }
        Err(e) if taken.is_empty() => fail(json_out, audit_error_code(&e), &e.to_string()),
        Err(e) => fail(
            json_out,
            audit_error_code(&e),
            &format!(
                "checkpoints {} to {} taken, then: {e}",
                taken[0],
                taken[taken.len() - 1]
            ),
        ),
    }
}

fn keygen(out: &Path) -> u8 {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let (secret, public) = match anchor::generate_key() {
        Ok(k) => k,
        Err(e) => return fail(false, 2, &e.to_string()),
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out);
    match file.and_then(|mut f| writeln!(f, "{secret}").and_then(|()| f.sync_all())) {
        Ok(()) => {
            println!("{public}");
            eprintln!(
                "secret key written to {} (mode 0600); the line above is its public key",
                out.display()
            );
            0
        }
        Err(e) => fail(false, 2, &format!("cannot write {}: {e}", out.display())),
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
