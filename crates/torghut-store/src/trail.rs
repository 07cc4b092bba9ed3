//! Audit trails: record one (decision, review, execution, status) in one transaction, and read
//! everything recorded about a decision.
//!
//! [`record_trail`] is the trading loop's sequence as one call: everything that can be checked
//! without the database is checked first (decision hash and normalisation, review fields, order
//! payload, status, every JSON payload through the boundary), so a bad trail sends nothing;
//! then, in one transaction, `decision::ensure` (by hash), `review` append, `execution` upsert
//! (linked to the decision) and `decision::transition`, each with the semantics of its module
//! and the same statements the HTTP routes use. The database seals every row and records every
//! change (migration `0007_audit_capture`).

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, Transaction};
use torghut_json::JsonPolicy;
use uuid::Uuid;

use crate::check::{self, FieldProblem};
use crate::decision::{
    self, Decision, DecisionError, DecisionEvent, PreparedDecision, Transition, INITIAL_STATUS,
};
use crate::execution::{self, Execution, ExecutionError, ExecutionEvent, ParsedOrder};
use crate::input::InputError;
use crate::review::{self, NewReview, PreparedReview, Review, ReviewError};
use crate::statements;

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

/// What a recorded trail wrote: its decision (and that decision's status after it), its review
/// and its execution.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = TrailRecorded)
)]
pub struct TrailIds {
    pub decision_id: Uuid,
    pub decision_hash: String,
    /// Whether this call recorded the decision (false: it existed).
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
    /// A member of the trail itself (its account label, its status) is not acceptable. These
    /// are the decision's account and status, so the message names them as decision fields.
    #[error(transparent)]
    Input(#[from] InputError),
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
            Self::Input(e) => Some(e.field()),
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
struct PreparedTrail {
    decision: PreparedDecision,
    review: Option<PreparedReview>,
    order: Option<ParsedOrder>,
    /// The status to move to (never `planned`).
    status: Option<String>,
}

/// Checks a trail completely, without the database.
fn prepare(input: &TrailInput, policy: &JsonPolicy) -> Result<PreparedTrail, TrailError> {
    // The account label and the status are members of the trail itself: refused as such, not
    // as parts of the decision (the label is checked before the decision, as the decision's
    // own checks would).
    let own = |p: FieldProblem| TrailError::Input(InputError::from_problem(decision::SUBJECT, p));
    decision::check_account_label(&input.account_label).map_err(own)?;
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
            decision::check_status("status", s).map_err(own)?;
            Some(s.to_owned())
        }
    };
    Ok(PreparedTrail {
        decision,
        review,
        order,
        status,
    })
}

/// Writes a prepared trail in the caller's transaction.
async fn write(
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
    input: &TrailInput,
    policy: &JsonPolicy,
) -> Result<TrailIds, TrailError> {
    let p = prepare(input, policy)?;
    let tx = client.transaction().await?;
    let ids = write(&tx, &p, policy).await?;
    tx.commit().await?;
    Ok(ids)
}

/// [`record_trail`] in the caller's transaction.
pub async fn record_trail_in_tx(
    tx: &Transaction<'_>,
    input: &TrailInput,
    policy: &JsonPolicy,
) -> Result<TrailIds, TrailError> {
    let p = prepare(input, policy)?;
    write(tx, &p, policy).await
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
        statements::query_opt(db, &decision_sql, &params),
        statements::query(db, &events_sql, &params),
        statements::query(db, &reviews_sql, &params),
        statements::query(db, &executions_sql, &params),
        statements::query(db, &execution_events_sql, &params),
    )?;
    let Some(decision) = decision else {
        return Ok(None);
    };
    Ok(Some(AuditTrail {
        decision: decision::decision_from_row(&decision)?,
        events: events
            .iter()
            .map(decision::event_from_row)
            .collect::<Result<_, _>>()?,
        reviews: reviews
            .iter()
            .map(review::review_from_row)
            .collect::<Result<_, _>>()?,
        executions: executions
            .iter()
            .map(execution::execution_from_row)
            .collect::<Result<_, _>>()?,
        execution_events: execution_events
            .iter()
            .map(execution::event_from_row)
            .collect::<Result<_, _>>()?,
    }))
}
