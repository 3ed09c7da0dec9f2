/* Unit tests: the routing layer irq_set (irq/router.c) with the real vPIC,
 * vIOAPIC and vPIT behind it and a recording host. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../irq/irq.h"

struct rec {
    uint64_t now;
    int ndeliver;
    uint8_t vector, mode, dest, logical, level;
    int ntrace;
    enum irq_trace_event first_trace;
    int nsource;
    uint32_t source_gsi;
};
static struct rec rec;
static uint64_t now_cb(void *ctx) { return ((struct rec *)ctx)->now; }
static void kick_cb(void *ctx) { (void)ctx; }
static int deliver_cb(void *ctx, uint8_t v, uint8_t m, uint8_t d, uint8_t l, uint8_t lv)
{
    struct rec *r = ctx;
    r->ndeliver++;
    r->vector = v;
    r->mode = m;
    r->dest = d;
    r->logical = l;
    r->level = lv;
    return 1;
}
static void trace_cb(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    struct rec *r = ctx;
    (void)a;
    (void)b;
    (void)c;
    if (!r->ntrace++)
        r->first_trace = ev;
}
static void source_cb(void *ctx, uint32_t gsi)
{
    struct rec *r = ctx;
    r->nsource++;
    r->source_gsi = gsi;
}
static const struct irq_host host = { &rec, now_cb, kick_cb, deliver_cb, trace_cb, source_cb };
static struct irq_chipset c;

static int setup(void **s)
{
    (void)s;
    memset(&rec, 0, sizeof(rec));
    irq_chipset_init(&c, &host, 1193182ull * 100, VIOAPIC_DEFAULT_BASE);
    return 0;
}

static void ioapic_route(unsigned pin, uint32_t low)
{
    vioapic_mmio_write(&c.ioapic, 0, 0x11 + 2 * pin);
    vioapic_mmio_write(&c.ioapic, 0x10, 0);
    vioapic_mmio_write(&c.ioapic, 0, 0x10 + 2 * pin);
    vioapic_mmio_write(&c.ioapic, 0x10, low);
}

static void pic_init(void)
{
    uint8_t seq[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
                         { 0xA0, 0x11 }, { 0xA1, 0x28 }, { 0xA1, 0x02 }, { 0xA1, 0x01 } };
    for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        vpic_port_write(&c.pic, seq[i][0], seq[i][1]);
}

static void test_default_table(void **s)
{
    (void)s;
    assert_int_equal(c.nroutes[0], 2);
    assert_int_equal(c.routes[0][0].kind, IRQ_ROUTE_PIC);
    assert_int_equal(c.routes[0][0].pin, 0);
    assert_int_equal(c.routes[0][1].kind, IRQ_ROUTE_IOAPIC);
    assert_int_equal(c.routes[0][1].pin, 2); /* the interrupt source override */
    assert_int_equal(c.nroutes[2], 0);       /* the cascade */
    assert_int_equal(c.routes[9][1].pin, 9);
    assert_int_equal(c.nroutes[16], 1);
    assert_int_equal(c.routes[16][0].kind, IRQ_ROUTE_IOAPIC);
    assert_int_equal(c.routes[23][0].pin, 23);
}

static void test_irq0_reaches_ioapic_pin2(void **s)
{
    (void)s;
    ioapic_route(2, 0x41);
    assert_int_equal(irq_set(&c, IRQ_SOURCE_PIT, 0, 1), IRQ_DELIVERED);
    assert_int_equal(rec.ndeliver, 1);
    assert_int_equal(rec.vector, 0x41);
    assert_int_equal(rec.first_trace, TRACE_IRQ_SET);
}

static void test_pic_path(void **s)
{
    (void)s;
    pic_init();
    vpic_port_write(&c.pic, 0x21, 0xef); /* IRQ 4 unmasked */
    int src = irq_source_alloc(&c);
    assert_int_equal(irq_set(&c, src, 4, 1), IRQ_DELIVERED);
    assert_true(vpic_has_interrupt(&c.pic));
    assert_int_equal(vpic_acknowledge(&c.pic), 0x24);
}

