/* Unit tests: the virtual 8259A pair with ELCR (irq/vpic.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../irq/vpic.h"

/* A recording host: counts kicks, keeps the trace. */
struct rec_entry {
    enum irq_trace_event ev;
    uint32_t a, b, c;
};

struct rec {
    int magic;
    int kicks;
    int bad_ctx;
    int n;
    struct rec_entry t[64];
};

#define REC_MAGIC 0x8259

static struct rec rec;

static void rec_kick(void *ctx)
{
    struct rec *r = ctx;
    if (!r || r->magic != REC_MAGIC)
        rec.bad_ctx++;
    else
        r->kicks++;
}

static void rec_trace(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    struct rec *r = ctx;
    if (!r || r->magic != REC_MAGIC) {
        rec.bad_ctx++;
        return;
    }
    if (r->n < 64)
        r->t[r->n] = (struct rec_entry){ ev, a, b, c };
    r->n++;
}

static const struct irq_host host = { .ctx = &rec, .kick = rec_kick, .trace = rec_trace };

static struct vpic pic;

static void rec_clear(void)
{
    memset(&rec, 0, sizeof(rec));
    rec.magic = REC_MAGIC;
}

/* Last recorded entry of ev, or NULL. */
static const struct rec_entry *last(enum irq_trace_event ev)
{
    for (int i = (rec.n < 64 ? rec.n : 64) - 1; i >= 0; i--)
        if (rec.t[i].ev == ev)
            return &rec.t[i];
    return NULL;
}

static int count(enum irq_trace_event ev)
{
    int k = 0;
    for (int i = 0; i < rec.n && i < 64; i++)
        k += rec.t[i].ev == ev;
    return k;
}

static void wr(uint16_t port, uint8_t val) { assert_int_equal(vpic_port_write(&pic, port, val), 0); }

static uint8_t rd(uint16_t port)
{
    uint8_t v = 0x5a;
    assert_int_equal(vpic_port_read(&pic, port, &v), 0);
    return v;
}

/* The usual PC programming: master at 0x20, slave at 0x28, cascade on IR2. */
static void program(uint8_t master_icw4, uint8_t slave_icw4)
{
    wr(0x20, 0x11);
    wr(0x21, 0x20);
    wr(0x21, 0x04);
    wr(0x21, master_icw4);
    wr(0xA0, 0x11);
    wr(0xA1, 0x28);
    wr(0xA1, 0x02);
    wr(0xA1, slave_icw4);
}

static int setup_fresh(void **s)
{
    (void)s;
    rec_clear();
    vpic_init(&pic, &host);
    return 0;
}

static int setup(void **s)
{
    setup_fresh(s);
    program(0x01, 0x01);
    rec_clear();
    return 0;
}

static int setup_aeoi(void **s)
{
    setup_fresh(s);
    program(0x03, 0x03);
    rec_clear();
    return 0;
}

static int setup_sfnm(void **s)
{
    setup_fresh(s);
    program(0x11, 0x01);
    rec_clear();
    return 0;
}

static void raise_irq(unsigned pin) { vpic_set_irq(&pic, pin, 1); }

static void pulse(unsigned pin)
{
    vpic_set_irq(&pic, pin, 1);
    vpic_set_irq(&pic, pin, 0);
}

/* ---- initialization ---- */

static void test_power_on_all_masked(void **s)
{
    (void)s;
    assert_int_equal(rd(0x21), 0xff);
    assert_int_equal(rd(0xA1), 0xff);
    pulse(0);
    pulse(9);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    assert_int_equal(rec.kicks, 0);
}

static void test_init_cascade_with_icw4(void **s)
{
    (void)s;
    wr(0x20, 0x11);
    assert_int_equal(pic.chip[0].init_state, 1);
    assert_int_equal(rd(0x21), 0x00); /* ICW1 cleared the IMR */
    wr(0x21, 0x30);
    assert_int_equal(pic.chip[0].init_state, 2);
    wr(0x21, 0x04);
    assert_int_equal(pic.chip[0].init_state, 3);
    assert_int_equal(pic.chip[0].cascade, 0x04);
    wr(0x21, 0x01);
    assert_int_equal(pic.chip[0].init_state, 0);
    assert_int_equal(pic.chip[0].vector_base, 0x30);
    /* Next data write is OCW1. */
    wr(0x21, 0xfe);
    assert_int_equal(rd(0x21), 0xfe);
    assert_int_equal(pic.chip[0].vector_base, 0x30);
    pulse(0);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x30);
}

