#!/usr/bin/env bash
# The local APIC groups of testos under Bochs-VMX, on both paths: APIC
# virtualization (TPR shadow, APIC-register virtualization, virtual-interrupt
# delivery; the default where the CPU offers it) and the software path
# (apicv = off: every APIC access traps). TAP: build/tap/<group>.tap and
# build/tap/<group>-soft.tap. x2APIC mode always takes the software path
# (no x2APIC virtualization yet).
. "$(dirname "$0")/lib.sh"
for group in lapic timer x2apic level; do
  for path in hw soft; do
    name=$group; apicv=auto; want='^hv: APIC: hardware virtualization'
    if [ $path = soft ]; then name=$group-soft; apicv=off; want='^hv: APIC: software path \(apicv = off\)'; fi
    boot "$name" bochs "guest = testos.elf
cmdline = $group ram_mb=32
ram_mb = 32
apicv = $apicv"
    guest_tap "$name"
    relay_guest_tap "$name"
    check_log "$want" "$name: the $path path is in use" "$name"
    check_log '^hv: guest exited status=0$' "$name: run ends with status 0" "$name"
    check_no_vmfail
  done
done
done_testing
