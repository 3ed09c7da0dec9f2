/* Unit tests: the virtual local APIC (irq/vlapic.c), driven by a fake clock
 * and recorders for the VM-side callbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../irq/vlapic.h"

#define HZ_TSC     1000000000ull /* exact: 10 TSC ticks per bus clock */
#define HZ_BUS     100000000ull
#define HZ_TSC_INX 3000000000ull /* inexact: 428.57 ticks per bus clock */
#define HZ_BUS_INX 7000000ull

#define SVR_ON 0x1FFu
#define MASKED 0x10000u

struct fake {
    uint64_t now;
    int ntraces, naccept_traces, neoi_traces;
    enum irq_trace_event ev;
    uint32_t a, b, c;
    int nbroadcast;
    uint8_t broadcast_vec;
    int extint_pending;
    uint8_t extint_vec;
    int nextint_ack;
    int ninit, nsipi, init_to_self;
    uint8_t sipi_vec;
    int kicks;
    int ntimer_traces;
};

static struct fake f;
static struct irq_host host;
static struct vlapic_ops ops;
static struct vlapic l;

static uint64_t fake_now(void *ctx) { return ((struct fake *)ctx)->now; }
static void fake_kick(void *ctx) { ((struct fake *)ctx)->kicks++; }

static void fake_trace(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    struct fake *x = ctx;

    x->ntraces++;
    if (ev == TRACE_LAPIC_ACCEPT)
        x->naccept_traces++;
    if (ev == TRACE_EOI)
        x->neoi_traces++;
    if (ev == TRACE_LAPIC_TIMER)
        x->ntimer_traces++;
    x->ev = ev;
    x->a = a;
    x->b = b;
    x->c = c;
}

static void fake_broadcast(void *ctx, uint8_t v)
{
    struct fake *x = ctx;

    x->nbroadcast++;
    x->broadcast_vec = v;
}

static int fake_extint_pending(void *ctx) { return ((struct fake *)ctx)->extint_pending; }

static uint8_t fake_extint_ack(void *ctx)
{
    struct fake *x = ctx;

    x->nextint_ack++;
    return x->extint_vec;
}

static void fake_init_sipi(void *ctx, int sipi, uint8_t v, int to_self)
{
    struct fake *x = ctx;

    x->init_to_self = to_self;
    if (sipi) {
        x->nsipi++;
        x->sipi_vec = v;
    } else {
        x->ninit++;
    }
}

static void init_hz(uint32_t id, uint64_t tsc, uint64_t bus)
{
    memset(&f, 0, sizeof(f));
    memset(&host, 0, sizeof(host));
    host.ctx = &f;
    host.now = fake_now;
    host.kick = fake_kick;
    host.trace = fake_trace;
    ops.eoi_broadcast = fake_broadcast;
    ops.extint_pending = fake_extint_pending;
    ops.extint_ack = fake_extint_ack;
    ops.init_sipi = fake_init_sipi;
    ops.ctx = &f;
    vlapic_init(&l, id, tsc, bus, &host, &ops);
}

/* Enabled xAPIC with ID `id`, software-enabled. */
static void setup_id(uint32_t id)
{
    init_hz(id, HZ_TSC, HZ_BUS);
    assert_int_equal(vlapic_mmio_write(&l, LAPIC_SVR, SVR_ON), 0);
}

static void setup(void) { setup_id(0); }

static uint32_t rd(uint32_t off)
{
    uint32_t v = 0xDEADBEEF;

    assert_int_equal(vlapic_mmio_read(&l, off, &v), 0);
    return v;
}

static void wr(uint32_t off, uint32_t v) { assert_int_equal(vlapic_mmio_write(&l, off, v), 0); }

static uint64_t rdmsr(uint32_t msr)
{
    uint64_t v = 0xDEADBEEF;

    assert_int_equal(vlapic_msr_read(&l, msr, &v), 0);
    return v;
}

static void to_x2apic(void)
{
    assert_int_equal(
        vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD), 0);
}

static int irr(unsigned v) { return (rd(LAPIC_IRR + (v >> 5) * 16) >> (v & 31)) & 1; }
static int isr(unsigned v) { return (rd(LAPIC_ISR + (v >> 5) * 16) >> (v & 31)) & 1; }
static int tmr(unsigned v) { return (rd(LAPIC_TMR + (v >> 5) * 16) >> (v & 31)) & 1; }

/* Takes the pending vector; asserts it is `v`. */
static void take(int v)
{
    assert_int_equal(vlapic_pending(&l), v);
    assert_int_equal(vlapic_acknowledge(&l, v), v);
}

/* ---- registers ---------------------------------------------------------- */

static void test_init_state(void **s)
{
    (void)s;
    init_hz(3, HZ_TSC, HZ_BUS);
    assert_int_equal(rdmsr(MSR_IA32_APIC_BASE), VLAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP);
    assert_int_equal(rd(LAPIC_ID), 3u << 24);
    assert_int_equal(rd(LAPIC_SVR), 0xFF);
    assert_int_equal(rd(LAPIC_DFR), 0xFFFFFFFFu);
    assert_int_equal(rd(LAPIC_LVT_TIMER), MASKED);
    assert_int_equal(rd(LAPIC_LVT_LINT0), MASKED);
    assert_int_equal(rd(LAPIC_LVT_ERROR), MASKED);
    assert_int_equal(rd(LAPIC_TPR), 0);
    assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
}

static void test_version_readonly(void **s)
{
    (void)s;
    setup();
    assert_int_equal(rd(LAPIC_VER), 0x01050014u);
    wr(LAPIC_VER, 0);
    assert_int_equal(rd(LAPIC_VER), 0x01050014u);
}

static void test_id_writable_xapic(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_ID, 0x12345678);
    assert_int_equal(rd(LAPIC_ID), 0x12000000u);
}

static void test_tpr_bits(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TPR, 0x1FF);
    assert_int_equal(rd(LAPIC_TPR), 0xFF);
}

static void test_ppr_tpr_only(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TPR, 0x35);
    assert_int_equal(rd(LAPIC_PPR), 0x35);
    wr(LAPIC_PPR, 0x99);
    assert_int_equal(rd(LAPIC_PPR), 0x35);
}

static void test_ppr_isr_class(void **s)
{
    (void)s;
    setup();
    vlapic_accept(&l, 0x5A, 0, 0);
    take(0x5A);
    wr(LAPIC_TPR, 0x37);
    assert_int_equal(rd(LAPIC_PPR), 0x50);
    wr(LAPIC_TPR, 0x57);
    assert_int_equal(rd(LAPIC_PPR), 0x57);
    wr(LAPIC_TPR, 0x62);
    assert_int_equal(rd(LAPIC_PPR), 0x62);
}

