//! Request bodies: content type, size limit, the strict JSON reader of the boundary, and typed
//! access to members with the field named in every refusal.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use torghut_json::{AuditJson, AuditValue, JsonPolicy};
use uuid::Uuid;

use crate::problem::{join_path, Problem};
use crate::state::AppState;

/// A JSON object body, read by the boundary's strict reader (syntax, duplicate members, lone
/// surrogates, nesting and size are checked here; NUL characters and numbers beyond `numeric`
/// wherever the value is stored).
#[derive(Debug)]
pub struct JsonObject {
    /// The members, in order.
    pub members: Vec<(String, AuditValue)>,
}

fn is_json(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    // JSON is UTF-8 (RFC 8259): a body declared in another charset is not read as if it were.
    let utf8 = parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            let v = v.trim().trim_matches('"');
            v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    });
    json && utf8
}

/// The reading policy of request envelopes: limits only, no redaction (payloads are redacted
/// by the store when they are stored).
pub(crate) fn envelope_policy(max_bytes: usize) -> JsonPolicy {
    JsonPolicy::with_redact_keys(Vec::<String>::new())
        .size_limit(max_bytes.saturating_mul(2))
        .depth_limit(torghut_json::DEFAULT_MAX_DEPTH)
}

impl FromRequest<Arc<AppState>> for JsonObject {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Problem> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !is_json(ct) {
            return Err(Problem::unsupported_media_type());
        }
        let limit = state.config.max_body_bytes;
        let bytes = read_body(req, state).await?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            Problem::bad_request(format!("the body is not UTF-8 (byte {})", e.valid_up_to()))
        })?;
        let policy = envelope_policy(limit);
        AuditJson::from_text(text, &policy).map_err(|e| Problem::json_refusal(None, "$", &e))?;
        // The members as the request wrote them (numbers keep their spelling: a decision is
        // hashed from them); the checks above passed on the same text.
        let raw = AuditValue::from_json_text(text, policy.effective_max_depth())
            .map_err(|e| Problem::json_refusal(None, "$", &e))?;
        match raw {
            AuditValue::Object(members) => Ok(JsonObject { members }),
            other => Err(Problem::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                "Invalid body",
                format!(
                    "the body must be a JSON object, found {}",
                    other.type_name()
                ),
            )
            .with_pointer("$")),
        }
    }
}

/// Reads a request body within the service's limits: a body announced (by `Content-Length`)
/// larger than `max_body_bytes` is refused before any of it is read (413), one that does not
/// arrive within `body_timeout` is 408.
pub(crate) async fn read_body(
    req: Request,
    state: &AppState,
) -> Result<axum::body::Bytes, Problem> {
    let limit = state.config.max_body_bytes;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(Problem::too_large(limit));
    }
    // A client that stalls while sending its body holds a connection no longer than this.
    let timeout = state.config.body_timeout;
    tokio::time::timeout(timeout, axum::body::to_bytes(req.into_body(), limit))
        .await
        .map_err(|_| Problem::body_timeout(timeout))?
        .map_err(|e| {
            if is_length_limit(&e) {
                Problem::too_large(limit)
            } else {
                Problem::bad_request("the request body could not be read")
            }
        })
}

