//! Audit trails: record one (decision, review, execution, status) in one transaction, and read
//! everything recorded about a decision.
//!
//! # How [`record_trail`] keeps round trips down
//!
//! Everything that can be checked without the database is checked first (decision hash and
//! normalisation, review fields, order payload, status, every JSON payload through the
//! boundary); a bad trail sends nothing.
//!
//! The common case, a decision not recorded yet whose order (if any) is not recorded yet
//! either, is **one prepared statement** ([`TrailStatements`], prepared once per connection):
//! a data-modifying CTE that inserts the decision (`ON CONFLICT (decision_hash) DO NOTHING`)
//! directly in its final status, the review and the execution, each `SELECT ... FROM` the
//! inserted decision. Creation writes no event rows: from `0011_audit_initial_state` the state
//! a decision or execution is created in is sealed into its row (`initial_status`,
//! `initial_raw_order`), and events record what happens afterwards; a decision inserted with
//! its review says so (`initial_chain_rows` 2), and the review is its stream's row 2 without
//! a stream head row. Ids are made here (UUID v7), and so is the rows' `created_at` (the
//! writer's clock, microseconds) and their seals: the three rows come sealed into their
//! stream's hash chain (`seal.rs`, migration `0012_audit_writer_seal`), so no sealing
//! trigger runs. Nothing needs to come back but whether the decision was inserted.
//!
//! - [`record_trail`] sends it outside any explicit transaction: a single statement is its own
//!   transaction (one commit when it completes), so the whole trail costs one round trip, no
//!   `BEGIN`/`COMMIT`. It does not look for the order first: an order already stored makes
//!   the statement fail on the order's unique key, having written nothing, and the general
//!   path runs (two index probes saved on every trail, a failed statement in the rare case).
//! - [`record_trail_in_tx`] sends it in the caller's transaction, guarded: when the order is
//!   already stored it writes nothing (a failed statement would abort the caller's
//!   transaction).
//!
//! When the decision exists already (a retry, or a concurrent writer of the same decision),
//! or its order is already recorded, the statement writes nothing and the general path runs
//! in one transaction: `decision::ensure`, `review::append`, `execution` upsert (linked to
//! the decision) and `decision::transition`, each with the semantics of its module. When
//! the statement loses a race on an order id (another transaction recorded the same order
//! between the check and the insert), [`record_trail`] runs the general path too (the failed
//! statement wrote nothing); [`record_trail_in_tx`] returns the execution error, the caller's
//! transaction being aborted.

use chrono::{DateTime, SubsecRound, Utc};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, GenericClient, Statement, Transaction};
use torghut_json::JsonPolicy;
use uuid::Uuid;

use crate::check;
use crate::decision::{
    self, Decision, DecisionError, DecisionEvent, PreparedDecision, Transition, INITIAL_STATUS,
};
use crate::execution::{self, Execution, ExecutionError, ExecutionEvent, ParsedOrder};
use crate::review::{self, NewReview, PreparedReview, Review, ReviewError};
use crate::seal::TrailSeals;

/// One trail to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailInput {
    /// The strategy; must be the decision's `strategy_id`.
    pub strategy_id: Uuid,
    /// The broker account label (at most 64 characters).
    pub account_label: String,
    /// The decision as JSON text (see [`crate::decision`]).
    pub decision_json_text: String,
    /// A review to append.
    pub review: Option<NewReview>,
    /// A broker order payload (JSON text) to upsert as the decision's execution.
    pub execution: Option<String>,
    /// A status to move the decision to (see [`Transition::to`]); `planned` means no change.
    pub status: Option<String>,
}

/// What [`record_trail`] recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailIds {
    pub decision_id: Uuid,
    pub decision_hash: String,
    /// Whether the decision was inserted by this call (false: it existed).
    pub created: bool,
    /// The decision's status after the trail.
    pub status: String,
    pub review_id: Option<Uuid>,
    pub execution_id: Option<Uuid>,
}

