//! Python's `repr(float)`, and how `json.dumps` writes floats.

/// Appends Python's `repr(x)` for a finite `x`: the shortest digits that read back as `x`,
/// written positionally (`0.0001`, `100.0`, `-0.0`) when the decimal exponent is in
/// `-4..16`, and otherwise in exponent form with a sign and at least two exponent digits
/// (`1e-05`, `1e+16`, `1.2345678901234568e+17`).
///
/// Non-finite values are written as Python's `repr` writes them (`inf`, `-inf`, `nan`); use
/// [`write_json_float`] for JSON output.
pub(crate) fn write_repr(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x < 0.0 { "-inf" } else { "inf" });
        return;
    }
    let (digits, exponent) = shortest_digits(x.abs());
    // Python's `decpt`: the value is 0.DIGITS * 10**decpt.
    let decpt = exponent + 1;
    if x.is_sign_negative() {
        out.push('-');
    }
    let n = digits.len() as i32;
    if !(-4 < decpt && decpt <= 16) {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        let magnitude = e.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in 0..-decpt {
            out.push('0');
        }
        out.push_str(&digits);
    } else if decpt >= n {
        out.push_str(&digits);
        for _ in 0..decpt - n {
            out.push('0');
        }
        out.push_str(".0");
    } else {
        let (int_part, frac_part) = digits.split_at(decpt as usize);
        out.push_str(int_part);
        out.push('.');
        out.push_str(frac_part);
    }
}

/// Splits Rust's `{:e}` output (`d.ddde<exp>`) into its digits and decimal exponent.
fn split_sci(sci: &str) -> (String, i32) {
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

/// The shortest digits that read back as `x` (finite, not negative), and the decimal exponent of
/// the first digit, choosing among equally short candidates the one closest to `x` and, when two
/// are exactly as close, the one with an even last digit, as CPython's `dtoa` (mode 0) does.
///
/// Rust's shortest formatting agrees except on those exact ties, where it rounds up: for
/// 70516814153683.625 it gives `...683.63` where Python gives `...683.62`.
fn shortest_digits(x: f64) -> (String, i32) {
    let (digits, exponent) = split_sci(&format!("{x:e}"));
    let n = digits.len();
    // A tie between two n-digit candidates means that `x` is exactly their midpoint, a decimal
    // of n + 1 significant digits ending in 5.
    let (near, near_exponent) = split_sci(&format!("{x:.n$e}"));
    if near_exponent != exponent || !near.ends_with('5') {
        return (digits, exponent);
    }
    let low = &near[..n];
    if low != digits && !is_predecessor(low, &digits) {
        return (digits, exponent);
    }
    let (exact, _) = split_sci(&format!("{x:.1100e}"));
    if exact[n + 1..].bytes().any(|b| b != b'0') {
        return (digits, exponent);
    }
    let last = low.as_bytes()[n - 1];
    if last == b'9' {
        return (digits, exponent);
    }
    let even = if (last - b'0').is_multiple_of(2) {
        low.to_owned()
    } else {
        let mut high = low.as_bytes().to_vec();
        high[n - 1] = last + 1;
        String::from_utf8(high).unwrap_or_else(|_| digits.clone())
    };
    let reads_back = format!("{}.{}e{exponent}", &even[..1], &even[1..])
        .parse::<f64>()
        .is_ok_and(|y| y == x);
    if reads_back {
        (even, exponent)
    } else {
        (digits, exponent)
    }
}

/// Whether `a` is `b` with its last digit one lower (both the same length, no borrow).
fn is_predecessor(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len()
        && !a.is_empty()
        && a[..a.len() - 1] == b[..b.len() - 1]
        && a[a.len() - 1] + 1 == b[b.len() - 1]
}

/// Appends a float as `json.dumps` writes it: `repr` for finite values, and `NaN`,
/// `Infinity`, `-Infinity` otherwise (Python's default `allow_nan=True`).
pub(crate) fn write_json_float(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x == f64::INFINITY {
        out.push_str("Infinity");
    } else if x == f64::NEG_INFINITY {
        out.push_str("-Infinity");
    } else {
        write_repr(out, x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(x: f64) -> String {
        let mut s = String::new();
        write_repr(&mut s, x);
        s
    }

    fn json(x: f64) -> String {
        let mut s = String::new();
        write_json_float(&mut s, x);
        s
    }

    #[test]
    fn matches_python_repr() {
        for (x, expected) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1.5, "1.5"),
            (-292.3829564250642, "-292.3829564250642"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (0.00001, "1e-05"),
            (1e-7, "1e-07"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e16, "1e+16"),
            (1e22, "1e+22"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1e100, "1e+100"),
            (-1e-100, "-1e-100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (123.456, "123.456"),
            // Exact ties between two shortest candidates go to the even digit.
            // 70516814153683.625 and 1471111860459581.25, written exactly.
            (564_134_513_229_469.0 / 8.0, "70516814153683.62"),
            (5_884_447_441_838_325.0 / 4.0, "1471111860459581.2"),
            (0.1 + 0.2, "0.30000000000000004"),
            (2f64.powi(53), "9007199254740992.0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(repr(x), expected, "{x:e}");
        }
    }

    #[test]
    fn writes_non_finite_values_as_json_dumps_does() {
        assert_eq!(json(f64::INFINITY), "Infinity");
        assert_eq!(json(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(json(f64::NAN), "NaN");
        assert_eq!(json(-0.0), "-0.0");
        assert_eq!(json(1e-7), "1e-07");
    }
}
