//! The old service's read routes, `/trading/decisions` and `/trading/executions`, answered as
//! it answered them: its query parameters read as FastAPI and pydantic 2 read them, and its
//! rows written as FastAPI's `jsonable_encoder`, pydantic's JSON mode and `json.dumps` wrote
//! them.
//!
//! - **Timestamps**: `datetime.isoformat()` of the value psycopg returned, which is the instant
//!   in the session's `TimeZone`: `2026-02-10T14:30:00.123456+00:00`, the fraction only when the
//!   microseconds are not zero (then always six digits), the offset with seconds when it has
//!   them (`+00:19:32`).
//! - **Decimals** (`numeric`): `float(Decimal)` (the nearest `f64`) written as Python's
//!   `repr` (`1.5`, `100.0`, `1e-08`, `123456789012.12346`); `NaN` is `null`.
//! - **`decision`** (`decision_json`): the document as `json.loads` read PostgreSQL's `jsonb`
//!   text, written back compactly (`","` and `":"`, members in `jsonb`'s order, no ASCII
//!   escaping): integers keep every digit, other numbers are floats written as `repr`
//!   (`1.10` is `1.1`), a float beyond `f64` is `null`, and object members whose key starts with
//!   `_sa` are left out at every depth (`jsonable_encoder` drops them as SQLAlchemy state).
//! - **Strings** are escaped as `json.dumps(ensure_ascii=False)` escapes them, which is how
//!   `serde_json` escapes them too.

use chrono::{Datelike, NaiveDate, Timelike};
use serde::ser::{Serialize, Serializer};
use serde_json::value::RawValue;
use torghut_store::listing::{OldServiceDecision, OldServiceExecution, SessionTime, Since};
use utoipa::ToSchema;
use uuid::Uuid;

/// A `datetime` query parameter (`since`) as the old service read it: pydantic 2's lax
/// `datetime` (see [`torghut_hash::parse_datetime`]): an RFC 3339 date-time with or without an
/// offset (`Z`, `±HH:MM`, `±HHMM`), a space, `_` or `t` for the `T`, seconds and a fraction of
/// them optional (digits past the sixth are dropped), a date alone (midnight), or a unix
/// timestamp in seconds or, above 2e10 in magnitude, milliseconds (UTC). A value without an
/// offset is compared in the database session's time zone, as psycopg sends a naive
/// `datetime`. `None` when pydantic refuses it.
pub fn since_param(text: &str) -> Option<Since> {
    let dt = torghut_hash::parse_datetime(text)?;
    let local = NaiveDate::from_ymd_opt(dt.year(), dt.month(), dt.day())?.and_hms_micro_opt(
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.microsecond(),
    )?;
    Some(match dt.offset_seconds() {
        None => Since::Local(local),
        Some(offset) => {
            Since::At((local - chrono::TimeDelta::seconds(i64::from(offset))).and_utc())
        }
    })
}

/// An `int` query parameter as pydantic 2 reads one from a string in lax mode: a JSON integer
/// (`-?(0|[1-9][0-9]*)`), or else the text cleaned up as pydantic cleans it: surrounding
/// white space trimmed, a leading `+`, leading zeros, a fraction of zeros only (`5.00`) and
/// single underscores between digits (`1_0`) dropped. `None` when it is not an integer; values
/// beyond `i64` saturate.
pub fn int_param(text: &str) -> Option<i64> {
    json_int(text).or_else(|| json_int(&clean_int_text(text)?))
}

/// `-?(0|[1-9][0-9]*)`, saturating beyond `i64`.
fn json_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let valid = match digits.as_bytes() {
        [b'0'] => true,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !valid {
        return None;
    }
    let magnitude = digits.bytes().try_fold(0i64, |acc, d| {
        acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    });
    Some(match (magnitude, negative) {
        (Some(m), true) => -m,
        (Some(m), false) => m,
        (None, true) => i64::MIN,
        (None, false) => i64::MAX,
    })
}

