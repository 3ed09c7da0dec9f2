/* Virtual 8254 programmable interval timer, after the Intel 82C54 CHMOS
 * Programmable Interval Timer datasheet (operating modes, read operations,
 * read-back command). Each channel keeps the TSC at which its counting
 * element was loaded; the count and OUT are derived from the time elapsed
 * since then, so nothing has to tick while the guest does not look.
 *
 * Simplifications, all within one input clock or outside what PC software
 * relies on:
 * - A count is loaded at the instant of the write (the chip loads it on the
 *   next CLK edge).
 * - In modes 2 and 3 a new count restarts the period at once (the chip waits
 *   for the end of the current period).
 * - BCD (control word bit 0) is accepted and reported in the status byte,
 *   but the counter counts in binary.
 * - Mode 1 (retriggerable one-shot) and mode 5 (hardware-triggered strobe)
 *   start only on a rising edge of the gate, so only channel 2 (gate in
 *   port 0x61) can use them; channels 0 and 1 have the gate tied high.
 *   Mode 4 is mode 0 with OUT high and a one-clock low strobe at terminal
 *   count; on channel 0 that strobe becomes one IRQ 0 pulse.
 * - A TSC frequency of 0 is taken as PIT_HZ, so no division by zero.
 *
 * All 128-bit divisions go through div128(): the hypervisor links with
 * -nostdlib, so the compiler's __udivti3 from libgcc is not available. */
#include "vpit.h"

#include <stddef.h>
#include <string.h>

#define PIT_PORT_CH0  0x40
#define PIT_PORT_CH2  0x42
#define PIT_PORT_CTRL 0x43
#define PIT_PORT_61   0x61

#define P61_GATE2    0x01
#define P61_WRITABLE 0x0F
#define P61_REFRESH  0x10
#define P61_OUT2     0x20

#define ACCESS_LATCH 0
#define ACCESS_LSB   1
#define ACCESS_MSB   2
#define ACCESS_WORD  3

#define STATUS_OUT  0x80
#define STATUS_NULL 0x40

#define U64_MAX ((uint64_t)-1)

typedef unsigned __int128 u128;

/* floor(n / d) and n % d for d != 0. The high half is divided natively; the
 * low half by shift-and-subtract, which stays exact because the running
 * remainder is always below d. */
static u128 div128(u128 n, uint64_t d, uint64_t *rem)
{
    uint64_t hi = (uint64_t)(n >> 64), lo = (uint64_t)n;
    uint64_t qhi = hi / d, r = hi % d, qlo = 0;

    if (r == 0 && qhi == 0) {
        if (rem)
            *rem = lo % d;
        return lo / d;
    }
    for (int i = 0; i < 64; i++) {
        uint64_t carry = r >> 63;

        r = (r << 1) | (lo >> 63);
        lo <<= 1;
        qlo <<= 1;
        if (carry || r >= d) {
            r -= d;
            qlo |= 1;
        }
    }
    if (rem)
        *rem = r;
    return ((u128)qhi << 64) | qlo;
}

static uint64_t host_now(const struct vpit *p)
{
    if (!p->host || !p->host->now)
        return 0;
    return p->host->now(p->host->ctx);
}

/* Whole input clocks in d TSC ticks: floor(d * PIT_HZ / tsc_hz). The
 * product is below 2^85, so it never overflows. */
static u128 clocks_in(const struct vpit *p, uint64_t d) { return div128((u128)d * PIT_HZ, p->tsc_hz, NULL); }

/* TSC ticks until k input clocks have elapsed: ceil(k * tsc_hz / PIT_HZ),
 * the smallest d with clocks_in(d) >= k. Split k = q * PIT_HZ + r so that
 * no product exceeds 128 bits. Returns 0 if the result does not fit in 64
 * bits (k > 0 always needs at least one tick otherwise). */
static uint64_t ticks_for(const struct vpit *p, u128 k)
{
    uint64_t r, rr;
    u128 q = div128(k, PIT_HZ, &r), total, part;

    if (q >> 64)
        return 0;
    total = (u128)(uint64_t)q * p->tsc_hz;
    if (total >> 64)
        return 0;
    part = div128((u128)r * p->tsc_hz, PIT_HZ, &rr);
    total += part + (rr != 0);
    if (total >> 64)
        return 0;
    return (uint64_t)total;
}

/* TSC at which k clocks have elapsed since start, or 0 if that is beyond
 * the 64-bit TSC (no deadline). */
static uint64_t deadline_at(const struct vpit *p, uint64_t start, u128 k)
{
    uint64_t d = ticks_for(p, k);

    if (d == 0 || d > U64_MAX - start)
        return 0;
    return start + d;
}

/* Clocks the running cycle has counted at now; a clock running backwards
 * counts as no time passing. */
