/* What CPUID tells the guest. Pure C (host-tested): the VMX side passes in
 * the host's answer and the VM's facts, and gets the guest's answer.
 *
 * The rule: a feature bit reaches the guest only if it is in the table of
 * cpuid.c, which names for each feature the MSRs that come with it, and
 * the hypervisor emulates (or passes through) every one of them. A bit not
 * in the table is clear, whatever the host has, so a guest never finds an
 * advertised feature whose MSR faults or whose instruction #UDs. Leaves
 * that describe hardware we do not give the guest (thermal and power,
 * the PMU, Intel PT, SGX, RDT) read as zeros. */
#ifndef VMX_CPUID_H
#define VMX_CPUID_H

#include <stddef.h>
#include <stdint.h>

struct cpuid_out {
    uint32_t eax, ebx, ecx, edx;
};

/* The VM's side of the answer. */
struct cpuid_vm {
    uint32_t version; /* leaf 0x40000001 EAX: the hypervisor's version */
    uint64_t tsc_hz;  /* leaves 0x15/0x16 and 0x40000010 */
    uint64_t lapic_timer_hz;
    int apic_enabled;  /* IA32_APIC_BASE.EN: CPUID.1:EDX.APIC follows it */
    int rdtscp;        /* the "enable RDTSCP" control is on */
    int osxsave;       /* the guest's CR4.OSXSAVE */
    uint32_t hide[7];  /* config `cpuid_hide`: bits to clear, in allow's order */
    uint32_t allow[7]; /* the table's bits per feature register (cpuid_vm_init) */
};

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/* One advertised feature and the MSRs that come with it (0-terminated). */
struct cpuid_feature {
    uint32_t leaf, subleaf;
    enum cpuid_reg reg;
    uint8_t bit;
    const char *name;
    uint32_t msrs[4];
};

/* The table, for tests and for documentation. */
extern const struct cpuid_feature cpuid_features[];
extern const size_t cpuid_nfeatures;

#define TINYHV_CPUID_MAX_LEAF 0x40000010u
#define CPUID_1_ECX_X2APIC    (1u << 21)

/* Fills vm->allow from the table, once per VM (CPUID exits are hot). */
void cpuid_vm_init(struct cpuid_vm *vm);

/* r holds the host's answer for (leaf, subleaf) on entry, the guest's on
 * return. */
void cpuid_guest(const struct cpuid_vm *vm, uint32_t leaf, uint32_t subleaf, struct cpuid_out *r);

/* The basic leaves (below 32) whose guest answer is the host's as it is
 * (cpuid_guest's default case), a bit per leaf: a CPUID exit for one of
 * them needs no call to cpuid_guest. test_cpuid checks the mask against
 * cpuid_guest, so a leaf cpuid_guest learns to change fails the test
 * until it leaves the mask. */
#define CPUID_HOST_LEAVES                                                                            \
    (~0u & ~((1u << 0x1) | (1u << 0x4) | (1u << 0x6) | (1u << 0x7) | (1u << 0xa) | (1u << 0xb) |     \
             (1u << 0xd) | (1u << 0xf) | (1u << 0x10) | (1u << 0x12) | (1u << 0x14) | (1u << 0x15) | \
             (1u << 0x16) | (1u << 0x1b) | (1u << 0x1f)))
static inline int cpuid_leaf_is_host(uint32_t leaf) { return leaf < 32 && ((CPUID_HOST_LEAVES >> leaf) & 1); }

/* The CR4 bits a guest that sees these CPUID answers may set (leaf 1
 * ECX/EDX, leaf 7 EBX/ECX as cpuid_guest gives them): the architectural
 * ones every CPU of ours has, and each feature's bit only with the
 * feature. Everything else is reserved: #GP, as on hardware. */
uint64_t cpuid_cr4_allowed(const struct cpuid_out *leaf1, const struct cpuid_out *leaf7);

/* The EFER bits a guest that sees this leaf 0x80000001 may set: SCE with
 * SYSCALL, LME (and LMA, which WRMSR ignores) with long mode, NXE with NX.
 * Everything else is reserved: #GP. */
uint64_t cpuid_efer_allowed(const struct cpuid_out *ext1);

/* For config `cpuid_hide = name ...`: sets the feature's bit in vm->hide.
 * Returns 0, or -1 for a name the table does not have. */
int cpuid_hide_feature(struct cpuid_vm *vm, const char *name, size_t len);
/* The same for a space-separated list; -1 with the unknown name in err. */
int cpuid_hide_list(struct cpuid_vm *vm, const char *list, char *err, size_t errlen);

#endif
