#!/usr/bin/env bash
# testos group "hostile": a guest that does, as often as it likes, what makes
# the hypervisor log a line. The lines are rate-limited (the first 10 of a
# kind, then one "N more ... suppressed" line at the end, and every kind's
# count in the exit statistics), so a scan of every port or of 10,000
# unknown MSRs finishes in well under 30 s at the default log level.
. "$(dirname "$0")/lib.sh"

# scan NAME CASE: one timed run of one case; sets SCAN_S (wall seconds).
scan() {
  local start=$SECONDS
  boot "$1" bochs "guest = testos.elf
cmdline = hostile only=$2 ram_mb=32
ram_mb = 32"
  SCAN_S=$((SECONDS - start))
  guest_tap "$1"
  relay_guest_tap "$1"
  check_log '^hv: guest exited status=0$' "$1: run ends with status 0" "$1"
  [ "$SCAN_S" -lt 30 ]; ok $? "$1: the run took ${SCAN_S} s, under 30 s" "see $TAPDIR/$1.log"
  echo "# $1: ${SCAN_S} s wall"
}

scan hostile-ports port_scan
# Every port but the few that devices claim (PIC, PIT, COM1, fw_cfg, ...).
count=$(sed -n 's/^hv: \+unclaimed port accesses \+\([0-9]*\), \([0-9]*\) suppressed$/\1/p' <<<"$LOG")
[ -n "$count" ] && [ "$count" -gt 196000 ] && [ "$count" -le 196608 ]
ok $? "port scan: the exit statistics count every unclaimed access (${count:-none})" "see $TAPDIR/hostile-ports.log"
check_log "^vmx: warning: $((${count:-10} - 10)) more unclaimed port accesses suppressed\$" \
  "port scan: one summary line for the suppressed port lines" hostile-ports
n=$(grep -c 'is not emulated' <<<"$LOG")
[ "$n" = 10 ]; ok $? "port scan: only the first 10 unclaimed accesses are logged" "$n lines"

scan hostile-msrs msr_scan
check_log '^vmx: warning: 19990 more unknown-MSR accesses suppressed$' \
  "MSR scan: one summary line for the suppressed MSR lines" hostile-msrs
check_log '^hv: +unknown-MSR accesses +20000, 19990 suppressed$' \
  "MSR scan: the exit statistics count every unknown-MSR access" hostile-msrs
n=$(grep -cE '^vmx: warning: guest (RD|WR)MSR' <<<"$LOG")
[ "$n" = 10 ]; ok $? "MSR scan: only the first 10 unknown-MSR accesses are logged" "$n lines"
# The cheap cases, on both APIC paths.
for path in auto off; do
  name=hostile-$path
  boot "$name" bochs "guest = testos.elf
cmdline = hostile only=test_hooks,vmx_ud,cr0,cr4,hlt_nmi,apic_moves,pit_storm,task_switch,task_switch_pae ram_mb=32
ram_mb = 32
apicv = $path"
  guest_tap "$name"
  relay_guest_tap "$name"
  check_apic_path "$name" $path
  check_log '^vmx: warning: test hypercall 1 refused: test_hooks = off$' \
    "$name: HC_TEST_UNMAP without test_hooks is refused, in words" "$name"
  ! log_has '^hv: stats '; ok $? "$name: HC_STATS_PRINT printed nothing without test_hooks"
  check_log '^vmx: warning: guest executed VMXOFF: no nested VMX; injecting #UD' \
    "$name: a VMX instruction is answered with #UD, in words" "$name"
  # apic_moves: every move maps the APIC-access page somewhere new; the
  # page tables that took must come back, or APIC virtualization ends.
  ! log_has 'APIC-access page'; ok $? "$name: 2,000 APIC base moves left APIC virtualization as it was" \
    "$(grep 'APIC-access page' <<<"$LOG")"
  # task_switch: every task switch exits (reason 9) and is emulated.
  ! log_has 'unexpected VM exit|task switch.*not emulated'
  ok $? "$name: no unexpected VM exit, no task switch left unemulated" \
    "$(grep -E 'unexpected VM exit|task switch.*not emulated' <<<"$LOG")"
  check_log '^hv: guest exited status=0$' "$name: run ends with status 0" "$name"
  check_no_vmfail
done

# expect_stop NAME CASE PATH SEEN STOP GONE_ON: one run of a case that must
# end in a stop: the guest's line SEEN shows it got there, the final line
# matches STOP, and the guest never printed GONE_ON.
expect_stop() {
  local name=$1
  boot "$name" bochs "guest = testos.elf
cmdline = hostile only=$2 ram_mb=32
ram_mb = 32
apicv = $3"
  check_log "$4" "$name: the guest got there" "$name"
  check_log "$5" "$name: the VM stopped with the reason" "$name"
  ! log_has "$6"; ok $? "$name: the guest did not go on" "$(grep -E "$6" <<<"$LOG")"
  [ "$RC" = 1 ]; ok $? "$name: run.sh returns 1 for a stopped VM" "rc=$RC"
  check_no_vmfail
}

for path in auto off; do
  # An interrupt delivered through an IDT that the guest put in the IOAPIC
  # page: the CPU's own read of the gate must stop the VM, naming the
  # vector and the address, never be emulated as the load at RIP.
  expect_stop "hostile-idt-$path" idt_mmio $path '^guest: # IDT at 0xfec00000 \(the IOAPIC page\)' \
    '^hv: guest stopped: MMIO during event delivery: vector 0x40 \(external interrupt\) at guest-physical 0xfec00200 \(IOAPIC\), RIP 0x[0-9a-f]+$' \
    '^guest: # the guest went on'
  # A load across the end of the LAPIC page: the APIC-virtualization path
  # faults on the page after it, the software path emulated the load and
  # went on (it returned 0). Both must stop, naming the page.
  expect_stop "hostile-apic-end-$path" apic_end $path '^guest: # a 4-byte load at 0xfee00ffe' \
    '^hv: guest stopped: MMIO access .*runs past the end of the LAPIC page' '^guest: # the load returned'
  # STI; HLT with every source masked (a PIT counting behind its masks):
  # nothing can wake the guest, so the VM stops at once, in words.
  expect_stop "hostile-hlt-$path" hlt_masked $path '^guest: # STI; HLT with every interrupt source masked$' \
    '^hv: guest stopped: guest halted with nothing that can wake it' '^guest: # the guest woke up'
done
# EFER follows the guest's CPUID: as Bochs shows it, and with NX and
# SYSCALL hidden, where SCE and NXE must be #GP (they were accepted).
for hide in "" "nx syscall"; do
  name=hostile-efer${hide:+-hidden}
  boot "$name" bochs "guest = testos.elf
cmdline = hostile only=efer ram_mb=32
ram_mb = 32${hide:+
cpuid_hide = $hide}"
  guest_tap "$name"
  relay_guest_tap "$name"
  if [ -n "$hide" ]; then
    check_log '^guest: # EFER.SCE: #GP$' "$name: EFER.SCE is #GP with SYSCALL hidden" "$name"
    check_log '^guest: # EFER.NXE: #GP$' "$name: EFER.NXE is #GP with NX hidden" "$name"
  fi
  check_log '^hv: guest exited status=0$' "$name: run ends with status 0" "$name"
done
done_testing
