/* Group "hpet": the virtual HPET at 0xFED00000 (trapped MMIO, 32-bit
 * accesses as a 32-bit guest makes them), measured against the TSC, its
 * comparators delivered through the vIOAPIC, and its legacy replacement
 * route, which takes ISA IRQ 0 (IOAPIC pin 2) away from the PIT. The 8259
 * pair stays masked. */
#include "testos.h"

#define HPET_BASE   0xFED00000u
#define CAP         0x000
#define CONFIG      0x010
#define STATUS      0x020
#define COUNTER     0x0F0
#define TN(n)       (0x100u + 0x20u * (n))
#define TN_CMP(n)   (TN(n) + 8)
#define TN_FSB(n)   (TN(n) + 0x10)
#define CFG_ENABLE  1u
#define CFG_LEGACY  2u
#define TN_LEVEL    0x2u
#define TN_INT_ENB  0x4u
#define TN_PERIODIC 0x8u
#define TN_VAL_SET  0x40u
#define TN_32BIT    0x100u
#define TN_ROUTE(p) ((uint32_t)(p) << 9)
#define HPET_HZ     100000000u
#define MASKED      0x10000u
#define LEVEL       0x8000u
#define REMOTE_IRR  0x4000u
#define IOAPIC_EOI  (*(volatile uint32_t *)(IOAPIC_BASE + 0x40))

static uint32_t hpet_rd(uint32_t off) { return *(volatile uint32_t *)(HPET_BASE + off); }
static void hpet_wr(uint32_t off, uint32_t v) { *(volatile uint32_t *)(HPET_BASE + off) = v; }

/* The 64-bit main counter with 32-bit reads: high, low, high again. */
static uint64_t counter(void)
{
    uint32_t hi, lo;
    do {
        hi = hpet_rd(COUNTER + 4);
        lo = hpet_rd(COUNTER);
    } while (hpet_rd(COUNTER + 4) != hi);
    return (uint64_t)hi << 32 | lo;
}

/* TSC ticks in n HPET ticks. */
static uint64_t hpet_to_tsc(uint64_t n) { return div64(n * tsc_khz(), HPET_HZ / 1000); }

/* Halted, legacy replacement off, every comparator off and edge, status
 * clear, counter 0; and the chipset as legacy_reset leaves it. */
static void reset(void)
{
    legacy_reset(0);
    hpet_wr(CONFIG, 0);
    for (unsigned n = 0; n < 3; n++) {
        /* Everything off; the route is kept (the reset route 0 is not in
         * the capability, so a route once set cannot go back to it). */
        hpet_wr(TN(n), hpet_rd(TN(n)) & TN_ROUTE(0x1f));
        hpet_wr(TN_CMP(n), 0xffffffffu);
        hpet_wr(TN_CMP(n) + 4, 0xffffffffu);
    }
    hpet_wr(STATUS, 7);
    hpet_wr(COUNTER, 0);
    hpet_wr(COUNTER + 4, 0);
}

static int t_capabilities(char *why)
{
    reset();
    uint32_t cap = hpet_rd(CAP);
    CHECK(cap == 0x8086A201u,
          "capabilities 0x%x, expected 0x8086A201 (vendor 8086, legacy route, "
          "64-bit counter, 3 timers, rev 1)",
          cap);
    CHECK(hpet_rd(CAP + 4) == 10000000u, "period %u fs, expected 10000000 (100 MHz)", hpet_rd(CAP + 4));
    for (unsigned n = 0; n < 3; n++) {
        CHECK(hpet_rd(TN(n)) == 0x30,
              "timer %u config/caps low 0x%x, expected 0x30 (the reset "
              "value: the first group run)",
              n, hpet_rd(TN(n)));
        CHECK(hpet_rd(TN(n) + 4) == 0x00ff0104u, "timer %u route cap 0x%x, expected 0x00ff0104", n,
              hpet_rd(TN(n) + 4));
        CHECK(hpet_rd(TN_FSB(n)) == 0, "timer %u FSB route reads 0x%x", n, hpet_rd(TN_FSB(n)));
    }
    /* Halted: the counter stands still and takes writes. */
    hpet_wr(COUNTER, 0x12345678u);
    hpet_wr(COUNTER + 4, 0x9u);
    uint64_t t = rdtsc();
    while (rdtsc() - t < ms_ticks(1))
        ;
    CHECK(counter() == 0x912345678ull, "halted counter reads 0x%x%08x", hpet_rd(COUNTER + 4),
          hpet_rd(COUNTER));
    /* A byte read is not an HPET access the spec defines: it reads 0 (and
     * the hypervisor logs it) even where the register is not 0. */
    CHECK(*(volatile uint8_t *)HPET_BASE == 0, "a byte read of the capabilities returned data");
    return 0;
}

