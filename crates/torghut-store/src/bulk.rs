//! Bulk backfill: many trails in one transaction.
//!
//! Every trail is checked and normalised first, exactly as [`crate::trail::record_trail`] does
//! (a bad trail is reported with its index and nothing is written): [`prepare`], which needs no
//! database, so a caller can prepare the next batch on another thread while [`write`] sends
//! this one. Then, in one transaction:
//!
//! 1. the strategies are checked (one query, locking them as the foreign keys would), and the
//!    decision hashes and order ids already stored are read (two queries, pipelined);
//! 2. the trails and executions to skip are dropped, and the rest is written with one binary
//!    `COPY` per table (decisions, reviews, executions).
//!
//! If a concurrent writer stores one of the same keys between the check and the copy, the
//! copy fails on the unique key; the transaction is rolled back and the batch goes the general
//! way, in a new transaction: one binary `COPY` into a temporary staging table (dropped at
//! commit) and one statement moving the rows with `INSERT ... SELECT ... ON CONFLICT DO
//! NOTHING`.
//!
//! Backfill is idempotent and never updates existing rows: a trail whose decision (by hash)
//! is already stored, or repeats an earlier trail of the batch, is skipped whole (its review,
//! execution and status are not written); an execution whose order id or client order id is
//! already stored is skipped. New decisions are inserted directly in their final status and
//! new executions with their payload, each sealing that initial state in its row (no event
//! rows: see [`crate::trail`]). As in [`crate::trail`], the rows come sealed by the store and
//! are created at the time their trail was prepared ([`prepare`]).

use std::collections::HashSet;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use tokio_postgres::{Client, Transaction};
use torghut_json::JsonPolicy;
use uuid::Uuid;

use crate::check;
use crate::decision::DecisionError;
use crate::trail::{self, PreparedTrail, TrailError, TrailInput};

/// What a backfill did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BulkReport {
    /// Trails given.
    pub trails: usize,
    /// Decisions inserted.
    pub decisions_inserted: u64,
    /// Trails skipped because their decision was already stored (or repeated in the batch).
    pub decisions_skipped: u64,
    pub reviews_inserted: u64,
    pub executions_inserted: u64,
    /// Executions of inserted decisions skipped because their order was already stored.
    pub executions_skipped: u64,
}

/// Why a backfill failed (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BulkError {
    /// Trail number `index` (from 0) is not acceptable.
    #[error("trail {index}: {source}")]
    Trail {
        index: usize,
        #[source]
        source: TrailError,
    },
    /// Any other database error.
    #[error("database error: {}", crate::check::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

impl BulkError {
    /// The index of the trail at fault, if one is.
    pub fn index(&self) -> Option<usize> {
        match self {
            Self::Trail { index, .. } => Some(*index),
            Self::Db(_) => None,
        }
    }
}

const STAGING: &str = "CREATE TEMPORARY TABLE torghut_trail_staging (
    ord int4 NOT NULL,
    id uuid NOT NULL, strategy_id uuid NOT NULL, account varchar NOT NULL, symbol varchar NOT NULL,
    timeframe varchar NOT NULL, decision_json jsonb NOT NULL, rationale text,
    status varchar NOT NULL, decision_hash varchar NOT NULL,
    r_id uuid, r_model varchar, r_prompt_version varchar, r_input jsonb, r_response jsonb,
    r_verdict varchar, r_confidence numeric, r_adjusted_qty numeric, r_adjusted_order_type varchar,
    r_rationale text, r_risk_flags jsonb, r_tokens_prompt int4, r_tokens_completion int4,
    x_id uuid, x_order_id varchar, x_client_order_id varchar, x_symbol varchar,
    x_side varchar, x_order_type varchar, x_tif varchar, x_qty numeric, x_filled_qty numeric,
    x_avg_price numeric, x_status varchar, x_raw jsonb,
    created_at timestamptz NOT NULL, d_seal bytea NOT NULL, r_seal bytea, x_seal bytea
) ON COMMIT DROP";

