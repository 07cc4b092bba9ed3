//! The chain's definitions, computed here independently of the database's triggers: which rows
//! belong to which stream, what a row's content is, how hashes link, and checkpoints.

use sha2::{Digest, Sha256};
use tokio_postgres::GenericClient;

use crate::AuditError;

/// One audit table: its name, its stream, the column naming the stream, and the SQL expression
/// (over alias `t`) of the content its chain hash covers.
#[derive(Debug, Clone, Copy)]
pub struct AuditTable {
    pub table: &'static str,
    pub stream: &'static str,
    pub stream_column: &'static str,
    pub content: &'static str,
}

const WHOLE_ROW: &str = "(to_jsonb(t) - 'chain_seq' - 'chain_hash') \
    || jsonb_build_object('created_at', t.created_at AT TIME ZONE 'UTC')";

/// Every chained table, stream roots first.
pub const TABLES: [AuditTable; 5] = [
    AuditTable {
        table: "trade_decisions",
        stream: "decision",
        stream_column: "id",
        content: "jsonb_build_object('id', t.id, 'strategy_id', t.strategy_id, \
            'alpaca_account_label', t.alpaca_account_label, 'symbol', t.symbol, \
            'timeframe', t.timeframe, 'decision_json', t.decision_json, \
            'rationale', t.rationale, 'decision_hash', t.decision_hash, \
            'created_at', t.created_at AT TIME ZONE 'UTC') \
            || CASE WHEN t.initial_status IS NULL THEN '{}'::jsonb \
               ELSE jsonb_build_object('initial_status', t.initial_status) END \
            || CASE WHEN t.initial_chain_rows IS NULL THEN '{}'::jsonb \
               ELSE jsonb_build_object('initial_chain_rows', t.initial_chain_rows) END",
    },
    AuditTable {
        table: "decision_events",
        stream: "decision",
        stream_column: "decision_id",
        content: WHOLE_ROW,
    },
    AuditTable {
        table: "llm_decision_reviews",
        stream: "decision",
        stream_column: "trade_decision_id",
        content: WHOLE_ROW,
    },
    AuditTable {
        table: "executions",
        stream: "execution",
        stream_column: "id",
        content: "jsonb_build_object('id', t.id, 'symbol', t.symbol, 'side', t.side, \
            'created_at', t.created_at AT TIME ZONE 'UTC') \
            || CASE WHEN t.initial_is_raw_order \
                 THEN jsonb_build_object('initial_raw_order', t.raw_order) \
                   || CASE WHEN t.initial_raw_order IS NULL AND t.raw_order IS NOT NULL \
                      THEN '{}'::jsonb \
                      ELSE jsonb_build_object('initial_raw_order_not_in_place', true) END \
               WHEN t.initial_raw_order IS NULL THEN '{}'::jsonb \
               ELSE jsonb_build_object('initial_raw_order', t.initial_raw_order) END",
    },
    AuditTable {
        table: "execution_events",
        stream: "execution",
        stream_column: "execution_id",
        content: WHOLE_ROW,
    },
];

/// The table whose row is the root of a stream (and whose id is the stream's id).
pub fn root_table(stream: &str) -> &'static str {
    if stream == "execution" {
        "executions"
    } else {
        "trade_decisions"
    }
}

impl AuditTable {
    /// `SELECT id, stream id, chain_seq, chain_hash, content digest FROM table t [WHERE ...]`;
    /// the digest is `sha256(table || ' ' || canonical JSON)`.
    pub fn select_sql(&self, filter: &str) -> String {
        format!(
            "SELECT t.id, t.{col}, t.chain_seq, t.chain_hash, \
             sha256(convert_to('{table} ' || ({content})::text, 'UTF8')) FROM {table} t {filter}",
            col = self.stream_column,
            table = self.table,
            content = self.content,
        )
    }
}

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

/// A checkpoint taken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Checkpoint {
    pub id: i64,
    /// Streams whose head changed since the previous checkpoint.
    pub streams: i64,
    /// The checkpoint's hash (hex): keep it outside the database to anchor the chain.
    pub hash: String,
}

/// Takes a checkpoint (`audit_checkpoint()`): commits to every stream head that changed since
/// the previous one. Refused (SQLSTATE TA002) when a stream got shorter or disappeared since
/// an earlier checkpoint.
pub async fn checkpoint(db: &impl GenericClient) -> Result<Checkpoint, AuditError> {
    if !crate::has_chain(db).await? {
        return Err(AuditError::NotMigrated);
    }
    let id: i64 = db.query_one("SELECT audit_checkpoint()", &[]).await?.get(0);
    let row = db
        .query_one(
            "SELECT id, streams, hash FROM audit_checkpoints WHERE id = $1",
            &[&id],
        )
        .await?;
    let hash: Vec<u8> = row.get(2);
    Ok(Checkpoint {
        id: row.get(0),
        streams: row.get(1),
        hash: hex::encode(hash),
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
    fn link_without_prev_is_plain_sha256() {
        assert_eq!(
            hex::encode(link(None, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(link(Some(b"x"), b"abc"), link(None, b"abc"));
    }
}
