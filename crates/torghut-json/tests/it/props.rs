//! Property tests through PostgreSQL: every payload is either stored and read back as the same
//! JSON value, or refused with the typed error its content calls for — never a database error,
//! never a panic.
//!
//! Each property runs 256 cases on one connection to one database.

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;
use serde_json::Value;
use tokio_postgres::Client;
use torghut_json::{
    format_datetime, format_decimal, json_semantic_eq, AuditJson, AuditValue, JsonErrorReason,
    JsonPolicy, DEFAULT_REDACT_KEYS,
};
use uuid::Uuid;

use crate::support::{audit_db, pg_jsonb_text, runtime, store};

const CASES: u32 = 256;

/// Runs `check` on `CASES` inputs from `strategy`, with one database connection for the run.
fn run_with_db<S, F>(strategy: S, check: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(&tokio::runtime::Runtime, &Client, S::Value) -> Result<(), TestCaseError>,
{
    let rt = runtime();
    let client = rt.block_on(audit_db());
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, |input| check(&rt, &client, input)) {
        panic!("{e}");
    }
}

fn is_redacted_name(key: &str) -> bool {
    let folded: String = key.chars().flat_map(char::to_lowercase).collect();
    DEFAULT_REDACT_KEYS.contains(&folded.as_str())
}

/// What the content calls for, worked out from the generator's side.
#[derive(Debug, Default)]
struct Expect {
    lone_surrogate: bool,
    nul: bool,
    duplicate: bool,
    out_of_range: bool,
    redactions: usize,
    /// A zero written with an exponent beyond `INT_MAX / 2`: PostgreSQL refuses such raw text
    /// ("value overflows numeric format"), the boundary sends the exact value, `0`.
    zero_with_huge_exponent: bool,
}

impl Expect {
    fn refusals(&self) -> Vec<JsonErrorReason> {
        let mut r = Vec::new();
        if self.nul {
            r.push(JsonErrorReason::NulCharacter);
        }
        if self.out_of_range {
            r.push(JsonErrorReason::NumberOutOfRange);
        }
        r
    }

    fn allows(&self, reason: &JsonErrorReason) -> bool {
        if self.lone_surrogate {
            // The reader finds it before anything else is looked at.
            return *reason == JsonErrorReason::LoneSurrogate;
        }
        match reason {
            JsonErrorReason::DuplicateKey(_) => self.duplicate,
            other => self.refusals().contains(other),
        }
    }

    fn clean(&self) -> bool {
        !(self.lone_surrogate || self.nul || self.duplicate || self.out_of_range)
    }
}

/// Checks an accepted payload against the database: stored without error, read back equal.
async fn stored_equal(client: &Client, json: &AuditJson) -> Result<String, TestCaseError> {
    let stored = store(client, json).await.map_err(|e| {
        TestCaseError::fail(format!(
            "accepted payload reached the database as an error: {e:?}"
        ))
    })?;
    prop_assert!(
        json.semantic_eq_text(&stored),
        "read back differs:\n sent {}\n got  {stored}",
        json.as_str()
    );
    let (again, _) = AuditJson::from_text(&stored, &JsonPolicy::default())
        .map_err(|e| TestCaseError::fail(format!("jsonb output refused: {e}")))?;
    prop_assert_eq!(&again, json);
    Ok(stored)
}

// ---------------------------------------------------------------------------------------------
// Raw JSON text, hostile strings and numbers included.

#[derive(Debug, Clone, Copy)]
enum Esc {
    Raw,
    Unicode { upper: bool },
}

#[derive(Debug, Clone)]
enum Piece {
    Ch(char, Esc),
    /// An escaped high surrogate, lone unless a `Low` follows it directly.
    High(u16),
    Low(u16),
}

#[derive(Debug, Clone)]
struct Num {
    neg: bool,
    int: String,
    frac: Option<String>,
    exp: Option<(char, Option<char>, String)>,
}

