//! The problem answers many routes share, as documented in the OpenAPI document: each is a
//! [`ProblemDetails`] served as `application/problem+json`. A route's `#[utoipa::path]` names
//! the sets it can answer beside its own answers (`responses((status = 201, ...), BodyProblems)`).
//! The sets are types only for the attribute's sake: they have no values.

use std::collections::BTreeMap;

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{IntoResponses, ToSchema};

use crate::problem::ProblemDetails;

/// The answers `(status, description)`, each a [`ProblemDetails`] as `application/problem+json`.
fn problems(answers: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    answers
        .iter()
        .map(|(status, description)| {
            let body = Content::new(Some(Ref::from_schema_name(ProblemDetails::name())));
            let response = ResponseBuilder::new()
                .description(*description)
                .content("application/problem+json", body)
                .build();
            ((*status).to_owned(), RefOr::T(response))
        })
        .collect()
}

/// Declares a set of problem answers: a type that has no values, whose responses are the listed
/// statuses and descriptions.
macro_rules! problem_set {
    ($(#[$doc:meta])* $name:ident: $(($status:literal, $description:literal)),+) => {
        $(#[$doc])*
        pub enum $name {}

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problems(&[$(($status, $description)),+])
            }
        }
    };
}

problem_set!(
    /// 503: the database does not answer.
    Unavailable: ("503", "Database unavailable")
);
problem_set!(
    /// 400: the body is not well-formed JSON.
    MalformedJson: ("400", "Malformed JSON")
);
problem_set!(
    /// 422: a member of the body is not acceptable.
    UnacceptableField: ("422", "A field is not acceptable")
);
problem_set!(
    /// 413 and 415: a body that is not read at all.
    UnreadBody: ("413", "Body too large"), ("415", "Not JSON")
);
/// Every problem a route with a JSON body and a database can answer, whatever its body: those
/// of [`MalformedJson`], [`UnreadBody`], [`UnacceptableField`] and [`Unavailable`].
pub enum BodyProblems {}

impl IntoResponses for BodyProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut all = MalformedJson::responses();
        all.extend(UnreadBody::responses());
        all.extend(UnacceptableField::responses());
        all.extend(Unavailable::responses());
        all
    }
}
problem_set!(
    /// 404: no decision has the id in the path.
    NoSuchDecision: ("404", "No such decision")
);
problem_set!(
    /// 422: a query parameter does not validate.
    BadQueryParameter: ("422", "Bad query parameter")
);
