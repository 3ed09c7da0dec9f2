/* Guest ACPI tables (ACPI 6.x layouts; the values those of QEMU's `pc`). */
#include "acpi_build.h"

#include <string.h>

#include "../arch/x86/fmt.h"
#include "../arch/x86/bytes.h"

struct area {
    uint8_t *base;
    uint64_t gpa;
    size_t cap, pos;
    int full;
};

/* Reserves n zeroed bytes aligned to align; NULL (and full set) when the
 * area is too small. */
static uint8_t *take(struct area *a, size_t n, size_t align, uint64_t *gpa)
{
    size_t at = (a->pos + align - 1) & ~(align - 1);
    if (at > a->cap || n > a->cap - at) {
        a->full = 1;
        return NULL;
    }
    a->pos = at + n;
    memset(a->base + at, 0, n);
    *gpa = a->gpa + at;
    return a->base + at;
}

static void put8(uint8_t *p, size_t off, uint8_t v) { p[off] = v; }

static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return (uint8_t)(0 - s);
}

/* The common 36-byte header; the checksum is set by seal(). */
static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t, 4, len);
    put8(t, 8, rev);
    memcpy(t + 10, ACPI_BUILD_OEM_ID, 6);
    memcpy(t + 16, ACPI_BUILD_OEM_TABLE_ID, 8);
    put32(t, 24, 1);           /* OEM revision */
    memcpy(t + 28, "THV ", 4); /* creator id */
    put32(t, 32, 1);           /* creator revision */
}

static void seal(uint8_t *t)
{
    uint32_t len;
    memcpy(&len, t + 4, 4);
    t[9] = 0;
    t[9] = checksum(t, len);
}

/* Generic address structure (12 bytes). */
enum { GAS_MEMORY = 0, GAS_IO = 1 };
static void gas(uint8_t *p, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr)
{
    p[0] = space;
    p[1] = bits;
    p[2] = 0;
    p[3] = access; /* 1 byte, 2 word, 3 dword, 4 qword */
    put64(p, 4, addr);
}

/* ---- AML, assembled by hand (ACPI 6.x §20) ---- */

/* AML being assembled into a buffer of cap bytes (AML_LOCAL declares one
 * on the stack); full once something did not fit. */