static void test_init_single_skips_icw3(void **s)
{
    (void)s;
    wr(0x20, 0x13); /* SNGL | IC4 */
    wr(0x21, 0x40);
    assert_int_equal(pic.chip[0].init_state, 3); /* straight to ICW4 */
    wr(0x21, 0x03);                              /* ICW4: AEOI */
    assert_int_equal(pic.chip[0].init_state, 0);
    assert_int_equal(pic.chip[0].auto_eoi, 1);
    wr(0x21, 0xf7);
    assert_int_equal(rd(0x21), 0xf7);
}

static void test_init_without_icw4(void **s)
{
    (void)s;
    program(0x03, 0x01); /* AEOI on first */
    assert_int_equal(pic.chip[0].auto_eoi, 1);
    wr(0x20, 0x10); /* cascade, no ICW4 */
    wr(0x21, 0x50);
    wr(0x21, 0x04);
    assert_int_equal(pic.chip[0].init_state, 0);
    assert_int_equal(pic.chip[0].auto_eoi, 0); /* ICW4 functions reset */
    wr(0x21, 0x12);
    assert_int_equal(rd(0x21), 0x12); /* that was OCW1, not ICW4 */
}

static void test_init_single_without_icw4(void **s)
{
    (void)s;
    wr(0x20, 0x12);
    wr(0x21, 0x60);
    assert_int_equal(pic.chip[0].init_state, 0);
    wr(0x21, 0x0f);
    assert_int_equal(rd(0x21), 0x0f);
    assert_int_equal(pic.chip[0].vector_base, 0x60);
}

static void test_icw2_low_bits_ignored(void **s)
{
    (void)s;
    wr(0x20, 0x11);
    wr(0x21, 0x27);
    wr(0x21, 0x04);
    wr(0x21, 0x01);
    assert_int_equal(pic.chip[0].vector_base, 0x20);
    pulse(3);
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
}

static void test_icw1_resets_state(void **s)
{
    (void)s;
    pulse(1);
    assert_int_equal(vpic_acknowledge(&pic), 0x21); /* ISR1 */
    pulse(4);                                       /* IRR4 */
    wr(0x21, 0x80);
    wr(0x20, 0xC3); /* set priority */
    wr(0x20, 0x6B); /* SMM on, read ISR */
    assert_int_not_equal(pic.chip[0].priority_add, 0);
    wr(0x20, 0x11);
    assert_int_equal(pic.chip[0].isr, 0);
    assert_int_equal(pic.chip[0].irr, 0);
    assert_int_equal(pic.chip[0].imr, 0);
    assert_int_equal(pic.chip[0].priority_add, 0);
    assert_int_equal(pic.chip[0].special_mask, 0);
    assert_int_equal(pic.chip[0].read_isr, 0);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
}

static void test_icw1_edge_sense_reset(void **s)
{
    (void)s;
    wr(0x4D0, 0x20); /* pin 5 level, pin 3 edge */
    raise_irq(3);
    raise_irq(5);
    program(0x01, 0x01);
    /* The held-high edge line needs a new rising edge; the level one stays. */
    assert_int_equal(pic.chip[0].irr, 0x20);
    raise_irq(3);
    assert_int_equal(pic.chip[0].irr, 0x20);
    vpic_set_irq(&pic, 3, 0);
    raise_irq(3);
    assert_int_equal(pic.chip[0].irr, 0x28);
}

/* ---- masks ---- */

static void test_imr_masks_and_unmask_delivers(void **s)
{
    (void)s;
    wr(0x21, 0x08);
    pulse(3);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    assert_int_equal(rd(0x20), 0x08); /* still requested */
    assert_int_equal(rec.kicks, 0);
    wr(0x21, 0x00);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(rec.kicks, 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
}

static void test_mask_drops_intr(void **s)
{
    (void)s;
    pulse(6);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    wr(0x21, 0x40);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    wr(0x21, 0xff);
    pulse(0);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
}

static void test_master_irq2_mask_blocks_slave(void **s)
{
    (void)s;
    wr(0x21, 0x04);
    pulse(12);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    wr(0x21, 0x00);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x2C);
}

