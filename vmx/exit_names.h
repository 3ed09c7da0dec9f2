/* Names, in words, for VM-exit reasons, VM-instruction errors and
 * VM-entry failure qualifications (SDM Vol. 3 Appendix C and §31.4), and
 * which exit reasons a VM's controls make impossible. Pure C (host-tested). */
#ifndef VMX_EXIT_NAMES_H
#define VMX_EXIT_NAMES_H

#include <stdint.h>

enum exit_reason {
    EXIT_EXCEPTION_NMI = 0,
    EXIT_EXTERNAL_INTERRUPT = 1,
    EXIT_TRIPLE_FAULT = 2,
    EXIT_INIT = 3,
    EXIT_SIPI = 4,
    EXIT_INTERRUPT_WINDOW = 7,
    EXIT_NMI_WINDOW = 8,
    EXIT_TASK_SWITCH = 9,
    EXIT_CPUID = 10,
    EXIT_HLT = 12,
    EXIT_INVD = 13,
    EXIT_VMCALL = 18,
    EXIT_CR_ACCESS = 28,
    EXIT_IO = 30,
    EXIT_RDMSR = 31,
    EXIT_WRMSR = 32,
    EXIT_INVALID_GUEST_STATE = 33,
    EXIT_MSR_LOADING = 34,
    EXIT_MACHINE_CHECK = 41,
    EXIT_EPT_VIOLATION = 48,
    EXIT_EPT_MISCONFIG = 49,
    EXIT_PREEMPTION_TIMER = 52,
    EXIT_APIC_ACCESS = 44,
    EXIT_VIRTUALIZED_EOI = 45,
    EXIT_XSETBV = 55,
    EXIT_APIC_WRITE = 56,
    EXIT_VMCLEAR = 19,
    EXIT_VMLAUNCH = 20,
    EXIT_VMPTRLD = 21,
    EXIT_VMPTRST = 22,
    EXIT_VMREAD = 23,
    EXIT_VMRESUME = 24,
    EXIT_VMWRITE = 25,
    EXIT_VMXOFF = 26,
    EXIT_VMXON = 27,
    EXIT_INVEPT = 50,
    EXIT_INVVPID = 53,
    EXIT_WBINVD = 54,
    EXIT_VMFUNC = 59,
    EXIT_TPR_BELOW_THRESHOLD = 43,
};

const char *exit_reason_name(uint32_t reason);
const char *vm_instruction_error_name(uint32_t error);
const char *entry_failure_qualification_name(uint64_t qual);

/* Why a VM running with these pin-based, primary and secondary
 * processor-based controls can never get this exit reason ("RDTSC exiting
 * is off"), or 0 when it can: then the hypervisor must have a handler for
 * it. Covers every reason of the SDM; a number the SDM does not define is
 * impossible too. */
const char *exit_reason_impossible(uint32_t reason, uint32_t pin, uint32_t proc, uint32_t proc2);

/* With APIC-register virtualization and virtual-interrupt delivery, is a
 * guest write to this xAPIC register (offset in the APIC page, 16-byte
 * aligned) stored in the virtual-APIC page and followed by an APIC-write
 * exit (SDM Vol. 3 §30.4.3.2; in x2APIC mode, §30.5, a SELF IPI write
 * with an illegal vector)? TPR and EOI are virtualized without one when
 * written at their own offset, not at their other bytes; the read-only
 * registers give APIC-access exits instead. */
int apic_write_exits(unsigned offset);

#endif
