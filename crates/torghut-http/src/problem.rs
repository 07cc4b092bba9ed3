//! RFC 9457 problem details (`application/problem+json`), and how store errors become them.
//!
//! A problem names the input at fault: `field` (the top-level member or query parameter) and
//! `pointer` (a JSONPath into the request body, `$.params.levels[3]`), when there is one. It never
//! carries SQL, server messages, DSNs or values taken from the request.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use torghut_json::{JsonError, JsonErrorReason};
use torghut_store::cursor::CursorError;
use torghut_store::decision::DecisionError;
use torghut_store::execution::ExecutionError;
use torghut_store::listing::ListingError;
use torghut_store::review::ReviewError;
use torghut_store::strategy::StrategyError;
use torghut_store::trail::TrailError;
use torghut_store::InputError;
use utoipa::ToSchema;

/// The media type of problem responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client is told to wait when the database is unavailable.
pub const RETRY_AFTER_SECS: u32 = 1;

/// An RFC 9457 problem (boxed: it travels in `Result`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(Box<ProblemDetails>);

impl std::ops::Deref for Problem {
    type Target = ProblemDetails;
    fn deref(&self) -> &ProblemDetails {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemDetails {
        &mut self.0
    }
}

/// The members of an RFC 9457 problem.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
#[schema(as = Problem)]
pub struct ProblemDetails {
    /// A URI naming the kind of problem (`urn:torghut:problem:<slug>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The request field (body member or query parameter) at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// JSONPath of the offending place in the request body (`$.params.levels[3]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Why a JSON payload was refused (a stable slug: `nul_character`, `too_deep`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    retry_after: Option<u32>,
}

impl Problem {
    /// A problem of `status` with the slug `kind`.
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(ProblemDetails {
            kind: format!("urn:torghut:problem:{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            pointer: None,
            reason: None,
            retry_after: None,
        }))
    }

    /// Names the field at fault (and, for body members, its JSONPath).
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        if self.pointer.is_none() {
            self.pointer = Some(join_path("$", &field));
        }
        self.field = Some(field);
        self
    }

    /// Names a query parameter at fault (no body pointer).
    pub fn with_param(mut self, param: &str) -> Self {
        self.field = Some(param.to_owned());
        self
    }

    /// Sets the JSONPath.
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    /// The problem of a member of the member `outer` (a part of a batch body): its field and
    /// JSONPath are moved under `outer` (`confidence`, `$.confidence` become
    /// `review.confidence`, `$.review.confidence`).
    pub fn nested(mut self, outer: &str) -> Self {
        let prefix = join_path("$", outer);
        self.0.pointer = Some(match self.0.pointer.take() {
            Some(p) => match p.strip_prefix('$') {
                Some(rest) => format!("{prefix}{rest}"),
                None => p,
            },
            None => prefix,
        });
        self.0.field = Some(match self.0.field.take() {
            Some(f) => format!("{outer}.{f}"),
            None => outer.to_owned(),
        });
        self
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 400: the request cannot be read (malformed JSON, bad query parameter, bad path).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this resource does not support this method",
        )
    }

    /// 409.
    pub fn conflict(kind: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, kind, "Conflict", detail)
    }

    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("the request body exceeds the limit of {limit} bytes"),
        )
    }

    /// 408: the body did not arrive in time.
    pub fn body_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "body-timeout",
            "Request timeout",
            format!(
                "the request body did not arrive within {} ms",
                limit.as_millis()
            ),
        )
    }

    /// 415.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "the request body must be JSON in UTF-8 (Content-Type: application/json, with no charset or charset=utf-8)",
        )
    }

    /// 422: the request is JSON but a field is not acceptable.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            "Invalid field",
            detail,
        )
        .with_field(field)
    }

    /// 422: a query parameter is not acceptable (FastAPI's status for a query parameter that
    /// does not validate).
    pub fn invalid_param(name: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-parameter",
            "Invalid query parameter",
            detail,
        )
        .with_param(name)
    }

    /// 503 with `Retry-After`: the database cannot be reached or is not ready.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        );
        p.retry_after = Some(RETRY_AFTER_SECS);
        p
    }

    /// 500: a fault of the service; the details are in the log, never in the response.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the request could not be completed; see the service log",
        )
    }

    /// A refusal by the JSON boundary of the payload at `prefix` (a JSONPath: `$` for the
    /// body, `$.universe_symbols` for a member). Syntax errors are 400, the rest 422.
    pub fn json_refusal(field: Option<&str>, prefix: &str, e: &JsonError) -> Self {
        let status = match e.reason {
            JsonErrorReason::Syntax { .. } => StatusCode::BAD_REQUEST,
            JsonErrorReason::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let pointer = rebase(prefix, &e.path);
        let mut p = Self::new(
            status,
            "json-refused",
            "JSON payload refused",
            format!("{pointer}: {}", e.reason),
        )
        .with_pointer(pointer);
        if let Some(f) = field {
            p.field = Some(f.to_owned());
        }
        p.reason = Some(refusal_reason(&e.reason).to_owned());
        p
    }

    /// The refusal reason slug, when this is a JSON boundary refusal.
    pub fn refusal(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res.extensions_mut().insert(ProblemMarker {
            refusal: self.reason.clone(),
            pointer: self.pointer.clone(),
            field: self.field.clone(),
        });
        res
    }
}

