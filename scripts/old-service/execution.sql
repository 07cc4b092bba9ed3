-- A broker update of a random existing order (md5('x' || k), TradingPipeline.reconcile): read,
-- then status, filled_qty, avg_fill_price and the broker's payload written back, in one
-- transaction. A pgbench script (scripts/bench-upgrade, scripts/bench-old-writes).
\set k random(1, :trails)
\set f random(0, 1)
BEGIN;
SELECT executions.id AS xid, q, px, st, now()::text AS ts,
       (executions.raw_order || jsonb_build_object('status', st, 'filled_qty', trim_scale(q)::text, 'filled_avg_price', trim_scale(px)::text,
          'updated_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.US"Z"'),
          'filled_at', CASE WHEN st = 'filled' THEN to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.US"Z"') END))::text AS ro
FROM executions,
     LATERAL (SELECT CASE WHEN :f::int = 1 THEN executions.submitted_qty ELSE least(1, executions.submitted_qty) END AS q,
                     coalesce(executions.avg_fill_price, round((50 + random() * 450)::numeric, 2)) AS px,
                     CASE WHEN :f::int = 1 THEN 'filled' ELSE 'partially_filled' END AS st) v
WHERE executions.id = md5('x' || :k::int)::uuid \gset
UPDATE executions SET filled_qty=:q, avg_fill_price=:px, status=:st::VARCHAR, raw_order=:ro::JSONB, last_update_at=:ts::TIMESTAMP WITH TIME ZONE, updated_at=now() WHERE executions.id = :xid::UUID;
END;
