/* Groups "pcdev" and "pcdev_stop": the PC devices a kernel expects beside
 * the interrupt chipset (boot/platform.h): the MC146818 RTC/CMOS at
 * 0x70/0x71 (IRQ 8 through the IOAPIC), the ACPI PM timer and PM1a
 * registers at 0x600 (SCI on GSI 9), PCI configuration (a host bridge alone),
 * the absent 8042 and port 0x80. "pcdev_stop" holds the cases that end the
 * run (a reset, S5), one per boot with only=<case>. */
#include "testos.h"

#define RTC_VEC 0x48
#define SCI_VEC 0x49
#define LEVEL   0x8000u

#define REG_A  0x0A
#define REG_B  0x0B
#define REG_C  0x0C
#define REG_D  0x0D
#define A_UIP  0x80
#define B_PIE  0x40
#define B_UIE  0x10
#define B_24H  0x02
#define C_IRQF 0x80
#define C_PF   0x40
#define C_UF   0x10

#define PM_STS     0x600
#define PM_EN      0x602
#define PM_CNT     0x604
#define PM_TMR     0x608
#define PM_HZ      3579545u
#define SLP_EN     0x2000u
#define SLP_TYP_S5 0u

static uint8_t cmos(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static void cmos_set(uint8_t reg, uint8_t v)
{
    outb(0x70, reg);
    outb(0x71, v);
}

static unsigned bcd(uint8_t v) { return (v >> 4) * 10u + (v & 15u); }

/* The RTC as a PC BIOS leaves it (1024 Hz rate, BCD, 24 h, no interrupt
 * enabled, flags read), IRQ 8 to RTC_VEC through IOAPIC pin 8 (edge). */
static void rtc_reset(void)
{
    legacy_reset(0);
    cmos_set(REG_A, 0x26);
    cmos_set(REG_B, B_24H);
    (void)cmos(REG_C);
    ioapic_route(8, RTC_VEC, 0);
}

/* ---- what the RTC hook records ---- */
static volatile uint32_t rtc_irqs, rtc_c_last, rtc_ack = 1, rtc_sec_at[4];
static volatile uint64_t rtc_tsc_at[128];

static void rtc_hook(uint32_t vector)
{
    (void)vector;
    uint32_t n = rtc_irqs;
    if (n < 128)
        rtc_tsc_at[n] = rdtsc();
    if (n < 4)
        rtc_sec_at[n] = cmos(0x00);
    if (rtc_ack)
        rtc_c_last = cmos(REG_C); /* acknowledges: IRQ 8 drops, the next flag raises it again */
    rtc_irqs = n + 1;
}

static void rtc_hook_on(void)
{
    rtc_irqs = 0;
    rtc_c_last = 0;
    rtc_ack = 1;
    irq_hook[RTC_VEC] = rtc_hook;
}

static int rtc_read(unsigned t[6], char *why)
{
    uint64_t start = rdtsc();
    while (cmos(REG_A) & A_UIP)
        CHECK(rdtsc() - start < ms_ticks(10), "UIP stayed set for 10 ms");
    static const uint8_t regs[6] = { 0x32, 0x09, 0x08, 0x07, 0x04, 0x02 };
    for (int i = 0; i < 6; i++)
        t[i] = bcd(cmos(regs[i]));
    t[5] = t[5] * 60 + bcd(cmos(0x00)); /* minutes and seconds together */
    return 0;
}

static int t_rtc_date(char *why)
{
    unsigned t[6], u[6];
    rtc_reset();
    CHECK(cmos(REG_D) == 0x80, "register D 0x%x, expected 0x80 (VRT)", cmos(REG_D));
    CHECK(cmos(REG_B) == B_24H, "register B 0x%x, expected 0x02", cmos(REG_B));
    if (rtc_read(t, why))
        return 1;
    /* The integration test compares this line with the machine's RTC. */
    kprintf("# pcdev: RTC reads %02u%02u-%02u-%02u %02u:%02u:%02u\n", t[0], t[1], t[2], t[3], t[4], t[5] / 60,
            t[5] % 60);
    CHECK(t[0] >= 19 && t[0] <= 21 && t[1] <= 99, "year %u%02u is implausible", t[0], t[1]);
    CHECK(t[2] >= 1 && t[2] <= 12 && t[3] >= 1 && t[3] <= 31 && t[4] < 24 && t[5] < 3600,
          "fields out of range: month %u day %u hour %u", t[2], t[3], t[4]);
    /* 1.5 s of TSC later the clock moved by 1 or 2 seconds. */
    uint64_t start = rdtsc();
    while (rdtsc() - start < ms_ticks(1500))
        ;
    if (rtc_read(u, why))
        return 1;
    unsigned a = t[4] * 3600 + t[5], b = u[4] * 3600 + u[5];
    unsigned d = (b + 86400 - a) % 86400;
    CHECK(d == 1 || d == 2, "the clock moved %u s in 1.5 s of TSC", d);
    return 0;
}

/* RS = 6 (1024 Hz): 100 periods measured on the TSC from the first
 * interrupt, each acknowledged by reading register C in the handler. */
static int t_rtc_periodic(char *why)
{
    rtc_reset();
    rtc_hook_on();
    cmos_set(REG_B, B_PIE | B_24H);
    CHECK(wait_irq(RTC_VEC, 101, ms_ticks(200)), "%u periodic interrupts in 200 ms, expected 101", rtc_irqs);
    cmos_set(REG_B, B_24H);
    CHECK((rtc_c_last & (C_IRQF | C_PF)) == (C_IRQF | C_PF), "register C read 0x%x in the handler",
          rtc_c_last);
    uint64_t hz = tsc_khz() * 1000, span = rtc_tsc_at[100] - rtc_tsc_at[0];
    uint64_t want = div64(hz * 100, 1024);
    uint64_t off = report_rate("RTC periodic 100 x 1/1024 s", span, want);
    CHECK(off * 100 <= want, "100 periods took %u ticks, expected %u (more than 1 %% off)", (uint32_t)span,
          (uint32_t)want);
    /* Register C: PF sets with PIE off (no interrupt), read clears it. */
    (void)cmos(REG_C);
    uint32_t n = irqlog.count[RTC_VEC];
    uint64_t start = rdtsc();
    while (rdtsc() - start < ms_ticks(3))
        ;
    uint8_t c1 = cmos(REG_C), c2 = cmos(REG_C);
    CHECK(c1 == C_PF, "register C 0x%x after 3 ms with PIE off, expected PF alone (0x40)", c1);
    CHECK(c2 == 0, "register C 0x%x on the second read: not cleared by reading", c2);
    spin_irq(RTC_VEC, n + 1, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[RTC_VEC] == n, "an interrupt with PIE off");
    return 0;
}

/* Without a read of register C, IRQ 8 stays up: one interrupt, then none
 * until C is read, then the next period's. */
static int t_rtc_c_ack(char *why)
{
    rtc_reset();
    rtc_hook_on();
    rtc_ack = 0;
    cmos_set(REG_B, B_PIE | B_24H);
    CHECK(wait_irq(RTC_VEC, 1, ms_ticks(20)), "no periodic interrupt");
    spin_irq(RTC_VEC, 2, ms_ticks(10)); /* 10 periods */
    CHECK(rtc_irqs == 1, "%u interrupts without a read of C, expected 1", rtc_irqs);
    uint8_t c = cmos(REG_C);
    CHECK((c & (C_IRQF | C_PF)) == (C_IRQF | C_PF), "register C 0x%x, expected IRQF and PF", c);
    CHECK(wait_irq(RTC_VEC, 2, ms_ticks(20)), "no interrupt after register C was read");
    cmos_set(REG_B, B_24H);
    (void)cmos(REG_C);
    return 0;
}

/* Update-ended: once a second (1 s of TSC apart within 0.5 %), the
 * seconds register one further each time; then UIP in the 244 us before
 * the next update. */
static int t_rtc_update_ended(char *why)
{
    rtc_reset();
    rtc_hook_on();
    cmos_set(REG_B, B_UIE | B_24H);
    CHECK(wait_irq(RTC_VEC, 3, ms_ticks(2200)), "%u update-ended interrupts in 2.2 s, expected 3", rtc_irqs);
    cmos_set(REG_B, B_24H);
    CHECK((rtc_c_last & (C_IRQF | C_UF)) == (C_IRQF | C_UF), "register C read 0x%x", rtc_c_last);
    uint64_t hz = tsc_khz() * 1000;
    for (int i = 1; i < 3; i++) {
        uint64_t span = rtc_tsc_at[i] - rtc_tsc_at[i - 1];
        uint64_t off = report_rate("RTC update-ended interval", span, hz);
        CHECK(off * 200 <= hz, "interval %d: %u ticks, expected %u", i, (uint32_t)span, (uint32_t)hz);
        CHECK(bcd((uint8_t)rtc_sec_at[i]) == (bcd((uint8_t)rtc_sec_at[i - 1]) + 1) % 60, "seconds %x then %x",
              rtc_sec_at[i - 1], rtc_sec_at[i]);
    }
    /* UIP: from the last update, 1 s - 1 ms of TSC, then poll. */
    uint64_t last = rtc_tsc_at[2];
    while (rdtsc() - last < hz - ms_ticks(1))
        ;
    uint64_t deadline = rdtsc() + ms_ticks(3), rise = 0, fall = 0;
    uint8_t sec_before = cmos(0x00);
    while (!rise && rdtsc() < deadline)
        if (cmos(REG_A) & A_UIP)
            rise = rdtsc();
    CHECK(rise, "UIP never set in the 3 ms around the update");
    while (!fall && rdtsc() < deadline)
        if (!(cmos(REG_A) & A_UIP))
            fall = rdtsc();
    CHECK(fall, "UIP stayed set");
    uint64_t us = div64((fall - rise) * 1000000, hz);
    kprintf("# pcdev: UIP read set for %u us\n", (uint32_t)us);
    CHECK(us <= 600, "UIP set for %u us, expected about 244", (uint32_t)us);
    CHECK(bcd(cmos(0x00)) == (bcd(sec_before) + 1) % 60, "no update after UIP");
    return 0;
}

static uint32_t pm_tmr(void) { return inl(PM_TMR) & 0xFFFFFF; }

/* The PM timer against the TSC: 3.579545 MHz within 0.1 %, never backwards. */
static int t_pm_timer(char *why)
{
    uint64_t hz = tsc_khz() * 1000;
    uint32_t last = pm_tmr(), back = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t v = pm_tmr();
        if (((v - last) & 0xFFFFFF) > 0x800000)
            back++;
        last = v;
    }
    CHECK(!back, "%u of 1000 successive reads went backwards", back);
    CHECK((inl(PM_TMR) >> 24) == 0, "bits 31:24 of a 24-bit timer read 0x%x", inl(PM_TMR) >> 24);
    uint64_t a0 = rdtsc();
    uint32_t p0 = pm_tmr();
    uint64_t a1 = rdtsc();
    while (rdtsc() - a1 < ms_ticks(100))
        ;
    uint64_t b0 = rdtsc();
    uint32_t p1 = pm_tmr();
    uint64_t b1 = rdtsc();
    uint64_t tsc = (b0 + b1) / 2 - (a0 + a1) / 2;
    uint64_t ticks = (p1 - p0) & 0xFFFFFF;
    uint64_t want = div64(tsc * PM_HZ, hz);
    uint64_t off = report_rate("PM timer over 100 ms", ticks, want);
    CHECK(off * 1000 <= want, "%u PM timer ticks in 100 ms of TSC, expected %u (more than 0.1 %% off)",
          (uint32_t)ticks, (uint32_t)want);
    return 0;
}

