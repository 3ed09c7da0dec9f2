#!/usr/bin/env python3
"""Compares build/bench.json with the committed baseline (TAP on stdout).

Every figure in the baseline is a count in Bochs (TSC ticks are emulated
instructions, repeatable run to run), and lower is better: a figure more
than TOLERANCE above its baseline is a regression and fails. A figure
well below it passes with a note to update the baseline
(`make bench-baseline`, in the same commit as the change that earned it).
"""
import json
import sys

TOLERANCE = 0.10
# The hypervisor's figures; the bare machine's measure testos alone.
GUARDED = ("hw", "sw", "traced")


def flatten(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flatten(v, prefix + k + ".")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield prefix + k, v


def main(current_path, baseline_path):
    with open(current_path) as f:
        current = dict(flatten(json.load(f)))
    with open(baseline_path) as f:
        baseline = dict(flatten(json.load(f)))
    names = sorted(baseline)
    print(f"1..{len(names)}")
    failed = 0
    for n, name in enumerate(names, 1):
        base, now = baseline[name], current.get(name)
        limit = base * (1 + TOLERANCE)
        if now is None:
            failed += 1
            print(f"not ok {n} - {name}: missing from {current_path} (baseline {base})")
        elif now > limit:
            failed += 1
            print(f"not ok {n} - {name}: {now}, more than {TOLERANCE:.0%} above the baseline {base}")
        else:
            print(f"ok {n} - {name}: {now} (baseline {base}, limit {limit:.0f})")
            if base and now < base * (1 - TOLERANCE):
                print(f"# {name} improved by more than {TOLERANCE:.0%}: update the baseline "
                      "(make bench-baseline)")
    return 1 if failed else 0


def write_baseline(current_path):
    """check.py --baseline build/bench.json > tests/bench/baseline.json"""
    with open(current_path) as f:
        current = json.load(f)
    json.dump({k: current[k] for k in GUARDED}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--baseline":
        sys.exit(write_baseline(sys.argv[2]))
    sys.exit(main(*sys.argv[1:3]))
