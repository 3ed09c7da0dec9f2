/* Unit tests: ACPI discovery (drivers/acpi.c) over tables built in memory. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sys/mman.h>

#include "../../drivers/acpi.h"

static uint8_t rsdp[36], xsdt[64], madt[256], fadt[244], dsdt[128];
static struct acpi_info info;
static char err[160];

static void sum_fix(uint8_t *p, size_t len, size_t at)
{
    uint8_t s = 0;
    p[at] = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    p[at] = (uint8_t)(0 - s);
}

static void header(uint8_t *t, const char *sig, uint32_t len)
{
    memcpy(t, sig, 4);
    memcpy(t + 4, &len, 4);
    t[8] = 1;
    memcpy(t + 10, "TINYHV", 6);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* A PC: one CPU, IOAPIC id 1 at 0xFEC00000 GSI 0, IRQ0->GSI2 and a level
 * override for IRQ 9; FADT with PM1a_CNT 0xB004 and a DSDT with _S5 = 5. */
static void build(int use_xsdt)
{
    memset(rsdp, 0, sizeof(rsdp));
    memset(madt, 0, sizeof(madt));
    uint32_t n = 44;
    header(madt, "APIC", 0);
    put32(madt + 36, 0xFEE00000);
    uint8_t lapic[8] = { 0, 8, 0, 0, 1, 0, 0, 0 };
    memcpy(madt + n, lapic, 8);
    n += 8;
    uint8_t lapic_off[8] = { 0, 8, 1, 1, 0, 0, 0, 0 }; /* disabled CPU: not counted */
    memcpy(madt + n, lapic_off, 8);
    n += 8;
    uint8_t io[12] = { 1, 12, 1, 0 };
    put32(io + 4, 0xFEC00000);
    put32(io + 8, 0);
    memcpy(madt + n, io, 12);
    n += 12;
    uint8_t iso0[10] = { 2, 10, 0, 0 };
    put32(iso0 + 4, 2);
    memcpy(madt + n, iso0, 10);
    n += 10;
    uint8_t iso9[10] = { 2, 10, 0, 9 };
    put32(iso9 + 4, 9);
    iso9[8] = 0x0d;
    memcpy(madt + n, iso9, 10);
    n += 10;
    put32(madt + 4, n);
    sum_fix(madt, n, 9);

    memset(dsdt, 0, sizeof(dsdt));
    header(dsdt, "DSDT", 36 + 12);
    uint8_t s5[12] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0A, 0x05, 0x0A, 0x05 };
    memcpy(dsdt + 36, s5, sizeof(s5));
    sum_fix(dsdt, 48, 9);

    memset(fadt, 0, sizeof(fadt));
    header(fadt, "FACP", sizeof(fadt));
    put32(fadt + 40, (uint32_t)(uintptr_t)0); /* 32-bit DSDT unused: X_DSDT below */
    put32(fadt + 64, 0xB004);
    put64(fadt + 140, (uint64_t)(uintptr_t)dsdt);
    sum_fix(fadt, sizeof(fadt), 9);

    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "TINYHV", 6);
    if (use_xsdt) {
        header(xsdt, "XSDT", 36 + 16);
        put64(xsdt + 36, (uint64_t)(uintptr_t)madt);
        put64(xsdt + 44, (uint64_t)(uintptr_t)fadt);
        sum_fix(xsdt, 52, 9);
        rsdp[15] = 2;
        put32(rsdp + 20, 36);
        put64(rsdp + 24, (uint64_t)(uintptr_t)xsdt);
        sum_fix(rsdp, 20, 8);
        sum_fix(rsdp, 36, 32);
        return;
    }
}