/* ---- priority, nesting, EOI ---- */

static void test_priority_order(void **s)
{
    (void)s;
    pulse(5);
    pulse(3);
    pulse(1);
    pulse(7);
    const uint8_t want[] = { 0x21, 0x23, 0x25, 0x27 };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vpic_has_interrupt(&pic), 1);
        assert_int_equal(vpic_acknowledge(&pic), want[i]);
        wr(0x20, 0x20);
    }
    assert_int_equal(vpic_has_interrupt(&pic), 0);
}

static void test_higher_priority_nests(void **s)
{
    (void)s;
    pulse(4);
    assert_int_equal(vpic_acknowledge(&pic), 0x24);
    pulse(1);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x21);
    assert_int_equal(pic.chip[0].isr, 0x12);
}

static void test_lower_priority_waits(void **s)
{
    (void)s;
    pulse(1);
    assert_int_equal(vpic_acknowledge(&pic), 0x21);
    pulse(4);
    pulse(1); /* same level again also waits */
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    wr(0x20, 0x20);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x21);
}

static void test_nonspecific_eoi_clears_highest(void **s)
{
    (void)s;
    pulse(4);
    vpic_acknowledge(&pic);
    pulse(1);
    vpic_acknowledge(&pic);
    assert_int_equal(pic.chip[0].isr, 0x12);
    wr(0x20, 0x20);
    assert_int_equal(pic.chip[0].isr, 0x10);
    const struct rec_entry *e = last(TRACE_PIC_EOI);
    assert_non_null(e);
    assert_int_equal(e->a, 1);
    assert_int_equal(e->b, 0);
    wr(0x20, 0x20);
    assert_int_equal(pic.chip[0].isr, 0x00);
    /* An EOI with nothing in service changes nothing. */
    int n = count(TRACE_PIC_EOI);
    wr(0x20, 0x20);
    assert_int_equal(pic.chip[0].isr, 0x00);
    assert_int_equal(count(TRACE_PIC_EOI), n);
}

static void test_specific_eoi(void **s)
{
    (void)s;
    pulse(4);
    vpic_acknowledge(&pic);
    pulse(1);
    vpic_acknowledge(&pic);
    wr(0x20, 0x64); /* specific EOI, level 4 */
    assert_int_equal(pic.chip[0].isr, 0x02);
    const struct rec_entry *e = last(TRACE_PIC_EOI);
    assert_non_null(e);
    assert_int_equal(e->a, 4);
    assert_int_equal(e->b, 1);
    assert_int_equal(pic.chip[0].priority_add, 0);
}

static void test_rotate_on_nonspecific_eoi(void **s)
{
    (void)s;
    pulse(3);
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
    wr(0x20, 0xA0);
    assert_int_equal(pic.chip[0].isr, 0);
    assert_int_equal(pic.chip[0].priority_add, 4); /* IR3 now lowest */
    pulse(2);
    pulse(4);
    assert_int_equal(vpic_acknowledge(&pic), 0x24);
}

static void test_rotate_on_specific_eoi(void **s)
{
    (void)s;
    pulse(5);
    assert_int_equal(vpic_acknowledge(&pic), 0x25);
    wr(0x20, 0xE5);
    assert_int_equal(pic.chip[0].isr, 0);
    assert_int_equal(pic.chip[0].priority_add, 6);
    pulse(0);
    pulse(6);
    assert_int_equal(vpic_acknowledge(&pic), 0x26);
    const struct rec_entry *e = last(TRACE_PIC_EOI);
    assert_non_null(e);
    assert_int_equal(e->a, 5);
    assert_int_equal(e->b, 1);
}

static void test_set_priority(void **s)
{
    (void)s;
    wr(0x20, 0xC4); /* IR4 lowest, IR5 highest */
    pulse(0);
    pulse(5);
    assert_int_equal(vpic_acknowledge(&pic), 0x25);
    wr(0x20, 0x20);
    assert_int_equal(vpic_acknowledge(&pic), 0x20);
    wr(0x20, 0x20);
    pulse(4);
    pulse(3);
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
    assert_int_equal(count(TRACE_PIC_EOI), 2); /* set priority is no EOI */
}

