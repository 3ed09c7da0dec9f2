/* The guest's CPUID (see cpuid.h). Feature bits from the Intel SDM Vol. 2,
 * CPUID, tables 3-10, 3-11 and the leaf 7 and 0x80000001 listings. */
#include "cpuid.h"

#include <string.h>

#include "../arch/x86/fmt.h"
#include "../arch/x86/regs.h"

#define L1 0x1u
#define L7 0x7u
#define LX 0x80000001u

/* MSR numbers that come with features. */
#define MSR_TSC            0x10u
#define MSR_APIC_BASE      0x1Bu
#define MSR_TSC_ADJUST     0x3Bu
#define MSR_MTRRCAP        0xFEu
#define MSR_SYSENTER_CS    0x174u
#define MSR_MTRR_PHYS0     0x200u
#define MSR_MTRR_FIX64K    0x250u
#define MSR_PAT            0x277u
#define MSR_MTRR_DEF       0x2FFu
#define MSR_TSC_DEADLINE   0x6E0u
#define MSR_X2APIC_FIRST   0x800u
#define MSR_EFER           0xC0000080u
#define MSR_STAR           0xC0000081u
#define MSR_LSTAR          0xC0000082u
#define MSR_FS_BASE        0xC0000100u
#define MSR_KERNEL_GS_BASE 0xC0000102u
#define MSR_TSC_AUX        0xC0000103u

/* Every feature the guest may see. Bits the hypervisor decides itself
 * (APIC, x2APIC, TSC-deadline, hypervisor present, OSXSAVE, RDTSCP, RDPID)
 * are in the table too; cpuid_guest sets or clears them. */
