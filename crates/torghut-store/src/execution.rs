//! Executions: upserts from broker order payloads, their events, and reconciliation.
//!
//! # Upsert semantics
//!
//! An order payload (Alpaca's order JSON) is keyed by the broker's order id (`id`, stored as
//! `alpaca_order_id`). When the payload has no broker id, it is keyed by `client_order_id`;
//! a row first recorded that way has the client order id as a provisional `alpaca_order_id`,
//! replaced by the broker's id when a payload carrying both arrives.
//!
//! - `raw_order` always becomes the latest payload received (through `AuditJson`). The
//!   database seals the row an execution is created with and records every later change of it
//!   as an event in `execution_events` (migration `0007_audit_capture`: `seq` 1, 2, ... per
//!   execution, payload `{"changes": {column: {"from", "to"}}}`), so every broker update is kept
//!   in order. A payload equal (as jsonb text) to the stored one, for the same decision link,
//!   changes nothing and records nothing: a retried upsert is a no-op.
//! - `filled_qty` never decreases: it becomes the larger of the stored and the received value
//!   (a stored `NaN`, which another writer may have left, counts as unknown: the received value
//!   replaces it).
//!   An update whose `filled_qty` is below the stored one is a stale (out-of-order) update: its
//!   payload is stored (raw_order, recorded as an event) but `filled_qty`, `avg_fill_price` and `status`
//!   keep their stored values. With an equal or larger `filled_qty`, the received status and
//!   price win (a missing price keeps the stored one).
//! - `trade_decision_id` is the decision whose `decision_hash` equals the payload's
//!   `client_order_id`, when there is one; an existing link is kept when none is found.
//! - Numbers (`qty`, `filled_qty`, `filled_avg_price`) may be JSON strings or numbers.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::numeric::Numeric;
use crate::statements;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, Row, Transaction};
use torghut_json::{AuditJson, AuditValue, JsonPolicy};
use uuid::Uuid;

use crate::check::{self, FieldProblem};
use crate::input::InputError;

/// An order payload, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedOrder {
    /// The broker's order id (`id`).
    pub alpaca_order_id: Option<String>,
    pub client_order_id: Option<String>,
    pub symbol: String,
    pub side: String,
    /// `type`, or `order_type` when `type` is absent.
    pub order_type: String,
    pub time_in_force: String,
    /// `qty`: the submitted quantity.
    pub qty: Decimal,
    /// `filled_qty`, 0 when absent or null.
    pub filled_qty: Decimal,
    pub filled_avg_price: Option<Decimal>,
    pub status: String,
    /// The whole payload, through the JSON boundary.
    pub raw_order: AuditJson,
}

/// The result of an upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = ExecutionRecorded)
)]
pub struct UpsertedExecution {
    pub id: Uuid,
    /// Whether the row was inserted (false: updated).
    pub created: bool,
    pub trade_decision_id: Option<Uuid>,
    /// The stored `filled_qty` after the upsert.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub filled_qty: Numeric,
    /// The stored `status` after the upsert.
    pub status: String,
    /// The `seq` of the execution event that recorded this upsert's change; null (`None`) when
    /// it created the execution (sealed into its row) or changed nothing (a repeat).
    pub event_seq: Option<i32>,
}

/// A row of `executions`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = ExecutionRow)
)]
pub struct Execution {
    pub id: Uuid,
    pub trade_decision_id: Option<Uuid>,
    pub alpaca_order_id: String,
    pub client_order_id: Option<String>,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub time_in_force: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub submitted_qty: Numeric,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub filled_qty: Numeric,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub avg_fill_price: Option<Numeric>,
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub raw_order: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_update_at: Option<DateTime<Utc>>,
}

