/* Virtual 82093AA IOAPIC (24 pins) with the EOI register of version 0x20.
 *
 * The model delivers synchronously: a message goes to host->deliver at the
 * moment the pin's condition is met, so the delivery-status bit (12) is
 * never seen set. Arbitration-ID rotation on the APIC bus is not modelled:
 * there is no APIC bus, so the arbitration ID is the value loaded by the
 * last ID write (82093AA 3.2.3). host->deliver must not call back into this
 * IOAPIC (the vLAPIC queues what it accepts). */
#include "vioapic.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define IOAPIC_OFF_REGSEL 0x00
#define IOAPIC_OFF_WIN    0x10
#define IOAPIC_OFF_EOI    0x40

#define IOAPIC_REG_ID      0x00
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_ARB     0x02
#define IOAPIC_REG_REDTBL  0x10

#define IOAPIC_ID_MASK  0x0f000000u /* bits 27:24 of ID and arbitration */
#define IOAPIC_ID_SHIFT 24

/* Low-dword bits the guest may write: vector, delivery mode, destination
 * mode, polarity, trigger mode, mask. Delivery status and remote IRR are
 * read-only; bits 31:17 are reserved. */
#define REDTBL_LO_WRITABLE                                                                                \
    (IOREDTBL_VECTOR | (7ull << IOREDTBL_DELMODE_SHIFT) | IOREDTBL_DEST_LOGICAL | IOREDTBL_POLARITY_LOW | \
     IOREDTBL_LEVEL | IOREDTBL_MASKED)
#define REDTBL_RO          (IOREDTBL_DELIVS | IOREDTBL_REMOTE_IRR)
/* High dword: only the destination (63:56); 55:32 are reserved. */
#define REDTBL_HI_WRITABLE (0xffull << IOREDTBL_DEST_SHIFT)

void vioapic_init(struct vioapic *io, uint64_t base, const struct irq_host *host)
{
    memset(io, 0, sizeof(*io));
    io->base = base;
    io->host = host;
    /* Reset state (82093AA 3.2.4): every entry masked, everything else 0,
     * so nothing is delivered before the guest programs an entry. */
    for (unsigned i = 0; i < VIOAPIC_PINS; i++)
        io->redtbl[i] = IOREDTBL_MASKED;
}

static int pin_asserted(const struct vioapic *io, unsigned pin) { return (int)((io->line >> pin) & 1u); }

/* Sends pin's message to the LAPIC side. Returns 1 if it was accepted. A
 * missing host or deliver callback is a LAPIC side that accepts nothing. */
static int send_message(struct vioapic *io, unsigned pin)
{
    uint64_t e = io->redtbl[pin];
    uint8_t vector = (uint8_t)(e & IOREDTBL_VECTOR);
    uint8_t mode = (uint8_t)((e >> IOREDTBL_DELMODE_SHIFT) & 7u);
    const struct irq_host *h = io->host;

    irq_host_trace(h, TRACE_IOAPIC_DELIVER, pin, vector, mode);
    if (!h || !h->deliver)
        return 0;
    int ok = h->deliver(h->ctx, vector, mode, (uint8_t)(e >> IOREDTBL_DEST_SHIFT),
                        (e & IOREDTBL_DEST_LOGICAL) ? 1 : 0, (e & IOREDTBL_LEVEL) ? 1 : 0);
    if (!ok)
        return 0;
    if (h->kick)
        h->kick(h->ctx);
    return 1;
}

/* A level-triggered pin sends while its line is asserted, it is unmasked
 * and no earlier message is still outstanding (remote IRR). Remote IRR is
 * set only when the LAPIC side accepted, so a refused message leaves the
 * pin able to send again at the next opportunity. */
static int service_level(struct vioapic *io, unsigned pin)
{
    uint64_t e = io->redtbl[pin];
    if (!(e & IOREDTBL_LEVEL) || (e & (IOREDTBL_MASKED | IOREDTBL_REMOTE_IRR)) || !pin_asserted(io, pin))
        return 0;
    if (!send_message(io, pin))
        return 0;
    io->redtbl[pin] |= IOREDTBL_REMOTE_IRR;
    return 1;
}

int vioapic_set_irq(struct vioapic *io, unsigned pin, int level)
{
    if (pin >= VIOAPIC_PINS)
        return 0;

    uint64_t e = io->redtbl[pin];
    /* The asserted state is the electrical level seen through polarity. */
    int asserted = (level != 0) ^ ((e & IOREDTBL_POLARITY_LOW) ? 1 : 0);
    int was = pin_asserted(io, pin);
    uint32_t bit = 1u << pin;

    if (asserted)
        io->line |= bit;
    else
        io->line &= ~bit;

    int sent = 0;
    if (e & IOREDTBL_LEVEL)
        sent = service_level(io, pin);
    else if (asserted && !was && !(e & IOREDTBL_MASKED))
        sent = send_message(io, pin); /* an edge while masked is lost */

    irq_host_trace(io->host, TRACE_IOAPIC_SET_IRQ, pin, level ? 1 : 0, (uint32_t)sent);
    return sent;
}

