/* The virtio block device (virtio 1.2 section 5.2) behind the transport of
 * drivers/virtio.h: one request queue, requests IN, OUT, FLUSH and GET_ID
 * on a disk image held in host memory. Pure C: compiled into the
 * hypervisor, host unit tests and the fuzzer.
 *
 * The image is a host buffer of `size` bytes. Its capacity is size / 512
 * sectors, rounded down: the bytes of a last partial sector are never read
 * nor written. Writes (when not read-only) go to that host copy only: there
 * is no write-back to the machine's disk, so they are lost at power-off
 * (volatile_writes says so; the boot log and README are the caller's). */
#ifndef DRIVERS_VIRTIO_BLK_H
#define DRIVERS_VIRTIO_BLK_H

#include <stdint.h>

#include "virtio.h"

#define VIRTIO_ID_BLOCK 2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX   1
#define VIRTIO_BLK_F_SEG_MAX    2
#define VIRTIO_BLK_F_RO         5
#define VIRTIO_BLK_F_BLK_SIZE   6
#define VIRTIO_BLK_F_FLUSH      9
#define VIRTIO_BLK_F_CONFIG_WCE 11

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR     512
#define VIRTIO_BLK_HDR_BYTES  16 /* le32 type, le32 reserved, le64 sector */
#define VIRTIO_BLK_ID_BYTES   20
#define VIRTIO_BLK_SERIAL     "tinyhv-disk0"
#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_SEG_MAX    (VIRTQ_MAX_SEGS - 2) /* data segments: the header and status take two */

/* struct virtio_blk_config (5.2.4), virtio 1.2: byte offsets. */
#define VIRTIO_BLK_CFG_CAPACITY   0  /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX   8  /* le32 (not offered: 0) */
#define VIRTIO_BLK_CFG_SEG_MAX    12 /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE   20 /* le32 */
#define VIRTIO_BLK_CFG_NUM_QUEUES 34 /* le16 (meaningful with MQ only; 1 all the same) */
#define VIRTIO_BLK_CONFIG_SIZE    72 /* through secure_erase_sector_alignment */

/* What the lead's bench and log read. */
struct virtio_blk_stats {
    uint64_t reads, writes, flushes, get_ids; /* requests that completed with S_OK, per type */
    uint64_t unsupported;                     /* completed with S_UNSUPP */
    uint64_t ioerr;                           /* completed with S_IOERR */
    uint64_t no_status;                       /* returned with written = 0: no status byte to write */
    uint64_t bytes_read, bytes_written;       /* data moved by reads (image -> guest) and writes */
    uint64_t notifies;                        /* queue notifications handled */
    uint64_t ignored_notifies;                /* ... while DEVICE_NEEDS_RESET, or of no such queue */
    uint64_t broken;                          /* rings found broken */
    uint64_t interrupts;                      /* queue interrupts asked of the transport */
};

struct virtio_blk {
    struct virtio_dev *dev;
    uint8_t *image;
    uint64_t size;     /* bytes at image */
    uint64_t capacity; /* sectors: size / 512, rounded down */
    int read_only;
    int volatile_writes; /* writable, and writes live in host memory only */
    uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
    struct virtio_blk_stats st;
    struct virtq_chain chain; /* the chain being served (kept here, not on the stack: 1 KiB) */
};

/* Fills d (device ID, features, configuration size, one queue of 256, ops,
 * ctx = b) for the transport to attach to. d->mem (guest RAM) is set by
 * the caller. A writable disk is always volatile. */
void virtio_blk_init(struct virtio_blk *b, struct virtio_dev *d, uint8_t *image, uint64_t size,
                     int read_only);

/* Serves one chain taken from the request queue; returns the bytes
 * written into it (data and status), the `written` for virtq_push. Used by
 * queue_notify; public for the fuzzer's invariants. */
uint32_t virtio_blk_request(struct virtio_blk *b, const struct virtq_chain *c);

#endif