static void test_ldr_dfr_xapic(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_LDR, 0xFFFFFFFF);
    assert_int_equal(rd(LAPIC_LDR), 0xFF000000u);
    wr(LAPIC_DFR, 0);
    assert_int_equal(rd(LAPIC_DFR), 0x0FFFFFFFu);
    wr(LAPIC_DFR, 0xF0000000u);
    assert_int_equal(rd(LAPIC_DFR), 0xFFFFFFFFu);
}

static void test_svr_bits(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_SVR, 0xFFFFFFFF);
    assert_int_equal(rd(LAPIC_SVR), 0x11FF);
}

static void test_sw_disable_masks_lvts(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_LVT_TIMER, 0x40);
    wr(LAPIC_LVT_LINT1, 0x400);
    assert_int_equal(rd(LAPIC_LVT_TIMER), 0x40);
    wr(LAPIC_SVR, 0xFF);
    assert_int_equal(rd(LAPIC_LVT_TIMER), MASKED | 0x40);
    assert_int_equal(rd(LAPIC_LVT_LINT1), MASKED | 0x400);
    wr(LAPIC_LVT_TIMER, 0x41);
    assert_int_equal(rd(LAPIC_LVT_TIMER), MASKED | 0x41);
}

static void test_bitmaps_readonly(void **s)
{
    (void)s;
    setup();
    vlapic_accept(&l, 0x30, 0, 1);
    wr(LAPIC_IRR + 0x10, 0);
    wr(LAPIC_TMR + 0x10, 0);
    wr(LAPIC_ISR + 0x10, 0xFFFFFFFF);
    assert_true(irr(0x30));
    assert_true(tmr(0x30));
    assert_int_equal(rd(LAPIC_ISR + 0x10), 0);
}

static void test_reserved_offset(void **s)
{
    (void)s;
    setup();
    assert_int_equal(rd(0x000), 0);
    assert_int_equal(rd(0x3F0), 0); /* SELF IPI: x2APIC only */
    assert_int_equal(rd(LAPIC_LVT_CMCI), 0);
    wr(LAPIC_ESR, 0);
    assert_int_equal(rd(LAPIC_ESR), 0x80); /* illegal register address */
    assert_int_equal(rd(0x1000), 0);       /* outside the page: quiet */
    assert_int_equal(rd(0x24), 0);
}

static void test_apr_eoi_read_zero(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TPR, 0x20);
    assert_int_equal(rd(LAPIC_APR), 0);
    assert_int_equal(rd(LAPIC_EOI), 0);
    wr(LAPIC_ESR, 0);
    assert_int_equal(rd(LAPIC_ESR), 0);
}

static void test_icr_bits(void **s)
{
    (void)s;
    setup_id(5);
    wr(LAPIC_ICR_HI, 0xFFFFFFFF);
    assert_int_equal(rd(LAPIC_ICR_HI), 0xFF000000u);
    wr(LAPIC_ICR_HI, 0x07000000u); /* not us: nothing delivered */
    wr(LAPIC_ICR_LO, 0xFFFFFFFFu & ~0x700u & ~0xC0000u);
    assert_int_equal(rd(LAPIC_ICR_LO), 0x0000C8FFu); /* delivery status bit 12 reads 0 */
    assert_int_equal(vlapic_pending(&l), -1);
}

static void test_lvt_bits(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_LVT_LINT0, 0xFFFFFFFF);
    assert_int_equal(rd(LAPIC_LVT_LINT0), 0x1A7FF);
    wr(LAPIC_LVT_THERMAL, 0xFFFFFFFF);
    assert_int_equal(rd(LAPIC_LVT_THERMAL), 0x107FF);
    wr(LAPIC_LVT_PERF, 0xFFFFFFFF);
    assert_int_equal(rd(LAPIC_LVT_PERF), 0x107FF);
    wr(LAPIC_LVT_ERROR, 0xFFFFFFFF);
    assert_int_equal(rd(LAPIC_LVT_ERROR), 0x100FF);
    wr(LAPIC_LVT_TIMER, 0xFFFFFFFF);
    assert_int_equal(rd(LAPIC_LVT_TIMER), 0x700FF);
    wr(LAPIC_LVT_LINT1, 0x5); /* illegal vector may be written */
    assert_int_equal(rd(LAPIC_LVT_LINT1), 0x5);
}

static void test_dcr_bits(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TIMER_DCR, 0xFF);
    assert_int_equal(rd(LAPIC_TIMER_DCR), 0xB);
}

static void test_mmio_only_in_xapic(void **s)
{
    uint32_t v;

    (void)s;
    setup();
    to_x2apic();
    assert_int_equal(vlapic_mmio_read(&l, LAPIC_ID, &v), -1);
    assert_int_equal(vlapic_mmio_write(&l, LAPIC_TPR, 1), -1);
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE), 0);
    assert_int_equal(vlapic_mmio_read(&l, LAPIC_ID, &v), -1);
}

/* ---- IA32_APIC_BASE ------------------------------------------------------ */

static void test_base_to_x2apic(void **s)
{
    (void)s;
    setup_id(0x23);
    wr(LAPIC_ID, 0x77000000u);
    to_x2apic();
    assert_int_equal(rdmsr(0x802), 0x23);
    assert_int_equal(rdmsr(0x80D), (2u << 16) | (1u << 3));
    assert_int_equal(rdmsr(MSR_IA32_APIC_BASE) & (APIC_BASE_EN | APIC_BASE_EXTD),
                     APIC_BASE_EN | APIC_BASE_EXTD);
    assert_int_equal(rdmsr(0x80F), SVR_ON); /* state kept */
}

static void test_base_x2apic_to_xapic_gp(void **s)
{
    (void)s;
    setup();
    to_x2apic();
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EN), -1);
    assert_int_equal(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD, APIC_BASE_EXTD);
}

static void test_base_invalid(void **s)
{
    (void)s;
    setup();
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EXTD), -1);
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EN | 1), -1);
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EN | (1 << 9)),
                     -1);
    assert_int_equal(
        vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EN | (1ull << 36)), -1);
    assert_int_equal(rdmsr(MSR_IA32_APIC_BASE), VLAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP);
    /* disabled -> x2APIC directly is invalid */
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE), 0);
    assert_int_equal(
        vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD), -1);
}