struct aml {
    uint8_t *b;
    size_t cap, n;
    int full;
};
#define AML_LOCAL(name, size) \
    uint8_t name##_buf[size]; \
    struct aml name = { name##_buf, size, 0, 0 }

static void aml_bytes(struct aml *o, const void *p, size_t n)
{
    if (o->full || n > o->cap - o->n) {
        o->full = 1;
        return;
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void aml_byte(struct aml *o, uint8_t v) { aml_bytes(o, &v, 1); }

/* Integer: ZeroOp, OneOp, or the smallest prefixed form. */
static void aml_int(struct aml *o, uint32_t v)
{
    if (v <= 1) {
        aml_byte(o, (uint8_t)v);
    } else if (v <= 0xff) {
        aml_byte(o, 0x0A);
        aml_byte(o, (uint8_t)v);
    } else if (v <= 0xffff) {
        aml_byte(o, 0x0B);
        aml_bytes(o, &(uint16_t){ (uint16_t)v }, 2);
    } else {
        aml_byte(o, 0x0C);
        aml_bytes(o, &v, 4);
    }
}

/* op bytes, PkgLength (counting itself: one byte below 0x40, else a lead
 * byte with the low nibble and the count of the bytes that follow), then
 * body. */
static void aml_pkg(struct aml *o, const uint8_t *op, size_t opn, const struct aml *body)
{
    size_t len = body->n + 1;
    aml_bytes(o, op, opn);
    if (len < 0x40) {
        aml_byte(o, (uint8_t)len);
    } else {
        unsigned extra = len + 1 < 0x1000 ? 1 : len + 2 < 0x100000 ? 2 : 3;
        len += extra;
        aml_byte(o, (uint8_t)(extra << 6 | (len & 0xf)));
        for (unsigned i = 0; i < extra; i++)
            aml_byte(o, (uint8_t)(len >> (4 + 8 * i)));
    }
    aml_bytes(o, body->b, body->n);
    o->full |= body->full;
}

/* Name(NAME, Integer) */
static void aml_name_int(struct aml *o, const char *name, uint32_t v)
{
    aml_byte(o, 0x08);
    aml_bytes(o, name, 4);
    aml_int(o, v);
}

/* EISA ID "PNP0501" compressed: three 5-bit letters, four hex digits. */
static uint32_t eisa_id(const char *s)
{
    unsigned hex = 0;
    for (int i = 3; i < 7; i++)
        hex = hex * 16 + (unsigned)(s[i] <= '9' ? s[i] - '0' : s[i] - 'A' + 10);
    uint16_t vendor = (uint16_t)(((s[0] - 0x40) << 10) | ((s[1] - 0x40) << 5) | (s[2] - 0x40));
    return (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 | (uint32_t)(hex >> 8) << 16 |
           (uint32_t)(hex & 0xff) << 24;
}

/* Resource descriptors (ACPI 6.x §6.4) */
static void res_io(struct aml *o, uint16_t port, uint8_t len)
{
    const uint8_t d[8] = {
        0x47, 0x01, (uint8_t)port, (uint8_t)(port >> 8), (uint8_t)port, (uint8_t)(port >> 8), 0x01, len
    };
    aml_bytes(o, d, sizeof(d));
}

static void res_irq(struct aml *o, unsigned irq)
{
    const uint8_t d[3] = { 0x22, (uint8_t)(1u << irq), (uint8_t)((1u << irq) >> 8) };
    aml_bytes(o, d, sizeof(d));
}

static void res_mem32(struct aml *o, uint32_t base, uint32_t len)
{
    uint8_t d[12] = { 0x86, 9, 0, 0x00 /* read-only */ };
    memcpy(d + 4, &base, 4);
    memcpy(d + 8, &len, 4);
    aml_bytes(o, d, sizeof(d));
}

/* Word and DWord address space descriptors (ACPI 6.x §6.4.3.5.2-3) of a
 * bridge: produced, minimum and maximum fixed, positive decode. */
enum { ADDR_MEMORY = 0, ADDR_IO = 1, ADDR_BUS = 2 };
#define ADDR_PRODUCER_FIXED 0x0C
#define ADDR_IO_ENTIRE      0x03 /* ISA and non-ISA ranges */
#define ADDR_MEM_RW         0x01 /* read-write, non-cacheable */

static void res_word(struct aml *o, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
    uint8_t x[16] = { 0x88, 13, 0, type, ADDR_PRODUCER_FIXED, tflags };
    put16(x, 8, min);
    put16(x, 10, max);
    put16(x, 14, (uint16_t)(max - min + 1));
    aml_bytes(o, x, sizeof(x));
}

static void res_dword_mem(struct aml *o, uint32_t min, uint32_t max)
{
    uint8_t x[26] = { 0x87, 23, 0, ADDR_MEMORY, ADDR_PRODUCER_FIXED, ADDR_MEM_RW };
    put32(x, 10, min);
    put32(x, 14, max);
    put32(x, 22, max - min + 1);
    aml_bytes(o, x, sizeof(x));
}

/* Name(_CRS, ResourceTemplate() { res }): a Buffer of the descriptors and
 * the EndTag (checksum 0: "not computed"). */
static void aml_crs(struct aml *o, const struct aml *res)
{
    AML_LOCAL(buf, 320);
    aml_int(&buf, (uint32_t)(res->n + 2));
    aml_bytes(&buf, res->b, res->n);
    aml_bytes(&buf, (const uint8_t[]){ 0x79, 0x00 }, 2);
    buf.full |= res->full;
    aml_byte(o, 0x08);
    aml_bytes(o, "_CRS", 4);
    aml_pkg(o, (const uint8_t[]){ 0x11 }, 1, &buf);
}

/* Device(NAME) { _HID EISAID, [_UID], _CRS ResourceTemplate(res) } */
static void aml_device(struct aml *o, const char *name, const char *hid, int uid, const struct aml *res)
{
    AML_LOCAL(dev, 320);
    aml_bytes(&dev, name, 4);
    aml_name_int(&dev, "_HID", eisa_id(hid));
    if (uid >= 0)
        aml_name_int(&dev, "_UID", (uint32_t)uid);
    aml_crs(&dev, res);
    aml_pkg(o, (const uint8_t[]){ 0x5B, 0x82 }, 2, &dev);
}

/* Name(_PRT, Package() { Package() { 0xSSSSFFFF, pin, Zero, GSI }, ... }):
 * INTA#..INTD# (pin 0..3) of every slot of bus 0, the static GSI form of
 * APIC mode (ACPI 6.x §6.2.13), swizzled as drivers/pci.h says. */
static void aml_prt(const struct vm_desc *d, struct aml *o)
{
    AML_LOCAL(pkg, 2048);
    aml_byte(&pkg, 32 * 4); /* NumElements */
    for (uint32_t slot = 0; slot < 32; slot++)
        for (uint32_t pin = 0; pin < 4; pin++) {
            AML_LOCAL(e, 16);
            aml_byte(&e, 4);
            aml_int(&e, slot << 16 | 0xFFFF);
            aml_int(&e, pin);
            aml_int(&e, 0);
            aml_int(&e, d->pci_gsi_base + (slot + pin) % 4);
            aml_pkg(&pkg, (const uint8_t[]){ 0x12 }, 1, &e);
        }
    aml_byte(o, 0x08);
    aml_bytes(o, "_PRT", 4);
    aml_pkg(o, (const uint8_t[]){ 0x12 }, 1, &pkg);
}

/* The PCI host bridge (QEMU q35's PCI0): PCI Express root (PNP0A08, PCI
 * compatible), segment 0, bus 0, the windows it forwards (its buses, the
 * I/O space but the configuration ports, the BAR hole) and the _PRT. */
static void aml_pci0(const struct vm_desc *d, struct aml *o)
{
    AML_LOCAL(dev, 2560);
    AML_LOCAL(r, 128);
    aml_bytes(&dev, "PCI0", 4);
    aml_name_int(&dev, "_HID", eisa_id("PNP0A08"));
    aml_name_int(&dev, "_CID", eisa_id("PNP0A03"));
    aml_name_int(&dev, "_UID", 0);
    aml_name_int(&dev, "_SEG", 0);
    aml_name_int(&dev, "_BBN", 0);
    res_word(&r, ADDR_BUS, 0, 0, d->pci_bus_end);
    res_io(&r, PLATFORM_PCI_CONFIG_ADDR, 8);
    res_word(&r, ADDR_IO, ADDR_IO_ENTIRE, 0x0000, PLATFORM_PCI_CONFIG_ADDR - 1);
    res_word(&r, ADDR_IO, ADDR_IO_ENTIRE, 0x0D00, 0xFFFF);
    res_dword_mem(&r, (uint32_t)d->pci_mmio_base, (uint32_t)(d->pci_mmio_end - 1));
    aml_crs(&dev, &r);
    aml_prt(d, &dev);
    aml_pkg(o, (const uint8_t[]){ 0x5B, 0x82 }, 2, &dev);
}

/* The DSDT's body: \_S5 and, in \_SB, the ISA devices a PC firmware
 * describes (COM1, the RTC, the HPET, the keyboard controller), so that a
 * kernel that enumerates devices through ACPI (PNPACPI) finds them, the
 * motherboard resource that reserves the ECAM window, and the PCI host
 * bridge. */
static void dsdt_body(const struct vm_desc *d, struct aml *o)
{
    AML_LOCAL(pkg, 32);
    AML_LOCAL(sb, 3584);
    AML_LOCAL(r, 64);
    aml_byte(&pkg, 4);            /* NumElements */
    aml_int(&pkg, d->slp_typ_s5); /* PM1a_CNT.SLP_TYP */
    aml_int(&pkg, d->slp_typ_s5); /* PM1b_CNT.SLP_TYP */
    aml_int(&pkg, 0);
    aml_int(&pkg, 0);
    aml_byte(o, 0x08);
    aml_bytes(o, "_S5_", 4);
    aml_pkg(o, (const uint8_t[]){ 0x12 }, 1, &pkg);

    aml_bytes(&sb, "\\_SB_", 5);
    r.n = 0;
    res_io(&r, d->com1_port, 8);
    res_irq(&r, d->com1_irq);
    aml_device(&sb, "COM1", "PNP0501", 1, &r);
    r.n = 0;
    res_io(&r, PLATFORM_RTC_PORT, 8);
    res_irq(&r, d->rtc_irq);
    aml_device(&sb, "RTC_", "PNP0B00", -1, &r);
    if (d->hpet_base) {
        r.n = 0;
        res_mem32(&r, (uint32_t)d->hpet_base, PLATFORM_HPET_SIZE);
        aml_device(&sb, "HPET", "PNP0103", 0, &r);
    }
    if (d->have_8042) {
        r.n = 0;
        res_io(&r, PLATFORM_KBC_DATA, 1);
        res_io(&r, PLATFORM_KBC_STATUS, 1);
        res_irq(&r, 1);
        aml_device(&sb, "KBD_", "PNP0303", -1, &r);
    }
    if (d->pci_ecam_base) {
        r.n = 0;
        res_mem32(&r, (uint32_t)d->pci_ecam_base, (d->pci_bus_end + 1u) << 20);
        aml_device(&sb, "PDRC", "PNP0C02", 1, &r);
        aml_pci0(d, &sb);
    }
    aml_pkg(o, (const uint8_t[]){ 0x10 }, 1, &sb);
}

/* ---- the tables ---- */

static const char *const names[ACPI_T_COUNT] = { "RSDP", "RSDT", "XSDT", "FACP", "FACS",
                                                 "DSDT", "APIC", "HPET", "MCFG" };

const char *acpi_build_name(enum acpi_build_table t) { return (unsigned)t < ACPI_T_COUNT ? names[t] : "?"; }

#define FADT_LEN           276 /* revision 6 (ACPI 6.0), minor version 0 */
#define FADT_WBINVD        (1u << 0)
#define FADT_PROC_C1       (1u << 2)
#define FADT_PWR_BUTTON    (1u << 4) /* no fixed power button */
#define FADT_SLP_BUTTON    (1u << 5) /* no fixed sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define BOOT_ARCH_LEGACY   (1u << 0)
#define BOOT_ARCH_8042     (1u << 1)

static void fill_fadt(const struct vm_desc *d, uint8_t *t, uint64_t facs, uint64_t dsdt)
{
    const uint16_t pm = d->pm_base;
    header(t, "FACP", FADT_LEN, 6);
    put32(t, 36, (uint32_t)facs);
    put32(t, 40, (uint32_t)dsdt);
    put8(t, 45, 0);               /* preferred PM profile: unspecified */
    put16(t, 46, d->sci_gsi);     /* SCI_INT */
    put32(t, 48, 0);              /* SMI_CMD 0: always in ACPI mode (SCI_EN reads 1) */
    put32(t, 56, pm);             /* PM1a_EVT_BLK */
    put32(t, 64, pm + 4u);        /* PM1a_CNT_BLK */
    put32(t, 76, pm + 8u);        /* PM_TMR_BLK */
    put8(t, 88, 4);               /* PM1_EVT_LEN */
    put8(t, 89, 2);               /* PM1_CNT_LEN */
    put8(t, 91, 4);               /* PM_TMR_LEN */
    put16(t, 96, 0x0FFF);         /* P_LVL2_LAT > 100: no C2 */
    put16(t, 98, 0x0FFF);         /* P_LVL3_LAT > 1000: no C3 */
    put8(t, 108, d->rtc_century); /* CENTURY */
    put16(t, 109, (uint16_t)(d->have_8042 ? BOOT_ARCH_LEGACY | BOOT_ARCH_8042 : BOOT_ARCH_LEGACY));
    put32(t, 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
    gas(t + 116, GAS_IO, 8, 1, d->reset_port); /* RESET_REG */
    put8(t, 128, d->reset_value);              /* RESET_VALUE */
    put8(t, 131, 0);                           /* FADT minor version */
    put64(t, 132, 0);                          /* X_FIRMWARE_CTRL: unused, FIRMWARE_CTRL says (below 4 GiB) */
    put64(t, 140, dsdt);                       /* X_DSDT */
    gas(t + 148, GAS_IO, 32, 2, pm);           /* X_PM1a_EVT_BLK */
    gas(t + 172, GAS_IO, 16, 2, pm + 4u);      /* X_PM1a_CNT_BLK */
    gas(t + 208, GAS_IO, 32, 3, pm + 8u);      /* X_PM_TMR_BLK */
    memcpy(t + 268, "TINYHV  ", 8);            /* hypervisor vendor identity */
    seal(t);
}

static void fill_madt(const struct vm_desc *d, uint8_t *t, uint32_t len)
{
    header(t, "APIC", len, 3);
    put32(t, 36, (uint32_t)d->lapic_base);
    put32(t, 40, 1); /* PCAT_COMPAT: the 8259 pair is there too */
    uint8_t *e = t + 44;
    /* Processor local APIC: ACPI processor UID 0, APIC ID, enabled */
    e[0] = 0;
    e[1] = 8;
    e[2] = 0;
    e[3] = d->lapic_id;
    put32(e, 4, 1);
    e += 8;
    /* I/O APIC */
    e[0] = 1;
    e[1] = 12;
    e[2] = d->ioapic_id;
    e[3] = 0;
    put32(e, 4, (uint32_t)d->ioapic_base);
    put32(e, 8, d->ioapic_gsi_base);
    e += 12;
    /* Interrupt source overrides (bus 0: ISA) */
    for (unsigned i = 0; i < d->n_iso; i++, e += 10) {
        e[0] = 2;
        e[1] = 10;
        e[2] = 0;
        e[3] = d->iso[i].irq;
        put32(e, 4, d->iso[i].gsi);
        put16(e, 8, d->iso[i].flags);
    }
    /* Local APIC NMI: every processor (UID 0xFF), bus-default flags, LINTn */
    e[0] = 4;
    e[1] = 6;
    e[2] = 0xFF;
    put16(e, 3, 0);
    e[5] = d->lint_nmi;
    seal(t);
}

static void fill_hpet(const struct vm_desc *d, uint8_t *t)
{
    header(t, "HPET", 56, 1);
    put32(t, 36, d->hpet_block_id); /* event timer block id */
    gas(t + 40, GAS_MEMORY, 64, 0, d->hpet_base);
    put8(t, 52, 0);     /* HPET number */
    put16(t, 53, 0x80); /* minimum clock tick in periodic mode */
    put8(t, 55, 0);     /* no page protection */
    seal(t);
}

/* MCFG (PCI Firmware Specification 3.0 §4.1.2): one allocation, segment 0. */
#define MCFG_LEN 60
#define N_LISTED 4 /* the tables the RSDT and XSDT list */
static void fill_mcfg(const struct vm_desc *d, uint8_t *t)
{
    header(t, "MCFG", MCFG_LEN, 1);
    put64(t, 44, d->pci_ecam_base); /* after 8 reserved bytes */
    put16(t, 52, 0);                /* PCI segment group */
    put8(t, 54, 0);                 /* start bus */
    put8(t, 55, d->pci_bus_end);
    seal(t);
}

int acpi_build(const struct vm_desc *d, uint8_t *area, uint64_t area_gpa, size_t area_size,
               struct acpi_build_out *out, char *err, size_t errlen)
{
    struct area a = { area, area_gpa, area_size, 0, 0 };
    uint8_t *t[ACPI_T_COUNT] = { 0 };
    uint64_t *at = out->addr;
    uint32_t *len = out->len;
    memset(out, 0, sizeof(*out));

    AML_LOCAL(body, 4096);
    dsdt_body(d, &body);
    const uint32_t madt_len = 44 + 8 + 12 + 10 * d->n_iso + 6;
    len[ACPI_T_RSDP] = ACPI_RSDP_SIZE;
    len[ACPI_T_FACS] = 64;
    len[ACPI_T_DSDT] = (uint32_t)(36 + body.n);
    len[ACPI_T_FADT] = FADT_LEN;
    len[ACPI_T_MADT] = madt_len;
    len[ACPI_T_HPET] = d->hpet_base ? 56 : 0;           /* no HPET, no HPET table */
    len[ACPI_T_MCFG] = d->pci_ecam_base ? MCFG_LEN : 0; /* no PCI, no MCFG */
    /* The tables the RSDT and XSDT list: those there are. */
    const enum acpi_build_table may_list[N_LISTED] = { ACPI_T_FADT, ACPI_T_MADT, ACPI_T_HPET, ACPI_T_MCFG };
    enum acpi_build_table listed[N_LISTED];
    unsigned n_listed = 0;
    for (unsigned i = 0; i < N_LISTED; i++)
        if (len[may_list[i]])
            listed[n_listed++] = may_list[i];
    len[ACPI_T_RSDT] = 36 + n_listed * 4;
    len[ACPI_T_XSDT] = 36 + n_listed * 8;
    static const enum acpi_build_table order[ACPI_T_COUNT] = {
        ACPI_T_RSDP, ACPI_T_FACS, ACPI_T_DSDT, ACPI_T_FADT, ACPI_T_MADT,
        ACPI_T_HPET, ACPI_T_MCFG, ACPI_T_RSDT, ACPI_T_XSDT,
    };
    for (unsigned i = 0; i < ACPI_T_COUNT && !body.full; i++) {
        enum acpi_build_table k = order[i];
        if (len[k])
            t[k] = take(&a, len[k], k == ACPI_T_FACS ? 64 : 16, &at[k]);
    }
    if (a.full || body.full || area_gpa + area_size > 0x100000000ull) {
        fmt_snprintf(err, errlen, "the ACPI tables do not fit in %llu bytes below 4 GiB",
                     (unsigned long long)area_size);
        return -1;
    }
    out->used = (uint32_t)a.pos;

    /* FACS: no checksum; version 2, nothing else the firmware sets */
    memcpy(t[ACPI_T_FACS], "FACS", 4);
    put32(t[ACPI_T_FACS], 4, 64);
    put8(t[ACPI_T_FACS], 32, 2);

    header(t[ACPI_T_DSDT], "DSDT", len[ACPI_T_DSDT], 2); /* revision 2: 64-bit integers */
    memcpy(t[ACPI_T_DSDT] + 36, body.b, body.n);
    seal(t[ACPI_T_DSDT]);

    fill_fadt(d, t[ACPI_T_FADT], at[ACPI_T_FACS], at[ACPI_T_DSDT]);
    fill_madt(d, t[ACPI_T_MADT], madt_len);
    if (len[ACPI_T_HPET])
        fill_hpet(d, t[ACPI_T_HPET]);
    if (len[ACPI_T_MCFG])
        fill_mcfg(d, t[ACPI_T_MCFG]);

    header(t[ACPI_T_RSDT], "RSDT", len[ACPI_T_RSDT], 1);
    header(t[ACPI_T_XSDT], "XSDT", len[ACPI_T_XSDT], 1);
    for (unsigned i = 0; i < n_listed; i++) {
        put32(t[ACPI_T_RSDT], 36 + 4 * i, (uint32_t)at[listed[i]]);
        put64(t[ACPI_T_XSDT], 36 + 8 * i, at[listed[i]]);
    }
    seal(t[ACPI_T_RSDT]);
    seal(t[ACPI_T_XSDT]);

    uint8_t *r = t[ACPI_T_RSDP];
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, ACPI_BUILD_OEM_ID, 6);
    put8(r, 15, 2); /* revision 2: XSDT */
    put32(r, 16, (uint32_t)at[ACPI_T_RSDT]);
    put32(r, 20, ACPI_RSDP_SIZE);
    put64(r, 24, at[ACPI_T_XSDT]);
    r[8] = checksum(r, 20);
    r[32] = checksum(r, ACPI_RSDP_SIZE);
    return 0;
}
