/* Group "pic": the virtual 8259A pair as a guest with its LAPIC disabled
 * sees it. Interrupt sources: the PIT (IRQ 0) and the virtual COM1's
 * THR-empty interrupt (IRQ 4), which stays asserted until IIR is read. */
#include "testos.h"

#define V(irq) (PIC_MASTER_BASE + (irq))

/* IRQ 4 from the virtual UART: THR-empty interrupt on (asserted at once). */

static void reset(void) { legacy_reset(0); }

static int t_init_and_masks(char *why)
{
    reset();
    CHECK(inb(0x21) == 0xff && inb(0xA1) == 0xff, "IMR after init: 0x%x 0x%x", inb(0x21), inb(0xA1));
    outb(0x21, 0xfa);
    CHECK(inb(0x21) == 0xfa, "IMR reads 0x%x after writing 0xfa", inb(0x21));
    CHECK(pic_read_isr(0) == 0 && pic_read_isr(1) == 0, "ISR not clear after init");
    return 0;
}

static int t_masked_edge_latches_irr(char *why)
{
    reset();
    pit_fire_oneshot();
    CHECK(pic_read_irr(0) & 1, "IRR 0x%x: the masked IRQ 0 edge was not latched", pic_read_irr(0));
    spin_irq(V(0), 1, ms_ticks(QUIET_MS)); /* the latched request, IF=1 */
    CHECK(irqlog.count[V(0)] == 0, "a masked IRQ was delivered");
    return 0;
}

static volatile uint8_t isr_in_handler;
static void hook_read_isr(uint32_t v)
{
    (void)v;
    isr_in_handler = pic_read_isr(0);
}

static int t_delivery_isr_and_eoi(char *why)
{
    reset();
    pit_fire_oneshot();
    irq_hook[V(0)] = hook_read_isr;
    outb(0x21, 0xfe);
    CHECK(wait_irq(V(0), 1, ms_ticks(20)), "IRQ 0 not delivered at vector 0x%x", V(0));
    CHECK(isr_in_handler == 0x01, "ISR in the handler 0x%x, expected 0x01", isr_in_handler);
    CHECK(pic_read_isr(0) == 0x01, "ISR cleared without an EOI");
    outb(0x20, 0x20);
    CHECK(pic_read_isr(0) == 0, "ISR 0x%x after a non-specific EOI", pic_read_isr(0));
    CHECK(irqlog.count[V(0)] == 1, "delivered %u times", irqlog.count[V(0)]);
    return 0;
}

static int t_auto_eoi(char *why)
{
    reset();
    pic_setup(PIC_MASTER_BASE, PIC_SLAVE_BASE, 1);
    irq_hook[V(0)] = hook_read_isr;
    isr_in_handler = 0xee;
    outb(0x21, 0xfe);
    pit_fire_oneshot();
    CHECK(wait_irq(V(0), 1, ms_ticks(20)), "IRQ 0 not delivered");
    CHECK(isr_in_handler == 0, "ISR 0x%x in the handler with auto-EOI", isr_in_handler);
    return 0;
}

static void hook_eoi(uint32_t v)
{
    (void)v;
    outb(0x20, 0x20);
}
static void hook_ack_uart_eoi(uint32_t v)
{
    (void)v;
    com1_thre_irq_ack();
    outb(0x20, 0x20);
}

/* IRQ 0 and IRQ 4 both pending; delivery order shows the priority. */
static int two_pending_order(uint32_t *first, uint32_t *second)
{
    irqlog_reset();
    pit_fire_oneshot();
    com1_thre_irq_on();
    outb(0x21, 0xee);
    wait_irq(V(4), 1, ms_ticks(50));
    wait_irq(V(0), 1, ms_ticks(50));
    *first = irqlog.order[0];
    *second = irqlog.order[1];
    return irqlog.n;
}

static int t_priority_and_rotation(char *why)
{
    uint32_t a, b;
    reset();
    irq_hook[V(0)] = hook_eoi;
    irq_hook[V(4)] = hook_ack_uart_eoi;
    CHECK(two_pending_order(&a, &b) == 2, "%u interrupts instead of 2", irqlog.n);
    CHECK(a == V(0) && b == V(4), "order 0x%x, 0x%x: IRQ 0 should come first", a, b);
    outb(0x20, 0xC0); /* OCW2 set priority: IRQ 0 lowest */
    com1_thre_irq_off();
    CHECK(two_pending_order(&a, &b) == 2, "%u interrupts instead of 2 after rotation", irqlog.n);
    CHECK(a == V(4) && b == V(0), "order 0x%x, 0x%x: IRQ 4 should come first now", a, b);
    outb(0x20, 0xC7); /* back to IRQ 7 lowest */
    return 0;
}

static void hook_ack_uart(uint32_t v)
{
    (void)v;
    com1_thre_irq_ack();
}

static int t_specific_eoi(char *why)
{
    reset();
    irq_hook[V(4)] = hook_ack_uart;
    com1_thre_irq_on();
    outb(0x21, 0xef);
    CHECK(wait_irq(V(4), 1, ms_ticks(20)), "IRQ 4 not delivered");
    CHECK(pic_read_isr(0) == 0x10, "ISR 0x%x, expected 0x10", pic_read_isr(0));
    outb(0x20, 0x60); /* specific EOI for level 0: not in service */
    CHECK(pic_read_isr(0) == 0x10, "a specific EOI for IRQ 0 cleared IRQ 4 (ISR 0x%x)", pic_read_isr(0));
    outb(0x20, 0x64);
    CHECK(pic_read_isr(0) == 0, "ISR 0x%x after the specific EOI for IRQ 4", pic_read_isr(0));
    return 0;
}

