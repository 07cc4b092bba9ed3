-- A v1 database as the original service leaves it, part 3: the decisions' executions, ids
-- md5('x' || i).
-- One execution per decision (client_order_id: the decision hash, as the service sends it), its
-- raw_order an Alpaca order payload.
INSERT INTO executions (id, trade_decision_id, alpaca_order_id, client_order_id, symbol, side, order_type, time_in_force,
                        submitted_qty, filled_qty, avg_fill_price, status, raw_order, created_at, updated_at, last_update_at)
SELECT md5('x' || i)::uuid, d.id, oid::text, d.decision_hash, d.symbol, d.decision_json ->> 'action', 'market', 'day',
       q, fq, CASE WHEN fq > 0 THEN px END, xst,
       jsonb_build_object(
         'id', oid, 'client_order_id', d.decision_hash,
         'created_at', to_char(d.created_at + interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
         'updated_at', to_char(d.created_at + interval '3 seconds', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
         'submitted_at', to_char(d.created_at + interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
         'filled_at', CASE WHEN xst = 'filled' THEN to_char(d.created_at + interval '3 seconds', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END,
         'expired_at', null, 'canceled_at', null, 'failed_at', null, 'replaced_at', null, 'replaced_by', null,
         'replaces', null, 'asset_id', md5('asset ' || d.symbol)::uuid, 'symbol', d.symbol, 'asset_class', 'us_equity',
         'notional', null, 'qty', q::text, 'filled_qty', fq::text, 'filled_avg_price', CASE WHEN fq > 0 THEN px::text END,
         'order_class', '', 'order_type', 'market', 'type', 'market', 'side', d.decision_json ->> 'action',
         'time_in_force', 'day', 'limit_price', null, 'stop_price', null, 'status', xst, 'extended_hours', false,
         'legs', null, 'trail_percent', null, 'trail_price', null, 'hwm', null,
         'position_intent', CASE WHEN d.decision_json ->> 'action' = 'buy' THEN 'buy_to_open' ELSE 'sell_to_close' END),
       d.created_at + interval '1 second', d.created_at + interval '3 seconds', d.created_at + interval '3 seconds'
FROM generate_series(1, :n) i
JOIN trade_decisions d ON d.id = md5('d' || i)::uuid
CROSS JOIN LATERAL (SELECT md5('order ' || i)::uuid AS oid, (d.decision_json ->> 'qty')::numeric AS q,
                           (d.decision_json #>> '{params,price}')::numeric AS px,
                           CASE d.status WHEN 'filled' THEN 'filled' WHEN 'submitted' THEN 'new' WHEN 'accepted' THEN 'accepted'
                                         WHEN 'canceled' THEN 'canceled' WHEN 'rejected' THEN 'rejected'
                                         ELSE 'partially_filled' END AS xst) o
CROSS JOIN LATERAL (SELECT CASE o.xst WHEN 'filled' THEN o.q WHEN 'partially_filled' THEN 1 ELSE 0 END AS fq) f;

-- Account snapshots, one per hundred trails.
INSERT INTO position_snapshots (id, alpaca_account_label, as_of, equity, cash, buying_power, positions, created_at)
SELECT gen_random_uuid(), 'paper', at, 25000 + i % 1000, 10000 + i % 500, 20000 + i % 700,
       (SELECT jsonb_agg(jsonb_build_object('qty', (1 + (i + k) % 20)::text, 'symbol', s,
                                            'market_value', ((1 + (i + k) % 20) * 100)::text))
        FROM unnest(ARRAY['AAPL', 'MSFT', 'NVDA', 'SPY']) WITH ORDINALITY u(s, k)),
       at
FROM (SELECT i, now() - interval '365 days' + (i * (365 * 86400.0 / greatest(:n / 100, 1))) * interval '1 second' AS at
      FROM generate_series(1, greatest(:n / 100, 1)) i) p;

INSERT INTO trade_cursor (id, source, cursor_at, cursor_seq, cursor_symbol)
VALUES (md5('cursor')::uuid, 'clickhouse', now(), 42, 'SPY');
