//! The chain's definitions, computed here independently of the database's triggers: which rows
//! belong to which stream, what a row's content is, how hashes link, and checkpoints.

use sha2::{Digest, Sha256};
use tokio_postgres::GenericClient;

use crate::AuditError;

/// One audit table: its name, its stream, the column naming the stream, and, for a stream's
/// root table, the table of its events and their column naming the root.
#[derive(Debug, Clone, Copy)]
pub struct AuditTable {
    pub table: &'static str,
    pub stream: &'static str,
    pub stream_column: &'static str,
    pub events: Option<(&'static str, &'static str)>,
}

/// Every chained table, each stream's root first.
pub const TABLES: [AuditTable; 7] = [
    AuditTable {
        table: "strategies",
        stream: "strategy",
        stream_column: "id",
        events: Some(("strategy_events", "strategy_id")),
    },
    AuditTable {
        table: "strategy_events",
        stream: "strategy",
        stream_column: "strategy_id",
        events: None,
    },
    AuditTable {
        table: "trade_decisions",
        stream: "decision",
        stream_column: "id",
        events: Some(("decision_events", "decision_id")),
    },
    AuditTable {
        table: "decision_events",
        stream: "decision",
        stream_column: "decision_id",
        events: None,
    },
    AuditTable {
        table: "llm_decision_reviews",
        stream: "decision",
        stream_column: "trade_decision_id",
        events: None,
    },
    AuditTable {
        table: "executions",
        stream: "execution",
        stream_column: "id",
        events: Some(("execution_events", "execution_id")),
    },
    AuditTable {
        table: "execution_events",
        stream: "execution",
        stream_column: "execution_id",
        events: None,
    },
];

/// The stream names, as `'static` strings (`None` for a name that is not a stream's).
pub fn stream_name(name: &str) -> Option<&'static str> {
    ["strategy", "decision", "execution"]
        .into_iter()
        .find(|s| *s == name)
}

/// The table whose row is the root of a stream (and whose id is the stream's id).
pub fn root_table(stream: &str) -> &'static str {
    match stream {
        "execution" => "executions",
        "strategy" => "strategies",
        _ => "trade_decisions",
    }
}

impl AuditTable {
    /// The SQL expression (over alias `t`) of the content digest a row's chain hash covers,
    /// computed as the sealing triggers do (`audit_content`): for a root row, the values it was
    /// created with (`audit_initial`: the row now, each changed column set back to its first
    /// event's `from`).
    pub fn digest_sql(&self) -> String {
        match self.events {
            None => format!("audit_content('{}', to_jsonb(t))", self.table),
            Some((ev, fk)) => format!(
                "audit_content('{table}', audit_initial(to_jsonb(t), ARRAY(SELECT e.payload -> 'changes' \
                 FROM {ev} e WHERE e.{fk} = t.id ORDER BY e.seq)))",
                table = self.table
            ),
        }
    }

    /// 0 for a stream's root, 1 for its events, 2 for reviews: the first key of the order of
    /// rows written before the chain.
    pub fn kind(&self) -> u8 {
        if self.events.is_some() {
            0
        } else if self.table.ends_with("_events") {
            1
        } else {
            2
        }
    }
}

/// The order of a legacy stream's rows (rows written before the chain, folded by migration
/// `0008_audit_seal_legacy`): the root, then events by seq, then reviews by creation time and
/// id.
pub type LegacyOrder = (u8, i64, Option<chrono::DateTime<chrono::Utc>>, uuid::Uuid);

/// The backfill that seals the streams written before the chain.
pub const LEGACY_BACKFILL: &str = "0008_audit_seal_legacy";

/// `sha256(prev || digest)`; the first row of a stream has no `prev`.
pub fn link(prev: Option<&[u8]>, digest: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    if let Some(p) = prev {
        h.update(p);
    }
    h.update(digest);
    h.finalize().to_vec()
}

/// One stream head recorded by a checkpoint (`seq` 0 and no head: archived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointHead {
    pub stream: String,
    pub stream_id: uuid::Uuid,
    pub seq: i64,
    pub head: Option<Vec<u8>>,
}

/// The text a checkpoint's hash covers: its id, its kind, then one line per head sorted by
/// stream and stream id (`stream id seq hex`).
pub fn checkpoint_text(id: i64, kind: &str, heads: &[CheckpointHead]) -> String {
    let mut sorted: Vec<&CheckpointHead> = heads.iter().collect();
    sorted.sort_by(|a, b| {
        (a.stream.as_bytes(), a.stream_id.as_bytes())
            .cmp(&(b.stream.as_bytes(), b.stream_id.as_bytes()))
    });
    let mut s = format!("{id}\n{kind}\n");
    for h in sorted {
        s.push_str(&format!(
            "{} {} {} {}\n",
            h.stream,
            h.stream_id,
            h.seq,
            h.head.as_deref().map(hex::encode).unwrap_or_default()
        ));
    }
    s
}

/// A checkpoint's hash: `sha256(prev_hash || text)`.
pub fn checkpoint_hash(prev: Option<&[u8]>, text: &str) -> Vec<u8> {
    link(prev, text.as_bytes())
}

/// `checkpoint_hash(prev, &checkpoint_text(id, kind, heads))` computed one head at a time, without
/// holding the heads or the text: the same bytes are hashed, provided the heads are given in
/// the text's order (stream, then stream id, both compared bytewise, as PostgreSQL's
/// `ORDER BY stream COLLATE "C", stream_id` returns them).
pub struct CheckpointHasher {
    hasher: Sha256,
    line: String,
}

