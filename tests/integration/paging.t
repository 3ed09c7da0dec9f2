#!/usr/bin/env bash
# testos group "paging" on both APIC paths: MMIO to the IOAPIC and LAPIC
# through a second mapping in the guest's own page tables (32-bit paging,
# then 64-bit mode with 4-level tables), read-modify-write ALU forms, and
# REP INS/OUTS across page boundaries and into a not-present page.
. "$(dirname "$0")/lib.sh"
for apicv in auto off; do
  name=paging-$apicv
  boot "$name" bochs "guest = testos.elf
cmdline = paging ram_mb=32
ram_mb = 32
apicv = $apicv"
  guest_tap "$name"
  relay_guest_tap "$name"
  check_log '^hv: guest exited status=0$' "$name: run ends with status 0" "$name"
  check_no_vmfail
done
done_testing