static void test_xsdt_madt_fadt(void **s)
{
    (void)s;
    build(1);
    assert_int_equal(acpi_parse(rsdp, &info, err, sizeof(err)), 0);
    assert_int_equal(info.revision, 2);
    assert_string_equal(info.oem_id, "TINYHV");
    assert_int_equal(info.lapic_base, 0xFEE00000);
    assert_int_equal(info.n_cpus, 1);
    assert_int_equal(info.n_ioapic, 1);
    assert_int_equal(info.ioapic[0].id, 1);
    assert_int_equal(info.ioapic[0].addr, 0xFEC00000);
    assert_int_equal(info.ioapic[0].gsi_base, 0);
    assert_int_equal(info.n_iso, 2);
    assert_int_equal(info.iso[0].source, 0);
    assert_int_equal(info.iso[0].gsi, 2);
    assert_int_equal(info.iso[1].source, 9);
    assert_int_equal(info.iso[1].flags, 0x0d);
    assert_int_equal(info.pm1a_cnt, 0xB004);
    assert_true(info.s5_valid);
    assert_int_equal(info.slp_typ_a, 5);
}

/* ACPI 1.0: RSDT with 32-bit entries, so the tables must sit below 4 GiB. */
static void test_rsdt_path(void **s)
{
    (void)s;
    uint8_t *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    assert_true(low != MAP_FAILED);
    build(1); /* the MADT content */
    uint8_t *low_rsdp = low, *low_rsdt = low + 64, *low_madt = low + 256;
    memcpy(low_madt, madt, sizeof(madt));
    memset(low_rsdp, 0, 64);
    memcpy(low_rsdp, "RSD PTR ", 8);
    header(low_rsdt, "RSDT", 36 + 4);
    put32(low_rsdt + 36, (uint32_t)(uintptr_t)low_madt);
    sum_fix(low_rsdt, 40, 9);
    put32(low_rsdp + 16, (uint32_t)(uintptr_t)low_rsdt);
    sum_fix(low_rsdp, 20, 8);
    assert_int_equal(acpi_parse(low_rsdp, &info, err, sizeof(err)), 0);
    assert_int_equal(info.revision, 0);
    assert_int_equal(info.n_ioapic, 1);
    assert_false(info.s5_valid); /* no FADT in this RSDT */
    munmap(low, 4096);
}

static void test_bad_rsdp(void **s)
{
    (void)s;
    build(1);
    rsdp[0] = 'X';
    assert_int_equal(acpi_parse(rsdp, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no RSDP signature"));
    build(1);
    rsdp[8] ^= 1;
    assert_int_equal(acpi_parse(rsdp, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "RSDP checksum"));
    assert_int_equal(acpi_parse(NULL, &info, err, sizeof(err)), -1);
}

static void test_bad_xsdt(void **s)
{
    (void)s;
    build(1);
    xsdt[20] ^= 0xff; /* breaks the checksum */
    assert_int_equal(acpi_parse(rsdp, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "XSDT"));
}

static void test_corrupt_madt_is_missing(void **s)
{
    (void)s;
    build(1);
    madt[40] ^= 0x55; /* checksum now wrong: table ignored */
    assert_int_equal(acpi_parse(rsdp, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no valid MADT"));
}

static void test_truncated_madt_entry(void **s)
{
    (void)s;
    build(1);
    madt[44 + 1] = 0; /* first entry claims length 0: parsing stops there */
    sum_fix(madt, 94, 9);
    assert_int_equal(acpi_parse(rsdp, &info, err, sizeof(err)), 0);
    assert_int_equal(info.n_ioapic, 0);
    assert_int_equal(info.n_cpus, 0);
}

static void test_no_s5(void **s)
{
    (void)s;
    build(1);
    dsdt[37] = 'X'; /* "_X5_" */
    sum_fix(dsdt, 48, 9);
    assert_int_equal(acpi_parse(rsdp, &info, err, sizeof(err)), 0);
    assert_false(info.s5_valid);
    assert_int_equal(info.pm1a_cnt, 0xB004);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xsdt_madt_fadt),
        cmocka_unit_test(test_rsdt_path),
        cmocka_unit_test(test_bad_rsdp),
        cmocka_unit_test(test_bad_xsdt),
        cmocka_unit_test(test_corrupt_madt_is_missing),
        cmocka_unit_test(test_truncated_madt_entry),
        cmocka_unit_test(test_no_s5),
    };
    return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