/// Attached to problem responses so the metrics and log layer can count and log boundary
/// refusals (reason, field, JSONPath; never the refused value).
#[derive(Debug, Clone)]
pub(crate) struct ProblemMarker {
    pub refusal: Option<String>,
    pub pointer: Option<String>,
    pub field: Option<String>,
}

/// The stable slug of a refusal reason (a metrics label and the problem's `reason`).
pub fn refusal_reason(r: &JsonErrorReason) -> &'static str {
    match r {
        JsonErrorReason::NonFinite(_) => "non_finite",
        JsonErrorReason::NulCharacter => "nul_character",
        JsonErrorReason::LoneSurrogate => "lone_surrogate",
        JsonErrorReason::DuplicateKey(_) => "duplicate_key",
        JsonErrorReason::TooDeep { .. } => "too_deep",
        JsonErrorReason::TooLarge { .. } => "too_large",
        JsonErrorReason::Syntax { .. } => "syntax",
        JsonErrorReason::NotAnObject => "not_an_object",
        JsonErrorReason::NumberOutOfRange => "number_out_of_range",
        JsonErrorReason::Serialize(_) => "serialize",
        _ => "other",
    }
}

/// `prefix` followed by the steps of `path` (a JSONPath starting with `$`).
fn rebase(prefix: &str, path: &str) -> String {
    format!("{prefix}{}", path.strip_prefix('$').unwrap_or(path))
}

/// `$.name`, or `$["odd name"]` when the name is not an identifier.
pub(crate) fn join_path(prefix: &str, name: &str) -> String {
    let ident = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        format!("{prefix}.{name}")
    } else {
        format!(
            "{prefix}[{}]",
            serde_json::to_string(name).unwrap_or_default()
        )
    }
}

/// What a database error means for the client: unavailable (connection, shutdown, resources,
/// schema not there yet, serialization conflicts) or a fault of the service.
pub(crate) fn from_db(e: &torghut_config::tokio_postgres::Error) -> Problem {
    let Some(db) = e.as_db_error() else {
        // Connection closed, I/O error, timeout: the database is unavailable.
        tracing::warn!(error = %e, "database unavailable");
        return Problem::unavailable("the database is unavailable; retry later");
    };
    let code = db.code().code();
    let class = &code[..2.min(code.len())];
    // Of class 42, only a schema that is not (yet) what the service expects is "not ready":
    // a missing privilege, table, column or function. The rest of the class (syntax errors,
    // ambiguous references, wrong types) is a fault of the service: 500, logged.
    let not_ready_42 = matches!(code, "42501" | "42P01" | "42703" | "42883");
    match class {
        "08" | "57" | "53" | "40" | "55" | "58" | "3D" | "3F" => {
            tracing::warn!(sqlstate = code, "database error answered as unavailable");
            Problem::unavailable("the database is unavailable or not ready; retry later")
        }
        "42" if not_ready_42 => {
            tracing::warn!(sqlstate = code, "schema not ready: answered as unavailable");
            Problem::unavailable("the database is unavailable or not ready; retry later")
        }
        "22" | "54" => {
            tracing::warn!(sqlstate = code, "database refused a value");
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                "Invalid field",
                "the database refused a value of this request",
            )
        }
        // The audit rules of the schema (append-only tables, immutable identity columns,
        // allowed status moves, filled quantity never decreasing): the request asks for a change
        // the history does not allow.
        "TA" => {
            tracing::warn!(
                sqlstate = code,
                message = db.message(),
                "audit rule refused a change"
            );
            Problem::conflict(
                "audit-rule",
                "the change is refused by an audit rule: identity columns never change, history is append-only, and statuses move only forward",
            )
        }
        "23" => {
            tracing::warn!(sqlstate = code, constraint = ?db.constraint(), "constraint violation");
            Problem::conflict("constraint", "the request conflicts with the stored data")
        }
        _ => {
            tracing::error!(sqlstate = code, message = db.message(), "database error");
            Problem::internal()
        }
    }
}

