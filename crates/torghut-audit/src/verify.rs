//! `torghut audit verify`: recomputes every stream's hash chain from the rows, checks the stream
//! heads, the chained checkpoints and the projections (decision status, execution fill state)
//! against their events, and names every row that does not fit.
//!
//! Everything is read in one `REPEATABLE READ` read-only transaction (one snapshot), as streams
//! of rows consumed as they arrive: memory holds one stream (a strategy, decision or execution
//! with its events and reviews) at a time, whatever the size of the database.
//!
//! - The checkpoint chain: `audit_checkpoints` with their heads, in checkpoint and text order,
//!   each checkpoint's hash recomputed incrementally.
//! - For each stream kind, one query per table (by its stream-id index), one of its head rows
//!   and one of the heads checkpoints recorded, each ordered by stream id, read side by side as
//!   portals a fetch at a time and merged here ([`for_each_merged`]); the rows of one stream are
//!   checked together (chain, head, checkpoints, projections) and dropped.
//!
//! A legacy stream (rows written before the chain, sealed by the backfill
//! `0008_audit_seal_legacy` without being rewritten) has rows without chain columns, as many as
//! its head row's `legacy_rows`: they are put in their order (root, events by seq, reviews by
//! creation and id), given their places 1..n and the hashes folded from their digests, and then
//! checked like any chained row; the first chained row follows the last of them.
//!
//! Row content digests are computed here from the rows' values ([`crate::render`]), which is
//! much cheaper than PostgreSQL building a `jsonb` per row. A stream that shows any problem that
//! way is verified again with the digests and projection checks computed by PostgreSQL
//! (`audit_content`, `audit_initial`, `to_jsonb` with `TimeZone` UTC), and only that second
//! verification reports findings: what is reported never depends on the rendering here. Nothing
//! relies on the triggers that wrote the chain columns.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::pin::pin;

use futures_util::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Transaction};
use uuid::Uuid;

use crate::chain::{self, root_table, TABLES};
use crate::render::{self, Fields, Layout, Raw};
use crate::AuditError;

/// What is wrong with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The row's content (or its chain hash) changed since it was written.
    Modified,
    /// The row is intact but not at the place in its stream where it was written.
    Reordered,
    /// Rows that were written are missing.
    Deleted,
    /// A row that was not written through the sealing trigger, or beyond its stream's head.
    Inserted,
    /// A current-state row does not equal the replay of its events.
    Projection,
    /// The checkpoint chain itself does not verify.
    Checkpoint,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Modified => "MODIFIED",
            Self::Reordered => "REORDERED",
            Self::Deleted => "DELETED",
            Self::Inserted => "INSERTED",
            Self::Projection => "PROJECTION",
            Self::Checkpoint => "CHECKPOINT",
        })
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub problem: Problem,
    /// The table of the row (for rows that are gone: the table of the stream's root when the
    /// whole stream is gone, else `<stream> stream`).
    pub table: String,
    /// The row's id, when known.
    pub id: Option<Uuid>,
    /// `decision` or `execution` (empty for checkpoint findings).
    pub stream: String,
    pub stream_id: Option<Uuid>,
    /// The row's place in its stream (`chain_seq`), or the first missing one, or the
    /// checkpoint's id for checkpoint findings.
    pub seq: Option<i64>,
    pub detail: String,
}