#[derive(Debug, Clone)]
enum G {
    Null,
    Bool(bool),
    Num(Num),
    Str(Vec<Piece>),
    Arr(Vec<G>, &'static str),
    Obj(Vec<(Vec<Piece>, G)>, &'static str),
}

fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => prop::sample::select(vec![
            'a', 'Z', ' ', '"', '\\', '/', '\n', '\t', '\r', '\u{8}', '\u{c}', '\u{1}', '\u{1f}',
            '\u{7f}', '\u{80}', 'é', 'ß', '\u{2028}', '\u{feff}', '\u{fffe}', '\u{ffff}', '😀',
            '\u{10ffff}', '€', 'K',
        ]),
        3 => any::<char>(),
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    let esc = prop_oneof![
        3 => Just(Esc::Raw),
        1 => any::<bool>().prop_map(|upper| Esc::Unicode { upper }),
    ];
    prop_oneof![
        300 => (interesting_char(), esc.clone()).prop_map(|(c, e)| Piece::Ch(c, e)),
        1 => esc.prop_map(|e| Piece::Ch('\0', e)),
        1 => (0xD800u16..=0xDBFF).prop_map(Piece::High),
        1 => (0xDC00u16..=0xDFFF).prop_map(Piece::Low),
    ]
}

fn pieces() -> impl Strategy<Value = Vec<Piece>> {
    prop::collection::vec(piece(), 0..10)
}

fn name() -> impl Strategy<Value = Vec<Piece>> {
    let pooled = prop::sample::select(vec![
        "a",
        "b",
        "A",
        "token",
        "Password",
        "API_KEY",
        "Authorization",
        "we ird",
        "é",
        "k\0",
        "",
        "to\u{212a}en",
    ])
    .prop_flat_map(|k| {
        let chars: Vec<char> = k.chars().collect();
        let n = chars.len();
        (Just(chars), prop::collection::vec(any::<bool>(), n..=n))
    })
    .prop_map(|(chars, escaped)| {
        chars
            .into_iter()
            .zip(escaped)
            .map(|(c, e)| {
                Piece::Ch(
                    c,
                    if e {
                        Esc::Unicode { upper: false }
                    } else {
                        Esc::Raw
                    },
                )
            })
            .collect()
    });
    prop_oneof![4 => pooled, 1 => pieces()]
}

fn num() -> impl Strategy<Value = Num> {
    let int = prop_oneof![
        2 => Just("0".to_owned()),
        4 => "[1-9][0-9]{0,3}",
        2 => "[1-9][0-9]{15,45}",
    ];
    let frac = prop::option::weighted(0.5, "[0-9]{1,42}");
    let exp_digits = prop_oneof![
        12 => "[0-9]{1,3}",
        1 => "[0-9]{4,6}",
        1 => "[0-9]{19,25}",
    ];
    let exp = prop::option::weighted(
        0.4,
        (
            prop::sample::select(vec!['e', 'E']),
            prop::option::of(prop::sample::select(vec!['+', '-'])),
            exp_digits,
        ),
    );
    (any::<bool>(), int, frac, exp).prop_map(|(neg, int, frac, exp)| Num {
        neg,
        int,
        frac,
        exp,
    })
}

fn doc() -> impl Strategy<Value = G> {
    let ws = prop::sample::select(vec!["", " ", "\n", "\t", "\r\n  "]);
    let leaf = prop_oneof![
        1 => Just(G::Null),
        1 => any::<bool>().prop_map(G::Bool),
        4 => num().prop_map(G::Num),
        4 => pieces().prop_map(G::Str),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..6), ws.clone())
                .prop_map(|(items, ws)| G::Arr(items, ws)),
            (prop::collection::vec((name(), inner), 0..6), ws.clone())
                .prop_map(|(m, ws)| G::Obj(m, ws)),
        ]
    })
}

