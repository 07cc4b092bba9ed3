//! The lanes (migration `0007_audit_capture`): every new stream is linked, by the transaction
//! that creates its root (`audit_link_lane`, `AFTER INSERT`), into the lane of the server
//! process that runs it: an entry in `audit_lane_log` (lane, place, stream, stream id), and the
//! lane's head row (`audit_lanes`) the fold of every stream linked into it:
//!
//! ```text
//! head = sha256(previous head || stream || ' ' || id)
//! ```
//!
//! So a whole stream deleted (its root, its other rows and its head row), even one that no
//! checkpoint has recorded yet, is still named by its entry; an entry deleted as well leaves a
//! place of its lane missing; checkpoints record the lanes that moved, so a lane rewound to hide
//! it is found against them (and against anchors kept outside the database). Entries stay when
//! their stream is archived: the archive checkpoint that recorded the stream accounts for it.

use std::collections::{BTreeMap, BTreeSet};
use std::pin::pin;

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::chain::{root_table, stream_name};
use crate::verify::{Finding, Problem};
use crate::AuditError;

/// How lanes are named in checkpoints: stream `lane`, the lane's number in the low bits of a
/// uuid (`audit_lane_id`).
pub const LANE_STREAM: &str = "lane";

/// The uuid a checkpoint records lane `lane` under (`audit_lane_id`).
pub fn lane_id(lane: i64) -> Uuid {
    Uuid::from_u128(u128::from(lane as u64))
}

/// The lane a checkpoint's uuid names.
fn lane_of(id: &Uuid) -> i64 {
    id.as_u128() as u64 as i64
}

/// One link of a lane: `sha256(prev || stream || ' ' || id)`.
pub fn lane_step(prev: &[u8], stream: &str, id: &Uuid) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(stream.as_bytes());
    h.update(b" ");
    h.update(id.hyphenated().to_string().as_bytes());
    h.finalize().to_vec()
}

/// What the lanes' check counted.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LaneStats {
    pub lanes: u64,
    pub streams: u64,
}

fn finding(problem: Problem, lane: i64, seq: Option<i64>, detail: String) -> Finding {
    Finding {
        problem,
        table: "audit_lanes".into(),
        id: None,
        stream: LANE_STREAM.into(),
        stream_id: Some(lane_id(lane)),
        seq,
        detail,
    }
}

/// Where a lane's check starts: after `seq`, from `head` (a checkpoint's record, or the start).
struct Start {
    seq: i64,
    head: Vec<u8>,
}

impl Start {
    fn first() -> Self {
        Self {
            seq: 0,
            head: Vec::new(),
        }
    }
}

/// Checks the lanes. `since`: only the lanes that moved after that checkpoint (pending, or
/// recorded by a later checkpoint), each from its record at that checkpoint on; `None`: every
/// lane from its start (one query over every entry in lane order), and every sealed root for
/// its entry.
pub(crate) async fn check_lanes(
    tx: &Transaction<'_>,
    since: Option<i64>,
    out: &mut Vec<Finding>,
) -> Result<LaneStats, AuditError> {
    match since {
        None => {
            unlinked_roots(tx, out).await?;
            check_all_lanes(tx, out).await
        }
        Some(cp) => {
            let mut stats = LaneStats::default();
            for (lane, start) in moved_lanes(tx, cp).await? {
                stats.lanes += 1;
                stats.streams += check_lane(tx, lane, start, out).await?;
            }
            Ok(stats)
        }
    }
}

