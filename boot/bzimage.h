/* Loading a Linux bzImage by the x86 boot protocol (Documentation/x86/
 * boot.rst, version 2.12 or later): the protected-mode kernel, the initrd,
 * the command line and the zero page (struct boot_params) with its e820 map
 * and acpi_rsdp_addr. Pure C over guest RAM as a plain buffer (guest-physical
 * 0 at ram[0]), like multiboot.c, so host tests run the same code.
 *
 * The guest enters through the 32-bit boot protocol: startup_32 at the
 * start of the protected-mode kernel, 32-bit protected mode with flat 4 GiB
 * segments (CS 0x10, DS/ES/SS 0x18 from a GDT we write), paging off,
 * interrupts off, ESI = zero page, EBX/EBP/EDI = 0. We take it rather than
 * the 64-bit entry because it is the machine state our Multiboot path
 * already starts guests in (vmx/vmcs_setup.c): the same VMCS guest state,
 * no page tables or long-mode segments of ours to build and keep out of the
 * kernel's way, and the kernel's own startup_32 builds its identity map and
 * enters long mode the way it does on every BIOS machine (it is what GRUB's
 * `linux` and QEMU's -kernel option boot through as well). */
#ifndef BOOT_BZIMAGE_H
#define BOOT_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "vm_desc.h"

#define BZ_MIN_PROTOCOL 0x020C /* 2.12: xloadflags, and everything before */
#define BZ_LOADER_TYPE  0xFF   /* "undefined" boot loader id */

/* Low guest memory the loader keeps for the Linux path (inside the first
 * 64 KiB, which Linux reserves for itself anyway). */
#define BZ_ZERO_PAGE   0x7000u /* struct boot_params, 4 KiB */
#define BZ_GDT         0x8000u /* the boot GDT: null, null, __BOOT_CS, __BOOT_DS */
#define BZ_CMDLINE     0x9000u /* the command line, up to BZ_CMDLINE_END */
#define BZ_CMDLINE_END 0x10000u
#define BZ_BOOT_CS     0x10
#define BZ_BOOT_DS     0x18

/* Offsets in the image and in boot_params (the setup header lies at the
 * same offset in both). */
#define BZ_SETUP_SECTS       0x1F1
#define BZ_SYSSIZE           0x1F4
#define BZ_BOOT_FLAG         0x1FE /* 0xAA55 */
#define BZ_HEADER_END_LEN    0x201 /* byte: the header ends at 0x202 + this */
#define BZ_HEADER            0x202 /* "HdrS" */
#define BZ_VERSION           0x206
#define BZ_TYPE_OF_LOADER    0x210
#define BZ_LOADFLAGS         0x211
#define BZ_CODE32_START      0x214
#define BZ_RAMDISK_IMAGE     0x218
#define BZ_RAMDISK_SIZE      0x21C
#define BZ_CMD_LINE_PTR      0x228
#define BZ_INITRD_MAX        0x22C
#define BZ_KERNEL_ALIGN      0x230
#define BZ_RELOCATABLE       0x234
#define BZ_XLOADFLAGS        0x236
#define BZ_CMDLINE_SIZE      0x238
#define BZ_PREF_ADDRESS      0x258
#define BZ_INIT_SIZE         0x260
#define BZ_HEADER_MIN_END    0x268 /* the fields above, all in protocol 2.12 */
/* boot_params outside the setup header */
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE  0x0C4
#define BP_EXT_CMD_LINE_PTR  0x0C8
#define BP_E820_ENTRIES      0x1E8
#define BP_E820_TABLE        0x2D0
#define BP_E820_MAX          128
#define BP_SIZE              0x1000

#define BZ_LOADED_HIGH 0x01 /* loadflags bit 0: protected-mode code at 1 MiB+ */

struct bz_header { /* what the loader needs from the image */
    uint16_t version;
    uint8_t loadflags;
    uint8_t relocatable;
    uint32_t setup_size;  /* the real-mode part: (setup_sects + 1) * 512 */
    uint32_t kernel_size; /* the protected-mode part, after it */
    uint32_t header_end;  /* one past the setup header (0x202 + byte 0x201) */
    uint64_t pref_address;
    uint32_t kernel_alignment;
    uint32_t init_size;       /* bytes the kernel needs from its load address */
    uint32_t initrd_addr_max; /* highest address the initrd's last byte may have */
    uint32_t cmdline_size;    /* longest command line, without its NUL */
};

/* 1 when img starts like a Linux boot image (boot flag 0xAA55 and "HdrS"). */
int bz_is_bzimage(const uint8_t *img, size_t len);

/* Reads and checks the header: magic, protocol >= 2.12, LOADED_HIGH,
 * sizes inside the file. Returns 0, or -1 with the reason in err. */
int bz_parse(const uint8_t *img, size_t len, struct bz_header *h, char *err, size_t errlen);

struct bz_load_args {
    const uint8_t *img;
    size_t len;
    const uint8_t *initrd; /* NULL: none */
    size_t initrd_len;
    const char *cmdline;
    const struct vm_desc *desc; /* RAM size, where the ACPI tables are, the e820 map */
    uint64_t rsdp_addr;         /* boot_params.acpi_rsdp_addr; 0: none */
};

struct bz_loaded {
    uint16_t version;                 /* the boot protocol the kernel speaks */
    uint32_t entry;                   /* EIP: startup_32 */
    uint32_t zero_page;               /* ESI */
    uint32_t kernel_addr, kernel_end; /* [addr, addr + init_size) */
    uint32_t initrd_addr, initrd_size;
    uint32_t e820_entries;
};

/* Places the kernel (at its preferred address, else, if relocatable, at
 * the lowest suitably aligned address from 1 MiB on), the initrd (as high
 * as its limit and the RAM below the ACPI tables allow), the command line,
 * the boot GDT and the zero page in ram. Returns 0, or -1 with the reason
 * in err; nothing is written unless everything fits. */
int bz_load(uint8_t *ram, uint64_t ram_size, const struct bz_load_args *a, struct bz_loaded *out, char *err,
            size_t errlen);

#endif
