/* Unit tests: the virtual HPET (irq/vhpet.c) on the real routing layer,
 * vPIC and vIOAPIC, driven by a fake clock; deliveries are recorded at the
 * host's deliver callback (the vIOAPIC's messages). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../irq/vhpet.h"

#define HZ_EXACT   3000000000ull /* 30 TSC ticks per counter tick */
#define HZ_INEXACT 2419200000ull /* 24.192 ticks per counter tick (Bochs tigerlake's claim) */

struct rec {
    uint64_t now;
    int n;
    uint8_t vectors[256];
    uint8_t level[256];
};
static struct rec rec;
static uint64_t now_cb(void *ctx) { return ((struct rec *)ctx)->now; }
static int deliver_cb(void *ctx, uint8_t v, uint8_t m, uint8_t d, uint8_t l, uint8_t lv)
{
    struct rec *r = ctx;
    (void)m;
    (void)d;
    (void)l;
    if (r->n < 256) {
        r->vectors[r->n] = v;
        r->level[r->n] = lv;
    }
    r->n++;
    return 1;
}
static const struct irq_host host = { &rec, now_cb, NULL, deliver_cb, NULL, NULL };
static struct irq_chipset c;
static struct vhpet h;

static void init_hz(uint64_t hz)
{
    memset(&rec, 0, sizeof(rec));
    irq_chipset_init(&c, &host, hz, VIOAPIC_DEFAULT_BASE);
    assert_int_equal(vhpet_init(&h, &c, &host, hz), 0);
}

static int setup(void **s)
{
    (void)s;
    init_hz(HZ_EXACT);
    return 0;
}

static uint64_t rd(uint64_t off, unsigned size)
{
    uint64_t v = 0xdead;
    assert_int_equal(vhpet_mmio_read(&h, off, size, &v), 0);
    return v;
}

static void wr(uint64_t off, unsigned size, uint64_t v)
{
    assert_int_equal(vhpet_mmio_write(&h, off, size, v), 0);
}

static void route_pin(unsigned pin, uint32_t low)
{
    vioapic_mmio_write(&c.ioapic, 0, 0x11 + 2 * pin);
    vioapic_mmio_write(&c.ioapic, 0x10, 0);
    vioapic_mmio_write(&c.ioapic, 0, 0x10 + 2 * pin);
    vioapic_mmio_write(&c.ioapic, 0x10, low);
}

static uint64_t tn_route(unsigned pin) { return (uint64_t)pin << HPET_TN_ROUTE_SHIFT; }

/* Comparator n routed to IOAPIC pin `pin` (redirection entry low word
 * iored), Tn_CONF cfg, comparator cmp; the counter started at TSC 0. */
static void start(int n, unsigned pin, uint32_t iored, uint64_t cfg, uint64_t cmp)
{
    route_pin(pin, iored);
    wr(HPET_TIMER(n), 4, cfg | tn_route(pin));
    wr(HPET_TIMER(n) + HPET_TN_COMPARATOR, 8, cmp);
    rec.now = 0;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
}

/* Time to the TSC at which the counter has advanced k ticks since t0. */
static void at_tick(uint64_t t0, uint64_t k) { rec.now = t0 + k * (HZ_EXACT / VHPET_HZ); }

static void test_capabilities(void **s)
{
    (void)s;
    /* Vendor 8086, LEG_RT_CAP, COUNT_SIZE_CAP, NUM_TIM_CAP 2, rev 1,
     * period 10^7 fs (100 MHz). */
    assert_int_equal(rd(HPET_CAP, 8), 0x009896808086A201ull);
    assert_int_equal(rd(HPET_CAP, 4), 0x8086A201u);
    assert_int_equal(rd(HPET_CAP + 4, 4), 10000000u);
    assert_int_equal(rd(HPET_CONFIG, 8), 0);
    assert_int_equal(rd(HPET_STATUS, 8), 0);
    assert_int_equal(rd(HPET_COUNTER, 8), 0);
    for (int n = 0; n < VHPET_TIMERS; n++) {
        /* Periodic- and 64-bit-capable, no FSB, route cap 2, 8, 16-23. */
        assert_int_equal(rd(HPET_TIMER(n), 8), 0x00ff010400000030ull);
        assert_int_equal(rd(HPET_TIMER(n) + 4, 4), VHPET_ROUTE_CAP);
        assert_int_equal(rd(HPET_TIMER(n) + HPET_TN_COMPARATOR, 8), UINT64_MAX);
        assert_int_equal(rd(HPET_TIMER(n) + HPET_TN_FSB, 8), 0);
    }
    /* Read-only: capabilities, the capability half of Tn_CONF, FSB_EN. */
    wr(HPET_CAP, 8, 0);
    assert_int_equal(rd(HPET_CAP, 4), 0x8086A201u);
    /* All ones: route 31 is beyond the capability (refused, route kept at
     * 0); every other writable bit sticks, FSB_EN (bit 14) does not. */
    assert_int_equal(vhpet_mmio_write(&h, HPET_TIMER(1), 8, ~0ull), -1);
    assert_int_equal(rd(HPET_TIMER(1), 8), 0x00ff01040000017eull);
    wr(HPET_TIMER(1) + HPET_TN_FSB, 8, ~0ull);
    assert_int_equal(rd(HPET_TIMER(1) + HPET_TN_FSB, 8), 0);
    assert_int_equal(vhpet_next_deadline(&h), 0);
}