static void test_base_address_change(void **s)
{
    (void)s;
    setup();
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0xFED00000ull | APIC_BASE_EN), 0);
    assert_int_equal(rdmsr(MSR_IA32_APIC_BASE), 0xFED00000ull | APIC_BASE_EN | APIC_BASE_BSP);
    assert_int_equal(rd(LAPIC_SVR), SVR_ON); /* no reset without disabling */
}

static void test_base_disable_resets(void **s)
{
    uint32_t v;

    (void)s;
    setup_id(4);
    wr(LAPIC_TPR, 0x40);
    wr(LAPIC_ID, 0x09000000u);
    wr(LAPIC_LVT_TIMER, 0x40);
    vlapic_accept(&l, 0x80, 0, 0);
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE), 0);
    assert_int_equal(vlapic_mmio_read(&l, LAPIC_TPR, &v), -1);
    assert_int_equal(vlapic_accept(&l, 0x80, 0, 0), 0);
    assert_int_equal(vlapic_pending(&l), -1);
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EN), 0);
    assert_int_equal(rd(LAPIC_SVR), 0xFF);
    assert_int_equal(rd(LAPIC_TPR), 0);
    assert_int_equal(rd(LAPIC_ID), 4u << 24);
    assert_int_equal(rd(LAPIC_LVT_TIMER), MASKED);
    assert_false(irr(0x80));
}

static void test_x2apic_to_disabled(void **s)
{
    (void)s;
    setup_id(7);
    to_x2apic();
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE), 0);
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EN), 0);
    assert_int_equal(rd(LAPIC_ID), 7u << 24);
}

/* ---- x2APIC MSRs --------------------------------------------------------- */

static void test_x2apic_gp_cases(void **s)
{
    uint64_t v;

    (void)s;
    setup();
    to_x2apic();
    assert_int_equal(vlapic_msr_write(&l, 0x802, 1), -1); /* ID read-only */
    assert_int_equal(vlapic_msr_write(&l, 0x803, 1), -1); /* version */
    assert_int_equal(vlapic_msr_write(&l, 0x80D, 1), -1); /* LDR read-only */
    assert_int_equal(vlapic_msr_read(&l, 0x80B, &v), -1); /* EOI write-only */
    assert_int_equal(vlapic_msr_write(&l, 0x80B, 1), -1);
    assert_int_equal(vlapic_msr_write(&l, 0x80B, 0), 0);
    assert_int_equal(vlapic_msr_read(&l, 0x80E, &v), -1); /* no DFR */
    assert_int_equal(vlapic_msr_read(&l, 0x831, &v), -1); /* no ICR high */
    assert_int_equal(vlapic_msr_read(&l, 0x83F, &v), -1); /* SELF IPI write-only */
    assert_int_equal(vlapic_msr_read(&l, 0x800, &v), -1); /* reserved */
    assert_int_equal(vlapic_msr_read(&l, 0x82F, &v), -1); /* no CMCI */
    assert_int_equal(vlapic_msr_read(&l, 0x8FF, &v), -1);
    assert_int_equal(vlapic_msr_write(&l, 0x839, 0), -1); /* current count */
    assert_int_equal(vlapic_msr_write(&l, 0x820, 0), -1); /* IRR */
    assert_int_equal(vlapic_msr_write(&l, 0x808, 1ull << 32), -1);
    assert_int_equal(vlapic_msr_write(&l, 0x828, 1), -1); /* ESR non-zero */
    assert_int_equal(vlapic_msr_write(&l, 0x828, 0), 0);
    assert_int_equal(vlapic_msr_write(&l, 0x808, 0x20), 0);
    assert_int_equal(rdmsr(0x808), 0x20);
    assert_int_equal(rdmsr(0x803), 0x01050014u);
}

static void test_x2apic_msrs_need_x2apic(void **s)
{
    uint64_t v;

    (void)s;
    setup();
    assert_int_equal(vlapic_msr_read(&l, 0x808, &v), -1);
    assert_int_equal(vlapic_msr_write(&l, 0x808, 0), -1);
    assert_int_equal(vlapic_msr_read(&l, 0x7FF, &v), -1);
}

static void test_x2apic_icr_self(void **s)
{
    (void)s;
    setup_id(0x123);
    to_x2apic();
    assert_int_equal(vlapic_msr_write(&l, 0x830, (0x123ull << 32) | 0x61), 0);
    assert_int_equal(rdmsr(0x830), (0x123ull << 32) | 0x61);
    take(0x61);
    assert_int_equal(vlapic_msr_write(&l, 0x80B, 0), 0);
    /* Another 32-bit ID: not us. */
    assert_int_equal(vlapic_msr_write(&l, 0x830, (0x23ull << 32) | 0x62), 0);
    assert_int_equal(vlapic_pending(&l), -1);
    assert_int_equal(vlapic_msr_write(&l, 0x830, (0xFFFFFFFFull << 32) | 0x63), 0);
    assert_int_equal(vlapic_pending(&l), 0x63);
}

static void test_x2apic_logical(void **s)
{
    (void)s;
    setup_id(0x13); /* cluster 1, bit 3 */
    to_x2apic();
    vlapic_msr_write(&l, 0x830, (((1ull << 16) | 8) << 32) | 0x800 | 0x70);
    assert_int_equal(vlapic_pending(&l), 0x70);
    vlapic_msr_write(&l, 0x830, (((2ull << 16) | 8) << 32) | 0x800 | 0x80);
    assert_int_equal(vlapic_pending(&l), 0x70);
}

static void test_x2apic_self_ipi(void **s)
{
    (void)s;
    setup();
    to_x2apic();
    assert_int_equal(vlapic_msr_write(&l, 0x83F, 0x44), 0);
    assert_int_equal(vlapic_pending(&l), 0x44);
    assert_int_equal(vlapic_msr_write(&l, 0x83F, 0x4), 0);
    assert_int_equal(vlapic_msr_write(&l, 0x828, 0), 0);
    assert_int_equal(rdmsr(0x828), 0x40);
}

/* ---- acceptance and priority ------------------------------------------- */

static void test_accept_ack_eoi(void **s)
{
    (void)s;
    setup();
    assert_int_equal(vlapic_accept(&l, 0x31, 0, 0), 1);
    assert_true(irr(0x31));
    assert_int_equal(vlapic_pending(&l), 0x31);
    assert_int_equal(vlapic_acknowledge(&l, 0x31), 0x31);
    assert_false(irr(0x31));
    assert_true(isr(0x31));
    assert_int_equal(rd(LAPIC_PPR), 0x30);
    wr(LAPIC_EOI, 0);
    assert_false(isr(0x31));
    assert_int_equal(rd(LAPIC_PPR), 0);
}

