/* Unit tests: the config file parser (boot/config.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../boot/config.h"

static struct hv_config cfg;
static char err[256];

static int parse(const char *text) { return config_parse(text, strlen(text), &cfg, err, sizeof(err)); }

static void expect_error(const char *text, const char *fragment)
{
    assert_int_equal(parse(text), -1);
    if (!strstr(err, fragment))
        fail_msg("error '%s' lacks '%s'", err, fragment);
}

static void test_minimal_uses_defaults(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = testos.elf\n"), 0);
    assert_string_equal(cfg.guest, "testos.elf");
    assert_string_equal(cfg.cmdline, "");
    assert_int_equal(cfg.ram_mb, CONFIG_RAM_MB_DEFAULT);
    assert_int_equal(cfg.log_level, LOG_INFO);
}

static void test_full_file(void **s)
{
    (void)s;
    assert_int_equal(parse("# comment\n\nguest=/guests/k.elf\n  cmdline =  base pic  \n"
                           "ram_mb = 64\nlog_level = debug\n"),
                     0);
    assert_string_equal(cfg.guest, "/guests/k.elf");
    assert_string_equal(cfg.cmdline, "base pic");
    assert_int_equal(cfg.ram_mb, 64);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
}

static void test_crlf_and_no_final_newline(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = a.elf\r\nram_mb = 8"), 0);
    assert_string_equal(cfg.guest, "a.elf");
    assert_int_equal(cfg.ram_mb, 8);
}

static void test_value_may_contain_equals(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = a.elf\ncmdline = base ram_mb=32\n"), 0);
    assert_string_equal(cfg.cmdline, "base ram_mb=32");
}

static void test_missing_equals(void **s)
{
    (void)s;
    expect_error("guest = a.elf\nram_mb 32\n", "line 2: expected 'key = value'");
}

static void test_unknown_key(void **s)
{
    (void)s;
    expect_error("guest = a.elf\nmemory = 32\n", "line 2: unknown key 'memory'");
}

static void test_duplicate_key(void **s)
{
    (void)s;
    expect_error("guest = a.elf\nguest = b.elf\n", "line 2: 'guest' given twice");
}

static void test_bad_number(void **s)
{
    (void)s;
    expect_error("guest = a.elf\nram_mb = 32M\n", "ram_mb: '32M' is not a number");
    expect_error("guest = a.elf\nram_mb = 99999999999\n", "is not a number");
}

static void test_ram_range(void **s)
{
    (void)s;
    expect_error("guest = a.elf\nram_mb = 2\n", "outside 4..2816");
    expect_error("guest = a.elf\nram_mb = 4096\n", "outside 4..2816");
    expect_error("guest = a.elf\nram_mb = 33\n", "not a multiple of 2");
    assert_int_equal(parse("guest = a.elf\nram_mb = 2816\n"), 0);
    expect_error("guest = a.elf\nram_mb = 2818\n", "outside 4..2816");
}

static void test_bad_log_level(void **s)
{
    (void)s;
    expect_error("guest = a.elf\nlog_level = loud\n", "'loud' is not one of");
    assert_int_equal(parse("guest = a.elf\nlog_level = trace\n"), 0);
    assert_int_equal(cfg.log_level, LOG_TRACE);
}

static void test_missing_guest(void **s)
{
    (void)s;
    expect_error("ram_mb = 32\n", "no 'guest' setting");
    expect_error("", "no 'guest' setting");
    expect_error("guest =\n", "guest: empty path");
}

static void test_too_long_values(void **s)
{
    (void)s;
    char text[600];
    memset(text, 0, sizeof(text));
    strcpy(text, "guest = ");
    memset(text + 8, 'a', CONFIG_PATH_MAX);
    expect_error(text, "path longer than 127");
    strcpy(text, "guest = a\ncmdline = ");
    memset(text + strlen(text), 'b', CONFIG_CMDLINE_MAX);
    expect_error(text, "cmdline: longer than 255");
}

static void test_binary_garbage(void **s)
{
    (void)s;
    const char bin[] = "guest = a.elf\n\x7f"
                       "ELF\x01\x01";
    assert_int_equal(config_parse(bin, sizeof(bin) - 1, &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 2: not a text line"));
    const char nul[] = { 'g', 'u', 'e', 's', 't', '=', 'a', 0, 'b' };
    assert_int_equal(config_parse(nul, sizeof(nul), &cfg, err, sizeof(err)), -1);
}

static void test_trace_switch(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = a.elf\n"), 0);
    assert_int_equal(cfg.trace, 0);
    assert_int_equal(parse("guest = a.elf\ntrace = on\n"), 0);
    assert_int_equal(cfg.trace, TRACE_RING);
    assert_int_equal(parse("guest = a.elf\ntrace = text\n"), 0);
    assert_int_equal(cfg.trace, TRACE_TEXT);
    expect_error("guest = a.elf\ntrace = yes\n", "trace: 'yes' is not on, off or text");
    expect_error("guest = a.elf\ntrace = on\ntrace = off\n", "'trace' given twice");
}

static void test_apicv_switch(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = a.elf\n"), 0);
    assert_int_equal(cfg.no_apicv, 0);
    assert_int_equal(parse("guest = a.elf\napicv = off\n"), 0);
    assert_int_equal(cfg.no_apicv, 1);
    expect_error("guest = a.elf\napicv = maybe\n", "apicv: 'maybe' is not auto or off");
}

static void test_bare_switch(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = a.elf\nbare = on\n"), 0);
    assert_int_equal(cfg.bare, 1);
    expect_error("guest = a.elf\nbare = 1\n", "bare: '1' is not on or off");
}

static void test_test_hooks(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = a.elf\n"), 0);
    assert_int_equal(cfg.test_hooks, 0);
    assert_int_equal(parse("guest = a.elf\ntest_hooks = on\n"), 0);
    assert_int_equal(cfg.test_hooks, 1);
    assert_int_equal(parse("guest = a.elf\ntest_hooks = off\n"), 0);
    assert_int_equal(cfg.test_hooks, 0);
    expect_error("guest = a.elf\ntest_hooks = yes\n", "line 2: test_hooks: 'yes' is not on or off");
    expect_error("guest = a.elf\ntest_hooks = on\ntest_hooks = on\n", "line 3: 'test_hooks' given twice");
}

static void test_selftest(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = a.elf\nhv_selftest = exception\n"), 0);
    assert_int_equal(cfg.selftest, SELFTEST_EXCEPTION);
    assert_int_equal(parse("guest = a.elf\nhv_selftest = vm_bug\n"), 0);
    assert_int_equal(cfg.selftest, SELFTEST_VM_BUG);
    expect_error("guest = a.elf\nhv_selftest = panic\n", "is not exception or vm_bug");
}

static void test_host_timer(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = a.elf\nhost_timer = auto\n"), 0);
    assert_int_equal(cfg.lapic_timer, 0);
    assert_int_equal(parse("guest = a.elf\nhost_timer = lapic\n"), 0);
    assert_int_equal(cfg.lapic_timer, 1);
    expect_error("guest = a.elf\nhost_timer = hpet\n", "host_timer: 'hpet' is not auto or lapic");
}

static void test_modules_in_order(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = k.elf\nmodule = env.txt\nmodule = initrd.img  a=1 b=2\n"), 0);
    assert_int_equal(cfg.nmodules, 2);
    assert_string_equal(cfg.module[0].path, "env.txt");
    assert_string_equal(cfg.module[0].args, "env.txt");
    assert_string_equal(cfg.module[1].path, "initrd.img");
    assert_string_equal(cfg.module[1].args, "initrd.img  a=1 b=2");
    assert_int_equal(parse("guest = k.elf\n"), 0);
    assert_int_equal(cfg.nmodules, 0);
}

static void test_module_errors(void **s)
{
    (void)s;
    expect_error("guest = k\nmodule =\n", "line 2: module: empty path");
    char text[1024] = "guest = k\n";
    for (int i = 0; i <= CONFIG_MODULES_MAX; i++)
        strcat(text, "module = m\n");
    expect_error(text, "line 6: module: more than 4 modules");
}

/* disk = <file> [ro | volatile]: read-only unless the config says the
 * writes may be lost. */
