/* libFuzzer target: the virtual IOAPIC (irq/vioapic.c) under any sequence of
 * register accesses, line changes and EOIs, against a fake LAPIC side that
 * checks each message it receives. Invariants end the run with a trap.
 *
 * Input: byte 0 picks the host (full, NULL, no callbacks) and whether it may
 * refuse; then operations, each an opcode byte and its operands. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../irq/vioapic.h"

#define CHECK(x)              \
    do {                      \
        if (!(x))             \
            __builtin_trap(); \
    } while (0)

enum ctx_kind { IN_NONE, IN_SET_IRQ, IN_EOI, IN_WRITE };

/* The fake LAPIC side and what the fuzzer knows about the call in flight. */
struct fake {
    struct vioapic *io;
    int refuse;       /* refuse messages now */
    int ever_refused; /* some message was refused since init */
    int accepted;     /* messages accepted */
    int calls;        /* deliver calls */
    int kicks;
    int traced_pin; /* pin named by the last TRACE_IOAPIC_DELIVER */
    enum ctx_kind in;
    unsigned in_pin;  /* for IN_SET_IRQ */
    int in_was;       /* line bit of in_pin before the call */
    uint32_t sent_ok; /* pins whose message was accepted during this op */
    uint32_t owed;    /* level pins with an accepted message not yet EOIed */
};

static struct fake fk;

static int fake_deliver(void *ctx, uint8_t vector, uint8_t mode, uint8_t dest, uint8_t logical, uint8_t level)
{
    CHECK(ctx == &fk);
    const struct vioapic *io = fk.io;
    int pin = fk.traced_pin;
    CHECK(pin >= 0 && pin < VIOAPIC_PINS);
    fk.traced_pin = -1; /* one trace per message */
    uint64_t e = io->redtbl[pin];

    /* The message is the entry of the pin that sends it. */
    CHECK(vector == (uint8_t)(e & IOREDTBL_VECTOR));
    CHECK(mode == (uint8_t)((e >> IOREDTBL_DELMODE_SHIFT) & 7));
    CHECK(dest == (uint8_t)(e >> IOREDTBL_DEST_SHIFT));
    CHECK(logical == ((e & IOREDTBL_DEST_LOGICAL) ? 1 : 0));
    CHECK(level == ((e & IOREDTBL_LEVEL) ? 1 : 0));
    /* A masked pin never sends; a sending pin is asserted. */
    CHECK(!(e & IOREDTBL_MASKED));
    CHECK((io->line >> pin) & 1);
    if (e & IOREDTBL_LEVEL) {
        /* Nothing outstanding from this pin. */
        CHECK(!(e & IOREDTBL_REMOTE_IRR));
    } else {
        /* Edge messages come only from a rising edge of that pin. */
        CHECK(fk.in == IN_SET_IRQ && (unsigned)pin == fk.in_pin && !fk.in_was);
    }
    fk.calls++;
    if (fk.refuse) {
        fk.ever_refused = 1;
        return 0;
    }
    fk.accepted++;
    fk.sent_ok |= 1u << pin;
    if (e & IOREDTBL_LEVEL)
        fk.owed |= 1u << pin;
    return 1;
}

static void fake_kick(void *ctx)
{
    CHECK(ctx == &fk);
    fk.kicks++;
}

static void fake_trace(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    CHECK(ctx == &fk);
    (void)c;
    switch (ev) {
    case TRACE_IOAPIC_DELIVER:
        CHECK(a < VIOAPIC_PINS);
        CHECK(b == (fk.io->redtbl[a] & IOREDTBL_VECTOR));
        fk.traced_pin = (int)a;
        break;
    case TRACE_IOAPIC_SET_IRQ: CHECK(fk.in == IN_SET_IRQ && a == fk.in_pin && b <= 1 && c <= 1); break;
    case TRACE_IOAPIC_EOI:
        CHECK(b < VIOAPIC_PINS || b == 0xff);
        CHECK(c <= 1);
        break;
    default: CHECK(0); /* the IOAPIC traces nothing else */
    }
}

static const struct irq_host full_host = {
    .ctx = &fk, .kick = fake_kick, .deliver = fake_deliver, .trace = fake_trace
};
static const struct irq_host empty_host = { .ctx = &fk };

