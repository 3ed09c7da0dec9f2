/* Unit tests: the device side of the split virtqueue (drivers/virtq.c) and
 * the common error paths (drivers/virtio.c), against rings a driver builds
 * in a host buffer (virtq_driver.h). The hostile cases of issue 13 part 4:
 * loops, descriptors outside RAM (wrapping addr + len too), rings outside
 * RAM, chains longer than the queue and than the segment limit, an avail
 * idx jump, bad indices, INDIRECT; and the used ring and interrupt
 * suppression a well-behaved driver relies on. RAM is allocated at its
 * exact size, so ASan reports any access past it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "virtq_driver.h"

#define RAM_SIZE 0x10000u

static uint8_t *ram;
static struct virtio_mem mem;
static struct virtq q;
static struct vdrv drv;
static struct virtq_chain chain;

static int setup(void **s)
{
    (void)s;
    ram = calloc(1, RAM_SIZE);
    assert_non_null(ram);
    mem.ram = ram;
    mem.size = RAM_SIZE;
    memset(&q, 0, sizeof(q));
    q.max_size = 256;
    virtq_reset(&q);
    drv_init(&drv, &q, ram, 16);
    memset(&chain, 0xA5, sizeof(chain));
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    free(ram);
    return 0;
}

static int pop(const char **why)
{
    const char *w = "untouched";
    int r = virtq_pop(&q, &mem, &chain, &w);

    if (why)
        *why = w;
    return r;
}

/* Pops and expects a broken ring whose reason contains `words`. */
static void expect_broken(const char *words)
{
    const char *why;
    uint16_t last = q.last_avail;

    assert_int_equal(pop(&why), -1);
    assert_non_null(why);
    assert_non_null(strstr(why, words));
    assert_int_equal(q.last_avail, last); /* nothing taken */
}

static void test_reset_state(void **s)
{
    (void)s;
    q.size = 8;
    q.msix_vector = 3;
    q.last_avail = 5;
    q.used_idx = 7;
    virtq_reset(&q);
    assert_int_equal(q.size, 256);
    assert_int_equal(q.msix_vector, VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(q.enabled, 0);
    assert_int_equal(q.desc | q.avail | q.used, 0);
    assert_int_equal(q.last_avail, 0);
    assert_int_equal(q.used_idx, 0);
}

static void test_pop_one_chain(void **s)
{
    struct drv_buf b[3] = { { DRV_DATA, 16, 0 }, { DRV_DATA + 0x100, 512, 1 }, { DRV_DATA + 0x400, 1, 1 } };

    (void)s;
    assert_int_equal(pop(NULL), 0); /* nothing offered yet */
    drv_offer(&drv, drv_chain(&drv, b, 3));
    assert_int_equal(pop(NULL), 1);
    assert_int_equal(chain.head, 0);
    assert_int_equal(chain.nseg, 3);
    assert_int_equal(chain.truncated, 0);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(chain.seg[i].gpa, b[i].gpa);
        assert_int_equal(chain.seg[i].len, b[i].len);
        assert_int_equal(chain.seg[i].device_writes, b[i].device_writes);
    }
    assert_int_equal(q.last_avail, 1);
    assert_int_equal(pop(NULL), 0); /* taken once only */
}

static void test_disabled_queue(void **s)
{
    struct drv_buf b = { DRV_DATA, 16, 0 };

    (void)s;
    drv_offer(&drv, drv_chain(&drv, &b, 1));
    q.enabled = 0;
    assert_int_equal(pop(NULL), 0);
    q.enabled = 1;
    assert_int_equal(pop(NULL), 1);
}

static void test_push_used_ring(void **s)
{
    struct drv_buf b = { DRV_DATA, 16, 1 };

    (void)s;
    for (unsigned n = 0; n < 40; n++) { /* 2.5 times round a ring of 16 */
        drv_offer(&drv, drv_chain(&drv, &b, 1));
        assert_int_equal(pop(NULL), 1);
        virtq_push(&q, &mem, chain.head, 0x01020300u + n);
        assert_int_equal(drv_used_idx(&drv), n + 1);
        assert_int_equal(drv_used_id(&drv, (uint16_t)n), chain.head);
        assert_int_equal(drv_used_len(&drv, (uint16_t)n), 0x01020300u + n);
    }
    /* Little-endian bytes at the right slot: entry 40 % 16 = 8. */
    virtq_push(&q, &mem, 0x0A0B, 0x11223344);
    assert_memory_equal(ram + DRV_USED + 4 + 8 * 8, "\x0B\x0A\x00\x00\x44\x33\x22\x11", 8);
    assert_memory_equal(ram + DRV_USED + 2, "\x29\x00", 2);
}

static void test_indices_wrap_at_65536(void **s)
{
    struct drv_buf b = { DRV_DATA, 8, 0 };

    (void)s;
    q.last_avail = q.used_idx = 0xFFFE;
    drv.avail_idx = 0xFFFE;
    for (unsigned n = 0; n < 4; n++) {
        drv_offer(&drv, drv_chain(&drv, &b, 1));
        assert_int_equal(pop(NULL), 1);
        virtq_push(&q, &mem, chain.head, 1);
    }
    assert_int_equal(q.last_avail, 2);
    assert_int_equal(drv_used_idx(&drv), 2);
}

