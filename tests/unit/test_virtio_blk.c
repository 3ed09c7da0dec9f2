/* Unit tests: the virtio block device (drivers/virtio_blk.c) driven as the
 * transport and a guest driver would: virtio_blk_init fills the
 * virtio_dev, requests are chains built in a host buffer of guest RAM
 * (virtq_driver.h), the device runs on queue_notify, and the results are
 * read back from the used ring, the status bytes, the image and the
 * statistics. Covers the configuration space, IN/OUT/FLUSH/GET_ID, every
 * refusal (range, length, read-only, type, malformed chains, segment
 * limit) and the broken-ring and interrupt paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "virtq_driver.h"
#include "../../drivers/virtio_blk.h"

#define RAM_SIZE    0x40000u
#define IMG_SECTORS 64
#define HDR         (DRV_DATA)          /* request header */
#define BUF         (DRV_DATA + 0x1000) /* data */
#define STATUS      (DRV_DATA + 0x800)  /* status byte */

static uint8_t *ram, *img;
static struct virtio_blk blk;
static struct virtio_dev dev;
static struct vdrv drv;

static void start(uint64_t img_size, int read_only)
{
    img = malloc(img_size ? img_size : 1);
    assert_non_null(img);
    for (uint64_t i = 0; i < img_size; i++)
        img[i] = (uint8_t)(i * 7 + (i >> 9));
    virtio_blk_init(&blk, &dev, img, img_size, read_only);
    dev.mem.ram = ram;
    dev.mem.size = RAM_SIZE;
    dev.interrupt = count_irq;
    dev.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                 VIRTIO_STATUS_DRIVER_OK;
    drv_init(&drv, &dev.queue[0], ram, 64);
    n_queue_irq = n_config_irq = 0;
}

static int setup(void **s)
{
    (void)s;
    ram = calloc(1, RAM_SIZE);
    assert_non_null(ram);
    start(IMG_SECTORS * 512, 0);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    free(ram);
    free(img);
    return 0;
}

static void header(uint32_t type, uint64_t sector)
{
    put32(ram, HDR, type);
    put32(ram, HDR + 4, 0);
    put64(ram, HDR + 8, sector);
}

/* Offers one chain, notifies, expects it back: returns its used len. */
static uint32_t run(const struct drv_buf *b, unsigned n)
{
    uint16_t head = drv_chain(&drv, b, n), before = drv_used_idx(&drv);

    drv_offer(&drv, head);
    dev.ops->queue_notify(&dev, 0);
    assert_int_equal(drv_used_idx(&drv), (uint16_t)(before + 1));
    assert_int_equal(drv_used_id(&drv, before), head);
    return drv_used_len(&drv, before);
}

/* The usual three-part request: header, data, status. */
static uint32_t request(uint32_t type, uint64_t sector, uint32_t len, int device_writes)
{
    struct drv_buf b[3] = { { HDR, 16, 0 }, { BUF, len, device_writes }, { STATUS, 1, 1 } };

    header(type, sector);
    ram[STATUS] = 0xEE;
    return len ? run(b, 3) : run((struct drv_buf[]){ b[0], b[2] }, 2);
}

static uint32_t cfg(uint32_t off, unsigned size) { return dev.ops->config_read(&dev, off, size); }

