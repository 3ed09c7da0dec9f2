#include "irq.h"

#include <string.h>

static void pit_irq0(void *ctx, int level)
{
    struct irq_chipset *c = ctx;
    irq_set(c, IRQ_SOURCE_PIT, 0, level);
}

void irq_chipset_init(struct irq_chipset *c, const struct irq_host *host, uint64_t tsc_hz,
                      uint64_t ioapic_base)
{
    memset(c, 0, sizeof(*c));
    c->host = host;
    vpic_init(&c->pic, host);
    vioapic_init(&c->ioapic, ioapic_base, host);
    vpit_init(&c->pit, tsc_hz, host, pit_irq0, c);
    c->sources = 1u << IRQ_SOURCE_PIT;
    c->legacy_sources = 1u << IRQ_SOURCE_PIT;

    for (unsigned gsi = 0; gsi < 16; gsi++) {
        if (gsi == 2)
            continue; /* the cascade: IOAPIC pin 2 belongs to IRQ 0 */
        c->routes[gsi][0] = (struct irq_route){ .kind = IRQ_ROUTE_PIC, .pin = (uint8_t)gsi };
        c->routes[gsi][1] = (struct irq_route){ .kind = IRQ_ROUTE_IOAPIC,
                                                .pin = (uint8_t)(gsi == 0 ? 2 : gsi) };
        c->nroutes[gsi] = 2;
    }
    for (unsigned gsi = 16; gsi < IRQ_NR_GSI; gsi++) {
        c->routes[gsi][0] = (struct irq_route){ .kind = IRQ_ROUTE_IOAPIC, .pin = (uint8_t)gsi };
        c->nroutes[gsi] = 1;
    }
}

int irq_source_alloc(struct irq_chipset *c)
{
    for (int s = 0; s < IRQ_MAX_SOURCES; s++) {
        if (!(c->sources & (1u << s))) {
            c->sources |= 1u << s;
            return s;
        }
    }
    return -1;
}

void irq_source_free(struct irq_chipset *c, int source)
{
    if (source < 0 || source >= IRQ_MAX_SOURCES)
        return;
    for (unsigned gsi = 0; gsi < IRQ_NR_GSI; gsi++)
        c->held[gsi] &= ~(1u << source);
    c->muted &= ~(1u << source);
    /* Drop whatever the source still asserts. */
    for (unsigned gsi = 0; gsi < IRQ_NR_GSI; gsi++)
        if (c->line[gsi] & (1u << source))
            irq_set(c, source, gsi, 0);
    c->sources &= ~(1u << source);
}

int irq_set_routes(struct irq_chipset *c, unsigned gsi, const struct irq_route *r, unsigned n)
{
    if (gsi >= IRQ_NR_GSI || n > IRQ_MAX_ROUTES)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        if (r[i].kind == IRQ_ROUTE_PIC && r[i].pin >= 16)
            return -1;
        if (r[i].kind == IRQ_ROUTE_IOAPIC && r[i].pin >= VIOAPIC_PINS)
            return -1;
        if (r[i].kind < IRQ_ROUTE_PIC || r[i].kind > IRQ_ROUTE_MSI)
            return -1;
    }
    memcpy(c->routes[gsi], r, n * sizeof(*r));
    c->nroutes[gsi] = (uint8_t)n;
    return 0;
}

void irq_pic_output_changed(struct irq_chipset *c)
{
    uint8_t intr = (uint8_t)vpic_has_interrupt(&c->pic);
    if (intr != c->pic_intr) {
        c->pic_intr = intr;
        vioapic_set_irq(&c->ioapic, 0, intr);
    }
}

static int pic_pin_masked(const struct vpic *p, unsigned pin)
{
    const struct vpic_chip *m = &p->chip[0];
    if (pin < 8)
        return (m->imr >> pin) & 1;
    return ((p->chip[1].imr >> (pin - 8)) & 1) || ((m->imr >> 2) & 1);
}

int irq_gsi_unmasked(const struct irq_chipset *c, unsigned gsi)
{
    if (gsi >= IRQ_NR_GSI)
        return 0;
    for (unsigned i = 0; i < c->nroutes[gsi]; i++) {
        const struct irq_route *r = &c->routes[gsi][i];
        if (r->kind == IRQ_ROUTE_MSI || (r->kind == IRQ_ROUTE_PIC && !pic_pin_masked(&c->pic, r->pin)) ||
            (r->kind == IRQ_ROUTE_IOAPIC && !(c->ioapic.redtbl[r->pin] & IOREDTBL_MASKED)))
            return 1;
    }
    return 0;
}

