/* Group "tour": `make run`'s demo. Each interrupt source once, one
 * readable line each: the source, the GSI the hypervisor saw it raise, the
 * route it took, the vector, the VM exits it cost from arming the source to
 * the guest's handler, and the latency from the source event (irq_set, or
 * the vLAPIC timer expiring) to the handler, in guest TSC ticks. Both come
 * from HC_IRQ_STAMP. With `trace = on` each stop is also a phase in the
 * trace (make trace). The COM1 stop waits for a byte typed into the
 * machine's COM1 (make run sends one when it sees "tour: type a key"). */
#include "testos.h"

#define COM1             0x3F8
#define LEVEL            0x8000u
#define REMOTE_IRR       0x4000u
#define NMI_MODE         (4u << 8)
#define LVT_PERIODIC     (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define VEC_IOAPIC_PIT   0x41
#define VEC_ONESHOT      0x70
#define VEC_PERIODIC     0x71
#define VEC_DEADLINE     0x72
#define VEC_LEVEL        0x58
#define VEC_COM1         0x54
#define VEC_TESTDEV      0x5a
#define TESTDEV_IRQ_PORT 0x2000 /* pc-testdev: port 0x2000 + n drives line n */
#define TESTDEV_GSI      10

/* One stop: the stamp when the source was armed and the one the handler
 * took first. */
static struct irq_stamp armed, at_isr;
static uint32_t marks_armed, marks_isr, isr_tsc;
static volatile int seen;
static unsigned phase;

static void stop_begin(void)
{
    seen = 0;
    trace_mark(MARK_PHASE_BEGIN, ++phase);
    marks_armed = trace_marks_sent;
    irq_stamp(&armed);
}

/* Called first thing by each stop's handler hook. */
static void stop_seen(uint32_t vector)
{
    if (seen++)
        return;
    isr_tsc = (uint32_t)irqlog.last_tsc[vector];
    marks_isr = trace_marks_sent;
    irq_stamp(&at_isr);
}

static int stop_report(char *why, const char *source, uint32_t gsi, const char *route, uint32_t vector)
{
    trace_mark(MARK_PHASE_END, phase);
    CHECK(seen, "%s: the interrupt never reached the guest's handler", source);
    CHECK(at_isr.gsi == gsi, "%s: the last source event the hypervisor saw was GSI %u, expected %u", source,
          at_isr.gsi, gsi);
    /* The stamp at arming does not count its own VMCALL; the handler's
     * does, and the marks the handler sent are the trace's, not the
     * source's. */
    CHECK((at_isr.delivered & 0xff) == vector, "%s: the hypervisor last delivered vector 0x%x, not 0x%x",
          source, at_isr.delivered & 0xff, vector);
    uint32_t how = at_isr.delivered >> 8;
    uint32_t exits = at_isr.exits - armed.exits - 1 - (marks_isr - marks_armed);
    char g[8];
    if (gsi == IRQ_SOURCE_LAPIC_TIMER)
        ksnprintf(g, sizeof(g), "-");
    else
        ksnprintf(g, sizeof(g), "%u", gsi);
    kprintf("# tour: %-22s GSI %-2s  %-50s %-9s vector 0x%02x %4u exits %7u ticks\n", source, g, route,
            how == HC_DELIVERED_VID        ? "VID (RVI)"
            : how == HC_DELIVERED_INJECTED ? "injected"
                                           : "?",
            vector, exits, isr_tsc - at_isr.source_tsc);
    return 0;
}

static void hook_pic(uint32_t v)
{
    stop_seen(v);
    outb(0x20, 0x20);
}
static void hook_seen(uint32_t v) { stop_seen(v); }

static int t_pit_pic(char *why)
{
    kprintf("# tour: %-22s %-7s %-50s %-9s %-11s %-10s %s\n", "source", "GSI", "route", "delivery", "vector",
            "VM exits", "latency (source event -> handler)");
    legacy_reset(0);
    irq_hook[PIC_MASTER_BASE] = hook_pic;
    stop_begin();
    outb(0x21, 0xfe);
    pit_program(0, 0, 200);
    wait_irq(PIC_MASTER_BASE, 1, ms_ticks(20));
    outb(0x21, 0xff);
    return stop_report(why, "vPIT channel 0", 0, "vPIC IR0 -> vLAPIC LINT0 (ExtINT, virtual wire)",
                       PIC_MASTER_BASE);
}

