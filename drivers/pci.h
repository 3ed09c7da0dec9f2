/* A PCI bus 0: configuration space through mechanism #1 (ports 0xCF8 and
 * 0xCFC-0xCFF) and ECAM (the MCFG region, bus 0 only), a host bridge at
 * 00:00.0, and the functions the device models register (function 0 of a
 * slot each). Per function: a 256-byte configuration header (type 0) with
 * write masks and write-1-to-clear bits, BARs (32/64-bit memory, I/O), a
 * capability list, MSI and MSI-X (table and PBA in a BAR), INTx.
 * PCI Local Bus Specification 3.0, chapter 6.
 *
 * Pure C (no VMX, no globals, no allocation): every structure is the
 * caller's, hanging off its struct vm. The hypervisor calls in from its
 * port handler (pci_io), from its EPT-violation MMIO handler (pci_mmio_read
 * and pci_mmio_write: ECAM and every enabled memory BAR) and, once at boot,
 * pci_assign_bars. Interrupts leave through the host callbacks.
 *
 * INTx routing (the swizzle the DSDT's _PRT describes): pin p (1 = INTA#
 * .. 4 = INTD#) of slot s reaches GSI PCI_INTX_GSI_BASE + ((s + p - 1) % 4),
 * i.e. GSIs 16-19 of the vIOAPIC. The intx callback's level is the logical
 * state (1 = INTx# asserted). Mind the polarity: for a _PRT entry in the
 * static GSI form a guest programs the IOAPIC pin level-triggered, ACTIVE
 * LOW (ACPI 6.x §6.2.13; Linux drivers/acpi/pci_irq.c), and
 * vioapic_set_irq takes the electrical level, so the wiring must present
 * the pin as idle high (asserted = low) from the start.
 *
 * Wiring, in order: pci_bus_init (PLATFORM_PCI_ECAM_BASE, _IO_BASE,
 * _IO_END); each device's init (virtio_pci_init) and pci_add_dev;
 * pci_assign_bars (PLATFORM_PCI_MMIO_BASE, _MMIO_END); vm_desc_add_pci so
 * that the e820 map and the ACPI tables describe the bus. Ports 0xCF8-0xCFF
 * go to pci_io first; PCI_NOT_MINE there (a byte at 0xCF9) goes on to
 * drivers/pcports.c. An EPT violation outside guest RAM tries
 * pci_mmio_read/pci_mmio_write before anything else gives up on it. */
#ifndef DRIVERS_PCI_H
#define DRIVERS_PCI_H

#include <stdint.h>

#define PCI_SLOTS          32 /* bus 0, function 0 of each */
#define PCI_NUM_BARS       6
#define PCI_MSIX_MAX       8 /* MSI-X table entries a function may have */
#define PCI_INTX_GSI_BASE  16
#define PCI_ECAM_SIZE      0x100000 /* the ECAM window of bus 0 */
#define PCI_IO_CONFIG_ADDR 0xCF8
#define PCI_IO_CONFIG_DATA 0xCFC

#define PCI_NOT_MINE (-1) /* the access is not the bus's: another handler's, or nobody's */
#define PCI_DONE     0

/* Configuration header offsets (type 0). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION       0x08
#define PCI_CLASS_PROG     0x09
#define PCI_CLASS_CODE     0x0A /* sub-class at 0x0A, base class at 0x0B */
#define PCI_CACHE_LINE     0x0C
#define PCI_HEADER_TYPE    0x0E
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2C
#define PCI_SUBSYS_ID      0x2E
#define PCI_ROM_BAR        0x30
#define PCI_CAP_PTR        0x34
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN  0x3D

#define PCI_CMD_IO           0x0001
#define PCI_CMD_MEMORY       0x0002
#define PCI_CMD_MASTER       0x0004
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST  0x0010
#define PCI_STATUS_W1C       0xF900 /* parity/abort/SERR error bits: write 1 to clear */

#define PCI_BAR_IO       0x1
#define PCI_BAR_MEM64    0x4
#define PCI_BAR_PREFETCH 0x8

/* Capability IDs. */
#define PCI_CAP_MSI    0x05
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_MSIX   0x11

/* MSI capability (64-bit address, per-vector masking): 24 bytes. */
#define PCI_MSI_FLAGS         2 /* message control */
#define PCI_MSI_ADDR_LO       4
#define PCI_MSI_ADDR_HI       8
#define PCI_MSI_DATA          12
#define PCI_MSI_MASK          16
#define PCI_MSI_PENDING       20
#define PCI_MSI_CAP_LEN       24
#define PCI_MSI_FLAGS_ENABLE  0x0001
#define PCI_MSI_FLAGS_QMASK   0x000E /* multiple message capable: log2 */
#define PCI_MSI_FLAGS_QSIZE   0x0070 /* multiple message enable: log2 */
#define PCI_MSI_FLAGS_64BIT   0x0080
#define PCI_MSI_FLAGS_MASKBIT 0x0100

