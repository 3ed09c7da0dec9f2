/* The contract between a virtio transport (drivers/virtio_pci.c: the
 * virtio 1.x PCI transport, "modern" only) and a virtio device
 * (drivers/virtio_blk.c), and the split virtqueue both see
 * (drivers/virtq.c). Virtio 1.2 specification, sections 2 (basic
 * facilities), 4.1 (PCI transport) and 5.2 (block device).
 *
 * Who owns what:
 * - The transport owns the registers the driver programs: device status,
 *   feature selection and negotiation, queue select/size/enable/addresses
 *   and MSI-X vectors, the ISR status, notifications. It stores them in
 *   struct virtio_dev and struct virtq below, checks them (FEATURES_OK only
 *   for a subset of the offered features that includes VERSION_1; a queue
 *   size that is a power of two and at most max_size; no queue register
 *   changes while the queue is enabled) and calls the device's ops.
 * - The device owns its configuration space and its requests: on
 *   queue_notify it takes chains from the queue (virtq_pop), does them,
 *   returns them (virtq_push) and calls virtio_dev_interrupt() when the
 *   driver wants to hear about it (virtq_should_interrupt).
 * - Guest memory is seen only through struct virtio_mem: every guest
 *   address is checked against it before use, and nothing outside
 *   mem.ram .. mem.ram + mem.size is ever touched.
 *
 * Bad driver behaviour is never fatal to the hypervisor. A ring the device
 * cannot trust (a loop, a descriptor outside guest RAM, a chain longer than
 * the queue) marks the device DEVICE_NEEDS_RESET and raises a configuration
 * interrupt, as spec 2.1.2 says; a bad request that the device can refuse
 * (a segment limit exceeded, a write to a read-only disk) completes with an
 * error status. Either way the device counts it in `errors` and names it in
 * `last_error` (a static string); the VMX wiring turns a change of `errors`
 * into a rate-limited log line. Pure C: compiled into host tests and
 * fuzzers. */
#ifndef DRIVERS_VIRTIO_H
#define DRIVERS_VIRTIO_H

#include <stdint.h>

/* Device status bits (spec 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        0x01
#define VIRTIO_STATUS_DRIVER             0x02
#define VIRTIO_STATUS_DRIVER_OK          0x04
#define VIRTIO_STATUS_FEATURES_OK        0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED             0x80

/* Feature bits common to every device (spec 6). */
#define VIRTIO_F_VERSION_1 32

/* ISR status bits (spec 4.1.4.5): read-to-clear, the INTx path's cause. */
#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

#define VIRTIO_MSI_NO_VECTOR 0xFFFF
#define VIRTIO_MAX_QUEUES    2
#define VIRTIO_CONFIG_IRQ    (-1) /* "queue" argument of a configuration-change interrupt */

/* Guest RAM: guest-physical 0 .. size-1 at host address ram. */
struct virtio_mem {
    uint8_t *ram;
    uint64_t size;
};

/* Split virtqueue layout (spec 2.7). */
#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* One split virtqueue. The transport writes size, msix_vector, enabled and
 * the three ring addresses; virtq.c keeps the rest. */
struct virtq {
    uint16_t max_size;    /* what the device offers (a power of two) */
    uint16_t size;        /* what the driver chose (reset value: max_size) */
    uint16_t msix_vector; /* VIRTIO_MSI_NO_VECTOR or an MSI-X table entry */
    uint8_t enabled;
    uint64_t desc, avail, used; /* guest-physical addresses of the three parts */
    uint16_t last_avail;        /* the next avail ring index the device takes */
    uint16_t used_idx;          /* the device's copy of used->idx */
};

/* One segment of a descriptor chain: guest-physical, checked to lie in RAM. */
struct virtq_seg {
    uint64_t gpa;
    uint32_t len;
    uint8_t device_writes; /* VIRTQ_DESC_F_WRITE */
};

#define VIRTQ_MAX_SEGS 64 /* segments of one chain the device takes at most */

