/* "bare = on": the same Multiboot guest without VMX, on the machine itself,
 * the baseline column of `make bench`. The UEFI stage (efi_main.c) claims
 * the guest's physical RAM from the firmware and checks the final memory
 * map; this file describes the machine to the guest and hands it over. */
#ifndef BOOT_BARE_H
#define BOOT_BARE_H

#include <stddef.h>
#include <stdint.h>

#include "boot_info.h"
#include "vm_desc.h"

/* For firmware without ACPI tables (OVMF in Bochs): describes the machine
 * the bare guest will run on, for the tables the loader builds it
 * (drivers/acpi_build.c): the IOAPIC at its architectural address with its
 * own ID and pin count, the HPET if one answers at 0xFED00000, the ACPI PM
 * block where the chipset's power-management function decodes it (PIIX4
 * 00:01.3 or ICH9 00:1f.0), no PCI window. Reads the hardware; call before
 * ExitBootServices. Returns 0, or -1 with the reason in err (no PM block
 * found: no tables, rather than tables that lie). */
int bare_describe_machine(struct vm_desc *d, uint64_t ram_size, char *err, size_t errlen);

/* After ExitBootServices: copies the boot information, the kernel and its
 * modules, the ACPI tables and the RSDP (into the BIOS area, made writable
 * through the chipset's PAM registers where needed) from the staging copy
 * in bi->guest_ram to their own physical addresses, and jumps to the
 * kernel in 32-bit protected mode with paging off, as a Multiboot loader
 * would. The guest ends the run itself. */
__attribute__((noreturn)) void run_bare(struct boot_info *bi);

#endif
