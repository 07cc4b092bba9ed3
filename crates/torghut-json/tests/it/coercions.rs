//! UUID, decimal and date-time coercions, through every way of building a payload.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use torghut_json::{
    audit_object, format_datetime, format_decimal, format_uuid, utc_micros, AuditJson, AuditValue,
    JsonPolicy,
};
use uuid::Uuid;

fn text_of(v: &AuditValue) -> String {
    AuditJson::from_audit_value(v, &JsonPolicy::default())
        .unwrap()
        .0
        .into_string()
}

fn serialized<T: Serialize>(t: &T) -> String {
    AuditJson::from_serialize(t, &JsonPolicy::default())
        .unwrap()
        .0
        .into_string()
}

#[test]
fn uuid_is_lower_case_hyphenated() {
    let u = Uuid::parse_str("67E55044-10B1-426F-9247-BB680E5FE0C8").unwrap();
    let want = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    assert_eq!(format_uuid(&u), want);
    assert_eq!(text_of(&AuditValue::from(u)), format!("\"{want}\""));
    assert_eq!(text_of(&AuditValue::from(&u)), format!("\"{want}\""));
    // uuid's own Serialize (the crash in the old service): the same string.
    #[derive(Serialize)]
    struct Order {
        id: Uuid,
        parent: Option<Uuid>,
    }
    let o = Order {
        id: u,
        parent: None,
    };
    assert_eq!(
        serialized(&o),
        format!(r#"{{"id":"{want}","parent":null}}"#)
    );
}

#[test]
fn decimal_keeps_its_scale() {
    for (d, want) in [
        (Decimal::new(150, 2), "1.50"),
        (Decimal::new(-150, 2), "-1.50"),
        (Decimal::new(1, 8), "0.00000001"),
        (Decimal::new(100, 0), "100"),
        (Decimal::new(1000, 3), "1.000"),
        (Decimal::MAX, "79228162514264337593543950335"),
        (
            Decimal::from_i128_with_scale(1, 28),
            "0.0000000000000000000000000001",
        ),
    ] {
        assert_eq!(format_decimal(&d), want);
        assert_eq!(text_of(&AuditValue::from(d)), format!("\"{want}\""));
        assert_eq!(text_of(&AuditValue::from(&d)), format!("\"{want}\""));
        // rust_decimal's own Serialize (serde-with-str behaviour): the same string.
        assert_eq!(serialized(&d), format!("\"{want}\""), "Serialize of {d}");
        assert_eq!(serialized(&vec![d]), format!("[\"{want}\"]"));
    }
}

#[test]
fn datetime_is_utc_with_microseconds() {
    let utc =
        Utc.with_ymd_and_hms(2026, 2, 10, 9, 30, 0).unwrap() + chrono::Duration::milliseconds(250);
    assert_eq!(format_datetime(&utc), "2026-02-10T09:30:00.250000Z");
    assert_eq!(
        text_of(&AuditValue::from(utc)),
        "\"2026-02-10T09:30:00.250000Z\""
    );

    // Other offsets are converted to UTC.
    let ist: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-02-10T15:00:00.25+05:30").unwrap();
    assert_eq!(format_datetime(&ist), "2026-02-10T09:30:00.250000Z");
    assert_eq!(
        text_of(&AuditValue::from(&ist)),
        "\"2026-02-10T09:30:00.250000Z\""
    );

    // Whole seconds still get six digits; sub-microsecond digits are dropped.
    let whole = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    assert_eq!(format_datetime(&whole), "2026-01-02T03:04:05.000000Z");
    let nanos = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456789Z").unwrap();
    assert_eq!(format_datetime(&nanos), "2026-01-02T03:04:05.123456Z");
    let before_epoch = DateTime::parse_from_rfc3339("1969-12-31T23:59:59.9999999Z").unwrap();
    assert_eq!(
        format_datetime(&before_epoch),
        "1969-12-31T23:59:59.999999Z"
    );

    assert_eq!(
        text_of(&AuditValue::from(
            NaiveDate::from_ymd_opt(2026, 2, 10).unwrap()
        )),
        "\"2026-02-10\""
    );
}

#[test]
fn datetime_through_serialize() {
    let at: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-02-10T10:30:00.25+01:00").unwrap();

    // chrono's own Serialize keeps its offset and variable precision: kept as written (a
    // serializer cannot tell it from any other string).
    #[derive(Serialize)]
    struct Plain {
        at: DateTime<FixedOffset>,
    }
    assert_eq!(
        serialized(&Plain { at }),
        r#"{"at":"2026-02-10T10:30:00.250+01:00"}"#
    );

    // With the helper: the payload form.
    #[derive(Serialize)]
    struct Typed {
        #[serde(with = "utc_micros")]
        at: DateTime<FixedOffset>,
        #[serde(with = "utc_micros::option")]
        maybe: Option<DateTime<Utc>>,
        #[serde(with = "utc_micros::option")]
        none: Option<DateTime<Utc>>,
    }
    let t = Typed {
        at,
        maybe: Some(at.with_timezone(&Utc)),
        none: None,
    };
    assert_eq!(
        serialized(&t),
        r#"{"at":"2026-02-10T09:30:00.250000Z","maybe":"2026-02-10T09:30:00.250000Z","none":null}"#
    );

    // And the helper reads back what it wrote.
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Back {
        #[serde(with = "utc_micros")]
        at: DateTime<Utc>,
        #[serde(with = "utc_micros::option")]
        maybe: Option<DateTime<Utc>>,
    }
    let back: Back =
        serde_json::from_str(r#"{"at":"2026-02-10T09:30:00.250000Z","maybe":null}"#).unwrap();
    assert_eq!(back.at, at.with_timezone(&Utc));
    assert_eq!(back.maybe, None);
}

#[test]
fn builder_and_serialize_agree() {
    let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let qty = Decimal::new(1050, 3);
    let at = Utc.with_ymd_and_hms(2026, 2, 10, 9, 30, 0).unwrap();

    let built = audit_object! {
        "id" => id,
        "qty" => qty,
        "at" => at,
        "tags" => vec!["a", "b"],
        "limit" => None::<Decimal>,
        "ratio" => 0.1,
        "n" => u128::MAX,
    };

    #[derive(Serialize)]
    struct Typed {
        id: Uuid,
        qty: Decimal,
        #[serde(with = "utc_micros")]
        at: DateTime<Utc>,
        tags: Vec<&'static str>,
        limit: Option<Decimal>,
        ratio: f64,
        n: u128,
    }
    let typed = Typed {
        id,
        qty,
        at,
        tags: vec!["a", "b"],
        limit: None,
        ratio: 0.1,
        n: u128::MAX,
    };
    let want = r#"{"id":"01234567-89ab-cdef-0123-456789abcdef","qty":"1.050","at":"2026-02-10T09:30:00.000000Z","tags":["a","b"],"limit":null,"ratio":0.1,"n":340282366920938463463374607431768211455}"#;
    assert_eq!(text_of(&built), want);
    assert_eq!(serialized(&typed), want);
}

#[test]
fn serde_data_model_follows_serde_json() {
    #[derive(Serialize)]
    enum E {
        Unit,
        New(i32),
        Tuple(i32, bool),
        Struct { a: i32 },
    }
    #[derive(Serialize)]
    struct Unit;
    #[derive(Serialize)]
    struct New(u8);
    #[derive(Serialize)]
    struct S<'a> {
        e: Vec<E>,
        unit: Unit,
        new: New,
        tuple: (i8, &'a str),
        bytes: &'a serde_bytes_like::Bytes,
        map: std::collections::BTreeMap<i64, bool>,
        keys: std::collections::BTreeMap<bool, char>,
        c: char,
        opt: Option<()>,
    }
    let s = S {
        e: vec![E::Unit, E::New(1), E::Tuple(2, true), E::Struct { a: 3 }],
        unit: Unit,
        new: New(7),
        tuple: (-1, "x"),
        bytes: serde_bytes_like::Bytes::new(&[1, 2]),
        map: [(-5, true), (10, false)].into_iter().collect(),
        keys: [(true, 'y')].into_iter().collect(),
        c: 'é',
        opt: Some(()),
    };
    let ours = serialized(&s);
    let theirs = serde_json::to_string(&s).unwrap();
    assert_eq!(ours, theirs);
}

/// A byte slice that serializes with `serialize_bytes` (what `serde_bytes` does).
mod serde_bytes_like {
    #[repr(transparent)]
    pub struct Bytes([u8]);
    impl Bytes {
        pub fn new(b: &[u8]) -> &Bytes {
            // SAFETY: `Bytes` is a transparent wrapper of `[u8]`.
            unsafe { &*(b as *const [u8] as *const Bytes) }
        }
    }
    impl serde::Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }
}

#[test]
fn serde_json_values_and_numbers() {
    let v =
        json!({"f": 0.1, "g": 1.0, "big": u64::MAX, "neg": i64::MIN, "e": 1e300, "tiny": 5e-324});
    let (j, _) = AuditJson::from_value(&v, &JsonPolicy::default()).unwrap();
    let mut want = String::from(
        r#"{"f":0.1,"g":1.0,"big":18446744073709551615,"neg":-9223372036854775808,"e":1"#,
    );
    want.push_str(&"0".repeat(300));
    want.push_str(r#","tiny":0."#);
    want.push_str(&"0".repeat(323));
    want.push_str("5}");
    assert_eq!(j.as_str(), want);
    // from_serialize of the same value gives the same text.
    assert_eq!(serialized(&v), want);
    // f32 keeps its own shortest form.
    assert_eq!(serialized(&0.1f32), "0.1");
    assert_eq!(text_of(&AuditValue::from(0.1f32)), "0.1");
}

#[test]
fn raw_numbers_keep_every_digit() {
    let raw = r#"[123456789012345678901234567890, -0.1234567890123456789012345678901234567890, 1e2, 1.50, -0, 1E+2, 2.5e-3, 0e-2]"#;
    let (j, _) = AuditJson::from_text(raw, &JsonPolicy::default()).unwrap();
    assert_eq!(
        j.as_str(),
        "[123456789012345678901234567890,-0.1234567890123456789012345678901234567890,100,1.50,0,100,0.0025,0.00]"
    );
    assert!(j.semantic_eq_text(raw));
    let v = j.to_value();
    assert_eq!(
        v,
        AuditJson::from_text(raw, &JsonPolicy::default())
            .unwrap()
            .0
            .to_value()
    );
    assert!(
        v.to_serde_json().is_none(),
        "30-digit integer is beyond serde_json"
    );
}
