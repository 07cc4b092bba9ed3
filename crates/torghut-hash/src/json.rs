//! A JSON reader with the semantics of Python's `json.loads` (the C scanner, `strict=True`).
//!
//! What it shares with Python, and where that differs from common JSON readers:
//! - numbers with a fraction or an exponent are floats (`f64`, correctly rounded; too large a
//!   magnitude gives an infinity, as `float("1e400")` does); other numbers are integers of any
//!   size, kept as their decimal text, except that more than 4300 digits is an error (CPython's
//!   `int` conversion limit);
//! - the literals `NaN`, `Infinity` and `-Infinity` are accepted;
//! - `\uXXXX` escapes of lone surrogates are accepted and kept; an escaped high surrogate that
//!   is directly followed by an escaped low surrogate forms one astral character;
//! - control characters (below U+0020) inside strings are rejected;
//! - a duplicated object key keeps its last value;
//! - only space, tab, line feed and carriage return count as whitespace;
//! - a leading byte order mark is an error.
//!
//! Objects and arrays may nest at most [`MAX_DEPTH`] levels, so that no input can exhaust the
//! stack.

use std::collections::BTreeMap;
use std::fmt;

use crate::pystr::PyStr;

/// How deeply objects and arrays may nest (the outermost value is level 1).
///
/// Python has no fixed limit of its own: `json.loads` fails with a `RecursionError` somewhere
/// below 1000 levels, depending on how deep the caller's stack already is. Decisions nested more
/// than this deeply are rejected here even where Python would still have read them.
pub const MAX_DEPTH: usize = 512;

/// CPython's default limit on the digits of an integer converted from text.
pub(crate) const MAX_INT_DIGITS: usize = 4300;

/// A parsed JSON value, as Python's `json.loads` would build it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// An integer in canonical decimal form: no leading zeros, `-` only when negative.
    Int(String),
    Float(f64),
    Str(PyStr),
    Array(Vec<Value>),
    /// Keys in code point order, as `json.dumps(sort_keys=True)` writes them.
    Object(BTreeMap<PyStr, Value>),
}

impl Value {
    /// A short name of the value's JSON type, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// One step of the path from the document's root to a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathSegment {
    Key(PyStr),
    Index(usize),
}

/// Why a text is not JSON that Python would accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Byte offset into the text where the problem was found.
    pub(crate) offset: usize,
    /// What is wrong there.
    pub(crate) message: String,
    /// The members and elements enclosing the problem, outermost first.
    pub(crate) path: Vec<PathSegment>,
}

/// Writes a path such as `$.params.levels[2]`; keys that are not plain identifiers are written
/// as quoted, escaped strings (`$["a b"]`).
pub(crate) struct DisplayPath<'a>(pub(crate) &'a [PathSegment]);

impl fmt::Display for DisplayPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for segment in self.0 {
            match segment {
                PathSegment::Index(i) => write!(f, "[{i}]")?,
                PathSegment::Key(key) => match key.as_str() {
                    Some(k)
                        if !k.is_empty()
                            && !k.starts_with(|c: char| c.is_ascii_digit())
                            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                    {
                        write!(f, ".{k}")?
                    }
                    _ => {
                        let mut quoted = String::new();
                        crate::canonical::write_str(&mut quoted, key);
                        write!(f, "[{quoted}]")?
                    }
                },
            }
        }
        Ok(())
    }
}