const struct cpuid_feature cpuid_features[] = {
    /* leaf 1 EDX */
    { L1, 0, CPUID_EDX, 0, "fpu", { 0 } },
    { L1, 0, CPUID_EDX, 1, "vme", { 0 } },
    { L1, 0, CPUID_EDX, 2, "de", { 0 } },
    { L1, 0, CPUID_EDX, 3, "pse", { 0 } },
    { L1, 0, CPUID_EDX, 4, "tsc", { MSR_TSC } },
    { L1, 0, CPUID_EDX, 5, "msr", { 0 } },
    { L1, 0, CPUID_EDX, 6, "pae", { 0 } },
    { L1, 0, CPUID_EDX, 8, "cx8", { 0 } },
    { L1, 0, CPUID_EDX, 9, "apic", { MSR_APIC_BASE } },
    { L1, 0, CPUID_EDX, 11, "sep", { MSR_SYSENTER_CS, MSR_SYSENTER_CS + 1, MSR_SYSENTER_CS + 2 } },
    { L1, 0, CPUID_EDX, 12, "mtrr", { MSR_MTRRCAP, MSR_MTRR_DEF, MSR_MTRR_PHYS0, MSR_MTRR_FIX64K } },
    { L1, 0, CPUID_EDX, 13, "pge", { 0 } },
    { L1, 0, CPUID_EDX, 15, "cmov", { 0 } },
    { L1, 0, CPUID_EDX, 16, "pat", { MSR_PAT } },
    { L1, 0, CPUID_EDX, 17, "pse36", { 0 } },
    { L1, 0, CPUID_EDX, 19, "clflush", { 0 } },
    { L1, 0, CPUID_EDX, 23, "mmx", { 0 } },
    { L1, 0, CPUID_EDX, 24, "fxsr", { 0 } },
    { L1, 0, CPUID_EDX, 25, "sse", { 0 } },
    { L1, 0, CPUID_EDX, 26, "sse2", { 0 } },
    { L1, 0, CPUID_EDX, 27, "ss", { 0 } },
    /* leaf 1 ECX */
    { L1, 0, CPUID_ECX, 0, "sse3", { 0 } },
    { L1, 0, CPUID_ECX, 1, "pclmulqdq", { 0 } },
    { L1, 0, CPUID_ECX, 9, "ssse3", { 0 } },
    { L1, 0, CPUID_ECX, 12, "fma", { 0 } },
    { L1, 0, CPUID_ECX, 13, "cx16", { 0 } },
    { L1, 0, CPUID_ECX, 17, "pcid", { 0 } },
    { L1, 0, CPUID_ECX, 19, "sse4.1", { 0 } },
    { L1, 0, CPUID_ECX, 20, "sse4.2", { 0 } },
    { L1,
      0,
      CPUID_ECX,
      21,
      "x2apic",
      { MSR_X2APIC_FIRST + 0x02, MSR_X2APIC_FIRST + 0x08, MSR_X2APIC_FIRST + 0x0B,
        MSR_X2APIC_FIRST + 0x3F } },
    { L1, 0, CPUID_ECX, 22, "movbe", { 0 } },
    { L1, 0, CPUID_ECX, 23, "popcnt", { 0 } },
    { L1, 0, CPUID_ECX, 24, "tsc-deadline", { MSR_TSC_DEADLINE } },
    { L1, 0, CPUID_ECX, 25, "aes", { 0 } },
    { L1, 0, CPUID_ECX, 26, "xsave", { 0 } }, /* XSETBV is emulated; no MSR (XSAVES is hidden) */
    { L1, 0, CPUID_ECX, 27, "osxsave", { 0 } },
    { L1, 0, CPUID_ECX, 28, "avx", { 0 } },
    { L1, 0, CPUID_ECX, 29, "f16c", { 0 } },
    { L1, 0, CPUID_ECX, 30, "rdrand", { 0 } },
    { L1, 0, CPUID_ECX, 31, "hypervisor", { 0 } },
    /* leaf 7 EBX */
    { L7, 0, CPUID_EBX, 0, "fsgsbase", { 0 } },
    { L7, 0, CPUID_EBX, 1, "tsc_adjust", { MSR_TSC_ADJUST } },
    { L7, 0, CPUID_EBX, 3, "bmi1", { 0 } },
    { L7, 0, CPUID_EBX, 4, "hle", { 0 } },
    { L7, 0, CPUID_EBX, 5, "avx2", { 0 } },
    { L7, 0, CPUID_EBX, 6, "fdp-excptn-only", { 0 } },
    { L7, 0, CPUID_EBX, 7, "smep", { 0 } },
    { L7, 0, CPUID_EBX, 8, "bmi2", { 0 } },
    { L7, 0, CPUID_EBX, 9, "erms", { 0 } },
    { L7, 0, CPUID_EBX, 11, "rtm", { 0 } },
    { L7, 0, CPUID_EBX, 13, "zero-fcs-fds", { 0 } },
    { L7, 0, CPUID_EBX, 16, "avx512f", { 0 } },
    { L7, 0, CPUID_EBX, 17, "avx512dq", { 0 } },
    { L7, 0, CPUID_EBX, 18, "rdseed", { 0 } },
    { L7, 0, CPUID_EBX, 19, "adx", { 0 } },
    { L7, 0, CPUID_EBX, 20, "smap", { 0 } },
    { L7, 0, CPUID_EBX, 21, "avx512ifma", { 0 } },
    { L7, 0, CPUID_EBX, 23, "clflushopt", { 0 } },
    { L7, 0, CPUID_EBX, 24, "clwb", { 0 } },
    { L7, 0, CPUID_EBX, 28, "avx512cd", { 0 } },
    { L7, 0, CPUID_EBX, 29, "sha", { 0 } },
    { L7, 0, CPUID_EBX, 30, "avx512bw", { 0 } },
    { L7, 0, CPUID_EBX, 31, "avx512vl", { 0 } },
    /* leaf 7 ECX */
    { L7, 0, CPUID_ECX, 1, "avx512vbmi", { 0 } },
    { L7, 0, CPUID_ECX, 2, "umip", { 0 } },
    { L7, 0, CPUID_ECX, 6, "avx512vbmi2", { 0 } },
    { L7, 0, CPUID_ECX, 8, "gfni", { 0 } },
    { L7, 0, CPUID_ECX, 9, "vaes", { 0 } },
    { L7, 0, CPUID_ECX, 10, "vpclmulqdq", { 0 } },
    { L7, 0, CPUID_ECX, 11, "avx512vnni", { 0 } },
    { L7, 0, CPUID_ECX, 12, "avx512bitalg", { 0 } },
    { L7, 0, CPUID_ECX, 14, "avx512vpopcntdq", { 0 } },
    { L7, 0, CPUID_ECX, 16, "la57", { 0 } },
    { L7, 0, CPUID_ECX, 22, "rdpid", { MSR_TSC_AUX } },
    { L7, 0, CPUID_ECX, 25, "cldemote", { 0 } },
    { L7, 0, CPUID_ECX, 27, "movdiri", { 0 } },
    { L7, 0, CPUID_ECX, 28, "movdir64b", { 0 } },
    /* leaf 7 EDX */
    { L7, 0, CPUID_EDX, 4, "fsrm", { 0 } },
    { L7, 0, CPUID_EDX, 10, "md-clear", { 0 } },
    { L7, 0, CPUID_EDX, 14, "serialize", { 0 } },
    /* leaf 0x80000001 */
    { LX, 0, CPUID_ECX, 0, "lahf_lm", { 0 } },
    { LX, 0, CPUID_ECX, 5, "abm", { 0 } },
    { LX, 0, CPUID_ECX, 8, "3dnowprefetch", { 0 } },
    { LX, 0, CPUID_EDX, 11, "syscall", { MSR_STAR, MSR_LSTAR, MSR_LSTAR + 1, MSR_LSTAR + 2 } },
    { LX, 0, CPUID_EDX, 20, "nx", { MSR_EFER } },
    { LX, 0, CPUID_EDX, 26, "pdpe1gb", { 0 } },
    { LX, 0, CPUID_EDX, 27, "rdtscp", { MSR_TSC_AUX } },
    { LX, 0, CPUID_EDX, 29, "lm", { MSR_EFER, MSR_FS_BASE, MSR_FS_BASE + 1, MSR_KERNEL_GS_BASE } },
};
const size_t cpuid_nfeatures = sizeof(cpuid_features) / sizeof(cpuid_features[0]);

