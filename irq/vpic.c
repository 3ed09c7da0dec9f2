/* Virtual 8259A pair as wired on a PC: master at 0x20/0x21, slave at
 * 0xA0/0xA1 whose INT output feeds master IR2, and the PIIX ELCR at
 * 0x4D0/0x4D1 selecting edge or level sensing per pin. Pure C: all state
 * lives in struct vpic, the outside world is reached only through
 * struct irq_host. Every guest-written value is masked to its field width,
 * so no port sequence can index out of range or loop. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vpic.h"

#define PORT_MASTER_CMD  0x20
#define PORT_MASTER_DATA 0x21
#define PORT_SLAVE_CMD   0xA0
#define PORT_SLAVE_DATA  0xA1
#define PORT_ELCR_MASTER 0x4D0
#define PORT_ELCR_SLAVE  0x4D1

#define CASCADE_PIN 2

/* ICW1 */
#define ICW1_IC4  0x01
#define ICW1_SNGL 0x02
#define ICW1_INIT 0x10
/* ICW4 */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
/* OCW3 */
#define OCW3_SEL  0x08
#define OCW3_POLL 0x04
#define OCW3_RR   0x02
#define OCW3_RIS  0x01
#define OCW3_ESMM 0x40
#define OCW3_SMM  0x20

/* init_state values (see vpic.h) */
enum { ST_READY = 0, ST_ICW2 = 1, ST_ICW3 = 2, ST_ICW4 = 3 };

/* On the PIIX, IRQ 0, 1, 2 (timer, keyboard, cascade), 8 (RTC) and 13
 * (FPU) are hard-wired edge: their ELCR bits read 0 and ignore writes. */
#define ELCR_MASK_MASTER 0xf8
#define ELCR_MASK_SLAVE  0xde

/* Priority rank (0 = highest) of the highest-priority bit set in bits, or
 * 8 if none. The highest-priority pin is priority_add: rotation just moves
 * where the scan starts. */
static int top_rank(const struct vpic_chip *c, uint8_t bits)
{
    if (!bits)
        return 8;
    int r = 0;
    while (!(bits & (1u << ((r + c->priority_add) & 7))))
        r++;
    return r;
}

static int rank_to_pin(const struct vpic_chip *c, int rank) { return (rank + c->priority_add) & 7; }

/* The pin this chip would present at INTA, or -1: the highest unmasked
 * request, if it outranks everything in service. */
static int chip_pending(const struct vpic_chip *c, int is_master)
{
    int req = top_rank(c, (uint8_t)(c->irr & ~c->imr));
    if (req == 8)
        return -1;
    uint8_t blocking = c->isr;
    /* Special mask mode: a masked level in service must not hold off the
     * levels the handler deliberately re-enabled. */
    if (c->special_mask)
        blocking &= (uint8_t)~c->imr;
    int cur = top_rank(c, blocking);
    int pin = rank_to_pin(c, req);
    if (req < cur)
        return pin;
    /* Special fully nested mode: a slave keeps access to the master while
     * one of its own interrupts is in service, so a higher-priority slave
     * request can nest; the slave's own priority logic already vetted it. */
    if (is_master && c->special_fully_nested && pin == CASCADE_PIN && req == cur)
        return pin;
    return -1;
}

static void kick(const struct vpic *p)
{
    if (p->host && p->host->kick)
        p->host->kick(p->host->ctx);
}

/* Propagate the slave's INT to master IR2 and recompute INTR. old_intr is
 * what the consumer last saw: a kick is due only when INTR rises from it. */
static void update(struct vpic *p, uint8_t old_intr)
{
    /* IR2 is sampled like a level input (a slave request that is still
     * there after an INTA is not lost), but, as with the PC's edge-wired
     * IR2, the latched bit is only cleared by INTA: a slave request that
     * vanishes first yields IRQ 2 on the master and spurious IRQ 15. */
    if (chip_pending(&p->chip[1], 0) >= 0)
        p->chip[0].irr |= 1u << CASCADE_PIN;
    p->intr = chip_pending(&p->chip[0], 1) >= 0;
    if (p->intr && !old_intr)
        kick(p);
}

/* Power-on state of the pair. Everything is masked so that nothing reaches
 * the vCPU before the guest has programmed vector bases; the bases are the
 * PC BIOS's (0x08, 0x70) and the cascade is wired as on a PC. */
static void chip_reset(struct vpic_chip *c, uint8_t base, uint8_t cascade, uint8_t elcr_mask)
{
    memset(c, 0, sizeof(*c));
    c->imr = 0xff;
    c->vector_base = base;
    c->cascade = cascade;
    c->elcr_mask = elcr_mask;
    c->icw4_needed = 1;
}

