//! The decision hash: the idempotency key that the store shares with the service it replaces.
//!
//! `trade_decisions.decision_hash` is unique and an execution's `client_order_id` is the
//! decision's hash, so a decision must hash here exactly as the old service hashed it. The old
//! service read a decision with Python's `json.loads`, validated it with a pydantic v2 model, and
//! hashed the UTF-8 bytes of
//!
//! ```text
//! json.dumps({"strategy_id", "symbol", "event_ts", "timeframe", "action", "qty", "order_type",
//!             "time_in_force", "limit_price", "stop_price", "params"},
//!            sort_keys=True, separators=(",", ":"))
//! ```
//!
//! with SHA-256. This crate reproduces each step with Python's semantics:
//!
//! - **Reading** (`json.loads`): floats are `f64` (overflowing to an infinity), integers keep
//!   every digit (up to CPython's 4300-digit limit), `NaN`/`Infinity`/`-Infinity` are accepted,
//!   escaped lone surrogates are kept, a repeated key keeps its last value. Nesting is limited to
//!   [`MAX_DEPTH`] levels.
//! - **Validation** (the model): `strategy_id`, `symbol`, `timeframe` must be strings; `action`
//!   is `buy` or `sell`; `order_type` is `market` (default), `limit`, `stop` or `stop_limit`;
//!   `time_in_force` is `day` (default), `gtc`, `ioc` or `fok`; `qty` (required), `limit_price`
//!   and `stop_price` (null by default) are decimals given as a string or number; `rationale`
//!   is a string or null and is not hashed; `params` is an object (default `{}`); other members
//!   are accepted and not hashed.
//! - **`event_ts`**: an ISO 8601 date-time (or a date, or a unix timestamp) as pydantic accepts
//!   it, written as `datetime.isoformat()`: `YYYY-MM-DDTHH:MM:SS`, `.ffffff` only when the
//!   microseconds are not zero, then the offset as `+HH:MM` (`Z` becomes `+00:00`) if the input
//!   had one. Fraction digits past the sixth are truncated, as pydantic truncates them.
//! - **Decimals**: `str(Decimal(...))`, keeping the digits as written (`"1.50"` stays `1.50`,
//!   `"0.00000001"` becomes `1E-8`). A JSON number with a fraction or exponent is first a Python
//!   float, so it becomes `str(Decimal(repr(x)))`: `2.5` gives `2.5`, but `1.10` gives `1.1` and
//!   `1e2` gives `100.0`. NaN and infinities are rejected.
//! - **Writing** (`json.dumps`): keys sorted by code point at every depth, floats as Python's
//!   `repr`, non-ASCII escaped as `\uXXXX` (lower-case hex, astral characters as surrogate
//!   pairs).
//!
//! ```
//! let hash = torghut_hash::decision_hash_from_json(
//!     r#"{"strategy_id": "s1", "symbol": "AAPL", "event_ts": "2026-02-10T00:00:00Z",
//!         "timeframe": "1Min", "action": "buy", "qty": "1.0",
//!         "params": {"signal": "macd", "threshold": 1.5}}"#,
//! )
//! .unwrap();
//! assert_eq!(hash, "8c1f8a6404e333aeb0aed7a8c51336ce03d3afe26f55d79241ff00e8e34b8294");
//! ```

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod canonical;
mod datetime;
mod decimal;
mod decision;
mod error;
mod float_repr;
mod json;
mod pystr;
mod unicode;

use std::io::{self, BufRead, Write};

use sha2::{Digest, Sha256};

pub use datetime::PyDateTime;
pub use decision::HashedFields;
pub use error::HashError;
pub use json::MAX_DEPTH;

/// The decision hash (lower-case hex SHA-256) of one decision given as JSON text.
///
/// # Errors
///
/// [`HashError`] when the text is not JSON that Python reads, is not an object, or a field is
/// missing or not acceptable to the old service's model. The error names the field (see
/// [`HashError::field`]) or the byte offset and JSON path of malformed JSON.
pub fn decision_hash_from_json(text: &str) -> Result<String, HashError> {
    let canonical = canonical_text(text)?;
    Ok(hex::encode(Sha256::digest(canonical.as_bytes())))
}