static uint32_t *reg_of(struct cpuid_out *r, enum cpuid_reg reg)
{
    switch (reg) {
    case CPUID_EAX: return &r->eax;
    case CPUID_EBX: return &r->ebx;
    case CPUID_ECX: return &r->ecx;
    default: return &r->edx;
    }
}

/* The feature registers the table filters, in vm->allow's order. */
static const struct {
    uint32_t leaf;
    enum cpuid_reg reg;
} filtered[7] = {
    { L1, CPUID_ECX }, { L1, CPUID_EDX }, { L7, CPUID_EBX }, { L7, CPUID_ECX },
    { L7, CPUID_EDX }, { LX, CPUID_ECX }, { LX, CPUID_EDX },
};

void cpuid_vm_init(struct cpuid_vm *vm)
{
    for (unsigned k = 0; k < 7; k++) {
        vm->allow[k] = 0;
        for (size_t i = 0; i < cpuid_nfeatures; i++)
            if (cpuid_features[i].leaf == filtered[k].leaf && cpuid_features[i].reg == filtered[k].reg)
                vm->allow[k] |= 1u << cpuid_features[i].bit;
    }
}

/* Keeps only the table's bits of one feature register. */
static void allow_only(const struct cpuid_vm *vm, uint32_t leaf, enum cpuid_reg reg, struct cpuid_out *r)
{
    for (unsigned k = 0; k < 7; k++)
        if (filtered[k].leaf == leaf && filtered[k].reg == reg)
            *reg_of(r, reg) &= vm->allow[k];
}

/* Clears the bits config `cpuid_hide` names, in every feature register
 * of the leaf (last, so that it wins over the bits we force on). */
static void apply_hide(const struct cpuid_vm *vm, uint32_t leaf, struct cpuid_out *r)
{
    for (unsigned k = 0; k < 7; k++)
        if (filtered[k].leaf == leaf)
            *reg_of(r, filtered[k].reg) &= ~vm->hide[k];
}

static void set_bit(uint32_t *v, unsigned bit, int on) { *v = on ? *v | (1u << bit) : *v & ~(1u << bit); }

void cpuid_guest(const struct cpuid_vm *vm, uint32_t leaf, uint32_t sub, struct cpuid_out *r)
{
    if (leaf >= 0x40000000 && leaf <= 0x400000ff) {
        memset(r, 0, sizeof(*r));
        if (leaf == 0x40000000) {
            r->eax = TINYHV_CPUID_MAX_LEAF;
            memcpy(&r->ebx, "TinyHVTi", 8);
            memcpy(&r->edx, "nyHV", 4);
        } else if (leaf == 0x40000001) {
            r->eax = vm->version;
        } else if (leaf == 0x40000010) {
            /* Timing leaf (the convention VMware and others use). */
            r->eax = (uint32_t)(vm->tsc_hz / 1000);
            r->ebx = (uint32_t)(vm->lapic_timer_hz / 1000);
        }
        return;
    }
    switch (leaf) {
    case 1:
        allow_only(vm, L1, CPUID_ECX, r);
        allow_only(vm, L1, CPUID_EDX, r);
        set_bit(&r->ecx, 21, 1); /* x2APIC: the vLAPIC has it */
        set_bit(&r->ecx, 24, 1); /* TSC-deadline timer: likewise */
        set_bit(&r->ecx, 31, 1); /* running under a hypervisor */
        set_bit(&r->ecx, 27, vm->osxsave && (r->ecx & (1u << 26)));
        set_bit(&r->edx, 9, vm->apic_enabled); /* APIC follows IA32_APIC_BASE.EN */
        apply_hide(vm, L1, r);
        r->ebx &= 0x0000ffff; /* initial APIC ID 0, one logical processor */
        r->ebx |= 1u << 16;
        break;
    case 4:
        r->eax &= 0x3fff; /* one core, one thread per cache */
        break;
    case 7:
        if (sub == 0) {
            r->eax = 0; /* only subleaf 0 */
            allow_only(vm, L7, CPUID_EBX, r);
            allow_only(vm, L7, CPUID_ECX, r);
            allow_only(vm, L7, CPUID_EDX, r);
            set_bit(&r->ecx, 22, vm->rdtscp && (r->ecx & (1u << 22)));
            apply_hide(vm, L7, r);
        } else {
            memset(r, 0, sizeof(*r));
        }
        break;
    case 0xb:
    case 0x1f:
        r->edx = 0; /* x2APIC ID 0 */
        break;
    case 0xd:
        if (sub == 1)
            r->eax &= 0x7; /* XSAVEOPT, XSAVEC, XGETBV(1); not XSAVES */
        break;
    case 0x6:  /* thermal and power management */
    case 0xa:  /* architectural PMU */
    case 0xf:  /* RDT monitoring */
    case 0x10: /* RDT allocation */
    case 0x12: /* SGX */
    case 0x14: /* processor trace */
    case 0x1b: /* PCONFIG */ memset(r, 0, sizeof(*r)); break;
    case 0x15:
        /* TSC = crystal * EBX / EAX: report the calibrated rate, so a
         * guest needs no calibration (the LAPIC timer runs at it too). */
        r->eax = 1;
        r->ebx = 1;
        r->ecx = (uint32_t)vm->tsc_hz;
        r->edx = 0;
        break;
    case 0x16:
        r->eax = r->ebx = (uint32_t)(vm->tsc_hz / 1000000); /* base and max MHz */
        r->ecx = (uint32_t)(vm->tsc_hz / 1000000);          /* bus (LAPIC timer) MHz */
        r->edx = 0;
        break;
    case LX:
        r->ebx = 0; /* reserved on Intel */
        allow_only(vm, LX, CPUID_ECX, r);
        allow_only(vm, LX, CPUID_EDX, r);
        set_bit(&r->edx, 27, vm->rdtscp && (r->edx & (1u << 27)));
        apply_hide(vm, LX, r);
        break;
    default: break;
    }
}

