#!/usr/bin/env python3
"""Generator of the reference vectors in python-vectors.jsonl.

Each output line is one JSON object with the decision's JSON text as "input" and either "hash"
(the expected decision hash) or "error" (the input is rejected: the name of the field at fault,
or null when the JSON itself is rejected or no single field is at fault).

The expected values come from the old service's pipeline as the specification
(shared/spec/decision-hash.md) describes it: `json.loads`, validation by a pydantic model with the
decision's fields and defaults (`StrategyDecision` below), and SHA-256 of
`json.dumps(..., sort_keys=True, separators=(",", ":"))` of the hashed fields. The inputs are a
fixed list of edge cases followed by seeded random decisions, so the output is reproducible.

Requirements: Python 3.11 and pydantic 2 (the committed file was made with pydantic 2.13.4,
pydantic-core 2.46.4).

Usage: python3 generate_vectors.py > python-vectors.jsonl
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import struct
import sys
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Optional

import pydantic
from pydantic import BaseModel, ConfigDict, Field


class StrategyDecision(BaseModel):
    """A decision as the specification lists its fields, types and defaults."""

    model_config = ConfigDict(extra="allow")

    strategy_id: str
    symbol: str
    event_ts: datetime
    timeframe: str
    action: Literal["buy", "sell"]
    qty: Decimal
    order_type: Literal["market", "limit", "stop", "stop_limit"] = "market"
    time_in_force: Literal["day", "gtc", "ioc", "fok"] = "day"
    limit_price: Optional[Decimal] = None
    stop_price: Optional[Decimal] = None
    rationale: Optional[str] = None
    params: dict[str, Any] = Field(default_factory=dict)


def hashed_text(d: StrategyDecision) -> str:
    payload = {
        "strategy_id": d.strategy_id,
        "symbol": d.symbol,
        "event_ts": d.event_ts.isoformat(),
        "timeframe": d.timeframe,
        "action": d.action,
        "qty": str(d.qty),
        "order_type": d.order_type,
        "time_in_force": d.time_in_force,
        "limit_price": str(d.limit_price) if d.limit_price is not None else None,
        "stop_price": str(d.stop_price) if d.stop_price is not None else None,
        "params": d.params,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def expected(text: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return {"input": text, "error": None}
    try:
        decision = StrategyDecision.model_validate(obj)
    except pydantic.ValidationError as e:
        loc = e.errors()[0]["loc"]
        return {"input": text, "error": loc[0] if loc else None}
    digest = hashlib.sha256(hashed_text(decision).encode("utf-8")).hexdigest()
    return {"input": text, "hash": digest}


BASE = (
    '"strategy_id": "s1", "symbol": "AAPL", "event_ts": "2026-02-10T00:00:00Z", '
    '"timeframe": "1Min", "action": "buy"'
)


def with_base(members: str, qty: str = '"1"') -> str:
    """A decision with the usual fields, `qty`, and extra raw `members` text."""
    parts = [BASE, f'"qty": {qty}']
    if members:
        parts.append(members)
    return "{" + ", ".join(parts) + "}"


def edge_cases() -> list[str]:
    cases: list[str] = []
    # params: floats written as Python's repr, json.loads literals, integers of any size.
    for number in [
        "1.5", "2.0", "100.0", "1e-07", "1E-7", "1e+16", "1e16", "1e15", "1e22", "0.0001",
        "0.00001", "-0.0", "0.0", "1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity",
        "0.3333333333333333", "0.1", "123456789012345678.0", "9007199254740993", "5e-324",
        "1.7976931348623157e308", "70516814153683.625", "1471111860459581.2001508585",
        "-292.3829564250642", "0", "-0", "12345678901234567890123456789",
        "1" + "0" * 4299, "1" + "0" * 4300, "-" + "9" * 4300,
    ]:
        cases.append(with_base(f'"params": {{"x": {number}, "l": [{number}]}}'))
    # params: strings, escapes and key order.
    for s in [
        r'"\"\\/\b\f\n\r\t"', r'"\u0000\u001f\u007f\u0080\u00ff"', '"é 😀 日本"', r'"\ud83d\ude00"',
        r'"\uD83D\uDE00"', r'"\ud800"', r'"\udc00"', r'"\ud800\ud800"', r'"\udc00\ud800"',
        r'"\ud800x"', r'"\u2028\u2029\ufeff\uffff"', '"\U0010ffff"', '"\u007f"', '"~ /"',
    ]:
        cases.append(with_base(f'"params": {{"s": {s}}}'))
    cases.append(with_base(r'"params": {"b": 1, "a": 2, "B": 3, "é": 4, "e": 5, "": 6}'))
    cases.append(with_base(r'"params": {"\uffff": 1, "\ud800\udc00": 2, "\ue000": 3, "\ud800": 4, "\ud7ff": 5}'))
    cases.append(with_base(r'"params": {"z": {"b": [3, {"d": 1, "c": 2}], "a": null}, "a": [true, false]}'))
    cases.append(with_base(r'"params": {"a": 1, "a": 2, "b": {"c": 1, "c": {"d": 0}}}'))
    cases.append(with_base(r'"params": {}, "params": {"second": true}'))
    cases.append(with_base('"params": {"nested": ' + "[" * 40 + "]" * 40 + "}"))
    cases.append(with_base('"params": {"deep": ' + '{"a": ' * 60 + "1" + "}" * 60 + "}"))
    # qty, limit_price, stop_price.
    for qty in [
        '"1.0"', '"1"', '"1.50"', '"101.250"', '"0.00000001"', '"0.000001"', '"0.0000001"',
        '"1E+2"', '"1e2"', '"1e-2"', '"12345678.12345678"', '"-0"', '"+1.5"', '" 1.5 "',
        '"\\t2\\n"', '"1_000"', '"_1_"', '"1__0.5"', '"\\u0661\\u0662"', '"\\uff11.\\uff15"',
        '"\\u00a01\\u2003"', '".5"', '"5."', '"00012.3400"', '"0E+3"', '"-0.000"',
        '"1e999999999999999999"', '"1e-1999999999999999997"', '"1e1000000000000000000"',
        '"1e-1999999999999999998"', '"NaN"', '"sNaN"', '"-Infinity"', '"inf"', '"abc"', '""',
        '" "', '"1 2"', '"1e"', '"0x10"', '"1.2.3"', '"\\u00b2"',
        "10", "-0", "2.5", "1.10", "1e2", "1E+2", "0.1", "1e-07", "-0.0", "1e16",
        "12345678901234567890.123456789", "123456789012345678901234567890", "1e400", "NaN",
        "Infinity", "true", "null", "[]", "{}",
    ]:
        cases.append(with_base("", qty))
        cases.append(with_base(f'"limit_price": {qty}, "order_type": "limit"'))
        cases.append(with_base(f'"stop_price": {qty}, "order_type": "stop"'))
    cases.append("{" + BASE + "}")
    # event_ts.
    for ts in [
        "2026-02-10T00:00:00Z", "2026-02-10T00:00:00z", "2026-02-10t09:30:00.250Z",
        "2026-02-10 09:30:00", "2026-02-10_09:30:00", "2026-02-10T09:30", "2026-02-10T09:30Z",
        "2026-02-10", "2026-02-10T09:30:00.5+00:00", "2026-02-10T09:30:00,5+00:00",
        "2026-02-10T09:30:00.123456Z", "2026-02-10T09:30:00.1234567Z",
        "2026-02-10T09:30:00.9999999Z", "2026-02-10T09:30:00.000000Z",
        "2026-02-10T09:30:00.000001Z", "2026-02-10T14:30:00+05:30", "2026-02-10T14:30:00+0530",
        "2026-02-10T14:30:00-08:00", "2026-02-10T14:30:00-00:00", "2026-02-10T14:30:00+23:59",
        "2026-02-10T14:30:00\\u221201:00", "2024-02-29T00:00:00", "0001-01-01T00:00:00",
        "9999-12-31T23:59:59.999999-23:59", "1700000000", "1700000000.5", "-1.25", "+12",
        "1700000000123", "20000000000", "20000000001", "20000000000.5",
        "2026-02-10T00", "2026-02-10T14:30:00+05", "2026-02-10T14:30:00+05:30:15",
        "2026-02-10T14:30:00+24:00", "2026-02-10T23:59:60Z", "2026-02-10T24:00:00Z",
        "2026-02-29T00:00:00", "0000-01-01T00:00:00", " 2026-02-10T00:00:00Z",
        "2026-02-10T00:00:00Z ", "2026-02-10T00:00:00.Z", "20260210T000000Z", "1e9", "",
        "253402300800000", "yesterday",
    ]:
        cases.append(with_base(f'"params": {{}}').replace('"2026-02-10T00:00:00Z"', json.dumps(ts).replace("\\\\u2212", "\\u2212")))
    for ts in ["1700000000", "1700000000.5", "-1.25", "0.9999995", "20000000001.5", "1e20",
               "-1e20", "Infinity", "NaN", "true", "null", "[]", "9223372036854775808"]:
        cases.append(with_base("").replace('"2026-02-10T00:00:00Z"', ts))
    # Literal fields, strings, rationale, params and extra members.
    for member in [
        '"action": "sell"', '"action": "BUY"', '"action": null', '"action": 1',
        '"order_type": "stop_limit"', '"order_type": "Market"', '"order_type": null',
        '"time_in_force": "ioc"', '"time_in_force": "fok"', '"time_in_force": "day "',
        '"rationale": "why"', '"rationale": null', '"rationale": 5', r'"rationale": "\ud800"',
        '"params": []', '"params": null', '"params": "{}"', '"extra": {"anything": [1, 2]}',
        '"_private": 1', r'"\ud800": 1', r'"\ud800\udc00": 1',
        '"strategy_id": 5', '"symbol": null', '"timeframe": ["1Min"]',
        r'"symbol": "\ud800"', r'"strategy_id": "\u0000\u001f\u007f"',
    ]:
        cases.append(with_base(member).replace('"action": "buy", "qty"', '"qty"')
                     if member.startswith('"action"') else with_base(member))
    for missing in ["strategy_id", "symbol", "event_ts", "timeframe", "action"]:
        cases.append(re.sub(r'"%s": "[^"]*", ?' % missing, "", with_base("")))
    # Malformed JSON and documents that are not objects.
    cases += [
        "", " ", "[]", '"text"', "1", "null", "{", with_base("")[:-1], with_base("") + " x",
        with_base(","), "\ufeff" + with_base(""), with_base('"params": {"a": tru}'),
        with_base('"params": {"a": 01}'), with_base('"params": {"a": 1.}'),
        with_base('"params": {"a": "\\x"}'), with_base('"params": {"a": "\\u12g4"}'),
        with_base('"params": {"a": "tab\tinside"}'), with_base("'single': 1"),
        with_base('"params": {"a": -NaN}'), with_base('"params": ' + "[" * 600 + "]" * 600),
    ]
    return cases


# Random decisions.
R = random.Random(20260210)
UNI = ["a", "Z", "0", " ", "é", "Ä", "日", "本", "😀", "\x7f", "\x80", "\xa0", "\u2028",
       "\ufeff", "\uffff", "\U0010ffff", "\U00010000", '"', "\\", "/", "\n", "\t", "\b", "\f",
       "\r", "\x00", "\x1f", "~", "_", "-", ".", "\ud800", "\udfff", "\udbff\udc00"]


def rstr(maxlen: int = 8) -> str:
    return "".join(R.choice(UNI) for _ in range(R.randint(0, maxlen)))


def enc_str(s: str) -> str:
    if R.random() < 0.5:
        t = json.dumps(s, ensure_ascii=False)
        try:
            t.encode("utf-8")
            return t
        except UnicodeEncodeError:
            pass
    t = json.dumps(s)
    if R.random() < 0.3:
        t = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), t)
    return t


def rfloat_text() -> str:
    k = R.random()
    if k < 0.3:
        while True:
            x = struct.unpack("<d", struct.pack("<Q", R.getrandbits(64)))[0]
            if math.isfinite(x):
                return repr(x)
    if k < 0.5:
        mant = str(R.randint(0, 10 ** R.randint(1, 20)))
        return R.choice(["", "-"]) + mant + R.choice(["e", "E"]) + R.choice(["", "+", "-"]) + str(R.randint(0, 30))
    if k < 0.7:
        return (R.choice(["-", ""]) + str(R.randint(0, 10 ** R.randint(0, 18))) + "."
                + str(R.randint(0, 10 ** R.randint(0, 18))).zfill(R.randint(1, 8)))
    if k < 0.8:
        return repr(R.randint(1, 2 ** 60) / 2 ** R.randint(0, 12))
    return repr(R.uniform(-1e6, 1e6))


def rint_text() -> str:
    if R.random() < 0.7:
        return str(R.randint(-10 ** 6, 10 ** 6))
    return str(R.randint(-10 ** 30, 10 ** 30))


def rvalue(depth: int) -> str:
    k = R.random() * (0.6 if depth > 2 else 1.0)
    if k < 0.15:
        return enc_str(rstr())
    if k < 0.3:
        return rint_text()
    if k < 0.5:
        return rfloat_text()
    if k < 0.6:
        return R.choice(["null", "true", "false"])
    if k < 0.8:
        return "[" + ", ".join(rvalue(depth + 1) for _ in range(R.randint(0, 3))) + "]"
    return robject(depth + 1)


def robject(depth: int = 0) -> str:
    pairs = []
    for _ in range(R.randint(0, 4)):
        key = rstr(4) if R.random() < 0.7 else R.choice(["a", "A", "é", "😀", "\uffff", "\U00010000", "\ud800", "\ue000", "k0é", "k1Z"])
        pairs.append(enc_str(key) + ": " + rvalue(depth))
    return "{" + ", ".join(pairs) + "}"


def iso_ts() -> str:
    s = (R.choice(["2026", "0001", "9999", "1970", "2024", "1900", "%04d" % R.randint(1, 9999)])
         + "-" + R.choice(["01", "02", "12", "%02d" % R.randint(1, 12)])
         + "-" + R.choice(["01", "28", "29", "30", "31", "%02d" % R.randint(1, 31)]))
    if R.random() < 0.1:
        return s
    s += R.choice(["T", "T", "T", "t", " ", "_"]) + "%02d:%02d" % (R.randint(0, 23), R.randint(0, 59))
    if R.random() < 0.9:
        s += ":%02d" % R.randint(0, 59)
        if R.random() < 0.6:
            s += R.choice([".", ".", ","]) + "".join(R.choice("0123456789") for _ in range(R.choice([1, 2, 3, 6, 6, 7, 9])))
    k = R.random()
    if k < 0.4:
        s += R.choice(["Z", "Z", "z"])
    elif k < 0.8:
        s += R.choice(["+", "-"]) + "%02d" % R.randint(0, 23) + R.choice([":", ":", ""]) + "%02d" % R.randint(0, 59)
    return s


def ts_value() -> str:
    k = R.random()
    if k < 0.8:
        return enc_str(iso_ts())
    if k < 0.9:
        return str(R.randint(-2 * 10 ** 10, 2 * 10 ** 12))
    return repr(R.uniform(-3e10, 3e10))


def dec_value() -> str:
    k = R.random()
    if k < 0.6:
        s = R.choice(["", "", "-", "+"]) + "".join(R.choice("0123456789") for _ in range(R.randint(0, 6)))
        if R.random() < 0.7:
            s += "." + "".join(R.choice("0123456789") for _ in range(R.randint(0, 10)))
        if R.random() < 0.3:
            s += R.choice(["e", "E"]) + R.choice(["", "+", "-"]) + str(R.randint(0, 30))
        return enc_str(s)
    if k < 0.8:
        return rint_text()
    return rfloat_text()


def random_decision() -> str:
    valid = {
        "strategy_id": lambda: enc_str(R.choice(["s1", "strat-é", "6f1c1a8e-2d3b-4c5d-9e8f-0a1b2c3d4e5f"])),
        "symbol": lambda: enc_str(R.choice(["AAPL", "ÄPPL", "日本", "MSFT"])),
        "event_ts": lambda: enc_str(R.choice(["2026-02-10T00:00:00Z", "2026-02-10T09:30:00.5+00:00"])),
        "timeframe": lambda: enc_str(R.choice(["1Min", "5Min", "1Day"])),
        "action": lambda: R.choice(['"buy"', '"sell"']),
        "qty": lambda: R.choice(['"1.0"', "10", "2.5", '"0.00000001"']),
    }
    varied = {
        "strategy_id": lambda: enc_str(rstr()),
        "symbol": lambda: enc_str(rstr()),
        "event_ts": ts_value,
        "timeframe": lambda: enc_str(rstr()),
        "action": lambda: R.choice(['"buy"', '"sell"', '"hold"']),
        "qty": dec_value,
        "order_type": lambda: json.dumps(R.choice(["market", "limit", "stop", "stop_limit"])),
        "time_in_force": lambda: json.dumps(R.choice(["day", "gtc", "ioc", "fok"])),
        "limit_price": dec_value,
        "stop_price": dec_value,
        "rationale": lambda: enc_str(rstr()),
        "params": robject,
    }
    targets = set(R.sample(sorted(varied), R.choice([1, 1, 2, 3])))
    members = []
    for name in varied:
        if name in targets:
            members.append((json.dumps(name), varied[name]()))
        elif name in valid:
            members.append((json.dumps(name), valid[name]()))
        elif R.random() < 0.3:
            members.append((json.dumps(name), varied[name]()))
    if R.random() < 0.1:
        members.append((enc_str(rstr(3)), rvalue(1)))
    R.shuffle(members)
    return "{" + ", ".join(k + ": " + v for k, v in members) + "}"


def main() -> None:
    cases = edge_cases()
    random_count = 2500
    while random_count:
        text = random_decision()
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            continue
        if "\n" in text or "\r" in text:
            continue
        cases.append(text)
        random_count -= 1
    out = sys.stdout
    for text in cases:
        out.write(json.dumps(expected(text), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