static void test_rotation_shares_equal_priority(void **s)
{
    (void)s;
    pulse(1);
    pulse(3);
    assert_int_equal(vpic_acknowledge(&pic), 0x21);
    wr(0x20, 0xA0);
    pulse(1); /* IR1 asks again, but is lowest now */
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
    wr(0x20, 0xA0);
    assert_int_equal(vpic_acknowledge(&pic), 0x21);
}

static void test_ocw2_noop(void **s)
{
    (void)s;
    pulse(3);
    vpic_acknowledge(&pic);
    wr(0x20, 0x40); /* R=0 SL=1 EOI=0: no operation */
    assert_int_equal(pic.chip[0].isr, 0x08);
    assert_int_equal(pic.chip[0].priority_add, 0);
}

/* ---- automatic EOI ---- */

static void test_auto_eoi(void **s)
{
    (void)s;
    pulse(4);
    assert_int_equal(vpic_acknowledge(&pic), 0x24);
    assert_int_equal(pic.chip[0].isr, 0);
    pulse(6); /* not blocked: nothing in service */
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x26);
    assert_int_equal(pic.chip[0].priority_add, 0);
}

static void test_rotate_in_auto_eoi(void **s)
{
    (void)s;
    wr(0x20, 0x80); /* set rotate in AEOI */
    pulse(1);
    assert_int_equal(vpic_acknowledge(&pic), 0x21);
    assert_int_equal(pic.chip[0].priority_add, 2);
    pulse(0);
    pulse(3);
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
    assert_int_equal(pic.chip[0].priority_add, 4);
    wr(0x20, 0x00); /* clear rotate in AEOI */
    assert_int_equal(vpic_acknowledge(&pic), 0x20);
    assert_int_equal(pic.chip[0].priority_add, 4);
}

/* ---- edge and level ---- */

static void test_edge_latch_survives_line_drop(void **s)
{
    (void)s;
    assert_int_equal(vpic_set_irq(&pic, 3, 1), 1);
    assert_int_equal(vpic_set_irq(&pic, 3, 0), 0);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
}

static void test_edge_needs_new_rising_edge(void **s)
{
    (void)s;
    raise_irq(3);
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
    wr(0x20, 0x20);
    assert_int_equal(vpic_set_irq(&pic, 3, 1), 0); /* still high: no edge */
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    vpic_set_irq(&pic, 3, 0);
    assert_int_equal(vpic_set_irq(&pic, 3, 1), 1);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
}

static void test_level_follows_line(void **s)
{
    (void)s;
    wr(0x4D0, 0x08);
    assert_int_equal(vpic_set_irq(&pic, 3, 1), 1);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_set_irq(&pic, 3, 0), 1);
    assert_int_equal(pic.chip[0].irr, 0);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
}

static void test_level_redelivered_while_high(void **s)
{
    (void)s;
    wr(0x4D1, 0x08); /* IRQ 11 level */
    raise_irq(11);
    assert_int_equal(vpic_acknowledge(&pic), 0x2B);
    assert_int_equal(vpic_has_interrupt(&pic), 0); /* blocked by ISR */
    wr(0xA0, 0x20);
    wr(0x20, 0x20);
    assert_int_equal(vpic_has_interrupt(&pic), 1); /* line still high */
    assert_int_equal(vpic_acknowledge(&pic), 0x2B);
}

static void test_level_not_redelivered_when_low(void **s)
{
    (void)s;
    wr(0x4D1, 0x08);
    raise_irq(11);
    assert_int_equal(vpic_acknowledge(&pic), 0x2B);
    vpic_set_irq(&pic, 11, 0); /* the device was serviced */
    wr(0xA0, 0x20);
    wr(0x20, 0x20);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    assert_int_equal(pic.chip[1].irr, 0);
    assert_int_equal(pic.chip[0].irr, 0);
}

