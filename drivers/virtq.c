/* The device side of a split virtqueue (virtio 1.2 section 2.7), written for
 * a driver that may be hostile. Layout in guest memory, little-endian:
 *   descriptor table at desc:  size x { le64 addr; le32 len; le16 flags; le16 next; }
 *   available ring at avail:   le16 flags; le16 idx; le16 ring[size]; (le16 used_event)
 *   used ring at used:         le16 flags; le16 idx; { le32 id; le32 len; } ring[size]; (le16 avail_event)
 * VIRTIO_F_EVENT_IDX is not offered, so used_event and avail_event are
 * neither read nor written, and their bytes are not required to be in RAM.
 *
 * What a driver can do wrong, and what happens (virtq_pop returns -1, the
 * device marks itself DEVICE_NEEDS_RESET, spec 2.1.2):
 * - a ring part (descriptor table, available ring, used ring) not wholly
 *   inside guest RAM;
 * - avail->idx more than `size` ahead of the device's last_avail (more
 *   chains offered than the ring has room for);
 * - a head or next index >= size;
 * - a chain of more than `size` descriptors: only a loop makes one, since
 *   each descriptor is used once in a chain (2.7.5.3.1);
 * - VIRTQ_DESC_F_INDIRECT (VIRTIO_F_INDIRECT_DESC is not offered);
 * - a buffer not wholly inside guest RAM, overflow-safe: addr + len may wrap.
 * A chain of more than VIRTQ_MAX_SEGS descriptors (but at most `size`) is
 * not a broken ring: every descriptor is still checked, the chain is taken
 * with `truncated` set, and the device refuses the request with an error
 * status (the driver ignored seg_max; the ring itself is sound).
 * Descriptors of length 0 are allowed (the spec does not forbid them; they
 * name no byte), but their address must still lie within RAM (addr <= size).
 * The order of device-readable and device-writable segments (2.7.4.2: the
 * writable ones come last) is the device's to check: it knows which bytes
 * it reads and writes.
 *
 * Each descriptor is copied out of guest memory once and checked on that
 * copy, so a driver changing it meanwhile cannot make the device use
 * values it did not check. */
#include "virtio.h"

#include "../arch/x86/bytes.h"

#define DESC_BYTES      16
#define RING_HDR_BYTES  4 /* flags, idx */
#define USED_ELEM_BYTES 8

/* The compiler must not move guest-memory accesses across this point. On
 * x86 that is all the ordering the cases below need: loads are not
 * reordered with other loads, nor stores with other stores (SDM vol. 3,
 * "Memory Ordering in P6 and More Recent Processor Families"). */
static inline void compiler_barrier(void) { __asm__ __volatile__("" ::: "memory"); }

/* [gpa, gpa + len) lies wholly in guest RAM, without computing gpa + len. */
static int in_ram(const struct virtio_mem *m, uint64_t gpa, uint64_t len)
{
    return len <= m->size && gpa <= m->size - len;
}

static int rings_in_ram(const struct virtq *q, const struct virtio_mem *m, const char **why)
{
    uint64_t n = q->size;

    if (!in_ram(m, q->desc, DESC_BYTES * n)) {
        *why = "virtqueue descriptor table outside guest RAM";
        return 0;
    }
    if (!in_ram(m, q->avail, RING_HDR_BYTES + 2 * n)) {
        *why = "virtqueue available ring outside guest RAM";
        return 0;
    }
    if (!in_ram(m, q->used, RING_HDR_BYTES + USED_ELEM_BYTES * n)) {
        *why = "virtqueue used ring outside guest RAM";
        return 0;
    }
    return 1;
}

