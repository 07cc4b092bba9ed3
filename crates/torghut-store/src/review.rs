//! LLM reviews of decisions: append and read.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::numeric::Numeric;
use crate::statements;
use tokio_postgres::{Client, GenericClient, Row, Transaction};
use torghut_json::{AuditJson, JsonPolicy};
use uuid::Uuid;

use crate::check::{self, FieldProblem};
use crate::input::InputError;

/// The verdicts a review can give.
pub const VERDICTS: [&str; 4] = ["approve", "veto", "adjust", "error"];

/// A review to append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewReview {
    /// Model name (at most 128 characters, not empty).
    pub model: String,
    /// Prompt version (at most 32 characters, not empty).
    pub prompt_version: String,
    /// What the model was given, as JSON text.
    pub input_json: String,
    /// What the model answered, as JSON text.
    pub response_json: String,
    /// One of [`VERDICTS`].
    pub verdict: String,
    /// Between 0 and 1 inclusive, at most 4 decimal places (`numeric(6,4)`; never rounded).
    pub confidence: Option<Decimal>,
    /// The quantity an `adjust` verdict proposes.
    pub adjusted_qty: Option<Decimal>,
    /// The order type an `adjust` verdict proposes (at most 32 characters).
    pub adjusted_order_type: Option<String>,
    pub rationale: Option<String>,
    /// Risk flags as JSON text.
    pub risk_flags: Option<String>,
    /// Prompt tokens, at least 0.
    pub tokens_prompt: Option<i32>,
    /// Completion tokens, at least 0.
    pub tokens_completion: Option<i32>,
}

/// A row of `llm_decision_reviews`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = ReviewRow)
)]
pub struct Review {
    pub id: Uuid,
    pub trade_decision_id: Uuid,
    pub model: String,
    pub prompt_version: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub input_json: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub response_json: serde_json::Value,
    pub verdict: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub confidence: Option<Numeric>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub adjusted_qty: Option<Numeric>,
    pub adjusted_order_type: Option<String>,
    pub rationale: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>))]
    pub risk_flags: Option<serde_json::Value>,
    pub tokens_prompt: Option<i32>,
    pub tokens_completion: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// Why a review could not be appended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// An input field or JSON payload is not acceptable (nothing was written).
    #[error(transparent)]
    Input(#[from] InputError),
    /// No decision has this id.
    #[error("review: no decision with id {decision_id}")]
    UnknownDecision { decision_id: Uuid },
    /// Any other database error.
    #[error("database error: {}", crate::check::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

impl ReviewError {
    /// The input field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Input(e) => Some(e.field()),
            Self::UnknownDecision { .. } => Some("trade_decision_id"),
            Self::Db(_) => None,
        }
    }

    pub(crate) fn from_db(e: tokio_postgres::Error, decision_id: Uuid) -> Self {
        if check::violates(
            &e,
            "fk_llm_decision_reviews_trade_decision_id_trade_decisions",
        ) {
            Self::UnknownDecision { decision_id }
        } else {
            Self::Db(e)
        }
    }
}

/// The subject of this module's input refusals.
const SUBJECT: &str = "review";

impl From<FieldProblem> for ReviewError {
    fn from(p: FieldProblem) -> Self {
        Self::Input(InputError::from_problem(SUBJECT, p))
    }
}

/// A review checked, its payloads through the JSON boundary.
#[derive(Debug, Clone)]
pub(crate) struct PreparedReview {
    pub id: Uuid,
    pub model: String,
    pub prompt_version: String,
    pub input_json: AuditJson,
    pub response_json: AuditJson,
    pub verdict: String,
    pub confidence: Option<Decimal>,
    pub adjusted_qty: Option<Decimal>,
    pub adjusted_order_type: Option<String>,
    pub rationale: Option<String>,
    pub risk_flags: Option<AuditJson>,
    pub tokens_prompt: Option<i32>,
    pub tokens_completion: Option<i32>,
}

fn json_field(
    field: &'static str,
    raw: &str,
    policy: &JsonPolicy,
) -> Result<AuditJson, ReviewError> {
    check::payload(raw, policy).map_err(|source| InputError::json(SUBJECT, field, source).into())
}

