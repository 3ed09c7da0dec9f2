/* The virtio block device (virtio 1.2 section 5.2); see virtio_blk.h.
 *
 * A request is a descriptor chain read as two byte streams, whatever the
 * driver's choice of descriptors (spec 2.6.4: the device must not rely on
 * the framing): the device-readable segments first, holding the 16-byte
 * header (le32 type, le32 reserved, le64 sector) and, for OUT, the data;
 * then the device-writable segments, holding the data of IN or GET_ID and,
 * as the last byte of the last segment, the status.
 *
 * What a driver can get wrong, and the answer:
 * - no status byte (the last segment device-readable or empty): nothing
 *   can be reported in the request, so the chain goes back with written = 0;
 * - more segments than seg_max + 2, a device-readable segment after a
 *   device-writable one (2.7.4.2), a header shorter than 16 bytes (also
 *   what a header in a device-writable segment looks like), a data length
 *   not a multiple of 512, a range beyond the capacity, a write to a
 *   read-only disk: S_IOERR, and no data is moved;
 * - a type other than IN, OUT, FLUSH, GET_ID: S_UNSUPP.
 * Each of these is counted in the statistics and once in the device's
 * errors (virtio_dev_error), which the VMX side logs rate-limited. */
#include "virtio_blk.h"

#include "../arch/x86/bytes.h"

static uint32_t cfg_read(struct virtio_dev *d, uint32_t off, unsigned size)
{
    struct virtio_blk *b = d->ctx;
    uint32_t v = 0;

    /* Any width at any offset: the bytes of the little-endian structure. */
    for (unsigned i = 0; i < size && i < 4; i++)
        if (off + i < VIRTIO_BLK_CONFIG_SIZE)
            v |= (uint32_t)b->config[off + i] << (8 * i);
    return v;
}

static void cfg_write(struct virtio_dev *d, uint32_t off, unsigned size, uint32_t val)
{
    (void)off;
    (void)size;
    (void)val;
    /* The only writable field, writeback, exists with CONFIG_WCE, which is
     * not offered. */
    virtio_dev_error(d, "virtio-blk configuration write (no field is writable)");
}

/* Copies len bytes between host memory and the byte stream formed by
 * segments first .. end-1 of c, from stream offset off. The caller keeps
 * off + len within the stream; virtq_pop checked that every segment lies
 * in guest RAM. */
static void stream_copy(const struct virtio_mem *m, const struct virtq_chain *c, unsigned first, unsigned end,
                        uint64_t off, uint8_t *host, uint64_t len, int to_guest)
{
    for (unsigned i = first; i < end && len; i++) {
        const struct virtq_seg *s = &c->seg[i];
        uint64_t n;
        uint8_t *g;

        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        n = s->len - off < len ? s->len - off : len;
        g = m->ram + s->gpa + off;
        if (to_guest)
            memcpy(g, host, n);
        else
            memcpy(host, g, n);
        host += n;
        len -= n;
        off = 0;
    }
}

/* The request's outcome: the status byte written last, after the data. */
static uint32_t finish(struct virtio_blk *b, uint64_t status_gpa, uint8_t status, uint32_t written)
{
    b->dev->mem.ram[status_gpa] = status;
    return written;
}

static uint32_t ioerr(struct virtio_blk *b, uint64_t status_gpa, const char *why)
{
    b->st.ioerr++;
    virtio_dev_error(b->dev, why);
    return finish(b, status_gpa, VIRTIO_BLK_S_IOERR, 1);
}

/* Why len bytes at sector cannot be moved, or 0. Overflow-safe. */
static const char *range_error(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
    if (len % VIRTIO_BLK_SECTOR)
        return "virtio-blk data length not a multiple of 512";
    if (sector > b->capacity || len / VIRTIO_BLK_SECTOR > b->capacity - sector)
        return "virtio-blk request beyond the disk's capacity";
    if (len >= UINT32_MAX) /* the used ring's len is 32 bits */
        return "virtio-blk request of 4 GiB or more";
    return 0;
}

