#include "lapic.h"

#include "cpu.h"

#define MSR_IA32_APIC_BASE 0x1B
#define APIC_BASE_ENABLE   (1u << 11)
#define APIC_BASE_X2APIC   (1u << 10)
#define LAPIC_EOI          0xB0
#define LAPIC_SVR          0xF0
#define LAPIC_ICR          0x300 /* low half; x2APIC: the whole MSR */
#define LAPIC_ICR_SELF     (1u << 18)
#define LAPIC_LVT_TIMER    0x320
#define LAPIC_TIMER_INIT   0x380
#define LAPIC_TIMER_CUR    0x390
#define LAPIC_TIMER_DCR    0x3E0
#define LVT_MASKED         (1u << 16)
#define X2APIC_MSR(off)    (0x800u + ((off) >> 4))

static const uint32_t lvt_regs[] = { 0x320 /* timer */, 0x330 /* thermal */, 0x340 /* perf */,
                                     0x350 /* LINT0 */, 0x360 /* LINT1 */,   0x370 /* error */ };

static volatile uint32_t *mmio;
static int x2apic;
static uint64_t timer_hz, timer_tsc_hz;

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

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

void lapic_self_ipi(uint8_t vector) { lapic_write(LAPIC_ICR, LAPIC_ICR_SELF | vector); }

uint64_t lapic_timer_calibrate(uint64_t tsc_hz)
{
    if (!mmio && !x2apic)
        return 0;
    lapic_write(LAPIC_TIMER_DCR, 0x0B); /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LAPIC_TIMER_VECTOR);
    lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
    uint64_t t0 = rdtsc(), span = tsc_hz / 100; /* 10 ms */
    uint32_t c0 = lapic_read(LAPIC_TIMER_CUR);
    while (rdtsc() - t0 < span)
        pause();
    uint32_t c1 = lapic_read(LAPIC_TIMER_CUR);
    uint64_t t1 = rdtsc();
    lapic_write(LAPIC_TIMER_INIT, 0);
    if (c1 >= c0)
        return 0;
    timer_tsc_hz = tsc_hz;
    timer_hz = (uint64_t)(c0 - c1) * tsc_hz / (t1 - t0);
    return timer_hz;
}

void lapic_timer_arm(uint64_t deadline)
{
    if (!timer_hz)
        return;
    if (!deadline) {
        lapic_write(LAPIC_TIMER_INIT, 0);
        return;
    }
    /* LAPIC ticks = TSC ticks * timer_hz / tsc_hz, in 20-bit fixed point
     * (no 128-bit division in a freestanding build); far deadlines are
     * clamped, and the caller re-arms after an early wake. */
    uint64_t now = rdtsc(), delta = deadline > now ? deadline - now : 0;
    if (delta > (1ull << 40))
        delta = 1ull << 40;
    uint64_t ratio = (timer_hz << 20) / timer_tsc_hz;
    uint64_t ticks = (delta * ratio) >> 20;
    if (ticks == 0)
        ticks = 1;
    if (ticks > 0xffffffffu)
        ticks = 0xffffffffu;
    lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_VECTOR); /* one-shot, unmasked */
    lapic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
}