static void test_all_masked(void **s)
{
    (void)s;
    pic_init();
    vpic_port_write(&c.pic, 0x21, 0xff);
    int src = irq_source_alloc(&c);
    assert_int_equal(irq_set(&c, src, 5, 1), IRQ_MASKED);
    assert_int_equal(rec.ndeliver, 0);
}

static void test_shared_level_line_is_ored(void **s)
{
    (void)s;
    ioapic_route(10, 0x50 | 0x8000); /* level */
    int a = irq_source_alloc(&c), b = irq_source_alloc(&c);
    assert_int_equal(irq_set(&c, a, 10, 1), IRQ_DELIVERED);
    assert_int_equal(irq_set(&c, b, 10, 1), IRQ_COALESCED); /* line already high */
    assert_int_equal(irq_set(&c, a, 10, 0), IRQ_COALESCED); /* b still holds it */
    assert_int_equal(c.line[10], 1u << b);
    vioapic_eoi(&c.ioapic, 0x50); /* still asserted by b: re-delivered */
    assert_int_equal(rec.ndeliver, 2);
    irq_set(&c, b, 10, 0);
    vioapic_eoi(&c.ioapic, 0x50);
    assert_int_equal(rec.ndeliver, 2);
}

/* A wired-OR, active-low line (PCI INTx#, GSIs 16-19): the guest programs
 * the pin active low; the router drives it low while any source asserts,
 * and the line idles high without an interrupt. */
static void test_active_low_shared_line(void **s)
{
    (void)s;
    c.active_low |= 1u << 16;
    ioapic_route(16, 0x51 | 0x8000 | 0x2000); /* level, active low */
    int a = irq_source_alloc(&c), b = irq_source_alloc(&c);
    assert_int_equal(irq_set(&c, a, 16, 1), IRQ_DELIVERED);
    assert_int_equal(rec.vector, 0x51);
    assert_int_equal(irq_set(&c, b, 16, 1), IRQ_COALESCED);
    assert_int_equal(irq_set(&c, a, 16, 0), IRQ_COALESCED); /* b holds it low */
    vioapic_eoi(&c.ioapic, 0x51);
    assert_int_equal(rec.ndeliver, 2); /* still asserted: served again */
    irq_set(&c, b, 16, 0);             /* released: high, idle */
    vioapic_eoi(&c.ioapic, 0x51);
    assert_int_equal(rec.ndeliver, 2);
    assert_false(c.ioapic.redtbl[16] & (1ull << 14)); /* remote IRR clear */
}

/* A device's MSI reaches the LAPIC side with the message's fields, traced;
 * an address outside 0xFEExxxxx goes nowhere. */
static void test_msi_message(void **s)
{
    (void)s;
    assert_int_equal(irq_msi(&c, 0xFEE01004ull, 0x0000C045), IRQ_DELIVERED);
    assert_int_equal(rec.ndeliver, 1);
    assert_int_equal(rec.vector, 0x45);
    assert_int_equal(rec.dest, 1);
    assert_int_equal(rec.logical, 1);
    assert_int_equal(rec.level, 1);
    assert_int_equal(rec.first_trace, TRACE_MSI);
    assert_int_equal(irq_msi(&c, 0xFED00000ull, 0x45), IRQ_MASKED);
    assert_int_equal(irq_msi(&c, 0x1FEE00000ull, 0x45), IRQ_MASKED);
    assert_int_equal(rec.ndeliver, 1);
}

static void test_bad_arguments(void **s)
{
    (void)s;
    assert_int_equal(irq_set(&c, 0, 24, 1), IRQ_ERROR);
    assert_int_equal(irq_set(&c, -1, 3, 1), IRQ_ERROR);
    assert_int_equal(irq_set(&c, IRQ_MAX_SOURCES, 3, 1), IRQ_ERROR);
    assert_int_equal(irq_set(&c, 7, 3, 1), IRQ_ERROR); /* not allocated */
    struct irq_route bad = { .kind = IRQ_ROUTE_IOAPIC, .pin = 24 };
    assert_int_equal(irq_set_routes(&c, 3, &bad, 1), -1);
    assert_int_equal(irq_set_routes(&c, 24, &bad, 0), -1);
    struct irq_route junk = { .kind = 9 };
    assert_int_equal(irq_set_routes(&c, 3, &junk, 1), -1);
}