/// pydantic's clean-up of an integer string that is not a JSON integer (`None`: nothing to
/// clean, or not cleanable).
fn clean_int_text(text: &str) -> Option<String> {
    let mut s = text.trim();
    if let Some(rest) = s.strip_prefix('+') {
        if rest.starts_with('-') {
            return None;
        }
        s = rest;
    }
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        if rest.starts_with('-') || rest.starts_with('+') {
            return None;
        }
        negative = true;
        s = rest;
    }
    s = strip_leading_zeros(s)?;
    if let Some(dot) = s.find('.') {
        let fraction = &s[dot + 1..];
        if !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') {
            s = &s[..dot];
        }
    }
    let sign = if negative { "-" } else { "" };
    let underscores_ok =
        s.contains('_') && !s.starts_with('_') && !s.ends_with('_') && !s.contains("__");
    if underscores_ok {
        return Some(format!("{sign}{}", s.replace('_', "")));
    }
    if s.len() == text.len() {
        return None;
    }
    Some(format!("{sign}{s}"))
}

/// pydantic's `strip_leading_zeros`: zeros (and underscores among them) before the first
/// other digit go, a zero before a `.` stays.
fn strip_leading_zeros(s: &str) -> Option<&str> {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, '0')) => {}
        Some((_, c)) if c.is_ascii_digit() || c == '-' => return Some(s),
        _ => return None,
    }
    for (i, c) in chars {
        match c {
            '0' | '_' => {}
            '1'..='9' | '-' => return Some(&s[i..]),
            '.' => return Some(&s[i - 1..]),
            _ => return None,
        }
    }
    Some(&s[s.len() - 1..])
}

/// A row of the old service's `GET /trading/decisions`.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct OldDecisionRow {
    pub id: Uuid,
    pub strategy_id: Uuid,
    pub symbol: String,
    pub timeframe: String,
    pub status: String,
    #[schema(required = true)]
    pub rationale: Option<String>,
    /// `decision_json` as the old service wrote it (any JSON value, normally an object):
    /// integers exact, other numbers as floats (`null` beyond a double), members whose key
    /// starts with `_sa` left out.
    #[schema(value_type = serde_json::Value)]
    pub decision: PyJson,
    /// `datetime.isoformat()` in the database session's time zone
    /// (`2026-02-10T14:30:00.123456+00:00`).
    #[schema(value_type = String, format = DateTime, example = "2026-02-10T14:30:00.123456+00:00")]
    pub created_at: PyIsoTime,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub executed_at: Option<PyIsoTime>,
    pub alpaca_account_label: String,
}

impl TryFrom<OldServiceDecision> for OldDecisionRow {
    type Error = NotJson;

    fn try_from(d: OldServiceDecision) -> Result<Self, NotJson> {
        Ok(Self {
            id: d.id,
            strategy_id: d.strategy_id,
            symbol: d.symbol,
            timeframe: d.timeframe,
            status: d.status,
            rationale: d.rationale,
            decision: PyJson::from_jsonb_text(&d.decision_json)?,
            created_at: PyIsoTime(d.created_at),
            executed_at: d.executed_at.map(PyIsoTime),
            alpaca_account_label: d.alpaca_account_label,
        })
    }
}

/// A row of the old service's `GET /trading/executions`.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct OldExecutionRow {
    pub id: Uuid,
    #[schema(required = true)]
    pub trade_decision_id: Option<Uuid>,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub time_in_force: String,
    /// The decimal as the nearest double (`1.5`, `100.0`, `1e-08`), `null` for `NaN`; exact
    /// decimals are in `/v1/decisions/{id}`.
    #[schema(value_type = Option<f64>, required = true, example = 1.5)]
    pub submitted_qty: PyFloat,
    /// As `submitted_qty`.
    #[schema(value_type = Option<f64>, required = true, example = 0.0)]
    pub filled_qty: PyFloat,
    /// As `submitted_qty`; `null` when there is none.
    #[schema(value_type = Option<f64>, required = true, example = 187.25)]
    pub avg_fill_price: Option<PyFloat>,
    pub status: String,
    /// `datetime.isoformat()` in the database session's time zone.
    #[schema(value_type = String, format = DateTime, example = "2026-02-10T14:30:01.500000+00:00")]
    pub created_at: PyIsoTime,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub last_update_at: Option<PyIsoTime>,
    pub alpaca_order_id: String,
}

impl From<OldServiceExecution> for OldExecutionRow {
    fn from(e: OldServiceExecution) -> Self {
        Self {
            id: e.id,
            trade_decision_id: e.trade_decision_id,
            symbol: e.symbol,
            side: e.side,
            order_type: e.order_type,
            time_in_force: e.time_in_force,
            submitted_qty: PyFloat::from_numeric_text(&e.submitted_qty),
            filled_qty: PyFloat::from_numeric_text(&e.filled_qty),
            avg_fill_price: e.avg_fill_price.as_deref().map(PyFloat::from_numeric_text),
            status: e.status,
            created_at: PyIsoTime(e.created_at),
            last_update_at: e.last_update_at.map(PyIsoTime),
            alpaca_order_id: e.alpaca_order_id,
        }
    }
}

