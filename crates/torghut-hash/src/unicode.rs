//! The two character classes that Python's `Decimal(str)` consults, as CPython 3.11 defines
//! them (Unicode 14.0.0).
//!
//! Generated from `str.isspace()`, `str.isdecimal()` and `unicodedata.decimal()`; every run of
//! decimal digits is ten consecutive code points with the values 0 to 9.

/// Code points for which Python's `str.isspace()` is true.
const WHITESPACE: [u32; 29] = [
    0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001,
    0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F,
    0x205F, 0x3000,
];

/// The first code point (the digit zero) of each run of Unicode decimal digits.
const DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// Python's `str.isspace()` for one code point.
pub(crate) fn is_space(cp: u32) -> bool {
    WHITESPACE.binary_search(&cp).is_ok()
}

/// The value of a Unicode decimal digit (category Nd), as `unicodedata.decimal()` gives it.
pub(crate) fn decimal_value(cp: u32) -> Option<u32> {
    let zero = match DIGIT_ZEROS.binary_search(&cp) {
        Ok(i) => DIGIT_ZEROS[i],
        Err(0) => return None,
        Err(i) => DIGIT_ZEROS[i - 1],
    };
    let value = cp - zero;
    (value < 10).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_python() {
        for cp in [0x9, 0xD, 0x1C, 0x1F, 0x20, 0x85, 0xA0, 0x2003, 0x3000] {
            assert!(is_space(cp), "{cp:#x}");
        }
        for cp in [0x0, 0x8, 0xE, 0x21, 0x200B, 0xFEFF] {
            assert!(!is_space(cp), "{cp:#x}");
        }
        assert_eq!(decimal_value(u32::from('0')), Some(0));
        assert_eq!(decimal_value(u32::from('9')), Some(9));
        assert_eq!(decimal_value(0x663), Some(3)); // ARABIC-INDIC DIGIT THREE
        assert_eq!(decimal_value(0xFF15), Some(5)); // FULLWIDTH DIGIT FIVE
        assert_eq!(decimal_value(0x1D7CF), Some(1)); // MATHEMATICAL BOLD DIGIT ONE
        assert_eq!(decimal_value(0xB2), None); // SUPERSCRIPT TWO is a digit but not decimal
        assert_eq!(decimal_value(u32::from('a')), None);
        assert_eq!(decimal_value(0x2F), None);
        assert_eq!(decimal_value(0x3A), None);
    }
}
