/* Emulating guest MMIO to trapped pages (the vIOAPIC window): fetch the
 * faulting instruction from guest memory, decode it, do the access on the
 * model, write back the register, advance RIP. Two pages trap: the vIOAPIC
 * window and, in xAPIC mode, the vLAPIC page at IA32_APIC_BASE. */
#ifndef VMX_MMIO_H
#define VMX_MMIO_H

#include <stdint.h>

#include "vm.h"

/* Called on an EPT violation at gpa. Returns 1 if gpa belongs to an
 * emulated device (the access was emulated, or the VM was stopped with the
 * reason), 0 if no device claims it. */
int mmio_handle(struct vm *vm, uint64_t gpa, uint64_t qualification);
/* For gpa at the start of a page: the name of the device whose page ends
 * just before it ("LAPIC", "IOAPIC"), else 0. */
const char *mmio_page_before(const struct vm *vm, uint64_t gpa);

#endif
