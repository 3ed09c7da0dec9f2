/* Virtual HPET; see vhpet.h for what is modelled and why.
 *
 * Time: counter = counter_at_base + floor((now - base_tsc) * VHPET_HZ /
 * tsc_hz), split into whole seconds and a remainder so that every product
 * fits in 64 bits (tsc_hz is at most 100 GHz), exact and without floating
 * point. Each comparator keeps the counter value of its next event (next);
 * events are found by comparing with the counter in 64-bit modular
 * arithmetic, so only "before or after, within 2^63 ticks" matters. */
#include "vhpet.h"

#include <stddef.h>
#include <string.h>

#define HPET_MAX_TSC_HZ 100000000000ull /* 100 GHz: keeps r * VHPET_HZ < 2^64 */
#define HPET_CFG_WMASK  (HPET_CFG_ENABLE | HPET_CFG_LEGACY)
/* Tn_CONF bits software may write: INT_TYPE, INT_ENB, TYPE, VAL_SET,
 * 32MODE, INT_ROUTE (FSB_EN stays 0: no FSB delivery offered). */
#define HPET_TN_WMASK                                                                       \
    (HPET_TN_LEVEL | HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_VAL_SET | HPET_TN_32BIT | \
     HPET_TN_ROUTE_MASK)
#define HPET_TN_CAPS (HPET_TN_PER_CAP | HPET_TN_SIZE_CAP)

#define LOW32  0x00000000ffffffffull
#define HIGH32 0xffffffff00000000ull

static uint64_t host_now(const struct vhpet *h)
{
    return h->host && h->host->now ? h->host->now(h->host->ctx) : 0;
}

static int enabled(const struct vhpet *h) { return (h->config & HPET_CFG_ENABLE) != 0; }

/* Counter ticks in d TSC ticks: floor(d * VHPET_HZ / tsc_hz). */
static uint64_t ticks_in(const struct vhpet *h, uint64_t d)
{
    return d / h->tsc_hz * VHPET_HZ + d % h->tsc_hz * VHPET_HZ / h->tsc_hz;
}

/* TSC ticks until k counter ticks have passed: ceil(k * tsc_hz / VHPET_HZ),
 * the smallest d with ticks_in(d) >= k; UINT64_MAX if beyond 64 bits. */
static uint64_t tsc_for(const struct vhpet *h, uint64_t k)
{
    uint64_t q = k / VHPET_HZ, r = k % VHPET_HZ, whole, part;

    if (q > UINT64_MAX / h->tsc_hz)
        return UINT64_MAX;
    whole = q * h->tsc_hz;
    part = (r * h->tsc_hz + VHPET_HZ - 1) / VHPET_HZ;
    return part > UINT64_MAX - whole ? UINT64_MAX : whole + part;
}

static uint64_t counter_at(const struct vhpet *h, uint64_t now)
{
    if (!enabled(h) || now <= h->base_tsc)
        return h->counter;
    return h->counter + ticks_in(h, now - h->base_tsc);
}

/* Has the counter, moving from h->synced to c, reached the comparator's
 * next event? Distances are taken forward from h->synced, where every event
 * is aimed from, so a comparator just behind the counter waits for the
 * counter to come round again, as the hardware's equality test does. */
static int due(const struct vhpet *h, const struct vhpet_timer *t, uint64_t c)
{
    return t->armed && t->next - h->synced <= c - h->synced;
}

