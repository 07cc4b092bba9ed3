//! Torghut's HTTP service: the router, its handlers, RFC 9457 problem responses, the OpenAPI
//! 3.1 document generated from the handlers, request ids and logs, and Prometheus metrics.
//!
//! The HTTP layer issues no SQL: every read and write goes through `torghut-store`.
//!
//! ```no_run
//! # async fn run(db: torghut_config::DbConfig) -> Result<(), Box<dyn std::error::Error>> {
//! use torghut_http::{router, AppState, ServiceConfig};
//! let state = AppState::new(&db, torghut_migrate::MigrationSet::embedded(), ServiceConfig::default())?;
//! let _readiness = torghut_http::spawn_readiness(state.clone());
//! let app = router(state.clone());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8181").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod answers;
mod api;
mod body;
pub mod idempotency;
mod metrics;
mod model;
mod old_service;
mod problem;
mod state;

use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use body::{parse_decimal, parse_rfc3339};
pub use metrics::Metrics;
pub use problem::{Problem, ProblemDetails, PROBLEM_JSON, RETRY_AFTER_SECS};
pub use state::{AppState, ReadinessReport, ServiceConfig, ServiceError};

/// The request id header, read (when valid) and echoed.
pub const REQUEST_ID: &str = "x-request-id";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Torghut store",
        description = "Trading and audit store of the Torghut trading service. Errors are RFC 9457 \
            application/problem+json naming the field (`field`) and JSONPath (`pointer`) at fault.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "health", description = "Liveness, readiness, metrics"),
        (name = "trading", description = "Reads compatible with the old service"),
        (name = "decisions", description = "Decisions and their audit trail"),
        (name = "strategies"),
        (name = "executions"),
        (name = "cursors")
    )
)]
struct ApiDoc;

fn api_router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::healthz))
        .routes(routes!(api::readyz))
        .routes(routes!(api::db_check))
        .routes(routes!(api::metrics))
        .routes(routes!(api::openapi_json))
        .routes(routes!(api::trading_decisions))
        .routes(routes!(api::trading_executions))
        .routes(routes!(api::get_decision))
        .routes(routes!(api::list_strategies, api::create_strategy))
        .routes(routes!(api::create_decision))
        .routes(routes!(api::create_review))
        .routes(routes!(api::create_transition))
        .routes(routes!(api::upsert_execution))
        .routes(routes!(api::record_trail))
        .routes(routes!(api::get_cursor, api::put_cursor))
}

/// The OpenAPI 3.1 document of the routes, generated from the handlers, with what the derived
/// schemas cannot say added by [`refine`].
pub fn openapi() -> serde_json::Value {
    document(api_router().split_for_parts().1)
}

fn document(doc: utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_else(|_| serde_json::json!({}));
    refine(&mut doc);
    doc
}

/// Request bodies whose members are refined.
const REQUEST_BODIES: [&str; 7] = [
    "NewStrategyBody",
    "NewDecisionBody",
    "NewReviewBody",
    "TransitionBody",
    "OrderBody",
    "CursorBody",
    "TrailBody",
];

/// The pattern of a text PostgreSQL can store: no NUL character (U+0000), which neither `text`
/// nor `jsonb` holds.
const NO_NUL: &str = "^[^\\u0000]*$";

