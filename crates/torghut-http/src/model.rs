//! Response (and documented request) bodies. Field names are the tables' column names; ids,
//! decimals and date-times are strings.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
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
    pub max_position_pct_equity: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub max_notional_per_trade: Option<Decimal>,
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
            max_position_pct_equity: s.max_position_pct_equity,
            max_notional_per_trade: s.max_notional_per_trade,
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
    pub submitted_qty: Decimal,
    #[schema(value_type = String)]
    pub filled_qty: Decimal,
    #[schema(value_type = Option<String>)]
    pub avg_fill_price: Option<Decimal>,
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
            submitted_qty: e.submitted_qty,
            filled_qty: e.filled_qty,
            avg_fill_price: e.avg_fill_price,
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
    pub confidence: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub adjusted_qty: Option<Decimal>,
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
            confidence: r.confidence,
            adjusted_qty: r.adjusted_qty,
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
    pub filled_qty: Decimal,
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
            filled_qty: u.filled_qty,
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
    /// A decimal, as a string or number (`numeric(20,8)`: at most 12 integer digits and 8
    /// decimal places; a value it cannot hold exactly is refused, never rounded).
    #[schema(value_type = Option<String>, pattern = "^-?[0-9]{1,12}(\\.[0-9]{1,8})?$")]
    pub max_position_pct_equity: Option<String>,
    /// A decimal, as a string or number (`numeric(20,8)`, as above).
    #[schema(value_type = Option<String>, pattern = "^-?[0-9]{1,12}(\\.[0-9]{1,8})?$")]
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
    /// ISO 8601 date-time, with or without offset.
    pub event_ts: String,
    pub timeframe: String,
    /// `buy` or `sell`.
    pub action: String,
    /// A decimal, as a string or number.
    pub qty: String,
    /// `market` (default), `limit`, `stop`, `stop_limit`.
    pub order_type: Option<String>,
    /// `day` (default), `gtc`, `ioc`, `fok`.
    pub time_in_force: Option<String>,
    pub limit_price: Option<String>,
    pub stop_price: Option<String>,
    pub rationale: Option<String>,
    #[schema(value_type = Option<Object>)]
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
    /// `approve`, `veto`, `adjust` or `error`.
    pub verdict: String,
    /// Between 0 and 1.
    #[schema(value_type = Option<String>)]
    pub confidence: Option<String>,
    #[schema(value_type = Option<String>)]
    pub adjusted_qty: Option<String>,
    #[schema(min_length = 1, max_length = 32)]
    pub adjusted_order_type: Option<String>,
    pub rationale: Option<String>,
    #[schema(value_type = Option<Value>)]
    pub risk_flags: Option<Value>,
    pub tokens_prompt: Option<i32>,
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
    #[schema(value_type = String)]
    pub qty: String,
    #[schema(value_type = Option<String>)]
    pub filled_qty: Option<String>,
    #[schema(value_type = Option<String>)]
    pub filled_avg_price: Option<String>,
    #[schema(min_length = 1, max_length = 32)]
    pub status: String,
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
