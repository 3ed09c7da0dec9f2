/* The virtio 1.x PCI transport (virtio_pci.h; virtio 1.2 spec 4.1). */
#include "virtio_pci.h"

#include <stddef.h>
#include <string.h>

#include "../arch/x86/bytes.h"

#define CAP_LEN        16 /* struct virtio_pci_cap */
#define CAP_NOTIFY_LEN 20 /* + notify_off_multiplier */
#define CAP_CFG_LEN    20 /* + pci_cfg_data */
#define CAP_BAR        4
#define CAP_OFFSET     8
#define CAP_LENGTH     12
#define CAP_DATA       16

#define MSIX_PBA_OFF 0x800

static uint16_t nvectors(const struct virtio_pci *vp) { return vp->pci.msix_n; }

static struct virtq *selected(struct virtio_pci *vp)
{
    return vp->queue_select < vp->vdev->num_queues ? &vp->vdev->queue[vp->queue_select] : NULL;
}

/* ---- interrupts ---- */

/* Spec 4.1.4.5.1: the configuration bit of the ISR is set for every
 * configuration interrupt, the queue bit and INTx only without MSI-X. */
static void vp_interrupt(void *transport, struct virtio_dev *d, int q)
{
    struct virtio_pci *vp = transport;

    if (pci_dev_msix_enabled(&vp->pci)) {
        if (q == VIRTIO_CONFIG_IRQ)
            d->isr |= VIRTIO_ISR_CONFIG;
        uint16_t vec = q == VIRTIO_CONFIG_IRQ                  ? d->config_msix_vector
                       : q >= 0 && (unsigned)q < d->num_queues ? d->queue[q].msix_vector
                                                               : VIRTIO_MSI_NO_VECTOR;
        if (vec != VIRTIO_MSI_NO_VECTOR) {
            vp->irq_msix++;
            pci_dev_signal(&vp->pci, vec);
        }
        return;
    }
    d->isr |= q == VIRTIO_CONFIG_IRQ ? VIRTIO_ISR_CONFIG : VIRTIO_ISR_QUEUE;
    vp->irq_intx++;
    pci_dev_set_intx(&vp->pci, 1);
}

/* ---- device status, reset, features ---- */

/* The transport's registers and the queues back to their reset values. */
static void reset_regs(struct virtio_pci *vp)
{
    struct virtio_dev *v = vp->vdev;

    for (unsigned i = 0; i < v->num_queues; i++)
        virtq_reset(&v->queue[i]);
    v->driver_features = 0;
    v->status = 0;
    v->isr = 0;
    v->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
    vp->device_feature_select = 0;
    vp->driver_feature_select = 0;
    vp->queue_select = 0;
    pci_dev_set_intx(&vp->pci, 0);
}

/* The driver wrote 0 to device status. */
static void reset(struct virtio_pci *vp)
{
    if (vp->vdev->ops->reset)
        vp->vdev->ops->reset(vp->vdev);
    reset_regs(vp);
}

