/* Unit tests: the virtual 82093AA IOAPIC (irq/vioapic.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../irq/vioapic.h"

/* A fake LAPIC side: records every message and trace, and refuses
 * messages when told to. */
struct msg {
    uint8_t vector, mode, dest, logical, level;
};

struct trace_entry {
    enum irq_trace_event ev;
    uint32_t a, b, c;
};

#define MAXREC     64
#define FAKE_MAGIC 0x82093

struct fake {
    int magic;
    int bad_ctx;
    int refuse;
    int kicks;
    int nmsg;
    struct msg m[MAXREC];
    int ntrace;
    struct trace_entry t[MAXREC];
};

static struct fake fk;

static struct fake *ctx_ok(void *ctx)
{
    struct fake *f = ctx;
    if (f != &fk || f->magic != FAKE_MAGIC) {
        fk.bad_ctx++;
        return NULL;
    }
    return f;
}

static int fake_deliver(void *ctx, uint8_t vector, uint8_t mode, uint8_t dest, uint8_t logical, uint8_t level)
{
    struct fake *f = ctx_ok(ctx);
    if (!f || f->refuse)
        return 0;
    if (f->nmsg < MAXREC)
        f->m[f->nmsg] = (struct msg){ vector, mode, dest, logical, level };
    f->nmsg++;
    return 1;
}

static void fake_kick(void *ctx)
{
    struct fake *f = ctx_ok(ctx);
    if (f)
        f->kicks++;
}

static void fake_trace(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    struct fake *f = ctx_ok(ctx);
    if (!f)
        return;
    if (f->ntrace < MAXREC)
        f->t[f->ntrace] = (struct trace_entry){ ev, a, b, c };
    f->ntrace++;
}

static const struct irq_host host = {
    .ctx = &fk, .kick = fake_kick, .deliver = fake_deliver, .trace = fake_trace
};

static struct vioapic io;

static int setup(void **s)
{
    (void)s;
    memset(&fk, 0, sizeof(fk));
    fk.magic = FAKE_MAGIC;
    vioapic_init(&io, VIOAPIC_DEFAULT_BASE, &host);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    assert_int_equal(fk.bad_ctx, 0); /* every callback got the host's ctx */
    return 0;
}

/* ---- helpers ---- */

static void wr_reg(uint32_t index, uint32_t val)
{
    vioapic_mmio_write(&io, 0x00, index);
    vioapic_mmio_write(&io, 0x10, val);
}

static uint32_t rd_reg(uint32_t index)
{
    vioapic_mmio_write(&io, 0x00, index);
    return vioapic_mmio_read(&io, 0x10);
}

static uint64_t entry(unsigned pin)
{
    uint64_t lo = rd_reg(0x10 + 2 * pin);
    uint64_t hi = rd_reg(0x11 + 2 * pin);
    return lo | hi << 32;
}

/* Destination first, then the low dword (which may unmask), as guests do. */
static void program(unsigned pin, uint32_t lo, uint8_t dest)
{
    wr_reg(0x11 + 2 * pin, (uint32_t)dest << 24);
    wr_reg(0x10 + 2 * pin, lo);
}

#define EDGE(vec)  ((uint32_t)(vec))
#define LEVEL(vec) ((uint32_t)(vec) | (uint32_t)IOREDTBL_LEVEL)
#define MASKED     ((uint32_t)IOREDTBL_MASKED)
#define ACTIVE_LOW ((uint32_t)IOREDTBL_POLARITY_LOW)
#define MODE(m)    ((uint32_t)(m) << IOREDTBL_DELMODE_SHIFT)
#define LOGICAL    ((uint32_t)IOREDTBL_DEST_LOGICAL)

static int remote_irr(unsigned pin) { return (entry(pin) & IOREDTBL_REMOTE_IRR) != 0; }

static int count(enum irq_trace_event ev)
{
    int k = 0;
    for (int i = 0; i < fk.ntrace && i < MAXREC; i++)
        k += fk.t[i].ev == ev;
    return k;
}