fn render_pieces(out: &mut String, ps: &[Piece]) {
    out.push('"');
    for p in ps {
        match *p {
            Piece::Ch(c, Esc::Raw) => match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if c < ' ' => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            },
            Piece::Ch(c, Esc::Unicode { upper }) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    if upper {
                        let _ = write!(out, "\\u{:04X}", u);
                    } else {
                        let _ = write!(out, "\\u{:04x}", u);
                    }
                }
            }
            Piece::High(u) | Piece::Low(u) => {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out.push('"');
}

fn render(g: &G, out: &mut String) {
    match g {
        G::Null => out.push_str("null"),
        G::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        G::Num(n) => out.push_str(&num_text(n)),
        G::Str(ps) => render_pieces(out, ps),
        G::Arr(items, ws) => {
            out.push('[');
            out.push_str(ws);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(ws);
                    out.push(',');
                    out.push_str(ws);
                }
                render(item, out);
            }
            out.push_str(ws);
            out.push(']');
        }
        G::Obj(members, ws) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws);
                render_pieces(out, k);
                out.push_str(ws);
                out.push(':');
                out.push_str(ws);
                render(v, out);
            }
            out.push_str(ws);
            out.push('}');
        }
    }
}

fn num_text(n: &Num) -> String {
    let mut s = String::new();
    if n.neg {
        s.push('-');
    }
    s.push_str(&n.int);
    if let Some(f) = &n.frac {
        s.push('.');
        s.push_str(f);
    }
    if let Some((e, sign, digits)) = &n.exp {
        s.push(*e);
        if let Some(sign) = sign {
            s.push(*sign);
        }
        s.push_str(digits);
    }
    s
}

