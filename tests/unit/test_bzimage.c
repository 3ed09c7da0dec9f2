/* Unit tests: the Linux boot protocol loader (boot/bzimage.c) and the e820
 * map of the VM description (boot/vm_desc.c), on bzImage headers built here
 * byte by byte as arch/x86/boot/tools/build.c lays them out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../boot/bzimage.h"
#include "../../boot/config.h"
#include "../../arch/x86/bytes.h"

#define MiB         (1ull << 20)
#define RAM_SIZE    (64 * MiB)
#define SETUP_SECTS 3 /* setup: (3 + 1) * 512 bytes */
#define SETUP_SIZE  ((SETUP_SECTS + 1) * 512)
#define KERNEL_SIZE 8192 /* the protected-mode part */

static uint8_t *ram, *zero_ram;
static uint8_t img[SETUP_SIZE + KERNEL_SIZE];
static uint8_t initrd[3 * 4096 + 100];
static char err[256];
static struct vm_desc desc;
static struct bz_loaded out;

/* A protocol 2.15 bzImage of a 64-bit relocatable kernel that prefers 16 MiB,
 * aligned to 2 MiB, needing 4 MiB from its load address. */
static void make_image(void)
{
    memset(img, 0, sizeof(img));
    img[BZ_SETUP_SECTS] = SETUP_SECTS;
    put32(img, BZ_SYSSIZE, KERNEL_SIZE / 16);
    put16(img, BZ_BOOT_FLAG, 0xAA55);
    img[BZ_HEADER_END_LEN] = 0x6A; /* header ends at 0x26c, as in 6.1 */
    memcpy(img + BZ_HEADER, "HdrS", 4);
    put16(img, BZ_VERSION, 0x020F);
    img[BZ_LOADFLAGS] = BZ_LOADED_HIGH;
    put32(img, BZ_CODE32_START, 0x100000);
    put32(img, BZ_INITRD_MAX, 0x7fffffff);
    put32(img, BZ_KERNEL_ALIGN, 0x200000);
    img[BZ_RELOCATABLE] = 1;
    put16(img, BZ_XLOADFLAGS, 0x7F);
    put32(img, BZ_CMDLINE_SIZE, 2047);
    put64(img, BZ_PREF_ADDRESS, 0x1000000);
    put32(img, BZ_INIT_SIZE, 4 * MiB);
    for (unsigned i = 0; i < KERNEL_SIZE; i++)
        img[SETUP_SIZE + i] = (uint8_t)(i * 7 + 1);
    for (unsigned i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i * 3 + 5);
}

static struct bz_load_args args(size_t len, const char *cmdline)
{
    return (struct bz_load_args){ img, len, initrd, sizeof(initrd), cmdline, &desc, 0xFFF0000 };
}

static int setup(void **state)
{
    (void)state;
    ram = calloc(1, RAM_SIZE);
    zero_ram = calloc(1, RAM_SIZE);
    return ram && zero_ram ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    free(zero_ram);
    return 0;
}

static int before(void **state)
{
    (void)state;
    memset(ram, 0, RAM_SIZE);
    make_image();
    vm_desc_init(&desc, RAM_SIZE, 0xFEC00000);
    memset(&out, 0, sizeof(out));
    err[0] = 0;
    return 0;
}

/* A refused load writes nothing into guest RAM and says why. */
static void refused(struct bz_load_args a, const char *why)
{
    assert_int_equal(bz_load(ram, RAM_SIZE, &a, &out, err, sizeof(err)), -1);
    if (!strstr(err, why))
        fail_msg("error '%s' lacks '%s'", err, why);
    assert_memory_equal(ram, zero_ram, RAM_SIZE);
}