static void status_write(struct virtio_pci *vp, uint8_t val)
{
    struct virtio_dev *v = vp->vdev;
    const uint8_t driver_bits = (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET;

    if (!val) {
        reset(vp);
        return;
    }
    if ((v->status & driver_bits) & ~val)
        virtio_dev_error(v, "device status: the driver cleared a bit without a reset");
    uint8_t add = (uint8_t)(val & driver_bits & ~v->status);
    if (add & VIRTIO_STATUS_FEATURES_OK) {
        if (v->driver_features & ~v->features) {
            virtio_dev_error(v,
                             "FEATURES_OK refused: the driver accepted features the device does not offer");
            add &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
        } else if (!(v->driver_features & (1ull << VIRTIO_F_VERSION_1))) {
            virtio_dev_error(v, "FEATURES_OK refused: VERSION_1 not accepted (a legacy driver)");
            add &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
        }
    }
    if ((add & VIRTIO_STATUS_DRIVER_OK) && !((v->status | add) & VIRTIO_STATUS_FEATURES_OK)) {
        virtio_dev_error(v, "DRIVER_OK refused: features were not negotiated (no FEATURES_OK)");
        add &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
    }
    v->status |= add;
}

/* A queue the driver enables: its rings aligned (spec 2.7: descriptor
 * table 16, available ring 2, used ring 4) and inside guest RAM. */
static const char *ring_problem(const struct virtq *q, const struct virtio_mem *m)
{
    const uint64_t part[3][2] = {
        { q->desc, 16ull * q->size },
        { q->avail, 6 + 2ull * q->size },
        { q->used, 6 + 8ull * q->size },
    };

    if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
        return "queue enable refused: a misaligned ring";
    for (unsigned i = 0; i < 3; i++)
        if (part[i][0] > m->size || part[i][1] > m->size - part[i][0])
            return "queue enable refused: a ring outside guest RAM";
    return NULL;
}

static void queue_enable(struct virtio_pci *vp, struct virtq *q, uint32_t val)
{
    const char *why;

    if (val != 1) {
        virtio_dev_error(vp->vdev, "queue_enable: only 1 may be written (a queue is disabled by a reset)");
        return;
    }
    if (q->enabled)
        return;
    why = ring_problem(q, &vp->vdev->mem);
    if (why) {
        virtio_dev_broken(vp->vdev, why);
        return;
    }
    q->enabled = 1;
}

/* ---- common configuration ---- */

/* The width of the common configuration field at off (4 for either half of
 * a 64-bit field), 0 for no field. */
static unsigned field_width(uint32_t off)
{
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
    case VIRTIO_PCI_COMMON_DF:
    case VIRTIO_PCI_COMMON_GFSELECT:
    case VIRTIO_PCI_COMMON_GF:
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI: return 4;
    case VIRTIO_PCI_COMMON_STATUS:
    case VIRTIO_PCI_COMMON_CFGGENERATION: return 1;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_Q_SELECT:
    case VIRTIO_PCI_COMMON_Q_SIZE:
    case VIRTIO_PCI_COMMON_Q_MSIX:
    case VIRTIO_PCI_COMMON_Q_ENABLE:
    case VIRTIO_PCI_COMMON_Q_NOFF: return 2;
    default: return 0;
    }
}

static uint64_t *ring_addr(struct virtq *q, uint32_t off)
{
    return off < VIRTIO_PCI_COMMON_Q_AVAILLO  ? &q->desc
           : off < VIRTIO_PCI_COMMON_Q_USEDLO ? &q->avail
                                              : &q->used;
}

static uint32_t common_read(struct virtio_pci *vp, uint32_t off, unsigned size)
{
    struct virtio_dev *v = vp->vdev;
    struct virtq *q = selected(vp);

    if (field_width(off) != size) {
        virtio_dev_error(v, "common configuration: an access of the wrong width or offset");
        return 0;
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT: return vp->device_feature_select;
    case VIRTIO_PCI_COMMON_DF:
        return vp->device_feature_select < 2 ? (uint32_t)(v->features >> (32 * vp->device_feature_select))
                                             : 0;
    case VIRTIO_PCI_COMMON_GFSELECT: return vp->driver_feature_select;
    case VIRTIO_PCI_COMMON_GF:
        return vp->driver_feature_select < 2
                   ? (uint32_t)(v->driver_features >> (32 * vp->driver_feature_select))
                   : 0;
    case VIRTIO_PCI_COMMON_MSIX: return v->config_msix_vector;
    case VIRTIO_PCI_COMMON_NUMQ: return v->num_queues;
    case VIRTIO_PCI_COMMON_STATUS: return v->status;
    case VIRTIO_PCI_COMMON_CFGGENERATION: return (uint8_t)v->config_generation;
    case VIRTIO_PCI_COMMON_Q_SELECT: return vp->queue_select;
    case VIRTIO_PCI_COMMON_Q_SIZE: return q ? q->size : 0; /* 0: no such queue */
    case VIRTIO_PCI_COMMON_Q_MSIX: return q ? q->msix_vector : VIRTIO_MSI_NO_VECTOR;
    case VIRTIO_PCI_COMMON_Q_ENABLE: return q ? q->enabled : 0;
    case VIRTIO_PCI_COMMON_Q_NOFF: return q ? vp->queue_select : 0;
    default: /* the ring addresses, in 32-bit halves */
        return q ? (uint32_t)(*ring_addr(q, off) >> (off & 4 ? 32 : 0)) : 0;
    }
}

