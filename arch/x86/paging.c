#include "paging.h"

#include "cpu.h"
#include "pages.h"

#define PTE_P      (1ull << 0)
#define PTE_W      (1ull << 1)
#define PTE_PS     (1ull << 7)
#define GiB        (1ull << 30)
#define MAX_TOP_2M (64 * GiB) /* 64 page directories */

uint64_t paging_build_identity(uint64_t top)
{
    struct cpuid_regs r;
    uint64_t *pml4 = page_alloc(), *pdpt = page_alloc();

    if (!pml4 || !pdpt)
        return 0;
    pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W;

    cpuid(0x80000000, 0, &r);
    int has_1g = 0;
    if (r.eax >= 0x80000001) {
        cpuid(0x80000001, 0, &r);
        has_1g = (r.edx >> 26) & 1;
    }
    if (top < 4 * GiB)
        top = 4 * GiB;

    if (has_1g) {
        for (uint64_t i = 0; i < 512; i++)
            pdpt[i] = i * GiB | PTE_P | PTE_W | PTE_PS;
        return (uint64_t)(uintptr_t)pml4;
    }
    if (top > MAX_TOP_2M)
        top = MAX_TOP_2M;
    for (uint64_t g = 0; g < (top + GiB - 1) / GiB; g++) {
        uint64_t *pd = page_alloc();
        if (!pd)
            return 0;
        for (uint64_t i = 0; i < 512; i++)
            pd[i] = (g * GiB + i * (2ull << 20)) | PTE_P | PTE_W | PTE_PS;
        pdpt[g] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_W;
    }
    return (uint64_t)(uintptr_t)pml4;
}