static void test_counter_rate_exact(void **s)
{
    (void)s;
    rec.now = 1000;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    rec.now = 1000 + HZ_EXACT; /* one second */
    assert_int_equal(rd(HPET_COUNTER, 8), VHPET_HZ);
    rec.now += 29;
    assert_int_equal(rd(HPET_COUNTER, 8), VHPET_HZ);
    rec.now += 1;
    assert_int_equal(rd(HPET_COUNTER, 4), VHPET_HZ + 1);
    assert_int_equal(rd(HPET_COUNTER + 4, 4), 0);
    /* A clock read before the enable counts as no time. */
    rec.now = 0;
    assert_int_equal(rd(HPET_COUNTER, 8), 0);
}

static void test_counter_rate_inexact(void **s)
{
    (void)s;
    init_hz(HZ_INEXACT);
    rec.now = 77;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    rec.now = 77 + HZ_INEXACT;
    assert_int_equal(rd(HPET_COUNTER, 8), VHPET_HZ);
    rec.now = 77 + 24192; /* exactly 1000 ticks */
    assert_int_equal(rd(HPET_COUNTER, 8), 1000);
    rec.now--;
    assert_int_equal(rd(HPET_COUNTER, 8), 999);
    /* A day: no overflow, still exact. */
    rec.now = 77 + HZ_INEXACT * 86400ull + 24192;
    assert_int_equal(rd(HPET_COUNTER, 8), VHPET_HZ * 86400ull + 1000);
}

static void test_counter_write_while_halted(void **s)
{
    (void)s;
    wr(HPET_COUNTER, 4, 0x11111111u);
    wr(HPET_COUNTER + 4, 4, 0x22222222u);
    assert_int_equal(rd(HPET_COUNTER, 8), 0x2222222211111111ull);
    wr(HPET_COUNTER, 8, 0x0000000500000000ull);
    rec.now = 5000;
    assert_int_equal(rd(HPET_COUNTER, 8), 0x0000000500000000ull); /* halted: no counting */
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    rec.now = 5000 + 300;
    assert_int_equal(rd(HPET_COUNTER, 8), 0x0000000500000000ull + 10);
    /* Running: a write is refused (the spec allows it only while halted). */
    assert_int_equal(vhpet_mmio_write(&h, HPET_COUNTER, 8, 0), -1);
    assert_int_equal(rd(HPET_COUNTER, 8), 0x0000000500000000ull + 10);
    /* Halting keeps the value; resuming continues from it. */
    rec.now = 5000 + 600;
    wr(HPET_CONFIG, 4, 0);
    rec.now = 9000000;
    assert_int_equal(rd(HPET_COUNTER, 8), 0x0000000500000000ull + 20);
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    rec.now += 30;
    assert_int_equal(rd(HPET_COUNTER, 8), 0x0000000500000000ull + 21);
}

