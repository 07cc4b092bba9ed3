-- A random existing decision (md5('d' || k), k in 1..:trails): its price snapshot refreshed and
-- its status changed in one statement (as OrderExecutor.mark_rejected), after reading it, in one
-- transaction. A pgbench script (scripts/bench-upgrade, scripts/bench-old-writes).
\set k random(1, :trails)
\set s random(1, 4)
BEGIN;
SELECT trade_decisions.id AS did,
       jsonb_set(trade_decisions.decision_json, '{params,price_snapshot}',
                 jsonb_build_object('as_of', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS"+00":"00"'),
                                    'price', round((50 + random() * 450)::numeric, 2)::text, 'source', 'price_fetcher', 'spread', null))::text AS dj,
       (ARRAY['filled', 'canceled', 'rejected', 'submitted'])[:s::int] AS st
FROM trade_decisions WHERE trade_decisions.id = md5('d' || :k::int)::uuid \gset
UPDATE trade_decisions SET decision_json=:dj::JSONB, status=:st::VARCHAR WHERE trade_decisions.id = :did::UUID;
END;
