//! Governed retention: `torghut audit archive` and `torghut audit verify --archive`.
//!
//! A stream (a decision with its events, reviews and executions, or an execution without a
//! decision, with its events) is archived when every one of its rows is older than the cut-off.
//! In one `REPEATABLE READ` transaction: the streams are locked (`FOR UPDATE`), their rows are
//! written to `DIR/<table>.jsonl` (one `to_jsonb(row)` per line, in stream and chain order) and
//! `DIR/manifest.json` (cut-off, reason, approver, row counts, SHA-256 of every file, stream
//! ids); the files are read back, their digests and rows checked, and every archived stream's
//! chain recomputed from the files and compared with the live head; only then is
//! `audit_archive_delete` called (the one path allowed to delete audit rows), which deletes
//! exactly those streams, takes an `archive` checkpoint and writes the governance log row.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, GenericClient, IsolationLevel};
use uuid::Uuid;

use crate::chain::{self, TABLES};
use crate::verify::{Finding, Problem};
use crate::AuditError;

/// The manifest's format name.
pub const FORMAT: &str = "torghut-audit-archive/1";

/// One archive file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveFile {
    pub name: String,
    pub table: String,
    pub rows: u64,
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub before: DateTime<Utc>,
    pub reason: String,
    pub approved_by: String,
    pub created_at: DateTime<Utc>,
    pub files: Vec<ArchiveFile>,
    pub decision_streams: Vec<Uuid>,
    pub execution_streams: Vec<Uuid>,
}

/// What an archive run did.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    pub dir: String,
    /// The governance log row's id (`None`: nothing was old enough; nothing written).
    pub log_id: Option<i64>,
    pub rows: BTreeMap<String, u64>,
    pub decision_streams: u64,
    pub execution_streams: u64,
    pub manifest_sha256: Option<String>,
    pub checkpoint_id: Option<i64>,
}

