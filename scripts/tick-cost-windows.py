#!/usr/bin/env python3
"""Tick cost per compute node across the phases of a failure run (docs/performance.md).

Usage: tick-cost-windows.py AETHER TRACE_DIR
Reads every compute-*.trace with `aether trace dump`, splits each node's tick durations (kind
tick-done, b = duration in ns) at the times the coordinators traced a lost node and a new leader,
and prints p50 / p99 / max per node and window.
"""
import glob, json, os, subprocess, sys


def records(aether, path):
    out = subprocess.run([aether, "trace", "dump", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            pass


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] / 1e6


def main():
    aether, folder = sys.argv[1], sys.argv[2]
    marks = []
    for path in sorted(glob.glob(os.path.join(folder, "coordinator-*.trace"))):
        for r in records(aether, path):
            if r["kind"] in ("node_lost", "leader_elected") and r["time_ns"] > 0:
                marks.append((r["time_ns"], r["kind"]))
    lost = sorted(t for t, k in marks if k == "node_lost")[:1]
    elected = sorted(t for t, k in marks if k == "leader_elected")[-1:]  # the takeover, not the first leader's start
    edges = sorted(lost + [t for t in elected if not lost or t > lost[0]])
    names = ["before the node crash", "node crash to leader loss", "after the leader failover"][: len(edges) + 1]
    print("| compute node | window | ticks | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for path in sorted(glob.glob(os.path.join(folder, "compute-*.trace"))):
        windows = [[] for _ in names]
        for r in records(aether, path):
            if r["kind"] != "tick_done":
                continue
            w = sum(1 for e in edges if r["time_ns"] >= e)
            windows[min(w, len(windows) - 1)].append(r["b"])
        for name, ticks in zip(names, windows):
            if ticks:
                print(f"| {os.path.basename(path)[:-6]} | {name} | {len(ticks)} | {pct(ticks, 50):.3f} | {pct(ticks, 99):.3f} | {max(ticks) / 1e6:.3f} |")


if __name__ == "__main__":
    main()
