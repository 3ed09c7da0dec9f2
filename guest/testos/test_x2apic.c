/* Group "x2apic": the same local APIC through the x2APIC MSRs
 * (0x800 + register offset / 16). */
#include "testos.h"

#define X2(off) (0x800u + ((off) >> 4))

/* rd() reads an MSR for a check; the first one that faults is remembered,
 * and every test that uses rd() ends with RD_CHECKED(): its values were
 * real reads, not what a faulting RDMSR left in EDX:EAX. */
static uint32_t rd_faulted;
static uint64_t rd(uint32_t msr)
{
    uint64_t v = 0;
    if (safe_rdmsr(msr, &v) != 0) {
        if (!rd_faulted)
            rd_faulted = msr;
        v = 0;
    }
    return v;
}
#define RD_CHECKED() CHECK(!rd_faulted, "RDMSR 0x%x faulted", rd_faulted)

static int enter_x2apic(void)
{
    uint64_t base;
    if (safe_rdmsr(MSR_APIC_BASE, &base))
        return -1;
    return safe_wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
}

static int t_enable(char *why)
{
    uint32_t r[4];
    legacy_reset(0);
    cpuid(1, 0, r);
    CHECK(r[2] & (1u << 21), "CPUID.1:ECX.x2APIC clear");
    CHECK(enter_x2apic() == 0, "enabling x2APIC mode faulted");
    lapic_x2apic = 1; /* helpers now use the MSRs */
    rd_faulted = 0;
    CHECK(rd(MSR_APIC_BASE) & APIC_BASE_EXTD, "EXTD did not stick");
    CHECK(rd(X2(0x20)) == 0, "x2APIC ID %u, expected 0", (uint32_t)rd(X2(0x20)));
    CHECK((rd(X2(0x30)) & 0xff) >= 0x10, "version 0x%x", (uint32_t)rd(X2(0x30)));
    CHECK(rd(X2(0xD0)) == 0x1, "logical ID 0x%x, expected cluster 0 bit 0", (uint32_t)rd(X2(0xD0)));
    CHECK(*(volatile uint32_t *)(LAPIC_BASE + 0x30) == 0xffffffffu,
          "the xAPIC page still answers in x2APIC mode");
    RD_CHECKED();
    return 0;
}

static int t_invalid_transitions(char *why)
{
    rd_faulted = 0;
    uint64_t base = rd(MSR_APIC_BASE);
    CHECK(base & APIC_BASE_EXTD, "not in x2APIC mode");
    CHECK(safe_wrmsr(MSR_APIC_BASE, base & ~(uint64_t)APIC_BASE_EXTD) == -1 && last_trap.vector == 13,
          "x2APIC -> xAPIC allowed (must #GP)");
    CHECK(rd(MSR_APIC_BASE) & APIC_BASE_EXTD, "the refused transition changed the mode");
    RD_CHECKED();
    return 0;
}

static int t_self_ipi_msr(char *why)
{
    irqlog_reset();
    CHECK(safe_wrmsr(0x83F, 0x63) == 0, "SELF IPI MSR write faulted");
    CHECK(wait_irq(0x63, 1, ms_ticks(20)), "self-IPI 0x63 not delivered");
    return 0;
}

static int t_icr_msr(char *why)
{
    irqlog_reset();
    CHECK(safe_wrmsr(0x830, 0x40000u | 0x64) == 0, "ICR write faulted");
    CHECK(wait_irq(0x64, 1, ms_ticks(20)), "ICR self-IPI 0x64 not delivered");
    CHECK(safe_wrmsr(0x830, 0x64) == 0, "ICR to destination 0 faulted");
    CHECK(wait_irq(0x64, 2, ms_ticks(20)), "ICR to this APIC's ID not delivered");
    return 0;
}

