/* libFuzzer target: the virtual HPET (irq/vhpet.c) on the real routing
 * layer, vPIC and vIOAPIC. The input is a TSC frequency choice, then a
 * list of operations: HPET reads and writes at register offsets (or any
 * offset of the page) with widths 1-8, IOAPIC redirection writes and EOIs
 * (so level lines meet remote IRR), clock advances of any size (saturating
 * so time stays monotonic), and vhpet_update, sometimes landing exactly on
 * the deadline it gave or one tick before. Broken invariants trap.
 *
 * Time stops at the TSC where the counter would have run 2^63 ticks from
 * the start: beyond that (2,900 years at 100 MHz, reachable here only with
 * a TSC slower than 200 MHz) the model's modular comparisons cannot
 * tell a comparator ahead from one lapped, which the hardware cannot
 * either. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../irq/vhpet.h"
#include "fuzz_input.h"

struct fuzz {
    uint64_t now, max;
    uint64_t delivered;
};

static uint64_t f_now(void *ctx) { return ((struct fuzz *)ctx)->now; }
static int f_deliver(void *ctx, uint8_t v, uint8_t m, uint8_t d, uint8_t l, uint8_t lv)
{
    (void)v;
    (void)m;
    (void)d;
    (void)l;
    (void)lv;
    ((struct fuzz *)ctx)->delivered++;
    return 1;
}

static void advance(struct fuzz *f, uint64_t d) { f->now = d > f->max - f->now ? f->max : f->now + d; }

static const uint16_t offsets[16] = {
    0x000, 0x004, 0x010, 0x014, 0x020, 0x0F0, 0x0F4, 0x100,
    0x104, 0x108, 0x10C, 0x110, 0x128, 0x120, 0x140, 0x148,
};
static const uint64_t freqs[8] = {
    3000000000ull, 2419200000ull, 200000000ull, VHPET_HZ, 1, 0, 100000000000ull, UINT64_MAX,
};

/* Events of the comparators (only those with INT_ENB, which alone set
 * deadlines, if int_enb). */
static uint64_t fired(const struct vhpet *h, int int_enb)
{
    uint64_t n = 0;
    for (int i = 0; i < VHPET_TIMERS; i++)
        if (!int_enb || (h->t[i].config & HPET_TN_INT_ENB))
            n += h->t[i].fired;
    return n;
}