static void test_source_allocator(void **s)
{
    (void)s;
    int n = 0;
    while (irq_source_alloc(&c) >= 0)
        n++;
    assert_int_equal(n, IRQ_MAX_SOURCES - 1); /* the PIT holds one */
    assert_int_equal(irq_source_alloc(&c), -1);
    irq_source_free(&c, 5);
    assert_int_equal(irq_source_alloc(&c), 5);
}

static void test_free_drops_asserted_line(void **s)
{
    (void)s;
    int src = irq_source_alloc(&c);
    irq_set(&c, src, 11, 1);
    assert_int_equal(c.line[11], 1u << src);
    irq_source_free(&c, src);
    assert_int_equal(c.line[11], 0);
}

/* irq_sources_mute: a muted source's lines drop and stay down while it
 * asserts; reconnected, the lines it still holds rise again (delivered), and
 * what it dropped meanwhile stays down. Other sources are not affected. */
static void test_mute_and_reconnect(void **s)
{
    (void)s;
    int a = irq_source_alloc(&c), b = irq_source_alloc(&c);
    ioapic_route(10, 0x5a | IOREDTBL_LEVEL);
    ioapic_route(11, 0x5b);
    assert_int_equal(c.legacy_sources, 1u << IRQ_SOURCE_PIT);
    assert_int_equal(irq_set(&c, a, 10, 1), IRQ_DELIVERED);
    irq_sources_mute(&c, 1u << a, 1);
    assert_int_equal(c.line[10], 0);
    assert_int_equal(irq_set(&c, a, 11, 1), IRQ_MASKED); /* held, not delivered */
    assert_int_equal(c.line[11], 0);
    assert_int_equal(irq_set(&c, b, 11, 1), IRQ_DELIVERED); /* b is not muted */
    irq_set(&c, b, 11, 0);
    assert_int_equal(rec.ndeliver, 2);
    irq_set(&c, a, 10, 0); /* dropped while muted */
    vioapic_eoi(&c.ioapic, 0x5a);
    irq_sources_mute(&c, 1u << a, 0);
    assert_int_equal(c.line[10], 0);
    assert_int_equal(c.line[11], 1u << a);
    assert_int_equal(rec.ndeliver, 3);
    assert_int_equal(rec.vector, 0x5b);
    /* Freeing a muted source forgets what it held. */
    irq_sources_mute(&c, 1u << a, 1);
    irq_source_free(&c, a);
    assert_int_equal(c.held[11], 0);
    assert_int_equal(c.muted, 0);
}

/* irq_gsi_unmasked: IRQ 0 reaches PIC pin 0 and IOAPIC pin 2; either
 * unmasked is enough; a slave pin needs the cascade (master pin 2) too;
 * an MSI route is never masked. */
static void test_gsi_unmasked(void **s)
{
    (void)s;
    pic_init();
    vpic_port_write(&c.pic, 0x21, 0xff);
    vpic_port_write(&c.pic, 0xA1, 0xff);
    assert_false(irq_gsi_unmasked(&c, 0)); /* IOAPIC pins start masked */
    vpic_port_write(&c.pic, 0x21, 0xfe);
    assert_true(irq_gsi_unmasked(&c, 0));
    vpic_port_write(&c.pic, 0x21, 0xff);
    ioapic_route(2, 0x30);
    assert_true(irq_gsi_unmasked(&c, 0));
    ioapic_route(2, 0x10030);
    assert_false(irq_gsi_unmasked(&c, 0));
    vpic_port_write(&c.pic, 0xA1, 0xfe); /* IRQ 8, cascade masked */
    assert_false(irq_gsi_unmasked(&c, 8));
    vpic_port_write(&c.pic, 0x21, 0xfb);
    assert_true(irq_gsi_unmasked(&c, 8));
    struct irq_route msi = { .kind = IRQ_ROUTE_MSI, .msi_addr = 0xfee00000, .msi_data = 0x65 };
    assert_int_equal(irq_set_routes(&c, 20, &msi, 1), 0);
    assert_true(irq_gsi_unmasked(&c, 20));
    assert_false(irq_gsi_unmasked(&c, IRQ_NR_GSI));
}

