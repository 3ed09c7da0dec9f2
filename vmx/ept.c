#include "ept.h"

#include "../arch/x86/pages.h"

#define EPT_R (1ull << 0)
#define EPT_W (1ull << 1)
#define EPT_X (1ull << 2)
#define EPT_MT_WB (6ull << 3)
#define EPT_IGNORE_PAT (1ull << 6)
#define EPT_LARGE (1ull << 7)
#define EPTP_WB 6ull
#define EPTP_WALK4 (3ull << 3)
#define MiB2 (2ull << 20)
#define GiB (1ull << 30)

uint64_t ept_build(uint64_t host_base, uint64_t size)
{
    uint64_t *pml4 = page_alloc(), *pdpt = page_alloc();
    if (!pml4 || !pdpt)
        return 0;
    pml4[0] = (uint64_t)(uintptr_t)pdpt | EPT_R | EPT_W | EPT_X;

    for (uint64_t gpa = 0; gpa < size; gpa += MiB2) {
        uint64_t gi = gpa / GiB;
        if (!pdpt[gi]) {
            uint64_t *pd = page_alloc();
            if (!pd)
                return 0;
            pdpt[gi] = (uint64_t)(uintptr_t)pd | EPT_R | EPT_W | EPT_X;
        }
        uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[gi] & ~0xfffull);
        pd[(gpa % GiB) / MiB2] = (host_base + gpa) | EPT_R | EPT_W | EPT_X | EPT_MT_WB |
                                  EPT_IGNORE_PAT | EPT_LARGE;
    }
    return (uint64_t)(uintptr_t)pml4 | EPTP_WALK4 | EPTP_WB;
}