static int t_pit_ioapic(char *why)
{
    legacy_reset(0);
    irq_hook[VEC_IOAPIC_PIT] = hook_seen;
    ioapic_route(2, VEC_IOAPIC_PIT, 0);
    stop_begin();
    pit_program(0, 0, 200);
    wait_irq(VEC_IOAPIC_PIT, 1, ms_ticks(20));
    return stop_report(why, "vPIT channel 0", 0, "vIOAPIC pin 2 (ISA IRQ 0 override) -> vLAPIC",
                       VEC_IOAPIC_PIT);
}

static void timer_off(void)
{
    lapic_write(0x320, 0x10000);
    lapic_write(0x380, 0);
    (void)safe_wrmsr(MSR_TSC_DEADLINE, 0); /* dropped outside TSC-deadline mode */
}

static int lapic_timer_stop(char *why, const char *name, uint32_t lvt, uint32_t count, uint32_t ticks)
{
    uint32_t vector = lvt & 0xff;
    legacy_reset(0);
    irq_hook[vector] = hook_seen;
    lapic_write(0x3E0, 0x0B); /* divide by 1 */
    stop_begin();
    lapic_write(0x320, lvt);
    if (lvt & LVT_TSC_DEADLINE) {
        CHECK(!safe_wrmsr(MSR_TSC_DEADLINE, rdtsc() + ms_ticks(1)), "IA32_TSC_DEADLINE write faulted");
    } else {
        lapic_write(0x380, count);
    }
    wait_irq(vector, ticks, ms_ticks(20));
    timer_off();
    CHECK(irqlog.count[vector] >= ticks, "%s: %u of %u ticks", name, irqlog.count[vector], ticks);
    return stop_report(why, name, IRQ_SOURCE_LAPIC_TIMER, "vLAPIC timer -> LVT timer -> IRR", vector);
}

static int t_lapic_oneshot(char *why)
{
    return lapic_timer_stop(why, "vLAPIC timer 1-shot", VEC_ONESHOT, (uint32_t)lapic_timer_khz(), 1);
}

static int t_lapic_periodic(char *why)
{
    return lapic_timer_stop(why, "vLAPIC timer periodic", LVT_PERIODIC | VEC_PERIODIC,
                            (uint32_t)lapic_timer_khz(), 3);
}

static int t_lapic_deadline(char *why)
{
    return lapic_timer_stop(why, "vLAPIC TSC-deadline", LVT_TSC_DEADLINE | VEC_DEADLINE, 0, 1);
}

/* The level line: COM1's THR-empty interrupt, held until IIR is read. */
static volatile uint32_t remote_irr_in_isr;
static void hook_level(uint32_t v)
{
    stop_seen(v);
    remote_irr_in_isr = ioapic_read(0x10 + 8) & REMOTE_IRR;
    com1_thre_irq_ack(); /* the source lets go; the EOI follows */
}

static int t_level(char *why)
{
    legacy_reset(0);
    irq_hook[VEC_LEVEL] = hook_level;
    ioapic_route(4, VEC_LEVEL | LEVEL, 0);
    lapic_auto_eoi = 0;
    stop_begin();
    com1_thre_irq_on();
    wait_irq(VEC_LEVEL, 1, ms_ticks(20));
    int tmr = (lapic_read(0x180 + (VEC_LEVEL / 32) * 16) >> (VEC_LEVEL % 32)) & 1;
    lapic_eoi();
    trace_mark(MARK_EOI, VEC_LEVEL);
    lapic_auto_eoi = 1;
    uint32_t after = ioapic_read(0x10 + 8) & REMOTE_IRR;
    com1_thre_irq_off();
    CHECK(tmr, "the vector's TMR bit was clear: not level-triggered in the vLAPIC");
    CHECK(remote_irr_in_isr, "remote IRR was clear in the handler");
    CHECK(!after, "the EOI did not clear remote IRR");
    return stop_report(why, "COM1 THRE (level)", 4, "vIOAPIC pin 4 level: remote IRR 1, EOI -> 0", VEC_LEVEL);
}

