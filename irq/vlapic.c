/* Virtual local APIC, after the Intel SDM Vol. 3, chapter "Advanced
 * Programmable Interrupt Controller (APIC)": the xAPIC register page, the
 * x2APIC MSRs, interrupt acceptance and priority, EOI, ESR, IPIs for one
 * vCPU and the timer in its three modes. Time comes from host->now (TSC
 * ticks); the timer keeps the TSC at which its count began and derives the
 * current count and the next expiry from the time elapsed since then.
 *
 * Choices and simplifications:
 * - A software-disabled LAPIC (SVR bit 8 = 0) drops fixed and lowest-priority
 *   messages (vlapic_accept returns 0) but still takes NMI, INIT and SIPI;
 *   vlapic_pending reports nothing while it is software-disabled. IRR/ISR
 *   contents are kept.
 * - INIT and SIPI (ICR or message) go to ops.init_sipi whatever the
 *   destination, with whether this vCPU is among the targets: there is one
 *   vCPU, the recorder decides. An xAPIC "INIT
 *   level de-assert" (level 0, trigger level) is ignored.
 * - A write to the divide configuration while the one-shot/periodic timer
 *   runs restarts the count from the initial count with the new divider.
 * - Timer mode 3 (reserved) counts like one-shot.
 * - Accesses to reserved xAPIC offsets read 0, ignore writes and set ESR
 *   bit 7 (illegal register address); misaligned offsets read 0 quietly.
 * - Remote IRR of LINT0/1 is not modelled (reads 0); the LINT pins are not
 *   driven except LINT0 ExtINT through ops.extint_pending.
 * - A tsc_hz of 0 counts as 1 GHz and a timer_hz of 0 as tsc_hz, so no
 *   division by zero.
 *
 * 128-bit quotients go through udiv128(): the hypervisor links without
 * libgcc, so the compiler's __udivti3 is not available. */
#include "vlapic.h"

#include <stddef.h>
#include <string.h>

typedef unsigned __int128 u128;

#define U64_MAX  ((uint64_t)-1)
#define REG(off) ((off) >> 2)

#define SVR_ENABLE       0x100u
#define SVR_SUPPRESS_EOI 0x1000u
#define SVR_BITS         0x11FFu /* vector, enable, EOI-broadcast suppression */

#define LVT_MASKED     0x10000u
#define LVT_TIMER_BITS 0x700FFu /* vector, mask, mode 18:17 */
#define LVT_DM_BITS    0x107FFu /* thermal, perf: vector, delivery mode, mask */
#define LVT_LINT_BITS  0x1A7FFu /* + polarity 13, trigger 15 (remote IRR 14 is RO) */
#define LVT_ERROR_BITS 0x100FFu

#define TIMER_ONESHOT  0u
#define TIMER_PERIODIC 1u
#define TIMER_DEADLINE 2u

#define ESR_SEND_ILLEGAL 0x20u
#define ESR_RECV_ILLEGAL 0x40u
#define ESR_ILLEGAL_REG  0x80u

#define ICR_LO_BITS 0x000CCFFFu /* vector, dm, dest mode, level, trigger, shorthand */
#define ICR_LEVEL   (1u << 14)
#define ICR_TRIGGER (1u << 15)

#define DM_FIXED  0
#define DM_LOWEST 1
#define DM_SMI    2
#define DM_NMI    4
#define DM_INIT   5
#define DM_SIPI   6
#define DM_EXTINT 7

/* Version register: VLAPIC_VERSION with bit 24, EOI-broadcast suppression. */
#define VERSION_VALUE  (VLAPIC_VERSION | (1u << 24))
/* Bits 0-7, 9 and everything above a 36-bit physical address. */
#define APIC_BASE_RSVD (0xFFull | (1ull << 9) | (~0ull << 36))
#define APIC_BASE_ADDR 0x0000000FFFFFF000ull

enum { MODE_DISABLED, MODE_XAPIC, MODE_X2APIC };

static const uint32_t lvt_offsets[6] = {
    LAPIC_LVT_TIMER, LAPIC_LVT_THERMAL, LAPIC_LVT_PERF, LAPIC_LVT_LINT0, LAPIC_LVT_LINT1, LAPIC_LVT_ERROR,
};