/* MSI-X capability: 12 bytes; table entries of 16 bytes. */
#define PCI_MSIX_FLAGS         2
#define PCI_MSIX_TABLE         4 /* offset | BIR */
#define PCI_MSIX_PBA           8
#define PCI_MSIX_CAP_LEN       12
#define PCI_MSIX_FLAGS_QSIZE   0x07FF /* table size - 1 */
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE  0x8000
#define PCI_MSIX_ENTRY_SIZE    16
#define PCI_MSIX_ENTRY_CTRL    12
#define PCI_MSIX_ENTRY_MASKED  0x1

struct pci_dev;

/* What the bus calls to reach the machine. */
struct pci_host {
    void *ctx;
    /* A message-signalled interrupt: a 4-byte write of data to addr. */
    void (*msi)(void *ctx, uint64_t addr, uint32_t data);
    /* INTx of a function changed: gsi (the swizzle above), level 1 = asserted.
     * Called only on a change of that function's asserted state. */
    void (*intx)(void *ctx, unsigned gsi, int level);
};

/* What a device model gives the bus. Every pointer may be NULL. */
struct pci_dev_ops {
    /* An access to one of its BARs (not the MSI-X table or PBA): off from
     * the BAR's start, size 1, 2, 4 or 8. */
    uint64_t (*bar_read)(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size);
    void (*bar_write)(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size, uint64_t val);
    /* After a configuration write has landed (masks applied), for the
     * side effects of the device's own capabilities. */
    void (*cfg_write)(struct pci_dev *d, unsigned off, unsigned size, uint32_t val);
    /* Before a configuration read returns: may replace *val. */
    void (*cfg_read)(struct pci_dev *d, unsigned off, unsigned size, uint32_t *val);
};

struct pci_bar {
    uint64_t size; /* 0: no BAR; a power of two (>= 16 memory, >= 4 I/O) */
    uint8_t flags; /* PCI_BAR_IO, or memory with PCI_BAR_MEM64 / PCI_BAR_PREFETCH */
    uint8_t upper; /* this slot is the upper half of the 64-bit BAR below */
};

struct pci_dev {
    uint8_t cfg[256];
    uint8_t wmask[256]; /* bits the guest may write */
    uint8_t w1c[256];   /* bits a guest 1 clears */
    struct pci_bar bar[PCI_NUM_BARS];
    uint8_t cap_last; /* offset of the last capability (0: none yet) */
    uint8_t cap_free; /* next free byte for a capability */
    uint8_t msi_cap;  /* offsets of the capabilities, 0 if absent */
    uint8_t msix_cap;
    /* MSI-X: table and PBA live here, mapped into BAR msix_bar. */
    uint16_t msix_n;
    uint8_t msix_bar, msix_pba_bar;
    uint32_t msix_table_off, msix_pba_off;
    uint8_t msix_table[PCI_MSIX_MAX * PCI_MSIX_ENTRY_SIZE];
    uint32_t msix_pending; /* the PBA: one bit per vector */
    uint8_t intx_level;    /* the device's own INTx state (status bit 3) */
    uint8_t intx_out;      /* what the bus last told the host (after disables) */
    uint8_t slot;
    struct pci_bus *bus;
    const struct pci_dev_ops *ops;
    void *ctx; /* the device model's own state */
    /* Counters: messages sent, held back by a mask (pending), dropped
     * because bus mastering is off (a device cannot write memory then). */
    uint64_t msi_sent, msi_masked, msi_dropped;
};

struct pci_bus {
    struct pci_host host;
    uint32_t cf8;          /* the CONFIG_ADDRESS latch */
    uint64_t ecam_base;    /* guest-physical base of the ECAM window (bus 0: 1 MiB) */
    struct pci_dev bridge; /* 00:00.0 */
    struct pci_dev *slot[PCI_SLOTS];
    uint64_t mmio_base, mmio_end; /* the hole pci_assign_bars used */
    uint32_t io_base, io_end;     /* the I/O window for I/O BARs: io_base .. io_end - 1 */
};

/* A bus with the host bridge (8086:29C0, class 0600, as QEMU's q35) at
 * 00:00.0 and nothing else. I/O BARs are placed in io_base..io_end-1. */
void pci_bus_init(struct pci_bus *bus, const struct pci_host *host, uint64_t ecam_base, uint32_t io_base,
                  uint32_t io_end);

/* A function, not yet on a bus: IDs, class (base << 16 | sub << 8 | prog-if),
 * revision, interrupt pin (0 none, 1 INTA# .. 4 INTD#). */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t rev,
                  uint8_t int_pin, const struct pci_dev_ops *ops, void *ctx);
void pci_dev_set_subsystem(struct pci_dev *d, uint16_t vendor, uint16_t id);
/* BAR n of size bytes (a power of two) with flags (PCI_BAR_*). A 64-bit
 * BAR takes slots n and n+1. Returns 0, or -1 for a bad argument. */