/* The routing entry (irq_set's gsi) a comparator drives now. */
static unsigned route_of(const struct vhpet *h, int n)
{
    const struct vhpet_timer *t = &h->t[n];
    unsigned pin;

    if ((h->config & HPET_CFG_LEGACY) && n < 2)
        return n == 0 ? 0 : 8;
    pin = (unsigned)((t->config & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT);
    return pin == 2 ? 0 : pin; /* IOAPIC pin 2 is routing entry 0's (ISA IRQ 0) */
}

static int int_enabled(const struct vhpet *h, const struct vhpet_timer *t)
{
    return enabled(h) && (t->config & HPET_TN_INT_ENB);
}

/* A level-mode comparator holds its line while its status bit, INT_ENB and
 * ENABLE_CNF are set; follows route changes (legacy mode, INT_ROUTE). */
static void refresh_line(struct vhpet *h, int n)
{
    struct vhpet_timer *t = &h->t[n];
    int want = -1;

    if ((t->config & HPET_TN_LEVEL) && (h->isr & (1u << n)) && int_enabled(h, t))
        want = (int)route_of(h, n);
    if (want == t->asserted_gsi)
        return;
    if (t->asserted_gsi >= 0)
        irq_set(h->irq, t->source, (unsigned)t->asserted_gsi, 0);
    t->asserted_gsi = want;
    if (want >= 0) {
        irq_set(h->irq, t->source, (unsigned)want, 1);
        h->interrupts++;
    }
}

static void refresh_lines(struct vhpet *h)
{
    for (int n = 0; n < VHPET_TIMERS; n++)
        refresh_line(h, n);
}

/* The comparator reached its match (or a 32-bit one-shot its wrap). */
static void fire(struct vhpet *h, int n)
{
    struct vhpet_timer *t = &h->t[n];

    t->fired++;
    if (t->config & HPET_TN_LEVEL) {
        h->isr |= 1u << n;
        refresh_line(h, n);
        return;
    }
    if (int_enabled(h, t)) {
        unsigned gsi = route_of(h, n);

        irq_set(h->irq, t->source, gsi, 1);
        irq_set(h->irq, t->source, gsi, 0);
        h->interrupts++;
    }
}

/* Aims the comparator at its next event from counter value c (spec:
 * equality; a comparator equal to c fires at once). */
static void arm(struct vhpet *h, int n, uint64_t c)
{
    struct vhpet_timer *t = &h->t[n];
    uint64_t diff;

    t->wrap = 0;
    t->armed = 1;
    if (t->config & HPET_TN_32BIT) {
        diff = (uint32_t)((uint32_t)t->cmp - (uint32_t)c);
        /* One-shot 32-bit: the low half's wrap to 0 comes first? */
        if (!(t->config & HPET_TN_PERIODIC) && (uint32_t)c + diff > 0xffffffffull) {
            diff = 0x100000000ull - (uint32_t)c;
            t->wrap = 1;
        }
    } else {
        diff = t->cmp - c;
    }
    t->next = c + diff;
}

/* Brings every comparator to counter value c. */
static void sync_to(struct vhpet *h, uint64_t c)
{
    for (int n = 0; n < VHPET_TIMERS; n++) {
        struct vhpet_timer *t = &h->t[n];

        /* At most twice: a 32-bit one-shot's wrap, then its match. (A
         * periodic comparator moves past c at once, unless its distance
         * from synced wrapped 2^64, which only a counter written to lap
         * its comparators can bring about; then it catches up later.) */
        for (int i = 0; i < 2 && due(h, t, c); i++) {
            if (t->wrap) {
                arm(h, n, t->next); /* now aim at the match */
            } else if ((t->config & HPET_TN_PERIODIC) && t->period) {
                /* Every match up to c: the comparator accumulates them
                 * all, one interrupt goes out. */
                uint64_t k = (c - t->next) / t->period;

                t->next += (k + 1) * t->period;
                t->cmp = t->config & HPET_TN_32BIT ? (uint32_t)t->next : t->next;
                h->dropped += k;
            } else {
                t->armed = 0;
            }
            fire(h, n);
        }
    }
    h->synced = c;
}

static void sync_now(struct vhpet *h)
{
    if (enabled(h))
        sync_to(h, counter_at(h, host_now(h)));
}

int vhpet_init(struct vhpet *h, struct irq_chipset *irq, const struct irq_host *host, uint64_t tsc_hz)
{
    memset(h, 0, sizeof(*h));
    h->irq = irq;
    h->host = host;
    h->tsc_hz = tsc_hz && tsc_hz <= HPET_MAX_TSC_HZ ? tsc_hz : VHPET_HZ;
    for (int n = 0; n < VHPET_TIMERS; n++) {
        h->t[n].cmp = UINT64_MAX;
        h->t[n].asserted_gsi = -1;
        h->t[n].source = irq_source_alloc(irq);
        if (h->t[n].source < 0)
            return -1;
    }
    return 0;
}

/* The 64-bit register at an 8-aligned offset; -1 if there is none. */
static int read_reg(struct vhpet *h, uint64_t off, uint64_t *v)
{
    *v = 0;
    if (off >= HPET_TIMER(0) && off < HPET_TIMER(VHPET_TIMERS)) {
        const struct vhpet_timer *t = &h->t[(off - HPET_TIMER(0)) / 0x20];

        switch ((off - HPET_TIMER(0)) % 0x20) {
        case HPET_TN_CONFIG: *v = t->config | HPET_TN_CAPS | (uint64_t)VHPET_ROUTE_CAP << 32; return 0;
        case HPET_TN_COMPARATOR: *v = t->cmp; return 0;
        case HPET_TN_FSB: return 0; /* FSB delivery not offered: reads 0 */
        default: return -1;
        }
    }
    switch (off) {
    case HPET_CAP: *v = VHPET_CAP_ID | VHPET_PERIOD_FS << 32; return 0;
    case HPET_CONFIG: *v = h->config; return 0;
    case HPET_STATUS: *v = h->isr; return 0;
    case HPET_COUNTER: *v = counter_at(h, host_now(h)); return 0;
    default: return -1;
    }
}

static int write_timer(struct vhpet *h, int n, uint64_t reg, uint64_t v, uint64_t mask)
{
    struct vhpet_timer *t = &h->t[n];
    uint64_t c = counter_at(h, host_now(h));
    int rc = 0;

    if (reg == HPET_TN_FSB)
        return 0; /* ignored: no FSB delivery */
    if (reg == HPET_TN_CONFIG) {
        uint64_t old = t->config, nw;

        if (!(mask & LOW32))
            return 0; /* the capability half is read-only */
        nw = v & HPET_TN_WMASK;
        if (((nw ^ old) & HPET_TN_ROUTE_MASK) &&
            !((VHPET_ROUTE_CAP >> ((nw & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT)) & 1)) {
            /* A new route the comparator cannot take reads back unchanged
             * (the reset value 0 may be written back as it is). */
            nw = (nw & ~HPET_TN_ROUTE_MASK) | (old & HPET_TN_ROUTE_MASK);
            rc = -1;
        }
        t->config = nw;
        if ((old & HPET_TN_LEVEL) && !(nw & HPET_TN_LEVEL))
            h->isr &= ~(1ull << n); /* edge mode has no status (QEMU) */
        if (nw & HPET_TN_32BIT) {
            t->cmp = (uint32_t)t->cmp;
            t->period = (uint32_t)t->period;
        }
        if ((old ^ nw) & (HPET_TN_32BIT | HPET_TN_PERIODIC))
            arm(h, n, c);
        refresh_line(h, n);
        return rc;
    }
    /* The comparator: its value, or in periodic mode the period (and with
     * VAL_SET the value too). A 32-bit comparator has no high half. */
    if (t->config & HPET_TN_32BIT) {
        mask &= LOW32;
        if (!mask)
            return 0;
    }
    if (!(t->config & HPET_TN_PERIODIC) || (t->config & HPET_TN_VAL_SET))
        t->cmp = (t->cmp & ~mask) | (v & mask);
    if (t->config & HPET_TN_PERIODIC) {
        t->period = (t->period & ~mask) | (v & mask);
        /* QEMU's clamp: at most half the comparator's range. */
        t->period &= (t->config & HPET_TN_32BIT ? LOW32 : UINT64_MAX) >> 1;
    }
    t->config &= ~(uint64_t)HPET_TN_VAL_SET;
    arm(h, n, c);
    return 0;
}

static int write_reg(struct vhpet *h, uint64_t off, uint64_t v, uint64_t mask)
{
    uint64_t now = host_now(h), old;

    if (off >= HPET_TIMER(0) && off < HPET_TIMER(VHPET_TIMERS)) {
        uint64_t reg = (off - HPET_TIMER(0)) % 0x20;

        if (reg > HPET_TN_FSB)
            return -1;
        return write_timer(h, (int)((off - HPET_TIMER(0)) / 0x20), reg, v, mask);
    }
    switch (off) {
    case HPET_CAP: return 0; /* read-only */
    case HPET_CONFIG:
        if (!(mask & LOW32))
            return 0;
        old = h->config;
        h->config = v & HPET_CFG_WMASK;
        if ((old ^ h->config) & HPET_CFG_ENABLE) {
            if (h->config & HPET_CFG_ENABLE) {
                h->base_tsc = now;
                h->synced = h->counter;
                for (int n = 0; n < VHPET_TIMERS; n++)
                    arm(h, n, h->counter);
            } else {
                /* Halt: the counter keeps its value, comparators stop. */
                h->config |= HPET_CFG_ENABLE;
                h->counter = counter_at(h, now);
                h->config &= ~(uint64_t)HPET_CFG_ENABLE;
            }
        }
        if ((old ^ h->config) & HPET_CFG_LEGACY)
            irq_sources_mute(h->irq, h->irq->legacy_sources, (h->config & HPET_CFG_LEGACY) != 0);
        refresh_lines(h);
        return 0;
    case HPET_STATUS:
        /* Write 1 to clear a level-triggered comparator's status. */
        h->isr &= ~(v & mask & ((1u << VHPET_TIMERS) - 1));
        refresh_lines(h);
        return 0;
    case HPET_COUNTER:
        if (enabled(h))
            return -1; /* spec: only while halted; QEMU ignores it too */
        h->counter = (h->counter & ~mask) | (v & mask);
        return 0;
    default: return -1;
    }
}

/* 4 bytes at a 4-aligned or 8 at an 8-aligned offset inside the block. */
static int access_ok(uint64_t off, unsigned size)
{
    return off < VHPET_MMIO_SIZE && (size == 4 || size == 8) && (off & (size - 1)) == 0;
}

int vhpet_mmio_read(struct vhpet *h, uint64_t off, unsigned size, uint64_t *val)
{
    uint64_t v;
    int rc;

    *val = 0;
    if (!access_ok(off, size)) {
        h->bad_accesses++;
        return -1;
    }
    sync_now(h);
    rc = read_reg(h, off & ~7ull, &v);
    *val = size == 8 ? v : (uint32_t)(v >> (8 * (off & 4)));
    if (rc)
        h->bad_accesses++;
    return rc;
}

int vhpet_mmio_write(struct vhpet *h, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t mask = size == 8 ? UINT64_MAX : (off & 4) ? HIGH32 : LOW32;
    int rc;

    if (!access_ok(off, size)) {
        h->bad_accesses++;
        return -1;
    }
    if (size == 4 && (off & 4))
        val <<= 32;
    sync_now(h);
    rc = write_reg(h, off & ~7ull, val, mask);
    sync_now(h); /* a comparator set to the counter fires now */
    if (rc)
        h->bad_accesses++;
    return rc;
}

uint64_t vhpet_update(struct vhpet *h)
{
    sync_now(h);
    return vhpet_next_deadline(h);
}

uint64_t vhpet_next_deadline(const struct vhpet *h)
{
    uint64_t best = 0;

    if (!enabled(h))
        return 0;
    for (int n = 0; n < VHPET_TIMERS; n++) {
        const struct vhpet_timer *t = &h->t[n];
        uint64_t d;

        if (!t->armed || !(t->config & HPET_TN_INT_ENB))
            continue;
        /* Counter ticks from base_tsc: to synced, then on to next. */
        uint64_t a = h->synced - h->counter, b = t->next - h->synced;

        if (b > UINT64_MAX - a)
            continue;
        d = tsc_for(h, a + b);
        if (d == UINT64_MAX || d >= UINT64_MAX - h->base_tsc)
            continue; /* beyond the 64-bit TSC: never */
        d += h->base_tsc;
        if (!best || d < best)
            best = d;
    }
    return best;
}

int vhpet_can_interrupt(const struct vhpet *h)
{
    if (!vhpet_next_deadline(h))
        return 0;
    for (int n = 0; n < VHPET_TIMERS; n++)
        if (h->t[n].armed && int_enabled(h, &h->t[n]) && irq_gsi_unmasked(h->irq, route_of(h, n)))
            return 1;
    return 0;
}

int vhpet_legacy(const struct vhpet *h) { return (h->config & HPET_CFG_LEGACY) != 0; }
