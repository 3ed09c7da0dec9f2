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
# A condition that must not happen (VM_BUG_ON; hv_selftest = vm_bug fails
# one at the first exit): the VM stops with the condition and its place
# named and a register dump; the hypervisor lives on and ends the run.
boot vmbug bochs "guest = testos.elf
cmdline = base ram_mb=32
ram_mb = 32
hv_selftest = vm_bug"
check_log '^vmx: error: hypervisor bug: VM_BUG_ON\(vm->selftest_vm_bug\) at vmx/run\.c:[0-9]+$' "the condition and its place named" vmbug
check_log '^vmx: error:   guest RIP=[0-9a-f]{16} RSP=' "the guest's registers dumped" vmbug
check_log '^hv: guest stopped: hypervisor bug: vm->selftest_vm_bug \(vmx/run\.c:[0-9]+\)' "the VM stops with that reason" vmbug
check_log '^hv: exit statistics' "the hypervisor lives on (prints its statistics after the stop)" vmbug
! log_has '^hv: error: fatal'; ok $? "no fatal error" "see $TAPDIR/vmbug.log"
done_testing
