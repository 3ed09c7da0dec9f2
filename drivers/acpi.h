/* ACPI table discovery: RSDP -> XSDT/RSDT -> MADT and FADT. Pure C over
 * identity-mapped memory (physical address == pointer), so host tests feed it
 * tables built in a buffer. */
#ifndef DRIVERS_ACPI_H
#define DRIVERS_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_IOAPIC 8
#define ACPI_MAX_ISO    24

struct acpi_ioapic {
    uint8_t id;
    uint32_t addr;
    uint32_t gsi_base;
};

struct acpi_iso { /* interrupt source override */
    uint8_t bus, source;
    uint32_t gsi;
    uint16_t flags; /* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
};

struct acpi_info {
    uint8_t revision; /* RSDP revision: 0 = ACPI 1.0 (RSDT), 2+ = XSDT */
    char oem_id[7];
    uint64_t lapic_base;
    unsigned n_cpus; /* enabled processor LAPIC/x2APIC entries */
    unsigned n_ioapic;
    struct acpi_ioapic ioapic[ACPI_MAX_IOAPIC];
    unsigned n_iso;
    struct acpi_iso iso[ACPI_MAX_ISO];
    /* From the FADT, for powering off (ACPI S5). */
    uint32_t pm1a_cnt, pm1b_cnt;
    int s5_valid;
    uint8_t slp_typ_a, slp_typ_b;
};

/* Parses the tables reachable from rsdp. Returns 0, or -1 with the reason in
 * err. A missing FADT or _S5 is not an error (s5_valid stays 0); a missing
 * MADT is. */
int acpi_parse(const void *rsdp, struct acpi_info *out, char *err, size_t errlen);

#endif