struct virtq_chain {
    uint16_t head; /* descriptor index to give back with virtq_push */
    unsigned nseg;
    /* The chain had more than VIRTQ_MAX_SEGS segments (all checked): seg[]
     * holds the first VIRTQ_MAX_SEGS - 1 and, in seg[VIRTQ_MAX_SEGS - 1],
     * the chain's last one, so that the device can refuse the request with
     * an error status written there. */
    uint8_t truncated;
    struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

struct virtio_dev;

struct virtio_dev_ops {
    /* Device-specific configuration space (spec 4.1.4.6), off < config_size. */
    uint32_t (*config_read)(struct virtio_dev *d, uint32_t off, unsigned size);
    void (*config_write)(struct virtio_dev *d, uint32_t off, unsigned size, uint32_t val);
    /* The driver notified queue q (only after DRIVER_OK; the transport
     * drops and counts earlier ones). */
    void (*queue_notify)(struct virtio_dev *d, unsigned q);
    /* The driver wrote 0 to device status: forget requests in flight. The
     * transport resets the common registers and queues itself. */
    void (*reset)(struct virtio_dev *d);
};

struct virtio_dev {
    uint16_t device_id;       /* virtio device ID: 2 = block (PCI device ID 0x1040 + id) */
    uint64_t features;        /* offered by the device */
    uint64_t driver_features; /* accepted by the driver (valid once FEATURES_OK) */
    uint8_t status;
    uint8_t isr;                 /* VIRTIO_ISR_* bits not yet read by the driver */
    uint16_t config_msix_vector; /* VIRTIO_MSI_NO_VECTOR or an MSI-X table entry */
    uint32_t config_generation;
    uint32_t config_size; /* bytes of device-specific configuration */
    uint16_t num_queues;
    struct virtq queue[VIRTIO_MAX_QUEUES];
    struct virtio_mem mem;
    const struct virtio_dev_ops *ops;
    void *ctx; /* the device's own state (struct virtio_blk) */
    /* Set by the transport: deliver an interrupt for queue q, or for a
     * configuration change (q = VIRTIO_CONFIG_IRQ). With MSI-X on, the
     * queue's (or config) vector; else the ISR bit and INTx. */
    void (*interrupt)(void *transport, struct virtio_dev *d, int q);
    void *transport;
    /* Diagnostics (see above). */
    uint64_t errors;
    const char *last_error;
};

/* What a device calls to signal the driver (q as in `interrupt`). */
static inline void virtio_dev_interrupt(struct virtio_dev *d, int q)
{
    if (d->interrupt)
        d->interrupt(d->transport, d, q);
}

/* A ring the device cannot trust: DEVICE_NEEDS_RESET, a configuration
 * interrupt, counted and named. */
void virtio_dev_broken(struct virtio_dev *d, const char *why);
/* A request refused (the driver's fault, the device goes on): counted and named. */
void virtio_dev_error(struct virtio_dev *d, const char *why);

/* drivers/virtq.c. Takes the next available chain into *c. Returns 1 (a
 * chain), 0 (none available, or the queue is not enabled), -1 (the ring
 * cannot be trusted: the caller passes virtq_error's reason to
 * virtio_dev_broken and stops using the queue). VIRTIO_F_INDIRECT_DESC is
 * not offered, so a descriptor with VIRTQ_DESC_F_INDIRECT is a broken ring. */
int virtq_pop(struct virtq *q, const struct virtio_mem *m, struct virtq_chain *c, const char **why);
/* Gives chain `head` back with `written` bytes written into it by the device. */
void virtq_push(struct virtq *q, const struct virtio_mem *m, uint16_t head, uint32_t written);
/* After one or more pushes: does the driver want an interrupt (no
 * VIRTQ_AVAIL_F_NO_INTERRUPT; VIRTIO_F_EVENT_IDX is not offered)? */
int virtq_should_interrupt(const struct virtq *q, const struct virtio_mem *m);
/* Back to the reset state (size = max_size, no vector, disabled, indices 0). */
void virtq_reset(struct virtq *q);

#endif
