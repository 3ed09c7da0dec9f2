/* The physical 8259 pair: the hypervisor does not use it, but a masked
 * 8259 can still raise a spurious IRQ 7/15, so its vectors are moved out of
 * the exception range before everything is masked. */
#ifndef ARCH_X86_PIC_H
#define ARCH_X86_PIC_H

#include <stdint.h>

#define HOST_PIC_MASTER_BASE 0xF0
#define HOST_PIC_SLAVE_BASE  0xF8

void pic_remap_and_mask(void);

#endif
