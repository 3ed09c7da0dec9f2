/* Unit tests: the virtual MC146818 RTC/CMOS (irq/vrtc.c), driven by a fake
 * clock of HZ TSC ticks per second. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../irq/vrtc.h"

#define HZ      1000000000ull /* 1 GHz: 30517.6 ticks per divider clock */
#define T0      5000000000ull /* the fake TSC at init */
#define CENTURY 0x32

struct fake {
    uint64_t now;
    int level, rises, falls, bad;
};

static struct fake f;
static struct irq_host host;
static struct vrtc rtc;

static uint64_t fake_now(void *ctx) { return ((struct fake *)ctx)->now; }

static void fake_irq(void *ctx, int level)
{
    struct fake *x = ctx;

    if (level == x->level)
        x->bad++; /* only edges are ever driven */
    x->level = level;
    if (level)
        x->rises++;
    else
        x->falls++;
}

static void init_at(const struct vrtc_time *t, uint64_t ram)
{
    memset(&f, 0, sizeof(f));
    memset(&host, 0, sizeof(host));
    f.now = T0;
    host.ctx = &f;
    host.now = fake_now;
    vrtc_init(&rtc, HZ, &host, fake_irq, &f, t, ram, CENTURY);
}

static const struct vrtc_time t_2026 = { 2026, 11, 26, 18, 59, 30 };

static int setup(void **s)
{
    (void)s;
    init_at(&t_2026, 256ull << 20);
    return 0;
}

static uint8_t rd(uint8_t reg)
{
    uint8_t v = 0x5A;

    assert_int_equal(vrtc_port_write(&rtc, VRTC_PORT_INDEX, reg), 0);
    assert_int_equal(vrtc_port_read(&rtc, VRTC_PORT_DATA, &v), 0);
    return v;
}

static void wr(uint8_t reg, uint8_t v)
{
    assert_int_equal(vrtc_port_write(&rtc, VRTC_PORT_INDEX, reg), 0);
    assert_int_equal(vrtc_port_write(&rtc, VRTC_PORT_DATA, v), 0);
}

static void at(uint64_t ticks_after_t0) { f.now = T0 + ticks_after_t0; }

/* Advances the clock to t and runs the entry path's vrtc_update. */
static void run_to(uint64_t t)
{
    at(t);
    vrtc_update(&rtc);
}

static void test_initial_time_bcd(void **s)
{
    (void)s;
    assert_int_equal(rd(0x0A), 0x26);
    assert_int_equal(rd(0x0B), 0x02);
    assert_int_equal(rd(0x0D), 0x80);
    assert_int_equal(rd(0x00), 0x30);
    assert_int_equal(rd(0x02), 0x59);
    assert_int_equal(rd(0x04), 0x18);
    assert_int_equal(rd(0x07), 0x26);
    assert_int_equal(rd(0x08), 0x11);
    assert_int_equal(rd(0x09), 0x26);
    assert_int_equal(rd(CENTURY), 0x20);
    assert_int_equal(rd(0x06), 5); /* 2026-11-26 is a Thursday: 5 */
}

static void test_binary_and_12h(void **s)
{
    (void)s;
    wr(0x0B, VRTC_B_DM_BIN);              /* binary, 12 hours */
    assert_int_equal(rd(0x04), 0x80 | 6); /* 18:59 is 6 PM */
    assert_int_equal(rd(0x02), 59);
    assert_int_equal(rd(0x09), 26);
    assert_int_equal(rd(CENTURY), 20);
    wr(0x0B, 0); /* BCD, 12 hours */
    assert_int_equal(rd(0x04), 0x86);
    wr(0x0B, VRTC_B_SET);
    wr(0x04, 0x12); /* 12 AM is midnight */
    wr(0x0B, VRTC_B_24H);
    assert_int_equal(rd(0x04), 0x00);
    wr(0x0B, VRTC_B_SET);
    wr(0x04, 0x92); /* in 12 h: 12 PM is noon */
    wr(0x0B, VRTC_B_24H);
    assert_int_equal(rd(0x04), 0x12);
}