static int broken(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

int virtq_pop(struct virtq *q, const struct virtio_mem *m, struct virtq_chain *c, const char **why)
{
    uint16_t size = q->size, avail_idx, pending, head, i;
    const uint8_t *avail, *table;
    unsigned n;

    *why = 0;
    if (!q->enabled || !size)
        return 0;
    if (!rings_in_ram(q, m, why))
        return -1;
    avail = m->ram + q->avail;
    table = m->ram + q->desc;

    compiler_barrier(); /* a fresh read of avail->idx on every call */
    avail_idx = get16(avail, 2);
    pending = (uint16_t)(avail_idx - q->last_avail);
    if (!pending)
        return 0;
    if (pending > size)
        return broken(why, "virtqueue avail idx more than the queue size ahead");
    /* The ring entry is read after idx (the driver wrote it before idx). */
    compiler_barrier();
    head = get16(avail, RING_HDR_BYTES + 2 * (uint64_t)(q->last_avail % size));
    if (head >= size)
        return broken(why, "virtqueue head descriptor index beyond the queue size");

    c->head = head;
    c->nseg = 0;
    c->truncated = 0;
    for (i = head, n = 0;; n++) {
        uint8_t d[DESC_BYTES];
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        struct virtq_seg *s;

        if (n == size)
            return broken(why, "virtqueue descriptor chain longer than the queue (a loop)");
        memcpy(d, table + DESC_BYTES * (uint64_t)i, DESC_BYTES); /* one read; checks use this copy */
        addr = get64(d, 0);
        len = get32(d, 8);
        flags = get16(d, 12);
        if (flags & VIRTQ_DESC_F_INDIRECT)
            return broken(why, "virtqueue indirect descriptor (VIRTIO_F_INDIRECT_DESC not offered)");
        if (!in_ram(m, addr, len))
            return broken(why, "virtqueue descriptor buffer outside guest RAM");
        if (n < VIRTQ_MAX_SEGS) {
            s = &c->seg[n];
        } else {
            s = &c->seg[VIRTQ_MAX_SEGS - 1]; /* keep the last one there */
            c->truncated = 1;
        }
        s->gpa = addr;
        s->len = len;
        s->device_writes = (flags & VIRTQ_DESC_F_WRITE) != 0;
        if (!(flags & VIRTQ_DESC_F_NEXT))
            break;
        i = get16(d, 14);
        if (i >= size)
            return broken(why, "virtqueue next descriptor index beyond the queue size");
    }
    c->nseg = n + 1 < VIRTQ_MAX_SEGS ? n + 1 : VIRTQ_MAX_SEGS;
    q->last_avail++;
    return 1;
}

void virtq_push(struct virtq *q, const struct virtio_mem *m, uint16_t head, uint32_t written)
{
    uint16_t size = q->size;
    uint8_t *used;
    uint64_t slot;

    /* virtq_pop checked the used ring before it handed out the chain, and
     * the transport changes no ring address while the queue is enabled;
     * this check only keeps a caller's mistake from touching memory
     * outside RAM. */
    if (!size || !in_ram(m, q->used, RING_HDR_BYTES + USED_ELEM_BYTES * (uint64_t)size))
        return;
    used = m->ram + q->used;
    slot = RING_HDR_BYTES + USED_ELEM_BYTES * (uint64_t)(q->used_idx % size);
    put32(used, slot, head);
    put32(used, slot + 4, written);
    /* The element must be visible before the idx that publishes it
     * (2.7.8.2). x86 does not reorder stores with stores, so keeping the
     * compiler from reordering them is enough; a weakly ordered CPU would
     * need a store barrier (Linux's virtio_wmb) here. */
    compiler_barrier();
    q->used_idx++;
    put16(used, 2, q->used_idx);
}

int virtq_should_interrupt(const struct virtq *q, const struct virtio_mem *m)
{
    const uint8_t *avail;

    if (!q->size || !in_ram(m, q->avail, RING_HDR_BYTES))
        return 1; /* an interrupt too many is harmless; one too few hangs the driver */
    /* The used idx store must be visible before the flags are read, or a
     * driver that clears NO_INTERRUPT and then looks at used->idx could
     * miss both the entry and the interrupt. Store-then-load is the one
     * order x86 does not keep: a full fence (mfence or a locked op). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    avail = m->ram + q->avail;
    return !(get16(avail, 0) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void virtq_reset(struct virtq *q)
{
    q->size = q->max_size;
    q->msix_vector = VIRTIO_MSI_NO_VECTOR;
    q->enabled = 0;
    q->desc = q->avail = q->used = 0;
    q->last_avail = 0;
    q->used_idx = 0;
}