/* floor(n / d), n % d for d != 0, by shift-and-subtract over the 128 bits
 * (bounded: 128 steps). The remainder stays below d, so the carry out of
 * the 64-bit remainder marks "r >= d". */
static u128 udiv128(u128 n, uint64_t d, uint64_t *rem)
{
    u128 q = 0;
    uint64_t r = 0;

    if ((n >> 64) == 0) {
        if (rem)
            *rem = (uint64_t)n % d;
        return (uint64_t)n / d;
    }
    for (int i = 127; i >= 0; i--) {
        uint64_t carry = r >> 63;

        r = (r << 1) | (uint64_t)((n >> i) & 1);
        q <<= 1;
        if (carry || r >= d) {
            r -= d;
            q |= 1;
        }
    }
    if (rem)
        *rem = r;
    return q;
}

static uint64_t host_now(const struct vlapic *l)
{
    if (!l->host || !l->host->now)
        return 0;
    return l->host->now(l->host->ctx);
}

static void host_kick(const struct vlapic *l)
{
    if (l->host && l->host->kick)
        l->host->kick(l->host->ctx);
}

static int apic_mode(const struct vlapic *l)
{
    if (!(l->apic_base & APIC_BASE_EN))
        return MODE_DISABLED;
    return (l->apic_base & APIC_BASE_EXTD) ? MODE_X2APIC : MODE_XAPIC;
}

static int sw_enabled(const struct vlapic *l) { return (l->regs[REG(LAPIC_SVR)] & SVR_ENABLE) != 0; }

/* --- bit arrays: ISR, TMR, IRR are 8 registers 16 bytes apart ---------- */

static uint32_t *vec_word(struct vlapic *l, uint32_t base, unsigned v)
{
    return &l->regs[REG(base) + (v >> 5) * 4];
}

static int vec_test(const struct vlapic *l, uint32_t base, unsigned v)
{
    return (l->regs[REG(base) + (v >> 5) * 4] >> (v & 31)) & 1;
}

static void vec_set(struct vlapic *l, uint32_t base, unsigned v) { *vec_word(l, base, v) |= 1u << (v & 31); }

static void vec_clear(struct vlapic *l, uint32_t base, unsigned v)
{
    *vec_word(l, base, v) &= ~(1u << (v & 31));
}

static int vec_highest(const struct vlapic *l, uint32_t base)
{
    for (int i = 7; i >= 0; i--) {
        uint32_t w = l->regs[REG(base) + (unsigned)i * 4];

        if (w)
            return i * 32 + 31 - __builtin_clz(w);
    }
    return -1;
}

/* A fixed interrupt into IRR, edge (TMR clear) or level (TMR set). */
static void post_irr(struct vlapic *l, unsigned v, int level)
{
    vec_set(l, LAPIC_IRR, v);
    if (vec_test(l, LAPIC_TMR, v) != (level != 0)) {
        l->tmr_changed = 1;
        if (level)
            vec_set(l, LAPIC_TMR, v);
        else
            vec_clear(l, LAPIC_TMR, v);
    }
    if ((int)v > l->posted_irr)
        l->posted_irr = (int16_t)v;
}

int vlapic_take_posted(struct vlapic *l, int *tmr_changed)
{
    int v = l->posted_irr;
    *tmr_changed = l->tmr_changed;
    l->posted_irr = -1;
    l->tmr_changed = 0;
    return v;
}

/* PPR (SDM "Processor Priority Register"): TPR if its class is at least the
 * highest in-service class, else that class with sub-class 0. */
static uint32_t compute_ppr(const struct vlapic *l)
{
    uint32_t tpr = l->regs[REG(LAPIC_TPR)] & 0xFF;
    int isrv = vec_highest(l, LAPIC_ISR);
    uint32_t isr_class = isrv < 0 ? 0 : ((uint32_t)isrv & 0xF0);

    return (tpr & 0xF0) >= isr_class ? tpr : isr_class;
}

/* --- errors -------------------------------------------------------------- */

/* Collects errors; a newly seen error raises the error LVT if unmasked. An
 * illegal vector in the error LVT itself only records bit 6 (no loop). */
