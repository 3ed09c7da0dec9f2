/* The physical IOAPIC: routing the lines the hypervisor owns. */
#ifndef ARCH_X86_IOAPIC_H
#define ARCH_X86_IOAPIC_H

#include <stdint.h>

/* Programs pin `pin` of the IOAPIC at `base`: vector, edge-triggered,
 * active high, fixed delivery to the local APIC `dest` (physical mode),
 * unmasked. */
void ioapic_route(uint64_t base, unsigned pin, uint8_t vector, uint8_t dest);

#endif
