-- One trail as the original service writes it (TradingPipeline.run_once): the decision, its LLM
-- review, its order, the decision marked submitted, each statement its own transaction as the
-- service commits them. The SELECTs before them stand in for the service's own work (ids,
-- payloads). A pgbench script (scripts/bench-upgrade, scripts/bench-old-writes): pgbench takes
-- every :name as a variable, even inside a string, so the time formats quote their colons.
\set k random(1, 1000000000)
SELECT gen_random_uuid() AS did, gen_random_uuid() AS rid, gen_random_uuid() AS xid, gen_random_uuid() AS oid,
       md5('s' || (1 + :k::int % 5))::uuid AS sid,
       (ARRAY['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'SPY'])[1 + :k::int % 8] AS sym,
       round((50 + random() * 450)::numeric, 2) AS px, 1 + :k::int % 25 AS qty,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS"Z"') AS ets,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.US"Z"') AS ots, now()::text AS ts \gset
SELECT jsonb_build_object('qty', :qty::text, 'action', 'buy', 'symbol', :sym::text, 'event_ts', :ets::text,
         'rationale', 'macd_cross_up,rsi_oversold', 'timeframe', '1Min', 'order_type', 'market', 'stop_price', null,
         'limit_price', null, 'strategy_id', :sid::text, 'time_in_force', 'day',
         'params', jsonb_build_object('rsi', '28.41', 'macd', '0.8123', 'macd_signal', '0.4011', 'price', :px::text,
           'sizing', jsonb_build_object('price', :px::text, 'method', 'max_notional_per_trade', 'notional_budget', '1000.00000000'),
           'price_snapshot', jsonb_build_object('as_of', :ets::text, 'price', :px::text, 'source', 'price_fetcher', 'spread', null)))::text AS dj,
       encode(sha256(convert_to('live trail ' || :did::text, 'UTF8')), 'hex') AS dh \gset
SELECT jsonb_build_object('decision', :dj::jsonb,
         'market', jsonb_build_object('as_of', :ets::text, 'price', :px::text, 'source', 'decision_params', 'spread', null, 'symbol', :sym::text),
         'policy', jsonb_build_object('adjustment_allowed', true, 'max_qty_multiplier', '1.25', 'min_qty_multiplier', '0.5',
                                      'allowed_order_types', '["limit", "market"]'::jsonb),
         'account', jsonb_build_object('cash', '10000.00000000', 'equity', '25000.00000000', 'buying_power', '20000.00000000'),
         'positions', jsonb_build_array(jsonb_build_object('qty', '5', 'symbol', :sym::text, 'market_value', '1000')),
         'trading_mode', 'paper', 'prompt_version', 'v3')::text AS rin,
       jsonb_build_object('id', :oid::text, 'client_order_id', :dh::text, 'created_at', :ots::text, 'updated_at', :ots::text,
         'submitted_at', :ots::text, 'filled_at', null, 'expired_at', null, 'canceled_at', null, 'failed_at', null,
         'replaced_at', null, 'replaced_by', null, 'replaces', null, 'asset_id', md5('asset ' || :sym::text)::uuid,
         'symbol', :sym::text, 'asset_class', 'us_equity', 'notional', null, 'qty', :qty::text, 'filled_qty', '0',
         'filled_avg_price', null, 'order_class', '', 'order_type', 'market', 'type', 'market', 'side', 'buy',
         'time_in_force', 'day', 'limit_price', null, 'stop_price', null, 'status', 'accepted', 'extended_hours', false,
         'legs', null, 'trail_percent', null, 'trail_price', null, 'hwm', null, 'position_intent', 'buy_to_open')::text AS ro \gset
INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, decision_json, rationale, decision_hash, status, executed_at) VALUES (:did::UUID, :sid::UUID, 'paper'::VARCHAR, :sym::VARCHAR, '1Min'::VARCHAR, :dj::JSONB, 'macd_cross_up,rsi_oversold'::VARCHAR, :dh::VARCHAR, 'planned'::VARCHAR, NULL::TIMESTAMP WITH TIME ZONE) RETURNING trade_decisions.created_at;
INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, response_json, verdict, confidence, adjusted_qty, adjusted_order_type, rationale, risk_flags, tokens_prompt, tokens_completion) VALUES (:rid::UUID, :did::UUID, 'gpt-4.1-mini'::VARCHAR, 'v3'::VARCHAR, :rin::JSONB, '{"verdict": "approve", "rationale": "signal consistent with trend; size within limits", "confidence": 0.9, "risk_flags": [], "limit_price": null, "adjusted_qty": null, "adjusted_order_type": null}'::JSONB, 'approve'::VARCHAR, 0.9, NULL, NULL::VARCHAR, 'signal consistent with trend; size within limits'::VARCHAR, '[]'::JSONB, 1043::INTEGER, 97::INTEGER) RETURNING llm_decision_reviews.created_at;
INSERT INTO executions (id, trade_decision_id, alpaca_order_id, client_order_id, symbol, side, order_type, time_in_force, submitted_qty, filled_qty, avg_fill_price, status, raw_order, last_update_at) VALUES (:xid::UUID, :did::UUID, :oid::VARCHAR, :dh::VARCHAR, :sym::VARCHAR, 'buy'::VARCHAR, 'market'::VARCHAR, 'day'::VARCHAR, :qty, 0, NULL, 'accepted'::VARCHAR, :ro::JSONB, :ts::TIMESTAMP WITH TIME ZONE) RETURNING executions.created_at, executions.updated_at;
UPDATE trade_decisions SET status='submitted'::VARCHAR, executed_at=:ts::TIMESTAMP WITH TIME ZONE WHERE trade_decisions.id = :did::UUID;
