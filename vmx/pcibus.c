#include "pcibus.h"

#include "../boot/platform.h"
#include "../drivers/log.h"
#include "guest_events.h"
#include "pcdev.h"

static void pci_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct vm *vm = ctx;
    if (irq_msi(&vm->irq, addr, data) != IRQ_DELIVERED)
        guest_event(vm, GUEST_PCI, "vmx", "a PCI device's MSI (address 0x%llx, data 0x%x) reached no LAPIC",
                    (unsigned long long)addr, data);
}

static void pci_intx(void *ctx, unsigned gsi, int level)
{
    struct vm *vm = ctx;
    irq_set(&vm->irq, vm->pci_intx_source, gsi, level);
}

void vm_pci_init(struct vm *vm, const struct vm_disk *disk)
{
    const struct pci_host host = { vm, pci_msi, pci_intx };

    pci_bus_init(&vm->pci, &host, PLATFORM_PCI_ECAM_BASE, PLATFORM_PCI_IO_BASE, PLATFORM_PCI_IO_END);
    vm->pci_intx_source = irq_source_alloc(&vm->irq);
    /* INTA#-INTD# are wired-OR, active low: the _PRT's static GSIs. */
    for (unsigned pin = 1; pin <= 4; pin++)
        vm->irq.active_low |= 1u << pci_intx_gsi(VM_DISK_SLOT, pin);
    if (disk && disk->image) {
        virtio_blk_init(&vm->disk, &vm->disk_dev, disk->image, disk->size, !disk->writable);
        vm->disk_dev.mem = (struct virtio_mem){ vm->ram, vm->ram_size };
        if (virtio_pci_init(&vm->disk_pci, &vm->disk_dev) ||
            pci_add_dev(&vm->pci, VM_DISK_SLOT, &vm->disk_pci.pci))
            log_error("hv", "disk '%s': the virtio-blk device could not be set up", disk->name);
    }
    if (pci_assign_bars(&vm->pci, PLATFORM_PCI_MMIO_BASE, PLATFORM_PCI_MMIO_END))
        log_error("hv", "PCI: the BARs do not fit in 0x%llx-0x%llx", PLATFORM_PCI_MMIO_BASE,
                  PLATFORM_PCI_MMIO_END - 1);
    if (disk && disk->image) {
        log_info("hv",
                 "disk '%s': virtio-blk (1af4:1042) at PCI 00:%02x.0, %llu sectors of 512 bytes, %s, "
                 "INTA# on GSI %u",
                 disk->name, VM_DISK_SLOT, (unsigned long long)(disk->size / 512),
                 disk->writable ? "writable (volatile)" : "read-only", pci_intx_gsi(VM_DISK_SLOT, 1));
        if (disk->writable)
            log_warn("hv",
                     "disk '%s' is volatile: the guest's writes stay in memory and are LOST at "
                     "power-off (nothing is written back to the machine's disk)",
                     disk->name);
    }
}

int vm_io_pci(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    if (pci_io(&vm->pci, port, in, size, v) == PCI_DONE)
        return 0;
    return vm_io_pcports(vm, port, in, size, v);
}

int vm_pci_claims(const struct vm *vm, uint64_t gpa) { return pci_mmio_claims(&vm->pci, gpa); }

/* The device names what a driver did wrong; say it, rate-limited. */
static void report_disk_errors(struct vm *vm)
{
    if (vm->disk_dev.errors == vm->disk_errors_seen)
        return;
    vm->disk_errors_seen = vm->disk_dev.errors;
    guest_event(vm, GUEST_PCI, "vmx", "virtio-blk: %s (device status 0x%02x)",
                vm->disk_dev.last_error ? vm->disk_dev.last_error : "error", vm->disk_dev.status);
}

uint64_t vm_pci_mmio_read(struct vm *vm, uint64_t gpa, unsigned size)
{
    uint64_t v = ~0ull;
    pci_mmio_read(&vm->pci, gpa, size, &v);
    report_disk_errors(vm);
    return v;
}

void vm_pci_mmio_write(struct vm *vm, uint64_t gpa, unsigned size, uint64_t v)
{
    pci_mmio_write(&vm->pci, gpa, size, v);
    report_disk_errors(vm);
}

void vm_pci_print_stats(const struct vm *vm)
{
    const struct virtio_blk_stats *s = &vm->disk.st;
    if (!vm->disk.dev)
        return;
    log_info("hv",
             "disk: %llu reads (%llu bytes), %llu writes (%llu bytes), %llu flushes, %llu I/O errors, "
             "%llu notifies, interrupts %llu MSI-X / %llu INTx",
             (unsigned long long)s->reads, (unsigned long long)s->bytes_read, (unsigned long long)s->writes,
             (unsigned long long)s->bytes_written, (unsigned long long)s->flushes,
             (unsigned long long)s->ioerr, (unsigned long long)s->notifies,
             (unsigned long long)vm->disk_pci.irq_msix, (unsigned long long)vm->disk_pci.irq_intx);
}