static void test_priority_higher_class_first(void **s)
{
    (void)s;
    setup();
    vlapic_accept(&l, 0x31, 0, 0);
    vlapic_accept(&l, 0x92, 1, 0);
    vlapic_accept(&l, 0x55, 0, 0);
    take(0x92);
    wr(LAPIC_EOI, 0);
    take(0x55);
    wr(LAPIC_EOI, 0);
    take(0x31);
}

static void test_tpr_holds_same_class(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TPR, 0x40);
    vlapic_accept(&l, 0x4F, 0, 0);
    assert_int_equal(vlapic_pending(&l), -1);
    vlapic_accept(&l, 0x50, 0, 0);
    assert_int_equal(vlapic_pending(&l), 0x50);
    wr(LAPIC_TPR, 0x50);
    assert_int_equal(vlapic_pending(&l), -1);
    wr(LAPIC_TPR, 0x3F);
    assert_int_equal(vlapic_pending(&l), 0x50);
}

static void test_isr_nesting_and_eoi_order(void **s)
{
    (void)s;
    setup();
    vlapic_accept(&l, 0x40, 0, 0);
    take(0x40);
    vlapic_accept(&l, 0x41, 0, 0);
    assert_int_equal(vlapic_pending(&l), -1); /* same class as in service */
    vlapic_accept(&l, 0x60, 0, 0);
    take(0x60);
    assert_true(isr(0x40) && isr(0x60));
    wr(LAPIC_EOI, 0); /* ends 0x60, the highest */
    assert_false(isr(0x60));
    assert_true(isr(0x40));
    assert_int_equal(f.a, 0x60);
    assert_int_equal(vlapic_pending(&l), -1);
    wr(LAPIC_EOI, 0);
    assert_false(isr(0x40));
    take(0x41);
}

static void test_eoi_without_isr(void **s)
{
    (void)s;
    setup();
    vlapic_accept(&l, 0x40, 0, 1);
    wr(LAPIC_EOI, 0);
    assert_int_equal(f.neoi_traces, 0);
    assert_int_equal(f.nbroadcast, 0);
    assert_true(irr(0x40));
}

static void test_tmr_level_and_edge(void **s)
{
    (void)s;
    setup();
    vlapic_accept(&l, 0x70, 0, 1);
    assert_true(tmr(0x70));
    vlapic_accept(&l, 0x70, 0, 0);
    assert_false(tmr(0x70));
}

static void test_eoi_broadcast_level(void **s)
{
    (void)s;
    setup();
    vlapic_accept(&l, 0x70, 0, 1);
    take(0x70);
    wr(LAPIC_EOI, 0);
    assert_int_equal(f.nbroadcast, 1);
    assert_int_equal(f.broadcast_vec, 0x70);
    vlapic_accept(&l, 0x71, 0, 0);
    take(0x71);
    wr(LAPIC_EOI, 0);
    assert_int_equal(f.nbroadcast, 1); /* edge: none */
}

static void test_eoi_broadcast_suppressed(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_SVR, SVR_ON | 0x1000);
    vlapic_accept(&l, 0x70, 0, 1);
    take(0x70);
    wr(LAPIC_EOI, 0);
    assert_int_equal(f.nbroadcast, 0);
    assert_false(isr(0x70));
}

static void test_sw_disabled_drops_fixed(void **s)
{
    (void)s;
    init_hz(0, HZ_TSC, HZ_BUS);
    assert_int_equal(vlapic_accept(&l, 0x40, 0, 0), 0);
    assert_false(irr(0x40));
    assert_int_equal(vlapic_accept(&l, 0, 4, 0), 1);
    assert_int_equal(l.nmi_pending, 1);
    setup();
    vlapic_accept(&l, 0x40, 0, 0);
    wr(LAPIC_SVR, 0xFF);
    assert_int_equal(vlapic_pending(&l), -1); /* held */
    assert_true(irr(0x40));
    wr(LAPIC_SVR, SVR_ON);
    assert_int_equal(vlapic_pending(&l), 0x40);
}

static void test_acknowledge_invalid(void **s)
{
    (void)s;
    setup();
    assert_int_equal(vlapic_acknowledge(&l, 0x40), -1);
    assert_int_equal(vlapic_acknowledge(&l, -1), -1);
    assert_int_equal(vlapic_acknowledge(&l, 300), -1);
    assert_false(isr(0x40));
}

static void test_smi_dropped(void **s)
{
    (void)s;
    setup();
    assert_int_equal(vlapic_accept(&l, 0x40, 2, 0), 0);
    assert_int_equal(vlapic_accept(&l, 0x40, 3, 0), 0);
    assert_int_equal(vlapic_pending(&l), -1);
}

/* ---- ESR ------------------------------------------------------------------- */

static void test_esr_write_before_read(void **s)
{
    (void)s;
    setup();
    assert_int_equal(vlapic_accept(&l, 7, 0, 0), 0);
    assert_int_equal(rd(LAPIC_ESR), 0); /* not latched yet */
    wr(LAPIC_ESR, 0);
    assert_int_equal(rd(LAPIC_ESR), 0x40);
    assert_int_equal(rd(LAPIC_ESR), 0x40); /* reads do not clear */
    wr(LAPIC_ESR, 0);
    assert_int_equal(rd(LAPIC_ESR), 0);
    assert_false(irr(7));
}

static void test_esr_send_illegal(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_ICR_LO, (1u << 18) | 0x0F);
    assert_int_equal(vlapic_pending(&l), -1);
    wr(LAPIC_ESR, 0);
    assert_int_equal(rd(LAPIC_ESR), 0x20);
}

static void test_error_lvt_delivers(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_LVT_ERROR, 0xE3);
    vlapic_accept(&l, 3, 0, 0);
    assert_int_equal(vlapic_pending(&l), 0xE3);
    /* the same error again is not a change */
    take(0xE3);
    vlapic_accept(&l, 3, 0, 0);
    assert_int_equal(vlapic_pending(&l), -1);
}

static void test_error_lvt_masked(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_LVT_ERROR, MASKED | 0xE3);
    vlapic_accept(&l, 3, 0, 0);
    assert_int_equal(vlapic_pending(&l), -1);
}

/* ---- IPIs ------------------------------------------------------------------ */

