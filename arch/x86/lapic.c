#include "lapic.h"

#include "cpu.h"

#define MSR_IA32_APIC_BASE 0x1B
#define APIC_BASE_ENABLE (1u << 11)
#define APIC_BASE_X2APIC (1u << 10)
#define LAPIC_EOI 0xB0
#define LAPIC_SVR 0xF0
#define LVT_MASKED (1u << 16)
#define X2APIC_MSR(off) (0x800u + ((off) >> 4))

static const uint32_t lvt_regs[] = { 0x320 /* timer */, 0x330 /* thermal */, 0x340 /* perf */,
                                     0x350 /* LINT0 */, 0x360 /* LINT1 */, 0x370 /* error */ };

static volatile uint32_t *mmio;
static int x2apic;

static void lapic_write(uint32_t off, uint32_t v)
{
    if (x2apic)
        wrmsr(X2APIC_MSR(off), v);
    else if (mmio)
        mmio[off / 4] = v;
}

static uint32_t lapic_read(uint32_t off)
{
    if (x2apic)
        return (uint32_t)rdmsr(X2APIC_MSR(off));
    return mmio ? mmio[off / 4] : 0;
}

void lapic_quiesce(uint64_t lapic_base)
{
    uint64_t msr = rdmsr(MSR_IA32_APIC_BASE);

    /* The 8259 pair: mask every line. */
    outb(0x21, 0xff);
    outb(0xA1, 0xff);

    if (!(msr & APIC_BASE_ENABLE))
        return;
    x2apic = (msr & APIC_BASE_X2APIC) != 0;
    if (!lapic_base)
        lapic_base = msr & ~0xfffull;
    mmio = (volatile uint32_t *)(uintptr_t)lapic_base;
    for (unsigned i = 0; i < sizeof(lvt_regs) / sizeof(lvt_regs[0]); i++)
        lapic_write(lvt_regs[i], lapic_read(lvt_regs[i]) | LVT_MASKED);
    /* Software-enabled, so that IOAPIC messages for our own lines arrive;
     * spurious vector 0xFF. */
    lapic_write(LAPIC_SVR, 0x1FF);
}

uint8_t lapic_id(void)
{
    uint32_t id = lapic_read(0x20);
    return (uint8_t)(x2apic ? id : id >> 24);
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}
