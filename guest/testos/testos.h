/* testos: a tiny Multiboot test kernel that reports TAP on COM1. */
#ifndef TESTOS_H
#define TESTOS_H

#include <stddef.h>
#include <stdint.h>

/* ---- CPU helpers ---- */
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* ---- traps: run an instruction that may fault ---- */
struct trap_frame {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
    uint32_t vector, error, eip, cs, eflags;
};
struct trap_record {
    int taken;           /* number of traps since trap_arm() */
    uint32_t vector, error, eip;
};
extern volatile struct trap_record last_trap;
/* After trap_arm(skip), a fault resumes skip bytes after the faulting
 * instruction's start; software interrupts resume normally. */
void trap_arm(uint32_t skip);
void trap_disarm(void);

/* rdmsr/wrmsr that report a fault: return -1 and the vector on #GP etc. */
int safe_rdmsr(uint32_t msr, uint64_t *val);
int safe_wrmsr(uint32_t msr, uint64_t val);

/* ---- output ---- */
void serial_init(void);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ksnprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
const char *strstr_(const char *h, const char *n);

/* ---- boot information ---- */
struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table, boot_loader_name;
};
struct mb_mmap {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

struct boot {
    uint32_t magic;
    const struct mb_info *mbi;
    const char *cmdline;
    uint32_t ram_mb_expected;   /* from "ram_mb=N" on the command line, 0 if absent */
};
extern struct boot boot;
extern char kernel_start[], kernel_end[];

/* ---- the test framework: TAP on the serial line ---- */
#define WHY_MAX 160
typedef int (*test_fn)(char *why);   /* 0 = pass; otherwise fill why */
struct test_case {
    const char *name;
    test_fn fn;
};
struct test_group {
    const char *name;
    const struct test_case *cases;
    unsigned count;
};
#define FAILF(...) do { ksnprintf(why, WHY_MAX, __VA_ARGS__); return 1; } while (0)
#define CHECK(cond, ...) do { if (!(cond)) FAILF(__VA_ARGS__); } while (0)

extern const struct test_group group_base, group_eptstop;

#define DEBUG_EXIT_PORT 0xF4

#endif
