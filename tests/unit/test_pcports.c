/* Unit tests: the PC's small ports (drivers/pcports.c): reset through 0xCF9
 * and the 8042's 0xFE, the absent 8042, port 0x80, the leftovers of PCI configuration
 * mechanism #1 with no devices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../drivers/pcports.h"

static struct pcports st;

static int setup(void **s)
{
    (void)s;
    pcports_init(&st);
    return 0;
}

static uint32_t in(uint16_t port, unsigned size)
{
    uint32_t v = 0x12345678;

    assert_int_equal(pcports_io(&st, port, 1, size, &v), PCPORTS_DONE);
    return v;
}

static enum pcports_result out(uint16_t port, unsigned size, uint32_t v)
{
    return pcports_io(&st, port, 0, size, &v);
}

static void test_cf9_reset(void **s)
{
    (void)s;
    assert_int_equal(out(0xCF9, 1, 0x02), PCPORTS_DONE); /* Linux: hard reset type first */
    assert_null(st.reset_by);
    assert_int_equal(in(0xCF9, 1), 0x02);
    assert_int_equal(out(0xCF9, 1, 0x06), PCPORTS_RESET); /* then RST_CPU */
    assert_string_equal(st.reset_by, "port 0xCF9");
    /* A word or dword at 0xCF8 is not the reset register. */
    pcports_init(&st);
    assert_int_equal(out(0xCF8, 2, 0x0600), PCPORTS_DONE);
    assert_null(st.reset_by);
}

static void test_8042(void **s)
{
    (void)s;
    /* No controller: both ports float high, so a probe sees OBF stuck. */
    assert_int_equal(in(0x64, 1), 0xFF);
    assert_int_equal(in(0x60, 1), 0xFF);
    assert_int_equal(out(0x64, 1, 0xAA), PCPORTS_DONE);
    assert_int_equal(in(0x60, 1), 0xFF);
    assert_int_equal(out(0x60, 1, 0xFE), PCPORTS_DONE); /* data, not a command */
    assert_null(st.reset_by);
    assert_int_equal(out(0x64, 1, 0xFE), PCPORTS_RESET);
    assert_string_equal(st.reset_by, "8042 command 0xFE");
}

static void test_post_port(void **s)
{
    (void)s;
    assert_int_equal(out(0x80, 1, 0x55), PCPORTS_DONE);
    assert_int_equal(out(0x80, 1, 0xAA), PCPORTS_DONE);
    assert_int_equal(st.post, 0xAA);
    assert_int_equal(st.post_writes, 2);
    assert_int_equal(in(0x80, 1), 0xFF);
}

/* What mechanism #1 leaves of 0xCF8-0xCFB: all ones, writes dropped. */
static void test_pci_leftovers(void **s)
{
    (void)s;
    assert_int_equal(out(0xCFB, 1, 0x01), PCPORTS_DONE); /* Linux's type-1 probe */
    assert_int_equal(in(0xCFB, 1), 0xFF);
    assert_int_equal(in(0xCF8, 1), 0xFF);
    assert_int_equal(in(0xCFA, 2), 0xFFFF);
    /* Ports that are not ours: the configuration data window is the bus's. */
    uint32_t v = 0;
    for (uint16_t p = 0xCFC; p <= 0xCFF; p++)
        assert_int_equal(pcports_io(&st, p, 1, 1, &v), PCPORTS_NOT_MINE);
    assert_int_equal(pcports_io(&st, 0xCF7, 1, 1, &v), PCPORTS_NOT_MINE);
    assert_int_equal(pcports_io(&st, 0xD00, 1, 1, &v), PCPORTS_NOT_MINE);
    assert_int_equal(pcports_io(&st, 0x61, 1, 1, &v), PCPORTS_NOT_MINE);
    assert_false(pcports_claims(0x70));
    assert_true(pcports_claims(0xCF9));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_cf9_reset, setup),
        cmocka_unit_test_setup(test_8042, setup),
        cmocka_unit_test_setup(test_post_port, setup),
        cmocka_unit_test_setup(test_pci_leftovers, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
