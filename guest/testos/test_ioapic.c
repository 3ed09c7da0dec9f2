/* Group "ioapic": the virtual IOAPIC at 0xFEC00000 (trapped MMIO, decoded
 * by the hypervisor). The 8259 pair is masked; sources are the PIT (ISA
 * IRQ 0 -> pin 2, the interrupt source override) and the virtual COM1
 * (IRQ 4 -> pin 4). Without a LAPIC, level-triggered interrupts end with a
 * write to the IOAPIC's EOI register (version 0x20). */
#include "testos.h"

#define COM1       0x3F8
#define EOI_REG    (*(volatile uint32_t *)(IOAPIC_BASE + 0x40))
#define MASKED     0x10000u
#define LEVEL      0x8000u
#define REMOTE_IRR 0x4000u

static void reset(void) { legacy_reset(0); }

static int t_id_version_arb(char *why)
{
    reset();
    uint32_t ver = ioapic_read(1);
    CHECK((ver & 0xff) == 0x20, "version 0x%x, expected 0x20", ver & 0xff);
    CHECK(((ver >> 16) & 0xff) == 23, "max redirection entry %u, expected 23", (ver >> 16) & 0xff);
    ioapic_write(0, 0x0f000000u | 0x00ffffffu);
    CHECK(ioapic_read(0) == 0x0f000000u, "ID register reads 0x%x", ioapic_read(0));
    CHECK(ioapic_read(2) == 0x0f000000u, "arbitration ID 0x%x does not follow the ID", ioapic_read(2));
    ioapic_write(1, 0);
    CHECK(ioapic_read(1) == ver, "version register is writable");
    ioapic_write(0, 0);
    *(volatile uint8_t *)IOAPIC_BASE = 0x01; /* a byte store to IOREGSEL */
    CHECK(*(volatile uint32_t *)(IOAPIC_BASE + 0x10) == ver, "IOREGSEL byte store not honoured");
    return 0;
}

static int t_redirection_entry_bits(char *why)
{
    reset();
    ioapic_write(0x10 + 2 * 5, 0xffffffffu);
    uint32_t lo = ioapic_read(0x10 + 2 * 5);
    CHECK((lo & (REMOTE_IRR | 0x1000u)) == 0, "read-only bits set by a write (0x%x)", lo);
    CHECK((lo & 0x1afff) == 0x1afff, "writable bits lost (0x%x)", lo);
    ioapic_write(0x11 + 2 * 5, 0xff000000u);
    CHECK(ioapic_read(0x11 + 2 * 5) == 0xff000000u, "destination 0x%x", ioapic_read(0x11 + 2 * 5));
    ioapic_route(5, MASKED, 0);
    CHECK(ioapic_read(0x10 + 2 * 23) == MASKED, "pin 23 not masked after reset");
    return 0;
}

static int t_edge_irq0_on_pin2(char *why)
{
    reset();
    ioapic_route(2, 0x41, 0); /* vector 0x41, fixed, edge, high */
    pit_fire_oneshot();
    CHECK(wait_irq(0x41, 1, ms_ticks(20)), "PIT IRQ 0 did not arrive through pin 2");
    /* A second delivery, or one through the 8259, would come in the
     * window; the masked 8259 saw the same edge (IRR latched). */
    spin_irq(0x20, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x41] == 1, "delivered %u times", irqlog.count[0x41]);
    CHECK(irqlog.count[0x20] == 0, "the masked 8259 delivered too");
    CHECK(pic_irr_bit(0), "the 8259 did not latch the IRQ 0 edge (IRR 0x%x)", pic_read_irr(0));
    return 0;
}

static int t_masked_pin_silent(char *why)
{
    reset();
    ioapic_route(2, 0x41 | MASKED, 0);
    pit_program(0, 0, 200); /* ~170 us one-shot */
    sti();
    /* Evidence: the edge reached the chipset (the masked 8259 on the same
     * line latched it); then the window, with IF=1 throughout. */
    int fired = wait_until(pic_irr_bit, 0, ms_ticks(20));
    spin_irq(0x41, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x41] == 0, "a masked pin delivered");
    CHECK(fired, "the PIT's IRQ 0 edge was never seen latched in the masked 8259 (IRR 0x%x)",
          pic_read_irr(0));
    ioapic_route(2, 0x41, 0); /* an edge seen while masked is lost */
    CHECK((ioapic_read(0x10 + 4) & (MASKED | 0xff)) == 0x41, "pin 2 reads 0x%x after unmasking",
          ioapic_read(0x10 + 4));
    spin_irq(0x41, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x41] == 0, "a masked edge was delivered after unmasking");
    /* Control route: the same source, now unmasked, delivers - once. */
    pit_program(0, 0, 200);
    CHECK(wait_irq(0x41, 1, ms_ticks(20)), "the unmasked pin did not deliver the next PIT edge");
    spin_irq(0x41, 2, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x41] == 1, "delivered %u times for one edge after unmasking", irqlog.count[0x41]);
    return 0;
}

/* Level tests end interrupts the way a guest with directed EOI does: the
 * LAPIC EOI broadcast is suppressed (SVR bit 12), the handler's LAPIC EOI
 * only clears ISR, and the IOAPIC's EOI register clears remote IRR. */
static void suppress_eoi_broadcast(void) { lapic_write(0xF0, 0x11FF); }