impl Finding {
    /// A problem with checkpoint `id` (its chain, or an anchor of it).
    pub fn checkpoint(id: i64, detail: String) -> Self {
        Self {
            problem: Problem::Checkpoint,
            table: "audit_checkpoints".into(),
            id: None,
            stream: String::new(),
            stream_id: None,
            seq: Some(id),
            detail,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.problem, self.table)?;
        if let Some(id) = self.id {
            write!(f, " {id}")?;
        }
        write!(f, ": {}", self.detail)?;
        if let Some(sid) = self.stream_id {
            write!(f, " (stream {} {sid}", self.stream)?;
            if let Some(seq) = self.seq {
                write!(f, ", seq {seq}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

/// The result of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// No finding.
    pub ok: bool,
    pub rows_checked: u64,
    pub rows_by_table: BTreeMap<String, u64>,
    pub streams_checked: u64,
    /// Streams with rows that no checkpoint has recorded yet. Deleting such a stream whole
    /// (every row of it, and its head row) leaves nothing to compare with until a checkpoint
    /// records it: `torghut audit checkpoint` closes that window.
    pub streams_not_checkpointed: u64,
    /// Streams written before the chain that the backfill `0008_audit_seal_legacy` has not
    /// sealed yet (it is unfinished): verified once it has.
    pub streams_unsealed: u64,
    pub checkpoints_checked: u64,
    /// Streams verified a second time with the digests PostgreSQL computes, because they did not
    /// verify with the ones computed here (every stream with a finding is).
    pub streams_rechecked: u64,
    /// Lanes followed (one per server process that created streams; see `lanes.rs`), and the
    /// places in them (streams created, archived ones included).
    pub lanes_checked: u64,
    pub lane_places_checked: u64,
    /// The latest checkpoint: its id and hash (hex).
    pub latest_checkpoint: Option<(i64, String)>,
    /// `--since-checkpoint`: the checkpoint after which changes were verified (nothing else
    /// was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_checkpoint: Option<i64>,
    /// How many anchors kept outside the database were checked (`--anchors`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchors_checked: Option<u64>,
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    /// Human-readable lines.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in &self.findings {
            s.push_str(&format!("{f}\n"));
        }
        let tables: Vec<String> = self
            .rows_by_table
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        if self.streams_unsealed > 0 {
            s.push_str(&format!(
                "note: {} stream(s) written before the audit chain are not sealed yet (the \
                 backfill {} is unfinished: torghut migrate up); they are verified once it is\n",
                self.streams_unsealed,
                chain::LEGACY_BACKFILL
            ));
        }
        if let Some(cp) = self.since_checkpoint {
            s.push_str(&format!(
                "note: only what changed since checkpoint #{cp} was verified (streams whose head \
                 moved, roots created since the checkpoint before it); run audit verify without \
                 --since-checkpoint to verify everything\n"
            ));
        }
        if self.streams_not_checkpointed > 0 {
            s.push_str(&format!(
                "note: {} stream(s) not recorded by any checkpoint yet; their deletion is found \
                 by their lanes, but a rewrite that recomputes their hashes and their lanes only \
                 against a later checkpoint kept outside the database (torghut audit checkpoint \
                 --signing-key)\n",
                self.streams_not_checkpointed
            ));
        }
        s.push_str(&format!(
            "audit verify: {} ({} rows checked: {}; {} streams; {} lanes; {} checkpoints{})\n",
            if self.ok {
                "intact".to_owned()
            } else {
                format!("{} problem(s)", self.findings.len())
            },
            self.rows_checked,
            tables.join(", "),
            self.streams_checked,
            self.lanes_checked,
            self.checkpoints_checked,
            self.latest_checkpoint
                .as_ref()
                .map(|(id, h)| format!(", latest #{id} {h}"))
                .unwrap_or_default()
                + &self
                    .anchors_checked
                    .map(|n| format!("; {n} anchor(s) checked"))
                    .unwrap_or_default()
        ));
        s
    }
}

/// A chained row of a stream: its place and hash as stored, and the digest of its content now.
#[derive(Debug)]
struct ChainRow<'a> {
    table: &'static str,
    id: Uuid,
    seq: i64,
    hash: &'a [u8],
    digest: &'a [u8],
    /// A row written before the chain: its seq is its place among those rows and its hash the
    /// one recomputed from them (they have no chain columns).
    legacy: bool,
}

type StreamKey = (&'static str, Uuid);

/// A stream's head row: seq, head, legacy rows.
type Head = (i64, Option<Vec<u8>>, Option<i64>);

struct Findings(Vec<Finding>);

impl Findings {
    fn push(
        &mut self,
        problem: Problem,
        table: &str,
        id: Option<Uuid>,
        stream: (&str, Uuid),
        seq: Option<i64>,
        detail: String,
    ) {
        self.0.push(Finding {
            problem,
            table: table.to_owned(),
            id,
            stream: stream.0.to_owned(),
            stream_id: Some(stream.1),
            seq,
            detail,
        });
    }

    /// A problem with the chained row `r` of stream `key`.
    fn row(&mut self, problem: Problem, key: StreamKey, r: &ChainRow<'_>, detail: String) {
        self.push(problem, r.table, Some(r.id), key, Some(r.seq), detail);
    }

    /// A row of stream `key` without chain columns that the stream does not account for:
    /// written with the sealing trigger disabled.
    fn unsealed(&mut self, key: StreamKey, m: &Member<'_>, detail: String) {
        self.push(
            Problem::Inserted,
            TABLES[m.t].table,
            Some(m.id),
            key,
            None,
            detail,
        );
    }

    /// A problem with stream `key` rather than one of its rows (rows that are gone, a head
    /// that its rows do not lead to), from its place `seq` when there is one.
    fn stream(&mut self, problem: Problem, key: StreamKey, seq: Option<i64>, detail: String) {
        let (stream, _) = key;
        self.push(problem, &format!("{stream} stream"), None, key, seq, detail);
    }

    /// Stream `key`, of `rows` rows, is missing whole: reported on its root row.
    fn stream_missing(&mut self, key: StreamKey, rows: i64) {
        let (stream, sid) = key;
        self.push(
            Problem::Deleted,
            root_table(stream),
            Some(sid),
            key,
            Some(1),
            format!("the whole stream ({rows} rows) is missing"),
        );
    }
}

/// What to verify.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    /// Only what changed since the latest checkpoint that verifies (see [`verify_with`]).
    pub since_checkpoint: bool,
}

/// Verifies the whole audit chain of the connected database (see the module documentation).
pub async fn verify(client: &mut Client) -> Result<VerifyReport, AuditError> {
    verify_with(client, VerifyOptions::default()).await
}

/// Verifies the audit chain of the connected database as `options` say.
///
/// With `since_checkpoint`, only what changed after the latest checkpoint whose hash still
/// verifies (its heads and its link to the previous one; later ones that do not are reported):
/// the streams whose head row moved since a checkpoint recorded it (`pending`), and the roots
/// created since the checkpoint before it. Each such stream is verified whole, as by a full
/// verification; streams that did not change are not read. When no checkpoint verifies,
/// everything is verified. See ARCHITECTURE.md ("Audit integrity") for what this leaves out.
pub async fn verify_with(
    client: &mut Client,
    options: VerifyOptions,
) -> Result<VerifyReport, AuditError> {
    verify_parallel(client, Vec::new(), options).await
}

/// [`verify_with`], reading on `client` and on each of `helpers` (other connections to the same
/// database) side by side: every stream kind is cut into as many ranges of stream ids as there
/// are connections, and each connection takes the next range not taken yet. All of them read
/// the same snapshot (`pg_export_snapshot`, `SET TRANSACTION SNAPSHOT`), so the report is the
/// one a single connection would make. `--since-checkpoint` reads on `client` alone.
pub async fn verify_parallel(
    client: &mut Client,
    mut helpers: Vec<Client>,
    options: VerifyOptions,
) -> Result<VerifyReport, AuditError> {
    let tx = crate::read_only_snapshot(client).await?;
    if !crate::has_chain(&tx).await? {
        return Err(AuditError::NotMigrated);
    }
    tx.batch_execute("SET LOCAL \"TimeZone\" = 'UTC'; SET LOCAL jit = off")
        .await?;
    if options.since_checkpoint {
        helpers.clear();
    }
    let mut others = Vec::with_capacity(helpers.len());
    if !helpers.is_empty() {
        let snapshot: String = tx
            .query_one("SELECT pg_export_snapshot()", &[])
            .await?
            .try_get(0)?;
        for h in &mut helpers {
            let htx = crate::read_only_snapshot(h).await?;
            htx.batch_execute(&format!(
                "SET TRANSACTION SNAPSHOT '{}'; SET LOCAL \"TimeZone\" = 'UTC'; SET LOCAL jit = off",
                snapshot.replace('\'', "''")
            ))
            .await?;
            others.push(htx);
        }
    }
    let report = verify_in(&tx, &others, options).await?;
    for htx in others {
        htx.commit().await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// The stream kinds, in the order their findings are reported.
const KINDS: [&str; 3] = ["decision", "execution", "strategy"];
/// Row tags beside the tables' indexes in [`TABLES`]: a head row, a checkpointed head.
const TAG_HEAD: i32 = 7;
const TAG_CHECKPOINT: i32 = 8;
/// The table whose rows are ordered by creation inside a stream (not an event table).
const REVIEWS: &str = "llm_decision_reviews";
/// At most this many streams are verified again one batch at a time; beyond, the whole kind is.
const RECHECK_LIMIT: usize = 100_000;
const RECHECK_BATCH: usize = 1_000;

fn is_events(t: &chain::AuditTable) -> bool {
    TABLES
        .iter()
        .any(|r| r.events.is_some_and(|(e, _)| e == t.table))
}

/// Counts over the streams, kept by the pass that reads every stream once.
#[derive(Default)]
struct Stats {
    rows_by_table: [u64; TABLES.len()],
    streams_checked: u64,
    streams_not_checkpointed: u64,
    streams_unsealed: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        for (a, b) in self.rows_by_table.iter_mut().zip(o.rows_by_table) {
            *a += b;
        }
        self.streams_checked += o.streams_checked;
        self.streams_not_checkpointed += o.streams_not_checkpointed;
        self.streams_unsealed += o.streams_unsealed;
    }
}

/// What the pass computing digests here needs of a table: its layout and where its chain and
/// ordering columns are in its rows.
struct FastTable {
    layout: Layout,
    id: usize,
    chain_seq: usize,
    chain_hash: usize,
    /// An event's `seq` and `payload`.
    seq: Option<usize>,
    payload: Option<usize>,
    /// A review's `created_at`.
    created_at: Option<usize>,
}

impl FastTable {
    fn new(t: &chain::AuditTable, layout: Layout) -> Option<Self> {
        let col = |name: &str, oid: u32| layout.column(name).filter(|&i| layout.oid(i) == oid);
        let events = is_events(t);
        Some(Self {
            id: col("id", 2950)?,
            chain_seq: col("chain_seq", 20)?,
            chain_hash: col("chain_hash", 17)?,
            seq: if events { Some(col("seq", 23)?) } else { None },
            payload: if events {
                Some(col("payload", 3802)?)
            } else {
                None
            },
            created_at: if t.table == REVIEWS {
                Some(col("created_at", 1184)?)
            } else {
                None
            },
            layout,
        })
    }

    /// A row's chain columns and ordering values from its fields; `None` when they are not as
    /// the catalog describes them.
    fn read<'r>(&self, t: usize, fields: Fields<'r>) -> Option<Member<'r>> {
        fn int<const N: usize>(v: Option<&[u8]>) -> Option<Option<[u8; N]>> {
            v.map(|b| b.try_into().ok())
                .map_or(Some(None), |x| x.map(Some))
        }
        Some(Member {
            t,
            id: Uuid::from_slice(fields[self.id]?).ok()?,
            seq: int::<8>(fields[self.chain_seq])?.map(i64::from_be_bytes),
            hash: fields[self.chain_hash],
            digest: None,
            ord: match self.seq {
                Some(i) => int::<4>(fields[i])?.map(|b| i64::from(i32::from_be_bytes(b))),
                None => None,
            },
            at: match self.created_at {
                Some(i) => int::<8>(fields[i])?.map(i64::from_be_bytes),
                None => None,
            },
            fields: Some(fields),
        })
    }
}

