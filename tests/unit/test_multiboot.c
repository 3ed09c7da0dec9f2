/* Unit tests: the Multiboot v1 ELF loader and information builder
 * (boot/multiboot.c), on ELF images built here byte by byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../boot/multiboot.h"
#include "../../boot/vm_desc.h"

#define RAM_SIZE (4u << 20)
static uint8_t *ram;
static uint8_t img[16384];
static char err[256];
static struct mb_loaded out;

struct seg {
    uint32_t paddr, filesz, memsz, offset;
};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* An ELF32 i386 executable: header, program headers at 52, a Multiboot
 * header at 0x100, segment data from the offsets given. */
static size_t make_elf(const struct seg *segs, unsigned n, uint32_t entry, uint32_t mb_flags)
{
    memset(img, 0, sizeof(img));
    memcpy(img, "\177ELF", 4);
    img[4] = 1;
    img[5] = 1;
    img[6] = 1;
    put16(img + 16, 2); /* ET_EXEC */
    put16(img + 18, 3); /* EM_386 */
    put32(img + 20, 1);
    put32(img + 24, entry);
    put32(img + 28, 52); /* phoff */
    put16(img + 40, 52);
    put16(img + 42, 32); /* phentsize */
    put16(img + 44, (uint16_t)n);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *ph = img + 52 + 32 * i;
        put32(ph, 1);
        put32(ph + 4, segs[i].offset);
        put32(ph + 8, segs[i].paddr);
        put32(ph + 12, segs[i].paddr);
        put32(ph + 16, segs[i].filesz);
        put32(ph + 20, segs[i].memsz);
        put32(ph + 24, 7);
        for (uint32_t b = 0; b < segs[i].filesz && segs[i].offset + b < sizeof(img); b++)
            img[segs[i].offset + b] = (uint8_t)(0x40 + i + b);
    }
    put32(img + 0x100, MULTIBOOT_HEADER_MAGIC);
    put32(img + 0x104, mb_flags);
    put32(img + 0x108, (uint32_t) - (MULTIBOOT_HEADER_MAGIC + mb_flags));
    return 0x2000;
}

static const struct seg one = { 0x100000, 0x800, 0x1000, 0x1000 };

static int setup(void **s)
{
    (void)s;
    ram = calloc(1, RAM_SIZE);
    return ram ? 0 : -1;
}
static int teardown(void **s)
{
    (void)s;
    free(ram);
    return 0;
}

static void expect_fail(size_t len, const char *fragment)
{
    memset(ram, 0xEE, RAM_SIZE);
    assert_int_equal(mb_load_elf(img, len, ram, RAM_SIZE, &out, err, sizeof(err)), -1);
    if (!strstr(err, fragment))
        fail_msg("error '%s' lacks '%s'", err, fragment);
    for (size_t i = 0x100000; i < 0x102000; i++)
        if (ram[i] != 0xEE)
            fail_msg("guest RAM written at 0x%zx although the image was refused", i);
}

static void test_good_image(void **s)
{
    (void)s;
    struct seg two[2] = { one, { 0x200000, 0x10, 0x3000, 0x1800 } };
    size_t len = make_elf(two, 2, 0x100010, 2);
    memset(ram, 0xEE, RAM_SIZE);
    assert_int_equal(mb_load_elf(img, len, ram, RAM_SIZE, &out, err, sizeof(err)), 0);
    assert_int_equal(out.entry, 0x100010);
    assert_int_equal(out.lowest, 0x100000);
    assert_int_equal(out.highest, 0x202fff);
    assert_memory_equal(ram + 0x100000, img + 0x1000, 0x800);
    for (size_t i = 0x100800; i < 0x101000; i++)
        assert_int_equal(ram[i], 0);       /* BSS zeroed */
    assert_int_equal(ram[0x101000], 0xEE); /* nothing past memsz */
    assert_memory_equal(ram + 0x200000, img + 0x1800, 0x10);
}

