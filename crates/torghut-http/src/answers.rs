//! The problem answers many routes share, as documented in the OpenAPI document: each is a
//! [`ProblemDetails`] served as `application/problem+json`. A route's `#[utoipa::path]` names
//! the sets it can answer beside its own answers (`responses((status = 201, ...), BodyProblems)`).
//! None of these types is ever built: they only describe answers.

use std::collections::BTreeMap;

use utoipa::openapi::response::Response;
use utoipa::openapi::RefOr;
use utoipa::IntoResponses;

use crate::problem::ProblemDetails;

/// 503: the database does not answer.
#[derive(IntoResponses)]
#[response(
    status = 503,
    description = "Database unavailable",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct Unavailable(ProblemDetails);

/// 400: the body is not well-formed JSON.
#[derive(IntoResponses)]
#[response(
    status = 400,
    description = "Malformed JSON",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct MalformedJson(ProblemDetails);

/// 422: a member of the body is not acceptable.
#[derive(IntoResponses)]
#[response(
    status = 422,
    description = "A field is not acceptable",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct UnacceptableField(ProblemDetails);

/// 413 and 415: a body that is not read at all.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum UnreadBody {
    #[response(
        status = 413,
        description = "Body too large",
        content_type = "application/problem+json"
    )]
    TooLarge(ProblemDetails),
    #[response(
        status = 415,
        description = "Not JSON",
        content_type = "application/problem+json"
    )]
    NotJson(ProblemDetails),
}

/// Every problem a route with a JSON body and a database can answer, whatever its body:
/// [`MalformedJson`], [`UnreadBody`], [`UnacceptableField`] and [`Unavailable`].
pub struct BodyProblems;

impl IntoResponses for BodyProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut all = MalformedJson::responses();
        all.extend(UnreadBody::responses());
        all.extend(UnacceptableField::responses());
        all.extend(Unavailable::responses());
        all
    }
}

/// 404: no decision has the id in the path.
#[derive(IntoResponses)]
#[response(
    status = 404,
    description = "No such decision",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct NoSuchDecision(ProblemDetails);

/// 422: a query parameter does not validate.
#[derive(IntoResponses)]
#[response(
    status = 422,
    description = "Bad query parameter",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct BadQueryParameter(ProblemDetails);
