//! `torghut audit verify`: recomputes every stream's hash chain from the rows, checks the stream
//! heads, the chained checkpoints and the projections (decision status, execution fill state)
//! against their events, and names every row that does not fit.
//!
//! Everything is read in one `REPEATABLE READ` read-only transaction (one snapshot); the row
//! content is rendered by PostgreSQL (`to_jsonb` with `TimeZone` UTC) and hashed server-side,
//! the chains and checkpoints are recomputed here. Nothing relies on the triggers that wrote the
//! chain columns.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde::Serialize;
use tokio_postgres::{Client, IsolationLevel, Transaction};
use uuid::Uuid;

use crate::chain::{self, root_table, CheckpointHead, TABLES};
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
    /// The latest checkpoint: its id and hash (hex).
    pub latest_checkpoint: Option<(i64, String)>,
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
        if self.streams_not_checkpointed > 0 {
            s.push_str(&format!(
                "note: {} stream(s) not recorded by any checkpoint yet; the deletion of such a \
                 stream as a whole is found only once a checkpoint records it \
                 (torghut audit checkpoint)\n",
                self.streams_not_checkpointed
            ));
        }
        s.push_str(&format!(
            "audit verify: {} ({} rows checked: {}; {} streams; {} checkpoints{})\n",
            if self.ok {
                "intact".to_owned()
            } else {
                format!("{} problem(s)", self.findings.len())
            },
            self.rows_checked,
            tables.join(", "),
            self.streams_checked,
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

#[derive(Debug)]
struct ChainRow {
    table: &'static str,
    id: Uuid,
    seq: i64,
    hash: Vec<u8>,
    digest: Vec<u8>,
}

type StreamKey = (&'static str, Uuid);

/// A row without chain columns: written before the chain (or out of band).
struct LegacyRow {
    table: &'static str,
    id: Uuid,
    root: bool,
    order: chain::LegacyOrder,
    digest: Vec<u8>,
}

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
}

/// Verifies the whole audit chain of the connected database (see the module documentation).
pub async fn verify(client: &mut Client) -> Result<VerifyReport, AuditError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    if !crate::has_chain(&tx).await? {
        return Err(AuditError::NotMigrated);
    }
    tx.batch_execute("SET LOCAL \"TimeZone\" = 'UTC'").await?;
    let report = verify_in(&tx).await?;
    tx.commit().await?;
    Ok(report)
}

async fn verify_in(tx: &Transaction<'_>) -> Result<VerifyReport, AuditError> {
    let mut findings = Findings(Vec::new());
    let mut rows_by_table = BTreeMap::new();
    let mut streams: HashMap<StreamKey, Vec<ChainRow>> = HashMap::new();

    let mut legacy: HashMap<StreamKey, Vec<LegacyRow>> = HashMap::new();
    for t in TABLES {
        let rows = tx.query(&t.select_sql(""), &[]).await?;
        rows_by_table.insert(t.table.to_owned(), rows.len() as u64);
        for r in rows {
            let id: Uuid = r.get(0);
            let sid: Option<Uuid> = r.get(1);
            let seq: Option<i64> = r.get(2);
            let hash: Option<Vec<u8>> = r.get(3);
            let digest: Vec<u8> = r.get(4);
            let Some(sid) = sid else { continue };
            match (seq, hash) {
                (Some(seq), Some(hash)) => {
                    streams.entry((t.stream, sid)).or_default().push(ChainRow {
                        table: t.table,
                        id,
                        seq,
                        hash,
                        digest,
                    })
                }
                _ => legacy.entry((t.stream, sid)).or_default().push(LegacyRow {
                    table: t.table,
                    id,
                    root: t.kind() == 0,
                    order: (t.kind(), r.get(5), r.get(6), id),
                    digest,
                }),
            }
        }
    }

    // The stream heads (a stream of one row, its root, has none; a legacy stream always has
    // one, with the number of its rows from before the chain).
    let mut heads: HashMap<StreamKey, (i64, Option<Vec<u8>>)> = HashMap::new();
    let mut legacy_rows: HashMap<StreamKey, i64> = HashMap::new();
    for r in tx
        .query(
            "SELECT stream, stream_id, seq, head, legacy_rows FROM audit_chain_heads",
            &[],
        )
        .await?
    {
        let stream: String = r.get(0);
        let Some(stream) = chain::stream_name(&stream) else {
            continue;
        };
        let key = (stream, r.get(1));
        heads.insert(key, (r.get(2), r.get(3)));
        if let Some(n) = r.get::<_, Option<i64>>(4) {
            legacy_rows.insert(key, n);
        }
    }
    let backfilled: bool = tx
        .query_one(
            "SELECT to_regclass('torghut_meta.schema_history') IS NOT NULL \
               AND EXISTS (SELECT 1 FROM torghut_meta.schema_history WHERE id = $1)",
            &[&chain::LEGACY_BACKFILL],
        )
        .await?
        .get(0);
    let mut streams_unsealed = 0u64;
    for (key, mut rows) in legacy {
        let sealed = legacy_rows.get(&key).copied();
        let Some(n) = sealed else {
            let unsealed_root = rows.iter().any(|r| r.root) && !heads.contains_key(&key);
            if unsealed_root && !backfilled {
                streams_unsealed += 1;
                continue;
            }
            for r in rows {
                findings.push(
                    Problem::Inserted,
                    r.table,
                    Some(r.id),
                    key,
                    None,
                    "no chain hash: written with the sealing trigger disabled".into(),
                );
            }
            continue;
        };
        rows.sort_by_key(|r| r.order);
        let found = rows.len() as i64;
        if found < n {
            findings.push(
                Problem::Deleted,
                &format!("{} stream", key.0),
                None,
                key,
                Some(found + 1),
                format!("{n} rows written before the chain were sealed, {found} are left"),
            );
        }
        // The rows from before the chain take places 1..n in their order, each linked to the
        // one before: a change in one of them breaks the link of the first row after them.
        let mut prev: Option<Vec<u8>> = None;
        for (k, r) in rows.into_iter().enumerate() {
            let seq = k as i64 + 1;
            if seq > n {
                findings.push(
                    Problem::Inserted,
                    r.table,
                    Some(r.id),
                    key,
                    None,
                    format!(
                        "no chain hash, and the stream had only {n} rows from before the chain: \
                         written with the sealing trigger disabled"
                    ),
                );
                continue;
            }
            let hash = chain::link(prev.as_deref(), &r.digest);
            prev = Some(hash.clone());
            streams.entry(key).or_default().push(ChainRow {
                table: r.table,
                id: r.id,
                seq,
                hash,
                digest: r.digest,
            });
        }
    }

    let mut keys: Vec<StreamKey> = streams.keys().chain(heads.keys()).copied().collect();
    keys.sort();
    keys.dedup();
    let (checkpoints_checked, latest, state) = check_checkpoints(tx, &mut findings).await?;
    // What the checkpoints are compared with: the streams present, and the row at each
    // checkpointed place (rows from before the chain at their implicit places).
    let mut present: HashSet<(String, Uuid)> = HashSet::new();
    let mut at: HashMap<(String, Uuid, i64), RowAt> = HashMap::new();
    for ((stream, sid), rows) in &streams {
        present.insert((stream.to_string(), *sid));
        if let Some((seq, _, _)) = state.get(&(stream.to_string(), *sid)) {
            if let Some(r) = rows.iter().find(|r| r.seq == *seq) {
                at.insert(
                    (stream.to_string(), *sid, *seq),
                    (r.table, r.id, r.hash.clone()),
                );
            }
        }
    }
    for key in &keys {
        let rows = streams.get_mut(key).map(std::mem::take).unwrap_or_default();
        check_stream(*key, rows, heads.get(key), &mut findings);
    }
    let streams_not_checkpointed =
        check_against_checkpoints(&state, &present, &at, &heads, &mut findings);
    check_projections(tx, &mut findings).await?;

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
    let rows_checked = rows_by_table.values().sum();
    Ok(VerifyReport {
        ok: all.is_empty(),
        rows_checked,
        rows_by_table,
        streams_checked: keys.len() as u64,
        streams_not_checkpointed,
        streams_unsealed,
        checkpoints_checked,
        latest_checkpoint: latest,
        anchors_checked: None,
        findings: all,
    })
}

fn check_stream(
    key: StreamKey,
    mut rows: Vec<ChainRow>,
    head: Option<&(i64, Option<Vec<u8>>)>,
    out: &mut Findings,
) {
    let (stream, sid) = key;
    let root = root_table(stream);
    if rows.is_empty() {
        if let Some((seq, _)) = head {
            out.push(
                Problem::Deleted,
                root,
                Some(sid),
                key,
                Some(1),
                format!("the whole stream ({seq} rows) is missing"),
            );
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
    let gone = format!("{stream} stream");
    // Rebuild the order the rows were written in by following the hashes from the root: at
    // each place, the row whose hash links to the previous one. When none does, the row that
    // claims the place is taken (its content was changed: modified), or, when no row claims
    // it, the place is missing (deleted) and the chain resumes at the next claimed place.
    let n = rows.len();
    let head_seq = head.map_or(1, |h| h.0);
    let mut placed = vec![false; n];
    let mut prev: Option<Vec<u8>> = None;
    let mut pos = 1i64;
    let mut after_gap = false;
    loop {
        let linked = (0..n)
            .find(|&k| !placed[k] && chain::link(prev.as_deref(), &rows[k].digest) == rows[k].hash);
        let k = match linked {
            Some(k) => {
                let r = &rows[k];
                if r.seq != pos {
                    out.push(
                        Problem::Reordered,
                        r.table,
                        Some(r.id),
                        key,
                        Some(r.seq),
                        format!("intact, but written as row {pos} of its stream"),
                    );
                }
                k
            }
            None => {
                let claim = (0..n).find(|&k| !placed[k] && rows[k].seq == pos);
                match claim {
                    Some(k) => {
                        let r = &rows[k];
                        if pos > head_seq {
                            out.push(
                                Problem::Inserted,
                                r.table,
                                Some(r.id),
                                key,
                                Some(r.seq),
                                format!("beyond the stream's head (row {head_seq})"),
                            );
                        } else if !after_gap {
                            out.push(
                                Problem::Modified,
                                r.table,
                                Some(r.id),
                                key,
                                Some(r.seq),
                                "its content no longer matches its chain hash".into(),
                            );
                        }
                        k
                    }
                    None => {
                        let next = (0..n)
                            .filter(|&k| !placed[k] && rows[k].seq > pos)
                            .min_by_key(|&k| rows[k].seq);
                        let Some(k) = next else { break };
                        let seq = rows[k].seq;
                        out.push(
                            Problem::Deleted,
                            &gone,
                            None,
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
        prev = Some(rows[k].hash.clone());
        pos += 1;
        after_gap = false;
    }
    for (k, r) in rows.iter().enumerate() {
        if !placed[k] {
            out.push(
                Problem::Inserted,
                r.table,
                Some(r.id),
                key,
                Some(r.seq),
                "not part of its stream's chain (its place is held by another row)".into(),
            );
        }
    }
    let last_seq = pos - 1;
    match head {
        None => {
            // A stream of one row (its root) has no head row; any other row needs one.
            for r in rows
                .iter()
                .filter(|r| !(r.table == root && r.id == sid && r.seq == 1))
            {
                out.push(
                    Problem::Inserted,
                    r.table,
                    Some(r.id),
                    key,
                    Some(r.seq),
                    "its stream has no head: written out of band".into(),
                );
            }
        }
        Some((hseq, hhead)) => {
            if *hseq > last_seq {
                out.push(
                    Problem::Deleted,
                    &gone,
                    None,
                    key,
                    Some(last_seq + 1),
                    format!(
                        "the stream ends at row {last_seq} but its head is at row {hseq}: the last rows are missing"
                    ),
                );
            } else if *hseq < last_seq {
                for r in rows.iter().filter(|r| r.seq > *hseq) {
                    out.push(
                        Problem::Inserted,
                        r.table,
                        Some(r.id),
                        key,
                        Some(r.seq),
                        format!("beyond the stream's head (row {hseq})"),
                    );
                }
            } else if hhead.as_deref().is_some_and(|h| prev.as_deref() != Some(h)) {
                if let Some(r) = rows.last() {
                    out.push(
                        Problem::Modified,
                        r.table,
                        Some(r.id),
                        key,
                        Some(r.seq),
                        "its chain hash is not the one the stream head recorded".into(),
                    );
                }
            }
        }
    }
}

/// The row at a checkpointed place: its table, id and chain hash.
type RowAt = (&'static str, Uuid, Vec<u8>);

type CheckpointState = BTreeMap<(String, Uuid), (i64, Option<Vec<u8>>, i64)>;

async fn check_checkpoints(
    tx: &Transaction<'_>,
    out: &mut Findings,
) -> Result<(u64, Option<(i64, String)>, CheckpointState), AuditError> {
    let cps = tx
        .query(
            "SELECT id, kind, streams, prev_hash, hash FROM audit_checkpoints ORDER BY id",
            &[],
        )
        .await?;
    let mut deltas: BTreeMap<i64, Vec<CheckpointHead>> = BTreeMap::new();
    for r in tx
        .query(
            "SELECT checkpoint_id, stream, stream_id, seq, head FROM audit_checkpoint_heads",
            &[],
        )
        .await?
    {
        deltas.entry(r.get(0)).or_default().push(CheckpointHead {
            stream: r.get(1),
            stream_id: r.get(2),
            seq: r.get(3),
            head: r.get(4),
        });
    }
    let mut cp_finding = |id: i64, detail: String| out.0.push(Finding::checkpoint(id, detail));
    let mut state = CheckpointState::new();
    let mut prev: Option<Vec<u8>> = None;
    let mut expected = 1i64;
    let mut latest = None;
    for r in &cps {
        let id: i64 = r.get(0);
        let kind: String = r.get(1);
        let streams: i64 = r.get(2);
        let prev_hash: Option<Vec<u8>> = r.get(3);
        let hash: Vec<u8> = r.get(4);
        if id != expected {
            cp_finding(
                id,
                format!("checkpoints {expected} to {} are missing", id - 1),
            );
        }
        if prev_hash != prev {
            cp_finding(
                id,
                "its previous hash is not the previous checkpoint's".into(),
            );
        }
        let heads = deltas.remove(&id).unwrap_or_default();
        if heads.len() as i64 != streams {
            cp_finding(
                id,
                format!(
                    "records {streams} stream heads but {} are there",
                    heads.len()
                ),
            );
        }
        let text = chain::checkpoint_text(id, &kind, &heads);
        if chain::checkpoint_hash(prev_hash.as_deref(), &text) != hash {
            cp_finding(id, "its content no longer matches its hash".into());
        }
        for h in heads {
            state.insert((h.stream, h.stream_id), (h.seq, h.head, id));
        }
        latest = Some((id, hex::encode(&hash)));
        prev = Some(hash);
        expected = id + 1;
    }
    for id in deltas.keys() {
        cp_finding(
            *id,
            "stream heads of a checkpoint that does not exist".into(),
        );
    }
    Ok((cps.len() as u64, latest, state))
}

fn check_against_checkpoints(
    state: &CheckpointState,
    present: &HashSet<(String, Uuid)>,
    at: &HashMap<(String, Uuid, i64), RowAt>,
    heads: &HashMap<StreamKey, (i64, Option<Vec<u8>>)>,
    out: &mut Findings,
) -> u64 {
    for ((stream, sid), (seq, head, cp)) in state {
        let Some(stream) = chain::stream_name(stream) else {
            continue;
        };
        let key = (stream, *sid);
        if *seq == 0 {
            if present.contains(&(stream.to_owned(), *sid)) {
                out.push(
                    Problem::Inserted,
                    &format!("{stream} stream"),
                    None,
                    key,
                    None,
                    format!("rows in a stream archived at checkpoint {cp}"),
                );
            }
            continue;
        }
        if !present.contains(&(stream.to_owned(), *sid)) {
            let rows = heads.get(&key).map_or(*seq, |h| h.0);
            out.push(
                Problem::Deleted,
                root_table(stream),
                Some(*sid),
                key,
                Some(1),
                format!("the whole stream ({rows} rows) is missing"),
            );
            continue;
        }
        match at.get(&(stream.to_owned(), *sid, *seq)) {
            None => out.push(
                Problem::Deleted,
                &format!("{stream} stream"),
                None,
                key,
                Some(*seq),
                format!("row {seq}, recorded by checkpoint {cp}, is missing"),
            ),
            Some((table, id, hash)) if Some(hash) != head.as_ref() => out.push(
                Problem::Modified,
                table,
                Some(*id),
                key,
                Some(*seq),
                format!("its chain hash is not the one checkpoint {cp} recorded"),
            ),
            Some(_) => {}
        }
    }
    present.iter().filter(|k| !state.contains_key(*k)).count() as u64
}

/// The current row of every root must be the replay of its events: for every column an event
/// changed, the `to` of the last such event, and each such event's `from` the previous one's `to`
/// (a change made between two recorded ones, with the capture trigger off, breaks that link).
async fn check_projections(tx: &Transaction<'_>, out: &mut Findings) -> Result<(), AuditError> {
    for t in TABLES {
        let Some((ev, fk)) = t.events else { continue };
        let changes = "jsonb_each(CASE WHEN jsonb_typeof(e.payload -> 'changes') = 'object' \
                       THEN e.payload -> 'changes' ELSE '{}'::jsonb END) AS c";
        let sql = format!(
            "SELECT t.id, s.k, NULL::int4 FROM {root} t JOIN LATERAL ( \
               SELECT DISTINCT ON (c.key) c.key AS k, c.value -> 'to' AS v \
               FROM {ev} e, {changes} WHERE e.{fk} = t.id ORDER BY c.key, e.seq DESC) s ON true \
             WHERE (to_jsonb(t) -> s.k)::text IS DISTINCT FROM s.v::text \
             UNION ALL \
             SELECT x.sid, x.k, x.seq FROM ( \
               SELECT e.{fk} AS sid, c.key AS k, e.seq, c.value -> 'from' AS f, \
                      lag(c.value -> 'to') OVER (PARTITION BY e.{fk}, c.key ORDER BY e.seq) AS prev \
               FROM {ev} e, {changes}) x \
             WHERE x.prev IS NOT NULL AND x.f::text IS DISTINCT FROM x.prev::text \
             ORDER BY 1, 2, 3",
            root = t.table,
        );
        for r in tx.query(&sql, &[]).await? {
            let id: Uuid = r.get(0);
            let column: String = r.get(1);
            let seq: Option<i32> = r.get(2);
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
    }
    Ok(())
}
