//! The exact value model: what payloads are built from and what stored payloads read back as.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::error::{JsonError, JsonErrorReason, NonFiniteKind, Seg};
use crate::number;

/// A JSON value with exact numbers.
///
/// Unlike `serde_json::Value` it keeps every number exactly as decimal text (no `f64` round
/// trip), keeps a NaN or infinity detectable (so that the boundary refuses it instead of writing
/// `null`), and keeps object members in order, duplicates included (so that the boundary can
/// refuse them). Nothing here is validated: [`AuditJson`](crate::AuditJson) does that.
///
/// Build payloads with the `From` impls (including [`Uuid`], [`Decimal`] and
/// [`DateTime`] with this crate's coercions), [`AuditValue::object`], [`AuditValue::array`], or
/// the [`audit_object!`](crate::audit_object) and [`audit_array!`](crate::audit_array) macros.
///
/// Equality is semantic: objects compare as maps (the last of duplicate members wins, as in
/// jsonb), numbers as exact decimals (`1e2 == 100`, `1.50 == 1.5`), non-finite numbers by kind.
#[derive(Debug, Clone, Default)]
pub enum AuditValue {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(AuditNumber),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<AuditValue>),
    /// An object: members in order.
    Object(Vec<(String, AuditValue)>),
}

/// A JSON number held exactly: its decimal text, or the non-finite float it came from (which
/// the boundary refuses with [`JsonErrorReason::NonFinite`]).
#[derive(Debug, Clone)]
pub struct AuditNumber(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// Text matching the JSON number grammar.
    Text(String),
    NonFinite(NonFiniteKind),
}

impl AuditNumber {
    /// The number written as `text`, if `text` is exactly one JSON number
    /// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`). Every digit is kept.
    pub fn parse(text: &str) -> Option<Self> {
        number::is_json_number(text).then(|| Self(Repr::Text(text.to_owned())))
    }

    /// Wraps text already known to be a JSON number.
    pub(crate) fn from_valid_text(text: String) -> Self {
        debug_assert!(number::is_json_number(&text));
        Self(Repr::Text(text))
    }

    /// The number's text, or `None` for a NaN or infinity.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(t) => Some(t),
            Repr::NonFinite(_) => None,
        }
    }

    /// The kind of non-finite float this number came from, if it did.
    pub fn non_finite(&self) -> Option<NonFiniteKind> {
        match self.0 {
            Repr::Text(_) => None,
            Repr::NonFinite(k) => Some(k),
        }
    }

    fn from_f64(x: f64) -> Self {
        // `from_f64` refuses exactly the non-finite values; a finite one gets the shortest text
        // that reads back as `x`, as serde_json writes it (`1.0`, `0.1`, `1e+300`).
        match serde_json::Number::from_f64(x) {
            Some(n) => Self(Repr::Text(n.to_string())),
            None => Self(Repr::NonFinite(
                NonFiniteKind::of(x).unwrap_or(NonFiniteKind::NaN),
            )),
        }
    }

    fn from_f32(x: f32) -> Self {
        if NonFiniteKind::of(f64::from(x)).is_some() {
            return Self::from_f64(f64::from(x));
        }
        // serde_json writes a finite f32 with the shortest text that reads back as that f32.
        match serde_json::to_string(&x) {
            Ok(text) if number::is_json_number(&text) => Self(Repr::Text(text)),
            _ => Self::from_f64(f64::from(x)),
        }
    }
}

impl PartialEq for AuditNumber {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Text(a), Repr::Text(b)) => number::numbers_eq(a, b),
            (Repr::NonFinite(a), Repr::NonFinite(b)) => a == b,
            _ => false,
        }
    }
}

macro_rules! number_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for AuditNumber {
            fn from(n: $t) -> Self {
                Self(Repr::Text(n.to_string()))
            }
        }
        impl From<$t> for AuditValue {
            fn from(n: $t) -> Self {
                Self::Number(n.into())
            }
        }
    )*};
}

number_from_int!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

impl From<f64> for AuditNumber {
    /// Finite: the shortest text that reads back as `x` (`serde_json`'s). NaN and infinities
    /// are kept as such, for the boundary to refuse.
    fn from(x: f64) -> Self {
        Self::from_f64(x)
    }
}

impl From<f32> for AuditNumber {
    /// Finite: the shortest text that reads back as `x` as an `f32`. NaN and infinities are
    /// kept as such, for the boundary to refuse.
    fn from(x: f32) -> Self {
        Self::from_f32(x)
    }
}

impl From<f64> for AuditValue {
    fn from(x: f64) -> Self {
        Self::Number(x.into())
    }
}

