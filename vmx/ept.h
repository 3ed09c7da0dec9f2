/* Extended page tables: guest-physical [0, size) -> host memory. */
#ifndef VMX_EPT_H
#define VMX_EPT_H

#include <stdint.h>

/* Maps guest RAM (host_base must be 2 MiB aligned, size a multiple of 2 MiB,
 * below 512 GiB) with 2 MiB write-back pages. Nothing else is mapped: any
 * other guest-physical access is an EPT violation. Returns the EPT pointer
 * (4-level walk, WB), or 0 when out of pages. */
uint64_t ept_build(uint64_t host_base, uint64_t size);

/* Maps one 4 KiB guest-physical page outside guest RAM (the APIC-access
 * page) to host page hpa, read/write, write-back. Returns 0, or -1 if the
 * region is covered by a 2 MiB RAM mapping or pages ran out. */
int ept_map_page(uint64_t eptp, uint64_t gpa, uint64_t hpa);
/* Removes such a page again (accesses become EPT violations). */
void ept_unmap_page(uint64_t eptp, uint64_t gpa);

/* Makes the 2 MiB page holding gpa not-present (present = 0) or present
 * again, and flushes cached translations (INVEPT). Returns 0, or -1 if gpa
 * is not mapped guest RAM. Used by the re-injection test hypercall. */
int ept_set_present(uint64_t eptp, uint64_t gpa, int present);

#endif