/// Whether reading stopped at the length limit: by the error's type (`http_body_util::Limited`'s,
/// which `axum::body::to_bytes` reads through), anywhere in its chain of sources.
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The value of a JSON number that is an integer as JSON Schema counts them (`62`, `62.0`,
/// `6.2e1`: no fractional part), exactly; `None` for any other.
fn integral(text: &str) -> Option<i128> {
    if let Ok(v) = text.parse::<i128>() {
        return Some(v);
    }
    let d = parse_decimal(text)?;
    if !d.fract().is_zero() {
        return None;
    }
    i128::try_from(d.trunc()).ok()
}

impl JsonObject {
    /// The member `name` (null counts as absent).
    pub fn get(&self, name: &str) -> Option<&AuditValue> {
        self.members
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v, AuditValue::Null))
    }

    /// Refuses members not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), Problem> {
        for (k, _) in &self.members {
            if !allowed.contains(&k.as_str()) {
                return Err(Problem::invalid_field(
                    k.clone(),
                    format!(
                        "unknown member {}; expected one of: {}",
                        serde_json::to_string(k).unwrap_or_default(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn wrong_type(name: &str, expected: &str, found: &AuditValue) -> Problem {
        Problem::invalid_field(
            name,
            format!("{name}: expected {expected}, found {}", found.type_name()),
        )
    }

    fn missing(name: &str) -> Problem {
        Problem::invalid_field(name, format!("{name}: required but missing"))
    }

    /// An optional string.
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(AuditValue::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Self::wrong_type(name, "a string", other)),
        }
    }

    /// A required string.
    pub fn str(&self, name: &str) -> Result<String, Problem> {
        self.opt_str(name)?.ok_or_else(|| Self::missing(name))
    }

    /// An optional boolean.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(AuditValue::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Self::wrong_type(name, "a boolean", other)),
        }
    }

    /// An optional decimal, as a JSON string (`"1.50"`, `"1E-8"`) or number.
    pub fn opt_decimal(&self, name: &str) -> Result<Option<Decimal>, Problem> {
        let text = match self.get(name) {
            None => return Ok(None),
            Some(AuditValue::String(s)) => s.as_str(),
            Some(AuditValue::Number(n)) => n.as_text().unwrap_or_default(),
            Some(other) => {
                return Err(Self::wrong_type(
                    name,
                    "a decimal (string or number)",
                    other,
                ))
            }
        };
        parse_decimal(text).map(Some).ok_or_else(|| {
            Problem::invalid_field(name, format!("{name}: not a finite decimal number"))
        })
    }

    /// An optional integer that fits `i32`.
    pub fn opt_i32(&self, name: &str) -> Result<Option<i32>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(AuditValue::Number(n)) => n
                .as_text()
                .and_then(integral)
                .and_then(|v| i32::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| {
                    Problem::invalid_field(
                        name,
                        format!("{name}: not an integer between -2147483648 and 2147483647"),
                    )
                }),
            Some(other) => Err(Self::wrong_type(name, "an integer", other)),
        }
    }

    /// An optional integer that fits `i64`.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(AuditValue::Number(n)) => n
                .as_text()
                .and_then(integral)
                .and_then(|v| i64::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| {
                    Problem::invalid_field(name, format!("{name}: not a 64-bit integer"))
                }),
            Some(other) => Err(Self::wrong_type(name, "an integer", other)),
        }
    }

    /// An optional RFC 3339 date-time.
    pub fn opt_datetime(&self, name: &str) -> Result<Option<DateTime<Utc>>, Problem> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(s) => parse_rfc3339(&s).map(Some).ok_or_else(|| {
                Problem::invalid_field(
                    name,
                    format!("{name}: not an RFC 3339 date-time (e.g. 2026-02-10T14:30:00Z)"),
                )
            }),
        }
    }

    /// An optional array of strings.
    pub fn opt_strings(&self, name: &str) -> Result<Option<Vec<String>>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(AuditValue::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        AuditValue::String(s) => out.push(s.clone()),
                        other => {
                            return Err(Problem::invalid_field(
                                name,
                                format!(
                                    "{name}[{i}]: expected a string, found {}",
                                    other.type_name()
                                ),
                            )
                            .with_pointer(format!("{}[{i}]", join_path("$", name))))
                        }
                    }
                }
                Ok(Some(out))
            }
            Some(other) => Err(Self::wrong_type(name, "an array of strings", other)),
        }
    }

    /// An optional JSON member as canonical JSON text (for a jsonb column: the store passes it
    /// through the boundary again with its redaction policy).
    pub fn opt_json_text(&self, name: &str) -> Result<Option<String>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => Ok(Some(value_text(v, name)?)),
        }
    }

    /// A required JSON member as canonical JSON text.
    pub fn json_text(&self, name: &str) -> Result<String, Problem> {
        self.opt_json_text(name)?.ok_or_else(|| Self::missing(name))
    }

    /// The object as canonical JSON text.
    pub fn text(&self) -> Result<String, Problem> {
        value_text(&AuditValue::Object(self.members.clone()), "")
    }

    /// The object without `name`, as JSON text with every number spelled as the request spelled
    /// it (`1e2` stays `1e2`, `-0.0` stays `-0.0`): the text a decision is hashed from, as
    /// `torghut decision-hash` reads its input. (Canonical text would rewrite numbers as jsonb
    /// does, which the hash must not see.)
    pub fn text_without(&self, name: &str) -> String {
        let mut out = String::new();
        out.push('{');
        let mut first = true;
        for (k, v) in self.members.iter().filter(|(k, _)| k != name) {
            if !first {
                out.push(',');
            }
            first = false;
            push_string(&mut out, k);
            out.push(':');
            push_as_written(&mut out, v);
        }
        out.push('}');
        out
    }
}

