//! Seals computed by the writer (migration `0012_audit_writer_seal`).
//!
//! Every audit row is sealed into its stream's hash chain when it is inserted (see
//! `ARCHITECTURE.md`, "Audit integrity"): the sealing triggers compute
//!
//! ```text
//! digest     = sha256(table || ' ' || content)
//! chain_hash = sha256(digest)                     a stream's root (chain_seq 1)
//! chain_hash = sha256(previous chain_hash || digest)   every later row
//! ```
//!
//! where `content` is PostgreSQL's jsonb text of a JSON object built from the row (a root's
//! immutable columns and its initial state; every column of a review but its chain columns),
//! with `created_at` as a UTC timestamp. The rows a trail creates (its decision, its opening
//! review and its execution) need nothing from the database to be sealed, so the store seals
//! them itself, in the same form, and the triggers do not run for a row inserted with a
//! `chain_hash`. This module writes that content exactly as PostgreSQL does:
//! members in jsonb's order, jsonb's separators and escapes, `numeric` values at their
//! column's scale, timestamps in ISO form without trailing fraction zeros. The tests record
//! trails sealed here and check every seal with `torghut audit verify`'s own SQL.
//!
//! A review's content is every column of its row, so a migration that adds a column to
//! `llm_decision_reviews` (or changes a root's content) changes what must be written here; the
//! tests of `torghut-audit` (`writer_seal`) then fail until this module follows, and the
//! migration must keep the triggers sealing rows from writers built before it (see
//! `migrations/0012_audit_writer_seal/up.sql`).

use chrono::{DateTime, Datelike, Timelike, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use sha2::{Digest, Sha256};
use torghut_json::{jsonb_key_order, push_jsonb_string, AuditJson};
use uuid::Uuid;

use crate::trail::PreparedTrail;

/// A trail's seals: its decision's, its opening review's and its execution's `chain_hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TrailSeals {
    pub decision: [u8; 32],
    pub review: Option<[u8; 32]>,
    pub execution: Option<[u8; 32]>,
}

