//! Input checks shared by the modules, and database error inspection.

use rust_decimal::Decimal;
use tokio_postgres::error::SqlState;
use torghut_json::{AuditJson, JsonError, JsonPolicy};

/// A refused input field: which one and why (never its value when it could be a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl FieldProblem {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A text value for a `varchar(max)` column: no NUL, at most `max` characters, optionally
/// not empty.
pub(crate) fn varchar(
    field: &'static str,
    value: &str,
    max: usize,
    non_empty: bool,
) -> Result<(), FieldProblem> {
    if non_empty && value.is_empty() {
        return Err(FieldProblem::new(field, "must not be empty"));
    }
    text(field, value)?;
    let n = value.chars().count();
    if n > max {
        return Err(FieldProblem::new(
            field,
            format!("{n} characters, at most {max} allowed"),
        ));
    }
    Ok(())
}

/// A value for a `text` column: no NUL character (PostgreSQL refuses it in text).
pub(crate) fn text(field: &'static str, value: &str) -> Result<(), FieldProblem> {
    if value.contains('\0') {
        return Err(FieldProblem::new(
            field,
            "contains a NUL character, which PostgreSQL text cannot hold",
        ));
    }
    Ok(())
}

/// A value for a `numeric(precision, scale)` column, which must hold it exactly: at most `scale`
/// decimal places (trailing zeros aside: `1.500000000` is `1.5`) and `precision - scale` integer
/// digits. PostgreSQL would round the fraction silently; nothing is rounded here, the value is
/// refused, naming the column's limit.
pub(crate) fn numeric(
    field: &'static str,
    value: &Decimal,
    precision: u32,
    scale: u32,
) -> Result<(), FieldProblem> {
    let exact = value.normalize();
    if exact.scale() > scale {
        return Err(FieldProblem::new(
            field,
            format!(
                "{value} has more than {scale} decimal places: numeric({precision},{scale}) cannot \
                 hold it exactly"
            ),
        ));
    }
    if exact.abs() >= Decimal::from(10u64.pow(precision - scale)) {
        return Err(FieldProblem::new(
            field,
            format!(
                "out of range for numeric({precision},{scale}): at most {} integer digits",
                precision - scale
            ),
        ));
    }
    Ok(())
}

/// A JSON payload for a jsonb column, from the caller's text.
pub(crate) fn payload(raw: &str, policy: &JsonPolicy) -> Result<AuditJson, JsonError> {
    AuditJson::from_text(raw, policy).map(|(json, _redactions)| json)
}

/// The SQLSTATE and constraint (or unique index) name of a database error.
pub(crate) fn db_error(e: &tokio_postgres::Error) -> Option<(&SqlState, Option<&str>)> {
    e.as_db_error().map(|d| (d.code(), d.constraint()))
}

/// A database error as one line for messages: the server's message, SQLSTATE and constraint,
/// then its detail, when the server sent them; otherwise the client's error.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => {
            let mut s = match d.constraint() {
                Some(c) => format!("{} ({}, constraint {c})", d.message(), d.code().code()),
                None => format!("{} ({})", d.message(), d.code().code()),
            };
            if let Some(detail) = d.detail() {
                s.push_str(": ");
                s.push_str(detail);
            }
            s
        }
        None => e.to_string(),
    }
}

/// Whether `e` is a violation of `constraint` (any kind: unique, foreign key, check).
pub(crate) fn violates(e: &tokio_postgres::Error, constraint: &str) -> bool {
    matches!(db_error(e), Some((_, Some(c))) if c == constraint)
}

/// Whether `e` is worth retrying the whole transaction for: a serialization failure or a
/// deadlock.
pub(crate) fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        db_error(e),
        Some((code, _)) if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// A decimal from text: a JSON string (`"1.50"`, `"1E-8"`) or a number's text, plain or