/// A string validated as pydantic v2 validates a `datetime` from a Python string in lax mode
/// (the rules of `event_ts` above; the old service's `datetime` query parameters too), or
/// `None` when pydantic refuses it.
///
/// ```
/// let dt = torghut_hash::parse_datetime("2026-02-10T14:30:00.25+05:30").unwrap();
/// assert_eq!(dt.offset_seconds(), Some(19_800));
/// assert_eq!(dt.to_string(), "2026-02-10T14:30:00.250000+05:30");
/// let date = torghut_hash::parse_datetime("2026-02-10").unwrap();
/// assert_eq!((date.hour(), date.offset_seconds()), (0, None));
/// let unix = torghut_hash::parse_datetime("1770733800123").unwrap();
/// assert_eq!(unix.to_string(), "2026-02-10T14:30:00.123000+00:00");
/// assert!(torghut_hash::parse_datetime("2026-02-10T14:30:00+05").is_none());
/// ```
pub fn parse_datetime(text: &str) -> Option<PyDateTime> {
    PyDateTime::from_text(&pystr::PyStr::from(text)).ok()
}

/// Appends Python's `repr(x)` of a float (`1.5`, `100.0`, `1e-05`, `1.2345678901234568e+29`),
/// which is also how `json.dumps` writes a finite float; non-finite values are written as
/// `repr` writes them (`nan`, `inf`, `-inf`).
///
/// ```
/// let mut out = String::new();
/// torghut_hash::write_float_repr(&mut out, 0.00001);
/// assert_eq!(out, "1e-05");
/// ```
pub fn write_float_repr(out: &mut String, x: f64) {
    float_repr::write_repr(out, x);
}

/// The exact text whose SHA-256 is the decision hash (printable ASCII only), for debugging.
///
/// ```
/// let text = torghut_hash::canonical_text(
///     r#"{"strategy_id": "s1", "symbol": "ÄPPL", "event_ts": "2026-02-10T14:30:00+05:30",
///         "timeframe": "1Day", "action": "buy", "qty": 10, "params": {"n": [2.0, 1e-07]}}"#,
/// )
/// .unwrap();
/// assert_eq!(
///     text,
///     r#"{"action":"buy","event_ts":"2026-02-10T14:30:00+05:30","limit_price":null,"order_type":"market","params":{"n":[2.0,1e-07]},"qty":"10","stop_price":null,"strategy_id":"s1","symbol":"\u00c4PPL","time_in_force":"day","timeframe":"1Day"}"#
/// );
/// ```
///
/// # Errors
///
/// As for [`decision_hash_from_json`].
pub fn canonical_text(text: &str) -> Result<String, HashError> {
    decision::canonical_text(text)
}

/// [`canonical_text`] and the hashed fields as it wrote them (one pass: the store keeps the
/// fields exactly as they were hashed without reading the text back).
///
/// # Errors
///
/// As for [`decision_hash_from_json`].
pub fn canonical(text: &str) -> Result<(String, HashedFields), HashError> {
    decision::canonical(text)
}

/// Hashes JSON Lines: one decision per line of `input`.
///
/// For each line that holds a valid decision, writes its hash and a newline to `out`. For each
/// line that does not, writes `line N: <error>` (N counts from 1, the error names the field or
/// the JSON position at fault) to `err` and goes on with the next line. Blank lines (empty or
/// only spaces, tabs and carriage returns) are skipped silently but still counted. A line that
/// is not UTF-8 is reported as an error.
///
/// Returns `Ok(true)` when every non-blank line was hashed, `Ok(false)` when any was rejected.
///
/// # Errors
///
/// Only I/O errors from reading `input` or writing `out` and `err`.
pub fn hash_lines<R: BufRead, W: Write, E: Write>(
    mut input: R,
    mut out: W,
    mut err: E,
) -> io::Result<bool> {
    let mut all_hashed = true;
    let mut buf = Vec::new();
    let mut line_number: u64 = 0;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_number += 1;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            continue;
        }
        let result = match std::str::from_utf8(line) {
            Ok(text) => decision_hash_from_json(text).map_err(|e| e.to_string()),
            Err(e) => Err(format!("not UTF-8 (at byte {})", e.valid_up_to())),
        };
        match result {
            Ok(hash) => writeln!(out, "{hash}")?,
            Err(message) => {
                all_hashed = false;
                writeln!(err, "line {line_number}: {message}")?;
            }
        }
    }
    out.flush()?;
    err.flush()?;
    Ok(all_hashed)
}
