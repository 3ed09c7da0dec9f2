/* testos: a tiny Multiboot test kernel that reports TAP on COM1. */
#ifndef TESTOS_H
#define TESTOS_H

#include <stddef.h>
#include <stdint.h>

/* ---- CPU helpers ---- */
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p));
    return v;
}
static inline uint16_t inw(uint16_t p)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p));
    return v;
}
static inline uint32_t inl(uint16_t p)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p));
    return v;
}
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
    int taken; /* number of traps since trap_arm() */
    uint32_t vector, error, eip;
    uint32_t dr6; /* for a #DB: DR6 as the handler found it */
};
extern volatile struct trap_record last_trap;
/* After trap_arm(skip), a fault resumes skip bytes after the faulting
 * instruction's start; software interrupts resume normally. */
void trap_arm(uint32_t skip);
void trap_disarm(void);
/* Called (if set) before the run bails out on an exception nobody armed
 * for: a test says there what it was doing. */
extern void (*volatile trap_bail_hook)(void);

/* rdmsr/wrmsr that report a fault: return -1 and the vector on #GP etc. */
int safe_rdmsr(uint32_t msr, uint64_t *val);
int safe_wrmsr(uint32_t msr, uint64_t val);

/* Sorts n values in place (small n: insertion sort). */
void sort_u32(uint32_t *a, unsigned n);

/* Prints "# <what>: <measured> TSC ticks, expected <expected> (N ppm off)"
 * and returns |measured - expected|. */
uint64_t report_rate(const char *what, uint64_t measured, uint64_t expected);

/* 64-bit division (no libgcc in a 32-bit freestanding build). */
uint64_t div64(uint64_t n, uint64_t d);

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
    uint32_t ram_mb_expected; /* from "ram_mb=N" on the command line, 0 if absent */
    /* group "fuzz": seed=N bursts=N seconds=N ops=N verbose=N from=N, 0 if absent */
    uint32_t fuzz_seed, fuzz_bursts, fuzz_seconds, fuzz_ops, fuzz_verbose, fuzz_from;
    /* groups "virtio", "vbench": sectors=N of the test disk, disk_rw=1 if writable */
    uint32_t disk_sectors, disk_rw;
};
extern struct boot boot;
extern char kernel_start[], kernel_end[];

/* ---- the test framework: TAP on the serial line ---- */
#define WHY_MAX 160
typedef int (*test_fn)(char *why); /* 0 = pass; otherwise fill why */
struct test_case {
    const char *name;
    test_fn fn;
};
struct test_group {
    const char *name;
    const struct test_case *cases;
    unsigned count;
};
#define FAILF(...)                            \
    do {                                      \
        ksnprintf(why, WHY_MAX, __VA_ARGS__); \
        return 1;                             \
    } while (0)
#define CHECK(cond, ...)        \
    do {                        \
        if (!(cond))            \
            FAILF(__VA_ARGS__); \
    } while (0)

extern const struct test_group group_base, group_eptstop, group_pic, group_pit, group_ioapic, group_inject,
    group_trace, group_chaos, group_serial_irq, group_mmiostop, group_lapic, group_timer, group_x2apic,
    group_level, group_bench, group_paging, group_hostile, group_tour, group_fuzz, group_pcdev,
    group_pcdev_stop, group_hpet, group_virtio, group_vbench, group_vbench_copy;

/* Hypercalls (EAX = number): see vmx/exit.h. */
#define HC_VERSION             0
#define HC_TEST_UNMAP          1           /* EBX = guest-physical address: unmap its 2 MiB until touched */
#define HC_TEST_UNMAP_NMI      0x21494d4eu /* in ECX: and an NMI arrives at that touch's exit */
#define HC_TEST_REINJECTED     2           /* returns the number of events re-injected after an exit */
#define HC_STATS_RESET         3           /* test hooks (test_hooks = on): zero the exit statistics */
#define HC_STATS_PRINT         4           /*   print them as "hv: stats <EBX>" lines */
#define HC_IRQ_STAMP           5 /* EAX <- exits so far, EBX <- guest TSC of the last source event, ECX <- its GSI */
#define HC_TRACE_MARK          6 /* EBX = kind << 8 | arg, ECX = TSC: a mark in the trace (EAX <- 0 if recorded) */
#define HC_TEST_PHYS_INTR      7 /* test hook, EBX != 0: a physical interrupt exits at the next entry */
#define IRQ_SOURCE_LAPIC_TIMER 0xffu
#define HC_DELIVERED_INJECTED  1
#define HC_DELIVERED_VID       2
#define HC_UNKNOWN_RESULT      0xffffffffu
static inline uint32_t hypercall(uint32_t nr, uint32_t arg)
{
    uint32_t ret;
    __asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(arg) : "memory");
    return ret;
}