static void set_error(struct vlapic *l, uint8_t bits)
{
    uint8_t fresh = bits & (uint8_t)~l->esr_pending;
    uint32_t lvt = l->regs[REG(LAPIC_LVT_ERROR)];
    unsigned v = lvt & 0xFF;

    l->esr_pending |= bits;
    if (!fresh || (lvt & LVT_MASKED) || apic_mode(l) == MODE_DISABLED)
        return;
    if (v < 16) {
        l->esr_pending |= ESR_RECV_ILLEGAL;
        return;
    }
    post_irr(l, v, 0);
    irq_host_trace(l->host, TRACE_LAPIC_ACCEPT, v, DM_FIXED, 0);
    host_kick(l);
}

/* --- timer ----------------------------------------------------------------- */

static uint32_t timer_mode(const struct vlapic *l)
{
    uint32_t m = (l->regs[REG(LAPIC_LVT_TIMER)] >> 17) & 3;

    return m == 3 ? TIMER_ONESHOT : m;
}

static uint64_t timer_divisor(const struct vlapic *l)
{
    uint32_t dcr = l->regs[REG(LAPIC_TIMER_DCR)];
    uint32_t v = (dcr & 3) | ((dcr >> 1) & 4);

    return v == 7 ? 1 : 2ull << v;
}

/* Bus clocks (before the divider) in d TSC ticks: floor(d * timer_hz / tsc_hz). */
static u128 bus_clocks(const struct vlapic *l, uint64_t d)
{
    return udiv128((u128)d * l->timer_hz, l->tsc_hz, NULL);
}

/* TSC ticks until b bus clocks have passed: ceil(b * tsc_hz / timer_hz),
 * split as b = q * timer_hz + r so no product exceeds 128 bits. 0 when the
 * result does not fit in 64 bits. */
static uint64_t ticks_for(const struct vlapic *l, u128 b)
{
    uint64_t r, rr;
    u128 q = udiv128(b, l->timer_hz, &r), total, part;

    if (q >> 64)
        return 0;
    total = (u128)(uint64_t)q * l->tsc_hz;
    if (total >> 64)
        return 0;
    part = udiv128((u128)r * l->tsc_hz, l->timer_hz, &rr);
    total += part + (rr != 0);
    if (total >> 64)
        return 0;
    return (uint64_t)total;
}

/* TSC at which b bus clocks have passed since the start; 0 = beyond the
 * 64-bit TSC (never). */
static uint64_t deadline_after(const struct vlapic *l, u128 b)
{
    uint64_t d = ticks_for(l, b);

    if (d == 0 || d > U64_MAX - l->timer_start)
        return 0;
    return l->timer_start + d;
}

/* Bus clocks in one full count. */
static uint64_t period_clocks(const struct vlapic *l)
{
    return (uint64_t)l->regs[REG(LAPIC_TIMER_ICR)] * timer_divisor(l);
}

static void timer_stop(struct vlapic *l)
{
    l->timer_period = 0;
    l->timer_deadline = 0;
}

/* Starts a one-shot/periodic count from the initial count at now. */
static void timer_start(struct vlapic *l)
{
    uint64_t p = period_clocks(l), t;

    if (p == 0) {
        timer_stop(l);
        return;
    }
    l->timer_start = host_now(l);
    t = ticks_for(l, p);
    l->timer_period = t ? t : U64_MAX; /* non-zero: running */
    l->timer_deadline = deadline_after(l, p);
}

static void timer_disarm(struct vlapic *l)
{
    timer_stop(l);
    l->tsc_deadline = 0;
}

/* Out of the timer's way: only with the trace on. */
static __attribute__((noinline, cold)) void trace_timer(const struct vlapic *l, uint32_t lvt)
{
    irq_host_trace(l->host, TRACE_LAPIC_TIMER, lvt & 0xFF, (lvt >> 17) & 3, (lvt & LVT_MASKED) != 0);
}

static void timer_fire(struct vlapic *l)
{
    uint32_t lvt = l->regs[REG(LAPIC_LVT_TIMER)];

    l->timer_fired++;
    if (__builtin_expect(l->host && l->host->trace, 0))
        trace_timer(l, lvt);
    /* A masked LVT only suppresses the interrupt. Illegal vectors set ESR
     * bit 6 through vlapic_accept. */
    if (!(lvt & LVT_MASKED))
        vlapic_accept(l, (uint8_t)lvt, DM_FIXED, 0);
}