static volatile int level_eois;
static void hook_level(uint32_t v)
{
    (void)v;
    if (++level_eois >= 3)
        com1_thre_irq_ack(); /* third time: the source lets go */
    outb(0x20, 0x20);
}

static int t_level_redelivery_elcr(char *why)
{
    reset();
    outb(0x4D0, 0x10); /* IRQ 4 level-triggered */
    CHECK(inb(0x4D0) == 0x10, "ELCR reads 0x%x", inb(0x4D0));
    outb(0x4D0, 0x17); /* IRQ 0-2 cannot be level on a PC */
    CHECK(inb(0x4D0) == 0x10, "ELCR bits 0-2 writable (0x%x)", inb(0x4D0));
    level_eois = 0;
    irq_hook[V(4)] = hook_level;
    com1_thre_irq_on();
    outb(0x21, 0xef);
    wait_irq(V(4), 3, ms_ticks(20));
    spin_irq(V(4), 4, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[V(4)] == 3,
          "IRQ 4 delivered %u times, expected 3 (re-delivery while the "
          "line stays high, none after)",
          irqlog.count[V(4)]);
    /* Evidence: the third handler's EOI happened (ISR clear) after its
     * source let go (the level IRR follows the line: clear). */
    CHECK(pic_read_isr(0) == 0, "ISR 0x%x: the third EOI did not happen", pic_read_isr(0));
    CHECK(!pic_irr_bit(4), "IRR 0x%x: the level request did not drop with its line", pic_read_irr(0));
    return 0;
}

static int t_poll_mode(char *why)
{
    reset();
    com1_thre_irq_on();
    outb(0x21, 0xef); /* IF stays 0: nothing is injected */
    outb(0x20, 0x0C); /* OCW3: poll */
    uint8_t p = inb(0x20);
    CHECK(p == 0x84, "poll returned 0x%x, expected 0x84", p);
    CHECK(pic_read_isr(0) == 0x10, "poll did not acknowledge (ISR 0x%x)", pic_read_isr(0));
    com1_thre_irq_ack();
    outb(0x20, 0x20);
    outb(0x20, 0x0C);
    CHECK(inb(0x20) == 0, "poll with nothing pending did not return 0");
    CHECK(irqlog.count[V(4)] == 0, "an interrupt was injected with IF=0");
    return 0;
}

/* The request vanishes between the ExtINT message (through IOAPIC pin 0)
 * and the acknowledge: the 8259 answers with IRQ 7's vector, no ISR bit. */
static int t_spurious_irq7(char *why)
{
    reset();
    outb(0x4D0, 0x10);
    ioapic_route(0, 0x700, 0); /* pin 0: ExtINT, unmasked */
    com1_thre_irq_on();
    outb(0x21, 0xef);    /* INTR high: IOAPIC sends ExtINT */
    com1_thre_irq_ack(); /* the level request disappears */
    sti();
    __asm__ volatile("nop; nop; nop");
    cli();
    ioapic_route(0, 0x10000, 0);
    CHECK(irqlog.count[V(7)] == 1, "spurious IRQ 7 seen %u times", irqlog.count[V(7)]);
    CHECK(irqlog.count[V(4)] == 0, "IRQ 4 delivered although it vanished");
    CHECK(pic_read_isr(0) == 0, "spurious IRQ 7 set ISR 0x%x", pic_read_isr(0));
    return 0;
}

static int t_irr_edge_vs_level(char *why)
{
    reset();
    com1_thre_irq_on();
    CHECK(pic_read_irr(0) == 0x10, "IRR 0x%x with IRQ 4 raised (masked)", pic_read_irr(0));
    com1_thre_irq_ack();
    CHECK(pic_read_irr(0) == 0x10, "IRR 0x%x: an edge request must stay latched", pic_read_irr(0));
    reset();
    outb(0x4D0, 0x10);
    com1_thre_irq_on();
    CHECK(pic_read_irr(0) == 0x10, "IRR 0x%x with a level IRQ 4 raised", pic_read_irr(0));
    com1_thre_irq_ack();
    CHECK(pic_read_irr(0) == 0x00, "IRR 0x%x: a level request follows its line", pic_read_irr(0));
    return 0;
}

static const struct test_case cases[] = {
    { "init sequence and masks", t_init_and_masks },
    { "a masked edge latches in IRR, no delivery", t_masked_edge_latches_irr },
    { "IRQ 0 delivered at the ICW2 vector, ISR until EOI", t_delivery_isr_and_eoi },
    { "auto-EOI leaves ISR clear", t_auto_eoi },
    { "priority order and rotation (set priority)", t_priority_and_rotation },
    { "specific EOI clears only its level", t_specific_eoi },
    { "ELCR level pin re-delivers after EOI while asserted", t_level_redelivery_elcr },
    { "poll command", t_poll_mode },
    { "spurious IRQ 7 when the request vanishes", t_spurious_irq7 },
    { "IRR: edge requests latch, level requests follow the line", t_irr_edge_vs_level },
};

const struct test_group group_pic = { "pic", cases, sizeof(cases) / sizeof(cases[0]) };
