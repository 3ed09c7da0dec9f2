/* Unit tests: QEMU's fw_cfg items (drivers/fwcfg.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../drivers/fwcfg.h"

static uint64_t read_item(struct fwcfg *f, uint16_t key, unsigned len)
{
    uint64_t v = 0;
    fwcfg_select(f, key);
    for (unsigned i = 0; i < len; i++)
        v |= (uint64_t)fwcfg_read(f) << (8 * i);
    return v;
}

static void test_signature_and_id(void **s)
{
    (void)s;
    struct fwcfg f;
    fwcfg_init(&f, 64ull << 20, 1);
    fwcfg_select(&f, FWCFG_SIGNATURE);
    char sig[5] = { 0 };
    for (int i = 0; i < 4; i++)
        sig[i] = (char)fwcfg_read(&f);
    assert_string_equal(sig, "QEMU");
    assert_int_equal(fwcfg_read(&f), 0);             /* past the end */
    assert_int_equal(read_item(&f, FWCFG_ID, 4), 1); /* no DMA interface */
}

static void test_ram_and_cpus(void **s)
{
    (void)s;
    struct fwcfg f;
    fwcfg_init(&f, 0x123456789ull, 3);
    assert_int_equal(read_item(&f, FWCFG_RAM_SIZE, 8), 0x123456789ull);
    assert_int_equal(read_item(&f, FWCFG_NB_CPUS, 2), 3);
    assert_int_equal(read_item(&f, FWCFG_MAX_CPUS, 2), 3);
    /* selecting again starts the item over */
    assert_int_equal(read_item(&f, FWCFG_NB_CPUS, 2), 3);
}

static void test_unknown_and_empty_items_read_zero(void **s)
{
    (void)s;
    struct fwcfg f;
    fwcfg_init(&f, 1u << 20, 1);
    assert_int_equal(read_item(&f, 0x11, 8), 0); /* MAX_RAM: absent in QEMU too */
    assert_int_equal(read_item(&f, 0x8000, 8), 0);
    assert_int_equal(read_item(&f, FWCFG_FILE_DIR, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_and_id),
        cmocka_unit_test(test_ram_and_cpus),
        cmocka_unit_test(test_unknown_and_empty_items_read_zero),
    };
    return cmocka_run_group_tests_name("fwcfg", tests, NULL, NULL);
}
