/* For host tests of the virtio PCI transport that do not link the split
 * virtqueue (drivers/virtq.c): its reset as drivers/virtio.h specifies it,
 * weak so that the real one wins wherever virtq.c is linked in. */
#ifndef TESTS_VIRTQ_RESET_STUB_H
#define TESTS_VIRTQ_RESET_STUB_H

#include <string.h>

#include "../drivers/virtio.h"

__attribute__((weak)) void virtq_reset(struct virtq *q)
{
    uint16_t max = q->max_size;
    memset(q, 0, sizeof(*q));
    q->max_size = max;
    q->size = max;
    q->msix_vector = VIRTIO_MSI_NO_VECTOR;
}

#endif