impl From<f32> for AuditValue {
    fn from(x: f32) -> Self {
        Self::Number(x.into())
    }
}

impl From<AuditNumber> for AuditValue {
    fn from(n: AuditNumber) -> Self {
        Self::Number(n)
    }
}

impl From<bool> for AuditValue {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<&str> for AuditValue {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl From<String> for AuditValue {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<&String> for AuditValue {
    fn from(s: &String) -> Self {
        Self::String(s.clone())
    }
}

impl From<std::borrow::Cow<'_, str>> for AuditValue {
    fn from(s: std::borrow::Cow<'_, str>) -> Self {
        Self::String(s.into_owned())
    }
}

impl From<char> for AuditValue {
    fn from(c: char) -> Self {
        Self::String(c.to_string())
    }
}

impl From<()> for AuditValue {
    fn from((): ()) -> Self {
        Self::Null
    }
}

impl<T: Into<AuditValue>> From<Option<T>> for AuditValue {
    /// `None` is `null`.
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

impl<T: Into<AuditValue>> From<Vec<T>> for AuditValue {
    fn from(items: Vec<T>) -> Self {
        Self::Array(items.into_iter().map(Into::into).collect())
    }
}

impl<T: Clone + Into<AuditValue>> From<&[T]> for AuditValue {
    fn from(items: &[T]) -> Self {
        Self::Array(items.iter().cloned().map(Into::into).collect())
    }
}

/// `From` a value and from a reference to it: the string `$format` writes for it.
macro_rules! string_from {
    ($($(#[$doc:meta])* $t:ty $(where $g:ident: $bound:path)? => $format:path;)*) => {$(
        impl$(<$g: $bound>)? From<$t> for AuditValue {
            $(#[$doc])*
            fn from(v: $t) -> Self {
                Self::String($format(&v))
            }
        }
        impl$(<$g: $bound>)? From<&$t> for AuditValue {
            fn from(v: &$t) -> Self {
                Self::String($format(v))
            }
        }
    )*};
}

string_from! {
    /// Lower-case hyphenated: `67e55044-10b1-426f-9247-bb680e5fe0c8`.
    Uuid => format_uuid;
    /// A string keeping the scale: `1.50` is `"1.50"`.
    Decimal => format_decimal;
    /// RFC 3339 in UTC with exactly six fraction digits: `2026-02-10T09:30:00.250000Z`.
    DateTime<Tz> where Tz: TimeZone => format_datetime;
    /// `YYYY-MM-DD`.
    NaiveDate => format_date;
}

/// A UUID as stored in payloads: lower-case hyphenated, `67e55044-10b1-426f-9247-bb680e5fe0c8`
/// (what `uuid`'s `Serialize` writes too).
pub fn format_uuid(u: &Uuid) -> String {
    u.hyphenated().to_string()
}

/// A decimal as stored in payloads: a string with the decimal's own scale, `1.50` stays
/// `"1.50"`, no exponent (what `rust_decimal`'s `Serialize` writes too, with its `serde-with-str`
/// behaviour).
pub fn format_decimal(d: &Decimal) -> String {
    d.to_string()
}

/// A date-time as stored in payloads: converted to UTC, RFC 3339 with `Z` and exactly six
/// fraction digits, `2026-02-10T09:30:00.250000Z`. Digits beyond the microsecond are dropped
/// (truncated), as tokio-postgres drops them when it sends a `timestamptz`. Years outside
/// 0000–9999 use ISO 8601's expanded form (`+10000-01-01T…`), which RFC 3339 does not cover.
pub fn format_datetime<Tz: TimeZone>(dt: &DateTime<Tz>) -> String {
    dt.with_timezone(&Utc)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// A date as stored in payloads: `YYYY-MM-DD`.
pub fn format_date(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl AuditValue {
    /// Reads raw JSON text with the strict reader of [`crate::AuditJson::from_text`] (syntax,
    /// lone surrogates, nesting beyond `max_depth`), without writing it: NUL characters,
    /// duplicate member names, number ranges, size and redaction are checked when the value
    /// is written ([`crate::AuditJson::from_audit_value`]). For callers that rework a payload
    /// before storing it.
    pub fn from_json_text(raw: &str, max_depth: usize) -> Result<Self, JsonError> {
        crate::parse::parse(raw, max_depth)
    }

    /// An object from `(name, value)` pairs, in order.
    pub fn object<I, K, V>(members: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<AuditValue>,
    {
        Self::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// An array from values, in order.
    pub fn array<I, V>(items: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<AuditValue>,
    {
        Self::Array(items.into_iter().map(Into::into).collect())
    }

    /// A number from its JSON text, kept exactly (`"123456789012345678901234567890"`,
    /// `"1.50"`, `"1e-7"`), or `None` if `text` is not a JSON number.
    #[cfg(test)]
    pub fn number_from_text(text: &str) -> Option<Self> {
        AuditNumber::parse(text).map(Self::Number)
    }

    /// The value as a `serde_json::Value`, if `serde_json` can hold every number exactly: an
    /// integer within `i64`/`u64`, or a decimal whose nearest `f64` is the same decimal value
    /// (`0.1`; `1.50`, as `1.5`). `None` otherwise (`123456789012345678901234567890`,
    /// `0.1000000000000000000001`, NaN).
    pub fn to_serde_json(&self) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        Some(match self {
            Self::Null => J::Null,
            Self::Bool(b) => J::Bool(*b),
            Self::Number(n) => J::Number(exact_serde_number(n.as_text()?)?),
            Self::String(s) => J::String(s.clone()),
            Self::Array(items) => J::Array(
                items
                    .iter()
                    .map(Self::to_serde_json)
                    .collect::<Option<_>>()?,
            ),
            Self::Object(members) => {
                let mut map = serde_json::Map::new();
                for (k, v) in members {
                    map.insert(k.clone(), v.to_serde_json()?);
                }
                J::Object(map)
            }
        })
    }

    /// The JSON type's name, for messages: `null`, `boolean`, `number`, `string`, `array`,
    /// `object`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "boolean",
            Self::Number(_) => "number",
            Self::String(_) => "string",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
        }
    }
}

fn exact_serde_number(text: &str) -> Option<serde_json::Number> {
    if let Some(n) = number::as_i64_or_u64(text) {
        return Some(n);
    }
    let x: f64 = text.parse().ok()?;
    let n = serde_json::Number::from_f64(x)?;
    number::numbers_eq(&n.to_string(), text).then_some(n)
}

/// Depth-bounded conversion: a container at depth `max + 1` is refused before it is entered.
/// `from_serde` and its `*_from_serde` helpers are the frames on the stack for each level.
pub(crate) fn from_serde<'v>(
    v: &'v serde_json::Value,
    depth: usize,
    max: usize,
    path: &mut Vec<Seg<'v>>,
) -> Result<AuditValue, JsonError> {
    use serde_json::Value as J;
    match v {
        J::Array(items) => array_from_serde(items, depth, max, path),
        J::Object(map) => object_from_serde(map, depth, max, path),
        _ => scalar_from_serde(v, path),
    }
}

#[inline(never)]
fn scalar_from_serde(v: &serde_json::Value, path: &[Seg<'_>]) -> Result<AuditValue, JsonError> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null | J::Array(_) | J::Object(_) => AuditValue::Null,
        J::Bool(b) => AuditValue::Bool(*b),
        J::String(s) => AuditValue::String(s.clone()),
        J::Number(n) => {
            let text = n.to_string();
            if !number::is_json_number(&text) {
                // serde_json only holds finite numbers; this is unreachable in practice.
                return Err(JsonError::at(
                    path.iter().copied(),
                    JsonErrorReason::Serialize("number without a JSON text".to_owned()),
                ));
            }
            AuditValue::Number(AuditNumber::from_valid_text(text))
        }
    })
}

/// Checks that a container may be entered at `depth` (the number of enclosing containers).
fn enter(path: &[Seg<'_>], depth: usize, max: usize) -> Result<(), JsonError> {
    JsonErrorReason::check_depth(depth, max).map_err(|r| JsonError::at(path.iter().copied(), r))
}

#[inline(never)]
fn array_from_serde<'v>(
    items: &'v [serde_json::Value],
    depth: usize,
    max: usize,
    path: &mut Vec<Seg<'v>>,
) -> Result<AuditValue, JsonError> {
    enter(path, depth, max)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        path.push(Seg::Index(i));
        out.push(from_serde(item, depth + 1, max, path)?);
        path.pop();
    }
    Ok(AuditValue::Array(out))
}

#[inline(never)]
fn object_from_serde<'v>(
    map: &'v serde_json::Map<String, serde_json::Value>,
    depth: usize,
    max: usize,
    path: &mut Vec<Seg<'v>>,
) -> Result<AuditValue, JsonError> {
    enter(path, depth, max)?;
    let mut out = Vec::with_capacity(map.len());
    for (k, item) in map {
        path.push(Seg::Key(k));
        out.push((k.clone(), from_serde(item, depth + 1, max, path)?));
        path.pop();
    }
    Ok(AuditValue::Object(out))
}

impl PartialEq for AuditValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Null, Self::Null) => true,
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Number(a), Self::Number(b)) => a == b,
            (Self::String(a), Self::String(b)) => a == b,
            (Self::Array(a), Self::Array(b)) => a == b,
            (Self::Object(a), Self::Object(b)) => {
                let ma = last_wins(a);
                let mb = last_wins(b);
                ma.len() == mb.len()
                    && ma
                        .iter()
                        .all(|(k, va)| mb.get(k).is_some_and(|vb| *va == *vb))
            }
            _ => false,
        }
    }
}

