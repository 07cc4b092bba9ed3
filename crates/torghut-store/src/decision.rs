//! Trade decisions: `ensure` by decision hash, status transitions and their events.
//!
//! # How a decision is stored
//!
//! A decision arrives as JSON text in the shape of the decision hash specification
//! (`strategy_id`, `symbol`, `event_ts`, `timeframe`, `action`, `qty`, `order_type`,
//! `time_in_force`, `limit_price`, `stop_price`, `rationale`, `params`, plus any extra members).
//! [`prepare`] turns it into the row:
//!
//! - `decision_hash` is the hash of [`torghut_hash`]: SHA-256 of
//!   [`torghut_hash::canonical_text`], which is exactly what
//!   [`torghut_hash::decision_hash_from_json`] computes (the canonical text is needed below, so
//!   it is computed once). A decision the hash refuses is refused here with the field named.
//! - `decision_json` is the whole decision, read by the strict JSON boundary
//!   ([`AuditJson::from_text`] with the caller's policy: NUL characters, NaN, duplicate members,
//!   lone surrogates are refused with their JSONPath; credential-like members are redacted),
//!   with the hashed fields written **exactly as they were hashed**:
//!   - `qty`, `limit_price`, `stop_price` become strings with the digits the hash saw
//!     (`"1.50"` stays `"1.50"`, `"1E+2"` keeps its exponent, the JSON number `2.5` becomes
//!     `"2.5"`); absent prices become `null`;
//!   - `event_ts` becomes Python's `isoformat()` of the hashed date-time, which is RFC 3339
//!     (`2026-02-10T09:30:00.250000+05:30`, `Z` as `+00:00`, a unix timestamp as UTC) whenever
//!     the decision carries an offset. A date-time given without an offset keeps its
//!     offset-less ISO 8601 form: adding an offset would change what the hash covers;
//!   - `order_type`, `time_in_force` and `params` get their defaults (`market`, `day`, `{}`)
//!     and `rationale` becomes `null` when absent;
//!   - every other member (extra fields, `params`, `rationale`) is kept as given, numbers
//!     with every digit (the boundary never goes through `f64`).
//!
//!   Members keep their order; defaults are appended. As a result, hashing the stored
//!   `decision_json` again gives the stored `decision_hash`.
//! - `strategy_id` must be a UUID naming an existing strategy ([`DecisionError::UnknownStrategy`]
//!   otherwise); `symbol`, `timeframe` and `rationale` columns come from the decision.
//!
//! # Status transitions
//!
//! [`transition`] changes `status` (and sets `executed_at` when it becomes `filled`); the
//! database records the change as a `status` event in `decision_events` in the same
//! transaction (migration `0007_audit_capture`: payload `{"changes": {...}}`, with the
//! `"detail"` and reason codes the store hands it for that statement). The decision row is
//! locked first (`SELECT ... FOR NO KEY UPDATE`: the lock an `UPDATE` of the row takes anyway;
//! it serialises transitions without blocking inserts of reviews and executions that reference
//! the decision). The store's rules: a decision in a terminal status (`filled`, `canceled`,
//! `expired`, `rejected`) refuses any other status, and no decision goes back to `planned`; a
//! transition to the status the decision already has changes nothing and writes no event.
//! Other writers of the table (the original service) are not held to these rules: their
//! changes are recorded all the same.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, Row, Transaction};
use torghut_hash::HashError;
use torghut_json::{AuditJson, AuditValue, JsonPolicy};
use uuid::Uuid;

use crate::check::{self, FieldProblem};
use crate::input::InputError;
use crate::statements;

/// Statuses after which a decision changes no more.
pub const TERMINAL_STATUSES: [&str; 4] = ["filled", "canceled", "expired", "rejected"];

/// The status of a decision when it is created.
pub const INITIAL_STATUS: &str = "planned";

/// Whether `status` is terminal.
pub fn is_terminal(status: &str) -> bool {
    TERMINAL_STATUSES.contains(&status)
}

