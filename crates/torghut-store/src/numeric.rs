//! `numeric` values read exactly: the text PostgreSQL's `numeric_out` writes, decoded from the
//! binary wire form. Every value a `numeric` column can hold reads back as stored (`NaN` and the
//! infinities included, any precision and scale), never through a float or a fixed-size decimal,
//! so a row written by another writer can always be read. The store's writes take
//! [`rust_decimal::Decimal`] (checked input); its reads give [`Numeric`].

use std::error::Error;
use std::fmt;

use rust_decimal::Decimal;
use tokio_postgres::types::{FromSql, Type};

/// A stored `numeric`, as PostgreSQL writes it (`1.50000000`, `-0.5`, `NaN`, `Infinity`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Numeric(String);

impl Numeric {
    /// The value's text, as `numeric_out` writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the value is a number (not `NaN`, `Infinity` or `-Infinity`).
    pub fn is_finite(&self) -> bool {
        !matches!(self.0.as_str(), "NaN" | "Infinity" | "-Infinity")
    }

    /// The value as a `Decimal`, when it is finite and fits one (28 significant digits).
    pub fn to_decimal(&self) -> Option<Decimal> {
        if !self.is_finite() {
            return None;
        }
        Decimal::from_str_exact(&self.0).ok()
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Serialized as its text (`"1.50000000"`), never as a JSON number.
#[cfg(feature = "openapi")]
impl serde::Serialize for Numeric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let mut out = Vec::with_capacity(raw.len() * 2 + 8);
        numeric_out(raw, &mut out).ok_or("malformed numeric value")?;
        Ok(Self(String::from_utf8(out)?))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// Appends `numeric_out` of a `numeric` in binary (a count of base-10000 digits, the weight of
/// the first, the sign, the display scale, then the digits) to `out`. Returns whether the value
/// is finite (`NaN`, `Infinity` and `-Infinity` are written as those words); `None` when the
/// bytes are not a `numeric`.
pub fn numeric_out(v: &[u8], out: &mut Vec<u8>) -> Option<bool> {
    let word = |i: usize| -> Option<u16> {
        let b = v.get(i * 2..i * 2 + 2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    };
    let ndigits = usize::from(word(0)?);
    if ndigits > 0x7FFF || v.len() != 8 + 2 * ndigits {
        return None;
    }
    // The weight is a signed 16-bit count of base-10000 groups.
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    let digits: Vec<u16> = (0..ndigits).map(|i| word(4 + i)).collect::<Option<_>>()?;
    if digits.iter().any(|d| *d >= 10000) {
        return None;
    }
    match sign {
        0xC000 => {
            out.extend_from_slice(b"NaN");
            return Some(false);
        }
        0xD000 => {
            out.extend_from_slice(b"Infinity");
            return Some(false);
        }
        0xF000 => {
            out.extend_from_slice(b"-Infinity");
            return Some(false);
        }
        0x4000 => out.push(b'-'),
        0x0000 => {}
        _ => return None,
    }
    let digit = |d: i32| -> u16 {
        usize::try_from(d)
            .ok()
            .and_then(|d| digits.get(d).copied())
            .unwrap_or(0)
    };
    let mut d: i32;
    if weight < 0 {
        d = weight + 1;
        out.push(b'0');
    } else {
        d = 0;
        while d <= weight {
            // The first group without its leading zeros.
            push_group(digit(d), if d == 0 { 1 } else { 4 }, out);
            d += 1;
        }
    }
    if dscale > 0 {
        out.push(b'.');
        let end = out.len() + dscale;
        let mut i = 0;
        while i < dscale {
            push_group(digit(d), 4, out);
            d += 1;
            i += 4;
        }
        out.truncate(end);
    }
    Some(true)
}

/// `n` (below 10000) in decimal, padded with zeros to `width` digits.
fn push_group(n: u16, width: usize, out: &mut Vec<u8>) {
    let mut digits = [b'0'; 4];
    let mut i = 4;
    let mut n = n;
    while n > 0 || 4 - i < width {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(ndigits: &[u16], weight: i16, sign: u16, dscale: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(ndigits.len() as u16).to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in ndigits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    fn text(ndigits: &[u16], weight: i16, sign: u16, dscale: u16) -> Option<String> {
        let mut out = Vec::new();
        numeric_out(&bin(ndigits, weight, sign, dscale), &mut out)?;
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn numeric_out_as_postgres_writes_it() {
        assert_eq!(text(&[1, 5000], 0, 0, 8).unwrap(), "1.50000000");
        assert_eq!(text(&[], 0, 0, 8).unwrap(), "0.00000000");
        assert_eq!(text(&[], 0, 0, 0).unwrap(), "0");
        assert_eq!(text(&[5000], -1, 0x4000, 1).unwrap(), "-0.5");
        assert_eq!(text(&[12, 3456, 7890], 1, 0, 4).unwrap(), "123456.7890");
        assert_eq!(text(&[1], 3, 0, 0).unwrap(), "1000000000000");
        assert_eq!(text(&[1], -3, 0, 12).unwrap(), "0.000000000001");
        assert_eq!(text(&[], 0, 0xC000, 0).unwrap(), "NaN");
        assert_eq!(text(&[], 0, 0xD000, 0).unwrap(), "Infinity");
        assert_eq!(text(&[], 0, 0xF000, 0).unwrap(), "-Infinity");
        assert!(text(&[10000], 0, 0, 0).is_none());
        assert!(text(&[1], 0, 0x1234, 0).is_none());
        assert!(numeric_out(&[0, 1, 0], &mut Vec::new()).is_none());
    }

    #[test]
    fn numeric_to_decimal() {
        let n = Numeric("1.50000000".into());
        assert_eq!(n.to_decimal().unwrap().to_string(), "1.50000000");
        assert!(Numeric("NaN".into()).to_decimal().is_none());
        assert!(!Numeric("-Infinity".into()).is_finite());
    }
}