const MOVE: &str = "\
WITH d AS (
  INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe,
    decision_json, rationale, status, decision_hash, executed_at, initial_chain_rows,
    created_at, initial_status, chain_seq, chain_hash)
  SELECT DISTINCT ON (decision_hash) id, strategy_id, account, symbol, timeframe, decision_json,
    rationale, status, decision_hash, CASE WHEN status = 'filled' THEN created_at END,
    CASE WHEN r_id IS NOT NULL THEN 2::int8 END, created_at, status, 1, d_seal
  FROM torghut_trail_staging ORDER BY decision_hash, ord
  ON CONFLICT (decision_hash) DO NOTHING
  RETURNING id),
s AS (SELECT t.* FROM torghut_trail_staging t JOIN d ON d.id = t.id),
r AS (
  INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json,
    response_json, verdict, confidence, adjusted_qty, adjusted_order_type, rationale,
    risk_flags, tokens_prompt, tokens_completion, created_at, chain_seq, chain_hash)
  SELECT r_id, id, r_model, r_prompt_version, r_input, r_response, r_verdict, r_confidence,
    r_adjusted_qty, r_adjusted_order_type, r_rationale, r_risk_flags, r_tokens_prompt,
    r_tokens_completion, created_at, 2, r_seal
  FROM s WHERE r_id IS NOT NULL
  RETURNING 1),
x AS (
  INSERT INTO executions (id, trade_decision_id, alpaca_order_id, client_order_id, symbol, side,
    order_type, time_in_force, submitted_qty, filled_qty, avg_fill_price, status, raw_order,
    last_update_at, created_at, initial_is_raw_order, chain_seq, chain_hash)
  SELECT x_id, id, x_order_id, x_client_order_id, x_symbol, x_side, x_order_type, x_tif, x_qty,
    x_filled_qty, x_avg_price, x_status, x_raw, created_at, created_at, true, 1, x_seal
  FROM s WHERE x_id IS NOT NULL ORDER BY ord
  ON CONFLICT DO NOTHING
  RETURNING 1)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM r),
  (SELECT count(*) FROM s WHERE x_id IS NOT NULL), (SELECT count(*) FROM x)";

fn prepare_all(
    trails: &[TrailInput],
    policy: &JsonPolicy,
) -> Result<Vec<PreparedTrail>, BulkError> {
    trails
        .iter()
        .enumerate()
        .map(|(index, t)| {
            trail::prepare(t, policy).map_err(|source| BulkError::Trail { index, source })
        })
        .collect()
}

/// A batch of trails checked and normalised, ready to be written by [`write`] (or
/// [`write_staged`]). Making one touches no database, so it can be done on another thread
/// while the previous batch is being written.
#[derive(Debug, Clone)]
pub struct PreparedBatch {
    trails: usize,
    prepared: Vec<PreparedTrail>,
}

impl PreparedBatch {
    /// How many trails the batch holds.
    pub fn len(&self) -> usize {
        self.trails
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.trails == 0
    }
}

/// Checks and normalises every trail, as [`backfill`] does before writing; a bad trail is
/// reported with its index.
pub fn prepare(trails: &[TrailInput], policy: &JsonPolicy) -> Result<PreparedBatch, BulkError> {
    Ok(PreparedBatch {
        trails: trails.len(),
        prepared: prepare_all(trails, policy)?,
    })
}

/// Backfills `trails` in one transaction (see the module documentation): [`prepare`], then
/// [`write`].
pub async fn backfill(
    client: &mut Client,
    trails: &[TrailInput],
    policy: &JsonPolicy,
) -> Result<BulkReport, BulkError> {
    let batch = prepare(trails, policy)?;
    write(client, &batch).await
}