/// Why a decision operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecisionError {
    /// The decision cannot be hashed: a field is missing or not acceptable, or the text is not
    /// JSON ([`HashError::field`] names the field).
    #[error("decision: {0}")]
    Hash(#[from] HashError),
    /// An input field, the decision as a whole, or a JSON payload is not acceptable (nothing
    /// was written).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The decision's `strategy_id` names no strategy.
    #[error("decision field \"strategy_id\": no strategy with id {strategy_id}")]
    UnknownStrategy { strategy_id: Uuid },
    /// No decision has this id.
    #[error("no decision with id {id}")]
    NotFound { id: Uuid },
    /// The decision is in a terminal status and cannot move to another.
    #[error("decision {id} is {status}, a terminal status; refusing the transition to {to}")]
    Terminal {
        id: Uuid,
        status: String,
        to: String,
    },
    /// The status changed but the database recorded no event for it (its audit capture
    /// trigger is not running): the change is rolled back rather than left unaudited.
    #[error("decision {id}: the database recorded no event for its status change (audit capture disabled?); nothing was changed")]
    NotRecorded { id: Uuid },
    /// Any other database error.
    #[error("database error: {}", crate::check::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

impl DecisionError {
    /// The input field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Hash(e) => e.field(),
            Self::Input(e) => Some(e.field()),
            Self::UnknownStrategy { .. } => Some("strategy_id"),
            _ => None,
        }
    }

    pub(crate) fn from_db(e: tokio_postgres::Error, strategy_id: Uuid) -> Self {
        if check::violates(&e, "fk_trade_decisions_strategy_id_strategies") {
            Self::UnknownStrategy { strategy_id }
        } else {
            Self::Db(e)
        }
    }
}

/// The subject of this module's input refusals.
pub(crate) const SUBJECT: &str = "decision";

/// A refused member of a decision.
fn refused(field: &'static str, message: impl Into<String>) -> DecisionError {
    InputError::member(SUBJECT, field, message).into()
}

impl From<FieldProblem> for DecisionError {
    fn from(p: FieldProblem) -> Self {
        Self::Input(InputError::from_problem(SUBJECT, p))
    }
}

/// A decision checked and normalised, ready to be inserted (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedDecision {
    /// The id it gets if it is inserted (UUID v7).
    pub id: Uuid,
    pub strategy_id: Uuid,
    pub account_label: String,
    pub symbol: String,
    pub timeframe: String,
    pub decision_hash: String,
    pub decision_json: AuditJson,
    pub rationale: Option<String>,
}

/// A decision ensured by its hash: recorded by this call, or found already recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = DecisionRecorded)
)]
pub struct EnsuredDecision {
    pub id: Uuid,
    pub decision_hash: String,
    /// The decision's status (as of this call).
    pub status: String,
    /// Whether this call recorded it (false: it already existed).
    pub created: bool,
}

/// A row of `trade_decisions`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = DecisionRow)
)]
pub struct Decision {
    pub id: Uuid,
    pub strategy_id: Uuid,
    #[cfg_attr(feature = "openapi", serde(rename = "alpaca_account_label"))]
    pub account_label: String,
    pub symbol: String,
    pub timeframe: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub decision_json: serde_json::Value,
    pub rationale: Option<String>,
    pub status: String,
    pub decision_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub executed_at: Option<DateTime<Utc>>,
}

/// One change of a decision, recorded by the database when the row changed (`status` when
/// its status changed, else `update`): payload `{"changes": {column: {"from", "to"}}}` and
/// `"detail"` when the writer gave one.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = DecisionEventRow)
)]
pub struct DecisionEvent {
    pub id: Uuid,
    pub decision_id: Uuid,
    pub seq: i32,
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
    pub reason_codes: Vec<String>,
    /// The database role that made the change.
    pub actor: Option<String>,
    /// The writer's `application_name`.
    pub application_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A requested status change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transition {
    /// The new status: lower-case letters, digits and `_`, at most 32 characters, not
    /// `planned` (e.g. `submitted`, `accepted`, `partially_filled`, `filled`, `rejected`).
    pub to: String,
    /// Why (e.g. `risk_limit`, `llm_veto`); each non-empty.
    pub reason_codes: Vec<String>,
    /// Extra detail as JSON text, stored in the event payload under `"detail"`.
    pub detail: Option<String>,
}

impl Transition {
    /// A transition to `to` with no reason codes and no detail.
    pub fn to(to: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            ..Self::default()
        }
    }
}

