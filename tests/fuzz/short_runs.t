#!/usr/bin/env bash
# A short libFuzzer run of each target (fixed seed, a few seconds) as part
# of `make test`; `make fuzz` runs them at length. Each starts from the
# hand-written seeds and the minimized corpus of the last long campaign
# (tests/fuzz/corpus/<target>), so every input that once found new code
# runs again. New inputs go to a scratch corpus, never into the tree.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${FUZZ_SHORT_SECONDS:-4}
targets=($(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//' | sort))  # as the Makefile's FUZZ_TARGETS
echo "1..${#targets[@]}"
n=0; failed=0
for t in "${targets[@]}"; do
  n=$((n + 1))
  bin=$ROOT/build/fuzz/$t
  corpus=$ROOT/build/fuzz/short-$t
  rm -rf "$corpus"; mkdir -p "$corpus"
  log=$ROOT/build/fuzz/$t.short.log
  if [ -x "$bin" ] && (cd "$ROOT/build/fuzz" && "$bin" -seed=1 -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
       "$corpus" "$ROOT/tests/fuzz/seeds/$t" $(ls -d "$ROOT/tests/fuzz/corpus/$t" 2>/dev/null) \
       > "$log" 2>&1); then
    echo "ok $n - $t: ${SECONDS_EACH}s without a crash ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?') runs)"
  else
    failed=$((failed + 1))
    echo "not ok $n - $t crashed or did not run (see $log)"
    tail -5 "$log" | sed 's/^/# /'
  fi
done
[ $failed = 0 ]