/// scientific; never NaN or infinite. The one parser of decimals of the store and the service.
///
/// The grammar is strict, that of a JSON number with leading zeros allowed:
/// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`, at most 64 characters. No white space, no `+` sign,
/// no digit separators, no `.5` or `5.`.
pub fn parse_decimal(t: &str) -> Option<Decimal> {
    if t.is_empty() || t.len() > 64 || !decimal_grammar(t.as_bytes()) {
        return None;
    }
    let parse = |t: &str| {
        if t.contains(['e', 'E']) {
            Decimal::from_scientific(t).ok()
        } else {
            Decimal::from_str_exact(t).ok()
        }
    };
    // Zeros that do not change the value (`007`, `1.50000000000000000000000000000`) can take a
    // text past the 28 digits a `Decimal` holds: read it again without them.
    parse(t).or_else(|| parse(&without_idle_zeros(t)))
}

/// `t` (in the grammar of [`parse_decimal`]) without leading zeros of its integer part and
/// trailing zeros of its fraction: the same value, fewer digits.
fn without_idle_zeros(t: &str) -> String {
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", t),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    if int.is_empty() && frac.is_empty() {
        // Zero, whatever its exponent (`0E-60`).
        return format!("{sign}0");
    }
    let int = if int.is_empty() { "0" } else { int };
    let dot = if frac.is_empty() { "" } else { "." };
    format!("{sign}{int}{dot}{frac}{exponent}")
}

/// Whether `b` is `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn decimal_grammar(b: &[u8]) -> bool {
    fn digits(b: &[u8]) -> (usize, &[u8]) {
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        (n, &b[n..])
    }
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let (n, mut rest) = digits(b);
    if n == 0 {
        return false;
    }
    if let Some(r) = rest.strip_prefix(b".") {
        let (n, r) = digits(r);
        if n == 0 {
            return false;
        }
        rest = r;
    }
    if let Some(r) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let r = r
            .strip_prefix(b"+")
            .or_else(|| r.strip_prefix(b"-"))
            .unwrap_or(r);
        let (n, r) = digits(r);
        if n == 0 {
            return false;
        }
        rest = r;
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("1.50").unwrap().to_string(), "1.50");
        assert_eq!(parse_decimal("1E-8").unwrap().to_string(), "0.00000001");
        assert_eq!(parse_decimal("1e2").unwrap().to_string(), "100");
        assert!(parse_decimal("abc").is_none());
        assert!(parse_decimal("").is_none());
        assert!(parse_decimal("NaN").is_none());
        assert_eq!(parse_decimal("0E-8").unwrap().to_string(), "0.00000000");
        assert_eq!(parse_decimal("-007.50").unwrap().to_string(), "-7.50");
        let long = "3900780.00960580000000000000000000";
        assert_eq!(
            parse_decimal(long).unwrap().normalize().to_string(),
            "3900780.0096058"
        );
        let zeros = "00000000000000000000000000000000001.5";
        assert_eq!(parse_decimal(zeros).unwrap().to_string(), "1.5");
        assert!(parse_decimal("-0E-60").unwrap().is_zero());
        assert!(parse_decimal("1E-60").is_none());
        for bad in [
            " 1", "1 ", "+1", "1_000", ".5", "5.", "1e", "1e+", "--1", "1.2.3", "0x10",
        ] {
            assert!(parse_decimal(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn numeric_range() {
        let ok = Decimal::from_str_exact("999999999999.99999999").unwrap();
        assert!(numeric("x", &ok, 20, 8).is_ok());
        let too_big = Decimal::from_str_exact("1000000000000").unwrap();
        assert_eq!(numeric("x", &too_big, 20, 8).unwrap_err().field, "x");
        // Never rounded: more decimal places than the column has are refused.
        let too_fine = Decimal::from_str_exact("0.99995").unwrap();
        assert!(numeric("c", &too_fine, 6, 4)
            .unwrap_err()
            .message
            .contains("more than 4 decimal places"));
        let nine = Decimal::from_str_exact("0.123456789").unwrap();
        assert!(numeric("qty", &nine, 20, 8).is_err());
        // Trailing zeros are not digits the column would lose.
        let zeros = Decimal::from_str_exact("1.500000000000").unwrap();
        assert!(numeric("qty", &zeros, 20, 8).is_ok());
        assert!(numeric("c", &Decimal::from_str_exact("0.9999").unwrap(), 6, 4).is_ok());
    }
}