static void test_disk(void **s)
{
    (void)s;
    assert_int_equal(parse("guest = a.elf\n"), 0);
    assert_string_equal(cfg.disk, "");
    assert_int_equal(parse("guest = a.elf\ndisk = disk.img\n"), 0);
    assert_string_equal(cfg.disk, "disk.img");
    assert_int_equal(cfg.disk_volatile, 0);
    assert_int_equal(parse("guest = a.elf\ndisk = d.img ro\n"), 0);
    assert_string_equal(cfg.disk, "d.img");
    assert_int_equal(cfg.disk_volatile, 0);
    assert_int_equal(parse("guest = a.elf\ndisk = d.img   volatile\n"), 0);
    assert_string_equal(cfg.disk, "d.img");
    assert_int_equal(cfg.disk_volatile, 1);
    expect_error("guest = a.elf\ndisk =\n", "line 2: disk: empty path");
    expect_error("guest = a.elf\ndisk = d.img rw\n", "line 2: disk: 'rw' is not ro or volatile");
    expect_error("guest = a.elf\ndisk = a\ndisk = b\n", "line 3: 'disk' given twice");
}

static void test_kernel_and_initrd(void **s)
{
    (void)s;
    assert_int_equal(parse("kernel = bzImage\ninitrd = initrd.cpio.gz\ncmdline = console=ttyS0 quiet\n"), 0);
    assert_string_equal(cfg.guest, "bzImage");
    assert_string_equal(cfg.initrd, "initrd.cpio.gz");
    assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
    assert_int_equal(parse("guest = a.elf\n"), 0);
    assert_string_equal(cfg.initrd, "");
    expect_error("guest = a.elf\nkernel = bzImage\n", "line 2: 'kernel': the guest image is already named");
    expect_error("kernel = bzImage\nguest = a.elf\n", "line 2: 'guest': the guest image is already named");
    expect_error("kernel =\n", "line 1: kernel: empty path");
    expect_error("kernel = b\ninitrd =\n", "line 2: initrd: empty path");
    expect_error("kernel = b\ninitrd = a\ninitrd = b\n", "line 3: 'initrd' given twice");
    expect_error("initrd = a\n", "no 'guest' setting (or 'kernel')");
}

