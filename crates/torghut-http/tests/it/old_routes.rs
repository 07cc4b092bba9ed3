//! The old service's read routes (`/healthz`, `/db-check`, `/trading/decisions`,
//! `/trading/executions`) answer what the old service (FastAPI 0.123.5, pydantic 2.12.5,
//! SQLAlchemy 2, psycopg 3) answered for the same rows: the expected bodies and row selections
//! below are the old service's answers for this fixture, taken by running it against the same
//! database.

use axum::http::StatusCode;

use crate::support::*;

/// Rows written the way the old service could have left them: decimals of every scale, NaN,
/// nulls, timestamps with and without microseconds (and before 1901, when the zone's offset
/// had seconds), unicode, escapes, nested JSON, integers beyond 64 bits, a float beyond `f64`,
/// and keys starting with `_sa` (which FastAPI's `jsonable_encoder` drops).
const FIXTURE: &str = r##"
INSERT INTO strategies (id, name, base_timeframe, universe_type)
VALUES ('11111111-1111-4111-8111-111111111111', 'macd', '1Min', 'static');
INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, decision_json, rationale, status, created_at, executed_at) VALUES
('aaaaaaaa-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'paper', 'AAPL', '1Min',
 '{"qty": "1.50", "action": "buy", "event_ts": "2026-02-10T14:30:00.25+05:30", "limit_price": 187.5,
   "params": {"f": 1.10, "i": 7, "neg": -0, "zero": 0.0, "tiny": 1e-7, "hundred": 100.0,
              "big": 123456789012345678901234567890, "huge": 123456789012345678901234567890.000000000000000000001,
              "e30": 1.5e30, "third": 0.3333333333333333333, "tie": 70516814153683.625,
              "arr": [1, 2.5, "x", null, true, false, [], {}], "nested": {"deep": {"deeper": [{"k": "v"}]}}},
   "_sa_instance_state": 1, "_sample": {"keep": 3}, "keep_sa": [{"_sax": 1, "k": 2}],
   "text": "caf\u00e9 \u2615 \ud834\udd1e \"q\" \\ back\nline\ttab \u0001 \u001f \u007f \u2028 /"}'::jsonb
   || jsonb_build_object('float_overflow', 10::numeric ^ 400 + 0.5),
 NULL, 'planned', '2026-02-10 14:30:00.123456+00', NULL),
('aaaaaaaa-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'live', 'MSFT', '5Min',
 '{"a": 1, "b": [1e16, 1e15, 0.0001, 0.00001, 5e-324, 1.5e20, 9007199254740993, -1.5]}',
 'macd cross ☕ émoji 𝄞', 'filled', '2026-02-10 14:30:00+00', '2026-02-10 14:31:05.5+00'),
('aaaaaaaa-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', 'paper', 'AAPL', '1Min',
 '{}', '', 'submitted', '2026-02-10 10:00:00.000001-05:00', '2026-02-10 15:00:00.999999+00'),
('aaaaaaaa-0000-4000-8000-000000000004', '11111111-1111-4111-8111-111111111111', 'paper', 'ÄPFEL', '1Min',
 '[1, "two", {"three": 3}]', 'x', 'planned', '2026-02-09 23:59:59.9+00', NULL),
('aaaaaaaa-0000-4000-8000-000000000005', '11111111-1111-4111-8111-111111111111', 'paper', 'AAPL', '1Min',
 '"just a string"', NULL, 'planned', '1999-12-31 23:59:59+00', NULL),
('aaaaaaaa-0000-4000-8000-000000000006', '11111111-1111-4111-8111-111111111111', 'paper', 'OLD', '1Min',
 '{}', NULL, 'planned', '1900-01-01 12:00:00.25+00', NULL),
('aaaaaaaa-0000-4000-8000-000000000007', '11111111-1111-4111-8111-111111111111', 'paper', 'SUMMER', '1Min',
 '{}', NULL, 'planned', '2026-07-01 12:00:00+00', NULL);