static u128 elapsed(const struct vpit *p, const struct vpit_channel *c, uint64_t now)
{
    u128 e = c->base;

    if (now > c->start)
        e += clocks_in(p, now - c->start);
    return e;
}

/* Counting element and OUT of a running channel after e clocks of a cycle
 * of c->cur clocks (datasheet "Operating Modes"). */
static void state_at(const struct vpit_channel *c, u128 e, uint16_t *count, int *out)
{
    uint32_t n = c->cur;
    uint64_t ph, half, q;

    switch (c->mode) {
    case 0:
    case 1:
        /* OUT low while counting, high from terminal count on; the counter
         * keeps wrapping through 0xFFFF. */
        *count = (uint16_t)(n - (uint16_t)e);
        *out = e >= n;
        return;
    case 4:
    case 5:
        /* OUT high, low for the one clock at which the count reaches 0. */
        *count = (uint16_t)(n - (uint16_t)e);
        *out = e != n;
        return;
    case 2:
        /* Counts n..1; OUT low for the clock at count 1, reload at 0. */
        div128(e, n, &ph);
        *count = (uint16_t)(n - ph);
        *out = ph != n - 1;
        return;
    default:
        /* Mode 3: OUT high for ceil(n/2) clocks, low for floor(n/2). The
         * element steps by two: from n (even) or n - 1 (odd) in each half. */
        div128(e, n, &ph);
        half = (n + 1) / 2;
        q = ph < half ? ph : ph - half;
        *count = (uint16_t)((n & ~1u) - 2 * q);
        *out = ph < half;
        return;
    }
}

static void channel_state(const struct vpit *p, const struct vpit_channel *c, uint64_t now, uint16_t *count,
                          int *out)
{
    if (!c->running) {
        *count = c->hold_count;
        *out = c->hold_out;
        return;
    }
    state_at(c, elapsed(p, c, now), count, out);
}

/* Freeze the channel where it stands, so a later read sees that count. */
static void stop_channel(const struct vpit *p, struct vpit_channel *c, uint64_t now)
{
    uint16_t count;
    int out;

    channel_state(p, c, now, &count, &out);
    c->hold_count = count;
    c->hold_out = (uint8_t)out;
    c->running = 0;
}

/* Channel 0 only: drop IRQ 0 if mode 0 left it high, and forget the
 * deadline (a reprogrammed counter owes no interrupt). */
static void irq0_reset(struct vpit *p)
{
    struct vpit_channel *c = &p->ch[0];

    c->next_irq = 0;
    c->irq_seq = 0;
    if (c->irq_level) {
        c->irq_level = 0;
        if (p->raise_irq0)
            p->raise_irq0(p->irq_ctx, 0);
    }
}

/* Channel 0 only: the first interrupt of a cycle that starts at c->start. */
static void irq0_schedule(struct vpit *p)
{
    struct vpit_channel *c = &p->ch[0];

    c->next_irq = 0;
    if (!c->running || c->base >= c->cur)
        return;
    switch (c->mode) {
    case 0:
    case 4: c->next_irq = deadline_at(p, c->start, c->cur - c->base); break;
    case 2:
    case 3:
        c->irq_seq = 1;
        c->next_irq = deadline_at(p, c->start, c->cur);
        break;
    default: break;
    }
}

static void start_cycle(struct vpit_channel *c, uint64_t now)
{
    c->cur = c->reload;
    c->base = 0;
    c->start = now;
    c->running = 1;
    c->null_count = 0;
}

/* The full count is in the count register (datasheet: the count is loaded
 * into the counting element per mode). */
static void load_count(struct vpit *p, int i, uint64_t now)
{
    struct vpit_channel *c = &p->ch[i];

    c->armed = 1;
    if (i == 0)
        irq0_reset(p);
    switch (c->mode) {
    case 1:
    case 5:
        /* Taken at the next gate trigger; a running one-shot goes on. */
        c->null_count = 1;
        return;
    default:
        start_cycle(c, now);
        if (!c->gate) {
            /* Loaded but not clocked until the gate rises. */
            c->running = 0;
            c->hold_count = (uint16_t)c->cur;
            c->hold_out = c->mode != 0;
        }
        break;
    }
    if (i == 0)
        irq0_schedule(p);
}

