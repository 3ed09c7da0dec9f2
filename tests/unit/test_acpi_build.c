/* Unit tests: the guest's ACPI tables (drivers/acpi_build.c) built from the
 * VM description into a buffer, then read back by our own parser
 * (drivers/acpi.c) and field by field; and the interrupt router's ISA
 * routes checked against the description's overrides. iasl's view of the
 * same tables is tests/tools/acpi_iasl.t. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sys/mman.h>

#include "../../drivers/acpi.h"
#include "../../drivers/acpi_build.h"
#include "../../drivers/pci.h"
#include "../../irq/irq.h"
#include "../../arch/x86/bytes.h"

static uint8_t *area; /* below 4 GiB: the tables' pointers are its addresses */
static struct vm_desc desc;
static struct acpi_build_out out;
static char err[160];

static uint8_t *table(enum acpi_build_table t) { return (uint8_t *)(uintptr_t)out.addr[t]; }

static int setup(void **state)
{
    (void)state;
    area = mmap(NULL, VM_ACPI_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    return area == MAP_FAILED ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    munmap(area, VM_ACPI_SIZE);
    return 0;
}

static void build(void)
{
    vm_desc_init(&desc, 128u << 20, 0xFEC00000);
    vm_desc_add_pci(&desc);
    memset(area, 0xAA, VM_ACPI_SIZE);
    assert_int_equal(acpi_build(&desc, area, (uintptr_t)area, VM_ACPI_SIZE, &out, err, sizeof(err)), 0);
}

static void test_parsed_back(void **state)
{
    (void)state;
    struct acpi_info info;
    build();
    assert_int_equal(out.addr[ACPI_T_RSDP], (uintptr_t)area);
    assert_int_equal(acpi_parse(area, &info, err, sizeof(err)), 0);
    assert_int_equal(info.revision, 2);
    assert_string_equal(info.oem_id, "TINYHV");
    assert_int_equal(info.lapic_base, 0xFEE00000);
    assert_int_equal(info.n_cpus, 1);
    assert_int_equal(info.n_ioapic, 1);
    assert_int_equal(info.ioapic[0].id, desc.ioapic_id);
    assert_int_equal(info.ioapic[0].addr, 0xFEC00000);
    assert_int_equal(info.ioapic[0].gsi_base, 0);
    assert_int_equal(info.n_iso, 2);
    assert_int_equal(info.iso[0].bus, 0);
    assert_int_equal(info.iso[0].source, 0);
    assert_int_equal(info.iso[0].gsi, 2);
    assert_int_equal(info.iso[0].flags, 0);
    assert_int_equal(info.iso[1].source, 9);
    assert_int_equal(info.iso[1].gsi, 9);
    assert_int_equal(info.iso[1].flags, 0x0D); /* level, active high */
    assert_int_equal(info.pm1a_cnt, PLATFORM_PM1A_CNT);
    assert_true(info.s5_valid);
    assert_int_equal(info.slp_typ_a, PLATFORM_SLP_TYP_S5);
    assert_int_equal(info.slp_typ_b, PLATFORM_SLP_TYP_S5);
}

/* Every table: inside the area, checksum 0 (the FACS has none), its
 * signature and length; the RSDP both checksums. */
static void test_checksums_and_layout(void **state)
{
    (void)state;
    build();
    for (unsigned t = 0; t < ACPI_T_COUNT; t++) {
        const uint8_t *p = table((enum acpi_build_table)t);
        assert_true(out.addr[t] >= (uintptr_t)area && out.addr[t] + out.len[t] <= (uintptr_t)area + out.used);
        assert_true(out.used <= VM_ACPI_SIZE);
        assert_int_equal(out.addr[t] % 16, 0);
        if (t == ACPI_T_RSDP || t == ACPI_T_FACS)
            continue;
        uint8_t s = 0;
        for (unsigned i = 0; i < out.len[t]; i++)
            s = (uint8_t)(s + p[i]);
        assert_int_equal(s, 0);
        assert_memory_equal(p, acpi_build_name((enum acpi_build_table)t), 4);
        assert_int_equal(get32(p, 4), out.len[t]);
    }
    const uint8_t *r = table(ACPI_T_RSDP);
    uint8_t s20 = 0, s36 = 0;
    for (unsigned i = 0; i < 36; i++) {
        s36 = (uint8_t)(s36 + r[i]);
        if (i < 20)
            s20 = (uint8_t)(s20 + r[i]);
    }
    assert_int_equal(s20, 0);
    assert_int_equal(s36, 0);
    assert_int_equal(get32(r, 16), out.addr[ACPI_T_RSDT]);
    assert_int_equal(get64(r, 24), out.addr[ACPI_T_XSDT]);
    /* The FACS: 64-byte aligned, 64 bytes, version 2 */
    const uint8_t *f = table(ACPI_T_FACS);
    assert_int_equal(out.addr[ACPI_T_FACS] % 64, 0);
    assert_memory_equal(f, "FACS", 4);
    assert_int_equal(get32(f, 4), 64);
    assert_int_equal(f[32], 2);
    /* RSDT and XSDT list the same four tables */
    const uint8_t *rs = table(ACPI_T_RSDT), *xs = table(ACPI_T_XSDT);
    const enum acpi_build_table listed[4] = { ACPI_T_FADT, ACPI_T_MADT, ACPI_T_HPET, ACPI_T_MCFG };
    assert_int_equal(out.len[ACPI_T_RSDT], 36 + 4 * 4);
    assert_int_equal(out.len[ACPI_T_XSDT], 36 + 4 * 8);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(get32(rs, 36 + 4 * i), out.addr[listed[i]]);
        assert_int_equal(get64(xs, 36 + 8 * i), out.addr[listed[i]]);
    }
}