/// Writes a prepared batch in one transaction, as [`backfill`] does.
pub async fn write(client: &mut Client, batch: &PreparedBatch) -> Result<BulkReport, BulkError> {
    let prepared = &batch.prepared;
    let mut report = BulkReport {
        trails: batch.trails,
        ..BulkReport::default()
    };
    if prepared.is_empty() {
        return Ok(report);
    }
    match direct(client, prepared, &mut report).await {
        Ok(()) => return Ok(report),
        // A concurrent writer stored one of these keys after they were checked: the
        // transaction is rolled back, and the staging path resolves the conflicts row by row.
        Err(BulkError::Db(e)) if check::is_unique_violation(&e) => {
            report = BulkReport {
                trails: batch.trails,
                ..BulkReport::default()
            };
        }
        Err(e) => return Err(e),
    }
    staged(client, prepared, &mut report).await?;
    Ok(report)
}

/// [`backfill`] by the general way only (staging table and `INSERT ... ON CONFLICT DO
/// NOTHING`), with the same results; slower, and never needs a second attempt, so it suits
/// batches expected to collide with concurrent writers.
pub async fn backfill_staged(
    client: &mut Client,
    trails: &[TrailInput],
    policy: &JsonPolicy,
) -> Result<BulkReport, BulkError> {
    let batch = prepare(trails, policy)?;
    write_staged(client, &batch).await
}

/// Writes a prepared batch as [`backfill_staged`] does.
pub async fn write_staged(
    client: &mut Client,
    batch: &PreparedBatch,
) -> Result<BulkReport, BulkError> {
    let mut report = BulkReport {
        trails: batch.trails,
        ..BulkReport::default()
    };
    if !batch.prepared.is_empty() {
        staged(client, &batch.prepared, &mut report).await?;
    }
    Ok(report)
}

/// Checks that every strategy exists (locking them as the foreign keys would).
async fn check_strategies(
    tx: &Transaction<'_>,
    prepared: &[PreparedTrail],
) -> Result<(), BulkError> {
    let mut strategies: Vec<Uuid> = prepared.iter().map(|p| p.decision.strategy_id).collect();
    strategies.sort_unstable();
    strategies.dedup();
    let found = tx
        .query(
            "SELECT id FROM strategies WHERE id = ANY($1) FOR KEY SHARE",
            &[&strategies],
        )
        .await?;
    if found.len() == strategies.len() {
        return Ok(());
    }
    let found: HashSet<Uuid> = found.iter().map(|r| r.get(0)).collect();
    match prepared
        .iter()
        .enumerate()
        .find(|(_, p)| !found.contains(&p.decision.strategy_id))
    {
        Some((index, p)) => Err(BulkError::Trail {
            index,
            source: DecisionError::UnknownStrategy {
                strategy_id: p.decision.strategy_id,
            }
            .into(),
        }),
        None => Ok(()),
    }
}

