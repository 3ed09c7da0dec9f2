/* Turning VMX operation on, and the VMCS of one vCPU. */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"
#include "vmx_caps.h"

/* Checks CPUID.1:ECX.VMX and IA32_FEATURE_CONTROL; locks the latter with
 * "VMX outside SMX" when it is unlocked. Returns 0, or -1 with the reason. */
int vmx_check_support(char *err, size_t errlen);
void vmx_read_caps(struct vmx_caps *caps);
/* Sets CR0/CR4 for VMX and executes VMXON. Returns 0, or -1 with the reason. */
int vmx_on(const struct vmx_caps *caps, char *err, size_t errlen);

/* Builds the VMCS for vm's vCPU: controls, host state, and the guest in
 * 32-bit protected mode at `entry` with EAX/EBX as Multiboot says.
 * Returns 0, or -1 with the reason. */
int vmcs_setup(struct vm *vm, uint32_t entry, uint32_t mb_info, char *err, size_t errlen);

/* vmx_entry.asm: loads the guest registers and executes VMLAUNCH (resume=0)
 * or VMRESUME. Returns 0 after a VM exit, or a vmx_result on VMfail. */
int vmx_enter(struct guest_regs *regs, int resume);
extern char vmx_exit_point[];

#endif