fn last_wins(members: &[(String, AuditValue)]) -> HashMap<&str, &AuditValue> {
    let mut map = HashMap::with_capacity(members.len());
    for (k, v) in members {
        map.insert(k.as_str(), v);
    }
    map
}

/// Builds an [`AuditValue::Object`]: `audit_object! { "name" => value, ... }`, each value
/// converted with `AuditValue::from` (so a `Uuid`, `Decimal` or `DateTime` gets this crate's
/// coercion). Nest with further `audit_object!` / `audit_array!` calls.
///
/// ```
/// use torghut_json::{audit_array, audit_object};
/// let id = uuid::Uuid::nil();
/// let v = audit_object! {
///     "order_id" => id,
///     "qty" => rust_decimal::Decimal::new(150, 2),
///     "levels" => audit_array![1, 2.5, "x"],
///     "note" => None::<String>,
/// };
/// let (json, _) = torghut_json::AuditJson::from_audit_value(&v, &Default::default()).unwrap();
/// assert_eq!(
///     json.as_str(),
///     r#"{"order_id":"00000000-0000-0000-0000-000000000000","qty":"1.50","levels":[1,2.5,"x"],"note":null}"#
/// );
/// ```
#[macro_export]
macro_rules! audit_object {
    () => {
        $crate::AuditValue::Object(::std::vec::Vec::new())
    };
    ($($name:expr => $value:expr),+ $(,)?) => {
        $crate::AuditValue::Object(::std::vec![
            $((
                ::std::convert::Into::<::std::string::String>::into($name),
                $crate::AuditValue::from($value),
            )),+
        ])
    };
}

