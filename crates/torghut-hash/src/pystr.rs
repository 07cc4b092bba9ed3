//! A string with Python `str` semantics.
//!
//! Python strings are sequences of code points, and unlike Rust strings they may hold lone
//! surrogates (U+D800..=U+DFFF): `json.loads('"\\ud800"')` succeeds. [`PyStr`] stores its code
//! points in the generalised UTF-8 encoding (surrogates get the same three-byte form as any other
//! code point in U+0800..=U+FFFF), so a string without lone surrogates is plain UTF-8 and can be
//! borrowed as `&str`.

use std::cmp::Ordering;
use std::fmt;

/// A sequence of Unicode code points, lone surrogates allowed, ordered like Python's `str`.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct PyStr {
    /// Generalised UTF-8: well-formed UTF-8 except that surrogate code points may appear.
    bytes: Vec<u8>,
}

impl PyStr {
    /// An empty string.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends a run of ordinary text.
    pub(crate) fn push_str(&mut self, s: &str) {
        self.bytes.extend_from_slice(s.as_bytes());
    }

    /// Appends one code point (`cp <= 0x10FFFF`; surrogates allowed).
    pub(crate) fn push_code_point(&mut self, cp: u32) {
        debug_assert!(cp <= 0x10_FFFF);
        // The casts below keep the low bits on purpose: each byte takes its slice of `cp`.
        match cp {
            0..=0x7F => self.bytes.push(cp as u8),
            0x80..=0x7FF => {
                self.bytes.push(0xC0 | (cp >> 6) as u8);
                self.bytes.push(0x80 | (cp & 0x3F) as u8);
            }
            0x800..=0xFFFF => {
                self.bytes.push(0xE0 | (cp >> 12) as u8);
                self.bytes.push(0x80 | ((cp >> 6) & 0x3F) as u8);
                self.bytes.push(0x80 | (cp & 0x3F) as u8);
            }
            _ => {
                self.bytes.push(0xF0 | (cp >> 18) as u8);
                self.bytes.push(0x80 | ((cp >> 12) & 0x3F) as u8);
                self.bytes.push(0x80 | ((cp >> 6) & 0x3F) as u8);
                self.bytes.push(0x80 | (cp & 0x3F) as u8);
            }
        }
    }

    /// The string as `&str`, or `None` when it holds a lone surrogate.
    pub(crate) fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// Whether the string holds exactly `s`.
    pub(crate) fn is(&self, s: &str) -> bool {
        self.bytes == s.as_bytes()
    }

    /// The code points, in order.
    pub(crate) fn code_points(&self) -> CodePoints<'_> {
        CodePoints {
            bytes: &self.bytes,
            pos: 0,
        }
    }
}

impl From<&str> for PyStr {
    fn from(s: &str) -> Self {
        Self {
            bytes: s.as_bytes().to_vec(),
        }
    }
}

/// Python compares strings code point by code point (not by UTF-16 unit).
impl Ord for PyStr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.code_points().cmp(other.code_points())
    }
}

impl PartialOrd for PyStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for PyStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for cp in self.code_points() {
            match char::from_u32(cp) {
                Some(c) => write!(f, "{}", c.escape_debug())?,
                None => write!(f, "\\u{{{cp:x}}}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Iterator over the code points of a [`PyStr`].
pub(crate) struct CodePoints<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Iterator for CodePoints<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let bytes = self.bytes;
        let lead = *bytes.get(self.pos)?;
        let cont = |i: usize| u32::from(bytes.get(self.pos + i).copied().unwrap_or(0x80) & 0x3F);
        let (cp, len) = match lead {
            0x00..=0x7F => (u32::from(lead), 1),
            0xC0..=0xDF => ((u32::from(lead & 0x1F) << 6) | cont(1), 2),
            0xE0..=0xEF => ((u32::from(lead & 0x0F) << 12) | (cont(1) << 6) | cont(2), 3),
            _ => (
                (u32::from(lead & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
                4,
            ),
        };
        self.pos += len;
        Some(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_code_points(cps: &[u32]) -> PyStr {
        let mut s = PyStr::new();
        for &cp in cps {
            s.push_code_point(cp);
        }
        s
    }

    #[test]
    fn round_trips_code_points_including_surrogates() {
        let cps = [
            0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xE000, 0xFFFF,
            0x1_0000, 0x1_F600, 0x10_FFFF,
        ];
        let s = from_code_points(&cps);
        assert_eq!(s.code_points().collect::<Vec<_>>(), cps);
        assert_eq!(s.as_str(), None);
    }

    #[test]
    fn plain_text_is_borrowable() {
        let mut s = PyStr::new();
        s.push_str("é😀");
        s.push_code_point(u32::from('x'));
        assert_eq!(s.as_str(), Some("é😀x"));
        assert!(s.is("é😀x"));
    }

    #[test]
    fn orders_by_code_point() {
        // U+FFFF sorts before U+10000 (UTF-16 order would put the surrogate pair first), and a
        // lone surrogate sorts between U+D7FF and U+E000.
        let sorted = [
            from_code_points(&[0x41]),
            from_code_points(&[0xD7FF]),
            from_code_points(&[0xD800]),
            from_code_points(&[0xDFFF]),
            from_code_points(&[0xE000]),
            from_code_points(&[0xFFFF]),
            from_code_points(&[0x1_0000]),
        ];
        for pair in sorted.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
        assert!(PyStr::from("a") < PyStr::from("ab"));
        assert!(PyStr::from("") < PyStr::from("a"));
    }
}