static void test_avail_idx_jump(void **s)
{
    struct drv_buf b = { DRV_DATA, 8, 0 };

    (void)s;
    for (unsigned n = 0; n < 16; n++)
        drv_offer(&drv, drv_chain(&drv, &b, 1));
    assert_int_equal(pop(NULL), 1); /* exactly size ahead is a full ring, fine */
    put16(ram, DRV_AVAIL + 2, (uint16_t)(q.last_avail + 17));
    expect_broken("avail idx");
    put16(ram, DRV_AVAIL + 2, (uint16_t)(q.last_avail - 1)); /* behind = 65535 ahead */
    expect_broken("avail idx");
}

static void test_bad_indices(void **s)
{
    (void)s;
    drv_offer(&drv, 16); /* head beyond the queue */
    expect_broken("head descriptor index");
    put16(ram, DRV_AVAIL + 4, 2); /* head 2 -> next 16 */
    drv_desc(&drv, 2, DRV_DATA, 8, VIRTQ_DESC_F_NEXT, 16);
    expect_broken("next descriptor index");
    drv_desc(&drv, 2, DRV_DATA, 8, VIRTQ_DESC_F_NEXT, 0xFFFF);
    expect_broken("next descriptor index");
}

static void test_loops(void **s)
{
    (void)s;
    drv_desc(&drv, 0, DRV_DATA, 8, VIRTQ_DESC_F_NEXT, 0); /* to itself */
    drv_offer(&drv, 0);
    expect_broken("loop");
    drv_desc(&drv, 0, DRV_DATA, 8, VIRTQ_DESC_F_NEXT, 5); /* 0 -> 5 -> 9 -> 5 */
    drv_desc(&drv, 5, DRV_DATA, 8, VIRTQ_DESC_F_NEXT, 9);
    drv_desc(&drv, 9, DRV_DATA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
    expect_broken("loop");
}

static void test_chain_of_queue_size(void **s)
{
    struct drv_buf b[17];

    (void)s;
    for (unsigned i = 0; i < 17; i++)
        b[i] = (struct drv_buf){ DRV_DATA + i, 1, i >= 8 };
    drv_offer(&drv, drv_chain(&drv, b, 16)); /* every descriptor once: no loop */
    assert_int_equal(pop(NULL), 1);
    assert_int_equal(chain.nseg, 16);
    /* 17 in a queue of 16 means one repeats: descriptor 15 pointing back to 0. */
    drv_desc(&drv, 15, DRV_DATA, 1, VIRTQ_DESC_F_NEXT, 0);
    drv_offer(&drv, 0);
    expect_broken("longer than the queue");
}

static void test_segment_limit(void **s)
{
    struct drv_buf b[100];

    (void)s;
    drv_init(&drv, &q, ram, 128);
    for (unsigned i = 0; i < 100; i++)
        b[i] = (struct drv_buf){ DRV_DATA + 8 * i, 8, i == 99 };
    drv_offer(&drv, drv_chain(&drv, b, VIRTQ_MAX_SEGS)); /* at the limit */
    assert_int_equal(pop(NULL), 1);
    assert_int_equal(chain.nseg, VIRTQ_MAX_SEGS);
    assert_int_equal(chain.truncated, 0);
    assert_int_equal(chain.seg[VIRTQ_MAX_SEGS - 1].gpa, b[VIRTQ_MAX_SEGS - 1].gpa);

    drv_offer(&drv, drv_chain(&drv, b, 100)); /* over: taken, marked, last kept */
    assert_int_equal(pop(NULL), 1);
    assert_int_equal(chain.head, VIRTQ_MAX_SEGS);
    assert_int_equal(chain.nseg, VIRTQ_MAX_SEGS);
    assert_int_equal(chain.truncated, 1);
    assert_int_equal(chain.seg[VIRTQ_MAX_SEGS - 2].gpa, b[VIRTQ_MAX_SEGS - 2].gpa);
    assert_int_equal(chain.seg[VIRTQ_MAX_SEGS - 1].gpa, b[99].gpa);
    assert_int_equal(chain.seg[VIRTQ_MAX_SEGS - 1].device_writes, 1);

    /* Over the limit, every descriptor is still checked: one outside RAM
     * past the 64th breaks the ring. */
    b[80].gpa = RAM_SIZE;
    drv.next_desc = 0;
    drv_offer(&drv, drv_chain(&drv, b, 100));
    expect_broken("outside guest RAM");
}

static void test_buffers_outside_ram(void **s)
{
    static const struct {
        uint64_t gpa;
        uint32_t len;
        int ok;
    } cases[] = {
        { RAM_SIZE - 16, 16, 1 },                        /* ends at the last byte */
        { RAM_SIZE - 16, 17, 0 },                        /* one byte over */
        { RAM_SIZE, 1, 0 },                              /* starts past the end */
        { RAM_SIZE, 0, 1 },                              /* empty, at the end: names no byte */
        { RAM_SIZE + 1, 0, 0 },                          /* empty, but beyond */
        { UINT64_MAX - 15, 32, 0 },                      /* addr + len wraps to 16 */
        { UINT64_MAX, 0xFFFFFFFFu, 0 },                  /* wraps to just below 2^32 */
        { 0x8000000000000000ull, 0x100, 0 },             /* far away */
        { (uint64_t) - (int64_t)RAM_SIZE, RAM_SIZE, 0 }, /* wraps exactly to 0 */
    };

    (void)s;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct drv_buf b[2] = { { DRV_DATA, 16, 0 }, { cases[i].gpa, cases[i].len, 1 } };

        drv_offer(&drv, drv_chain(&drv, b, 2));
        if (cases[i].ok) {
            assert_int_equal(pop(NULL), 1);
            assert_int_equal(chain.seg[1].gpa, cases[i].gpa);
        } else {
            expect_broken("descriptor buffer outside guest RAM");
            q.last_avail++; /* step over it, as after a reset */
        }
    }
}

