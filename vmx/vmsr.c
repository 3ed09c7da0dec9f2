/* The MSRs of vmsr.h, from the Intel SDM Vol. 3 (11.11 MTRRs, 11.12 PAT,
 * 15.3.1 machine-check globals) and Vol. 4 (IA32_MISC_ENABLE). */
#include "vmsr.h"

#include <string.h>

#define MSR_MCG_CAP           0x179u
#define MSR_MCG_STATUS        0x17Au
#define MSR_MISC_ENABLE       0x1A0u
#define MSR_MTRRCAP           0xFEu
#define MSR_MTRR_VAR_FIRST    0x200u
#define MSR_MTRR_FIX64K       0x250u
#define MSR_MTRR_FIX16K_80000 0x258u
#define MSR_MTRR_FIX16K_A0000 0x259u
#define MSR_MTRR_FIX4K_FIRST  0x268u
#define MSR_MTRR_FIX4K_LAST   0x26Fu
#define MSR_PAT               0x277u
#define MSR_MTRR_DEF_TYPE     0x2FFu

/* MTRRcap: VCNT variable ranges, fixed ranges (bit 8), write-combining
 * (bit 10); no SMRR. */
#define MTRRCAP_VALUE (VMSR_MTRR_VARIABLE | 1u << 8 | 1u << 10)
/* IA32_MISC_ENABLE: fast strings (0, writable), automatic thermal control
 * (3), performance monitoring available (7, read-only: we have no PMU so it
 * reads 0), BTS unavailable (11) and PEBS unavailable (12), both read-only
 * 1; limit CPUID maxval (22), xTPR disable (23), XD disable (34). */
#define MISC_RO_ONE   ((1ull << 11) | (1ull << 12))
#define MISC_WRITABLE \
    ((1ull << 0) | (1ull << 3) | (1ull << 16) | (1ull << 18) | (1ull << 22) | (1ull << 23) | (1ull << 34))
#define MISC_READ_ONLY ((1ull << 7) | MISC_RO_ONE)

void vmsr_init(struct vmsr *s, unsigned maxphyaddr)
{
    memset(s, 0, sizeof(*s));
    s->pat = 0x0007040600070406ull;
    s->misc_enable = MISC_RO_ONE | 1;
    s->maxphyaddr = maxphyaddr ? maxphyaddr : 36;
}

/* A memory type byte: UC 0, WC 1, WT 4, WP 5, WB 6 (PAT also UC- 7). */
static int mtrr_type_ok(uint64_t t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }

static int pat_ok(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        uint8_t t = (uint8_t)(pat >> (8 * i));
        if (!mtrr_type_ok(t) && t != 7)
            return 0;
    }
    return 1;
}

static int fixed_index(uint32_t msr)
{
    if (msr == MSR_MTRR_FIX64K)
        return 0;
    if (msr == MSR_MTRR_FIX16K_80000)
        return 1;
    if (msr == MSR_MTRR_FIX16K_A0000)
        return 2;
    if (msr >= MSR_MTRR_FIX4K_FIRST && msr <= MSR_MTRR_FIX4K_LAST)
        return 3 + (int)(msr - MSR_MTRR_FIX4K_FIRST);
    return -1;
}

static int is_variable(uint32_t msr)
{
    return msr >= MSR_MTRR_VAR_FIRST && msr < MSR_MTRR_VAR_FIRST + 2 * VMSR_MTRR_VARIABLE;
}

int vmsr_read(const struct vmsr *s, uint32_t msr, uint64_t *val)
{
    int fixed = fixed_index(msr);
    if (fixed >= 0) {
        *val = s->mtrr_fixed[fixed];
        return VMSR_OK;
    }
    if (is_variable(msr)) {
        *val = s->mtrr_var[msr - MSR_MTRR_VAR_FIRST];
        return VMSR_OK;
    }
    switch (msr) {
    case MSR_MTRRCAP: *val = MTRRCAP_VALUE; return VMSR_OK;
    case MSR_MTRR_DEF_TYPE: *val = s->mtrr_def_type; return VMSR_OK;
    case MSR_PAT: *val = s->pat; return VMSR_OK;
    case MSR_MISC_ENABLE: *val = s->misc_enable; return VMSR_OK;
    case MSR_MCG_CAP: *val = 0; return VMSR_OK; /* no banks, no MCG_CTL */
    case MSR_MCG_STATUS: *val = s->mcg_status; return VMSR_OK;
    default: return VMSR_NOT_MINE;
    }
}