static uint32_t current_count(const struct vlapic *l)
{
    uint64_t now = host_now(l), p = period_clocks(l), rem;
    uint32_t icr = l->regs[REG(LAPIC_TIMER_ICR)];
    u128 e;

    if (l->timer_period == 0 || p == 0 || timer_mode(l) == TIMER_DEADLINE)
        return 0;
    e = now > l->timer_start ? bus_clocks(l, now - l->timer_start) : 0;
    /* A one-shot count ends at its deadline; before that (also after a
     * switch from periodic) it is where the current period is. */
    if (timer_mode(l) != TIMER_PERIODIC && now >= l->timer_deadline)
        return 0;
    udiv128(e, p, &rem);
    return icr - (uint32_t)(rem / timer_divisor(l));
}

uint64_t vlapic_timer_next(const struct vlapic *l)
{
    if (apic_mode(l) == MODE_DISABLED)
        return 0;
    if (timer_mode(l) == TIMER_DEADLINE)
        return l->tsc_deadline;
    return l->timer_period ? l->timer_deadline : 0;
}

int vlapic_timer_can_interrupt(const struct vlapic *l)
{
    return vlapic_timer_next(l) && !(l->regs[REG(LAPIC_LVT_TIMER)] & LVT_MASKED);
}

uint64_t vlapic_update_timer(struct vlapic *l)
{
    uint64_t now = host_now(l), p, rem;
    u128 e, next;

    if (apic_mode(l) == MODE_DISABLED)
        return 0;
    if (timer_mode(l) == TIMER_DEADLINE) {
        if (l->tsc_deadline && now >= l->tsc_deadline) {
            l->tsc_deadline = 0; /* the MSR reads 0 after expiry */
            timer_fire(l);
        }
        l->timer_deadline = l->tsc_deadline;
        return l->timer_deadline;
    }
    if (l->timer_period == 0 || l->timer_deadline == 0 || now < l->timer_deadline)
        return l->timer_deadline;
    timer_fire(l);
    p = period_clocks(l);
    if (timer_mode(l) != TIMER_PERIODIC || p == 0) {
        timer_stop(l);
        return 0;
    }
    /* Next deadline: the first whole period after now, counted from the
     * start so rounding never accumulates; missed periods are dropped. */
    e = bus_clocks(l, now - l->timer_start);
    udiv128(e, p, &rem);
    next = e - rem;
    if (next > ~(u128)0 - p) {
        l->timer_deadline = 0;
        return 0;
    }
    l->timer_deadline = deadline_after(l, next + p);
    return l->timer_deadline;
}

/* --- acceptance, priority, EOI -------------------------------------------- */

int vlapic_accept(struct vlapic *l, uint8_t vector, uint8_t mode, int level)
{
    if (apic_mode(l) == MODE_DISABLED)
        return 0;
    switch (mode) {
    case DM_FIXED:
    case DM_LOWEST:
        if (!sw_enabled(l))
            return 0;
        if (vector < 16) {
            set_error(l, ESR_RECV_ILLEGAL);
            return 0;
        }
        post_irr(l, vector, level);
        break;
    case DM_NMI: l->nmi_pending = 1; break;
    case DM_INIT:
    case DM_SIPI:
        if (l->ops.init_sipi)
            l->ops.init_sipi(l->ops.ctx, mode == DM_SIPI, vector, 1);
        break;
    case DM_EXTINT:
        /* The vPIC supplies the vector at the INTA cycle; remember that a
         * message came, so a request that vanishes before then still gets
         * its INTA (and the 8259's spurious vector). */
        l->extint_msg = 1;
        break;
    default: return 0; /* SMI and reserved modes are not modelled */
    }
    irq_host_trace(l->host, TRACE_LAPIC_ACCEPT, vector, mode, level != 0);
    host_kick(l);
    return 1;
}

static int extint_ready(const struct vlapic *l)
{
    uint32_t lint0 = l->regs[REG(LAPIC_LVT_LINT0)];

    return !(lint0 & LVT_MASKED) && ((lint0 >> 8) & 7) == DM_EXTINT && l->ops.extint_pending &&
           l->ops.extint_pending(l->ops.ctx);
}

int vlapic_highest_irr(const struct vlapic *l) { return vec_highest(l, LAPIC_IRR); }
int vlapic_highest_isr(const struct vlapic *l) { return vec_highest(l, LAPIC_ISR); }

int vlapic_extint_pending(const struct vlapic *l)
{
    return apic_mode(l) != MODE_DISABLED && sw_enabled(l) && (extint_ready(l) || l->extint_msg);
}