/* An MSI: address 0xFEE0_0000 | dest << 12 | dest-mode << 2; data: vector,
 * delivery mode in bits 10:8, trigger in bit 15. Edge messages only fire on
 * assertion. */
static int deliver_msi(struct irq_chipset *c, const struct irq_route *r)
{
    const struct irq_host *h = c->host;
    if (!h || !h->deliver || (r->msi_addr & 0xfff00000u) != 0xfee00000u)
        return 0;
    return h->deliver(h->ctx, (uint8_t)r->msi_data, (uint8_t)((r->msi_data >> 8) & 7),
                      (uint8_t)(r->msi_addr >> 12), (uint8_t)((r->msi_addr >> 2) & 1),
                      (uint8_t)((r->msi_data >> 15) & 1));
}

enum irq_result irq_set(struct irq_chipset *c, int source, unsigned gsi, int level)
{
    if (source < 0 || source >= IRQ_MAX_SOURCES || !(c->sources & (1u << source)) || gsi >= IRQ_NR_GSI)
        return IRQ_ERROR;

    irq_host_trace(c->host, TRACE_IRQ_SET, (uint32_t)source, gsi, level ? 1 : 0);
    if (c->muted & (1u << source)) {
        if (level)
            c->held[gsi] |= 1u << source;
        else
            c->held[gsi] &= ~(1u << source);
        return level ? IRQ_MASKED : IRQ_COALESCED;
    }
    if (level)
        irq_host_source(c->host, gsi);
    uint32_t before = c->line[gsi];
    if (level)
        c->line[gsi] |= 1u << source;
    else
        c->line[gsi] &= ~(1u << source);
    int was = before != 0, now = c->line[gsi] != 0;
    if (was == now)
        return IRQ_COALESCED; /* another source already holds the line, or no change */

    int delivered = 0, unmasked = irq_gsi_unmasked(c, gsi);
    for (unsigned i = 0; i < c->nroutes[gsi]; i++) {
        const struct irq_route *r = &c->routes[gsi][i];
        switch (r->kind) {
        case IRQ_ROUTE_PIC:
            if (vpic_set_irq(&c->pic, r->pin, now) && !pic_pin_masked(&c->pic, r->pin))
                delivered = 1;
            irq_pic_output_changed(c);
            break;
        case IRQ_ROUTE_IOAPIC:
            /* The vIOAPIC takes the electrical level (its polarity bit
             * decides what is asserted). */
            delivered |= vioapic_set_irq(&c->ioapic, r->pin, now ^ (int)((c->active_low >> gsi) & 1));
            break;
        case IRQ_ROUTE_MSI:
            if (now)
                delivered |= deliver_msi(c, r);
            break;
        }
    }
    if (!now)
        return IRQ_COALESCED;
    if (delivered)
        return IRQ_DELIVERED;
    return unmasked ? IRQ_COALESCED : IRQ_MASKED;
}

void irq_sources_mute(struct irq_chipset *c, uint32_t sources, int mute)
{
    sources &= c->sources;
    for (int s = 0; s < IRQ_MAX_SOURCES; s++) {
        uint32_t bit = 1u << s;
        if (!(sources & bit) || !(c->muted & bit) == !mute)
            continue;
        for (unsigned gsi = 0; gsi < IRQ_NR_GSI; gsi++) {
            if (mute && (c->line[gsi] & bit)) {
                irq_set(c, s, gsi, 0);
                c->held[gsi] |= bit;
            }
        }
        if (mute) {
            c->muted |= bit;
            continue;
        }
        c->muted &= ~bit;
        for (unsigned gsi = 0; gsi < IRQ_NR_GSI; gsi++) {
            if (c->held[gsi] & bit) {
                c->held[gsi] &= ~bit;
                irq_set(c, s, gsi, 1);
            }
        }
    }
}

enum irq_result irq_msi(struct irq_chipset *c, uint64_t addr, uint32_t data)
{
    struct irq_route r = { .kind = IRQ_ROUTE_MSI, .msi_addr = (uint32_t)addr, .msi_data = data };
    int delivered = (addr >> 32) == 0 && deliver_msi(c, &r);
    irq_host_trace(c->host, TRACE_MSI, (uint32_t)addr, data, (uint32_t)delivered);
    return delivered ? IRQ_DELIVERED : IRQ_MASKED;
}

const char *irq_result_name(enum irq_result r)
{
    switch (r) {
    case IRQ_ERROR: return "error";
    case IRQ_MASKED: return "masked";
    case IRQ_COALESCED: return "coalesced";
    case IRQ_DELIVERED: return "delivered";
    }
    return "?";
}
