/* libFuzzer target: the virtual local APIC (irq/vlapic.c). The input picks
 * the clock frequencies and the initial time, then a list of operations:
 * xAPIC page reads and writes at any offset, MSR reads and writes (x2APIC
 * range, IA32_APIC_BASE, IA32_TSC_DEADLINE), messages with any vector and
 * delivery mode, pending + acknowledge, EOI, clock advances of any size
 * (saturating at 2^64 - 1 so time stays monotonic) and timer updates.
 * Broken invariants trap. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../irq/vlapic.h"
#include "fuzz_input.h"

struct fuzz {
    uint64_t now;
    int extint;
    uint64_t calls;
};

static uint64_t f_now(void *ctx) { return ((struct fuzz *)ctx)->now; }
static void f_kick(void *ctx) { ((struct fuzz *)ctx)->calls++; }

static void f_trace(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    if (ev != TRACE_LAPIC_ACCEPT && ev != TRACE_EOI && ev != TRACE_LAPIC_TIMER)
        __builtin_trap();
    /* the timer's expiry: its LVT's vector, mode (two bits) and mask bit */
    if (ev == TRACE_LAPIC_TIMER && (a > 255 || b > 3 || c > 1))
        __builtin_trap();
    if (ev == TRACE_EOI && (a < 16 || a > 255))
        __builtin_trap();
    ((struct fuzz *)ctx)->calls++;
}

static void f_broadcast(void *ctx, uint8_t v)
{
    if (v < 16)
        __builtin_trap();
    ((struct fuzz *)ctx)->calls++;
}

static int f_extint_pending(void *ctx) { return ((struct fuzz *)ctx)->extint; }
static uint8_t f_extint_ack(void *ctx) { return (uint8_t)(((struct fuzz *)ctx)->extint = 0) + 0x20; }

static void f_init_sipi(void *ctx, int sipi, uint8_t v, int to_self)
{
    (void)v;
    if ((sipi != 0 && sipi != 1) || (to_self != 0 && to_self != 1))
        __builtin_trap();
    ((struct fuzz *)ctx)->calls++;
}

static int bit(const struct vlapic *l, uint32_t base, unsigned v)
{
    return (l->regs[(base >> 2) + (v >> 5) * 4] >> (v & 31)) & 1;
}

static int highest(const struct vlapic *l, uint32_t base)
{
    for (int v = 255; v >= 0; v--)
        if (bit(l, base, (unsigned)v))
            return v;
    return -1;
}

static int mode_of(const struct vlapic *l)
{
    if (!(l->apic_base & APIC_BASE_EN))
        return 0;
    return (l->apic_base & APIC_BASE_EXTD) ? 2 : 1;
}

static uint32_t read_ppr(struct vlapic *l)
{
    uint32_t v = 0;
    uint64_t q = 0;

    if (mode_of(l) == 1) {
        if (vlapic_mmio_read(l, LAPIC_PPR, &v))
            __builtin_trap();
        return v;
    }
    if (vlapic_msr_read(l, 0x80A, &q))
        __builtin_trap();
    return (uint32_t)q;
}

static void check(struct vlapic *l)
{
    int isrv = highest(l, LAPIC_ISR);
    uint32_t tpr = l->regs[LAPIC_TPR >> 2], ppr;
    int p;

    /* Vectors 0-15 are never accepted. */
    for (unsigned v = 0; v < 16; v++)
        if (bit(l, LAPIC_IRR, v) || bit(l, LAPIC_ISR, v))
            __builtin_trap();
    if (tpr > 0xFF || (l->esr_pending & ~0xE0u) || (l->regs[LAPIC_ESR >> 2] & ~0xE0u))
        __builtin_trap();
    if (mode_of(l)) {
        ppr = read_ppr(l);
        if ((tpr & 0xF0) >= (uint32_t)(isrv < 0 ? 0 : isrv & 0xF0)) {
            if (ppr != tpr)
                __builtin_trap();
        } else if (ppr != ((uint32_t)isrv & 0xF0)) {
            __builtin_trap();
        }
    }
    p = vlapic_pending(l);
    if (p < -1 || p > 256)
        __builtin_trap();
    if (p >= 0 && p < 256 && (!bit(l, LAPIC_IRR, (unsigned)p) || p != highest(l, LAPIC_IRR)))
        __builtin_trap();
    if (!mode_of(l) && p != -1)
        __builtin_trap();
}

