/* Linux x86 boot protocol loader (see bzimage.h for the entry we take). */
#include "bzimage.h"

#include <string.h>

#include "../arch/x86/fmt.h"
#include "../arch/x86/bytes.h"

int bz_is_bzimage(const uint8_t *img, size_t len)
{
    return len >= BZ_HEADER + 4 && get16(img, BZ_BOOT_FLAG) == 0xAA55 &&
           memcmp(img + BZ_HEADER, "HdrS", 4) == 0;
}

#define FAIL(...)                               \
    do {                                        \
        fmt_snprintf(err, errlen, __VA_ARGS__); \
        return -1;                              \
    } while (0)

int bz_parse(const uint8_t *img, size_t len, struct bz_header *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    if (errlen)
        err[0] = 0;
    if (len < BZ_HEADER + 4)
        FAIL("%llu bytes: too short for a Linux boot header (truncated?)", (unsigned long long)len);
    if (!bz_is_bzimage(img, len))
        FAIL("not a Linux bzImage: no boot flag 0xAA55 at 0x1fe and 'HdrS' at 0x202");
    h->version = get16(img, BZ_VERSION);
    if (h->version < BZ_MIN_PROTOCOL)
        FAIL("Linux boot protocol %u.%02u is older than 2.12, the oldest this loader takes", h->version >> 8,
             h->version & 0xff);
    h->header_end = BZ_HEADER + img[BZ_HEADER_END_LEN];
    if (h->header_end < BZ_HEADER_MIN_END)
        FAIL("setup header ends at 0x%x, before the 2.12 fields (0x%x): not a valid bzImage", h->header_end,
             BZ_HEADER_MIN_END);
    unsigned sects = img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : 4;
    h->setup_size = (sects + 1) * 512;
    if (len < h->header_end || len < h->setup_size)
        FAIL("truncated: %llu bytes, the setup part alone is %u", (unsigned long long)len, h->setup_size);
    uint64_t sys = (uint64_t)get32(img, BZ_SYSSIZE) * 16;
    if (sys == 0 || h->setup_size + sys > len)
        FAIL("truncated: the protected-mode kernel should have %llu bytes after the %u of setup, "
             "the file has %llu",
             (unsigned long long)sys, h->setup_size, (unsigned long long)(len - h->setup_size));
    h->kernel_size = (uint32_t)(len - h->setup_size);
    h->loadflags = img[BZ_LOADFLAGS];
    if (!(h->loadflags & BZ_LOADED_HIGH))
        FAIL("a zImage (LOADED_HIGH clear in loadflags): only a bzImage can be loaded");
    h->relocatable = img[BZ_RELOCATABLE];
    h->kernel_alignment = get32(img, BZ_KERNEL_ALIGN);
    h->pref_address = get64(img, BZ_PREF_ADDRESS);
    h->init_size = get32(img, BZ_INIT_SIZE);
    h->initrd_addr_max = get32(img, BZ_INITRD_MAX);
    h->cmdline_size = get32(img, BZ_CMDLINE_SIZE);
    if (h->relocatable && (h->kernel_alignment == 0 || (h->kernel_alignment & (h->kernel_alignment - 1))))
        FAIL("kernel_alignment 0x%x is not a power of two", h->kernel_alignment);
    return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

int bz_load(uint8_t *ram, uint64_t ram_size, const struct bz_load_args *a, struct bz_loaded *out, char *err,
            size_t errlen)
{
    struct bz_header h;
    if (bz_parse(a->img, a->len, &h, err, errlen))
        return -1;
    const struct vm_desc *d = a->desc;
    if (d->ram_size != ram_size || d->acpi_base > ram_size || ram_size > 0x100000000ull)
        FAIL("the VM description does not match guest RAM (%llu MiB)", (unsigned long long)(ram_size >> 20));
    const uint64_t top = d->acpi_base; /* usable RAM ends below the ACPI tables */
    const uint64_t need = h.init_size > h.kernel_size ? h.init_size : h.kernel_size;

    /* The kernel: its preferred address if that fits, else (relocatable
     * only) the lowest aligned address from 1 MiB on. */
    uint64_t at = h.pref_address ? h.pref_address : 0x100000;
    int pref_ok = at >= 0x100000 && at <= top && need <= top - at &&
                  (!h.relocatable || (at & (h.kernel_alignment - 1)) == 0);
    if (!pref_ok) {
        if (!h.relocatable)
            FAIL("the kernel is not relocatable and needs 0x%llx-0x%llx, which guest RAM "
                 "(%llu MiB, usable to 0x%llx) does not hold",
                 (unsigned long long)at, (unsigned long long)(at + need - 1),
                 (unsigned long long)(ram_size >> 20), (unsigned long long)top);
        at = align_up(0x100000, h.kernel_alignment);
        if (at > top || need > top - at)
            FAIL("the kernel needs %llu KiB from an address aligned to 0x%x; guest RAM "
                 "(%llu MiB, usable to 0x%llx) is too small: raise ram_mb",
                 (unsigned long long)(need >> 10), h.kernel_alignment, (unsigned long long)(ram_size >> 20),
                 (unsigned long long)top);
    }
    const uint64_t kernel_end = at + need;

    /* The initrd: as high as its limit and the RAM below the tables allow. */
    uint64_t initrd_at = 0;
    if (a->initrd && a->initrd_len) {
        uint64_t limit = (uint64_t)h.initrd_addr_max + 1;
        if (limit > top)
            limit = top;
        if (a->initrd_len > limit || ((limit - a->initrd_len) & ~0xfffull) < kernel_end)
            FAIL("the initrd (%llu KiB) does not fit between the kernel's end 0x%llx and "
                 "0x%llx: raise ram_mb",
                 (unsigned long long)(a->initrd_len >> 10), (unsigned long long)kernel_end,
                 (unsigned long long)limit);
        initrd_at = (limit - a->initrd_len) & ~0xfffull;
    }

    size_t cmd_len = strlen(a->cmdline);
    uint32_t cmd_cap = BZ_CMDLINE_END - BZ_CMDLINE - 1;
    if (h.cmdline_size < cmd_cap)
        cmd_cap = h.cmdline_size;
    if (cmd_len > cmd_cap)
        FAIL("command line of %llu characters: this kernel takes at most %u", (unsigned long long)cmd_len,
             cmd_cap);

    struct e820_entry map[VM_DESC_MAX_E820];
    unsigned n = vm_desc_e820(d, map, VM_DESC_MAX_E820);

    /* Everything fits: write. */
    memcpy(ram + at, a->img + h.setup_size, h.kernel_size);
    if (h.init_size > h.kernel_size)
        memset(ram + at + h.kernel_size, 0, h.init_size - h.kernel_size);
    if (initrd_at)
        memcpy(ram + initrd_at, a->initrd, a->initrd_len);
    memcpy(ram + BZ_CMDLINE, a->cmdline, cmd_len + 1);

    /* The boot GDT: __BOOT_CS (0x10) flat 4 GiB execute/read, __BOOT_DS
     * (0x18) flat 4 GiB read/write, both 32-bit, page-granular. */
    const uint64_t gdt[4] = { 0, 0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull };
    memcpy(ram + BZ_GDT, gdt, sizeof(gdt));

    /* The zero page: the image's setup header, then what the loader owns. */
    uint8_t *bp = ram + BZ_ZERO_PAGE;
    memset(bp, 0, BP_SIZE);
    memcpy(bp + BZ_SETUP_SECTS, a->img + BZ_SETUP_SECTS, h.header_end - BZ_SETUP_SECTS);
    bp[BZ_TYPE_OF_LOADER] = BZ_LOADER_TYPE;
    put32(bp, BZ_CODE32_START, (uint32_t)at);
    put32(bp, BZ_RAMDISK_IMAGE, (uint32_t)initrd_at);
    put32(bp, BZ_RAMDISK_SIZE, initrd_at ? (uint32_t)a->initrd_len : 0);
    put32(bp, BP_EXT_RAMDISK_IMAGE, 0); /* everything lies below 4 GiB */
    put32(bp, BP_EXT_RAMDISK_SIZE, 0);
    put32(bp, BZ_CMD_LINE_PTR, BZ_CMDLINE);
    put32(bp, BP_EXT_CMD_LINE_PTR, 0);
    put64(bp, BP_ACPI_RSDP_ADDR, a->rsdp_addr);
    bp[BP_E820_ENTRIES] = (uint8_t)n;
    memcpy(bp + BP_E820_TABLE, map, n * sizeof(map[0]));

    out->version = h.version;
    out->entry = (uint32_t)at;
    out->zero_page = BZ_ZERO_PAGE;
    out->kernel_addr = (uint32_t)at;
    out->kernel_end = (uint32_t)kernel_end;
    out->initrd_addr = (uint32_t)initrd_at;
    out->initrd_size = initrd_at ? (uint32_t)a->initrd_len : 0;
    out->e820_entries = n;
    return 0;
}
