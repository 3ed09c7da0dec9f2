#!/usr/bin/env bash
# Boots the hypervisor in Bochs with VMX and runs testos group "base".
. "$(dirname "$0")/lib.sh"
boot base bochs "guest = testos.elf
cmdline = base ram_mb=32
ram_mb = 32"
guest_tap base
relay_guest_tap base
check_log '^hv: guest exited status=0$' "run ends with 'hv: guest exited status=0'" base
check_log '^hv: +CPUID +[0-9]+ ' "exit statistics list CPUID exits" base
check_log '^vmx: VMCS ready: ' "VMCS built from the capability MSRs" base
check_log '^vmx: warning: guest RDMSR 0xbeef: unknown MSR; injecting #GP' "unknown MSR logged" base
check_no_vmfail
[ $RC = 0 ]; ok $? "run.sh returns 0 for a passing guest" "rc=$RC"
done_testing