int vlapic_xapic_enabled(const struct vlapic *l) { return apic_mode(l) == MODE_XAPIC; }

int vlapic_x2apic_enabled(const struct vlapic *l) { return apic_mode(l) == MODE_X2APIC; }

int vlapic_pending(const struct vlapic *l)
{
    int v;

    if (apic_mode(l) == MODE_DISABLED || !sw_enabled(l))
        return -1;
    /* PIC interrupts (ExtINT) bypass the priority scheme and the IRR: the
     * LAPIC hands them to the CPU first, as KVM does, so that 8259 lines
     * cannot starve behind fixed vectors (on both APIC paths alike). */
    if (extint_ready(l) || l->extint_msg)
        return 256;
    v = vec_highest(l, LAPIC_IRR);
    if (v >= 0 && ((uint32_t)v & 0xF0) > (compute_ppr(l) & 0xF0))
        return v;
    return -1;
}

int vlapic_acknowledge(struct vlapic *l, int vector)
{
    if (apic_mode(l) == MODE_DISABLED)
        return -1;
    if (vector == 256) {
        l->extint_msg = 0;
        return l->ops.extint_ack ? l->ops.extint_ack(l->ops.ctx) : -1;
    }
    if (vector < 0 || vector > 255 || !vec_test(l, LAPIC_IRR, (unsigned)vector))
        return -1;
    vec_clear(l, LAPIC_IRR, (unsigned)vector);
    vec_set(l, LAPIC_ISR, (unsigned)vector);
    l->regs[REG(LAPIC_PPR)] = compute_ppr(l);
    return vector;
}

static void do_eoi(struct vlapic *l)
{
    int v = vec_highest(l, LAPIC_ISR);

    if (v < 0)
        return;
    vec_clear(l, LAPIC_ISR, (unsigned)v);
    l->regs[REG(LAPIC_PPR)] = compute_ppr(l);
    irq_host_trace(l->host, TRACE_EOI, (uint32_t)v, 0, 0);
    if (vec_test(l, LAPIC_TMR, (unsigned)v) && !(l->regs[REG(LAPIC_SVR)] & SVR_SUPPRESS_EOI) &&
        l->ops.eoi_broadcast)
        l->ops.eoi_broadcast(l->ops.ctx, (uint8_t)v);
}

/* --- IPIs ------------------------------------------------------------------ */

static int dest_match(const struct vlapic *l, uint32_t dest, int logical)
{
    if (apic_mode(l) == MODE_X2APIC) {
        uint32_t ldr = l->regs[REG(LAPIC_LDR)];

        if (dest == 0xFFFFFFFFu)
            return 1;
        if (!logical)
            return dest == l->regs[REG(LAPIC_ID)];
        /* Cluster in bits 31:16, one bit per member in 15:0. */
        return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xFFFF) != 0;
    }
    dest &= 0xFF;
    if (dest == 0xFF)
        return 1;
    if (!logical)
        return dest == l->regs[REG(LAPIC_ID)] >> 24;
    {
        uint32_t ldr = l->regs[REG(LAPIC_LDR)] >> 24;
        uint32_t model = l->regs[REG(LAPIC_DFR)] >> 28;

        if (model == 0xF) /* flat */
            return (dest & ldr) != 0;
        if (model == 0x0) /* cluster */
            return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xF) != 0;
        return 0;
    }
}

static void send_ipi(struct vlapic *l, uint32_t lo, uint32_t dest)
{
    uint8_t vec = (uint8_t)lo;
    unsigned dm = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
    int self;

    switch (shorthand) {
    case 0: self = dest_match(l, dest, (lo >> 11) & 1); break;
    case 1: /* self */
    case 2: /* all including self */ self = 1; break;
    default: /* all excluding self: nobody else here */ self = 0; break;
    }
    switch (dm) {
    case DM_INIT:
        if (apic_mode(l) == MODE_XAPIC && !(lo & ICR_LEVEL) && (lo & ICR_TRIGGER))
            return; /* INIT level de-assert: only synchronizes arbitration IDs */
        /* fall through */
    case DM_SIPI:
        /* Reported whoever it is for: the recorder says what became of an
         * INIT or SIPI to other CPUs (there are none) or to this one. */
        if (l->ops.init_sipi)
            l->ops.init_sipi(l->ops.ctx, dm == DM_SIPI, vec, self);
        return;
    case DM_FIXED:
    case DM_LOWEST:
        if (vec < 16) {
            set_error(l, ESR_SEND_ILLEGAL);
            return;
        }
        break;
    case DM_NMI: break;
    default: return; /* SMI, reserved */
    }
    if (self)
        vlapic_accept(l, vec, dm == DM_NMI ? DM_NMI : DM_FIXED, 0);
}