/// Parses a whole document.
pub(crate) fn parse(text: &str) -> Result<Value, SyntaxError> {
    if text.starts_with('\u{feff}') {
        return Err(SyntaxError {
            offset: 0,
            message: "unexpected byte order mark (U+FEFF)".into(),
            path: Vec::new(),
        });
    }
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
    };
    parser.skip_whitespace();
    let value = parser.parse_value(0).map_err(|mut e| {
        e.path.reverse();
        e
    })?;
    parser.skip_whitespace();
    if parser.pos != parser.bytes.len() {
        return Err(parser.error("extra data after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            offset,
            message: message.into(),
            path: Vec::new(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn rest_starts_with(&self, literal: &str) -> bool {
        self.bytes[self.pos..].starts_with(literal.as_bytes())
    }

    /// Parses the value at the current position; `depth` is how many arrays and objects enclose
    /// it.
    fn parse_value(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        match self.peek() {
            Some(b'"') => Ok(Value::Str(self.parse_string()?)),
            Some(b'{') => self.parse_object(depth + 1),
            Some(b'[') => self.parse_array(depth + 1),
            Some(b'n') if self.rest_starts_with("null") => {
                self.pos += 4;
                Ok(Value::Null)
            }
            Some(b't') if self.rest_starts_with("true") => {
                self.pos += 4;
                Ok(Value::Bool(true))
            }
            Some(b'f') if self.rest_starts_with("false") => {
                self.pos += 5;
                Ok(Value::Bool(false))
            }
            Some(b'N') if self.rest_starts_with("NaN") => {
                self.pos += 3;
                Ok(Value::Float(f64::NAN))
            }
            Some(b'I') if self.rest_starts_with("Infinity") => {
                self.pos += 8;
                Ok(Value::Float(f64::INFINITY))
            }
            Some(b'-') if self.rest_starts_with("-Infinity") => {
                self.pos += 9;
                Ok(Value::Float(f64::NEG_INFINITY))
            }
            _ => self.parse_number(),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), SyntaxError> {
        if depth > MAX_DEPTH {
            Err(self.error(format!(
                "arrays and objects nest deeper than {MAX_DEPTH} levels"
            )))
        } else {
            Ok(())
        }
    }

    fn parse_object(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.check_depth(depth)?;
        self.pos += 1; // '{'
        let mut members = BTreeMap::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name in double quotes"));
            }
            let key = self.parse_string()?;
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':' after the member name"));
            }
            self.pos += 1;
            self.skip_whitespace();
            let value = match self.parse_value(depth) {
                Ok(value) => value,
                Err(mut e) => {
                    e.path.push(PathSegment::Key(key));
                    return Err(e);
                }
            };
            members.insert(key, value);
            self.skip_whitespace();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                Some(b',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                }
                _ => return Err(self.error("expected ',' or '}' after an object member")),
            }
        }
    }

    fn parse_array(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.check_depth(depth)?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            match self.parse_value(depth) {
                Ok(value) => items.push(value),
                Err(mut e) => {
                    e.path.push(PathSegment::Index(items.len()));
                    return Err(e);
                }
            }
            self.skip_whitespace();
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                Some(b',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                }
                _ => return Err(self.error("expected ',' or ']' after an array element")),
            }
        }
    }

    /// Parses a number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
    fn parse_number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.pos;
        let digit_at = |i: usize| self.bytes.get(i).is_some_and(u8::is_ascii_digit);
        let mut pos = start;
        if self.bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        match self.bytes.get(pos) {
            Some(b'0') => pos += 1,
            Some(b'1'..=b'9') => {
                while digit_at(pos) {
                    pos += 1;
                }
            }
            _ => return Err(self.error_at(start, "expected a JSON value")),
        }
        let int_end = pos;
        let mut is_float = false;
        if self.bytes.get(pos) == Some(&b'.') && digit_at(pos + 1) {
            is_float = true;
            pos += 1;
            while digit_at(pos) {
                pos += 1;
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(pos) {
            let mut exp = pos + 1;
            if let Some(b'+' | b'-') = self.bytes.get(exp) {
                exp += 1;
            }
            if digit_at(exp) {
                is_float = true;
                pos = exp;
                while digit_at(pos) {
                    pos += 1;
                }
            }
        }
        self.pos = pos;
        let text = &self.text[start..pos];
        if is_float {
            // The grammar above is a subset of what `f64::from_str` accepts, and like Python's
            // `float()` it rounds correctly and overflows to an infinity.
            return text
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| self.error_at(start, "invalid number"));
        }
        let digits = &self.text[start..int_end].trim_start_matches('-');
        if digits.len() > MAX_INT_DIGITS {
            return Err(self.error_at(
                start,
                format!("integer has more than {MAX_INT_DIGITS} digits"),
            ));
        }
        if digits.bytes().all(|b| b == b'0') {
            // `-0` is the integer 0.
            return Ok(Value::Int("0".to_owned()));
        }
        Ok(Value::Int(text.to_owned()))
    }

    /// Parses a string starting at its opening quote.
    fn parse_string(&mut self) -> Result<PyStr, SyntaxError> {
        let start = self.pos;
        self.pos += 1; // '"'
        let mut out = PyStr::new();
        loop {
            let run_start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The run ends at an ASCII byte (or the end), so it is whole UTF-8.
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.error_at(start, "unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.parse_escape(&mut out, start)?,
                Some(_) => return Err(self.error("invalid control character in a string")),
            }
        }
    }

    /// Parses the escape sequence at the current position (a backslash) into `out`.
    fn parse_escape(&mut self, out: &mut PyStr, string_start: usize) -> Result<(), SyntaxError> {
        let escape_start = self.pos;
        let simple = match self.bytes.get(self.pos + 1) {
            None => return Err(self.error_at(string_start, "unterminated string")),
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let unit = self.hex4(escape_start + 2)?;
                self.pos = escape_start + 6;
                let mut cp = unit;
                if (0xD800..=0xDBFF).contains(&unit)
                    && self.bytes.get(self.pos) == Some(&b'\\')
                    && self.bytes.get(self.pos + 1) == Some(&b'u')
                {
                    let low = self.hex4(self.pos + 2)?;
                    if (0xDC00..=0xDFFF).contains(&low) {
                        cp = 0x1_0000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        self.pos += 6;
                    }
                }
                out.push_code_point(cp);
                return Ok(());
            }
            Some(_) => return Err(self.error("invalid escape sequence")),
        };
        out.push_code_point(u32::from(simple));
        self.pos += 2;
        Ok(())
    }

    /// Reads the four hex digits of a `\u` escape starting at `at`.
    fn hex4(&self, at: usize) -> Result<u32, SyntaxError> {
        let invalid = || self.error_at(at - 2, "invalid \\uXXXX escape");
        let digits = self.bytes.get(at..at + 4).ok_or_else(invalid)?;
        let mut value = 0;
        for &d in digits {
            let nibble = char::from(d).to_digit(16).ok_or_else(invalid)?;
            value = value * 16 + nibble;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (PyStr::from(k), v))
                .collect(),
        )
    }

    #[test]
    fn parses_python_flavoured_json() {
        let v =
            parse(r#" {"a": [1, -0, 2.50, 1e400, -1E-400, NaN, -Infinity], "a": true} "#).unwrap();
        assert_eq!(v, obj(vec![("a", Value::Bool(true))]));
        let v = parse(r#"[1, -0, 2.50, 1e400, -1E-400, -Infinity, null, false, "x"]"#).unwrap();
        let Value::Array(items) = v else {
            panic!("not an array")
        };
        assert_eq!(items[0], Value::Int("1".into()));
        assert_eq!(items[1], Value::Int("0".into()));
        assert_eq!(items[2], Value::Float(2.5));
        assert_eq!(items[3], Value::Float(f64::INFINITY));
        let Value::Float(neg_zero) = items[4] else {
            panic!("not a float")
        };
        assert!(neg_zero == 0.0 && neg_zero.is_sign_negative());
        assert_eq!(items[5], Value::Float(f64::NEG_INFINITY));
        assert_eq!(items[6], Value::Null);
        assert_eq!(items[7], Value::Bool(false));
        assert_eq!(items[8], Value::Str(PyStr::from("x")));
    }

    #[test]
    fn keeps_lone_surrogates_and_joins_pairs() {
        let Value::Str(s) = parse(r#""\ud83d\ude00 \ud800 \udc00\ud800x \uD83D\uDE00""#).unwrap()
        else {
            panic!("not a string")
        };
        assert_eq!(
            s.code_points().collect::<Vec<_>>(),
            [0x1F600, 0x20, 0xD800, 0x20, 0xDC00, 0xD800, 0x78, 0x20, 0x1F600]
        );
    }

    #[test]
    fn rejects_what_python_rejects() {
        for (text, offset) in [
            ("", 0),
            ("{", 1),
            ("{\"a\":1,}", 7),
            ("[1,]", 3),
            ("01", 1),
            ("1.", 1),
            ("1e", 1),
            ("-", 0),
            ("+1", 0),
            (".5", 0),
            ("\"a\u{1}\"", 2),
            ("\"\\x\"", 1),
            ("\"\\u12g4\"", 1),
            ("\"\\ud800\\u12g4\"", 7),
            ("\"abc", 0),
            ("nul", 0),
            ("-NaN", 0),
            ("infinity", 0),
            ("[1] x", 4),
            ("\u{feff}{}", 0),
            ("{'a':1}", 1),
            ("{\"a\" 1}", 5),
            ("\u{a0}1", 0),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!(err.offset, offset, "{text:?}: {err:?}");
        }
    }

    #[test]
    fn limits_integer_digits_like_cpython() {
        let ok = "9".repeat(MAX_INT_DIGITS);
        assert_eq!(parse(&ok).unwrap(), Value::Int(ok.clone()));
        assert_eq!(
            parse(&format!("-{ok}")).unwrap(),
            Value::Int(format!("-{ok}"))
        );
        assert!(parse(&format!("{ok}1")).is_err());
        // Floats have no such limit.
        assert!(matches!(parse(&format!("{ok}1.0")), Ok(Value::Float(_))));
    }

    #[test]
    fn limits_nesting_depth() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&deep(MAX_DEPTH)).is_ok());
        let err = parse(&deep(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(err.offset, MAX_DEPTH);
        assert!(parse(&deep(100_000)).is_err());
        let objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        assert!(parse(&objects(MAX_DEPTH)).is_ok());
        assert!(parse(&objects(MAX_DEPTH + 1)).is_err());
    }

    #[test]
    fn reports_the_path_to_an_error() {
        let err = parse(r#"{"params": {"n": [1, 2, {"a b": tru}]}}"#).unwrap_err();
        assert_eq!(
            DisplayPath(&err.path).to_string(),
            r#"$.params.n[2]["a b"]"#
        );
        assert_eq!(err.offset, 32);
    }
}