/// The common case, without staging: the keys already stored are read first, the trails and
/// executions to skip are dropped here, and the rest is copied (binary `COPY`) straight into
/// the five tables.
async fn direct(
    client: &mut Client,
    prepared: &[PreparedTrail],
    report: &mut BulkReport,
) -> Result<(), BulkError> {
    let tx = client.transaction().await?;
    check_strategies(&tx, prepared).await?;
    let hashes: Vec<&str> = prepared
        .iter()
        .map(|p| p.decision.decision_hash.as_str())
        .collect();
    let order_keys: Vec<&str> = prepared
        .iter()
        .filter_map(|p| p.order.as_ref())
        .flat_map(|o| [Some(o.key()), o.client_order_id.as_deref()])
        .flatten()
        .collect();
    let hash_params: [&(dyn ToSql + Sync); 1] = [&hashes];
    let key_params: [&(dyn ToSql + Sync); 1] = [&order_keys];
    let (stored_hashes, stored_keys) = futures_util::try_join!(
        tx.query(
            "SELECT decision_hash FROM trade_decisions WHERE decision_hash = ANY($1)",
            &hash_params,
        ),
        tx.query(
            "SELECT alpaca_order_id, client_order_id FROM executions \
             WHERE alpaca_order_id = ANY($1) OR client_order_id = ANY($1)",
            &key_params,
        ),
    )?;
    let mut seen_hashes: HashSet<&str> = stored_hashes.iter().map(|r| r.get(0)).collect();
    let mut seen_keys: HashSet<String> = HashSet::new();
    for r in &stored_keys {
        seen_keys.insert(r.get(0));
        if let Some(c) = r.get::<_, Option<String>>(1) {
            seen_keys.insert(c);
        }
    }
    // The trails to write, and whether each writes its execution.
    let mut rows: Vec<(&PreparedTrail, bool)> = Vec::with_capacity(prepared.len());
    for p in prepared {
        if !seen_hashes.insert(p.decision.decision_hash.as_str()) {
            continue;
        }
        let with_execution = match &p.order {
            Some(o) => {
                let taken = seen_keys.contains(o.key())
                    || o.client_order_id
                        .as_ref()
                        .is_some_and(|c| seen_keys.contains(c));
                if !taken {
                    seen_keys.insert(o.key().to_owned());
                    if let Some(c) = &o.client_order_id {
                        seen_keys.insert(c.clone());
                    }
                }
                if taken {
                    report.executions_skipped += 1;
                }
                !taken
            }
            None => false,
        };
        rows.push((p, with_execution));
    }

    let decisions = tx
        .copy_in(
            "COPY trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
             decision_json, rationale, status, decision_hash, executed_at, initial_chain_rows, \
             created_at, initial_status, chain_seq, chain_hash) FROM STDIN (FORMAT binary)",
        )
        .await?;
    let w = BinaryCopyInWriter::new(
        decisions,
        &[
            Type::UUID,
            Type::UUID,
            Type::VARCHAR,
            Type::VARCHAR,
            Type::VARCHAR,
            Type::JSONB,
            Type::TEXT,
            Type::VARCHAR,
            Type::VARCHAR,
            Type::TIMESTAMPTZ,
            Type::INT8,
            Type::TIMESTAMPTZ,
            Type::VARCHAR,
            Type::INT8,
            Type::BYTEA,
        ],
    );
    futures_util::pin_mut!(w);
    for (p, _) in &rows {
        let d = &p.decision;
        // Its review, written below in this transaction, is its stream's row 2.
        let chain_rows = p.review.as_ref().map(|_| 2i64);
        let status = p.initial_status();
        let executed_at = (status == "filled").then_some(p.created_at);
        w.as_mut()
            .write(&[
                &d.id,
                &d.strategy_id,
                &d.account_label,
                &d.symbol,
                &d.timeframe,
                &d.decision_json,
                &d.rationale,
                &status,
                &d.decision_hash,
                &executed_at,
                &chain_rows,
                &p.created_at,
                &status,
                &1i64,
                &p.seals.decision.as_slice(),
            ])
            .await?;
    }
    report.decisions_inserted = w.finish().await?;

    let reviews = tx
        .copy_in(
            "COPY llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, \
             response_json, verdict, confidence, adjusted_qty, adjusted_order_type, rationale, \
             risk_flags, tokens_prompt, tokens_completion, created_at, chain_seq, chain_hash) \
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    let w = BinaryCopyInWriter::new(
        reviews,
        &[
            Type::UUID,
            Type::UUID,
            Type::VARCHAR,
            Type::VARCHAR,
            Type::JSONB,
            Type::JSONB,
            Type::VARCHAR,
            Type::NUMERIC,
            Type::NUMERIC,
            Type::VARCHAR,
            Type::TEXT,
            Type::JSONB,
            Type::INT4,
            Type::INT4,
            Type::TIMESTAMPTZ,
            Type::INT8,
            Type::BYTEA,
        ],
    );
    futures_util::pin_mut!(w);
    for (p, _) in &rows {
        if let Some(r) = &p.review {
            w.as_mut()
                .write(&[
                    &r.id,
                    &p.decision.id,
                    &r.model,
                    &r.prompt_version,
                    &r.input_json,
                    &r.response_json,
                    &r.verdict,
                    &r.confidence,
                    &r.adjusted_qty,
                    &r.adjusted_order_type,
                    &r.rationale,
                    &r.risk_flags,
                    &r.tokens_prompt,
                    &r.tokens_completion,
                    &p.created_at,
                    &2i64,
                    &p.seals.review.as_ref().map(|h| h.as_slice()),
                ])
                .await?;
        }
    }
    report.reviews_inserted = w.finish().await?;

    let executions = tx
        .copy_in(
            "COPY executions (id, trade_decision_id, alpaca_order_id, client_order_id, symbol, \
             side, order_type, time_in_force, submitted_qty, filled_qty, avg_fill_price, status, \
             raw_order, last_update_at, created_at, initial_is_raw_order, chain_seq, chain_hash) \
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    let w = BinaryCopyInWriter::new(
        executions,
        &[
            Type::UUID,
            Type::UUID,
            Type::VARCHAR,
            Type::VARCHAR,
            Type::VARCHAR,
            Type::VARCHAR,
            Type::VARCHAR,
            Type::VARCHAR,
            Type::NUMERIC,
            Type::NUMERIC,
            Type::NUMERIC,
            Type::VARCHAR,
            Type::JSONB,
            Type::TIMESTAMPTZ,
            Type::TIMESTAMPTZ,
            Type::BOOL,
            Type::INT8,
            Type::BYTEA,
        ],
    );
    futures_util::pin_mut!(w);
    for (p, with_execution) in &rows {
        if let (Some(o), true) = (&p.order, with_execution) {
            w.as_mut()
                .write(&[
                    &p.execution_id,
                    &p.decision.id,
                    &o.key(),
                    &o.client_order_id,
                    &o.symbol,
                    &o.side,
                    &o.order_type,
                    &o.time_in_force,
                    &o.qty,
                    &o.filled_qty,
                    &o.filled_avg_price,
                    &o.status,
                    &o.raw_order,
                    &p.created_at,
                    &p.created_at,
                    &true,
                    &1i64,
                    &p.seals.execution.as_ref().map(|h| h.as_slice()),
                ])
                .await?;
        }
    }
    report.executions_inserted = w.finish().await?;

    report.decisions_skipped = report.trails as u64 - report.decisions_inserted;
    tx.commit().await?;
    Ok(())
}