static void test_good_header(void **state)
{
    (void)state;
    struct bz_header h;
    assert_true(bz_is_bzimage(img, sizeof(img)));
    assert_int_equal(bz_parse(img, sizeof(img), &h, err, sizeof(err)), 0);
    assert_int_equal(h.version, 0x020F);
    assert_int_equal(h.setup_size, SETUP_SIZE);
    assert_int_equal(h.kernel_size, KERNEL_SIZE);
    assert_int_equal(h.header_end, 0x26C);
    assert_int_equal(h.pref_address, 0x1000000);
    assert_int_equal(h.kernel_alignment, 0x200000);
    assert_int_equal(h.init_size, 4 * MiB);
    assert_int_equal(h.cmdline_size, 2047);
    assert_true(h.relocatable);
    /* setup_sects 0 means 4 */
    img[BZ_SETUP_SECTS] = 0;
    put32(img, BZ_SYSSIZE, (sizeof(img) - 5 * 512) / 16);
    assert_int_equal(bz_parse(img, sizeof(img), &h, err, sizeof(err)), 0);
    assert_int_equal(h.setup_size, 5 * 512);
}

static void test_good_load(void **state)
{
    (void)state;
    struct bz_load_args a = args(sizeof(img), "console=ttyS0 earlyprintk=ttyS0");
    assert_int_equal(bz_load(ram, RAM_SIZE, &a, &out, err, sizeof(err)), 0);
    /* The kernel at its preferred address, its BSS room zeroed */
    assert_int_equal(out.kernel_addr, 0x1000000);
    assert_int_equal(out.entry, 0x1000000);
    assert_int_equal(out.kernel_end, 0x1000000 + 4 * MiB);
    assert_memory_equal(ram + 0x1000000, img + SETUP_SIZE, KERNEL_SIZE);
    /* The initrd: page-aligned, as high as RAM below the ACPI tables allows */
    assert_int_equal(out.initrd_size, sizeof(initrd));
    assert_int_equal(out.initrd_addr % 4096, 0);
    assert_true(out.initrd_addr + sizeof(initrd) <= desc.acpi_base);
    assert_true(out.initrd_addr + sizeof(initrd) + 4096 > desc.acpi_base);
    assert_memory_equal(ram + out.initrd_addr, initrd, sizeof(initrd));
    /* The zero page */
    const uint8_t *bp = ram + BZ_ZERO_PAGE;
    assert_int_equal(out.zero_page, BZ_ZERO_PAGE);
    assert_memory_equal(bp + BZ_HEADER, "HdrS", 4);
    assert_int_equal(bp[BZ_SETUP_SECTS], SETUP_SECTS);
    assert_int_equal(bp[BZ_TYPE_OF_LOADER], 0xFF);
    assert_int_equal(bp[BZ_LOADFLAGS], BZ_LOADED_HIGH);
    assert_int_equal(get32(bp, BZ_CODE32_START), 0x1000000);
    assert_int_equal(get32(bp, BZ_RAMDISK_IMAGE), out.initrd_addr);
    assert_int_equal(get32(bp, BZ_RAMDISK_SIZE), sizeof(initrd));
    assert_int_equal(get32(bp, BP_EXT_RAMDISK_IMAGE), 0);
    assert_int_equal(get32(bp, BP_EXT_RAMDISK_SIZE), 0);
    assert_int_equal(get32(bp, BZ_CMD_LINE_PTR), BZ_CMDLINE);
    assert_string_equal((const char *)ram + BZ_CMDLINE, "console=ttyS0 earlyprintk=ttyS0");
    assert_int_equal(get64(bp, BP_ACPI_RSDP_ADDR), 0xFFF0000);
    assert_int_equal(get32(bp, BZ_PREF_ADDRESS), 0x1000000);
    /* Nothing of the image past the setup header lands in the zero page */
    for (unsigned i = 0x26C; i < BP_E820_TABLE; i++)
        if (i != BP_E820_ENTRIES)
            assert_int_equal(bp[i], 0);
    /* The e820 map is the VM description's */
    struct e820_entry map[VM_DESC_MAX_E820];
    unsigned n = vm_desc_e820(&desc, map, VM_DESC_MAX_E820);
    assert_int_equal(bp[BP_E820_ENTRIES], n);
    assert_int_equal(out.e820_entries, n);
    assert_memory_equal(bp + BP_E820_TABLE, map, n * sizeof(map[0]));
    /* The boot GDT: __BOOT_CS flat code, __BOOT_DS flat data */
    assert_int_equal(get64(ram, BZ_GDT + BZ_BOOT_CS), 0x00CF9A000000FFFFull);
    assert_int_equal(get64(ram, BZ_GDT + BZ_BOOT_DS), 0x00CF92000000FFFFull);
}

