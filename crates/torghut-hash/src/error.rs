//! The error type.

use crate::canonical::write_str;
use crate::json::{DisplayPath, PathSegment, SyntaxError};
use crate::pystr::PyStr;

/// Why a decision cannot be hashed. Every variant names where the problem is: a byte offset
/// and JSON path for malformed JSON, the field for a rejected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The text is not JSON that Python's `json.loads` accepts.
    #[error("invalid JSON at byte {offset}{}: {message}", PathSuffix(.path))]
    Json {
        /// Byte offset into the text where the problem was found.
        offset: usize,
        /// JSON path of the innermost enclosing member or element, e.g. `$.params.levels[2]`
        /// (`$` when the problem is not inside any).
        path: String,
        /// The top-level member the problem is in, when it is in one and its name is valid
        /// Unicode.
        member: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The JSON document is not an object.
    #[error("invalid decision: expected a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found instead, e.g. `an array`.
        found: &'static str,
    },
    /// A top-level member name holds a lone surrogate, which the old service's model refuses
    /// for the extra members it keeps.
    #[error("invalid decision: member name {name} is not valid Unicode")]
    MemberName {
        /// The name as a JSON string literal (ASCII, surrogates escaped).
        name: String,
    },
    /// A decision field is missing or its value is not acceptable.
    #[error("field \"{field}\": {message}")]
    Field {
        /// The field's name, e.g. `qty`.
        field: &'static str,
        /// What is wrong with it, e.g. `not a decimal: "abc"`.
        message: String,
    },
}

impl HashError {
    /// The decision field at fault: the field whose value was rejected, or for malformed JSON
    /// the top-level member whose value holds the syntax error. `None` when the problem is not
    /// inside one field (for example a missing closing brace).
    pub fn field(&self) -> Option<&str> {
        match self {
            HashError::Field { field, .. } => Some(field),
            HashError::Json { member, .. } => member.as_deref(),
            HashError::NotAnObject { .. } | HashError::MemberName { .. } => None,
        }
    }

    /// For malformed JSON, the byte offset of the problem.
    pub fn offset(&self) -> Option<usize> {
        match self {
            HashError::Json { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    pub(crate) fn field_error(field: &'static str, message: impl Into<String>) -> Self {
        HashError::Field {
            field,
            message: message.into(),
        }
    }
}

impl From<SyntaxError> for HashError {
    fn from(e: SyntaxError) -> Self {
        let member = match e.path.first() {
            Some(PathSegment::Key(key)) => key.as_str().map(str::to_owned),
            _ => None,
        };
        HashError::Json {
            offset: e.offset,
            path: DisplayPath(&e.path).to_string(),
            member,
            message: e.message,
        }
    }
}

/// Writes ` (in $.a.b)` for a path below the root, nothing for the root.
struct PathSuffix<'a>(&'a String);

impl std::fmt::Display for PathSuffix<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == "$" {
            Ok(())
        } else {
            write!(f, " (in {})", self.0)
        }
    }
}

/// How many code points of a rejected string an error message quotes.
const QUOTE_LIMIT: usize = 64;

/// A rejected string for an error message: JSON-quoted and escaped (so the message stays one
/// printable ASCII line), shortened with `...` when long.
pub(crate) fn quote(s: &PyStr) -> String {
    let mut shortened = PyStr::new();
    let mut cps = s.code_points();
    for cp in cps.by_ref().take(QUOTE_LIMIT) {
        shortened.push_code_point(cp);
    }
    let mut out = String::new();
    write_str(&mut out, &shortened);
    if cps.next().is_some() {
        out.push_str("...");
    }
    out
}