/// The result of a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = TransitionRecorded)
)]
pub struct TransitionOutcome {
    pub decision_id: Uuid,
    pub from: String,
    pub to: String,
    /// The status event's sequence number within the decision (1, 2, ...); null (`None`) when
    /// the decision already had that status (nothing changed, no event).
    pub seq: Option<i32>,
    pub event_id: Option<Uuid>,
}

const HASHED_FIELDS: [&str; 10] = [
    "strategy_id",
    "symbol",
    "event_ts",
    "timeframe",
    "action",
    "qty",
    "order_type",
    "time_in_force",
    "limit_price",
    "stop_price",
];

/// The hashed fields as the hash crate wrote them (strings; the prices null when absent).
struct HashedFields {
    strategy_id: String,
    symbol: String,
    event_ts: String,
    timeframe: String,
    action: String,
    qty: String,
    order_type: String,
    time_in_force: String,
    limit_price: Option<String>,
    stop_price: Option<String>,
}

impl HashedFields {
    /// The hash's fields; a string field holding a lone surrogate (which the hash accepts, as
    /// Python does) cannot be stored: refused, naming it.
    fn from_hash(f: torghut_hash::HashedFields) -> Result<Self, DecisionError> {
        let text = |field: &'static str, v: Option<String>| {
            v.ok_or_else(|| {
                refused(
                    field,
                    "holds a lone surrogate, which PostgreSQL cannot store",
                )
            })
        };
        Ok(Self {
            strategy_id: text("strategy_id", f.strategy_id)?,
            symbol: text("symbol", f.symbol)?,
            event_ts: f.event_ts,
            timeframe: text("timeframe", f.timeframe)?,
            action: f.action,
            qty: f.qty,
            order_type: f.order_type,
            time_in_force: f.time_in_force,
            limit_price: f.limit_price,
            stop_price: f.stop_price,
        })
    }

    fn value(&self, name: &str) -> AuditValue {
        let s = match name {
            "strategy_id" => &self.strategy_id,
            "symbol" => &self.symbol,
            "event_ts" => &self.event_ts,
            "timeframe" => &self.timeframe,
            "action" => &self.action,
            "qty" => &self.qty,
            "order_type" => &self.order_type,
            "time_in_force" => &self.time_in_force,
            "limit_price" => {
                return self
                    .limit_price
                    .as_deref()
                    .map_or(AuditValue::Null, AuditValue::from)
            }
            "stop_price" => {
                return self
                    .stop_price
                    .as_deref()
                    .map_or(AuditValue::Null, AuditValue::from)
            }
            _ => return AuditValue::Null,
        };
        AuditValue::from(s.as_str())
    }
}