static void test_no_multiboot_header(void **s)
{
    (void)s;
    size_t len = make_elf(&one, 1, 0x100000, 0);
    put32(img + 0x100, 0);
    expect_fail(len, "no Multiboot header");
}

static void test_bad_checksum(void **s)
{
    (void)s;
    size_t len = make_elf(&one, 1, 0x100000, 2);
    put32(img + 0x108, 0);
    expect_fail(len, "bad checksum");
}

static void test_unknown_required_flag(void **s)
{
    (void)s;
    expect_fail(make_elf(&one, 1, 0x100000, 1u << 5), "requires features");
    expect_fail(make_elf(&one, 1, 0x100000, 1u << 16), "a.out");
}

static void test_not_elf(void **s)
{
    (void)s;
    size_t len = make_elf(&one, 1, 0x100000, 0);
    img[1] = 'X';
    expect_fail(len, "not an ELF file");
}

static void test_elf64_refused(void **s)
{
    (void)s;
    size_t len = make_elf(&one, 1, 0x100000, 0);
    img[4] = 2;
    expect_fail(len, "must be ELF32");
}

static void test_wrong_machine_and_type(void **s)
{
    (void)s;
    size_t len = make_elf(&one, 1, 0x100000, 0);
    put16(img + 18, 62);
    expect_fail(len, "expected i386");
    len = make_elf(&one, 1, 0x100000, 0);
    put16(img + 16, 3);
    expect_fail(len, "expected an executable");
}

static void test_truncated_segment(void **s)
{
    (void)s;
    make_elf(&one, 1, 0x100000, 0);
    expect_fail(0x1400, "runs past the end of the file");
}

static void test_truncated_headers(void **s)
{
    (void)s;
    make_elf(&one, 1, 0x100000, 0);
    put16(img + 44, 300); /* 300 program headers do not fit in 8 KiB */
    expect_fail(0x2000, "program headers run past the end");
    expect_fail(20, "no Multiboot header");
}

static void test_segment_beyond_ram(void **s)
{
    (void)s;
    struct seg big = { RAM_SIZE - 0x800, 0x800, 0x1000, 0x1000 };
    expect_fail(make_elf(&big, 1, RAM_SIZE - 0x800, 0), "does not fit in guest RAM");
    struct seg wrap = { 0xfffff000u, 0x10, 0x2000, 0x1000 };
    expect_fail(make_elf(&wrap, 1, 0xfffff000u, 0), "does not fit in guest RAM");
}

static void test_overlapping_segments(void **s)
{
    (void)s;
    struct seg two[2] = { one, { 0x100800, 0x10, 0x1000, 0x1800 } };
    expect_fail(make_elf(two, 2, 0x100000, 0), "overlaps another segment");
}

static void test_overlapping_info_area(void **s)
{
    (void)s;
    struct seg low = { 0x8000, 0x10, 0x10, 0x1000 };
    expect_fail(make_elf(&low, 1, 0x8000, 0), "overlaps the boot information area");
}

static void test_entry_outside_segments(void **s)
{
    (void)s;
    expect_fail(make_elf(&one, 1, 0x300000, 0), "entry point 0x300000");
}

static void test_filesz_above_memsz(void **s)
{
    (void)s;
    struct seg bad = { 0x100000, 0x2000, 0x1000, 0x1000 };
    expect_fail(make_elf(&bad, 1, 0x100000, 0), "exceeds memory size");
}

static void test_no_loadable_segment(void **s)
{
    (void)s;
    size_t len = make_elf(&one, 1, 0x100000, 0);
    put32(img + 52, 4); /* PT_NOTE */
    expect_fail(len, "no loadable segment");
}

/* The information structure for a VM of ram_size bytes, its memory map
 * made as the loader makes it (boot/vm_desc.c). */
static uint32_t build_info(uint64_t ram_size, const char *cmdline)
{
    struct vm_desc d;
    struct e820_entry map[VM_DESC_MAX_E820];
    vm_desc_init(&d, ram_size, 0xFEC00000ull);
    vm_desc_add_pci(&d);
    return mb_build_info(ram, map, vm_desc_e820(&d, map, VM_DESC_MAX_E820), cmdline);
}