static void test_fadt_fields(void **state)
{
    (void)state;
    build();
    const uint8_t *f = table(ACPI_T_FADT);
    assert_int_equal(f[8], 6); /* revision */
    assert_int_equal(get32(f, 4), 276);
    assert_int_equal(get32(f, 36), out.addr[ACPI_T_FACS]);
    assert_int_equal(get32(f, 40), out.addr[ACPI_T_DSDT]);
    assert_int_equal(get64(f, 132), 0);                     /* X_FIRMWARE_CTRL: one pointer only */
    assert_int_equal(get64(f, 140), out.addr[ACPI_T_DSDT]); /* X_DSDT */
    assert_int_equal(get16(f, 46), PLATFORM_SCI_GSI);
    assert_int_equal(get32(f, 48), 0); /* no SMI_CMD: ACPI mode */
    assert_int_equal(get32(f, 56), PLATFORM_PM1A_EVT);
    assert_int_equal(get32(f, 64), PLATFORM_PM1A_CNT);
    assert_int_equal(get32(f, 76), PLATFORM_PM_TMR);
    assert_int_equal(f[88], 4);
    assert_int_equal(f[89], 2);
    assert_int_equal(f[91], 4);
    assert_int_equal(f[108], PLATFORM_RTC_CENTURY);
    assert_int_equal(get16(f, 109), 1);      /* legacy devices, no 8042 */
    assert_true(get32(f, 112) & (1u << 10)); /* RESET_REG_SUP */
    assert_false(get32(f, 112) & (1u << 8)); /* 24-bit PM timer */
    /* RESET_REG: I/O, 8 bits, byte access, 0xCF9; value 6 */
    assert_int_equal(f[116], 1);
    assert_int_equal(f[117], 8);
    assert_int_equal(f[119], 1);
    assert_int_equal(get64(f, 120), PLATFORM_RESET_PORT);
    assert_int_equal(f[128], PLATFORM_RESET_VALUE);
    /* X_PM1a_EVT, X_PM1a_CNT, X_PM_TMR: I/O at the same ports */
    assert_int_equal(f[148], 1);
    assert_int_equal(get64(f, 152), PLATFORM_PM1A_EVT);
    assert_int_equal(f[172], 1);
    assert_int_equal(get64(f, 176), PLATFORM_PM1A_CNT);
    assert_int_equal(f[208], 1);
    assert_int_equal(f[209], 32);
    assert_int_equal(get64(f, 212), PLATFORM_PM_TMR);
}

