/* testos: interrupt bookkeeping and helpers for the legacy controllers. */
#include "testos.h"

struct irq_log irqlog;
volatile int lapic_auto_eoi = 1;
volatile int lapic_x2apic;

/* In x2APIC mode the register helpers ignore whether the MSR access
 * faulted, on purpose: a faulting read returns 0 and a faulting write
 * changes nothing, like a reserved xAPIC offset, and every caller goes on
 * to check the register's value or effect (the vector arrives, the count
 * runs), which a fault leaves wrong. The x2apic group checks the MSR
 * accesses themselves. */
uint32_t lapic_read(uint32_t off)
{
    if (lapic_x2apic) {
        uint64_t v = 0;
        (void)safe_rdmsr(0x800 + (off >> 4), &v);
        return (uint32_t)v;
    }
    return *(volatile uint32_t *)(LAPIC_BASE + off);
}

void lapic_write(uint32_t off, uint32_t v)
{
    if (lapic_x2apic)
        (void)safe_wrmsr(0x800 + (off >> 4), v);
    else
        *(volatile uint32_t *)(LAPIC_BASE + off) = v;
}

int lapic_in_service(uint32_t vector)
{
    return (lapic_read(0x100 + (vector / 32) * 16) >> (vector % 32)) & 1;
}

int lapic_in_irr(uint32_t vector) { return (lapic_read(0x200 + (vector / 32) * 16) >> (vector % 32)) & 1; }

void lapic_self_ipi(uint8_t vector)
{
    if (lapic_x2apic) {
        (void)safe_wrmsr(0x83F, vector); /* ignored: see lapic_read */
        return;
    }
    lapic_write(0x310, 0);
    lapic_write(0x300, 0x40000u | vector); /* shorthand: self, fixed, edge */
}

static uint64_t calibrated_timer_khz;
uint64_t lapic_timer_khz(void)
{
    uint32_t r[4];
    if (hv_present()) {
        cpuid(0x40000010, 0, r);
        return r[1];
    }
    if (!calibrated_timer_khz) { /* bare: count it over 1 ms of TSC */
        uint64_t khz = tsc_khz();
        lapic_write(0x3E0, 0x0B);
        lapic_write(0x320, 0x10000);
        lapic_write(0x380, 0xffffffffu);
        uint32_t c0 = lapic_read(0x390);
        uint64_t t = rdtsc();
        while (rdtsc() - t < khz)
            ;
        calibrated_timer_khz = c0 - lapic_read(0x390);
        lapic_write(0x380, 0);
    }
    return calibrated_timer_khz;
}

/* Back to xAPIC mode from x2APIC (which only allows going through
 * disabled): a test that left x2APIC on must not break the next. */
static void lapic_back_to_xapic(void)
{
    uint64_t base;
    if (safe_rdmsr(MSR_APIC_BASE, &base) == 0 && (base & APIC_BASE_EXTD)) {
        /* Should either step fault, every later test would talk to an
         * absent xAPIC page: stop the run, saying why. */
        if (safe_wrmsr(MSR_APIC_BASE, base & ~(uint64_t)(APIC_BASE_EXTD | APIC_BASE_EN)) ||
            safe_wrmsr(MSR_APIC_BASE, (base & ~(uint64_t)APIC_BASE_EXTD) | APIC_BASE_EN)) {
            kprintf("Bail out! leaving x2APIC mode faulted (IA32_APIC_BASE 0x%llx)\n", base);
            outb(DEBUG_EXIT_PORT, 3);
            for (;;)
                __asm__ volatile("cli; hlt");
        }
    }
    lapic_x2apic = 0;
}
void (*volatile irq_hook[256])(uint32_t vector);

void irqlog_reset(void)
{
    for (int i = 0; i < 256; i++) {
        irqlog.count[i] = 0;
        irqlog.last_tsc[i] = 0;
    }
    irqlog.n = 0;
}

volatile uint32_t irq_storms, irq_storm_vector;

static void storm_quiet(uint32_t vector)
{
    irq_storms++;
    irq_storm_vector = vector;
    kprintf("# interrupt storm: vector 0x%x arrived %u times; masking every source\n", vector,
            irqlog.count[vector]);
    outb(0x21, 0xff);
    outb(0xA1, 0xff);
    for (unsigned pin = 0; pin < 24; pin++)
        ioapic_write(0x10 + 2 * pin, 0x10000);
    lapic_write(0x320, 0x10000); /* LAPIC timer LVT masked */
    lapic_write(0x80, 0xF0);     /* TPR: hold every fixed vector (legacy_reset lowers it) */
    com1_thre_irq_off();
}

