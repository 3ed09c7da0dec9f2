#include "pages.h"

#include <string.h>

static uint64_t pool_next, pool_end;
/* Single pages given back (page_release), each holding the address of the
 * next: page_alloc takes these first. */
static void *released;
static uint64_t nreleased;

void pages_init(uint64_t base, uint64_t count)
{
    pool_next = base;
    pool_end = base + count * PAGE_SIZE;
}

void *pages_alloc(uint64_t n)
{
    if (n == 0 || pool_end - pool_next < n * PAGE_SIZE)
        return 0;
    void *p = (void *)(uintptr_t)pool_next;
    pool_next += n * PAGE_SIZE;
    memset(p, 0, n * PAGE_SIZE);
    return p;
}

void *page_alloc(void)
{
    if (!released)
        return pages_alloc(1);
    void *p = released;
    released = *(void **)p;
    nreleased--;
    memset(p, 0, PAGE_SIZE);
    return p;
}

void page_release(void *p)
{
    *(void **)p = released;
    released = p;
    nreleased++;
}

uint64_t pages_free(void) { return (pool_end - pool_next) / PAGE_SIZE + nreleased; }
