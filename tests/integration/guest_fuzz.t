#!/usr/bin/env bash
# The guest-side fuzzer (testos group "fuzz", in the spirit of HYPER-CUBE):
# three fixed seeds, briefly, on both APIC paths (seed 2: apicv = off) and
# with the test hypercalls on (seed 3). Each must pass the guest's own checks
# after every burst and end with "hv: guest exited status=0", with no
# unexpected VM exit, hypervisor exception or failed VM entry on the way.
# `make fuzz` (scripts/guest-fuzz.sh) runs many more seeds. A failure names
# the seed: `scripts/guest-fuzz.sh --seed N` replays it.
#   GUEST_FUZZ_BURSTS=N sets the bursts per seed (default below).
. "$(dirname "$0")/lib.sh"
for seed in 1 2 3; do
  guest_fuzz_seed "$seed" "${GUEST_FUZZ_BURSTS:-60}"
  echo "# fuzz seed $seed ($GF_CONFIG): $GF_OPS operations, ${GF_WALL} s wall"
done
done_testing
