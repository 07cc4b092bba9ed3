//! Response (and documented request) bodies. Field names are the tables' column names; ids,
//! decimals and date-times are strings. A decimal reads as PostgreSQL writes it (`1.50000000`;
//! `NaN`, `Infinity` when another writer stored one), never through a float.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use torghut_store::cursor::{Advanced, Cursor};
use torghut_store::decision::{Decision, DecisionEvent, EnsuredDecision, TransitionOutcome};
use torghut_store::execution::{Execution, ExecutionEvent, UpsertedExecution};
use torghut_store::review::Review;
use torghut_store::strategy::Strategy;
use torghut_store::trail::AuditTrail;
use utoipa::ToSchema;
use uuid::Uuid;

/// A row of `strategies`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StrategyRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub base_timeframe: String,
    pub universe_type: String,
    #[schema(value_type = Option<Value>)]
    pub universe_symbols: Option<Value>,
    #[schema(value_type = Option<String>, example = "0.10000000")]
    pub max_position_pct_equity: Option<String>,
    #[schema(value_type = Option<String>)]
    pub max_notional_per_trade: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Strategy> for StrategyRow {
    fn from(s: Strategy) -> Self {
        Self {
            id: s.id,
            name: s.name,
            description: s.description,
            enabled: s.enabled,
            base_timeframe: s.base_timeframe,
            universe_type: s.universe_type,
            universe_symbols: s.universe_symbols,
            max_position_pct_equity: s.max_position_pct_equity.map(|n| n.to_string()),
            max_notional_per_trade: s.max_notional_per_trade.map(|n| n.to_string()),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A row of `trade_decisions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionRow {
    pub id: Uuid,
    pub strategy_id: Uuid,
    pub alpaca_account_label: String,
    pub symbol: String,
    pub timeframe: String,
    #[schema(value_type = Object)]
    pub decision_json: Value,
    pub rationale: Option<String>,
    pub status: String,
    pub decision_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub executed_at: Option<DateTime<Utc>>,
}

impl From<Decision> for DecisionRow {
    fn from(d: Decision) -> Self {
        Self {
            id: d.id,
            strategy_id: d.strategy_id,
            alpaca_account_label: d.account_label,
            symbol: d.symbol,
            timeframe: d.timeframe,
            decision_json: d.decision_json,
            rationale: d.rationale,
            status: d.status,
            decision_hash: d.decision_hash,
            created_at: d.created_at,
            executed_at: d.executed_at,
        }
    }
}

/// A row of `executions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionRow {
    pub id: Uuid,
    pub trade_decision_id: Option<Uuid>,
    pub alpaca_order_id: String,
    pub client_order_id: Option<String>,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub time_in_force: String,
    #[schema(value_type = String)]
    pub submitted_qty: String,
    #[schema(value_type = String)]
    pub filled_qty: String,
    #[schema(value_type = Option<String>)]
    pub avg_fill_price: Option<String>,
    pub status: String,
    #[schema(value_type = Option<Object>)]
    pub raw_order: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_update_at: Option<DateTime<Utc>>,
}

impl From<Execution> for ExecutionRow {
    fn from(e: Execution) -> Self {
        Self {
            id: e.id,
            trade_decision_id: e.trade_decision_id,
            alpaca_order_id: e.alpaca_order_id,
            client_order_id: e.client_order_id,
            symbol: e.symbol,
            side: e.side,
            order_type: e.order_type,
            time_in_force: e.time_in_force,
            submitted_qty: e.submitted_qty.to_string(),
            filled_qty: e.filled_qty.to_string(),
            avg_fill_price: e.avg_fill_price.map(|n| n.to_string()),
            status: e.status,
            raw_order: e.raw_order,
            created_at: e.created_at,
            updated_at: e.updated_at,
            last_update_at: e.last_update_at,
        }
    }
}

/// A row of `decision_events`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionEventRow {
    pub id: Uuid,
    pub decision_id: Uuid,
    pub seq: i32,
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub reason_codes: Vec<String>,
    /// The database role that made the change.
    pub actor: Option<String>,
    /// The writer's `application_name`.
    pub application_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<DecisionEvent> for DecisionEventRow {
    fn from(e: DecisionEvent) -> Self {
        Self {
            id: e.id,
            decision_id: e.decision_id,
            seq: e.seq,
            kind: e.kind,
            payload: e.payload,
            reason_codes: e.reason_codes,
            actor: e.actor,
            application_name: e.application_name,
            created_at: e.created_at,
        }
    }
}

/// A row of `llm_decision_reviews`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewRow {
    pub id: Uuid,
    pub trade_decision_id: Uuid,
    pub model: String,
    pub prompt_version: String,
    #[schema(value_type = Value)]
    pub input_json: Value,
    #[schema(value_type = Value)]
    pub response_json: Value,
    pub verdict: String,
    #[schema(value_type = Option<String>)]
    pub confidence: Option<String>,
    #[schema(value_type = Option<String>)]
    pub adjusted_qty: Option<String>,
    pub adjusted_order_type: Option<String>,
    pub rationale: Option<String>,
    #[schema(value_type = Option<Value>)]
    pub risk_flags: Option<Value>,
    pub tokens_prompt: Option<i32>,
    pub tokens_completion: Option<i32>,
    pub created_at: DateTime<Utc>,
}

impl From<Review> for ReviewRow {
    fn from(r: Review) -> Self {
        Self {
            id: r.id,
            trade_decision_id: r.trade_decision_id,
            model: r.model,
            prompt_version: r.prompt_version,
            input_json: r.input_json,
            response_json: r.response_json,
            verdict: r.verdict,
            confidence: r.confidence.map(|n| n.to_string()),
            adjusted_qty: r.adjusted_qty.map(|n| n.to_string()),
            adjusted_order_type: r.adjusted_order_type,
            rationale: r.rationale,
            risk_flags: r.risk_flags,
            tokens_prompt: r.tokens_prompt,
            tokens_completion: r.tokens_completion,
            created_at: r.created_at,
        }
    }
}

/// A row of `execution_events`: one change of the execution, payload
/// `{"changes": {column: {"from", "to"}}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionEventRow {
    pub id: Uuid,
    pub execution_id: Uuid,
    pub seq: i32,
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The database role that made the change.
    pub actor: Option<String>,
    /// The writer's `application_name`.
    pub application_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<ExecutionEvent> for ExecutionEventRow {
    fn from(e: ExecutionEvent) -> Self {
        Self {
            id: e.id,
            execution_id: e.execution_id,
            seq: e.seq,
            payload: e.payload,
            actor: e.actor,
            application_name: e.application_name,
            created_at: e.created_at,
        }
    }
}

/// An execution of a trail, with every change recorded for it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrailExecution {
    #[serde(flatten)]
    pub execution: ExecutionRow,
    /// Its `execution_events` (every change after creation, e.g. each broker payload), by `seq`.
    pub events: Vec<ExecutionEventRow>,
}

/// Everything recorded about one decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Trail {
    pub decision: DecisionRow,
    /// Its events (every change since creation: status, payload), by `seq`.
    pub events: Vec<DecisionEventRow>,
    /// Its reviews, oldest first.
    pub reviews: Vec<ReviewRow>,
    /// Its executions, oldest first.
    pub executions: Vec<TrailExecution>,
}