/// A JSON string literal of `s`.
fn push_string(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

/// `v` as JSON text, numbers as they were written (the request's parser keeps their text; a
/// non-finite number cannot come from a parsed request and is written as `null`).
fn push_as_written(out: &mut String, v: &AuditValue) {
    match v {
        AuditValue::Null => out.push_str("null"),
        AuditValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AuditValue::Number(n) => out.push_str(n.as_text().unwrap_or("null")),
        AuditValue::String(s) => push_string(out, s),
        AuditValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_as_written(out, item);
            }
            out.push(']');
        }
        AuditValue::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(out, k);
                out.push(':');
                push_as_written(out, item);
            }
            out.push('}');
        }
    }
}

fn value_text(v: &AuditValue, field: &str) -> Result<String, Problem> {
    let policy = JsonPolicy::with_redact_keys(Vec::<String>::new())
        .size_limit(torghut_json::MAX_BYTES_CEILING)
        .depth_limit(torghut_json::MAX_DEPTH_CEILING);
    AuditJson::from_audit_value(v, &policy)
        .map(|(j, _)| j.into_string())
        .map_err(|e| {
            let prefix = if field.is_empty() {
                "$".to_owned()
            } else {
                join_path("$", field)
            };
            Problem::json_refusal((!field.is_empty()).then_some(field), &prefix, &e)
        })
}

pub use torghut_store::parse_decimal;

/// An RFC 3339 date-time in UTC.
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A path segment that must be a UUID (`/v1/decisions/{id}`): a non-UUID is a 404, there
/// being no such resource.
pub fn path_uuid(raw: &str, what: &str) -> Result<Uuid, Problem> {
    Uuid::try_parse(raw)
        .map_err(|_| Problem::not_found(format!("no {what} with this id (not a UUID)")))
}

/// The path parameters of a route, with rejections (bad percent-encoding) as problems.
#[derive(Debug)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(s)) => Ok(PathParam(s)),
            Err(_) => Err(Problem::bad_request(
                "the path parameter is not valid percent-encoded UTF-8",
            )),
        }
    }
}

/// The query string's parameters, in order (an invalid encoding is replaced, never refused).
#[derive(Debug, Default)]
pub struct QueryParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let q = parts.uri.query().unwrap_or_default();
        Ok(QueryParams(
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

impl QueryParams {
    /// The last value of `name`, as Starlette's query parameters give it.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
        assert!(!is_json("application/jsonx"));
        assert!(is_json("application/json; charset=\"UTF-8\""));
        assert!(!is_json("application/json; charset=latin1"));
        assert!(!is_json("application/json;charset=ISO-8859-1"));
        assert!(!is_json("application/json; charset=utf-16"));
    }

    #[test]
    fn integers_are_numbers_without_a_fractional_part() {
        for (text, v) in [
            ("62", 62),
            ("62.0", 62),
            ("6.2e1", 62),
            ("-0.0", 0),
            ("9223372036854775807", i64::MAX as i128),
        ] {
            assert_eq!(integral(text), Some(v), "{text}");
        }
        for bad in ["62.5", "1e-1", "1e400", "NaN"] {
            assert_eq!(integral(bad), None, "{bad}");
        }
    }

    #[test]
    fn decimals_are_finite() {
        assert_eq!(parse_decimal("1.50").unwrap().to_string(), "1.50");
        assert_eq!(parse_decimal("1E-8").unwrap().to_string(), "0.00000001");
        for bad in [
            "NaN", "nan", "Infinity", "-inf", "1e400", "", " ", "0x10", "1,5",
        ] {
            assert!(parse_decimal(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn date_times() {
        assert!(parse_rfc3339("2026-02-10T14:30:00Z").is_some());
        assert!(parse_rfc3339("2026-02-10T14:30:00.123+05:30").is_some());
        assert!(parse_rfc3339("2026-02-10").is_none());
        assert!(parse_rfc3339("2026-02-30T00:00:00Z").is_none());
    }
}
