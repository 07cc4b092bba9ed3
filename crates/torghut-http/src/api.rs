//! The handlers. Each one reads its input (naming the field at fault), calls the store, and
//! answers JSON or a problem. No SQL here: every statement lives in `torghut-store`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use torghut_json::AuditValue;
use torghut_store::cursor::{self, CursorPosition};
use torghut_store::decision::{self, EnsuredDecision, Transition, TransitionOutcome};
use torghut_store::execution::{self, UpsertedExecution};
use torghut_store::listing::{self, RecentFilter};
use torghut_store::review::{self, NewReview};
use torghut_store::strategy::{self, NewStrategy, Strategy};
use torghut_store::trail::{self, TrailIds, TrailInput};
use torghut_store::StatementScope;
use uuid::Uuid;

use crate::answers::{
    BadQueryParameter, BodyProblems, MalformedJson, NoSuchDecision, UnacceptableField, Unavailable,
    UnreadBody,
};
use crate::body::{path_uuid, JsonObject, PathParam, QueryParams};
use crate::model::*;
use crate::old_service::{self, OldDecisionRow, OldExecutionRow};
use crate::problem::{Problem, ProblemDetails};
use crate::state::{AppState, ReadinessReport};

type ApiResult<T> = Result<T, Problem>;

/// Liveness: the process answers (the old service's body).
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is alive", body = Object, example = json!({"status": "ok", "service": "torghut"}))))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "service": "torghut" }))
}

/// Readiness: 200 when the schema is at the revision this binary expects with matching
/// checksums; 503 with the reason otherwise (rechecked every few seconds).
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = ReadinessReport),
        (status = 503, description = "Not ready, with the reason", body = ReadinessReport)))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let r = state.readiness();
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r)).into_response()
}

/// The old service's database check: `{"ok": true}` when a query succeeds, else 503 with
/// `detail` `database unavailable` (as the old service's body) in a problem.
#[utoipa::path(get, path = "/db-check", tag = "health",
    responses(
        (status = 200, description = "The database answers", body = Object, example = json!({"ok": true})),
        (status = 503, description = "The database does not answer", body = ProblemDetails, content_type = "application/problem+json",
            example = json!({"type": "urn:torghut:problem:unavailable", "title": "Service unavailable", "status": 503, "detail": "database unavailable"}))))]
pub async fn db_check(State(state): State<Arc<AppState>>) -> ApiResult<Json<serde_json::Value>> {
    let unavailable = || Problem::unavailable("database unavailable");
    let client = state.pool.get().await.map_err(|_| unavailable())?;
    client
        .simple_query("SELECT 1")
        .await
        .map_err(|_| unavailable())?;
    Ok(Json(json!({ "ok": true })))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Metrics", content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(&state);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json(State(state): State<Arc<AppState>>) -> Response {
    let doc = state.openapi_json.get().cloned().unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc,
    )
        .into_response()
}

const MAX_LIMIT: i64 = 500;

/// The query parameters of the old service's listings, as documented (read by
/// [`old_service_filter`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct OldServiceQuery {
    /// Only this symbol (empty: all)
    symbol: Option<String>,
    /// Only those created at or after this: an RFC 3339 date-time (without an offset: in the database session's time zone), a date, or a unix timestamp in seconds (milliseconds above 2e10); the pattern gives the common forms, and the old service's lax ones (`t` or `_` for `T`, a fraction of a unix timestamp) are accepted too
    #[param(
        pattern = "^((19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?)?|-?[0-9]{1,10}(\\.[0-9]{1,6})?)$"
    )]
    since: Option<String>,
    /// At most this many (1 to 500, default 200)
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The query parameters of the old service's listings, read as FastAPI read them: the last
/// value of a repeated parameter; `symbol` empty is no filter; `since` as pydantic reads a
/// `datetime`; `limit` as pydantic reads an `int`, 1 to 500. A value that does not validate is
/// 422 naming the parameter.
fn old_service_filter(q: &QueryParams) -> ApiResult<RecentFilter> {
    let mut f = RecentFilter::default();
    if let Some(s) = q.last("symbol") {
        if s.contains('\0') {
            return Err(Problem::invalid_param(
                "symbol",
                "symbol: contains a NUL character",
            ));
        }
        if !s.is_empty() {
            f.symbol = Some(s.to_owned());
        }
    }
    if let Some(s) = q.last("since") {
        f.since = Some(old_service::since_param(s).ok_or_else(|| {
            Problem::invalid_param(
                "since",
                "since: not a date-time (e.g. 2026-02-10T14:30:00Z), a date or a unix timestamp",
            )
        })?);
    }
    if let Some(s) = q.last("limit") {
        f.limit = old_service::int_param(s)
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Problem::invalid_param("limit", format!("limit: an integer from 1 to {MAX_LIMIT}"))
            })?;
    }
    Ok(f)
}

