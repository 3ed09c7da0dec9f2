/* libFuzzer target for the virtual 8259A pair (irq/vpic.c).
 *
 * The input is a sequence of 2-byte operations (op, val); op & 7 picks:
 *   0  write val to one of the six vPIC ports (op >> 3 picks it)
 *   1  read one of the six ports
 *   2  drive pin (op >> 3) & 15 to val & 1
 *   3  INTA, if INTR is asserted
 *   4  INTA regardless (the spurious path)
 *   5  access a port the vPIC does not own (must be refused, no effect)
 *   6  program both chips the PC way, val = master ICW4 | slave ICW4 << 4
 *   7  drive a pin number >= 16 (must be ignored)
 * After each operation the state is checked against invariants and a
 * straightforward reference of the priority logic; a violation traps. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../irq/vpic.h"

#define CHECK(x)              \
    do {                      \
        if (!(x))             \
            __builtin_trap(); \
    } while (0)

struct fz {
    struct vpic pic;
    int kicks;
    int n_set, n_ack;
    uint32_t set_a, set_b, set_c;
    uint32_t ack_a, ack_b, ack_c;
};

static void fz_kick(void *ctx)
{
    struct fz *f = ctx;
    f->kicks++;
}

static void fz_trace(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    struct fz *f = ctx;
    if (ev == TRACE_PIC_SET_IRQ) {
        f->n_set++;
        f->set_a = a, f->set_b = b, f->set_c = c;
    } else if (ev == TRACE_PIC_ACK) {
        f->n_ack++;
        f->ack_a = a, f->ack_b = b, f->ack_c = c;
    } else {
        CHECK(ev == TRACE_PIC_EOI);
        CHECK(a < 16 && b <= 1 && c == 0);
    }
}

static const uint16_t ports[6] = { 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1 };
static const uint16_t foreign[8] = { 0x00, 0x1f, 0x22, 0x40, 0x9f, 0xA2, 0x4CF, 0x4D2 };

/* Reference priority resolver, written as a walk from the highest-priority
 * pin down: the first in-service level stops the walk (special mask mode
 * ignores masked in-service levels; SFNM lets the cascade pin through). */
static int ref_pending(const struct vpic_chip *c, int master)
{
    uint8_t req = (uint8_t)(c->irr & ~c->imr);
    uint8_t blk = c->special_mask ? (uint8_t)(c->isr & ~c->imr) : c->isr;
    for (int r = 0; r < 8; r++) {
        int pin = (c->priority_add + r) & 7;
        uint8_t bit = (uint8_t)(1u << pin);
        if (blk & bit)
            return (master && c->special_fully_nested && pin == 2 && (req & bit)) ? 2 : -1;
        if (req & bit)
            return pin;
    }
    return -1;
}

static void check_state(const struct fz *f)
{
    const struct vpic *p = &f->pic;
    const struct vpic_chip *m = &p->chip[0], *s = &p->chip[1];

    CHECK(p->intr == vpic_has_interrupt(p));
    CHECK(p->intr == (ref_pending(m, 1) >= 0));
    if (p->intr)
        CHECK((m->irr & ~m->imr) != 0);
    if (m->imr == 0xff)
        CHECK(!p->intr);
    /* With nothing in service, any unmasked request asserts the output. */
    if (m->isr == 0 && (m->irr & ~m->imr))
        CHECK(p->intr);
    /* A slave able to interrupt has reached master IR2. */
    if (ref_pending(s, 0) >= 0)
        CHECK(m->irr & 4);
    CHECK(m->elcr_mask == 0xf8 && s->elcr_mask == 0xde);
    for (int i = 0; i < 2; i++) {
        const struct vpic_chip *c = &p->chip[i];
        CHECK((c->elcr & ~c->elcr_mask) == 0);
        CHECK((c->irr & c->elcr) == (c->line & c->elcr)); /* level pins follow the line */
        CHECK(c->priority_add < 8);
        CHECK(c->init_state <= 3);
        CHECK((c->vector_base & 7) == 0);
        CHECK(c->poll <= 1 && c->read_isr <= 1 && c->special_mask <= 1);
    }
}

/* INTA: the vector must be what the reference resolver predicts, and the
 * in-service bits must move as the datasheet says. */
static void do_ack(struct fz *f)
{
    struct vpic *p = &f->pic;
    struct vpic_chip *m = &p->chip[0], *s = &p->chip[1];
    struct vpic before;
    memcpy(&before, p, sizeof(before));
    int mpin = ref_pending(m, 1);
    int spin = ref_pending(s, 0);
    int n_ack = f->n_ack, kicks = f->kicks;

    uint8_t vec = vpic_acknowledge(p);

    CHECK(f->n_ack == n_ack + 1);
    CHECK(f->ack_b == vec);
    if (mpin < 0) {
        /* Spurious on the master: IR7's vector, nothing else moves. */
        CHECK(vec == (before.chip[0].vector_base | 7));
        CHECK(f->ack_a == 7 && f->ack_c == 1);
        CHECK(memcmp(&before.chip, &p->chip, sizeof(p->chip)) == 0);
    } else {
        const struct vpic_chip *bm = &before.chip[0];
        uint8_t mbit = (uint8_t)(1u << mpin);
        if (bm->auto_eoi)
            CHECK(m->isr == bm->isr);
        else
            CHECK(m->isr == (bm->isr | mbit));
        if (mpin != 2) {
            CHECK(vec == (bm->vector_base | mpin));
            CHECK(f->ack_a == (uint32_t)mpin && f->ack_c == 0);
            if (!(m->elcr & mbit))
                CHECK(!(m->irr & mbit)); /* the edge request was taken */
            CHECK(memcmp(&before.chip[1], s, sizeof(*s)) == 0);
        } else if (spin < 0) {
            CHECK(vec == (before.chip[1].vector_base | 7));
            CHECK(f->ack_a == 15 && f->ack_c == 1);
            CHECK(memcmp(&before.chip[1], s, sizeof(*s)) == 0);
        } else {
            const struct vpic_chip *bs = &before.chip[1];
            uint8_t sbit = (uint8_t)(1u << spin);
            CHECK(vec == (bs->vector_base | spin));
            CHECK(f->ack_a == 8u + (uint32_t)spin && f->ack_c == 0);
            if (bs->auto_eoi)
                CHECK(s->isr == bs->isr);
            else
                CHECK(s->isr == (bs->isr | sbit));
            if (!(s->elcr & sbit))
                CHECK(!(s->irr & sbit));
        }
    }
    /* A kick after INTA means a request is (still) asserted. */
    if (f->kicks != kicks)
        CHECK(p->intr);
    if (p->intr)
        CHECK(f->kicks == kicks + 1);
}

