/* libFuzzer target: the split virtqueue (drivers/virtq.c) and the virtio
 * block device behind it (drivers/virtio_blk.c), driven by a hostile
 * driver. The input picks the size of guest RAM and of the disk image
 * (both allocated at their exact size, so ASan traps any byte touched
 * outside them), the queue size, the three ring addresses (anywhere, in
 * RAM or not) and the starting indices, then a stream of operations:
 * raw writes into RAM, descriptor writes, offering heads (or jumping
 * avail->idx), notifies, chains popped and served one by one, config
 * reads and writes, device resets.
 *
 * Invariants, checked after every operation (a broken one traps):
 * - a notify pushes exactly the chains it popped, at most a queue's worth;
 *   the used idx in RAM follows the device's copy;
 * - the bytes a request reports written never exceed the chain's
 *   device-writable length, and its status byte holds S_OK, S_IOERR or
 *   S_UNSUPP;
 * - every request is counted in exactly one statistic, and the device's
 *   error count is the sum of the refusals and broken rings;
 * - DEVICE_NEEDS_RESET is set exactly when a ring was found broken since
 *   the last reset;
 * - at the end, the image's bytes past its capacity (a partial last
 *   sector), and all of a read-only image, are as they were. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/x86/bytes.h"
#include "../../drivers/virtio_blk.h"
#include "fuzz_input.h"

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static uint16_t take16(struct fuzz_input *in)
{
    uint16_t lo = take8(in);

    return (uint16_t)(lo | take8(in) << 8);
}

/* A guest-physical address: mostly inside RAM, sometimes anywhere. */
static uint64_t take_gpa(struct fuzz_input *in, uint64_t ram_size)
{
    uint8_t how = take8(in);

    if (how < 0xF0)
        return take16(in) % (ram_size + 64); /* near RAM, a little past its end too */
    return take64(in);
}

static int in_ram(uint64_t ram_size, uint64_t gpa, uint64_t len)
{
    return len <= ram_size && gpa <= ram_size - len;
}

struct counts {
    uint64_t irq_queue, irq_config, requests, config_writes, bad_notifies;
};

static void f_irq(void *transport, struct virtio_dev *d, int q)
{
    struct counts *c = transport;

    (void)d;
    if (q == VIRTIO_CONFIG_IRQ)
        c->irq_config++;
    else
        c->irq_queue++;
}

static uint64_t handled(const struct virtio_blk_stats *st)
{
    return st->reads + st->writes + st->flushes + st->get_ids + st->unsupported + st->ioerr + st->no_status;
}

/* One chain popped here rather than by queue_notify: its writable length
 * is known, so `written` can be held to it. */
static void serve_one(struct virtio_blk *b, struct virtio_dev *d, struct virtq_chain *c)
{
    struct virtq *q = &d->queue[0];
    const char *why;
    uint64_t wlen = 0;
    uint32_t written;
    int r;

    r = virtq_pop(q, &d->mem, c, &why);
    check(r >= -1 && r <= 1);
    if (r < 0) {
        check(why != 0);
        b->st.broken++;
        virtio_dev_broken(d, why);
        return;
    }
    if (!r)
        return;
    check(c->nseg >= 1 && c->nseg <= VIRTQ_MAX_SEGS);
    for (unsigned i = 0; i < c->nseg; i++) {
        check(in_ram(d->mem.size, c->seg[i].gpa, c->seg[i].len));
        if (c->seg[i].device_writes)
            wlen += c->seg[i].len;
    }
    written = virtio_blk_request(b, c);
    check(written <= wlen);
    if (written) {
        const struct virtq_seg *last = &c->seg[c->nseg - 1];
        uint8_t status = d->mem.ram[last->gpa + last->len - 1];

        check(last->device_writes);
        check(status == VIRTIO_BLK_S_OK || status == VIRTIO_BLK_S_IOERR || status == VIRTIO_BLK_S_UNSUPP);
    }
    virtq_push(q, &d->mem, c->head, written);
}