static const struct trace_entry *last(enum irq_trace_event ev)
{
    for (int i = (fk.ntrace < MAXREC ? fk.ntrace : MAXREC) - 1; i >= 0; i--)
        if (fk.t[i].ev == ev)
            return &fk.t[i];
    return NULL;
}

/* ---- identification registers ---- */

static void test_init_state(void **s)
{
    (void)s;
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
        assert_int_equal(rd_reg(0x10 + 2 * pin), 0x00010000);
        assert_int_equal(rd_reg(0x11 + 2 * pin), 0);
    }
    assert_int_equal(rd_reg(0x00), 0);
    assert_int_equal(rd_reg(0x02), 0);
    assert_int_equal(io.line, 0);
    assert_true(io.base == VIOAPIC_DEFAULT_BASE);
    /* Masked at reset: nothing reaches the LAPIC. */
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++)
        assert_int_equal(vioapic_set_irq(&io, pin, 1), 0);
    assert_int_equal(fk.nmsg, 0);
    assert_int_equal(fk.kicks, 0);
}

static void test_init_twice_resets(void **s)
{
    (void)s;
    program(3, LEVEL(0x40), 1);
    wr_reg(0x00, 0x07000000);
    vioapic_set_irq(&io, 3, 1);
    vioapic_mmio_write(&io, 0x00, 0x2a);
    vioapic_init(&io, 0xfec01000ull, &host);
    assert_true(io.base == 0xfec01000ull);
    assert_int_equal(io.line, 0);
    assert_int_equal(vioapic_mmio_read(&io, 0x00), 0);
    assert_true(entry(3) == IOREDTBL_MASKED);
    assert_int_equal(rd_reg(0x00), 0);
}

static void test_id_register(void **s)
{
    (void)s;
    wr_reg(0x00, 0xffffffff);
    assert_int_equal(rd_reg(0x00), 0x0f000000); /* only bits 27:24 */
    wr_reg(0x00, 0x05000000);
    assert_int_equal(rd_reg(0x00), 0x05000000);
    wr_reg(0x00, 0xf0ffffff);
    assert_int_equal(rd_reg(0x00), 0);
    /* The ID write touched no redirection entry. */
    assert_true(entry(0) == IOREDTBL_MASKED);
}

static void test_version_register(void **s)
{
    (void)s;
    assert_int_equal(rd_reg(0x01), 0x00170020);
    wr_reg(0x01, 0);
    assert_int_equal(rd_reg(0x01), 0x00170020);
    wr_reg(0x01, 0xffffffff);
    assert_int_equal(rd_reg(0x01), 0x00170020);
}

static void test_arbitration_register(void **s)
{
    (void)s;
    assert_int_equal(rd_reg(0x02), 0);
    /* Loaded with the same data as the ID (82093AA 3.2.1). */
    wr_reg(0x00, 0x0a000000);
    assert_int_equal(rd_reg(0x02), 0x0a000000);
    /* Read-only through the window. */
    wr_reg(0x02, 0x03000000);
    assert_int_equal(rd_reg(0x02), 0x0a000000);
    assert_int_equal(rd_reg(0x00), 0x0a000000);
}

static void test_ioregsel_readback(void **s)
{
    (void)s;
    vioapic_mmio_write(&io, 0x00, 0x12);
    assert_int_equal(vioapic_mmio_read(&io, 0x00), 0x12);
    vioapic_mmio_write(&io, 0x00, 0x3f);
    assert_int_equal(vioapic_mmio_read(&io, 0x00), 0x3f);
    /* Bits 31:8 are reserved: the select is bits 7:0. */
    vioapic_mmio_write(&io, 0x00, 0xabcd0001);
    assert_int_equal(vioapic_mmio_read(&io, 0x00), 0x01);
    assert_int_equal(vioapic_mmio_read(&io, 0x10), 0x00170020);
}

/* ---- redirection table ---- */