/// Why a trail could not be recorded or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrailError {
    #[error(transparent)]
    Decision(#[from] DecisionError),
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error(transparent)]
    Execution(#[from] ExecutionError),
    /// The trail's `strategy_id` is not the decision's.
    #[error("trail field \"strategy_id\": {given} is not the decision's strategy {decision}")]
    StrategyMismatch { given: Uuid, decision: Uuid },
    /// Any other database error.
    #[error("database error: {}", crate::check::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

impl TrailError {
    /// The input field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Decision(e) => e.field(),
            Self::Review(e) => e.field(),
            Self::Execution(e) => e.field(),
            Self::StrategyMismatch { .. } => Some("strategy_id"),
            Self::Db(_) => None,
        }
    }

    /// Whether retrying the whole transaction may succeed: a serialization failure, a
    /// deadlock, or a lost race on a unique key.
    pub fn is_retryable(&self) -> bool {
        let db = match self {
            Self::Db(e)
            | Self::Decision(DecisionError::Db(e))
            | Self::Review(ReviewError::Db(e))
            | Self::Execution(ExecutionError::Db(e)) => e,
            Self::Execution(
                ExecutionError::ClientOrderIdTaken { .. }
                | ExecutionError::AlpacaOrderIdTaken { .. },
            ) => return true,
            _ => return false,
        };
        check::is_retryable(db)
    }
}

/// A trail checked and normalised, ready to be written.
#[derive(Debug, Clone)]
pub(crate) struct PreparedTrail {
    pub decision: PreparedDecision,
    pub review: Option<PreparedReview>,
    pub order: Option<ParsedOrder>,
    pub execution_id: Uuid,
    /// The status to move to (never `planned`); a new decision is inserted in it directly.
    pub status: Option<String>,
    /// When the rows the trail creates are created (`created_at`; microseconds, as stored).
    pub created_at: DateTime<Utc>,
    /// The seals of the rows it creates (see [`crate::seal`]).
    pub seals: TrailSeals,
}

impl PreparedTrail {
    /// The status a new decision is inserted with.
    pub fn initial_status(&self) -> &str {
        self.status.as_deref().unwrap_or(INITIAL_STATUS)
    }
}

/// Checks a trail completely, without the database.
pub(crate) fn prepare(
    input: &TrailInput,
    policy: &JsonPolicy,
) -> Result<PreparedTrail, TrailError> {
    let decision = decision::prepare(&input.account_label, &input.decision_json_text, policy)?;
    if decision.strategy_id != input.strategy_id {
        return Err(TrailError::StrategyMismatch {
            given: input.strategy_id,
            decision: decision.strategy_id,
        });
    }
    let review = input
        .review
        .as_ref()
        .map(|r| review::prepare(r, policy))
        .transpose()?;
    let order = input
        .execution
        .as_deref()
        .map(|o| execution::parse_order(o, policy))
        .transpose()?;
    let status = match input.status.as_deref() {
        None | Some(INITIAL_STATUS) => None,
        Some(s) => {
            decision::check_status("status", s).map_err(DecisionError::from)?;
            Some(s.to_owned())
        }
    };
    let mut p = PreparedTrail {
        decision,
        review,
        order,
        execution_id: Uuid::now_v7(),
        status,
        created_at: Utc::now().trunc_subsecs(6),
        seals: TrailSeals::default(),
    };
    p.seals = TrailSeals::of(&p);
    Ok(p)
}

/// The prepared statements of [`record_trail`], prepared once per connection.
#[derive(Debug, Clone)]
pub struct TrailStatements {
    /// The single statement, guarded: writes nothing when the order is already stored (for the
    /// caller's transaction, which a unique violation would abort).
    fast: Statement,
    /// The same without the guard, for [`record_trail`]: it is its own transaction, so a
    /// stored order makes it fail on the unique key having written nothing, and the general
    /// path runs. Saves two index probes on every trail.
    fast_unguarded: Statement,
}

const FAST_SQL: &str = "\
WITH d AS (
  INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe,
    decision_json, rationale, status, decision_hash, executed_at, initial_chain_rows,
    created_at, initial_status, chain_seq, chain_hash)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $8 = 'filled' THEN $35 END,
    CASE WHEN $10 IS NOT NULL THEN 2::int8 END, $35, $8, 1, $36
  /*guard*/
  ON CONFLICT (decision_hash) DO NOTHING
  RETURNING id),
