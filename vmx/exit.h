/* VM-exit handling and the run loop of one vCPU. */
#ifndef VMX_EXIT_H
#define VMX_EXIT_H

#include "../arch/x86/regs.h"
#include "event.h"
#include "vm.h"
#include "vmcs.h"

/* The guest instruction at RIP is done, emulated or skipped by the
 * hypervisor: RIP moves to next_rip; an STI or MOV-SS interrupt shadow
 * ends (it covers one instruction); and with RFLAGS.TF set, the
 * single-step trap the CPU would have raised after it becomes pending (BS
 * in the pending debug exceptions, delivered by the VM entry, SDM Vol. 3
 * §27.7.3), as for an instruction the guest ran itself. */
static inline void vcpu_instruction_done(uint64_t next_rip)
{
    vmwrite(GUEST_RIP, next_rip);
    uint64_t intr = vmread(GUEST_INTERRUPTIBILITY);
    if (intr & INTERRUPTIBILITY_STI_MOVSS)
        vmwrite(GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)INTERRUPTIBILITY_STI_MOVSS);
    if (vmread(GUEST_RFLAGS) & RFLAGS_TF)
        vmwrite(GUEST_PENDING_DBG, vmread(GUEST_PENDING_DBG) | PENDING_DBG_BS);
}

#define TINYHV_VERSION     0x000100u /* 0.1.0, returned by the version hypercall */
#define HC_VERSION         0         /* VMCALL with EAX = 0: EAX <- TINYHV_VERSION */
/* Test hypercalls, used by testos's "inject" group. They answer only with
 * `test_hooks = on` in the config (otherwise they are unknown hypercalls),
 * and only affect the calling guest's own RAM:
 *  HC_TEST_UNMAP (EBX = gpa): unmap the 2 MiB page of guest RAM holding gpa
 *    until the guest next touches it (then it is mapped back); with ECX =
 *    HC_TEST_UNMAP_NMI an NMI arrives at that touch's exit as well;
 *  HC_TEST_REINJECTED: EAX <- how many events were re-injected because an
 *    exit interrupted their delivery;
 *  HC_TEST_PHYS_INTR (EBX != 0): the hypervisor sends itself a physical
 *    interrupt (self-IPI, HOST_VECTOR_TEST), pending from the next VM entry
 *    on, where it must cause an external-interrupt exit whatever the
 *    guest's IF; EAX <- how many of those exits there were before (EBX = 0
 *    only counts). */
#define HC_TEST_UNMAP      1
#define HC_TEST_UNMAP_NMI  0x21494d4eu /* "NMI!" */
#define HC_TEST_REINJECTED 2
/* Benchmark hypercalls (test hooks too): HC_STATS_RESET zeroes the exit statistics;
 * HC_STATS_PRINT (EBX = a label number) prints them as "hv: stats <label>"
 * lines, so a guest can measure one phase of its run. */
#define HC_STATS_RESET     3
#define HC_STATS_PRINT     4
#define HC_TEST_PHYS_INTR  7
static inline int hc_is_test_hook(uint64_t nr)
{
    return (nr >= HC_TEST_UNMAP && nr <= HC_STATS_PRINT) || nr == HC_TEST_PHYS_INTR;
}
/* Observation hypercalls (always answered; they change nothing):
 *  HC_IRQ_STAMP: EAX <- VM exits so far (low 32 bits; this VMCALL not yet
 *    counted), EBX <- guest TSC (low 32 bits) of the last source event (a
 *    line raised through irq_set, or the vLAPIC timer expiring), ECX <- its
 *    GSI (IRQ_SOURCE_LAPIC_TIMER for the vLAPIC timer), EDX <- how the last
 *    interrupt went to the guest: its vector | HC_DELIVERED_INJECTED (event
 *    injection at VM entry) or HC_DELIVERED_VID (virtual-interrupt delivery,
 *    RVI) << 8. testos's tour group measures exits and latency with it.
 *  HC_TRACE_MARK: EBX = kind << 8 | argument, ECX = the guest's TSC (low 32
 *    bits): a guest mark in the interrupt trace (TRACE_GUEST_MARK; kinds 1
 *    ISR entry, 2 EOI done, 3 and 4 a phase's begin and end, 5 hello); EAX
 *    <- 0 when `trace = on` records it, 1 otherwise. */
#define HC_IRQ_STAMP          5
#define HC_TRACE_MARK         6
#define HC_DELIVERED_INJECTED 1
#define HC_DELIVERED_VID      2
#define KVM_HC_SEND_IPI       10 /* KVM's PV IPI hypercall (one vCPU: APIC ID 0) */
#define HC_UNKNOWN_RESULT     ((uint64_t)-1)
#define DEBUG_EXIT_PORT       0xF4   /* QEMU's isa-debug-exit convention */
#define TESTDEV_SCRATCH_PORT  0xE0   /* QEMU's pc-testdev: a read-back register */
#define TESTDEV_IRQ_PORT      0x2000 /* pc-testdev: port 0x2000 + n drives interrupt line n */

/* Runs the guest until it exits through the debug-exit port or is stopped. */
void vm_run(struct vm *vm);
/* Handles one VM exit (exit.c). */
void vm_handle_exit(struct vm *vm, uint32_t reason);
/* A CPUID exit: the guest's answer into its registers, RIP past CPUID. */
void vm_handle_cpuid(struct vm *vm);
/* Called by the exit stub (vmx_entry.asm) with the guest's registers
 * saved: 1 when it completed the exit and the guest resumes at once. */
int vm_exit_fast(struct guest_regs *regs);
/* 0 if every exit reason these controls allow has a handler; else -1 with
 * the first one missing in err (VMCS setup refuses to start the VM). */
int vm_check_exit_handlers(uint32_t pin, uint32_t proc, uint32_t proc2, char *err, size_t errlen);
/* Stops the VM with a reason (printed in the final status line). */
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the per-exit-reason statistics table. */
void vm_print_stats(const struct vm *vm);
/* One line per exit reason, "hv: stats <label> <reason number> <count> <ticks>",
 * for scripts. */
void vm_print_stats_lines(const struct vm *vm, unsigned label);
/* The CR4 bits this guest may set (the CPU's, less those of features its
 * CPUID hides); the rest are owned by the hypervisor and refused with #GP. */
uint64_t vm_guest_cr4_allowed(struct vm *vm);
/* The EFER bits this guest may set (those of the features its CPUID shows). */
uint64_t vm_guest_efer_allowed(struct vm *vm);
/* Prints the guest's registers and key VMCS state. */
void vm_dump_guest(const struct vm *vm);

/* A condition that must not happen (a hypervisor bug): the VM stops with
 * the condition and its place named and the guest's registers dumped; the
 * hypervisor lives on, ends the run as after any stop and powers off. */
#define VM_BUG_ON(vm, cond)                          \
    do {                                             \
        if (__builtin_expect(!!(cond), 0))           \
            vm_bug((vm), #cond, __FILE__, __LINE__); \
    } while (0)
void vm_bug(struct vm *vm, const char *cond, const char *file, int line);

#endif