/// Recent decisions, newest first, as the old service answered them (its keys, order and
/// formats; `decision` is `decision_json`).
#[utoipa::path(get, path = "/trading/decisions", tag = "trading",
    params(OldServiceQuery),
    responses(
        (status = 200, description = "Decisions, newest first", body = Vec<OldDecisionRow>),
        BadQueryParameter, Unavailable))]
pub async fn trading_decisions(
    State(state): State<Arc<AppState>>,
    q: QueryParams,
) -> ApiResult<Json<Vec<OldDecisionRow>>> {
    let f = old_service_filter(&q)?;
    let client = state.conn().await?;
    let rows = StatementScope::of(&client)
        .run(listing::old_service_decisions(&**client, &f))
        .await?;
    let rows = rows
        .into_iter()
        .map(|d| {
            let id = d.id;
            OldDecisionRow::try_from(d).map_err(|e| {
                tracing::error!(decision = %id, error = %e, "stored decision_json unreadable");
                Problem::internal()
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(rows))
}

/// Recent executions, newest first, as the old service answered them (its keys, order and
/// formats; decimals as numbers).
#[utoipa::path(get, path = "/trading/executions", tag = "trading",
    params(OldServiceQuery),
    responses(
        (status = 200, description = "Executions, newest first", body = Vec<OldExecutionRow>),
        BadQueryParameter, Unavailable))]
pub async fn trading_executions(
    State(state): State<Arc<AppState>>,
    q: QueryParams,
) -> ApiResult<Json<Vec<OldExecutionRow>>> {
    let f = old_service_filter(&q)?;
    let client = state.conn().await?;
    let rows = StatementScope::of(&client)
        .run(listing::old_service_executions(&**client, &f))
        .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// The whole audit trail of a decision.
#[utoipa::path(get, path = "/v1/decisions/{id}", tag = "decisions",
    params(("id" = String, Path, description = "The decision's id (UUID)")),
    responses(
        (status = 200, description = "The decision, its events, reviews and executions", body = Trail),
        NoSuchDecision, Unavailable))]
pub async fn get_decision(
    State(state): State<Arc<AppState>>,
    PathParam(id): PathParam,
) -> ApiResult<Json<Trail>> {
    let id = path_uuid(&id, "decision")?;
    let client = state.conn().await?;
    let t = StatementScope::of(&client)
        .run(trail::get(&**client, id))
        .await?
        .ok_or_else(|| Problem::not_found("no decision with this id"))?;
    Ok(Json(t.into()))
}

/// Every strategy, by name.
#[utoipa::path(get, path = "/v1/strategies", tag = "strategies",
    responses(
        (status = 200, description = "Strategies", body = Vec<Strategy>),
        Unavailable))]
pub async fn list_strategies(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<Strategy>>> {
    let client = state.conn().await?;
    let rows = StatementScope::of(&client)
        .run(strategy::list(&**client))
        .await?;
    Ok(Json(rows))
}

/// Creates a strategy.
#[utoipa::path(post, path = "/v1/strategies", tag = "strategies",
    request_body = NewStrategyBody,
    responses(
        (status = 201, description = "Created", body = Strategy),
        BodyProblems))]
