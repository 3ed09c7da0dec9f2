/* Group "pit": the virtual 8254 measured against the TSC (whose rate the
 * hypervisor reports in CPUID 0x40000010). IRQ 0 reaches the guest through
 * the vPIC at vector 0x20 (auto-EOI, so handlers need no EOI). */
#include "testos.h"

#define PIT_HZ 1193182u
#define V0     (PIC_MASTER_BASE + 0)

static void setup(void) { legacy_reset(1); }

/* TSC ticks for n PIT input clocks. */
static uint64_t pit_to_tsc(uint64_t clocks) { return div64(clocks * tsc_khz() * 1000, PIT_HZ); }

static volatile uint64_t tick_tsc[256];
static volatile uint32_t ticks;
static void hook_tick(uint32_t v)
{
    (void)v;
    if (ticks < 256)
        tick_tsc[ticks] = rdtsc();
    ticks++;
}

static int t_mode2_rate(char *why)
{
    const uint16_t count = 1193; /* 1000.15 Hz */
    setup();
    CHECK(tsc_khz() != 0, "CPUID 0x40000010 reports no TSC frequency");
    ticks = 0;
    irq_hook[V0] = hook_tick;
    pit_program(0, 2, count);
    outb(0x21, 0xfe);
    wait_irq(V0, 201, pit_to_tsc(count) * 400);
    irq_hook[V0] = 0;
    outb(0x21, 0xff);
    CHECK(ticks >= 201, "only %u ticks arrived", ticks);
    uint64_t measured = tick_tsc[200] - tick_tsc[0];
    uint64_t expected = pit_to_tsc((uint64_t)count * 200);
    uint64_t diff = report_rate("mode 2: 200 ticks", measured, expected);
    CHECK(diff * 100 <= expected, "200 ticks took %u TSC ticks, expected %u (more than 1%% off)",
          (uint32_t)measured, (uint32_t)expected);
    return 0;
}

static int t_mode0_oneshot(char *why)
{
    setup();
    outb(0x21, 0xfe);
    uint64_t t0 = rdtsc();
    pit_program(0, 0, 5966); /* 5 ms */
    CHECK(wait_irq(V0, 1, pit_to_tsc(5966) * 4), "mode 0 never fired");
    uint64_t took = irqlog.last_tsc[V0] - t0, want = pit_to_tsc(5966);
    CHECK(took * 100 >= want * 95, "fired after %u TSC ticks, expected at least %u", (uint32_t)took,
          (uint32_t)want);
    spin_irq(V0, 2, pit_to_tsc(5966) * 3); /* give a second one the chance to appear */
    CHECK(irqlog.count[V0] == 1, "mode 0 fired %u times", irqlog.count[V0]);
    outb(0x21, 0xff);
    return 0;
}

static uint16_t latch_read(unsigned ch)
{
    outb(0x43, (uint8_t)(ch << 6)); /* counter latch */
    uint8_t lo = inb((uint16_t)(0x40 + ch));
    uint8_t hi = inb((uint16_t)(0x40 + ch));
    return (uint16_t)(hi << 8 | lo);
}

static int t_latch_and_count_down(char *why)
{
    setup();
    pit_program(0, 2, 60000);
    uint16_t a = latch_read(0);
    uint64_t t = rdtsc();
    while (rdtsc() - t < pit_to_tsc(3000))
        ;
    uint16_t b = latch_read(0);
    CHECK(a <= 60000 && b < a, "counts %u then %u: not counting down", a, b);
    CHECK(a - b >= 2700 && a - b <= 3600, "counted %u clocks over ~3000", a - b);
    /* A latched value stays until read, even as time passes. */
    outb(0x43, 0x00);
    t = rdtsc();
    while (rdtsc() - t < pit_to_tsc(2000))
        ;
    uint8_t lo = inb(0x40), hi = inb(0x40);
    uint16_t c = (uint16_t)(hi << 8 | lo), d = latch_read(0);
    CHECK(c - d >= 1700, "latched %u then live %u: the latch did not hold", c, d);
    return 0;
}

