-- A v1 database as the original service leaves it, compact shape (scripts/bench-upgrade with
-- BENCH_SHAPE=compact): after gen-*.sql, the JSON payloads are cut to a few members each, so that
-- a trail takes about 1.5 KB with its indexes (rows of about 400 bytes: the size of the database
-- the online-upgrade issue was measured on, 300,000 trails in 435 MB) instead of about 4 KB.
-- Run before the indexes are created again; the rows keep their ids, statuses and order.
UPDATE trade_decisions SET decision_json = jsonb_build_object(
  'qty', decision_json -> 'qty', 'action', decision_json -> 'action', 'symbol', symbol,
  'event_ts', decision_json -> 'event_ts', 'timeframe', timeframe, 'strategy_id', strategy_id,
  'params', jsonb_build_object('price', decision_json #> '{params,price}'));
UPDATE llm_decision_reviews SET
  input_json = jsonb_build_object('symbol', input_json #> '{market,symbol}', 'price', input_json #> '{market,price}',
                                  'trading_mode', input_json -> 'trading_mode'),
  response_json = jsonb_build_object('verdict', verdict, 'confidence', confidence);
UPDATE executions SET raw_order = jsonb_build_object(
  'id', alpaca_order_id, 'client_order_id', client_order_id, 'symbol', symbol, 'side', side,
  'qty', submitted_qty::text, 'filled_qty', filled_qty::text, 'status', status);
VACUUM FULL trade_decisions, llm_decision_reviews, executions;