/// An archive request.
#[derive(Debug, Clone)]
pub struct ArchiveRequest {
    pub before: DateTime<Utc>,
    pub reason: String,
    pub approved_by: String,
    pub out: PathBuf,
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> AuditError {
    AuditError::Archive {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One archived row, read back from a file, with what the chain needs.
struct ArchivedRow {
    table: &'static str,
    id: Uuid,
    stream_id: Uuid,
    /// Its chain columns; none for a row written before the chain (its place is implicit).
    chained: Option<(i64, Vec<u8>)>,
    /// Its place among the rows written before the chain.
    order: chain::LegacyOrder,
    digest: Vec<u8>,
}

fn uuid_member(v: &serde_json::Value, key: &str) -> Option<Uuid> {
    v.get(key)?.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

/// Reads `DIR/<file>` back: checks the digest and the row count against the manifest, parses
/// every line and asks the database for each row's content digest (computed exactly as the
/// sealing trigger does).
async fn read_back(
    db: &impl GenericClient,
    dir: &Path,
    file: &ArchiveFile,
) -> Result<Vec<ArchivedRow>, AuditError> {
    let path = dir.join(&file.name);
    let bytes = std::fs::read(&path).map_err(|e| file_error(&path, e))?;
    let digest = sha256_hex(&bytes);
    if digest != file.sha256 {
        return Err(AuditError::ArchiveMismatch(format!(
            "{}: SHA-256 {digest}, the manifest says {}",
            file.name, file.sha256
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| file_error(&path, e))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    if lines.len() as u64 != file.rows {
        return Err(AuditError::ArchiveMismatch(format!(
            "{}: {} rows, the manifest says {}",
            file.name,
            lines.len(),
            file.rows
        )));
    }
    let Some(t) = TABLES.iter().find(|t| t.table == file.table) else {
        return Err(AuditError::ArchiveMismatch(format!(
            "{}: unknown table {}",
            file.name, file.table
        )));
    };
    let texts: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    // A root's digest covers the values it was created with: its row, each column its events
    // changed set back (audit_initial), the events being read from the archive's events file.
    let digests = match t.events {
        None => {
            db.query(
                &format!(
                    "SELECT audit_content('{}', u.txt::jsonb) \
                     FROM unnest($1::text[]) WITH ORDINALITY AS u(txt, i) ORDER BY u.i",
                    t.table
                ),
                &[&texts],
            )
            .await?
        }
        Some((ev, fk)) => {
            let ev_path = dir.join(format!("{ev}.jsonl"));
            let ev_text = match std::fs::read_to_string(&ev_path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(file_error(&ev_path, e)),
            };
            let events: Vec<String> = ev_text
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            db.query(
                &format!(
                    "WITH ev AS (SELECT j ->> '{fk}' AS rid, \
                       array_agg(j -> 'payload' -> 'changes' ORDER BY (j ->> 'seq')::int8) AS ch \
                       FROM (SELECT x::jsonb AS j FROM unnest($2::text[]) AS x) e GROUP BY 1) \
                     SELECT audit_content('{table}', audit_initial(u.txt::jsonb, coalesce(ev.ch, '{{}}'))) \
                     FROM unnest($1::text[]) WITH ORDINALITY AS u(txt, i) \
                     LEFT JOIN ev ON ev.rid = u.txt::jsonb ->> 'id' ORDER BY u.i",
                    table = t.table
                ),
                &[&texts, &events],
            )
            .await?
        }
    };
    let mut out = Vec::with_capacity(lines.len());
    for (n, (line, d)) in lines.iter().zip(digests).enumerate() {
        let bad = |what: &str| {
            AuditError::ArchiveMismatch(format!("{} line {}: {what}", file.name, n + 1))
        };
        let v: serde_json::Value = serde_json::from_str(line).map_err(|_| bad("not JSON"))?;
        let id = uuid_member(&v, "id").ok_or_else(|| bad("no id"))?;
        let stream_id = uuid_member(&v, t.stream_column).ok_or_else(|| bad("no stream id"))?;
        let seq = v.get("chain_seq").and_then(serde_json::Value::as_i64);
        let hash = v
            .get("chain_hash")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.strip_prefix("\\x"))
            .and_then(|h| hex::decode(h).ok());
        let chained = match (seq, hash) {
            (Some(seq), Some(hash)) => Some((seq, hash)),
            // Both NULL: a row from before the chain.
            _ if v.get("chain_seq").is_some_and(serde_json::Value::is_null)
                && v.get("chain_hash").is_some_and(serde_json::Value::is_null) =>
            {
                None
            }
            _ => return Err(bad("no chain_seq or chain_hash")),
        };
        let created_at = v
            .get("created_at")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc));
        let event_seq = v
            .get("seq")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        out.push(ArchivedRow {
            table: t.table,
            id,
            stream_id,
            chained,
            order: (
                t.kind(),
                if t.kind() == 1 { event_seq } else { 0 },
                created_at,
                id,
            ),
            digest: d.try_get(0)?,
        });
    }
    Ok(out)
}

/// Each stream's last seq and hash.
type StreamHeads = HashMap<(&'static str, Uuid), (i64, Vec<u8>)>;

/// Recomputes every archived stream's chain from its rows; returns each stream's last hash, or
/// the findings.
fn chain_heads(rows: Vec<ArchivedRow>) -> (StreamHeads, Vec<Finding>) {
    let mut streams: HashMap<(&'static str, Uuid), Vec<ArchivedRow>> = HashMap::new();
    for r in rows {
        let stream = TABLES
            .iter()
            .find(|t| t.table == r.table)
            .map_or("decision", |t| t.stream);
        streams.entry((stream, r.stream_id)).or_default().push(r);
    }
    let mut heads = HashMap::new();
    let mut findings = Vec::new();
    for (key, rows) in streams {
        // Rows from before the chain first, in their order, at implicit places; then the
        // chained rows by seq.
        let (mut legacy, mut rows): (Vec<ArchivedRow>, Vec<ArchivedRow>) =
            rows.into_iter().partition(|r| r.chained.is_none());
        legacy.sort_by_key(|r| r.order);
        rows.sort_by_key(|r| r.chained.as_ref().map_or(0, |c| c.0));
        let mut prev: Option<Vec<u8>> = None;
        let mut last_seq = 0i64;
        for (i, r) in legacy.iter().chain(rows.iter()).enumerate() {
            let place = i as i64 + 1;
            let linked = chain::link(prev.as_deref(), &r.digest);
            let hash = match &r.chained {
                None => linked,
                Some((seq, hash)) => {
                    if *seq != place || linked != *hash {
                        findings.push(Finding {
                            problem: Problem::Modified,
                            table: r.table.to_owned(),
                            id: Some(r.id),
                            stream: key.0.to_owned(),
                            stream_id: Some(key.1),
                            seq: Some(*seq),
                            detail: "the archived row does not fit its stream's chain".into(),
                        });
                    }
                    hash.clone()
                }
            };
            prev = Some(hash);
            last_seq = place;
        }
        if let Some(h) = prev {
            heads.insert(key, (last_seq, h));
        }
    }
    (heads, findings)
}

/// Archives and deletes every stream older than `req.before` (see the module documentation).
pub async fn archive(
    client: &mut Client,
    req: &ArchiveRequest,
) -> Result<ArchiveReport, AuditError> {
    if req.reason.trim().is_empty() || req.approved_by.trim().is_empty() {
        return Err(AuditError::InvalidRequest(
            "a reason and an approver are required".into(),
        ));
    }
    if req.before > Utc::now() {
        return Err(AuditError::InvalidRequest(
            "the cut-off is in the future".into(),
        ));
    }
    if req.out.exists()
        && std::fs::read_dir(&req.out)
            .map_err(|e| file_error(&req.out, e))?
            .next()
            .is_some()
    {
        return Err(AuditError::InvalidRequest(format!(
            "{} exists and is not empty",
            req.out.display()
        )));
    }
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .start()
        .await?;
    if !crate::has_chain(&tx).await?
        || !tx
            .query_one("SELECT to_regclass('audit_archive_log') IS NOT NULL", &[])
            .await?
            .try_get::<_, bool>(0)?
    {
        return Err(AuditError::NotMigrated);
    }
    tx.batch_execute("SET LOCAL \"TimeZone\" = 'UTC'").await?;
    let decisions: Vec<Uuid> = tx
        .query(
            "SELECT d.id FROM trade_decisions d WHERE d.created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM decision_events e WHERE e.decision_id = d.id AND e.created_at >= $1) \
             AND NOT EXISTS (SELECT 1 FROM llm_decision_reviews v WHERE v.trade_decision_id = d.id AND v.created_at >= $1) \
             AND NOT EXISTS (SELECT 1 FROM executions x WHERE x.trade_decision_id = d.id \
               AND (greatest(x.created_at, x.updated_at) >= $1 OR EXISTS (SELECT 1 FROM execution_events xe \
                 WHERE xe.execution_id = x.id AND xe.created_at >= $1))) \
             ORDER BY d.id FOR UPDATE",
            &[&req.before],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let executions: Vec<Uuid> = tx
        .query(
            "SELECT x.id FROM executions x WHERE x.trade_decision_id = ANY ($2) \
             OR (x.trade_decision_id IS NULL AND greatest(x.created_at, x.updated_at) < $1 \
               AND NOT EXISTS (SELECT 1 FROM execution_events xe WHERE xe.execution_id = x.id \
                 AND xe.created_at >= $1)) \
             ORDER BY x.id FOR UPDATE",
            &[&req.before, &decisions],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut report = ArchiveReport {
        dir: req.out.display().to_string(),
        log_id: None,
        rows: BTreeMap::new(),
        decision_streams: decisions.len() as u64,
        execution_streams: executions.len() as u64,
        manifest_sha256: None,
        checkpoint_id: None,
    };
    if decisions.is_empty() && executions.is_empty() {
        tx.rollback().await?;
        return Ok(report);
    }

    std::fs::create_dir_all(&req.out).map_err(|e| file_error(&req.out, e))?;
    let mut files = Vec::new();
    for t in TABLES {
        let ids = match t.stream {
            "decision" => &decisions,
            "execution" => &executions,
            _ => continue,
        };
        let rows = tx
            .query(
                &format!(
                    "SELECT to_jsonb(t)::text FROM {table} t WHERE t.{col} = ANY ($1) \
                     ORDER BY t.{col}, t.chain_seq, t.id",
                    table = t.table,
                    col = t.stream_column
                ),
                &[ids],
            )
            .await?;
        let mut text = String::new();
        for r in &rows {
            text.push_str(r.try_get::<_, &str>(0)?);
            text.push('\n');
        }
        let name = format!("{}.jsonl", t.table);
        let path = req.out.join(&name);
        write_synced(&path, text.as_bytes())?;
        report.rows.insert(t.table.to_owned(), rows.len() as u64);
        files.push(ArchiveFile {
            name,
            table: t.table.to_owned(),
            rows: rows.len() as u64,
            sha256: sha256_hex(text.as_bytes()),
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        before: req.before,
        reason: req.reason.clone(),
        approved_by: req.approved_by.clone(),
        created_at: Utc::now(),
        files,
        decision_streams: decisions.clone(),
        execution_streams: executions.clone(),
    };
    let manifest_text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| file_error(&req.out.join("manifest.json"), e))?;
    let manifest_path = req.out.join("manifest.json");
    write_synced(&manifest_path, &manifest_text)?;
    let manifest_sha256 = sha256_hex(&manifest_text);

    // Read everything back and check it against the live chain before deleting anything.
    let (read, _) = read_archive(&req.out)?;
    if read != manifest {
        return Err(AuditError::ArchiveMismatch(
            "manifest.json reads back differently".into(),
        ));
    }
    let mut archived = Vec::new();
    for f in &manifest.files {
        archived.extend(read_back(&tx, &req.out, f).await?);
    }
    let (heads, findings) = chain_heads(archived);
    if let Some(f) = findings.first() {
        return Err(AuditError::ArchiveMismatch(f.to_string()));
    }
    let live: HashMap<(String, Uuid), (i64, Vec<u8>)> = tx
        .query(
            "SELECT stream, stream_id, seq, head FROM audit_stream_heads() \
             WHERE (stream = 'decision' AND stream_id = ANY ($1)) \
                OR (stream = 'execution' AND stream_id = ANY ($2))",
            &[&decisions, &executions],
        )
        .await?
        .iter()
        .map(|r| -> Result<_, tokio_postgres::Error> {
            Ok((
                (r.try_get(0)?, r.try_get(1)?),
                (r.try_get(2)?, r.try_get(3)?),
            ))
        })
        .collect::<Result<_, _>>()?;
    if live.len() != heads.len() {
        return Err(AuditError::ArchiveMismatch(format!(
            "{} streams in the archive, {} in the database",
            heads.len(),
            live.len()
        )));
    }
    for ((stream, sid), head) in &heads {
        if live.get(&((*stream).to_owned(), *sid)) != Some(head) {
            return Err(AuditError::ArchiveMismatch(format!(
                "{stream} stream {sid}: the archive's chain does not end at the live head"
            )));
        }
    }

    let counts = serde_json::to_value(&report.rows)
        .map_err(|e| AuditError::InvalidRequest(e.to_string()))?;
    let digests: serde_json::Value = manifest
        .files
        .iter()
        .map(|f| (f.name.clone(), serde_json::Value::String(f.sha256.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let row = tx
        .query_one(
            "SELECT audit_archive_delete($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &req.before,
                &req.reason,
                &req.approved_by,
                &manifest_sha256,
                &digests,
                &decisions,
                &executions,
                &counts,
            ],
        )
        .await?;
    let log_id: i64 = row.try_get(0)?;
    let cp: i64 = tx
        .query_one(
            "SELECT checkpoint_id FROM audit_archive_log WHERE id = $1",
            &[&log_id],
        )
        .await?
        .try_get(0)?;
    tx.commit().await?;
    report.log_id = Some(log_id);
    report.manifest_sha256 = Some(manifest_sha256);
    report.checkpoint_id = Some(cp);
    Ok(report)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let mut f = std::fs::File::create(path).map_err(|e| file_error(path, e))?;
    f.write_all(bytes).map_err(|e| file_error(path, e))?;
    f.sync_all().map_err(|e| file_error(path, e))
}

/// Reads `DIR/manifest.json`; returns it and its SHA-256.
pub fn read_archive(dir: &Path) -> Result<(Manifest, String), AuditError> {
    let path = dir.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(|e| file_error(&path, e))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| file_error(&path, e))?;
    if manifest.format != FORMAT {
        return Err(file_error(
            &path,
            format!("unknown format {:?}", manifest.format),
        ));
    }
    Ok((manifest, sha256_hex(&bytes)))
}

/// The result of verifying an archive against the database.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveVerifyReport {
    pub ok: bool,
    pub dir: String,
    pub log_id: Option<i64>,
    pub rows_checked: u64,
    pub streams_checked: u64,
    pub problems: Vec<String>,
}

/// Verifies an archive directory against the governance log and the archive checkpoint: the
/// manifest is the one logged, every file has its digest and row count, every archived
/// stream's chain recomputes and ends at the head the archive checkpoint recorded.
pub async fn verify_archive(
    client: &mut Client,
    dir: &Path,
) -> Result<ArchiveVerifyReport, AuditError> {
    let (manifest, manifest_sha256) = read_archive(dir)?;
    let mut report = ArchiveVerifyReport {
        ok: false,
        dir: dir.display().to_string(),
        log_id: None,
        rows_checked: 0,
        streams_checked: 0,
        problems: Vec::new(),
    };
    let tx = crate::read_only_snapshot(client).await?;
    tx.batch_execute("SET LOCAL \"TimeZone\" = 'UTC'").await?;
    let Some(log) = tx
        .query_opt(
            "SELECT id, file_digests, row_counts, checkpoint_id FROM audit_archive_log \
             WHERE manifest_sha256 = $1",
            &[&manifest_sha256],
        )
        .await?
    else {
        report.problems.push(format!(
            "no governance log row has this manifest (SHA-256 {manifest_sha256})"
        ));
        return Ok(report);
    };
    report.log_id = Some(log.try_get(0)?);
    let digests: serde_json::Value = log.try_get(1)?;
    let counts: serde_json::Value = log.try_get(2)?;
    let cp: i64 = log.try_get(3)?;
    let mut rows = Vec::new();
    for f in &manifest.files {
        if digests.get(&f.name).and_then(|v| v.as_str()) != Some(f.sha256.as_str()) {
            report
                .problems
                .push(format!("{}: its digest is not the logged one", f.name));
        }
        if counts.get(&f.table).and_then(serde_json::Value::as_u64) != Some(f.rows) {
            report
                .problems
                .push(format!("{}: its row count is not the logged one", f.name));
        }
        match read_back(&tx, dir, f).await {
            Ok(r) => rows.extend(r),
            Err(AuditError::ArchiveMismatch(m)) | Err(AuditError::Archive { message: m, .. }) => {
                report.problems.push(m)
            }
            Err(e) => return Err(e),
        }
    }
    report.rows_checked = rows.len() as u64;
    let (heads, findings) = chain_heads(rows);
    report
        .problems
        .extend(findings.iter().map(ToString::to_string));
    let recorded: HashMap<(String, Uuid), Option<Vec<u8>>> = tx
        .query(
            "SELECT stream, stream_id, head FROM audit_checkpoint_heads \
             WHERE checkpoint_id = $1 AND seq = 0",
            &[&cp],
        )
        .await?
        .iter()
        .map(|r| -> Result<_, tokio_postgres::Error> {
            Ok(((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?))
        })
        .collect::<Result<_, _>>()?;
    report.streams_checked = heads.len() as u64;
    for ((stream, sid), (_, head)) in &heads {
        match recorded.get(&((*stream).to_owned(), *sid)) {
            Some(Some(h)) if h == head => {}
            _ => report.problems.push(format!(
                "{stream} stream {sid}: its chain does not end at the head archive checkpoint {cp} recorded"
            )),
        }
    }
    if recorded.len() != heads.len() {
        report.problems.push(format!(
            "archive checkpoint {cp} recorded {} streams, the archive has {}",
            recorded.len(),
            heads.len()
        ));
    }
    tx.commit().await?;
    report.ok = report.problems.is_empty();
    Ok(report)
}
