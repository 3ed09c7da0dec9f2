#!/usr/bin/env bash
# "bare = on": the hypervisor's loader hands the guest the machine without
# VMX (the baseline of `make bench`). The bench group must run and end the
# emulator by itself; the Bochs patches the bare machine relies on hold
# (bug G: an APIC globally disabled can be enabled again); a guest RAM
# the firmware holds is refused in words; and a kernel
# written elsewhere, kvm-unit-tests' vmexit, runs there: at 4 MiB, where
# OVMF keeps boot-services memory until ExitBootServices (the loader claims
# the range and checks the final memory map), with ACPI tables the loader
# builds for this machine (OVMF in Bochs has none), its PM timer found
# through the FADT.
. "$(dirname "$0")/lib.sh"
boot bare bochs "guest = testos.elf
cmdline = bench ram_mb=32
ram_mb = 32
bare = on"
check_log '^hv: bare: jumping to the guest at 0x[0-9a-f]+ without VMX$' "the loader jumps to the guest without VMX" bare
! log_has '^vmx: VMXON done'; ok $? "VMX was never turned on"
check_log '^ok 1 - bench: 1000 LAPIC timer interrupts at 1 kHz$' "the guest drives the real LAPIC timer" bare
check_log '^ok 2 - bench: TSC-deadline to ISR latency, 200 samples$' "TSC deadlines on the real LAPIC: plausible latencies" bare
check_log '^ok 3 - bench: 1000 CPUID round trips$' "native CPUID round trips in a plausible range" bare
check_log '^# bench cpuid_ticks=[0-9]+$' "the guest measures CPUID natively" bare
check_log '^# bare run ended, status 0$' "the guest ends the run itself with status 0" bare
[ $RC = 0 ]; ok $? "run.sh returns 0" "rc=$RC"

# Bochs 3.0 bug G (scripts/bochs-patches/05-apicbase-reenable.sh), on the
# machine itself: without the patch the APIC stays off after EN=0.
boot bare-apicbase bochs "guest = testos.elf
cmdline = lapic only=IA32_APIC_BASE ram_mb=32
ram_mb = 32
bare = on"
check_log '^ok 1 - lapic: IA32_APIC_BASE: global disable, then enable again$' \
  "the machine's APIC comes back after a global disable (Bochs bug G patched)" bare-apicbase
check_log '^# bare run ended, status 0$' "the lapic case ends the run with status 0" bare-apicbase

# A guest RAM the firmware holds (Bochs has 256 MiB; OVMF's runtime and
# ACPI memory sit near its top): refused before anything is loaded, with
# the address and the kind of memory in the way.
boot bare-toobig bochs "guest = testos.elf
cmdline = bench
ram_mb = 250
bare = on"
check_log '^hv: error: bare = on: guest-physical 0x[0-9a-f]+-0x[0-9a-f]+ is [a-zA-Z ]+ memory; a bare guest needs 0x7000-0xffff and 1 MiB to its ram_mb \(0xfa00000\) free \(try a smaller ram_mb\)$' \
  "a guest RAM the firmware holds: refused, naming the range and its memory type" bare-toobig
check_log "^hv: error: fatal: bare = on: the guest's physical addresses are not free; returning to the firmware" \
  "the loader returns to the firmware" bare-toobig
! log_has '^hv: exiting boot services'; ok $? "boot services were never left"
[ $RC = 1 ]; ok $? "run.sh returns 1" "rc=$RC"

kutdir=$("$ROOT/scripts/kut-build.sh") || { echo "Bail out! kvm-unit-tests did not build"; exit 1; }
printf 'NR_CPUS=1\nMEMSIZE=64\n' > "$BUILD/scenarios/bare-kut-env"
boot bare-kut bochs "guest = vmexit.flat
cmdline = vmexit.flat inl_from_pmtimer
ram_mb = 64
module = kut-env
bare = on" "$kutdir/x86/vmexit.flat:vmexit.flat" "$BUILD/scenarios/bare-kut-env:kut-env"
check_log '^hv: bare = on: the guest will run without VMX at its own physical addresses \(0x7000-0xffff, 0x100000-0x3ffffff claimed\)$' \
  "the loader claims the guest's physical RAM from the firmware" bare-kut
check_log "^hv: bare = on: the firmware has no ACPI tables; built for this machine: IOAPIC id [0-9]+ \([0-9]+ pins\), PM block at 0xb000, " \
  "ACPI tables built for the machine, with the PIIX4's PM block" bare-kut
check_log '^hv: bare: the guest.s RSDP is at 0xe0000$' "the BIOS area made writable for the RSDP" bare-kut
check_log '^smp: waiting for 0 APs$' "kvm-unit-tests starts (its APIC reset survives: Bochs bug G patched)" bare-kut
check_log '^PM timer port is b008$' "kvm-unit-tests finds the chipset's PM timer through the FADT" bare-kut
check_log '^inl_from_pmtimer [0-9]+$' "vmexit inl_from_pmtimer runs on the bare machine (its pmu_init survives: Bochs bug H patched)" bare-kut
! log_has 'Unhandled exception'; ok $? "no unhandled exception in the guest"
[ $RC = 3 ]; ok $? "the guest powers Bochs off itself (run.sh status 3: no hypervisor, so no final line)" "rc=$RC"
done_testing