static void test_rings_outside_ram(void **s)
{
    struct drv_buf b = { DRV_DATA, 8, 0 };

    (void)s;
    drv_offer(&drv, drv_chain(&drv, &b, 1));
    q.desc = RAM_SIZE - 16 * 16 + 1;
    expect_broken("descriptor table");
    q.desc = DRV_DESC;
    q.avail = RAM_SIZE - (4 + 2 * 16) + 1;
    expect_broken("available ring");
    q.avail = UINT64_MAX - 2; /* wraps */
    expect_broken("available ring");
    q.avail = DRV_AVAIL;
    q.used = RAM_SIZE - (4 + 8 * 16) + 1;
    expect_broken("used ring");
    q.used = RAM_SIZE - (4 + 8 * 16); /* the last fit: fine (no avail_event without EVENT_IDX) */
    assert_int_equal(pop(NULL), 1);
    virtq_push(&q, &mem, chain.head, 1);
    assert_int_equal(get16(ram, RAM_SIZE - (8 * 16 + 2)), 1);
}

static void test_indirect_refused(void **s)
{
    (void)s;
    drv_desc(&drv, 0, DRV_DATA, 32, VIRTQ_DESC_F_INDIRECT, 0);
    drv_offer(&drv, 0);
    expect_broken("indirect");
    drv_desc(&drv, 0, DRV_DATA, 32, VIRTQ_DESC_F_NEXT, 1);
    drv_desc(&drv, 1, DRV_DATA, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
    expect_broken("indirect");
}

static void test_zero_length_descriptor(void **s)
{
    struct drv_buf b[3] = { { DRV_DATA, 16, 0 }, { DRV_DATA + 64, 0, 1 }, { DRV_DATA + 128, 1, 1 } };

    (void)s;
    drv_offer(&drv, drv_chain(&drv, b, 3));
    assert_int_equal(pop(NULL), 1);
    assert_int_equal(chain.nseg, 3);
    assert_int_equal(chain.seg[1].len, 0);
}

static void test_no_interrupt_flag(void **s)
{
    (void)s;
    assert_int_equal(virtq_should_interrupt(&q, &mem), 1);
    put16(ram, DRV_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert_int_equal(virtq_should_interrupt(&q, &mem), 0);
    put16(ram, DRV_AVAIL, 0xFFFE); /* other bits mean nothing */
    assert_int_equal(virtq_should_interrupt(&q, &mem), 1);
    q.avail = RAM_SIZE - 2; /* flags unreadable: interrupt rather than hang */
    assert_int_equal(virtq_should_interrupt(&q, &mem), 1);
}

static void test_dev_broken_and_error(void **s)
{
    struct virtio_dev d;

    (void)s;
    memset(&d, 0, sizeof(d));
    d.interrupt = count_irq;
    d.status = VIRTIO_STATUS_DRIVER_OK;
    n_config_irq = n_queue_irq = 0;
    virtio_dev_error(&d, "refused");
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.last_error, "refused");
    assert_int_equal(d.status, VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(n_config_irq, 0);
    virtio_dev_broken(&d, "a loop");
    assert_int_equal(d.errors, 2);
    assert_string_equal(d.last_error, "a loop");
    assert_int_equal(d.status, VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(n_config_irq, 1);
    virtio_dev_broken(&d, "again");
    assert_int_equal(d.errors, 3);
    assert_int_equal(n_config_irq, 1); /* told once */
    assert_int_equal(n_queue_irq, 0);
    d.interrupt = 0;
    d.status = 0;
    virtio_dev_broken(&d, "no transport attached"); /* must not crash */
    assert_int_equal(d.errors, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pop_one_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_used_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indices_wrap_at_65536, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_idx_jump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_indices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_of_queue_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffers_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rings_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_descriptor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_broken_and_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
