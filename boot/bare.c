#include "bare.h"

#include <string.h>

#include "../arch/x86/cpu.h"
#include "../arch/x86/fmt.h"
#include "../drivers/acpi_build.h"
#include "../drivers/log.h"
#include "../drivers/poweroff.h"
#include "../drivers/uart.h"
#include "multiboot.h"
#include "platform.h"

extern void bare_enter(uint32_t entry, uint32_t mb_info); /* bare.asm */

static uint32_t pci_read32(unsigned dev, unsigned fn, unsigned reg)
{
    outl(PLATFORM_PCI_CONFIG_ADDR, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc));
    return inl(PLATFORM_PCI_CONFIG_DATA);
}

static uint8_t pci_read8(unsigned dev, unsigned fn, unsigned reg)
{
    return (uint8_t)(pci_read32(dev, fn, reg) >> (8 * (reg & 3)));
}

static void pci_write8(unsigned dev, unsigned fn, unsigned reg, uint8_t v)
{
    outl(PLATFORM_PCI_CONFIG_ADDR, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc));
    outb((uint16_t)(PLATFORM_PCI_CONFIG_DATA + (reg & 3)), v);
}

#define PCI_ID(vendor, device) ((uint32_t)(device) << 16 | (vendor))
#define ID_PIIX4_PM            PCI_ID(0x8086, 0x7113) /* 00:01.3 */
#define ID_ICH9_LPC            PCI_ID(0x8086, 0x2918) /* 00:1f.0 */
#define ID_I440FX              PCI_ID(0x8086, 0x1237) /* 00:00.0, PAM at 0x59 */
#define ID_Q35_MCH             PCI_ID(0x8086, 0x29C0) /* 00:00.0, PAM at 0x90 */

/* The ACPI PM block's I/O base as the chipset decodes it, or 0. */
static uint16_t chipset_pm_base(void)
{
    if (pci_read32(1, 3, 0) == ID_PIIX4_PM && (pci_read8(1, 3, 0x80) & 1))          /* PMREGMISC.PMIOSE */
        return (uint16_t)(pci_read32(1, 3, 0x40) & 0xffc0);                         /* PMBA */
    if (pci_read32(0x1f, 0, 0) == ID_ICH9_LPC && (pci_read8(0x1f, 0, 0x44) & 0x80)) /* ACPI_CNTL.EN */
        return (uint16_t)(pci_read32(0x1f, 0, 0x40) & 0xff80);                      /* PMBASE */
    return 0;
}

int bare_describe_machine(struct vm_desc *d, uint64_t ram_size, char *err, size_t errlen)
{
    const uint64_t ioapic = 0xFEC00000ull; /* the architectural address (no MADT to say otherwise) */
    vm_desc_init(d, ram_size, ioapic);
    volatile uint32_t *io = (volatile uint32_t *)(uintptr_t)ioapic;
    io[0] = 0; /* IOAPICID */
    uint32_t id = io[4];
    io[0] = 1; /* IOAPICVER: maximum redirection entry in bits 23:16 */
    uint32_t ver = io[4];
    if (ver == 0xffffffffu) {
        fmt_snprintf(err, errlen, "no IOAPIC answers at 0x%llx", (unsigned long long)ioapic);
        return -1;
    }
    d->ioapic_id = (uint8_t)((id >> 24) & 0x0f);
    d->ioapic_pins = (uint8_t)(((ver >> 16) & 0xff) + 1);

    /* An HPET's capabilities: vendor in bits 31:16, revision in 7:0, both
     * nonzero; unclaimed addresses read all ones. */
    uint32_t cap = *(volatile uint32_t *)(uintptr_t)PLATFORM_HPET_BASE;
    if ((cap >> 16) == 0 || (cap >> 16) == 0xffff || (cap & 0xff) == 0)
        d->hpet_base = 0;
    else
        d->hpet_block_id = cap;

    d->pm_base = chipset_pm_base();
    if (!d->pm_base) {
        fmt_snprintf(err, errlen, "no ACPI PM block decoded by a PIIX4 (00:01.3) or ICH9 (00:1f.0)");
        return -1;
    }
    return 0;
}

/* Makes 0xE0000-0xE3FFF read/write RAM through the host bridge's PAM
 * register for it (the firmware leaves it ROM), as a BIOS does to place
 * its own tables there. Returns whether a write there now sticks. */
static int bios_area_writable(void)
{
    volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)PLATFORM_BIOS_AREA;
    uint32_t old = *p;
    *p = ~old;
    if (*p == ~old) {
        *p = old;
        return 1;
    }
    uint32_t host = pci_read32(0, 0, 0);
    unsigned pam5 = host == ID_I440FX ? 0x5E : host == ID_Q35_MCH ? 0x95 : 0;
    if (!pam5)
        return 0;
    pci_write8(0, 0, pam5, (uint8_t)(pci_read8(0, 0, pam5) | 0x03)); /* low half: read and write enable */
    *p = 0x5a5aa5a5u;
    return *p == 0x5a5aa5a5u;
}

void run_bare(struct boot_info *bi)
{
    if ((uintptr_t)bare_enter + 4096 > 0xffffffffull)
        platform_fatal("bare = on: the hypervisor was loaded above 4 GiB");
    const uint8_t *from = bi->guest_ram;
    memcpy((void *)(uintptr_t)MB_INFO_BASE, from + MB_INFO_BASE, MB_INFO_LIMIT - MB_INFO_BASE);
    memcpy((void *)(uintptr_t)bi->guest_lowest, from + bi->guest_lowest,
           bi->guest_loaded_end - bi->guest_lowest);
    if (bi->bare_acpi_built)
        memcpy((void *)(uintptr_t)bi->desc.acpi_base, from + bi->desc.acpi_base,
               bi->guest_ram_size - bi->desc.acpi_base);
    if (bi->bare_rsdp_len) {
        if (bios_area_writable()) {
            memcpy((void *)(uintptr_t)PLATFORM_BIOS_AREA, from + PLATFORM_BIOS_AREA, bi->bare_rsdp_len);
            log_info("hv", "bare: the guest's RSDP is at 0x%x", PLATFORM_BIOS_AREA);
        } else {
            log_warn("hv",
                     "bare: the BIOS area at 0x%x stays read-only: the guest will not find the ACPI tables",
                     PLATFORM_BIOS_AREA);
        }
    }
    log_info("hv", "bare: jumping to the guest at 0x%x without VMX", bi->guest_entry);
    uart_flush();
    bare_enter(bi->guest_entry, bi->guest_mb_info);
    platform_fatal("bare: the guest returned");
}