static void test_elcr_fixed_zero_bits(void **s)
{
    (void)s;
    wr(0x4D0, 0xff);
    wr(0x4D1, 0xff);
    assert_int_equal(rd(0x4D0), 0xf8); /* IRQ 0, 1, 2 edge */
    assert_int_equal(rd(0x4D1), 0xde); /* IRQ 8, 13 edge */
    /* IRQ 0 stays edge: the latch survives the line dropping. */
    pulse(0);
    assert_int_equal(vpic_acknowledge(&pic), 0x20);
    wr(0x4D0, 0x00);
    assert_int_equal(rd(0x4D0), 0x00);
}

static void test_elcr_switch_to_level_takes_line(void **s)
{
    (void)s;
    pulse(6); /* edge: latched, line low */
    wr(0x4D0, 0x40);
    assert_int_equal(pic.chip[0].irr & 0x40, 0); /* level: line is low */
    raise_irq(7);
    wr(0x4D0, 0xC0);
    assert_int_equal(pic.chip[0].irr, 0x80);
}

/* ---- spurious ---- */

static void test_spurious_irq7(void **s)
{
    (void)s;
    wr(0x4D0, 0x08);
    raise_irq(3);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    vpic_set_irq(&pic, 3, 0);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    assert_int_equal(vpic_acknowledge(&pic), 0x27);
    assert_int_equal(pic.chip[0].isr, 0);
    const struct rec_entry *e = last(TRACE_PIC_ACK);
    assert_non_null(e);
    assert_int_equal(e->a, 7);
    assert_int_equal(e->b, 0x27);
    assert_int_equal(e->c, 1);
}

static void test_real_irq7_sets_isr(void **s)
{
    (void)s;
    pulse(7);
    assert_int_equal(vpic_acknowledge(&pic), 0x27);
    assert_int_equal(pic.chip[0].isr, 0x80);
    assert_int_equal(last(TRACE_PIC_ACK)->c, 0);
}

static void test_spurious_irq15(void **s)
{
    (void)s;
    wr(0x4D1, 0x08); /* IRQ 11 level */
    raise_irq(11);
    assert_int_equal(pic.chip[0].irr, 0x04);
    vpic_set_irq(&pic, 11, 0);
    assert_int_equal(pic.chip[1].irr, 0);
    assert_int_equal(vpic_has_interrupt(&pic), 1); /* IR2 already latched */
    assert_int_equal(vpic_acknowledge(&pic), 0x2F);
    assert_int_equal(pic.chip[0].isr, 0x04); /* master still wants an EOI */
    assert_int_equal(pic.chip[1].isr, 0x00);
    const struct rec_entry *e = last(TRACE_PIC_ACK);
    assert_non_null(e);
    assert_int_equal(e->a, 15);
    assert_int_equal(e->b, 0x2F);
    assert_int_equal(e->c, 1);
}

/* ---- OCW3: poll, register reads, special mask ---- */

static void test_poll(void **s)
{
    (void)s;
    pulse(4);
    pulse(6);
    wr(0x20, 0x0C);
    assert_int_equal(rd(0x20), 0x84);
    assert_int_equal(pic.chip[0].isr, 0x10);
    assert_int_equal(pic.chip[0].irr, 0x40);
    /* The poll is over: the next read is a register read again (IRR). */
    assert_int_equal(rd(0x20), 0x40);
    /* IR6 is below IR4 in service: a poll finds nothing. */
    wr(0x20, 0x0C);
    assert_int_equal(rd(0x20), 0x00);
    assert_int_equal(pic.chip[0].isr, 0x10);
}

static void test_poll_slave(void **s)
{
    (void)s;
    wr(0x21, 0xff); /* polling software keeps INTR quiet */
    pulse(13);
    wr(0xA0, 0x0C);
    assert_int_equal(rd(0xA0), 0x85);
    assert_int_equal(pic.chip[1].isr, 0x20);
    const struct rec_entry *e = last(TRACE_PIC_ACK);
    assert_non_null(e);
    assert_int_equal(e->a, 13);
}

