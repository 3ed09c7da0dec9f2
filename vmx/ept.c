#include "ept.h"

#include "../arch/x86/pages.h"

#define EPT_R          (1ull << 0)
#define EPT_W          (1ull << 1)
#define EPT_X          (1ull << 2)
#define EPT_MT_WB      (6ull << 3)
#define EPT_IGNORE_PAT (1ull << 6)
#define EPT_LARGE      (1ull << 7)
#define EPTP_WB        6ull
#define EPTP_WALK4     (3ull << 3)
#define MiB2           (2ull << 20)
#define GiB            (1ull << 30)

static void invept_all(uint64_t eptp)
{
    struct {
        uint64_t eptp, zero;
    } desc = { eptp, 0 };
    uint64_t type = 1; /* single context; every Bochs and VT-x CPU with EPT has it */
    __asm__ volatile("invept %0, %1" ::"m"(desc), "r"(type) : "cc", "memory");
}

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
        pd[(gpa % GiB) / MiB2] = (host_base + gpa) | EPT_R | EPT_W | EPT_X | EPT_MT_WB | EPT_IGNORE_PAT |
                                 EPT_LARGE;
    }
    return (uint64_t)(uintptr_t)pml4 | EPTP_WALK4 | EPTP_WB;
}

int ept_set_present(uint64_t eptp, uint64_t gpa, int present)
{
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(eptp & ~0xfffull);
    if (gpa >= 512 * GiB || !(pml4[0] & EPT_R))
        return -1;
    uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull);
    if (!pdpt[gpa / GiB])
        return -1;
    uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[gpa / GiB] & ~0xfffull);
    uint64_t *e = &pd[(gpa % GiB) / MiB2];
    if (!(*e & EPT_LARGE))
        return -1;
    if (present)
        *e |= EPT_R | EPT_W | EPT_X;
    else
        *e &= ~(EPT_R | EPT_W | EPT_X);
    invept_all(eptp);
    return 0;
}

int ept_map_page(uint64_t eptp, uint64_t gpa, uint64_t hpa)
{
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(eptp & ~0xfffull);
    if (gpa >= 512 * GiB)
        return -1;
    uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull);
    if (!pdpt[gpa / GiB]) {
        uint64_t *pd = page_alloc();
        if (!pd)
            return -1;
        pdpt[gpa / GiB] = (uint64_t)(uintptr_t)pd | EPT_R | EPT_W | EPT_X;
    }
    uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[gpa / GiB] & ~0xfffull);
    uint64_t *pde = &pd[(gpa % GiB) / MiB2];
    if (*pde & EPT_LARGE)
        return -1;
    if (!*pde) {
        uint64_t *pt = page_alloc();
        if (!pt)
            return -1;
        *pde = (uint64_t)(uintptr_t)pt | EPT_R | EPT_W | EPT_X;
    }
    uint64_t *pt = (uint64_t *)(uintptr_t)(*pde & ~0xfffull);
    pt[(gpa >> 12) & 511] = (hpa & ~0xfffull) | EPT_R | EPT_W | EPT_MT_WB | EPT_IGNORE_PAT;
    invept_all(eptp);
    return 0;
}

static int table_empty(const uint64_t *t)
{
    for (unsigned i = 0; i < 512; i++)
        if (t[i])
            return 0;
    return 1;
}

void ept_unmap_page(uint64_t eptp, uint64_t gpa)
{
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(eptp & ~0xfffull);
    uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull);
    if (gpa >= 512 * GiB || !pdpt[gpa / GiB])
        return;
    uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[gpa / GiB] & ~0xfffull);
    uint64_t *pde = &pd[(gpa % GiB) / MiB2];
    if (!*pde || (*pde & EPT_LARGE))
        return;
    uint64_t *pt = (uint64_t *)(uintptr_t)(*pde & ~0xfffull);
    pt[(gpa >> 12) & 511] = 0;
    /* The tables that only this page needed go back to the pool (a guest
     * moving its APIC base around would otherwise drain it). Tables that
     * map guest RAM always hold a 2 MiB entry, so they stay. */
    uint64_t *freed_pt = 0, *freed_pd = 0;
    if (table_empty(pt)) {
        *pde = 0;
        freed_pt = pt;
        if (table_empty(pd)) {
            pdpt[gpa / GiB] = 0;
            freed_pd = pd;
        }
    }
    invept_all(eptp);
    /* Only after INVEPT: no cached walk may still lead through them. */
    if (freed_pt)
        page_release(freed_pt);
    if (freed_pd)
        page_release(freed_pd);
}