/// Whether PostgreSQL's numeric can hold the number: at most 131072 digits before the point and
/// 16383 after it (the display scale being fraction digits minus the exponent).
fn num_in_range(n: &Num) -> bool {
    let frac = n.frac.as_deref().unwrap_or("");
    let digits = format!("{}{}", n.int, frac);
    let significant = digits.trim_start_matches('0').len() as i128;
    let zero = significant == 0;
    let exp: i128 = match &n.exp {
        None => 0,
        Some((_, sign, d)) => {
            let d = d.trim_start_matches('0');
            let magnitude: i128 = if d.len() > 30 {
                i128::MAX / 4
            } else {
                d.parse().unwrap_or(0)
            };
            if *sign == Some('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    let scale = (frac.len() as i128 - exp).max(0);
    let int_digits = significant + exp - frac.len() as i128;
    scale <= 16_383 && (zero || int_digits <= 131_072)
}

fn zero_with_huge_exponent(n: &Num) -> bool {
    let zero = n
        .int
        .chars()
        .chain(n.frac.iter().flat_map(|f| f.chars()))
        .all(|c| c == '0');
    let huge = n.exp.as_ref().is_some_and(|(_, _, d)| {
        let d = d.trim_start_matches('0');
        d.len() > 10 || d.parse::<u64>().unwrap_or(u64::MAX) > 1_073_741_823
    });
    zero && huge
}

/// The decoded string and whether it has a lone surrogate.
fn decode(ps: &[Piece]) -> (String, bool) {
    let mut s = String::new();
    let mut lone = false;
    let mut i = 0;
    while i < ps.len() {
        match ps[i] {
            Piece::Ch(c, _) => s.push(c),
            Piece::High(h) => {
                if let Some(Piece::Low(l)) = ps.get(i + 1) {
                    let cp = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(*l) - 0xDC00);
                    s.push(char::from_u32(cp).expect("valid pair"));
                    i += 1;
                } else {
                    lone = true;
                }
            }
            Piece::Low(_) => lone = true,
        }
        i += 1;
    }
    (s, lone)
}

fn expect(g: &G, redacted: bool, e: &mut Expect) {
    match g {
        G::Null | G::Bool(_) => {}
        G::Num(n) => {
            if !redacted && !num_in_range(n) {
                e.out_of_range = true;
            }
            e.zero_with_huge_exponent |= zero_with_huge_exponent(n);
        }
        G::Str(ps) => {
            let (s, lone) = decode(ps);
            e.lone_surrogate |= lone;
            e.nul |= !redacted && s.contains('\0');
        }
        G::Arr(items, _) => items.iter().for_each(|item| expect(item, redacted, e)),
        G::Obj(members, _) => {
            let mut seen = HashSet::new();
            for (k, v) in members {
                let (key, lone) = decode(k);
                e.lone_surrogate |= lone;
                if !redacted {
                    e.nul |= key.contains('\0');
                    e.duplicate |= !seen.insert(key.clone());
                }
                let child_redacted = redacted || is_redacted_name(&key);
                if !redacted && child_redacted {
                    e.redactions += 1;
                }
                expect(v, child_redacted, e);
            }
        }
    }
}

#[test]
fn raw_text_is_stored_exactly_or_refused() {
    run_with_db(doc(), |rt, client, g| {
        let mut raw = String::new();
        render(&g, &mut raw);
        let mut want = Expect::default();
        expect(&g, false, &mut want);
        let got = AuditJson::from_text(&raw, &JsonPolicy::default());
        rt.block_on(async {
            match got {
                Err(e) => {
                    prop_assert!(!want.clean(), "refused a clean payload: {e}\n{raw}");
                    prop_assert!(
                        want.allows(&e.reason),
                        "unexpected refusal {e} for {want:?}\n{raw}"
                    );
                }
                Ok((json, redactions)) => {
                    prop_assert!(
                        want.clean(),
                        "accepted a payload calling for {want:?}\n{raw}"
                    );
                    prop_assert_eq!(redactions.count, want.redactions);
                    prop_assert_eq!(redactions.paths.len(), want.redactions);
                    let stored = stored_equal(client, &json).await?;
                    if redactions.is_empty() {
                        // Nothing but whitespace and number spelling changed...
                        prop_assert!(
                            json_semantic_eq(&raw, json.as_str()),
                            "{raw}\n{}",
                            json.as_str()
                        );
                        // ...and jsonb normalises the raw text and ours to the very same text.
                        match pg_jsonb_text(client, &raw).await {
                            Ok(pg) => prop_assert_eq!(pg, stored),
                            Err(e) => prop_assert!(
                                want.zero_with_huge_exponent,
                                "PostgreSQL refused clean raw text: {e:?}\n{raw}"
                            ),
                        }
                    }
                }
            }
            Ok(())
        })
    });
}

// ---------------------------------------------------------------------------------------------
// Damaged and arbitrary text: never a panic, never a database error.

fn damaged_text() -> impl Strategy<Value = String> {
    let arbitrary = prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                '{', '}', '[', ']', '"', '\\', ':', ',', ' ', '-', '+', '.', 'e', '0', '1', '9',
                'u', 'd', '8', 'n', 't', 'f', 'a', '\0', '\u{1}', '\u{feff}',
            ]),
            1 => any::<char>(),
        ],
        0..60,
    )
    .prop_map(|cs| cs.into_iter().collect::<String>());
    let cut =
        (doc(), any::<prop::sample::Index>(), any::<char>(), 0..3u8).prop_map(|(g, at, c, how)| {
            let mut raw = String::new();
            render(&g, &mut raw);
            let mut cut = at.index(raw.len() + 1);
            while !raw.is_char_boundary(cut) {
                cut -= 1;
            }
            match how {
                0 => raw.truncate(cut),
                1 => raw.insert(cut, c),
                _ => {
                    raw.replace_range(
                        cut..raw[cut..]
                            .chars()
                            .next()
                            .map_or(cut, |ch| cut + ch.len_utf8()),
                        "",
                    );
                }
            }
            raw
        });
    prop_oneof![arbitrary, cut]
}

#[test]
fn damaged_text_never_panics_or_reaches_the_database_as_an_error() {
    run_with_db(damaged_text(), |rt, client, raw| {
        let got = AuditJson::from_text(&raw, &JsonPolicy::default());
        rt.block_on(async {
            match got {
                Ok((json, _)) => {
                    stored_equal(client, &json).await?;
                }
                Err(e) => {
                    // Whatever the refusal, its message names no content but the member names.
                    let _ = e.to_string();
                }
            }
            Ok(())
        })
    });
}