static void test_icr_self_fixed(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_ICR_LO, (1u << 18) | 0x55);
    assert_int_equal(vlapic_pending(&l), 0x55);
    assert_int_equal(rd(LAPIC_ICR_LO) & (1u << 12), 0);
}

static void test_icr_self_nmi(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_ICR_LO, (1u << 18) | (4u << 8));
    assert_int_equal(l.nmi_pending, 1);
    assert_int_equal(vlapic_pending(&l), -1);
}

static void test_icr_all_including_and_excluding(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_ICR_LO, (3u << 18) | 0x56);
    assert_int_equal(vlapic_pending(&l), -1);
    wr(LAPIC_ICR_LO, (2u << 18) | 0x57);
    assert_int_equal(vlapic_pending(&l), 0x57);
}

static void test_icr_physical(void **s)
{
    (void)s;
    setup_id(6);
    wr(LAPIC_ICR_HI, 5u << 24);
    wr(LAPIC_ICR_LO, 0x60);
    assert_int_equal(vlapic_pending(&l), -1);
    wr(LAPIC_ICR_HI, 6u << 24);
    wr(LAPIC_ICR_LO, 0x61);
    assert_int_equal(vlapic_pending(&l), 0x61);
    wr(LAPIC_ICR_HI, 0xFFu << 24);
    wr(LAPIC_ICR_LO, 0x62);
    assert_int_equal(vlapic_pending(&l), 0x62);
    /* after an ID write the new ID is the one matched */
    wr(LAPIC_ID, 9u << 24);
    wr(LAPIC_ICR_HI, 9u << 24);
    wr(LAPIC_ICR_LO, 0x63);
    assert_int_equal(vlapic_pending(&l), 0x63);
}

static void test_icr_logical_flat(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_LDR, 0x04000000u);
    wr(LAPIC_ICR_HI, 0x03u << 24);
    wr(LAPIC_ICR_LO, 0x800 | 0x60);
    assert_int_equal(vlapic_pending(&l), -1);
    wr(LAPIC_ICR_HI, 0x0Cu << 24);
    wr(LAPIC_ICR_LO, 0x800 | 0x61);
    assert_int_equal(vlapic_pending(&l), 0x61);
}

static void test_icr_logical_cluster(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_DFR, 0x0FFFFFFFu);
    wr(LAPIC_LDR, 0x32000000u); /* cluster 3, member bit 1 */
    wr(LAPIC_ICR_HI, 0x22u << 24);
    wr(LAPIC_ICR_LO, 0x800 | 0x60);
    assert_int_equal(vlapic_pending(&l), -1);
    wr(LAPIC_ICR_HI, 0x36u << 24);
    wr(LAPIC_ICR_LO, 0x800 | 0x61);
    assert_int_equal(vlapic_pending(&l), 0x61);
}

static void test_init_sipi(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_ICR_LO, (3u << 18) | (1u << 14) | (5u << 8)); /* INIT assert */
    assert_int_equal(f.ninit, 1);
    wr(LAPIC_ICR_LO, (3u << 18) | (1u << 15) | (5u << 8)); /* de-assert */
    assert_int_equal(f.ninit, 1);
    assert_int_equal(f.init_to_self, 0); /* all excluding self */
    wr(LAPIC_ICR_LO, (3u << 18) | (6u << 8) | 0x9A);
    assert_int_equal(f.nsipi, 1);
    assert_int_equal(f.sipi_vec, 0x9A);
    assert_int_equal(f.init_to_self, 0);
    wr(LAPIC_ICR_LO, (2u << 18) | (1u << 14) | (5u << 8)); /* all including self */
    assert_int_equal(f.ninit, 2);
    assert_int_equal(f.init_to_self, 1);
    wr(LAPIC_ICR_HI, 0x07u << 24); /* another APIC ID */
    wr(LAPIC_ICR_LO, (1u << 14) | (5u << 8));
    assert_int_equal(f.ninit, 3);
    assert_int_equal(f.init_to_self, 0);
    assert_int_equal(vlapic_pending(&l), -1);
}

/* ---- ExtINT and traces ---------------------------------------------------- */

static void test_extint_256(void **s)
{
    (void)s;
    setup();
    f.extint_pending = 1;
    f.extint_vec = 0x08;
    assert_int_equal(vlapic_pending(&l), -1); /* LINT0 masked */
    wr(LAPIC_LVT_LINT0, 7u << 8);
    assert_int_equal(vlapic_pending(&l), 256);
    assert_int_equal(vlapic_acknowledge(&l, 256), 0x08);
    assert_int_equal(f.nextint_ack, 1);
    vlapic_accept(&l, 0x40, 0, 0);
    /* ExtINT before any fixed vector (the 8259 must not starve), and
     * whatever the TPR says */
    assert_int_equal(vlapic_pending(&l), 256);
    wr(LAPIC_TPR, 0xF0);
    assert_int_equal(vlapic_pending(&l), 256);
    f.extint_pending = 0;
    assert_int_equal(vlapic_pending(&l), -1); /* 0x40 is below the TPR */
    wr(LAPIC_TPR, 0);
    assert_int_equal(vlapic_pending(&l), 0x40);
}

/* What virtual-interrupt delivery needs from the model: the highest vector
 * posted to IRR since the last look, and whether a TMR bit changed. */
static void test_take_posted(void **s)
{
    (void)s;
    setup();
    int tmr;
    assert_int_equal(vlapic_take_posted(&l, &tmr), -1);
    assert_int_equal(tmr, 0);
    vlapic_accept(&l, 0x41, 0, 0);
    vlapic_accept(&l, 0x52, 0, 0);
    vlapic_accept(&l, 0x30, 0, 0);
    assert_int_equal(vlapic_take_posted(&l, &tmr), 0x52);
    assert_int_equal(tmr, 0);                           /* edge after edge: TMR as it was */
    assert_int_equal(vlapic_take_posted(&l, &tmr), -1); /* taken */
    vlapic_accept(&l, 0x60, 0, 1);                      /* level: TMR set */
    assert_int_equal(vlapic_take_posted(&l, &tmr), 0x60);
    assert_int_equal(tmr, 1);
    vlapic_accept(&l, 0x60, 0, 1); /* level again: no change */
    assert_int_equal(vlapic_take_posted(&l, &tmr), 0x60);
    assert_int_equal(tmr, 0);
    vlapic_accept(&l, 0x60, 0, 0); /* edge now: TMR cleared */
    vlapic_take_posted(&l, &tmr);
    assert_int_equal(tmr, 1);
}

