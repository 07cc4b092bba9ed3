//! `torghut migrate ...`: a thin layer over `torghut_migrate::Migrator`.

use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use torghut_config::AppEnv;

use torghut_migrate::{
    render_diff, BackfillOptions, Connector, Event, MigrateError, MigrateOptions, MigrationSet,
    Migrator, ProgressSink, RepairAction, Status,
};

use crate::cli::{MigrateArgs, MigrateCommand};
use crate::db;
use crate::failure::Failure;

/// Runs one migrate command and returns the exit code.
pub async fn run(args: MigrateArgs) -> u8 {
    let json_out = match &args.command {
        MigrateCommand::Status(o) | MigrateCommand::Verify(o) => o.json,
        MigrateCommand::Plan { out, .. }
        | MigrateCommand::Up { out, .. }
        | MigrateCommand::Down { out, .. }
        | MigrateCommand::Adopt { out, .. }
        | MigrateCommand::Repair { out, .. }
        | MigrateCommand::Log { out, .. }
        | MigrateCommand::Lint { out, .. } => out.json,
    };
    match execute(args).await {
        Ok(code) => code,
        Err(failure) => failure.report(json_out),
    }
}

impl From<MigrateError> for Failure {
    fn from(e: MigrateError) -> Self {
        let data = match &e {
            MigrateError::AdoptDrift { diff, .. } => serde_json::to_value(diff).ok(),
            _ => None,
        };
        let mut message = e.to_string();
        if !e.applied().is_empty() {
            message.push_str(&format!(
                "\napplied by this run before the failure: {}",
                e.applied().join(", ")
            ));
        }
        Failure::new(e.exit_code() as u8, message).with_details(data)
    }
}

fn emit<T: Serialize>(json_out: bool, value: &T, text: impl FnOnce() -> String) {
    if json_out {
        match serde_json::to_string(value) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: cannot encode the report: {e}"),
        }
    } else {
        print!("{}", text());
    }
}