static void test_msi_route(void **s)
{
    (void)s;
    struct irq_route msi = { .kind = IRQ_ROUTE_MSI, .msi_addr = 0xfee03004, .msi_data = 0x8165 };
    assert_int_equal(irq_set_routes(&c, 20, &msi, 1), 0);
    int src = irq_source_alloc(&c);
    assert_int_equal(irq_set(&c, src, 20, 1), IRQ_DELIVERED);
    assert_int_equal(rec.vector, 0x65);
    assert_int_equal(rec.mode, 1);
    assert_int_equal(rec.dest, 3);
    assert_int_equal(rec.logical, 1);
    assert_int_equal(rec.level, 1);
    assert_int_equal(irq_set(&c, src, 20, 0), IRQ_COALESCED); /* no message on deassert */
    assert_int_equal(rec.ndeliver, 1);
}

static void test_pic_output_drives_ioapic_pin0(void **s)
{
    (void)s;
    pic_init();
    vpic_port_write(&c.pic, 0x21, 0xef);
    ioapic_route(0, 0x700); /* ExtINT */
    int src = irq_source_alloc(&c);
    irq_set(&c, src, 4, 1);
    assert_int_equal(rec.ndeliver, 1);
    assert_int_equal(rec.mode, 7);
    assert_int_equal(c.pic_intr, 1);
}

static void test_pit_raises_irq0(void **s)
{
    (void)s;
    ioapic_route(2, 0x42);
    vpit_port_write(&c.pit, 0x43, 0x34); /* channel 0, mode 2 */
    vpit_port_write(&c.pit, 0x40, 100);
    vpit_port_write(&c.pit, 0x40, 0);
    rec.now += 100 * 100 + 1; /* one period (tsc_hz = 100 * PIT_HZ) */
    vpit_update(&c.pit);
    assert_int_equal(rec.ndeliver, 1);
    assert_int_equal(rec.vector, 0x42);
    assert_int_equal(c.line[0], 0); /* a pulse: the line is low again */
}

static void test_result_names(void **s)
{
    (void)s;
    assert_string_equal(irq_result_name(IRQ_DELIVERED), "delivered");
    assert_string_equal(irq_result_name(IRQ_MASKED), "masked");
    assert_string_equal(irq_result_name(IRQ_ERROR), "error");
}

/* A line raised is a source event for the host (its latency stamp); a line
 * lowered, or an irq_set refused, is not. */
static void test_source_event_on_raise_only(void **s)
{
    (void)s;
    int src = irq_source_alloc(&c);
    irq_set(&c, src, 9, 1);
    assert_int_equal(rec.nsource, 1);
    assert_int_equal(rec.source_gsi, 9);
    irq_set(&c, src, 9, 0);
    assert_int_equal(rec.nsource, 1);
    assert_int_equal(irq_set(&c, src, IRQ_NR_GSI, 1), IRQ_ERROR);
    assert_int_equal(rec.nsource, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_default_table, setup),
        cmocka_unit_test_setup(test_irq0_reaches_ioapic_pin2, setup),
        cmocka_unit_test_setup(test_pic_path, setup),
        cmocka_unit_test_setup(test_all_masked, setup),
        cmocka_unit_test_setup(test_gsi_unmasked, setup),
        cmocka_unit_test_setup(test_shared_level_line_is_ored, setup),
        cmocka_unit_test_setup(test_active_low_shared_line, setup),
        cmocka_unit_test_setup(test_msi_message, setup),
        cmocka_unit_test_setup(test_bad_arguments, setup),
        cmocka_unit_test_setup(test_source_allocator, setup),
        cmocka_unit_test_setup(test_free_drops_asserted_line, setup),
        cmocka_unit_test_setup(test_msi_route, setup),
        cmocka_unit_test_setup(test_pic_output_drives_ioapic_pin0, setup),
        cmocka_unit_test_setup(test_pit_raises_irq0, setup),
        cmocka_unit_test_setup(test_result_names, setup),
        cmocka_unit_test_setup(test_mute_and_reconnect, setup),
        cmocka_unit_test_setup(test_source_event_on_raise_only, setup),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