/// Checks and normalises a decision given as JSON text (see the module documentation). Pure:
/// touches no database.
pub fn prepare(
    account_label: &str,
    decision_json_text: &str,
    policy: &JsonPolicy,
) -> Result<PreparedDecision, DecisionError> {
    check_account_label(account_label)?;
    let (canonical, fields) = torghut_hash::canonical(decision_json_text)?;
    let decision_hash = hex::encode(Sha256::digest(canonical.as_bytes()));

    let json_error = |source| InputError::json_document(SUBJECT, "decision_json", source);
    // Read once; checked, redacted and written once, after the hashed fields are normalised.
    let raw = AuditValue::from_json_text(decision_json_text, policy.effective_max_depth())
        .map_err(json_error)?;
    let AuditValue::Object(members) = raw else {
        // The hash accepted it, so it is an object.
        return Err(InputError::Document {
            subject: SUBJECT,
            field: "decision_json",
            message: "a JSON object is required".into(),
        }
        .into());
    };
    let hashed = HashedFields::from_hash(fields)?;
    let hashed_value = |name: &str| hashed.value(name);

    let mut out: Vec<(String, AuditValue)> = Vec::with_capacity(members.len() + 6);
    let mut rationale = None;
    let mut seen = [false; HASHED_FIELDS.len()];
    let (mut has_params, mut has_rationale) = (false, false);
    for (name, value) in members {
        if let Some(i) = HASHED_FIELDS.iter().position(|f| *f == name) {
            seen[i] = true;
            let v = hashed_value(&name);
            // A decimal sent as a JSON number is a float to the decision hash (as to the original
            // service): when that changes its value, refuse it rather than store the float's.
            if let (AuditValue::Number(n), AuditValue::String(hashed_text)) = (&value, &v) {
                let given = n.as_text().and_then(check::parse_decimal);
                let as_hashed = check::parse_decimal(hashed_text);
                if given.is_some() && as_hashed.is_some() && given != as_hashed {
                    return Err(refused(
                        HASHED_FIELDS[i],
                        format!(
                            "{} as a JSON number is read as the float {hashed_text}; send it as a \
                             string to keep every digit",
                            n.as_text().unwrap_or_default()
                        ),
                    ));
                }
            }
            out.push((name, v));
            continue;
        }
        match name.as_str() {
            "params" => has_params = true,
            "rationale" => {
                has_rationale = true;
                if let AuditValue::String(s) = &value {
                    rationale = Some(s.clone());
                }
            }
            _ => {}
        }
        out.push((name, value));
    }
    for (i, name) in HASHED_FIELDS.iter().enumerate() {
        if !seen[i] {
            out.push(((*name).to_owned(), hashed_value(name)));
        }
    }
    if !has_params {
        out.push(("params".into(), AuditValue::Object(Vec::new())));
    }
    if !has_rationale {
        out.push(("rationale".into(), AuditValue::Null));
    }
    let (decision_json, _) =
        AuditJson::from_audit_value(&AuditValue::Object(out), policy).map_err(json_error)?;

    let strategy_id =
        Uuid::parse_str(&hashed.strategy_id).map_err(|_| refused("strategy_id", "not a UUID"))?;
    // The order a decision becomes carries its quantity and prices in numeric(20,8) columns: a
    // quantity must be positive and both must fit them exactly.
    for (field, value, positive) in [
        ("qty", Some(&hashed.qty), true),
        ("limit_price", hashed.limit_price.as_ref(), false),
        ("stop_price", hashed.stop_price.as_ref(), false),
    ] {
        let Some(text) = value else { continue };
        let d = check::parse_decimal(text).ok_or_else(|| {
            refused(
                field,
                format!("{text} is not a decimal an order can carry (numeric(20,8))"),
            )
        })?;
        if positive && d <= rust_decimal::Decimal::ZERO {
            return Err(refused(field, format!("must be positive, not {text}")));
        }
        if !positive && d.is_sign_negative() && !d.is_zero() {
            return Err(refused(field, format!("must not be negative, not {text}")));
        }
        check::numeric(field, &d, 20, 8).map_err(DecisionError::from)?;
    }
    let HashedFields {
        symbol, timeframe, ..
    } = hashed;
    check::varchar("symbol", &symbol, 16, true)?;
    check::varchar("timeframe", &timeframe, 16, true)?;
    Ok(PreparedDecision {
        id: Uuid::now_v7(),
        strategy_id,
        account_label: account_label.to_owned(),
        symbol,
        timeframe,
        decision_hash,
        decision_json,
        rationale,
    })
}

/// Records a decision unless one with the same hash exists, in its own transaction; returns
/// the decision's id either way.
pub async fn ensure(
    client: &mut Client,
    account_label: &str,
    decision_json_text: &str,
    policy: &JsonPolicy,
) -> Result<EnsuredDecision, DecisionError> {
    let prepared = prepare(account_label, decision_json_text, policy)?;
    let tx = client.transaction().await?;
    let ensured = ensure_prepared(&tx, &prepared).await?;
    tx.commit().await?;
    Ok(ensured)
}

/// [`ensure`] in the caller's transaction.
pub async fn ensure_in_tx(
    tx: &Transaction<'_>,
    account_label: &str,
    decision_json_text: &str,
    policy: &JsonPolicy,
) -> Result<EnsuredDecision, DecisionError> {
    let prepared = prepare(account_label, decision_json_text, policy)?;
    ensure_prepared(tx, &prepared).await
}

