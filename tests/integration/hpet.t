#!/usr/bin/env bash
# testos group "hpet" under Bochs-VMX: the virtual HPET at 0xFED00000
# (trapped MMIO on an unmapped EPT page) measured against the TSC, its
# comparators delivered through the vIOAPIC (one-shot, periodic, level with
# remote IRR), and legacy replacement taking IRQ 0 from the PIT. Once with
# APIC virtualization and once on the software APIC path.
. "$(dirname "$0")/lib.sh"
for path in apicv soft; do
  boot "hpet-$path" bochs "guest = testos.elf
cmdline = hpet ram_mb=32
ram_mb = 32
$([ $path = soft ] && echo 'apicv = off')"
  guest_tap "hpet-$path"
  relay_guest_tap "hpet-$path"
  [ $path = soft ] && check_log '^hv: APIC: software path \(apicv = off\)' "hpet-$path: the software APIC path is in use" "hpet-$path"
  # The guest's byte read of the capabilities is an access the HPET does
  # not define: read as 0 and logged as a guest event, not a stop.
  check_log 'guest HPET read of 1 bytes at offset 0x0: not a register' "hpet-$path: the byte read was logged as a guest event" "hpet-$path"
  check_log 'guest HPET read of 8 bytes at offset 0x104: not a register' "hpet-$path: the misaligned 8-byte read too" "hpet-$path"
  # ... and they were the only ones: every other access of the group is defined.
  check_log '^hv: +undefined HPET accesses +2, 0 suppressed$' "hpet-$path: no other undefined HPET access" "hpet-$path"
  check_log '^hv: guest exited status=0$' "hpet-$path: run ends with status 0" "hpet-$path"
  check_no_vmfail
done
done_testing
