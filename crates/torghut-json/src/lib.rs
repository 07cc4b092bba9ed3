//! The write boundary for every JSONB audit column.
//!
//! Audit payloads (`decision_json`, `raw_order`, `input_json`, `response_json`, `risk_flags`,
//! `universe_symbols`, `positions`, `request_payload`, `response_payload`, ...) are stored as
//! jsonb. Every one of them is written through [`AuditJson`], a validated payload that can only
//! be made by this crate's constructors and is bound as a `$n` parameter through its
//! [`ToSql`] implementation. The contract:
//!
//! - **Nothing the database would refuse reaches it.** A payload is either accepted here and
//!   then stored by PostgreSQL, or refused here with a typed [`JsonError`] naming the place
//!   (a JSONPath such as `$.params.levels[3]`) and the reason. A refusal is an error to handle,
//!   never a reason to stop writing audit records.
//! - **Nothing is silently changed.** jsonb and `serde_json` have traps that would crash a write
//!   or corrupt the record; each is refused instead:
//!   - a NUL character (`\u0000`) in a string or member name (PostgreSQL: SQLSTATE 22P05) —
//!     [`JsonErrorReason::NulCharacter`];
//!   - a NaN or infinity (which `serde_json` writes as `null`) — [`JsonErrorReason::NonFinite`];
//!   - a `\u` escape of a lone UTF-16 surrogate in raw text — [`JsonErrorReason::LoneSurrogate`];
//!   - a member name given twice in one object (jsonb keeps the last) —
//!     [`JsonErrorReason::DuplicateKey`];
//!   - nesting deeper than the policy allows (PostgreSQL: "stack depth limit exceeded") —
//!     [`JsonErrorReason::TooDeep`]; size beyond the policy (jsonb's own limit is about 256 MiB)
//!     — [`JsonErrorReason::TooLarge`];
//!   - a number `numeric` cannot hold — [`JsonErrorReason::NumberOutOfRange`].
//! - **Numbers are exact.** A number is never converted to `f64`: raw text keeps every digit
//!   (`123456789012345678901234567890`, 40-digit decimals), and the text sent is the number's
//!   exact value in the form PostgreSQL's `numeric` prints it (plain notation: `1e2` is sent as
//!   `100`, `1.50` stays `1.50`, `-0` is `0`), which is what jsonb stores and gives back.
//! - **Typed values are coerced one way.** [`uuid::Uuid`] is a lower-case hyphenated string;
//!   [`rust_decimal::Decimal`] a string keeping its scale (`"1.50"`); a
//!   [`chrono::DateTime`] in any offset is RFC 3339 in UTC with `Z` and exactly six fraction
//!   digits (`"2026-02-10T09:30:00.250000Z"`). See [`format_uuid`], [`format_decimal`],
//!   [`format_datetime`], the `From` impls of [`AuditValue`] and, for typed structs, the notes
//!   on [`AuditJson::from_serialize`].
//! - **Secrets are redacted.** The value of any member whose name is in the policy's
//!   [`redact_keys`](JsonPolicy::redact_keys) (case-insensitive, whole name, at any depth) is
//!   replaced by `"[REDACTED]"` before anything else is looked at in it; the replacements are
//!   reported ([`Redactions`]). Errors never contain payload values.
//!
//! Everything is checked on one canonical text: no insignificant whitespace, members in the
//! order given, strings with only `"`, `\` and control characters escaped. Its size (after
//! redaction) is what the size limit measures, and it is exactly what is sent.
//!
//! Nothing here panics or overflows the stack on any input: nesting is bounded before it is
//! descended into, by the policy's limit and at most [`MAX_DEPTH_CEILING`].
//!
//! Strings are sent as UTF-8 (only control characters are escaped, as `\u00XX`), so the
//! database's encoding must be UTF8, as the store's databases are: another server encoding
//! could refuse characters it cannot represent.
//!
//! ```
//! use torghut_json::{AuditJson, JsonErrorReason, JsonPolicy};
//!
//! let policy = JsonPolicy::default();
//! let (json, redactions) = AuditJson::from_text(
//!     r#"{"symbol": "AAPL", "qty": 1.50, "Authorization": "Bearer abc", "big": 123456789012345678901234567890}"#,
//!     &policy,
//! )
//! .unwrap();
//! assert_eq!(
//!     json.as_str(),
//!     r#"{"symbol":"AAPL","qty":1.50,"Authorization":"[REDACTED]","big":123456789012345678901234567890}"#
//! );
//! assert_eq!(redactions.paths, ["$.Authorization"]);
//!
//! #[derive(serde::Serialize)]
//! struct Params { levels: Vec<f64> }
//! #[derive(serde::Serialize)]
//! struct Decision { params: Params }
//!
//! let d = Decision { params: Params { levels: vec![0.5, 1.0, 2.0, f64::NAN] } };
//! let err = AuditJson::from_serialize(&d, &policy).unwrap_err();
//! assert_eq!(err.reason, JsonErrorReason::NonFinite(torghut_json::NonFiniteKind::NaN));
//! assert_eq!(err.to_string(), "$.params.levels[3]: NaN is not valid JSON");
//! ```

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod number;
mod parse;
mod policy;
mod ser;
pub mod utc_micros;
mod value;
mod write;