INSERT INTO executions (id, trade_decision_id, alpaca_order_id, client_order_id, symbol, side, order_type, time_in_force, submitted_qty, filled_qty, avg_fill_price, status, raw_order, created_at, last_update_at) VALUES
('bbbbbbbb-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', 'ord-1', 'c1', 'AAPL', 'buy', 'limit', 'day', 1.5, 0, NULL, 'accepted', '{"id": "ord-1"}', '2026-02-10 14:30:01.5+00', NULL),
('bbbbbbbb-0000-4000-8000-000000000002', NULL, 'ord-2', NULL, 'MSFT', 'sell', 'market', 'gtc', 100, 100, 187.25, 'filled', NULL, '2026-02-10 14:30:02+00', '2026-02-10 14:31:00.0001+00'),
('bbbbbbbb-0000-4000-8000-000000000003', NULL, 'ord-3', 'c3', 'AAPL', 'buy', 'market', 'day', 0.00000001, 0.00001, 0.1, 'partially_filled', '{}', '2026-02-10 14:30:03.00001+00', '2026-02-10 14:30:03+00'),
('bbbbbbbb-0000-4000-8000-000000000004', NULL, 'ord-4', NULL, 'AAPL', 'buy', 'market', 'day', 123456789012.12345678, 99999999999.99999999, 12345678.9, 'filled', NULL, '2026-02-10 14:30:04+00', NULL),
('bbbbbbbb-0000-4000-8000-000000000005', NULL, 'ord-5', NULL, 'TSLA', 'sell', 'limit', 'ioc', 0.0001, 0.00012345, 0.3, 'new', NULL, '2026-02-10 14:30:05+00', NULL),
('bbbbbbbb-0000-4000-8000-000000000006', NULL, 'ord-6', NULL, 'TSLA', 'sell', 'limit', 'ioc', 999999999999.99999999, 0.5, 0.00000005, 'new', NULL, '2026-02-10 14:30:06+00', NULL),
('bbbbbbbb-0000-4000-8000-000000000007', NULL, 'ord-7', NULL, 'TSLA', 'sell', 'limit', 'ioc', 7, 0.12345678, 0.30000001, 'new', NULL, '2026-02-10 14:30:07+00', NULL),
('bbbbbbbb-0000-4000-8000-000000000008', NULL, 'ord-8', NULL, 'NANX', 'buy', 'stop', 'fok', 'NaN', -0.5, 2.675, 'new', NULL, '2026-02-10 14:30:08+00', NULL);
"##;

/// A database with [`FIXTURE`] whose sessions use the time zone `tz`.
async fn fixture(tz: &str) -> torghut_testdb::TestDb {
    let db = db().await;
    let client = db.connect().await;
    client
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET timezone = '{tz}'",
            db.name
        ))
        .await
        .unwrap();
    client.batch_execute(FIXTURE).await.unwrap();
    db
}

/// The last character of each listed id (the fixture's ids differ only there), in order.
fn ids(a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().chars().last().unwrap())
        .collect()
}