static uint16_t msix_vector(const struct virtio_pci *vp, uint32_t val)
{
    /* A vector the table does not have maps to none, which the driver
     * reads back to learn that the mapping failed (spec 4.1.5.1.2). */
    return val < nvectors(vp) ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
}

static void common_write(struct virtio_pci *vp, uint32_t off, unsigned size, uint32_t val)
{
    struct virtio_dev *v = vp->vdev;
    struct virtq *q = selected(vp);

    if (field_width(off) != size) {
        virtio_dev_error(v, "common configuration: an access of the wrong width or offset");
        return;
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT: vp->device_feature_select = val; return;
    case VIRTIO_PCI_COMMON_GFSELECT: vp->driver_feature_select = val; return;
    case VIRTIO_PCI_COMMON_GF:
        if (v->status & VIRTIO_STATUS_FEATURES_OK)
            virtio_dev_error(v, "driver_feature written after FEATURES_OK");
        else if (vp->driver_feature_select < 2) {
            unsigned sh = 32 * vp->driver_feature_select;
            v->driver_features = (v->driver_features & ~(0xFFFFFFFFull << sh)) | (uint64_t)val << sh;
        } else if (val)
            virtio_dev_error(v, "driver_feature: a feature bit beyond 63");
        return;
    case VIRTIO_PCI_COMMON_MSIX: v->config_msix_vector = msix_vector(vp, val); return;
    case VIRTIO_PCI_COMMON_STATUS: status_write(vp, (uint8_t)val); return;
    case VIRTIO_PCI_COMMON_Q_SELECT: vp->queue_select = (uint16_t)val; return;
    case VIRTIO_PCI_COMMON_DF:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_CFGGENERATION:
    case VIRTIO_PCI_COMMON_Q_NOFF:
        virtio_dev_error(v, "common configuration: a read-only field written");
        return;
    default: break;
    }
    /* The selected queue's registers. */
    if (!q) {
        virtio_dev_error(v, "common configuration: queue_select names no queue");
        return;
    }
    if (off == VIRTIO_PCI_COMMON_Q_ENABLE) {
        queue_enable(vp, q, val);
        return;
    }
    if (q->enabled) {
        virtio_dev_error(v, "common configuration: a queue register written while the queue is enabled");
        return;
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        if (!val || (val & (val - 1)) || val > q->max_size)
            virtio_dev_error(v, "queue_size refused: not a power of two at most the maximum");
        else
            q->size = (uint16_t)val;
        return;
    case VIRTIO_PCI_COMMON_Q_MSIX: q->msix_vector = msix_vector(vp, val); return;
    default: {
        uint64_t *a = ring_addr(q, off);
        unsigned sh = off & 4 ? 32 : 0;
        *a = (*a & ~(0xFFFFFFFFull << sh)) | (uint64_t)val << sh;
        return;
    }
    }
}

/* ---- the BAR ---- */

static uint32_t device_cfg_read(struct virtio_dev *v, uint32_t off, unsigned size)
{
    if (off >= v->config_size || size > v->config_size - off || !v->ops->config_read) {
        virtio_dev_error(v, "device configuration: a read beyond its end");
        return 0;
    }
    return v->ops->config_read(v, off, size);
}

static void device_cfg_write(struct virtio_dev *v, uint32_t off, unsigned size, uint32_t val)
{
    if (off >= v->config_size || size > v->config_size - off || !v->ops->config_write) {
        virtio_dev_error(v, "device configuration: a write beyond its end");
        return;
    }
    v->ops->config_write(v, off, size, val);
}

static void notify(struct virtio_pci *vp, uint64_t off, unsigned size)
{
    struct virtio_dev *v = vp->vdev;
    uint64_t q = off / VIRTIO_PCI_NOTIFY_MULT;

    if ((off % VIRTIO_PCI_NOTIFY_MULT) || (size != 2 && size != 4) || q >= v->num_queues) {
        virtio_dev_error(v, "notification: not a queue's notify address");
        return;
    }
    if (!(v->status & VIRTIO_STATUS_DRIVER_OK)) {
        virtio_dev_error(v, "notification before DRIVER_OK dropped");
        return;
    }
    if (v->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
        virtio_dev_error(v, "notification while the device needs a reset dropped");
        return;
    }
    if (!v->queue[q].enabled) {
        virtio_dev_error(v, "notification of a queue not enabled dropped");
        return;
    }
    vp->notifies++;
    if (v->ops->queue_notify)
        v->ops->queue_notify(v, (unsigned)q);
}