/// Builds an [`AuditValue::Array`]: `audit_array![a, b, ...]`, each element converted with
/// `AuditValue::from`.
#[macro_export]
macro_rules! audit_array {
    ($($value:expr),* $(,)?) => {
        $crate::AuditValue::Array(::std::vec![$($crate::AuditValue::from($value)),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantic_equality() {
        let a = AuditValue::object([
            ("a", AuditValue::from(1)),
            ("b", AuditValue::number_from_text("1e2").unwrap()),
        ]);
        let b = AuditValue::object([
            ("b", AuditValue::number_from_text("100.0").unwrap()),
            ("a", AuditValue::from(1)),
        ]);
        assert_eq!(a, b);
        assert_ne!(a, AuditValue::object([("a", 1)]));
        assert_eq!(AuditValue::from(f64::NAN), AuditValue::from(f64::NAN));
        assert_ne!(
            AuditValue::from(f64::INFINITY),
            AuditValue::from(f64::NEG_INFINITY)
        );
    }

    #[test]
    fn floats_as_serde_json_writes_them() {
        let text = |v: AuditValue| match v {
            AuditValue::Number(n) => n.as_text().map(str::to_owned),
            _ => None,
        };
        assert_eq!(text(1.0f64.into()).as_deref(), Some("1.0"));
        assert_eq!(text(0.1f64.into()).as_deref(), Some("0.1"));
        assert_eq!(text(0.1f32.into()).as_deref(), Some("0.1"));
        assert!(matches!(
            text(1e300f64.into()).as_deref(),
            Some("1e300" | "1e+300")
        ));
        assert_eq!(text(f64::NAN.into()), None);
    }

    #[test]
    fn exact_serde_json() {
        let v = AuditValue::number_from_text("123456789012345678901234567890").unwrap();
        assert!(v.to_serde_json().is_none());
        let v = AuditValue::number_from_text("0.1").unwrap();
        assert_eq!(v.to_serde_json(), Some(serde_json::json!(0.1)));
        let v = AuditValue::number_from_text("-9223372036854775808").unwrap();
        assert_eq!(v.to_serde_json(), Some(serde_json::json!(i64::MIN)));
        let v = AuditValue::number_from_text("18446744073709551615").unwrap();
        assert_eq!(v.to_serde_json(), Some(serde_json::json!(u64::MAX)));
    }
}