use std::error::Error as StdError;
use std::fmt;

use bytes::{BufMut, BytesMut};
use serde::Serialize;
use tokio_postgres::types::{accepts, to_sql_checked, IsNull, ToSql, Type};

pub use error::{JsonError, JsonErrorReason, NonFiniteKind};
pub use policy::{
    JsonPolicy, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_REDACT_KEYS, MAX_BYTES_CEILING,
    MAX_DEPTH_CEILING,
};
pub use value::{
    format_date, format_datetime, format_decimal, format_uuid, AuditNumber, AuditValue,
};

/// What a redacted value is replaced by (as a JSON string).
pub const REDACTED: &str = "[REDACTED]";

/// The values replaced by [`REDACTED`] in one payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactions {
    /// How many values were replaced.
    pub count: usize,
    /// JSONPath of each replaced value, in document order.
    pub paths: Vec<String>,
}

impl Redactions {
    /// Whether nothing was redacted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A payload that is safe to store in a jsonb (or json) column: validated, redacted, in
/// canonical text. Made only by the `from_*` constructors; bound with `$n` through
/// [`ToSql`].
///
/// Equality is semantic ([`json_semantic_eq`]): member order and number spelling do not matter.
#[derive(Clone)]
pub struct AuditJson {
    text: String,
}

impl AuditJson {
    /// A payload from a `serde_json::Value`.
    ///
    /// `serde_json` has already made two decisions for such a value: a NaN or infinity put
    /// into it became `null` (use [`from_serialize`](Self::from_serialize) or [`AuditValue`]
    /// to have them refused), and every number is an `i64`, `u64` or `f64` (an `f64` is written
    /// as the shortest text that reads back as it, `0.1` as `0.1`). Use
    /// [`from_text`](Self::from_text) for raw JSON whose numbers must keep every digit.
    pub fn from_value(
        v: &serde_json::Value,
        policy: &JsonPolicy,
    ) -> Result<(Self, Redactions), JsonError> {
        let mut path = Vec::new();
        let tree = value::from_serde(v, 0, policy.effective_max_depth(), &mut path)?;
        Self::from_audit_value(&tree, policy)
    }

    /// A payload from raw JSON text, read by this crate's strict RFC 8259 reader: refuses
    /// syntax errors (with the byte offset), lone surrogates in `\u` escapes, nesting beyond the
    /// policy (before descending into it), then — unless redacted — NUL characters, duplicate
    /// member names and numbers beyond `numeric`. Numbers keep every digit as written.
    pub fn from_text(raw: &str, policy: &JsonPolicy) -> Result<(Self, Redactions), JsonError> {
        let tree = parse::parse(raw, policy.effective_max_depth())?;
        Self::from_audit_value(&tree, policy)
    }

