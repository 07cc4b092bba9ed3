//! The one pass that turns an [`AuditValue`] into the canonical text: redaction, validation and
//! writing together, in document order.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::error::{push_json_string, render_path, JsonError, JsonErrorReason, Seg};
use crate::number;
use crate::policy::JsonPolicy;
use crate::value::{AuditNumber, AuditValue};
use crate::Redactions;

/// Objects with at most this many members are checked for duplicate names without a set.
const SMALL_OBJECT: usize = 16;

/// [`crate::REDACTED`] as a JSON string literal.
const REDACTED_LITERAL: &str = "\"[REDACTED]\"";

/// Canonical text of `v` under `policy`, with the redactions made.
pub(crate) fn canonical(
    v: &AuditValue,
    policy: &JsonPolicy,
) -> Result<(String, Redactions), JsonError> {
    if policy.require_object && !matches!(v, AuditValue::Object(_)) {
        return Err(JsonError::at_root(JsonErrorReason::NotAnObject));
    }
    let mut w = Writer {
        out: String::new(),
        len: 0,
        limit: policy.effective_max_bytes(),
        max_depth: policy.effective_max_depth(),
        redact: policy.redact_keys.iter().map(|k| folded(k)).collect(),
        redactions: Redactions::default(),
        path: Vec::new(),
    };
    w.value(v, 0)?;
    if w.len > w.limit {
        return Err(JsonError::at_root(JsonErrorReason::TooLarge {
            max: w.limit,
            actual: w.len,
        }));
    }
    Ok((w.out, w.redactions))
}

/// Case folding for member names: Unicode lower case, character by character.
fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// [`fold`], borrowing when `s` is folded already (ASCII without upper case: the usual case).
fn folded(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(fold(s))
    }
}

struct Writer<'v> {
    /// The text written so far (only while within the limit: past it, only `len` grows).
    out: String,
    /// The length of the full canonical text so far.
    len: usize,
    limit: usize,
    max_depth: usize,
    /// Redacted member names, case-folded.
    redact: Vec<Cow<'v, str>>,
    redactions: Redactions,
    path: Vec<Seg<'v>>,
}

impl<'v> Writer<'v> {
    fn emit(&mut self, s: &str) {
        self.len = self.len.saturating_add(s.len());
        if self.len <= self.limit {
            self.out.push_str(s);
        }
    }

    fn err(&self, reason: JsonErrorReason) -> JsonError {
        JsonError::at(self.path.iter().copied(), reason)
    }

    fn is_redacted(&self, key: &str) -> bool {
        if self.redact.is_empty() {
            return false;
        }
        if key.is_ascii() {
            // An ASCII name folds to its ASCII lower case, and a folded name is never upper
            // case: comparing ignoring ASCII case is the same test without a copy.
            self.redact
                .iter()
                .any(|r| r.len() == key.len() && r.eq_ignore_ascii_case(key))
        } else {
            let folded = fold(key);
            self.redact.iter().any(|r| **r == *folded)
        }
    }

    fn string(&mut self, s: &str) -> Result<(), JsonError> {
        if s.contains('\0') {
            return Err(self.err(JsonErrorReason::NulCharacter));
        }
        if self.len > self.limit {
            // Past the limit: only the length matters.
            let mut lit = String::new();
            push_json_string(&mut lit, s);
            self.len = self.len.saturating_add(lit.len());
        } else {
            let before = self.out.len();
            push_json_string(&mut self.out, s);
            self.len = self.len.saturating_add(self.out.len() - before);
            if self.len > self.limit {
                self.out.truncate(before);
            }
        }
        Ok(())
    }

    /// Checks that a container may be entered at `depth` (the number of enclosing containers).
    fn enter(&self, depth: usize) -> Result<(), JsonError> {
        JsonErrorReason::check_depth(depth, self.max_depth).map_err(|r| self.err(r))
    }

    /// One value. Kept small: this and [`Self::array`] / [`Self::object`] are the frames on the
    /// stack for each level of nesting.
    fn value(&mut self, v: &'v AuditValue, depth: usize) -> Result<(), JsonError> {
        match v {
            AuditValue::Null => self.emit("null"),
            AuditValue::Bool(true) => self.emit("true"),
            AuditValue::Bool(false) => self.emit("false"),
            AuditValue::Number(n) => return self.number(n),
            AuditValue::String(s) => return self.string(s),
            AuditValue::Array(items) => return self.array(items, depth),
            AuditValue::Object(members) => return self.object(members, depth),
        }
        Ok(())
    }