pub async fn create_strategy(
    State(state): State<Arc<AppState>>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Strategy>)> {
    body.only(&[
        "name",
        "description",
        "enabled",
        "base_timeframe",
        "universe_type",
        "universe_symbols",
        "max_position_pct_equity",
        "max_notional_per_trade",
    ])?;
    let new = NewStrategy {
        name: body.str("name")?,
        description: body.opt_str("description")?,
        enabled: body.opt_bool("enabled")?.unwrap_or(true),
        base_timeframe: body.str("base_timeframe")?,
        universe_type: body.str("universe_type")?,
        universe_symbols: body.opt_json_text("universe_symbols")?,
        max_position_pct_equity: body.opt_decimal("max_position_pct_equity")?,
        max_notional_per_trade: body.opt_decimal("max_notional_per_trade")?,
    };
    let mut client = state.conn().await?;
    let s = StatementScope::of(&client)
        .run(strategy::create(&mut client, &new, state.policy()))
        .await?;
    state.metrics.write("strategies");
    Ok((StatusCode::CREATED, Json(s)))
}

/// Records a decision, idempotently by its decision hash.
#[utoipa::path(post, path = "/v1/decisions", tag = "decisions",
    request_body = NewDecisionBody,
    responses(
        (status = 201, description = "Recorded", body = EnsuredDecision),
        (status = 200, description = "Already recorded (same decision hash): the same id", body = EnsuredDecision),
        (status = 404, description = "No strategy has the given `strategy_id`", body = ProblemDetails, content_type = "application/problem+json"),
        BodyProblems))]
pub async fn create_decision(
    State(state): State<Arc<AppState>>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<EnsuredDecision>)> {
    let account_label = body.str("account_label")?;
    let text = body.text_without("account_label");
    let prepared = decision::prepare(&account_label, &text, state.policy())?;
    let client = state.conn().await?;
    // One autocommitted statement (INSERT ... ON CONFLICT DO NOTHING, then a read of the
    // existing row when the hash is taken): durable before the answer, idempotent on retry.
    let ensured = StatementScope::of(&client)
        .run(decision::ensure_prepared(&**client, &prepared))
        .await?;
    let status = if ensured.created {
        state.metrics.write("trade_decisions");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(ensured)))
}

/// Appends an LLM review of a decision.
#[utoipa::path(post, path = "/v1/decisions/{id}/reviews", tag = "decisions",
    params(("id" = String, Path, description = "The decision's id (UUID)")),
    request_body = NewReviewBody,
    responses(
        (status = 201, description = "Recorded", body = ReviewRecorded),
        NoSuchDecision, BodyProblems))]
pub async fn create_review(
    State(state): State<Arc<AppState>>,
    PathParam(id): PathParam,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<ReviewRecorded>)> {
    let decision_id = path_uuid(&id, "decision")?;
    let new = review_from(&body)?;
    let client = state.conn().await?;
    let id = StatementScope::of(&client)
        .run(review::append(&client, decision_id, &new, state.policy()))
        .await?;
    state.metrics.write("llm_decision_reviews");
    Ok((
        StatusCode::CREATED,
        Json(ReviewRecorded {
            id,
            trade_decision_id: decision_id,
        }),
    ))
}

/// A review from a review body (`POST /v1/decisions/{id}/reviews`, the `review` of a trail).
fn review_from(body: &JsonObject) -> ApiResult<NewReview> {
    body.only(&[
        "model",
        "prompt_version",
        "input_json",
        "response_json",
        "verdict",
        "confidence",
        "adjusted_qty",
        "adjusted_order_type",
        "rationale",
        "risk_flags",
        "tokens_prompt",
        "tokens_completion",
    ])?;
    Ok(NewReview {
        model: body.str("model")?,
        prompt_version: body.str("prompt_version")?,
        input_json: body.json_text("input_json")?,
        response_json: body.json_text("response_json")?,
        verdict: body.str("verdict")?,
        confidence: body.opt_decimal("confidence")?,
        adjusted_qty: body.opt_decimal("adjusted_qty")?,
        adjusted_order_type: body.opt_str("adjusted_order_type")?,
        rationale: body.opt_str("rationale")?,
        risk_flags: body.opt_json_text("risk_flags")?,
        tokens_prompt: body.opt_i32("tokens_prompt")?,
        tokens_completion: body.opt_i32("tokens_completion")?,
    })
}

