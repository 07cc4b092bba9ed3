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

/// Checks the lanes. `since`: only the lanes that moved after that checkpoint (pending, or
/// recorded by a later checkpoint), each from its record at that checkpoint on; `None`: every
/// lane from its start, and every sealed root for its entry.
pub(crate) async fn check_lanes(
    tx: &Transaction<'_>,
    since: Option<i64>,
    out: &mut Vec<Finding>,
) -> Result<LaneStats, AuditError> {
    let mut stats = LaneStats::default();
    if since.is_none() {
        unlinked_roots(tx, out).await?;
    }
    for (lane, start) in lanes_to_check(tx, since).await? {
        stats.lanes += 1;
        stats.streams += check_lane(tx, lane, start, out).await?;
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
            let id: Uuid = r.get(0);
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

/// The lanes to check, in order, each with where its check starts.
async fn lanes_to_check(
    tx: &Transaction<'_>,
    since: Option<i64>,
) -> Result<Vec<(i64, Start)>, AuditError> {
    let mut lanes: Vec<i64> = Vec::new();
    let mut add = |rows: Vec<tokio_postgres::Row>, by_uuid: bool| {
        for r in rows {
            lanes.push(if by_uuid {
                lane_of(&r.get::<_, Uuid>(0))
            } else {
                r.get(0)
            });
        }
    };
    match since {
        None => {
            add(tx.query("SELECT lane FROM audit_lanes", &[]).await?, false);
            add(
                tx.query("SELECT DISTINCT lane FROM audit_lane_log", &[])
                    .await?,
                false,
            );
            add(
                tx.query(
                    "SELECT DISTINCT stream_id FROM audit_checkpoint_heads WHERE stream = 'lane'",
                    &[],
                )
                .await?,
                true,
            );
        }
        Some(cp) => {
            add(
                tx.query("SELECT lane FROM audit_lanes WHERE pending", &[])
                    .await?,
                false,
            );
            add(
                tx.query(
                    "SELECT DISTINCT stream_id FROM audit_checkpoint_heads \
                     WHERE stream = 'lane' AND checkpoint_id > $1",
                    &[&cp],
                )
                .await?,
                true,
            );
        }
    }
    lanes.sort_unstable();
    lanes.dedup();
    let mut out = Vec::with_capacity(lanes.len());
    for lane in lanes {
        let start = match since {
            None => None,
            Some(cp) => tx
                .query_opt(
                    "SELECT seq, head FROM audit_checkpoint_heads \
                     WHERE stream = 'lane' AND stream_id = $1 AND checkpoint_id <= $2 \
                     ORDER BY checkpoint_id DESC LIMIT 1",
                    &[&lane_id(lane), &cp],
                )
                .await?
                .and_then(|r| {
                    let head: Option<Vec<u8>> = r.get(1);
                    head.map(|head| Start {
                        seq: r.get(0),
                        head,
                    })
                }),
        };
        out.push((
            lane,
            start.unwrap_or(Start {
                seq: 0,
                head: Vec::new(),
            }),
        ));
    }
    Ok(out)
}

/// A lane's entries after a place, in order, each with whether its stream is there (0), was
/// archived (1: an archive checkpoint recorded it with seq 0) or is gone (2).
const ENTRIES_SQL: &str = "SELECT l.seq, l.stream, l.stream_id, \
    CASE WHEN CASE l.stream \
           WHEN 'decision' THEN EXISTS (SELECT 1 FROM trade_decisions r WHERE r.id = l.stream_id) \
           WHEN 'execution' THEN EXISTS (SELECT 1 FROM executions r WHERE r.id = l.stream_id) \
           WHEN 'strategy' THEN EXISTS (SELECT 1 FROM strategies r WHERE r.id = l.stream_id) \
           ELSE false END THEN 0 \
         WHEN EXISTS (SELECT 1 FROM audit_checkpoint_heads c \
           JOIN audit_checkpoints k ON k.id = c.checkpoint_id AND k.kind = 'archive' \
           WHERE c.stream = l.stream AND c.stream_id = l.stream_id AND c.seq = 0) THEN 1 \
         ELSE 2 END \
    FROM audit_lane_log l WHERE l.lane = $1 AND l.seq > $2 ORDER BY l.seq";

/// Follows one lane from `start` through its entries, in order, checks that each entry's stream
/// is there (or was archived), and compares the lane with its head row and with every
/// checkpoint's record of it. Returns the number of entries followed.
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
        .map(|r| (r.get(0), r.get(1)));
    // Every checkpoint's record of this lane after the start, by place.
    let recorded: Vec<(i64, i64, Option<Vec<u8>>)> = tx
        .query(
            "SELECT checkpoint_id, seq, head FROM audit_checkpoint_heads \
             WHERE stream = 'lane' AND stream_id = $1 AND seq > $2 ORDER BY seq, checkpoint_id",
            &[&lane_id(lane), &start.seq],
        )
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let params: [&(dyn ToSql + Sync); 2] = [&lane, &start.seq];
    let mut rows = pin!(tx.query_raw(ENTRIES_SQL, params).await?);
    let mut next = start.seq + 1;
    // The fold so far; None once a place is missing (what follows cannot be compared by hash).
    let mut fold: Option<Vec<u8>> = Some(start.head);
    let mut rec = recorded.iter().peekable();
    let mut followed = 0u64;
    // Compares the checkpoints' records of the places up to `upto` with the fold.
    let mut compare = |upto: i64, fold: &Option<Vec<u8>>, out: &mut Vec<Finding>| {
        while let Some((cp, seq, h)) = rec.next_if(|r| r.1 <= upto) {
            if *seq == upto {
                if let (Some(f), Some(h)) = (fold, h) {
                    if f != h {
                        out.push(finding(
                            Problem::Modified,
                            lane,
                            Some(*seq),
                            format!(
                                "lane {lane} up to place {seq} differs from what checkpoint \
                                 #{cp} recorded: a stream of it was replaced or the lane \
                                 rewritten"
                            ),
                        ));
                    }
                }
            }
        }
    };
    while let Some(r) = rows.try_next().await? {
        let seq: i64 = r.get(0);
        let stream: &str = r.get(1);
        let id: Uuid = r.get(2);
        let state: i32 = r.get(3);
        followed += 1;
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
        if seq > next {
            out.push(finding(
                Problem::Deleted,
                lane,
                Some(next),
                missing(lane, next, seq - 1),
            ));
            compare(seq - 1, &None, out);
            fold = None;
        }
        fold = fold.map(|f| lane_step(&f, stream, &id));
        next = seq + 1;
        compare(seq, &fold, out);
    }
    let last = next - 1;
    if let Some(&&(cp, seq, _)) = rec.peek() {
        out.push(finding(
            Problem::Deleted,
            lane,
            Some(last + 1),
            format!(
                "checkpoint #{cp} recorded lane {lane} at place {seq}, but it ends at place \
                 {last}: the streams created last in it were deleted whole"
            ),
        ));
    }
    match head {
        None if last > 0 || !recorded.is_empty() => out.push(finding(
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
            format!("lane {lane} has streams beyond its head (place {hseq})"),
        )),
        Some((hseq, hh)) => {
            if let Some(f) = &fold {
                if *f != hh {
                    out.push(finding(
                        Problem::Modified,
                        lane,
                        Some(hseq),
                        format!(
                            "lane {lane} does not fold to its head: a stream of it was \
                             replaced, or its head row rewritten"
                        ),
                    ));
                }
            }
        }
    }
    Ok(followed)
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