static void test_redtbl_read_write(void **s)
{
    (void)s;
    program(7, MASKED | LOGICAL | MODE(1) | 0x5a, 0xc3);
    assert_int_equal(rd_reg(0x10 + 14), 0x00010000 | 0x800 | 0x100 | 0x5a);
    assert_int_equal(rd_reg(0x11 + 14), 0xc3000000);
    /* Neighbours untouched. */
    assert_true(entry(6) == IOREDTBL_MASKED);
    assert_true(entry(8) == IOREDTBL_MASKED);
    /* The last entry is at 0x3e/0x3f. */
    wr_reg(0x3f, 0x11000000);
    assert_int_equal(rd_reg(0x3f), 0x11000000);
    assert_true(entry(23) == (IOREDTBL_MASKED | 0x11ull << 56));
}

static void test_redtbl_reserved_bits(void **s)
{
    (void)s;
    wr_reg(0x10, 0xffffffff);
    /* Bits 31:17 reserved, 12 and 14 read-only (and clear here). */
    assert_int_equal(rd_reg(0x10), 0x0001afff);
    wr_reg(0x11, 0xffffffff);
    assert_int_equal(rd_reg(0x11), 0xff000000); /* 55:32 reserved */
    wr_reg(0x11, 0x00ffffff);
    assert_int_equal(rd_reg(0x11), 0);
    assert_int_equal(fk.nmsg, 0);
}

static void test_redtbl_readonly_bits_preserved(void **s)
{
    (void)s;
    program(2, LEVEL(0x31), 0);
    assert_int_equal(vioapic_set_irq(&io, 2, 1), 1);
    assert_true(remote_irr(2));
    /* A rewrite with bit 14 clear (a read-modify-write that lost it, or a
     * guest trying to clear it) keeps remote IRR. */
    wr_reg(0x14, LEVEL(0x32));
    assert_true(remote_irr(2));
    assert_int_equal(rd_reg(0x14) & 0xff, 0x32);
    /* Setting bits 12/14 on a fresh level pin does not set them. */
    program(3, LEVEL(0x33) | MASKED | (uint32_t)IOREDTBL_REMOTE_IRR | (uint32_t)IOREDTBL_DELIVS, 0);
    assert_int_equal(rd_reg(0x16), LEVEL(0x33) | MASKED);
    /* A high-dword write does not touch remote IRR either. */
    wr_reg(0x15, 0x01000000);
    assert_true(remote_irr(2));
    assert_int_equal(fk.nmsg, 1);
}

static void test_out_of_range_indices(void **s)
{
    (void)s;
    static const uint32_t idx[] = { 0x03, 0x04, 0x0f, 0x40, 0x41, 0x80, 0xfe, 0xff };
    for (unsigned i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
        wr_reg(idx[i], 0xffffffff);
        assert_int_equal(rd_reg(idx[i]), 0);
    }
    /* None of those writes landed anywhere. */
    assert_int_equal(rd_reg(0x00), 0);
    assert_int_equal(rd_reg(0x02), 0);
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++)
        assert_true(entry(pin) == IOREDTBL_MASKED);
    assert_int_equal(fk.nmsg, 0);
}

static void test_other_offsets(void **s)
{
    (void)s;
    static const uint64_t off[] = { 0x01, 0x04, 0x08, 0x0c, 0x11,  0x14,   0x20,
                                    0x30, 0x3c, 0x41, 0x44, 0xffc, 0x1000, ~0ull };
    program(1, LEVEL(0x51), 0);
    vioapic_set_irq(&io, 1, 1);
    assert_true(remote_irr(1));
    vioapic_mmio_write(&io, 0x00, 0x12);
    for (unsigned i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        vioapic_mmio_write(&io, off[i], 0x51);
        assert_int_equal(vioapic_mmio_read(&io, off[i]), 0);
    }
    assert_int_equal(vioapic_mmio_read(&io, 0x00), 0x12); /* select unchanged */
    assert_true(remote_irr(1));                           /* no EOI happened */
    assert_int_equal(rd_reg(0x00), 0);
    /* The EOI register is write-only. */
    assert_int_equal(vioapic_mmio_read(&io, 0x40), 0);
}

/* ---- edge-triggered pins ---- */

