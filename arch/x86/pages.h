/* A pool of 4 KiB pages reserved from the firmware before ExitBootServices:
 * page tables, VMX regions, bitmaps, EPT and stacks all come from here. */
#ifndef ARCH_X86_PAGES_H
#define ARCH_X86_PAGES_H

#include <stdint.h>

#define PAGE_SIZE 4096ull

void pages_init(uint64_t base, uint64_t count);
/* A zeroed, page-aligned page (identity-mapped: address == pointer), or 0
 * when the pool is empty. */
void *page_alloc(void);
/* Gives a page from page_alloc back to the pool. */
void page_release(void *p);
/* n contiguous zeroed pages, or 0. */
void *pages_alloc(uint64_t n);
uint64_t pages_free(void);

#endif
