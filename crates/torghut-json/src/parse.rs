//! A strict RFC 8259 reader for raw JSON text.
//!
//! Recursive descent, with the depth checked before every descent, so that no input can exhaust
//! the stack. It refuses what PostgreSQL would refuse or what cannot be represented as Unicode
//! (lone surrogates), and keeps what the boundary decides on later (NUL characters, duplicate
//! member names: a redacted member may hide them), and numbers exactly as written.

use crate::error::{render_owned, JsonError, JsonErrorReason, OwnedSeg};
use crate::value::{AuditNumber, AuditValue};

/// Parses `text` as one JSON document nested at most `max_depth` levels.
pub(crate) fn parse(text: &str, max_depth: usize) -> Result<AuditValue, JsonError> {
    let mut p = Parser {
        src: text,
        bytes: text.as_bytes(),
        pos: 0,
        max_depth,
        path: Vec::new(),
    };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(p.syntax("unexpected data after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
    path: Vec<OwnedSeg>,
}

impl Parser<'_> {
    fn err(&self, reason: JsonErrorReason) -> JsonError {
        JsonError::new(render_owned(&self.path), reason)
    }

    fn syntax_at(&self, offset: usize, message: &str) -> JsonError {
        self.err(JsonErrorReason::Syntax {
            offset,
            message: message.to_owned(),
        })
    }

    fn syntax(&self, message: &str) -> JsonError {
        self.syntax_at(self.pos, message)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// A value at the current position, whose enclosing containers number `depth`. Kept small:
    /// this and [`Self::array`] / [`Self::object`] are the frames on the stack for each level of
    /// nesting.
    fn value(&mut self, depth: usize) -> Result<AuditValue, JsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            _ => self.scalar(),
        }
    }

    #[inline(never)]
    fn scalar(&mut self) -> Result<AuditValue, JsonError> {
        match self.peek() {
            None => Err(self.syntax("unexpected end of input, expected a value")),
            Some(b'"') => Ok(AuditValue::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", AuditValue::Bool(true)),
            Some(b'f') => self.literal("false", AuditValue::Bool(false)),
            Some(b'n') => self.literal("null", AuditValue::Null),
            Some(_) => Err(self.syntax("expected a value")),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), JsonError> {
        JsonErrorReason::check_depth(depth, self.max_depth).map_err(|r| self.err(r))
    }

    fn literal(&mut self, word: &str, v: AuditValue) -> Result<AuditValue, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.syntax("expected a value"))
        }
    }

    fn number(&mut self) -> Result<AuditValue, JsonError> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        match AuditNumber::parse(text) {
            Some(n) => Ok(AuditValue::Number(n)),
            None => Err(self.syntax_at(start, "invalid number")),
        }
    }

    /// An array at the current position (which holds `[`), nested in `depth` containers.
    #[inline(never)]
    fn array(&mut self, depth: usize) -> Result<AuditValue, JsonError> {
        self.enter(depth)?;
        let depth = depth + 1;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(AuditValue::Array(items));
        }
        loop {
            self.path.push(OwnedSeg::Index(items.len()));
            self.skip_ws();
            let v = self.value(depth)?;
            self.path.pop();
            items.push(v);
            if self.separator(b']')? {
                return Ok(AuditValue::Array(items));
            }
        }
    }

    /// An object at the current position (which holds `{`), nested in `depth` containers.
    #[inline(never)]
    fn object(&mut self, depth: usize) -> Result<AuditValue, JsonError> {
        self.enter(depth)?;
        let depth = depth + 1;
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(AuditValue::Object(members));
        }
        loop {
            let key = self.member_name()?;
            self.path.push(OwnedSeg::Key(key.clone()));
            let v = self.value(depth)?;
            self.path.pop();
            members.push((key, v));
            if self.separator(b'}')? {
                return Ok(AuditValue::Object(members));
            }
        }
    }

    /// After an element or member: `,` (returns false) or the closing `close` (returns true).
    #[inline(never)]
    fn separator(&mut self, close: u8) -> Result<bool, JsonError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            None if close == b']' => {
                Err(self.syntax("unexpected end of input, expected ',' or ']'"))
            }
            None => Err(self.syntax("unexpected end of input, expected ',' or '}'")),
            Some(_) if close == b']' => Err(self.syntax("expected ',' or ']'")),
            Some(_) => Err(self.syntax("expected ',' or '}'")),
        }
    }

    /// A member name and its `:`, with the whitespace around them.
    #[inline(never)]
    fn member_name(&mut self) -> Result<String, JsonError> {
        self.skip_ws();
        match self.peek() {
            Some(b'"') => {}
            None => return Err(self.syntax("unexpected end of input, expected a member name")),
            Some(_) => return Err(self.syntax("expected a member name in double quotes")),
        }
        let key = self.string()?;
        self.skip_ws();
        match self.peek() {
            Some(b':') => self.pos += 1,
            None => return Err(self.syntax("unexpected end of input, expected ':'")),
            Some(_) => return Err(self.syntax("expected ':'")),
        }
        self.skip_ws();
        Ok(key)
    }

    /// A string literal at the current position (which holds `"`), unescaped.
    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.syntax("unexpected end of input inside a string"));
            };
            match b {
                b'"' => {
                    out.push_str(&self.src[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.src[run..self.pos]);
                    self.escape(&mut out)?;
                    run = self.pos;
                }
                0x00..=0x1f => return Err(self.syntax("unescaped control character in a string")),
                _ => self.pos += 1,
            }
        }
    }

    /// One escape sequence at the current position (which holds `\`).
    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let start = self.pos;
        self.pos += 1;
        let Some(b) = self.peek() else {
            return Err(self.syntax("unexpected end of input inside a string"));
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4(start)?;
                match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed by an escaped low surrogate.
                        if self.bytes[self.pos..].starts_with(b"\\u") {
                            let second = self.pos;
                            self.pos += 2;
                            let low = self.hex4(second)?;
                            if (0xDC00..=0xDFFF).contains(&low) {
                                let cp = 0x10000
                                    + ((u32::from(unit) - 0xD800) << 10)
                                    + (u32::from(low) - 0xDC00);
                                char::from_u32(cp)
                                    .ok_or_else(|| self.err(JsonErrorReason::LoneSurrogate))?
                            } else {
                                return Err(self.err(JsonErrorReason::LoneSurrogate));
                            }
                        } else {
                            return Err(self.err(JsonErrorReason::LoneSurrogate));
                        }
                    }
                    0xDC00..=0xDFFF => return Err(self.err(JsonErrorReason::LoneSurrogate)),
                    _ => char::from_u32(u32::from(unit))
                        .ok_or_else(|| self.err(JsonErrorReason::LoneSurrogate))?,
                }
            }
            _ => return Err(self.syntax_at(start, "invalid escape sequence")),
        };
        out.push(c);
        Ok(())
    }

    /// Four hex digits at the current position (the `XXXX` of a `\uXXXX` starting at `start`).
    fn hex4(&mut self, start: usize) -> Result<u16, JsonError> {
        let mut v: u16 = 0;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(d @ b'0'..=b'9') => d - b'0',
                Some(d @ b'a'..=b'f') => d - b'a' + 10,
                Some(d @ b'A'..=b'F') => d - b'A' + 10,
                _ => {
                    return Err(
                        self.syntax_at(start, "invalid \\u escape: expected four hex digits")
                    )
                }
            };
            v = (v << 4) | u16::from(d);
            self.pos += 1;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> JsonErrorReason {
        parse(text, 64).unwrap_err().reason
    }

    #[test]
    fn accepts_json() {
        let v = parse(
            r#" {"a": [1, -2.5e3, "x\u00e9\ud83d\ude00\n", true, false, null], "b": {}} "#,
            64,
        )
        .unwrap();
        let AuditValue::Object(m) = &v else { panic!() };
        assert_eq!(m.len(), 2);
        let AuditValue::Array(items) = &m[0].1 else {
            panic!()
        };
        assert!(matches!(&items[2], AuditValue::String(s) if s == "xé😀\n"));
        assert!(matches!(&items[1], AuditValue::Number(n) if n.as_text() == Some("-2.5e3")));
    }

    #[test]
    fn keeps_nul_and_duplicates_for_later() {
        assert!(parse(r#"{"a":"\u0000","a":1}"#, 64).is_ok());
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            reason(""),
            JsonErrorReason::Syntax { offset: 0, .. }
        ));
        assert!(matches!(
            reason("[1,]"),
            JsonErrorReason::Syntax { offset: 3, .. }
        ));
        assert!(matches!(
            reason("[1] x"),
            JsonErrorReason::Syntax { offset: 4, .. }
        ));
        assert!(matches!(
            reason("01"),
            JsonErrorReason::Syntax { offset: 0, .. }
        ));
        assert!(matches!(reason("NaN"), JsonErrorReason::Syntax { .. }));
        assert!(matches!(
            reason("-Infinity"),
            JsonErrorReason::Syntax { .. }
        ));
        assert!(matches!(reason("\"a\nb\""), JsonErrorReason::Syntax { .. }));
        assert!(matches!(reason("\"\\x\""), JsonErrorReason::Syntax { .. }));
        assert!(matches!(
            reason("\"\\u12\""),
            JsonErrorReason::Syntax { .. }
        ));
        assert!(matches!(
            reason("\u{feff}{}"),
            JsonErrorReason::Syntax { offset: 0, .. }
        ));
        assert_eq!(reason(r#""\ud800""#), JsonErrorReason::LoneSurrogate);
        assert_eq!(reason(r#""\ud800\u0041""#), JsonErrorReason::LoneSurrogate);
        assert_eq!(reason(r#""\udc00""#), JsonErrorReason::LoneSurrogate);
        assert_eq!(reason(r#""\ud800\ud800""#), JsonErrorReason::LoneSurrogate);
        assert!(matches!(
            reason(r#""\ud800\u12""#),
            JsonErrorReason::Syntax { .. }
        ));
    }
}