static void test_edge_rising_delivers(void **s)
{
    (void)s;
    program(4, EDGE(0x34), 0x02);
    assert_int_equal(vioapic_set_irq(&io, 4, 1), 1);
    assert_int_equal(fk.nmsg, 1);
    assert_int_equal(fk.m[0].vector, 0x34);
    assert_int_equal(fk.m[0].mode, 0);
    assert_int_equal(fk.m[0].dest, 0x02);
    assert_int_equal(fk.m[0].logical, 0);
    assert_int_equal(fk.m[0].level, 0);
    assert_int_equal(fk.kicks, 1);
    assert_false(remote_irr(4)); /* edge pins never hold remote IRR */
}

static void test_edge_only_on_rising(void **s)
{
    (void)s;
    program(4, EDGE(0x34), 0);
    assert_int_equal(vioapic_set_irq(&io, 4, 1), 1);
    assert_int_equal(vioapic_set_irq(&io, 4, 1), 0); /* held high: no new edge */
    assert_int_equal(vioapic_set_irq(&io, 4, 1), 0);
    assert_int_equal(vioapic_set_irq(&io, 4, 0), 0); /* falling edge sends nothing */
    assert_int_equal(fk.nmsg, 1);
    assert_int_equal(vioapic_set_irq(&io, 4, 1), 1);
    assert_int_equal(fk.nmsg, 2);
    assert_int_equal(fk.kicks, 2);
    /* An EOI of the vector does nothing for an edge pin. */
    vioapic_eoi(&io, 0x34);
    assert_int_equal(fk.nmsg, 2);
}

static void test_edge_lost_while_masked(void **s)
{
    (void)s;
    program(5, EDGE(0x35) | MASKED, 0);
    assert_int_equal(vioapic_set_irq(&io, 5, 1), 0);
    /* Unmasking with the line still high: the edge is gone. */
    wr_reg(0x1a, EDGE(0x35));
    assert_int_equal(fk.nmsg, 0);
    assert_int_equal(vioapic_set_irq(&io, 5, 1), 0);
    assert_int_equal(fk.nmsg, 0);
    assert_int_equal(vioapic_set_irq(&io, 5, 0), 0);
    assert_int_equal(vioapic_set_irq(&io, 5, 1), 1);
    assert_int_equal(fk.nmsg, 1);
}

static void test_mask_blocks_delivery(void **s)
{
    (void)s;
    program(6, EDGE(0x36), 0);
    assert_int_equal(vioapic_set_irq(&io, 6, 1), 1);
    wr_reg(0x1c, EDGE(0x36) | MASKED);
    vioapic_set_irq(&io, 6, 0);
    assert_int_equal(vioapic_set_irq(&io, 6, 1), 0);
    program(8, LEVEL(0x38) | MASKED, 0);
    assert_int_equal(vioapic_set_irq(&io, 8, 1), 0);
    assert_false(remote_irr(8));
    assert_int_equal(fk.nmsg, 1);
    /* The line state is still tracked while masked. */
    assert_true(io.line & (1u << 8));
}

/* ---- polarity ---- */

static void test_polarity_active_low_edge(void **s)
{
    (void)s;
    program(9, EDGE(0x39) | ACTIVE_LOW, 0);
    assert_int_equal(vioapic_set_irq(&io, 9, 1), 0); /* electrical high = idle */
    assert_false(io.line & (1u << 9));
    assert_int_equal(vioapic_set_irq(&io, 9, 0), 1); /* falling level = asserted */
    assert_true(io.line & (1u << 9));
    assert_int_equal(vioapic_set_irq(&io, 9, 0), 0);
    assert_int_equal(vioapic_set_irq(&io, 9, 1), 0);
    assert_int_equal(fk.nmsg, 1);
    assert_int_equal(fk.m[0].vector, 0x39);
}

static void test_polarity_active_low_level(void **s)
{
    (void)s;
    program(10, LEVEL(0x3a) | ACTIVE_LOW, 0);
    assert_int_equal(vioapic_set_irq(&io, 10, 1), 0);
    assert_int_equal(vioapic_set_irq(&io, 10, 0), 1);
    assert_true(remote_irr(10));
    assert_int_equal(fk.m[0].level, 1);
    vioapic_set_irq(&io, 10, 1); /* deasserted */
    vioapic_eoi(&io, 0x3a);
    assert_false(remote_irr(10));
    assert_int_equal(fk.nmsg, 1);
}