impl TrailSeals {
    /// The seals of the rows `p` creates, all created at `p.created_at`.
    pub fn of(p: &PreparedTrail) -> Self {
        let at = timestamp_text(&p.created_at);
        let d = &p.decision;
        let mut members = vec![
            ("id", uuid_text(&d.id)),
            ("strategy_id", uuid_text(&d.strategy_id)),
            ("alpaca_account_label", string_text(&d.account_label)),
            ("symbol", string_text(&d.symbol)),
            ("timeframe", string_text(&d.timeframe)),
            ("decision_json", d.decision_json.jsonb_text()),
            ("rationale", opt(d.rationale.as_deref(), string_text)),
            ("decision_hash", string_text(&d.decision_hash)),
            ("created_at", at.clone()),
            ("initial_status", string_text(p.initial_status())),
        ];
        if p.review.is_some() {
            members.push(("initial_chain_rows", "2".to_owned()));
        }
        let decision = sha256(&content_digest("trade_decisions", &mut members));

        let review = p.review.as_ref().map(|r| {
            let mut members = vec![
                ("id", uuid_text(&r.id)),
                ("trade_decision_id", uuid_text(&d.id)),
                ("model", string_text(&r.model)),
                ("prompt_version", string_text(&r.prompt_version)),
                ("input_json", r.input_json.jsonb_text()),
                ("response_json", r.response_json.jsonb_text()),
                ("verdict", string_text(&r.verdict)),
                (
                    "confidence",
                    opt(r.confidence.as_ref(), |c| numeric_text(c, 4)),
                ),
                (
                    "adjusted_qty",
                    opt(r.adjusted_qty.as_ref(), |q| numeric_text(q, 8)),
                ),
                (
                    "adjusted_order_type",
                    opt(r.adjusted_order_type.as_deref(), string_text),
                ),
                ("rationale", opt(r.rationale.as_deref(), string_text)),
                (
                    "risk_flags",
                    opt(r.risk_flags.as_ref(), AuditJson::jsonb_text),
                ),
                ("tokens_prompt", opt(r.tokens_prompt, |n| n.to_string())),
                (
                    "tokens_completion",
                    opt(r.tokens_completion, |n| n.to_string()),
                ),
                ("created_at", at.clone()),
            ];
            let digest = content_digest("llm_decision_reviews", &mut members);
            let mut h = Sha256::new();
            h.update(decision);
            h.update(digest);
            <[u8; 32]>::from(h.finalize())
        });

        let execution = p.order.as_ref().map(|o| {
            let mut members = vec![
                ("id", uuid_text(&p.execution_id)),
                ("symbol", string_text(&o.symbol)),
                ("side", string_text(&o.side)),
                ("created_at", at.clone()),
                ("initial_raw_order", o.raw_order.jsonb_text()),
            ];
            sha256(&content_digest("executions", &mut members))
        });

        Self {
            decision,
            review,
            execution,
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `sha256(table || ' ' || content)`, content being the jsonb text of the object `members`.
fn content_digest(table: &str, members: &mut [(&str, String)]) -> [u8; 32] {
    let mut text = String::with_capacity(
        table.len()
            + 2
            + members
                .iter()
                .map(|(k, v)| k.len() + v.len() + 6)
                .sum::<usize>(),
    );
    text.push_str(table);
    text.push(' ');
    push_object(&mut text, members);
    sha256(text.as_bytes())
}

/// jsonb's text of an object whose member values are already jsonb text (names all differ).
fn push_object(out: &mut String, members: &mut [(&str, String)]) {
    members.sort_by(|a, b| jsonb_key_order(a.0, b.0));
    out.push('{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_jsonb_string(out, name);
        out.push_str(": ");
        out.push_str(value);
    }
    out.push('}');
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| "null".to_owned(), f)
}

fn string_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_jsonb_string(&mut out, s);
    out
}

fn uuid_text(u: &Uuid) -> String {
    format!("\"{}\"", u.hyphenated())
}

/// A `numeric(p, scale)` column's value as jsonb has it: rounded to the scale (half away from
/// zero, as PostgreSQL rounds), written with exactly `scale` digits, zero without a sign.
fn numeric_text(d: &Decimal, scale: u32) -> String {
    let mut v = d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    v.rescale(scale);
    if v.is_zero() {
        v.set_sign_positive(true);
    }
    v.to_string()
}

/// A `timestamp` (a `timestamptz` at time zone UTC) as jsonb has it:
/// `"2026-11-26T10:00:00.1234"`, the fraction without trailing zeros, none when zero.
fn timestamp_text(at: &DateTime<Utc>) -> String {
    let mut out = format!(
        "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let micros = at.timestamp_subsec_micros();
    if micros > 0 {
        let fraction = format!("{micros:06}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn numeric_at_scale() {
        assert_eq!(numeric_text(&Decimal::new(9, 1), 4), "0.9000");
        assert_eq!(numeric_text(&Decimal::new(5, 5), 4), "0.0001");
        assert_eq!(numeric_text(&Decimal::new(-4, 5), 4), "0.0000");
        assert_eq!(numeric_text(&Decimal::new(-15, 1), 8), "-1.50000000");
    }

    #[test]
    fn timestamps_trim_the_fraction() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(timestamp_text(&at), "\"2026-01-02T03:04:05\"");
        let at = at + chrono::Duration::microseconds(120_000);
        assert_eq!(timestamp_text(&at), "\"2026-01-02T03:04:05.12\"");
    }

    #[test]
    fn members_in_jsonb_order() {
        let mut members = vec![
            ("symbol", "\"A\"".to_owned()),
            ("id", "1".to_owned()),
            ("side", "\"buy\"".to_owned()),
        ];
        let mut out = String::new();
        push_object(&mut out, &mut members);
        assert_eq!(out, r#"{"id": 1, "side": "buy", "symbol": "A"}"#);
    }
}
