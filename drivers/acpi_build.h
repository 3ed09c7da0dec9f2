/* The guest's ACPI tables, built from the VM description (boot/vm_desc.h):
 * RSDP (revision 2), RSDT, XSDT, MADT, FADT (revision 6.0), FACS, a DSDT
 * with \_S5, the PC's fixed ISA devices and the PCI host bridge (PCI0:
 * windows and _PRT), an HPET table and an MCFG (ECAM); the PCI parts only
 * for a VM with PCI (vm_desc_add_pci). Pure C over a
 * plain buffer the guest sees at a given guest-physical address, so host
 * tests build the tables, parse them back with drivers/acpi.c and hand them
 * to iasl. */
#ifndef DRIVERS_ACPI_BUILD_H
#define DRIVERS_ACPI_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "../boot/vm_desc.h"

#define ACPI_BUILD_OEM_ID       "TINYHV"
#define ACPI_BUILD_OEM_TABLE_ID "TINYHVVM"
#define ACPI_RSDP_SIZE          36

enum acpi_build_table {
    ACPI_T_RSDP,
    ACPI_T_RSDT,
    ACPI_T_XSDT,
    ACPI_T_FADT,
    ACPI_T_FACS,
    ACPI_T_DSDT,
    ACPI_T_MADT,
    ACPI_T_HPET,
    ACPI_T_MCFG,
    ACPI_T_COUNT
};

struct acpi_build_out {
    uint64_t addr[ACPI_T_COUNT]; /* guest-physical address of each table */
    uint32_t len[ACPI_T_COUNT];  /* and its length (0: not built, the MCFG without PCI) */
    uint32_t used;               /* bytes of the area used */
};

/* The four-character signature of a table ("RSD PTR " for the RSDP gives "RSDP"). */
const char *acpi_build_name(enum acpi_build_table t);

/* Builds every table into area (area_size bytes), which the guest sees at
 * guest-physical area_gpa; every pointer between tables is guest-physical.
 * Returns 0, or -1 with the reason in err when the area is too small. */
int acpi_build(const struct vm_desc *d, uint8_t *area, uint64_t area_gpa, size_t area_size,
               struct acpi_build_out *out, char *err, size_t errlen);

#endif