static void check_state(const struct vhpet *h, const struct irq_chipset *c)
{
    if (h->isr & ~7ull)
        __builtin_trap();
    for (int i = 0; i < VHPET_TIMERS; i++) {
        const struct vhpet_timer *t = &h->t[i];
        int want = (t->config & HPET_TN_LEVEL) && (h->isr & (1u << i)) && (t->config & HPET_TN_INT_ENB) &&
                   (h->config & HPET_CFG_ENABLE);
        /* Only level-mode comparators keep a status bit. */
        if ((h->isr & (1u << i)) && !(t->config & HPET_TN_LEVEL))
            __builtin_trap();
        if (want != (t->asserted_gsi >= 0))
            __builtin_trap();
        if (t->asserted_gsi >= 0 && !(c->line[t->asserted_gsi] & (1u << t->source)))
            __builtin_trap();
        if (t->config & HPET_TN_32BIT && (t->cmp >> 32 || t->period >> 32))
            __builtin_trap();
        if (t->config & ~(uint64_t)0x3f4e)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct fuzz f;
    const struct irq_host host = { .ctx = &f, .now = f_now, .deliver = f_deliver };
    static struct irq_chipset c;
    static struct vhpet h;
    uint64_t hz, v, last_read = 0;
    int have_read = 0;
    uint8_t sel;

    memset(&f, 0, sizeof(f));
    sel = take8(&in);
    hz = sel & 0x80 ? take64(&in) : freqs[sel & 7];
    f.now = sel & 0x40 ? take64(&in) : 0;
    irq_chipset_init(&c, &host, hz, VIOAPIC_DEFAULT_BASE);
    if (vhpet_init(&h, &c, &host, hz))
        __builtin_trap();
    /* 2^63 counter ticks in TSC ticks (h.tsc_hz is the model's choice). */
    {
        uint64_t secs = (1ull << 63) / VHPET_HZ, span;

        span = h.tsc_hz > UINT64_MAX / secs ? UINT64_MAX : secs * h.tsc_hz;
        f.max = span > UINT64_MAX - f.now ? UINT64_MAX : f.now + span;
    }

    while (in.n) {
        uint8_t op = take8(&in);
        uint64_t off, d;
        unsigned sz;
        int rc, ok;

        switch (op & 7) {
        case 0:
        case 1:
            /* A write: a register offset (or any in the page), a width. */
            off = op & 0x80 ? (take8(&in) | (uint64_t)take8(&in) << 8) & 0xfff : offsets[take8(&in) & 15];
            sz = (op >> 3) & 7;
            sz = sz == 0 ? 4 : sz == 7 ? 8 : sz;
            v = take64(&in);
            ok = (sz == 4 || sz == 8) && !(off & (sz - 1)) && off < VHPET_MMIO_SIZE;
            rc = vhpet_mmio_write(&h, off, sz, v);
            if (!ok && rc != -1)
                __builtin_trap();
            if ((off & ~7ull) == HPET_COUNTER || (off & ~7ull) == HPET_CONFIG)
                have_read = 0; /* the counter may move back */
            break;
        case 2:
            off = op & 0x80 ? (take8(&in) | (uint64_t)take8(&in) << 8) & 0xfff : offsets[take8(&in) & 15];
            sz = (op >> 3) & 7;
            sz = sz == 0 ? 4 : sz == 7 ? 8 : sz;
            ok = (sz == 4 || sz == 8) && !(off & (sz - 1)) && off < VHPET_MMIO_SIZE;
            rc = vhpet_mmio_read(&h, off, sz, &v);
            if ((!ok && rc != -1) || (rc && v))
                __builtin_trap();
            if (ok && off == HPET_CAP && v != (sz == 8 ? 0x009896808086A201ull : 0x8086A201ull))
                __builtin_trap();
            if (ok && off == HPET_COUNTER && sz == 8) {
                /* While it runs untouched, the counter never goes back
                 * (it may wrap past 2^64 after a write put it near). */
                if (have_read && (int64_t)(v - last_read) < 0 && (h.config & HPET_CFG_ENABLE))
                    __builtin_trap();
                last_read = v;
                have_read = 1;
            }
            break;
        case 3: advance(&f, take8(&in) * (uint64_t)(op >> 3)); break;
        case 4: advance(&f, (uint64_t)take8(&in) << (take8(&in) & 63)); break;
        case 5: {
            /* An IOAPIC redirection entry, or an EOI. */
            uint8_t pin = take8(&in) % VIOAPIC_PINS;
            if (op & 0x80) {
                vioapic_eoi(&c.ioapic, take8(&in));
            } else {
                vioapic_mmio_write(&c.ioapic, 0, 0x10 + 2 * pin);
                vioapic_mmio_write(&c.ioapic, 0x10, (uint32_t)take64(&in));
            }
            break;
        }
        case 6:
            /* Land one tick before the deadline (nothing may fire), then on
             * it (something must). */
            d = vhpet_next_deadline(&h);
            if (d && d > f.now && d <= f.max) {
                uint64_t before = fired(&h, 1);
                f.now = d - 1;
                vhpet_update(&h);
                if (fired(&h, 1) != before)
                    __builtin_trap();
                f.now = d;
                vhpet_update(&h);
                if (fired(&h, 1) == before)
                    __builtin_trap();
            }
            /* fall through */
        default:
            d = vhpet_update(&h);
            if (d && d <= f.now)
                __builtin_trap();
            {
                uint64_t i = h.interrupts, n = fired(&h, 0);
                if (vhpet_update(&h) != d || h.interrupts != i || fired(&h, 0) != n)
                    __builtin_trap();
            }
            break;
        }
        check_state(&h, &c);
    }
    return 0;
}