fn query(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The old service's `/trading/decisions` for the fixture in UTC, row by row.
const DECISIONS_UTC: [&str; 7] = [
    "{\"id\":\"aaaaaaaa-0000-4000-8000-000000000007\",\"strategy_id\":\"11111111-1111-4111-8111-111111111111\",\"symbol\":\"SUMMER\",\"timeframe\":\"1Min\",\"status\":\"planned\",\"rationale\":null,\"decision\":{},\"created_at\":\"2026-07-01T12:00:00+00:00\",\"executed_at\":null,\"alpaca_account_label\":\"paper\"}",
    "{\"id\":\"aaaaaaaa-0000-4000-8000-000000000003\",\"strategy_id\":\"11111111-1111-4111-8111-111111111111\",\"symbol\":\"AAPL\",\"timeframe\":\"1Min\",\"status\":\"submitted\",\"rationale\":\"\",\"decision\":{},\"created_at\":\"2026-02-10T15:00:00.000001+00:00\",\"executed_at\":\"2026-02-10T15:00:00.999999+00:00\",\"alpaca_account_label\":\"paper\"}",
    "{\"id\":\"aaaaaaaa-0000-4000-8000-000000000001\",\"strategy_id\":\"11111111-1111-4111-8111-111111111111\",\"symbol\":\"AAPL\",\"timeframe\":\"1Min\",\"status\":\"planned\",\"rationale\":null,\"decision\":{\"qty\":\"1.50\",\"text\":\"café ☕ 𝄞 \\\"q\\\" \\\\ back\\nline\\ttab \\u0001 \\u001f \u{7f} \u{2028} /\",\"action\":\"buy\",\"params\":{\"f\":1.1,\"i\":7,\"arr\":[1,2.5,\"x\",null,true,false,[],{}],\"big\":123456789012345678901234567890,\"e30\":1500000000000000000000000000000,\"neg\":0,\"tie\":70516814153683.62,\"huge\":1.2345678901234568e+29,\"tiny\":1e-07,\"zero\":0.0,\"third\":0.3333333333333333,\"nested\":{\"deep\":{\"deeper\":[{\"k\":\"v\"}]}},\"hundred\":100.0},\"keep_sa\":[{\"k\":2}],\"event_ts\":\"2026-02-10T14:30:00.25+05:30\",\"limit_price\":187.5,\"float_overflow\":null},\"created_at\":\"2026-02-10T14:30:00.123456+00:00\",\"executed_at\":null,\"alpaca_account_label\":\"paper\"}",
    "{\"id\":\"aaaaaaaa-0000-4000-8000-000000000002\",\"strategy_id\":\"11111111-1111-4111-8111-111111111111\",\"symbol\":\"MSFT\",\"timeframe\":\"5Min\",\"status\":\"filled\",\"rationale\":\"macd cross ☕ émoji 𝄞\",\"decision\":{\"a\":1,\"b\":[10000000000000000,1000000000000000,0.0001,1e-05,5e-324,150000000000000000000,9007199254740993,-1.5]},\"created_at\":\"2026-02-10T14:30:00+00:00\",\"executed_at\":\"2026-02-10T14:31:05.500000+00:00\",\"alpaca_account_label\":\"live\"}",
    "{\"id\":\"aaaaaaaa-0000-4000-8000-000000000004\",\"strategy_id\":\"11111111-1111-4111-8111-111111111111\",\"symbol\":\"ÄPFEL\",\"timeframe\":\"1Min\",\"status\":\"planned\",\"rationale\":\"x\",\"decision\":[1,\"two\",{\"three\":3}],\"created_at\":\"2026-02-09T23:59:59.900000+00:00\",\"executed_at\":null,\"alpaca_account_label\":\"paper\"}",
    "{\"id\":\"aaaaaaaa-0000-4000-8000-000000000005\",\"strategy_id\":\"11111111-1111-4111-8111-111111111111\",\"symbol\":\"AAPL\",\"timeframe\":\"1Min\",\"status\":\"planned\",\"rationale\":null,\"decision\":\"just a string\",\"created_at\":\"1999-12-31T23:59:59+00:00\",\"executed_at\":null,\"alpaca_account_label\":\"paper\"}",
    "{\"id\":\"aaaaaaaa-0000-4000-8000-000000000006\",\"strategy_id\":\"11111111-1111-4111-8111-111111111111\",\"symbol\":\"OLD\",\"timeframe\":\"1Min\",\"status\":\"planned\",\"rationale\":null,\"decision\":{},\"created_at\":\"1900-01-01T12:00:00.250000+00:00\",\"executed_at\":null,\"alpaca_account_label\":\"paper\"}",
];

/// The old service's `/trading/executions` for the fixture in UTC, row by row.
const EXECUTIONS_UTC: [&str; 8] = [
    "{\"id\":\"bbbbbbbb-0000-4000-8000-000000000008\",\"trade_decision_id\":null,\"symbol\":\"NANX\",\"side\":\"buy\",\"order_type\":\"stop\",\"time_in_force\":\"fok\",\"submitted_qty\":null,\"filled_qty\":-0.5,\"avg_fill_price\":2.675,\"status\":\"new\",\"created_at\":\"2026-02-10T14:30:08+00:00\",\"last_update_at\":null,\"alpaca_order_id\":\"ord-8\"}",
    "{\"id\":\"bbbbbbbb-0000-4000-8000-000000000007\",\"trade_decision_id\":null,\"symbol\":\"TSLA\",\"side\":\"sell\",\"order_type\":\"limit\",\"time_in_force\":\"ioc\",\"submitted_qty\":7.0,\"filled_qty\":0.12345678,\"avg_fill_price\":0.30000001,\"status\":\"new\",\"created_at\":\"2026-02-10T14:30:07+00:00\",\"last_update_at\":null,\"alpaca_order_id\":\"ord-7\"}",
    "{\"id\":\"bbbbbbbb-0000-4000-8000-000000000006\",\"trade_decision_id\":null,\"symbol\":\"TSLA\",\"side\":\"sell\",\"order_type\":\"limit\",\"time_in_force\":\"ioc\",\"submitted_qty\":1000000000000.0,\"filled_qty\":0.5,\"avg_fill_price\":5e-08,\"status\":\"new\",\"created_at\":\"2026-02-10T14:30:06+00:00\",\"last_update_at\":null,\"alpaca_order_id\":\"ord-6\"}",
    "{\"id\":\"bbbbbbbb-0000-4000-8000-000000000005\",\"trade_decision_id\":null,\"symbol\":\"TSLA\",\"side\":\"sell\",\"order_type\":\"limit\",\"time_in_force\":\"ioc\",\"submitted_qty\":0.0001,\"filled_qty\":0.00012345,\"avg_fill_price\":0.3,\"status\":\"new\",\"created_at\":\"2026-02-10T14:30:05+00:00\",\"last_update_at\":null,\"alpaca_order_id\":\"ord-5\"}",
    "{\"id\":\"bbbbbbbb-0000-4000-8000-000000000004\",\"trade_decision_id\":null,\"symbol\":\"AAPL\",\"side\":\"buy\",\"order_type\":\"market\",\"time_in_force\":\"day\",\"submitted_qty\":123456789012.12346,\"filled_qty\":100000000000.0,\"avg_fill_price\":12345678.9,\"status\":\"filled\",\"created_at\":\"2026-02-10T14:30:04+00:00\",\"last_update_at\":null,\"alpaca_order_id\":\"ord-4\"}",
    "{\"id\":\"bbbbbbbb-0000-4000-8000-000000000003\",\"trade_decision_id\":null,\"symbol\":\"AAPL\",\"side\":\"buy\",\"order_type\":\"market\",\"time_in_force\":\"day\",\"submitted_qty\":1e-08,\"filled_qty\":1e-05,\"avg_fill_price\":0.1,\"status\":\"partially_filled\",\"created_at\":\"2026-02-10T14:30:03.000010+00:00\",\"last_update_at\":\"2026-02-10T14:30:03+00:00\",\"alpaca_order_id\":\"ord-3\"}",
    "{\"id\":\"bbbbbbbb-0000-4000-8000-000000000002\",\"trade_decision_id\":null,\"symbol\":\"MSFT\",\"side\":\"sell\",\"order_type\":\"market\",\"time_in_force\":\"gtc\",\"submitted_qty\":100.0,\"filled_qty\":100.0,\"avg_fill_price\":187.25,\"status\":\"filled\",\"created_at\":\"2026-02-10T14:30:02+00:00\",\"last_update_at\":\"2026-02-10T14:31:00.000100+00:00\",\"alpaca_order_id\":\"ord-2\"}",
    "{\"id\":\"bbbbbbbb-0000-4000-8000-000000000001\",\"trade_decision_id\":\"aaaaaaaa-0000-4000-8000-000000000001\",\"symbol\":\"AAPL\",\"side\":\"buy\",\"order_type\":\"limit\",\"time_in_force\":\"day\",\"submitted_qty\":1.5,\"filled_qty\":0.0,\"avg_fill_price\":null,\"status\":\"accepted\",\"created_at\":\"2026-02-10T14:30:01.500000+00:00\",\"last_update_at\":null,\"alpaca_order_id\":\"ord-1\"}",
];

#[tokio::test]
async fn healthz_and_db_check_answer_the_old_bodies() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let a = get(&app, "/healthz").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.text, r#"{"status":"ok","service":"torghut"}"#);
    let a = get(&app, "/db-check").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.text, r#"{"ok":true}"#);
}

