//! Input refusals shared by the aggregates: what the store refused before sending anything to
//! the database, and where in the input the problem is.
//!
//! Every aggregate error carries these through one `Input` variant. Each refusal says what kind
//! of place is at fault (a member of the input, the whole document, a parameter naming what the
//! operation is about, or a JSON payload refused by the boundary), so that a caller can point
//! at it without looking at field names.
//!
//! The message of every refusal reads `<subject> field "<field>": <why>`, where the subject is
//! the kind of thing being written (`strategy`, `decision`, `review`, `order`, `cursor`,
//! `position snapshot`).

use torghut_json::JsonError;

use crate::check::FieldProblem;

/// Why the store refused an input (nothing was written).
///
/// Deliberately exhaustive: a caller that answers these refusals decides for every kind of
/// place, and a new kind makes it decide again.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A member of the input (a column's value, a member of a payload) is not acceptable.
    #[error("{subject} field \"{field}\": {message}")]
    Member {
        /// What is being written (`strategy`, `decision`, ...).
        subject: &'static str,
        /// The member as the store names it.
        field: &'static str,
        /// The name the member has in requests and in its column, when it is not `field`
        /// (a cursor position's `symbol` is its `cursor_symbol`).
        known_as: Option<&'static str>,
        /// Why it is refused (never the value when it could be a secret).
        message: String,
    },
    /// The input as a whole is not acceptable (a decision's JSON, an order's payload): no
    /// member of it is at fault. `field` names the document in the message.
    #[error("{subject} field \"{field}\": {message}")]
    Document {
        subject: &'static str,
        field: &'static str,
        message: String,
    },
    /// A parameter naming what the operation is about, given apart from the input's members
    /// (a cursor's source), is not acceptable.
    #[error("{subject} field \"{field}\": {message}")]
    Parameter {
        subject: &'static str,
        field: &'static str,
        message: String,
    },
    /// A JSON payload was refused by the JSON boundary; its error carries the JSONPath of the
    /// problem within the payload.
    #[error("{subject} field \"{field}\": {source}")]
    Json {
        subject: &'static str,
        /// The payload's field.
        field: &'static str,
        #[source]
        source: JsonError,
        /// Whether the payload is the whole input (a decision's JSON, an order's payload)
        /// rather than one member of it: the JSONPath is then the payload's own.
        whole_document: bool,
    },
}

impl InputError {
    /// A refused member of `subject`'s input.
    pub(crate) fn member(
        subject: &'static str,
        field: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::Member {
            subject,
            field,
            known_as: None,
            message: message.into(),
        }
    }

    /// A refused member of `subject`'s input, from a shared check.
    pub(crate) fn from_problem(subject: &'static str, p: FieldProblem) -> Self {
        Self::member(subject, p.field, p.message)
    }

    /// A refused JSON payload that is one member of `subject`'s input.
    pub(crate) fn json(subject: &'static str, field: &'static str, source: JsonError) -> Self {
        Self::Json {
            subject,
            field,
            source,
            whole_document: false,
        }
    }

    /// A refused JSON payload that is the whole of `subject`'s input.
    pub(crate) fn json_document(
        subject: &'static str,
        field: &'static str,
        source: JsonError,
    ) -> Self {
        Self::Json {
            subject,
            field,
            source,
            whole_document: true,
        }
    }

    /// The field at fault, as the store names it.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Member { field, .. }
            | Self::Document { field, .. }
            | Self::Parameter { field, .. }
            | Self::Json { field, .. } => field,
        }
    }

    /// What was being written (`strategy`, `decision`, `review`, `order`, `cursor`,
    /// `position snapshot`).
    pub fn subject(&self) -> &'static str {
        match self {
            Self::Member { subject, .. }
            | Self::Document { subject, .. }
            | Self::Parameter { subject, .. }
            | Self::Json { subject, .. } => subject,
        }
    }
}