uint64_t cpuid_cr4_allowed(const struct cpuid_out *leaf1, const struct cpuid_out *leaf7)
{
    /* VME PVI TSD DE PSE PAE PGE PCE OSFXSR OSXMMEXCPT */
    uint64_t ok = 0x7bf;
    static const struct {
        uint8_t cr4_bit, leaf7;
        enum cpuid_reg reg;
        uint8_t bit;
    } gated[] = {
        { 6, 0, CPUID_EDX, 7 },   /* MCE: leaf 1 EDX.MCE */
        { 11, 1, CPUID_ECX, 2 },  /* UMIP */
        { 12, 1, CPUID_ECX, 16 }, /* LA57 */
        { 16, 1, CPUID_EBX, 0 },  /* FSGSBASE */
        { 17, 0, CPUID_ECX, 17 }, /* PCIDE: leaf 1 ECX.PCID */
        { 18, 0, CPUID_ECX, 26 }, /* OSXSAVE: leaf 1 ECX.XSAVE */
        { 20, 1, CPUID_EBX, 7 },  /* SMEP */
        { 21, 1, CPUID_EBX, 20 }, /* SMAP */
    };
    for (unsigned i = 0; i < sizeof(gated) / sizeof(gated[0]); i++) {
        struct cpuid_out r = gated[i].leaf7 ? *leaf7 : *leaf1;
        if (*reg_of(&r, gated[i].reg) >> gated[i].bit & 1)
            ok |= 1ull << gated[i].cr4_bit;
    }
    return ok; /* VMXE, SMXE, PKE, CET, PKS, ... never: their features are hidden */
}

uint64_t cpuid_efer_allowed(const struct cpuid_out *ext1)
{
    uint64_t ok = 0;
    if (ext1->edx & (1u << 11))
        ok |= EFER_SCE;
    if (ext1->edx & (1u << 29))
        ok |= EFER_LME | EFER_LMA;
    if (ext1->edx & (1u << 20))
        ok |= EFER_NXE;
    return ok;
}

int cpuid_hide_feature(struct cpuid_vm *vm, const char *name, size_t len)
{
    for (size_t i = 0; i < cpuid_nfeatures; i++) {
        const struct cpuid_feature *f = &cpuid_features[i];
        if (strlen(f->name) != len || memcmp(f->name, name, len))
            continue;
        for (unsigned k = 0; k < 7; k++)
            if (filtered[k].leaf == f->leaf && filtered[k].reg == f->reg)
                vm->hide[k] |= 1u << f->bit;
        return 0;
    }
    return -1;
}

int cpuid_hide_list(struct cpuid_vm *vm, const char *list, char *err, size_t errlen)
{
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t' && *p != ',')
            p++;
        if (p > w && cpuid_hide_feature(vm, w, (size_t)(p - w))) {
            fmt_snprintf(err, errlen,
                         "cpuid_hide: '%.*s' is not a CPUID feature the guest "
                         "can see (the table in vmx/cpuid.c names them)",
                         (int)(p - w), w);
            return -1;
        }
    }
    return 0;
}