/* ---- level-triggered pins ---- */

static void test_level_sets_remote_irr(void **s)
{
    (void)s;
    program(11, LEVEL(0x3b), 0x04);
    assert_int_equal(vioapic_set_irq(&io, 11, 1), 1);
    assert_true(remote_irr(11));
    assert_int_equal(fk.nmsg, 1);
    assert_int_equal(fk.m[0].level, 1);
    assert_int_equal(fk.m[0].dest, 0x04);
    /* Held, re-driven or toggled: nothing more until the EOI. */
    assert_int_equal(vioapic_set_irq(&io, 11, 1), 0);
    assert_int_equal(vioapic_set_irq(&io, 11, 0), 0);
    assert_true(remote_irr(11)); /* deassertion does not clear it */
    assert_int_equal(vioapic_set_irq(&io, 11, 1), 0);
    assert_int_equal(fk.nmsg, 1);
    assert_int_equal(fk.kicks, 1);
}

static void test_eoi_redelivers_while_asserted(void **s)
{
    (void)s;
    program(12, LEVEL(0x3c), 0);
    vioapic_set_irq(&io, 12, 1);
    vioapic_eoi(&io, 0x3c);
    assert_int_equal(fk.nmsg, 2);
    assert_true(remote_irr(12)); /* set again by the new message */
    assert_int_equal(fk.kicks, 2);
    vioapic_eoi(&io, 0x3c);
    assert_int_equal(fk.nmsg, 3);
}

static void test_eoi_deasserted_line(void **s)
{
    (void)s;
    program(13, LEVEL(0x3d), 0);
    vioapic_set_irq(&io, 13, 1);
    vioapic_set_irq(&io, 13, 0);
    vioapic_eoi(&io, 0x3d);
    assert_false(remote_irr(13));
    assert_int_equal(fk.nmsg, 1);
    /* Free again: the next assertion sends. */
    assert_int_equal(vioapic_set_irq(&io, 13, 1), 1);
    assert_int_equal(fk.nmsg, 2);
}

static void test_eoi_other_vector(void **s)
{
    (void)s;
    program(14, LEVEL(0x3e), 0);
    vioapic_set_irq(&io, 14, 1);
    vioapic_eoi(&io, 0x3f);
    vioapic_eoi(&io, 0x00);
    assert_true(remote_irr(14));
    assert_int_equal(fk.nmsg, 1);
}

static void test_eoi_register(void **s)
{
    (void)s;
    program(15, LEVEL(0x41), 0);
    vioapic_set_irq(&io, 15, 1);
    vioapic_set_irq(&io, 15, 0);
    /* The vector is bits 7:0; the rest of the dword is ignored. */
    vioapic_mmio_write(&io, 0x40, 0xffffff00u | 0x41);
    assert_false(remote_irr(15));
    /* ... and it re-delivers like a LAPIC EOI broadcast. */
    vioapic_set_irq(&io, 15, 1);
    assert_true(remote_irr(15));
    vioapic_mmio_write(&io, 0x40, 0x41);
    assert_int_equal(fk.nmsg, 3);
    assert_true(remote_irr(15));
}

static void test_eoi_two_pins_one_vector(void **s)
{
    (void)s;
    program(16, LEVEL(0x50), 0);
    program(20, LEVEL(0x50), 1);
    vioapic_set_irq(&io, 16, 1);
    vioapic_set_irq(&io, 20, 1);
    assert_int_equal(fk.nmsg, 2);
    vioapic_set_irq(&io, 16, 0); /* 16 done, 20 still asserted */
    fk.ntrace = 0;
    vioapic_eoi(&io, 0x50);
    assert_false(remote_irr(16));
    assert_true(remote_irr(20));
    assert_int_equal(fk.nmsg, 3);
    assert_int_equal(fk.m[2].dest, 1);            /* pin 20 re-sent */
    assert_int_equal(count(TRACE_IOAPIC_EOI), 1); /* one trace per EOI */
    const struct trace_entry *t = last(TRACE_IOAPIC_EOI);
    assert_non_null(t);
    assert_int_equal(t->a, 0x50);
    assert_int_equal(t->b, 16); /* the first matching pin */
    assert_int_equal(t->c, 1);
}