static void test_init_and_config(void **s)
{
    (void)s;
    assert_int_equal(dev.device_id, 2);
    assert_int_equal(dev.features, 1ull << 32 | 1u << 2 | 1u << 6 | 1u << 9);
    assert_int_equal(dev.config_size, 72);
    assert_int_equal(dev.num_queues, 1);
    assert_int_equal(dev.queue[0].max_size, 256);
    assert_ptr_equal(dev.ctx, &blk);
    assert_int_equal(blk.volatile_writes, 1);
    /* Every width at every offset of the little-endian fields. */
    assert_int_equal(cfg(0, 4), IMG_SECTORS);
    assert_int_equal(cfg(4, 4), 0);
    assert_int_equal(cfg(0, 1), IMG_SECTORS);
    assert_int_equal(cfg(0, 2), IMG_SECTORS);
    assert_int_equal(cfg(8, 4), 0); /* size_max: not offered */
    assert_int_equal(cfg(12, 4), 62);
    assert_int_equal(cfg(12, 1), 62);
    assert_int_equal(cfg(13, 1), 0);
    assert_int_equal(cfg(20, 4), 512);
    assert_int_equal(cfg(20, 2), 512);
    assert_int_equal(cfg(21, 1), 2);
    assert_int_equal(cfg(19, 4), 512u << 8); /* straddling geometry and blk_size */
    assert_int_equal(cfg(32, 1), 0);         /* writeback: no CONFIG_WCE */
    assert_int_equal(cfg(34, 2), 1);         /* num_queues */
    for (uint32_t off = 36; off < 72; off++)
        assert_int_equal(cfg(off, 1), 0);
    assert_int_equal(cfg(70, 4), 0); /* past the end reads as 0 */
    /* Writes change nothing and are counted. */
    dev.ops->config_write(&dev, 0, 4, 0xFFFFFFFF);
    dev.ops->config_write(&dev, 32, 1, 1);
    assert_int_equal(cfg(0, 4), IMG_SECTORS);
    assert_int_equal(cfg(32, 1), 0);
    assert_int_equal(dev.errors, 2);
}

static void test_read_only_and_rounding(void **s)
{
    (void)s;
    free(img);
    start(10 * 512 + 100, 1); /* not a multiple of 512: capacity rounds down */
    assert_int_equal(dev.features, 1ull << 32 | 1u << 2 | 1u << 5 | 1u << 6 | 1u << 9);
    assert_int_equal(cfg(0, 4), 10);
    assert_int_equal(blk.capacity, 10);
    assert_int_equal(blk.volatile_writes, 0);
    /* The partial last sector is out of reach. */
    assert_int_equal(request(VIRTIO_BLK_T_IN, 10, 512, 1), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 9, 512, 1), 513);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
}

static void test_read(void **s)
{
    struct drv_buf b[5] = {
        { HDR, 16, 0 },           { BUF, 512, 1 },  { BUF + 0x2000, 1024, 1 },
        { BUF + 0x5000, 512, 1 }, { STATUS, 1, 1 },
    };

    (void)s;
    header(VIRTIO_BLK_T_IN, 3);
    assert_int_equal(run(b, 5), 2049);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
    assert_memory_equal(ram + BUF, img + 3 * 512, 512);
    assert_memory_equal(ram + BUF + 0x2000, img + 4 * 512, 1024);
    assert_memory_equal(ram + BUF + 0x5000, img + 6 * 512, 512);
    assert_int_equal(n_queue_irq, 1);
    assert_int_equal(blk.st.reads, 1);
    assert_int_equal(blk.st.bytes_read, 2048);
    assert_int_equal(dev.errors, 0);
    /* The last sector, exactly. */
    assert_int_equal(request(VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 512, 1), 513);
    assert_memory_equal(ram + BUF, img + (IMG_SECTORS - 1) * 512, 512);
}