uint32_t virtio_blk_request(struct virtio_blk *b, const struct virtq_chain *c)
{
    const struct virtio_mem *m = &b->dev->mem;
    const struct virtq_seg *last;
    uint64_t status_gpa, rlen = 0, wlen = 0, sector, len;
    uint8_t hdr[VIRTIO_BLK_HDR_BYTES], id[VIRTIO_BLK_ID_BYTES];
    unsigned nr, i;
    const char *why;

    if (!c->nseg || !c->seg[c->nseg - 1].device_writes || !c->seg[c->nseg - 1].len) {
        b->st.no_status++;
        virtio_dev_error(b->dev, "virtio-blk request without a device-writable status byte");
        return 0;
    }
    last = &c->seg[c->nseg - 1];
    status_gpa = last->gpa + last->len - 1;
    if (c->truncated)
        return ioerr(b, status_gpa, "virtio-blk request with more segments than seg_max");
    for (nr = 0; nr < c->nseg && !c->seg[nr].device_writes; nr++)
        rlen += c->seg[nr].len;
    for (i = nr; i < c->nseg; i++) {
        if (!c->seg[i].device_writes)
            return ioerr(b, status_gpa,
                         "virtio-blk request with a device-readable segment after a writable one");
        wlen += c->seg[i].len;
    }
    if (rlen < VIRTIO_BLK_HDR_BYTES)
        return ioerr(b, status_gpa, "virtio-blk request header shorter than 16 bytes");
    stream_copy(m, c, 0, nr, 0, hdr, VIRTIO_BLK_HDR_BYTES, 0);
    sector = get64(hdr, 8);

    switch (get32(hdr, 0)) {
    case VIRTIO_BLK_T_IN:
        len = wlen - 1; /* all writable bytes but the status */
        why = range_error(b, sector, len);
        if (why)
            return ioerr(b, status_gpa, why);
        if (len) /* (an empty image may have no buffer at all) */
            stream_copy(m, c, nr, c->nseg, 0, b->image + sector * VIRTIO_BLK_SECTOR, len, 1);
        b->st.reads++;
        b->st.bytes_read += len;
        return finish(b, status_gpa, VIRTIO_BLK_S_OK, (uint32_t)len + 1);
    case VIRTIO_BLK_T_OUT:
        len = rlen - VIRTIO_BLK_HDR_BYTES; /* the readable bytes after the header */
        if (b->read_only)
            return ioerr(b, status_gpa, "virtio-blk write to a read-only disk");
        why = range_error(b, sector, len);
        if (why)
            return ioerr(b, status_gpa, why);
        if (len)
            stream_copy(m, c, 0, nr, VIRTIO_BLK_HDR_BYTES, b->image + sector * VIRTIO_BLK_SECTOR, len, 0);
        b->st.writes++;
        b->st.bytes_written += len;
        return finish(b, status_gpa, VIRTIO_BLK_S_OK, 1);
    case VIRTIO_BLK_T_FLUSH:
        /* The image is host memory: nothing is cached on the way to it. */
        b->st.flushes++;
        return finish(b, status_gpa, VIRTIO_BLK_S_OK, 1);
    case VIRTIO_BLK_T_GET_ID:
        /* Up to 20 bytes, NUL-padded (5.2.6); as much as the buffer holds. */
        memset(id, 0, sizeof(id));
        memcpy(id, VIRTIO_BLK_SERIAL, sizeof(VIRTIO_BLK_SERIAL) - 1);
        len = wlen - 1 < VIRTIO_BLK_ID_BYTES ? wlen - 1 : VIRTIO_BLK_ID_BYTES;
        stream_copy(m, c, nr, c->nseg, 0, id, len, 1);
        b->st.get_ids++;
        return finish(b, status_gpa, VIRTIO_BLK_S_OK, (uint32_t)len + 1);
    default:
        b->st.unsupported++;
        virtio_dev_error(b->dev, "virtio-blk request of an unsupported type");
        return finish(b, status_gpa, VIRTIO_BLK_S_UNSUPP, 1);
    }
}

static void queue_notify(struct virtio_dev *d, unsigned qi)
{
    struct virtio_blk *b = d->ctx;
    struct virtq *q;
    const char *why;
    unsigned done = 0, budget;
    int r;

    if (qi >= d->num_queues) {
        b->st.ignored_notifies++;
        virtio_dev_error(d, "virtio-blk notify of a queue it does not have");
        return;
    }
    if (d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
        b->st.ignored_notifies++; /* the ring was broken: only a reset helps */
        return;
    }
    b->st.notifies++;
    q = &d->queue[qi];
    /* At most a ring's worth per notify: a driver adding chains as fast as
     * they complete cannot keep the exit handler here for ever, and every
     * chain added after avail->idx was read comes with its own notify. */
    for (budget = q->size; budget; budget--) {
        r = virtq_pop(q, &d->mem, &b->chain, &why);
        if (r == 0)
            break;
        if (r < 0) {
            b->st.broken++;
            virtio_dev_broken(d, why);
            break;
        }
        virtq_push(q, &d->mem, b->chain.head, virtio_blk_request(b, &b->chain));
        done++;
    }
    if (done && virtq_should_interrupt(q, &d->mem)) {
        b->st.interrupts++;
        virtio_dev_interrupt(d, (int)qi);
    }
}

static void dev_reset(struct virtio_dev *d)
{
    (void)d; /* requests complete within queue_notify: none is ever in flight */
}

static const struct virtio_dev_ops blk_ops = {
    .config_read = cfg_read,
    .config_write = cfg_write,
    .queue_notify = queue_notify,
    .reset = dev_reset,
};

void virtio_blk_init(struct virtio_blk *b, struct virtio_dev *d, uint8_t *image, uint64_t size, int read_only)
{
    memset(b, 0, sizeof(*b));
    memset(d, 0, sizeof(*d));
    b->dev = d;
    b->image = image;
    b->size = size;
    b->capacity = size / VIRTIO_BLK_SECTOR;
    b->read_only = read_only != 0;
    b->volatile_writes = !read_only;
    put64(b->config, VIRTIO_BLK_CFG_CAPACITY, b->capacity);
    put32(b->config, VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
    put32(b->config, VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
    put16(b->config, VIRTIO_BLK_CFG_NUM_QUEUES, 1);

    d->device_id = VIRTIO_ID_BLOCK;
    d->features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
                  1ull << VIRTIO_BLK_F_FLUSH;
    if (b->read_only)
        d->features |= 1ull << VIRTIO_BLK_F_RO;
    d->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
    d->config_size = VIRTIO_BLK_CONFIG_SIZE;
    d->num_queues = 1;
    d->queue[0].max_size = VIRTIO_BLK_QUEUE_SIZE;
    virtq_reset(&d->queue[0]);
    d->ops = &blk_ops;
    d->ctx = b;
}