static void test_ocw3_read_irr_isr(void **s)
{
    (void)s;
    pulse(1);
    pulse(5);
    vpic_acknowledge(&pic); /* ISR 0x02, IRR 0x20 */
    assert_int_equal(rd(0x20), 0x20);
    wr(0x20, 0x0B);
    assert_int_equal(rd(0x20), 0x02);
    wr(0x20, 0x08); /* RR=0: selection unchanged */
    assert_int_equal(rd(0x20), 0x02);
    wr(0x20, 0x0A);
    assert_int_equal(rd(0x20), 0x20);
    assert_int_equal(rd(0x21), 0x00); /* data port: IMR */
}

static void test_special_mask_mode(void **s)
{
    (void)s;
    pulse(1);
    assert_int_equal(vpic_acknowledge(&pic), 0x21);
    wr(0x21, 0x02); /* mask own level */
    pulse(5);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    wr(0x20, 0x68); /* set special mask */
    assert_int_equal(pic.chip[0].special_mask, 1);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x25);
    wr(0x20, 0x65);
    wr(0x20, 0x48); /* reset special mask */
    assert_int_equal(pic.chip[0].special_mask, 0);
    pulse(6);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
}

/* ---- cascade ---- */

static void test_cascade_vectors(void **s)
{
    (void)s;
    pulse(10);
    assert_int_equal(pic.chip[0].irr, 0x04);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x2A);
    assert_int_equal(pic.chip[0].isr, 0x04);
    assert_int_equal(pic.chip[1].isr, 0x04);
    assert_int_equal(pic.chip[0].irr, 0x00);
    const struct rec_entry *e = last(TRACE_PIC_ACK);
    assert_non_null(e);
    assert_int_equal(e->a, 10);
    assert_int_equal(e->b, 0x2A);
    assert_int_equal(e->c, 0);
    wr(0xA0, 0x20);
    wr(0x20, 0x20);
    assert_int_equal(pic.chip[0].isr | pic.chip[1].isr, 0);
}

static void test_slave_priority_and_requeue(void **s)
{
    (void)s;
    pulse(12);
    pulse(9);
    pulse(3);
    assert_int_equal(vpic_acknowledge(&pic), 0x29); /* IR2 outranks IR3 */
    wr(0xA0, 0x20);
    wr(0x20, 0x20);
    assert_int_equal(vpic_acknowledge(&pic), 0x2C);
    wr(0xA0, 0x20);
    wr(0x20, 0x20);
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
}

static void test_slave_aeoi_keeps_cascade_request(void **s)
{
    (void)s;
    wr(0xA0, 0x11);
    wr(0xA1, 0x28);
    wr(0xA1, 0x02);
    wr(0xA1, 0x03); /* slave AEOI */
    wr(0x21, 0x00);
    pulse(8);
    pulse(9);
    assert_int_equal(vpic_acknowledge(&pic), 0x28);
    wr(0x20, 0x20);
    /* IR9 kept the slave's INT high through the INTA: not lost. */
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x29);
}

static void test_slave_nesting_blocked_without_sfnm(void **s)
{
    (void)s;
    pulse(10);
    assert_int_equal(vpic_acknowledge(&pic), 0x2A);
    pulse(8);
    assert_int_equal(vpic_has_interrupt(&pic), 0); /* master IR2 in service */
    wr(0x20, 0x20);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x28);
}

static void test_special_fully_nested(void **s)
{
    (void)s;
    assert_int_equal(pic.chip[0].special_fully_nested, 1);
    pulse(10);
    assert_int_equal(vpic_acknowledge(&pic), 0x2A);
    pulse(8);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(vpic_acknowledge(&pic), 0x28);
    assert_int_equal(pic.chip[1].isr, 0x05);
    pulse(12); /* lower than what the slave has in service */
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    pulse(3); /* lower than master IR2 in service */
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    pulse(1);
    assert_int_equal(vpic_acknowledge(&pic), 0x21);
}

/* ---- ports, host interface ---- */

static void test_unknown_ports(void **s)
{
    (void)s;
    const uint16_t ports[] = { 0x00, 0x1f, 0x22, 0x60, 0x9f, 0xA2, 0x4CF, 0x4D2, 0xffff };
    struct vpic before;
    memcpy(&before, &pic, sizeof(pic));
    for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        uint8_t v = 0x5a;
        assert_int_equal(vpic_port_read(&pic, ports[i], &v), -1);
        assert_int_equal(v, 0x5a);
        assert_int_equal(vpic_port_write(&pic, ports[i], 0x11), -1);
    }
    assert_memory_equal(&before, &pic, sizeof(pic));
}