static void test_traces(void **s)
{
    (void)s;
    setup();
    vlapic_accept(&l, 0x42, 1, 1);
    assert_int_equal(f.ev, TRACE_LAPIC_ACCEPT);
    assert_int_equal(f.a, 0x42);
    assert_int_equal(f.b, 1);
    assert_int_equal(f.c, 1);
    take(0x42);
    wr(LAPIC_EOI, 0);
    assert_int_equal(f.ev, TRACE_EOI);
    assert_int_equal(f.a, 0x42);
    assert_int_equal(f.neoi_traces, 1);
    vlapic_accept(&l, 0x2, 0, 0); /* dropped: no accept trace */
    assert_int_equal(f.naccept_traces, 1);
}

static void test_no_host(void **s)
{
    (void)s;
    vlapic_init(&l, 0, 0, 0, NULL, NULL);
    assert_int_equal(vlapic_mmio_write(&l, LAPIC_SVR, SVR_ON), 0);
    wr(LAPIC_LVT_LINT0, 7u << 8);
    wr(LAPIC_TIMER_ICR, 10);
    assert_int_equal(vlapic_accept(&l, 0x40, 0, 1), 1);
    take(0x40);
    wr(LAPIC_EOI, 0);
    wr(LAPIC_ICR_LO, (5u << 8) | (1u << 14));
    assert_int_equal(vlapic_acknowledge(&l, 256), -1);
    assert_int_not_equal(vlapic_update_timer(&l), 0);
}

/* ---- timer ------------------------------------------------------------------ */

static void test_timer_oneshot(void **s)
{
    (void)s;
    setup();
    f.now = 1000;
    wr(LAPIC_TIMER_DCR, 0xB); /* divide by 1 */
    wr(LAPIC_LVT_TIMER, 0x40);
    wr(LAPIC_TIMER_ICR, 100); /* 100 bus clocks = 1000 ticks */
    assert_int_equal(vlapic_update_timer(&l), 2000);
    f.now = 1999;
    assert_int_equal(vlapic_update_timer(&l), 2000);
    assert_int_equal(vlapic_pending(&l), -1);
    assert_int_equal(f.ntimer_traces, 0);
    f.now = 2000;
    assert_int_equal(vlapic_update_timer(&l), 0);
    /* the expiry is traced (the host stamps it itself: timer_fired) */
    assert_int_equal(f.ntimer_traces, 1);
    take(0x40);
    assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
    f.now = 100000;
    assert_int_equal(vlapic_update_timer(&l), 0);
    assert_int_equal(l.timer_fired, 1);
    assert_int_equal(vlapic_pending(&l), -1);
    assert_int_equal(rd(LAPIC_TIMER_ICR), 100);
}

/* vlapic_timer_next: the deadline vlapic_update_timer would act on, in
 * each timer mode, without firing it. */
static void test_timer_next_peeks(void **s)
{
    (void)s;
    setup();
    assert_int_equal(vlapic_timer_next(&l), 0); /* not counting */
    f.now = 1000;
    wr(LAPIC_TIMER_DCR, 0xB);
    wr(LAPIC_LVT_TIMER, (1u << 17) | 0x50); /* periodic */
    wr(LAPIC_TIMER_ICR, 10);                /* 100 ticks */
    assert_int_equal(vlapic_timer_next(&l), 1100);
    f.now = 1350; /* overdue */
    assert_int_equal(vlapic_timer_next(&l), 1100);
    assert_int_equal(l.timer_fired, 0);
    assert_int_equal(vlapic_pending(&l), -1);
    assert_int_equal(vlapic_update_timer(&l), 1400);
    assert_int_equal(vlapic_timer_next(&l), 1400);
    take(0x50);
    wr(LAPIC_TIMER_ICR, 0); /* stopped */
    assert_int_equal(vlapic_timer_next(&l), 0);
    wr(LAPIC_LVT_TIMER, (2u << 17) | 0x70); /* TSC deadline */
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 5000), 0);
    assert_int_equal(vlapic_timer_next(&l), 5000);
    assert_true(vlapic_timer_can_interrupt(&l));
    wr(LAPIC_LVT_TIMER, (2u << 17) | 0x10070); /* masked: counts, cannot interrupt */
    vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 6000);
    assert_int_equal(vlapic_timer_next(&l), 6000);
    assert_false(vlapic_timer_can_interrupt(&l));
    vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 0);
    assert_false(vlapic_timer_can_interrupt(&l)); /* not counting */
}

static void test_timer_current_count(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TIMER_DCR, 0x0); /* divide by 2: 20 ticks a count */
    wr(LAPIC_TIMER_ICR, 50);
    assert_int_equal(rd(LAPIC_TIMER_CCR), 50);
    f.now = 19;
    assert_int_equal(rd(LAPIC_TIMER_CCR), 50);
    f.now = 20;
    assert_int_equal(rd(LAPIC_TIMER_CCR), 49);
    f.now = 500;
    assert_int_equal(rd(LAPIC_TIMER_CCR), 25);
    f.now = 1000;
    assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
}

static void test_timer_periodic_count(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TIMER_DCR, 0xB);
    wr(LAPIC_LVT_TIMER, (1u << 17) | 0x50);
    wr(LAPIC_TIMER_ICR, 10); /* 100 ticks */
    for (int i = 1; i <= 5; i++) {
        f.now = (uint64_t)i * 100;
        assert_int_equal(vlapic_update_timer(&l), (uint64_t)(i + 1) * 100);
        take(0x50);
        wr(LAPIC_EOI, 0);
    }
    assert_int_equal(l.timer_fired, 5);
    f.now = 550;
    assert_int_equal(rd(LAPIC_TIMER_CCR), 5);
}

static void test_timer_periodic_no_drift(void **s)
{
    uint64_t d, p;

    (void)s;
    init_hz(0, HZ_TSC_INX, HZ_BUS_INX);
    wr(LAPIC_SVR, SVR_ON);
    wr(LAPIC_LVT_TIMER, (1u << 17) | MASKED);
    f.now = 12345;
    wr(LAPIC_TIMER_DCR, 0xB);
    wr(LAPIC_TIMER_ICR, 13); /* 13 * 428.571... = 5571.43 ticks */
    d = vlapic_update_timer(&l);
    for (uint64_t k = 1; k <= 1000; k++) {
        /* ceil(k * 13 * 3e9 / 7e6) */
        p = (k * 13 * 3000000000ull + 7000000 - 1) / 7000000;
        assert_int_equal(d, 12345 + p);
        f.now = d;
        d = vlapic_update_timer(&l);
    }
    assert_int_equal(l.timer_fired, 1000);
    assert_int_equal(d, 12345 + (1001ull * 13 * 3000000000ull + 6999999) / 7000000);
}

