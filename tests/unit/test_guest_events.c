/* Unit tests: the limiter of guest-triggered log lines (vmx/guest_events.c)
 * through the real log (drivers/log.c), with the UART replaced by a buffer
 * of lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../drivers/log.h"
#include "../../drivers/uart.h"
#include "../../vmx/vm.h"

static char lines[64][160];
static unsigned nlines, col;

void uart_write(const char *s, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        uart_putc(s[i]);
}

void uart_putc(char c)
{
    if (nlines >= 64)
        return;
    if (c == '\n') {
        lines[nlines++][col] = 0;
        col = 0;
    } else if (col < sizeof(lines[0]) - 1) {
        lines[nlines][col++] = c;
    }
}

static struct vm vm;

static int setup(void **s)
{
    (void)s;
    memset(&vm, 0, sizeof(vm));
    nlines = col = 0;
    log_set_level(LOG_INFO);
    return 0;
}

static unsigned count_lines(const char *fragment)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nlines; i++)
        n += strstr(lines[i], fragment) != NULL;
    return n;
}

static void test_burst_then_counted(void **s)
{
    (void)s;
    for (unsigned i = 0; i < 25; i++)
        guest_event(&vm, GUEST_UNKNOWN_MSR, "vmx", "guest RDMSR 0x%x: unknown MSR", i);
    assert_int_equal(count_lines("unknown MSR"), GUEST_EVENT_BURST);
    assert_string_equal(lines[0], "vmx: warning: guest RDMSR 0x0: unknown MSR");
    assert_int_equal(vm.guest_events.n[GUEST_UNKNOWN_MSR], 25);
    guest_events_print_suppressed(&vm);
    assert_string_equal(lines[nlines - 1], "vmx: warning: 15 more unknown-MSR accesses suppressed");
}

static void test_kinds_are_separate(void **s)
{
    (void)s;
    for (unsigned i = 0; i < GUEST_EVENT_BURST; i++)
        guest_event(&vm, GUEST_UNCLAIMED_PORT, "vmx", "port %u", i);
    guest_event(&vm, GUEST_UNKNOWN_HYPERCALL, "vmx", "unknown hypercall 7");
    assert_int_equal(nlines, GUEST_EVENT_BURST + 1);
    nlines = 0;
    guest_events_print_suppressed(&vm); /* nobody went past the burst */
    assert_int_equal(nlines, 0);
    guest_events_print_stats(&vm);
    assert_int_equal(count_lines("unclaimed port accesses"), 1);
    assert_int_equal(count_lines(", 0 suppressed"), 2);
}

static void test_counted_below_the_log_level(void **s)
{
    (void)s;
    log_set_level(LOG_ERROR);
    for (unsigned i = 0; i < 12; i++)
        guest_event(&vm, GUEST_INIT_SIPI, "irq", "INIT");
    assert_int_equal(nlines, 0);
    assert_int_equal(vm.guest_events.n[GUEST_INIT_SIPI], 12);
    guest_events_print_suppressed(&vm);
    guest_events_print_stats(&vm);
    assert_int_equal(nlines, 0);
    log_status("hv", "guest exited status=%u", 0); /* the final line: at every level */
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "hv: guest exited status=0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_burst_then_counted, setup),
        cmocka_unit_test_setup(test_kinds_are_separate, setup),
        cmocka_unit_test_setup(test_counted_below_the_log_level, setup),
    };
    return cmocka_run_group_tests_name("guest_events", tests, NULL, NULL);
}