static void test_truncated(void **state)
{
    (void)state;
    refused(args(sizeof(img) - 16, ""), "truncated"); /* kernel cut short */
    refused(args(SETUP_SIZE - 1, ""), "truncated");   /* setup cut short */
    refused(args(0x240, ""), "truncated");            /* header cut short */
    refused(args(0x100, ""), "too short");            /* no header at all */
    put32(img, BZ_SYSSIZE, 0);
    refused(args(sizeof(img), ""), "truncated"); /* no kernel at all */
}

static void test_wrong_magic(void **state)
{
    (void)state;
    img[BZ_HEADER + 3] = 'X';
    assert_false(bz_is_bzimage(img, sizeof(img)));
    refused(args(sizeof(img), ""), "not a Linux bzImage");
    make_image();
    put16(img, BZ_BOOT_FLAG, 0);
    refused(args(sizeof(img), ""), "not a Linux bzImage");
    /* An ELF file is not a bzImage */
    memset(img, 0, sizeof(img));
    memcpy(img, "\177ELF", 4);
    assert_false(bz_is_bzimage(img, sizeof(img)));
}

static void test_old_protocol(void **state)
{
    (void)state;
    put16(img, BZ_VERSION, 0x020B);
    refused(args(sizeof(img), ""), "2.11 is older than 2.12");
    make_image();
    img[BZ_HEADER_END_LEN] = 0x30; /* header ends before the 2.12 fields */
    refused(args(sizeof(img), ""), "before the 2.12 fields");
    make_image();
    img[BZ_LOADFLAGS] = 0; /* a zImage */
    refused(args(sizeof(img), ""), "zImage");
}

static void test_too_big(void **state)
{
    (void)state;
    /* The kernel needs more than guest RAM holds */
    put32(img, BZ_INIT_SIZE, RAM_SIZE);
    refused(args(sizeof(img), ""), "too small: raise ram_mb");
    /* The initrd does not fit above the kernel */
    make_image();
    static uint8_t big[1];
    struct bz_load_args a = args(sizeof(img), "");
    a.initrd = big;
    a.initrd_len = RAM_SIZE - 0x1000000 - 4 * MiB - VM_ACPI_SIZE + 1;
    refused(a, "initrd");
    /* The initrd must end below initrd_addr_max too */
    put32(img, BZ_INITRD_MAX, 0x1000000 + 4 * MiB + 4096 - 1);
    refused(args(sizeof(img), ""), "initrd");
    /* A command line longer than the kernel takes */
    make_image();
    put32(img, BZ_CMDLINE_SIZE, 5);
    refused(args(sizeof(img), "console=ttyS0"), "at most 5");
}