static uint64_t vp_bar_read(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size)
{
    struct virtio_pci *vp = d->ctx;
    struct virtio_dev *v = vp->vdev;

    if (bar != VIRTIO_PCI_BAR)
        return 0;
    if (off < VIRTIO_PCI_ISR) {
        if (size == 8) /* two halves of a 64-bit field */
            return common_read(vp, (uint32_t)off, 4) | (uint64_t)common_read(vp, (uint32_t)off + 4, 4) << 32;
        return common_read(vp, (uint32_t)off, size);
    }
    if (off < VIRTIO_PCI_DEVICE) {
        if (off != VIRTIO_PCI_ISR)
            return 0;
        uint8_t isr = v->isr; /* read to clear, and the INTx line falls */
        v->isr = 0;
        pci_dev_set_intx(&vp->pci, 0);
        return isr;
    }
    if (off < VIRTIO_PCI_NOTIFY) {
        uint32_t o = (uint32_t)(off - VIRTIO_PCI_DEVICE);
        if (size == 8)
            return device_cfg_read(v, o, 4) | (uint64_t)device_cfg_read(v, o + 4, 4) << 32;
        return device_cfg_read(v, o, size);
    }
    return 0; /* notify: write-only */
}

static void vp_bar_write(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size, uint64_t val)
{
    struct virtio_pci *vp = d->ctx;
    struct virtio_dev *v = vp->vdev;

    if (bar != VIRTIO_PCI_BAR) {
        virtio_dev_error(v, "a write to BAR 1 outside the MSI-X table");
        return;
    }
    if (off < VIRTIO_PCI_ISR) {
        if (size == 8) {
            common_write(vp, (uint32_t)off, 4, (uint32_t)val);
            common_write(vp, (uint32_t)off + 4, 4, (uint32_t)(val >> 32));
        } else {
            common_write(vp, (uint32_t)off, size, (uint32_t)val);
        }
    } else if (off < VIRTIO_PCI_DEVICE) {
        virtio_dev_error(v, "ISR status written (it is read-only)");
    } else if (off < VIRTIO_PCI_NOTIFY) {
        uint32_t o = (uint32_t)(off - VIRTIO_PCI_DEVICE);
        if (size == 8) {
            device_cfg_write(v, o, 4, (uint32_t)val);
            device_cfg_write(v, o + 4, 4, (uint32_t)(val >> 32));
        } else {
            device_cfg_write(v, o, size, (uint32_t)val);
        }
    } else {
        notify(vp, off - VIRTIO_PCI_NOTIFY, size);
    }
}

/* ---- the PCI configuration access capability (spec 4.1.4.9) ---- */

/* Does an access [off, off + size) touch pci_cfg_data? Then the window's
 * length, or 0 when cap.bar, cap.offset or cap.length make no access. */
static unsigned cfg_window(const struct virtio_pci *vp, unsigned off, unsigned size, uint32_t *at)
{
    const uint8_t *c = vp->pci.cfg + vp->cfg_cap;
    uint32_t len = get32(c, CAP_LENGTH);

    if (!vp->cfg_cap || off >= vp->cfg_cap + CAP_DATA + 4u || off + size <= vp->cfg_cap + CAP_DATA + 0u)
        return 0;
    *at = get32(c, CAP_OFFSET);
    if (c[CAP_BAR] != VIRTIO_PCI_BAR || (len != 1 && len != 2 && len != 4) || (*at & (len - 1)) ||
        *at >= VIRTIO_PCI_BAR_SIZE)
        return 0;
    return len;
}

static void vp_cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t val)
{
    struct virtio_pci *vp = d->ctx;
    uint32_t at;
    unsigned len = cfg_window(vp, off, size, &at);

    (void)val;
    if (len)
        vp_bar_write(d, VIRTIO_PCI_BAR, at, len,
                     get32(d->cfg, vp->cfg_cap + CAP_DATA) & (0xFFFFFFFFu >> (32 - 8 * len)));
}