async fn execute(args: MigrateArgs) -> Result<u8, Failure> {
    if let MigrateCommand::Lint { files, out } = &args.command {
        return crate::migrate_cmd::lint(files, args.source.as_deref(), out.json);
    }
    let set = match &args.source {
        Some(dir) => MigrationSet::from_dir(dir).map_err(|e| Failure::config(e.to_string()))?,
        None => MigrationSet::embedded(),
    };
    let app_env = AppEnv::from_env().map_err(|e| Failure::config(e.to_string()))?;
    let config = db::resolve(args.db.dsn.as_deref()).map_err(Failure::config)?;
    let client = db::connect(&config, "torghut-migrate")
        .await
        .map_err(Failure::config)?;
    let progress = match &args.command {
        MigrateCommand::Up { out, .. } => progress_sink(out.json),
        _ => ProgressSink::default(),
    };
    let opts = MigrateOptions {
        lock_wait: args.lock_wait,
        lock_timeout: args.lock_timeout,
        statement_timeout: args.statement_timeout,
        lock_retries: args.lock_retries,
        backfill: BackfillOptions {
            target_batch: args.backfill_batch_time,
            throttle: args.backfill_throttle,
            workers: usize::from(args.backfill_workers),
            ..BackfillOptions::default()
        },
        progress,
        connect: Some({
            let config = config.clone();
            Connector::new(move || {
                let config = config.clone();
                async move { db::connect(&config, "torghut-migrate").await }
            })
        }),
        ..MigrateOptions::default()
    };
    let mut m = Migrator::new(client, set, opts);
    let database = config.redacted();

    match args.command {
        MigrateCommand::Status(out) => {
            let st = m.status().await?;
            emit(
                out.json,
                &json!({ "database": database, "status": st }),
                || render_status(&database, &st),
            );
            Ok(if st.clean { 0 } else { 1 })
        }
        MigrateCommand::Plan { to, out } => {
            let plan = m.plan(to.as_deref()).await?;
            emit(
                out.json,
                &json!({ "database": database, "steps": plan }),
                || {
                    if plan.is_empty() {
                        return "-- nothing to apply\n".to_string();
                    }
                    plan.iter()
                        .map(|s| {
                            format!(
                                "-- migration {}{}\n{}\n",
                                s.id,
                                if s.transactional {
                                    ""
                                } else {
                                    " (outside a transaction, statement by statement)"
                                },
                                s.sql.trim_end()
                            )
                        })
                        .collect()
                },
            );
            Ok(0)
        }
        MigrateCommand::Up { to, out } => {
            let r = m.up(to.as_deref()).await?;
            emit(
                out.json,
                &json!({ "database": database, "ok": true, "up": r }),
                || {
                    let mut s = String::new();
                    if r.applied.is_empty() {
                        s.push_str("nothing to apply\n");
                    }
                    for id in &r.applied {
                        s.push_str(&format!("applied {id}\n"));
                    }
                    s.push_str(&format!(
                        "current revision: {}\n",
                        r.current.as_deref().unwrap_or("(none)")
                    ));
                    s
                },
            );
            Ok(0)
        }
        MigrateCommand::Down {
            to,
            allow_destructive,
            reason,
            out,
        } => {
            let r = m
                .down(&to, app_env.is_prod(), allow_destructive, reason.as_deref())
                .await?;
            emit(
                out.json,
                &json!({ "database": database, "ok": true, "down": r }),
                || {
                    let mut s = String::new();
                    if r.reverted.is_empty() {
                        s.push_str("nothing to revert\n");
                    }
                    for id in &r.reverted {
                        s.push_str(&format!("reverted {id}\n"));
                    }
                    s.push_str(&format!(
                        "current revision: {}\n",
                        r.current.as_deref().unwrap_or("(none)")
                    ));
                    s
                },
            );
            Ok(0)
        }
        MigrateCommand::Log { last, out } => {
            let last = (last > 0).then_some(i64::from(last));
            let log = torghut_migrate::history::read_log(m.client(), last)
                .await
                .map_err(MigrateError::from)?;
            emit(
                out.json,
                &json!({ "database": database, "log": log }),
                || {
                    let mut s = String::new();
                    for l in &log {
                        s.push_str(&format!(
                            "{} #{} {} {} {} by {}@{}",
                            l.at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                            l.seq,
                            l.action,
                            l.migration_id.as_deref().unwrap_or("-"),
                            l.outcome,
                            l.db_user,
                            l.client_host
                        ));
                        if let Some(r) = &l.reason {
                            s.push_str(&format!(" (reason: {r})"));
                        }
                        if let Some(d) = &l.detail {
                            s.push_str(&format!(": {d}"));
                        }
                        s.push('\n');
                    }
                    if log.is_empty() {
                        s.push_str("the run log is empty\n");
                    }
                    s
                },
            );
            Ok(0)
        }
        MigrateCommand::Verify(out) => {
            let v = m.verify().await?;
            emit(
                out.json,
                &json!({ "database": database, "verify": v }),
                || {
                    let mut s = format!(
                        "revision: {}\n",
                        v.current.as_deref().unwrap_or("(none applied)")
                    );
                    for mm in &v.checksum_mismatches {
                        s.push_str(&format!(
                            "checksum mismatch: {} (recorded {}, file {})\n",
                            mm.id, mm.recorded, mm.file
                        ));
                    }
                    for id in &v.unknown_applied {
                        s.push_str(&format!("applied but unknown to this binary: {id}\n"));
                    }
                    for id in &v.dirty {
                        s.push_str(&format!("dirty: {id}\n"));
                    }
                    if !v.catalog.differences.is_empty() {
                        s.push_str("schema drift:\n");
                    }
                    s.push_str(&render_diff(&v.catalog));
                    s.push_str(if v.clean {
                        "verify: ok\n"
                    } else {
                        "verify: FAILED\n"
                    });
                    s
                },
            );
            Ok(if v.clean { 0 } else { 1 })
        }
        MigrateCommand::Adopt { reason, out } => {
            let r = m.adopt(reason.as_deref()).await?;
            emit(
                out.json,
                &json!({ "database": database, "ok": true, "adopt": r }),
                || {
                    if r.already_adopted {
                        format!("already adopted (alembic_version {})\n", r.alembic_version)
                    } else {
                        let mut s = format!(
                            "adopted at alembic_version {}; recorded as applied: {}\n",
                            r.alembic_version,
                            r.recorded.join(", ")
                        );
                        if !r.unmanaged_tables.is_empty() {
                            s.push_str(&format!(
                                "not managed by the migrations (left alone): {}\n",
                                r.unmanaged_tables.join(", ")
                            ));
                        }
                        s.push_str("next: torghut migrate up\n");
                        s
                    }
                },
            );
            Ok(0)
        }
        MigrateCommand::Repair {
            mark_applied,
            mark_rolled_back,
            accept_checksum,
            reason,
            out,
        } => {
            let action = match (mark_applied, mark_rolled_back, accept_checksum) {
                (true, _, _) => RepairAction::MarkApplied,
                (_, true, _) => RepairAction::MarkRolledBack,
                (_, _, Some(id)) => RepairAction::AcceptChecksum(id),
                _ => return Err(Failure::config(
                    "repair needs one of --mark-applied, --mark-rolled-back, --accept-checksum ID",
                )),
            };
            let r = m.repair(action, &reason).await?;
            emit(
                out.json,
                &json!({ "database": database, "ok": true, "repair": r }),
                || format!("{}: {}\n", r.id, r.action),
            );
            Ok(0)
        }
        MigrateCommand::Lint { .. } => unreachable!("handled above"),
    }
}

