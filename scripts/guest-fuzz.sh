#!/usr/bin/env bash
# The guest-side fuzzer at length: testos's "fuzz" group under Bochs-VMX,
# one boot per seed (1, 2, 3, ...), until SECONDS of wall time have passed.
# Prints one line per seed and the totals; stops at the first seed that
# fails (a hang, a hypervisor exception, a failed VM entry, an unexpected
# VM exit or a failed guest check) and exits 1 naming it. The seed picks
# the configuration too (tests/integration/lib.sh, guest_fuzz_seed), and a
# boot is deterministic (the same image bytes, clock: sync=none), so a
# seed number alone replays a run exactly, with the same build.
#
#   scripts/guest-fuzz.sh SECONDS            seeds from GUEST_FUZZ_FIRST (1) on
#   scripts/guest-fuzz.sh --seed N [--verbose]
#                                            one seed; --verbose has the guest
#                                            print every operation (slow, and
#                                            it moves when interrupts come)
#   GUEST_FUZZ_BURSTS (default 100): bursts per seed, each of 200 operations;
#   BOOT_TIMEOUT (default 120): seconds a boot may take before it is a hang.
# Serial logs: build/tap/guest-fuzz-SEED.log; TAP: build/tap/guest-fuzz-SEED.out.
. "$(dirname "$0")/../tests/integration/lib.sh"
bursts=${GUEST_FUZZ_BURSTS:-100}
usage() { echo "usage: guest-fuzz.sh SECONDS | --seed N [--verbose]" >&2; exit 2; }
only="" words=""
case "${1:-}" in
  --seed) only=${2:-}; [[ "$only" =~ ^[0-9]+$ ]] || usage; [ "${3:-}" = --verbose ] && words=verbose=1 ;;
  *) [[ "${1:-}" =~ ^[0-9]+$ ]] || usage ;;
esac
limit=${1:-0}; [ -n "$only" ] && limit=0
seed=${only:-${GUEST_FUZZ_FIRST:-1}}
start=$SECONDS seeds=0 ops=0
while :; do
  out=$TAPDIR/guest-fuzz-$seed.out
  guest_fuzz_seed "$seed" "$bursts" "$words" > "$out"
  seeds=$((seeds + 1)) ops=$((ops + GF_OPS))
  if [ -n "$GF_FAIL" ]; then
    echo "guest-fuzz: seed $seed ($GF_CONFIG): FAILED after ${GF_WALL} s: $GF_FAIL"
    grep -E '^(not ok|# )' "$out" | sed 's/^/guest-fuzz:   /'
    echo "guest-fuzz: serial log $TAPDIR/guest-fuzz-$seed.log; replay: scripts/guest-fuzz.sh --seed $seed"
    echo "guest-fuzz: $seeds seeds, $ops operations in $((SECONDS - start)) s; seed $seed FAILED"
    exit 1
  fi
  echo "guest-fuzz: seed $seed ($GF_CONFIG): ok, $GF_OPS operations, ${GF_WALL} s"
  seed=$((seed + 1))
  { [ -n "$only" ] || [ $((SECONDS - start)) -ge "$limit" ]; } && break
done
echo "guest-fuzz: $seeds seeds, $ops operations in $((SECONDS - start)) s, no failure"