static void test_bad_pin_ignored(void **s)
{
    (void)s;
    struct vpic before;
    memcpy(&before, &pic, sizeof(pic));
    assert_int_equal(vpic_set_irq(&pic, 16, 1), 0);
    assert_int_equal(vpic_set_irq(&pic, 0xffffffffu, 1), 0);
    assert_memory_equal(&before, &pic, sizeof(pic));
    assert_int_equal(vpic_set_irq(&pic, 15, 1), 1);
}

static void test_trace_set_irq(void **s)
{
    (void)s;
    vpic_set_irq(&pic, 3, 1);
    const struct rec_entry *e = last(TRACE_PIC_SET_IRQ);
    assert_non_null(e);
    assert_int_equal(e->a, 3);
    assert_int_equal(e->b, 1);
    assert_int_equal(e->c, 1);
    vpic_set_irq(&pic, 3, 1);
    e = last(TRACE_PIC_SET_IRQ);
    assert_int_equal(e->c, 0);
    wr(0x4D1, 0x40);
    vpic_set_irq(&pic, 14, 5); /* any non-zero is high */
    vpic_set_irq(&pic, 14, 0);
    e = last(TRACE_PIC_SET_IRQ);
    assert_int_equal(e->a, 14);
    assert_int_equal(e->b, 0);
    assert_int_equal(e->c, 1);
    assert_int_equal(count(TRACE_PIC_SET_IRQ), 4);
    assert_int_equal(rec.bad_ctx, 0);
}

static void test_trace_ack_and_eoi(void **s)
{
    (void)s;
    pulse(10);
    vpic_acknowledge(&pic);
    wr(0xA0, 0x62);
    const struct rec_entry *e = last(TRACE_PIC_EOI);
    assert_non_null(e);
    assert_int_equal(e->a, 10);
    assert_int_equal(e->b, 1);
    wr(0x20, 0x20);
    e = last(TRACE_PIC_EOI);
    assert_int_equal(e->a, 2);
    assert_int_equal(e->b, 0);
    assert_int_equal(count(TRACE_PIC_ACK), 1);
    assert_int_equal(count(TRACE_PIC_EOI), 2);
}

static void test_kick_when_intr_rises(void **s)
{
    (void)s;
    pulse(3);
    assert_int_equal(rec.kicks, 1);
    pulse(4); /* INTR already asserted: nothing new to tell */
    assert_int_equal(rec.kicks, 1);
    vpic_acknowledge(&pic); /* IR4 waits behind IR3 */
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    assert_int_equal(rec.kicks, 1);
    pulse(5); /* also waits */
    assert_int_equal(rec.kicks, 1);
    pulse(1); /* nests over IR3 */
    assert_int_equal(rec.kicks, 2);
    vpic_acknowledge(&pic);
    wr(0x20, 0x20); /* ends IR1; IR3 still in service */
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    assert_int_equal(rec.kicks, 2);
    wr(0x20, 0x20); /* ends IR3: IR4 asserts INTR */
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(rec.kicks, 3);
    assert_int_equal(rec.bad_ctx, 0);
}

static void test_kick_after_ack_with_more_pending(void **s)
{
    (void)s;
    pulse(4);
    pulse(6);
    assert_int_equal(rec.kicks, 1);
    /* AEOI: nothing in service after INTA, so IR6 asserts INTR anew. */
    assert_int_equal(vpic_acknowledge(&pic), 0x24);
    assert_int_equal(vpic_has_interrupt(&pic), 1);
    assert_int_equal(rec.kicks, 2);
    assert_int_equal(vpic_acknowledge(&pic), 0x26);
    assert_int_equal(vpic_has_interrupt(&pic), 0);
    assert_int_equal(rec.kicks, 2);
}