/// Inserts a prepared decision unless its hash exists: `INSERT ... ON CONFLICT (decision_hash)
/// DO NOTHING RETURNING`, then, when another transaction holds the hash, a `SELECT` of that
/// row (which a concurrent inserter has committed by then: the insert waits for it). Safe
/// under concurrency without retries by the caller.
pub async fn ensure_prepared(
    db: &impl GenericClient,
    p: &PreparedDecision,
) -> Result<EnsuredDecision, DecisionError> {
    // A row found by the conflict can disappear (deleted) before the fallback reads it; then
    // the insert is tried again.
    for _ in 0..3 {
        let inserted = statements::query_opt(
            db,
            "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, \
                 timeframe, decision_json, rationale, decision_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (decision_hash) DO NOTHING RETURNING id, status",
            &[
                &p.id,
                &p.strategy_id,
                &p.account_label,
                &p.symbol,
                &p.timeframe,
                &p.decision_json,
                &p.rationale,
                &p.decision_hash,
            ],
        )
        .await
        .map_err(|e| DecisionError::from_db(e, p.strategy_id))?;
        if let Some(row) = inserted {
            return Ok(EnsuredDecision {
                id: row.try_get(0)?,
                decision_hash: p.decision_hash.clone(),
                created: true,
                status: row.try_get(1)?,
            });
        }
        let existing = statements::query_opt(
            db,
            "SELECT id, status FROM trade_decisions WHERE decision_hash = $1",
            &[&p.decision_hash],
        )
        .await?;
        if let Some(row) = existing {
            return Ok(EnsuredDecision {
                id: row.try_get(0)?,
                decision_hash: p.decision_hash.clone(),
                created: false,
                status: row.try_get(1)?,
            });
        }
    }
    Err(refused(
        "decision_hash",
        "the decision with this hash kept disappearing while it was being recorded",
    ))
}

pub(crate) const DECISION_COLUMNS: &str = "id, strategy_id, alpaca_account_label, symbol, \
    timeframe, decision_json, rationale, status, decision_hash, created_at, executed_at";

pub(crate) fn decision_from_row(row: &Row) -> Result<Decision, tokio_postgres::Error> {
    Ok(Decision {
        id: row.try_get(0)?,
        strategy_id: row.try_get(1)?,
        account_label: row.try_get(2)?,
        symbol: row.try_get(3)?,
        timeframe: row.try_get(4)?,
        decision_json: row.try_get(5)?,
        rationale: row.try_get(6)?,
        status: row.try_get(7)?,
        decision_hash: row.try_get(8)?,
        created_at: row.try_get(9)?,
        executed_at: row.try_get(10)?,
    })
}

pub(crate) const EVENT_COLUMNS: &str =
    "id, decision_id, seq, kind, payload, reason_codes, actor, application_name, created_at";

pub(crate) fn event_from_row(row: &Row) -> Result<DecisionEvent, tokio_postgres::Error> {
    Ok(DecisionEvent {
        id: row.try_get(0)?,
        decision_id: row.try_get(1)?,
        seq: row.try_get(2)?,
        kind: row.try_get(3)?,
        payload: row.try_get(4)?,
        reason_codes: row.try_get(5)?,
        actor: row.try_get(6)?,
        application_name: row.try_get(7)?,
        created_at: row.try_get(8)?,
    })
}