int pci_dev_add_bar(struct pci_dev *d, unsigned n, uint64_t size, uint8_t flags);
/* Appends a capability of len bytes (id and next pointer included) to the
 * list; returns its offset (the caller fills bytes 2.. and their wmask),
 * or 0 when the header is full. */
unsigned pci_dev_add_cap(struct pci_dev *d, uint8_t id, unsigned len);
/* MSI: 64-bit address, per-vector masking, 2^log2_vectors vectors (at
 * most 32). Returns the capability's offset or 0. */
unsigned pci_dev_add_msi(struct pci_dev *d, unsigned log2_vectors);
/* MSI-X: n vectors (<= PCI_MSIX_MAX), table at table_off in BAR
 * table_bar, PBA at pba_off in BAR pba_bar (the BARs must exist, and the
 * table and the PBA fit in them). Entries reset masked. Returns the
 * capability's offset or 0. */
unsigned pci_dev_add_msix(struct pci_dev *d, unsigned n, unsigned table_bar, uint32_t table_off,
                          unsigned pba_bar, uint32_t pba_off);

/* Puts d in slot (1..31) of the bus. Returns 0, or -1 if taken or out of range. */
int pci_add_dev(struct pci_bus *bus, unsigned slot, struct pci_dev *d);

/* The function at bus 0, slot, function fn, or NULL. */
struct pci_dev *pci_find(struct pci_bus *bus, unsigned slot, unsigned fn);

/* The GSI slot's pin (1..4) is routed to. */
unsigned pci_intx_gsi(unsigned slot, unsigned pin);

/* Configuration access of size 1, 2 or 4 at reg (0..4095; the access may
 * not cross a dword) of bus 0 slot/fn: absent functions read all ones and
 * drop writes; 0x100-0xFFF read 0. */
uint32_t pci_cfg_read(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size);
void pci_cfg_write(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size,
                   uint32_t val);

/* Mechanism #1: an IN (in = 1, *val receives) or OUT of size 1, 2 or 4 at
 * port. Claims a 32-bit access to 0xCF8 and any access to 0xCFC-0xCFF, and
 * accesses to enabled I/O BARs; anything else (a byte at 0xCF9, the reset
 * register) is PCI_NOT_MINE. */
int pci_io(struct pci_bus *bus, uint16_t port, int in, unsigned size, uint32_t *val);

/* ECAM, by offset from ecam_base (bus << 20 | dev << 15 | fn << 12 | reg);
 * buses other than 0 read all ones. Size 1, 2, 4 or 8. */
uint64_t pci_ecam_read(struct pci_bus *bus, uint64_t off, unsigned size);
void pci_ecam_write(struct pci_bus *bus, uint64_t off, unsigned size, uint64_t val);

/* Guest-physical accesses (size 1, 2, 4 or 8): the ECAM window, and every
 * memory BAR while its function's command register enables memory space
 * (the MSI-X table and PBA, then the device's bar ops). PCI_NOT_MINE
 * otherwise. */
int pci_mmio_read(struct pci_bus *bus, uint64_t gpa, unsigned size, uint64_t *val);
int pci_mmio_write(struct pci_bus *bus, uint64_t gpa, unsigned size, uint64_t val);

/* Would pci_mmio_read/pci_mmio_write take gpa (ECAM, an enabled memory
 * BAR)? No side effects. */
int pci_mmio_claims(const struct pci_bus *bus, uint64_t gpa);

/* As firmware does: every BAR of every function gets a naturally aligned
 * address, memory BARs in mmio_base..mmio_end-1 (largest first), I/O BARs
 * in the bus's I/O window; command gets memory/I/O space enabled for the
 * functions that have such BARs, and interrupt line the routed GSI.
 * Returns 0, or -1 when the hole is too small (BARs that did not fit stay 0). */
int pci_assign_bars(struct pci_bus *bus, uint64_t mmio_base, uint64_t mmio_end);

/* BAR n's current address as the guest programmed it (0 if none). */
uint64_t pci_bar_addr(const struct pci_dev *d, unsigned n);

/* Signal vector n of the device: an MSI-X message when MSI-X is enabled
 * (or the pending bit when the vector or the function is masked), else an
 * MSI when MSI is enabled (pending bit when masked), else nothing. With
 * bus mastering off in command the message is dropped and counted.
 * Returns 1 sent, 0 held pending, -1 nothing sent (nothing enabled, bus
 * mastering off, or n out of range). */
int pci_dev_signal(struct pci_dev *d, unsigned n);
/* The device's INTx level (1 asserted); reaches the host unless INTx is
 * disabled in command or MSI/MSI-X is on; status bit 3 follows level. */
void pci_dev_set_intx(struct pci_dev *d, int level);

/* Is MSI-X (MSI) enabled on the function? */
int pci_dev_msix_enabled(const struct pci_dev *d);
int pci_dev_msi_enabled(const struct pci_dev *d);

#endif