static volatile uint32_t sci_sts;

static void sci_hook(uint32_t vector)
{
    (void)vector;
    sci_sts = inw(PM_STS);
    outw(PM_STS, 1); /* TMR_STS: write 1 to clear, the SCI drops */
}

/* PM1 registers, and the SCI (GSI 9, level) from TMR_STS with TMR_EN. */
static int t_pm1_sci(char *why)
{
    legacy_reset(0);
    CHECK(inw(PM_CNT) & 1, "PM1a_CNT 0x%x: SCI_EN clear", inw(PM_CNT));
    outw(PM_STS, 0xFFFF);
    outw(PM_EN, 0);
    CHECK((inw(PM_STS) & 0xFFFE) == 0, "PM1a_STS 0x%x after clearing", inw(PM_STS));
    outw(PM_EN, 0x0001);
    CHECK(inw(PM_EN) == 0x0001, "PM1a_EN reads 0x%x", inw(PM_EN));
    outw(PM_STS, 1);
    irq_hook[SCI_VEC] = sci_hook;
    ioapic_route(9, SCI_VEC | LEVEL, 0);
    /* Bit 23 of the counter changes every 2^23 ticks: 2.34 s. */
    CHECK(wait_irq(SCI_VEC, 1, ms_ticks(2500)), "no SCI within 2.5 s with TMR_EN set");
    CHECK(sci_sts & 1, "PM1a_STS 0x%x in the SCI handler: TMR_STS clear", sci_sts);
    spin_irq(SCI_VEC, 2, ms_ticks(QUIET_MS));
    CHECK(irqlog.count[SCI_VEC] == 1, "%u SCIs: the level did not drop with TMR_STS", irqlog.count[SCI_VEC]);
    outw(PM_EN, 0);
    ioapic_route(9, 0x10000, 0);
    return 0;
}