static void test_unmask_asserted_level_delivers(void **s)
{
    (void)s;
    program(17, LEVEL(0x42) | MASKED, 0x03);
    assert_int_equal(vioapic_set_irq(&io, 17, 1), 0);
    assert_int_equal(fk.nmsg, 0);
    wr_reg(0x10 + 34, LEVEL(0x42));
    assert_int_equal(fk.nmsg, 1);
    assert_int_equal(fk.m[0].vector, 0x42);
    assert_int_equal(fk.m[0].dest, 0x03);
    assert_true(remote_irr(17));
    /* Mask and unmask again: remote IRR is set, so nothing new. */
    wr_reg(0x10 + 34, LEVEL(0x42) | MASKED);
    wr_reg(0x10 + 34, LEVEL(0x42));
    assert_int_equal(fk.nmsg, 1);
    /* Unmasking a deasserted level pin sends nothing. */
    program(18, LEVEL(0x43) | MASKED, 0);
    wr_reg(0x10 + 36, LEVEL(0x43));
    assert_int_equal(fk.nmsg, 1);
}

static void test_masked_level_eoi_no_redelivery(void **s)
{
    (void)s;
    program(19, LEVEL(0x44), 0);
    vioapic_set_irq(&io, 19, 1);
    wr_reg(0x10 + 38, LEVEL(0x44) | MASKED);
    vioapic_eoi(&io, 0x44);
    assert_false(remote_irr(19));
    assert_int_equal(fk.nmsg, 1);
    wr_reg(0x10 + 38, LEVEL(0x44)); /* still asserted: sends on unmask */
    assert_int_equal(fk.nmsg, 2);
}

static void test_trigger_to_edge_clears_remote_irr(void **s)
{
    (void)s;
    program(21, LEVEL(0x45), 0);
    vioapic_set_irq(&io, 21, 1);
    assert_true(remote_irr(21));
    wr_reg(0x10 + 42, EDGE(0x45) | MASKED);
    assert_false(remote_irr(21));
    /* Back to level (masked): remote IRR stays clear. */
    wr_reg(0x10 + 42, LEVEL(0x45) | MASKED);
    assert_false(remote_irr(21));
    assert_int_equal(fk.nmsg, 1);
}

static void test_refused_delivery(void **s)
{
    (void)s;
    fk.refuse = 1;
    program(22, LEVEL(0x46), 0);
    assert_int_equal(vioapic_set_irq(&io, 22, 1), 0);
    assert_false(remote_irr(22));
    assert_int_equal(fk.kicks, 0);
    program(1, EDGE(0x47), 0);
    assert_int_equal(vioapic_set_irq(&io, 1, 1), 0);
    assert_int_equal(fk.kicks, 0);
    /* Accepted later: a level pin that is still asserted tries again. */
    fk.refuse = 0;
    assert_int_equal(vioapic_set_irq(&io, 22, 1), 1);
    assert_true(remote_irr(22));
    assert_int_equal(fk.kicks, 1);
    /* The refused edge was not retried. */
    assert_int_equal(fk.nmsg, 1);
    assert_int_equal(fk.m[0].vector, 0x46);
}

static void test_refused_redelivery_on_eoi(void **s)
{
    (void)s;
    program(0, LEVEL(0x48), 0);
    vioapic_set_irq(&io, 0, 1);
    fk.refuse = 1;
    fk.ntrace = 0;
    vioapic_eoi(&io, 0x48);
    assert_false(remote_irr(0)); /* not accepted: not outstanding */
    const struct trace_entry *t = last(TRACE_IOAPIC_EOI);
    assert_non_null(t);
    assert_int_equal(t->b, 0);
    assert_int_equal(t->c, 0);
    fk.refuse = 0;
    wr_reg(0x10, LEVEL(0x48)); /* any rewrite lets it try again */
    assert_true(remote_irr(0));
    assert_int_equal(fk.nmsg, 2);
}