/* What the hypervisor saw last (HC_IRQ_STAMP): VM exits so far (this
 * VMCALL not counted), the guest TSC (low 32 bits) of the last source event
 * (a line raised through irq_set, or the vLAPIC timer expiring) and its GSI
 * (IRQ_SOURCE_LAPIC_TIMER for the vLAPIC timer), and how the last interrupt
 * went in: its vector | HC_DELIVERED_INJECTED or HC_DELIVERED_VID << 8. */
struct irq_stamp {
    uint32_t exits, source_tsc, gsi, delivered;
};
static inline void irq_stamp(struct irq_stamp *s)
{
    __asm__ volatile("vmcall"
                     : "=a"(s->exits), "=b"(s->source_tsc), "=c"(s->gsi), "=d"(s->delivered)
                     : "a"(HC_IRQ_STAMP)
                     : "memory");
}
/* Marks in the hypervisor's interrupt trace (`trace = on`): the interrupt
 * handler marks its entry and its EOI once trace_marks_on() found the
 * trace recording; phases (a tour stop, a test) are marked by their
 * callers. Each mark is a VMCALL, counted in trace_marks_sent. */
#define MARK_ISR         1
#define MARK_EOI         2
#define MARK_PHASE_BEGIN 3
#define MARK_PHASE_END   4
#define MARK_HELLO       5 /* trace_marks_on()'s probe */
extern volatile int trace_marks;
extern volatile uint32_t trace_marks_sent;
int trace_marks_on(void);
void trace_mark(uint32_t kind, uint32_t arg);

/* ---- interrupts (vectors >= 32) ---- */
#define IRQ_LOG_MAX 64
/* A vector that arrives this often since irqlog_reset() is a storm (an
 * interrupt that comes back after every EOI, say a level line nobody
 * drops): the handler masks every source the tests use, so the guest does
 * not livelock, and counts it in irq_storms; a test during which a storm
 * happened fails, whatever its own checks say. No test expects more than
 * about a thousand of one vector. */
#define IRQ_STORM   20000
extern volatile uint32_t irq_storms, irq_storm_vector;
struct irq_log {
    volatile uint32_t count[256];
    volatile uint32_t order[IRQ_LOG_MAX]; /* vectors in arrival order */
    volatile uint32_t n;
    volatile uint64_t last_tsc[256];
    volatile uint32_t last_eip[256]; /* where the interrupt hit */
};
extern struct irq_log irqlog;
/* Called (if set) from the handler of that vector, before IRET. */
extern void (*volatile irq_hook[256])(uint32_t vector);
void irqlog_reset(void);
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
/* Enables interrupts and waits (HLT) until `vector` has arrived `count`
 * times or `max_ticks` TSC ticks passed; returns with IF=0. */
int wait_irq(uint32_t vector, uint32_t count, uint64_t max_ticks);
uint64_t tsc_khz(void);
/* CPUID.1:ECX[31]: running under a hypervisor (not "bare"). */
int hv_present(void);
/* Like wait_irq, but spins with IF=1 instead of halting: for "nothing more
 * may arrive" checks, where a HLT with no interrupt source left would never
 * wake up. */
int spin_irq(uint32_t vector, uint32_t count, uint64_t max_ticks);

/* ---- evidence for negative checks ----
 * "X did not happen" is only evidence when the same run shows that the
 * event which would have caused X did happen: a control route that does
 * deliver, the device's own status, or a deadline in guest time (TSC) long
 * against the event's period. Never a bare number of loop iterations. */