#[tokio::test]
async fn trading_listings_are_the_old_service_answers_byte_for_byte() {
    let db = fixture("UTC").await;
    let (_, app) = app(&db).await;
    let a = get(&app, "/trading/decisions").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.content_type(), "application/json");
    assert_eq!(a.text, format!("[{}]", DECISIONS_UTC.join(",")));
    let a = get(&app, "/trading/executions").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.text, format!("[{}]", EXECUTIONS_UTC.join(",")));

    // Filters select among the same rows and keep their form.
    let a = get(&app, "/trading/decisions?symbol=MSFT").await;
    assert_eq!(a.text, format!("[{}]", DECISIONS_UTC[3]));
    let a = get(&app, "/trading/executions?symbol=AAPL&limit=2").await;
    assert_eq!(
        a.text,
        format!("[{},{}]", EXECUTIONS_UTC[4], EXECUTIONS_UTC[5])
    );
    let a = get(
        &app,
        &format!("/trading/decisions?symbol={}", query("ÄPFEL")),
    )
    .await;
    assert_eq!(a.text, format!("[{}]", DECISIONS_UTC[4]));
}

/// `since` values and the decisions the old service listed for them (the last character of
/// each id, newest first), in UTC; `None`: 422. Covers RFC 3339 with `Z`, offsets and none,
/// the separators pydantic accepts, fractions (truncated past six digits), a date alone, unix
/// seconds and milliseconds (above 2e10), floats, and what pydantic refuses.
const SINCE_UTC: [(&str, Option<&str>); 71] = [
    ("2026-02-10T14:30:00Z", Some("7312")),
    ("2026-02-10T14:30:00z", Some("7312")),
    ("2026-02-10T14:30:00+00:00", Some("7312")),
    ("2026-02-10T14:30:00-00:00", Some("7312")),
    ("2026-02-10T14:30:00.123456Z", Some("731")),
    ("2026-02-10T14:30:00.123457Z", Some("73")),
    ("2026-02-10T14:30:00.1234561Z", Some("731")),
    ("2026-02-10T14:30:00,123456Z", Some("731")),
    ("2026-02-10T14:30:00.5", Some("73")),
    ("2026-02-10T14:30", Some("7312")),
    ("2026-02-10T14:30Z", Some("7312")),
    ("2026-02-10T14:30:00", Some("7312")),
    ("2026-02-10 14:30:00", Some("7312")),
    ("2026-02-10_14:30:00", Some("7312")),
    ("2026-02-10t14:30:00", Some("7312")),
    ("2026-02-10T20:00:00.123456+05:30", Some("731")),
    ("2026-02-10T20:00:00.123457+0530", Some("73")),
    ("2026-02-10T09:30:00-05:00", Some("7312")),
    ("2026-02-10T09:30:00−05:00", Some("7312")),
    ("2026-02-10T14:30:00+23:59", Some("73124")),
    ("2026-02-10", Some("7312")),
    ("2026-02-09", Some("73124")),
    ("2026-02-11", Some("7")),
    ("2024-02-29", Some("73124")),
    ("0001-01-01", Some("7312456")),
    ("9999-12-31T23:59:59.999999", Some("")),
    ("2026-02-10T15:00:00.000001Z", Some("73")),
    ("2026-02-10T15:00:00.000002Z", Some("7")),
    ("1999-12-31T23:59:59Z", Some("731245")),
    ("1999-12-31T23:59:59.000001Z", Some("73124")),
    ("1770733800", Some("7312")),
    ("+1770733800", Some("7312")),
    ("1770733800.123456", Some("731")),
    ("1770733800.1234567", Some("73")),
    ("1770733800000", Some("7312")),
    ("1770733800123", Some("731")),
    ("1770733800123.5", Some("73")),
    ("20000000000", Some("")),
    ("20000000001", Some("731245")),
    ("-20000000001", Some("731245")),
    ("20260210", Some("731245")),
    ("-1", Some("731245")),
    ("-0.5", Some("731245")),
    (".5", Some("731245")),
    ("1770733800.", Some("7312")),
    ("1.7707338e9", Some("7312")),
    ("253402300799999", Some("")),
    ("25000000000000.5", Some("731245")),
    ("2026-02-10T14:30:00.", None),
    ("2026-02-10T14", None),
    ("2026-02-10X14:30:00", None),
    ("2026-02-10T14:30:00+05", None),
    ("2026-02-10T14:30:00+24:00", None),
    ("2026-02-10T14:30:00+05:60", None),
    ("2026-02-10T14:30:00 05:30", None),
    ("2026-02-10T14:30:60Z", None),
    ("2026-02-10T24:00:00Z", None),
    ("2026-02-10T14:30:00Z ", None),
    (" 2026-02-10T14:30:00Z", None),
    ("2026-02-30", None),
    ("2023-02-29", None),
    ("2026-2-10", None),
    ("0000-01-01", None),
    ("10000-01-01", None),
    ("253402300800000", None),
    ("1e9", None),
    ("nan", None),
    ("1_000", None),
    ("yesterday", None),
    ("2026-02-10T14:30:00+05:30:00", None),
    ("", None),
];