impl From<AuditTrail> for Trail {
    fn from(t: AuditTrail) -> Self {
        let mut events_by_exec = t.execution_events;
        let executions = t
            .executions
            .into_iter()
            .map(|e| {
                let id = e.id;
                let (mine, rest): (Vec<_>, Vec<_>) = events_by_exec
                    .drain(..)
                    .partition(|ev| ev.execution_id == id);
                events_by_exec = rest;
                TrailExecution {
                    execution: e.into(),
                    events: mine.into_iter().map(Into::into).collect(),
                }
            })
            .collect();
        Self {
            decision: t.decision.into(),
            events: t.events.into_iter().map(Into::into).collect(),
            reviews: t.reviews.into_iter().map(Into::into).collect(),
            executions,
        }
    }
}

/// The result of `POST /v1/decisions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionRecorded {
    pub id: Uuid,
    pub decision_hash: String,
    pub status: String,
    /// Whether this request recorded it (false: it already existed).
    pub created: bool,
}

impl From<EnsuredDecision> for DecisionRecorded {
    fn from(e: EnsuredDecision) -> Self {
        Self {
            id: e.id,
            decision_hash: e.decision_hash,
            status: e.status,
            created: e.created,
        }
    }
}

/// The result of `POST /v1/decisions/{id}/reviews`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewRecorded {
    pub id: Uuid,
    pub trade_decision_id: Uuid,
}