impl CheckpointHasher {
    pub fn new(prev: Option<&[u8]>, id: i64, kind: &str) -> Self {
        let mut hasher = Sha256::new();
        if let Some(p) = prev {
            hasher.update(p);
        }
        hasher.update(format!("{id}\n{kind}\n").as_bytes());
        Self {
            hasher,
            line: String::new(),
        }
    }

    /// The next head's line (`stream id seq hex`).
    pub fn head(&mut self, stream: &str, stream_id: &uuid::Uuid, seq: i64, head: Option<&[u8]>) {
        use std::fmt::Write;
        self.line.clear();
        // Writing into a String cannot fail.
        let _ = write!(self.line, "{stream} {stream_id} {seq} ");
        if let Some(h) = head {
            self.line.push_str(&hex::encode(h));
        }
        self.line.push('\n');
        self.hasher.update(self.line.as_bytes());
    }

    pub fn finish(self) -> Vec<u8> {
        self.hasher.finalize().to_vec()
    }
}

/// A checkpoint taken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Checkpoint {
    pub id: i64,
    /// Streams whose head changed since the previous checkpoint.
    pub streams: i64,
    /// The checkpoint's hash (hex): keep it outside the database to anchor the chain.
    pub hash: String,
    /// When it was taken (RFC 3339, UTC, microseconds).
    pub created_at: String,
}

/// How a checkpoint finds the streams it records.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckpointOptions {
    /// Compare every stream with the last head recorded for it, and refuse when a recorded
    /// stream is missing (reads every stream). Otherwise only the streams that moved are read.
    pub full: bool,
    /// At most this many moved heads (the others stay pending for the next checkpoint); `None`:
    /// all of them.
    pub max_heads: Option<i64>,
}

/// Takes a checkpoint (`audit_checkpoint()`): commits to every stream head that changed since
/// the previous one. Refused (SQLSTATE TA002) when a stream got shorter since an earlier
/// checkpoint.
pub async fn checkpoint(db: &impl GenericClient) -> Result<Checkpoint, AuditError> {
    checkpoint_with(db, CheckpointOptions::default()).await
}

/// Takes one checkpoint as `options` say (`audit_checkpoint(full, max_heads)`): the streams
/// whose head row moved since they were last recorded (found by their `pending` flag, not by
/// reading every stream), the streams that are still their root alone created since shortly
/// before the previous checkpoint, or, with `full`, every stream. Refused (SQLSTATE TA002)
/// when a stream got shorter, or, with `full`, disappeared, since an earlier checkpoint.
pub async fn checkpoint_with(
    db: &impl GenericClient,
    options: CheckpointOptions,
) -> Result<Checkpoint, AuditError> {
    if !crate::has_chain(db).await? {
        return Err(AuditError::NotMigrated);
    }
    let id: i64 = db
        .query_one(
            "SELECT audit_checkpoint($1, $2)",
            &[&options.full, &options.max_heads],
        )
        .await?
        .try_get(0)?;
    let row = db
        .query_one(
            "SELECT id, streams, hash, \
               to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
             FROM audit_checkpoints WHERE id = $1",
            &[&id],
        )
        .await?;
    let hash: Vec<u8> = row.try_get(2)?;
    Ok(Checkpoint {
        id: row.try_get(0)?,
        streams: row.try_get(1)?,
        hash: hex::encode(hash),
        created_at: row.try_get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_text_is_sorted_by_stream_then_id() {
        let a = uuid::Uuid::from_u128(2);
        let b = uuid::Uuid::from_u128(1);
        let heads = vec![
            CheckpointHead {
                stream: "execution".into(),
                stream_id: b,
                seq: 2,
                head: Some(vec![0xab]),
            },
            CheckpointHead {
                stream: "decision".into(),
                stream_id: a,
                seq: 0,
                head: None,
            },
            CheckpointHead {
                stream: "decision".into(),
                stream_id: b,
                seq: 1,
                head: Some(vec![1, 2]),
            },
        ];
        assert_eq!(
            checkpoint_text(3, "checkpoint", &heads),
            format!("3\ncheckpoint\ndecision {b} 1 0102\ndecision {a} 0 \nexecution {b} 2 ab\n")
        );
    }

    #[test]
    fn the_incremental_checkpoint_hash_is_the_hash_of_the_text() {
        let mut heads: Vec<CheckpointHead> = (0..50u128)
            .map(|i| CheckpointHead {
                stream: ["decision", "execution", "strategy"][(i % 3) as usize].into(),
                stream_id: uuid::Uuid::from_u128(
                    i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
                ),
                seq: (i % 4) as i64,
                head: (i % 4 != 0).then(|| vec![i as u8; 32]),
            })
            .collect();
        for prev in [None, Some(&b"previous"[..])] {
            let text = checkpoint_text(7, "archive", &heads);
            heads.sort_by(|a, b| {
                (a.stream.as_bytes(), a.stream_id.as_bytes())
                    .cmp(&(b.stream.as_bytes(), b.stream_id.as_bytes()))
            });
            let mut h = CheckpointHasher::new(prev, 7, "archive");
            for x in &heads {
                h.head(&x.stream, &x.stream_id, x.seq, x.head.as_deref());
            }
            assert_eq!(h.finish(), checkpoint_hash(prev, &text));
        }
        let empty = CheckpointHasher::new(None, 1, "checkpoint").finish();
        assert_eq!(
            empty,
            checkpoint_hash(None, &checkpoint_text(1, "checkpoint", &[]))
        );
    }

    #[test]
    fn link_without_prev_is_plain_sha256() {
        assert_eq!(
            hex::encode(link(None, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(link(Some(b"x"), b"abc"), link(None, b"abc"));
    }
}
