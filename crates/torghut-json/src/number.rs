//! JSON numbers as exact decimals: the grammar, exact comparison, and the text PostgreSQL's
//! `numeric` (which jsonb uses for every number) gives back.
//!
//! No number ever goes through `f64` here. A number is kept as the digits it was written with;
//! comparison and conversion work on those digits and a decimal exponent.

/// Most digits before the decimal point that `numeric` stores (weight up to 32767 base-10000
/// digits).
pub(crate) const NUMERIC_MAX_INT_DIGITS: usize = 131_072;
/// Most digits after the decimal point that `numeric` stores (its display scale is 14 bits).
pub(crate) const NUMERIC_MAX_SCALE: usize = 16_383;
/// Exponents are read up to this magnitude; anything larger is far outside `numeric` anyway
/// (and is flagged as saturated so that nothing is computed from a clamped value).
const EXP_LIMIT: i64 = 1_000_000_000_000_000;

/// A number's text split by the JSON grammar
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    pub neg: bool,
    pub int: &'a str,
    pub frac: &'a str,
    /// The exponent, clamped to `±EXP_LIMIT`.
    pub exp: i64,
    /// The exponent's magnitude exceeded `EXP_LIMIT`.
    pub exp_saturated: bool,
}

/// Splits `s` if the whole of it is one JSON number.
pub(crate) fn parts(s: &str) -> Option<Parts<'_>> {
    let b = s.as_bytes();
    let mut i = 0;
    let neg = b.first() == Some(&b'-');
    if neg {
        i += 1;
    }
    let int_start = i;
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return None,
    }
    let int = &s[int_start..i];
    let mut frac = "";
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return None;
        }
        frac = &s[start..i];
    }
    let mut exp: i64 = 0;
    let mut exp_saturated = false;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let exp_neg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while let Some(&d) = b.get(i) {
            if !d.is_ascii_digit() {
                break;
            }
            if !exp_saturated {
                exp = exp * 10 + i64::from(d - b'0');
                if exp > EXP_LIMIT {
                    exp = EXP_LIMIT;
                    exp_saturated = true;
                }
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        if exp_neg {
            exp = -exp;
        }
    }
    if i != b.len() {
        return None;
    }
    Some(Parts {
        neg,
        int,
        frac,
        exp,
        exp_saturated,
    })
}

/// Whether `s` is exactly one JSON number.
pub(crate) fn is_json_number(s: &str) -> bool {
    parts(s).is_some()
}

/// The number is outside what PostgreSQL's `numeric` can store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfRange;

/// The text PostgreSQL's `numeric` prints for this number: plain decimal notation (no
/// exponent), no leading zeros, no sign on zero, and as many fraction digits as the number's
/// display scale, which is `max(0, fraction digits - exponent)`. So `1e2` is `100`, `1.50`
/// stays `1.50`, `1.5e1` is `15`, `-0` is `0`, `1e-2` is `0.01`.
///
/// Writing numbers this way sends the exact value, is what jsonb stores and returns, and does
/// not depend on how a server version treats large exponents in its input.
pub(crate) fn pg_numeric_text(p: &Parts<'_>) -> Result<String, OutOfRange> {
    let int_sig = p.int.trim_start_matches('0');
    let zero = int_sig.is_empty() && p.frac.bytes().all(|d| d == b'0');
    let frac_len = i64::try_from(p.frac.len()).map_err(|_| OutOfRange)?;
    if p.exp_saturated {
        // Only a zero with a huge positive exponent is representable (as plain 0).
        return if zero && p.exp > 0 {
            Ok("0".to_owned())
        } else {
            Err(OutOfRange)
        };
    }
    let scale = (frac_len - p.exp).max(0);
    if scale > NUMERIC_MAX_SCALE as i64 {
        return Err(OutOfRange);
    }
    // All digits, leading zeros removed: the unscaled value is `sig × 10^(exp - frac_len)`.
    let mut sig = String::with_capacity(p.int.len() + p.frac.len());
    sig.push_str(p.int);
    sig.push_str(p.frac);
    let sig = sig.trim_start_matches('0');
    let mut out = String::new();
    if p.neg && !zero {
        out.push('-');
    }
    if p.exp >= frac_len {
        let zeros = usize::try_from(p.exp - frac_len).map_err(|_| OutOfRange)?;
        if zero {
            out.push('0');
        } else {
            if sig.len().saturating_add(zeros) > NUMERIC_MAX_INT_DIGITS {
                return Err(OutOfRange);
            }
            out.reserve(sig.len() + zeros);
            out.push_str(sig);
            out.extend(std::iter::repeat_n('0', zeros));
        }
    } else {
        let scale = usize::try_from(scale).map_err(|_| OutOfRange)?;
        if sig.len() > scale {
            let int_digits = sig.len() - scale;
            if int_digits > NUMERIC_MAX_INT_DIGITS {
                return Err(OutOfRange);
            }
            out.push_str(&sig[..int_digits]);
            out.push('.');
            out.push_str(&sig[int_digits..]);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', scale - sig.len()));
            out.push_str(sig);
        }
    }
    Ok(out)
}