void vpic_init(struct vpic *p, const struct irq_host *host)
{
    memset(p, 0, sizeof(*p));
    p->host = host;
    chip_reset(&p->chip[0], 0x08, 1u << CASCADE_PIN, ELCR_MASK_MASTER);
    chip_reset(&p->chip[1], 0x70, CASCADE_PIN, ELCR_MASK_SLAVE);
    update(p, 0);
}

int vpic_set_irq(struct vpic *p, unsigned pin, int level)
{
    if (pin >= 16)
        return 0;
    struct vpic_chip *c = &p->chip[pin >> 3];
    uint8_t m = (uint8_t)(1u << (pin & 7));
    uint8_t old_irr = c->irr, old_intr = p->intr;
    int lvl = level ? 1 : 0;

    if (c->elcr & m) {
        /* Level sensing: the request is the line itself. */
        if (lvl)
            c->irr |= m;
        else
            c->irr &= (uint8_t)~m;
    } else if (lvl && !(c->line & m)) {
        /* Edge sensing: latch the rising edge; a falling line leaves the
         * latched request for INTA to take. */
        c->irr |= m;
    }
    if (lvl)
        c->line |= m;
    else
        c->line &= (uint8_t)~m;

    int changed = c->irr != old_irr;
    irq_host_trace(p->host, TRACE_PIC_SET_IRQ, pin, (uint32_t)lvl, (uint32_t)changed);
    update(p, old_intr);
    return changed;
}

/* One chip's part of INTA (or of a poll read): in service unless AEOI,
 * request taken. A level pin's IRR bit is cleared and at once re-latched
 * from the still-high line, which is the same as leaving it set. */
static void chip_ack(struct vpic_chip *c, int pin)
{
    uint8_t m = (uint8_t)(1u << pin);
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi)
            c->priority_add = (uint8_t)((pin + 1) & 7);
    } else {
        c->isr |= m;
    }
    if (!(c->elcr & m))
        c->irr &= (uint8_t)~m;
}

uint8_t vpic_acknowledge(struct vpic *p)
{
    struct vpic_chip *m = &p->chip[0], *s = &p->chip[1];
    int pin = chip_pending(m, 1);
    uint8_t vec;
    uint32_t trace_pin;
    int spurious = 0;

    if (pin < 0) {
        /* The request went away before INTA: the master answers IR7 but
         * sets no in-service bit. */
        vec = (uint8_t)(m->vector_base | 7);
        trace_pin = 7;
        spurious = 1;
    } else {
        chip_ack(m, pin);
        if (pin == CASCADE_PIN) {
            int spin = chip_pending(s, 0);
            if (spin < 0) {
                /* Master IR2 was latched but the slave's request is gone:
                 * the slave answers IR7 and sets nothing; the master's IR2
                 * stays in service as on real hardware. */
                vec = (uint8_t)(s->vector_base | 7);
                trace_pin = 15;
                spurious = 1;
            } else {
                chip_ack(s, spin);
                vec = (uint8_t)(s->vector_base | spin);
                trace_pin = 8u + (unsigned)spin;
            }
        } else {
            vec = (uint8_t)(m->vector_base | pin);
            trace_pin = (uint32_t)pin;
        }
    }
    irq_host_trace(p->host, TRACE_PIC_ACK, trace_pin, vec, (uint32_t)spurious);
    /* The CPU has consumed the request: anything still asserted after
     * INTA is a new one, so compare against 0. */
    update(p, 0);
    return vec;
}

int vpic_has_interrupt(const struct vpic *p) { return p->intr; }

/* A poll read: the RD pulse acts as INTA for this chip alone. */
static uint8_t chip_poll(struct vpic *p, int idx)
{
    struct vpic_chip *c = &p->chip[idx];
    c->poll = 0;
    int pin = chip_pending(c, idx == 0);
    if (pin < 0) {
        update(p, p->intr);
        return 0;
    }
    chip_ack(c, pin);
    irq_host_trace(p->host, TRACE_PIC_ACK, (uint32_t)(idx * 8 + pin), (uint32_t)(c->vector_base | pin), 0);
    update(p, 0);
    return (uint8_t)(0x80 | pin);
}

static void eoi(struct vpic *p, int idx, int pin, int specific, int rotate)
{
    struct vpic_chip *c = &p->chip[idx];
    c->isr &= (uint8_t) ~(1u << pin);
    if (rotate)
        c->priority_add = (uint8_t)((pin + 1) & 7);
    irq_host_trace(p->host, TRACE_PIC_EOI, (uint32_t)(idx * 8 + pin), (uint32_t)specific, 0);
}