volatile int trace_marks;
volatile uint32_t trace_marks_sent;

static void trace_mark_at(uint32_t kind, uint32_t arg, uint64_t tsc)
{
    uint32_t ret;
    if (!trace_marks)
        return;
    __asm__ volatile("vmcall"
                     : "=a"(ret)
                     : "a"(HC_TRACE_MARK), "b"(kind << 8 | (arg & 0xff)), "c"((uint32_t)tsc)
                     : "memory");
    trace_marks_sent++;
}

void trace_mark(uint32_t kind, uint32_t arg) { trace_mark_at(kind, arg, rdtsc()); }

int trace_marks_on(void)
{
    uint32_t ret;
    if (!hv_present())
        return 0;
    __asm__ volatile("vmcall"
                     : "=a"(ret)
                     : "a"(HC_TRACE_MARK), "b"(MARK_HELLO << 8), "c"((uint32_t)rdtsc())
                     : "memory");
    trace_marks = ret == 0;
    return trace_marks;
}

void irq_record(uint32_t vector, uint32_t eip);
void irq_record(uint32_t vector, uint32_t eip)
{
    uint64_t now = rdtsc(); /* the handler's entry, before the mark's own VMCALL */
    trace_mark_at(MARK_ISR, vector, now);
    irqlog.count[vector]++;
    irqlog.last_eip[vector] = eip;
    irqlog.last_tsc[vector] = now;
    if (irqlog.n < IRQ_LOG_MAX)
        irqlog.order[irqlog.n] = vector;
    irqlog.n++;
    if (irq_hook[vector])
        irq_hook[vector](vector);
    if (irqlog.count[vector] == IRQ_STORM)
        storm_quiet(vector);
    if (lapic_auto_eoi && vector >= 16 && lapic_in_service(vector))
        lapic_eoi();
    trace_mark(MARK_EOI, vector);
}

int hv_present(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    return (r[2] >> 31) & 1;
}

/* Without a hypervisor to ask (bare runs), measure the TSC against the
 * PIT's channel 2 once, as the hypervisor itself does. */
static uint64_t calibrated_tsc_khz;
uint64_t tsc_khz(void)
{
    uint32_t r[4];
    if (hv_present()) {
        cpuid(0x40000010, 0, r);
        return r[0];
    }
    if (!calibrated_tsc_khz) {
        uint8_t p = inb(0x61);
        outb(0x61, (uint8_t)((p & ~0x02) | 0x01));
        outb(0x43, 0xB0);
        outb(0x42, 0x9b);
        outb(0x42, 0x2e); /* 11931 clocks: 10 ms */
        uint64_t t0 = rdtsc();
        for (uint32_t i = 0; i < 100000000u && !(inb(0x61) & 0x20); i++)
            ;
        calibrated_tsc_khz = div64(rdtsc() - t0, 10);
        outb(0x61, p);
    }
    return calibrated_tsc_khz;
}