static void write_control(struct vpit *p, uint8_t val, uint64_t now)
{
    int i = val >> 6;
    unsigned access = (val >> 4) & 3;
    struct vpit_channel *c;
    uint16_t count;
    int out;

    if (i == 3) {
        /* Read-back: bit 5 low latches counts, bit 4 low latches status;
         * bits 1-3 select channels 0-2. Latches already held are kept. */
        for (i = 0; i < 3; i++) {
            if (!(val & (2u << i)))
                continue;
            c = &p->ch[i];
            channel_state(p, c, now, &count, &out);
            if (!(val & 0x20) && !c->latched) {
                c->latched = 1;
                c->latch_value = count;
                c->latch_bytes = c->rw == ACCESS_WORD ? 2 : 1;
            }
            if (!(val & 0x10) && !c->status_latched) {
                c->status_latched = 1;
                c->status = (uint8_t)((out ? STATUS_OUT : 0) | (c->null_count ? STATUS_NULL : 0) | c->ctrl);
            }
        }
        return;
    }
    c = &p->ch[i];
    if (access == ACCESS_LATCH) {
        /* Counter latch command; a second one before the read is ignored. */
        if (!c->latched) {
            channel_state(p, c, now, &count, &out);
            c->latched = 1;
            c->latch_value = count;
            c->latch_bytes = c->rw == ACCESS_WORD ? 2 : 1;
        }
        return;
    }
    /* A new mode: stop, wait for a count, OUT at its initial level. */
    stop_channel(p, c, now);
    c->ctrl = val & 0x3F;
    c->rw = (uint8_t)access;
    c->mode = (val >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;
    c->bcd = val & 1;
    c->write_msb_next = 0;
    c->read_msb_next = 0;
    c->latched = 0;
    c->latch_bytes = 0;
    c->status_latched = 0;
    c->null_count = 1;
    c->armed = 0;
    c->hold_out = c->mode != 0;
    if (i == 0)
        irq0_reset(p);
}

static void write_count(struct vpit *p, int i, uint8_t val, uint64_t now)
{
    struct vpit_channel *c = &p->ch[i];
    uint32_t n;

    switch (c->rw) {
    case ACCESS_LSB: n = val; break;
    case ACCESS_MSB: n = (uint32_t)val << 8; break;
    default:
        if (!c->write_msb_next) {
            c->write_lsb = val;
            c->write_msb_next = 1;
            if (c->mode == 0) {
                /* Mode 0: the first byte stops counting and drops OUT. */
                stop_channel(p, c, now);
                c->hold_out = 0;
                c->armed = 0;
                if (i == 0)
                    irq0_reset(p);
            }
            return;
        }
        c->write_msb_next = 0;
        n = c->write_lsb | (uint32_t)val << 8;
        break;
    }
    c->reload = n ? n : 0x10000;
    load_count(p, i, now);
}

static uint8_t read_count(struct vpit *p, int i, uint64_t now)
{
    struct vpit_channel *c = &p->ch[i];
    uint16_t count;
    int out, msb;

    if (c->status_latched) {
        c->status_latched = 0;
        return c->status;
    }
    if (c->latched) {
        count = c->latch_value;
        if (--c->latch_bytes == 0)
            c->latched = 0;
    } else {
        channel_state(p, c, now, &count, &out);
    }
    if (c->rw == ACCESS_LSB)
        msb = 0;
    else if (c->rw == ACCESS_MSB)
        msb = 1;
    else {
        msb = c->read_msb_next;
        c->read_msb_next ^= 1;
    }
    return msb ? (uint8_t)(count >> 8) : (uint8_t)count;
}

/* Clocks counted by a one-shot paused by its gate, folded to fit 32 bits:
 * only "before, at or past terminal count" and the low 16 bits matter. */
static uint32_t fold_base(u128 e, uint32_t n)
{
    if (e <= n)
        return (uint32_t)e;
    return n + 1 + (uint32_t)((e - n - 1) & 0xFFFF);
}

/* Gate of channel 2 (datasheet "Gate" rules per mode). */
static void set_gate2(struct vpit *p, int gate, uint64_t now)
{
    struct vpit_channel *c = &p->ch[2];
    int rising = gate && !c->gate, falling = !gate && c->gate;

    c->gate = (uint8_t)gate;
    switch (c->mode) {
    case 0:
    case 4:
        /* A low gate suspends counting; high resumes where it stopped. */
        if (falling && c->running) {
            uint32_t b = fold_base(elapsed(p, c, now), c->cur);

            stop_channel(p, c, now);
            c->base = b;
        } else if (rising && c->armed && !c->running) {
            c->start = now;
            c->running = 1;
        }
        break;
    case 2:
    case 3:
        /* Low stops counting with OUT high; a rising edge reloads. */
        if (falling && c->running) {
            stop_channel(p, c, now);
            c->hold_out = 1;
        } else if (rising && c->armed) {
            start_cycle(c, now);
        }
        break;
    default:
        /* Modes 1 and 5: a rising edge (re)triggers; the level is ignored. */
        if (rising && c->armed)
            start_cycle(c, now);
        break;
    }
}

void vpit_init(struct vpit *p, uint64_t tsc_hz, const struct irq_host *host,
               void (*raise_irq0)(void *ctx, int level), void *irq_ctx)
{
    memset(p, 0, sizeof(*p));
    p->tsc_hz = tsc_hz ? tsc_hz : PIT_HZ;
    p->host = host;
    p->raise_irq0 = raise_irq0;
    p->irq_ctx = irq_ctx;
    /* Power-up state is undefined; choose mode 0, LSB then MSB, no count. */
    for (int i = 0; i < 3; i++) {
        p->ch[i].rw = ACCESS_WORD;
        p->ch[i].ctrl = ACCESS_WORD << 4;
        p->ch[i].null_count = 1;
        p->ch[i].gate = i != 2;
        p->ch[i].reload = 0x10000;
        p->ch[i].cur = 0x10000;
    }
}

int vpit_port_read(struct vpit *p, uint16_t port, uint8_t *val)
{
    uint16_t count;
    int out;

    if (!p || !val)
        return -1;
    if (port >= PIT_PORT_CH0 && port <= PIT_PORT_CH2) {
        *val = read_count(p, port - PIT_PORT_CH0, host_now(p));
        return 0;
    }
    if (port == PIT_PORT_CTRL) {
        /* The control register is write-only; the chip leaves the bus. */
        *val = 0xFF;
        return 0;
    }
    if (port == PIT_PORT_61) {
        /* Flip the refresh bit per read so loops waiting on it progress. */
        p->port61 ^= P61_REFRESH;
        channel_state(p, &p->ch[2], host_now(p), &count, &out);
        *val = (uint8_t)((p->port61 & (P61_WRITABLE | P61_REFRESH)) | (out ? P61_OUT2 : 0));
        return 0;
    }
    return -1;
}

int vpit_port_write(struct vpit *p, uint16_t port, uint8_t val)
{
    if (!p)
        return -1;
    if (port >= PIT_PORT_CH0 && port <= PIT_PORT_CH2) {
        write_count(p, port - PIT_PORT_CH0, val, host_now(p));
        return 0;
    }
    if (port == PIT_PORT_CTRL) {
        write_control(p, val, host_now(p));
        return 0;
    }
    if (port == PIT_PORT_61) {
        p->port61 = (uint8_t)((p->port61 & ~P61_WRITABLE) | (val & P61_WRITABLE));
        set_gate2(p, val & P61_GATE2, host_now(p));
        return 0;
    }
    return -1;
}

static void irq0_pulse(struct vpit *p, uint64_t dropped)
{
    if (p->raise_irq0) {
        p->raise_irq0(p->irq_ctx, 1);
        p->raise_irq0(p->irq_ctx, 0);
    }
    p->ticks_delivered++;
    /* Saturate: a guest paused for ages must not wrap the statistics. */
    if (dropped > U64_MAX - p->ticks_dropped)
        p->ticks_dropped = U64_MAX;
    else
        p->ticks_dropped += dropped;
    irq_host_trace(p->host, TRACE_PIT_TICK, 0, dropped > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)dropped, 0);
}

