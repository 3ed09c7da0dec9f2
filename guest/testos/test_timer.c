/* Group "timer": the vLAPIC timer in one-shot, periodic and TSC-deadline
 * modes, measured with the TSC. The timer's input rate comes from CPUID
 * 0x40000010 (EBX, kHz); no calibration needed. */
#include "testos.h"

#define VT               0x70
#define LVT_MASKED       (1u << 16)
#define LVT_PERIODIC     (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define DIV_1            0x0B
#define DIV_16           0x03

static uint64_t timer_to_tsc(uint64_t counts) { return div64(counts * tsc_khz(), lapic_timer_khz()); }

static void timer_stop(void)
{
    lapic_write(0x320, LVT_MASKED | VT);
    lapic_write(0x380, 0);
    /* Result ignored: outside TSC-deadline mode the write is dropped
     * anyway (the LVT above left that mode); the group checks the MSR's
     * own accesses where it arms a deadline. */
    (void)safe_wrmsr(MSR_TSC_DEADLINE, 0);
}

static int timer_expired(uint32_t unused)
{
    (void)unused;
    return lapic_read(0x390) == 0;
}

static int t_rates_reported(char *why)
{
    uint32_t r[4];
    CHECK(lapic_timer_khz() != 0, "CPUID 0x40000010 EBX (LAPIC timer kHz) is 0");
    cpuid(0x15, 0, r);
    CHECK(r[0] && r[1] && r[2], "CPUID 0x15 = %u/%u, crystal %u: incomplete", r[0], r[1], r[2]);
    uint64_t tsc_hz = div64((uint64_t)r[2] * r[1], r[0]);
    CHECK(div64(tsc_hz, 1000) == tsc_khz(), "CPUID 0x15 says %u kHz, 0x40000010 says %u kHz",
          (uint32_t)div64(tsc_hz, 1000), (uint32_t)tsc_khz());
    return 0;
}

static int t_oneshot(char *why)
{
    legacy_reset(0);
    lapic_write(0x3E0, DIV_1);
    lapic_write(0x320, VT);
    uint64_t t0 = rdtsc();
    uint32_t count = (uint32_t)(lapic_timer_khz() * 2); /* 2 ms */
    lapic_write(0x380, count);
    CHECK(wait_irq(VT, 1, ms_ticks(20)), "one-shot never fired");
    uint64_t took = irqlog.last_tsc[VT] - t0;
    CHECK(took >= timer_to_tsc(count), "fired after %u TSC ticks, before %u", (uint32_t)took,
          (uint32_t)timer_to_tsc(count));
    spin_irq(VT, 2, ms_ticks(6));
    CHECK(irqlog.count[VT] == 1, "one-shot fired %u times", irqlog.count[VT]);
    CHECK(lapic_read(0x390) == 0, "current count %u after expiry", lapic_read(0x390));
    timer_stop();
    return 0;
}

static volatile uint64_t tick_tsc[1001];
static volatile uint32_t ticks;
static void hook_tick(uint32_t v)
{
    (void)v;
    if (ticks <= 1000)
        tick_tsc[ticks] = rdtsc();
    ticks++;
}

static int t_periodic_1khz(char *why)
{
    legacy_reset(0);
    ticks = 0;
    irq_hook[VT] = hook_tick;
    uint32_t count = (uint32_t)lapic_timer_khz(); /* 1 ms */
    lapic_write(0x3E0, DIV_1);
    lapic_write(0x320, LVT_PERIODIC | VT);
    lapic_write(0x380, count);
    wait_irq(VT, 1001, ms_ticks(2000));
    timer_stop();
    irq_hook[VT] = 0;
    CHECK(ticks >= 1001, "only %u ticks", ticks);
    uint64_t measured = tick_tsc[1000] - tick_tsc[0], expected = timer_to_tsc((uint64_t)count * 1000);
    uint64_t diff = report_rate("periodic: 1000 ticks", measured, expected);
    CHECK(diff * 200 <= expected, "1000 ticks off by more than 0.5%% (%u vs %u TSC ticks)",
          (uint32_t)measured, (uint32_t)expected);
    return 0;
}

