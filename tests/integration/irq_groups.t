#!/usr/bin/env bash
# The interrupt-virtualization groups of testos under Bochs-VMX: the vPIC,
# vPIT, vIOAPIC, event injection, and a guest writing random values to every
# interrupt-controller register. Each group boots on its own; its TAP is
# kept in build/tap/<group>.tap.
. "$(dirname "$0")/lib.sh"
# The inject group calls the test hypercalls (HC_TEST_UNMAP, ...).
hooks() { [ "$1" = inject ] && echo "test_hooks = on"; }
for group in pic pit ioapic inject chaos; do
  boot "$group" bochs "guest = testos.elf
cmdline = $group ram_mb=32
ram_mb = 32
$(hooks $group)"
  guest_tap "$group"
  relay_guest_tap "$group"
  check_log '^hv: guest exited status=0$' "$group: run ends with status 0" "$group"
  check_no_vmfail
done
# The inject group on the software APIC path too (re-injection differs:
# with APIC virtualization the interrupted event is a virtual interrupt).
boot "inject-soft" bochs "guest = testos.elf
cmdline = inject ram_mb=32
ram_mb = 32
apicv = off
test_hooks = on"
guest_tap inject-soft
relay_guest_tap inject-soft
check_log '^hv: APIC: software path \(apicv = off\)' "inject-soft: the software APIC path is in use" inject-soft
check_log '^hv: guest exited status=0$' "inject-soft: run ends with status 0" inject-soft
check_no_vmfail
# The same timer-driven groups with virtual deadlines on the physical LAPIC
# timer instead of the VMX-preemption timer (the path for CPUs without it).
for group in pit inject; do
  boot "$group-lapic" bochs "guest = testos.elf
cmdline = $group ram_mb=32
ram_mb = 32
host_timer = lapic
$(hooks $group)"
  guest_tap "$group-lapic"
  relay_guest_tap "$group-lapic"
  check_log '^hv: virtual timer deadlines: physical LAPIC timer' "$group-lapic: the LAPIC timer path is in use" "$group-lapic"
  check_log '^hv: guest exited status=0$' "$group-lapic: run ends with status 0" "$group-lapic"
  check_no_vmfail
done
done_testing