static void test_madt_and_hpet(void **state)
{
    (void)state;
    build();
    const uint8_t *m = table(ACPI_T_MADT);
    assert_int_equal(get32(m, 40) & 1, 1); /* PCAT_COMPAT */
    /* The last entry: local APIC NMI on LINT1 for every processor */
    const uint8_t *nmi = m + out.len[ACPI_T_MADT] - 6;
    assert_int_equal(nmi[0], 4);
    assert_int_equal(nmi[1], 6);
    assert_int_equal(nmi[2], 0xFF);
    assert_int_equal(nmi[5], 1);
    const uint8_t *h = table(ACPI_T_HPET);
    assert_int_equal(get32(h, 36), 0x8086a201);
    assert_int_equal(h[40], 0); /* system memory */
    assert_int_equal(get64(h, 44), PLATFORM_HPET_BASE);
    /* 0x8086a201: 3 timers (NUM_TIM_CAP 2), 64-bit counter, legacy capable */
    assert_int_equal((get32(h, 36) >> 8) & 0x1f, 2);
    assert_true(get32(h, 36) & (1u << 13));
    assert_true(get32(h, 36) & (1u << 15));
}

/* One description: moving the vIOAPIC moves the MADT's entry. */
static void test_follows_description(void **state)
{
    (void)state;
    struct acpi_info info;
    vm_desc_init(&desc, 64u << 20, 0xFEC10000);
    desc.ioapic_id = 3;
    assert_int_equal(acpi_build(&desc, area, (uintptr_t)area, VM_ACPI_SIZE, &out, err, sizeof(err)), 0);
    assert_int_equal(acpi_parse(area, &info, err, sizeof(err)), 0);
    assert_int_equal(info.ioapic[0].addr, 0xFEC10000);
    assert_int_equal(info.ioapic[0].id, 3);
}

static void test_area_too_small(void **state)
{
    (void)state;
    vm_desc_init(&desc, 128u << 20, 0xFEC00000);
    assert_int_equal(acpi_build(&desc, area, (uintptr_t)area, 200, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "do not fit"));
}

/* The router's default ISA routes agree with the description's overrides:
 * an overridden IRQ reaches the IOAPIC pin of its GSI, every other ISA IRQ
 * (but the cascade, 2) the pin of its own number. */
static void test_router_agrees(void **state)
{
    (void)state;
    static struct irq_chipset c;
    static const struct irq_host host;
    vm_desc_init(&desc, 128u << 20, 0xFEC00000);
    irq_chipset_init(&c, &host, 1000000000ull, desc.ioapic_base);
    assert_int_equal(c.ioapic.base, desc.ioapic_base);
    for (unsigned irq = 0; irq < 16; irq++) {
        if (irq == 2)
            continue;
        unsigned want = irq;
        for (unsigned i = 0; i < desc.n_iso; i++)
            if (desc.iso[i].irq == irq)
                want = desc.iso[i].gsi;
        int found = 0;
        for (unsigned r = 0; r < c.nroutes[irq]; r++)
            if (c.routes[irq][r].kind == IRQ_ROUTE_IOAPIC) {
                assert_int_equal(c.routes[irq][r].pin, want - desc.ioapic_gsi_base);
                found = 1;
            }
        assert_true(found);
    }
}

/* Where the bytes of s (n of them) first occur in the DSDT, or NULL. */
static const uint8_t *dsdt_find(const void *s, size_t n)
{
    const uint8_t *t = table(ACPI_T_DSDT);
    for (size_t i = 36; i + n <= out.len[ACPI_T_DSDT]; i++)
        if (!memcmp(t + i, s, n))
            return t + i;
    return NULL;
}