static int t_level_remote_irr_eoi(char *why)
{
    reset();
    suppress_eoi_broadcast();
    ioapic_route(4, 0x44 | LEVEL, 0);
    com1_thre_irq_on();
    CHECK(wait_irq(0x44, 1, ms_ticks(20)), "level IRQ 4 not delivered");
    /* Evidence: the handler's LAPIC EOI happened (the broadcast it would
     * have sent is suppressed) while the line stays high (the IOAPIC EOI
     * below re-delivers). */
    CHECK(!lapic_in_service(0x44), "0x44 still in service: the handler's LAPIC EOI did not happen");
    spin_irq(0x44, 2, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x44] == 1, "re-delivered %u times before EOI", irqlog.count[0x44]);
    CHECK(ioapic_read(0x10 + 8) & REMOTE_IRR, "remote IRR clear while in service");
    EOI_REG = 0x44; /* line still high: delivered again */
    CHECK(wait_irq(0x44, 2, ms_ticks(20)), "EOI with the line asserted did not re-deliver");
    com1_thre_irq_ack(); /* line drops */
    EOI_REG = 0x44;
    spin_irq(0x44, 3, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x44] == 2, "delivered %u times, expected 2", irqlog.count[0x44]);
    /* Evidence: the EOI reached the pin (remote IRR clear). */
    CHECK(!(ioapic_read(0x10 + 8) & REMOTE_IRR), "remote IRR still set after EOI");
    return 0;
}

static int t_unmask_asserted_level(char *why)
{
    reset();
    suppress_eoi_broadcast();
    ioapic_route(4, 0x45 | LEVEL | MASKED, 0);
    com1_thre_irq_on();
    /* Evidence: the line is up (the masked 8259 latched it); the window
     * has IF=1. */
    CHECK(pic_irr_bit(4), "IRQ 4 never rose (8259 IRR 0x%x)", pic_read_irr(0));
    spin_irq(0x45, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x45] == 0, "a masked level pin delivered while its line was asserted");
    ioapic_route(4, 0x45 | LEVEL, 0); /* unmasking an asserted level line delivers */
    CHECK(wait_irq(0x45, 1, ms_ticks(20)), "unmasking an asserted level pin did not deliver");
    com1_thre_irq_off();
    EOI_REG = 0x45;
    return 0;
}

static int t_higher_vector_first(char *why)
{
    reset();
    ioapic_route(2, 0x42, 0);
    ioapic_route(4, 0x52, 0);
    pit_fire_oneshot(); /* both pending with IF=0 */
    com1_thre_irq_on();
    wait_irq(0x42, 1, ms_ticks(20));
    CHECK(irqlog.n == 2, "%u interrupts, expected 2", irqlog.n);
    CHECK(irqlog.order[0] == 0x52 && irqlog.order[1] == 0x42, "order 0x%x, 0x%x: higher vector first",
          irqlog.order[0], irqlog.order[1]);
    return 0;
}

static int t_extint_through_pin0(char *why)
{
    reset();
    pic_setup(0x30, 0x38, 1);
    outb(0x21, 0xfe);          /* PIC IRQ 0 unmasked */
    ioapic_route(0, 0x700, 0); /* pin 0: ExtINT */
    pit_fire_oneshot();
    CHECK(wait_irq(0x30, 1, ms_ticks(20)), "the PIC's vector 0x30 did not arrive");
    spin_irq(0x30, 2, ms_ticks(QUIET_MS)); /* a second copy would come in this window */
    CHECK(irqlog.count[0x30] == 1, "ExtINT delivered %u times (once through INTR, once through pin 0?)",
          irqlog.count[0x30]);
    CHECK(irqlog.n == 1, "%u interrupts for one ExtINT (a second INTA answers the spurious 0x%x)", irqlog.n,
          irqlog.order[1]);
    ioapic_route(0, MASKED, 0);
    return 0;
}

static int t_polarity_low(char *why)
{
    reset();
    suppress_eoi_broadcast();
    /* Active low: the electrically high line is idle, the low line asserts.
     * (The polarity is set while the line is idle: the model applies a new
     * sense from the next line change.) */
    ioapic_route(4, 0x46 | LEVEL | 0x2000u | MASKED, 0);
    com1_thre_irq_on(); /* electrically high: idle */
    ioapic_route(4, 0x46 | LEVEL | 0x2000u, 0);
    /* Evidence: the line is electrically high (the 8259 latched it). */
    CHECK(pic_irr_bit(4), "IRQ 4 never went high (8259 IRR 0x%x)", pic_read_irr(0));
    spin_irq(0x46, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x46] == 0, "active-low pin delivered while its line was high");
    com1_thre_irq_ack(); /* electrically low: asserted */
    CHECK(wait_irq(0x46, 1, ms_ticks(20)), "active-low pin did not deliver when its line went low");
    outb(COM1, '\n'); /* THR empty again: line high, idle */
    EOI_REG = 0x46;
    spin_irq(0x46, 2, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x46] == 1, "delivered %u times after the line went idle", irqlog.count[0x46]);
    /* Evidence: the EOI reached the pin (remote IRR clear). */
    CHECK(!(ioapic_read(0x10 + 8) & REMOTE_IRR), "remote IRR still set after EOI");
    ioapic_route(4, MASKED, 0);
    com1_thre_irq_off();
    return 0;
}

static const struct test_case cases[] = {
    { "ID, version and arbitration registers", t_id_version_arb },
    { "redirection entry: writable and read-only bits", t_redirection_entry_bits },
    { "edge: PIT IRQ 0 arrives through pin 2", t_edge_irq0_on_pin2 },
    { "a masked pin is silent, a masked edge is lost", t_masked_pin_silent },
    { "level: remote IRR, EOI register re-delivers while asserted", t_level_remote_irr_eoi },
    { "unmasking an asserted level pin delivers", t_unmask_asserted_level },
    { "two pending vectors: the higher first", t_higher_vector_first },
    { "ExtINT through pin 0 passes the 8259's vector, once", t_extint_through_pin0 },
    { "active-low polarity inverts the line", t_polarity_low },
};

const struct test_group group_ioapic = { "ioapic", cases, sizeof(cases) / sizeof(cases[0]) };
