#!/usr/bin/env bash
# make bench's deterministic counts (Bochs: TSC ticks are instructions)
# against the committed baseline tests/bench/baseline.json: exits per 1000
# timer interrupts, deadline -> ISR, the CPUID round trip and the cost of a
# traced event, on each path. A figure more than 10 % above its baseline
# fails. After a deliberate change, `make bench-baseline` rewrites the
# baseline; commit it with the change.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if ! out=$(BENCH_KUT=0 "$ROOT/scripts/bench.sh" 2>&1); then
  echo "1..1"
  echo "not ok 1 - make bench ran"
  sed 's/^/# /' <<<"$out" | tail -20
  exit 1
fi
python3 "$ROOT/tests/bench/check.py" "$ROOT/build/bench.json" "$ROOT/tests/bench/baseline.json"