static const uint64_t freqs[8] = {
    1000000000ull, 3000000000ull, 100000000ull, 7000000ull, 1, 0, UINT64_MAX, 25000000ull,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct fuzz f;
    struct irq_host host;
    struct vlapic_ops ops;
    struct vlapic l;
    uint8_t sel = take8(&in);
    uint64_t tsc, bus, d, q;
    uint32_t v, off;
    int rc, p, m;

    memset(&f, 0, sizeof(f));
    memset(&host, 0, sizeof(host));
    memset(&ops, 0, sizeof(ops));
    host.ctx = &f;
    host.now = f_now;
    host.kick = f_kick;
    host.trace = f_trace;
    ops.eoi_broadcast = f_broadcast;
    ops.extint_pending = f_extint_pending;
    ops.extint_ack = f_extint_ack;
    ops.init_sipi = f_init_sipi;
    ops.ctx = &f;
    tsc = sel & 0x80 ? take64(&in) : freqs[sel & 7];
    bus = sel & 0x40 ? take64(&in) : freqs[(sel >> 3) & 7];
    f.now = sel & 0x20 ? take64(&in) : 0;
    vlapic_init(&l, take32(&in), tsc, bus, &host, &ops);

    while (in.n) {
        uint8_t op = take8(&in);

        m = mode_of(&l);
        switch (op & 15) {
        case 0:
            off = (uint32_t)take8(&in) << 4;
            if (op & 0x80)
                off = take32(&in);
            rc = vlapic_mmio_read(&l, off, &v);
            if (rc != (m == 1 ? 0 : -1))
                __builtin_trap();
            break;
        case 1:
        case 2:
            off = (uint32_t)take8(&in) << 4;
            if (op & 0x80)
                off = take32(&in);
            rc = vlapic_mmio_write(&l, off, take32(&in));
            if (rc != (m == 1 ? 0 : -1))
                __builtin_trap();
            break;
        case 3: {
            uint8_t s = take8(&in);
            uint32_t msr = s == 0xFE ? MSR_IA32_APIC_BASE : s == 0xFF ? MSR_IA32_TSC_DEADLINE : 0x800u + s;

            rc = vlapic_msr_read(&l, msr, &q);
            if (rc == 0 && msr >= 0x800 && m != 2)
                __builtin_trap();
            break;
        }
        case 4:
        case 5: {
            uint8_t s = take8(&in);
            uint32_t msr = s == 0xFE ? MSR_IA32_APIC_BASE : s == 0xFF ? MSR_IA32_TSC_DEADLINE : 0x800u + s;

            q = (op & 0x80) ? take64(&in) : take32(&in);
            rc = vlapic_msr_write(&l, msr, q);
            if (rc == 0 && msr >= 0x800 && m != 2)
                __builtin_trap();
            break;
        }
        case 6: {
            /* IA32_APIC_BASE with a likely-valid pattern. */
            static const uint64_t pats[4] = {
                0,
                APIC_BASE_EN,
                APIC_BASE_EN | APIC_BASE_EXTD,
                APIC_BASE_EXTD,
            };
            rc = vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | pats[op >> 6]);
            (void)rc;
            break;
        }
        case 7:
            v = take8(&in);
            rc = vlapic_accept(&l, (uint8_t)v, take8(&in) & 7, op >> 7);
            if (rc && !m)
                __builtin_trap();
            break;
        case 8:
            p = vlapic_pending(&l);
            if (p >= 0 && p < 256) {
                if (vlapic_acknowledge(&l, p) != p || !bit(&l, LAPIC_ISR, (unsigned)p))
                    __builtin_trap();
            } else if (p == 256) {
                if (vlapic_acknowledge(&l, p) != 0x20)
                    __builtin_trap();
            } else if (p != -1) {
                __builtin_trap();
            }
            break;
        case 9:
            if (m == 1)
                vlapic_mmio_write(&l, LAPIC_EOI, 0);
            else if (m == 2 && vlapic_msr_write(&l, 0x80B, 0))
                __builtin_trap();
            break;
        case 10: fuzz_advance(&f.now, take8(&in)); break;
        case 11: fuzz_advance(&f.now, (uint64_t)take8(&in) << (take8(&in) & 63)); break;
        case 12: fuzz_advance(&f.now, take64(&in)); break;
        case 13: f.extint = op >> 7; break;
        case 14:
            /* Arbitrary acknowledge: never crashes, never sets ISR for junk. */
            v = take8(&in) | ((op >> 7) << 8);
            rc = vlapic_acknowledge(&l, (int)v);
            if (rc >= 0 && v < 256 && (rc != (int)v || !bit(&l, LAPIC_ISR, v)))
                __builtin_trap();
            break;
        default:
            d = vlapic_update_timer(&l);
            if (d && d <= f.now)
                __builtin_trap();
            q = l.timer_fired;
            if (vlapic_update_timer(&l) != d || l.timer_fired != q)
                __builtin_trap();
            break;
        }
        check(&l);
    }
    return 0;
}