/// The decision with this id.
pub async fn get(db: &impl GenericClient, id: Uuid) -> Result<Option<Decision>, DecisionError> {
    let row = db
        .query_opt(
            &format!("SELECT {DECISION_COLUMNS} FROM trade_decisions WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(decision_from_row).transpose()?)
}

/// The events of a decision, in `seq` order.
pub async fn events(
    db: &impl GenericClient,
    decision_id: Uuid,
) -> Result<Vec<DecisionEvent>, DecisionError> {
    let rows = db
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM decision_events WHERE decision_id = $1 ORDER BY seq"
            ),
            &[&decision_id],
        )
        .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// The events carrying a reason code (through the partial GIN index on `reason_codes`), newest
/// first,
/// at most `limit`.
pub async fn events_with_reason_code(
    db: &impl GenericClient,
    reason_code: &str,
    limit: i64,
) -> Result<Vec<DecisionEvent>, DecisionError> {
    let rows = db
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM decision_events \
                 WHERE reason_codes @> ARRAY[$1::text] AND reason_codes <> '{{}}' ORDER BY created_at DESC, id DESC LIMIT $2"
            ),
            &[&reason_code, &limit],
        )
        .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// Checks the account label of a decision (at most 64 characters, not empty).
pub(crate) fn check_account_label(account_label: &str) -> Result<(), FieldProblem> {
    check::varchar("account_label", account_label, 64, true)
}

/// Checks a target status (see [`Transition::to`]).
pub(crate) fn check_status(field: &'static str, to: &str) -> Result<(), FieldProblem> {
    check::varchar(field, to, 32, true)?;
    if !to
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(FieldProblem::new(
            field,
            "a status is lower-case letters, digits and '_'",
        ));
    }
    if to == INITIAL_STATUS {
        return Err(FieldProblem::new(
            field,
            "a decision cannot go back to \"planned\"",
        ));
    }
    Ok(())
}

pub(crate) fn check_reason_codes(codes: &[String]) -> Result<(), FieldProblem> {
    for code in codes {
        if code.is_empty() {
            return Err(FieldProblem::new("reason_codes", "a reason code is empty"));
        }
        check::text("reason_codes", code)?;
    }
    Ok(())
}

/// The detail of a transition as the JSON text the event stores (read by the strict boundary).
fn detail_text(detail: Option<&str>, policy: &JsonPolicy) -> Result<String, DecisionError> {
    match detail {
        None => Ok(String::new()),
        Some(raw) => AuditJson::from_text(raw, policy)
            .map(|(d, _)| d.into_string())
            .map_err(|source| InputError::json(SUBJECT, "detail", source).into()),
    }
}

/// Moves a decision to a new status, in its own transaction (see the module documentation).
pub async fn transition(
    client: &mut Client,
    decision_id: Uuid,
    t: &Transition,
    policy: &JsonPolicy,
) -> Result<TransitionOutcome, DecisionError> {
    let tx = client.transaction().await?;
    let out = transition_in_tx(&tx, decision_id, t, policy).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`transition`] in the caller's transaction.
