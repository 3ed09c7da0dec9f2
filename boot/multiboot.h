/* Loading a Multiboot v1 ELF kernel into guest RAM and building its
 * Multiboot information structure. Pure C: guest RAM is a plain buffer
 * (guest-physical address 0 at ram[0]), so the same code runs in host tests. */
#ifndef BOOT_MULTIBOOT_H
#define BOOT_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "vm_desc.h"

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH_BYTES     8192

/* Guest-physical area the loader keeps for the information structure,
 * the command line and the memory map. Kernel segments may not overlap it. */
#define MB_INFO_BASE  0x7000u
#define MB_INFO_LIMIT 0x10000u

#define MB_INFO_MEMORY  (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS    (1u << 3)
#define MB_INFO_MMAP    (1u << 6)
#define MB_INFO_LOADER  (1u << 9)

#define MB_LOADER_NAME "tinyhv"

struct mb_info { /* Multiboot v1 information structure (the fields we fill) */
    uint32_t flags;
    uint32_t mem_lower; /* KiB below 1 MiB */
    uint32_t mem_upper; /* KiB above 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
    uint32_t drives_length;
    uint32_t drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
};

struct mb_mmap_entry { /* "size" counts the bytes after itself: 20 */
    uint32_t size;
    uint64_t addr;
    uint64_t len;
    uint32_t type; /* the e820 types: 1 = available, 2 = reserved, ... */
} __attribute__((packed));

struct mb_loaded {
    uint32_t entry;  /* guest-physical entry point */
    uint32_t lowest; /* lowest and highest guest-physical byte loaded */
    uint32_t highest;
    uint32_t header_flags;
};

/* Validates `img` (a Multiboot v1 ELF32 kernel) and copies its segments into
 * ram, below usable_end (where the guest's ACPI tables begin), zeroing each
 * segment's BSS. Returns 0, or -1 with the reason in err. Nothing is
 * written to ram unless the whole image is valid. */
int mb_load_elf(const uint8_t *img, size_t len, uint8_t *ram, uint64_t usable_end, struct mb_loaded *out,
                char *err, size_t errlen);

/* Writes the information structure, command line, loader name and memory map
 * into ram's MB_INFO area. The memory map is the VM's e820 map (boot/vm_desc.c),
 * so a Multiboot kernel and Linux are told the same layout; mem_lower and
 * mem_upper are its usable entries at 0 and at 1 MiB (the ACPI tables and
 * everything else above the latter are not in mem_upper). Returns the
 * guest-physical address of the structure (the value for EBX), or 0 if the
 * map has no usable RAM of at least 1 MiB at 1 MiB or more entries than fit. */
uint32_t mb_build_info(uint8_t *ram, const struct e820_entry *map, unsigned nmap, const char *cmdline);

struct mb_module {      /* Multiboot v1 module entry */
    uint32_t mod_start; /* guest-physical first byte */
    uint32_t mod_end;   /* one past the last byte */
    uint32_t string;    /* guest-physical address of its NUL-terminated string */
    uint32_t reserved;
};

#define MB_MODULES_MAX 8

/* A module to load: its bytes and its string. */
struct mb_module_src {
    const uint8_t *data;
    size_t len;
    const char *string;
};

/* Copies n modules into guest RAM, each on a page boundary from `after`
 * (the first free byte past the kernel) on, each followed by its string,
 * and adds them to the information structure at mbi_addr (from
 * mb_build_info); *end is then one past the last byte written (after
 * itself if n is 0). Returns 0, or -1 with the reason in err; nothing is
 * written unless every module fits below usable_end. */
int mb_add_modules(uint8_t *ram, uint64_t usable_end, uint32_t mbi_addr, uint64_t after,
                   const struct mb_module_src *mods, unsigned n, uint64_t *end, char *err, size_t errlen);

#endif
