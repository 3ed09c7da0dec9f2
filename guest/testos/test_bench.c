/* Group "bench": measurements for `make bench`, printed as "# bench k=v"
 * lines; the hypervisor prints its exit statistics for each phase
 * (HC_STATS_PRINT with the phase number). Each test also checks that its
 * numbers are plausible: the timer runs at the programmed rate, deadlines
 * never fire early and are served within a millisecond, a CPUID round trip
 * takes at least one TSC tick (at least a VM exit's worth under the
 * hypervisor) and less than a millisecond. */
#include "testos.h"

#define VT    0x70
#define TICKS 1000

/* Hypercalls exist only under the hypervisor (VMCALL is #UD on bare metal). */
static void stats(uint32_t nr, uint32_t arg)
{
    if (hv_present())
        hypercall(nr, arg);
}

static volatile uint32_t ticks;
static volatile uint64_t last_tick_tsc; /* TSC of tick number TICKS */
/* The tick ends with an EOI and nothing else, as Linux's handler does:
 * testos's common path reads ISR first (an exit of its own on the
 * software path), which is the guest's cost, not the hypervisor's. */
static void hook_tick(uint32_t v)
{
    (void)v;
    if (++ticks == TICKS)
        last_tick_tsc = rdtsc();
    lapic_eoi();
}

/* 1000 LAPIC timer interrupts at 1 kHz while the guest spins, the
 * hypervisor's statistics printed with `label`. */
static int timer_interrupts(char *why, unsigned label, const char *key)
{
    ticks = 0;
    last_tick_tsc = 0;
    /* Rates first: on a bare machine measuring them reprograms the timer. */
    uint32_t count = (uint32_t)lapic_timer_khz();
    uint64_t limit = ms_ticks(4 * TICKS);
    irq_hook[VT] = hook_tick;
    lapic_auto_eoi = 0;
    lapic_write(0x3E0, 0x0B);
    lapic_write(0x320, (1u << 17) | VT);
    stats(HC_STATS_RESET, 0);
    lapic_write(0x380, count);
    uint64_t t = rdtsc();
    sti();
    while (ticks < TICKS && rdtsc() - t < limit)
        ;
    cli();
    /* The statistics cover the 1000 interrupts from the timer's start;
     * the checks below (a read of the initial count: an exit on the
     * software path) and the timer's stop come after them. */
    stats(HC_STATS_PRINT, label);
    uint32_t programmed = lapic_read(0x380);
    lapic_write(0x380, 0);
    irq_hook[VT] = 0;
    lapic_auto_eoi = 1;
    kprintf("# bench %s=%u\n", key, ticks);
    CHECK(count != 0, "LAPIC timer rate 0 kHz");
    CHECK(programmed == count, "initial count reads %u, programmed %u", programmed, count);
    CHECK(ticks >= TICKS, "only %u timer interrupts", ticks);
    CHECK(ticks <= TICKS + 1, "%u timer interrupts for %u periods", ticks, TICKS);
    /* TICKS periods of `count` at lapic_timer_khz() is TICKS ms: within 5%. */
    uint64_t took = last_tick_tsc - t, want = ms_ticks(TICKS);
    uint64_t diff = report_rate("periodic timer: 1000 periods", took, want);
    CHECK(diff * 20 <= want, "%u periods of 1 ms took %u TSC ticks, expected %u (more than 5%% off)", TICKS,
          (uint32_t)took, (uint32_t)want);
    return 0;
}

/* Phase 1: in xAPIC mode. */
static int t_timer_interrupts(char *why)
{
    legacy_reset(0);
    return timer_interrupts(why, 1, "timer_interrupts");
}

/* Phase 4: the same in x2APIC mode (EOI by WRMSR), where the CPU has it. */
static int t_timer_interrupts_x2apic(char *why)
{
    uint32_t r[4];
    uint64_t base;
    legacy_reset(0);
    cpuid(1, 0, r);
    if (!(r[2] & (1u << 21))) {
        kprintf("# bench x2apic_timer_interrupts=none (no x2APIC on this CPU)\n");
        return 0;
    }
    CHECK(safe_rdmsr(MSR_APIC_BASE, &base) == 0 && safe_wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD) == 0,
          "entering x2APIC mode faulted");
    lapic_x2apic = 1;
    int rc = timer_interrupts(why, 4, "x2apic_timer_interrupts");
    legacy_reset(0); /* back to xAPIC mode */
    return rc;
}

/* Phase 2: TSC-deadline expiry to the first instruction of the handler. */
static int t_deadline_latency(char *why)
{
    static uint32_t lat[200];
    legacy_reset(0);
    lapic_write(0x320, (2u << 17) | VT);
    uint64_t ahead = ms_ticks(1) / 5, limit = ms_ticks(20);
    stats(HC_STATS_RESET, 0);
    for (unsigned i = 0; i < 200; i++) {
        uint64_t deadline = rdtsc() + ahead;
        uint32_t before = irqlog.count[VT];
        CHECK(safe_wrmsr(MSR_TSC_DEADLINE, deadline) == 0, "WRMSR IA32_TSC_DEADLINE faulted");
        sti();
        while (irqlog.count[VT] == before && rdtsc() < deadline + limit)
            ;
        cli();
        CHECK(irqlog.count[VT] > before, "deadline %u never fired", i);
        CHECK(irqlog.last_tsc[VT] >= deadline, "deadline %u fired %u TSC ticks early", i,
              (uint32_t)(deadline - irqlog.last_tsc[VT]));
        lat[i] = (uint32_t)(irqlog.last_tsc[VT] - deadline);
    }
    stats(HC_STATS_PRINT, 2);
    sort_u32(lat, 200);
    kprintf("# bench deadline_to_isr_median=%u deadline_to_isr_p99=%u\n", lat[100], lat[197]);
    CHECK(lat[197] < ms_ticks(1), "p99 deadline-to-ISR latency %u TSC ticks, over 1 ms", lat[197]);
    return 0;
}

/* Phase 3: CPUID round trips. */
static int t_cpuid(char *why)
{
    uint32_t r[4];
    stats(HC_STATS_RESET, 0);
    uint64_t t = rdtsc();
    for (unsigned i = 0; i < 1000; i++)
        cpuid(0, 0, r);
    uint64_t took = rdtsc() - t, each = div64(took, 1000);
    stats(HC_STATS_PRINT, 3);
    kprintf("# bench cpuid_ticks=%u\n", (uint32_t)each);
    /* Each CPUID exits to the hypervisor: a VM exit and entry are far more
     * than 50 TSC ticks anywhere (a CPUID alone is tens of cycles). */
    uint64_t least = hv_present() ? 50 : 1;
    CHECK(each >= least && each < ms_ticks(1), "a CPUID round trip took %u TSC ticks, expected %u to %u",
          (uint32_t)each, (uint32_t)least, (uint32_t)ms_ticks(1));
    return 0;
}

static const struct test_case cases[] = {
    { "1000 LAPIC timer interrupts at 1 kHz", t_timer_interrupts },
    { "TSC-deadline to ISR latency, 200 samples", t_deadline_latency },
    { "1000 CPUID round trips", t_cpuid },
    { "1000 LAPIC timer interrupts at 1 kHz, x2APIC mode", t_timer_interrupts_x2apic },
};

const struct test_group group_bench = { "bench", cases, sizeof(cases) / sizeof(cases[0]) };