static int t_counter_rate(char *why)
{
    reset();
    hpet_wr(CONFIG, CFG_ENABLE);
    /* Each sample is bracketed by two TSC reads; the midpoints are compared. */
    uint64_t a0 = rdtsc(), c0 = counter(), b0 = rdtsc();
    uint64_t t = rdtsc();
    while (rdtsc() - t < ms_ticks(50))
        ;
    uint64_t a1 = rdtsc(), c1 = counter(), b1 = rdtsc();
    hpet_wr(CONFIG, 0);
    uint64_t measured = (a1 + b1) / 2 - (a0 + b0) / 2;
    uint64_t expected = hpet_to_tsc(c1 - c0);
    kprintf("# HPET counter advanced %u ticks; sample brackets %u and %u TSC ticks\n", (uint32_t)(c1 - c0),
            (uint32_t)(b0 - a0), (uint32_t)(b1 - a1));
    uint64_t diff = report_rate("HPET counter over 50 ms", measured, expected);
    CHECK(c1 > c0, "the counter did not advance");
    CHECK(diff * 1000 <= expected,
          "counter rate off by more than 0.1%% against the TSC "
          "(%u TSC ticks measured, %u expected)",
          (uint32_t)measured, (uint32_t)expected);
    return 0;
}

static int t_oneshot_ioapic(char *why)
{
    reset();
    ioapic_route(20, 0x58, 0);
    hpet_wr(TN(2), TN_INT_ENB | TN_ROUTE(20));
    hpet_wr(TN_CMP(2) + 4, 0);
    hpet_wr(TN_CMP(2), 100000); /* 1 ms after the start */
    uint64_t t0 = rdtsc();
    hpet_wr(CONFIG, CFG_ENABLE);
    CHECK(wait_irq(0x58, 1, ms_ticks(20)), "comparator 2 did not interrupt through IOAPIC pin 20");
    uint64_t took = irqlog.last_tsc[0x58] - t0, want = hpet_to_tsc(100000);
    CHECK(took >= want, "interrupt after %u TSC ticks, before the comparator's %u", (uint32_t)took,
          (uint32_t)want);
    CHECK(hpet_rd(STATUS) == 0, "edge-triggered comparator set status 0x%x", hpet_rd(STATUS));
    /* One-shot: quiet afterwards (evidence: the counter ran well past). */
    spin_irq(0x58, 2, ms_ticks(3));
    CHECK(counter() > 300000, "counter at %u", (uint32_t)counter());
    CHECK(irqlog.count[0x58] == 1, "one-shot delivered %u times", irqlog.count[0x58]);
    hpet_wr(CONFIG, 0);
    return 0;
}

static int t_periodic(char *why)
{
    const uint32_t period = 100000; /* 1 ms */
    reset();
    ioapic_route(21, 0x59, 0);
    /* Periodic with VAL_SET: the first write sets the comparator, the
     * second the period (Linux's sequence). 32-bit mode as Linux uses. */
    hpet_wr(TN(0), TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_32BIT | TN_ROUTE(21));
    hpet_wr(TN_CMP(0), period);
    hpet_wr(TN_CMP(0), period);
    hpet_wr(CONFIG, CFG_ENABLE);
    /* The handler stamps each arrival; the first and the 41st are kept. */
    CHECK(wait_irq(0x59, 1, ms_ticks(20)), "no periodic interrupt in 20 ms");
    uint64_t first = irqlog.last_tsc[0x59];
    wait_irq(0x59, 41, ms_ticks(200));
    uint64_t last = irqlog.last_tsc[0x59];
    uint32_t ticks = irqlog.count[0x59];
    hpet_wr(CONFIG, 0);
    CHECK(ticks >= 41, "%u periodic interrupts in 200 ms, expected 41", ticks);
    /* The last stamp is the last arrival's (41, or 42 if one more slipped
     * in before wait_irq's CLI). */
    uint64_t measured = last - first, expected = hpet_to_tsc((uint64_t)period * (ticks - 1));
    uint64_t diff = report_rate("HPET periodic: 40 periods", measured, expected);
    CHECK(diff * 100 <= expected, "%u periods took %u TSC ticks, expected %u (more than 1%% off)", ticks - 1,
          (uint32_t)measured, (uint32_t)expected);
    uint32_t cmp = hpet_rd(TN_CMP(0));
    CHECK(cmp % period == 0, "comparator 0x%x left the period grid", cmp);
    return 0;
}