static int t_tsc_deadline_latency(char *why)
{
    static uint32_t lat[100];
    legacy_reset(0);
    lapic_write(0x320, LVT_TSC_DEADLINE | VT);
    for (unsigned i = 0; i < 100; i++) {
        uint64_t deadline = rdtsc() + ms_ticks(1) / 10; /* 100 us ahead */
        uint32_t before = irqlog.count[VT];
        CHECK(safe_wrmsr(MSR_TSC_DEADLINE, deadline) == 0, "WRMSR IA32_TSC_DEADLINE faulted");
        CHECK(wait_irq(VT, before + 1, ms_ticks(20)), "deadline %u never fired", i);
        CHECK(irqlog.last_tsc[VT] >= deadline, "fired %u ticks early",
              (uint32_t)(deadline - irqlog.last_tsc[VT]));
        lat[i] = (uint32_t)(irqlog.last_tsc[VT] - deadline);
    }
    uint64_t v = 1;
    CHECK(safe_rdmsr(MSR_TSC_DEADLINE, &v) == 0, "RDMSR IA32_TSC_DEADLINE faulted");
    CHECK(v == 0, "IA32_TSC_DEADLINE reads 0x%llx after expiry, expected 0", v);
    sort_u32(lat, 100);
    kprintf("# TSC-deadline to ISR latency: median %u, p99 %u TSC ticks\n", lat[50], lat[98]);
    timer_stop();
    return 0;
}

static int t_masked_timer_counts(char *why)
{
    legacy_reset(0);
    lapic_write(0x3E0, DIV_1);
    lapic_write(0x320, LVT_MASKED | VT);
    lapic_write(0x380, 0x7fffffff);
    uint32_t a = lapic_read(0x390);
    uint64_t t = rdtsc();
    while (rdtsc() - t < ms_ticks(1))
        ;
    uint32_t b = lapic_read(0x390);
    CHECK(b < a, "a masked timer does not count (%u then %u)", a, b);
    lapic_write(0x380, 1000); /* expires at once, silently */
    /* Evidence: the count ran out (current count 0), then the window;
     * IF=1 throughout. */
    sti();
    int expired = wait_until(timer_expired, 0, ms_ticks(20));
    spin_irq(VT, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[VT] == 0, "a masked timer interrupted");
    CHECK(expired, "the masked timer's count never ran out (current count %u)", lapic_read(0x390));
    timer_stop();
    return 0;
}

static int t_divide(char *why)
{
    legacy_reset(0);
    lapic_write(0x320, LVT_MASKED | VT);
    lapic_write(0x3E0, DIV_16);
    CHECK((lapic_read(0x3E0) & 0xB) == DIV_16, "divide register reads 0x%x", lapic_read(0x3E0));
    lapic_write(0x380, 0x7fffffff);
    uint32_t a = lapic_read(0x390);
    uint64_t t = rdtsc();
    while (rdtsc() - t < ms_ticks(2))
        ;
    uint32_t b = lapic_read(0x390);
    uint64_t counted = a - b, expected = div64(lapic_timer_khz() * 2, 16);
    CHECK(counted * 10 >= expected * 9 && counted * 10 <= expected * 11,
          "divide by 16 counted %u in 2 ms, expected about %u", (uint32_t)counted, (uint32_t)expected);
    timer_stop();
    lapic_write(0x3E0, DIV_1);
    return 0;
}