/// The result of `POST /v1/decisions/{id}/transitions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionRecorded {
    pub decision_id: Uuid,
    pub from: String,
    pub to: String,
    /// The status event's sequence number; null when the decision already had this status
    /// (nothing changed).
    pub seq: Option<i32>,
    pub event_id: Option<Uuid>,
}

impl From<TransitionOutcome> for TransitionRecorded {
    fn from(t: TransitionOutcome) -> Self {
        Self {
            decision_id: t.decision_id,
            from: t.from,
            to: t.to,
            seq: t.seq,
            event_id: t.event_id,
        }
    }
}

/// The result of `POST /v1/executions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionRecorded {
    pub id: Uuid,
    /// Whether this request inserted the execution (false: updated it).
    pub created: bool,
    pub trade_decision_id: Option<Uuid>,
    #[schema(value_type = String)]
    pub filled_qty: String,
    pub status: String,
    /// The sequence number of the execution event that recorded this payload's change; null
    /// when it created the execution (sealed into its row) or changed nothing (a repeat).
    pub event_seq: Option<i32>,
}

impl From<UpsertedExecution> for ExecutionRecorded {
    fn from(u: UpsertedExecution) -> Self {
        Self {
            id: u.id,
            created: u.created,
            trade_decision_id: u.trade_decision_id,
            filled_qty: u.filled_qty.to_string(),
            status: u.status,
            event_seq: u.event_seq,
        }
    }
}

/// A row of `trade_cursor` (without its internal id).
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorRow {
    pub source: String,
    pub cursor_at: DateTime<Utc>,
    pub cursor_seq: Option<i64>,
    pub cursor_symbol: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<Cursor> for CursorRow {
    fn from(c: Cursor) -> Self {
        Self {
            source: c.source,
            cursor_at: c.position.at,
            cursor_seq: c.position.seq,
            cursor_symbol: c.position.symbol,
            updated_at: c.updated_at,
        }
    }
}

/// The result of `PUT /v1/cursors/{source}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorAdvanced {
    /// `created`, `moved` or `unchanged`.
    pub result: String,
    pub cursor: CursorRow,
}

pub(crate) fn advanced_name(a: Advanced) -> &'static str {
    match a {
        Advanced::Created => "created",
        Advanced::Moved => "moved",
        Advanced::Unchanged => "unchanged",
    }
}

/// `POST /v1/strategies`: no other member is accepted.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewStrategyBody {
    /// At most 255 characters.
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    pub description: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
    /// e.g. `1Min` (at most 16 characters).
    #[schema(min_length = 1, max_length = 16)]
    pub base_timeframe: String,
    /// e.g. `static` (at most 64 characters).
    #[schema(min_length = 1, max_length = 64)]
    pub universe_type: String,
    /// Any JSON (e.g. an array of symbols).
    #[schema(value_type = Option<Value>)]
    pub universe_symbols: Option<Value>,
    #[schema(schema_with = member_schema::signed_20_8_or_null)]
    pub max_position_pct_equity: Option<String>,
    #[schema(schema_with = member_schema::signed_20_8_or_null)]
    pub max_notional_per_trade: Option<String>,
}

/// `POST /v1/decisions`: a decision as in the decision-hash specification, plus the account.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct NewDecisionBody {
    /// The broker account label (at most 64 characters); not part of the decision.
    #[schema(min_length = 1, max_length = 64)]
    pub account_label: String,
    /// An existing strategy's id.
    pub strategy_id: Uuid,
    #[schema(min_length = 1, max_length = 16)]
    pub symbol: String,
    #[schema(schema_with = member_schema::event_ts)]
    pub event_ts: String,
    #[schema(min_length = 1, max_length = 16)]
    pub timeframe: String,
    #[schema(schema_with = member_schema::action)]
    pub action: String,
    #[schema(schema_with = member_schema::positive_20_8)]
    pub qty: String,
    #[schema(schema_with = member_schema::order_type)]
    pub order_type: Option<String>,
    #[schema(schema_with = member_schema::time_in_force)]
    pub time_in_force: Option<String>,
    #[schema(schema_with = member_schema::non_negative_20_8_or_null)]
    pub limit_price: Option<String>,
    #[schema(schema_with = member_schema::non_negative_20_8_or_null)]
    pub stop_price: Option<String>,
    pub rationale: Option<String>,
    /// Strategy parameters (an object; default `{}`).
    #[schema(value_type = Object, required = false)]
    pub params: Option<Value>,
}

