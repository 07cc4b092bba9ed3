#!/usr/bin/env python3
"""pgbench runs of two databases (v1 and audit) in rounds, for scripts/bench-old-writes and
scripts/bench-old-replay.

  pgbench-rounds.py record NAME CLIENTS PGBENCH_OUTPUT
      prints "NAME CLIENTS TPS LATENCY_MS FAILED" from one pgbench run's output (to be appended to
      a results file, one line a run, in run order)
  pgbench-rounds.py report RESULTS HIGH TITLE UNIT DIGITS LATENCY_LABEL LATENCY_DIGITS
      prints the medians of each database at 1 and HIGH clients, the ratio audit / v1 of the
      medians and within each round, and the failed transactions
"""
import re
import statistics
import sys


def record(name, clients, path):
    text = open(path).read()
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text)
    lat = re.search(r"latency average = ([0-9.]+) ms", text)
    failed = re.search(r"number of failed transactions: ([0-9]+)", text)
    if not tps:
        sys.exit("no tps in pgbench's output:\n" + text)
    print(name, clients, tps.group(1), lat.group(1) if lat else "nan", failed.group(1) if failed else "0")


def report(path, high, title, unit, digits, latency_label, latency_digits):
    rows = [l.split() for l in open(path) if l.strip()]
    d, ld = int(digits), int(latency_digits)

    def med(name, c, i):
        v = [float(r[i]) for r in rows if r[0] == name and r[1] == c]
        return statistics.median(v) if v else float("nan")

    print()
    print(title)
    print(f"{unit}, median of rounds, one server")
    print(f"{'':12} {'v1 (0005)':>12} {'audit (latest)':>15} {'audit/v1':>9}   v1 / audit {latency_label}")
    for c in ["1", high]:
        v1, au = (med(n, c, 2) for n in ("v1", "audit"))
        label = f"{c} client" + ("" if c == "1" else "s")
        print(f"{label:12} {v1:12.{d}f} {au:15.{d}f} {au / v1:9.2f}   {med('v1', c, 3):.{ld}f} / {med('audit', c, 3):.{ld}f}")
    print("audit/v1 within each round (median): " + "; ".join(
        f"{c} client{'' if c == '1' else 's'} " + " / ".join(f"{x:.2f}" for x in rs)
        + f" (median {statistics.median(rs):.2f})"
        for c in ["1", high]
        for rs in [[float(a[2]) / float(b[2])
                    for a, b in zip([r for r in rows if r[0] == "audit" and r[1] == c],
                                    [r for r in rows if r[0] == "v1" and r[1] == c])]]))
    failed = sum(int(r[4]) for r in rows)
    print(f"failed transactions: {failed}; runs: " + "; ".join(f"{r[0]}@{r[1]}={float(r[2]):.{d}f}" for r in rows))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "record":
        record(*sys.argv[2:])
    elif len(sys.argv) == 9 and sys.argv[1] == "report":
        report(*sys.argv[2:])
    else:
        sys.exit(__doc__)