/// The problem of an input the store refused. A member is named with its JSONPath (by the
/// name requests give it); a whole document (a decision's JSON, an order's payload) is the
/// body itself, `$`; a parameter is a 400 naming it; a JSON refusal points into the payload
/// (into the body itself when the payload is the whole document).
impl From<&InputError> for Problem {
    fn from(e: &InputError) -> Self {
        match e {
            InputError::Member {
                field,
                known_as,
                message,
                ..
            } => field_problem(known_as.unwrap_or(field), message),
            InputError::Document { message, .. } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                "Invalid field",
                message.clone(),
            )
            .with_pointer("$"),
            InputError::Parameter { field, message, .. } => {
                Problem::bad_request(format!("{field}: {message}")).with_param(field)
            }
            InputError::Json {
                field,
                source,
                whole_document,
                ..
            } => {
                let prefix = if *whole_document {
                    "$".to_owned()
                } else {
                    join_path("$", field)
                };
                Problem::json_refusal(Some(field), &prefix, source)
            }
        }
    }
}

fn field_problem(field: &str, message: &str) -> Problem {
    Problem::invalid_field(field, format!("{field}: {message}"))
}

/// 422 `invalid-decision`: the decision cannot be hashed, or is not acceptable as a whole.
fn invalid_decision(detail: impl Into<String>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-decision",
        "Invalid decision",
        detail,
    )
}

impl From<StrategyError> for Problem {
    fn from(e: StrategyError) -> Self {
        match &e {
            StrategyError::Input(i) => i.into(),
            StrategyError::NotFound { .. } => Problem::not_found(e.to_string()),
            StrategyError::Db(db) => from_db(db),
            _ => Problem::internal(),
        }
    }
}

impl From<DecisionError> for Problem {
    fn from(e: DecisionError) -> Self {
        match &e {
            DecisionError::Hash(h) => {
                let p = invalid_decision(h.to_string());
                match h.field() {
                    Some(f) => p.with_field(f),
                    None => p.with_pointer("$"),
                }
            }
            // The decision as a whole is refused: an invalid decision, as when it cannot be
            // hashed.
            DecisionError::Input(InputError::Document { message, .. }) => {
                invalid_decision(message.clone()).with_pointer("$")
            }
            DecisionError::Input(i) => i.into(),
            // The strategy the decision names is a resource the request refers to: its absence
            // is a 404 naming the member, as for a decision named in the path.
            DecisionError::UnknownStrategy { strategy_id } => Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-strategy",
                "Unknown strategy",
                format!("strategy_id: no strategy has the id {strategy_id}"),
            )
            .with_field("strategy_id"),
            DecisionError::NotFound { .. } => Problem::not_found(e.to_string()),
            DecisionError::Terminal { .. } => Problem::conflict("terminal-status", e.to_string()),
            DecisionError::NotRecorded { .. } => {
                tracing::error!(error = %e, "a status change was not recorded by the database");
                Problem::unavailable(
                    "the database is not recording changes (audit capture); retry later",
                )
            }
            DecisionError::Db(db) => from_db(db),
            _ => Problem::internal(),
        }
    }
}

impl From<ReviewError> for Problem {
    fn from(e: ReviewError) -> Self {
        match &e {
            ReviewError::Input(i) => i.into(),
            ReviewError::UnknownDecision { .. } => Problem::not_found(e.to_string()),
            ReviewError::Db(db) => from_db(db),
            _ => Problem::internal(),
        }
    }
}

