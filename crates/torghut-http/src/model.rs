//! Response (and documented request) bodies. Field names are the tables' column names; ids,
//! decimals and date-times are strings. A decimal reads as PostgreSQL writes it (`1.50000000`;
//! `NaN`, `Infinity` when another writer stored one), never through a float.
//!
//! A stored row, or the result of a write, is answered as the store's own type (serialized and
//! documented through the store's `openapi` feature); this module has the bodies whose shape
//! is the service's own.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use torghut_store::cursor::{Advanced, Cursor};
use torghut_store::decision::{Decision, DecisionEvent};
use torghut_store::execution::{Execution, ExecutionEvent};
use torghut_store::review::Review;
use torghut_store::trail::AuditTrail;
use utoipa::ToSchema;
use uuid::Uuid;

/// An execution of a trail, with every change recorded for it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrailExecution {
    #[serde(flatten)]
    pub execution: Execution,
    /// Its `execution_events` (every change after creation, e.g. each broker payload), by `seq`.
    pub events: Vec<ExecutionEvent>,
}

/// Everything recorded about one decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Trail {
    pub decision: Decision,
    /// Its events (every change since creation: status, payload), by `seq`.
    pub events: Vec<DecisionEvent>,
    /// Its reviews, oldest first.
    pub reviews: Vec<Review>,
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
                    execution: e,
                    events: mine,
                }
            })
            .collect();
        Self {
            decision: t.decision,
            events: t.events,
            reviews: t.reviews,
            executions,
        }
    }
}

/// The result of `POST /v1/decisions/{id}/reviews`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewRecorded {
    pub id: Uuid,
    pub trade_decision_id: Uuid,
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