/// What the derived schemas cannot say:
/// - every text member, and every string and member name inside a JSON member, is refused when
///   it holds a NUL character (`StorableJson`, a recursive schema, is "any JSON but that");
/// - an order payload names its order by `id`, by `client_order_id` or by both.
fn refine(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    refine_links(doc);
    refine_parameters(doc);
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let any = json!({"$ref": "#/components/schemas/StorableJson"});
    let value = json!({"$ref": "#/components/schemas/StorableJsonValue"});
    schemas.insert(
        "StorableJsonValue".into(),
        json!({
            "description": "Any JSON but null that PostgreSQL's jsonb can store: no NUL \
                character (U+0000) in any string or member name.",
            "anyOf": [
                {"type": ["boolean", "number"]},
                {"type": "string", "pattern": NO_NUL},
                {"type": "array", "items": any},
                {"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": any},
            ]
        }),
    );
    schemas.insert(
        "StorableJson".into(),
        json!({
            "description": "Any JSON that PostgreSQL's jsonb can store (null included).",
            "anyOf": [{"type": "null"}, value],
        }),
    );
    for name in REQUEST_BODIES {
        let Some(body) = schemas.get_mut(name).and_then(Value::as_object_mut) else {
            continue;
        };
        let required: Vec<String> = body
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(props) = body.get_mut("properties").and_then(Value::as_object_mut) {
            for (name, prop) in props.iter_mut() {
                // A required member that is null counts as missing.
                let any = if required.contains(name) {
                    &value
                } else {
                    &any
                };
                refine_member(prop, any);
            }
        }
        if body.get("additionalProperties") != Some(&Value::Bool(false)) {
            body.insert("additionalProperties".into(), any.clone());
            body.insert("propertyNames".into(), json!({"pattern": NO_NUL}));
        }
    }
    // A transition's reason codes are not empty; its status never goes back to `planned`.
    if let Some(transition) = schemas.get_mut("TransitionBody") {
        if let Some(items) = transition.pointer_mut("/properties/reason_codes/items") {
            items["minLength"] = json!(1);
        }
        if let Some(to) = transition.pointer_mut("/properties/to") {
            to["not"] = json!({"const": "planned"});
        }
    }
    // A trail's decision is a decision body without the account label (a member of the
    // trail).
    if let Some(mut decision) = schemas.get("NewDecisionBody").cloned() {
        if let Some(props) = decision
            .get_mut("properties")
            .and_then(Value::as_object_mut)
        {
            props.remove("account_label");
        }
        if let Some(required) = decision.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|r| r != "account_label");
        }
        decision["description"] = json!("A decision as in the decision-hash specification.");
        schemas.insert("DecisionBody".into(), decision);
    }
    if let Some(trail) = schemas.get_mut("TrailBody") {
        trail["properties"]["decision"] = json!({"$ref": "#/components/schemas/DecisionBody"});
    }
    if let Some(order) = schemas.get_mut("OrderBody") {
        let named_by = |member: &str| {
            json!({
                "type": "object",
                "required": [member],
                "properties": {member: {"type": "string", "minLength": 1}},
            })
        };
        let base = order.take();
        *order = json!({
            "allOf": [base, {"anyOf": [named_by("id"), named_by("client_order_id")]}]
        });
    }
}

/// Text parameters (path and query) are refused with a NUL character too.
fn refine_parameters(doc: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut().filter_map(Value::as_object_mut) {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for schema in params.iter_mut().filter_map(|p| p.get_mut("schema")) {
                let Some(obj) = schema.as_object_mut() else {
                    continue;
                };
                let text = match obj.get("type") {
                    Some(Value::String(t)) => t == "string",
                    Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                    _ => false,
                };
                if text
                    && !["pattern", "format", "enum"]
                        .iter()
                        .any(|k| obj.contains_key(*k))
                {
                    obj.insert("pattern".into(), Value::String(NO_NUL.into()));
                }
            }
        }
    }
}

/// Links (OpenAPI 3.1) from the responses that create a resource to the operations that use it:
/// a new strategy's id to `POST /v1/decisions`, a decision's id to its routes. Clients and
/// test generators follow them.
fn refine_links(doc: &mut serde_json::Value) {
    use serde_json::json;
    let decision_id = json!({"id": "$response.body#/id"});
    let to_decision = |op: &str| json!({"operationId": op, "parameters": decision_id});
    let links = [
        (
            "/paths/~1v1~1strategies/post/responses/201",
            json!({
                "NewDecision": {
                    "operationId": "create_decision",
                    "requestBody": {"strategy_id": "$response.body#/id"},
                    "description": "A decision of the new strategy."
                },
                "NewTrail": {
                    "operationId": "record_trail",
                    "requestBody": {"decision": {"strategy_id": "$response.body#/id"}},
                    "description": "A trail of a decision of the new strategy."
                }
            }),
        ),
        (
            "/paths/~1v1~1decisions/post/responses/201",
            json!({
                "GetDecision": to_decision("get_decision"),
                "NewReview": to_decision("create_review"),
                "NewTransition": to_decision("create_transition"),
            }),
        ),
        (
            "/paths/~1v1~1decisions/post/responses/200",
            json!({
                "GetDecision": to_decision("get_decision"),
                "NewReview": to_decision("create_review"),
                "NewTransition": to_decision("create_transition"),
            }),
        ),
    ];
    for (pointer, value) in links {
        if let Some(response) = doc.pointer_mut(pointer).and_then(|r| r.as_object_mut()) {
            response.insert("links".into(), value);
        }
    }
}