/// Records a whole step of the trading loop in one transaction: the decision (ensured by its
/// hash, as `POST /v1/decisions`), its review, its order (upserted, linked to the decision) and
/// its new status. Everything is checked before anything is written; either all of it is
/// recorded or nothing is.
#[utoipa::path(post, path = "/v1/trails", tag = "decisions",
    request_body = TrailBody,
    responses(
        (status = 201, description = "Recorded; the decision is new", body = TrailIds),
        (status = 200, description = "Recorded; the decision already existed (same hash)", body = TrailIds),
        (status = 404, description = "No strategy has the decision's `strategy_id`", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The decision is in a terminal status, or the order ids conflict with another execution", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable (its JSONPath under `decision`, `review` or `order`)", body = ProblemDetails, content_type = "application/problem+json"),
        MalformedJson, UnreadBody, Unavailable))]
pub async fn record_trail(
    State(state): State<Arc<AppState>>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<TrailIds>)> {
    body.only(&["account_label", "decision", "review", "order", "status"])?;
    let part = |name: &str| -> ApiResult<Option<JsonObject>> {
        match body.get(name) {
            None => Ok(None),
            Some(AuditValue::Object(members)) => Ok(Some(JsonObject {
                members: members.clone(),
            })),
            Some(other) => Err(Problem::invalid_field(
                name,
                format!("{name}: expected an object, found {}", other.type_name()),
            )),
        }
    };
    let decision = part("decision")?
        .ok_or_else(|| Problem::invalid_field("decision", "decision: required but missing"))?;
    // The trail's strategy is the decision's own (any spelling of its id); a strategy_id that is
    // not a UUID is refused by the decision's checks.
    let strategy_id = decision
        .get("strategy_id")
        .and_then(|v| match v {
            AuditValue::String(s) => Uuid::try_parse(s.trim()).ok(),
            _ => None,
        })
        .unwrap_or(Uuid::nil());
    let input = TrailInput {
        strategy_id,
        account_label: body.str("account_label")?,
        decision_json_text: decision.text().map_err(|p| p.nested("decision"))?,
        review: part("review")?
            .map(|r| review_from(&r).map_err(|p| p.nested("review")))
            .transpose()?,
        execution: part("order")?
            .map(|o| o.text().map_err(|p| p.nested("order")))
            .transpose()?,
        status: body.opt_str("status")?,
    };
    let mut client = state.conn().await?;
    let ids = StatementScope::of(&client)
        .run(trail::record_trail(&mut client, &input, state.policy()))
        .await?;
    if ids.created {
        state.metrics.write("trade_decisions");
    }
    if ids.review_id.is_some() {
        state.metrics.write("llm_decision_reviews");
    }
    if ids.execution_id.is_some() {
        state.metrics.write("executions");
    }
    let status = if ids.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(ids)))
}

/// Moves a decision to a new status (appends a status event).
#[utoipa::path(post, path = "/v1/decisions/{id}/transitions", tag = "decisions",
    params(("id" = String, Path, description = "The decision's id (UUID)")),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "Moved", body = TransitionOutcome),
        (status = 409, description = "The decision is in a terminal status", body = ProblemDetails, content_type = "application/problem+json"),
        NoSuchDecision, BodyProblems))]
pub async fn create_transition(
    State(state): State<Arc<AppState>>,
    PathParam(id): PathParam,
    body: JsonObject,
) -> ApiResult<Json<TransitionOutcome>> {
    let decision_id = path_uuid(&id, "decision")?;
    body.only(&["to", "reason_codes", "detail"])?;
    let t = Transition {
        to: body.str("to")?,
        reason_codes: body.opt_strings("reason_codes")?.unwrap_or_default(),
        detail: body.opt_json_text("detail")?,
    };
    let mut client = state.conn().await?;
    let out = StatementScope::of(&client)
        .run(decision::transition(
            &mut client,
            decision_id,
            &t,
            state.policy(),
        ))
        .await?;
    state.metrics.write("decision_events");
    Ok(Json(out))
}