r AS (
  INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json,
    response_json, verdict, confidence, adjusted_qty, adjusted_order_type, rationale,
    risk_flags, tokens_prompt, tokens_completion, created_at, chain_seq, chain_hash)
  SELECT $10, d.id, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $35, 2, $37
  FROM d WHERE $10 IS NOT NULL),
x AS (
  INSERT INTO executions (id, trade_decision_id, alpaca_order_id, client_order_id, symbol, side,
    order_type, time_in_force, submitted_qty, filled_qty, avg_fill_price, status, raw_order,
    last_update_at, created_at, initial_is_raw_order, chain_seq, chain_hash)
  SELECT $23, d.id, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $35, true, 1, $38
  FROM d WHERE $23 IS NOT NULL)
SELECT count(*)::int4 FROM d";

/// The guard of [`TrailStatements::fast`].
const ORDER_GUARD: &str = "WHERE $23 IS NULL
     OR NOT EXISTS (SELECT 1 FROM executions WHERE alpaca_order_id = $24 OR client_order_id = $25)";

/// The parameters of the single trail statement ([`FAST_TYPES`], in order) for a
/// `&PreparedTrail`, as an array of `&dyn ToSql` (give the array's type where it is bound). With a
/// leading expression, that comes first: the bulk staging table has the same columns after its
/// `ord`.
macro_rules! trail_params {
    ($p:expr $(, $lead:expr)?) => {
        [
            $($lead,)?
            &$p.decision.id,
            &$p.decision.strategy_id,
            &$p.decision.account_label,
            &$p.decision.symbol,
            &$p.decision.timeframe,
            &$p.decision.decision_json,
            &$p.decision.rationale,
            &$p.initial_status(),
            &$p.decision.decision_hash,
            &$p.review.as_ref().map(|r| r.id),
            &$p.review.as_ref().map(|r| &r.model),
            &$p.review.as_ref().map(|r| &r.prompt_version),
            &$p.review.as_ref().map(|r| &r.input_json),
            &$p.review.as_ref().map(|r| &r.response_json),
            &$p.review.as_ref().map(|r| &r.verdict),
            &$p.review.as_ref().and_then(|r| r.confidence),
            &$p.review.as_ref().and_then(|r| r.adjusted_qty),
            &$p.review.as_ref().and_then(|r| r.adjusted_order_type.as_ref()),
            &$p.review.as_ref().and_then(|r| r.rationale.as_ref()),
            &$p.review.as_ref().and_then(|r| r.risk_flags.as_ref()),
            &$p.review.as_ref().and_then(|r| r.tokens_prompt),
            &$p.review.as_ref().and_then(|r| r.tokens_completion),
            &$p.order.as_ref().map(|_| $p.execution_id),
            &$p.order.as_ref().map($crate::execution::ParsedOrder::key),
            &$p.order.as_ref().and_then(|o| o.client_order_id.as_ref()),
            &$p.order.as_ref().map(|o| &o.symbol),
            &$p.order.as_ref().map(|o| &o.side),
            &$p.order.as_ref().map(|o| &o.order_type),
            &$p.order.as_ref().map(|o| &o.time_in_force),
            &$p.order.as_ref().map(|o| o.qty),
            &$p.order.as_ref().map(|o| o.filled_qty),
            &$p.order.as_ref().and_then(|o| o.filled_avg_price),
            &$p.order.as_ref().map(|o| &o.status),
            &$p.order.as_ref().map(|o| &o.raw_order),
            &$p.created_at,
            &$p.seals.decision.as_slice(),
            &$p.seals.review.as_ref().map(|h| h.as_slice()),
            &$p.seals.execution.as_ref().map(|h| h.as_slice()),
        ]
    };
}
pub(crate) use trail_params;