static void test_relocation(void **state)
{
    (void)state;
    /* A relocatable kernel whose preferred address does not fit goes to
     * the lowest aligned address from 1 MiB */
    put64(img, BZ_PREF_ADDRESS, RAM_SIZE - MiB);
    struct bz_load_args a = args(sizeof(img), "");
    assert_int_equal(bz_load(ram, RAM_SIZE, &a, &out, err, sizeof(err)), 0);
    assert_int_equal(out.kernel_addr, 0x200000);
    assert_int_equal(get32(ram + BZ_ZERO_PAGE, BZ_CODE32_START), 0x200000);
    /* ... but not a kernel that cannot move */
    memset(ram, 0, RAM_SIZE);
    img[BZ_RELOCATABLE] = 0;
    refused(args(sizeof(img), ""), "not relocatable");
    /* a non-relocatable kernel whose address fits loads there */
    put64(img, BZ_PREF_ADDRESS, 0x1000000);
    a = args(sizeof(img), "");
    assert_int_equal(bz_load(ram, RAM_SIZE, &a, &out, err, sizeof(err)), 0);
    assert_int_equal(out.kernel_addr, 0x1000000);
    /* an alignment that is not a power of two is refused */
    img[BZ_RELOCATABLE] = 1;
    put32(img, BZ_KERNEL_ALIGN, 0x300000);
    memset(ram, 0, RAM_SIZE);
    refused(args(sizeof(img), ""), "power of two");
}

/* The e820 map: sorted, no overlaps, the low 640 KiB usable as on a PC, the
 * BIOS area and the ACPI tables reserved, RAM from 1 MiB to the tables. */
static void test_e820_layout(void **state)
{
    (void)state;
    struct vm_desc d;
    vm_desc_init(&d, 128 * MiB, 0xFEC00000);
    struct e820_entry m[VM_DESC_MAX_E820];
    assert_int_equal(vm_desc_e820(&d, m, VM_DESC_MAX_E820), 5); /* without PCI: no ECAM */
    vm_desc_add_pci(&d);
    unsigned n = vm_desc_e820(&d, m, VM_DESC_MAX_E820);
    assert_int_equal(n, 6);
    const struct e820_entry want[6] = {
        { 0, 0x9FC00, E820_RAM },
        { 0x9FC00, 0x400, E820_RESERVED },
        { 0xE0000, 0x20000, E820_RESERVED },
        { 0x100000, 128 * MiB - 0x100000 - VM_ACPI_SIZE, E820_RAM },
        { 128 * MiB - VM_ACPI_SIZE, VM_ACPI_SIZE, E820_RESERVED },
        { 0xB0000000, 0x100000, E820_RESERVED }, /* PCI ECAM, bus 0 */
    };
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(m[i].addr, want[i].addr);
        assert_int_equal(m[i].size, want[i].size);
        assert_int_equal(m[i].type, want[i].type);
        if (i)
            assert_true(m[i - 1].addr + m[i - 1].size <= m[i].addr);
    }
    assert_int_equal(m[n - 2].addr + m[n - 2].size, 128 * MiB);
    /* Nothing in the BAR hole, and RAM at its largest still ends below ECAM. */
    for (unsigned i = 0; i < n; i++)
        assert_true(m[i].addr + m[i].size <= PLATFORM_PCI_MMIO_BASE || m[i].addr >= PLATFORM_PCI_MMIO_END);
    struct vm_desc big;
    struct e820_entry mb[VM_DESC_MAX_E820];
    vm_desc_init(&big, (uint64_t)CONFIG_RAM_MB_MAX * MiB, 0xFEC00000);
    vm_desc_add_pci(&big);
    unsigned nb = vm_desc_e820(&big, mb, VM_DESC_MAX_E820);
    for (unsigned i = 1; i < nb; i++)
        assert_true(mb[i - 1].addr + mb[i - 1].size <= mb[i].addr);
    assert_int_equal(d.acpi_base, 128 * MiB - VM_ACPI_SIZE);
    /* A short table gets the first entries only */
    assert_int_equal(vm_desc_e820(&d, m, 2), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_good_header, before),  cmocka_unit_test_setup(test_good_load, before),
        cmocka_unit_test_setup(test_truncated, before),    cmocka_unit_test_setup(test_wrong_magic, before),
        cmocka_unit_test_setup(test_old_protocol, before), cmocka_unit_test_setup(test_too_big, before),
        cmocka_unit_test_setup(test_relocation, before),   cmocka_unit_test_setup(test_e820_layout, before),
    };
    return cmocka_run_group_tests_name("bzimage", tests, setup, teardown);
}