/// Every lane, from its first place: its entries in one query in lane order, beside its head
/// row and the latest checkpoint's record of it (held in memory: one of each per lane, that is
/// per server process that ever created a stream). The latest record is enough: the fold at its
/// place covers every place before it, and the checkpoint chain itself is verified apart.
async fn check_all_lanes(
    tx: &Transaction<'_>,
    out: &mut Vec<Finding>,
) -> Result<LaneStats, AuditError> {
    let mut heads: BTreeMap<i64, (i64, Vec<u8>)> = tx
        .query("SELECT lane, seq, head FROM audit_lanes", &[])
        .await?
        .into_iter()
        .map(|r| -> Result<_, tokio_postgres::Error> {
            Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?)))
        })
        .collect::<Result<_, _>>()?;
    let mut latest: BTreeMap<i64, Record> = tx
        .query(
            "SELECT DISTINCT ON (stream_id) stream_id, checkpoint_id, seq, head \
             FROM audit_checkpoint_heads WHERE stream = 'lane' \
             ORDER BY stream_id, checkpoint_id DESC",
            &[],
        )
        .await?
        .into_iter()
        .map(|r| -> Result<_, tokio_postgres::Error> {
            Ok((
                lane_of(&r.try_get::<_, Uuid>(0)?),
                (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?),
            ))
        })
        .collect::<Result<_, _>>()?;
    let mut stats = LaneStats::default();
    let mut walk: Option<Walk> = None;
    let no_params: [&(dyn ToSql + Sync); 0] = [];
    let mut rows = pin!(
        tx.query_raw(&entries_sql("true", "l.lane, l.seq"), no_params)
            .await?
    );
    while let Some(r) = rows.try_next().await? {
        let lane: i64 = r.try_get(0)?;
        if walk.as_ref().is_none_or(|w| w.lane != lane) {
            if let Some(w) = walk.take() {
                stats.lanes += 1;
                let head = heads.remove(&w.lane);
                stats.streams += w.finish(head, out);
            }
            walk = Some(Walk::new(
                lane,
                Start::first(),
                latest.remove(&lane).into_iter().collect(),
            ));
        }
        if let Some(w) = walk.as_mut() {
            w.entry(
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                out,
            );
        }
    }
    if let Some(w) = walk.take() {
        stats.lanes += 1;
        let head = heads.remove(&w.lane);
        stats.streams += w.finish(head, out);
    }
    // Lanes with a head row or a checkpoint's record but no entry left.
    let rest: BTreeSet<i64> = heads.keys().chain(latest.keys()).copied().collect();
    for lane in rest {
        stats.lanes += 1;
        let w = Walk::new(
            lane,
            Start::first(),
            latest.remove(&lane).into_iter().collect(),
        );
        w.finish(heads.remove(&lane), out);
    }
    Ok(stats)
}

/// Roots sealed (chain columns set) that no lane entry names: the triggers link every root they
/// seal, so such a root was inserted, with its hash computed, behind their back (or its entry
/// was deleted, which its lane shows as well).
async fn unlinked_roots(tx: &Transaction<'_>, out: &mut Vec<Finding>) -> Result<(), AuditError> {
    for stream in ["strategy", "decision", "execution"] {
        let table = root_table(stream);
        let rows = tx
            .query(
                &format!(
                    "SELECT t.id FROM {table} t WHERE t.chain_hash IS NOT NULL AND NOT EXISTS \
                     (SELECT 1 FROM audit_lane_log l WHERE l.stream = '{stream}' AND l.stream_id = t.id) \
                     ORDER BY t.id LIMIT 1000"
                ),
                &[],
            )
            .await?;
        for r in rows {
            let id: Uuid = r.try_get(0)?;
            out.push(Finding {
                problem: Problem::Inserted,
                table: table.into(),
                id: Some(id),
                stream: stream.into(),
                stream_id: Some(id),
                seq: Some(1),
                detail: "sealed, but linked into no lane: inserted behind the triggers' back"
                    .into(),
            });
        }
    }
    Ok(())
}

/// The lanes that moved after checkpoint `cp` (pending, or recorded by a later checkpoint), in
/// order, each with where its check starts (its record at `cp` or before, else its start).
async fn moved_lanes(tx: &Transaction<'_>, cp: i64) -> Result<Vec<(i64, Start)>, AuditError> {
    let mut lanes: Vec<i64> = tx
        .query("SELECT lane FROM audit_lanes WHERE pending", &[])
        .await?
        .into_iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    for r in tx
        .query(
            "SELECT DISTINCT stream_id FROM audit_checkpoint_heads \
             WHERE stream = 'lane' AND checkpoint_id > $1",
            &[&cp],
        )
        .await?
    {
        lanes.push(lane_of(&r.try_get::<_, Uuid>(0)?));
    }
    lanes.sort_unstable();
    lanes.dedup();
    let mut out = Vec::with_capacity(lanes.len());
    for lane in lanes {
        let record = tx
            .query_opt(
                "SELECT seq, head FROM audit_checkpoint_heads \
                 WHERE stream = 'lane' AND stream_id = $1 AND checkpoint_id <= $2 \
                 ORDER BY checkpoint_id DESC LIMIT 1",
                &[&lane_id(lane), &cp],
            )
            .await?;
        let start = match record {
            Some(r) => match r.try_get::<_, Option<Vec<u8>>>(1)? {
                Some(head) => Some(Start {
                    seq: r.try_get(0)?,
                    head,
                }),
                None => None,
            },
            None => None,
        };
        out.push((lane, start.unwrap_or_else(Start::first)));
    }
    Ok(out)
}