// ---------------------------------------------------------------------------------------------
// serde_json values: `from_value` and `from_serialize` agree, and hostile strings are handled.

fn hostile_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![40 => interesting_char(), 1 => Just('\0')],
        0..12,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn serde_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_string().prop_map(Value::String),
    ];
    let key = prop_oneof![
        3 => prop::sample::select(vec!["a", "b", "token", "COOKIE", "dsn", "x y"])
            .prop_map(str::to_owned),
        1 => hostile_string(),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Whether a NUL is anywhere that is not redacted, and how many members are redacted.
fn serde_expect(v: &Value, redacted: bool) -> (bool, usize) {
    match v {
        Value::String(s) => (!redacted && s.contains('\0'), 0),
        Value::Array(items) => items.iter().fold((false, 0), |(nul, n), item| {
            let (a, b) = serde_expect(item, redacted);
            (nul || a, n + b)
        }),
        Value::Object(map) => map.iter().fold((false, 0), |(nul, n), (k, item)| {
            let child = redacted || is_redacted_name(k);
            let (a, b) = serde_expect(item, child);
            let here = usize::from(!redacted && child);
            (nul || a || (!redacted && k.contains('\0')), n + b + here)
        }),
        _ => (false, 0),
    }
}

#[test]
fn serde_values_are_stored_or_refused_alike_by_both_paths() {
    run_with_db(serde_value(), |rt, client, v| {
        let by_value = AuditJson::from_value(&v, &JsonPolicy::default());
        let by_serialize = AuditJson::from_serialize(&v, &JsonPolicy::default());
        let (nul, redacted) = serde_expect(&v, false);
        rt.block_on(async {
            match (by_value, by_serialize) {
                (Ok((a, ra)), Ok((b, rb))) => {
                    prop_assert!(!nul, "accepted a NUL: {v}");
                    prop_assert_eq!(a.as_str(), b.as_str());
                    prop_assert_eq!(&ra, &rb);
                    prop_assert_eq!(ra.count, redacted);
                    stored_equal(client, &a).await?;
                    if ra.is_empty() {
                        let theirs = serde_json::to_string(&v).unwrap();
                        prop_assert!(
                            json_semantic_eq(&theirs, a.as_str()),
                            "{theirs}\n{}",
                            a.as_str()
                        );
                    }
                }
                (Err(a), Err(b)) => {
                    prop_assert_eq!(&a, &b);
                    prop_assert!(nul, "refused: {a}");
                    prop_assert_eq!(a.reason, JsonErrorReason::NulCharacter);
                }
                (a, b) => prop_assert!(false, "paths disagree: {a:?} vs {b:?}"),
            }
            Ok(())
        })
    });
}

// ---------------------------------------------------------------------------------------------
// Built payloads with typed values: floats of every kind, UUIDs, decimals, date-times.

#[derive(Debug, Clone)]
enum Typed {
    Float(f64),
    Uuid(u128),
    Dec(i64, u32),
    At(i64, u32, i32),
    Text(String),
    Int(i128),
}

fn typed() -> impl Strategy<Value = Typed> {
    prop_oneof![
        3 => prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
        ]
        .prop_map(Typed::Float),
        1 => any::<u128>().prop_map(Typed::Uuid),
        2 => (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Typed::Dec(m, s)),
        2 => (
            -2_208_988_800i64..=4_102_444_800, // 1900..2100
            0u32..1_000_000_000,
            -86_399i32..=86_399,
        )
            .prop_map(|(s, n, o)| Typed::At(s, n, o)),
        1 => hostile_string().prop_map(Typed::Text),
        1 => any::<i128>().prop_map(Typed::Int),
    ]
}

