/* Unit tests: the interrupt trace's binary ring (drivers/trace_ring.c):
 * records in order, a full ring drops the oldest and counts them, it never
 * writes outside its records, and the dump says all that in text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../drivers/trace_ring.h"

#define SIZE 8
/* Guards either side of the records: a write outside them shows. */
static struct {
    struct trace_rec before, rec[SIZE], after;
} mem;
static struct trace_ring ring;

static char out[64][160];
static int nout;
static void sink(void *ctx, const char *s)
{
    (void)ctx;
    if (nout < 64)
        snprintf(out[nout], sizeof(out[0]), "%s", s);
    nout++;
}

static int setup(void **s)
{
    (void)s;
    memset(&mem, 0x5a, sizeof(mem));
    trace_ring_init(&ring, mem.rec, SIZE);
    nout = 0;
    return 0;
}

static void put_n(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        trace_put(&ring, 1000 + i, i % 3, i, 2 * i, 3 * i);
}

static void guards_intact(void)
{
    struct trace_rec g;
    memset(&g, 0x5a, sizeof(g));
    assert_memory_equal(&mem.before, &g, sizeof(g));
    assert_memory_equal(&mem.after, &g, sizeof(g));
}

static void test_records_in_order(void **s)
{
    (void)s;
    put_n(5);
    assert_int_equal(trace_ring_held(&ring), 5);
    assert_int_equal(trace_ring_dropped(&ring), 0);
    for (unsigned i = 0; i < 5; i++) {
        const struct trace_rec *p = trace_ring_at(&ring, i);
        assert_int_equal(p->tsc_lo, 1000 + i);
        assert_int_equal(p->tsc_hi, 0);
        assert_int_equal(p->ev, i % 3);
        assert_int_equal(p->a, i);
        assert_int_equal(p->b, 2 * i);
        assert_int_equal(p->c, 3 * i);
    }
    guards_intact();
}

static void test_full_ring_drops_the_oldest(void **s)
{
    (void)s;
    put_n(SIZE * 3 + 3); /* wraps three times and a bit */
    assert_int_equal(trace_ring_held(&ring), SIZE);
    assert_int_equal(trace_ring_dropped(&ring), SIZE * 2 + 3);
    /* The newest SIZE records remain, oldest first. */
    for (unsigned i = 0; i < SIZE; i++)
        assert_int_equal(trace_ring_at(&ring, i)->tsc_lo, 1000 + SIZE * 2 + 3 + i);
    guards_intact();
}

static void test_bad_size_writes_nothing(void **s)
{
    (void)s;
    trace_ring_init(&ring, mem.rec, 6); /* not a power of two: the ring stays off */
    put_n(20);
    assert_int_equal(trace_ring_held(&ring), 0);
    struct trace_rec g;
    memset(&g, 0x5a, sizeof(g));
    for (unsigned i = 0; i < SIZE; i++)
        assert_memory_equal(&mem.rec[i], &g, sizeof(g));
    trace_ring_init(&ring, NULL, 8);
    put_n(3);
    assert_int_equal(trace_ring_held(&ring), 0);
}

static void test_dump(void **s)
{
    (void)s;
    static const char *const names[] = { "irq_set", NULL, "inject" };
    put_n(SIZE + 2);
    trace_put(&ring, 0x123456789abull, 1, 0, 0, 0); /* the high half of the TSC too */
    trace_ring_dump(&ring, 200000000, 0x10, names, 3, sink, NULL);
    assert_int_equal(nout, SIZE + 3);
    assert_string_equal(out[0], "tinyhv-trace begin v1 tsc_hz=200000000 tsc_offset=10 held=8 dropped=3");
    assert_string_equal(out[1], "tinyhv-trace names irq_set,ev1,inject");
    /* record 3 (the oldest kept): tsc 1003, ev 0, a 3, b 6, c 9 */
    assert_string_equal(out[2], "tinyhv-trace 3eb 0 3 6 9");
    assert_string_equal(out[SIZE + 1], "tinyhv-trace 123456789ab 1 0 0 0");
    assert_string_equal(out[SIZE + 2], "tinyhv-trace end");
}

static void test_long_name_list_continues(void **s)
{
    (void)s;
    const char *names[40];
    for (int i = 0; i < 40; i++)
        names[i] = "a_rather_long_event_name";
    trace_ring_dump(&ring, 1, 0, names, 40, sink, NULL);
    int cont = 0;
    for (int i = 0; i < nout && i < 64; i++) {
        assert_true(strlen(out[i]) < 160);
        cont += !strncmp(out[i], "tinyhv-trace names+ ", 20);
    }
    assert_true(cont >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_records_in_order, setup),
        cmocka_unit_test_setup(test_full_ring_drops_the_oldest, setup),
        cmocka_unit_test_setup(test_bad_size_writes_nothing, setup),
        cmocka_unit_test_setup(test_dump, setup),
        cmocka_unit_test_setup(test_long_name_list_continues, setup),
    };
    return cmocka_run_group_tests_name("trace_ring", tests, NULL, NULL);
}