static void test_time_advances_and_rolls_over(void **s)
{
    (void)s;
    at(HZ - 1);
    assert_int_equal(rd(0x00), 0x30);
    at(HZ);
    assert_int_equal(rd(0x00), 0x31);
    at(30 * HZ); /* 19:00:00 */
    assert_int_equal(rd(0x00), 0x00);
    assert_int_equal(rd(0x02), 0x00);
    assert_int_equal(rd(0x04), 0x19);
    /* A leap day, and a century that is no leap year. */
    struct vrtc_time leap = { 2024, 2, 28, 23, 59, 59 }, c2100 = { 2100, 2, 28, 23, 59, 59 };
    init_at(&leap, 0);
    at(HZ);
    assert_int_equal(rd(0x07), 0x29);
    assert_int_equal(rd(0x08), 0x02);
    assert_int_equal(rd(0x04), 0x00);
    init_at(&c2100, 0);
    at(HZ);
    assert_int_equal(rd(0x07), 0x01);
    assert_int_equal(rd(0x08), 0x03);
    /* New year's eve into a new century. */
    struct vrtc_time nye = { 2099, 12, 31, 23, 59, 59 };
    init_at(&nye, 0);
    at(HZ);
    assert_int_equal(rd(0x09), 0x00);
    assert_int_equal(rd(CENTURY), 0x21);
    assert_int_equal(rd(0x08), 0x01);
    assert_int_equal(rd(0x06), 6); /* 2100-01-01 is a Friday */
    struct vrtc_time t;
    vrtc_get_time(&rtc, &t);
    assert_int_equal(t.year, 2100);
    assert_int_equal(t.sec, 0);
}

static void test_uip_before_each_update(void **s)
{
    (void)s;
    /* 244 us before the update at HZ: UIP from clock 32760 on. */
    at(HZ - 245000);
    assert_int_equal(rd(0x0A) & VRTC_A_UIP, 0);
    at(HZ - 240000);
    assert_int_equal(rd(0x0A) & VRTC_A_UIP, VRTC_A_UIP);
    assert_int_equal(rd(0x00), 0x30);
    at(HZ);
    assert_int_equal(rd(0x0A) & VRTC_A_UIP, 0);
    assert_int_equal(rd(0x00), 0x31);
    at(2 * HZ - 1000); /* again a second later */
    assert_int_equal(rd(0x0A) & VRTC_A_UIP, VRTC_A_UIP);
    wr(0x0B, VRTC_B_SET | VRTC_B_24H); /* no updates, no UIP */
    assert_int_equal(rd(0x0A) & VRTC_A_UIP, 0);
}

static void test_set_stops_updates(void **s)
{
    (void)s;
    at(HZ / 2);
    wr(0x0B, VRTC_B_SET | VRTC_B_UIE | VRTC_B_24H);
    assert_int_equal(rd(0x0B), VRTC_B_SET | VRTC_B_24H); /* SET clears UIE */
    at(10 * HZ);
    assert_int_equal(rd(0x00), 0x30);
    assert_int_equal(rd(0x0C) & VRTC_C_UF, 0);
    wr(0x00, 0x45);
    wr(0x02, 0x07);
    wr(0x04, 0x23);
    wr(0x07, 0x31);
    wr(0x08, 0x12);
    wr(0x09, 0x99);
    wr(CENTURY, 0x19);
    at(20 * HZ + HZ / 4);
    assert_int_equal(rd(0x00), 0x45);
    wr(0x0B, VRTC_B_24H); /* resumes where it was set */
    assert_int_equal(rd(0x00), 0x45);
    at(21 * HZ); /* the divider's next second */
    assert_int_equal(rd(0x00), 0x46);
    assert_int_equal(rd(0x09), 0x99);
    assert_int_equal(rd(CENTURY), 0x19);
    assert_int_equal(rd(0x06), 6); /* 1999-12-31 was a Friday */
}