/* PCI configuration mechanism #1 on a VM without a disk: the address
 * latch reads back, the host bridge (8086:29C0, class 0600) is 00:00.0,
 * every other device reads all ones, and so do writes to them. */
static int t_pci_ones(char *why)
{
    outl(0xCF8, 0x80000000u);
    CHECK(inl(0xCF8) == 0x80000000u, "CONFIG_ADDRESS reads 0x%x", inl(0xCF8));
    CHECK(inl(0xCFC) == 0x29C08086u, "00:00.0: vendor/device 0x%x, not the host bridge", inl(0xCFC));
    outl(0xCF8, 0x80000008u);
    CHECK(inb(0xCFF) == 0x06 && inb(0xCFE) == 0x00, "00:00.0: class %02x%02x, not 0600", inb(0xCFF),
          inb(0xCFE));
    for (uint32_t dev = 1; dev < 32; dev++) {
        outl(0xCF8, 0x80000000u | dev << 11);
        CHECK(inl(0xCFC) == 0xFFFFFFFFu, "device %u: vendor/device 0x%x", dev, inl(0xCFC));
    }
    outl(0xCF8, 0x80000000u | 5u << 11 | 8u);
    for (uint16_t p = 0xCFC; p <= 0xCFF; p++)
        CHECK(inb(p) == 0xFF, "byte read of 0x%x gave 0x%x", p, inb(p));
    CHECK(inw(0xCFC) == 0xFFFF && inw(0xCFE) == 0xFFFF, "word reads are not all ones");
    outl(0xCFC, 0);
    CHECK(inl(0xCFC) == 0xFFFFFFFFu, "a written register reads back 0x%x", inl(0xCFC));
    return 0;
}