static int pit_out0(uint32_t unused)
{
    (void)unused;
    return pit_out(0);
}

static int t_legacy_replacement(char *why)
{
    reset();
    ioapic_route(2, 0x5a, 0);
    ioapic_route(8, 0x5b, 0);
    ioapic_route(20, 0x5c, 0); /* timer 0's own route: unused in legacy mode */
    hpet_wr(TN(0), TN_INT_ENB | TN_ROUTE(20));
    hpet_wr(TN(1), TN_INT_ENB | TN_ROUTE(20));
    hpet_wr(TN_CMP(0) + 4, 0);
    hpet_wr(TN_CMP(0), 100000);
    hpet_wr(TN_CMP(1) + 4, 0);
    hpet_wr(TN_CMP(1), 200000);
    hpet_wr(CONFIG, CFG_ENABLE | CFG_LEGACY);
    CHECK(wait_irq(0x5a, 1, ms_ticks(20)), "comparator 0 did not reach IRQ 0 (IOAPIC pin 2)");
    CHECK(wait_irq(0x5b, 1, ms_ticks(20)), "comparator 1 did not reach IRQ 8 (IOAPIC pin 8)");
    CHECK(irqlog.count[0x5c] == 0, "legacy mode used the comparators' own route");
    /* The PIT is cut off from IRQ 0: its one-shot ends (OUT high) and
     * nothing arrives on pin 2. */
    pit_program(0, 0, 200);
    sti();
    int out = wait_until(pit_out0, 0, ms_ticks(20));
    spin_irq(0x5a, 2, ms_ticks(QUIET_MS));
    CHECK(out, "the PIT's one-shot never reached terminal count");
    CHECK(irqlog.count[0x5a] == 1, "the PIT reached IRQ 0 during legacy replacement");
    /* Control: legacy off, the PIT's next edge arrives. */
    hpet_wr(CONFIG, CFG_ENABLE);
    pit_program(0, 0, 200);
    CHECK(wait_irq(0x5a, 2, ms_ticks(20)), "the PIT did not come back on IRQ 0 after legacy mode");
    hpet_wr(CONFIG, 0);
    return 0;
}

static int t_level_status(char *why)
{
    reset();
    lapic_write(0xF0, 0x11FF); /* directed EOI: the handler's EOI is LAPIC-only */
    ioapic_route(22, 0x5d | LEVEL, 0);
    hpet_wr(TN(1), TN_INT_ENB | TN_LEVEL | TN_ROUTE(22));
    hpet_wr(TN_CMP(1) + 4, 0);
    hpet_wr(TN_CMP(1), 50000);
    hpet_wr(CONFIG, CFG_ENABLE);
    CHECK(wait_irq(0x5d, 1, ms_ticks(20)), "level comparator did not interrupt through pin 22");
    CHECK(hpet_rd(STATUS) == 2, "status 0x%x, expected timer 1's bit", hpet_rd(STATUS));
    CHECK(ioapic_read(0x10 + 2 * 22) & REMOTE_IRR, "remote IRR clear while in service");
    spin_irq(0x5d, 2, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x5d] == 1, "re-delivered %u times before the IOAPIC EOI", irqlog.count[0x5d]);
    /* Still asserted: the IOAPIC's EOI delivers again. */
    IOAPIC_EOI = 0x5d;
    CHECK(wait_irq(0x5d, 2, ms_ticks(20)), "EOI with the status set did not re-deliver");
    hpet_wr(STATUS, 0); /* 0 clears nothing */
    CHECK(hpet_rd(STATUS) == 2, "writing 0 changed status to 0x%x", hpet_rd(STATUS));
    hpet_wr(STATUS, 2); /* write 1 to clear: the line drops */
    CHECK(hpet_rd(STATUS) == 0, "status 0x%x after write-1-to-clear", hpet_rd(STATUS));
    IOAPIC_EOI = 0x5d;
    spin_irq(0x5d, 3, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x5d] == 2, "delivered %u times after the status was cleared", irqlog.count[0x5d]);
    CHECK(!(ioapic_read(0x10 + 2 * 22) & REMOTE_IRR), "remote IRR still set after the EOI");
    hpet_wr(CONFIG, 0);
    lapic_write(0xF0, 0x1FF);
    return 0;
}