/// `POST /v1/decisions/{id}/reviews`: no other member is accepted.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewReviewBody {
    #[schema(min_length = 1, max_length = 128)]
    pub model: String,
    #[schema(min_length = 1, max_length = 32)]
    pub prompt_version: String,
    #[schema(value_type = Value)]
    pub input_json: Value,
    #[schema(value_type = Value)]
    pub response_json: Value,
    #[schema(schema_with = member_schema::verdict)]
    pub verdict: String,
    #[schema(schema_with = member_schema::unit_6_4_or_null)]
    pub confidence: Option<String>,
    #[schema(schema_with = member_schema::signed_20_8_or_null)]
    pub adjusted_qty: Option<String>,
    #[schema(min_length = 1, max_length = 32)]
    pub adjusted_order_type: Option<String>,
    pub rationale: Option<String>,
    #[schema(value_type = Option<Value>)]
    pub risk_flags: Option<Value>,
    /// Not negative.
    #[schema(minimum = 0)]
    pub tokens_prompt: Option<i32>,
    /// Not negative.
    #[schema(minimum = 0)]
    pub tokens_completion: Option<i32>,
}

/// `POST /v1/decisions/{id}/transitions`: no other member is accepted.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct TransitionBody {
    /// The new status (lower-case letters, digits, `_`; not `planned`).
    #[schema(min_length = 1, max_length = 32, pattern = "^[a-z0-9_]+$")]
    pub to: String,
    pub reason_codes: Option<Vec<String>>,
    /// Any JSON, stored in the status event under `detail`.
    #[schema(value_type = Option<Value>)]
    pub detail: Option<Value>,
}

/// `POST /v1/executions`: a broker (Alpaca) order payload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct OrderBody {
    /// The broker's order id (or `client_order_id`).
    #[schema(min_length = 1, max_length = 128)]
    pub id: Option<String>,
    /// The decision's hash.
    #[schema(min_length = 1, max_length = 128)]
    pub client_order_id: Option<String>,
    #[schema(min_length = 1, max_length = 16)]
    pub symbol: String,
    #[schema(min_length = 1, max_length = 8)]
    pub side: String,
    #[schema(rename = "type", min_length = 1, max_length = 32)]
    pub order_type: String,
    #[schema(min_length = 1, max_length = 16)]
    pub time_in_force: String,
    #[schema(schema_with = member_schema::non_negative_20_8_required)]
    pub qty: String,
    #[schema(schema_with = member_schema::non_negative_20_8_or_null)]
    pub filled_qty: Option<String>,
    #[schema(schema_with = member_schema::non_negative_20_8_or_null)]
    pub filled_avg_price: Option<String>,
    #[schema(min_length = 1, max_length = 32)]
    pub status: String,
}

/// `POST /v1/trails`: a step of the trading loop, recorded in one transaction. No other member
/// is accepted.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct TrailBody {
    /// The broker account label (at most 64 characters).
    #[schema(min_length = 1, max_length = 64)]
    pub account_label: String,
    /// The decision, as `POST /v1/decisions` takes it without `account_label`.
    #[schema(value_type = Object)]
    pub decision: Value,
    /// A review to append, as `POST /v1/decisions/{id}/reviews` takes it.
    #[schema(value_type = Option<NewReviewBody>)]
    pub review: Option<Value>,
    /// The broker order payload, as `POST /v1/executions` takes it; linked to the decision.
    #[schema(value_type = Option<OrderBody>)]
    pub order: Option<Value>,
    /// The decision's new status (lower-case letters, digits, `_`); absent or `planned`: no
    /// change.
    #[schema(min_length = 1, max_length = 32, pattern = "^[a-z0-9_]+$")]
    pub status: Option<String>,
}

