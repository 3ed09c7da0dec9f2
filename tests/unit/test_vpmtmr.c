/* Unit tests: the virtual ACPI PM timer and PM1a registers
 * (irq/vpmtmr.c), driven by a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../irq/vpmtmr.h"

#define HZ 2419200000ull /* Bochs tigerlake's claimed TSC */
#define T0 123456789ull

struct fake {
    uint64_t now;
    int level, rises, falls;
};

static struct fake f;
static struct irq_host host;
static struct vpmtmr pm;

static uint64_t fake_now(void *ctx) { return ((struct fake *)ctx)->now; }

static void fake_sci(void *ctx, int level)
{
    struct fake *x = ctx;

    assert_int_not_equal(level, x->level);
    x->level = level;
    if (level)
        x->rises++;
    else
        x->falls++;
}

static int setup(void **s)
{
    (void)s;
    memset(&f, 0, sizeof(f));
    memset(&host, 0, sizeof(host));
    f.now = T0;
    host.ctx = &f;
    host.now = fake_now;
    vpmtmr_init(&pm, HZ, &host, fake_sci, &f);
    return 0;
}

static uint32_t rd(unsigned off, unsigned size)
{
    uint32_t v = 0x5A5A5A5A;

    assert_int_equal(vpmtmr_read(&pm, off, size, &v), VPM_NONE);
    return v;
}

static int wr(unsigned off, unsigned size, uint32_t v)
{
    int r = vpmtmr_write(&pm, off, size, v);

    assert_true(r == VPM_NONE || r == VPM_SLEEP);
    return r;
}

static void test_timer_frequency(void **s)
{
    (void)s;
    assert_int_equal(rd(VPM_OFF_TMR, 4), 0);
    f.now = T0 + HZ / 1000; /* 1 ms: 3579.545 ticks */
    assert_int_equal(rd(VPM_OFF_TMR, 4), 3579);
    f.now = T0 + 4 * HZ; /* 4 s: 14318180 = 0xDA7A64, inside 24 bits */
    assert_int_equal(rd(VPM_OFF_TMR, 4), 14318180);
    f.now = T0 + 5 * HZ; /* 17897725 wraps at 2^24 */
    assert_int_equal(rd(VPM_OFF_TMR, 4), 17897725 - 16777216);
    assert_int_equal(vpmtmr_count(&pm), 17897725 - 16777216);
    /* Narrow reads see the same counter's bytes; writes do nothing. */
    assert_int_equal(rd(VPM_OFF_TMR + 2, 1), (1120509 >> 16) & 0xFF);
    assert_int_equal(rd(VPM_OFF_TMR + 3, 1), 0);
    wr(VPM_OFF_TMR, 4, 0);
    assert_int_equal(rd(VPM_OFF_TMR, 4), 1120509);
}

static void test_timer_monotonic(void **s)
{
    (void)s;
    uint32_t last = 0;
    uint64_t step = 977; /* odd TSC steps: every rounding phase */

    for (unsigned i = 0; i < 200000; i++) {
        f.now += step;
        uint32_t v = rd(VPM_OFF_TMR, 4);
        assert_true(v >= last);
        assert_true(v - last <= 2);
        last = v;
    }
    assert_true(last > 0);
}

static void test_tmr_sts_and_sci(void **s)
{
    (void)s;
    uint64_t half_wrap = (HZ << 23) / 3579545 + 1; /* bit 23 of the counter changes */

    assert_int_equal(rd(VPM_OFF_STS, 2), 0);
    assert_int_equal(vpmtmr_next_deadline(&pm), 0);
    f.now = T0 + half_wrap;
    assert_int_equal(rd(VPM_OFF_STS, 2), VPM_TMR_STS); /* set without an enable, no SCI */
    assert_int_equal(f.rises, 0);
    wr(VPM_OFF_STS, 2, VPM_TMR_STS); /* write 1 to clear */
    assert_int_equal(rd(VPM_OFF_STS, 2), 0);
    wr(VPM_OFF_EN, 2, VPM_TMR_STS);
    assert_int_equal(rd(VPM_OFF_EN, 2), VPM_TMR_STS);
    uint64_t dl = vpmtmr_next_deadline(&pm);
    assert_true(dl > T0 + 2 * half_wrap - 2 && dl <= T0 + 2 * half_wrap);
    f.now = dl - 1;
    vpmtmr_update(&pm);
    assert_int_equal(f.rises, 0);
    f.now = dl;
    assert_int_equal(vpmtmr_update(&pm), 0); /* no deadline while the SCI is up */
    assert_int_equal(f.rises, 1);
    assert_int_equal(f.level, 1);
    wr(VPM_OFF_STS, 2, 0xFFFE); /* other bits: the SCI stays */
    assert_int_equal(f.level, 1);
    wr(VPM_OFF_STS, 1, VPM_TMR_STS);
    assert_int_equal(f.level, 0);
    assert_true(vpmtmr_next_deadline(&pm) > dl);
    /* Enable bits outside the defined ones stay 0. */
    wr(VPM_OFF_EN, 2, 0xFFFF);
    assert_int_equal(rd(VPM_OFF_EN, 2), VPM_EN_MASK);
}

static void test_control_and_sleep(void **s)
{
    (void)s;
    assert_int_equal(rd(VPM_OFF_CNT, 2), VPM_SCI_EN); /* ACPI mode from power-on */
    /* S5 (SLP_TYP 0) with SLP_EN: a sleep request of type 0. */
    assert_int_equal(wr(VPM_OFF_CNT, 2, VPM_SCI_EN | VPM_SLP_EN), VPM_SLEEP);
    assert_int_equal(pm.sleep_typ, 0);
    assert_int_equal(rd(VPM_OFF_CNT, 2) & VPM_SLP_EN, 0); /* SLP_EN reads 0 */
    /* SLP_TYP alone is no request; the high byte with SLP_EN is. */
    assert_int_equal(wr(VPM_OFF_CNT, 2, VPM_SCI_EN | 5u << VPM_SLP_TYP_SHIFT), VPM_NONE);
    assert_int_equal(rd(VPM_OFF_CNT, 2), VPM_SCI_EN | 5u << VPM_SLP_TYP_SHIFT);
    assert_int_equal(wr(VPM_OFF_CNT + 1, 1, (VPM_SLP_EN | 3u << VPM_SLP_TYP_SHIFT) >> 8), VPM_SLEEP);
    assert_int_equal(pm.sleep_typ, 3);
    /* A 32-bit write at the status offset reaches status and enable. */
    assert_int_equal(wr(VPM_OFF_STS, 4, 0x01000000u), VPM_NONE);
    assert_int_equal(rd(VPM_OFF_EN, 2), VPM_PWRBTN_STS);
    /* Outside the block: not ours; bytes past its end read as ones. */
    uint32_t v;
    assert_int_equal(vpmtmr_read(&pm, VPM_BLOCK_LEN, 1, &v), -1);
    assert_int_equal(vpmtmr_write(&pm, 12, 2, 0), -1);
    assert_int_equal(vpmtmr_read(&pm, 3, 3, &v), -1);
    assert_int_equal(rd(10, 4) >> 16, 0xFFFF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_timer_frequency, setup),
        cmocka_unit_test_setup(test_timer_monotonic, setup),
        cmocka_unit_test_setup(test_tmr_sts_and_sci, setup),
        cmocka_unit_test_setup(test_control_and_sleep, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