static void vp_cfg_read(struct pci_dev *d, unsigned off, unsigned size, uint32_t *val)
{
    struct virtio_pci *vp = d->ctx;
    uint32_t at;
    unsigned len = cfg_window(vp, off, size, &at);

    if (!len)
        return;
    put32(d->cfg, vp->cfg_cap + CAP_DATA, (uint32_t)vp_bar_read(d, VIRTIO_PCI_BAR, at, len));
    *val = 0;
    for (unsigned i = 0; i < size && off + i < 256; i++)
        *val |= (uint32_t)d->cfg[off + i] << (8 * i);
}

static const struct pci_dev_ops vp_ops = {
    .bar_read = vp_bar_read,
    .bar_write = vp_bar_write,
    .cfg_write = vp_cfg_write,
    .cfg_read = vp_cfg_read,
};

/* ---- set-up ---- */

static unsigned vendor_cap(struct pci_dev *d, unsigned len, uint8_t type, uint32_t offset, uint32_t length)
{
    unsigned c = pci_dev_add_cap(d, PCI_CAP_VENDOR, len);
    if (c) {
        d->cfg[c + 2] = (uint8_t)len;
        d->cfg[c + 3] = type;
        d->cfg[c + CAP_BAR] = VIRTIO_PCI_BAR;
        put32(d->cfg, c + CAP_OFFSET, offset);
        put32(d->cfg, c + CAP_LENGTH, length);
    }
    return c;
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vdev)
{
    struct pci_dev *d = &vp->pci;

    if (!vdev || !vdev->ops || !vdev->num_queues || vdev->num_queues > VIRTIO_MAX_QUEUES ||
        vdev->config_size > VIRTIO_PCI_NOTIFY - VIRTIO_PCI_DEVICE)
        return -1;
    for (unsigned i = 0; i < vdev->num_queues; i++) {
        uint16_t m = vdev->queue[i].max_size;
        if (!m || (m & (m - 1)) || m > 32768)
            return -1;
    }
    memset(vp, 0, sizeof(*vp));
    vp->vdev = vdev;
    /* Class: mass storage, other (01/80) for the block device; else "unclassified". */
    pci_dev_init(d, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vdev->device_id),
                 vdev->device_id == 2 ? 0x018000 : 0xFF0000, 1, 1, &vp_ops, vp);
    pci_dev_set_subsystem(d, VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS_ID);
    if (pci_dev_add_bar(d, VIRTIO_PCI_MSIX_BAR, 0x1000, 0) ||
        pci_dev_add_bar(d, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, PCI_BAR_MEM64 | PCI_BAR_PREFETCH))
        return -1;
    unsigned common = vendor_cap(d, CAP_LEN, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON,
                                 VIRTIO_PCI_COMMON_LEN);
    unsigned isr = vendor_cap(d, CAP_LEN, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR, 1);
    unsigned dev = vdev->config_size ? vendor_cap(d, CAP_LEN, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE,
                                                  vdev->config_size)
                                     : 1;
    unsigned ntf = vendor_cap(d, CAP_NOTIFY_LEN, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY,
                              VIRTIO_PCI_NOTIFY_MULT * vdev->num_queues);
    if (ntf)
        put32(d->cfg, ntf + CAP_LEN, VIRTIO_PCI_NOTIFY_MULT);
    vp->cfg_cap = (uint8_t)vendor_cap(d, CAP_CFG_LEN, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
    if (vp->cfg_cap) {
        d->cfg[vp->cfg_cap + CAP_BAR] = 0;
        d->wmask[vp->cfg_cap + CAP_BAR] = 0xFF;
        put32(d->wmask, vp->cfg_cap + CAP_OFFSET, ~0u);
        put32(d->wmask, vp->cfg_cap + CAP_LENGTH, ~0u);
        put32(d->wmask, vp->cfg_cap + CAP_DATA, ~0u);
    }
    if (!common || !isr || !dev || !ntf || !vp->cfg_cap ||
        !pci_dev_add_msix(d, vdev->num_queues + 1u, VIRTIO_PCI_MSIX_BAR, 0, VIRTIO_PCI_MSIX_BAR,
                          MSIX_PBA_OFF))
        return -1;
    vdev->transport = vp;
    vdev->interrupt = vp_interrupt;
    reset_regs(vp);
    return 0;
}
