/* The guest's PCI bus wired to the VM: the bus of drivers/pci (host bridge
 * at 00:00.0, configuration mechanism #1 at 0xCF8/0xCFC and ECAM at
 * PLATFORM_PCI_ECAM_BASE) and, when the configuration names a disk, a
 * virtio-blk device (drivers/virtio_pci + drivers/virtio_blk) in slot
 * VM_DISK_SLOT. Its interrupts reach the guest two ways: MSI/MSI-X
 * messages through the router's MSI path (irq_msi), and INTA# as a shared,
 * active-low level line on the GSI the DSDT's _PRT names. Where each lives
 * is boot/platform.h's. */
#ifndef VMX_PCIBUS_H
#define VMX_PCIBUS_H

#include "vm.h"

#define VM_DISK_SLOT 1

/* The disk from the configuration (`disk =`), in host memory; NULL image
 * for none. */
struct vm_disk {
    uint8_t *image;
    uint64_t size;
    int writable; /* `disk = <file> volatile`: writes land in image, lost at power-off */
    const char *name;
};

/* Sets up the bus, the disk's device when there is one, and the BAR
 * addresses (as firmware does). */
void vm_pci_init(struct vm *vm, const struct vm_disk *disk);
/* Ports 0xCF8-0xCFF: the bus, then drivers/pcports (the reset register at
 * 0xCF9). Returns 0, or -1 for an access nobody takes. */
int vm_io_pci(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v);
/* Does the bus answer at gpa (ECAM, an enabled memory BAR)? */
int vm_pci_claims(const struct vm *vm, uint64_t gpa);
uint64_t vm_pci_mmio_read(struct vm *vm, uint64_t gpa, unsigned size);
void vm_pci_mmio_write(struct vm *vm, uint64_t gpa, unsigned size, uint64_t v);
/* The disk's statistics line at the end of the run. */
void vm_pci_print_stats(const struct vm *vm);

#endif