async fn verify_in(
    tx: &Transaction<'_>,
    others: &[Transaction<'_>],
    options: VerifyOptions,
) -> Result<VerifyReport, AuditError> {
    let mut findings = Findings(Vec::new());
    let mut stats = Stats::default();
    let anchor = if options.since_checkpoint {
        since_checkpoint(tx).await?
    } else {
        None
    };
    let (checkpoints_checked, latest) = match &anchor {
        Some(a) => {
            findings.0.extend(a.findings.iter().cloned());
            (a.checked, a.latest.clone())
        }
        None => check_checkpoints(tx, &mut findings).await?,
    };
    let backfilled: bool = tx
        .query_one(
            "SELECT to_regclass('torghut_meta.schema_history') IS NOT NULL \
               AND EXISTS (SELECT 1 FROM torghut_meta.schema_history WHERE id = $1)",
            &[&chain::LEGACY_BACKFILL],
        )
        .await?
        .try_get(0)?;
    let mut rechecked = 0;
    if anchor.is_none() && !others.is_empty() {
        rechecked += verify_side_by_side(tx, others, backfilled, &mut stats, &mut findings).await?;
    } else {
        for kind in KINDS {
            let changed = match &anchor {
                Some(a) => Some(changed_streams(tx, kind, a.id).await?),
                None => None,
            };
            rechecked += verify_kind(
                tx,
                kind,
                backfilled,
                changed.as_deref(),
                (None, None),
                &mut stats,
                &mut findings,
            )
            .await?;
        }
    }

    let lanes =
        crate::lanes::check_lanes(tx, anchor.as_ref().map(|a| a.id), &mut findings.0).await?;

    // Findings by stream (checkpoint and lane findings first, then the kinds in their order, each by
    // stream id), in the order they were found within a stream: the same report whether the
    // streams were read on one connection or on several.
    let rank = |f: &Finding| {
        KINDS
            .iter()
            .position(|k| *k == f.stream)
            .map_or(0, |i| i + 1)
    };
    findings.0.sort_by_key(|f| (rank(f), f.stream_id));
    let mut seen = HashSet::new();
    let mut all = findings.0;
    all.retain(|f| {
        seen.insert((
            f.problem,
            f.table.clone(),
            f.id,
            f.stream_id,
            f.seq,
            f.detail.clone(),
        ))
    });
    let rows_by_table: BTreeMap<String, u64> = TABLES
        .iter()
        .zip(stats.rows_by_table)
        .map(|(t, n)| (t.table.to_owned(), n))
        .collect();
    Ok(VerifyReport {
        ok: all.is_empty(),
        rows_checked: stats.rows_by_table.iter().sum(),
        rows_by_table,
        streams_checked: stats.streams_checked,
        streams_not_checkpointed: stats.streams_not_checkpointed,
        streams_unsealed: stats.streams_unsealed,
        checkpoints_checked,
        streams_rechecked: rechecked,
        lanes_checked: lanes.lanes,
        lane_places_checked: lanes.streams,
        latest_checkpoint: latest,
        since_checkpoint: anchor.map(|a| a.id),
        anchors_checked: None,
        findings: all,
    })
}

/// Every stream kind cut into ranges of stream ids, verified on `tx` and `others` side by side
/// (each connection takes the next range); the findings are reported in the ranges' order.
async fn verify_side_by_side(
    tx: &Transaction<'_>,
    others: &[Transaction<'_>],
    backfilled: bool,
    stats: &mut Stats,
    findings: &mut Findings,
) -> Result<u64, AuditError> {
    let parts = others.len() + 1;
    let mut jobs: Vec<(&'static str, Option<Uuid>, Option<Uuid>)> = Vec::new();
    for kind in KINDS {
        let bounds = split_points(tx, kind, parts).await?;
        let mut lo = None;
        for b in bounds {
            jobs.push((kind, lo, Some(b)));
            lo = Some(b);
        }
        jobs.push((kind, lo, None));
    }
    let next = std::cell::Cell::new(0usize);
    type Done = (usize, Stats, Findings, u64);
    let workers = std::iter::once(tx).chain(others.iter()).map(|w| {
        let (jobs, next) = (&jobs, &next);
        async move {
            let mut done: Vec<Done> = Vec::new();
            loop {
                let i = next.get();
                let Some(&(kind, lo, hi)) = jobs.get(i) else {
                    return Ok::<_, AuditError>(done);
                };
                next.set(i + 1);
                let mut st = Stats::default();
                let mut found = Findings(Vec::new());
                let n =
                    verify_kind(w, kind, backfilled, None, (lo, hi), &mut st, &mut found).await?;
                done.push((i, st, found, n));
            }
        }
    });
    let mut all: Vec<Done> = futures_util::future::try_join_all(workers)
        .await?
        .into_iter()
        .flatten()
        .collect();
    all.sort_by_key(|d| d.0);
    let mut rechecked = 0;
    for (_, st, found, n) in all {
        stats.add(&st);
        findings.0.extend(found.0);
        rechecked += n;
    }
    Ok(rechecked)
}

/// Stream ids that cut a kind's streams into `parts` ranges of about as many streams each (its
/// root table's ids at even offsets of its index, by its row count as of its last ANALYZE);
/// fewer, or none, for a table too small or never analyzed.
async fn split_points(
    tx: &Transaction<'_>,
    kind: &'static str,
    parts: usize,
) -> Result<Vec<Uuid>, AuditError> {
    let root = root_table(kind);
    let rows: i64 = tx
        .query_one(
            &format!(
                "SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = '{root}'::regclass"
            ),
            &[],
        )
        .await?
        .try_get(0)?;
    let parts = parts as i64;
    if parts < 2 || rows < parts {
        return Ok(Vec::new());
    }
    let mut out: Vec<Uuid> = Vec::new();
    for i in 1..parts {
        let at = rows * i / parts;
        let id: Option<Uuid> = tx
            .query_opt(
                &format!("SELECT id FROM {root} ORDER BY id OFFSET $1 LIMIT 1"),
                &[&at],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if let Some(id) = id {
            if out.last().is_none_or(|l| *l < id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// The checkpoint `--since-checkpoint` starts from.
struct Anchor {
    id: i64,
    /// How many checkpoints were checked to find it, the latest one, and what was found wrong
    /// with the later ones.
    checked: u64,
    latest: Option<(i64, String)>,
    findings: Vec<Finding>,
}

/// The latest checkpoint that verifies: its hash is the hash of its heads and of the previous
/// checkpoint's hash, which it follows. Walks back from the latest one, reading only the heads
/// of the checkpoints it checks. `None` when there is none.
async fn since_checkpoint(tx: &Transaction<'_>) -> Result<Option<Anchor>, AuditError> {
    let mut out = Findings(Vec::new());
    let mut checked = 0u64;
    let mut latest = None;
    let mut next = tx
        .query_opt(
            "SELECT id, kind, streams, prev_hash, hash FROM audit_checkpoints ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await?;
    while let Some(cp) = next {
        let id: i64 = cp.try_get(0)?;
        let kind: String = cp.try_get(1)?;
        let streams: i64 = cp.try_get(2)?;
        let prev_hash: Option<Vec<u8>> = cp.try_get(3)?;
        let hash: Vec<u8> = cp.try_get(4)?;
        checked += 1;
        if latest.is_none() {
            latest = Some((id, hex::encode(&hash)));
        }
        let mut hasher = chain::CheckpointHasher::new(prev_hash.as_deref(), id, &kind);
        let mut heads = 0i64;
        let params: [&(dyn ToSql + Sync); 1] = [&id];
        let mut rows = pin!(
            tx.query_raw(
                "SELECT stream, stream_id, seq, head FROM audit_checkpoint_heads \
                 WHERE checkpoint_id = $1 ORDER BY stream COLLATE \"C\", stream_id",
                params,
            )
            .await?
        );
        while let Some(r) = rows.try_next().await? {
            let sid: Uuid = r.try_get(1)?;
            hasher.head(r.try_get(0)?, &sid, r.try_get(2)?, r.try_get(3)?);
            heads += 1;
        }
        next = tx
            .query_opt(
                "SELECT id, kind, streams, prev_hash, hash FROM audit_checkpoints \
                 WHERE id < $1 ORDER BY id DESC LIMIT 1",
                &[&id],
            )
            .await?;
        let before: Option<(i64, Vec<u8>)> = next
            .as_ref()
            .map(|r| -> Result<_, tokio_postgres::Error> { Ok((r.try_get(0)?, r.try_get(4)?)) })
            .transpose()?;
        let problems = checkpoint_problems(
            CheckpointSeen {
                id,
                streams,
                prev_hash: &prev_hash,
                hash: &hash,
                heads,
                computed: &hasher.finish(),
            },
            before.as_ref().map_or(1, |b| b.0 + 1),
            &before.map(|b| b.1),
        );
        let ok = problems.is_empty();
        out.0.extend(
            problems
                .into_iter()
                .map(|detail| Finding::checkpoint(id, detail)),
        );
        if ok {
            return Ok(Some(Anchor {
                id,
                checked,
                latest,
                findings: out.0,
            }));
        }
    }
    Ok(None)
}

/// The streams of a kind that changed since checkpoint `anchor`, in stream-id order: those whose
/// head row moved since a checkpoint last recorded it (`pending`, by its partial index), those
/// recorded by a checkpoint after it (later ones that did not verify), and those whose root was
/// created since the checkpoint before it (by `created_at`, indexed for decisions and
/// executions). None of this reads the streams that did not change.
async fn changed_streams(
    tx: &Transaction<'_>,
    kind: &'static str,
    anchor: i64,
) -> Result<Vec<Uuid>, AuditError> {
    let sql = format!(
        "SELECT h.stream_id FROM audit_chain_heads h WHERE h.stream = '{kind}' AND h.pending \
         UNION \
         SELECT c.stream_id FROM audit_checkpoint_heads c \
         WHERE c.checkpoint_id > $1 AND c.stream = '{kind}' \
         UNION \
         SELECT t.id FROM {root} t WHERE t.created_at >= coalesce( \
           (SELECT p.created_at FROM audit_checkpoints p WHERE p.id < $1 ORDER BY p.id DESC LIMIT 1), \
           '-infinity') \
         ORDER BY 1",
        root = root_table(kind),
    );
    let params: [&(dyn ToSql + Sync); 1] = [&anchor];
    let mut rows = pin!(tx.query_raw(&sql, params).await?);
    let mut out = Vec::new();
    while let Some(r) = rows.try_next().await? {
        out.push(r.try_get(0)?);
    }
    Ok(out)
}

/// Which streams of a kind a pass reads.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// These stream ids (`$1`).
    Ids(&'a [Uuid]),
    /// Stream ids from the first (included) to the second (excluded); `None`: unbounded.
    Range(Option<Uuid>, Option<Uuid>),
}

impl Scope<'_> {
    /// The SQL condition on a stream-id column, if any (a range's bounds are written as
    /// literals, so that each branch of the stream query keeps its index condition).
    fn cond(&self, col: &str) -> Option<String> {
        match self {
            Scope::Range(None, None) => None,
            Scope::Ids(_) => Some(format!("{col} = ANY($1)")),
            Scope::Range(lo, hi) => Some(
                [
                    lo.map(|l| format!("{col} >= '{l}'::uuid")),
                    hi.map(|h| format!("{col} < '{h}'::uuid")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" AND "),
            ),
        }
    }

    fn ids(&self) -> Option<&[Uuid]> {
        match self {
            Scope::Ids(ids) => Some(ids),
            _ => None,
        }
    }
}

/// Verifies the streams of one kind (those in `streams`, or all); returns how many were verified
/// again by PostgreSQL's digests.
async fn verify_kind(
    tx: &Transaction<'_>,
    kind: &'static str,
    backfilled: bool,
    streams: Option<&[Uuid]>,
    range: (Option<Uuid>, Option<Uuid>),
    stats: &mut Stats,
    out: &mut Findings,
) -> Result<u64, AuditError> {
    let batches: Vec<Scope<'_>> = match streams {
        None => vec![Scope::Range(range.0, range.1)],
        Some(ids) => ids.chunks(RECHECK_BATCH).map(Scope::Ids).collect(),
    };
    let mut tables: Vec<Option<FastTable>> = Vec::with_capacity(TABLES.len());
    let mut fast = true;
    for t in &TABLES {
        tables.push(if t.stream == kind {
            let table = Layout::load(tx, t.table)
                .await?
                .and_then(|l| FastTable::new(t, l));
            fast &= table.is_some();
            table
        } else {
            None
        });
    }
    let mut counted = Stats::default();
    let mut deferred: Vec<Uuid> = Vec::new();
    let mut overflow = false;
    let mut unreadable = !fast;
    let mut scratch = Vec::new();
    for batch in &batches {
        if unreadable {
            break;
        }
        let sqls = fast_sqls(kind, &tables, batch);
        for_each_merged(tx, &sqls, batch, |group| {
            if unreadable {
                return Ok(());
            }
            let Some(s) = StreamRows::read(group, Some(&tables))? else {
                unreadable = true;
                return Ok(());
            };
            let mut found = Findings(Vec::new());
            let sure = check_one(
                kind,
                &s,
                Digests::Here(&tables, &mut scratch),
                backfilled,
                Some(&mut counted),
                &mut found,
            );
            if let Some(sid) = s.sid {
                if !sure || !found.0.is_empty() {
                    if deferred.len() < RECHECK_LIMIT {
                        deferred.push(sid);
                    } else {
                        overflow = true;
                    }
                }
            }
            Ok(())
        })
        .await?;
    }
    if unreadable {
        // A column of a type not rendered here, or a row not as the catalog describes it:
        // PostgreSQL computes the digests of the whole kind.
        for batch in &batches {
            server_pass(tx, kind, backfilled, *batch, Some(stats), out).await?;
        }
        return Ok(0);
    }
    stats.add(&counted);
    if overflow {
        let mut n = 0;
        for batch in &batches {
            n += server_pass(tx, kind, backfilled, *batch, None, out).await?;
        }
        return Ok(n);
    }
    for batch in deferred.chunks(RECHECK_BATCH) {
        server_pass(tx, kind, backfilled, Scope::Ids(batch), None, out).await?;
    }
    Ok(deferred.len() as u64)
}

/// Verifies the streams of a kind (those in `only`, or all) with the digests and projection
/// checks PostgreSQL computes; returns how many streams it read.
async fn server_pass(
    tx: &Transaction<'_>,
    kind: &'static str,
    backfilled: bool,
    only: Scope<'_>,
    mut stats: Option<&mut Stats>,
    out: &mut Findings,
) -> Result<u64, AuditError> {
    let mut n = 0;
    for_each_stream(tx, &stream_sql(kind, &only), &only, |group| {
        let Some(s) = StreamRows::read(group, None)? else {
            return Ok(());
        };
        n += 1;
        check_one(
            kind,
            &s,
            Digests::Server,
            backfilled,
            stats.as_deref_mut(),
            out,
        );
        Ok(())
    })
    .await?;
    for t in TABLES
        .iter()
        .filter(|t| t.stream == kind && t.events.is_some())
    {
        check_projections(tx, t, only, out).await?;
    }
    Ok(n)
}

/// The indexes in [`TABLES`] of a kind's tables.
fn kind_tables(kind: &str) -> impl Iterator<Item = usize> + Clone + '_ {
    (0..TABLES.len()).filter(move |&i| TABLES[i].stream == kind)
}

/// The query of every row of a kind's streams, their head rows and checkpointed heads, ordered
/// by stream id (the server pass). Columns: stream id, tag (the table's index in [`TABLES`],
/// [`TAG_HEAD`], [`TAG_CHECKPOINT`]), id, seq, hash, the content digest computed by PostgreSQL,
/// an event's `seq`, a head's legacy rows or the checkpoint id, a review's `created_at`.
fn stream_sql(kind: &str, scope: &Scope<'_>) -> String {
    let mut parts = Vec::new();
    for i in kind_tables(kind) {
        let t = &TABLES[i];
        parts.push(format!(
            "SELECT t.{col} AS sid, {i} AS tag, t.id AS id, t.chain_seq AS seq, \
             t.chain_hash AS hash, {digest} AS digest, {ord} AS ord, {at} AS at \
             FROM {table} t{filter}",
            col = t.stream_column,
            table = t.table,
            digest = t.digest_sql(),
            ord = if is_events(t) {
                "t.seq::int8"
            } else {
                "NULL::int8"
            },
            at = if t.table == REVIEWS {
                "t.created_at"
            } else {
                "NULL::timestamptz"
            },
            filter = scope
                .cond(&format!("t.{}", t.stream_column))
                .map_or_else(String::new, |c| format!(" WHERE {c}")),
        ));
    }
    parts.extend(heads_sql(kind, scope));
    // The extra constant makes PostgreSQL project the merged rows into one slot: without it,
    // each row is sent from the slot of the branch it came from, and PostgreSQL looks up how to
    // send every column again whenever the branch changes (about every row).
    format!(
        "SELECT q.*, NULL::int4 AS one_slot FROM ({}) q ORDER BY q.sid",
        parts.join(" UNION ALL ")
    )
}

/// The queries of a kind's head rows and of its checkpointed heads, in the columns of
/// [`stream_sql`] (without an `ORDER BY`).
fn heads_sql(kind: &str, scope: &Scope<'_>) -> [String; 2] {
    let filter = |col: &str| {
        scope
            .cond(col)
            .map_or_else(String::new, |c| format!(" AND {c}"))
    };
    [
        format!(
            "SELECT h.stream_id AS sid, {TAG_HEAD} AS tag, NULL::uuid AS id, h.seq, h.head, \
             NULL::bytea AS digest, h.legacy_rows, NULL::timestamptz AS at \
             FROM audit_chain_heads h WHERE h.stream = '{kind}'{}",
            filter("h.stream_id")
        ),
        format!(
            "SELECT c.stream_id AS sid, {TAG_CHECKPOINT} AS tag, NULL::uuid AS id, c.seq, c.head, \
             NULL::bytea AS digest, c.checkpoint_id, NULL::timestamptz AS at \
             FROM audit_checkpoint_heads c WHERE c.stream = '{kind}' \
               AND EXISTS (SELECT 1 FROM audit_checkpoints p WHERE p.id = c.checkpoint_id){}",
            filter("c.stream_id")
        ),
    ]
}

/// Where a fast-pass row's table columns start: after the stream id and the tag.
const FAST_OFFSET: usize = 2;

/// The queries of a kind's fast pass, each ordered by stream id: one per table (stream id, tag,
/// then every column of the table as its layout lists them), its head rows and its checkpointed
/// heads (as in [`stream_sql`]). They are read side by side and merged here ([`for_each_merged`]):
/// each row is sent as stored, with no column of another table beside it.
fn fast_sqls(kind: &str, tables: &[Option<FastTable>], scope: &Scope<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for i in kind_tables(kind) {
        let (t, Some(Some(f))) = (&TABLES[i], tables.get(i)) else {
            continue;
        };
        out.push(format!(
            "SELECT t.{col} AS sid, {i} AS tag, {list} FROM {table} t{filter} ORDER BY 1",
            col = t.stream_column,
            list = f.layout.select_list(),
            table = t.table,
            filter = scope
                .cond(&format!("t.{}", t.stream_column))
                .map_or_else(String::new, |c| format!(" WHERE {c}")),
        ));
    }
    out.extend(heads_sql(kind, scope).map(|q| q + " ORDER BY 1"));
    out
}

/// The parameters of a stream query for `scope` (the ids of [`Scope::Ids`]).
fn scope_params(ids: &Option<Vec<Uuid>>) -> Vec<&(dyn ToSql + Sync)> {
    match ids {
        Some(ids) => vec![ids],
        None => Vec::new(),
    }
}

/// Runs `sql` and calls `f` with the rows of each stream in turn (consecutive rows with the same
/// stream id), as they arrive.
async fn for_each_stream(
    tx: &Transaction<'_>,
    sql: &str,
    scope: &Scope<'_>,
    mut f: impl FnMut(&[Row]) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let ids = scope.ids().map(<[Uuid]>::to_vec);
    let mut rows = pin!(tx.query_raw(sql, scope_params(&ids)).await?);
    let mut group: Vec<Row> = Vec::new();
    let mut current: Option<Option<Uuid>> = None;
    while let Some(row) = rows.try_next().await? {
        let sid: Option<Uuid> = row.try_get(0)?;
        if current.is_some_and(|c| c != sid) {
            f(&group)?;
            group.clear();
        }
        current = Some(sid);
        group.push(row);
    }
    if !group.is_empty() {
        f(&group)?;
    }
    Ok(())
}

/// Rows fetched at a time from each query of [`for_each_merged`].
const FETCH_ROWS: i32 = 2_000;

/// Rows taken between two turns of the connections ([`Merge::pump`]).
const PUMP_ROWS: usize = 256;

/// A fetch of rows from a portal, sent and not yet answered.
type Fetch<'p> = futures_util::future::BoxFuture<'p, Result<Vec<Row>, tokio_postgres::Error>>;

/// The queries of [`for_each_merged`] being read: for each, the rows fetched and not consumed
/// yet, and at most one fetch in flight. Fetches are answered in the order they were sent (one
/// connection), so they are awaited in that order.
struct Merge<'p, 't> {
    tx: &'p Transaction<'t>,
    portals: &'p [tokio_postgres::Portal],
    /// Each row with its stream id ([`sid_key`]).
    rows: Vec<std::collections::VecDeque<(SidKey, Row)>>,
    /// The portal may have more rows.
    more: Vec<bool>,
    /// A fetch of the portal is in flight.
    asked: Vec<bool>,
    inflight: std::collections::VecDeque<(usize, Fetch<'p>)>,
    /// Rows taken since the connections were last given a turn ([`Merge::pump`]).
    taken: usize,
}

impl<'p, 't> Merge<'p, 't> {
    fn new(tx: &'p Transaction<'t>, portals: &'p [tokio_postgres::Portal]) -> Self {
        let n = portals.len();
        Self {
            tx,
            portals,
            rows: (0..n).map(|_| Default::default()).collect(),
            more: vec![true; n],
            asked: vec![false; n],
            inflight: Default::default(),
            taken: 0,
        }
    }

    /// Every [`PUMP_ROWS`] rows taken: lets the connections read what PostgreSQL sent and hands
    /// it to the fetches in flight. On a runtime of one thread the connections read only when
    /// this task waits; without a turn now and then, PostgreSQL would stop at a full socket
    /// while the rows here are checked, instead of producing the next ones beside.
    async fn pump(&mut self) {
        if self.taken < PUMP_ROWS {
            return;
        }
        self.taken = 0;
        tokio::task::yield_now().await;
        for (_, fetch) in &mut self.inflight {
            if let std::task::Poll::Ready(r) = futures_util::poll!(&mut *fetch) {
                *fetch = Box::pin(std::future::ready(r));
            }
        }
    }

    /// Sends the next fetch of every portal that may have more rows, has fewer than a fetch
    /// left, and has none in flight: PostgreSQL reads them while the rows here are checked.
    async fn top_up(&mut self) {
        for i in 0..self.portals.len() {
            if self.more[i] && !self.asked[i] && self.rows[i].len() < FETCH_ROWS as usize {
                let mut fetch: Fetch<'p> =
                    Box::pin(self.tx.query_portal(&self.portals[i], FETCH_ROWS));
                // The first poll sends the request.
                if let std::task::Poll::Ready(r) = futures_util::poll!(&mut fetch) {
                    fetch = Box::pin(std::future::ready(r));
                }
                self.inflight.push_back((i, fetch));
                self.asked[i] = true;
            }
        }
    }

    /// Waits until portal `i` has a row here or no more rows.
    async fn wait(&mut self, i: usize) -> Result<(), AuditError> {
        while self.rows[i].is_empty() && self.asked[i] {
            let Some((j, fetch)) = self.inflight.pop_front() else {
                break;
            };
            let rows = fetch.await?;
            self.asked[j] = false;
            self.more[j] = rows.len() == FETCH_ROWS as usize;
            self.rows[j].reserve(rows.len());
            for r in rows {
                self.rows[j].push_back((sid_key(&r)?, r));
            }
        }
        Ok(())
    }

    /// The smallest stream id of the rows at the front (NULL after every id, as `ORDER BY`
    /// puts it); `None` when every portal is read.
    async fn front(&mut self) -> Result<Option<SidKey>, AuditError> {
        for i in 0..self.portals.len() {
            self.wait(i).await?;
        }
        Ok(self
            .rows
            .iter()
            .filter_map(|r| r.front())
            .map(|r| r.0)
            .min())
    }

    /// Moves every row of stream `key` into `group`.
    async fn take(&mut self, key: SidKey, group: &mut Vec<Row>) -> Result<(), AuditError> {
        for i in 0..self.portals.len() {
            while self.rows[i].front().is_some_and(|r| r.0 == key) {
                group.extend(self.rows[i].pop_front().map(|r| r.1));
                self.taken += 1;
                self.wait(i).await?;
            }
        }
        Ok(())
    }
}

/// A row's stream id, ordered as `ORDER BY` orders it (NULL after every id).
type SidKey = (bool, Option<Uuid>);

fn sid_key(r: &Row) -> Result<SidKey, tokio_postgres::Error> {
    let sid: Option<Uuid> = r.try_get(0)?;
    Ok((sid.is_none(), sid))
}

/// Runs the queries `sqls` (each ordered by stream id in its first column) side by side, as
/// portals fetched [`FETCH_ROWS`] rows at a time (the next fetch of each sent before the rows of
/// the last are checked), and calls `f` with the rows of each stream in turn: the rows of every
/// query with the smallest stream id not seen yet. Memory holds at most two fetches per query
/// and one stream.
///
/// The portals are planned with sorting disabled, so that each is an index scan in stream-id
/// order: a sort of a whole table's rows would spill them to disk before the first one arrived.
async fn for_each_merged(
    tx: &Transaction<'_>,
    sqls: &[String],
    scope: &Scope<'_>,
    mut f: impl FnMut(&[Row]) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let ids = scope.ids().map(<[Uuid]>::to_vec);
    let params = scope_params(&ids);
    tx.batch_execute("SET LOCAL enable_sort = off").await?;
    let mut portals = Vec::with_capacity(sqls.len());
    for sql in sqls {
        portals.push(tx.bind(sql.as_str(), &params).await?);
    }
    tx.batch_execute("RESET enable_sort").await?;
    let mut merge = Merge::new(tx, &portals);
    merge.top_up().await;
    let mut group: Vec<Row> = Vec::new();
    while let Some(key) = merge.front().await? {
        merge.take(key, &mut group).await?;
        merge.top_up().await;
        merge.pump().await;
        f(&group)?;
        group.clear();
    }
    Ok(())
}

/// One row of a stream's tables, as the stream query returns it.
struct Member<'r> {
    /// Its table (index in [`TABLES`]).
    t: usize,
    id: Uuid,
    seq: Option<i64>,
    hash: Option<&'r [u8]>,
    /// Its content digest computed by PostgreSQL (server pass).
    digest: Option<&'r [u8]>,
    /// Its values (fast pass).
    fields: Option<Fields<'r>>,
    /// An event's `seq`.
    ord: Option<i64>,
    /// A review's `created_at` (microseconds since 2000, as stored).
    at: Option<i64>,
}

/// The rows of one stream.
struct StreamRows<'r> {
    sid: Option<Uuid>,
    members: Vec<Member<'r>>,
    /// Its row in `audit_chain_heads`: seq, head and, for a legacy stream, its number of rows
    /// from before the chain.
    head: Option<Head>,
    /// The head the latest checkpoint recorded: seq, head, checkpoint id.
    checkpoint: Option<(i64, Option<Vec<u8>>, i64)>,
}

impl<'r> StreamRows<'r> {
    /// The rows of a stream as the fast query (`fast`: the tables' layouts) or the server query
    /// returns them; `None` when a row is not as its table's layout describes it, an error when
    /// a column cannot be decoded.
    fn read(
        rows: &'r [Row],
        fast: Option<&[Option<FastTable>]>,
    ) -> Result<Option<Self>, tokio_postgres::Error> {
        let mut s = StreamRows {
            sid: match rows.first() {
                Some(r) => r.try_get(0)?,
                None => None,
            },
            members: Vec::with_capacity(rows.len()),
            head: None,
            checkpoint: None,
        };
        for r in rows {
            let tag: i32 = r.try_get(1)?;
            match tag {
                TAG_HEAD => s.head = Some((r.try_get(3)?, r.try_get(4)?, r.try_get(6)?)),
                TAG_CHECKPOINT => {
                    let cp: i64 = r.try_get(6)?;
                    if s.checkpoint.as_ref().is_none_or(|c| c.2 < cp) {
                        s.checkpoint = Some((r.try_get(3)?, r.try_get(4)?, cp));
                    }
                }
                _ => {
                    let Ok(t) = usize::try_from(tag) else {
                        return Ok(None);
                    };
                    s.members.push(match fast {
                        Some(tables) => match fast_member(tables, t, r) {
                            Some(m) => m,
                            None => return Ok(None),
                        },
                        None => Member {
                            t,
                            id: r.try_get(2)?,
                            seq: r.try_get(3)?,
                            hash: r.try_get(4)?,
                            digest: r.try_get(5)?,
                            fields: None,
                            ord: r.try_get(6)?,
                            at: r
                                .try_get::<_, Option<Raw<'r>>>(7)?
                                .and_then(|x| x.0.try_into().ok())
                                .map(i64::from_be_bytes),
                        },
                    });
                }
            }
        }
        Ok(Some(s))
    }
}

/// A row of table `t` (index in [`TABLES`]) as the fast query returns it, read with the table's
/// layout; `None` when it is not as the layout describes it.
fn fast_member<'r>(tables: &[Option<FastTable>], t: usize, r: &'r Row) -> Option<Member<'r>> {
    let table = tables.get(t)?.as_ref()?;
    table.read(t, table.layout.fields_at(r, FAST_OFFSET)?)
}

/// Where content digests come from.
enum Digests<'a> {
    /// Computed by PostgreSQL (the row's `digest` column).
    Server,
    /// Computed here from the rows' values, with the tables' layouts (by index in [`TABLES`])
    /// and a scratch buffer.
    Here(&'a [Option<FastTable>], &'a mut Vec<u8>),
}

/// Checks one stream: its rows from before the chain (legacy rows), its chain, head and
/// checkpointed head, and (digests computed here) its projections. `backfilled`: the backfill
/// sealing legacy streams is complete. Returns `false` when the digests could not all be
/// computed here or the projections do not replay (the findings are then incomplete: the stream
/// must be verified with PostgreSQL's digests).
fn check_one(
    kind: &'static str,
    s: &StreamRows<'_>,
    digests: Digests<'_>,
    backfilled: bool,
    stats: Option<&mut Stats>,
    out: &mut Findings,
) -> bool {
    let mut computed: Vec<[u8; 32]> = Vec::new();
    let mut sure = true;
    if let Digests::Here(layouts, scratch) = digests {
        match digests_here(s, layouts, scratch) {
            Some(d) => computed = d,
            None => sure = false,
        }
    }
    let digest = |i: usize| -> &[u8] {
        match computed.get(i) {
            Some(d) => &d[..],
            None => s.members[i].digest.unwrap_or_default(),
        }
    };
    let mut stats = stats;
    if let Some(stats) = stats.as_deref_mut() {
        for m in &s.members {
            if let Some(n) = stats.rows_by_table.get_mut(m.t) {
                *n += 1;
            }
        }
    }
    let Some(sid) = s.sid else {
        return sure;
    };
    let key = (kind, sid);
    let is_root = |m: &Member<'_>| TABLES[m.t].events.is_some() && m.id == sid;

    // Rows without chain columns: a legacy stream's first rows (its head says how many), in
    // their order (root, events by seq, reviews by creation and id); a stream whose root has
    // none and that has no head is not sealed yet while the backfill is unfinished; any other
    // such row was written with the sealing trigger off.
    let mut nulls: Vec<usize> = (0..s.members.len())
        .filter(|&i| TABLES.get(s.members[i].t).is_some())
        .filter(|&i| s.members[i].seq.is_none() || s.members[i].hash.is_none())
        .collect();
    let mut legacy: Vec<usize> = Vec::new();
    let mut unsealed = false;
    match s.head.as_ref().and_then(|h| h.2) {
        None => {
            if !backfilled && s.head.is_none() && nulls.iter().any(|&i| is_root(&s.members[i])) {
                unsealed = true;
            } else {
                for &i in &nulls {
                    let m = &s.members[i];
                    out.unsealed(
                        key,
                        m,
                        "no chain hash: written with the sealing trigger disabled".into(),
                    );
                }
            }
        }
        Some(n) => {
            nulls.sort_by_key(|&i| {
                let m = &s.members[i];
                let order = if is_root(m) {
                    0
                } else if is_events(&TABLES[m.t]) {
                    1
                } else {
                    2
                };
                (order, m.ord.unwrap_or(0), m.at, m.id)
            });
            let found = nulls.len() as i64;
            if found < n {
                out.stream(
                    Problem::Deleted,
                    key,
                    Some(found + 1),
                    format!("{n} rows written before the chain were sealed, {found} are left"),
                );
            }
            for (k, &i) in nulls.iter().enumerate() {
                if k as i64 >= n {
                    let m = &s.members[i];
                    out.unsealed(
                        key,
                        m,
                        format!(
                            "no chain hash, and the stream had only {n} rows from before the \
                             chain: written with the sealing trigger disabled"
                        ),
                    );
                } else {
                    legacy.push(i);
                }
            }
        }
    }
    // Legacy rows take places 1..n, each linked to the one before: a change in one of them
    // breaks the link of the first row after them, or the head.
    let mut legacy_hashes: Vec<[u8; 32]> = Vec::with_capacity(legacy.len());
    for &i in &legacy {
        let mut h = Sha256::new();
        if let Some(p) = legacy_hashes.last() {
            h.update(p);
        }
        h.update(digest(i));
        legacy_hashes.push(h.finalize().into());
    }
    let mut chained = Vec::with_capacity(s.members.len());
    for (k, &i) in legacy.iter().enumerate() {
        let m = &s.members[i];
        chained.push(ChainRow {
            table: TABLES[m.t].table,
            id: m.id,
            seq: k as i64 + 1,
            hash: &legacy_hashes[k],
            digest: digest(i),
            legacy: true,
        });
    }
    for (i, m) in s.members.iter().enumerate() {
        if let (Some(t), Some(seq), Some(hash)) = (TABLES.get(m.t), m.seq, m.hash) {
            chained.push(ChainRow {
                table: t.table,
                id: m.id,
                seq,
                hash,
                digest: digest(i),
                legacy: false,
            });
        }
    }
    if let Some(stats) = stats {
        let present = !chained.is_empty();
        if present || s.head.is_some() {
            stats.streams_checked += 1;
        }
        if present && s.checkpoint.is_none() {
            stats.streams_not_checkpointed += 1;
        }
        if unsealed {
            stats.streams_unsealed += 1;
        }
    }
    if !sure {
        return false;
    }
    if !chained.is_empty() || s.head.is_some() {
        check_stream(key, &mut chained, s.head.as_ref(), out);
    }
    check_against_checkpoint(key, s, &chained, out);
    true
}

/// The content digest of every member of a stream, computed here (a root's from the values it
/// was created with, rebuilt from its events as `audit_initial` does), in member order; `None`
/// when one cannot be, or when the projections do not replay (see [`check_projections`]).
fn digests_here(
    s: &StreamRows<'_>,
    tables: &[Option<FastTable>],
    scratch: &mut Vec<u8>,
) -> Option<Vec<[u8; 32]>> {
    // The events of the stream's root, by seq, with their changes.
    let mut events: Vec<(i64, Vec<render::Change<'_>>)> = Vec::new();
    for m in &s.members {
        if let Some(p) = tables.get(m.t)?.as_ref()?.payload {
            events.push((m.ord?, render::changes(m.fields.as_ref()?[p]?)?));
        }
    }
    events.sort_by_key(|e| e.0);
    if events.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    let mut initial: Vec<(&str, &str)> = Vec::new();
    for (_, changes) in &events {
        for c in changes {
            if !initial.iter().any(|(k, _)| *k == c.key) {
                initial.push((&c.key, c.from.unwrap_or("null")));
            }
        }
    }
    let mut out = Vec::with_capacity(s.members.len());
    for m in &s.members {
        let layout = &tables.get(m.t)?.as_ref()?.layout;
        let f = m.fields.as_ref()?;
        let root = TABLES[m.t].events.is_some() && Some(m.id) == s.sid;
        if root && !events.is_empty() && !projections_replay(layout, f, &events) {
            return None;
        }
        out.push(layout.digest(f, if root { &initial } else { &[] }, scratch)?);
    }
    // Each event's `from` must be the previous change's `to` (also without a root).
    let mut last_to: Vec<(&str, Option<&str>)> = Vec::new();
    for (_, changes) in &events {
        for c in changes {
            match last_to.iter_mut().find(|(k, _)| *k == c.key) {
                Some((_, prev)) => {
                    if prev.is_some() && c.from != *prev {
                        return None;
                    }
                    *prev = c.to;
                }
                None => last_to.push((&c.key, c.to)),
            }
        }
    }
    Some(out)
}

/// Whether the root's current values are the `to` of the last event that changed each column
/// (`(to_jsonb(t) -> key)::text` against that `to`).
fn projections_replay(
    layout: &Layout,
    root: &render::Fields<'_>,
    events: &[(i64, Vec<render::Change<'_>>)],
) -> bool {
    let mut last: Vec<(&str, Option<&str>)> = Vec::new();
    for (_, changes) in events {
        for c in changes {
            match last.iter_mut().find(|(k, _)| *k == c.key) {
                Some((_, to)) => *to = c.to,
                None => last.push((&c.key, c.to)),
            }
        }
    }
    last.iter()
        .all(|(k, to)| match layout.member_text(root, k) {
            Some(now) => now.as_deref() == to.map(str::as_bytes),
            None => false,
        })
}

/// The stream compared with the head the latest checkpoint recorded for it.
fn check_against_checkpoint(
    key: StreamKey,
    s: &StreamRows<'_>,
    chained: &[ChainRow<'_>],
    out: &mut Findings,
) {
    let Some((seq, head, cp)) = &s.checkpoint else {
        return;
    };
    let present = !chained.is_empty();
    if *seq == 0 {
        if present {
            out.stream(
                Problem::Inserted,
                key,
                None,
                format!("rows in a stream archived at checkpoint {cp}"),
            );
        }
        return;
    }
    if !present {
        let rows = s.head.as_ref().map_or(*seq, |h| h.0);
        out.stream_missing(key, rows);
        return;
    }
    // The row at the recorded place (one with the recorded hash, if several claim it).
    let at = chained
        .iter()
        .filter(|r| r.seq == *seq)
        .max_by_key(|r| Some(r.hash) == head.as_deref());
    match at {
        None => out.stream(
            Problem::Deleted,
            key,
            Some(*seq),
            format!("row {seq}, recorded by checkpoint {cp}, is missing"),
        ),
        Some(r) if Some(r.hash) != head.as_deref() => out.row(
            Problem::Modified,
            key,
            r,
            if r.legacy {
                format!(
                    "the hash of the rows written before the audit chain up to this one is not \
                     the one checkpoint {cp} recorded: one of them changed (legacy rows 1..{seq})"
                )
            } else {
                format!("its chain hash is not the one checkpoint {cp} recorded")
            },
        ),
        Some(_) => {}
    }
}

/// Whether `hash` is `sha256(prev || digest)`.
fn links(prev: Option<&[u8]>, digest: &[u8], hash: &[u8]) -> bool {
    let mut h = Sha256::new();
    if let Some(p) = prev {
        h.update(p);
    }
    h.update(digest);
    h.finalize().as_slice() == hash
}

fn check_stream(
    key: StreamKey,
    rows: &mut [ChainRow<'_>],
    head: Option<&Head>,
    out: &mut Findings,
) {
    let (stream, sid) = key;
    let root = root_table(stream);
    if rows.is_empty() {
        if let Some((seq, _, _)) = head {
            out.stream_missing(key, *seq);
        }
        return;
    }
    if !rows.iter().any(|r| r.table == root && r.id == sid) {
        out.push(
            Problem::Deleted,
            root,
            Some(sid),
            key,
            None,
            "the stream's root row is missing".into(),
        );
    }
    rows.sort_by(|a, b| (a.seq, a.table, a.id).cmp(&(b.seq, b.table, b.id)));
    let legacy = rows.iter().filter(|r| r.legacy).count();
    // Rebuild the order the rows were written in by following the hashes from the root: at
    // each place, the row whose hash links to the previous one. When none does, the row that
    // claims the place is taken (its content was changed: modified), or, when no row claims
    // it, the place is missing (deleted) and the chain resumes at the next claimed place.
    let n = rows.len();
    let head_seq = head.map_or(1, |h| h.0);
    let mut placed = vec![false; n];
    // Every row before `lo` is placed.
    let mut lo = 0;
    let mut prev: Option<usize> = None;
    let mut pos = 1i64;
    let mut after_gap = false;
    loop {
        while lo < n && placed[lo] {
            lo += 1;
        }
        let prev_hash = prev.map(|p| rows[p].hash);
        let linked =
            (lo..n).find(|&k| !placed[k] && links(prev_hash, rows[k].digest, rows[k].hash));
        let k = match linked {
            Some(k) => {
                let r = &rows[k];
                if r.seq != pos {
                    out.row(
                        Problem::Reordered,
                        key,
                        r,
                        format!("intact, but written as row {pos} of its stream"),
                    );
                }
                k
            }
            None => {
                let claim = (lo..n).find(|&k| !placed[k] && rows[k].seq == pos);
                match claim {
                    Some(k) => {
                        let r = &rows[k];
                        if pos > head_seq {
                            out.row(
                                Problem::Inserted,
                                key,
                                r,
                                format!("beyond the stream's head (row {head_seq})"),
                            );
                        } else if !after_gap {
                            out.row(
                                Problem::Modified,
                                key,
                                r,
                                if prev.is_some_and(|p| rows[p].legacy) && !r.legacy {
                                    // The first row after the legacy rows: they are hashed
                                    // here, so a change in one of them shows here.
                                    format!(
                                        "its chain hash does not follow the rows written before \
                                         the audit chain: it changed, or one of them did \
                                         (legacy rows 1..{legacy})"
                                    )
                                } else {
                                    "its content no longer matches its chain hash".into()
                                },
                            );
                        }
                        k
                    }
                    None => {
                        let next = (lo..n)
                            .filter(|&k| !placed[k] && rows[k].seq > pos)
                            .min_by_key(|&k| rows[k].seq);
                        let Some(k) = next else { break };
                        let seq = rows[k].seq;
                        out.stream(
                            Problem::Deleted,
                            key,
                            Some(pos),
                            if seq - 1 == pos {
                                format!("row {pos} of the stream is missing")
                            } else {
                                format!("rows {pos} to {} of the stream are missing", seq - 1)
                            },
                        );
                        pos = seq;
                        after_gap = true;
                        continue;
                    }
                }
            }
        };
        placed[k] = true;
        prev = Some(k);
        pos += 1;
        after_gap = false;
    }
    for (k, r) in rows.iter().enumerate() {
        if !placed[k] {
            out.row(
                Problem::Inserted,
                key,
                r,
                "not part of its stream's chain (its place is held by another row)".into(),
            );
        }
    }
    let last_seq = pos - 1;
    let last_hash = prev.map(|p| rows[p].hash);
    match head {
        None => {
            // A stream of one row (its root) has no head row; any other row needs one.
            for r in rows
                .iter()
                .filter(|r| !(r.table == root && r.id == sid && r.seq == 1))
            {
                out.row(
                    Problem::Inserted,
                    key,
                    r,
                    "its stream has no head: written out of band".into(),
                );
            }
        }
        Some((hseq, hhead, _)) => {
            if *hseq > last_seq {
                out.stream(
                    Problem::Deleted,
                    key,
                    Some(last_seq + 1),
                    format!(
                        "the stream ends at row {last_seq} but its head is at row {hseq}: the last rows are missing"
                    ),
                );
            } else if *hseq < last_seq {
                for r in rows.iter().filter(|r| r.seq > *hseq) {
                    out.row(
                        Problem::Inserted,
                        key,
                        r,
                        format!("beyond the stream's head (row {hseq})"),
                    );
                }
            } else if hhead.as_deref().is_some_and(|h| last_hash != Some(h)) {
                if prev.is_some_and(|p| rows[p].legacy) {
                    out.stream(
                        Problem::Modified,
                        key,
                        None,
                        format!(
                            "a row written before the audit chain changed (legacy rows \
                             1..{legacy}): their hashes do not lead to the stream head"
                        ),
                    );
                } else if let Some(r) = rows.last() {
                    out.row(
                        Problem::Modified,
                        key,
                        r,
                        "its chain hash is not the one the stream head recorded".into(),
                    );
                }
            }
        }
    }
}

/// The checkpoint chain, read in checkpoint order with each checkpoint's heads in the order its
/// text lists them, hashed as they arrive: contiguous ids, previous hashes, head counts and
/// recomputed hashes. Returns how many checkpoints there are and the latest.
/// One checkpoint as read: its row, how many heads it has, and the hash they give.
struct CheckpointSeen<'a> {
    id: i64,
    streams: i64,
    prev_hash: &'a Option<Vec<u8>>,
    hash: &'a [u8],
    heads: i64,
    computed: &'a [u8],
}

/// What is wrong with a checkpoint, given the id it should have and the hash of the checkpoint
/// before it (the checks of a full run and of `--since-checkpoint`).
fn checkpoint_problems(
    cp: CheckpointSeen<'_>,
    expected: i64,
    before: &Option<Vec<u8>>,
) -> Vec<String> {
    let mut out = Vec::new();
    if cp.id != expected {
        out.push(format!(
            "checkpoints {expected} to {} are missing",
            cp.id - 1
        ));
    }
    if cp.prev_hash != before {
        out.push("its previous hash is not the previous checkpoint's".into());
    }
    if cp.heads != cp.streams {
        out.push(format!(
            "records {} stream heads but {} are there",
            cp.streams, cp.heads
        ));
    }
    if cp.computed != cp.hash {
        out.push("its content no longer matches its hash".into());
    }
    out
}

async fn check_checkpoints(
    tx: &Transaction<'_>,
    out: &mut Findings,
) -> Result<(u64, Option<(i64, String)>), AuditError> {
    struct Open {
        id: i64,
        streams: i64,
        prev_hash: Option<Vec<u8>>,
        hash: Vec<u8>,
        hasher: chain::CheckpointHasher,
        heads: i64,
    }
    let mut cp_finding = |id: i64, detail: String| out.0.push(Finding::checkpoint(id, detail));
    let mut prev: Option<Vec<u8>> = None;
    let mut expected = 1i64;
    let mut latest = None;
    let mut count = 0u64;
    let mut close = |cp: Open,
                     prev: &mut Option<Vec<u8>>,
                     expected: &mut i64,
                     latest: &mut Option<(i64, String)>| {
        let id = cp.id;
        let seen = CheckpointSeen {
            id,
            streams: cp.streams,
            prev_hash: &cp.prev_hash,
            hash: &cp.hash,
            heads: cp.heads,
            computed: &cp.hasher.finish(),
        };
        for detail in checkpoint_problems(seen, *expected, prev) {
            cp_finding(id, detail);
        }
        *latest = Some((id, hex::encode(&cp.hash)));
        *prev = Some(cp.hash);
        *expected = id + 1;
    };
    let no_params: [&(dyn ToSql + Sync); 0] = [];
    let mut rows = pin!(
        tx.query_raw(
            "SELECT c.id, c.kind, c.streams, c.prev_hash, c.hash, h.stream, h.stream_id, h.seq, h.head \
             FROM audit_checkpoints c LEFT JOIN audit_checkpoint_heads h ON h.checkpoint_id = c.id \
             ORDER BY c.id, h.stream COLLATE \"C\", h.stream_id",
            no_params,
        )
        .await?
    );
    let mut open: Option<Open> = None;
    while let Some(r) = rows.try_next().await? {
        let id: i64 = r.try_get(0)?;
        if open.as_ref().is_none_or(|o| o.id != id) {
            if let Some(cp) = open.take() {
                close(cp, &mut prev, &mut expected, &mut latest);
            }
            let kind: &str = r.try_get(1)?;
            let prev_hash: Option<Vec<u8>> = r.try_get(3)?;
            count += 1;
            open = Some(Open {
                id,
                streams: r.try_get(2)?,
                hasher: chain::CheckpointHasher::new(prev_hash.as_deref(), id, kind),
                prev_hash,
                hash: r.try_get(4)?,
                heads: 0,
            });
        }
        let stream: Option<&str> = r.try_get(5)?;
        if let (Some(stream), Some(o)) = (stream, open.as_mut()) {
            let sid: Uuid = r.try_get(6)?;
            let head: Option<&[u8]> = r.try_get(8)?;
            o.hasher.head(stream, &sid, r.try_get(7)?, head);
            o.heads += 1;
        }
    }
    if let Some(cp) = open.take() {
        close(cp, &mut prev, &mut expected, &mut latest);
    }
    for r in tx
        .query(
            "SELECT DISTINCT h.checkpoint_id FROM audit_checkpoint_heads h \
             WHERE NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.id = h.checkpoint_id) \
             ORDER BY 1",
            &[],
        )
        .await?
    {
        out.0.push(Finding::checkpoint(
            r.try_get(0)?,
            "stream heads of a checkpoint that does not exist".into(),
        ));
    }
    Ok((count, latest))
}

/// The current row of a root (`t`, those in `only` or all) must be the replay of its events:
/// for every column an event changed, the `to` of the last such event, and each such event's
/// `from` the previous one's `to` (a change made between two recorded ones, with the capture
/// trigger off, breaks that link).
async fn check_projections(
    tx: &Transaction<'_>,
    t: &chain::AuditTable,
    scope: Scope<'_>,
    out: &mut Findings,
) -> Result<(), AuditError> {
    let Some((ev, fk)) = t.events else {
        return Ok(());
    };
    let changes = "jsonb_each(CASE WHEN jsonb_typeof(e.payload -> 'changes') = 'object' \
                   THEN e.payload -> 'changes' ELSE '{}'::jsonb END) AS c";
    let root_filter = scope
        .cond("t.id")
        .map_or_else(String::new, |c| format!(" AND {c}"));
    let event_filter = scope
        .cond(&format!("e.{fk}"))
        .map_or_else(String::new, |c| format!(" WHERE {c}"));
    let only = scope.ids();
    let sql = format!(
        "SELECT t.id, s.k, NULL::int4 FROM {root} t JOIN LATERAL ( \
           SELECT DISTINCT ON (c.key) c.key AS k, c.value -> 'to' AS v \
           FROM {ev} e, {changes} WHERE e.{fk} = t.id ORDER BY c.key, e.seq DESC) s ON true \
         WHERE (to_jsonb(t) -> s.k)::text IS DISTINCT FROM s.v::text{root_filter} \
         UNION ALL \
         SELECT x.sid, x.k, x.seq FROM ( \
           SELECT e.{fk} AS sid, c.key AS k, e.seq, c.value -> 'from' AS f, \
                  lag(c.value -> 'to') OVER (PARTITION BY e.{fk}, c.key ORDER BY e.seq) AS prev \
           FROM {ev} e, {changes}{event_filter}) x \
         WHERE x.prev IS NOT NULL AND x.f::text IS DISTINCT FROM x.prev::text \
         ORDER BY 1, 2, 3",
        root = t.table,
    );
    let ids: Vec<Uuid> = only.map(<[Uuid]>::to_vec).unwrap_or_default();
    let params: Vec<&(dyn ToSql + Sync)> = if only.is_some() {
        vec![&ids]
    } else {
        Vec::new()
    };
    let mut rows = pin!(tx.query_raw(&sql, params).await?);
    while let Some(r) = rows.try_next().await? {
        let id: Uuid = r.try_get(0)?;
        let column: String = r.try_get(1)?;
        let seq: Option<i32> = r.try_get(2)?;
        let detail = match seq {
            None => format!(
                "{column} is not the value its last recorded change set: changed without \
                 an event"
            ),
            Some(seq) => format!(
                "event {seq} changes {column} from another value than the previous \
                 event left: changed without an event in between"
            ),
        };
        out.push(
            Problem::Projection,
            t.table,
            Some(id),
            (t.stream, id),
            seq.map(i64::from),
            detail,
        );
    }
    Ok(())
}
