#!/usr/bin/env bash
# QEMU TCG has no VMX: the hypervisor must say so in words and return to the
# firmware with an error; run.sh must end by itself with a non-zero status.
. "$(dirname "$0")/lib.sh"
start=$SECONDS
boot novmx qemu-tcg "guest = testos.elf"
check_log '^hv: error: VMX is not available: CPUID.1:ECX.VMX\[bit 5\] = 0' "no-VMX message in words" novmx
check_log '^tinyhv: hv: error: VMX is not available' "message also on the firmware console" novmx
check_log '^hv: error: fatal: cannot run guests without VMX; returning to the firmware \(EFI status 0x8000000000000003\)' \
  "returns EFI_UNSUPPORTED to the firmware" novmx
# ACPI is parsed before the VMX check, so QEMU's tables show up here.
check_log '^hv: ACPI: .*MADT: LAPIC base 0xfee00000' "ACPI MADT parsed: LAPIC base" novmx
check_log '^hv: ACPI: IOAPIC id [0-9]+ at 0xfec00000, GSI base 0$' "ACPI MADT parsed: IOAPIC" novmx
check_log '^hv: ACPI: interrupt source override: ISA IRQ 0 -> GSI 2' "ACPI MADT parsed: IRQ 0 override" novmx
[ $RC = 1 ]; ok $? "run.sh returns 1" "rc=$RC"
[ $((SECONDS - start)) -lt 60 ]; ok $? "ends within 60 s" "took $((SECONDS - start)) s"
done_testing
