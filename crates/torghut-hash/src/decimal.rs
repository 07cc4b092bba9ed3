//! Python's `decimal.Decimal`: construction from text, int and float, and `str()`.
//!
//! Only what the hash needs is modelled: a finite decimal is a sign, a coefficient (its decimal
//! digits, kept exactly as written apart from leading zeros) and an exponent. Construction from
//! text follows CPython's C implementation (`_decimal` with libmpdec):
//! - surrounding whitespace (Python's `str.isspace()`) is stripped and every `_` is dropped;
//! - any Unicode decimal digit counts as the digit of the same value (`"１.５"` is 1.5);
//! - the grammar is `[+|-] (digits [. [digits]] | . digits) [(e|E) [+|-] digits]`, plus the
//!   special values `Infinity`/`Inf`, `NaN` and `sNaN` (any case, NaNs with an optional digit
//!   payload), which are recognised but rejected as not finite;
//! - the value must be representable without rounding in libmpdec's largest context (adjusted
//!   exponent at most 999999999999999999, exponent at least -1999999999999999997), as
//!   `Decimal(str)` raises otherwise.

use std::fmt;

use crate::float_repr::write_repr;
use crate::pystr::PyStr;
use crate::unicode::{decimal_value, is_space};

/// libmpdec's `MPD_MAX_EMAX` (64-bit).
const EMAX: i128 = 999_999_999_999_999_999;
/// libmpdec's `MPD_MIN_EMIN` (64-bit).
const EMIN: i128 = -999_999_999_999_999_999;
/// libmpdec's `MPD_MAX_PREC` (64-bit).
const MAX_PREC: i128 = 999_999_999_999_999_999;
/// The smallest exponent of a subnormal in the largest context: `EMIN - (MAX_PREC - 1)`.
const ETINY: i128 = EMIN - (MAX_PREC - 1);

/// Why a value is not an acceptable decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// `Decimal()` itself raises: not a number at all, or not exactly representable.
    Invalid,
    /// A NaN or an infinity, which the old service's model rejects.
    NotFinite,
}

/// A finite Python `Decimal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PyDecimal {
    negative: bool,
    /// The coefficient's digits, without leading zeros (`"0"` for zero).
    coefficient: String,
    exponent: i128,
}

impl PyDecimal {
    /// `Decimal(s)` for a Python string `s`.
    pub(crate) fn parse(s: &PyStr) -> Result<Self, DecimalError> {
        let cps: Vec<u32> = s.code_points().collect();
        let mut end = cps.len();
        while end > 0 && is_space(cps[end - 1]) {
            end -= 1;
        }
        let mut start = 0;
        while start < end && is_space(cps[start]) {
            start += 1;
        }
        let mut ascii = String::with_capacity(end - start);
        for &cp in &cps[start..end] {
            if cp == u32::from('_') {
                continue;
            }
            if (1..=127).contains(&cp) {
                ascii.push(char::from(cp as u8));
            } else if is_space(cp) {
                ascii.push(' ');
            } else {
                let digit = decimal_value(cp).ok_or(DecimalError::Invalid)?;
                ascii.push(char::from(b'0' + digit as u8));
            }
        }
        Self::parse_ascii(&ascii)
    }

