//! The `event_ts` field: pydantic v2's lax `datetime` validation, and Python's
//! `datetime.isoformat()`.
//!
//! Accepted input, as pydantic (with its `speedate` parser) accepts it from a decoded JSON value:
//! - a string `YYYY-MM-DD`, optionally followed by a separator (`T`, `t`, space or `_`) and a time
//!   `HH:MM`, `HH:MM:SS` or `HH:MM:SS.f` (`,` also separates the fraction; one or more digits,
//!   anything past six is truncated), then optionally `Z`/`z` or an offset `±HH:MM` or `±HHMM`
//!   (the sign may be U+2212 MINUS SIGN; hours up to 23). A date alone is midnight without an
//!   offset;
//! - a unix timestamp, as a JSON number or a numeric string; a magnitude above 2e10 counts as
//!   milliseconds. Timestamps are UTC (`+00:00`);
//! - years 1 to 9999 only.

use std::fmt;

use crate::pystr::PyStr;

/// Above this magnitude a unix timestamp is in milliseconds (speedate's `MS_WATERSHED`).
const MS_WATERSHED: i64 = 20_000_000_000;
/// 0001-01-01T00:00:00 as a unix timestamp.
const MIN_UNIX_SECONDS: i64 = -62_135_596_800;
/// 9999-12-31T23:59:59 as a unix timestamp.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// Why a value is not an acceptable `event_ts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateTimeError {
    /// Not a date-time in any accepted form.
    Invalid,
    /// A well-formed date-time or timestamp outside years 1 to 9999.
    OutOfRange,
}

/// A Python `datetime` as pydantic builds it from a string (the old service's model and its
/// `datetime` query parameters). `Display` is `datetime.isoformat()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyDateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    microsecond: u32,
    /// The UTC offset in seconds, or `None` for a naive date-time.
    offset: Option<i32>,
}

impl PyDateTime {
    /// The year (1 to 9999).
    pub fn year(&self) -> i32 {
        // Validation keeps the year in 1..=9999.
        self.year as i32
    }

    /// The month (1 to 12).
    pub fn month(&self) -> u32 {
        self.month
    }

    /// The day of the month.
    pub fn day(&self) -> u32 {
        self.day
    }

    /// The hour (0 to 23).
    pub fn hour(&self) -> u32 {
        self.hour
    }

    /// The minute (0 to 59).
    pub fn minute(&self) -> u32 {
        self.minute
    }

    /// The second (0 to 59).
    pub fn second(&self) -> u32 {
        self.second
    }

    /// The microsecond (0 to 999999).
    pub fn microsecond(&self) -> u32 {
        self.microsecond
    }

    /// The UTC offset in seconds, or `None` for a naive date-time.
    pub fn offset_seconds(&self) -> Option<i32> {
        self.offset
    }

    /// Validates a JSON string.
    pub(crate) fn from_text(s: &PyStr) -> Result<Self, DateTimeError> {
        let text = s.as_str().ok_or(DateTimeError::Invalid)?;
        let bytes = text.as_bytes();
        if let Some(dt) = parse_iso(bytes) {
            return if dt.year >= 1 {
                Ok(dt)
            } else {
                Err(DateTimeError::OutOfRange)
            };
        }
        match parse_numeric(bytes) {
            Some(Numeric::Int(ts)) => from_timestamp(ts, 0),
            Some(Numeric::Float(ts)) => {
                let normalized = if ts.abs() > MS_WATERSHED as f64 {
                    ts / 1000.0
                } else {
                    ts
                };
                let seconds = normalized.floor() as i64;
                let micros = ((normalized - seconds as f64) * 1_000_000.0).round() as u32;
                from_timestamp(seconds, micros)
            }
            None => Err(DateTimeError::Invalid),
        }
    }

    /// Validates a JSON integer (canonical decimal text) as a unix timestamp.
    pub(crate) fn from_int_text(text: &str) -> Result<Self, DateTimeError> {
        let ts: i64 = text.parse().map_err(|_| DateTimeError::OutOfRange)?;
        from_timestamp(ts, 0)
    }

    /// Validates a JSON float as a unix timestamp.
    pub(crate) fn from_float(ts: f64) -> Result<Self, DateTimeError> {
        if ts.is_nan() {
            return Err(DateTimeError::Invalid);
        }
        let mut micros = ts.fract().abs() * 1_000_000.0;
        if ts.abs() > MS_WATERSHED as f64 {
            micros /= 1000.0;
        }
        // Float-to-int casts saturate (infinities included), like the Rust code in pydantic.
        from_timestamp(ts.floor() as i64, micros.round() as u32)
    }
}

