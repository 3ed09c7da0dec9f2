/* Hardware task switches: VM exit 9, emulated as the CPU does them. */
#ifndef VMX_TASK_SWITCH_H
#define VMX_TASK_SWITCH_H

#include "vm.h"

/* Handles a task-switch exit: a far CALL or JMP to a TSS or task gate,
 * an IRET with EFLAGS.NT set, or an event delivered through a task gate
 * in the IDT. Such an event is delivered by the switch itself (its error
 * code pushed on the new task's stack), so the run loop must not re-inject
 * the exit's IDT-vectoring information. A fault the switch raises is
 * queued with vcpu_queue_exception; what is not emulated (16-bit TSSs,
 * virtual-8086 tasks) stops the VM with the reason. */
void vm_task_switch(struct vm *vm);

#endif