void vioapic_eoi(struct vioapic *io, uint8_t vector)
{
    uint32_t first = 0xff;
    int redelivered = 0;

    /* Every matching pin is released, not only the first: two pins may
     * share a vector, and each waits for this EOI. */
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
        uint64_t e = io->redtbl[pin];
        if (!(e & IOREDTBL_LEVEL) || !(e & IOREDTBL_REMOTE_IRR) || (uint8_t)(e & IOREDTBL_VECTOR) != vector)
            continue;
        if (first == 0xff)
            first = pin;
        io->redtbl[pin] &= ~IOREDTBL_REMOTE_IRR;
        /* A level source still holding its line gets served again. */
        redelivered |= service_level(io, pin);
    }
    irq_host_trace(io->host, TRACE_IOAPIC_EOI, vector, first, (uint32_t)redelivered);
}

static uint32_t read_indirect(const struct vioapic *io, uint32_t index)
{
    switch (index) {
    case IOAPIC_REG_ID: return ((uint32_t)io->id << IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
    case IOAPIC_REG_VERSION: return ((uint32_t)(VIOAPIC_PINS - 1) << 16) | VIOAPIC_VERSION;
    case IOAPIC_REG_ARB: return ((uint32_t)io->arb_id << IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
    default: break;
    }
    if (index >= IOAPIC_REG_REDTBL && index < IOAPIC_REG_REDTBL + 2 * VIOAPIC_PINS) {
        uint64_t e = io->redtbl[(index - IOAPIC_REG_REDTBL) / 2];
        return (index & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0;
}

static void write_redtbl(struct vioapic *io, unsigned pin, int high, uint32_t val)
{
    uint64_t old = io->redtbl[pin];

    if (high) {
        io->redtbl[pin] = (old & ~REDTBL_HI_WRITABLE) | (((uint64_t)val << 32) & REDTBL_HI_WRITABLE);
        return; /* the destination does not change whether the pin may send */
    }

    /* A polarity change does not re-derive the stored asserted state: the
     * new sense applies from the next vioapic_set_irq, so reprogramming an
     * idle pin never fabricates an assertion or an edge. */
    uint64_t e = (old & (REDTBL_RO | REDTBL_HI_WRITABLE)) | ((uint64_t)val & REDTBL_LO_WRITABLE);
    /* Remote IRR has no meaning for an edge pin; software clears a stuck
     * one by switching the pin to edge and back (Linux does this). */
    if (!(e & IOREDTBL_LEVEL))
        e &= ~IOREDTBL_REMOTE_IRR;
    io->redtbl[pin] = e;

    /* An asserted level pin that just became deliverable (unmasked, or
     * switched to level) sends now: the source will not assert again. An
     * edge that arrived while the pin was masked stays lost. */
    service_level(io, pin);
}

static void write_indirect(struct vioapic *io, uint32_t index, uint32_t val)
{
    if (index == IOAPIC_REG_ID) {
        /* The arbitration ID is loaded with the same data (82093AA 3.2.1). */
        io->id = (uint8_t)((val & IOAPIC_ID_MASK) >> IOAPIC_ID_SHIFT);
        io->arb_id = io->id;
        return;
    }
    if (index >= IOAPIC_REG_REDTBL && index < IOAPIC_REG_REDTBL + 2 * VIOAPIC_PINS)
        write_redtbl(io, (index - IOAPIC_REG_REDTBL) / 2, (int)(index & 1), val);
    /* Version, arbitration and unimplemented indices ignore writes. */
}

uint32_t vioapic_mmio_read(struct vioapic *io, uint64_t offset)
{
    switch (offset) {
    case IOAPIC_OFF_REGSEL: return io->ioregsel;
    case IOAPIC_OFF_WIN: return read_indirect(io, io->ioregsel);
    default: return 0; /* EOI is write-only; other offsets are unimplemented */
    }
}

void vioapic_mmio_write(struct vioapic *io, uint64_t offset, uint32_t val)
{
    switch (offset) {
    case IOAPIC_OFF_REGSEL:
        io->ioregsel = val & 0xffu; /* bits 31:8 are reserved */
        break;
    case IOAPIC_OFF_WIN: write_indirect(io, io->ioregsel, val); break;
    case IOAPIC_OFF_EOI: vioapic_eoi(io, (uint8_t)(val & 0xffu)); break;
    default: break;
    }
}