static void test_oneshot_edge_ioapic(void **s)
{
    (void)s;
    route_pin(20, 0x51);
    wr(HPET_TIMER(0), 4, HPET_TN_INT_ENB | tn_route(20));
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8, 1000);
    assert_int_equal(vhpet_next_deadline(&h), 0); /* halted */
    rec.now = 100;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    assert_int_equal(vhpet_next_deadline(&h), 100 + 1000 * 30);
    at_tick(100, 999);
    rec.now += 29;
    assert_int_equal(vhpet_update(&h), 100 + 1000 * 30);
    assert_int_equal(rec.n, 0);
    at_tick(100, 1000);
    assert_int_equal(vhpet_update(&h), 0); /* one-shot: spent */
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.vectors[0], 0x51);
    assert_int_equal(rd(HPET_STATUS, 8), 0); /* edge: no status */
    at_tick(100, 5000);
    vhpet_update(&h);
    assert_int_equal(rec.n, 1);
    /* Rearmed by a comparator write, now 64-bit in the future. */
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8, 6000);
    assert_int_equal(vhpet_next_deadline(&h), 100 + 6000 * 30);
    /* Interrupt disabled: no deadline, no interrupt. */
    wr(HPET_TIMER(0), 4, tn_route(20));
    assert_int_equal(vhpet_next_deadline(&h), 0);
    at_tick(100, 7000);
    vhpet_update(&h);
    assert_int_equal(rec.n, 1);
    assert_int_equal(h.t[0].fired, 2); /* it ran all the same */
}

static void test_comparator_equal_fires_behind_waits(void **s)
{
    (void)s;
    route_pin(16, 0x52);
    wr(HPET_TIMER(2), 4, HPET_TN_INT_ENB | tn_route(16));
    rec.now = 0;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    at_tick(0, 500);
    wr(HPET_TIMER(2) + HPET_TN_COMPARATOR, 8, 500); /* equal: fires now */
    assert_int_equal(rec.n, 1);
    wr(HPET_TIMER(2) + HPET_TN_COMPARATOR, 8, 499); /* behind: 2^64 ticks away */
    assert_int_equal(vhpet_next_deadline(&h), 0);
    at_tick(0, 1000000);
    vhpet_update(&h);
    assert_int_equal(rec.n, 1);
}

static void test_periodic_val_set(void **s)
{
    (void)s;
    route_pin(21, 0x53);
    wr(HPET_TIMER(1), 4, HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_VAL_SET | tn_route(21));
    wr(HPET_TIMER(1) + HPET_TN_COMPARATOR, 8, 500);              /* comparator (and period) */
    assert_int_equal(rd(HPET_TIMER(1), 4) & HPET_TN_VAL_SET, 0); /* clears itself */
    wr(HPET_TIMER(1) + HPET_TN_COMPARATOR, 8, 1000);             /* the period only */
    assert_int_equal(rd(HPET_TIMER(1) + HPET_TN_COMPARATOR, 8), 500);
    rec.now = 0;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    assert_int_equal(vhpet_next_deadline(&h), 500 * 30);
    at_tick(0, 500);
    assert_int_equal(vhpet_update(&h), 1500 * 30);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rd(HPET_TIMER(1) + HPET_TN_COMPARATOR, 8), 1500);
    at_tick(0, 1499);
    vhpet_update(&h);
    assert_int_equal(rec.n, 1);
    at_tick(0, 1500);
    vhpet_update(&h);
    assert_int_equal(rec.n, 2);
    /* Late by 9 periods and a bit: one interrupt, 8 dropped, the comparator
     * on the period grid. */
    at_tick(0, 10700);
    assert_int_equal(vhpet_update(&h), 11500 * 30);
    assert_int_equal(rec.n, 3);
    assert_int_equal(h.dropped, 8);
    assert_int_equal(rd(HPET_TIMER(1) + HPET_TN_COMPARATOR, 8), 11500);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rec.vectors[i], 0x53);
    /* Without VAL_SET a write changes the period, not the comparator. */
    wr(HPET_TIMER(1) + HPET_TN_COMPARATOR, 8, 100);
    assert_int_equal(rd(HPET_TIMER(1) + HPET_TN_COMPARATOR, 8), 11500);
    at_tick(0, 11500);
    assert_int_equal(vhpet_update(&h), 11600 * 30);
}