/// Python's `datetime.isoformat()`.
impl fmt::Display for PyDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.microsecond != 0 {
            write!(f, ".{:06}", self.microsecond)?;
        }
        if let Some(offset) = self.offset {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)?;
            if abs % 60 != 0 {
                write!(f, ":{:02}", abs % 60)?;
            }
        }
        Ok(())
    }
}

/// speedate's date-time grammar; `None` when `bytes` does not match it or names an impossible
/// date or time.
fn parse_iso(bytes: &[u8]) -> Option<PyDateTime> {
    let digits = |at: usize, n: usize| -> Option<u32> {
        let part = bytes.get(at..at + n)?;
        part.iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let year = digits(0, 4)?;
    let month = digits(5, 2)?;
    let day = digits(8, 2)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(i64::from(year), month) {
        return None;
    }
    let mut dt = PyDateTime {
        year: i64::from(year),
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        microsecond: 0,
        offset: None,
    };
    if bytes.len() == 10 {
        return Some(dt);
    }
    if !matches!(bytes[10], b'T' | b't' | b' ' | b'_') {
        return None;
    }
    dt.hour = digits(11, 2)?;
    dt.minute = digits(14, 2)?;
    if bytes.get(13) != Some(&b':') || dt.hour > 23 || dt.minute > 59 {
        return None;
    }
    let mut pos = 16;
    if bytes.get(pos) == Some(&b':') {
        dt.second = digits(pos + 1, 2)?;
        if dt.second > 59 {
            return None;
        }
        pos += 3;
        if let Some(b'.' | b',') = bytes.get(pos) {
            pos += 1;
            let start = pos;
            while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
                if pos - start < 6 {
                    dt.microsecond = dt.microsecond * 10 + u32::from(bytes[pos] - b'0');
                }
                pos += 1;
            }
            let used = (pos - start).min(6);
            if used == 0 {
                return None;
            }
            dt.microsecond *= 10u32.pow(6 - used as u32);
        }
    }
    let rest = &bytes[pos..];
    dt.offset = match rest {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        _ => {
            let (negative, tz) = match rest {
                [b'+', tz @ ..] => (false, tz),
                [b'-', tz @ ..] => (true, tz),
                [0xE2, 0x88, 0x92, tz @ ..] => (true, tz), // U+2212 MINUS SIGN
                _ => return None,
            };
            let two = |part: &[u8]| -> Option<u32> {
                match part {
                    [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
                        Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
                    }
                    _ => None,
                }
            };
            let (hours, minutes) = match tz {
                [h @ .., b':', m1, m2] if h.len() == 2 => (two(h)?, two(&[*m1, *m2])?),
                [h1, h2, m1, m2] => (two(&[*h1, *h2])?, two(&[*m1, *m2])?),
                _ => return None,
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            Some(if negative { -seconds } else { seconds })
        }
    };
    Some(dt)
}

/// A numeric string, as speedate reads one.
enum Numeric {
    Int(i64),
    Float(f64),
}

/// speedate's `float_parse_bytes`: text holding a `.` must be a float literal
/// (`[+|-](digits.[digits] | .digits)[(e|E)[+|-]digits]`); other text must be `[+|-]digits`
/// fitting an `i64`.
fn parse_numeric(bytes: &[u8]) -> Option<Numeric> {
    let (negative, body) = match bytes {
        [b'-', body @ ..] => (true, body),
        [b'+', body @ ..] => (false, body),
        _ => (false, bytes),
    };
    if bytes.contains(&b'.') {
        let (mantissa, exponent) = match body.iter().position(|&b| b == b'e' || b == b'E') {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let dot = mantissa.iter().position(|&b| b == b'.')?;
        let (int_part, frac_part) = (&mantissa[..dot], &mantissa[dot + 1..]);
        let all_digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part)
        {
            return None;
        }
        if let Some(exponent) = exponent {
            let digits = exponent
                .strip_prefix(b"+")
                .or_else(|| exponent.strip_prefix(b"-"))
                .unwrap_or(exponent);
            if digits.is_empty() || !all_digits(digits) {
                return None;
            }
        }
        // The text is ASCII by now, and `f64::from_str` accepts this grammar.
        let text = std::str::from_utf8(bytes).ok()?;
        return text.parse::<f64>().ok().map(Numeric::Float);
    }
    if body.is_empty() || !body.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: i64 = 0;
    for &b in body {
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(Numeric::Int(if negative { -value } else { value }))
}

/// speedate's `DateTime::from_timestamp` with a UTC offset, limited to what Python's `datetime`
/// can hold.
fn from_timestamp(timestamp: i64, extra_micros: u32) -> Result<PyDateTime, DateTimeError> {
    let abs = timestamp.checked_abs().ok_or(DateTimeError::OutOfRange)?;
    let (mut seconds, ms_micros) = if abs <= MS_WATERSHED {
        (timestamp, 0)
    } else {
        (
            timestamp.div_euclid(1000),
            (timestamp.rem_euclid(1000) * 1000) as u32,
        )
    };
    let mut micros = extra_micros
        .checked_add(ms_micros)
        .ok_or(DateTimeError::OutOfRange)?;
    if micros >= 1_000_000 {
        seconds = seconds
            .checked_add(i64::from(micros / 1_000_000))
            .ok_or(DateTimeError::OutOfRange)?;
        micros %= 1_000_000;
    }
    if !(MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS).contains(&seconds) {
        return Err(DateTimeError::OutOfRange);
    }
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    Ok(PyDateTime {
        year,
        month,
        day,
        hour: second_of_day / 3600,
        minute: second_of_day % 3600 / 60,
        second: second_of_day % 60,
        microsecond: micros,
        offset: Some(0),
    })
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(text: &str) -> Result<String, DateTimeError> {
        PyDateTime::from_text(&PyStr::from(text)).map(|dt| dt.to_string())
    }

    #[test]
    fn writes_isoformat() {
        for (text, expected) in [
            ("2026-02-10T00:00:00Z", "2026-02-10T00:00:00+00:00"),
            ("2026-02-10t00:00:00z", "2026-02-10T00:00:00+00:00"),
            (
                "2026-02-10T09:30:00.250Z",
                "2026-02-10T09:30:00.250000+00:00",
            ),
            (
                "2026-02-10T09:30:00.5+00:00",
                "2026-02-10T09:30:00.500000+00:00",
            ),
            (
                "2026-02-10T00:00:00.000001Z",
                "2026-02-10T00:00:00.000001+00:00",
            ),
            ("2026-02-10T00:00:00.000000Z", "2026-02-10T00:00:00+00:00"),
            ("2026-02-10T14:30:00+05:30", "2026-02-10T14:30:00+05:30"),
            ("2026-02-10T14:30:00+0530", "2026-02-10T14:30:00+05:30"),
            ("2026-02-10T14:30:00-00:00", "2026-02-10T14:30:00+00:00"),
            (
                "2026-02-10T14:30:00.5-0130",
                "2026-02-10T14:30:00.500000-01:30",
            ),
            (
                "2026-02-10T14:30:00\u{2212}01:00",
                "2026-02-10T14:30:00-01:00",
            ),
            ("2026-02-10 00:00:00", "2026-02-10T00:00:00"),
            ("2026-02-10_00:00:00", "2026-02-10T00:00:00"),
            ("2026-02-10T00:00", "2026-02-10T00:00:00"),
            ("2026-02-10T00:00Z", "2026-02-10T00:00:00+00:00"),
            ("2026-02-10", "2026-02-10T00:00:00"),
            ("2026-02-10T00:00:00,5Z", "2026-02-10T00:00:00.500000+00:00"),
            (
                "2026-02-10T00:00:00.1234567Z",
                "2026-02-10T00:00:00.123456+00:00",
            ),
            (
                "2026-02-10T00:00:00.9999999Z",
                "2026-02-10T00:00:00.999999+00:00",
            ),
            (
                "2026-02-10T00:00:00.000000001Z",
                "2026-02-10T00:00:00+00:00",
            ),
            ("2024-02-29T00:00:00", "2024-02-29T00:00:00"),
            ("0001-01-01T00:00:00+23:59", "0001-01-01T00:00:00+23:59"),
            (
                "9999-12-31T23:59:59.999999-23:59",
                "9999-12-31T23:59:59.999999-23:59",
            ),
        ] {
            assert_eq!(iso(text).as_deref(), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn reads_unix_timestamps() {
        for (text, expected) in [
            ("1700000000", "2023-11-14T22:13:20+00:00"),
            ("+1700000000", "2023-11-14T22:13:20+00:00"),
            ("-1", "1969-12-31T23:59:59+00:00"),
            ("0", "1970-01-01T00:00:00+00:00"),
            ("1700000000.5", "2023-11-14T22:13:20.500000+00:00"),
            ("1.", "1970-01-01T00:00:01+00:00"),
            (".5", "1970-01-01T00:00:00.500000+00:00"),
            ("-1.25", "1969-12-31T23:59:58.750000+00:00"),
            ("1.5e3", "1970-01-01T00:25:00+00:00"),
            ("1700000000123", "2023-11-14T22:13:20.123000+00:00"),
            ("20000000000", "2603-10-11T11:33:20+00:00"),
            ("20000000001", "1970-08-20T11:33:20.001000+00:00"),
            ("-20000000001", "1969-05-14T12:26:39.999000+00:00"),
            ("20000000000.5", "1970-08-20T11:33:20.000500+00:00"),
            ("253402300799999", "9999-12-31T23:59:59.999000+00:00"),
            ("-62135596800000", "0001-01-01T00:00:00+00:00"),
            ("-0.0000005", "1970-01-01T00:00:00+00:00"),
        ] {
            assert_eq!(iso(text).as_deref(), Ok(expected), "{text:?}");
        }
        let float = |x: f64| PyDateTime::from_float(x).map(|dt| dt.to_string());
        assert_eq!(
            float(1.5).as_deref(),
            Ok("1970-01-01T00:00:01.500000+00:00")
        );
        // pydantic adds the absolute fraction to the floor: -1.25 becomes -2 + 0.25.
        assert_eq!(
            float(-1.25).as_deref(),
            Ok("1969-12-31T23:59:58.250000+00:00")
        );
        assert_eq!(float(0.9999995).as_deref(), Ok("1970-01-01T00:00:01+00:00"));
        assert_eq!(
            float(20000000001.5).as_deref(),
            Ok("1970-08-20T11:33:20.001500+00:00")
        );
        assert_eq!(float(f64::INFINITY), Err(DateTimeError::OutOfRange));
        assert_eq!(float(f64::NAN), Err(DateTimeError::Invalid));
        let int = |t: &str| PyDateTime::from_int_text(t).map(|dt| dt.to_string());
        assert_eq!(
            int("1700000000").as_deref(),
            Ok("2023-11-14T22:13:20+00:00")
        );
        assert_eq!(int("253402300800000"), Err(DateTimeError::OutOfRange));
        assert_eq!(int("9223372036854775808"), Err(DateTimeError::OutOfRange));
        assert_eq!(int("-9223372036854775808"), Err(DateTimeError::OutOfRange));
    }

    #[test]
    fn rejects_what_pydantic_rejects() {
        for text in [
            "",
            "2026-02-10T00",
            "2026-02-10T00:00:00.Z",
            "2026-02-10T00:00:00+05",
            "2026-02-10T00:00:00+05:30:15",
            "2026-02-10T00:00:00+24:00",
            "2026-02-10T00:00:00+00:60",
            "2026-02-10T23:59:60Z",
            "2026-02-10T24:00:00Z",
            " 2026-02-10T00:00:00Z",
            "2026-02-10T00:00:00Z ",
            "2026-02-10T00:00:00 Z",
            "20260210T000000Z",
            "2026-02-29T00:00:00",
            "1900-02-29T00:00:00",
            "2026-13-01T00:00:00",
            "2026-00-01T00:00:00",
            "2026-01-00T00:00:00",
            "2026-2-10T00:00:00",
            "+2026-02-10T00:00:00",
            "2026-02-10Z",
            "2026-02-10T",
            "2026-02-10T00:00.5",
            "2026-02-10X00:00:00",
            "1e9",
            "1_700_000_000",
            "  1700000000",
            "9223372036854775808",
            "1.5.",
            ".",
            "1.5e",
            "nan",
            "inf.0",
        ] {
            assert_eq!(iso(text), Err(DateTimeError::Invalid), "{text:?}");
        }
        for text in [
            "0000-01-01T00:00:00",
            "253402300800000",
            "-62135596801000",
            "9223372036854775807",
        ] {
            assert_eq!(iso(text), Err(DateTimeError::OutOfRange), "{text:?}");
        }
    }

    #[test]
    fn converts_days_to_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(MIN_UNIX_SECONDS / 86_400), (1, 1, 1));
        assert_eq!(civil_from_days(MAX_UNIX_SECONDS / 86_400), (9999, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