static void test_periodic_interrupt(void **s)
{
    (void)s;
    uint64_t period = HZ / 1024; /* RS = 6 */

    assert_int_equal(vrtc_next_deadline(&rtc), 0);
    wr(0x0B, VRTC_B_PIE | VRTC_B_24H);
    uint64_t dl = vrtc_next_deadline(&rtc);
    assert_true(dl >= T0 + period && dl <= T0 + period + 1);
    run_to(period - 100);
    assert_int_equal(f.rises, 0);
    run_to(period + 1);
    assert_int_equal(f.rises, 1);
    assert_int_equal(f.level, 1);
    assert_int_equal(vrtc_next_deadline(&rtc), 0); /* IRQ 8 is up until C is read */
    assert_int_equal(rd(0x0C), VRTC_C_IRQF | VRTC_C_PF);
    assert_int_equal(f.level, 0);
    assert_int_equal(rd(0x0C), 0); /* read-to-clear */
    /* One interrupt per period over a second, each acknowledged. */
    for (unsigned k = 2; k <= 1024; k++) {
        run_to(vrtc_next_deadline(&rtc) - T0);
        if (f.level)
            rd(0x0C);
    }
    assert_int_equal(f.rises, 1024);
    assert_true(f.now - T0 <= HZ && f.now - T0 > HZ - period);
    /* A slower rate: RS = 15, 2 Hz. */
    wr(0x0A, 0x2F);
    dl = vrtc_next_deadline(&rtc);
    assert_true(dl > f.now + HZ / 2 - HZ / 1000 - period && dl <= f.now + HZ / 2);
    assert_int_equal(f.bad, 0);
}

static void test_flags_without_enable(void **s)
{
    (void)s;
    at(3 * HZ);
    assert_int_equal(vrtc_next_deadline(&rtc), 0);
    assert_int_equal(vrtc_update(&rtc), 0);
    assert_int_equal(f.rises, 0);
    assert_int_equal(rd(0x0C), VRTC_C_PF | VRTC_C_UF); /* flags set, no IRQF */
    assert_int_equal(rd(0x0C), 0);
    at(3 * HZ + HZ / 1024 + 1);
    /* Enabling PIE with PF already set raises IRQ 8 at once. */
    wr(0x0B, VRTC_B_PIE | VRTC_B_24H);
    assert_int_equal(f.rises, 1);
    wr(0x0B, VRTC_B_24H); /* and disabling drops IRQF */
    assert_int_equal(f.level, 0);
    assert_int_equal(rd(0x0C), VRTC_C_PF);
    wr(0x0A, 0x20); /* RS = 0: no periodic flag */
    at(5 * HZ + 3);
    assert_int_equal(rd(0x0C), VRTC_C_UF);
}

static void test_update_ended_once_a_second(void **s)
{
    (void)s;
    wr(0x0A, 0x20);
    wr(0x0B, VRTC_B_UIE | VRTC_B_24H);
    assert_int_equal(vrtc_next_deadline(&rtc), T0 + HZ);
    run_to(HZ - 1);
    assert_int_equal(f.rises, 0);
    run_to(HZ);
    assert_int_equal(f.rises, 1);
    assert_int_equal(rd(0x0C), VRTC_C_IRQF | VRTC_C_UF);
    assert_int_equal(rd(0x00), 0x31);
    for (unsigned k = 2; k <= 5; k++) {
        assert_int_equal(vrtc_next_deadline(&rtc), T0 + k * HZ);
        run_to(k * HZ);
        rd(0x0C);
    }
    assert_int_equal(f.rises, 5);
    /* Unacknowledged: one interrupt however many seconds pass. */
    run_to(9 * HZ);
    run_to(20 * HZ);
    assert_int_equal(f.rises, 6);
}