    /// A payload from a typed value, serialized into [`AuditValue`] with `serde_json`'s data
    /// model (structs and maps are objects, enums externally tagged, `None` is `null`), except
    /// that a NaN or infinity is refused with its path instead of becoming `null`, and that
    /// integers of any width (`i128`/`u128`) are kept exactly.
    ///
    /// Typed fields get these coercions through their own `Serialize` implementations:
    /// - [`uuid::Uuid`]: lower-case hyphenated string (uuid's `serde` feature; the same text as
    ///   [`format_uuid`]).
    /// - [`rust_decimal::Decimal`]: string keeping the scale, `1.50` as `"1.50"` (rust_decimal's
    ///   `serde-with-str` behaviour; the same text as [`format_decimal`]).
    /// - [`chrono::DateTime`]: chrono's own format, RFC 3339 with 0, 3, 6 or 9 fraction digits
    ///   and the value's own offset, which a serializer cannot recognise and change. For the
    ///   payload form of [`format_datetime`], annotate the field with
    ///   `#[serde(with = "torghut_json::utc_micros")]` (or `utc_micros::option`), or build the
    ///   payload with [`AuditValue`].
    pub fn from_serialize<T: Serialize + ?Sized>(
        t: &T,
        policy: &JsonPolicy,
    ) -> Result<(Self, Redactions), JsonError> {
        let tree = ser::to_audit_value(t, policy.effective_max_depth())?;
        Self::from_audit_value(&tree, policy)
    }

    /// A payload from an [`AuditValue`] (built with its `From` impls and the
    /// [`audit_object!`] / [`audit_array!`] macros).
    pub fn from_audit_value(
        v: &AuditValue,
        policy: &JsonPolicy,
    ) -> Result<(Self, Redactions), JsonError> {
        let (text, redactions) = write::canonical(v, policy)?;
        Ok((Self { text }, redactions))
    }

    /// The canonical text, exactly as it is sent.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The canonical text.
    pub fn into_string(self) -> String {
        self.text
    }

    /// The size of the canonical text in bytes.
    pub fn byte_len(&self) -> usize {
        self.text.len()
    }

    /// The payload as an exact [`AuditValue`] (see
    /// [`AuditValue::to_serde_json`] for a `serde_json::Value`).
    pub fn to_value(&self) -> AuditValue {
        // The canonical text is valid and within the depth ceiling, so this cannot fail.
        parse::parse(&self.text, MAX_DEPTH_CEILING).unwrap_or_default()
    }

    /// Whether `other` (e.g. `payload::text` read back from PostgreSQL) is the same JSON value.
    pub fn semantic_eq_text(&self, other: &str) -> bool {
        json_semantic_eq(&self.text, other)
    }
}

impl PartialEq for AuditJson {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text || json_semantic_eq(&self.text, &other.text)
    }
}

impl Eq for AuditJson {}

impl fmt::Debug for AuditJson {
    /// The first 256 bytes of the text (cut at a character boundary) and the total size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 256;
        if self.text.len() <= SHOWN {
            f.debug_tuple("AuditJson").field(&self.text).finish()
        } else {
            let mut end = SHOWN;
            while !self.text.is_char_boundary(end) {
                end -= 1;
            }
            write!(
                f,
                "AuditJson({:?}… ({} bytes))",
                &self.text[..end],
                self.text.len()
            )
        }
    }
}

impl AsRef<str> for AuditJson {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl ToSql for AuditJson {
    /// jsonb's binary format is a version byte (1) and the text; json's is the text.
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        if *ty == Type::JSONB {
            out.put_u8(1);
        }
        out.put_slice(self.text.as_bytes());
        Ok(IsNull::No)
    }

    accepts!(JSON, JSONB);
    to_sql_checked!();
}

/// Whether two JSON texts hold the same value, as jsonb sees it: objects compared as maps
/// (member order ignored; of duplicate members the last counts), arrays in order, strings by
/// content (escapes decoded), numbers as exact decimals (`1e2`, `100` and `100.00` are equal;
/// no `f64` is involved). Texts that are not JSON by this crate's strict reader, or nested
/// deeper than [`MAX_DEPTH_CEILING`], are not equal to anything.
pub fn json_semantic_eq(a: &str, b: &str) -> bool {
    match (
        parse::parse(a, MAX_DEPTH_CEILING),
        parse::parse(b, MAX_DEPTH_CEILING),
    ) {
        (Ok(va), Ok(vb)) => va == vb,
        _ => false,
    }
}