/// Lane entries (`filter` over alias `l`, in `order`): lane, place, stream, stream id, and
/// whether the stream is there (0), was archived (1: an archive checkpoint recorded it with seq
/// 0) or is gone (2).
fn entries_sql(filter: &str, order: &str) -> String {
    format!(
        "SELECT l.lane, l.seq, l.stream, l.stream_id, \
           CASE WHEN CASE l.stream \
                  WHEN 'decision' THEN EXISTS (SELECT 1 FROM trade_decisions r WHERE r.id = l.stream_id) \
                  WHEN 'execution' THEN EXISTS (SELECT 1 FROM executions r WHERE r.id = l.stream_id) \
                  WHEN 'strategy' THEN EXISTS (SELECT 1 FROM strategies r WHERE r.id = l.stream_id) \
                  ELSE false END THEN 0 \
                WHEN EXISTS (SELECT 1 FROM audit_checkpoint_heads c \
                  JOIN audit_checkpoints k ON k.id = c.checkpoint_id AND k.kind = 'archive' \
                  WHERE c.stream = l.stream AND c.stream_id = l.stream_id AND c.seq = 0) THEN 1 \
                ELSE 2 END \
         FROM audit_lane_log l WHERE {filter} ORDER BY {order}"
    )
}

/// Follows one lane from `start` through its entries and compares it with its head row and
/// with every checkpoint's record of it after `start`. Returns the number of entries followed.
async fn check_lane(
    tx: &Transaction<'_>,
    lane: i64,
    start: Start,
    out: &mut Vec<Finding>,
) -> Result<u64, AuditError> {
    let head: Option<(i64, Vec<u8>)> = tx
        .query_opt(
            "SELECT seq, head FROM audit_lanes WHERE lane = $1",
            &[&lane],
        )
        .await?
        .map(|r| -> Result<_, tokio_postgres::Error> { Ok((r.try_get(0)?, r.try_get(1)?)) })
        .transpose()?;
    let records: Vec<Record> = tx
        .query(
            "SELECT checkpoint_id, seq, head FROM audit_checkpoint_heads \
             WHERE stream = 'lane' AND stream_id = $1 AND seq > $2 ORDER BY seq, checkpoint_id",
            &[&lane_id(lane), &start.seq],
        )
        .await?
        .into_iter()
        .map(|r| -> Result<_, tokio_postgres::Error> {
            Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
        })
        .collect::<Result<_, _>>()?;
    let params: [&(dyn ToSql + Sync); 2] = [&lane, &start.seq];
    let mut rows = pin!(
        tx.query_raw(&entries_sql("l.lane = $1 AND l.seq > $2", "l.seq"), params)
            .await?
    );
    let mut walk = Walk::new(lane, start, records);
    while let Some(r) = rows.try_next().await? {
        walk.entry(
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
            out,
        );
    }
    Ok(walk.finish(head, out))
}

/// A checkpoint's record of a lane: checkpoint id, place, head.
type Record = (i64, i64, Option<Vec<u8>>);

/// One lane followed place by place.
struct Walk {
    lane: i64,
    /// The next place expected.
    next: i64,
    /// The fold so far; None once a place is missing (what follows cannot be compared by hash).
    fold: Option<Vec<u8>>,
    /// The checkpoints' records still to compare, by place.
    records: std::collections::VecDeque<Record>,
    /// Whether any checkpoint recorded this lane.
    recorded: bool,
    followed: u64,
}

impl Walk {
    fn new(lane: i64, start: Start, records: Vec<Record>) -> Self {
        Self {
            lane,
            next: start.seq + 1,
            fold: Some(start.head),
            recorded: !records.is_empty(),
            records: records.into(),
            followed: 0,
        }
    }

