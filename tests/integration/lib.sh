# Helpers for the integration tests (sourced by the .t scripts, which prove
# runs). Each scenario builds a disk image with its own config, boots it in
# an emulator, and keeps the full serial log in build/tap/<name>.log.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$ROOT/build
TAPDIR=$BUILD/tap
mkdir -p "$BUILD/scenarios" "$TAPDIR"
T_N=0; T_FAILED=0

# boot NAME EMU CONFIG_TEXT [SRC:NAME ...] [--send TRIGGER PAYLOAD ...] ->
# sets LOG (serial log, CRs removed) and RC (run.sh exit status).
# CONFIG_TEXT "-" boots without one; --send pairs and --until go to run.sh.
boot() {
  local name=$1 emu=$2 cfg=$3; shift 3
  local img=$BUILD/scenarios/$name.img cfgfile=- files=() sends=()
  while [ $# -gt 0 ]; do
    if [ "$1" = --send ]; then sends+=(--send "$2" "$3"); shift 3;
    elif [ "$1" = --until ]; then sends+=(--until "$2"); shift 2; else files+=("$1"); shift; fi
  done
  if [ "$cfg" != - ]; then cfgfile=$BUILD/scenarios/$name.cfg; printf '%s\n' "$cfg" > "$cfgfile"; fi
  "$ROOT/scripts/mkdisk.sh" "$img" "$cfgfile" "${files[@]}" || { echo "Bail out! mkdisk failed"; exit 1; }
  "$ROOT/scripts/run.sh" --quiet --emu "$emu" --timeout "${BOOT_TIMEOUT:-120}" \
      --serial "$TAPDIR/$name.log" "${sends[@]}" "$img" > "$TAPDIR/$name.run.out" 2>&1
  RC=$?
  LOG=$(tr -d '\r' < "$TAPDIR/$name.log")
  BOCHS_LOG=$TAPDIR/$name.bochs.log
}

ok() { # ok CONDITION_STATUS DESCRIPTION [DIAGNOSTIC]
  T_N=$((T_N + 1))
  if [ "$1" = 0 ]; then echo "ok $T_N - $2"; else
    T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $2"; [ -n "${3:-}" ] && echo "# $3"; fi
}

log_has() { grep -Eq -- "$1" <<<"$LOG"; }

# check_log REGEX DESCRIPTION: one test that the serial log has a line.
check_log() {
  log_has "$1"; ok $? "$2" "no line matching /$1/ in $TAPDIR/${3:-scenario}.log"
}

# No failed VMX check in Bochs's own log (it names each in words).
check_no_vmfail() {
  if [ -f "$BOCHS_LOG" ] && grep -qE 'VMFAIL|VMENTER FAIL' "$BOCHS_LOG"; then
    ok 1 "Bochs reported no failed VMX check" "$(grep -E 'VMFAIL|VMENTER FAIL' "$BOCHS_LOG" | head -3)"
  else
    ok 0 "Bochs reported no failed VMX check"
  fi
}

# guest_tap NAME: the guest's own TAP lines from the log into build/tap/NAME.tap
guest_tap() {
  sed -n 's/^guest: //p' <<<"$LOG" > "$TAPDIR/$1.tap"
}

# relay_guest_tap NAME: re-emit each guest test as one of ours; checks that
# the guest's plan matches its results and that it did not bail out.
relay_guest_tap() {
  local tap=$TAPDIR/$1.tap plan results
  plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -1)
  results=$(grep -cE '^(not )?ok [0-9]+' "$tap")
  while IFS= read -r line; do
    case "$line" in
      "ok "*) ok 0 "guest: ${line#ok * - }" ;;
      "not ok "*) ok 1 "guest: ${line#not ok * - }" ;;
    esac
  done < "$tap"
  [ -n "$plan" ] && [ "$plan" = "$results" ]
  ok $? "$1: guest ran its whole plan (planned ${plan:-none}, reported $results)"
  ! grep -q '^Bail out!' "$tap"; ok $? "$1: guest did not bail out" "$(grep '^Bail out!' "$tap")"
}

# check_apic_path NAME APICV: the log names the APIC path that
# `apicv = APICV` (auto or off) asks for.
check_apic_path() {
  local want='^hv: APIC: hardware virtualization'
  [ "$2" = off ] && want='^hv: APIC: software path \(apicv = off\)'
  check_log "$want" "$1: the APIC path asked for is in use" "$1"
}

done_testing() { echo "1..$T_N"; [ $T_FAILED = 0 ]; }

