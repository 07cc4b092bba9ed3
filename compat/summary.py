"""Summary of a scripts/compat run: reads its results directory, prints every failure and a verdict.

Usage: summary.py RESULTS_DIR TORGHUT_BIN SECONDS. Exit 0 when everything passed, else 1.
"""

from __future__ import annotations

import json
import os
import re
import sys

OWNER = "torghut_owner"
APP = "torghut_app (LOGIN, IN ROLE torghut_runtime)"

REPLAYS = [
    ("replay-v1", f"v1 as {OWNER} (reference)"),
    ("replay-owner", f"head as {OWNER}"),
    ("replay-runtime", f"head as {APP}"),
]
STARTUPS = [
    ("startup-runtime", "head adopted from v1 after the service's startup (public.torghut_meta exists)"),
    ("startup-runtime-fresh", "head adopted from v1 the service never started on (no public.torghut_meta)"),
]
PYTESTS = [
    ("v1", f"v1 as {OWNER} (baseline)"),
    ("head_owner", f"head as {OWNER}"),
    ("head_runtime", f"head as {APP}"),
]
VERIFY_CONTEXT = {
    "compat_replay_owner": "replay.py as the owner",
    "compat_replay_runtime": "replay.py as the runtime login role",
    "compat_startup_runtime": "startup as the runtime login role",
    "compat_startup_fresh": "startup as the runtime login role (no torghut_meta before)",
    "compat_head_owner_app": "app.db engine of the pytest run as the owner",
    "compat_head_runtime_app": "app.db engine of the pytest run as the runtime login role",
}


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def tail(text: str | None, n: int = 15) -> list[str]:
    return (text or "").rstrip().splitlines()[-n:]


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def clean(error: str) -> str:
    """An error line without what changes from run to run (object addresses, help links)."""
    error = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", error)
    return re.sub(r" at 0x[0-9a-f]+", "", error)


def db_errors(test: dict) -> list[str]:
    """The database errors seen during a test, ids masked, each once."""
    seen: list[str] = []
    for e in test.get("db_errors", []):
        e = UUID.sub("<id>", e)
        if e not in seen:
            seen.append(e)
    return seen


