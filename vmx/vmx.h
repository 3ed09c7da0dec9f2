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

/* How the guest starts: 32-bit protected mode, paging off, IF=0, flat
 * 4 GiB segments, at eip with these registers (all others 0). Multiboot:
 * EAX = magic, EBX = information structure, selectors 0x08/0x10 and no GDT.
 * Linux's 32-bit boot protocol: ESI = zero page, __BOOT_CS 0x10 and
 * __BOOT_DS 0x18 from a GDT the loader wrote into guest RAM. */
struct guest_start {
    uint32_t eip, eax, ebx, esi;
    uint16_t cs, ds;
    uint32_t gdt_base;
    uint16_t gdt_limit;
};

/* Builds the VMCS for vm's vCPU: controls, host state, and the guest as
 * `start` says. Returns 0, or -1 with the reason. */
int vmcs_setup(struct vm *vm, const struct guest_start *start, char *err, size_t errlen);

/* vmx_entry.asm: loads the guest registers and executes VMLAUNCH (resume=0)
 * or VMRESUME. Returns 0 after a VM exit, or a vmx_result on VMfail. */
int vmx_enter(struct guest_regs *regs, int resume);
extern char vmx_exit_point[];

#endif