/// A number reduced for exact comparison: `(-1)^neg × digits × 10^power`, with `digits` free of
/// leading and trailing zeros (empty for zero, which has no sign).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Normal {
    neg: bool,
    digits: String,
    power: i64,
}

fn normal(p: &Parts<'_>) -> Option<Normal> {
    let mut all = String::with_capacity(p.int.len() + p.frac.len());
    all.push_str(p.int);
    all.push_str(p.frac);
    let lead = all.trim_start_matches('0');
    let digits = lead.trim_end_matches('0');
    if digits.is_empty() {
        return Some(Normal {
            neg: false,
            digits: String::new(),
            power: 0,
        });
    }
    if p.exp_saturated {
        return None;
    }
    let trailing = i64::try_from(lead.len() - digits.len()).ok()?;
    let frac_len = i64::try_from(p.frac.len()).ok()?;
    Some(Normal {
        neg: p.neg,
        digits: digits.to_owned(),
        power: p.exp - frac_len + trailing,
    })
}

/// Exact equality of two JSON number texts as decimal values (`1e2 == 100 == 100.00`,
/// `-0 == 0`). Texts that are not JSON numbers are equal only if identical; so are numbers
/// whose exponent is beyond `±10^15` (unless they are zero).
pub(crate) fn numbers_eq(a: &str, b: &str) -> bool {
    match (parts(a), parts(b)) {
        (Some(pa), Some(pb)) => match (normal(&pa), normal(&pb)) {
            (Some(na), Some(nb)) => na == nb,
            _ => a == b,
        },
        _ => a == b,
    }
}

/// Whether the number text is an integer that fits `i64` or `u64` (so that `serde_json` holds
/// it exactly), written in plain form.
pub(crate) fn as_i64_or_u64(s: &str) -> Option<serde_json::Number> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(i.into());
    }
    s.parse::<u64>().ok().map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(s: &str) -> Result<String, OutOfRange> {
        pg_numeric_text(&parts(s).expect("valid number"))
    }

    #[test]
    fn grammar() {
        for ok in [
            "0",
            "-0",
            "1",
            "10",
            "1.5",
            "1e5",
            "1E+5",
            "1e-5",
            "-0.0e0",
            "123456789012345678901234567890",
        ] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "+1", "1e", "1e+", "0x10", "1.5.5", "NaN", "1 ", " 1",
            "--1", "1e5e5",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn postgres_text() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("-0.0", "0.0"),
            ("1e2", "100"),
            ("1.0", "1.0"),
            ("1.50", "1.50"),
            ("1.5e1", "15"),
            ("1.25e1", "12.5"),
            ("0.001e2", "0.1"),
            ("123e-5", "0.00123"),
            ("-123e-5", "-0.00123"),
            ("0e-3", "0.000"),
            ("0e5", "0"),
            ("0e99999999999999999999999", "0"),
            ("00", "0"),
            ("1.000e3", "1000"),
            ("1.0000e3", "1000.0"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
        ];
        for (input, want) in cases {
            if is_json_number(input) {
                assert_eq!(pg(input).unwrap(), want, "{input}");
            }
        }
        assert!(pg("1e131071").is_ok());
        assert_eq!(pg("1e131072"), Err(OutOfRange));
        assert!(pg("1e-16383").is_ok());
        assert_eq!(pg("1e-16384"), Err(OutOfRange));
        assert_eq!(pg("0e-16384"), Err(OutOfRange));
        assert_eq!(pg("1e99999999999999999999999"), Err(OutOfRange));
        assert_eq!(pg("1e-99999999999999999999999"), Err(OutOfRange));
    }

    #[test]
    fn exact_equality() {
        assert!(numbers_eq("1e2", "100"));
        assert!(numbers_eq("100.000", "1e2"));
        assert!(numbers_eq("-0", "0.0e7"));
        assert!(numbers_eq("0.1", "1e-1"));
        assert!(numbers_eq(
            "12345678901234567890123456789.0",
            "1.23456789012345678901234567890e28"
        ));
        assert!(!numbers_eq("0.1", "0.10000000000000001"));
        assert!(!numbers_eq("1", "-1"));
        assert!(!numbers_eq(
            "1e99999999999999999999",
            "1e99999999999999999998"
        ));
        assert!(numbers_eq(
            "1e99999999999999999999",
            "1e99999999999999999999"
        ));
    }
}
