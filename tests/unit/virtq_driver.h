/* A split-virtqueue driver in a host buffer, for the tests of
 * drivers/virtq.c and drivers/virtio_blk.c: it writes descriptors and the
 * available ring as a guest driver would (little-endian, spec 2.7) and
 * reads the used ring back. Layout in the buffer ("guest RAM"):
 * descriptor table at DRV_DESC, available ring at DRV_AVAIL, used ring at
 * DRV_USED (room for 256 entries each), buffers from DRV_DATA on. */
#ifndef TESTS_UNIT_VIRTQ_DRIVER_H
#define TESTS_UNIT_VIRTQ_DRIVER_H

#include <stdint.h>
#include <string.h>

#include "../../arch/x86/bytes.h"
#include "../../drivers/virtio.h"

#define DRV_DESC  0x1000u
#define DRV_AVAIL 0x2000u
#define DRV_USED  0x3000u
#define DRV_DATA  0x4000u

struct vdrv {
    uint8_t *ram;
    struct virtq *q;
    uint16_t size;
    uint16_t next_desc; /* the next free descriptor (no recycling: tests are short) */
    uint16_t avail_idx;
};

struct drv_buf {
    uint64_t gpa;
    uint32_t len;
    int device_writes;
};

/* Enables q (size entries) on the rings in ram. */
static inline void drv_init(struct vdrv *v, struct virtq *q, uint8_t *ram, uint16_t size)
{
    memset(v, 0, sizeof(*v));
    v->ram = ram;
    v->q = q;
    v->size = size;
    q->size = size;
    q->desc = DRV_DESC;
    q->avail = DRV_AVAIL;
    q->used = DRV_USED;
    q->enabled = 1;
}

static inline void drv_desc(struct vdrv *v, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                            uint16_t next)
{
    uint8_t *d = v->ram + DRV_DESC + 16u * i;

    put64(d, 0, addr);
    put32(d, 8, len);
    put16(d, 12, flags);
    put16(d, 14, next);
}

/* Puts head in the available ring and publishes it (avail->idx). */
static inline void drv_offer(struct vdrv *v, uint16_t head)
{
    put16(v->ram, DRV_AVAIL + 4 + 2u * (v->avail_idx % v->size), head);
    v->avail_idx++;
    put16(v->ram, DRV_AVAIL + 2, v->avail_idx);
}

/* Writes n descriptors chained in order from the next free one; returns the head. */
static inline uint16_t drv_chain(struct vdrv *v, const struct drv_buf *b, unsigned n)
{
    uint16_t head = v->next_desc;

    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)(v->next_desc++ % v->size);
        uint16_t flags = (b[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

        drv_desc(v, idx, b[i].gpa, b[i].len, flags, (uint16_t)(v->next_desc % v->size));
    }
    return (uint16_t)(head % v->size);
}

/* The transport's interrupt callback, counted: queue or configuration. */
static int n_queue_irq, n_config_irq;

static inline void count_irq(void *transport, struct virtio_dev *d, int qi)
{
    (void)transport;
    (void)d;
    if (qi == VIRTIO_CONFIG_IRQ)
        n_config_irq++;
    else
        n_queue_irq++;
}

static inline uint16_t drv_used_idx(const struct vdrv *v) { return get16(v->ram, DRV_USED + 2); }
static inline uint32_t drv_used_id(const struct vdrv *v, uint16_t i)
{
    return get32(v->ram, DRV_USED + 4 + 8u * (i % v->size));
}
static inline uint32_t drv_used_len(const struct vdrv *v, uint16_t i)
{
    return get32(v->ram, DRV_USED + 8 + 8u * (i % v->size));
}

#endif
