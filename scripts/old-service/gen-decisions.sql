-- A v1 database as the original service leaves it, part 1 (psql -v n=TRAILS): five strategies and
-- TRAILS decisions over the past year, ids md5('d' || i). Then gen-reviews.sql and
-- gen-executions.sql (which may run side by side).
INSERT INTO strategies (id, name, description, enabled, base_timeframe, universe_type, universe_symbols,
                        max_position_pct_equity, max_notional_per_trade, created_at, updated_at)
SELECT md5('s' || s)::uuid, (ARRAY['macd-rsi', 'mean-reversion', 'breakout', 'momentum-5m', 'pairs-etf'])[s],
       'seeded by the catalog sync', s <> 5, (ARRAY['1Min', '1Min', '5Min', '5Min', '15Min'])[s], 'static',
       '["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "SPY"]'::jsonb, 0.1, 1000 * s,
       now() - interval '400 days', now() - interval '30 days'
FROM generate_series(1, 5) s;

-- Decisions over the past year; status: 55% filled, 15% submitted, 5% accepted, 10% rejected,
-- 5% canceled, 10% planned.
INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, decision_json, rationale,
                             status, created_at, decision_hash, executed_at)
SELECT md5('d' || i)::uuid, md5('s' || (1 + i % 5))::uuid, CASE WHEN i % 7 = 0 THEN 'live' ELSE 'paper' END,
       sym, tf,
       jsonb_build_object(
         'qty', qty::text, 'action', act, 'symbol', sym, 'event_ts', to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         'rationale', rat, 'timeframe', tf, 'order_type', 'market', 'stop_price', null, 'limit_price', null,
         'strategy_id', md5('s' || (1 + i % 5))::uuid, 'time_in_force', 'day',
         'params', jsonb_build_object(
           'rsi', round((20 + random() * 60)::numeric, 2)::text, 'macd', round((random() * 4 - 2)::numeric, 4)::text,
           'macd_signal', round((random() * 4 - 2)::numeric, 4)::text, 'price', px::text,
           'sizing', jsonb_build_object('price', px::text, 'method', 'max_notional_per_trade',
                                        'notional_budget', '1000.00000000'),
           'price_snapshot', jsonb_build_object('as_of', to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
                                                'price', px::text, 'source', 'price_fetcher', 'spread', null))),
       rat, st, at, encode(sha256(convert_to('trail ' || i, 'UTF8')), 'hex'),
       CASE WHEN st IN ('submitted', 'accepted', 'filled', 'canceled') THEN at + interval '2 seconds' END
FROM (
  SELECT i, (ARRAY['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'SPY'])[1 + i % 8] AS sym,
         (ARRAY['1Min', '1Min', '5Min', '5Min', '15Min'])[1 + i % 5] AS tf,
         CASE WHEN i % 3 = 0 THEN 'sell' ELSE 'buy' END AS act,
         (ARRAY['macd_cross_up,rsi_oversold', 'macd_cross_down,rsi_overbought', 'breakout_20d', 'mean_revert_z2'])[1 + i % 4] AS rat,
         1 + i % 25 AS qty, round((50 + random() * 450)::numeric, 2) AS px,
         CASE WHEN r < 0.55 THEN 'filled' WHEN r < 0.70 THEN 'submitted' WHEN r < 0.75 THEN 'accepted'
              WHEN r < 0.85 THEN 'rejected' WHEN r < 0.90 THEN 'canceled' ELSE 'planned' END AS st,
         now() - interval '365 days' + (i * (365 * 86400.0 / :n)) * interval '1 second' AS at
  FROM (SELECT i, random() AS r FROM generate_series(1, :n) i) g
) d;