static void test_32bit_mode(void **s)
{
    (void)s;
    route_pin(17, 0x54);
    /* 32-bit mode: the comparator has no high half. */
    wr(HPET_TIMER(0), 4, HPET_TN_INT_ENB | HPET_TN_32BIT | tn_route(17));
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8, 0x123456789ull);
    assert_int_equal(rd(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8), 0x23456789u);
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR + 4, 4, 0xffffffffu);
    assert_int_equal(rd(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8), 0x23456789u);
    /* One-shot: the low half's wrap fires first, then the match. */
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 4, 0x100);
    wr(HPET_COUNTER, 8, 0x7ffffff00ull);
    rec.now = 0;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    assert_int_equal(vhpet_next_deadline(&h), 0x100 * 30);
    at_tick(0, 0xff);
    vhpet_update(&h);
    assert_int_equal(rec.n, 0);
    at_tick(0, 0x100); /* counter 0x800000000 */
    assert_int_equal(vhpet_update(&h), 0x200 * 30);
    assert_int_equal(rec.n, 1);
    at_tick(0, 0x200); /* counter 0x800000100 */
    assert_int_equal(vhpet_update(&h), 0);
    assert_int_equal(rec.n, 2);
    /* Periodic 32-bit: the comparator accumulates modulo 2^32. (One tick
     * on first: a comparator equal to the counter would fire at once.) */
    at_tick(0, 0x201);
    wr(HPET_TIMER(0), 4, HPET_TN_INT_ENB | HPET_TN_32BIT | HPET_TN_PERIODIC | HPET_TN_VAL_SET | tn_route(17));
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 4, 0xfffffff0u);
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 4, 0x20);
    at_tick(0, 0x1000000efull); /* counter 0x8ffffffef */
    vhpet_update(&h);
    assert_int_equal(rec.n, 2);
    at_tick(0, 0x1000000f0ull); /* counter 0x8fffffff0 */
    vhpet_update(&h);
    assert_int_equal(rec.n, 3);
    assert_int_equal(rd(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8), 0x10);
    at_tick(0, 0x100000110ull); /* counter 0x900000010 */
    vhpet_update(&h);
    assert_int_equal(rec.n, 4);
    assert_int_equal(rd(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8), 0x30);
    /* Leaving 32-bit mode keeps the (32-bit) comparator value. */
    wr(HPET_TIMER(0), 4, HPET_TN_INT_ENB | HPET_TN_PERIODIC | tn_route(17));
    assert_int_equal(rd(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8), 0x30);
}

static void test_level_status(void **s)
{
    (void)s;
    start(2, 22, 0x55 | IOREDTBL_LEVEL, HPET_TN_INT_ENB | HPET_TN_LEVEL, 100);
    at_tick(0, 100);
    vhpet_update(&h);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.level[0], 1);
    assert_int_equal(rd(HPET_STATUS, 8), 4);
    assert_true(c.ioapic.redtbl[22] & IOREDTBL_REMOTE_IRR);
    /* Still asserted: an EOI delivers again; writing 0 clears nothing. */
    vioapic_eoi(&c.ioapic, 0x55);
    assert_int_equal(rec.n, 2);
    wr(HPET_STATUS, 8, 0);
    assert_int_equal(rd(HPET_STATUS, 8), 4);
    /* Write 1 to clear: the line drops, the next EOI is quiet. */
    wr(HPET_STATUS, 4, 4);
    assert_int_equal(rd(HPET_STATUS, 8), 0);
    assert_int_equal(c.line[22], 0);
    vioapic_eoi(&c.ioapic, 0x55);
    assert_int_equal(rec.n, 2);
    assert_false(c.ioapic.redtbl[22] & IOREDTBL_REMOTE_IRR);
    /* INT_ENB clear: the status bit still sets (spec), no interrupt. */
    wr(HPET_TIMER(2), 4, HPET_TN_LEVEL | tn_route(22));
    wr(HPET_TIMER(2) + HPET_TN_COMPARATOR, 8, 200);
    at_tick(0, 200);
    assert_int_equal(rd(HPET_STATUS, 8), 4);
    assert_int_equal(rec.n, 2);
    assert_int_equal(c.line[22], 0);
    /* Enabling the interrupt with the status set asserts the line. */
    wr(HPET_TIMER(2), 4, HPET_TN_INT_ENB | HPET_TN_LEVEL | tn_route(22));
    assert_int_equal(rec.n, 3);
    /* Halting the counter drops the line but keeps the status. */
    wr(HPET_CONFIG, 4, 0);
    assert_int_equal(c.line[22], 0);
    assert_int_equal(rd(HPET_STATUS, 8), 4);
    /* Edge mode has no status: switching clears it. */
    wr(HPET_TIMER(2), 4, HPET_TN_INT_ENB | tn_route(22));
    assert_int_equal(rd(HPET_STATUS, 8), 0);
}

static void test_edge_no_status(void **s)
{
    (void)s;
    start(1, 23, 0x56, HPET_TN_INT_ENB, 10);
    at_tick(0, 10);
    vhpet_update(&h);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.level[0], 0);
    assert_int_equal(rd(HPET_STATUS, 8), 0);
    assert_int_equal(c.line[23], 0); /* a pulse: the line is low again */
}