/* Spins, with IF as it is, until cond(arg) holds or max_ticks TSC ticks
 * passed; returns whether cond(arg) holds. */
int wait_until(int (*cond)(uint32_t arg), uint32_t arg, uint64_t max_ticks);
/* The window of a negative check, opened once its evidence is in. */
#define QUIET_MS 2
/* A control route: a self-IPI at `vector`, waited for with IF=1 (20 ms of
 * guest time at most); returns 1 if it arrived. The LAPIC delivers the
 * highest pending vector first, so once it has arrived no vector above it
 * is left pending: one that should have stayed silent would have come
 * first. */
int control_ipi(uint8_t vector);

/* ---- the legacy PIC, PIT and IOAPIC, as a guest programs them ---- */
#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE  0x28
void pic_setup(uint8_t master_base, uint8_t slave_base, int auto_eoi);
void pic_eoi(unsigned irq);
uint8_t pic_read_irr(int slave);
uint8_t pic_read_isr(int slave);
/* One bit of the 8259s' IRR (irq 0-15): evidence that the line rose (the
 * masked 8259 sees the same ISA line as the IOAPIC and latches its edge). */
int pic_irr_bit(uint32_t irq);
void pit_program(unsigned channel, unsigned mode, uint16_t count);
/* A PIT channel's OUT pin, from a read-back status (bit 7). */
int pit_out(uint32_t channel);
/* TSC ticks in n milliseconds. */
uint64_t ms_ticks(unsigned ms);
/* Programs PIT channel 0 for a ~170 us one-shot (IRQ 0) and waits 2 ms. */
void pit_fire_oneshot(void);
/* The virtual COM1's THR-empty interrupt as a test source for IRQ 4: on
 * (asserted at once, until IIR is read), acknowledged (IIR read), off. */
void com1_thre_irq_on(void);
void com1_thre_irq_ack(void);
void com1_thre_irq_off(void);
/* Interrupts off, both 8259s initialised and masked (vector bases 0x20 and
 * 0x28, auto-EOI as asked), every IOAPIC pin masked, hooks and the
 * interrupt log cleared. */
void legacy_reset(int auto_eoi);
#define IOAPIC_BASE 0xFEC00000u

/* ---- the local APIC (xAPIC page) ---- */
#define LAPIC_BASE 0xFEE00000u
/* Register access through the xAPIC page, or through the x2APIC MSRs while
 * lapic_x2apic is set (the x2apic group sets it). */
extern volatile int lapic_x2apic;
uint32_t lapic_read(uint32_t off);
void lapic_write(uint32_t off, uint32_t v);
static inline void lapic_eoi(void) { lapic_write(0xB0, 0); }
int lapic_in_service(uint32_t vector);
int lapic_in_irr(uint32_t vector);
/* Fixed, edge-triggered IPI to this CPU (ICR shorthand "self"). */
void lapic_self_ipi(uint8_t vector);
/* LAPIC timer input frequency in kHz (CPUID 0x40000010 EBX). */
uint64_t lapic_timer_khz(void);
#define MSR_APIC_BASE    0x1B
#define MSR_TSC_DEADLINE 0x6E0
#define APIC_BASE_EN     (1u << 11)
#define APIC_BASE_EXTD   (1u << 10)
/* When set (the default), the interrupt handler ends every vector that is
 * in service in the LAPIC with an EOI after its hook ran. */
extern volatile int lapic_auto_eoi;
uint32_t ioapic_read(uint32_t reg);
void ioapic_write(uint32_t reg, uint32_t val);
void ioapic_route(unsigned pin, uint32_t low, uint32_t high);

/* ---- a short excursion into 64-bit mode (longmode.asm) ----
 * lm_call runs one 64-bit routine with interrupts off, on the 4-level
 * tables of long_mode_tables (identity 0-64 MiB and 3-4 GiB, uncached,
 * and the IOAPIC and LAPIC again at 0x40000000); routines leave their
 * results in lm_results. */
void lm_call(uint32_t pml4, void (*routine64)(void));
uint32_t long_mode_tables(void);
extern uint64_t lm_results[8];

#define DEBUG_EXIT_PORT 0xF4

#endif