static void test_framing_is_free(void **s)
{
    /* Header split in two, data and status in one writable buffer (2.6.4). */
    struct drv_buf b[3] = { { HDR, 5, 0 }, { HDR + 5, 11, 0 }, { BUF, 1025, 1 } };

    (void)s;
    header(VIRTIO_BLK_T_IN, 7);
    ram[BUF + 1024] = 0xEE;
    assert_int_equal(run(b, 3), 1025);
    assert_memory_equal(ram + BUF, img + 7 * 512, 1024);
    assert_int_equal(ram[BUF + 1024], VIRTIO_BLK_S_OK);
    /* Header and write data in one readable buffer. */
    header(VIRTIO_BLK_T_OUT, 1);
    memset(ram + HDR + 16, 0x5A, 512);
    assert_int_equal(run((struct drv_buf[]){ { HDR, 16 + 512, 0 }, { STATUS, 1, 1 } }, 2), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
    assert_int_equal(img[512], 0x5A);
    assert_int_equal(img[1023], 0x5A);
}

static void test_write(void **s)
{
    uint8_t before[IMG_SECTORS * 512];

    (void)s;
    memcpy(before, img, sizeof(before));
    for (unsigned i = 0; i < 1024; i++)
        ram[BUF + i] = (uint8_t)(0xC3 ^ i);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 5, 1024, 0), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
    assert_memory_equal(img + 5 * 512, ram + BUF, 1024);
    assert_memory_equal(img, before, 5 * 512);                      /* nothing before */
    assert_memory_equal(img + 7 * 512, before + 7 * 512, 57 * 512); /* nothing after */
    assert_int_equal(blk.st.writes, 1);
    assert_int_equal(blk.st.bytes_written, 1024);
    /* Read back through the device. */
    memset(ram + BUF, 0, 1024);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 5, 1024, 1), 1025);
    for (unsigned i = 0; i < 1024; i++)
        assert_int_equal(ram[BUF + i], (uint8_t)(0xC3 ^ i));
}

static void test_flush_and_get_id(void **s)
{
    (void)s;
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, 0), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
    assert_int_equal(blk.st.flushes, 1);
    memset(ram + BUF, 0xFF, 32);
    assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 20, 1), 21);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
    assert_memory_equal(ram + BUF, "tinyhv-disk0\0\0\0\0\0\0\0\0", 20);
    assert_int_equal(ram[BUF + 20], 0xFF); /* not one byte more */
    /* A short buffer gets what fits. */
    memset(ram + BUF, 0xFF, 32);
    assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 6, 1), 7);
    assert_memory_equal(ram + BUF, "tinyhv\xFF", 7);
    assert_int_equal(blk.st.get_ids, 2);
    assert_int_equal(dev.errors, 0);
}

static void test_out_of_range(void **s)
{
    static const struct {
        uint64_t sector;
        uint32_t len;
    } cases[] = {
        { IMG_SECTORS, 512 },        /* just past the end */
        { IMG_SECTORS - 1, 1024 },   /* straddles the end */
        { IMG_SECTORS + 1000, 0 },   /* empty, but beyond */
        { UINT64_MAX, 512 },         /* sector * 512 wraps */
        { 1ull << 55, 512 },         /* sector * 512 wraps to 0 */
        { UINT64_MAX / 512 + 1, 0 }, /* also */
    };

    (void)s;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int out = 0; out < 2; out++) {
            memset(ram + BUF, 0x77, 1024);
            assert_int_equal(
                request(out ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, cases[i].sector, cases[i].len, !out), 1);
            assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
            assert_int_equal(ram[BUF], 0x77); /* no data moved */
        }
    }
    assert_int_equal(blk.st.ioerr, 12);
    assert_int_equal(dev.errors, 12);
    assert_non_null(strstr(dev.last_error, "capacity"));
    assert_int_equal(blk.st.reads + blk.st.writes, 0);
    assert_int_equal(dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0); /* refused, not broken */
}

static void test_length_not_sector_multiple(void **s)
{
    (void)s;
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 511, 1), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 513, 0), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
    assert_non_null(strstr(dev.last_error, "multiple of 512"));
    assert_int_equal(dev.errors, 2);
}

static void test_read_only_write_refused(void **s)
{
    uint8_t before[IMG_SECTORS * 512];

    (void)s;
    free(img);
    start(IMG_SECTORS * 512, 1);
    memcpy(before, img, sizeof(before));
    memset(ram + BUF, 0x11, 512);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 512, 0), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
    assert_memory_equal(img, before, sizeof(before));
    assert_int_equal(dev.errors, 1); /* once */
    assert_string_equal(dev.last_error, "virtio-blk write to a read-only disk");
    assert_int_equal(blk.st.writes, 0);
    /* Reads, flush and get-id still work. */
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512, 1), 513);
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, 0), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
    assert_int_equal(dev.errors, 1);
}

