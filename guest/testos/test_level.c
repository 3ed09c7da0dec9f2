/* Group "level": a level-triggered IOAPIC line through the vLAPIC: TMR,
 * remote IRR, the EOI broadcast re-delivering while the line is asserted
 * and stopping once it is not, and its suppression. Source: the virtual
 * COM1's THR-empty interrupt on IRQ 4 (held until IIR is read). */
#include "testos.h"

#define VL         0x58
#define LEVEL      0x8000u
#define REMOTE_IRR 0x4000u

static volatile int eois_left;
static void hook_level(uint32_t v)
{
    (void)v;
    if (--eois_left <= 0)
        com1_thre_irq_ack(); /* the source lets go */
    /* the automatic LAPIC EOI follows: it broadcasts to the IOAPIC */
}

static void setup(void)
{
    legacy_reset(0);
    ioapic_route(4, VL | LEVEL, 0);
}

static int t_delivered_with_tmr(char *why)
{
    setup();
    lapic_auto_eoi = 0;
    com1_thre_irq_on();
    CHECK(wait_irq(VL, 1, ms_ticks(20)), "level vector not delivered");
    CHECK(lapic_read(0x180 + (VL / 32) * 16) & (1u << (VL % 32)), "TMR bit clear for a level vector");
    CHECK(ioapic_read(0x10 + 8) & REMOTE_IRR, "remote IRR clear while in service");
    com1_thre_irq_ack();
    lapic_eoi();
    lapic_auto_eoi = 1;
    CHECK(!(ioapic_read(0x10 + 8) & REMOTE_IRR), "the LAPIC EOI did not clear remote IRR");
    return 0;
}

static int t_redelivery_while_asserted(char *why)
{
    setup();
    eois_left = 3;
    irq_hook[VL] = hook_level;
    com1_thre_irq_on();
    wait_irq(VL, 3, ms_ticks(20));
    spin_irq(VL, 4, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[VL] == 3, "delivered %u times, expected 3 (2 re-deliveries, none after)",
          irqlog.count[VL]);
    /* Evidence: the last EOI reached the IOAPIC (remote IRR clear), so a
     * line still seen as asserted would have been sent again. */
    CHECK(!(ioapic_read(0x10 + 8) & REMOTE_IRR),
          "remote IRR left set: the last EOI never reached the IOAPIC");
    return 0;
}

static int t_deasserted_no_redelivery(char *why)
{
    setup();
    eois_left = 1;
    irq_hook[VL] = hook_level;
    com1_thre_irq_on();
    wait_irq(VL, 1, ms_ticks(20));
    spin_irq(VL, 2, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[VL] == 1, "delivered %u times after the line dropped", irqlog.count[VL]);
    /* Evidence: the EOI reached the IOAPIC (remote IRR clear). */
    CHECK(!(ioapic_read(0x10 + 8) & REMOTE_IRR), "remote IRR left set");
    return 0;
}

static int t_suppressed_broadcast(char *why)
{
    setup();
    lapic_write(0xF0, 0x11FF); /* suppress EOI broadcast */
    com1_thre_irq_on();
    wait_irq(VL, 1, ms_ticks(20)); /* the automatic LAPIC EOI does not reach the IOAPIC */
    /* Evidence: that LAPIC EOI happened (ISR clear); the line stays high
     * (the directed EOI below re-delivers). */
    CHECK(!lapic_in_service(VL), "vector 0x%x still in service: the LAPIC EOI did not happen", VL);
    spin_irq(VL, 2, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[VL] == 1, "delivered %u times with the broadcast suppressed", irqlog.count[VL]);
    CHECK(ioapic_read(0x10 + 8) & REMOTE_IRR, "remote IRR cleared without a broadcast");
    *(volatile uint32_t *)(IOAPIC_BASE + 0x40) = VL; /* directed EOI: line still high */
    CHECK(wait_irq(VL, 2, ms_ticks(20)), "the directed EOI did not re-deliver");
    com1_thre_irq_ack();
    *(volatile uint32_t *)(IOAPIC_BASE + 0x40) = VL;
    lapic_write(0xF0, 0x1FF);
    return 0;
}