static int t_tpr_ppr(char *why)
{
    irqlog_reset();
    rd_faulted = 0;
    CHECK(safe_wrmsr(X2(0x80), 0x50) == 0, "TPR write faulted");
    CHECK(rd(X2(0x80)) == 0x50 && rd(X2(0xA0)) == 0x50, "TPR 0x%x PPR 0x%x", (uint32_t)rd(X2(0x80)),
          (uint32_t)rd(X2(0xA0)));
    CHECK(safe_wrmsr(0x83F, 0x45) == 0, "SELF IPI MSR write faulted");
    spin_irq(0x45, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x45] == 0, "vector 0x45 passed TPR 0x50");
    /* Evidence: the IPI did arrive and waits in IRR. */
    CHECK(rd(X2(0x200 + (0x45 / 32) * 16)) & (1u << (0x45 % 32)),
          "vector 0x45 not pending in IRR: the self-IPI never arrived");
    CHECK(safe_wrmsr(X2(0x80), 0) == 0, "TPR write faulted");
    spin_irq(0x45, 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[0x45] == 1, "vector 0x45 not delivered after TPR 0");
    RD_CHECKED();
    return 0;
}

static int t_gp_cases(char *why)
{
    uint64_t v;
    CHECK(safe_wrmsr(X2(0xB0), 1) == -1, "non-zero EOI write accepted");
    CHECK(safe_wrmsr(X2(0xB0), 0) == 0, "EOI write of 0 faulted");
    CHECK(safe_rdmsr(0x801, &v) == -1, "reserved MSR 0x801 readable");
    CHECK(safe_wrmsr(X2(0x20), 5) == -1, "x2APIC ID writable");
    CHECK(safe_rdmsr(0x83F, &v) == -1, "SELF IPI readable");
    CHECK(safe_rdmsr(X2(0xE0), &v) == -1, "DFR exists in x2APIC mode");
    return 0;
}

static int t_timer_over_msrs(char *why)
{
    irqlog_reset();
    rd_faulted = 0;
    CHECK(safe_wrmsr(X2(0x3E0), 0x0B) == 0, "divide configuration write faulted");
    CHECK(safe_wrmsr(X2(0x320), 0x71) == 0, "LVT timer write faulted");
    CHECK(safe_wrmsr(X2(0x380), (uint32_t)lapic_timer_khz()) == 0, "initial count write faulted"); /* 1 ms */
    CHECK(rd(X2(0x390)) != 0, "current count 0 right after arming");
    CHECK(wait_irq(0x71, 1, ms_ticks(20)), "x2APIC timer never fired");
    CHECK(safe_wrmsr(X2(0x320), 0x10000) == 0, "LVT timer write faulted");
    RD_CHECKED();
    return 0;
}

static int t_back_to_xapic(char *why)
{
    rd_faulted = 0;
    uint64_t base = rd(MSR_APIC_BASE);
    RD_CHECKED();
    CHECK(safe_wrmsr(MSR_APIC_BASE, base & ~(uint64_t)(APIC_BASE_EXTD | APIC_BASE_EN)) == 0,
          "x2APIC -> disabled faulted");
    lapic_x2apic = 0;
    uint32_t r[4];
    cpuid(1, 0, r);
    CHECK(!(r[3] & (1u << 9)), "CPUID.1:EDX.APIC set while the APIC is disabled");
    CHECK(safe_wrmsr(MSR_APIC_BASE, (base & ~(uint64_t)APIC_BASE_EXTD) | APIC_BASE_EN) == 0,
          "disabled -> xAPIC faulted");
    CHECK((lapic_read(0xF0) & 0x100) == 0, "SVR 0x%x: a re-enabled LAPIC starts software-disabled",
          lapic_read(0xF0));
    legacy_reset(0);
    return 0;
}

static const struct test_case cases[] = {
    { "x2APIC mode: CPUID, ID, version, logical ID; xAPIC page gone", t_enable },
    { "x2APIC -> xAPIC is refused with #GP", t_invalid_transitions },
    { "SELF IPI MSR", t_self_ipi_msr },
    { "ICR as one MSR: self and by destination", t_icr_msr },
    { "TPR and PPR over MSRs", t_tpr_ppr },
    { "#GP: EOI data, reserved, read-only, write-only, DFR", t_gp_cases },
    { "timer over MSRs", t_timer_over_msrs },
    { "back through disabled to xAPIC", t_back_to_xapic },
};

const struct test_group group_x2apic = { "x2apic", cases, sizeof(cases) / sizeof(cases[0]) };
