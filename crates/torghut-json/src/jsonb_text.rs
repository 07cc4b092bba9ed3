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
    pub fn push_jsonb_text(&self, out: &mut String) {
        push_value(out, &self.to_value());
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
    fn duplicate_names_keep_the_last_value() {
        let v = AuditValue::object([("a", AuditValue::from(1)), ("a", AuditValue::from(2))]);
        let mut out = String::new();
        v.push_jsonb_text(&mut out);
        assert_eq!(out, r#"{"a": 2}"#);
    }
}
