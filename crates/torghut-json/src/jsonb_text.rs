//! PostgreSQL's text form of a jsonb value (`jsonb::text`), written without the database.
//!
//! The audit chain seals rows by hashing this text (see `ARCHITECTURE.md`, "Audit
//! integrity"), and the store computes some seals itself, so it must write exactly what
//! PostgreSQL writes for the value it stores:
//!
//! - object members sorted as jsonb keeps them: shorter names first, names of one length by
//!   their UTF-8 bytes; a name given twice keeps its last value (a canonical [`AuditJson`] has
//!   no such names);
//! - `", "` between members and elements, `": "` after a member name, `{}` and `[]` when empty;
//! - strings escaped as PostgreSQL escapes them: `"` and `\`, `\b \f \n \r \t`, other control
//!   characters as `\u00xx` (lower-case hex), everything else as is;
//! - numbers as `numeric` prints them, which is the form [`AuditJson`] already sends.
//!
//! The tests compare this with `jsonb::text` of a real server on generated documents.

use std::cmp::Ordering;

use crate::error::push_json_string;
use crate::value::AuditValue;
use crate::AuditJson;

/// The order of jsonb object members: by length in bytes, then by bytes.
pub fn jsonb_key_order(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// Appends `s` as jsonb writes a string (quotes included).
pub fn push_jsonb_string(out: &mut String, s: &str) {
    push_json_string(out, s);
}

impl AuditJson {
    /// Appends what `jsonb::text` gives for this payload once stored in a jsonb column.
    ///
    /// Works on the canonical text directly: its strings are escaped as jsonb escapes them
    /// and its numbers are in `numeric`'s form, so only separators and member order change.
    pub fn push_jsonb_text(&self, out: &mut String) {
        let t = self.as_str();
        let mut w = Rewriter { t, out };
        if w.value(0) != t.len() {
            // Not reachable for a canonical text; the exact, slower way otherwise.
            push_value(out, &self.to_value());
        }
    }

    /// What `jsonb::text` gives for this payload once stored in a jsonb column.
    pub fn jsonb_text(&self) -> String {
        let mut out = String::with_capacity(self.byte_len() + self.byte_len() / 4);
        self.push_jsonb_text(&mut out);
        out
    }
}

impl AuditValue {
    /// Appends what `jsonb::text` gives for this value (a NaN or infinity, which no jsonb
    /// holds, is written as `null`).
    pub fn push_jsonb_text(&self, out: &mut String) {
        push_value(out, self);
    }
}

/// Rewrites canonical JSON text (no insignificant whitespace, strings escaped as jsonb does,
/// numbers as `numeric` prints them, no repeated member names) as jsonb's text.
struct Rewriter<'t, 'o> {
    t: &'t str,
    out: &'o mut String,
}

impl Rewriter<'_, '_> {
    fn byte(&self, i: usize) -> u8 {
        self.t.as_bytes().get(i).copied().unwrap_or(0)
    }

    /// The end of the string whose opening quote is at `i` (just past its closing quote).
    fn string_end(&self, i: usize) -> usize {
        let b = self.t.as_bytes();
        let mut j = i + 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return j + 1,
                _ => j += 1,
            }
        }
        b.len()
    }

    /// The end of the value starting at `i`.
    fn skip(&self, i: usize) -> usize {
        let b = self.t.as_bytes();
        match self.byte(i) {
            b'"' => self.string_end(i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            j = self.string_end(j);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return j + 1;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                b.len()
            }
            _ => {
                let mut j = i;
                while j < b.len() && !matches!(b[j], b',' | b']' | b'}') {
                    j += 1;
                }
                j
            }
        }
    }

    /// Writes the value starting at `i` as jsonb's text; returns its end.
    fn value(&mut self, i: usize) -> usize {
        match self.byte(i) {
            b'{' => self.object(i),
            b'[' => self.array(i),
            _ => {
                let end = self.skip(i);
                self.out.push_str(&self.t[i..end]);
                end
            }
        }
    }

    fn array(&mut self, i: usize) -> usize {
        self.out.push('[');
        let mut j = i + 1;
        if self.byte(j) != b']' {
            loop {
                j = self.value(j);
                if self.byte(j) != b',' {
                    break;
                }
                self.out.push_str(", ");
                j += 1;
            }
        }
        self.out.push(']');
        j + 1
    }

    fn object(&mut self, i: usize) -> usize {
        // (name with its quotes, value start)
        let mut members: Vec<(&str, usize)> = Vec::new();
        let mut j = i + 1;
        let mut sorted = true;
        if self.byte(j) != b'}' {
            loop {
                let name_end = self.string_end(j);
                let name = &self.t[j..name_end.min(self.t.len())];
                let start = name_end + 1;
                if let Some(&(prev, _)) = members.last() {
                    sorted &= name_order(prev, name) == Ordering::Less;
                }
                members.push((name, start));
                j = self.skip(start);
                if self.byte(j) != b',' {
                    break;
                }
                j += 1;
            }
        }
        if !sorted {
            members.sort_by(|a, b| name_order(a.0, b.0));
        }
        self.out.push('{');
        for (k, (name, start)) in members.into_iter().enumerate() {
            if k > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(name);
            self.out.push_str(": ");
            self.value(start);
        }
        self.out.push('}');
        j + 1
    }
}