static int t_edge_clears_tmr(char *why)
{
    setup();
    ioapic_route(4, VL, 0); /* same vector, edge */
    lapic_auto_eoi = 0;
    com1_thre_irq_on();
    CHECK(wait_irq(VL, 1, ms_ticks(20)), "edge vector not delivered");
    CHECK(!(lapic_read(0x180 + (VL / 32) * 16) & (1u << (VL % 32))), "TMR bit set for an edge vector");
    lapic_eoi();
    lapic_auto_eoi = 1;
    com1_thre_irq_off();
    return 0;
}

static int t_masked_while_pending(char *why)
{
    setup();
    ioapic_route(4, VL | LEVEL | 0x10000u, 0);
    com1_thre_irq_on();
    /* Evidence: the line is up (the masked 8259 latched it). */
    CHECK(pic_irr_bit(4), "IRQ 4 never rose (8259 IRR 0x%x)", pic_read_irr(0));
    spin_irq(VL, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[VL] == 0, "a masked level pin delivered");
    eois_left = 1;
    irq_hook[VL] = hook_level;
    ioapic_route(4, VL | LEVEL, 0); /* unmask: the asserted line is served */
    CHECK(wait_irq(VL, 1, ms_ticks(20)), "unmasking the asserted level pin did not deliver");
    return 0;
}

/* The third time, a new control word drops the PIT's OUT: with IF=1 and
 * the line held, the interrupt would otherwise come back after every EOI
 * forever (as on hardware). */
static void hook_pit(uint32_t v)
{
    if (irqlog.count[v] >= 3)
        outb(0x43, 0x30);
}

static int t_pit_mode0_level(char *why)
{
    /* PIT mode 0 keeps OUT high after terminal count: a level-triggered
     * pin 2 re-delivers after each EOI until the PIT is reprogrammed. */
    legacy_reset(0);
    ioapic_route(2, 0x59 | LEVEL, 0);
    irq_hook[0x59] = hook_pit;
    pit_program(0, 0, 100);
    CHECK(wait_irq(0x59, 3, ms_ticks(20)), "held PIT output delivered only %u times", irqlog.count[0x59]);
    spin_irq(0x59, 4, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x59] == 3, "delivered %u times: still delivered after OUT dropped",
          irqlog.count[0x59]);
    /* Evidence: OUT is low (read-back status) and the last EOI reached the
     * IOAPIC (remote IRR clear), so a held line would have been sent again. */
    CHECK(!pit_out(0), "PIT OUT still high after the new control word");
    CHECK(!(ioapic_read(0x10 + 4) & REMOTE_IRR),
          "remote IRR left set: the last EOI never reached the IOAPIC");
    ioapic_route(2, 0x10000, 0);
    return 0;
}

static int t_ppr_blocks_same_class(char *why)
{
    /* While the level vector is in service (no EOI), a lower vector of the
     * same class waits; after the EOI it arrives. */
    setup();
    lapic_auto_eoi = 0;
    com1_thre_irq_on();
    wait_irq(VL, 1, ms_ticks(20));
    com1_thre_irq_ack();
    lapic_self_ipi(VL - 1);
    spin_irq(VL - 1, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[VL - 1] == 0, "a same-class vector passed the one in service");
    /* Evidence: the IPI did arrive and waits in IRR. */
    CHECK(lapic_in_irr(VL - 1), "vector 0x%x not pending in IRR: the self-IPI never arrived", VL - 1);
    lapic_eoi();
    lapic_auto_eoi = 1;
    spin_irq(VL - 1, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[VL - 1] == 1, "the waiting vector did not follow the EOI");
    return 0;
}

static const struct test_case cases[] = {
    { "level vector: TMR set, remote IRR until the LAPIC EOI", t_delivered_with_tmr },
    { "EOI broadcast re-delivers while the line is asserted", t_redelivery_while_asserted },
    { "no re-delivery once the line dropped", t_deasserted_no_redelivery },
    { "suppressed broadcast; directed EOI through the IOAPIC", t_suppressed_broadcast },
    { "edge delivery clears TMR", t_edge_clears_tmr },
    { "unmasking an asserted level pin delivers", t_masked_while_pending },
    { "PIT mode 0 output held high: level re-delivery", t_pit_mode0_level },
    { "an in-service level vector holds its class", t_ppr_blocks_same_class },
};

const struct test_group group_level = { "level", cases, sizeof(cases) / sizeof(cases[0]) };