static int t_rearm_by_writing_count(char *why)
{
    legacy_reset(0);
    lapic_write(0x3E0, DIV_1);
    lapic_write(0x320, VT);
    uint32_t count = (uint32_t)(lapic_timer_khz() * 3); /* 3 ms */
    lapic_write(0x380, count);
    uint64_t t = rdtsc();
    while (rdtsc() - t < ms_ticks(2))
        ;
    uint64_t rearm = rdtsc();
    lapic_write(0x380, count); /* start again */
    CHECK(wait_irq(VT, 1, ms_ticks(20)), "the re-armed timer never fired");
    CHECK(irqlog.last_tsc[VT] >= rearm + timer_to_tsc(count), "fired on the first arming, not the second");
    timer_stop();
    return 0;
}

/* Each negative here has a control: a timer of the other kind, on the same
 * vector, armed to expire after the one that must stay silent would have;
 * the first interrupt must be the control's, and the only one. */
static int t_mode_switch_disarms(char *why)
{
    legacy_reset(0);
    lapic_write(0x3E0, DIV_1);
    lapic_write(0x320, LVT_TSC_DEADLINE | VT);
    uint64_t old_deadline = rdtsc() + ms_ticks(1);
    CHECK(safe_wrmsr(MSR_TSC_DEADLINE, old_deadline) == 0, "WRMSR IA32_TSC_DEADLINE faulted");
    lapic_write(0x320, VT);                             /* one-shot: the deadline is gone */
    uint32_t count = (uint32_t)(lapic_timer_khz() * 2); /* 2 ms: after the old deadline */
    uint64_t armed = rdtsc();
    lapic_write(0x380, count);
    CHECK(wait_irq(VT, 1, ms_ticks(20)), "the control one-shot never fired");
    CHECK(irqlog.last_tsc[VT] >= armed + timer_to_tsc(count),
          "interrupt %u ticks after the old deadline, before the one-shot's expiry: the deadline "
          "fired after the mode switch",
          (uint32_t)(irqlog.last_tsc[VT] - old_deadline));
    spin_irq(VT, 2, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[VT] == 1, "%u interrupts after the mode switch, expected the one-shot's",
          irqlog.count[VT]);

    /* Back to TSC-deadline mode: the old deadline (long past) stays gone,
     * and an initial count (1000 counts: about 5 us) arms nothing. */
    irqlog_reset();
    lapic_write(0x320, LVT_TSC_DEADLINE | VT);
    uint64_t start = rdtsc();
    lapic_write(0x380, 1000); /* ignored in TSC-deadline mode */
    uint64_t deadline = start + ms_ticks(2);
    CHECK(safe_wrmsr(MSR_TSC_DEADLINE, deadline) == 0, "WRMSR IA32_TSC_DEADLINE faulted");
    CHECK(wait_irq(VT, 1, ms_ticks(20)), "the control TSC deadline never fired");
    CHECK(irqlog.last_tsc[VT] >= deadline,
          "interrupt %u ticks after the count write, before the new deadline: the count or the "
          "disarmed deadline fired",
          (uint32_t)(irqlog.last_tsc[VT] - start));
    spin_irq(VT, 2, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[VT] == 1, "%u interrupts in TSC-deadline mode, expected the deadline's",
          irqlog.count[VT]);
    timer_stop();
    return 0;
}

static const struct test_case cases[] = {
    { "CPUID 0x15 and 0x40000010 report consistent rates", t_rates_reported },
    { "one-shot: fires once, not early, count reads 0", t_oneshot },
    { "periodic: 1000 ticks at 1 kHz within 0.5% of the TSC", t_periodic_1khz },
    { "TSC-deadline: 100 expiries, never early (latency printed)", t_tsc_deadline_latency },
    { "a masked timer counts and stays silent", t_masked_timer_counts },
    { "divide by 16", t_divide },
    { "writing the initial count re-arms", t_rearm_by_writing_count },
    { "switching mode disarms; count ignored in TSC-deadline mode", t_mode_switch_disarms },
};

const struct test_group group_timer = { "timer", cases, sizeof(cases) / sizeof(cases[0]) };
