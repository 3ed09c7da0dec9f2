#!/usr/bin/env bash
# `make fuzz`: every libFuzzer target for FUZZ_SECONDS each, starting from
# the checked-in seeds (tests/fuzz/seeds/<target>, hand-written) and the
# minimized corpus of the last long campaign (tests/fuzz/corpus/<target>).
# New inputs go to build/fuzz/corpus-<target>, never into the tree. Prints
# one line per target (executions, coverage, crashes) and a table at the
# end; exits 1 on the first crash, naming the target and the input that
# reproduces it (build/fuzz/crash-*: run the target binary on it).
#
# FUZZ_MINIMIZE=1 afterwards merges what a campaign found into a minimized
# tests/fuzz/corpus/<target> (libFuzzer's -merge=1), for committing.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-300}
targets=("$@")
B=$ROOT/build/fuzz
summary=()
for t in "${targets[@]}"; do
  corpus=$B/corpus-$t kept=$ROOT/tests/fuzz/corpus/$t log=$B/$t.log
  mkdir -p "$corpus" "$kept"
  echo "fuzz: $t for $SECONDS_EACH s"
  (cd "$B" && "$B/$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -artifact_prefix="$B/" \
      "$corpus" "$ROOT/tests/fuzz/seeds/$t" "$kept") > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  if [ $rc != 0 ]; then
    echo "fuzz: $t CRASHED after ${execs:-?} executions; the log is $log:"
    grep -E '^==[0-9]+==ERROR|SUMMARY|^artifact_prefix|Test unit written to' "$log" | sed 's/^/  /'
    exit 1
  fi
  line=$(printf '%-14s %6ss %12s executions %8s/s  %-18s  crashes 0' "$t" "$SECONDS_EACH" "${execs:-?}" \
         "${rate:-?}" "${cov:-cov: ?}")
  echo "fuzz: $line"
  summary+=("$line")
  if [ "${FUZZ_MINIMIZE:-0}" = 1 ]; then
    tmp=$B/min-$t; rm -rf "$tmp"; mkdir -p "$tmp"
    "$B/$t" -merge=1 "$tmp" "$kept" "$corpus" > "$B/$t.merge.log" 2>&1 &&
      rm -rf "$kept" && mv "$tmp" "$kept" &&
      echo "fuzz: $t: minimized corpus $(ls "$kept" | wc -l) inputs in tests/fuzz/corpus/$t"
  fi
done
echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