# kut_case NAME FLAT "CONFIG LINES" ARGS [BENCH_REGEX]: boots one kvm-unit-tests kernel
# (x86/FLAT from scripts/kut-build.sh) as the guest, with an environment
# module saying NR_CPUS=1 as QEMU's runner gives it, and turns its output
# into TAP: one test per PASS/FAIL/SKIP line (SKIP -> "ok ... # SKIP",
# never a pass), one for its SUMMARY (for a benchmark, which prints none:
# one for a line matching BENCH_REGEX), one for the hypervisor's final line.
# TAP and serial log: build/tap/kut-NAME.tap and .log.
kut_case() {
  local name=$1 flat=$2 extra=$3 args=$4 kutdir env=$BUILD/scenarios/kut-env
  kutdir=$("$ROOT/scripts/kut-build.sh") || { echo "Bail out! kvm-unit-tests did not build"; exit 1; }
  printf 'NR_CPUS=1\nMEMSIZE=%s\n' 64 > "$env"
  # QEMU's Multiboot loader puts the kernel's name before -append's words
  # (kvm-unit-tests takes the first word as argv[0]); so do we.
  boot "kut-$name" bochs "guest = $flat
cmdline = $flat $args
ram_mb = 64
module = kut-env
$extra" "$kutdir/x86/$flat:$flat" "$env:kut-env"
  local tap=$TAPDIR/kut-$name.tap
  sed -n 's/^guest: //p' <<<"$LOG" > "$tap.out"
  local n=0 line
  : > "$tap"
  while IFS= read -r line; do
    case "$line" in
      PASS:*) n=$((n + 1)); echo "ok $n - ${line#PASS: }" >> "$tap"; ok 0 "kut-$name: ${line#PASS: }" ;;
      FAIL:*) n=$((n + 1)); echo "not ok $n - ${line#FAIL: }" >> "$tap"; ok 1 "kut-$name: ${line#FAIL: }" ;;
      SKIP:*) n=$((n + 1)); echo "ok $n - ${line#SKIP: } # SKIP" >> "$tap"
              T_N=$((T_N + 1)); echo "ok $T_N - kut-$name: ${line#SKIP: } # SKIP" ;;
    esac
  done < "$tap.out"
  echo "1..$n" >> "$tap"
  local summary
  if [ -n "${5:-}" ]; then
    # a benchmark (vmexit): no SUMMARY, but a result line for what it measured
    grep -qE "$5" "$tap.out"
    ok $? "kut-$name: printed its measurement (/$5/)" "see $TAPDIR/kut-$name.log"
  else
    summary=$(grep -m1 '^SUMMARY:' "$tap.out")
    [ -n "$summary" ] && ! grep -q 'unexpected failures' <<<"${summary/ 0 unexpected failures/}"
    ok $? "kut-$name: ${summary:-no SUMMARY line}" "see $TAPDIR/kut-$name.log"
  fi
  check_log '^hv: guest exited status=0$' "kut-$name: the test kernel exits with status 0" "kut-$name"
}

# gf_ok STATUS DESCRIPTION [DIAGNOSTIC]: ok() for guest_fuzz_seed, naming
# the seed and its configuration; every line of the diagnostic a comment;
# the first failure kept in GF_FAIL.
gf_ok() {
  local diag=${3:-}
  ok "$1" "fuzz seed $GF_SEED ($GF_CONFIG): $2" "${diag%%$'\n'*}"
  [ "$1" = 0 ] || { [ "$diag" = "${diag#*$'\n'}" ] || sed 's/^/# /' <<<"${diag#*$'\n'}"; }
  [ "$1" = 0 ] || [ -n "$GF_FAIL" ] || GF_FAIL="check failed: $2${diag:+ (${diag%%$'\n'*})}"
}

# guest_fuzz_seed SEED BURSTS [CMDLINE_WORDS]: one boot of testos's "fuzz"
# group (guest/testos/test_fuzz.c) under Bochs-VMX. The seed also picks the
# configuration, so that a seed number alone replays a run: odd seeds take
# APIC virtualization, even ones the software path (apicv = off); every
# third has test_hooks = on (the test hypercalls then do what they do).
# Emits one TAP test per check, each naming the seed; sets GF_OPS (the
# operations the guest ran), GF_WALL (seconds), GF_CONFIG (in words) and
# GF_FAIL (the first failed check, empty if none). Serial log:
# build/tap/guest-fuzz-SEED.log, the guest's lines in guest-fuzz-SEED.tap.
guest_fuzz_seed() {
  local bursts=$2 words=${3:-} path=auto hooks=off name start tap final bad
  GF_SEED=$1
  [ $((GF_SEED % 2)) = 0 ] && path=off
  [ $((GF_SEED % 3)) = 0 ] && hooks=on
  name=guest-fuzz-$GF_SEED GF_CONFIG="apicv = $path, test_hooks = $hooks" GF_FAIL="" GF_OPS=0
  start=$SECONDS
  boot "$name" bochs "guest = testos.elf
cmdline = fuzz seed=$GF_SEED bursts=$bursts ram_mb=32 $words
ram_mb = 32
apicv = $path
test_hooks = $hooks"
  GF_WALL=$((SECONDS - start))
  guest_tap "$name"
  tap=$TAPDIR/$name.tap
  GF_OPS=$(sed -n 's/^# fuzz: seed [0-9]* done: [0-9]* bursts, \([0-9]*\) ops.*/\1/p' "$tap")
  GF_OPS=${GF_OPS:-0}
  [ "$RC" != 124 ]
  gf_ok $? "the run ended within ${BOOT_TIMEOUT:-120} s (no hang)" "the guest's last line: $(tail -1 "$tap")"
  bad=$({ grep -E '^(not ok|Bail out!)' "$tap"
          grep -E '^# fuzz: (seed [0-9]+ burst [0-9]+: op|  op|unexpected)' "$tap"; } | head -12)
  bad=${bad:-"the guest reported no result; its last line: $(tail -1 "$tap")"}
  grep -q '^ok 1 - fuzz: seeded random bursts$' "$tap" && ! grep -qE '^(not ok|Bail out!)' "$tap"
  gf_ok $? "the guest's checks passed after every burst" "$bad"
  final=$(grep -E '^hv: (guest exited status=|guest stopped:|error: fatal:)' <<<"$LOG" | tail -1)
  [ "$final" = "hv: guest exited status=0" ]
  gf_ok $? "the last status line is 'hv: guest exited status=0'" "${final:-no status line}"
  bad=$(grep -E 'unexpected VM exit|^[a-z]+: error: ' <<<"$LOG" | head -3)
  [ -z "$bad" ]
  gf_ok $? "no unexpected VM exit, hypervisor exception, failed VM entry or other error line" "$bad"
  bad=""
  [ -f "$BOCHS_LOG" ] && bad=$(grep -E 'VMFAIL|VMENTER FAIL' "$BOCHS_LOG" | head -3)
  [ -z "$bad" ]
  gf_ok $? "Bochs reported no failed VMX check" "$bad"
}