pub async fn transition_in_tx(
    tx: &Transaction<'_>,
    decision_id: Uuid,
    t: &Transition,
    policy: &JsonPolicy,
) -> Result<TransitionOutcome, DecisionError> {
    check_status("to", &t.to)?;
    check_reason_codes(&t.reason_codes)?;
    // Validate the detail before taking the lock.
    let detail = detail_text(t.detail.as_deref(), policy)?;
    let codes = serde_json::Value::from(t.reason_codes.clone()).to_string();

    let row = statements::query_opt(
        tx,
        "SELECT status FROM trade_decisions WHERE id = $1 FOR NO KEY UPDATE",
        &[&decision_id],
    )
    .await?
    .ok_or(DecisionError::NotFound { id: decision_id })?;
    let from: String = row.try_get(0)?;
    let unchanged = TransitionOutcome {
        decision_id,
        from: from.clone(),
        to: t.to.clone(),
        seq: None,
        event_id: None,
    };
    if from == t.to {
        // Already there (e.g. a retry whose first attempt committed): nothing changes.
        return Ok(unchanged);
    }
    if is_terminal(&from) {
        return Err(DecisionError::Terminal {
            id: decision_id,
            status: from,
            to: t.to.clone(),
        });
    }
    // The database records the change as an event (migration 0007_audit_capture), with the
    // reason codes and detail handed to it for this statement.
    let filled = t.to == "filled";
    // The event is read back in the same round trip as the update (sent together).
    let params: [&(dyn ToSql + Sync); 5] = [&decision_id, &t.to, &filled, &codes, &detail];
    let events = statements::execute_then_query(
        tx,
        "UPDATE trade_decisions SET status = $2, executed_at = CASE WHEN $3 \
         THEN coalesce(executed_at, now()) ELSE executed_at END \
         FROM (SELECT set_config('torghut.event_reason_codes', $4, true), \
                      set_config('torghut.event_detail', $5, true)) AS event_context \
         WHERE id = $1",
        &params,
        "SELECT id, seq FROM decision_events WHERE decision_id = $1 ORDER BY seq DESC LIMIT 1",
        &[&decision_id],
    )
    .await?;
    let event = events
        .first()
        .ok_or(DecisionError::NotRecorded { id: decision_id })?;
    Ok(TransitionOutcome {
        seq: Some(event.try_get(1)?),
        event_id: Some(event.try_get(0)?),
        ..unchanged
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "0190b9a0-0000-7000-8000-000000000001";

    fn json_of(p: &PreparedDecision) -> serde_json::Value {
        serde_json::from_str(p.decision_json.as_str()).unwrap()
    }

    #[test]
    fn defaults_are_filled_in_and_extras_kept_in_order() {
        let text = format!(
            r#"{{"x_first":1,"strategy_id":"{SID}","symbol":"MSFT","event_ts":"2026-02-10T09:30:00Z","timeframe":"1Day","action":"sell","qty":2.5,"x_last":{{"k":[1.10,"1E+2"]}}}}"#
        );
        let p = prepare("paper", &text, &JsonPolicy::default()).unwrap();
        assert_eq!(
            p.decision_json.as_str(),
            format!(
                r#"{{"x_first":1,"strategy_id":"{SID}","symbol":"MSFT","event_ts":"2026-02-10T09:30:00+00:00","timeframe":"1Day","action":"sell","qty":"2.5","x_last":{{"k":[1.10,"1E+2"]}},"order_type":"market","time_in_force":"day","limit_price":null,"stop_price":null,"params":{{}},"rationale":null}}"#
            )
        );
        assert_eq!(
            p.decision_hash,
            torghut_hash::decision_hash_from_json(&text).unwrap()
        );
        assert_eq!(
            torghut_hash::decision_hash_from_json(p.decision_json.as_str()).unwrap(),
            p.decision_hash
        );
        assert_eq!(p.symbol, "MSFT");
        assert_eq!(p.rationale, None);
    }

    #[test]
    fn decimals_and_dates_are_written_as_hashed() {
        let text = format!(
            r#"{{"strategy_id":"{SID}","symbol":"A","event_ts":1770715800,"timeframe":"1Min","action":"buy","qty":"0.00000001","limit_price":"1E+2","stop_price":"1.50","order_type":"stop_limit","rationale":"r"}}"#
        );
        let p = prepare("paper", &text, &JsonPolicy::default()).unwrap();
        let j = json_of(&p);
        assert_eq!(j["qty"], "1E-8");
        assert_eq!(j["limit_price"], "1E+2");
        assert_eq!(j["stop_price"], "1.50");
        assert_eq!(j["event_ts"], "2026-02-10T09:30:00+00:00");
        assert_eq!(p.rationale.as_deref(), Some("r"));
    }

    #[test]
    fn deeply_nested_params_are_read_back() {
        let depth = 150;
        let params = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let text = format!(
            r#"{{"strategy_id":"{SID}","symbol":"A","event_ts":"2026-02-10T09:30:00","timeframe":"1Min","action":"buy","qty":"1","params":{{"deep":{params}}}}}"#
        );
        let policy = JsonPolicy::default().depth_limit(200);
        let p = prepare("paper", &text, &policy).unwrap();
        assert!(p
            .decision_json
            .as_str()
            .contains(r#""event_ts":"2026-02-10T09:30:00","#));
        let err = prepare("paper", &text, &JsonPolicy::default()).unwrap_err();
        assert!(
            matches!(err, DecisionError::Input(InputError::Json { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn statuses() {
        assert!(check_status("to", "partially_filled").is_ok());
        assert!(check_status("to", "planned").is_err());
        assert!(check_status("to", "Filled").is_err());
        assert!(is_terminal("expired") && !is_terminal("accepted"));
    }
}