impl From<ExecutionError> for Problem {
    fn from(e: ExecutionError) -> Self {
        match &e {
            ExecutionError::Input(i) => i.into(),
            ExecutionError::ClientOrderIdTaken { .. }
            | ExecutionError::ClientOrderIdMismatch { .. } => {
                Problem::conflict("order-conflict", e.to_string()).with_field("client_order_id")
            }
            ExecutionError::AlpacaOrderIdTaken { .. } => {
                Problem::conflict("order-conflict", e.to_string()).with_field("id")
            }
            ExecutionError::OrderChanged { field, .. } => {
                Problem::conflict("order-conflict", e.to_string()).with_field(*field)
            }
            ExecutionError::UnknownDecision { .. } => Problem::not_found(e.to_string()),
            ExecutionError::DecisionWithoutHash { .. } => {
                Problem::conflict("decision-without-hash", e.to_string())
            }
            ExecutionError::Db(db) => from_db(db),
            _ => Problem::internal(),
        }
    }
}

impl From<CursorError> for Problem {
    fn from(e: CursorError) -> Self {
        match &e {
            CursorError::Input(i) => i.into(),
            CursorError::Backwards { .. } => Problem::conflict(
                "cursor-backwards",
                "the cursor is already past the requested position; cursors only move forward",
            ),
            CursorError::Db(db) => from_db(db),
            _ => Problem::internal(),
        }
    }
}

impl From<TrailError> for Problem {
    /// Each part's problem, its field and JSONPath under the part's member of a
    /// `POST /v1/trails` body (`decision`, `review`, `order`); the trail's own members (the
    /// account label and the status) are members of the body itself.
    fn from(e: TrailError) -> Self {
        match e {
            TrailError::Input(i) => Problem::from(&i),
            TrailError::Decision(d) => Problem::from(d).nested("decision"),
            TrailError::Review(r) => Problem::from(r).nested("review"),
            TrailError::Execution(x) => Problem::from(x).nested("order"),
            TrailError::StrategyMismatch { .. } => Problem::invalid_field(
                "decision.strategy_id",
                "decision.strategy_id: not the trail's strategy",
            ),
            TrailError::Db(db) => from_db(&db),
            _ => Problem::internal(),
        }
    }
}

