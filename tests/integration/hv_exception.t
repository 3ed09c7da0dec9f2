#!/usr/bin/env bash
# A fault in the hypervisor itself (hv_selftest = exception: UD2 after it
# took the machine) must print a register dump and power the machine off.
. "$(dirname "$0")/lib.sh"
boot hvfault bochs "guest = testos.elf
hv_selftest = exception"
check_log '^hv: error: hypervisor exception: vector 6, invalid opcode \(#UD\), error code 0x0$' "vector named in words" hvfault
check_log '^hv: error:   RIP=[0-9a-f]{16} CS=0008 RFLAGS=' "RIP, CS and RFLAGS dumped" hvfault
check_log '^hv: error:   RAX=1234567890abcdef ' "general registers dumped (RAX as set before the fault)" hvfault
check_log '^hv: error:   CR0=[0-9a-f]+ CR2=[0-9a-f]+ CR3=[0-9a-f]+ CR4=' "control registers dumped" hvfault
check_log '^hv: error: fatal: hypervisor exception; powering off$' "the machine is powered off" hvfault
[ $RC = 1 ]; ok $? "run ends by itself, non-zero" "rc=$RC"
done_testing