static void test_delivery_modes(void **s)
{
    (void)s;
    static const struct {
        unsigned pin;
        uint32_t lo;
        uint8_t dest;
        struct msg want;
    } c[] = {
        { 1, EDGE(0x61) | MODE(0), 0x01, { 0x61, 0, 0x01, 0, 0 } },           /* fixed */
        { 2, EDGE(0x62) | MODE(1) | LOGICAL, 0x0f, { 0x62, 1, 0x0f, 1, 0 } }, /* lowest prio */
        { 3, EDGE(0x00) | MODE(4), 0x00, { 0x00, 4, 0x00, 0, 0 } },           /* NMI */
        { 4, EDGE(0x00) | MODE(5) | LOGICAL, 0xff, { 0x00, 5, 0xff, 1, 0 } }, /* INIT */
        { 5, EDGE(0x20) | MODE(7), 0x00, { 0x20, 7, 0x00, 0, 0 } },           /* ExtINT */
        { 6, LEVEL(0x66) | MODE(1) | LOGICAL, 0x80, { 0x66, 1, 0x80, 1, 1 } },
        { 7, EDGE(0x67) | MODE(2), 0xa5, { 0x67, 2, 0xa5, 0, 0 } }, /* SMI */
    };
    for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        program(c[i].pin, c[i].lo, c[i].dest);
        assert_int_equal(vioapic_set_irq(&io, c[i].pin, 1), 1);
        assert_int_equal(fk.nmsg, (int)i + 1);
        const struct msg *m = &fk.m[i];
        assert_int_equal(m->vector, c[i].want.vector);
        assert_int_equal(m->mode, c[i].want.mode);
        assert_int_equal(m->dest, c[i].want.dest);
        assert_int_equal(m->logical, c[i].want.logical);
        assert_int_equal(m->level, c[i].want.level);
    }
}

static void test_no_host(void **s)
{
    (void)s;
    vioapic_init(&io, VIOAPIC_DEFAULT_BASE, NULL);
    program(3, LEVEL(0x70), 0);
    assert_int_equal(vioapic_set_irq(&io, 3, 1), 0);
    assert_false(remote_irr(3));
    vioapic_eoi(&io, 0x70);
    vioapic_mmio_write(&io, 0x40, 0x70);

    /* A host without callbacks accepts nothing and is never called. */
    static const struct irq_host empty = { .ctx = &fk };
    vioapic_init(&io, VIOAPIC_DEFAULT_BASE, &empty);
    program(4, EDGE(0x71), 0);
    program(5, LEVEL(0x72), 0);
    assert_int_equal(vioapic_set_irq(&io, 4, 1), 0);
    assert_int_equal(vioapic_set_irq(&io, 5, 1), 0);
    assert_false(remote_irr(5));
    vioapic_eoi(&io, 0x72);
    assert_int_equal(fk.nmsg, 0);
    assert_int_equal(fk.ntrace, 0);
}

static void test_out_of_range_pins(void **s)
{
    (void)s;
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++)
        program(pin, EDGE(0x80 + pin), 0);
    static const unsigned bad[] = { VIOAPIC_PINS, 25, 31, 32, 255, 1000, 0xffffffffu };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(vioapic_set_irq(&io, bad[i], 1), 0);
        assert_int_equal(vioapic_set_irq(&io, bad[i], 0), 0);
    }
    assert_int_equal(io.line, 0);
    assert_int_equal(fk.nmsg, 0);
    assert_int_equal(fk.ntrace, 0);
}