/// A timestamp written as Python's `datetime.isoformat()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyIsoTime(pub SessionTime);

impl std::fmt::Display for PyIsoTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        let micros = t.nanosecond() / 1000;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        let offset = t.offset().local_minus_utc();
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)?;
        if !abs.is_multiple_of(60) {
            write!(f, ":{:02}", abs % 60)?;
        }
        Ok(())
    }
}

impl Serialize for PyIsoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A number as the old service wrote a `Decimal` column: the nearest double, as `repr`, or
/// `null` when it is not finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PyFloat(pub f64);

impl PyFloat {
    /// From PostgreSQL's `numeric` text (`1.50000000`, `NaN`). Python's `float(Decimal)` is the
    /// correctly rounded double of the decimal's text, as Rust's `parse` is.
    pub fn from_numeric_text(text: &str) -> Self {
        Self(text.parse().unwrap_or(f64::NAN))
    }
}

impl Serialize for PyFloat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.0.is_finite() {
            return s.serialize_none();
        }
        let mut text = String::new();
        torghut_hash::write_float_repr(&mut text, self.0);
        match RawValue::from_string(text) {
            Ok(raw) => raw.serialize(s),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

/// JSON text as the old service wrote a `jsonb` document (see the module documentation).
#[derive(Debug)]
pub struct PyJson(Box<RawValue>);

impl PyJson {
    /// From PostgreSQL's `jsonb` text.
    pub fn from_jsonb_text(text: &str) -> Result<Self, NotJson> {
        let mut out = String::with_capacity(text.len());
        write_python_json(&mut out, text)?;
        RawValue::from_string(out).map(Self).map_err(|_| NotJson)
    }
}

impl Serialize for PyJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Stored JSON that is not JSON (never from PostgreSQL's `jsonb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stored JSON text is not JSON")]
pub struct NotJson;

/// An open container of the document being written.
#[derive(Debug, Clone, Copy)]
struct Frame {
    object: bool,
    /// Members or elements written so far (left-out members not counted).
    written: usize,
}

/// What the writer reads next.
#[derive(Debug, Clone, Copy)]
enum Next {
    /// A value.
    Value,
    /// The first member or element of the container just opened, or its end.
    FirstOrClose,
    /// A member's key (after a comma).
    Key,
    /// A comma or the end of the enclosing container (or of the text).
    AfterValue,
}

/// Writes `text` (one JSON value) as `json.dumps(jsonable_encoder(json.loads(text)))` after
/// pydantic's JSON mode would: see the module documentation. Iterative, so any depth is fine.
fn write_python_json(out: &mut String, text: &str) -> Result<(), NotJson> {
    let mut lex = Lexer {
        b: text.as_bytes(),
        s: text,
        i: 0,
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut next = Next::Value;
    loop {
        next = match next {
            Next::Value => match lex.token()? {
                Token::Open(object) => {
                    out.push(if object { '{' } else { '[' });
                    stack.push(Frame { object, written: 0 });
                    Next::FirstOrClose
                }
                Token::Str(raw) => {
                    write_string(out, raw)?;
                    Next::AfterValue
                }
                Token::Num(raw) => {
                    write_number(out, raw);
                    Next::AfterValue
                }
                Token::Lit(raw) => {
                    out.push_str(raw);
                    Next::AfterValue
                }
                _ => return Err(NotJson),
            },
            Next::FirstOrClose => {
                let object = stack.last().ok_or(NotJson)?.object;
                if lex.peek_close(object) {
                    lex.token()?;
                    close(out, &mut stack);
                    Next::AfterValue
                } else if object {
                    Next::Key
                } else {
                    begin_item(out, &mut stack)?;
                    Next::Value
                }
            }
            Next::Key => {
                let Token::Str(raw_key) = lex.token()? else {
                    return Err(NotJson);
                };
                if !matches!(lex.token()?, Token::Colon) {
                    return Err(NotJson);
                }
                if key_starts_with_sa(raw_key)? {
                    lex.skip_value()?;
                    Next::AfterValue
                } else {
                    begin_item(out, &mut stack)?;
                    write_string(out, raw_key)?;
                    out.push(':');
                    Next::Value
                }
            }
            Next::AfterValue => {
                let Some(frame) = stack.last() else {
                    return if lex.at_end() { Ok(()) } else { Err(NotJson) };
                };
                let object = frame.object;
                match lex.token()? {
                    Token::Comma if object => Next::Key,
                    Token::Comma => {
                        begin_item(out, &mut stack)?;
                        Next::Value
                    }
                    Token::Close(o) if o == object => {
                        close(out, &mut stack);
                        Next::AfterValue
                    }
                    _ => return Err(NotJson),
                }
            }
        };
    }
}

/// Writes the comma before a member or element that is not the container's first.
fn begin_item(out: &mut String, stack: &mut [Frame]) -> Result<(), NotJson> {
    let frame = stack.last_mut().ok_or(NotJson)?;
    if frame.written > 0 {
        out.push(',');
    }
    frame.written += 1;
    Ok(())
}

fn close(out: &mut String, stack: &mut Vec<Frame>) {
    if let Some(frame) = stack.pop() {
        out.push(if frame.object { '}' } else { ']' });
    }
}

/// A string token (with its quotes) as `json.dumps(ensure_ascii=False)` writes it. `jsonb`
/// escapes exactly what Python escapes, the same way, so unescaped text is copied.
fn write_string(out: &mut String, raw: &str) -> Result<(), NotJson> {
    if !raw.contains('\\') {
        out.push_str(raw);
        return Ok(());
    }
    let decoded: String = serde_json::from_str(raw).map_err(|_| NotJson)?;
    // serde_json escapes as json.dumps does: `"`, `\\`, `\b\f\n\r\t`, other control
    // characters as `\u00xx` (lower-case hex), nothing else.
    out.push_str(&serde_json::to_string(&decoded).map_err(|_| NotJson)?);
    Ok(())
}

/// Whether a key (a string token) starts with `_sa`.
fn key_starts_with_sa(raw: &str) -> Result<bool, NotJson> {
    if !raw.contains('\\') {
        return Ok(raw[1..].starts_with("_sa"));
    }
    let decoded: String = serde_json::from_str(raw).map_err(|_| NotJson)?;
    Ok(decoded.starts_with("_sa"))
}

/// A number token as Python reads and writes it: an integer (no fraction, no exponent) is an
/// `int` and keeps its digits; anything else is a `float`, written as `repr`, or `null` when
/// it overflows.
fn write_number(out: &mut String, raw: &str) {
    if raw.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        match raw.parse::<f64>() {
            Ok(x) if x.is_finite() => torghut_hash::write_float_repr(out, x),
            _ => out.push_str("null"),
        }
    } else if raw == "-0" {
        out.push('0');
    } else {
        out.push_str(raw);
    }
}

#[derive(Debug, Clone, Copy)]
enum Token<'a> {
    Open(bool),
    Close(bool),
    Comma,
    Colon,
    /// A string with its quotes.
    Str(&'a str),
    Num(&'a str),
    /// `true`, `false` or `null`.
    Lit(&'a str),
}

struct Lexer<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
}

impl<'a> Lexer<'a> {
    fn skip_ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.i == self.b.len()
    }

    fn peek_close(&mut self, object: bool) -> bool {
        self.skip_ws();
        self.b.get(self.i) == Some(if object { &b'}' } else { &b']' })
    }

    fn token(&mut self) -> Result<Token<'a>, NotJson> {
        self.skip_ws();
        let start = self.i;
        let c = *self.b.get(start).ok_or(NotJson)?;
        self.i += 1;
        Ok(match c {
            b'{' => Token::Open(true),
            b'[' => Token::Open(false),
            b'}' => Token::Close(true),
            b']' => Token::Close(false),
            b',' => Token::Comma,
            b':' => Token::Colon,
            b'"' => {
                loop {
                    match self.b.get(self.i) {
                        Some(b'"') => break,
                        Some(b'\\') => self.i += 2,
                        Some(_) => self.i += 1,
                        None => return Err(NotJson),
                    }
                }
                self.i += 1;
                Token::Str(self.s.get(start..self.i).ok_or(NotJson)?)
            }
            b'-' | b'0'..=b'9' => {
                while matches!(
                    self.b.get(self.i),
                    Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                ) {
                    self.i += 1;
                }
                Token::Num(&self.s[start..self.i])
            }
            b't' | b'f' | b'n' => {
                while self.b.get(self.i).is_some_and(u8::is_ascii_lowercase) {
                    self.i += 1;
                }
                let word = &self.s[start..self.i];
                if !matches!(word, "true" | "false" | "null") {
                    return Err(NotJson);
                }
                Token::Lit(word)
            }
            _ => return Err(NotJson),
        })
    }

    /// Reads past one value (scalar or container).
    fn skip_value(&mut self) -> Result<(), NotJson> {
        let mut depth = 0usize;
        loop {
            match self.token()? {
                Token::Open(_) => depth += 1,
                Token::Close(_) => depth = depth.checked_sub(1).ok_or(NotJson)?,
                Token::Comma | Token::Colon if depth == 0 => return Err(NotJson),
                _ => {}
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python_json(text: &str) -> String {
        let mut out = String::new();
        write_python_json(&mut out, text).unwrap();
        out
    }

    #[test]
    fn writes_json_as_the_old_service() {
        // Each output is what `json.dumps(jsonable_encoder(json.loads(text)))` gave through
        // pydantic's JSON mode in the old service's environment.
        for (text, expected) in [
            (
                r#"{"_sa": 1, "a": [1, 2.50, -0, -0.0, 1e2, 1E-7], "_sab": {"x": 1}, "b": {"_sa_x": [], "c": null}}"#,
                r#"{"a":[1,2.5,0,-0.0,100.0,1e-07],"b":{"c":null}}"#,
            ),
            (r#"[{"_sa": 1}, {}, []]"#, "[{},{},[]]"),
            (
                r#""\u005fsa \" \n \u0001 \u00e9""#,
                "\"_sa \\\" \\n \\u0001 \u{e9}\"",
            ),
            (r#"{"\u005fsa": 1, "k\n": true}"#, r#"{"k\n":true}"#),
            ("-0", "0"),
            ("1.0", "1.0"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("0.1e1", "1.0"),
            (r#" { "a" : [ ] } "#, r#"{"a":[]}"#),
        ] {
            assert_eq!(python_json(text), expected, "{text}");
        }
        let deep = format!("{}1.5{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(python_json(&deep), deep);
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "[1] 2", "nul", "{\"a\":1,}"] {
            let mut out = String::new();
            assert_eq!(write_python_json(&mut out, bad), Err(NotJson), "{bad:?}");
        }
    }

    #[test]
    fn writes_isoformat_and_repr() {
        let t = |s: &str| PyIsoTime(chrono::DateTime::parse_from_rfc3339(s).unwrap()).to_string();
        assert_eq!(
            t("2026-02-10T14:30:00.123456Z"),
            "2026-02-10T14:30:00.123456+00:00"
        );
        assert_eq!(
            t("2026-02-10T14:30:00.5-05:00"),
            "2026-02-10T14:30:00.500000-05:00"
        );
        assert_eq!(t("2026-02-10T14:30:00+05:30"), "2026-02-10T14:30:00+05:30");
        let offset = chrono::FixedOffset::east_opt(19_270).unwrap();
        let lmt = chrono::DateTime::parse_from_rfc3339("1900-01-01T12:00:00.25Z")
            .unwrap()
            .with_timezone(&offset);
        assert_eq!(
            PyIsoTime(lmt).to_string(),
            "1900-01-01T17:21:10.250000+05:21:10"
        );
        let f = |s: &str| serde_json::to_string(&PyFloat::from_numeric_text(s)).unwrap();
        assert_eq!(f("1.50000000"), "1.5");
        assert_eq!(f("100.00000000"), "100.0");
        assert_eq!(f("0.00000001"), "1e-08");
        assert_eq!(f("123456789012.12345678"), "123456789012.12346");
        assert_eq!(f("NaN"), "null");
    }

    #[test]
    fn reads_ints_as_pydantic() {
        for (text, expected) in [
            ("5", Some(5)),
            (" 5\t", Some(5)),
            ("+5", Some(5)),
            ("005", Some(5)),
            ("5.000", Some(5)),
            ("1_0", Some(10)),
            (" +0_0_7.00 ", Some(7)),
            ("-0", Some(0)),
            ("99999999999999999999", Some(i64::MAX)),
            ("5.", None),
            ("5.5", None),
            ("1e2", None),
            ("1__0", None),
            ("_1", None),
            ("+-5", None),
            ("", None),
        ] {
            assert_eq!(int_param(text), expected, "{text:?}");
        }
    }
}
