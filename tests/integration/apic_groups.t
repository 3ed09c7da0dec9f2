#!/usr/bin/env bash
# The virtual local APIC groups of testos under Bochs-VMX, on the software
# path (every APIC access traps): lapic, timer, x2apic, level. Each group's
# TAP is kept in build/tap/<group>.tap; the hardware-assisted path (APIC
# virtualization) does not exist yet.
. "$(dirname "$0")/lib.sh"
for group in lapic timer x2apic level; do
  boot "$group" bochs "guest = testos.elf
cmdline = $group ram_mb=32
ram_mb = 32"
  guest_tap "$group"
  relay_guest_tap "$group"
  check_log '^hv: guest exited status=0$' "$group: run ends with status 0" "$group"
  check_no_vmfail
done
done_testing
