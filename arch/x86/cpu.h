/* CPU primitives: CPUID, MSRs, control registers, port I/O, TSC. */
#ifndef ARCH_X86_CPU_H
#define ARCH_X86_CPU_H

#include <stdint.h>

#include "regs.h"

#define MSR_IA32_FEATURE_CONTROL 0x3A
#define MSR_IA32_SYSENTER_CS     0x174
#define MSR_IA32_SYSENTER_ESP    0x175
#define MSR_IA32_SYSENTER_EIP    0x176
#define MSR_IA32_PAT             0x277
#define MSR_IA32_EFER            0xC0000080
#define MSR_FS_BASE              0xC0000100
#define MSR_GS_BASE              0xC0000101
#define MSR_KERNEL_GS_BASE       0xC0000102
#define MSR_TSC_AUX              0xC0000103
#define MSR_STAR                 0xC0000081
#define MSR_SFMASK               0xC0000084
#define MSR_IA32_TSC             0x10
#define MSR_IA32_TSC_ADJUST      0x3B

#define FEATURE_CONTROL_LOCK        (1u << 0)
#define FEATURE_CONTROL_VMX_IN_SMX  (1u << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE (1u << 2)

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

static inline void cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
    __asm__ volatile("cpuid"
                     : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
                     : "a"(leaf), "c"(subleaf));
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

#define DEFINE_CR(n)                                      \
    static inline uint64_t read_cr##n(void)               \
    {                                                     \
        uint64_t v;                                       \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); \
        return v;                                         \
    }                                                     \
    static inline void write_cr##n(uint64_t v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void pause(void) { __asm__ volatile("pause"); }
__attribute__((noreturn)) static inline void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

struct dtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static inline void sgdt(struct dtr *d) { __asm__ volatile("sgdt %0" : "=m"(*d)); }
static inline void sidt(struct dtr *d) { __asm__ volatile("sidt %0" : "=m"(*d)); }
static inline void lgdt(const struct dtr *d) { __asm__ volatile("lgdt %0" ::"m"(*d)); }
static inline void lidt(const struct dtr *d) { __asm__ volatile("lidt %0" ::"m"(*d)); }
static inline void ltr(uint16_t sel) { __asm__ volatile("ltr %0" ::"r"(sel)); }

static inline int cpu_has_vmx(void)
{
    struct cpuid_regs r;
    cpuid(1, 0, &r);
    return (r.ecx >> 5) & 1;
}

#endif