static int t_nmi(char *why)
{
    legacy_reset(0);
    irq_hook[2] = hook_seen;
    ioapic_route(2, NMI_MODE, 0);
    stop_begin();
    pit_program(0, 0, 200);
    wait_irq(2, 1, ms_ticks(20));
    ioapic_route(2, 0x10000, 0);
    return stop_report(why, "vPIT as NMI", 0, "vIOAPIC pin 2, delivery mode NMI -> vLAPIC", 2);
}

/* pc-testdev (QEMU's test device): a port write raises GSI 10, as a
 * device would, from the testdev's own irq_set source. */
static int t_testdev(char *why)
{
    legacy_reset(0);
    irq_hook[VEC_TESTDEV] = hook_seen;
    ioapic_route(TESTDEV_GSI, VEC_TESTDEV, 0);
    stop_begin();
    outb(TESTDEV_IRQ_PORT + TESTDEV_GSI, 1);
    wait_irq(VEC_TESTDEV, 1, ms_ticks(20));
    outb(TESTDEV_IRQ_PORT + TESTDEV_GSI, 0);
    return stop_report(why, "pc-testdev line 10", TESTDEV_GSI, "port 0x200a -> irq_set -> vIOAPIC pin 10",
                       VEC_TESTDEV);
}

static char typed[16];
static volatile unsigned ntyped;
static void hook_com1(uint32_t v)
{
    stop_seen(v);
    for (int i = 0; i < 16 && (inb(COM1 + 5) & 1); i++) {
        uint8_t b = inb(COM1);
        if (ntyped < sizeof(typed) - 1)
            typed[ntyped++] = (char)b;
    }
}

static int t_com1_byte(char *why)
{
    legacy_reset(0);
    while (inb(COM1 + 5) & 1)
        (void)inb(COM1);
    ntyped = 0;
    irq_hook[VEC_COM1] = hook_com1;
    ioapic_route(4, VEC_COM1, 0);
    outb(COM1 + 4, 0x0B); /* OUT2: the UART's IRQ line is connected */
    outb(COM1 + 1, 0x01); /* received-data interrupt */
    stop_begin();
    kprintf("# tour: type a key (COM1)\n");
    /* The key comes in wall-clock time while an idle emulator races
     * through guest time: 5 s of guest time at most. */
    wait_irq(VEC_COM1, 1, ms_ticks(5000));
    outb(COM1 + 1, 0x00);
    CHECK(seen, "no byte arrived on COM1 within 5 s of guest time (make run types one)");
    return stop_report(why, "COM1 byte (physical)", 4, "host IRQ 4 -> exit -> vUART RX -> vIOAPIC pin 4",
                       VEC_COM1);
}

static int t_summary(char *why)
{
    (void)why;
    kprintf("# tour: each source once. Exits count VM exits from arming the source to the handler;\n"
            "# tour: latency is guest TSC ticks from the source event in the hypervisor to the handler.\n"
            "# tour: the hypervisor's exit statistics for the whole run follow.\n");
    return 0;
}

static const struct test_case cases[] = {
    { "the vPIT's IRQ 0 through the vPIC (LAPIC in virtual-wire mode)", t_pit_pic },
    { "the vPIT's IRQ 0 through the vIOAPIC", t_pit_ioapic },
    { "the vLAPIC timer, one-shot", t_lapic_oneshot },
    { "the vLAPIC timer, periodic (3 ticks)", t_lapic_periodic },
    { "the vLAPIC timer, TSC-deadline", t_lapic_deadline },
    { "a level-triggered line: EOI and remote IRR", t_level },
    { "an NMI (vIOAPIC delivery mode NMI)", t_nmi },
    { "pc-testdev's line 10 through the vIOAPIC", t_testdev },
    { "a byte on COM1 (IRQ 4, a physical interrupt passed through)", t_com1_byte },
    { "summary", t_summary },
};

const struct test_group group_tour = { "tour", cases, sizeof(cases) / sizeof(cases[0]) };