static const uint8_t sizes[4] = { 1, 2, 4, 3 };
static struct virtio_blk b;
static struct virtio_dev d;
static struct virtq_chain chain;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct counts cnt;
    struct virtq *q = &d.queue[0];
    uint64_t ram_size = 1 + take16(&in) % 8192, img_size = take16(&in) % 16384;
    uint8_t flags = take8(&in);
    uint8_t *ram = malloc(ram_size), *img = malloc(img_size ? img_size : 1);
    uint64_t broken_since_reset = 0;
    uint16_t avail_idx;

    check(ram && img);
    memset(ram, 0, ram_size);
    memset(img, 0x5A, img_size);
    memset(&cnt, 0, sizeof(cnt));
    virtio_blk_init(&b, &d, img, img_size, flags & 1);
    check(b.capacity == img_size / 512);
    d.mem.ram = ram;
    d.mem.size = ram_size;
    d.interrupt = f_irq;
    d.transport = &cnt;
    d.status = VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK;
    q->size = (uint16_t)(1u << (take8(&in) % 9)); /* 1 .. 256, as the transport allows */
    q->desc = take_gpa(&in, ram_size);
    q->avail = take_gpa(&in, ram_size);
    q->used = take_gpa(&in, ram_size);
    q->last_avail = q->used_idx = flags & 2 ? take16(&in) : 0;
    q->enabled = 1;
    avail_idx = q->last_avail;

    while (in.n) {
        uint8_t op = take8(&in);
        uint16_t used_before = q->used_idx, last_before = q->last_avail;
        uint64_t broken_before = b.st.broken, gpa, n;

        switch (op % 9) {
        case 0: /* raw bytes into RAM */
            gpa = take16(&in) % ram_size;
            n = take8(&in);
            for (uint64_t i = 0; i < n && gpa + i < ram_size; i++)
                ram[gpa + i] = take8(&in);
            break;
        case 1: { /* a descriptor, if the table entry is in RAM */
            uint16_t i = take8(&in) % q->size;
            uint8_t dsc[16];

            put64(dsc, 0, take_gpa(&in, ram_size));
            put32(dsc, 8, take8(&in) & 0x80 ? take32(&in) : take16(&in) % 2048);
            put16(dsc, 12, take8(&in) & 7);
            put16(dsc, 14, take8(&in));
            gpa = q->desc + 16ull * i;
            if (gpa >= q->desc && in_ram(ram_size, gpa, 16)) /* the table's address may be anything */
                memcpy(ram + gpa, dsc, 16);
            break;
        }
        case 2: /* offer a head; sometimes jump avail->idx instead */
            if (take8(&in) < 0xF0) {
                uint16_t head = take8(&in);

                if (in_ram(ram_size, q->avail, 4 + 2ull * q->size))
                    put16(ram, q->avail + 4 + 2ull * (avail_idx % q->size), head);
                avail_idx++;
            } else {
                avail_idx = take16(&in);
            }
            if (in_ram(ram_size, q->avail, 4))
                put16(ram, q->avail + 2, avail_idx);
            break;
        case 3: /* a request header at a place in RAM */
            gpa = take16(&in) % ram_size;
            if (in_ram(ram_size, gpa, 16)) {
                put32(ram, gpa, take8(&in) % 10);
                put32(ram, gpa + 4, 0);
                put64(ram, gpa + 8, take8(&in) & 0x80 ? take64(&in) : take8(&in));
            }
            break;
        case 4: /* notify */
            if (take8(&in) & 0x10) {
                d.ops->queue_notify(&d, 1); /* no such queue: refused and counted */
                cnt.bad_notifies++;
            } else {
                d.ops->queue_notify(&d, 0);
            }
            cnt.requests += (uint16_t)(q->last_avail - last_before);
            check((uint16_t)(q->used_idx - used_before) == (uint16_t)(q->last_avail - last_before));
            check((uint16_t)(q->used_idx - used_before) <= q->size);
            if (q->used_idx != used_before)
                check(get16(ram, q->used + 2) == q->used_idx); /* pushed, so the used ring is in RAM */
            break;
        case 5: /* one chain, by hand */
            serve_one(&b, &d, &chain);
            cnt.requests += (uint16_t)(q->last_avail - last_before);
            check((uint16_t)(q->used_idx - used_before) == (uint16_t)(q->last_avail - last_before));
            break;
        case 6: { /* configuration space */
            uint32_t off = take8(&in) % d.config_size;
            unsigned sz = sizes[take8(&in) & 3];

            if (take8(&in) & 1) {
                d.ops->config_write(&d, off, sz, take32(&in));
                cnt.config_writes++;
            } else {
                uint32_t v = d.ops->config_read(&d, off, sz);

                check(sz == 4 || v >> (8 * sz) == 0);
            }
            check(get64(b.config, VIRTIO_BLK_CFG_CAPACITY) == b.capacity);
            break;
        }
        case 7: /* driver resets the device and sets the queue up again */
            d.ops->reset(&d);
            d.status = VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK;
            gpa = q->desc;
            n = q->avail;
            {
                uint64_t used = q->used;
                uint16_t sz = q->size;

                virtq_reset(q);
                q->size = sz;
                q->desc = gpa;
                q->avail = n;
                q->used = used;
            }
            q->enabled = 1;
            avail_idx = 0;
            if (in_ram(ram_size, q->avail, 4))
                put16(ram, q->avail + 2, 0);
            broken_since_reset = 0;
            break;
        default: (void)virtq_should_interrupt(q, &d.mem); break;
        }
        broken_since_reset += b.st.broken - broken_before;
        check(!!(d.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) == (broken_since_reset != 0));
        check(handled(&b.st) == cnt.requests);
        check(d.errors == b.st.ioerr + b.st.unsupported + b.st.no_status + b.st.broken + cnt.config_writes +
                              cnt.bad_notifies);
    }
    /* The image outside the disk's capacity (a partial last sector) is
     * never written, and a read-only image not at all. */
    for (uint64_t i = (flags & 1) ? 0 : b.capacity * 512; i < img_size; i++)
        check(img[i] == 0x5A);
    free(ram);
    free(img);
    return 0;
}