/// The general case: everything through a staging table and one `INSERT ... SELECT ... ON
/// CONFLICT DO NOTHING` statement.
async fn staged(
    client: &mut Client,
    prepared: &[PreparedTrail],
    report: &mut BulkReport,
) -> Result<(), BulkError> {
    let tx = client.transaction().await?;
    check_strategies(&tx, prepared).await?;
    tx.batch_execute(STAGING).await?;
    let sink = tx
        .copy_in("COPY torghut_trail_staging FROM STDIN (FORMAT binary)")
        .await?;
    // The staging table's columns: `ord`, then the single trail statement's parameters.
    let types: Vec<Type> = std::iter::once(Type::INT4)
        .chain(trail::FAST_TYPES.iter().cloned())
        .collect();
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures_util::pin_mut!(writer);
    for (ord, p) in prepared.iter().enumerate() {
        let ord = i32::try_from(ord).unwrap_or(i32::MAX);
        let row: [&(dyn ToSql + Sync); 39] = trail::trail_params!(p, &ord);
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;

    let row = tx.query_one(MOVE, &[]).await?;
    let count = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or_default();
    report.decisions_inserted = count(0);
    report.decisions_skipped = report.trails as u64 - report.decisions_inserted;
    report.reviews_inserted = count(1);
    report.executions_inserted = count(3);
    report.executions_skipped = count(2) - report.executions_inserted;
    tx.commit().await?;
    Ok(())
}
