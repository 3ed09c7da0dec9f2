/* The virtio 1.x PCI transport, modern only (virtio 1.2 spec, 4.1), over
 * drivers/pci.h, for one device of drivers/virtio.h.
 *
 * The function: vendor 1AF4, device 0x1040 + virtio device ID (block:
 * 1042), revision 1, subsystem 1AF4:1100, INTA#. Its registers, as QEMU
 * lays them out:
 *   BAR 1 (32-bit memory, 4 KiB): MSI-X table at 0, PBA at 0x800,
 *         num_queues + 1 vectors (one per queue and one for configuration);
 *   BAR 4 (64-bit prefetchable memory, 16 KiB): common configuration at
 *         0x0000, ISR status at 0x1000, device configuration at 0x2000,
 *         notifications at 0x3000 (queue q at 0x3000 + 4 q:
 *         notify_off_multiplier 4, queue_notify_off q).
 * Vendor-specific capabilities describe them (cfg_type 1 common, 2
 * notify, 3 ISR, 4 device), then the PCI configuration access capability
 * (cfg_type 5), then MSI-X.
 *
 * What the driver does wrong is refused, counted in the device's errors and
 * named in last_error (drivers/virtio.h); the device goes on. */
#ifndef DRIVERS_VIRTIO_PCI_H
#define DRIVERS_VIRTIO_PCI_H

#include <stdint.h>

#include "pci.h"
#include "virtio.h"

#define VIRTIO_PCI_VENDOR      0x1AF4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_SUBSYS_ID   0x1100

#define VIRTIO_PCI_MSIX_BAR    1
#define VIRTIO_PCI_BAR         4
#define VIRTIO_PCI_BAR_SIZE    0x4000
#define VIRTIO_PCI_COMMON      0x0000
#define VIRTIO_PCI_ISR         0x1000
#define VIRTIO_PCI_DEVICE      0x2000
#define VIRTIO_PCI_NOTIFY      0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4

/* Vendor capability cfg_type values (spec 4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

/* Common configuration layout (spec 4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT      0x00
#define VIRTIO_PCI_COMMON_DF            0x04
#define VIRTIO_PCI_COMMON_GFSELECT      0x08
#define VIRTIO_PCI_COMMON_GF            0x0C
#define VIRTIO_PCI_COMMON_MSIX          0x10
#define VIRTIO_PCI_COMMON_NUMQ          0x12
#define VIRTIO_PCI_COMMON_STATUS        0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT      0x16
#define VIRTIO_PCI_COMMON_Q_SIZE        0x18
#define VIRTIO_PCI_COMMON_Q_MSIX        0x1A
#define VIRTIO_PCI_COMMON_Q_ENABLE      0x1C
#define VIRTIO_PCI_COMMON_Q_NOFF        0x1E
#define VIRTIO_PCI_COMMON_Q_DESCLO      0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI      0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO     0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI     0x2C
#define VIRTIO_PCI_COMMON_Q_USEDLO      0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI      0x34
#define VIRTIO_PCI_COMMON_LEN           0x38

struct virtio_pci {
    struct pci_dev pci;
    struct virtio_dev *vdev;
    uint32_t device_feature_select;
    uint32_t driver_feature_select;
    uint16_t queue_select;
    uint8_t cfg_cap; /* offset of the PCI configuration access capability */
    /* Counters: notifications passed to the device, interrupts by path. */
    uint64_t notifies, irq_msix, irq_intx;
};

/* Builds the PCI function for vdev (whose device_id, features,
 * config_size, num_queues, queue max sizes, ops and mem the device has
 * set) and hooks the transport into it (vdev->interrupt, ->transport);
 * resets the common registers. Then pci_add_dev(bus, slot, &vp->pci).
 * Returns 0, or -1 (more queues than VIRTIO_MAX_QUEUES, no ops). */
int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vdev);

#endif
