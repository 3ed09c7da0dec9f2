/* Group "trace": one PIT tick through the 8259 (IRQ 0, vector 0x20, ended
 * with a non-specific EOI), with the hypervisor's interrupt trace on; the
 * harness checks the chain of trace lines (trace = text) or of the ring's
 * records between the guest's phase marks 1 (trace = on). */
#include "testos.h"

static void hook_eoi(uint32_t v)
{
    (void)v;
    outb(0x20, 0x20);
}

static int t_one_tick(char *why)
{
    legacy_reset(0);
    irq_hook[PIC_MASTER_BASE] = hook_eoi;
    outb(0x21, 0xfe);
    kprintf("# trace: one tick\n");
    trace_mark(MARK_PHASE_BEGIN, 1);
    pit_program(0, 0, 100);
    CHECK(wait_irq(PIC_MASTER_BASE, 1, tsc_khz() * 20), "the tick did not arrive");
    spin_irq(PIC_MASTER_BASE, 2, ms_ticks(QUIET_MS)); /* IRQ 0 unmasked: a second tick would come */
    outb(0x21, 0xff);
    irq_hook[PIC_MASTER_BASE] = 0;
    trace_mark(MARK_PHASE_END, 1);
    kprintf("# trace: done\n");
    CHECK(irqlog.count[PIC_MASTER_BASE] == 1, "%u ticks", irqlog.count[PIC_MASTER_BASE]);
    return 0;
}

static const struct test_case cases[] = {
    { "one PIT tick through the 8259", t_one_tick },
};

const struct test_group group_trace = { "trace", cases, 1 };