/* An AML integer (ZeroOp, OneOp, Byte/Word/DWordConst) at *p, which moves on. */
static uint32_t aml_int(const uint8_t **p)
{
    uint8_t op = *(*p)++;
    uint32_t v = 0;
    unsigned n = op == 0x0A ? 1 : op == 0x0B ? 2 : op == 0x0C ? 4 : 0;
    if (op <= 1)
        return op;
    assert_int_not_equal(n, 0);
    memcpy(&v, *p, n);
    *p += n;
    return v;
}

/* Without PCI (vm_desc_add_pci not called): no MCFG, no PCI0, no PDRC,
 * three tables listed, and the rest as before. */
static void test_no_pci(void **state)
{
    (void)state;
    struct acpi_info info;
    vm_desc_init(&desc, 128u << 20, 0xFEC00000);
    assert_int_equal(acpi_build(&desc, area, (uintptr_t)area, VM_ACPI_SIZE, &out, err, sizeof(err)), 0);
    assert_int_equal(out.len[ACPI_T_MCFG], 0);
    assert_int_equal(out.addr[ACPI_T_MCFG], 0);
    assert_int_equal(out.len[ACPI_T_RSDT], 36 + 3 * 4);
    assert_int_equal(out.len[ACPI_T_XSDT], 36 + 3 * 8);
    assert_null(dsdt_find("PCI0", 4));
    assert_null(dsdt_find("PDRC", 4));
    assert_non_null(dsdt_find("HPET", 4));
    assert_int_equal(acpi_parse(area, &info, err, sizeof(err)), 0);
    assert_true(info.s5_valid);
    const uint8_t *x = table(ACPI_T_XSDT);
    for (unsigned i = 0; i < 3; i++)
        assert_memory_not_equal((const uint8_t *)(uintptr_t)get64(x, 36 + 8 * i), "MCFG", 4);
}

/* Without an HPET (hpet_base 0, as bare = on describes a machine that has
 * none): no HPET table, no HPET device in the DSDT, and the RSDT and XSDT
 * list exactly FADT, MADT and MCFG, in that order. */
static void test_no_hpet(void **state)
{
    (void)state;
    struct acpi_info info;
    vm_desc_init(&desc, 128u << 20, 0xFEC00000);
    vm_desc_add_pci(&desc);
    desc.hpet_base = 0;
    assert_int_equal(acpi_build(&desc, area, (uintptr_t)area, VM_ACPI_SIZE, &out, err, sizeof(err)), 0);
    assert_int_equal(out.len[ACPI_T_HPET], 0);
    assert_int_equal(out.addr[ACPI_T_HPET], 0);
    assert_null(dsdt_find("HPET", 4));
    assert_int_equal(out.len[ACPI_T_RSDT], 36 + 3 * 4);
    const char *want[3] = { "FACP", "APIC", "MCFG" };
    const uint8_t *r = table(ACPI_T_RSDT), *x = table(ACPI_T_XSDT);
    for (unsigned i = 0; i < 3; i++) {
        assert_memory_equal((const uint8_t *)(uintptr_t)get32(r, 36 + 4 * i), want[i], 4);
        assert_memory_equal((const uint8_t *)(uintptr_t)get64(x, 36 + 8 * i), want[i], 4);
    }
    assert_int_equal(acpi_parse(area, &info, err, sizeof(err)), 0);
    assert_true(info.s5_valid);
}

/* The PCI side of the description: the MCFG, the PCI0 host bridge with its
 * windows, the motherboard resource reserving ECAM, and a _PRT that routes
 * every slot's pins where the bus model (drivers/pci.c) drives them. */
