/* The hypervisor's own page tables: an identity map of physical memory. */
#ifndef ARCH_X86_PAGING_H
#define ARCH_X86_PAGING_H

#include <stdint.h>

/* Builds an identity map covering [0, top) (at least 4 GiB, for the APIC and
 * other MMIO) with 1 GiB pages where the CPU has them, 2 MiB pages otherwise.
 * Returns the new CR3, or 0 if the page pool ran out. */
uint64_t paging_build_identity(uint64_t top);

#endif