#[tokio::test]
async fn since_is_read_as_pydantic_reads_a_datetime() {
    let db = fixture("UTC").await;
    let (_, app) = app(&db).await;
    for (since, expected) in SINCE_UTC {
        let a = get(&app, &format!("/trading/decisions?since={}", query(since))).await;
        match expected {
            Some(expected) => assert_eq!(ids(&a), expected, "since={since:?}"),
            None => assert_eq!(a.problem(422)["field"], "since", "since={since:?}"),
        }
    }
    // The same bound for executions (created 14:30:01.5 to 14:30:08).
    for (since, expected) in [
        ("2026-02-10T14:30:03.00001", "876543"),
        ("2026-02-10T14:30:03.000011Z", "87654"),
        ("1770733807", "87"),
        ("1770733807000.5", "8"),
    ] {
        let a = get(&app, &format!("/trading/executions?since={}", query(since))).await;
        assert_eq!(ids(&a), expected, "since={since:?}");
    }
    // A `+` left unencoded is a space, as in any query string: refused.
    let a = get(&app, "/trading/decisions?since=2026-02-10T14:30:00+00:00").await;
    assert_eq!(a.problem(422)["field"], "since");
}

#[tokio::test]
async fn timestamps_and_naive_since_follow_the_session_time_zone() {
    let db = fixture("America/New_York").await;
    let (_, app) = app(&db).await;
    for (path, row) in [
        (
            "/trading/decisions?symbol=OLD",
            r#"{"id":"aaaaaaaa-0000-4000-8000-000000000006","strategy_id":"11111111-1111-4111-8111-111111111111","symbol":"OLD","timeframe":"1Min","status":"planned","rationale":null,"decision":{},"created_at":"1900-01-01T07:00:00.250000-05:00","executed_at":null,"alpaca_account_label":"paper"}"#,
        ),
        (
            "/trading/decisions?symbol=SUMMER",
            r#"{"id":"aaaaaaaa-0000-4000-8000-000000000007","strategy_id":"11111111-1111-4111-8111-111111111111","symbol":"SUMMER","timeframe":"1Min","status":"planned","rationale":null,"decision":{},"created_at":"2026-07-01T08:00:00-04:00","executed_at":null,"alpaca_account_label":"paper"}"#,
        ),
        (
            "/trading/decisions?symbol=AAPL&limit=1",
            r#"{"id":"aaaaaaaa-0000-4000-8000-000000000003","strategy_id":"11111111-1111-4111-8111-111111111111","symbol":"AAPL","timeframe":"1Min","status":"submitted","rationale":"","decision":{},"created_at":"2026-02-10T10:00:00.000001-05:00","executed_at":"2026-02-10T10:00:00.999999-05:00","alpaca_account_label":"paper"}"#,
        ),
        (
            "/trading/executions?symbol=MSFT",
            r#"{"id":"bbbbbbbb-0000-4000-8000-000000000002","trade_decision_id":null,"symbol":"MSFT","side":"sell","order_type":"market","time_in_force":"gtc","submitted_qty":100.0,"filled_qty":100.0,"avg_fill_price":187.25,"status":"filled","created_at":"2026-02-10T09:30:02-05:00","last_update_at":"2026-02-10T09:31:00.000100-05:00","alpaca_order_id":"ord-2"}"#,
        ),
    ] {
        let a = get(&app, path).await;
        assert_eq!(a.text, format!("[{row}]"), "{path}");
    }
    // Without an offset, `since` is New York time (summer time in July); with one, an instant.
    for (since, expected) in [
        ("2026-02-10T09:30:00", "7312"),
        ("2026-02-10T09:30:00.123456", "731"),
        ("2026-02-10T10:00:00.000001", "73"),
        ("2026-02-10T10:00:00.000002", "7"),
        ("2026-02-10", "7312"),
        ("2026-02-09T18:59:59.9", "73124"),
        ("2026-02-09T19:00:00", "7312"),
        ("2026-07-01T08:00:00", "7"),
        ("2026-07-01T08:00:00.000001", ""),
        ("2026-02-10T09:30:00Z", "7312"),
        ("2026-02-10T09:30:00-05:00", "7312"),
        ("1770733800", "7312"),
    ] {
        let a = get(&app, &format!("/trading/decisions?since={}", query(since))).await;
        assert_eq!(ids(&a), expected, "since={since:?}");
    }

    // An offset with seconds (local mean time before 1906) is written with its seconds.
    let db = fixture("Asia/Kolkata").await;
    let (_, app) = crate::support::app(&db).await;
    let a = get(&app, "/trading/decisions?symbol=OLD").await;
    assert_eq!(
        a.text,
        r#"[{"id":"aaaaaaaa-0000-4000-8000-000000000006","strategy_id":"11111111-1111-4111-8111-111111111111","symbol":"OLD","timeframe":"1Min","status":"planned","rationale":null,"decision":{},"created_at":"1900-01-01T17:21:10.250000+05:21:10","executed_at":null,"alpaca_account_label":"paper"}]"#
    );
    let a = get(&app, "/trading/decisions?symbol=AAPL&limit=1").await;
    assert!(
        a.text.contains(r#""created_at":"2026-02-10T20:30:00.000001+05:30","executed_at":"2026-02-10T20:30:00.999999+05:30""#),
        "{}",
        a.text
    );
    for (since, expected) in [
        ("2026-02-10T20:00:00", "7312"),
        ("2026-02-10T20:30:00.000001", "73"),
        ("2026-02-10T20:30:00.000002", "7"),
        ("2026-02-10", "73124"),
    ] {
        let a = get(&app, &format!("/trading/decisions?since={}", query(since))).await;
        assert_eq!(ids(&a), expected, "since={since:?}");
    }
}

/// `limit` values and how many of the fixture's 8 executions the old service listed; `None`:
/// 422. pydantic trims white space, drops a `+`, leading zeros, a fraction of zeros and single
/// underscores between digits; nothing else.
const LIMITS: [(&str, Option<usize>); 34] = [
    ("1", Some(1)),
    ("5", Some(5)),
    ("8", Some(8)),
    ("200", Some(8)),
    ("500", Some(8)),
    (" 5", Some(5)),
    ("5 ", Some(5)),
    ("+5", Some(5)),
    ("05", Some(5)),
    ("5.0", Some(5)),
    ("5.00", Some(5)),
    ("1_0", Some(8)),
    ("00_5", Some(5)),
    (" +0_0_7.00 ", Some(7)),
    ("0", None),
    ("-0", None),
    ("-1", None),
    ("501", None),
    ("1000000000000000000000000000000", None),
    ("5.", None),
    ("5.5", None),
    ("1e2", None),
    ("1__0", None),
    ("_10", None),
    ("10_", None),
    ("０５", None),
    ("abc", None),
    ("0x10", None),
    ("+-5", None),
    ("--5", None),
    ("inf", None),
    ("true", None),
    ("\u{9}5", Some(5)),
    ("", None),
];

#[tokio::test]
async fn limit_and_symbol_are_read_as_fastapi_reads_them() {
    let db = fixture("UTC").await;
    let (_, app) = app(&db).await;
    for (limit, expected) in LIMITS {
        let a = get(&app, &format!("/trading/executions?limit={}", query(limit))).await;
        match expected {
            Some(n) => {
                assert_eq!(a.status, StatusCode::OK, "limit={limit:?}: {}", a.text);
                assert_eq!(a.json().as_array().unwrap().len(), n, "limit={limit:?}");
            }
            None => assert_eq!(a.problem(422)["field"], "limit", "limit={limit:?}"),
        }
    }
    let a = get(&app, "/trading/decisions?limit=0").await;
    assert_eq!(a.problem(422)["field"], "limit");
    // The default is 200: all 7 decisions.
    assert_eq!(ids(&get(&app, "/trading/decisions").await), "7312456");

    for (q, expected) in [
        // Empty is no filter, as Python's `if symbol:`.
        ("symbol=", "87654321"),
        ("symbol", "87654321"),
        ("symbol=AAPL", "431"),
        ("symbol=aapl", ""),
        ("symbol=TSLA&symbol=AAPL", "431"),
        // A repeated parameter: the last value counts.
        ("symbol=AAPL&symbol=", "87654321"),
        ("limit=1&limit=2", "87"),
        ("limit=abc&limit=1", "8"),
        ("since=&since=2026-02-10T14:30:07Z", "87"),
        // Longer than the column, or not UTF-8: no such symbol.
        ("symbol=ABCDEFGHIJKLMNOPQRSTUVWXYZ", ""),
        ("symbol=%FF", ""),
        ("SYMBOL=AAPL", "87654321"),
        ("symbol=TSLA&since=2026-02-10T14:30:06Z&limit=1", "7"),
    ] {
        let a = get(&app, &format!("/trading/executions?{q}")).await;
        assert_eq!(ids(&a), expected, "{q}");
    }
    for (q, field) in [
        ("limit=1&limit=abc", "limit"),
        ("since=2026-02-10T14:30:07Z&since=", "since"),
        ("limit", "limit"),
        // The old service failed with a 500 on a NUL; refused here.
        ("symbol=A%00B", "symbol"),
    ] {
        let a = get(&app, &format!("/trading/executions?{q}")).await;
        assert_eq!(a.problem(422)["field"], field, "{q}");
    }
}
