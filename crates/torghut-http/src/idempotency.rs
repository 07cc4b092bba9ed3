//! `Idempotency-Key` on every POST (the IETF httpapi draft): the first answer to a key, for the
//! same route, is kept for [`RETENTION`]; a retry with the same key and the same body gets that
//! answer again (header `Idempotent-Replayed: true`), with another body a 422, and while the first
//! request is still running a 409 with `Retry-After`. Requests without the header are not
//! affected. The keys live in the store (`torghut_store::idempotency`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use torghut_store::idempotency::{self, Claim};

use crate::body::read_body;
use crate::problem::Problem;
use crate::state::AppState;

/// How long an answer is kept for its key.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// The key of a request: 1 to 255 visible ASCII characters (a structured-field string's
/// quotes are dropped).
fn key_of(v: &HeaderValue) -> Result<String, Problem> {
    let bad = || {
        Problem::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters")
            .with_field("Idempotency-Key")
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    let s = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s);
    if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(bad());
    }
    Ok(s.to_owned())
}

/// The middleware (on the API routes).
pub(crate) async fn idempotency(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    match keyed(&state, raw, req, next).await {
        Ok(res) | Err(res) => res,
    }
}

async fn keyed(
    state: &AppState,
    raw: HeaderValue,
    req: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = key_of(&raw).map_err(IntoResponse::into_response)?;
    let route = format!("POST {}", req.uri().path());
    let (parts, body) = req.into_parts();
    let bytes = read_body(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    let digest = Sha256::digest(&bytes).to_vec();
    let claim = {
        let client = state.conn().await.map_err(IntoResponse::into_response)?;
        idempotency::claim(&**client, &route, &key, &digest)
            .await
            .map_err(|e| crate::problem::from_db(&e).into_response())?
    };
    match claim {
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let content_type = if status.is_success() {
                "application/json"
            } else {
                "application/problem+json"
            };
            let mut res = (status, body).into_response();
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(res)
        }
        Claim::OtherBody => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency key reused",
            "this Idempotency-Key was used with another request body",
        )
        .with_field("Idempotency-Key")
        .into_response()),
        Claim::InProgress => {
            let mut res = Problem::conflict(
                "idempotency-key-in-progress",
                "a request with this Idempotency-Key is still being processed; retry later",
            )
            .with_field("Idempotency-Key")
            .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Err(res)
        }
        Claim::New => {
            let res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = res.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            // 5xx is not an answer to keep: the key is released, a retry runs again.
            let kept = if parts.status.is_server_error() {
                match state.conn().await {
                    Ok(c) => idempotency::release(&**c, &route, &key).await,
                    Err(_) => Ok(()),
                }
            } else {
                match state.conn().await {
                    Ok(c) => {
                        idempotency::record(&**c, &route, &key, parts.status.as_u16(), &body).await
                    }
                    Err(_) => Ok(()),
                }
            };
            if let Err(e) = kept {
                tracing::warn!(error = %e, "idempotency key: the answer could not be kept");
            }
            Ok(Response::from_parts(parts, Body::from(body)))
        }
    }
}
