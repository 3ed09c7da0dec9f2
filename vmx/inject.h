/* Event injection and the hypervisor's side of the interrupt chipset. */
#ifndef VMX_INJECT_H
#define VMX_INJECT_H

#include "../arch/x86/cpu.h"
#include "vm.h"

/* Connects vm->irq to this vCPU (time, deliveries, trace) and creates the
 * models. */
void vm_irq_init(struct vm *vm, uint64_t ioapic_base);
/* Once before every VM entry, with host interrupts off: brings virtual
 * timers up to date, injects the highest-priority pending event if the
 * guest can take it, else asks for an interrupt-window exit, and arms the
 * VMX-preemption timer for the next virtual deadline. */
void vm_prepare_entry(struct vm *vm);
/* The last step of vm_prepare_entry alone, for an entry that owes no
 * other work: the host timer for the next virtual deadline. */
void vm_arm_host_timer(struct vm *vm);
/* How early the host timer fires for a deadline: the timer advance for
 * the vLAPIC's (inject.c, timer_advance_adjust), none for the others. */
static inline uint64_t vm_deadline_early(const struct vcpu *v, uint64_t deadline)
{
    return deadline && deadline == v->lapic_deadline ? v->timer_advance : 0;
}
/* Is the next virtual deadline due (passed, or within the timer advance)? */
static inline int vm_deadline_due(const struct vm *vm)
{
    const struct vcpu *v = &vm->vcpu;
    return v->timer_deadline && rdtsc() + vm_deadline_early(v, v->timer_deadline) >= v->timer_deadline;
}
/* Queues a hardware exception for the next entry. Behind a queued
 * exception it combines as the CPU does (#DF, or a triple fault that
 * stops the VM); behind an interrupted event being re-delivered it is
 * dropped (that goes first, and ours recurs when the instruction restarts). */
void vcpu_queue_exception(struct vcpu *v, unsigned vector, int has_error, uint32_t error);

/* Is an external interrupt (or an NMI) waiting for the vCPU? */
int vm_intr_pending(const struct vm *vm);
int vm_nmi_pending(const struct vm *vm);
/* Brings virtual timers up to date; returns the next deadline (TSC) or 0. */
uint64_t vm_update_timers(struct vm *vm);
/* Can an armed virtual timer still interrupt the vCPU (the vPIT with a
 * route of IRQ 0 unmasked, the vLAPIC timer with its LVT unmasked)? A
 * timer counting behind its masks cannot wake a halted guest. */
int vm_timer_can_wake(const struct vm *vm);
/* With `trace = on`: times one traced event, then dumps the trace ring on
 * port 0xE9 and says on the log how many events it kept and dropped. */
void vm_trace_dump(struct vm *vm);

#endif
