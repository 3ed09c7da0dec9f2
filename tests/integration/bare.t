#!/usr/bin/env bash
# "bare = on": the hypervisor's loader hands testos the machine without VMX
# (the baseline of `make bench`). The bench group must run and end the
# emulator by itself.
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
done_testing
