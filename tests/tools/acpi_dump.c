/* Host tool for tests/tools/acpi_iasl.t: builds the guest's ACPI tables
 * (drivers/acpi_build.c) for a VM of RAM_MB MiB (default 128) with the PCI
 * bus (vm_desc_add_pci) and writes each table to DIR/<signature>.dat, the
 * way `acpidump -b` names them, for iasl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../drivers/acpi_build.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [RAM_MB]\n", argv[0]);
        return 2;
    }
    unsigned long mb = argc > 2 ? strtoul(argv[2], NULL, 0) : 128;
    struct vm_desc d;
    vm_desc_init(&d, (uint64_t)mb << 20, 0xFEC00000);
    vm_desc_add_pci(&d);
    static uint8_t area[VM_ACPI_SIZE];
    struct acpi_build_out out;
    char err[160];
    if (acpi_build(&d, area, d.acpi_base, sizeof(area), &out, err, sizeof(err))) {
        fprintf(stderr, "acpi_build: %s\n", err);
        return 1;
    }
    for (unsigned t = 0; t < ACPI_T_COUNT; t++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.dat", argv[1], acpi_build_name((enum acpi_build_table)t));
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(area + (out.addr[t] - d.acpi_base), 1, out.len[t], f) != out.len[t] || fclose(f)) {
            perror(path);
            return 1;
        }
        printf("%s %u bytes at 0x%llx\n", acpi_build_name((enum acpi_build_table)t), out.len[t],
               (unsigned long long)out.addr[t]);
    }
    return 0;
}
