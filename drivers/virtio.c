/* What every virtio device does with a driver's mistakes (drivers/virtio.h):
 * a ring it cannot trust sets DEVICE_NEEDS_RESET and raises a
 * configuration interrupt (spec 2.1.2); a request it refuses is only
 * counted. Both are named in last_error for the VMX side's rate-limited
 * log. Pure C. */
#include "virtio.h"

void virtio_dev_broken(struct virtio_dev *d, const char *why)
{
    int first = !(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

    d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    d->errors++;
    d->last_error = why;
    /* One configuration interrupt tells the driver; repeating it for the
     * same broken state would only add noise. */
    if (first)
        virtio_dev_interrupt(d, VIRTIO_CONFIG_IRQ);
}

void virtio_dev_error(struct virtio_dev *d, const char *why)
{
    d->errors++;
    d->last_error = why;
}
