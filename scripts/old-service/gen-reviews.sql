-- A v1 database as the original service leaves it, part 2: the LLM reviews of the decisions.
-- About one review per decision: none for 5% of them, two for 2%.
INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, response_json, verdict,
                                  confidence, adjusted_qty, adjusted_order_type, rationale, risk_flags,
                                  tokens_prompt, tokens_completion, created_at)
SELECT gen_random_uuid(), d.id, 'gpt-4.1-mini', 'v3',
       jsonb_build_object(
         'decision', d.decision_json,
         'market', jsonb_build_object('as_of', d.decision_json ->> 'event_ts', 'price', d.decision_json #> '{params,price}',
                                      'source', 'decision_params', 'spread', null, 'symbol', d.symbol),
         'policy', jsonb_build_object('adjustment_allowed', true, 'max_qty_multiplier', '1.25',
                                      'min_qty_multiplier', '0.5', 'allowed_order_types', '["limit", "market"]'::jsonb),
         'account', jsonb_build_object('cash', '10000.00000000', 'equity', '25000.00000000',
                                       'buying_power', '20000.00000000'),
         'positions', jsonb_build_array(jsonb_build_object('qty', '5', 'symbol', d.symbol, 'market_value', '1000')),
         'trading_mode', d.alpaca_account_label, 'prompt_version', 'v3'),
       jsonb_build_object('verdict', v.verdict, 'rationale', 'signal consistent with trend; size within limits',
                          'confidence', v.conf, 'risk_flags', '[]'::jsonb, 'limit_price', null,
                          'adjusted_qty', CASE WHEN v.verdict = 'adjust' THEN '1' END,
                          'adjusted_order_type', CASE WHEN v.verdict = 'adjust' THEN 'market' END),
       v.verdict, v.conf, CASE WHEN v.verdict = 'adjust' THEN 1 END, CASE WHEN v.verdict = 'adjust' THEN 'market' END,
       'signal consistent with trend; size within limits', '[]'::jsonb,
       900 + (random() * 400)::int, 60 + (random() * 80)::int, d.created_at + k * interval '1 second'
FROM (SELECT t.*, random() AS r FROM trade_decisions t) d
CROSS JOIN LATERAL generate_series(1, CASE WHEN d.r < 0.05 THEN 0 WHEN d.r < 0.07 THEN 2 ELSE 1 END) k
CROSS JOIN LATERAL (SELECT CASE WHEN d.r < 0.80 THEN 'approve' WHEN d.r < 0.92 THEN 'adjust' ELSE 'reject' END AS verdict,
                           round((0.5 + d.r / 2)::numeric, 4) AS conf) v;