static void test_traces(void **s)
{
    (void)s;
    program(8, EDGE(0x58) | MODE(1), 0);
    fk.ntrace = 0;
    vioapic_set_irq(&io, 8, 1);
    assert_int_equal(count(TRACE_IOAPIC_DELIVER), 1);
    const struct trace_entry *d = last(TRACE_IOAPIC_DELIVER);
    assert_non_null(d);
    assert_int_equal(d->a, 8);
    assert_int_equal(d->b, 0x58);
    assert_int_equal(d->c, 1);
    const struct trace_entry *t = last(TRACE_IOAPIC_SET_IRQ);
    assert_non_null(t);
    assert_int_equal(t->a, 8);
    assert_int_equal(t->b, 1);
    assert_int_equal(t->c, 1);

    /* No message: c = 0, no deliver trace. */
    fk.ntrace = 0;
    vioapic_set_irq(&io, 8, 0);
    assert_int_equal(fk.ntrace, 1);
    assert_int_equal(fk.t[0].ev, TRACE_IOAPIC_SET_IRQ);
    assert_int_equal(fk.t[0].b, 0);
    assert_int_equal(fk.t[0].c, 0);

    /* Masked pin: traced, not sent. */
    program(9, EDGE(0x59) | MASKED, 0);
    fk.ntrace = 0;
    vioapic_set_irq(&io, 9, 1);
    assert_int_equal(count(TRACE_IOAPIC_DELIVER), 0);
    t = last(TRACE_IOAPIC_SET_IRQ);
    assert_non_null(t);
    assert_int_equal(t->a, 9);
    assert_int_equal(t->c, 0);

    /* EOI that matches nothing. */
    fk.ntrace = 0;
    vioapic_eoi(&io, 0x99);
    assert_int_equal(fk.ntrace, 1);
    assert_int_equal(fk.t[0].ev, TRACE_IOAPIC_EOI);
    assert_int_equal(fk.t[0].a, 0x99);
    assert_int_equal(fk.t[0].b, 0xff);
    assert_int_equal(fk.t[0].c, 0);

    /* EOI that matches a deasserted pin: pin named, no re-delivery. */
    program(10, LEVEL(0x5a), 0);
    vioapic_set_irq(&io, 10, 1);
    vioapic_set_irq(&io, 10, 0);
    fk.ntrace = 0;
    vioapic_eoi(&io, 0x5a);
    assert_int_equal(fk.ntrace, 1);
    assert_int_equal(fk.t[0].b, 10);
    assert_int_equal(fk.t[0].c, 0);
}

static void test_eoi_ignores_edge_pin_with_same_vector(void **s)
{
    (void)s;
    program(2, EDGE(0x52), 0);
    program(3, LEVEL(0x52), 0);
    vioapic_set_irq(&io, 2, 1); /* edge pin held high */
    vioapic_set_irq(&io, 3, 1);
    assert_int_equal(fk.nmsg, 2);
    fk.ntrace = 0;
    vioapic_eoi(&io, 0x52);
    /* Only the level pin is re-sent, and it is the one named. */
    assert_int_equal(fk.nmsg, 3);
    assert_int_equal(fk.m[2].level, 1);
    const struct trace_entry *t = last(TRACE_IOAPIC_EOI);
    assert_non_null(t);
    assert_int_equal(t->b, 3);
}

static void test_edge_to_level_while_asserted(void **s)
{
    (void)s;
    program(11, EDGE(0x5b), 0);
    vioapic_set_irq(&io, 11, 1);
    assert_int_equal(fk.nmsg, 1);
    /* Switching an asserted, unmasked pin to level makes it pending. */
    wr_reg(0x10 + 22, LEVEL(0x5b));
    assert_int_equal(fk.nmsg, 2);
    assert_int_equal(fk.m[1].level, 1);
    assert_true(remote_irr(11));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_twice_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arbitration_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ioregsel_readback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redtbl_read_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redtbl_reserved_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redtbl_readonly_bits_preserved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_indices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_rising_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_only_on_rising, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_lost_while_masked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mask_blocks_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polarity_active_low_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polarity_active_low_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_sets_remote_irr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eoi_redelivers_while_asserted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eoi_deasserted_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eoi_other_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eoi_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eoi_two_pins_one_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eoi_ignores_edge_pin_with_same_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmask_asserted_level_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masked_level_eoi_no_redelivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trigger_to_edge_clears_remote_irr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_to_level_while_asserted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_redelivery_on_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_pins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traces, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