/* --- registers ------------------------------------------------------------- */

static void reset_state(struct vlapic *l)
{
    memset(l->regs, 0, sizeof(l->regs));
    l->regs[REG(LAPIC_ID)] = (l->initial_id & 0xFF) << 24;
    l->regs[REG(LAPIC_VER)] = VERSION_VALUE;
    l->regs[REG(LAPIC_DFR)] = 0xFFFFFFFFu;
    l->regs[REG(LAPIC_SVR)] = 0xFF;
    for (unsigned i = 0; i < 6; i++)
        l->regs[REG(lvt_offsets[i])] = LVT_MASKED;
    l->esr_pending = 0;
    l->nmi_pending = 0;
    l->timer_start = 0;
    timer_disarm(l);
}

void vlapic_init(struct vlapic *l, uint32_t id, uint64_t tsc_hz, uint64_t timer_hz,
                 const struct irq_host *host, const struct vlapic_ops *ops)
{
    memset(l, 0, sizeof(*l));
    l->initial_id = id;
    l->posted_irr = -1;
    l->tsc_hz = tsc_hz ? tsc_hz : 1000000000ull;
    l->timer_hz = timer_hz ? timer_hz : l->tsc_hz;
    l->host = host;
    if (ops)
        l->ops = *ops;
    l->apic_base = VLAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP;
    reset_state(l);
}

void vlapic_bios_virtual_wire(struct vlapic *l)
{
    l->regs[REG(LAPIC_SVR)] = 0x1FF;
    l->regs[REG(LAPIC_LVT_LINT0)] = DM_EXTINT << 8;
    l->regs[REG(LAPIC_LVT_LINT1)] = DM_NMI << 8;
}

static int is_bitmap(uint32_t off, uint32_t base) { return off >= base && off < base + 0x80; }

/* One 32-bit register read. x2 selects x2APIC rules (-1 = #GP). */
static int reg_read(struct vlapic *l, uint32_t off, int x2, uint32_t *val)
{
    *val = 0;
    if (is_bitmap(off, LAPIC_ISR) || is_bitmap(off, LAPIC_TMR) || is_bitmap(off, LAPIC_IRR)) {
        *val = l->regs[REG(off)];
        return 0;
    }
    switch (off) {
    case LAPIC_ID:
    case LAPIC_TPR:
    case LAPIC_LDR:
    case LAPIC_SVR:
    case LAPIC_ESR:
    case LAPIC_LVT_TIMER:
    case LAPIC_LVT_THERMAL:
    case LAPIC_LVT_PERF:
    case LAPIC_LVT_LINT0:
    case LAPIC_LVT_LINT1:
    case LAPIC_LVT_ERROR:
    case LAPIC_TIMER_ICR:
    case LAPIC_TIMER_DCR: *val = l->regs[REG(off)]; return 0;
    case LAPIC_VER: *val = VERSION_VALUE; return 0;
    case LAPIC_PPR: *val = compute_ppr(l); return 0;
    case LAPIC_TIMER_CCR: *val = current_count(l); return 0;
    case LAPIC_ICR_LO: /* delivery status (bit 12) is always idle */
    case LAPIC_ICR_HI:
    case LAPIC_DFR:
        if (x2)
            return -1;
        *val = l->regs[REG(off)];
        return 0;
    case LAPIC_APR: /* arbitration priority: not modelled, reads 0 */
    case LAPIC_RRD:
    case LAPIC_EOI: /* write-only */ return x2 ? -1 : 0;
    default: /* reserved, CMCI (no such LVT), SELF IPI (WO in x2APIC) */
        if (x2)
            return -1;
        set_error(l, ESR_ILLEGAL_REG);
        return 0;
    }
}

static void write_lvt(struct vlapic *l, uint32_t off, uint32_t val, uint32_t bits)
{
    if (!sw_enabled(l))
        val |= LVT_MASKED; /* cannot unmask while software-disabled */
    l->regs[REG(off)] = val & (bits | LVT_MASKED);
}

