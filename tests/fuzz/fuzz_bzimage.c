/* libFuzzer target: the Linux boot protocol loader (boot/bzimage.c).
 *
 * Input: byte 0 picks guest RAM (4..16 MiB, even), byte 1 the initrd's
 * length (in 16 KiB steps, 0 = none), the rest is the image. Guest RAM is
 * allocated at its exact size, so AddressSanitizer reports any write past
 * it.
 *
 * Invariants: a refused image leaves guest RAM as it was (all zero here);
 * a loaded one has its kernel from 1 MiB on, aligned when relocatable,
 * below the ACPI tables, the initrd page-aligned between the kernel's end
 * and the tables (and below initrd_addr_max), the zero page holding the
 * image's setup header, our loader id and the VM description's e820 map,
 * and the initrd's and kernel's bytes where the zero page says. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../boot/bzimage.h"

static uint32_t get32(const uint8_t *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, 4);
    return v;
}

static int all_zero(const uint8_t *p, size_t n)
{
    static const uint8_t zero[4096];
    for (size_t i = 0; i < n; i += sizeof(zero)) {
        size_t k = n - i < sizeof(zero) ? n - i : sizeof(zero);
        if (memcmp(p + i, zero, k))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint64_t ram_size = (uint64_t)(4 + 2 * (data[0] % 7)) << 20;
    size_t initrd_len = (size_t)data[1] * 16384;
    const uint8_t *img = data + 2;
    size_t len = size - 2;
    uint8_t *ram = calloc(1, ram_size);
    uint8_t *initrd = initrd_len ? malloc(initrd_len) : NULL;
    if (!ram || (initrd_len && !initrd))
        abort();
    for (size_t i = 0; i < initrd_len; i++)
        initrd[i] = (uint8_t)(i * 13 + 7);
    struct vm_desc d;
    vm_desc_init(&d, ram_size, 0xFEC00000);
    struct bz_load_args a = { img, len, initrd, initrd_len, "console=ttyS0", &d, 0x1234560 };
    struct bz_loaded out;
    char err[256];
    if (bz_load(ram, ram_size, &a, &out, err, sizeof(err))) {
        if (!err[0] || !all_zero(ram, ram_size))
            abort();
    } else {
        struct bz_header h;
        if (bz_parse(img, len, &h, err, sizeof(err)))
            abort();
        if (out.kernel_addr < 0x100000 || out.kernel_end > d.acpi_base || out.kernel_end < out.kernel_addr ||
            (h.relocatable && (out.kernel_addr & (h.kernel_alignment - 1))))
            abort();
        if (memcmp(ram + out.kernel_addr, img + h.setup_size, h.kernel_size))
            abort();
        if (initrd_len) {
            if (out.initrd_addr % 4096 || out.initrd_addr < out.kernel_end ||
                (uint64_t)out.initrd_addr + initrd_len > d.acpi_base ||
                (uint64_t)out.initrd_addr + initrd_len - 1 > h.initrd_addr_max ||
                memcmp(ram + out.initrd_addr, initrd, initrd_len))
                abort();
        }
        const uint8_t *bp = ram + BZ_ZERO_PAGE;
        struct e820_entry map[VM_DESC_MAX_E820];
        unsigned n = vm_desc_e820(&d, map, VM_DESC_MAX_E820);
        if (memcmp(bp + BZ_HEADER, "HdrS", 4) || bp[BZ_TYPE_OF_LOADER] != BZ_LOADER_TYPE ||
            get32(bp, BZ_RAMDISK_IMAGE) != out.initrd_addr || bp[BP_E820_ENTRIES] != n ||
            memcmp(bp + BP_E820_TABLE, map, n * sizeof(map[0])) ||
            strcmp((const char *)ram + BZ_CMDLINE, "console=ttyS0"))
            abort();
    }
    free(ram);
    free(initrd);
    return 0;
}