static int t_readback_status(char *why)
{
    setup();
    pit_program(0, 2, 1000);
    outb(0x43, 0xE2); /* read-back: status only, channel 0 */
    uint8_t st = inb(0x40);
    CHECK((st & 0x3f) == 0x34, "status 0x%x: expected access 3, mode 2, binary (0x34)", st);
    outb(0x43, 0x10); /* channel 0, LSB only, mode 0 */
    outb(0x40, 0x80);
    outb(0x43, 0xC2); /* read-back: count and status */
    st = inb(0x40);
    uint8_t cnt = inb(0x40);
    CHECK((st & 0x3e) == 0x10, "status 0x%x: expected access 1, mode 0", st);
    CHECK(cnt <= 0x80, "LSB-only count read 0x%x after writing 0x80", cnt);
    return 0;
}

static int t_port61_gate_out2(char *why)
{
    setup();
    uint8_t p = inb(0x61);
    outb(0x61, (uint8_t)((p & ~0x03) | 0x01)); /* gate 2 on, speaker off */
    outb(0x43, 0xB0);                          /* channel 2, LSB+MSB, mode 0 */
    outb(0x42, 0x9b);
    outb(0x42, 0x2e); /* 11931 clocks = 10 ms */
    CHECK(!(inb(0x61) & 0x20), "OUT2 high right after the count was written");
    uint64_t t0 = rdtsc();
    uint32_t spins = 0;
    while (!(inb(0x61) & 0x20) && ++spins < 10000000)
        ;
    uint64_t took = rdtsc() - t0, want = pit_to_tsc(11931);
    outb(0x61, p);
    CHECK(spins < 10000000, "OUT2 never went high");
    uint64_t diff = took > want ? took - want : want - took;
    CHECK(diff * 100 <= want * 5, "OUT2 rose after %u TSC ticks, expected %u", (uint32_t)took,
          (uint32_t)want);
    return 0;
}

static int t_gate_low_stops_channel2(char *why)
{
    setup();
    uint8_t p = inb(0x61);
    outb(0x61, (uint8_t)(p & ~0x03)); /* gate 2 off */
    outb(0x43, 0xB0);
    outb(0x42, 0x10);
    outb(0x42, 0x00); /* 16 clocks */
    uint64_t t = rdtsc();
    while (rdtsc() - t < pit_to_tsc(200))
        ;
    int out_low = !(inb(0x61) & 0x20);
    outb(0x61, (uint8_t)((p & ~0x03) | 0x01));
    t = rdtsc();
    while (rdtsc() - t < pit_to_tsc(200))
        ;
    int out_high = (inb(0x61) & 0x20) != 0;
    outb(0x61, p);
    CHECK(out_low, "channel 2 counted with its gate low");
    CHECK(out_high, "channel 2 did not finish after the gate rose");
    return 0;
}

static int t_refresh_toggle(char *why)
{
    uint8_t a = inb(0x61) & 0x10, changed = 0;
    for (int i = 0; i < 100 && !changed; i++)
        changed = (inb(0x61) & 0x10) != a;
    CHECK(changed, "port 0x61 bit 4 (refresh) never toggles: polling loops would hang");
    return 0;
}

static const struct test_case cases[] = {
    { "mode 2 at 1 kHz: 200 ticks within 1% of the TSC", t_mode2_rate },
    { "mode 0 one-shot fires once, not early", t_mode0_oneshot },
    { "counter latch and count-down", t_latch_and_count_down },
    { "read-back command: status and count", t_readback_status },
    { "channel 2 gate and OUT2 on port 0x61", t_port61_gate_out2 },
    { "channel 2 waits for its gate", t_gate_low_stops_channel2 },
    { "port 0x61 refresh bit toggles", t_refresh_toggle },
};

const struct test_group group_pit = { "pit", cases, sizeof(cases) / sizeof(cases[0]) };