/* A periodic comparator at the shortest period (1 tick, 10 ns): the
 * hypervisor holds a comparator that fired until the guest had 50 us of
 * its own time, as it holds the PIT (hostile group, pit_storm), so the
 * main loop still runs many iterations per interrupt. */
static int t_storm(char *why)
{
    reset();
    ioapic_route(23, 0x5e, 0);
    hpet_wr(TN(2), TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_32BIT | TN_ROUTE(23));
    hpet_wr(TN_CMP(2), 1);
    hpet_wr(TN_CMP(2), 1);
    uint32_t loops = 0;
    uint64_t t0 = rdtsc(), limit = ms_ticks(2000);
    hpet_wr(CONFIG, CFG_ENABLE);
    sti();
    while (irqlog.count[0x5e] < 200 && rdtsc() - t0 < limit)
        loops++;
    cli();
    hpet_wr(CONFIG, 0);
    uint32_t ticks = irqlog.count[0x5e];
    kprintf("# hpet storm: %u main-loop iterations, %u interrupts\n", loops, ticks);
    CHECK(ticks >= 200, "only %u interrupts in 2 s of guest time", ticks);
    CHECK(loops >= 100 * ticks,
          "%u main-loop iterations for %u interrupts: the guest hardly "
          "runs between them",
          loops, ticks);
    return 0;
}

/* 8-byte accesses, as a 64-bit guest makes them (longmode.asm). */
void lm_hpet_routine(void);
static int t_8byte(char *why)
{
    reset();
    memset(lm_results, 0xee, sizeof(lm_results));
    lm_call(long_mode_tables(), lm_hpet_routine);
    CHECK(lm_results[0] == 0x009896808086A201ull, "8-byte capabilities 0x%x%08x",
          (uint32_t)(lm_results[0] >> 32), (uint32_t)lm_results[0]);
    /* (The route earlier cases set is kept by reset.) */
    CHECK((lm_results[1] & ~(uint64_t)TN_ROUTE(0x1f)) == 0x00ff010400000030ull,
          "8-byte timer 0 config/caps 0x%x%08x", (uint32_t)(lm_results[1] >> 32), (uint32_t)lm_results[1]);
    CHECK(lm_results[2] == 0x0000000500000007ull, "8-byte counter store/load gave 0x%x%08x",
          (uint32_t)(lm_results[2] >> 32), (uint32_t)lm_results[2]);
    CHECK(counter() == 0x0000000500000007ull, "the counter reads 0x%x%08x with 4-byte loads",
          hpet_rd(COUNTER + 4), hpet_rd(COUNTER));
    CHECK(lm_results[3] == 0x000000123456789Aull, "8-byte comparator store/load gave 0x%x%08x",
          (uint32_t)(lm_results[3] >> 32), (uint32_t)lm_results[3]);
    CHECK(hpet_rd(TN_CMP(0) + 4) == 0x12, "comparator high half 0x%x", hpet_rd(TN_CMP(0) + 4));
    CHECK(lm_results[4] == 0, "a misaligned 8-byte load returned 0x%x%08x", (uint32_t)(lm_results[4] >> 32),
          (uint32_t)lm_results[4]);
    return 0;
}

static const struct test_case cases[] = {
    { "capabilities, timer caps, halted counter, a byte read", t_capabilities },
    { "main counter runs at 100 MHz against the TSC (0.1 %)", t_counter_rate },
    { "one-shot comparator through IOAPIC pin 20", t_oneshot_ioapic },
    { "periodic comparator (VAL_SET, 32-bit) at its period", t_periodic },
    { "legacy replacement: IRQ 0 and IRQ 8, the PIT cut off", t_legacy_replacement },
    { "level: status bit, remote IRR, write 1 to clear", t_level_status },
    { "8-byte accesses from 64-bit mode (one load, one store)", t_8byte },
    { "a comparator at a 10 ns period does not starve the guest", t_storm },
};

const struct test_group group_hpet = { "hpet", cases, sizeof(cases) / sizeof(cases[0]) };
