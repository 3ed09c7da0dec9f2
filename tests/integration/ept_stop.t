#!/usr/bin/env bash
# Expected stop: the guest reads guest-physical memory past its RAM; the
# hypervisor must log the EPT violation and stop the VM cleanly.
. "$(dirname "$0")/lib.sh"
boot eptstop bochs "guest = testos.elf
cmdline = eptstop ram_mb=16
ram_mb = 16"
guest_tap eptstop
check_log '^guest: # reading guest-physical 0x1001000' "guest reached the access" eptstop
check_log '^vmx: error: EPT violation: guest read at guest-physical 0x1001000, outside guest RAM \[0, 0x1000000\), RIP=0x[0-9a-f]+; stopping the VM$' \
  "EPT violation logged with the address and RIP" eptstop
check_log '^hv: guest stopped: EPT violation \(read\) at guest-physical 0x1001000' "final line says the VM stopped" eptstop
check_log '^hv: +EPT violation +1 ' "exit statistics count the EPT violation" eptstop
! log_has '^guest: not ok'; ok $? "the access did not go through"
[ $RC = 1 ]; ok $? "run.sh returns 1 for a stopped VM" "rc=$RC"
check_no_vmfail

# An MMIO instruction the decoder refuses stops the VM with the reason.
boot mmiostop bochs "guest = testos.elf
cmdline = mmiostop ram_mb=16
ram_mb = 16"
check_log '^vmx: error: MMIO at guest-physical 0xfec00000 \(IOAPIC\), RIP 0x[0-9a-f]+: cannot emulate: .*0xff.*; bytes ff 00' \
  "unsupported MMIO instruction: logged with the address, RIP, opcode and bytes" mmiostop
check_log '^hv: guest stopped: MMIO instruction not emulated at RIP 0x[0-9a-f]+ \(.*; bytes ff 00( [0-9a-f]{2})*\)$' \
  "unsupported MMIO instruction: VM stopped, the whole reason with the bytes" mmiostop
! log_has '^guest: not ok'; ok $? "the INC did not complete"
done_testing