    /// `Decimal(n)` for a Python int, given in canonical decimal form.
    pub(crate) fn from_int_text(text: &str) -> Self {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, text),
        };
        Self {
            negative,
            coefficient: digits.to_owned(),
            exponent: 0,
        }
    }

    /// `Decimal(str(x))` for a Python float, which is how the old service's model converts a
    /// JSON number with a fraction or exponent.
    pub(crate) fn from_float(x: f64) -> Result<Self, DecimalError> {
        if !x.is_finite() {
            return Err(DecimalError::NotFinite);
        }
        let mut repr = String::new();
        write_repr(&mut repr, x);
        Self::parse_ascii(&repr)
    }

    /// libmpdec's `mpd_qset_string` with the exactness check of `Decimal(str)`.
    fn parse_ascii(s: &str) -> Result<Self, DecimalError> {
        let (negative, body) = match s.as_bytes().first() {
            Some(b'+') => (false, &s[1..]),
            Some(b'-') => (true, &s[1..]),
            _ => (false, s),
        };
        let lower = body.to_ascii_lowercase();
        if let Some(payload) = lower
            .strip_prefix("snan")
            .or_else(|| lower.strip_prefix("nan"))
        {
            return Err(if payload.bytes().all(|b| b.is_ascii_digit()) {
                DecimalError::NotFinite
            } else {
                DecimalError::Invalid
            });
        }
        if let Some(rest) = lower.strip_prefix("inf") {
            return Err(if rest.is_empty() || rest == "inity" {
                DecimalError::NotFinite
            } else {
                DecimalError::Invalid
            });
        }

        let (mantissa, exponent_text) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part)
        {
            return Err(DecimalError::Invalid);
        }
        let mut exponent = match exponent_text {
            Some(text) => parse_exponent(text).ok_or(DecimalError::Invalid)?,
            None => 0,
        };
        exponent -= frac_part.len() as i128;

        let mut coefficient: String = int_part.chars().chain(frac_part.chars()).collect();
        let significant = coefficient.len() - coefficient.trim_start_matches('0').len();
        coefficient.drain(..significant.min(coefficient.len() - 1));

        let adjusted = exponent + coefficient.len() as i128 - 1;
        if adjusted > EMAX || (adjusted < EMIN && exponent < ETINY) {
            // Overflow, or rounding/clamping needed: `Decimal(str)` raises InvalidOperation.
            return Err(DecimalError::Invalid);
        }
        Ok(Self {
            negative,
            coefficient,
            exponent,
        })
    }
}

/// Parses `[+|-]digits` the way C's `strtoll` does, saturating at the `i64` range.
fn parse_exponent(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut magnitude: i128 = 0;
    for b in digits.bytes() {
        magnitude = (magnitude * 10 + i128::from(b - b'0')).min(i128::from(u64::MAX));
    }
    let value = if negative { -magnitude } else { magnitude };
    Some(value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)))
}

