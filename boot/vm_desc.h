/* One description of the VM's platform: its RAM layout, LAPIC, vIOAPIC,
 * interrupt source overrides and fixed devices. The guest's ACPI tables
 * (drivers/acpi_build.c), its e820 map (below), the vIOAPIC's address and ID
 * (boot/hv_main.c) are all made from it, so they cannot disagree; the unit
 * test test_acpi_build also checks the router's ISA routes against it.
 * Pure C: compiled into host tests. */
#ifndef BOOT_VM_DESC_H
#define BOOT_VM_DESC_H

#include <stdint.h>

#include "platform.h"

/* e820 types (ACPI "address range types") */
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4

struct e820_entry { /* the layout of boot_params.e820_table */
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

#define VM_DESC_MAX_ISO  4
#define VM_DESC_MAX_E820 8

/* MPS INTI flags of an interrupt source override (MADT). */
#define ISO_POLARITY_HIGH 0x1
#define ISO_POLARITY_LOW  0x3
#define ISO_TRIGGER_EDGE  0x4
#define ISO_TRIGGER_LEVEL 0xC

struct vm_iso {
    uint8_t irq; /* ISA IRQ (bus 0) */
    uint32_t gsi;
    uint16_t flags; /* ISO_POLARITY_* | ISO_TRIGGER_*, 0 = bus default */
};

/* Conventional memory ends here, as on a PC (a 1 KiB EBDA-sized hole
 * below 640 KiB, then video memory and ROMs). */
#define VM_LOW_RAM_END 0x9FC00u
/* The guest's ACPI tables sit in the last VM_ACPI_SIZE bytes of its RAM. */
#define VM_ACPI_SIZE   0x10000u

struct vm_desc {
    uint64_t ram_size;  /* guest RAM: guest-physical 0 .. ram_size */
    uint64_t acpi_base; /* the tables' area: acpi_base .. ram_size, reserved */
    uint64_t lapic_base;
    uint8_t lapic_id;
    uint8_t lint_nmi; /* the LAPIC input wired to NMI (LINT1) */
    uint8_t ioapic_id;
    uint8_t ioapic_pins;
    uint64_t ioapic_base;
    uint32_t ioapic_gsi_base;
    struct vm_iso iso[VM_DESC_MAX_ISO];
    unsigned n_iso;
    uint16_t pm_base; /* PM1a event (4 bytes), PM1a control (2) at +4, timer (4) at +8 */
    uint8_t sci_gsi;
    uint8_t slp_typ_s5;
    uint64_t hpet_base;     /* 0: no HPET (no table, no DSDT device) */
    uint32_t hpet_block_id; /* the HPET's capabilities register, low half */
    uint16_t reset_port;
    uint8_t reset_value;
    uint8_t rtc_century; /* CMOS index of the century byte */
    uint8_t have_8042;
    uint16_t com1_port;
    uint8_t com1_irq;
    uint8_t rtc_irq;
    /* PCI (drivers/pci.h): ECAM for buses 0..pci_bus_end (MCFG, reserved in
     * the e820 map and by a motherboard-resources device), the hole the
     * BARs are placed in (pci_mmio_base .. pci_mmio_end - 1: the DSDT's
     * PCI0 window, absent from the e820 map), INTx pin p of slot s at GSI
     * pci_gsi_base + ((s + p - 1) % 4) (the _PRT). */
    uint64_t pci_ecam_base; /* 0: no PCI bus (vm_desc_add_pci not called) */
    uint8_t pci_bus_end;
    uint64_t pci_mmio_base, pci_mmio_end;
    uint8_t pci_gsi_base;
};

/* The PC our guests see (QEMU's `pc` values, boot/platform.h). ram_size is
 * the guest RAM, at least 2 MiB; ioapic_base the vIOAPIC's address. */
void vm_desc_init(struct vm_desc *d, uint64_t ram_size, uint64_t ioapic_base);

/* The VM has the PCI bus of drivers/pci.h: fills in the PCI fields with
 * boot/platform.h's values, which puts the ECAM window in the e820 map and
 * an MCFG, PDRC and PCI0 in the ACPI tables. Without it the guest is told
 * of no PCI bus (its configuration ports alone answer, all ones). */
void vm_desc_add_pci(struct vm_desc *d);

/* The guest's e820 map: usable low 640 KiB (less the EBDA-sized hole), the
 * BIOS area reserved, RAM from 1 MiB to the ACPI tables, the tables
 * reserved, the PCI ECAM window (if any) reserved (Linux uses MMCONFIG only where
 * the firmware reserved it). The BAR hole is in no entry. Guest RAM ends
 * below the ECAM window (CONFIG_RAM_MB_MAX). Returns the number of entries
 * written (at most max). */
unsigned vm_desc_e820(const struct vm_desc *d, struct e820_entry *map, unsigned max);

#endif