/// One change of an execution, recorded by the database when the row changed: payload
/// `{"changes": {column: {"from", "to"}}}` (a new broker payload is a change of `raw_order`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "openapi",
    derive(serde::Serialize, utoipa::ToSchema),
    schema(as = ExecutionEventRow)
)]
pub struct ExecutionEvent {
    pub id: Uuid,
    pub execution_id: Uuid,
    pub seq: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
    /// The database role that made the change.
    pub actor: Option<String>,
    /// The writer's `application_name`.
    pub application_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Why an execution operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutionError {
    /// A field of the order payload is missing or not acceptable, or the payload is not an
    /// object or was refused by the JSON boundary (nothing was written).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Another execution (with another broker order id) already has this client order id.
    #[error("order field \"client_order_id\": another execution already has this client order id")]
    ClientOrderIdTaken { client_order_id: String },
    /// Another execution already has this broker order id.
    #[error("order field \"id\": another execution already has this broker order id")]
    AlpacaOrderIdTaken { alpaca_order_id: String },
    /// The stored order has another symbol or side: an order's symbol and side never change
    /// (a rule of the store; other writers' changes are recorded, not refused).
    #[error("order field \"{field}\": the stored order has {stored:?}; an order's {field} never changes")]
    OrderChanged { field: &'static str, stored: String },
    /// The client order id of the payload is not the decision's hash.
    #[error("order field \"client_order_id\": does not match the decision's hash {decision_hash}")]
    ClientOrderIdMismatch { decision_hash: String },
    /// No decision has this id.
    #[error("no decision with id {decision_id}")]
    UnknownDecision { decision_id: Uuid },
    /// The decision has no decision hash (a row from before hashes existed), so no client
    /// order id to reconcile by.
    #[error("decision {decision_id} has no decision hash")]
    DecisionWithoutHash { decision_id: Uuid },
    /// Any other database error.
    #[error("database error: {}", crate::check::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

impl ExecutionError {
    /// The input field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Input(e) => Some(e.field()),
            Self::ClientOrderIdTaken { .. } | Self::ClientOrderIdMismatch { .. } => {
                Some("client_order_id")
            }
            Self::AlpacaOrderIdTaken { .. } => Some("id"),
            Self::OrderChanged { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn from_db(e: tokio_postgres::Error, order: &ParsedOrder) -> Self {
        if check::violates(&e, "uq_executions_client_order_id") {
            Self::ClientOrderIdTaken {
                client_order_id: order.client_order_id.clone().unwrap_or_default(),
            }
        } else if check::violates(&e, "uq_executions_alpaca_order_id") {
            Self::AlpacaOrderIdTaken {
                alpaca_order_id: order.key().to_owned(),
            }
        } else {
            Self::Db(e)
        }
    }
}

/// The subject of this module's input refusals.
const SUBJECT: &str = "order";

impl From<FieldProblem> for ExecutionError {
    fn from(p: FieldProblem) -> Self {
        Self::Input(InputError::from_problem(SUBJECT, p))
    }
}

impl ParsedOrder {
    /// The value stored as `alpaca_order_id`: the broker's id, or provisionally the client
    /// order id.
    pub fn key(&self) -> &str {
        self.alpaca_order_id
            .as_deref()
            .or(self.client_order_id.as_deref())
            .unwrap_or_default()
    }
}

fn member<'a>(members: &'a [(String, AuditValue)], name: &str) -> Option<&'a AuditValue> {
    members
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .filter(|v| !matches!(v, AuditValue::Null))
}

fn string_member(
    members: &[(String, AuditValue)],
    field: &'static str,
    max: usize,
) -> Result<Option<String>, FieldProblem> {
    match member(members, field) {
        None => Ok(None),
        Some(AuditValue::String(s)) => {
            check::varchar(field, s, max, true)?;
            Ok(Some(s.clone()))
        }
        Some(other) => Err(FieldProblem::new(
            field,
            format!("expected a string, found {}", other.type_name()),
        )),
    }
}

fn required<T>(field: &'static str, v: Option<T>) -> Result<T, FieldProblem> {
    v.ok_or_else(|| FieldProblem::new(field, "required but missing"))
}

fn decimal_member(
    members: &[(String, AuditValue)],
    field: &'static str,
) -> Result<Option<Decimal>, FieldProblem> {
    let text = match member(members, field) {
        None => return Ok(None),
        Some(AuditValue::String(s)) => s.as_str(),
        Some(AuditValue::Number(n)) => n.as_text().unwrap_or_default(),
        Some(other) => {
            return Err(FieldProblem::new(
                field,
                format!(
                    "expected a decimal as a string or number, found {}",
                    other.type_name()
                ),
            ))
        }
    };
    let d = check::parse_decimal(text).ok_or_else(|| FieldProblem::new(field, "not a decimal"))?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(FieldProblem::new(field, "must not be negative"));
    }
    check::numeric(field, &d, 20, 8)?;
    Ok(Some(d))
}

/// Checks an order payload given as JSON text. Pure: touches no database.
pub fn parse_order(text: &str, policy: &JsonPolicy) -> Result<ParsedOrder, ExecutionError> {
    let raw_order = check::payload(text, policy)
        .map_err(|source| InputError::json_document(SUBJECT, "raw_order", source))?;
    let AuditValue::Object(m) = raw_order.to_value() else {
        return Err(InputError::Document {
            subject: SUBJECT,
            field: "raw_order",
            message: "an order payload is a JSON object".into(),
        }
        .into());
    };
    let alpaca_order_id = string_member(&m, "id", 128)?;
    let client_order_id = string_member(&m, "client_order_id", 128)?;
    if alpaca_order_id.is_none() && client_order_id.is_none() {
        return Err(InputError::member(
            SUBJECT,
            "id",
            "neither \"id\" nor \"client_order_id\" is given",
        )
        .into());
    }
    let order_type = match string_member(&m, "type", 32)? {
        Some(t) => t,
        None => required("type", string_member(&m, "order_type", 32)?)?,
    };
    Ok(ParsedOrder {
        symbol: required("symbol", string_member(&m, "symbol", 16)?)?,
        side: required("side", string_member(&m, "side", 8)?)?,
        order_type,
        time_in_force: required("time_in_force", string_member(&m, "time_in_force", 16)?)?,
        qty: required("qty", decimal_member(&m, "qty")?)?,
        filled_qty: decimal_member(&m, "filled_qty")?.unwrap_or(Decimal::ZERO),
        filled_avg_price: decimal_member(&m, "filled_avg_price")?,
        status: required("status", string_member(&m, "status", 32)?)?,
        alpaca_order_id,
        client_order_id,
        raw_order,
    })
}

/// Upserts an execution from an order payload, in its own transaction (see the module
/// documentation).
pub async fn upsert(
    client: &mut Client,
    order_json_text: &str,
    policy: &JsonPolicy,
) -> Result<UpsertedExecution, ExecutionError> {
    let order = parse_order(order_json_text, policy)?;
    let tx = client.transaction().await?;
    let out = upsert_parsed(&tx, &order, None).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`upsert`] in the caller's transaction.
pub async fn upsert_in_tx(
    tx: &Transaction<'_>,
    order_json_text: &str,
    policy: &JsonPolicy,
) -> Result<UpsertedExecution, ExecutionError> {
    let order = parse_order(order_json_text, policy)?;
    upsert_parsed(tx, &order, None).await
}

/// Reconciliation backfill: attaches (inserting or updating) the execution of a decision whose
/// execution is missing, keyed by the decision's client order id (its decision hash), in its
/// own transaction. The payload's `client_order_id`, when given, must be that hash.
pub async fn attach_to_decision(
    client: &mut Client,
    decision_id: Uuid,
    order_json_text: &str,
    policy: &JsonPolicy,
) -> Result<UpsertedExecution, ExecutionError> {
    let order = parse_order(order_json_text, policy)?;
    let tx = client.transaction().await?;
    let out = attach_parsed(&tx, decision_id, order).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`attach_to_decision`] in the caller's transaction.
pub async fn attach_to_decision_in_tx(
    tx: &Transaction<'_>,
    decision_id: Uuid,
    order_json_text: &str,
    policy: &JsonPolicy,
) -> Result<UpsertedExecution, ExecutionError> {
    let order = parse_order(order_json_text, policy)?;
    attach_parsed(tx, decision_id, order).await
}

async fn attach_parsed(
    db: &Transaction<'_>,
    decision_id: Uuid,
    mut order: ParsedOrder,
) -> Result<UpsertedExecution, ExecutionError> {
    let row = db
        .query_opt(
            "SELECT decision_hash FROM trade_decisions WHERE id = $1",
            &[&decision_id],
        )
        .await?
        .ok_or(ExecutionError::UnknownDecision { decision_id })?;
    let hash: Option<String> = row.try_get(0)?;
    let hash = hash.ok_or(ExecutionError::DecisionWithoutHash { decision_id })?;
    match &order.client_order_id {
        Some(c) if *c != hash => {
            return Err(ExecutionError::ClientOrderIdMismatch {
                decision_hash: hash,
            })
        }
        _ => order.client_order_id = Some(hash),
    }
    upsert_parsed(db, &order, Some(decision_id)).await
}

const UPSERT_VALUES: &str = "INSERT INTO executions AS e (id, trade_decision_id, \
    alpaca_order_id, client_order_id, symbol, side, order_type, time_in_force, submitted_qty, \
    filled_qty, avg_fill_price, status, raw_order, last_update_at) \
    VALUES ($1, coalesce($2, (SELECT d.id FROM trade_decisions d WHERE d.decision_hash = $4)), \
    $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now())";

const UPSERT_SET: &str = "trade_decision_id = coalesce(EXCLUDED.trade_decision_id, \
    e.trade_decision_id), client_order_id = coalesce(e.client_order_id, EXCLUDED.client_order_id), \
    symbol = EXCLUDED.symbol, side = EXCLUDED.side, order_type = EXCLUDED.order_type, \
    time_in_force = EXCLUDED.time_in_force, submitted_qty = EXCLUDED.submitted_qty, \
    filled_qty = greatest(nullif(e.filled_qty, 'NaN'), EXCLUDED.filled_qty), \
    avg_fill_price = CASE WHEN EXCLUDED.filled_qty >= coalesce(nullif(e.filled_qty, 'NaN'), 0) \
        THEN coalesce(EXCLUDED.avg_fill_price, e.avg_fill_price) ELSE e.avg_fill_price END, \
    status = CASE WHEN EXCLUDED.filled_qty >= coalesce(nullif(e.filled_qty, 'NaN'), 0) \
        THEN EXCLUDED.status ELSE e.status END, \
    raw_order = EXCLUDED.raw_order, last_update_at = now(), updated_at = now() \
    WHERE e.symbol = EXCLUDED.symbol AND e.side = EXCLUDED.side \
      AND (e.raw_order::text IS DISTINCT FROM EXCLUDED.raw_order::text \
           OR (EXCLUDED.trade_decision_id IS NOT NULL \
               AND e.trade_decision_id IS DISTINCT FROM EXCLUDED.trade_decision_id)) \
    RETURNING id, (xmax = 0) AS created, trade_decision_id, filled_qty, status";

/// The upsert itself; `decision_id` links to that decision instead of looking the client order
/// id up among decision hashes.
pub(crate) async fn upsert_parsed(
    db: &Transaction<'_>,
    order: &ParsedOrder,
    decision_id: Option<Uuid>,
) -> Result<UpsertedExecution, ExecutionError> {
    let map = |e| ExecutionError::from_db(e, order);
    let sql = if order.alpaca_order_id.is_some() {
        format!("{UPSERT_VALUES} ON CONFLICT (alpaca_order_id) DO UPDATE SET {UPSERT_SET}")
    } else {
        format!("{UPSERT_VALUES} ON CONFLICT (client_order_id) DO UPDATE SET {UPSERT_SET}")
    };
    let params: [&(dyn ToSql + Sync); 13] = [
        &Uuid::now_v7(),
        &decision_id,
        &order.key(),
        &order.client_order_id,
        &order.symbol,
        &order.side,
        &order.order_type,
        &order.time_in_force,
        &order.qty,
        &order.filled_qty,
        &order.filled_avg_price,
        &order.status,
        &order.raw_order,
    ];
    let rows = match (&order.alpaca_order_id, &order.client_order_id) {
        // A row first recorded before the broker id was known gets it now, then the upsert
        // finds it by that id: two statements in order, sent together.
        (Some(aid), Some(cid)) if aid != cid => statements::execute_then_query(
            db,
            "UPDATE executions SET alpaca_order_id = $1, updated_at = now() \
                 WHERE client_order_id = $2 AND alpaca_order_id = $2",
            &[aid, cid],
            &sql,
            &params,
        )
        .await
        .map_err(map)?,
        _ => statements::query(db, &sql, &params).await.map_err(map)?,
    };
    let Some(row) = rows.into_iter().next() else {
        // The stored execution has another symbol or side (refused), or already has this
        // payload and link (nothing to change). The upsert locked the row: it reads as it is.
        let key_column = if order.alpaca_order_id.is_some() {
            "alpaca_order_id"
        } else {
            "client_order_id"
        };
        let row = db
            .query_one(
                &format!(
                    "SELECT id, false, trade_decision_id, filled_qty, status, symbol, side \
                     FROM executions WHERE {key_column} = $1"
                ),
                &[&order.key()],
            )
            .await
            .map_err(map)?;
        for (field, i, given) in [("symbol", 5, &order.symbol), ("side", 6, &order.side)] {
            let stored: String = row.try_get(i)?;
            if &stored != given {
                return Err(ExecutionError::OrderChanged { field, stored });
            }
        }
        return Ok(UpsertedExecution {
            id: row.try_get(0)?,
            created: false,
            trade_decision_id: row.try_get(2)?,
            filled_qty: row.try_get(3)?,
            status: row.try_get(4)?,
            event_seq: None,
        });
    };
    let id: Uuid = row.try_get(0)?;
    let created: bool = row.try_get(1)?;
    // A new execution is sealed into its row; a change was recorded by the database as the
    // execution's latest event (the upsert holds the row lock until the end of the transaction).
    let event_seq = if created {
        None
    } else {
        statements::query_opt(
            db,
            "SELECT seq FROM execution_events WHERE execution_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&id],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?
    };
    Ok(UpsertedExecution {
        id,
        created,
        trade_decision_id: row.try_get(2)?,
        filled_qty: row.try_get(3)?,
        status: row.try_get(4)?,
        event_seq,
    })
}

pub(crate) const EXECUTION_COLUMNS: &str = "id, trade_decision_id, alpaca_order_id, \
    client_order_id, symbol, side, order_type, time_in_force, submitted_qty, filled_qty, \
    avg_fill_price, status, raw_order, created_at, updated_at, last_update_at";

pub(crate) fn execution_from_row(row: &Row) -> Result<Execution, tokio_postgres::Error> {
    Ok(Execution {
        id: row.try_get(0)?,
        trade_decision_id: row.try_get(1)?,
        alpaca_order_id: row.try_get(2)?,
        client_order_id: row.try_get(3)?,
        symbol: row.try_get(4)?,
        side: row.try_get(5)?,
        order_type: row.try_get(6)?,
        time_in_force: row.try_get(7)?,
        submitted_qty: row.try_get(8)?,
        filled_qty: row.try_get(9)?,
        avg_fill_price: row.try_get(10)?,
        status: row.try_get(11)?,
        raw_order: row.try_get(12)?,
        created_at: row.try_get(13)?,
        updated_at: row.try_get(14)?,
        last_update_at: row.try_get(15)?,
    })
}

pub(crate) const EVENT_COLUMNS: &str =
    "id, execution_id, seq, payload, actor, application_name, created_at";

pub(crate) fn event_from_row(row: &Row) -> Result<ExecutionEvent, tokio_postgres::Error> {
    Ok(ExecutionEvent {
        id: row.try_get(0)?,
        execution_id: row.try_get(1)?,
        seq: row.try_get(2)?,
        payload: row.try_get(3)?,
        actor: row.try_get(4)?,
        application_name: row.try_get(5)?,
        created_at: row.try_get(6)?,
    })
}

/// The execution with this id.
pub async fn get(db: &impl GenericClient, id: Uuid) -> Result<Option<Execution>, ExecutionError> {
    let row = db
        .query_opt(
            &format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(execution_from_row).transpose()?)
}

/// The execution with this broker order id.
pub async fn get_by_order_id(
    db: &impl GenericClient,
    alpaca_order_id: &str,
) -> Result<Option<Execution>, ExecutionError> {
    let row = db
        .query_opt(
            &format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE alpaca_order_id = $1"),
            &[&alpaca_order_id],
        )
        .await?;
    Ok(row.as_ref().map(execution_from_row).transpose()?)
}

/// The events (payloads received) of an execution, in `seq` order.
pub async fn events(
    db: &impl GenericClient,
    execution_id: Uuid,
) -> Result<Vec<ExecutionEvent>, ExecutionError> {
    let rows = db
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM execution_events WHERE execution_id = $1 \
                 ORDER BY seq"
            ),
            &[&execution_id],
        )
        .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}