static void test_routes(void **s)
{
    (void)s;
    static const unsigned pins[] = { 2, 8, 16, 17, 18, 19, 20, 21, 22, 23 };
    /* The reset route 0 is outside the capability but may be written back. */
    wr(HPET_TIMER(2), 4, 0);
    rec.now = 0;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    for (unsigned i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
        route_pin(pins[i], 0x60 + pins[i]);
    for (unsigned i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
        int n = (int)(i % VHPET_TIMERS);
        wr(HPET_TIMER(n), 4, HPET_TN_INT_ENB | tn_route(pins[i]));
        assert_int_equal((rd(HPET_TIMER(n), 4) >> 9) & 0x1f, pins[i]);
        at_tick(0, 100 * (i + 1));
        wr(HPET_TIMER(n) + HPET_TN_COMPARATOR, 8, 100 * (i + 1));
        assert_int_equal(rec.n, (int)i + 1);
        assert_int_equal(rec.vectors[i], 0x60 + pins[i]);
    }
    /* A route outside the capability reads back unchanged and is refused. */
    assert_int_equal(vhpet_mmio_write(&h, HPET_TIMER(0), 4, HPET_TN_INT_ENB | tn_route(5)), -1);
    assert_int_equal((rd(HPET_TIMER(0), 4) >> 9) & 0x1f, 23); /* pins[9]'s */
    assert_int_equal(rd(HPET_TIMER(0), 4) & HPET_TN_INT_ENB, HPET_TN_INT_ENB);
    assert_int_equal(h.bad_accesses, 1);
}

static void test_legacy_replacement(void **s)
{
    (void)s;
    int rtc = irq_source_alloc(&c);
    c.legacy_sources |= 1u << rtc;
    route_pin(2, 0x70);
    route_pin(8, 0x78 | IOREDTBL_LEVEL);
    route_pin(20, 0x7a);
    /* Before: the PIT and the RTC reach their pins. */
    assert_int_equal(irq_set(&c, IRQ_SOURCE_PIT, 0, 1), IRQ_DELIVERED);
    irq_set(&c, IRQ_SOURCE_PIT, 0, 0);
    assert_int_equal(irq_set(&c, rtc, 8, 1), IRQ_DELIVERED);
    assert_int_equal(rec.n, 2);
    vioapic_eoi(&c.ioapic, 0x78); /* still high: again */
    assert_int_equal(rec.n, 3);
    /* Legacy on: the RTC's line is dropped and both sources are cut off. */
    wr(HPET_TIMER(0), 4, HPET_TN_INT_ENB | tn_route(20)); /* route ignored in legacy mode */
    wr(HPET_TIMER(1), 4, HPET_TN_INT_ENB | tn_route(20));
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8, 100);
    wr(HPET_TIMER(1) + HPET_TN_COMPARATOR, 8, 200);
    rec.now = 0;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE | HPET_CFG_LEGACY);
    assert_true(vhpet_legacy(&h));
    assert_int_equal(c.line[8], 0);
    vioapic_eoi(&c.ioapic, 0x78);
    assert_int_equal(rec.n, 3);
    assert_int_equal(irq_set(&c, IRQ_SOURCE_PIT, 0, 1), IRQ_MASKED);
    irq_set(&c, IRQ_SOURCE_PIT, 0, 0);
    assert_int_equal(rec.n, 3);
    /* Comparator 0 drives ISA IRQ 0: IOAPIC pin 2 and 8259 pin 0. */
    at_tick(0, 100);
    vhpet_update(&h);
    assert_int_equal(rec.n, 4);
    assert_int_equal(rec.vectors[3], 0x70);
    assert_true(c.pic.chip[0].irr & 1);
    /* Comparator 1 drives IRQ 8. */
    at_tick(0, 200);
    vhpet_update(&h);
    assert_int_equal(rec.n, 5);
    assert_int_equal(rec.vectors[4], 0x78);
    assert_true(c.pic.chip[1].irr & 1);
    /* Legacy off: the RTC, still asserting, is back on its line; the
     * comparators follow their own routes again. */
    vioapic_eoi(&c.ioapic, 0x78);
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    assert_false(vhpet_legacy(&h));
    assert_int_equal(c.line[8], 1u << rtc);
    assert_int_equal(rec.n, 6);
    assert_int_equal(rec.vectors[5], 0x78);
    assert_int_equal(irq_set(&c, IRQ_SOURCE_PIT, 0, 1), IRQ_DELIVERED);
    irq_set(&c, IRQ_SOURCE_PIT, 0, 0);
    assert_int_equal(rec.n, 7);
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8, 300);
    at_tick(0, 300);
    vhpet_update(&h);
    assert_int_equal(rec.n, 8);
    assert_int_equal(rec.vectors[7], 0x7a);
}