static void test_null_host(void **s)
{
    (void)s;
    static const struct irq_host empty = { 0 };
    vpic_init(&pic, NULL);
    program(0x01, 0x01);
    pulse(9);
    assert_int_equal(vpic_acknowledge(&pic), 0x29);
    vpic_init(&pic, &empty);
    program(0x01, 0x01);
    pulse(3);
    assert_int_equal(vpic_acknowledge(&pic), 0x23);
    wr(0x20, 0x20);
    assert_int_equal(rec.n, 0);
    assert_int_equal(rec.kicks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_power_on_all_masked, setup_fresh),
        cmocka_unit_test_setup(test_init_cascade_with_icw4, setup_fresh),
        cmocka_unit_test_setup(test_init_single_skips_icw3, setup_fresh),
        cmocka_unit_test_setup(test_init_without_icw4, setup_fresh),
        cmocka_unit_test_setup(test_init_single_without_icw4, setup_fresh),
        cmocka_unit_test_setup(test_icw2_low_bits_ignored, setup_fresh),
        cmocka_unit_test_setup(test_icw1_resets_state, setup),
        cmocka_unit_test_setup(test_icw1_edge_sense_reset, setup),
        cmocka_unit_test_setup(test_imr_masks_and_unmask_delivers, setup),
        cmocka_unit_test_setup(test_mask_drops_intr, setup),
        cmocka_unit_test_setup(test_master_irq2_mask_blocks_slave, setup),
        cmocka_unit_test_setup(test_priority_order, setup),
        cmocka_unit_test_setup(test_higher_priority_nests, setup),
        cmocka_unit_test_setup(test_lower_priority_waits, setup),
        cmocka_unit_test_setup(test_nonspecific_eoi_clears_highest, setup),
        cmocka_unit_test_setup(test_specific_eoi, setup),
        cmocka_unit_test_setup(test_rotate_on_nonspecific_eoi, setup),
        cmocka_unit_test_setup(test_rotate_on_specific_eoi, setup),
        cmocka_unit_test_setup(test_set_priority, setup),
        cmocka_unit_test_setup(test_rotation_shares_equal_priority, setup),
        cmocka_unit_test_setup(test_ocw2_noop, setup),
        cmocka_unit_test_setup(test_auto_eoi, setup_aeoi),
        cmocka_unit_test_setup(test_rotate_in_auto_eoi, setup_aeoi),
        cmocka_unit_test_setup(test_edge_latch_survives_line_drop, setup),
        cmocka_unit_test_setup(test_edge_needs_new_rising_edge, setup),
        cmocka_unit_test_setup(test_level_follows_line, setup),
        cmocka_unit_test_setup(test_level_redelivered_while_high, setup),
        cmocka_unit_test_setup(test_level_not_redelivered_when_low, setup),
        cmocka_unit_test_setup(test_elcr_fixed_zero_bits, setup),
        cmocka_unit_test_setup(test_elcr_switch_to_level_takes_line, setup),
        cmocka_unit_test_setup(test_spurious_irq7, setup),
        cmocka_unit_test_setup(test_real_irq7_sets_isr, setup),
        cmocka_unit_test_setup(test_spurious_irq15, setup),
        cmocka_unit_test_setup(test_poll, setup),
        cmocka_unit_test_setup(test_poll_slave, setup),
        cmocka_unit_test_setup(test_ocw3_read_irr_isr, setup),
        cmocka_unit_test_setup(test_special_mask_mode, setup),
        cmocka_unit_test_setup(test_cascade_vectors, setup),
        cmocka_unit_test_setup(test_slave_priority_and_requeue, setup),
        cmocka_unit_test_setup(test_slave_aeoi_keeps_cascade_request, setup),
        cmocka_unit_test_setup(test_slave_nesting_blocked_without_sfnm, setup),
        cmocka_unit_test_setup(test_special_fully_nested, setup_sfnm),
        cmocka_unit_test_setup(test_unknown_ports, setup),
        cmocka_unit_test_setup(test_bad_pin_ignored, setup),
        cmocka_unit_test_setup(test_trace_set_irq, setup),
        cmocka_unit_test_setup(test_trace_ack_and_eoi, setup),
        cmocka_unit_test_setup(test_kick_when_intr_rises, setup),
        cmocka_unit_test_setup(test_kick_after_ack_with_more_pending, setup_aeoi),
        cmocka_unit_test_setup(test_null_host, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