/* State that holds after every operation. */
static void check_state(const struct vioapic *io, int live_host)
{
    CHECK((io->line >> VIOAPIC_PINS) == 0);
    CHECK(io->ioregsel <= 0xff);
    CHECK(io->id <= 0xf && io->arb_id == io->id);
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
        uint64_t e = io->redtbl[pin];
        CHECK((e & 0x00fffffffffe0000ull) == 0); /* reserved 55:17 */
        CHECK(!(e & IOREDTBL_DELIVS));           /* synchronous delivery */
        if (!(e & IOREDTBL_LEVEL))
            CHECK(!(e & IOREDTBL_REMOTE_IRR));
        /* Remote IRR is set only by an accepted message, and stays set
         * until an EOI or a switch to edge. */
        if (e & IOREDTBL_REMOTE_IRR)
            CHECK(fk.owed & (1u << pin));
        else
            fk.owed &= ~(1u << pin);
        /* With a LAPIC side that never refused, no asserted, unmasked level
         * pin is left without its message outstanding. */
        if (live_host && !fk.ever_refused && (e & IOREDTBL_LEVEL) && !(e & IOREDTBL_MASKED) &&
            ((io->line >> pin) & 1))
            CHECK(e & IOREDTBL_REMOTE_IRR);
    }
    CHECK(fk.kicks == fk.accepted);
    CHECK(fk.traced_pin == -1 || !live_host);
}

static uint32_t rd_reg(struct vioapic *io, uint32_t index)
{
    uint32_t sel = io->ioregsel;
    vioapic_mmio_write(io, 0x00, index);
    uint32_t v = vioapic_mmio_read(io, 0x10);
    vioapic_mmio_write(io, 0x00, sel);
    return v;
}

/* Reads have no side effects (the hypervisor's byte-store merge relies on
 * it), and every readable register shows only its defined bits. */
static void check_reads(struct vioapic *io)
{
    struct vioapic before;
    memcpy(&before, io, sizeof(before));
    CHECK(vioapic_mmio_read(io, 0x00) == io->ioregsel);
    CHECK(vioapic_mmio_read(io, 0x40) == 0);
    CHECK(rd_reg(io, 0x01) == 0x00170020);
    uint32_t id = rd_reg(io, 0x00);
    CHECK((id & ~0x0f000000u) == 0);
    CHECK(rd_reg(io, 0x02) == id);
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
        uint32_t lo = rd_reg(io, 0x10 + 2 * pin), hi = rd_reg(io, 0x11 + 2 * pin);
        CHECK((lo & 0xfffe1000u) == 0);
        CHECK((hi & 0x00ffffffu) == 0);
        CHECK((((uint64_t)hi << 32) | lo) == io->redtbl[pin]);
    }
    CHECK(memcmp(&before, io, sizeof(before)) == 0);
}

struct input {
    const uint8_t *p;
    size_t n;
};

static uint8_t u8(struct input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint32_t u32(struct input *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)u8(in) << (8 * i);
    return v;
}

/* A write through the window lands exactly: the register shows the written
 * value's defined bits, read-only bits keep their meaning, nothing else
 * changes. */
static void window_write(struct vioapic *io, uint32_t val)
{
    struct vioapic before;
    memcpy(&before, io, sizeof(before));
    uint32_t idx = io->ioregsel;
    int calls = fk.calls;
    fk.in = IN_WRITE;
    vioapic_mmio_write(io, 0x10, val);
    fk.in = IN_NONE;
    CHECK(fk.calls - calls <= 1); /* at most the entry written sends */
    CHECK(io->line == before.line && io->ioregsel == before.ioregsel);
    if (idx == 0x00) {
        CHECK(io->id == ((val >> 24) & 0xf));
        CHECK(memcmp(io->redtbl, before.redtbl, sizeof(before.redtbl)) == 0);
        return;
    }
    CHECK(io->id == before.id);
    if (idx < 0x10 || idx >= 0x10 + 2 * VIOAPIC_PINS) {
        CHECK(memcmp(io, &before, sizeof(before)) == 0);
        CHECK(fk.calls == calls);
        return;
    }
    unsigned pin = (idx - 0x10) / 2;
    uint64_t old = before.redtbl[pin], e = io->redtbl[pin];
    for (unsigned p = 0; p < VIOAPIC_PINS; p++)
        if (p != pin)
            CHECK(io->redtbl[p] == before.redtbl[p]);
    if (idx & 1) {
        CHECK(e == ((old & 0xffffffffull) | ((uint64_t)(val & 0xff000000u) << 32)));
        CHECK(fk.calls == calls);
        return;
    }
    CHECK((e >> 32) == (old >> 32));
    CHECK((e & ~IOREDTBL_REMOTE_IRR & 0xffffffffull) == (val & 0x1afffu));
    if (!(val & IOREDTBL_LEVEL))
        CHECK(!(e & IOREDTBL_REMOTE_IRR) && fk.calls == calls);
    else if (old & IOREDTBL_REMOTE_IRR)
        CHECK((e & IOREDTBL_REMOTE_IRR) && fk.calls == calls);
}