static void test_alarm(void **s)
{
    (void)s;
    wr(0x0A, 0x20);
    wr(0x01, 0x33); /* 18:59:33 */
    wr(0x03, 0x59);
    wr(0x05, 0x18);
    wr(0x0B, VRTC_B_AIE | VRTC_B_24H);
    assert_int_equal(vrtc_next_deadline(&rtc), T0 + 3 * HZ);
    run_to(3 * HZ - 1);
    assert_int_equal(f.rises, 0);
    run_to(3 * HZ);
    assert_int_equal(f.rises, 1);
    assert_int_equal(rd(0x0C), VRTC_C_IRQF | VRTC_C_AF | VRTC_C_UF);
    /* The same alarm comes back a day later. */
    assert_int_equal(vrtc_next_deadline(&rtc), T0 + (3 + 86400) * HZ);
    /* Don't-care seconds: every second of 19:00. */
    wr(0x01, 0xC0);
    wr(0x03, 0x00);
    wr(0x05, 0x19);
    assert_int_equal(vrtc_next_deadline(&rtc), T0 + 30 * HZ);
    run_to(31 * HZ);
    rd(0x0C);
    run_to(32 * HZ);
    assert_int_equal(rd(0x0C), VRTC_C_IRQF | VRTC_C_AF | VRTC_C_UF);
    /* Alarm flag also without AIE, over a long gap. */
    wr(0x0B, VRTC_B_24H);
    at(32 * HZ + 3600 * HZ); /* 20:00:32: 19:00:33-59 passed */
    assert_int_equal(rd(0x0C) & VRTC_C_AF, VRTC_C_AF);
    at(32 * HZ + 7200 * HZ); /* 21:00:32: no 19:00 second in between */
    assert_int_equal(rd(0x0C), VRTC_C_UF);
    at(32 * HZ + 86400 * HZ);
    assert_int_equal(rd(0x0C) & VRTC_C_AF, VRTC_C_AF);
    /* An hour byte that is no hour never matches. */
    wr(0x05, 0x25);
    wr(0x0B, VRTC_B_AIE | VRTC_B_24H);
    assert_int_equal(vrtc_next_deadline(&rtc), 0);
}

static void test_divider_reset(void **s)
{
    (void)s;
    wr(0x0A, 0x70); /* divider in reset: clock stops */
    at(10 * HZ);
    assert_int_equal(rd(0x00), 0x30);
    assert_int_equal(rd(0x0A) & VRTC_A_UIP, 0);
    wr(0x0A, 0x26); /* first update 500 ms later */
    at(10 * HZ + HZ / 2 - 1);
    assert_int_equal(rd(0x00), 0x30);
    at(10 * HZ + HZ / 2);
    assert_int_equal(rd(0x00), 0x31);
}