static void test_missing_key(void **s)
{
    (void)s;
    expect_error("= a.elf\n", "missing key");
}

static void test_level_names(void **s)
{
    (void)s;
    assert_string_equal(log_level_name(LOG_ERROR), "error");
    assert_string_equal(log_level_name(LOG_TRACE), "trace");
    assert_string_equal(log_level_name((enum log_level)42), "?");
}

static void test_small_error_buffer_is_terminated(void **s)
{
    (void)s;
    char small[8];
    assert_int_equal(config_parse("bogus = 1\n", 10, &cfg, small, sizeof(small)), -1);
    assert_int_equal(strlen(small), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_uses_defaults),
        cmocka_unit_test(test_kernel_and_initrd),
        cmocka_unit_test(test_disk),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_crlf_and_no_final_newline),
        cmocka_unit_test(test_value_may_contain_equals),
        cmocka_unit_test(test_missing_equals),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_bad_number),
        cmocka_unit_test(test_ram_range),
        cmocka_unit_test(test_bad_log_level),
        cmocka_unit_test(test_missing_guest),
        cmocka_unit_test(test_too_long_values),
        cmocka_unit_test(test_binary_garbage),
        cmocka_unit_test(test_trace_switch),
        cmocka_unit_test(test_host_timer),
        cmocka_unit_test(test_apicv_switch),
        cmocka_unit_test(test_bare_switch),
        cmocka_unit_test(test_selftest),
        cmocka_unit_test(test_test_hooks),
        cmocka_unit_test(test_modules_in_order),
        cmocka_unit_test(test_module_errors),
        cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_small_error_buffer_is_terminated),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