/// The result of `POST /v1/trails`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrailRecorded {
    pub decision_id: Uuid,
    pub decision_hash: String,
    /// Whether this request recorded the decision (false: it existed).
    pub created: bool,
    /// The decision's status after the trail.
    pub status: String,
    pub review_id: Option<Uuid>,
    pub execution_id: Option<Uuid>,
}

impl From<torghut_store::trail::TrailIds> for TrailRecorded {
    fn from(t: torghut_store::trail::TrailIds) -> Self {
        Self {
            decision_id: t.decision_id,
            decision_hash: t.decision_hash,
            created: t.created,
            status: t.status,
            review_id: t.review_id,
            execution_id: t.execution_id,
        }
    }
}

/// `PUT /v1/cursors/{source}`: no other member is accepted.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct CursorBody {
    /// RFC 3339 date-time.
    pub cursor_at: DateTime<Utc>,
    pub cursor_seq: Option<i64>,
    /// At most 32 characters.
    #[schema(max_length = 32)]
    pub cursor_symbol: Option<String>,
    /// Move even backwards (default false).
    pub force: Option<bool>,
}

/// The JSON Schemas of the request members whose accepted set a `type` and a length cannot say:
/// decimals for `numeric` columns and the decision's `event_ts`. Each describes exactly what the
/// handlers accept (a string in the plain notation, or a JSON number on the column's grid and
/// within its range), so that every value the document allows is accepted and nothing else is.
/// The handlers also read scientific notation in strings (`"1E+2"`), left out of the patterns.
pub(crate) mod member_schema {
    use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

    /// Integer digits of `numeric(20,8)`: twelve, leading zeros aside.
    const INT12: &str = "0*[0-9]{1,12}";
    /// Decimal places of `numeric(20,8)`: eight, trailing zeros aside.
    const FRAC8: &str = r"(\.[0-9]{1,8}0*)?";
    /// Zero written with a minus sign (`-0`, `-0.00`), which is zero.
    const MINUS_ZERO: &str = r"-0+(\.0+)?";

    /// The range of a decimal member's JSON numbers: a lower bound (inclusive or not), an
    /// upper bound (inclusive or not), and the grid (the column's last decimal place).
    struct Range {
        low: f64,
        low_inclusive: bool,
        high: f64,
        high_inclusive: bool,
        step: f64,
    }

    /// `numeric(20,8)`: below 10^12 in magnitude, on a grid of 10^-8.
    const RANGE_20_8: Range = Range {
        low: -1e12,
        low_inclusive: false,
        high: 1e12,
        high_inclusive: false,
        step: 1e-8,
    };

    fn decimal(description: &str, pattern: String, range: Range, nullable: bool) -> Object {
        let mut types = vec![Type::String, Type::Number];
        if nullable {
            types.push(Type::Null);
        }
        let pick = |inclusive: bool, v: f64| (inclusive.then_some(v), (!inclusive).then_some(v));
        let (minimum, exclusive_minimum) = pick(range.low_inclusive, range.low);
        let (maximum, exclusive_maximum) = pick(range.high_inclusive, range.high);
        ObjectBuilder::new()
            .schema_type(SchemaType::Array(types))
            .description(Some(description))
            .pattern(Some(pattern))
            .max_length(Some(64))
            .minimum(minimum)
            .exclusive_minimum(exclusive_minimum)
            .maximum(maximum)
            .exclusive_maximum(exclusive_maximum)
            .multiple_of(Some(range.step))
            .build()
    }

    const NUMERIC_20_8: &str =
        "A decimal for `numeric(20,8)`, as a string (`\"187.25\"`) or a JSON \
        number: at most 12 integer digits and 8 decimal places (a value the column cannot hold \
        exactly is refused, never rounded).";

    fn signed_20_8(nullable: bool) -> Object {
        decimal(
            NUMERIC_20_8,
            format!("^-?{INT12}{FRAC8}$"),
            RANGE_20_8,
            nullable,
        )
    }