def main() -> int:
    res, torghut, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
    failures: dict[str, int] = {}
    out: list[str] = []

    def fail(kind: str, line: str) -> None:
        failures[kind] = failures.get(kind, 0) + 1
        out.append("  FAIL " + line)

    steps = {}
    for line in (read(os.path.join(res, "steps.tsv")) or "").splitlines():
        kind, name, rc, secs, path = line.split("\t")
        steps[name] = (kind, int(rc), int(secs), path)
    head_log = read(os.path.join(os.path.dirname(res), "logs", "head.log")) or ""
    m = re.search(r"current revision: (\S+)", head_log)
    out.append(f"torghut compatibility suite: the original service against {torghut}")
    out.append(f"schema head: {m.group(1) if m else 'unknown'}")

    setup_failed = [n for n, (kind, rc, _, _) in steps.items() if kind == "set-up" and rc != 0]
    for name in setup_failed:
        _, rc, _, path = steps[name]
        fail("set-up", f"set-up step {name} exited {rc}; last lines of its output:")
        out.extend("    " + l for l in tail(read(path)))

    # replay.py
    for name, label in REPLAYS:
        text = read(os.path.join(res, name + ".txt"))
        if text is None:
            if not setup_failed:
                fail("replay", f"replay.py, {label}: did not run")
            continue
        ops = re.findall(r"^\[(.*)\] (OK|ERR.*)$", text, re.M)
        bad = [(op, r) for op, r in ops if r != "OK"]
        rc = (read(os.path.join(res, name + ".rc")) or "?").strip()
        out.append(f"replay.py, {label}: {len(ops) - len(bad)} of {len(ops)} operations OK")
        for op, r in bad:
            fail("replay", f"[{op}] {r}")
        if not ops or (rc != "0" and not bad):
            fail("replay", f"replay.py exited {rc} (last lines):")
            out.extend("    " + l for l in tail(text))

    # startup
    for name, label in STARTUPS:
        text = read(os.path.join(res, name + ".txt"))
        if text is None:
            continue
        last = (tail(text, 1) or [""])[0]
        out.append(f"startup ensure_schema() as the runtime login role, {label}: {last if last == 'OK' else 'FAILED'}")
        if last != "OK":
            fail("startup", last if last.startswith("ERR") else "(last lines):")
            if not last.startswith("ERR"):
                out.extend("    " + l for l in tail(text))

    # pytest
    runs = {}
    for run, label in PYTESTS:
        name = "pytest-" + run
        if name not in steps:
            continue
        data = None
        raw = read(os.path.join(res, name + ".json"))
        if raw:
            data = json.loads(raw)
        if data is None or data.get("exitstatus") not in (0, 1):
            out.append(f"old test suite, {label}: did not complete")
            fail("pytest", f"pytest run {run} (exit status {data and data.get('exitstatus')}), last lines:")
            out.extend("    " + l for l in tail(read(os.path.join(res, name + ".txt"))))
        if data is not None:
            runs[run] = data["tests"]
    base = runs.get("v1", {})
    for run, label in PYTESTS:
        tests = runs.get(run)
        if tests is None:
            continue
        count = {}
        for t in tests.values():
            count[t["outcome"]] = count.get(t["outcome"], 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in sorted(count.items()))
        out.append(f"old test suite on PostgreSQL, {label}: {len(tests)} tests, {summary}")
        if run == "v1":
            for node, t in sorted(tests.items()):
                if t["outcome"] == "failed":
                    out.append(f"  fails on v1 (the baseline; not counted on head): {node}: {clean(t['error'])}")
            continue
        notes = []
        for node, t in sorted(tests.items()):
            b = base.get(node, {})
            new_errors = [e for e in db_errors(t) if e not in db_errors(b)]
            if t["outcome"] == "failed" and b.get("outcome") != "failed":
                fail("pytest", f"{node}: {clean(t['error'])}")
                out.extend(f"      database error during the test: {e}" for e in new_errors)
            elif new_errors and t["outcome"] != "failed":
                notes.append(f"  note: {node} passes, but the database refused: " + "; ".join(new_errors))
            elif t["outcome"] == "failed" and clean(t["error"]) != clean(b.get("error", "")):
                notes.append(f"  note: {node} fails on v1 too, here otherwise: {clean(t['error'])}")
        for node in sorted(set(base) - set(tests)):
            if base[node]["outcome"] == "passed":
                fail("pytest", f"{node}: passes on v1, did not run here")
        out.extend(notes)

    # audit verify
    db_test = {}
    for run in ("head_owner", "head_runtime"):
        raw = read(os.path.join(res, f"pytest-{run}.json"))
        if raw:
            for d in json.loads(raw)["databases"]:
                db_test[d["database"]] = f"test {d['test']}"
    verify = [l.split("\t") for l in (read(os.path.join(res, "verify.tsv")) or "").splitlines()]
    if verify:
        ok = sum(1 for _, rc in verify if rc == "0")
        out.append(f"torghut audit verify on every head database: {ok} of {len(verify)} exit 0")
        for db, rc in verify:
            if rc != "0":
                ctx = VERIFY_CONTEXT.get(db) or db_test.get(db, "")
                fail("audit verify", f"{db} ({ctx}): exit {rc}:")
                lines = tail(read(os.path.join(res, "verify", db + ".txt")), 40)
                out.extend("    " + l for l in lines if not l.startswith("note:"))
    elif not setup_failed:
        fail("audit verify", "did not run")

    if not setup_failed and not os.path.exists(os.path.join(res, "finished")):
        fail("run", "the run did not finish (time limit or crash); the checks above are all that ran")

    n = sum(failures.values())
    out.append("")
    if n:
        kinds = ", ".join(f"{k} {v}" for k, v in failures.items())
        out.append(f"compat: FAILED, {n} failures ({kinds}) in {seconds} s")
    else:
        out.append(f"compat: OK, the old service's writes, reads, startup and tests pass on head, audit verify clean ({seconds} s)")
    print("\n".join(out))
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
