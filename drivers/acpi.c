#include "acpi.h"

#include <string.h>

#include "../arch/x86/fmt.h"

struct sdt_header {
    char signature[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem_id[6], oem_table_id[8];
    uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));

struct rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum, reserved[3];
} __attribute__((packed));

#define MAX_TABLE_LEN (16u << 20)

static uint8_t sum_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *b++);
    return s;
}

static const struct sdt_header *table_at(uint64_t addr) { return (const struct sdt_header *)(uintptr_t)addr; }

static int table_ok(const struct sdt_header *h)
{
    return h && h->length >= sizeof(*h) && h->length <= MAX_TABLE_LEN && sum_bytes(h, h->length) == 0;
}

static void parse_madt(const struct sdt_header *h, struct acpi_info *out)
{
    const uint8_t *p = (const uint8_t *)h;
    uint32_t lapic32;
    memcpy(&lapic32, p + sizeof(*h), 4);
    out->lapic_base = lapic32;

    for (uint32_t off = sizeof(*h) + 8; off + 2 <= h->length;) {
        uint8_t type = p[off], len = p[off + 1];
        if (len < 2 || off + len > h->length)
            break;
        const uint8_t *e = p + off;
        uint32_t u32;
        switch (type) {
        case 0: /* processor local APIC: flags at +4, bit 0 enabled */
            if (len >= 8 && (e[4] & 1))
                out->n_cpus++;
            break;
        case 1: /* I/O APIC */
            if (len >= 12 && out->n_ioapic < ACPI_MAX_IOAPIC) {
                struct acpi_ioapic *io = &out->ioapic[out->n_ioapic++];
                io->id = e[2];
                memcpy(&io->addr, e + 4, 4);
                memcpy(&io->gsi_base, e + 8, 4);
            }
            break;
        case 2: /* interrupt source override */
            if (len >= 10 && out->n_iso < ACPI_MAX_ISO) {
                struct acpi_iso *iso = &out->iso[out->n_iso++];
                iso->bus = e[2];
                iso->source = e[3];
                memcpy(&iso->gsi, e + 4, 4);
                memcpy(&iso->flags, e + 8, 2);
            }
            break;
        case 5: /* local APIC address override */
            if (len >= 12)
                memcpy(&out->lapic_base, e + 4, 8);
            break;
        case 9: /* processor local x2APIC: flags at +8 */
            if (len >= 16) {
                memcpy(&u32, e + 8, 4);
                if (u32 & 1)
                    out->n_cpus++;
            }
            break;
        }
        off += len;
    }
}

/* Reads one AML integer of the forms the _S5 package uses. */
static int aml_small_int(const uint8_t *p, const uint8_t *end, uint8_t *val, unsigned *used)
{
    if (p >= end)
        return -1;
    if (*p == 0x00 || *p == 0x01) { /* ZeroOp, OneOp */
        *val = *p;
        *used = 1;
        return 0;
    }
    if (*p == 0x0A && p + 1 < end) { /* BytePrefix */
        *val = p[1];
        *used = 2;
        return 0;
    }
    return -1;
}

/* Finds "Name(_S5_, Package(){a, b, ...})" in the DSDT: the usual shortcut
 * for the S5 sleep type values, which avoids a full AML interpreter. */
static void find_s5(const struct sdt_header *dsdt, struct acpi_info *out)
{
    const uint8_t *p = (const uint8_t *)dsdt + sizeof(*dsdt);
    const uint8_t *end = (const uint8_t *)dsdt + dsdt->length;
    for (; p + 8 < end; p++) {
        if (memcmp(p, "_S5_", 4) != 0 || p[4] != 0x12)
            continue;
        const uint8_t *q = p + 5;
        unsigned pkglen_bytes = (unsigned)(*q >> 6) + 1;
        q += pkglen_bytes;
        q++; /* NumElements */
        unsigned used;
        if (aml_small_int(q, end, &out->slp_typ_a, &used))
            continue;
        q += used;
        if (aml_small_int(q, end, &out->slp_typ_b, &used))
            out->slp_typ_b = 0;
        out->s5_valid = 1;
        return;
    }
}

static void parse_fadt(const struct sdt_header *h, struct acpi_info *out)
{
    const uint8_t *p = (const uint8_t *)h;
    uint32_t dsdt32 = 0;
    uint64_t dsdt = 0;
    if (h->length >= 68) {
        memcpy(&dsdt32, p + 40, 4);
        memcpy(&out->pm1a_cnt, p + 64, 4);
    }
    if (h->length >= 72)
        memcpy(&out->pm1b_cnt, p + 68, 4);
    dsdt = dsdt32;
    if (h->length >= 148) {
        uint64_t x;
        memcpy(&x, p + 140, 8);
        if (x)
            dsdt = x;
    }
    const struct sdt_header *d = dsdt ? table_at(dsdt) : 0;
    if (d && memcmp(d->signature, "DSDT", 4) == 0 && table_ok(d))
        find_s5(d, out);
}

int acpi_parse(const void *rsdp_ptr, struct acpi_info *out, char *err, size_t errlen)
{
    const struct rsdp *r = rsdp_ptr;
    memset(out, 0, sizeof(*out));
    if (errlen)
        err[0] = 0;

    if (!r || memcmp(r->signature, "RSD PTR ", 8) != 0) {
        fmt_snprintf(err, errlen, "no RSDP signature at %p", rsdp_ptr);
        return -1;
    }
    if (sum_bytes(r, 20) != 0) {
        fmt_snprintf(err, errlen, "RSDP checksum wrong");
        return -1;
    }
    out->revision = r->revision;
    memcpy(out->oem_id, r->oem_id, 6);

    int use_xsdt = r->revision >= 2 && r->xsdt && r->length >= sizeof(*r) && sum_bytes(r, sizeof(*r)) == 0;
    const struct sdt_header *root = table_at(use_xsdt ? r->xsdt : r->rsdt);
    if (!table_ok(root) || memcmp(root->signature, use_xsdt ? "XSDT" : "RSDT", 4) != 0) {
        fmt_snprintf(err, errlen, "%s at 0x%llx is missing or has a bad checksum", use_xsdt ? "XSDT" : "RSDT",
                     (unsigned long long)(use_xsdt ? r->xsdt : r->rsdt));
        return -1;
    }
    unsigned entry_size = use_xsdt ? 8 : 4;
    unsigned n = (root->length - (unsigned)sizeof(*root)) / entry_size;
    const uint8_t *entries = (const uint8_t *)root + sizeof(*root);
    int have_madt = 0;

    for (unsigned i = 0; i < n; i++) {
        uint64_t addr = 0;
        memcpy(&addr, entries + i * entry_size, entry_size);
        const struct sdt_header *t = table_at(addr);
        if (!addr || !table_ok(t))
            continue;
        if (memcmp(t->signature, "APIC", 4) == 0 && !have_madt) {
            parse_madt(t, out);
            have_madt = 1;
        } else if (memcmp(t->signature, "FACP", 4) == 0) {
            parse_fadt(t, out);
        }
    }
    if (!have_madt) {
        fmt_snprintf(err, errlen, "no valid MADT (signature APIC) in the %s", use_xsdt ? "XSDT" : "RSDT");
        return -1;
    }
    return 0;
}
