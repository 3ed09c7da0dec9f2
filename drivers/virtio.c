/* The two diagnostics every virtio device and transport shares
 * (drivers/virtio.h): a refused request counted and named, and a ring the
 * device cannot trust, which also sets DEVICE_NEEDS_RESET and, once the
 * driver is running, tells it with a configuration interrupt (virtio 1.2
 * spec 2.1.2). */
#include "virtio.h"

void virtio_dev_error(struct virtio_dev *d, const char *why)
{
    d->errors++;
    d->last_error = why;
}

void virtio_dev_broken(struct virtio_dev *d, const char *why)
{
    int was = d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;

    virtio_dev_error(d, why);
    d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (!was && (d->status & VIRTIO_STATUS_DRIVER_OK))
        virtio_dev_interrupt(d, VIRTIO_CONFIG_IRQ);
}