fn typed_value(t: &Typed) -> AuditValue {
    match t {
        Typed::Float(x) => AuditValue::from(*x),
        Typed::Uuid(u) => AuditValue::from(Uuid::from_u128(*u)),
        Typed::Dec(m, s) => AuditValue::from(Decimal::new(*m, *s)),
        Typed::At(secs, nanos, offset) => AuditValue::from(at(*secs, *nanos, *offset)),
        Typed::Text(s) => AuditValue::from(s.as_str()),
        Typed::Int(i) => AuditValue::from(*i),
    }
}

fn at(secs: i64, nanos: u32, offset: i32) -> DateTime<FixedOffset> {
    let utc = Utc.timestamp_opt(secs, nanos).single().expect("in range");
    utc.with_timezone(&FixedOffset::east_opt(offset).expect("valid offset"))
}

#[test]
fn typed_payloads_are_stored_or_refused() {
    let members =
        prop::collection::vec((prop::option::weighted(0.1, Just("secret")), typed()), 1..8);
    run_with_db(members, |rt, client, members| {
        let mut refuse = None;
        let mut obj = Vec::new();
        for (i, (secret, t)) in members.iter().enumerate() {
            let key = match secret {
                Some(s) if !obj.iter().any(|(k, _): &(String, AuditValue)| k == s) => {
                    (*s).to_owned()
                }
                _ => format!("k{i}"),
            };
            let redacted = is_redacted_name(&key);
            if !redacted && refuse.is_none() {
                refuse = match t {
                    Typed::Float(x) if !x.is_finite() => Some(format!("$.{key}")),
                    Typed::Text(s) if s.contains('\0') => Some(format!("$.{key}")),
                    _ => None,
                };
            }
            obj.push((key, typed_value(t)));
        }
        let value = AuditValue::Object(obj.clone());
        let got = AuditJson::from_audit_value(&value, &JsonPolicy::default().object_required());
        rt.block_on(async {
            match (got, refuse) {
                (Err(e), Some(path)) => {
                    prop_assert_eq!(e.path, path);
                    prop_assert!(matches!(
                        e.reason,
                        JsonErrorReason::NonFinite(_) | JsonErrorReason::NulCharacter
                    ));
                }
                (Ok((json, _)), None) => {
                    stored_equal(client, &json).await?;
                    for ((key, _), (_, t)) in obj.iter().zip(&members) {
                        if is_redacted_name(key) {
                            continue;
                        }
                        let row = client
                            .query_one(
                                "SELECT payload->>$1::text FROM audit ORDER BY id DESC LIMIT 1",
                                &[key],
                            )
                            .await
                            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                        let text: String = row.get(0);
                        match t {
                            Typed::Uuid(u) => {
                                prop_assert_eq!(text, Uuid::from_u128(*u).to_string())
                            }
                            Typed::Dec(m, s) => {
                                let d = Decimal::new(*m, *s);
                                prop_assert_eq!(&text, &format_decimal(&d));
                                prop_assert_eq!(
                                    text.parse::<Decimal>().unwrap().scale(),
                                    d.scale()
                                );
                            }
                            Typed::At(secs, nanos, offset) => {
                                let when = at(*secs, *nanos, *offset);
                                prop_assert_eq!(&text, &format_datetime(&when));
                                let back: DateTime<Utc> = client
                                    .query_one("SELECT $1::text::timestamptz", &[&text])
                                    .await
                                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?
                                    .get(0);
                                let micros = when.timestamp_micros();
                                prop_assert_eq!(back.timestamp_micros(), micros);
                            }
                            Typed::Int(i) => prop_assert_eq!(text, i.to_string()),
                            Typed::Float(x) => {
                                let back: f64 = text.parse().unwrap();
                                prop_assert!(back == *x, "{x} stored as {text}");
                            }
                            Typed::Text(s) => prop_assert_eq!(&text, s),
                        }
                    }
                }
                (got, refuse) => prop_assert!(false, "got {got:?}, expected refusal at {refuse:?}"),
            }
            Ok(())
        })
    });
}
