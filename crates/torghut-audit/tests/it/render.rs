//! `verify` computes row content digests itself (from the values PostgreSQL sends) and asks
//! PostgreSQL only for the streams that do not verify that way. Rows holding every kind of value
//! the audit tables can be written with must verify without that second pass, and a stream that
//! does not verify is checked again by PostgreSQL, with the same findings.

use torghut_audit::Problem;
use uuid::Uuid;

use crate::support::*;

/// Odd values in every column type of the audit tables, written through the triggers (roots
/// inserted, then updated so that events record changes and roots are rebuilt from them).
const ODD: &str = r#"
INSERT INTO strategies (id, name, description, enabled, base_timeframe, universe_type, universe_symbols,
  max_position_pct_equity, max_notional_per_trade, created_at)
VALUES ('{s}', E'quote " backslash \\ newline \n tab \t bell \x07 unit \x1f del \x7f é 𝄞', NULL, false, '', 'static',
  '{"k": [1, 2.50, -0.0, 1e400, "é\u0001\"", null, true, {"": {}}], "long key here": []}', 'NaN', 0.00000001,
  '0044-03-15 12:34:56.5 BC');
INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, decision_json,
  rationale, status, created_at, decision_hash, executed_at)
VALUES ('{d}', '{s}', 'paper', 'AAPL', '1Min', '[]', E'line\r\nnext\bback\fform', 'planned',
  '12345-06-07 08:09:10.000001+00', 'h-{d}', 'infinity');
INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, response_json,
  verdict, confidence, adjusted_qty, adjusted_order_type, rationale, risk_flags, tokens_prompt,
  tokens_completion, created_at)
VALUES (gen_random_uuid(), '{d}', 'm', 'v', '"scalar"', 'null', 'approve', -1.5, 'NaN', NULL, '', '5',
  -2147483648, 2147483647, '-infinity');
INSERT INTO executions (id, trade_decision_id, alpaca_order_id, client_order_id, symbol, side, order_type,
  time_in_force, submitted_qty, filled_qty, avg_fill_price, status, raw_order, created_at, last_update_at)
VALUES ('{x}', '{d}', 'o-{x}', NULL, 'AAPL', 'buy', 'market', 'day', 123456789012.12345678, 0,
  -0.00000001, 'new', NULL, '1999-12-31 23:59:59.999999+00', '2000-01-01 00:00:00+00');
UPDATE strategies SET description = E'now \u0002', universe_symbols = '{"k": "v"}', enabled = true,
  max_position_pct_equity = 12.5, name = 'renamed' WHERE id = '{s}';
UPDATE strategies SET universe_symbols = NULL, max_position_pct_equity = 'NaN' WHERE id = '{s}';
BEGIN;
SET LOCAL torghut.event_reason_codes = '["a\"b", "é", "", "back\\slash"]';
SET LOCAL torghut.event_detail = '{"why": [1, {"x": null}]}';
UPDATE trade_decisions SET status = 'submitted', decision_json = '{"a": {"b": [1, "2"]}}',
  executed_at = '-infinity', rationale = NULL WHERE id = '{d}';
COMMIT;
UPDATE trade_decisions SET status = 'filled', decision_json = '"x"', executed_at = '2026-02-10 14:30:00.25+05:30'
  WHERE id = '{d}';
UPDATE executions SET filled_qty = 'NaN', raw_order = '{"nested": {"deep": [[[]]]}}', client_order_id = E'c\\d',
  avg_fill_price = NULL, last_update_at = 'infinity' WHERE id = '{x}';
UPDATE executions SET filled_qty = 1.5, raw_order = 'null' WHERE id = '{x}'
"#;

#[tokio::test]
async fn odd_values_verify_with_digests_computed_by_verify() {
    let db = db().await;
    let mut admin = db.connect().await;
    let (s, d, x) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    admin
        .batch_execute(
            &ODD.replace("{s}", &s.to_string())
                .replace("{d}", &d.to_string())
                .replace("{x}", &x.to_string()),
        )
        .await
        .unwrap();
    // A trail as the store writes it, too.
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    seed(&mut rt, sid, 1).await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.rows_by_table["strategy_events"], 2, "{}", r.render());
    assert_eq!(r.rows_by_table["decision_events"], 5, "{}", r.render());
    assert_eq!(
        r.streams_rechecked, 0,
        "a stream did not verify with the digests computed by verify"
    );

    // A change behind the triggers' back: that stream (only) is checked again by PostgreSQL.
    admin
        .batch_execute(&format!(
            "BEGIN; SET LOCAL session_replication_role = replica; \
             UPDATE executions SET symbol = 'MSFT' WHERE id = '{x}'; COMMIT"
        ))
        .await
        .unwrap();
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert_eq!(r.streams_rechecked, 1, "{}", r.render());
    assert_eq!(r.findings.len(), 1, "{}", r.render());
    assert_eq!(r.findings[0].problem, Problem::Modified);
    assert_eq!(r.findings[0].id, Some(x));
}
