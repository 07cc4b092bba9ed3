//! The JSON writer: `json.dumps(value, sort_keys=True, separators=(",", ":"))` with Python's
//! defaults (`ensure_ascii=True`, `allow_nan=True`).

use std::fmt::Write as _;

use crate::float_repr::write_json_float;
use crate::json::Value;
use crate::pystr::PyStr;

/// Appends `s` as a JSON string literal the way `json.dumps` escapes it with `ensure_ascii`:
/// `"` and `\` are backslash-escaped, `\n \r \t \b \f` use their short escapes, and every other
/// character outside printable ASCII (space to `~`) becomes `\uXXXX` in lower-case hex, astral
/// characters as a surrogate pair. `/` is not escaped.
pub(crate) fn write_str(out: &mut String, s: &PyStr) {
    out.push('"');
    for cp in s.code_points() {
        match cp {
            0x22 => out.push_str("\\\""),
            0x5C => out.push_str("\\\\"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0C => out.push_str("\\f"),
            0x20..=0x7E => out.push(char::from(cp as u8)),
            0x1_0000.. => {
                let v = cp - 0x1_0000;
                let high = 0xD800 + (v >> 10);
                let low = 0xDC00 + (v & 0x3FF);
                let _ = write!(out, "\\u{high:04x}\\u{low:04x}");
            }
            _ => {
                let _ = write!(out, "\\u{cp:04x}");
            }
        }
    }
    out.push('"');
}

/// Appends `value` as compact JSON with object keys in code point order.
pub(crate) fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(digits) => out.push_str(digits),
        Value::Float(x) => write_json_float(out, *x),
        Value::Str(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            // A `BTreeMap<PyStr, _>` iterates in code point order.
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(cps: &[u32]) -> String {
        let mut s = PyStr::new();
        for &cp in cps {
            s.push_code_point(cp);
        }
        let mut out = String::new();
        write_str(&mut out, &s);
        out
    }

    fn text(s: &str) -> String {
        escaped(&s.chars().map(u32::from).collect::<Vec<_>>())
    }

    #[test]
    fn escapes_like_ensure_ascii() {
        assert_eq!(
            text("plain ~ text/with slash"),
            r#""plain ~ text/with slash""#
        );
        assert_eq!(text("\"\\"), r#""\"\\""#);
        assert_eq!(text("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(text("\u{0}\u{1f}\u{7f}"), r#""\u0000\u001f\u007f""#);
        assert_eq!(text("é"), r#""\u00e9""#);
        assert_eq!(text("日本"), r#""\u65e5\u672c""#);
        assert_eq!(text("\u{feff}\u{ffff}"), r#""\ufeff\uffff""#);
        assert_eq!(text("😀"), r#""\ud83d\ude00""#);
        assert_eq!(text("\u{10ffff}"), r#""\udbff\udfff""#);
        assert_eq!(escaped(&[0xD800, 0x41, 0xDFFF]), r#""\ud800A\udfff""#);
    }

    #[test]
    fn writes_sorted_compact_json() {
        let value = crate::json::parse(
            r#"{"b": [1, 2.0, {"z": null, "a": true}], "a": "x", "\u00e9": 1e-7, "Z": -0}"#,
        )
        .unwrap();
        let mut out = String::new();
        write_value(&mut out, &value);
        assert_eq!(
            out,
            r#"{"Z":0,"a":"x","b":[1,2.0,{"a":true,"z":null}],"\u00e9":1e-07}"#
        );
    }
}
