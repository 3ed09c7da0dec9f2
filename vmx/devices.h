/* Physical devices whose input the guest owns: COM1's receive side. */
#ifndef VMX_DEVICES_H
#define VMX_DEVICES_H

#include "vm.h"

#define HOST_VECTOR_COM1 0x44 /* the physical IOAPIC sends COM1's IRQ 4 here */
#define HOST_VECTOR_TEST 0x45 /* HC_TEST_PHYS_INTR's physical self-IPI */

/* Routes physical COM1 receive interrupts to the hypervisor (ISA IRQ 4,
 * through the MADT's override when there is one). */
void vm_devices_init(struct vm *vm, uint64_t ioapic_base, unsigned com1_gsi);
/* Moves bytes waiting in the physical UART into the guest's virtual one. */
void vm_poll_devices(struct vm *vm);
/* Could a device still wake a halted guest (the guest waits for input)? */
int vm_can_receive(const struct vm *vm);
/* A physical interrupt acknowledged on a VM exit. */
void vm_physical_interrupt(struct vm *vm, uint8_t vector);

#endif