static void program(struct fz *f, uint8_t val)
{
    const uint8_t seq[8][2] = {
        { 0, 0x11 }, { 1, 0x20 }, { 1, 0x04 }, { 1, (uint8_t)(0x01 | (val & 0x12)) },
        { 2, 0x11 }, { 3, 0x28 }, { 3, 0x02 }, { 3, (uint8_t)(0x01 | ((val >> 4) & 0x12)) },
    };
    for (int i = 0; i < 8; i++)
        CHECK(vpic_port_write(&f->pic, ports[seq[i][0]], seq[i][1]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    memset(&f, 0, sizeof(f));
    const struct irq_host host = { .ctx = &f, .kick = fz_kick, .trace = fz_trace };
    vpic_init(&f.pic, &host);
    check_state(&f);
    CHECK(f.kicks == 0);

    for (size_t i = 0; i + 1 < size; i += 2) {
        uint8_t op = data[i], val = data[i + 1];
        struct vpic *p = &f.pic;
        int kicks = f.kicks;
        uint8_t intr = p->intr;

        switch (op & 7) {
        case 0: {
            unsigned k = (op >> 3) % 6;
            CHECK(vpic_port_write(p, ports[k], val) == 0);
            /* OCW2 commands that name a level have a fixed outcome. */
            if ((k == 0 || k == 2) && (val & 0x18) == 0) {
                const struct vpic_chip *c = &p->chip[k / 2];
                unsigned cmd = val >> 5, lvl = val & 7;
                if (cmd == 3 || cmd == 7)
                    CHECK(!(c->isr & (1u << lvl)));
                if (cmd == 6 || cmd == 7)
                    CHECK(c->priority_add == ((lvl + 1) & 7));
            }
            break;
        }
        case 1: {
            unsigned k = (op >> 3) % 6;
            const struct vpic_chip *c = &p->chip[k < 4 ? k / 2 : k - 4];
            int poll = k < 4 && c->poll;
            uint8_t want = k >= 4 ? c->elcr : (k & 1) ? c->imr : c->read_isr ? c->isr : c->irr;
            uint8_t got = 0;
            CHECK(vpic_port_read(p, ports[k], &got) == 0);
            if (poll) {
                CHECK(got == 0 || (got & 0xf8) == 0x80);
                CHECK(!c->poll);
            } else {
                CHECK(got == want);
                CHECK(f.kicks == kicks);
            }
            break;
        }
        case 2: {
            unsigned pin = (op >> 3) & 15;
            struct vpic_chip *c = &p->chip[pin >> 3];
            uint8_t irr = c->irr;
            int n_set = f.n_set;
            int r = vpic_set_irq(p, pin, val & 1);
            CHECK(r == (c->irr != irr));
            CHECK(f.n_set == n_set + 1);
            CHECK(f.set_a == pin && f.set_b == (uint32_t)(val & 1) && f.set_c == (uint32_t)r);
            if (val & 1)
                CHECK(c->line & (1u << (pin & 7)));
            break;
        }
        case 3:
            if (vpic_has_interrupt(p))
                do_ack(&f);
            break;
        case 4: do_ack(&f); break;
        case 5: {
            struct vpic before;
            memcpy(&before, p, sizeof(before));
            uint16_t port = foreign[(op >> 3) & 7];
            uint8_t v = 0x5a;
            CHECK(vpic_port_write(p, port, val) == -1);
            CHECK(vpic_port_read(p, port, &v) == -1);
            CHECK(v == 0x5a);
            CHECK(memcmp(&before, p, sizeof(before)) == 0);
            break;
        }
        case 6:
            program(&f, val);
            CHECK(p->chip[0].init_state == 0 && p->chip[1].init_state == 0);
            CHECK(p->chip[0].vector_base == 0x20 && p->chip[1].vector_base == 0x28);
            CHECK(p->chip[0].imr == 0 && p->chip[1].imr == 0 && p->chip[0].isr == 0);
            break;
        default: {
            struct vpic before;
            memcpy(&before, p, sizeof(before));
            CHECK(vpic_set_irq(p, 16u + op + (unsigned)val * 256u, 1) == 0);
            CHECK(memcmp(&before, p, sizeof(before)) == 0);
            break;
        }
        }

        check_state(&f);
        /* Kicks: only toward an asserted INTR, and always when it rises. */
        if (f.kicks != kicks)
            CHECK(p->intr);
        if (p->intr && !intr)
            CHECK(f.kicks > kicks);
    }
    return 0;
}