pub(crate) const FAST_TYPES: [Type; 38] = [
    Type::UUID,        // 1 decision id
    Type::UUID,        // 2 strategy id
    Type::VARCHAR,     // 3 account label
    Type::VARCHAR,     // 4 symbol
    Type::VARCHAR,     // 5 timeframe
    Type::JSONB,       // 6 decision_json
    Type::TEXT,        // 7 rationale
    Type::VARCHAR,     // 8 status
    Type::VARCHAR,     // 9 decision hash
    Type::UUID,        // 10 review id
    Type::VARCHAR,     // 11 model
    Type::VARCHAR,     // 12 prompt version
    Type::JSONB,       // 13 input_json
    Type::JSONB,       // 14 response_json
    Type::VARCHAR,     // 15 verdict
    Type::NUMERIC,     // 16 confidence
    Type::NUMERIC,     // 17 adjusted qty
    Type::VARCHAR,     // 18 adjusted order type
    Type::TEXT,        // 19 review rationale
    Type::JSONB,       // 20 risk flags
    Type::INT4,        // 21 tokens prompt
    Type::INT4,        // 22 tokens completion
    Type::UUID,        // 23 execution id
    Type::VARCHAR,     // 24 alpaca order id
    Type::VARCHAR,     // 25 client order id
    Type::VARCHAR,     // 26 symbol
    Type::VARCHAR,     // 27 side
    Type::VARCHAR,     // 28 order type
    Type::VARCHAR,     // 29 time in force
    Type::NUMERIC,     // 30 submitted qty
    Type::NUMERIC,     // 31 filled qty
    Type::NUMERIC,     // 32 avg fill price
    Type::VARCHAR,     // 33 execution status
    Type::JSONB,       // 34 raw order
    Type::TIMESTAMPTZ, // 35 created at
    Type::BYTEA,       // 36 decision seal
    Type::BYTEA,       // 37 review seal
    Type::BYTEA,       // 38 execution seal
];

impl TrailStatements {
    /// Prepares the statements on `client` (usable on it and its transactions).
    pub async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        let guarded = FAST_SQL.replace("/*guard*/", ORDER_GUARD);
        let unguarded = FAST_SQL.replace("/*guard*/", "");
        Ok(Self {
            fast: client.prepare_typed(&guarded, &FAST_TYPES).await?,
            fast_unguarded: client.prepare_typed(&unguarded, &FAST_TYPES).await?,
        })
    }
}

/// Sends the single-statement common path; `Ok(true)` when it recorded the trail.
async fn fast_path(
    db: &impl GenericClient,
    stmt: &Statement,
    p: &PreparedTrail,
) -> Result<bool, tokio_postgres::Error> {
    let row = db.query_one(stmt, &trail_params!(p)).await?;
    Ok(row.get::<_, i32>(0) == 1)
}

fn fast_ids(p: &PreparedTrail) -> TrailIds {
    TrailIds {
        decision_id: p.decision.id,
        decision_hash: p.decision.decision_hash.clone(),
        created: true,
        status: p.initial_status().to_owned(),
        review_id: p.review.as_ref().map(|r| r.id),
        execution_id: p.order.as_ref().map(|_| p.execution_id),
    }
}

/// Maps an error of the single statement to the module it belongs to.
fn fast_error(e: tokio_postgres::Error, p: &PreparedTrail) -> TrailError {
    if check::violates(&e, "fk_trade_decisions_strategy_id_strategies") {
        return DecisionError::from_db(e, p.decision.strategy_id).into();
    }
    match &p.order {
        Some(o) if check::is_unique_violation(&e) => ExecutionError::from_db(e, o).into(),
        _ => TrailError::Db(e),
    }
}

/// The general path, in a transaction: each part with its own module's semantics.
async fn general_path(
    tx: &Transaction<'_>,
    p: &PreparedTrail,
    policy: &JsonPolicy,
) -> Result<TrailIds, TrailError> {
    let ensured = decision::ensure_prepared(tx, &p.decision).await?;
    let review_id = match &p.review {
        Some(r) => Some(review::insert_prepared(tx, ensured.id, r).await?),
        None => None,
    };
    let execution_id = match &p.order {
        Some(o) => Some(execution::upsert_parsed(tx, o, Some(ensured.id)).await?.id),
        None => None,
    };
    let status = match &p.status {
        Some(to) => {
            decision::transition_in_tx(tx, ensured.id, &Transition::to(to.clone()), policy)
                .await?
                .to
        }
        None => ensured.status,
    };
    Ok(TrailIds {
        decision_id: ensured.id,
        decision_hash: ensured.decision_hash,
        created: ensured.created,
        status,
        review_id,
        execution_id,
    })
}