static void write_ocw2(struct vpic *p, int idx, uint8_t val)
{
    struct vpic_chip *c = &p->chip[idx];
    int level = val & 7;
    switch (val >> 5) {
    case 1: /* non-specific EOI */
    case 5: /* rotate on non-specific EOI */ {
        /* The highest-priority level in service is the one being ended,
         * whatever the masks say. */
        int r = top_rank(c, c->isr);
        if (r < 8)
            eoi(p, idx, rank_to_pin(c, r), 0, (val >> 5) == 5);
        break;
    }
    case 3: /* specific EOI */ eoi(p, idx, level, 1, 0); break;
    case 7: /* rotate on specific EOI */ eoi(p, idx, level, 1, 1); break;
    case 6: /* set priority: level becomes the lowest */ c->priority_add = (uint8_t)((level + 1) & 7); break;
    case 4: /* set rotate in AEOI */ c->rotate_on_aeoi = 1; break;
    case 0: /* clear rotate in AEOI */ c->rotate_on_aeoi = 0; break;
    default: /* 2: no operation */ break;
    }
}

static void write_ocw3(struct vpic_chip *c, uint8_t val)
{
    if (val & OCW3_POLL)
        c->poll = 1;
    if (val & OCW3_RR)
        c->read_isr = val & OCW3_RIS;
    if (val & OCW3_ESMM)
        c->special_mask = (val & OCW3_SMM) ? 1 : 0;
}

static void write_icw1(struct vpic_chip *c, uint8_t val)
{
    /* Edge sense reset: latched edge requests are dropped and a line that
     * is already high needs a new rising edge; level requests follow the
     * line. LTIM is ignored: on a PC the ELCR decides. */
    c->irr &= c->elcr;
    c->isr = 0;
    c->imr = 0;
    c->priority_add = 0;
    c->special_mask = 0;
    c->read_isr = 0;
    c->poll = 0;
    c->rotate_on_aeoi = 0;
    /* ICW4 functions default to zero when no ICW4 follows. */
    c->auto_eoi = 0;
    c->special_fully_nested = 0;
    c->icw4_needed = val & ICW1_IC4;
    c->single = (val & ICW1_SNGL) ? 1 : 0;
    c->init_state = ST_ICW2;
}

static void write_data(struct vpic_chip *c, uint8_t val)
{
    switch (c->init_state) {
    case ST_ICW2:
        c->vector_base = val & 0xf8;
        c->init_state = !c->single ? ST_ICW3 : c->icw4_needed ? ST_ICW4 : ST_READY;
        break;
    case ST_ICW3:
        c->cascade = val;
        c->init_state = c->icw4_needed ? ST_ICW4 : ST_READY;
        break;
    case ST_ICW4:
        /* uPM, BUF and M/S do not matter here: always 8086 mode, and the
         * PC wiring fixes which chip is the master. */
        c->auto_eoi = (val & ICW4_AEOI) ? 1 : 0;
        c->special_fully_nested = (val & ICW4_SFNM) ? 1 : 0;
        c->init_state = ST_READY;
        break;
    default: /* OCW1 */
        c->imr = val;
        c->init_state = ST_READY;
        break;
    }
}

static int chip_index(uint16_t port)
{
    switch (port) {
    case PORT_MASTER_CMD:
    case PORT_MASTER_DATA:
    case PORT_ELCR_MASTER: return 0;
    case PORT_SLAVE_CMD:
    case PORT_SLAVE_DATA:
    case PORT_ELCR_SLAVE: return 1;
    default: return -1;
    }
}

int vpic_port_write(struct vpic *p, uint16_t port, uint8_t val)
{
    int idx = chip_index(port);
    if (idx < 0)
        return -1;
    struct vpic_chip *c = &p->chip[idx];
    uint8_t old_intr = p->intr;

    if (port == PORT_ELCR_MASTER || port == PORT_ELCR_SLAVE) {
        c->elcr = val & c->elcr_mask;
        /* Pins now level-sensed take their request from the line; pins now
         * edge-sensed keep what they latched. */
        c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->line & c->elcr));
    } else if (port == PORT_MASTER_DATA || port == PORT_SLAVE_DATA) {
        write_data(c, val);
    } else if (val & ICW1_INIT) {
        write_icw1(c, val);
    } else if (val & OCW3_SEL) {
        write_ocw3(c, val);
    } else {
        write_ocw2(p, idx, val);
    }
    update(p, old_intr);
    return 0;
}

int vpic_port_read(struct vpic *p, uint16_t port, uint8_t *val)
{
    int idx = chip_index(port);
    if (idx < 0)
        return -1;
    struct vpic_chip *c = &p->chip[idx];

    if (port == PORT_ELCR_MASTER || port == PORT_ELCR_SLAVE)
        *val = c->elcr;
    else if (c->poll)
        /* The datasheet takes the next RD pulse after a poll command as
         * the poll, whichever address line A0 selects. */
        *val = chip_poll(p, idx);
    else if (port == PORT_MASTER_DATA || port == PORT_SLAVE_DATA)
        *val = c->imr;
    else
        *val = c->read_isr ? c->isr : c->irr;
    return 0;
}