static void test_bad_accesses(void **s)
{
    (void)s;
    static const struct {
        uint64_t off;
        unsigned size;
    } bad[] = {
        { HPET_CAP, 1 }, { HPET_CAP, 2 }, { HPET_COUNTER + 1, 4 },     { HPET_COUNTER + 4, 8 }, { 0x008, 4 },
        { 0x018, 8 },    { 0x0E0, 4 },    { HPET_TIMER(0) + 0x18, 8 }, { HPET_TIMER(3), 4 },    { 0x3F8, 8 },
        { 0x400, 4 },    { 0xFFC, 4 },    { HPET_CONFIG, 3 },
    };
    uint64_t v;
    unsigned n = sizeof(bad) / sizeof(bad[0]);

    wr(HPET_COUNTER, 8, 0x1234);
    for (unsigned i = 0; i < n; i++) {
        v = 0xdead;
        assert_int_equal(vhpet_mmio_read(&h, bad[i].off, bad[i].size, &v), -1);
        assert_int_equal(v, 0);
        assert_int_equal(vhpet_mmio_write(&h, bad[i].off, bad[i].size, ~0ull), -1);
    }
    assert_int_equal(h.bad_accesses, 2 * n);
    /* Nothing changed. */
    assert_int_equal(rd(HPET_CONFIG, 8), 0);
    assert_int_equal(rd(HPET_COUNTER, 8), 0x1234);
    assert_int_equal(rd(HPET_TIMER(0), 8), 0x00ff010400000030ull);
    /* The high halves of 8-byte registers answer 4-byte accesses. */
    assert_int_equal(rd(HPET_CONFIG + 4, 4), 0);
    assert_int_equal(rd(HPET_STATUS + 4, 4), 0);
}

static void test_can_interrupt(void **s)
{
    (void)s;
    start(0, 18, IOREDTBL_MASKED, HPET_TN_INT_ENB, 100);
    assert_int_not_equal(vhpet_next_deadline(&h), 0);
    assert_false(vhpet_can_interrupt(&h)); /* pin 18 masked */
    route_pin(18, 0x40);
    assert_true(vhpet_can_interrupt(&h));
}

/* The deadline is the first TSC at which the counter has reached the
 * comparator, also when ticks do not divide evenly. */
static void test_deadline_exact_inexact(void **s)
{
    (void)s;
    init_hz(HZ_INEXACT);
    route_pin(19, 0x41);
    wr(HPET_TIMER(0), 4, HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_VAL_SET | tn_route(19));
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8, 12345);
    wr(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8, 777);
    rec.now = 999;
    wr(HPET_CONFIG, 4, HPET_CFG_ENABLE);
    for (int i = 0; i < 50; i++) {
        uint64_t d = vhpet_next_deadline(&h), cmp = rd(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8);
        rec.now = d - 1;
        assert_int_equal(rd(HPET_COUNTER, 8), cmp - 1);
        vhpet_update(&h);
        assert_int_equal(rec.n, i);
        rec.now = d;
        assert_int_equal(rd(HPET_COUNTER, 8), cmp);
        assert_int_equal(rec.n, i + 1); /* the read brought it up */
        assert_int_equal(rd(HPET_TIMER(0) + HPET_TN_COMPARATOR, 8), cmp + 777);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_capabilities, setup),
        cmocka_unit_test_setup(test_counter_rate_exact, setup),
        cmocka_unit_test_setup(test_counter_rate_inexact, setup),
        cmocka_unit_test_setup(test_counter_write_while_halted, setup),
        cmocka_unit_test_setup(test_oneshot_edge_ioapic, setup),
        cmocka_unit_test_setup(test_comparator_equal_fires_behind_waits, setup),
        cmocka_unit_test_setup(test_periodic_val_set, setup),
        cmocka_unit_test_setup(test_32bit_mode, setup),
        cmocka_unit_test_setup(test_level_status, setup),
        cmocka_unit_test_setup(test_edge_no_status, setup),
        cmocka_unit_test_setup(test_routes, setup),
        cmocka_unit_test_setup(test_legacy_replacement, setup),
        cmocka_unit_test_setup(test_bad_accesses, setup),
        cmocka_unit_test_setup(test_can_interrupt, setup),
        cmocka_unit_test_setup(test_deadline_exact_inexact, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