/// Python's `str(Decimal)`: positional notation when the exponent is at most 0 and the adjusted
/// exponent is at least -6, scientific notation (`1E+2`, `1.5E-7`) otherwise.
impl fmt::Display for PyDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = &self.coefficient;
        let n = digits.len() as i128;
        let left_digits = self.exponent + n;
        let dot_place = if self.exponent <= 0 && left_digits > -6 {
            left_digits
        } else {
            1
        };
        if self.negative {
            f.write_str("-")?;
        }
        if dot_place <= 0 {
            f.write_str("0.")?;
            for _ in 0..-dot_place {
                f.write_str("0")?;
            }
            f.write_str(digits)?;
        } else if dot_place >= n {
            f.write_str(digits)?;
            for _ in 0..dot_place - n {
                f.write_str("0")?;
            }
        } else {
            let (int_part, frac_part) = digits.split_at(dot_place as usize);
            write!(f, "{int_part}.{frac_part}")?;
        }
        if left_digits != dot_place {
            write!(f, "E{:+}", left_digits - dot_place)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_of(text: &str) -> Result<String, DecimalError> {
        PyDecimal::parse(&PyStr::from(text)).map(|d| d.to_string())
    }

    #[test]
    fn formats_like_python_str() {
        for (text, expected) in [
            ("1", "1"),
            ("1.0", "1.0"),
            ("1.50", "1.50"),
            ("101.250", "101.250"),
            ("0.00000001", "1E-8"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1E-7"),
            ("0.0000010", "0.0000010"),
            ("1E+2", "1E+2"),
            ("1e2", "1E+2"),
            ("100", "100"),
            ("1.5e3", "1.5E+3"),
            ("12345678.12345678", "12345678.12345678"),
            ("-0", "-0"),
            ("+0", "0"),
            ("-0.000", "-0.000"),
            ("0E+3", "0E+3"),
            ("0e-1000", "0E-1000"),
            ("00012.3400", "12.3400"),
            ("1e0", "1"),
            ("1e-0", "1"),
            ("1e+00005", "1E+5"),
            ("5.", "5"),
            (".5", "0.5"),
            ("+.5", "0.5"),
            ("-.5e-3", "-0.0005"),
            ("123e-8", "0.00000123"),
            ("123e-9", "1.23E-7"),
            ("1e999999999999999999", "1E+999999999999999999"),
            ("1e-999999999999999999", "1E-999999999999999999"),
            ("1e0000000000000000000000000000001", "1E+1"),
        ] {
            assert_eq!(str_of(text).as_deref(), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn accepts_what_cpython_accepts() {
        for (text, expected) in [
            ("1__0", "10"),
            ("_1", "1"),
            ("1_", "1"),
            ("1_.5", "1.5"),
            ("1e1_0", "1E+10"),
            ("1_000_000.000_1", "1000000.0001"),
            (" \u{2003} 1 \u{a0}", "1"),
            ("\t1\n", "1"),
            ("\u{1c}1\u{1f}", "1"),
            ("\u{85} 1", "1"),
            ("\u{661}\u{662}", "12"),
            ("\u{ff11}.\u{ff15}", "1.5"),
            ("\u{1d7cf}", "1"),
            ("\u{661}e\u{662}", "1E+2"),
        ] {
            assert_eq!(str_of(text).as_deref(), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn rejects_what_cpython_rejects() {
        for text in [
            "",
            "   ",
            ".",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1 2",
            "1.2.3",
            "+-1",
            "--1",
            "1\0",
            "\u{b2}",
            "1\u{200b}",
            "\u{feff}1",
            "0x10",
            "1e5e6",
            "1e5.0",
            "abc",
            "infinit",
            "nanx",
            "_ 1",
            "1e1000000000000000000",
            "1e-2000000000000000000",
            "0e1000000000000000000",
        ] {
            assert_eq!(str_of(text), Err(DecimalError::Invalid), "{text:?}");
        }
        for text in [
            "NaN",
            "nan",
            "-NaN",
            "NaN123",
            "sNaN",
            "snan5",
            "inf",
            "-Inf",
            "Infinity",
            "+INFINITY",
        ] {
            assert_eq!(str_of(text), Err(DecimalError::NotFinite), "{text:?}");
        }
        let mut lone = PyStr::from("1");
        lone.push_code_point(0xD800);
        assert_eq!(PyDecimal::parse(&lone), Err(DecimalError::Invalid));
    }

    #[test]
    fn converts_ints_and_floats_like_python() {
        assert_eq!(PyDecimal::from_int_text("10").to_string(), "10");
        assert_eq!(PyDecimal::from_int_text("-42").to_string(), "-42");
        assert_eq!(
            PyDecimal::from_int_text("12345678901234567890123").to_string(),
            "12345678901234567890123"
        );
        for (x, expected) in [
            (2.5, "2.5"),
            (1.1, "1.1"),
            (100.0, "100.0"),
            (1e-7, "1E-7"),
            (1e16, "1E+16"),
            (-0.0, "-0.0"),
            (12345678901234567890.0, "1.2345678901234567E+19"),
            (0.1, "0.1"),
        ] {
            assert_eq!(PyDecimal::from_float(x).unwrap().to_string(), expected);
        }
        assert_eq!(
            PyDecimal::from_float(f64::INFINITY),
            Err(DecimalError::NotFinite)
        );
        assert_eq!(
            PyDecimal::from_float(f64::NAN),
            Err(DecimalError::NotFinite)
        );
    }
}
