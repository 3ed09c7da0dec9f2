/* QEMU's firmware configuration device (fw_cfg), the few items test
 * kernels built for `qemu -kernel` read: a 16-bit selector written to port
 * 0x510, the item's bytes read one at a time from port 0x511. Items:
 * signature "QEMU", ID (1: the port interface only, no DMA), RAM size,
 * the CPU counts, and an empty file directory. An unknown item, or a read
 * past an item's end, gives 0 as QEMU does. Pure C, no port I/O here. */
#ifndef DRIVERS_FWCFG_H
#define DRIVERS_FWCFG_H

#include <stdint.h>

#define FWCFG_PORT_SELECTOR 0x510
#define FWCFG_PORT_DATA     0x511

#define FWCFG_SIGNATURE 0x00
#define FWCFG_ID        0x01
#define FWCFG_RAM_SIZE  0x03
#define FWCFG_NB_CPUS   0x05
#define FWCFG_MAX_CPUS  0x0f
#define FWCFG_FILE_DIR  0x19

struct fwcfg {
    uint64_t ram_size;
    uint16_t ncpus;
    uint16_t selector;
    uint32_t offset; /* next byte of the selected item */
};

void fwcfg_init(struct fwcfg *f, uint64_t ram_size, uint16_t ncpus);
void fwcfg_select(struct fwcfg *f, uint16_t key);
uint8_t fwcfg_read(struct fwcfg *f);

#endif