uint64_t vpit_next_deadline(const struct vpit *p) { return p && p->ch[0].running ? p->ch[0].next_irq : 0; }

uint64_t vpit_update(struct vpit *p)
{
    struct vpit_channel *c;
    uint64_t now;
    u128 ends, dropped;

    if (!p)
        return 0;
    c = &p->ch[0];
    if (!c->running || !c->next_irq)
        return 0;
    now = host_now(p);
    if (now < c->next_irq)
        return c->next_irq;

    if (c->mode == 0) {
        /* Terminal count: OUT, and IRQ 0 with it, stays high. */
        c->next_irq = 0;
        c->irq_level = 1;
        if (p->raise_irq0)
            p->raise_irq0(p->irq_ctx, 1);
        p->ticks_delivered++;
        irq_host_trace(p->host, TRACE_PIT_TICK, 0, 0, 0);
        return 0;
    }
    if (c->mode == 4) {
        c->next_irq = 0;
        irq0_pulse(p, 0);
        return 0;
    }
    /* Modes 2 and 3: periods irq_seq..ends have all ended by now. Deliver
     * one interrupt, count the rest as dropped, and aim at the first period
     * end after now, computed from the start so rounding never accumulates. */
    ends = div128(elapsed(p, c, now), c->cur, NULL);
    dropped = ends > c->irq_seq ? ends - c->irq_seq : 0;
    if (ends + 1 > U64_MAX) {
        c->next_irq = 0;
    } else {
        c->irq_seq = (uint64_t)(ends + 1);
        c->next_irq = deadline_at(p, c->start, (u128)c->irq_seq * c->cur);
    }
    irq0_pulse(p, dropped > U64_MAX ? U64_MAX : (uint64_t)dropped);
    /* A deadline of now would mean no progress (only when now is the last
     * representable TSC). */
    if (c->next_irq && c->next_irq <= now)
        c->next_irq = 0;
    return c->next_irq;
}