/* After an EOI of vector, a matching level pin holds remote IRR only if it
 * was sent again during that EOI. */
static void check_after_eoi(const struct vioapic *io, uint8_t vector)
{
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
        uint64_t e = io->redtbl[pin];
        if ((e & IOREDTBL_LEVEL) && (uint8_t)e == vector && (e & IOREDTBL_REMOTE_IRR))
            CHECK(fk.sent_ok & (1u << pin));
    }
}

static const uint64_t other_off[8] = { 0x04, 0x08, 0x0c, 0x14, 0x20, 0x44, 0xffc, 0x1000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    struct vioapic io;
    uint8_t cfg = u8(&in);
    const struct irq_host *host = (cfg & 3) == 2 ? NULL : (cfg & 3) == 3 ? &empty_host : &full_host;
    int live = host == &full_host;
    int may_refuse = (cfg & 4) != 0;

    memset(&fk, 0, sizeof(fk));
    fk.io = &io;
    fk.traced_pin = -1;
    vioapic_init(&io, VIOAPIC_DEFAULT_BASE, host);
    check_state(&io, live);
    check_reads(&io);

    while (in.n) {
        uint8_t op = u8(&in);
        int accepted = fk.accepted, calls = fk.calls;
        fk.sent_ok = 0;
        switch (op & 7) {
        case 0: { /* IOREGSEL */
            uint32_t v = u32(&in);
            vioapic_mmio_write(&io, 0x00, v);
            CHECK(vioapic_mmio_read(&io, 0x00) == (v & 0xff));
            break;
        }
        case 1: /* IOWIN at the current select */ window_write(&io, u32(&in)); break;
        case 2: { /* select and write in one op, index biased to the table */
            uint8_t idx = u8(&in);
            if (op & 0x80)
                idx = (uint8_t)(0x10 + idx % (2 * VIOAPIC_PINS));
            vioapic_mmio_write(&io, 0x00, idx);
            window_write(&io, u32(&in));
            break;
        }
        case 3: { /* EOI register */
            uint32_t v = u32(&in);
            fk.in = IN_EOI;
            vioapic_mmio_write(&io, 0x40, v);
            CHECK(fk.calls - calls <= VIOAPIC_PINS);
            check_after_eoi(&io, (uint8_t)v);
            break;
        }
        case 4: { /* any other offset changes nothing */
            struct vioapic before;
            memcpy(&before, &io, sizeof(before));
            uint64_t off = (op & 0x80) ? other_off[(op >> 3) & 7] : (uint64_t)u8(&in);
            uint32_t v = u32(&in);
            if (off != 0x00 && off != 0x10 && off != 0x40) {
                vioapic_mmio_write(&io, off, v);
                CHECK(vioapic_mmio_read(&io, off) == 0);
                CHECK(memcmp(&before, &io, sizeof(before)) == 0);
                CHECK(fk.calls == calls);
            }
            break;
        }
        case 5: { /* line change on pins 0-30 */
            unsigned pin = (unsigned)(op >> 3) % 31;
            int level = u8(&in) & 1;
            fk.in = IN_SET_IRQ;
            fk.in_pin = pin;
            fk.in_was = pin < VIOAPIC_PINS ? (int)((io.line >> pin) & 1) : 0;
            uint32_t line = io.line;
            int r = vioapic_set_irq(&io, pin, level);
            CHECK(r == 0 || r == 1);
            CHECK(fk.accepted - accepted == r); /* returns 1 iff accepted */
            CHECK(fk.calls - calls <= 1);
            if (pin >= VIOAPIC_PINS) {
                CHECK(r == 0 && io.line == line);
            } else {
                int pol = (io.redtbl[pin] & IOREDTBL_POLARITY_LOW) ? 1 : 0;
                CHECK((int)((io.line >> pin) & 1) == (level ^ pol));
                CHECK((io.line & ~(1u << pin)) == (line & ~(1u << pin)));
            }
            break;
        }
        case 6: { /* LAPIC EOI broadcast */
            uint8_t v = u8(&in);
            fk.in = IN_EOI;
            vioapic_eoi(&io, v);
            CHECK(fk.calls - calls <= VIOAPIC_PINS);
            check_after_eoi(&io, v);
            break;
        }
        case 7: /* the LAPIC side starts or stops refusing */
            if (may_refuse)
                fk.refuse = !fk.refuse;
            check_reads(&io);
            break;
        }
        fk.in = IN_NONE;
        if (!live)
            CHECK(fk.calls == 0 && fk.kicks == 0);
        check_state(&io, live);
    }
    check_reads(&io);
    return 0;
}