int wait_irq(uint32_t vector, uint32_t count, uint64_t max_ticks)
{
    uint64_t start = rdtsc();
    while (irqlog.count[vector] < count) {
        if (rdtsc() - start > max_ticks)
            break;
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
    cli();
    return irqlog.count[vector] >= count;
}

int spin_irq(uint32_t vector, uint32_t count, uint64_t max_ticks)
{
    uint64_t start = rdtsc();
    sti();
    while (irqlog.count[vector] < count && rdtsc() - start <= max_ticks)
        ;
    cli();
    return irqlog.count[vector] >= count;
}

int wait_until(int (*cond)(uint32_t arg), uint32_t arg, uint64_t max_ticks)
{
    uint64_t start = rdtsc();
    while (!cond(arg) && rdtsc() - start <= max_ticks)
        ;
    return cond(arg);
}

int control_ipi(uint8_t vector)
{
    uint32_t before = irqlog.count[vector];
    lapic_self_ipi(vector);
    return wait_irq(vector, before + 1, ms_ticks(20));
}

void pic_setup(uint8_t master_base, uint8_t slave_base, int auto_eoi)
{
    uint8_t icw4 = auto_eoi ? 0x03 : 0x01;
    outb(0x20, 0x11);        /* ICW1: edge, cascade, ICW4 needed */
    outb(0x21, master_base); /* ICW2 */
    outb(0x21, 0x04);        /* ICW3: slave on IRQ 2 */
    outb(0x21, icw4);        /* ICW4: 8086 mode (+ AEOI) */
    outb(0xA0, 0x11);
    outb(0xA1, slave_base);
    outb(0xA1, 0x02); /* slave id 2 */
    outb(0xA1, icw4);
    outb(0x21, 0xff); /* everything masked */
    outb(0xA1, 0xff);
}

void pic_eoi(unsigned irq)
{
    if (irq >= 8)
        outb(0xA0, 0x20);
    outb(0x20, 0x20);
}

uint8_t pic_read_irr(int slave)
{
    outb(slave ? 0xA0 : 0x20, 0x0A);
    return inb(slave ? 0xA0 : 0x20);
}

uint8_t pic_read_isr(int slave)
{
    outb(slave ? 0xA0 : 0x20, 0x0B);
    uint8_t v = inb(slave ? 0xA0 : 0x20);
    outb(slave ? 0xA0 : 0x20, 0x0A);
    return v;
}

int pic_irr_bit(uint32_t irq) { return (pic_read_irr(irq >= 8) >> (irq & 7)) & 1; }

void pit_program(unsigned channel, unsigned mode, uint16_t count)
{
    outb(0x43, (uint8_t)(channel << 6 | 0x30 | mode << 1)); /* LSB then MSB */
    outb((uint16_t)(0x40 + channel), (uint8_t)count);
    outb((uint16_t)(0x40 + channel), (uint8_t)(count >> 8));
}

int pit_out(uint32_t channel)
{
    outb(0x43, (uint8_t)(0xE0 | 2u << channel)); /* read-back: status only */
    return (inb((uint16_t)(0x40 + channel)) >> 7) & 1;
}

uint32_t ioapic_read(uint32_t reg)
{
    *(volatile uint32_t *)IOAPIC_BASE = reg;
    return *(volatile uint32_t *)(IOAPIC_BASE + 0x10);
}

void ioapic_write(uint32_t reg, uint32_t val)
{
    *(volatile uint32_t *)IOAPIC_BASE = reg;
    *(volatile uint32_t *)(IOAPIC_BASE + 0x10) = val;
}

void ioapic_route(unsigned pin, uint32_t low, uint32_t high)
{
    ioapic_write(0x11 + 2 * pin, high);
    ioapic_write(0x10 + 2 * pin, low);
}

uint64_t ms_ticks(unsigned ms) { return tsc_khz() * ms; }

void pit_fire_oneshot(void)
{
    pit_program(0, 0, 200);
    uint64_t t = rdtsc();
    while (rdtsc() - t < ms_ticks(2))
        ;
}

#define COM1 0x3F8
void com1_thre_irq_on(void)
{
    outb(COM1 + 4, 0x0B);
    outb(COM1 + 1, 0x02);
}
void com1_thre_irq_ack(void) { (void)inb(COM1 + 2); }
void com1_thre_irq_off(void)
{
    outb(COM1 + 1, 0x00);
    com1_thre_irq_ack();
    outb(COM1 + 4, 0x03);
}

void legacy_reset(int auto_eoi)
{
    cli();
    /* The LAPIC as the BIOS left it: enabled, virtual wire, nothing in service. */
    lapic_back_to_xapic();
    lapic_write(0x320, 0x10000); /* timer: masked, stopped */
    lapic_write(0x380, 0);
    /* Ignored: the LVT write above left TSC-deadline mode, where the MSR
     * drops writes; a CPU without TSC-deadline (a bare run) faults, with
     * nothing to disarm. */
    (void)safe_wrmsr(MSR_TSC_DEADLINE, 0);
    lapic_write(0xF0, 0x11FF); /* SVR: enabled, EOI broadcast suppressed for the cleanup */
    for (int i = 0; i < 256 && lapic_read(0xA0) & 0xF0; i++) /* PPR: something in service */
        lapic_eoi();
    lapic_write(0xF0, 0x1FF);
    lapic_write(0x80, 0);      /* TPR */
    lapic_write(0x350, 0x700); /* LINT0: ExtINT */
    lapic_write(0x360, 0x400); /* LINT1: NMI */
    lapic_auto_eoi = 1;
    outb(0x43, 0x30); /* PIT channel 0 stopped (mode 0, no count yet) */
    com1_thre_irq_off();
    outb(0x4D0, 0);
    outb(0x4D1, 0);
    pic_setup(PIC_MASTER_BASE, PIC_SLAVE_BASE, auto_eoi);
    for (unsigned pin = 0; pin < 24; pin++)
        ioapic_route(pin, 0x10000, 0);
    for (int i = 0; i < 256; i++)
        irq_hook[i] = 0;
    irqlog_reset();
}