impl From<ListingError> for Problem {
    fn from(e: ListingError) -> Self {
        match &e {
            ListingError::Db(db) => from_db(db),
            _ => Problem::internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(join_path("$", "qty"), "$.qty");
        assert_eq!(join_path("$", "odd name"), r#"$["odd name"]"#);
        assert_eq!(join_path("$", ""), r#"$[""]"#);
        assert_eq!(
            rebase("$.universe_symbols", "$[3].a"),
            "$.universe_symbols[3].a"
        );
        assert_eq!(rebase("$", "$"), "$");
    }

    fn member(subject: &'static str, field: &'static str, message: &str) -> InputError {
        InputError::Member {
            subject,
            field,
            known_as: None,
            message: message.to_owned(),
        }
    }

    fn json_error(text: &str) -> JsonError {
        torghut_json::AuditJson::from_text(text, &torghut_json::JsonPolicy::default()).unwrap_err()
    }

    fn shape(p: &Problem) -> (u16, &str, &str, &str, Option<&str>, Option<&str>) {
        (
            p.status,
            p.kind.as_str(),
            p.title.as_str(),
            p.detail.as_str(),
            p.field.as_deref(),
            p.pointer.as_deref(),
        )
    }

    #[test]
    fn refused_members_are_named_by_their_path() {
        let p = Problem::from(StrategyError::Input(member(
            "strategy",
            "name",
            "must not be empty",
        )));
        assert_eq!(
            shape(&p),
            (
                422,
                "urn:torghut:problem:invalid-field",
                "Invalid field",
                "name: must not be empty",
                Some("name"),
                Some("$.name"),
            )
        );
        // A cursor position's symbol is answered by the name requests give it.
        let p = Problem::from(CursorError::Input(InputError::Member {
            subject: "cursor",
            field: "symbol",
            known_as: Some("cursor_symbol"),
            message: "33 characters, at most 32 allowed".into(),
        }));
        assert_eq!(
            shape(&p),
            (
                422,
                "urn:torghut:problem:invalid-field",
                "Invalid field",
                "cursor_symbol: 33 characters, at most 32 allowed",
                Some("cursor_symbol"),
                Some("$.cursor_symbol"),
            )
        );
    }

    #[test]
    fn a_refused_source_is_a_bad_parameter() {
        let p = Problem::from(CursorError::Input(InputError::Parameter {
            subject: "cursor",
            field: "source",
            message: "must not be empty".into(),
        }));
        assert_eq!(
            shape(&p),
            (
                400,
                "urn:torghut:problem:bad-request",
                "Bad request",
                "source: must not be empty",
                Some("source"),
                None,
            )
        );
    }

    #[test]
    fn whole_documents_are_the_body_itself() {
        let document = |subject, field| InputError::Document {
            subject,
            field,
            message: "a JSON object is required".into(),
        };
        let p = Problem::from(DecisionError::Input(document("decision", "decision_json")));
        assert_eq!(
            shape(&p),
            (
                422,
                "urn:torghut:problem:invalid-decision",
                "Invalid decision",
                "a JSON object is required",
                None,
                Some("$"),
            )
        );
        let p = Problem::from(ExecutionError::Input(document("order", "raw_order")));
        assert_eq!(
            shape(&p),
            (
                422,
                "urn:torghut:problem:invalid-field",
                "Invalid field",
                "a JSON object is required",
                None,
                Some("$"),
            )
        );
        let p = Problem::from(DecisionError::Input(InputError::Json {
            subject: "decision",
            field: "decision_json",
            source: json_error(r#"{"params":{"x":"\u0000"}}"#),
            whole_document: true,
        }));
        assert_eq!(p.field.as_deref(), Some("decision_json"));
        assert_eq!(p.pointer.as_deref(), Some("$.params.x"));
        assert_eq!(p.refusal(), Some("nul_character"));
        assert_eq!(p.status, 422);
        assert_eq!(
            p.detail,
            format!(
                "$.params.x: {}",
                json_error(r#"{"params":{"x":"\u0000"}}"#).reason
            )
        );
        let p = Problem::from(ReviewError::Input(InputError::Json {
            subject: "review",
            field: "input_json",
            source: json_error(r#"{"a":"\u0000"}"#),
            whole_document: false,
        }));
        assert_eq!(p.field.as_deref(), Some("input_json"));
        assert_eq!(p.pointer.as_deref(), Some("$.input_json.a"));
        assert_eq!(p.status, 422);
    }

    #[test]
    fn trail_members_stay_at_the_top_and_parts_are_nested() {
        let own = Problem::from(TrailError::Input(member(
            "decision",
            "status",
            "a status is lower-case letters, digits and '_'",
        )));
        assert_eq!(own.field.as_deref(), Some("status"));
        assert_eq!(own.pointer.as_deref(), Some("$.status"));
        assert_eq!(
            own.detail,
            "status: a status is lower-case letters, digits and '_'"
        );
        let part = Problem::from(TrailError::Decision(DecisionError::Input(member(
            "decision",
            "qty",
            "must be positive, not 0",
        ))));
        assert_eq!(part.field.as_deref(), Some("decision.qty"));
        assert_eq!(part.pointer.as_deref(), Some("$.decision.qty"));
        assert_eq!(part.detail, "qty: must be positive, not 0");
        let order = Problem::from(TrailError::Execution(ExecutionError::Input(
            InputError::Json {
                subject: "order",
                field: "raw_order",
                source: json_error(r#"{"qty":NaN}"#),
                whole_document: true,
            },
        )));
        assert_eq!(order.field.as_deref(), Some("order.raw_order"));
        assert_eq!(order.pointer.as_deref(), Some("$.order.qty"));
    }

    #[test]
    fn problems_serialize_as_rfc9457() {
        let p = Problem::invalid_field("qty", "qty: not a finite decimal number");
        let v: serde_json::Value = serde_json::to_value(&*p).unwrap();
        assert_eq!(v["type"], "urn:torghut:problem:invalid-field");
        assert_eq!(v["status"], 422);
        assert_eq!(v["field"], "qty");
        assert_eq!(v["pointer"], "$.qty");
        assert!(v.get("retry_after").is_none());
        let res = Problem::unavailable("down").into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
