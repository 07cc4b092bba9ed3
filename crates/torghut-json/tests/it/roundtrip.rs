//! Through PostgreSQL: what is accepted is stored and reads back the same; what PostgreSQL would
//! refuse or silently change is refused here first.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use tokio_postgres::error::SqlState;
use torghut_json::{
    audit_object, json_semantic_eq, AuditJson, AuditValue, JsonErrorReason, JsonPolicy,
    MAX_DEPTH_CEILING,
};
use uuid::Uuid;

use crate::support::{audit_db, pg_jsonb_text, store};

fn accept(raw: &str) -> AuditJson {
    AuditJson::from_text(raw, &JsonPolicy::default())
        .unwrap_or_else(|e| panic!("{raw}: {e}"))
        .0
}

#[tokio::test]
async fn numbers_are_stored_exactly() {
    let c = audit_db().await;
    for (raw, back) in [
        (
            "123456789012345678901234567890",
            "123456789012345678901234567890",
        ),
        (
            "-98765432109876543210987654321098765432109876543210",
            "-98765432109876543210987654321098765432109876543210",
        ),
        (
            "0.1234567890123456789012345678901234567890",
            "0.1234567890123456789012345678901234567890",
        ),
        (
            "1234567890123456789.0123456789012345678901",
            "1234567890123456789.0123456789012345678901",
        ),
        ("1.50", "1.50"),
        ("1e2", "100"),
        ("1.0", "1.0"),
        ("-0", "0"),
        ("-0.0", "0.0"),
        ("2.5E-3", "0.0025"),
        ("0.1", "0.1"),
        ("18446744073709551616", "18446744073709551616"),
    ] {
        let j = accept(raw);
        let stored = store(&c, &j).await.unwrap();
        assert_eq!(stored, back, "{raw}");
        assert_eq!(
            j.as_str(),
            back,
            "the text sent is what jsonb gives back: {raw}"
        );
        assert!(j.semantic_eq_text(&stored));
        assert!(json_semantic_eq(raw, &stored));
    }
    let row = c
        .query_one(
            "SELECT payload = '123456789012345678901234567890'::jsonb FROM audit ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
}

#[tokio::test]
async fn number_limits_are_postgres_numeric_limits() {
    let c = audit_db().await;
    // The largest numbers numeric holds are accepted and stored.
    for raw in [
        "9e131071",
        "-1e-16383",
        "0e-16383",
        &format!("0.{}", "9".repeat(16_383)),
    ] {
        let j = accept(raw);
        let stored = store(&c, &j).await.unwrap();
        assert!(json_semantic_eq(raw, &stored), "{raw}");
    }
    // A zero with an exponent PostgreSQL will not even read is still zero: its exact value is sent.
    let pg = pg_jsonb_text(&c, "0e1100000000").await.unwrap_err();
    assert_eq!(pg.code(), Some(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE));
    assert_eq!(store(&c, &accept("0e1100000000")).await.unwrap(), "0");
    // One digit more, and PostgreSQL itself refuses: so does the boundary, first.
    for raw in [
        "1e131072",
        "1e-16384",
        "0e-16384",
        "1e999999999999999999999",
    ] {
        let pg = pg_jsonb_text(&c, raw).await.unwrap_err();
        assert_eq!(
            pg.code(),
            Some(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE),
            "{raw}"
        );
        let err = AuditJson::from_text(raw, &JsonPolicy::default()).unwrap_err();
        assert_eq!(err.reason, JsonErrorReason::NumberOutOfRange, "{raw}");
    }
}

#[tokio::test]
async fn the_traps_are_real_and_refused_first() {
    let c = audit_db().await;
    // NUL: PostgreSQL refuses with 22P05.
    let pg = pg_jsonb_text(&c, r#"{"a":"\u0000"}"#).await.unwrap_err();
    assert_eq!(pg.code(), Some(&SqlState::UNTRANSLATABLE_CHARACTER));
    assert_eq!(
        AuditJson::from_text(r#"{"a":"\u0000"}"#, &JsonPolicy::default())
            .unwrap_err()
            .reason,
        JsonErrorReason::NulCharacter
    );
    // Lone surrogate: PostgreSQL refuses.
    assert!(pg_jsonb_text(&c, r#"["\ud800"]"#).await.is_err());
    // Duplicate keys: PostgreSQL silently keeps the last one.
    assert_eq!(
        pg_jsonb_text(&c, r#"{"a":1,"a":2}"#).await.unwrap(),
        r#"{"a": 2}"#
    );
    // NaN: serde_json writes null.
    assert_eq!(serde_json::to_string(&f64::NAN).unwrap(), "null");
    // Big numbers: an f64 round trip would change them; jsonb does not, and neither does
    // serde_json as the workspace builds it (`arbitrary_precision`), so a stored number beyond
    // f64 reads back as it was stored, where it used to fail to deserialize.
    let big = "123456789012345678901234567890";
    assert_eq!(pg_jsonb_text(&c, big).await.unwrap(), big);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(big)
            .unwrap()
            .to_string(),
        big
    );
    assert_eq!(
        f64::from_str(big).unwrap().to_string(),
        "123456789012345680000000000000"
    );
    // Beyond f64's range, as jsonb writes such numbers back (every digit).
    for raw in ["1e309", "-1.7976931348623157e309", "1e-400"] {
        let text = pg_jsonb_text(&c, raw).await.unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.to_string(), text);
    }
}

#[tokio::test]
async fn typed_payloads_round_trip() {
    let c = audit_db().await;
    let id = Uuid::new_v4();
    let at: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 2, 10, 9, 30, 0).unwrap()
        + chrono::Duration::microseconds(250_000);
    let v = audit_object! {
        "decision_id" => id,
        "qty" => Decimal::new(150, 2),
        "limit_price" => Decimal::new(18_512_345, 5),
        "event_ts" => at,
        "params" => audit_object! {
            "levels" => vec![0.5, 1.0, 1.5],
            "note" => "tab\there \"quoted\" \u{1} é 😀",
        },
        "headers" => audit_object! { "Authorization" => "Bearer x" },
    };
    let (j, r) = AuditJson::from_audit_value(&v, &JsonPolicy::default().object_required()).unwrap();
    assert_eq!(r.count, 1);
    let stored = store(&c, &j).await.unwrap();
    assert!(j.semantic_eq_text(&stored), "{stored}");
    let row = c
        .query_one(
            "SELECT payload->>'decision_id', payload->>'qty', payload->>'event_ts', \
             (payload->>'event_ts')::timestamptz, payload->'params'->>'note', payload->'headers'->>'Authorization' \
             FROM audit",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), id.to_string());
    assert_eq!(row.get::<_, String>(1), "1.50");
    assert_eq!(row.get::<_, String>(2), "2026-02-10T09:30:00.250000Z");
    assert_eq!(row.get::<_, DateTime<Utc>>(3), at);
    assert_eq!(row.get::<_, String>(4), "tab\there \"quoted\" \u{1} é 😀");
    assert_eq!(row.get::<_, String>(5), "[REDACTED]");
}

#[tokio::test]
async fn json_columns_take_the_text_as_is() {
    let c = audit_db().await;
    let (j, _) =
        AuditJson::from_value(&json!({"b": 1, "a": [1.50, "x"]}), &JsonPolicy::default()).unwrap();
    let row = c
        .query_one(
            "INSERT INTO audit (payload, doc) VALUES ($1, $2) RETURNING doc::text",
            &[&j, &j],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), j.as_str());
}

#[tokio::test]
async fn deepest_allowed_payload_is_stored() {
    let c = audit_db().await;
    let n = MAX_DEPTH_CEILING;
    let raw = format!(
        "{}\"bottom\"{}",
        "{\"k\":[".repeat(n / 2),
        "]}".repeat(n / 2)
    );
    let (j, _) = AuditJson::from_text(&raw, &JsonPolicy::default().depth_limit(n)).unwrap();
    let stored = store(&c, &j).await.unwrap();
    assert!(j.semantic_eq_text(&stored));
    assert_eq!(
        j.to_value(),
        AuditJson::from_text(&stored, &JsonPolicy::default().depth_limit(n))
            .unwrap()
            .0
            .to_value()
    );
}

#[tokio::test]
async fn semantic_equality_matches_jsonb_normalisation() {
    let c = audit_db().await;
    let raw = r#"{"z": [1e2, 1.50, -0, 0.000], "a": {"y": "\u00e9\n", "x": true}, "m": null}"#;
    let j = accept(raw);
    let stored = store(&c, &j).await.unwrap();
    assert_ne!(stored, j.as_str(), "jsonb reorders and respaces");
    assert!(json_semantic_eq(&stored, raw));
    assert!(json_semantic_eq(&stored, j.as_str()));
    assert!(!json_semantic_eq(
        &stored,
        r#"{"z": [100, 1.5, 0, 0.0001], "a": {"y": "é\n", "x": true}, "m": null}"#
    ));
    assert_eq!(
        AuditValue::from(1),
        AuditJson::from_text("1.000e0", &JsonPolicy::default())
            .unwrap()
            .0
            .to_value()
    );
}