static void test_unsupported_type(void **s)
{
    static const uint32_t types[] = { 2, 3, 5, 7, 9, 10, 11, 13, 14, 0x80000000u, 0xFFFFFFFFu };

    (void)s;
    for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        assert_int_equal(request(types[i], 0, 512, 1), 1);
        assert_int_equal(ram[STATUS], VIRTIO_BLK_S_UNSUPP);
    }
    assert_int_equal(blk.st.unsupported, 11);
    assert_int_equal(dev.errors, 11);
}

static void test_malformed_chains(void **s)
{
    (void)s;
    header(VIRTIO_BLK_T_IN, 0);
    /* Header too short. */
    ram[STATUS] = 0xEE;
    assert_int_equal(run((struct drv_buf[]){ { HDR, 8, 0 }, { BUF, 512, 1 }, { STATUS, 1, 1 } }, 3), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
    /* Header in a device-writable segment (so the header is missing). */
    ram[STATUS] = 0xEE;
    assert_int_equal(run((struct drv_buf[]){ { HDR, 16, 1 }, { BUF, 512, 1 }, { STATUS, 1, 1 } }, 3), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
    assert_int_equal(get32(ram, HDR), VIRTIO_BLK_T_IN); /* and not written */
    /* A readable segment after a writable one. */
    ram[STATUS] = 0xEE;
    assert_int_equal(
        run((struct drv_buf[]){ { HDR, 16, 0 }, { BUF, 512, 1 }, { BUF + 512, 512, 0 }, { STATUS, 1, 1 } },
            4),
        1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
    assert_int_equal(blk.st.ioerr, 3);
    /* Status segment device-readable: nowhere to report, written = 0. */
    ram[STATUS] = 0xEE;
    assert_int_equal(run((struct drv_buf[]){ { HDR, 16, 0 }, { BUF, 512, 1 }, { STATUS, 1, 0 } }, 3), 0);
    assert_int_equal(ram[STATUS], 0xEE);
    /* Only a header. */
    assert_int_equal(run((struct drv_buf[]){ { HDR, 16, 0 } }, 1), 0);
    /* Status segment empty. */
    assert_int_equal(run((struct drv_buf[]){ { HDR, 16, 0 }, { STATUS, 0, 1 } }, 2), 0);
    assert_int_equal(ram[STATUS], 0xEE);
    assert_int_equal(blk.st.no_status, 3);
    assert_int_equal(dev.errors, 6);
    assert_int_equal(blk.st.reads, 0);
    assert_int_equal(dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

static void test_segment_limit(void **s)
{
    struct drv_buf b[VIRTQ_MAX_SEGS + 1];

    (void)s;
    drv_init(&drv, &dev.queue[0], ram, 128); /* room for a chain of 65 */
    header(VIRTIO_BLK_T_IN, 0);
    b[0] = (struct drv_buf){ HDR, 16, 0 };
    for (unsigned i = 1; i < VIRTQ_MAX_SEGS; i++)
        b[i] = (struct drv_buf){ BUF + 512 * (i - 1), 512, 1 };
    b[VIRTQ_MAX_SEGS] = (struct drv_buf){ STATUS, 1, 1 };
    /* seg_max data segments + header + status: served. */
    memmove(&b[VIRTIO_BLK_SEG_MAX + 1], &b[VIRTQ_MAX_SEGS], sizeof(b[0]));
    ram[STATUS] = 0xEE;
    assert_int_equal(run(b, VIRTIO_BLK_SEG_MAX + 2), 62 * 512 + 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
    /* One more data segment: refused, the status still reported. */
    b[VIRTIO_BLK_SEG_MAX + 1] = (struct drv_buf){ BUF + 512 * 62, 512, 1 };
    b[VIRTIO_BLK_SEG_MAX + 2] = (struct drv_buf){ STATUS, 1, 1 };
    memset(ram + BUF, 0x77, 512);
    ram[STATUS] = 0xEE;
    assert_int_equal(run(b, VIRTIO_BLK_SEG_MAX + 3), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
    assert_int_equal(ram[BUF], 0x77);
    assert_non_null(strstr(dev.last_error, "seg_max"));
    assert_int_equal(dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

static void test_broken_ring(void **s)
{
    (void)s;
    /* A loop: the device needs a reset, tells the driver once, and ignores
     * the queue until then. */
    drv_desc(&drv, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    drv_desc(&drv, 1, BUF, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
    drv_offer(&drv, 0);
    dev.ops->queue_notify(&dev, 0);
    assert_true(dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(n_config_irq, 1);
    assert_int_equal(n_queue_irq, 0);
    assert_int_equal(drv_used_idx(&drv), 0);
    assert_int_equal(blk.st.broken, 1);
    assert_int_equal(dev.errors, 1);
    assert_non_null(strstr(dev.last_error, "loop"));
    dev.ops->queue_notify(&dev, 0);
    assert_int_equal(blk.st.ignored_notifies, 1);
    assert_int_equal(dev.errors, 1);
    assert_int_equal(n_config_irq, 1);
}

static void test_chains_before_a_broken_one_complete(void **s)
{
    (void)s;
    header(VIRTIO_BLK_T_FLUSH, 0);
    drv_offer(&drv, drv_chain(&drv, (struct drv_buf[]){ { HDR, 16, 0 }, { STATUS, 1, 1 } }, 2));
    drv_desc(&drv, 10, (uint64_t)RAM_SIZE - 8, 16, 0, 0); /* outside RAM */
    drv_offer(&drv, 10);
    dev.ops->queue_notify(&dev, 0);
    assert_int_equal(drv_used_idx(&drv), 1);
    assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
    assert_int_equal(n_queue_irq, 1); /* the completed one is announced */
    assert_int_equal(n_config_irq, 1);
    assert_non_null(strstr(dev.last_error, "outside guest RAM"));
}

static void test_batch_and_no_interrupt(void **s)
{
    (void)s;
    header(VIRTIO_BLK_T_FLUSH, 0);
    for (unsigned i = 0; i < 5; i++)
        drv_offer(&drv, drv_chain(&drv, (struct drv_buf[]){ { HDR, 16, 0 }, { STATUS + i, 1, 1 } }, 2));
    dev.ops->queue_notify(&dev, 0);
    assert_int_equal(drv_used_idx(&drv), 5);
    assert_int_equal(n_queue_irq, 1); /* one interrupt for the batch */
    for (uint16_t i = 0; i < 5; i++) {
        assert_int_equal(drv_used_id(&drv, i), 2 * i);
        assert_int_equal(drv_used_len(&drv, i), 1);
        assert_int_equal(ram[STATUS + i], VIRTIO_BLK_S_OK);
    }
    /* The driver asks for no interrupts: the used ring is still updated. */
    put16(ram, DRV_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512, 1), 513);
    assert_int_equal(n_queue_irq, 1);
    put16(ram, DRV_AVAIL, 0);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512, 1), 513);
    assert_int_equal(n_queue_irq, 2);
    /* A notify with nothing new: no interrupt. */
    dev.ops->queue_notify(&dev, 0);
    assert_int_equal(n_queue_irq, 2);
    /* A notify of a queue the device does not have. */
    dev.ops->queue_notify(&dev, 1);
    assert_int_equal(blk.st.ignored_notifies, 1);
    assert_int_equal(dev.errors, 1);
}

static void test_full_ring_in_one_notify(void **s)
{
    (void)s;
    header(VIRTIO_BLK_T_FLUSH, 0);
    for (unsigned i = 0; i < 64; i++) {
        drv.next_desc = 0; /* each chain reuses descriptors 0 and 1 */
        drv_offer(&drv, drv_chain(&drv, (struct drv_buf[]){ { HDR, 16, 0 }, { STATUS, 1, 1 } }, 2));
    }
    dev.ops->queue_notify(&dev, 0);
    assert_int_equal(drv_used_idx(&drv), 64);
    assert_int_equal(blk.st.flushes, 64);
    assert_int_equal(n_queue_irq, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_and_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_and_rounding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framing_is_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_and_get_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_not_sector_multiple, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_write_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chains_before_a_broken_one_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_and_no_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_ring_in_one_notify, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