int vmsr_write(struct vmsr *s, uint32_t msr, uint64_t val)
{
    uint64_t phys_reserved = ~0ull << s->maxphyaddr;
    int fixed = fixed_index(msr);
    if (fixed >= 0) {
        for (int i = 0; i < 8; i++)
            if (!mtrr_type_ok((val >> (8 * i)) & 0xff))
                return VMSR_GP;
        s->mtrr_fixed[fixed] = val;
        return VMSR_OK;
    }
    if (is_variable(msr)) {
        unsigned i = msr - MSR_MTRR_VAR_FIRST;
        /* base: type 7:0, base 12..MAXPHYADDR-1; mask: valid bit 11, mask 12.. */
        uint64_t reserved = (i & 1) ? (phys_reserved | 0x7ffull) : (phys_reserved | 0xf00ull);
        if ((val & reserved) || (!(i & 1) && !mtrr_type_ok(val & 0xff)))
            return VMSR_GP;
        s->mtrr_var[i] = val;
        return VMSR_OK;
    }
    switch (msr) {
    case MSR_MTRR_DEF_TYPE:
        /* type 7:0, fixed enable 10, enable 11 */
        if ((val & ~0xcffull) || !mtrr_type_ok(val & 0xff))
            return VMSR_GP;
        s->mtrr_def_type = val;
        return VMSR_OK;
    case MSR_PAT:
        if (!pat_ok(val))
            return VMSR_GP;
        s->pat = val;
        return VMSR_OK;
    case MSR_MISC_ENABLE:
        if (val & ~(MISC_WRITABLE | MISC_READ_ONLY))
            return VMSR_GP;
        s->misc_enable = (val & MISC_WRITABLE) | (s->misc_enable & MISC_READ_ONLY);
        return VMSR_OK;
    case MSR_MCG_STATUS:
        if (val & ~7ull) /* RIPV, EIPV, MCIP */
            return VMSR_GP;
        s->mcg_status = val;
        return VMSR_OK;
    case MSR_MTRRCAP:
    case MSR_MCG_CAP: return VMSR_GP; /* read-only */
    default: return VMSR_NOT_MINE;
    }
}

int vmsr_claimed(uint32_t msr)
{
    uint64_t ignored;
    struct vmsr probe;
    vmsr_init(&probe, 36);
    if (vmsr_read(&probe, msr, &ignored) == VMSR_OK)
        return 1;
    /* Emulated in exit.c (VMCS fields, the TSC offset, the host's own
     * syscall MSRs) and in the vLAPIC (APIC base, TSC deadline, x2APIC). */
    static const uint32_t elsewhere[] = {
        0x10,                                           /* IA32_TSC */
        0x1B,                                           /* IA32_APIC_BASE */
        0x3A,                                           /* IA32_FEATURE_CONTROL */
        0x3B,                                           /* IA32_TSC_ADJUST */
        0x8B,                                           /* IA32_BIOS_SIGN_ID */
        0x174,      0x175,      0x176,                  /* SYSENTER */
        0x6E0,                                          /* IA32_TSC_DEADLINE */
        0xC0000080,                                     /* EFER */
        0xC0000081, 0xC0000082, 0xC0000083, 0xC0000084, /* STAR, LSTAR, CSTAR, FMASK */
        0xC0000100, 0xC0000101, 0xC0000102,             /* FS, GS, kernel GS base */
        0xC0000103,                                     /* TSC_AUX */
    };
    for (unsigned i = 0; i < sizeof(elsewhere) / sizeof(elsewhere[0]); i++)
        if (elsewhere[i] == msr)
            return 1;
    return msr >= 0x800 && msr <= 0x8FF; /* x2APIC registers (the vLAPIC decides which exist) */
}