/// Shows what `up` does as it goes: JSON lines on stdout with --json (for a Job's log), else
/// lines on stderr (one line rewritten in place on a terminal). Backfill progress is shown at
/// most once a second (every ten seconds when stderr is not a terminal).
fn progress_sink(json_out: bool) -> ProgressSink {
    let tty = std::io::stderr().is_terminal();
    let every = if json_out || tty {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    };
    // The last progress shown, by backfill step (steps may run side by side).
    let last: Mutex<HashMap<(String, usize), Instant>> = Mutex::new(HashMap::new());
    ProgressSink::new(move |e: &Event| {
        if let Event::BackfillProgress { id, step, .. } = e {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            let key = (id.clone(), *step);
            if last.get(&key).is_some_and(|t| t.elapsed() < every) {
                return;
            }
            last.insert(key, Instant::now());
        }
        if json_out {
            if let Ok(line) = serde_json::to_string(e) {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            return;
        }
        let text = render_event(e);
        let mut err = std::io::stderr().lock();
        let _ = match (tty, e) {
            (true, Event::BackfillProgress { .. }) => write!(err, "\r\x1b[2K{text}"),
            (true, _) => writeln!(err, "\r\x1b[2K{text}"),
            (false, _) => writeln!(err, "{text}"),
        };
        let _ = err.flush();
    })
}

fn render_event(e: &Event) -> String {
    match e {
        Event::MigrationStarted {
            id,
            description,
            kind,
        } => format!(
            "applying {id}{}: {description}",
            match *kind {
                "backfill" => " (batched backfill)",
                "no-transaction" => " (outside a transaction)",
                _ => "",
            }
        ),
        Event::MigrationApplied { id, duration_ms } => {
            format!("applied {id} in {duration_ms} ms")
        }
        Event::BackfillProgress {
            id,
            step,
            steps,
            table,
            rows_done,
            rows_total,
            rows_per_s,
            eta_s,
            retries,
            ..
        } => {
            let pct = if *rows_total > 0 {
                100.0 * *rows_done as f64 / *rows_total as f64
            } else {
                100.0
            };
            format!(
                "  {id} step {step}/{steps} {table}: {rows_done}/{rows_total} rows ({pct:.1}%), \
                 {rows_per_s:.0} rows/s, {} left{}",
                eta_s.map_or("?".to_string(), |s| format!("{s:.0} s")),
                if *retries > 0 {
                    format!(", {retries} batch(es) retried after a lock wait")
                } else {
                    String::new()
                }
            )
        }
        Event::BackfillStepDone {
            id,
            step,
            steps,
            table,
            rows_done,
            duration_ms,
        } => format!(
            "  {id} step {step}/{steps} {table}: done, {rows_done} rows in {duration_ms} ms"
        ),
    }
}

fn render_status(database: &str, st: &Status) -> String {
    let mut s = format!("database: {database}\n");
    s.push_str(&format!(
        "current revision: {} (this binary expects {})\n",
        st.current.as_deref().unwrap_or("(none)"),
        st.expected.as_deref().unwrap_or("(none)")
    ));
    if let Some(v) = &st.alembic_version {
        s.push_str(&format!("alembic_version: {v}\n"));
        if st.applied.is_empty() {
            s.push_str(
                "hint: this database is managed by the old Alembic chain; run `torghut migrate adopt` first\n",
            );
        }
    }
    for a in &st.applied {
        s.push_str(&format!(
            "  applied  {}  {}  by {}  {} ms{}{}\n",
            a.id,
            a.applied_at.format("%Y-%m-%d %H:%M:%S%.3fZ"),
            a.applied_by,
            a.duration_ms,
            if a.adopted { "  (adopted)" } else { "" },
            if a.dirty { "  DIRTY" } else { "" }
        ));
    }
    for p in &st.pending {
        s.push_str(&format!("  pending  {p}\n"));
        for b in st
            .unfinished_backfills
            .iter()
            .filter(|b| &b.migration_id == p)
        {
            s.push_str(&format!(
                "           backfill step {} ({}): {}, {} rows in {} batches, last key {}, last batch {}\n",
                b.step + 1,
                b.table,
                if b.finished_at.is_some() { "done" } else { "unfinished" },
                b.rows_done,
                b.batches,
                b.last_key.as_deref().unwrap_or("(none)"),
                b.updated_at.format("%Y-%m-%d %H:%M:%S%.3fZ"),
            ));
        }
        if st.unfinished_backfills.iter().any(|b| &b.migration_id == p) {
            s.push_str("           (started and not finished: `torghut migrate up` carries on from there)\n");
        }
    }
    for mm in &st.checksum_mismatches {
        s.push_str(&format!(
            "  EDITED   {} (recorded checksum {}, file {})\n",
            mm.id, mm.recorded, mm.file
        ));
    }
    for u in &st.unknown_applied {
        s.push_str(&format!("  UNKNOWN  {u} (applied, not in this binary)\n"));
    }
    let mut problems = Vec::new();
    if !st.pending.is_empty() {
        problems.push(format!("{} pending", st.pending.len()));
    }
    if !st.dirty.is_empty() {
        problems.push(format!("dirty: {}", st.dirty.join(", ")));
    }
    if !st.checksum_mismatches.is_empty() {
        problems.push(format!("{} edited", st.checksum_mismatches.len()));
    }
    if !st.unknown_applied.is_empty() {
        problems.push(format!("{} unknown", st.unknown_applied.len()));
    }
    if problems.is_empty() {
        s.push_str("status: clean\n");
    } else {
        s.push_str(&format!("status: not clean ({})\n", problems.join("; ")));
    }
    s
}

fn lint(
    files: &[std::path::PathBuf],
    source: Option<&std::path::Path>,
    json_out: bool,
) -> Result<u8, Failure> {
    let opts = torghut_lint::LintOptions::default();
    // (name, sql) of every file to lint.
    let mut inputs: Vec<(String, String)> = Vec::new();
    if files.is_empty() {
        let set = match source {
            Some(dir) => MigrationSet::from_dir(dir).map_err(|e| Failure::config(e.to_string()))?,
            None => MigrationSet::embedded(),
        };
        for m in set
            .all()
            .iter()
            .skip(torghut_migrate::engine::LEGACY_REVISIONS)
        {
            inputs.push((format!("migrations/{}/up.sql", m.id), m.up.clone()));
        }
    } else {
        for f in files {
            let sql = std::fs::read_to_string(f)
                .map_err(|e| Failure::config(format!("cannot read {}: {e}", f.display())))?;
            inputs.push((f.display().to_string(), sql));
        }
    }
    let reports: Vec<torghut_lint::LintReport> = inputs
        .iter()
        .map(|(name, sql)| torghut_lint::lint_sql(name, sql, &opts))
        .collect();
    let clean = reports.iter().all(|r| r.is_clean());
    emit(
        json_out,
        &json!({ "ok": clean, "files": reports.len(), "reports": reports }),
        || {
            let mut s = String::new();
            if reports.is_empty() {
                s.push_str("no migrations after 0005 to lint\n");
            }
            for r in &reports {
                s.push_str(&r.to_string());
                if !s.ends_with('\n') {
                    s.push('\n');
                }
            }
            s.push_str(&format!(
                "lint: {} file(s), {}\n",
                reports.len(),
                if clean { "clean" } else { "FAILED" }
            ));
            s
        },
    );
    Ok(if clean { 0 } else { 1 })
}