static void test_cmos_memory(void **s)
{
    (void)s;
    assert_int_equal(rd(0x15) | rd(0x16) << 8, 640);
    assert_int_equal(rd(0x17) | rd(0x18) << 8, 0xFFFF); /* 255 MiB: capped, as QEMU */
    assert_int_equal(rd(0x34) | rd(0x35) << 8, (256 - 16) * 16);
    init_at(&t_2026, 32ull << 20);
    assert_int_equal(rd(0x17) | rd(0x18) << 8, 31 * 1024);
    assert_int_equal(rd(0x30) | rd(0x31) << 8, 31 * 1024);
    assert_int_equal(rd(0x34) | rd(0x35) << 8, (32 - 16) * 16);
    assert_int_equal(rd(0x5B) | rd(0x5C) << 8 | rd(0x5D) << 16, 0);
    unsigned sum = 0;
    for (unsigned i = 0x10; i <= 0x2D; i++)
        sum += rd((uint8_t)i);
    assert_int_equal(rd(0x2E) << 8 | rd(0x2F), sum);
    init_at(&t_2026, 6ull << 30); /* 6 GiB: capped below, 2 GiB above 4 GiB */
    assert_int_equal(rd(0x17) | rd(0x18) << 8, 0xFFFF);
    assert_int_equal(rd(0x34) | rd(0x35) << 8, ((4u << 30) - (16u << 20)) >> 16);
    assert_int_equal(rd(0x5B) | rd(0x5C) << 8 | rd(0x5D) << 16, (2u << 30) >> 16);
    /* NVRAM keeps what is written; C and D are read-only. */
    wr(0x40, 0xA5);
    wr(0x7F, 0x3C);
    assert_int_equal(rd(0x40), 0xA5);
    assert_int_equal(rd(0x7F), 0x3C);
    wr(0x0D, 0x00);
    assert_int_equal(rd(0x0D), VRTC_D_VRT);
    wr(0x0C, 0xF0);
    assert_int_equal(rd(0x0C), 0);
    /* The index keeps 7 bits; bit 7 is the NMI mask. */
    assert_int_equal(vrtc_port_write(&rtc, VRTC_PORT_INDEX, 0x80 | 0x40), 0);
    assert_int_equal(rtc.nmi_masked, 1);
    uint8_t v;
    assert_int_equal(vrtc_port_read(&rtc, VRTC_PORT_DATA, &v), 0);
    assert_int_equal(v, 0xA5);
    assert_int_equal(vrtc_port_read(&rtc, 0x72, &v), -1);
    assert_int_equal(vrtc_port_write(&rtc, 0x60, 0), -1);
}

static void test_time_from_host_regs(void **s)
{
    (void)s;
    struct vrtc_time t;
    uint8_t bcd[10] = { 0x07, 0, 0x45, 0, 0x23, 0, 0, 0x31, 0x12, 0x25 };
    assert_int_equal(vrtc_time_from_regs(bcd, 0x02, 0x20, &t), 0);
    assert_int_equal(t.year, 2025);
    assert_int_equal(t.mon, 12);
    assert_int_equal(t.day, 31);
    assert_int_equal(t.hour, 23);
    assert_int_equal(t.min, 45);
    assert_int_equal(t.sec, 7);
    uint8_t bin12[10] = { 59, 0, 0, 0, 0x80 | 12, 0, 0, 1, 1, 99 };
    assert_int_equal(vrtc_time_from_regs(bin12, VRTC_B_DM_BIN, 0, &t), 0);
    assert_int_equal(t.year, 1999);
    assert_int_equal(t.hour, 12);
    bin12[4] = 12; /* 12 AM */
    assert_int_equal(vrtc_time_from_regs(bin12, VRTC_B_DM_BIN, 0, &t), 0);
    assert_int_equal(t.hour, 0);
    bcd[8] = 0x13; /* month 13 */
    assert_int_equal(vrtc_time_from_regs(bcd, 0x02, 0x20, &t), -1);
    /* An invalid time at init gives 2000-01-01. */
    struct vrtc_time bad = { 2026, 2, 30, 24, 0, 0 };
    init_at(&bad, 0);
    assert_int_equal(rd(0x09), 0x00);
    assert_int_equal(rd(0x08), 0x01);
    assert_int_equal(rd(0x04), 0x00);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_initial_time_bcd, setup),
        cmocka_unit_test_setup(test_binary_and_12h, setup),
        cmocka_unit_test_setup(test_time_advances_and_rolls_over, setup),
        cmocka_unit_test_setup(test_uip_before_each_update, setup),
        cmocka_unit_test_setup(test_set_stops_updates, setup),
        cmocka_unit_test_setup(test_periodic_interrupt, setup),
        cmocka_unit_test_setup(test_flags_without_enable, setup),
        cmocka_unit_test_setup(test_update_ended_once_a_second, setup),
        cmocka_unit_test_setup(test_alarm, setup),
        cmocka_unit_test_setup(test_divider_reset, setup),
        cmocka_unit_test_setup(test_cmos_memory, setup),
        cmocka_unit_test_setup(test_time_from_host_regs, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