static void test_timer_periodic_huge_jump(void **s)
{
    uint64_t d;

    (void)s;
    setup();
    wr(LAPIC_TIMER_DCR, 0xB);
    wr(LAPIC_LVT_TIMER, (1u << 17) | 0x50);
    wr(LAPIC_TIMER_ICR, 1); /* 10 ticks */
    f.now = 1000000000000000ull + 5;
    d = vlapic_update_timer(&l);
    assert_int_equal(d, 1000000000000010ull);
    assert_int_equal(l.timer_fired, 1);
    take(0x50);
    assert_int_equal(vlapic_pending(&l), -1);
    f.now = UINT64_MAX;
    d = vlapic_update_timer(&l);
    assert_true(d == 0 || d > f.now);
}

static void test_timer_masked_counts(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TIMER_DCR, 0xB);
    wr(LAPIC_LVT_TIMER, MASKED | (1u << 17) | 0x50);
    wr(LAPIC_TIMER_ICR, 10);
    f.now = 50;
    assert_int_equal(rd(LAPIC_TIMER_CCR), 5);
    f.now = 100;
    assert_int_equal(vlapic_update_timer(&l), 200);
    assert_int_equal(l.timer_fired, 1);
    assert_int_equal(vlapic_pending(&l), -1);
    assert_false(irr(0x50));
}

static void test_timer_divide_values(void **s)
{
    static const uint32_t dcr[8] = { 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA, 0xB };
    static const uint64_t div[8] = { 2, 4, 8, 16, 32, 64, 128, 1 };

    (void)s;
    for (int i = 0; i < 8; i++) {
        setup();
        wr(LAPIC_TIMER_DCR, dcr[i]);
        wr(LAPIC_TIMER_ICR, 3);
        assert_int_equal(vlapic_update_timer(&l), 3 * div[i] * 10);
    }
}

static void test_timer_dcr_rebase(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TIMER_DCR, 0xB);
    wr(LAPIC_TIMER_ICR, 100);
    f.now = 500;
    wr(LAPIC_TIMER_DCR, 0x0); /* restart at now, divide by 2 */
    assert_int_equal(vlapic_update_timer(&l), 500 + 2000);
    assert_int_equal(rd(LAPIC_TIMER_CCR), 100);
}

static void test_timer_rearm_and_stop(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TIMER_DCR, 0xB);
    wr(LAPIC_LVT_TIMER, 0x40);
    wr(LAPIC_TIMER_ICR, 10);
    f.now = 60;
    wr(LAPIC_TIMER_ICR, 10); /* restarts from now */
    assert_int_equal(vlapic_update_timer(&l), 160);
    f.now = 70;
    wr(LAPIC_TIMER_ICR, 0); /* stops */
    assert_int_equal(vlapic_update_timer(&l), 0);
    assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
    f.now = 1000;
    vlapic_update_timer(&l);
    assert_int_equal(l.timer_fired, 0);
}

/* With x2APIC hidden from the guest, EXTD is a reserved bit (#GP). */
static void test_x2apic_hidden(void **s)
{
    (void)s;
    setup();
    l.no_x2apic = 1;
    assert_int_equal(
        vlapic_msr_write(&l, MSR_IA32_APIC_BASE, VLAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD), -1);
    assert_int_equal(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD, 0);
    l.no_x2apic = 0;
    to_x2apic();
}

/* CR8 reaches TPR in every mode, the APIC disabled too. */
static void test_tpr_in_every_mode(void **s)
{
    (void)s;
    setup();
    vlapic_set_tpr(&l, 0x50);
    assert_int_equal(rd(LAPIC_TPR), 0x50);
    to_x2apic();
    vlapic_set_tpr(&l, 0x60);
    assert_int_equal(rdmsr(0x808), 0x60);
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0), 0); /* disabled */
    vlapic_set_tpr(&l, 0xf0);
    assert_int_equal(vlapic_get_tpr(&l), 0xf0);
}

/* x2APIC SELF_IPI: bits 31:8 reserved. */
static void test_self_ipi_reserved_bits(void **s)
{
    (void)s;
    setup();
    to_x2apic();
    assert_int_equal(vlapic_msr_write(&l, 0x83F, 0x100), -1);
    assert_int_equal(vlapic_msr_write(&l, 0x83F, 0x40), 0);
    assert_int_equal(vlapic_highest_irr(&l), 0x40);
}

/* One-shot <-> periodic keeps the count running (the periodic mode then
 * reloads at 0); a switch into TSC-deadline mode disarms it. */
static void test_timer_mode_switch(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TIMER_DCR, 0xB);
    wr(LAPIC_LVT_TIMER, 0x40);
    wr(LAPIC_TIMER_ICR, 10);
    wr(LAPIC_LVT_TIMER, 0x41); /* same mode: still armed */
    assert_int_equal(vlapic_update_timer(&l), 100);
    f.now = 40;
    wr(LAPIC_LVT_TIMER, (1u << 17) | 0x40);   /* to periodic, part-way */
    assert_int_equal(rd(LAPIC_TIMER_CCR), 6); /* still counting down */
    assert_int_equal(vlapic_update_timer(&l), 100);
    f.now = 130;
    assert_int_equal(vlapic_update_timer(&l), 200); /* fired, and reloaded */
    assert_int_equal(l.timer_fired, 1);
    assert_int_equal(rd(LAPIC_TIMER_CCR), 7);
    wr(LAPIC_LVT_TIMER, 0x40); /* back to one-shot: ends at 200 */
    f.now = 250;
    assert_int_equal(vlapic_update_timer(&l), 0);
    assert_int_equal(l.timer_fired, 2);
    assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
    wr(LAPIC_TIMER_ICR, 10);
    wr(LAPIC_LVT_TIMER, (2u << 17) | 0x40); /* to TSC-deadline: disarmed */
    assert_int_equal(vlapic_update_timer(&l), 0);
    assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
    f.now = 1000;
    vlapic_update_timer(&l);
    assert_int_equal(l.timer_fired, 2);
}