/// Upserts an execution from a broker order payload (keyed by the broker's order id).
#[utoipa::path(post, path = "/v1/executions", tag = "executions",
    request_body = OrderBody,
    responses(
        (status = 201, description = "Inserted", body = UpsertedExecution),
        (status = 200, description = "Updated (the payload is appended as an event)", body = UpsertedExecution),
        (status = 409, description = "The order ids conflict with another execution", body = ProblemDetails, content_type = "application/problem+json"),
        BodyProblems))]
pub async fn upsert_execution(
    State(state): State<Arc<AppState>>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<UpsertedExecution>)> {
    let text = body.text()?;
    let mut client = state.conn().await?;
    let out = StatementScope::of(&client)
        .run(execution::upsert(&mut client, &text, state.policy()))
        .await?;
    state.metrics.write("execution_events");
    let status = if out.created {
        state.metrics.write("executions");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(out)))
}

fn check_source(source: &str) -> ApiResult<()> {
    if source.contains('\0') {
        return Err(Problem::bad_request("source: contains a NUL character").with_param("source"));
    }
    Ok(())
}

/// A cursor.
#[utoipa::path(get, path = "/v1/cursors/{source}", tag = "cursors",
    params(("source" = String, Path, description = "The cursor's source (at most 64 characters)", min_length = 1, max_length = 64)),
    responses(
        (status = 200, description = "The cursor", body = CursorRow),
        (status = 404, description = "No cursor for this source", body = ProblemDetails, content_type = "application/problem+json"),
        Unavailable))]
pub async fn get_cursor(
    State(state): State<Arc<AppState>>,
    PathParam(source): PathParam,
) -> ApiResult<Json<CursorRow>> {
    check_source(&source)?;
    if source.chars().count() > 64 {
        return Err(Problem::not_found("no cursor for this source"));
    }
    let client = state.conn().await?;
    let c = StatementScope::of(&client)
        .run(cursor::get(&**client, &source))
        .await?
        .ok_or_else(|| Problem::not_found("no cursor for this source"))?;
    Ok(Json(c.into()))
}

/// Moves a cursor forward (creating it). 409 when the position is older than the stored one,
/// unless `force`.
#[utoipa::path(put, path = "/v1/cursors/{source}", tag = "cursors",
    params(("source" = String, Path, description = "The cursor's source (at most 64 characters)", min_length = 1, max_length = 64)),
    request_body = CursorBody,
    responses(
        (status = 201, description = "Created", body = CursorAdvanced),
        (status = 200, description = "Moved, or already there", body = CursorAdvanced),
        (status = 400, description = "Malformed JSON or bad source", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Would move backwards", body = ProblemDetails, content_type = "application/problem+json"),
        UnreadBody, UnacceptableField, Unavailable))]
pub async fn put_cursor(
    State(state): State<Arc<AppState>>,
    PathParam(source): PathParam,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<CursorAdvanced>)> {
    check_source(&source)?;
    body.only(&["cursor_at", "cursor_seq", "cursor_symbol", "force"])?;
    let at = body
        .opt_datetime("cursor_at")?
        .ok_or_else(|| Problem::invalid_field("cursor_at", "cursor_at: required but missing"))?;
    let to = CursorPosition {
        at,
        seq: body.opt_i64("cursor_seq")?,
        symbol: body.opt_str("cursor_symbol")?,
    };
    let force = body.opt_bool("force")?.unwrap_or(false);
    let mut client = state.conn().await?;
    let advanced = StatementScope::of(&client)
        .run(cursor::advance(&mut client, &source, &to, force))
        .await?;
    if advanced != cursor::Advanced::Unchanged {
        state.metrics.write("trade_cursor");
    }
    let stored = cursor::get(&**client, &source)
        .await?
        .ok_or_else(|| Problem::not_found("no cursor for this source"))?;
    let status = if advanced == cursor::Advanced::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(CursorAdvanced {
            result: advanced_name(advanced).to_owned(),
            cursor: stored.into(),
        }),
    ))
}