static int reg_write(struct vlapic *l, uint32_t off, uint32_t val, int x2)
{
    uint32_t old;

    if (is_bitmap(off, LAPIC_ISR) || is_bitmap(off, LAPIC_TMR) || is_bitmap(off, LAPIC_IRR))
        return x2 ? -1 : 0;
    switch (off) {
    case LAPIC_ID:
    case LAPIC_LDR:
        if (x2)
            return -1;
        l->regs[REG(off)] = val & 0xFF000000u;
        return 0;
    case LAPIC_VER:
    case LAPIC_PPR:
    case LAPIC_TIMER_CCR:
    case LAPIC_APR:
    case LAPIC_RRD: return x2 ? -1 : 0; /* read-only */
    case LAPIC_TPR: vlapic_set_tpr(l, (uint8_t)val); return 0;
    case LAPIC_EOI:
        if (x2 && val)
            return -1;
        do_eoi(l);
        return 0;
    case LAPIC_DFR:
        if (x2)
            return -1;
        l->regs[REG(off)] = (val & 0xF0000000u) | 0x0FFFFFFFu;
        return 0;
    case LAPIC_SVR:
        l->regs[REG(off)] = val & SVR_BITS;
        if (!(val & SVR_ENABLE))
            for (unsigned i = 0; i < 6; i++)
                l->regs[REG(lvt_offsets[i])] |= LVT_MASKED;
        return 0;
    case LAPIC_ESR:
        if (x2 && val)
            return -1;
        /* Write-before-read: latch what was collected, start collecting anew. */
        l->regs[REG(off)] = l->esr_pending;
        l->esr_pending = 0;
        return 0;
    case LAPIC_ICR_LO: /* x2APIC's 64-bit ICR is handled by the MSR path */
        if (x2)
            return -1;
        l->regs[REG(off)] = val & ICR_LO_BITS;
        send_ipi(l, val & ICR_LO_BITS, l->regs[REG(LAPIC_ICR_HI)] >> 24);
        return 0;
    case LAPIC_ICR_HI:
        if (x2)
            return -1;
        l->regs[REG(off)] = val & 0xFF000000u;
        return 0;
    case LAPIC_LVT_TIMER:
        old = timer_mode(l);
        write_lvt(l, off, val, LVT_TIMER_BITS);
        /* SDM 10.5.4.1: a switch into or out of TSC-deadline mode disarms
         * the timer. Between one-shot and periodic the count goes on from
         * where it is (as on hardware and KVM); periodic reloads at 0. */
        if ((timer_mode(l) == TIMER_DEADLINE) != (old == TIMER_DEADLINE))
            timer_disarm(l);
        return 0;
    case LAPIC_LVT_THERMAL:
    case LAPIC_LVT_PERF: write_lvt(l, off, val, LVT_DM_BITS); return 0;
    case LAPIC_LVT_LINT0:
    case LAPIC_LVT_LINT1: write_lvt(l, off, val, LVT_LINT_BITS); return 0;
    case LAPIC_LVT_ERROR: write_lvt(l, off, val, LVT_ERROR_BITS); return 0;
    case LAPIC_TIMER_ICR:
        if (timer_mode(l) == TIMER_DEADLINE)
            return 0; /* ignored in TSC-deadline mode */
        l->regs[REG(off)] = val;
        timer_start(l); /* 0 stops */
        return 0;
    case LAPIC_TIMER_DCR:
        l->regs[REG(off)] = val & 0xB;
        if (l->timer_period && timer_mode(l) != TIMER_DEADLINE)
            timer_start(l); /* re-based: restart the count (see top) */
        return 0;
    case LAPIC_SELF_IPI:
        if (!x2)
            break;
        if (val & ~0xFFu)
            return -1; /* bits 31:8 are reserved: #GP */
        vlapic_accept(l, (uint8_t)val, DM_FIXED, 0);
        return 0;
    default: break;
    }
    if (x2)
        return -1;
    set_error(l, ESR_ILLEGAL_REG);
    return 0;
}

int vlapic_mmio_read(struct vlapic *l, uint32_t offset, uint32_t *val)
{
    *val = 0;
    if (apic_mode(l) != MODE_XAPIC)
        return -1;
    if (offset > 0xFF0 || (offset & 0xF))
        return 0;
    return reg_read(l, offset, 0, val);
}