static void test_timer_tsc_deadline(void **s)
{
    (void)s;
    setup();
    /* Outside TSC-deadline mode the MSR reads 0 and ignores writes. */
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 500), 0);
    assert_int_equal(rdmsr(MSR_IA32_TSC_DEADLINE), 0);
    wr(LAPIC_LVT_TIMER, (2u << 17) | 0x70);
    wr(LAPIC_TIMER_ICR, 10); /* ignored */
    assert_int_equal(rd(LAPIC_TIMER_ICR), 0);
    assert_int_equal(vlapic_update_timer(&l), 0);
    assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 500), 0);
    assert_int_equal(rdmsr(MSR_IA32_TSC_DEADLINE), 500);
    f.now = 499;
    assert_int_equal(vlapic_update_timer(&l), 500);
    f.now = 500;
    assert_int_equal(vlapic_update_timer(&l), 0);
    assert_int_equal(rdmsr(MSR_IA32_TSC_DEADLINE), 0);
    take(0x70);
    /* 0 disarms */
    vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 900);
    vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 0);
    f.now = 1000;
    assert_int_equal(vlapic_update_timer(&l), 0);
    assert_int_equal(l.timer_fired, 1);
    /* leaving TSC-deadline mode disarms */
    vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 2000);
    wr(LAPIC_LVT_TIMER, 0x70);
    wr(LAPIC_LVT_TIMER, (2u << 17) | 0x70);
    assert_int_equal(rdmsr(MSR_IA32_TSC_DEADLINE), 0);
    f.now = 3000;
    assert_int_equal(vlapic_update_timer(&l), 0);
    assert_int_equal(l.timer_fired, 1);
}

static void test_timer_illegal_vector(void **s)
{
    (void)s;
    setup();
    wr(LAPIC_TIMER_DCR, 0xB);
    wr(LAPIC_LVT_TIMER, 0x05);
    wr(LAPIC_TIMER_ICR, 1);
    f.now = 10;
    vlapic_update_timer(&l);
    assert_int_equal(vlapic_pending(&l), -1);
    wr(LAPIC_ESR, 0);
    assert_int_equal(rd(LAPIC_ESR), 0x40);
}

static void test_timer_x2apic_msrs(void **s)
{
    (void)s;
    setup();
    to_x2apic();
    assert_int_equal(vlapic_msr_write(&l, 0x83E, 0xB), 0);
    assert_int_equal(vlapic_msr_write(&l, 0x832, 0x40), 0);
    assert_int_equal(vlapic_msr_write(&l, 0x838, 10), 0);
    f.now = 30;
    assert_int_equal(rdmsr(0x839), 7);
    assert_int_equal(rdmsr(0x838), 10);
    f.now = 100;
    vlapic_update_timer(&l);
    assert_int_equal(vlapic_pending(&l), 0x40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_state),
        cmocka_unit_test(test_version_readonly),
        cmocka_unit_test(test_id_writable_xapic),
        cmocka_unit_test(test_tpr_bits),
        cmocka_unit_test(test_ppr_tpr_only),
        cmocka_unit_test(test_ppr_isr_class),
        cmocka_unit_test(test_ldr_dfr_xapic),
        cmocka_unit_test(test_svr_bits),
        cmocka_unit_test(test_sw_disable_masks_lvts),
        cmocka_unit_test(test_bitmaps_readonly),
        cmocka_unit_test(test_reserved_offset),
        cmocka_unit_test(test_apr_eoi_read_zero),
        cmocka_unit_test(test_icr_bits),
        cmocka_unit_test(test_lvt_bits),
        cmocka_unit_test(test_dcr_bits),
        cmocka_unit_test(test_mmio_only_in_xapic),
        cmocka_unit_test(test_base_to_x2apic),
        cmocka_unit_test(test_base_x2apic_to_xapic_gp),
        cmocka_unit_test(test_base_invalid),
        cmocka_unit_test(test_base_address_change),
        cmocka_unit_test(test_base_disable_resets),
        cmocka_unit_test(test_x2apic_to_disabled),
        cmocka_unit_test(test_x2apic_gp_cases),
        cmocka_unit_test(test_x2apic_msrs_need_x2apic),
        cmocka_unit_test(test_x2apic_icr_self),
        cmocka_unit_test(test_x2apic_logical),
        cmocka_unit_test(test_x2apic_self_ipi),
        cmocka_unit_test(test_accept_ack_eoi),
        cmocka_unit_test(test_priority_higher_class_first),
        cmocka_unit_test(test_tpr_holds_same_class),
        cmocka_unit_test(test_isr_nesting_and_eoi_order),
        cmocka_unit_test(test_eoi_without_isr),
        cmocka_unit_test(test_tmr_level_and_edge),
        cmocka_unit_test(test_eoi_broadcast_level),
        cmocka_unit_test(test_eoi_broadcast_suppressed),
        cmocka_unit_test(test_sw_disabled_drops_fixed),
        cmocka_unit_test(test_acknowledge_invalid),
        cmocka_unit_test(test_smi_dropped),
        cmocka_unit_test(test_esr_write_before_read),
        cmocka_unit_test(test_esr_send_illegal),
        cmocka_unit_test(test_error_lvt_delivers),
        cmocka_unit_test(test_error_lvt_masked),
        cmocka_unit_test(test_icr_self_fixed),
        cmocka_unit_test(test_icr_self_nmi),
        cmocka_unit_test(test_icr_all_including_and_excluding),
        cmocka_unit_test(test_icr_physical),
        cmocka_unit_test(test_icr_logical_flat),
        cmocka_unit_test(test_icr_logical_cluster),
        cmocka_unit_test(test_init_sipi),
        cmocka_unit_test(test_extint_256),
        cmocka_unit_test(test_take_posted),
        cmocka_unit_test(test_traces),
        cmocka_unit_test(test_no_host),
        cmocka_unit_test(test_timer_oneshot),
        cmocka_unit_test(test_timer_next_peeks),
        cmocka_unit_test(test_timer_current_count),
        cmocka_unit_test(test_timer_periodic_count),
        cmocka_unit_test(test_timer_periodic_no_drift),
        cmocka_unit_test(test_timer_periodic_huge_jump),
        cmocka_unit_test(test_timer_masked_counts),
        cmocka_unit_test(test_timer_divide_values),
        cmocka_unit_test(test_timer_dcr_rebase),
        cmocka_unit_test(test_timer_rearm_and_stop),
        cmocka_unit_test(test_timer_mode_switch),
        cmocka_unit_test(test_x2apic_hidden),
        cmocka_unit_test(test_tpr_in_every_mode),
        cmocka_unit_test(test_self_ipi_reserved_bits),
        cmocka_unit_test(test_timer_tsc_deadline),
        cmocka_unit_test(test_timer_illegal_vector),
        cmocka_unit_test(test_timer_x2apic_msrs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
