/* Where the guest's PC devices sit: one place for every address, port and
 * GSI that the device wiring, the memory map and the guest's ACPI tables
 * must agree on. The values are those of QEMU's `pc` machine, which is
 * what a guest written elsewhere expects. */
#ifndef BOOT_PLATFORM_H
#define BOOT_PLATFORM_H

/* ACPI fixed hardware (PIIX4-style PM block, as QEMU's pc). */
#define PLATFORM_PM_BASE    0x600 /* PM1a event block: status (2), enable (2) */
#define PLATFORM_PM1A_EVT   (PLATFORM_PM_BASE + 0)
#define PLATFORM_PM1A_CNT   (PLATFORM_PM_BASE + 4) /* 2 bytes: SCI_EN, SLP_TYP, SLP_EN */
#define PLATFORM_PM_TMR     (PLATFORM_PM_BASE + 8) /* 4 bytes, 24-bit counter */
#define PLATFORM_PM_TMR_HZ  3579545u
#define PLATFORM_SLP_TYP_S5 0 /* \_S5's value, as QEMU's pc DSDT gives it */
#define PLATFORM_SCI_GSI    9 /* level, active high (MADT override) */

/* MC146818 RTC/CMOS. */
#define PLATFORM_RTC_PORT    0x70 /* index; data at 0x71 */
#define PLATFORM_RTC_IRQ     8
#define PLATFORM_RTC_CENTURY 0x32 /* CMOS byte named by the FADT */

/* COM1 (the virtual UART). */
#define PLATFORM_COM1_PORT 0x3F8
#define PLATFORM_COM1_IRQ  4

/* HPET (as QEMU's: 3 comparators). */
#define PLATFORM_HPET_BASE 0xFED00000ull
#define PLATFORM_HPET_SIZE 0x400

/* Reset: port 0xCF9 (also the FADT reset register, value 6) and the 8042. */
#define PLATFORM_RESET_PORT  0xCF9
#define PLATFORM_RESET_VALUE 0x06
#define PLATFORM_KBC_DATA    0x60
#define PLATFORM_KBC_STATUS  0x64 /* command 0xFE: pulse the reset line */

/* PCI configuration mechanism #1. */
#define PLATFORM_PCI_CONFIG_ADDR 0xCF8
#define PLATFORM_PCI_CONFIG_DATA 0xCFC

/* PCI (drivers/pci.h): ECAM for bus 0 only (1 MiB, MCFG, reserved in the
 * e820 map, as q35's at 0xB0000000); the hole the BARs are placed in, up
 * to the IOAPIC (so the HPET and the LAPIC pages stay outside it), absent
 * from the e820 map and the DSDT's PCI0 _CRS window; the I/O window I/O
 * BARs are placed in. INTx: slot s pin p (1 = INTA#) reaches GSI
 * PLATFORM_PCI_GSI_BASE + ((s + p - 1) % 4), level, active low (_PRT). */
#define PLATFORM_PCI_ECAM_BASE 0xB0000000ull
#define PLATFORM_PCI_ECAM_SIZE 0x100000ull
#define PLATFORM_PCI_MMIO_BASE 0xC0000000ull
#define PLATFORM_PCI_MMIO_END  0xFEC00000ull
#define PLATFORM_PCI_IO_BASE   0xC000
#define PLATFORM_PCI_IO_END    0x10000
#define PLATFORM_PCI_GSI_BASE  16

/* The BIOS area the guest's RSDP is also copied to (ACPI's search range). */
#define PLATFORM_BIOS_AREA     0xE0000u
#define PLATFORM_BIOS_AREA_END 0x100000u

#endif