/// Records a trail: the decision (ensured by hash), its review, its execution (upserted) and
/// its status transition, in one transaction with one commit (see the module documentation).
pub async fn record_trail(
    client: &mut Client,
    stmts: &TrailStatements,
    input: &TrailInput,
    policy: &JsonPolicy,
) -> Result<TrailIds, TrailError> {
    let p = prepare(input, policy)?;
    match fast_path(&*client, &stmts.fast_unguarded, &p).await {
        Ok(true) => return Ok(fast_ids(&p)),
        Ok(false) => {}
        // Lost a race on an order id: the statement (its own transaction) wrote nothing.
        Err(e) if p.order.is_some() && check::is_unique_violation(&e) => {}
        Err(e) => return Err(fast_error(e, &p)),
    }
    let tx = client.transaction().await?;
    let ids = general_path(&tx, &p, policy).await?;
    tx.commit().await?;
    Ok(ids)
}

/// [`record_trail`] in the caller's transaction.
pub async fn record_trail_in_tx(
    tx: &Transaction<'_>,
    stmts: &TrailStatements,
    input: &TrailInput,
    policy: &JsonPolicy,
) -> Result<TrailIds, TrailError> {
    let p = prepare(input, policy)?;
    match fast_path(tx, &stmts.fast, &p).await {
        Ok(true) => Ok(fast_ids(&p)),
        Ok(false) => general_path(tx, &p, policy).await,
        Err(e) => Err(fast_error(e, &p)),
    }
}

/// Everything recorded about one decision.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditTrail {
    pub decision: Decision,
    /// Its events (status transitions), by `seq`.
    pub events: Vec<DecisionEvent>,
    /// Its reviews, oldest first.
    pub reviews: Vec<Review>,
    /// Its executions: linked to it, or whose client order id is its hash; oldest first.
    pub executions: Vec<Execution>,
    /// The events of those executions, by execution then `seq`.
    pub execution_events: Vec<ExecutionEvent>,
}

/// The audit trail of a decision (the queries are pipelined: one round trip).
pub async fn get(
    db: &impl GenericClient,
    decision_id: Uuid,
) -> Result<Option<AuditTrail>, TrailError> {
    const OF_DECISION: &str = "(e.trade_decision_id = $1 OR e.client_order_id = \
        (SELECT decision_hash FROM trade_decisions WHERE id = $1))";
    let decision_sql = format!(
        "SELECT {} FROM trade_decisions WHERE id = $1",
        decision::DECISION_COLUMNS
    );
    let events_sql = format!(
        "SELECT {} FROM decision_events WHERE decision_id = $1 ORDER BY seq",
        decision::EVENT_COLUMNS
    );
    let reviews_sql = format!(
        "SELECT {} FROM llm_decision_reviews WHERE trade_decision_id = $1 ORDER BY created_at, id",
        review::REVIEW_COLUMNS
    );
    let executions_sql = format!(
        "SELECT {} FROM executions e WHERE {OF_DECISION} ORDER BY created_at, id",
        execution::EXECUTION_COLUMNS
    );
    let execution_events_sql = format!(
        "SELECT {} FROM execution_events WHERE execution_id IN \
         (SELECT e.id FROM executions e WHERE {OF_DECISION}) ORDER BY execution_id, seq",
        execution::EVENT_COLUMNS
    );
    let params: [&(dyn ToSql + Sync); 1] = [&decision_id];
    let (decision, events, reviews, executions, execution_events) = futures_util::try_join!(
        db.query_opt(&decision_sql, &params),
        db.query(&events_sql, &params),
        db.query(&reviews_sql, &params),
        db.query(&executions_sql, &params),
        db.query(&execution_events_sql, &params),
    )?;
    let Some(decision) = decision else {
        return Ok(None);
    };
    Ok(Some(AuditTrail {
        decision: decision::decision_from_row(&decision),
        events: events.iter().map(decision::event_from_row).collect(),
        reviews: reviews.iter().map(review::review_from_row).collect(),
        executions: executions
            .iter()
            .map(execution::execution_from_row)
            .collect(),
        execution_events: execution_events
            .iter()
            .map(execution::event_from_row)
            .collect(),
    }))
}

/// When the trail was recorded, for callers that report it: the decision's `created_at`.
pub fn recorded_at(trail: &AuditTrail) -> DateTime<Utc> {
    trail.decision.created_at
}