static void test_info_structure(void **s)
{
    (void)s;
    memset(ram, 0xEE, RAM_SIZE);
    uint32_t at = build_info(RAM_SIZE, "base ram_mb=4");
    assert_int_equal(at, MB_INFO_BASE);
    struct mb_info mbi;
    memcpy(&mbi, ram + at, sizeof(mbi));
    assert_int_equal(mbi.flags, MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MMAP | MB_INFO_LOADER);
    assert_int_equal(mbi.mem_lower, 639);
    /* upper memory ends where the ACPI tables begin */
    assert_int_equal(mbi.mem_upper, (RAM_SIZE - VM_ACPI_SIZE) / 1024 - 1024);
    assert_string_equal((char *)ram + mbi.cmdline, "base ram_mb=4");
    assert_string_equal((char *)ram + mbi.boot_loader_name, "tinyhv");
    assert_true(mbi.cmdline >= MB_INFO_BASE && mbi.cmdline < MB_INFO_LIMIT);
    /* the e820 map, entry for entry: low RAM, EBDA hole, BIOS area, RAM,
     * ACPI tables, PCI ECAM */
    assert_int_equal(mbi.mmap_length, 6 * 24);
    struct mb_mmap_entry e[6];
    memcpy(e, ram + mbi.mmap_addr, sizeof(e));
    assert_int_equal(e[0].size, 20);
    assert_int_equal(e[0].type, 1);
    assert_int_equal(e[0].addr + e[0].len, e[1].addr);
    assert_int_equal(e[1].type, 2);
    assert_int_equal(e[2].addr, 0xE0000);
    assert_int_equal(e[2].type, 2);
    assert_int_equal(e[3].addr, 0x100000);
    assert_int_equal(e[3].type, 1);
    assert_int_equal(e[3].addr + e[3].len, RAM_SIZE - VM_ACPI_SIZE);
    assert_int_equal(e[4].addr, RAM_SIZE - VM_ACPI_SIZE);
    assert_int_equal(e[4].addr + e[4].len, RAM_SIZE);
    assert_int_equal(e[4].type, 2);
    assert_int_equal(e[5].addr, 0xB0000000u);
    assert_int_equal(e[5].type, 2);
}

/* A map without usable RAM at 1 MiB, or with more entries than the area
 * holds, gives no structure. */
static void test_info_bad_map(void **s)
{
    (void)s;
    struct e820_entry low_only[1] = { { 0, 0x9FC00, E820_RAM } };
    assert_int_equal(mb_build_info(ram, low_only, 1, ""), 0);
    struct e820_entry many[VM_DESC_MAX_E820 + 1];
    for (unsigned i = 0; i <= VM_DESC_MAX_E820; i++)
        many[i] = (struct e820_entry){ 0x100000ull * (i + 1), 0x100000, E820_RAM };
    assert_int_equal(mb_build_info(ram, many, VM_DESC_MAX_E820 + 1, ""), 0);
    assert_int_not_equal(mb_build_info(ram, many, VM_DESC_MAX_E820, ""), 0);
}

static void test_info_long_cmdline_truncated(void **s)
{
    (void)s;
    static char longline[70000];
    memset(longline, 'x', sizeof(longline) - 1);
    uint32_t at = build_info(RAM_SIZE, longline);
    struct mb_info mbi;
    memcpy(&mbi, ram + at, sizeof(mbi));
    assert_int_equal(strlen((char *)ram + mbi.cmdline), MB_INFO_LIMIT - mbi.cmdline - 1);
}

static void test_info_ram_too_small(void **s)
{
    (void)s;
    assert_int_equal(build_info(1u << 20, ""), 0);
}

