#include "vm_desc.h"

#include <string.h>

#include "../irq/vhpet.h"

void vm_desc_init(struct vm_desc *d, uint64_t ram_size, uint64_t ioapic_base)
{
    memset(d, 0, sizeof(*d));
    d->ram_size = ram_size;
    d->acpi_base = ram_size - VM_ACPI_SIZE;
    d->lapic_base = 0xFEE00000ull;
    d->lapic_id = 0;
    d->lint_nmi = 1;
    /* The vIOAPIC's ID register resets to 0 (QEMU's pc says 0 as well). */
    d->ioapic_id = 0;
    d->ioapic_pins = 24;
    d->ioapic_base = ioapic_base;
    d->ioapic_gsi_base = 0;
    /* The PIT's IRQ 0 reaches IOAPIC pin 2 (irq/router.c); the SCI is
     * level-triggered, active high, as on PIIX4. */
    d->iso[d->n_iso++] = (struct vm_iso){ 0, 2, 0 };
    d->iso[d->n_iso++] = (struct vm_iso){ PLATFORM_SCI_GSI, PLATFORM_SCI_GSI,
                                          ISO_POLARITY_HIGH | ISO_TRIGGER_LEVEL };
    d->pm_base = PLATFORM_PM_BASE;
    d->sci_gsi = PLATFORM_SCI_GSI;
    d->slp_typ_s5 = PLATFORM_SLP_TYP_S5;
    d->hpet_base = PLATFORM_HPET_BASE;
    /* The vHPET's own capabilities (vendor 8086, legacy replacement
     * capable, 64-bit counter, 3 timers, revision 1: QEMU's HPET). */
    d->hpet_block_id = VHPET_CAP_ID;
    d->reset_port = PLATFORM_RESET_PORT;
    d->reset_value = PLATFORM_RESET_VALUE;
    d->rtc_century = PLATFORM_RTC_CENTURY;
    /* No 8042 (drivers/pcports.c: ports 0x60/0x64 read 0xFF), so the FADT
     * says none and the DSDT describes no keyboard controller. */
    d->have_8042 = 0;
    d->com1_port = PLATFORM_COM1_PORT;
    d->com1_irq = PLATFORM_COM1_IRQ;
    d->rtc_irq = PLATFORM_RTC_IRQ;
}

void vm_desc_add_pci(struct vm_desc *d)
{
    d->pci_ecam_base = PLATFORM_PCI_ECAM_BASE;
    d->pci_bus_end = (uint8_t)(PLATFORM_PCI_ECAM_SIZE / 0x100000 - 1);
    d->pci_mmio_base = PLATFORM_PCI_MMIO_BASE;
    d->pci_mmio_end = PLATFORM_PCI_MMIO_END;
    d->pci_gsi_base = PLATFORM_PCI_GSI_BASE;
}

unsigned vm_desc_e820(const struct vm_desc *d, struct e820_entry *map, unsigned max)
{
    const struct e820_entry all[] = {
        { 0, VM_LOW_RAM_END, E820_RAM },
        { VM_LOW_RAM_END, 0xA0000 - VM_LOW_RAM_END, E820_RESERVED },
        { PLATFORM_BIOS_AREA, PLATFORM_BIOS_AREA_END - PLATFORM_BIOS_AREA, E820_RESERVED },
        { 0x100000, d->acpi_base - 0x100000, E820_RAM },
        { d->acpi_base, d->ram_size - d->acpi_base, E820_RESERVED },
        { d->pci_ecam_base, (d->pci_bus_end + 1ull) << 20, E820_RESERVED },
    };
    unsigned n = 0, count = sizeof(all) / sizeof(all[0]) - (d->pci_ecam_base ? 0 : 1);
    for (unsigned i = 0; i < count && n < max; i++)
        map[n++] = all[i];
    return n;
}
