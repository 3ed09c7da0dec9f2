#!/usr/bin/env bash
# Runs every test under prove: host unit tests (cmocka, TAP) and the
# integration tests that boot the hypervisor in emulators. Ends with one
# summary line counting passed and failed tests.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/tap
log=build/test.log
units=(build/unit/*)
CMOCKA_MESSAGE_OUTPUT=TAP prove -v --exec '' "${units[@]}" tests/tools/*.t tests/fuzz/short_runs.t tests/integration/*.t 2>&1 | tee "$log" |
  grep -vE '^(ok [0-9]+|# )' # the full TAP is in build/test.log
rc=${PIPESTATUS[0]}
passed=$(grep -E '^ok [0-9]+' "$log" | grep -vc '# SKIP')
skipped=$(grep -cE '^(not )?ok [0-9]+.*# SKIP' "$log")
failed=$(grep -E '^not ok [0-9]+' "$log" | grep -vc '# SKIP')
echo "in-guest TAP: build/tap/*.tap, serial logs: build/tap/*.log, full output: $log"
echo "test: $passed passed, $failed failed, $skipped skipped"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