uint8_t vlapic_get_tpr(const struct vlapic *l) { return (uint8_t)l->regs[REG(LAPIC_TPR)]; }

void vlapic_set_tpr(struct vlapic *l, uint8_t tpr)
{
    l->regs[REG(LAPIC_TPR)] = tpr;
    l->regs[REG(LAPIC_PPR)] = compute_ppr(l);
}

int vlapic_mmio_write(struct vlapic *l, uint32_t offset, uint32_t val)
{
    if (apic_mode(l) != MODE_XAPIC)
        return -1;
    if (offset > 0xFF0 || (offset & 0xF))
        return 0;
    return reg_write(l, offset, val, 0);
}

/* IA32_APIC_BASE: the transitions of SDM "State Changes From xAPIC Mode to
 * x2APIC Mode". */
static int write_apic_base(struct vlapic *l, uint64_t val)
{
    int from = apic_mode(l), to;

    if ((val & APIC_BASE_RSVD) || ((val & APIC_BASE_EXTD) && l->no_x2apic))
        return -1;
    if ((val & APIC_BASE_EXTD) && !(val & APIC_BASE_EN))
        return -1;
    to = !(val & APIC_BASE_EN) ? MODE_DISABLED : (val & APIC_BASE_EXTD) ? MODE_X2APIC : MODE_XAPIC;
    if ((from == MODE_X2APIC && to == MODE_XAPIC) || (from == MODE_DISABLED && to == MODE_X2APIC))
        return -1;
    /* BSP is the processor's, not the guest's, to choose. */
    l->apic_base = (val & (APIC_BASE_ADDR | APIC_BASE_EN | APIC_BASE_EXTD)) | (l->apic_base & APIC_BASE_BSP);
    if (to == MODE_DISABLED && from != MODE_DISABLED) {
        reset_state(l);
    } else if (to == MODE_X2APIC && from == MODE_XAPIC) {
        uint32_t id = l->initial_id;

        l->regs[REG(LAPIC_ID)] = id;
        l->regs[REG(LAPIC_LDR)] = ((id >> 4) << 16) | (1u << (id & 0xF));
    }
    return 0;
}

int vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *val)
{
    uint32_t v32;

    *val = 0;
    if (msr == MSR_IA32_APIC_BASE) {
        *val = l->apic_base;
        return 0;
    }
    if (msr == MSR_IA32_TSC_DEADLINE) {
        /* Reads 0 outside TSC-deadline mode. */
        if (apic_mode(l) != MODE_DISABLED && timer_mode(l) == TIMER_DEADLINE)
            *val = l->tsc_deadline;
        return 0;
    }
    if (msr < 0x800 || msr > 0x8FF || apic_mode(l) != MODE_X2APIC)
        return -1;
    if (msr == 0x830) {
        *val = ((uint64_t)l->regs[REG(LAPIC_ICR_HI)] << 32) | l->regs[REG(LAPIC_ICR_LO)];
        return 0;
    }
    if (reg_read(l, (msr - 0x800) << 4, 1, &v32))
        return -1;
    *val = v32;
    return 0;
}

int vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val)
{
    if (msr == MSR_IA32_APIC_BASE)
        return write_apic_base(l, val);
    if (msr == MSR_IA32_TSC_DEADLINE) {
        /* Writes are ignored outside TSC-deadline mode; 0 disarms. */
        if (apic_mode(l) != MODE_DISABLED && timer_mode(l) == TIMER_DEADLINE) {
            l->tsc_deadline = val;
            l->timer_deadline = val;
        }
        return 0;
    }
    if (msr < 0x800 || msr > 0x8FF || apic_mode(l) != MODE_X2APIC)
        return -1;
    if (msr == 0x830) {
        uint32_t lo = (uint32_t)val & ICR_LO_BITS;

        l->regs[REG(LAPIC_ICR_LO)] = lo;
        l->regs[REG(LAPIC_ICR_HI)] = (uint32_t)(val >> 32);
        send_ipi(l, lo, (uint32_t)(val >> 32));
        return 0;
    }
    /* The upper halves of the other x2APIC MSRs are reserved. */
    if (val >> 32)
        return -1;
    return reg_write(l, (msr - 0x800) << 4, (uint32_t)val, 1);
}