static void test_pci(void **state)
{
    (void)state;
    build();
    const uint8_t *m = table(ACPI_T_MCFG);
    assert_int_equal(out.len[ACPI_T_MCFG], 60);
    assert_int_equal(m[8], 1);
    assert_int_equal(get64(m, 44), PLATFORM_PCI_ECAM_BASE);
    assert_int_equal(get16(m, 52), 0);
    assert_int_equal(m[54], 0);
    assert_int_equal(m[55], 0); /* bus 0 only: the 1 MiB window */
    /* Device(PCI0) with _HID PNP0A08 (0x080AD041) and _CID PNP0A03. */
    assert_non_null(dsdt_find("PCI0", 4));
    assert_non_null(
        dsdt_find((const uint8_t[]){ 0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x08 }, 10));
    assert_non_null(
        dsdt_find((const uint8_t[]){ 0x08, '_', 'C', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03 }, 10));
    /* The memory window is the BAR hole. */
    const uint8_t *w = dsdt_find((const uint8_t[]){ 0x87, 23, 0, 0 }, 4);
    assert_non_null(w);
    assert_int_equal(get32(w, 10), PLATFORM_PCI_MMIO_BASE);
    assert_int_equal(get32(w, 14), PLATFORM_PCI_MMIO_END - 1);
    assert_int_equal(get32(w, 22), PLATFORM_PCI_MMIO_END - PLATFORM_PCI_MMIO_BASE);
    /* The bus range 0..0 and the I/O windows around 0xCF8-0xCFF. */
    w = dsdt_find((const uint8_t[]){ 0x88, 13, 0, 2 }, 4);
    assert_non_null(w);
    assert_int_equal(get16(w, 8), 0);
    assert_int_equal(get16(w, 10), 0);
    assert_non_null(dsdt_find((const uint8_t[]){ 0x88, 13, 0, 1, 0x0C, 3, 0, 0, 0, 0, 0xF7, 0x0C }, 12));
    assert_non_null(
        dsdt_find((const uint8_t[]){ 0x88, 13, 0, 1, 0x0C, 3, 0, 0, 0x00, 0x0D, 0xFF, 0xFF }, 12));
    /* ECAM reserved as a motherboard resource (PNP0C02 = 0x020CD041). */
    assert_non_null(dsdt_find((const uint8_t[]){ 0x0C, 0x41, 0xD0, 0x0C, 0x02 }, 5));
    assert_non_null(dsdt_find((const uint8_t[]){ 0x86, 9, 0, 0, 0, 0, 0, 0xB0, 0, 0, 0x10, 0 }, 12));
    /* _PRT: 128 entries, each { 0xSSSSFFFF, pin, 0, GSI } as the bus swizzles. */
    const uint8_t *p = dsdt_find("_PRT", 4);
    assert_non_null(p);
    p += 4;
    assert_int_equal(*p++, 0x12);
    assert_int_equal(*p >> 6, 1); /* a two-byte PkgLength */
    p += 2;
    assert_int_equal(*p++, 128);
    unsigned seen[32] = { 0 };
    for (unsigned i = 0; i < 128; i++) {
        assert_int_equal(*p++, 0x12);
        p++; /* PkgLength */
        assert_int_equal(*p++, 4);
        uint32_t addr = aml_int(&p), pin = aml_int(&p), src = aml_int(&p), gsi = aml_int(&p);
        unsigned slot = addr >> 16;
        assert_int_equal(addr & 0xFFFF, 0xFFFF);
        assert_true(slot < 32 && pin < 4);
        assert_int_equal(src, 0);
        assert_int_equal(gsi, pci_intx_gsi(slot, pin + 1));
        assert_true(gsi >= 16 && gsi < desc.ioapic_pins); /* a vIOAPIC pin, no ISA IRQ */
        seen[slot] |= 1u << pin;
    }
    for (unsigned slot = 0; slot < 32; slot++)
        assert_int_equal(seen[slot], 0xF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parsed_back),
        cmocka_unit_test(test_checksums_and_layout),
        cmocka_unit_test(test_fadt_fields),
        cmocka_unit_test(test_madt_and_hpet),
        cmocka_unit_test(test_follows_description),
        cmocka_unit_test(test_area_too_small),
        cmocka_unit_test(test_router_agrees),
        cmocka_unit_test(test_pci),
        cmocka_unit_test(test_no_pci),
        cmocka_unit_test(test_no_hpet),
    };
    return cmocka_run_group_tests_name("acpi_build", tests, setup, teardown);
}