    #[inline(never)]
    fn number(&mut self, n: &AuditNumber) -> Result<(), JsonError> {
        if let Some(kind) = n.non_finite() {
            return Err(self.err(JsonErrorReason::NonFinite(kind)));
        }
        let pg = n
            .as_text()
            .and_then(number::parts)
            .and_then(|p| number::pg_numeric_text(&p).ok());
        match pg {
            Some(text) => {
                self.emit(&text);
                Ok(())
            }
            None => Err(self.err(JsonErrorReason::NumberOutOfRange)),
        }
    }

    #[inline(never)]
    fn array(&mut self, items: &'v [AuditValue], depth: usize) -> Result<(), JsonError> {
        self.enter(depth)?;
        self.emit("[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.emit(",");
            }
            self.path.push(Seg::Index(i));
            self.value(item, depth + 1)?;
            self.path.pop();
        }
        self.emit("]");
        Ok(())
    }

    #[inline(never)]
    fn object(
        &mut self,
        members: &'v [(String, AuditValue)],
        depth: usize,
    ) -> Result<(), JsonError> {
        self.enter(depth)?;
        self.emit("{");
        // Small objects (the usual audit payload) are checked for duplicate names by scanning
        // the names before; larger ones with a set, so the check stays linear.
        let mut seen: Option<HashSet<&str>> =
            (members.len() > SMALL_OBJECT).then(|| HashSet::with_capacity(members.len()));
        for (i, (key, item)) in members.iter().enumerate() {
            let duplicate = match seen.as_mut() {
                Some(set) => !set.insert(key.as_str()),
                None => members[..i].iter().any(|(k, _)| k == key),
            };
            if duplicate {
                return Err(self.duplicate(key));
            }
            if i > 0 {
                self.emit(",");
            }
            self.path.push(Seg::Key(key));
            self.member_name(key)?;
            if self.is_redacted(key) {
                self.redact(item, depth + 1)?;
            } else {
                self.value(item, depth + 1)?;
            }
            self.path.pop();
        }
        self.emit("}");
        Ok(())
    }

    #[inline(never)]
    fn duplicate(&self, key: &str) -> JsonError {
        self.err(JsonErrorReason::DuplicateKey(key.to_owned()))
    }

    /// The member name and `:` (the name's own path step is pushed).
    #[inline(never)]
    fn member_name(&mut self, key: &str) -> Result<(), JsonError> {
        if key.contains('\0') {
            return Err(self.err(JsonErrorReason::NulCharacter));
        }
        self.string(key)?;
        self.emit(":");
        Ok(())
    }

    /// Replaces a member's value. The value is dropped unseen, but its nesting is structural
    /// and is checked like everywhere else.
    #[inline(never)]
    fn redact(&mut self, item: &'v AuditValue, depth: usize) -> Result<(), JsonError> {
        self.check_depth(item, depth)?;
        self.redactions.count += 1;
        self.redactions
            .paths
            .push(render_path(self.path.iter().copied()));
        self.emit(REDACTED_LITERAL);
        Ok(())
    }

    fn check_depth(&mut self, v: &'v AuditValue, depth: usize) -> Result<(), JsonError> {
        match v {
            AuditValue::Array(items) => {
                self.enter(depth)?;
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    self.check_depth(item, depth + 1)?;
                    self.path.pop();
                }
            }
            AuditValue::Object(members) => {
                self.enter(depth)?;
                for (key, item) in members {
                    self.path.push(Seg::Key(key));
                    self.check_depth(item, depth + 1)?;
                    self.path.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacted_literal_matches_the_constant() {
        assert_eq!(super::REDACTED_LITERAL, format!("\"{}\"", crate::REDACTED));
    }

    #[test]
    fn redaction_names_match_like_full_case_folding() {
        use crate::{AuditJson, JsonPolicy};
        // Configured names with upper case and non-ASCII letters; member names in ASCII (the
        // fast comparison) and not (folded). KELVIN SIGN folds to an ASCII `k`.
        let policy = JsonPolicy::with_redact_keys(["API_Key", "\u{212A}ey", "Straße"]);
        let cases = [
            ("api_key", true),
            ("API_KEY", true),
            ("key", true),
            ("KEY", true),
            ("\u{212A}EY", true),
            ("STRAßE", true),
            ("strasse", false),
            ("api_ke", false),
            ("api_keys", false),
        ];
        for (name, redacted) in cases {
            let text = format!("{{\"{name}\":\"v\"}}");
            let (json, r) = AuditJson::from_text(&text, &policy).unwrap();
            assert_eq!(r.count > 0, redacted, "{name}: {}", json.as_str());
            // Same answer as comparing the fully folded names.
            let expected = policy
                .redact_keys
                .iter()
                .any(|k| super::fold(k) == super::fold(name));
            assert_eq!(expected, redacted, "{name}");
        }
    }
}