    fn non_negative_20_8(nullable: bool) -> Object {
        decimal(
            &format!("{NUMERIC_20_8} Not negative."),
            format!("^({MINUS_ZERO}|{INT12}{FRAC8})$"),
            Range {
                low: 0.0,
                low_inclusive: true,
                ..RANGE_20_8
            },
            nullable,
        )
    }

    /// `numeric(20,8)`, any sign, or null.
    pub fn signed_20_8_or_null() -> Object {
        signed_20_8(true)
    }

    /// `numeric(20,8)`, not negative.
    pub fn non_negative_20_8_required() -> Object {
        non_negative_20_8(false)
    }

    /// `numeric(20,8)`, not negative, or null.
    pub fn non_negative_20_8_or_null() -> Object {
        non_negative_20_8(true)
    }

    /// `numeric(20,8)`, greater than zero (a decision's quantity).
    pub fn positive_20_8() -> Object {
        decimal(
            &format!("{NUMERIC_20_8} Greater than zero."),
            format!(r"^(0*[1-9][0-9]{{0,11}}{FRAC8}|0+\.[0-9]{{0,7}}[1-9]0*)$"),
            Range {
                low: 0.0,
                low_inclusive: false,
                ..RANGE_20_8
            },
            false,
        )
    }

    /// `numeric(6,4)` between 0 and 1 (a review's confidence), or null.
    pub fn unit_6_4_or_null() -> Object {
        decimal(
            "Between 0 and 1 inclusive, at most 4 decimal places (`numeric(6,4)`; never rounded), \
             as a string or a JSON number.",
            format!(r"^({MINUS_ZERO}|0*(0(\.[0-9]{{1,4}}0*)?|1(\.0+)?))$"),
            Range {
                low: 0.0,
                low_inclusive: true,
                high: 1.0,
                high_inclusive: true,
                step: 1e-4,
            },
            true,
        )
    }

    /// A decision's `event_ts`: an ISO 8601 date-time (with or without offset), or a unix
    /// timestamp in seconds (milliseconds above 2e10) as a number or a numeric string. The
    /// pattern names the common forms (years 1000 to 9899, days 01 to 28 are a subset the
    /// calendar never refuses); the handler reads every form the decision-hash specification
    /// does.
    pub fn event_ts() -> Object {
        let year = "(1[0-9]{3}|[2-8][0-9]{3}|9[0-8][0-9]{2})";
        let date = format!("{year}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])");
        let time = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?";
        let offset = "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?";
        ObjectBuilder::new()
            .schema_type(SchemaType::Array(vec![Type::String, Type::Number]))
            .description(Some(
                "ISO 8601 date-time, with or without offset (`2026-02-10T14:30:00Z`), or a unix \
                 timestamp (seconds; milliseconds above 2e10), as a number or numeric string. \
                 Years 1 to 9999.",
            ))
            .pattern(Some(format!(
                r"^({date}T{time}{offset}|(\+?[0-9]{{1,14}}|-[0-9]{{1,10}})(\.[0-9]{{1,6}})?)$"
            )))
            // Unix milliseconds of 0001-01-01T00:00:00 and of the first instant after
            // 9999-12-31T23:59:59.999999: every number between is a date-time the handler takes.
            .minimum(Some(-62_135_596_800_000.0))
            .exclusive_maximum(Some(253_402_300_800_000.0))
            .build()
    }

    fn choice(description: &str, choices: &[&str]) -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .description(Some(description))
            .enum_values(Some(choices.iter().copied()))
            .build()
    }

    /// A decision's `action`.
    pub fn action() -> Object {
        choice("`buy` or `sell`.", &["buy", "sell"])
    }

    /// A decision's `order_type` (absent: `market`; null is refused, as by the decision-hash
    /// specification).
    pub fn order_type() -> Object {
        choice(
            "Default `market` when absent.",
            &["market", "limit", "stop", "stop_limit"],
        )
    }

    /// A decision's `time_in_force` (absent: `day`).
    pub fn time_in_force() -> Object {
        choice("Default `day` when absent.", &["day", "gtc", "ioc", "fok"])
    }

    /// A review's verdict.
    pub fn verdict() -> Object {
        choice(
            "The reviewer's verdict.",
            &["approve", "veto", "adjust", "error"],
        )
    }
}