static void test_modules_placed_in_order(void **s)
{
    (void)s;
    memset(ram, 0, RAM_SIZE);
    uint32_t at = build_info(RAM_SIZE, "k");
    static const uint8_t env[] = "NR_CPUS=1\n";
    static uint8_t big[5000];
    memset(big, 0x5a, sizeof(big));
    struct mb_module_src m[2] = { { env, sizeof(env) - 1, "env" }, { big, sizeof(big), "big x=1" } };
    char err[128];
    uint64_t end = 0;
    assert_int_equal(mb_add_modules(ram, RAM_SIZE, at, 0x123456, m, 2, &end, err, sizeof(err)), 0);
    struct mb_info mbi;
    memcpy(&mbi, ram + at, sizeof(mbi));
    assert_true(mbi.flags & MB_INFO_MODS);
    assert_int_equal(mbi.mods_count, 2);
    struct mb_module mod[2];
    memcpy(mod, ram + mbi.mods_addr, sizeof(mod));
    assert_int_equal(mod[0].mod_start, 0x124000); /* page-aligned after the kernel */
    assert_int_equal(mod[0].mod_end - mod[0].mod_start, sizeof(env) - 1);
    assert_memory_equal(ram + mod[0].mod_start, env, sizeof(env) - 1);
    assert_string_equal((char *)ram + mod[0].string, "env");
    assert_int_equal(mod[1].mod_start % 4096, 0);
    assert_true(mod[1].mod_start > mod[0].string);
    assert_int_equal(mod[1].mod_end - mod[1].mod_start, sizeof(big));
    assert_int_equal(ram[mod[1].mod_end - 1], 0x5a);
    assert_string_equal((char *)ram + mod[1].string, "big x=1");
    assert_int_equal(end, mod[1].string + sizeof("big x=1")); /* one past the last string */
    /* the list does not overlap the memory map or the structure */
    assert_true(mbi.mods_addr >= at + sizeof(mbi) && mbi.mods_addr + 2 * 16 <= mbi.mmap_addr);
}

static void test_module_too_big_writes_nothing(void **s)
{
    (void)s;
    memset(ram, 0, RAM_SIZE);
    uint32_t at = build_info(RAM_SIZE, "k");
    static uint8_t one[16] = { 1 };
    struct mb_module_src m[2] = { { one, sizeof(one), "one" }, { one, RAM_SIZE, "huge" } };
    char err[160];
    uint64_t end = 0;
    assert_int_equal(mb_add_modules(ram, RAM_SIZE, at, 0x200000, m, 2, &end, err, sizeof(err)), -1);
    if (!strstr(err, "module 2 ('huge'"))
        fail_msg("error '%s'", err);
    assert_int_equal(ram[0x200000], 0);
    struct mb_info mbi;
    memcpy(&mbi, ram + at, sizeof(mbi));
    assert_false(mbi.flags & MB_INFO_MODS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_image),
        cmocka_unit_test(test_no_multiboot_header),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_unknown_required_flag),
        cmocka_unit_test(test_not_elf),
        cmocka_unit_test(test_elf64_refused),
        cmocka_unit_test(test_wrong_machine_and_type),
        cmocka_unit_test(test_truncated_segment),
        cmocka_unit_test(test_truncated_headers),
        cmocka_unit_test(test_segment_beyond_ram),
        cmocka_unit_test(test_overlapping_segments),
        cmocka_unit_test(test_overlapping_info_area),
        cmocka_unit_test(test_entry_outside_segments),
        cmocka_unit_test(test_filesz_above_memsz),
        cmocka_unit_test(test_no_loadable_segment),
        cmocka_unit_test(test_info_structure),
        cmocka_unit_test(test_info_long_cmdline_truncated),
        cmocka_unit_test(test_info_ram_too_small),
        cmocka_unit_test(test_info_bad_map),
        cmocka_unit_test(test_modules_placed_in_order),
        cmocka_unit_test(test_module_too_big_writes_nothing),
    };
    return cmocka_run_group_tests_name("multiboot", tests, setup, teardown);
}