/// A member of a request body: text gets the no-NUL pattern, any JSON becomes `StorableJson`,
/// an object of any JSON has `StorableJson` members.
fn refine_member(prop: &mut serde_json::Value, any: &serde_json::Value) {
    use serde_json::{json, Value};
    let Some(obj) = prop.as_object_mut() else {
        return;
    };
    let types: Vec<String> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let has = |t: &str| types.iter().any(|x| x == t);
    let composed = ["$ref", "enum", "oneOf", "anyOf", "allOf"]
        .iter()
        .any(|k| obj.contains_key(*k));
    if types.is_empty() && !composed {
        let description = obj.remove("description");
        *prop = any.clone();
        if let (Some(d), Some(o)) = (description, prop.as_object_mut()) {
            // A sibling of `$ref` is allowed in OpenAPI 3.1.
            o.insert("description".into(), d);
        }
        return;
    }
    if has("object") && !obj.contains_key("properties") {
        obj.insert("additionalProperties".into(), any.clone());
        obj.insert("propertyNames".into(), json!({"pattern": NO_NUL}));
    }
    if has("string")
        && !["pattern", "enum", "format"]
            .iter()
            .any(|k| obj.contains_key(*k))
    {
        obj.insert("pattern".into(), Value::String(NO_NUL.into()));
    }
    if has("array") {
        if let Some(items) = obj.get_mut("items") {
            refine_member(items, any);
        }
    }
}

/// The service's router, with request ids, logs, metrics and problem fallbacks.
pub fn router(state: Arc<AppState>) -> Router {
    let (routes, doc) = api_router().split_for_parts();
    if let Ok(text) = serde_json::to_string_pretty(&document(doc)) {
        let _ = state.openapi_json.set(text);
    }
    routes
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .route_layer(middleware::from_fn(tag_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Checks readiness now and then every `readiness_interval`, until the task is aborted.
pub fn spawn_readiness(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.readiness_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if state.readiness().reason.as_deref() == Some("shutting down") {
                return;
            }
            if state.check_readiness().await.ready {
                state.expire_idempotency_keys().await;
            }
        }
    })
}

async fn not_found() -> Problem {
    Problem::new(
        axum::http::StatusCode::NOT_FOUND,
        "no-route",
        "Not found",
        "no such resource",
    )
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}

/// The matched route template, carried to the outer layer on the response.
#[derive(Clone)]
struct RouteLabel(String);

async fn tag_route(matched: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let label = matched.map(|m| m.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(l) = label {
        res.extensions_mut().insert(RouteLabel(l));
    }
    res
}

fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let rid = request_id(&req);
    let method = method_label(req.method());
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %rid, method, path = %path);
    // The last resort: a handler that panics is answered with a logged 500 problem (and
    // counted), never a dropped connection.
    let run = std::panic::AssertUnwindSafe(next.run(req).instrument(span.clone()))
        .catch_unwind()
        .await;
    let mut res = match run {
        Ok(res) => res,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            span.in_scope(|| tracing::error!(panic = %what, "handler panicked; answered 500"));
            state.metrics.panic();
            problem::Problem::internal().into_response()
        }
    };
    let elapsed = start.elapsed();
    let route = res
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    state.metrics.request(method, &route, status, elapsed);
    if let Some(m) = res.extensions().get::<problem::ProblemMarker>() {
        if let Some(r) = &m.refusal {
            state.metrics.refusal(r);
            // The detection line of a serialization regression: where and why, never the value.
            span.in_scope(|| {
                tracing::warn!(
                    request_id = %rid,
                    status,
                    route = %route,
                    reason = %r,
                    field = m.field.as_deref().unwrap_or(""),
                    json_path = m.pointer.as_deref().unwrap_or("$"),
                    "JSON payload refused"
                )
            });
        }
    }
    span.in_scope(|| {
        let ms = elapsed.as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::warn!(request_id = %rid, status, latency_ms = ms, route = %route, "request answered");
        } else {
            tracing::info!(request_id = %rid, status, latency_ms = ms, route = %route, "request answered");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&rid) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    /// A handler that panics is answered 500 with a problem, logged and counted; the
    /// connection is not dropped.
    #[tokio::test]
    async fn a_panicking_handler_is_answered_500() {
        let db =
            torghut_config::DbConfig::parse("postgresql://nobody@127.0.0.1:1/none").expect("a DSN");
        let state = AppState::new(
            &db,
            torghut_migrate::MigrationSet::embedded(),
            ServiceConfig::default(),
        )
        .expect("state");
        let app = Router::new()
            .route(
                "/boom",
                get(|| async {
                    if std::hint::black_box(true) {
                        panic!("boom");
                    }
                    "unreachable"
                }),
            )
            .layer(middleware::from_fn_with_state(state.clone(), observe))
            .with_state(state.clone());
        let res = app
            .oneshot(
                Request::get("/boom")
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await
            .expect("an answer");
        assert_eq!(res.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            res.headers()
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        assert!(state
            .metrics
            .render(&state)
            .contains("torghut_http_panics_total 1"));
    }
}
