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
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    if t.contains(['e', 'E']) {
        Decimal::from_scientific(t).ok()
    } else {
        Decimal::from_str_exact(t).ok()
    }
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
