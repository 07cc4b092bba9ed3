#!/usr/bin/env python3
"""Turns the record of the SQL the original service issues (old-service-sql.jsonl: one JSON object
per statement with its operation, transaction, how the transaction ended, the SQL and its
parameters) into one pgbench script that replays every recorded operation once, in recorded order,
transaction for transaction (BEGIN ... COMMIT or ROLLBACK as recorded), with the statements as the
service sends them ($n parameters bound, pgbench -M prepared).

Usage: replay-pgbench.py RECORD OUT_SCRIPT OUT_SETUP

- Operations of the service's start-up (its create_all, the strategy seed, the catalog sync, the
  first insert of the trade cursor) are not part of the cycle: OUT_SETUP creates what they leave
  behind once (the recorded strategy, and one cursor row per pgbench client, so that clients do
  not all queue on one cursor row, which one service process would not do).
- Every id the cycle creates is new in every cycle: UUIDs, 64-hex decision hashes (also the
  orders' client ids) and broker order ids (trace-order-*) are drawn at the start of the cycle, and
  replaced wherever they occur, inside JSON payloads too. The recorded strategy id stays.
- pgbench reads every :name in a prepared statement as a variable, even inside a string literal,
  so a parameter holding a colon (times, JSON) is bound as a variable computed at the start of the
  cycle rather than written as a literal.
"""
import json
import re
import sys

STRATEGY = "df4ed9f8-6120-4920-b20f-e0597ed3ae29"
CURSOR = "d4205039-4fde-4fc9-8539-26bb4cb68e42"
CURSOR_SOURCE = "clickhouse"
START_UP = (
    "startup ensure_schema",
    "seed_strategy.",
    "StrategyCatalog sync",
    "ClickHouseSignalIngestor._set_cursor",
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HASH = re.compile(r"^[0-9a-f]{64}$")
SETUP = """INSERT INTO strategies (id, name, description, enabled, base_timeframe, universe_type, universe_symbols)
VALUES ('{strategy}', 'demo-trace', 'seeded', true, '1Min', 'static', '["AAPL"]');
INSERT INTO trade_cursor (id, source, cursor_at, cursor_seq, cursor_symbol)
SELECT md5('cursor' || i)::uuid, '{source}-' || i, now(), 7, 'AAPL' FROM generate_series(0, 255) i;
"""


def load(path):
    ops, order = {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
                op, tx, end, sql, params = r["operation"], r["tx"], r["tx_end"], r["sql"], r["params"]
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"{path}:{n}: not a statement record ({e})")
            if end not in ("COMMIT", "ROLLBACK"):
                sys.exit(f"{path}:{n}: tx_end must be COMMIT or ROLLBACK, not {end!r}")
            if op.startswith(START_UP):
                continue
            if op not in ops:
                order.append(op)
            ops.setdefault(op, {}).setdefault(tx, {"end": end, "stmts": []})["stmts"].append((sql, params))
    return ops, order


def hexed(text):
    return "convert_from('\\x" + text.encode().hex() + "'::bytea, 'UTF8')"


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: replay-pgbench.py RECORD OUT_SCRIPT OUT_SETUP")
    ops, order = load(sys.argv[1])
    fresh = {}  # recorded value -> variable drawn per cycle

    def is_fresh(v):
        return v != STRATEGY and v != CURSOR and bool(UUID.match(v) or HASH.match(v) or v.startswith("trace-order-"))

    for op in order:
        for tx in ops[op].values():
            for _, params in tx["stmts"]:
                for p in params:
                    if isinstance(p, str) and is_fresh(p) and p not in fresh:
                        fresh[p] = f"f{len(fresh)}"
    derived = {}  # parameter text -> (variable, [(recorded value, variable)])

    def param(v):
        if v is None:
            return "NULL"
        if not isinstance(v, str):
            sys.exit(f"a parameter that is not text or null: {v!r}")
        if v in fresh:
            return ":" + fresh[v]
        if v == CURSOR:
            return ":cur"
        if v == CURSOR_SOURCE:
            return ":src"
        subs = [(old, var) for old, var in fresh.items() if old in v]
        if subs or ":" in v:
            if v not in derived:
                derived[v] = (f"d{len(derived)}", subs)
            return ":" + derived[v][0]
        return "'" + v.replace("'", "''") + "'"

    body = []
    for op in order:
        body.append(f"-- {op}")
        for _, tx in sorted(ops[op].items()):
            body.append("BEGIN;")
            for sql, params in tx["stmts"]:
                for i in range(len(params), 0, -1):
                    sql = re.sub(r"\$%d(?![0-9])" % i, lambda m, e=param(params[i - 1]): e, sql)
                body.append(sql.strip() + ";")
            body.append(tx["end"] + ";")

    def draw(old, var):
        if UUID.match(old):
            return f"gen_random_uuid()::text AS {var}"
        if HASH.match(old):
            return f"encode(sha256(gen_random_uuid()::text::bytea), 'hex') AS {var}"
        return f"'o-' || gen_random_uuid()::text AS {var}"

    head = [
        "-- Generated by scripts/old-service/replay-pgbench.py from the record of the original service's SQL.",
        "SELECT "
        + ", ".join(
            [draw(old, var) for old, var in fresh.items()]
            + ["md5('cursor' || :client_id)::uuid::text AS cur", f"'{CURSOR_SOURCE}-' || :client_id AS src"]
        )
        + " \\gset",
    ]
    if derived:
        exprs = []
        for text, (var, subs) in derived.items():
            e = hexed(text)
            for old, v in subs:
                e = f"replace({e}, {hexed(old)}, :{v})"
            exprs.append(f"{e} AS {var}")
        head.append("SELECT " + ", ".join(exprs) + " \\gset")
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write("\n".join(head + body) + "\n")
    with open(sys.argv[3], "w", encoding="utf-8") as f:
        f.write(SETUP.format(strategy=STRATEGY, source=CURSOR_SOURCE))
    statements = sum(len(t["stmts"]) for o in order for t in ops[o].values())
    transactions = sum(len(ops[o]) for o in order)
    print(f"{len(order)} operations, {transactions} transactions, {statements} statements a cycle", file=sys.stderr)


if __name__ == "__main__":
    main()
