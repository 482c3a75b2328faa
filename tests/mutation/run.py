#!/usr/bin/env python3
"""Mutation testing of the ownership protocol (tests/mutation/README.md).

    python3 tests/mutation/run.py [--budget RUNS] [--only NAME,...] [--keep-worktree]

Applies each mutant of tests/mutation/mutants.txt, one at a time, to a scratch worktree of HEAD
(the working tree is never touched), and runs, in order and stopping at the first failure: the
build and run of the rule tests (aether_rule_tests), every kept regression
schedule (scenarios/regressions, with its replay seed), the other unit tests, then each CI chaos scenario over seeds
1..budget/10. A mutant is killed by the first check that fails, or survives all of them. Prints a
table and the kill rate; exits 1 if a mutant not argued equivalent survives.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Outside /tmp when ccache's base_dir covers the checkout's parent, so the scratch build hits the cache.
WORKTREE = os.environ.get("AETHER_MUTATION_WORKTREE", "/tmp/aether-mutation")


def parse_mutants(path):
    mutants, block = [], {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#"):
            continue
        if not line.strip():
            if block:
                mutants.append(block)
            block = {}
            continue
        key, _, value = line.partition(": ")
        if key not in ("name", "rule", "file", "find", "replace", "equivalent"):
            sys.exit(f"mutants.txt: unknown key {key!r} in {line!r}")
        block[key] = value
    if block:
        mutants.append(block)
    for m in mutants:
        for key in ("name", "rule", "file", "find", "replace"):
            if key not in m:
                sys.exit(f"mutants.txt: mutant {m.get('name', '?')} has no {key}")
    return mutants


def run(cmd, cwd, timeout=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return p.returncode, p.stdout


TARGETS = ["aether_rule_tests", "aether", "aether_unit_tests"]


def build(wt, target):
    """(name, ok, detail) for building one target; a mutant that breaks the build is killed by it."""
    code, out = run(["cmake", "--build", "build", "--target", target], wt)
    detail = "" if code == 0 else (re.search(r"error: .*", out) or re.search(r".*", out)).group(0)[:120]
    return "the build of " + target, code == 0, detail


def unit_tests(wt, name, binary):
    code, out = run(["build/bin/" + binary, "--gtest_brief=1"], wt, timeout=900)
    failed = re.findall(r"\[  FAILED  \] (\S+)", out)
    return name, code == 0, ", ".join(sorted(set(failed))[:3])


def checks(wt, budget):
    """Yields (name, ok, detail) until the first failure, cheapest and most aimed first. Each binary
    is rebuilt just before its first use, so that a mutant killed early costs one small link."""
    yield build(wt, "aether_rule_tests")
    # The protocol rules' own unit tests and the checker's planted bugs: seconds, aimed at the rules.
    yield unit_tests(wt, "rule unit tests", "aether_rule_tests")
    yield build(wt, "aether")
    for kept in sorted(glob.glob(os.path.join(wt, "scenarios", "regressions", "*.textpb"))):
        code, out = run(["build/bin/aether", "sim", kept], wt, timeout=600)
        yield "regression " + os.path.basename(kept)[:-7], code == 0, first_failure(out)
    yield build(wt, "aether_unit_tests")
    yield unit_tests(wt, "unit tests", "aether_unit_tests")
    seeds = max(1, budget // 10)
    for scenario in sorted(glob.glob(os.path.join(wt, "tests", "chaos", "chaos-*.textpb"))):
        code, out = run(["build/bin/aether", "sim", scenario, "--seeds", f"1..{seeds}", "--jobs", "2"], wt, timeout=3600)
        yield os.path.basename(scenario)[:-7], code == 0, first_failure(out)


def first_failure(out):
    m = re.search(r"^(seed \d+: .*|VIOLATION.*|FAILED.*)$", out, re.M)
    return m.group(1)[:160] if m else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=2100, help="chaos runs per mutant at most (shared among the scenarios)")
    ap.add_argument("--only", default="", help="comma-separated mutant names")
    ap.add_argument("--keep-worktree", action="store_true")
    args = ap.parse_args()
    mutants = parse_mutants(os.path.join(ROOT, "tests", "mutation", "mutants.txt"))
    if args.only:
        wanted = set(args.only.split(","))
        mutants = [m for m in mutants if m["name"] in wanted]

    if os.path.exists(WORKTREE):
        run(["git", "worktree", "remove", "--force", WORKTREE], ROOT)
        shutil.rmtree(WORKTREE, ignore_errors=True)
    code, out = run(["git", "worktree", "add", "--detach", WORKTREE, "HEAD"], ROOT)
    if code != 0:
        sys.exit("git worktree add failed:\n" + out)
    wt = WORKTREE
    # Optimised as CI's release build is, without debug information: links are several times faster.
    code, out = run(["cmake", "-S", ".", "-B", "build", "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                     "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG", "-DAETHER_BUILD_BENCH=OFF"], wt)
    if code != 0:
        sys.exit("configure failed:\n" + out)
    print("== baseline: the unmutated tree must build and pass every check", flush=True)
    code, out = run(["cmake", "--build", "build", "--target"] + TARGETS, wt)
    if code != 0:
        sys.exit("baseline build failed:\n" + out[-3000:])
    for name, ok, detail in checks(wt, args.budget):
        if not ok:
            sys.exit(f"baseline fails {name}: {detail}")

    results = []
    for m in mutants:
        path = os.path.join(wt, m["file"])
        original = open(path, encoding="utf-8").read()
        if original.count(m["find"]) != 1:
            results.append((m, "STALE", f"`find` occurs {original.count(m['find'])} times in {m['file']}", 0.0))
            print(f"{m['name']}: STALE", flush=True)
            continue
        if "equivalent" in m:
            results.append((m, "equivalent", m["equivalent"], 0.0))
            print(f"{m['name']}: equivalent (skipped)", flush=True)
            continue
        started = time.monotonic()
        open(path, "w", encoding="utf-8").write(original.replace(m["find"], m["replace"]))
        try:
            verdict, detail = "SURVIVED", ""
            for name, ok, why in checks(wt, args.budget):
                if not ok:
                    verdict, detail = "killed", f"by {name}: {why}"
                    break
        finally:
            open(path, "w", encoding="utf-8").write(original)
        elapsed = time.monotonic() - started
        results.append((m, verdict, detail, elapsed))
        print(f"{m['name']}: {verdict} {detail} ({elapsed:.0f} s)", flush=True)

    run(["cmake", "--build", "build", "--target"] + TARGETS, wt)  # leave the scratch build unmutated
    if not args.keep_worktree:
        run(["git", "worktree", "remove", "--force", wt], ROOT)

    print("\n| mutant | rule | result | how | seconds |\n|---|---|---|---|---|")
    for m, verdict, detail, elapsed in results:
        print(f"| {m['name']} | {m['rule']} | {verdict} | {detail} | {elapsed:.0f} |")
    considered = [r for r in results if r[1] in ("killed", "SURVIVED")]
    killed = sum(1 for r in considered if r[1] == "killed")
    survived = [r[0]["name"] for r in considered if r[1] == "SURVIVED"]
    stale = [r[0]["name"] for r in results if r[1] == "STALE"]
    equivalent = sum(1 for r in results if r[1] == "equivalent")
    print(f"\nmutation: {killed} of {len(considered)} non-equivalent mutants killed ({equivalent} argued equivalent)")
    if survived:
        print("surviving: " + ", ".join(survived))
    if stale:
        print("stale (the code moved; update tests/mutation/mutants.txt): " + ", ".join(stale))
    return 1 if survived or stale else 0


if __name__ == "__main__":
    sys.exit(main())
