//! Refusals and JSON paths.

use std::fmt::{self, Write as _};

/// Why a payload was refused, and where.
///
/// `path` is a JSONPath to the offending place: `$` for the whole document, `.name` for a
/// member whose name is an identifier, `["other name"]` (a JSON string literal) for any other
/// member, `[3]` for an array element, e.g. `$.params.levels[3]` or `$["we ird"]`.
///
/// An error never contains a value from the payload: only member names (which are not
/// secrets), array indices, sizes and byte offsets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct JsonError {
    /// JSONPath of the offending value, member or container.
    pub path: String,
    /// What is wrong.
    pub reason: JsonErrorReason,
}

/// What is wrong with a refused payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonErrorReason {
    /// A floating-point NaN or infinity (JSON has no such values; `serde_json` would silently
    /// write `null`).
    #[error("{0} is not valid JSON")]
    NonFinite(NonFiniteKind),
    /// A NUL character (U+0000) in a string or member name: PostgreSQL refuses it in jsonb
    /// (SQLSTATE 22P05).
    #[error("a NUL character (U+0000) cannot be stored in jsonb")]
    NulCharacter,
    /// A `\u` escape of a UTF-16 surrogate that is not part of a high-low pair. The path is the
    /// string's (or, for a member name, the object's).
    #[error("a \\u escape holds a lone UTF-16 surrogate")]
    LoneSurrogate,
    /// An object has the same member name twice (jsonb would silently keep only the last). The
    /// path is the object's.
    #[error("duplicate key {}", QuotedKey(.0))]
    DuplicateKey(String),
    /// Nesting of arrays and objects deeper than `max` levels. The path is the container that
    /// would be one level too deep.
    #[error("nesting deeper than {max} levels")]
    TooDeep {
        /// The depth limit in force.
        max: usize,
    },
    /// The canonical text (after redaction) is larger than `max` bytes.
    #[error("payload of {actual} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The size limit in force, in bytes.
        max: usize,
        /// The size of the canonical text, in bytes.
        actual: usize,
    },
    /// The text is not JSON (RFC 8259).
    #[error("invalid JSON at byte {offset}: {message}")]
    Syntax {
        /// Byte offset into the text where the problem was found.
        offset: usize,
        /// What was expected or found (never a piece of the payload).
        message: String,
    },
    /// The column requires a JSON object and the document is something else.
    #[error("a JSON object is required here")]
    NotAnObject,
    /// A number that PostgreSQL's `numeric` cannot hold: more than 131072 digits before the
    /// decimal point or more than 16383 after it (counting the zeros an exponent implies).
    #[error("number outside the range of PostgreSQL numeric")]
    NumberOutOfRange,
    /// A `Serialize` implementation failed (the message is that implementation's own), or
    /// produced a map key that is not a string, number, boolean or unit variant.
    #[error("cannot serialize: {0}")]
    Serialize(String),
}

impl JsonErrorReason {
    /// The check made before every descent into an array or object: [`Self::TooDeep`] when the
    /// container's enclosing containers number `depth` and nesting is limited to `max` levels.
    pub(crate) fn check_depth(depth: usize, max: usize) -> Result<(), Self> {
        if depth >= max {
            Err(Self::TooDeep { max })
        } else {
            Ok(())
        }
    }
}

/// Which non-finite floating-point value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonFiniteKind {
    /// Not a number.
    NaN,
    /// Positive infinity.
    Infinity,
    /// Negative infinity.
    NegInfinity,
}

impl NonFiniteKind {
    /// The kind of `x`, or `None` if `x` is finite.
    pub fn of(x: f64) -> Option<Self> {
        if x.is_nan() {
            Some(Self::NaN)
        } else if x == f64::INFINITY {
            Some(Self::Infinity)
        } else if x == f64::NEG_INFINITY {
            Some(Self::NegInfinity)
        } else {
            None
        }
    }
}

impl fmt::Display for NonFiniteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NaN => "NaN",
            Self::Infinity => "Infinity",
            Self::NegInfinity => "-Infinity",
        })
    }
}

struct QuotedKey<'a>(&'a str);

impl fmt::Display for QuotedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        push_json_string(&mut s, self.0);
        f.write_str(&s)
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// An owned step, for paths whose keys do not outlive the walk (the parser, the serializer).
#[derive(Debug, Clone)]
pub(crate) enum OwnedSeg {
    Key(String),
    Index(usize),
}

impl OwnedSeg {
    pub(crate) fn as_seg(&self) -> Seg<'_> {
        match self {
            Self::Key(k) => Seg::Key(k),
            Self::Index(i) => Seg::Index(*i),
        }
    }
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Renders a path: `$`, then `.key`, `["key"]` or `[index]` per step.
pub(crate) fn render_path<'a>(segs: impl IntoIterator<Item = Seg<'a>>) -> String {
    let mut out = String::from("$");
    for seg in segs {
        match seg {
            Seg::Key(k) if is_identifier(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Key(k) => {
                out.push('[');
                push_json_string(&mut out, k);
                out.push(']');
            }
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

pub(crate) fn render_owned(segs: &[OwnedSeg]) -> String {
    render_path(segs.iter().map(OwnedSeg::as_seg))
}

/// Appends `s` as a JSON string literal: `"` and `\` escaped, control characters as `\n`-style
/// or `\u00XX` escapes, everything else (non-ASCII included) as is.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

impl JsonError {
    pub(crate) fn new(path: String, reason: JsonErrorReason) -> Self {
        Self { path, reason }
    }

    pub(crate) fn at<'a>(segs: impl IntoIterator<Item = Seg<'a>>, reason: JsonErrorReason) -> Self {
        Self::new(render_path(segs), reason)
    }

    pub(crate) fn at_root(reason: JsonErrorReason) -> Self {
        Self::new("$".to_owned(), reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let p = render_path([Seg::Key("params"), Seg::Key("levels"), Seg::Index(3)]);
        assert_eq!(p, "$.params.levels[3]");
        assert_eq!(render_path([Seg::Key("we ird")]), r#"$["we ird"]"#);
        assert_eq!(render_path([Seg::Key("")]), r#"$[""]"#);
        assert_eq!(render_path([Seg::Key("1a")]), r#"$["1a"]"#);
        assert_eq!(
            render_path([Seg::Key("a\"b\\c\u{0}")]),
            r#"$["a\"b\\c\u0000"]"#
        );
        assert_eq!(render_path([Seg::Key("_x9")]), "$._x9");
        assert_eq!(render_path([Seg::Key("é")]), r#"$["é"]"#);
    }

    #[test]
    fn display() {
        let e = JsonError::at(
            [Seg::Key("params"), Seg::Key("levels"), Seg::Index(3)],
            JsonErrorReason::NonFinite(NonFiniteKind::NaN),
        );
        assert_eq!(e.to_string(), "$.params.levels[3]: NaN is not valid JSON");
        let e = JsonError::at_root(JsonErrorReason::DuplicateKey("to\"ken".into()));
        assert_eq!(e.to_string(), r#"$: duplicate key "to\"ken""#);
    }
}