/// [`jsonb_key_order`] of two member names as written in canonical text (quotes included).
fn name_order(a: &str, b: &str) -> Ordering {
    if a.contains('\\') || b.contains('\\') {
        jsonb_key_order(&unescape(a), &unescape(b))
    } else {
        jsonb_key_order(a, b)
    }
}

/// A quoted canonical string's value (its escapes are those of [`push_json_string`]).
fn unescape(quoted: &str) -> String {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(quoted);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn push_value(out: &mut String, v: &AuditValue) {
    match v {
        AuditValue::Null => out.push_str("null"),
        AuditValue::Bool(true) => out.push_str("true"),
        AuditValue::Bool(false) => out.push_str("false"),
        AuditValue::Number(n) => out.push_str(n.as_text().unwrap_or("null")),
        AuditValue::String(s) => push_json_string(out, s),
        AuditValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_value(out, item);
            }
            out.push(']');
        }
        AuditValue::Object(members) => {
            // jsonb keeps the last value of a name given twice.
            let mut sorted: Vec<&(String, AuditValue)> = members.iter().collect();
            sorted.sort_by(|a, b| jsonb_key_order(&a.0, &b.0));
            sorted.dedup_by(|later, earlier| {
                if later.0 == earlier.0 {
                    *earlier = *later;
                    true
                } else {
                    false
                }
            });
            out.push('{');
            for (i, (name, value)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_json_string(out, name);
                out.push_str(": ");
                push_value(out, value);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JsonPolicy;

    fn text(raw: &str) -> String {
        AuditJson::from_text(raw, &JsonPolicy::default())
            .unwrap()
            .0
            .jsonb_text()
    }

    #[test]
    fn layout_and_member_order() {
        assert_eq!(
            text(r#"{"bb":1,"a":[1,{"z":null,"y":true}],"ab":"x","c":{}, "d":[]}"#),
            r#"{"a": [1, {"y": true, "z": null}], "c": {}, "d": [], "ab": "x", "bb": 1}"#
        );
        assert_eq!(text("1.50"), "1.50");
        assert_eq!(text("1e2"), "100");
        assert_eq!(text(r#""a\u0001\n\"\\é""#), r#""a\u0001\n\"\\é""#);
    }

    #[test]
    fn rewriting_the_text_equals_writing_the_value() {
        for raw in [
            r#"{}"#,
            r#"[]"#,
            r#"[{}, [], [[]], {"a": {}}]"#,
            r#""\u0007 \" \\ é""#,
            r#"{"b\n": 1, "a\t": 2, "é": 3, "z": 4, "\u0001": [true, false, null]}"#,
            r#"{"\"": {"\\": {"aa": -0.5e-3, "b": 12345678901234567890123}}, "": 0}"#,
            r#"{"k": "v,}]\"{[", "j": [",", "]", "}"], "a": {"x": "\\\""}}"#,
        ] {
            let (json, _) = AuditJson::from_text(raw, &JsonPolicy::default()).unwrap();
            let mut exact = String::new();
            json.to_value().push_jsonb_text(&mut exact);
            assert_eq!(json.jsonb_text(), exact, "{raw}");
        }
    }

    #[test]
    fn duplicate_names_keep_the_last_value() {
        let v = AuditValue::object([("a", AuditValue::from(1)), ("a", AuditValue::from(2))]);
        let mut out = String::new();
        v.push_jsonb_text(&mut out);
        assert_eq!(out, r#"{"a": 2}"#);
    }
}