/* No 8042: status and data read 0xFF (a probe sees no controller); port
 * 0x80 takes POST codes and reads 0xFF. */
static int t_kbc_post(char *why)
{
    CHECK(inb(0x64) == 0xFF, "8042 status 0x%x", inb(0x64));
    CHECK(inb(0x60) == 0xFF, "8042 data 0x%x", inb(0x60));
    outb(0x64, 0xAA); /* self-test: nobody answers */
    CHECK(inb(0x60) == 0xFF, "8042 data 0x%x after a self-test", inb(0x60));
    for (int i = 0; i < 100; i++)
        outb(0x80, (uint8_t)i);
    CHECK(inb(0x80) == 0xFF, "port 0x80 reads 0x%x", inb(0x80));
    return 0;
}

static const struct test_case cases[] = {
    { "rtc_date: the RTC's date is valid and advances with the TSC", t_rtc_date },
    { "rtc_periodic: 1024 Hz periodic interrupts through IOAPIC pin 8, register C read-to-clear",
      t_rtc_periodic },
    { "rtc_c_ack: IRQ 8 waits for a read of register C", t_rtc_c_ack },
    { "rtc_update_ended: one update-ended interrupt a second, UIP before each update", t_rtc_update_ended },
    { "pm_timer: 3.579545 MHz against the TSC within 0.1 %, monotonic", t_pm_timer },
    { "pm1_sci: PM1 registers; TMR_STS with TMR_EN raises the SCI on GSI 9 (level)", t_pm1_sci },
    { "pci: the host bridge at 00:00.0, all ones elsewhere", t_pci_ones },
    { "kbc_post: no 8042 (0xFF), port 0x80 harmless", t_kbc_post },
};
const struct test_group group_pcdev = { "pcdev", cases, sizeof(cases) / sizeof(cases[0]) };

/* ---- the cases that end the run: the harness checks the hypervisor's
 * lines; reaching the CHECK means the request did nothing ---- */

static int t_reset_cf9(char *why)
{
    kprintf("# pcdev: port 0xCF9 <- 0x02, 0x06\n");
    outb(0xCF9, 0x02);
    outb(0xCF9, 0x06);
    FAILF("still running after the reset request");
}

static int t_reset_8042(char *why)
{
    kprintf("# pcdev: port 0x64 <- 0xFE\n");
    outb(0x64, 0xFE);
    FAILF("still running after the reset request");
}

static int t_poweroff(char *why)
{
    kprintf("# pcdev: PM1a_CNT <- SLP_TYP S5 | SLP_EN\n");
    outw(PM_CNT, (uint16_t)(1u | SLP_TYP_S5 << 10 | SLP_EN));
    FAILF("still running after S5");
}

static const struct test_case stop_cases[] = {
    { "reset_cf9: port 0xCF9 resets (the VM stops)", t_reset_cf9 },
    { "reset_8042: 8042 command 0xFE resets (the VM stops)", t_reset_8042 },
    { "poweroff: S5 through PM1a_CNT powers off", t_poweroff },
};
const struct test_group group_pcdev_stop = { "pcdev_stop", stop_cases,
                                             sizeof(stop_cases) / sizeof(stop_cases[0]) };