/// Checks a review and passes its payloads through the JSON boundary.
pub(crate) fn prepare(r: &NewReview, policy: &JsonPolicy) -> Result<PreparedReview, ReviewError> {
    check::varchar("model", &r.model, 128, true)?;
    check::varchar("prompt_version", &r.prompt_version, 32, true)?;
    if !VERDICTS.contains(&r.verdict.as_str()) {
        return Err(InputError::member(
            SUBJECT,
            "verdict",
            "expected one of \"approve\", \"veto\", \"adjust\", \"error\"",
        )
        .into());
    }
    if let Some(c) = &r.confidence {
        if c.is_sign_negative() && !c.is_zero() || *c > Decimal::ONE {
            return Err(
                InputError::member(SUBJECT, "confidence", format!("{c} is outside 0..=1")).into(),
            );
        }
        check::numeric("confidence", c, 6, 4)?;
    }
    if let Some(q) = &r.adjusted_qty {
        check::numeric("adjusted_qty", q, 20, 8)?;
    }
    if let Some(t) = &r.adjusted_order_type {
        check::varchar("adjusted_order_type", t, 32, true)?;
    }
    if let Some(t) = &r.rationale {
        check::text("rationale", t)?;
    }
    for (field, tokens) in [
        ("tokens_prompt", r.tokens_prompt),
        ("tokens_completion", r.tokens_completion),
    ] {
        if let Some(n) = tokens {
            if n < 0 {
                return Err(InputError::member(SUBJECT, field, format!("{n} is negative")).into());
            }
        }
    }
    Ok(PreparedReview {
        id: Uuid::now_v7(),
        model: r.model.clone(),
        prompt_version: r.prompt_version.clone(),
        input_json: json_field("input_json", &r.input_json, policy)?,
        response_json: json_field("response_json", &r.response_json, policy)?,
        verdict: r.verdict.clone(),
        confidence: r.confidence,
        adjusted_qty: r.adjusted_qty,
        adjusted_order_type: r.adjusted_order_type.clone(),
        rationale: r.rationale.clone(),
        risk_flags: r
            .risk_flags
            .as_deref()
            .map(|raw| json_field("risk_flags", raw, policy))
            .transpose()?,
        tokens_prompt: r.tokens_prompt,
        tokens_completion: r.tokens_completion,
    })
}

/// Appends a review of a decision, in its own transaction; returns the review's id. The review
/// is one `INSERT` (its seal and the decision's head are moved by the table's trigger inside
/// it), so it runs as a single statement, committed on its own: no `BEGIN` and `COMMIT` round
/// trips around it.
pub async fn append(
    client: &Client,
    decision_id: Uuid,
    review: &NewReview,
    policy: &JsonPolicy,
) -> Result<Uuid, ReviewError> {
    let prepared = prepare(review, policy)?;
    insert_prepared(client, decision_id, &prepared).await
}

/// [`append`] in the caller's transaction.
pub async fn append_in_tx(
    tx: &Transaction<'_>,
    decision_id: Uuid,
    review: &NewReview,
    policy: &JsonPolicy,
) -> Result<Uuid, ReviewError> {
    let prepared = prepare(review, policy)?;
    insert_prepared(tx, decision_id, &prepared).await
}

pub(crate) async fn insert_prepared(
    db: &impl GenericClient,
    decision_id: Uuid,
    r: &PreparedReview,
) -> Result<Uuid, ReviewError> {
    statements::execute(
        db,
        "INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, \
         input_json, response_json, verdict, confidence, adjusted_qty, adjusted_order_type, \
         rationale, risk_flags, tokens_prompt, tokens_completion) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &[
            &r.id,
            &decision_id,
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
        ],
    )
    .await
    .map_err(|e| ReviewError::from_db(e, decision_id))?;
    Ok(r.id)
}

pub(crate) const REVIEW_COLUMNS: &str = "id, trade_decision_id, model, prompt_version, \
    input_json, response_json, verdict, confidence, adjusted_qty, adjusted_order_type, \
    rationale, risk_flags, tokens_prompt, tokens_completion, created_at";

pub(crate) fn review_from_row(row: &Row) -> Result<Review, tokio_postgres::Error> {
    Ok(Review {
        id: row.try_get(0)?,
        trade_decision_id: row.try_get(1)?,
        model: row.try_get(2)?,
        prompt_version: row.try_get(3)?,
        input_json: row.try_get(4)?,
        response_json: row.try_get(5)?,
        verdict: row.try_get(6)?,
        confidence: row.try_get(7)?,
        adjusted_qty: row.try_get(8)?,
        adjusted_order_type: row.try_get(9)?,
        rationale: row.try_get(10)?,
        risk_flags: row.try_get(11)?,
        tokens_prompt: row.try_get(12)?,
        tokens_completion: row.try_get(13)?,
        created_at: row.try_get(14)?,
    })
}

/// The reviews of a decision, oldest first.
pub async fn for_decision(
    db: &impl GenericClient,
    decision_id: Uuid,
) -> Result<Vec<Review>, ReviewError> {
    let rows = db
        .query(
            &format!(
                "SELECT {REVIEW_COLUMNS} FROM llm_decision_reviews WHERE trade_decision_id = $1 \
                 ORDER BY created_at, id"
            ),
            &[&decision_id],
        )
        .await?;
    Ok(rows.iter().map(review_from_row).collect::<Result<_, _>>()?)
}