    /// Compares the records of the places up to `upto` with the fold (when it is known).
    fn compare(&mut self, upto: i64, out: &mut Vec<Finding>) {
        let lane = self.lane;
        while self.records.front().is_some_and(|r| r.1 <= upto) {
            let Some((cp, seq, h)) = self.records.pop_front() else {
                break;
            };
            if seq != upto {
                continue;
            }
            if let (Some(f), Some(h)) = (&self.fold, h) {
                if *f != h {
                    out.push(finding(
                        Problem::Modified,
                        lane,
                        Some(seq),
                        format!(
                            "lane {lane} up to place {seq} differs from what checkpoint #{cp} \
                             recorded: a stream of it was replaced or the lane rewritten"
                        ),
                    ));
                }
            }
        }
    }

    /// The entry at place `seq`: stream `stream` `id`, whose state is 0 (there), 1 (archived) or
    /// 2 (gone).
    fn entry(&mut self, seq: i64, stream: &str, id: Uuid, state: i32, out: &mut Vec<Finding>) {
        let lane = self.lane;
        self.followed += 1;
        if state == 2 {
            out.push(Finding {
                problem: Problem::Deleted,
                table: stream_name(stream)
                    .map_or("audit_lane_log", root_table)
                    .into(),
                id: Some(id),
                stream: stream.into(),
                stream_id: Some(id),
                seq: None,
                detail: format!(
                    "the whole {stream} stream is missing (created at place {seq} of lane \
                     {lane}, never archived): deleted behind the triggers' back"
                ),
            });
        }
        if seq > self.next {
            out.push(finding(
                Problem::Deleted,
                lane,
                Some(self.next),
                missing(lane, self.next, seq - 1),
            ));
            self.fold = None;
            self.compare(seq - 1, out);
        }
        self.fold = self.fold.take().map(|f| lane_step(&f, stream, &id));
        self.next = seq + 1;
        self.compare(seq, out);
    }

    /// The end of the lane: the checkpoints' records beyond it and its head row. Returns the
    /// number of entries followed.
    fn finish(self, head: Option<(i64, Vec<u8>)>, out: &mut Vec<Finding>) -> u64 {
        let lane = self.lane;
        let last = self.next - 1;
        if let Some((cp, seq, _)) = self.records.front() {
            out.push(finding(
                Problem::Deleted,
                lane,
                Some(last + 1),
                format!(
                    "checkpoint #{cp} recorded lane {lane} at place {seq}, but it ends at place \
                     {last}: the streams created last in it were deleted with their entries"
                ),
            ));
        }
        match head {
            None if self.followed > 0 || self.recorded => out.push(finding(
                Problem::Deleted,
                lane,
                None,
                format!("the head row of lane {lane} (audit_lanes) is missing"),
            )),
            None => {}
            Some((hseq, _)) if hseq > last => out.push(finding(
                Problem::Deleted,
                lane,
                Some(last + 1),
                missing(lane, last + 1, hseq),
            )),
            Some((hseq, _)) if hseq < last => out.push(finding(
                Problem::Inserted,
                lane,
                Some(hseq + 1),
                format!("lane {lane} has entries beyond its head (place {hseq})"),
            )),
            Some((hseq, hh)) if self.fold.as_ref().is_some_and(|f| *f != hh) => out.push(finding(
                Problem::Modified,
                lane,
                Some(hseq),
                format!(
                    "lane {lane} does not fold to its head: a stream of it was replaced, \
                         or its head row rewritten"
                ),
            )),
            Some(_) => {}
        }
        self.followed
    }
}

fn missing(lane: i64, from: i64, to: i64) -> String {
    if from == to {
        format!(
            "place {from} of lane {lane} is missing from audit_lane_log: the stream created \
             there was deleted with its lane entry"
        )
    } else {
        format!(
            "places {from} to {to} of lane {lane} are missing from audit_lane_log: the streams \
             created there were deleted with their lane entries"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_ids_round_trip_and_match_the_sql_form() {
        for lane in [1i64, 4242, i32::MAX as i64] {
            assert_eq!(lane_of(&lane_id(lane)), lane);
        }
        // lpad(to_hex(4242), 32, '0')::uuid
        assert_eq!(
            lane_id(4242).to_string(),
            "00000000-0000-0000-0000-000000001092"
        );
    }
}
