/* Unit tests: the PCI bus 0 model (drivers/pci.c). Configuration space
 * through both mechanisms (the same view, all ones for absent functions,
 * write masks, RW1C status bits, read-only IDs), BAR sizing and
 * placement, command register gating of decode, the capability list, MSI
 * and MSI-X masking and pending bits, INTx with its disable bit and the
 * status interrupt bit. A test device with a 32-bit BAR (MSI-X table and
 * PBA in it), a 64-bit prefetchable BAR and an I/O BAR. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../drivers/pci.h"

#define SLOT 3

struct msg {
    uint64_t addr;
    uint32_t data;
};

static struct pci_bus bus;
static struct pci_dev dev;
static struct msg msgs[64];
static unsigned nmsg;
static int intx_gsi = -1, intx_level = -1, intx_calls;
static unsigned bar_reads, bar_writes, last_bar;
static uint64_t last_off, last_val;

static void h_msi(void *ctx, uint64_t addr, uint32_t data)
{
    assert_ptr_equal(ctx, &bus);
    assert_true(nmsg < 64);
    msgs[nmsg++] = (struct msg){ addr, data };
}

static void h_intx(void *ctx, unsigned gsi, int level)
{
    assert_ptr_equal(ctx, &bus);
    intx_gsi = (int)gsi;
    intx_level = level;
    intx_calls++;
}

static uint64_t d_read(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size)
{
    assert_ptr_equal(d, &dev);
    bar_reads++;
    last_bar = bar;
    last_off = off;
    (void)size;
    return 0x1122334455667788ull;
}

static void d_write(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size, uint64_t val)
{
    assert_ptr_equal(d, &dev);
    (void)size;
    bar_writes++;
    last_bar = bar;
    last_off = off;
    last_val = val;
}

static const struct pci_dev_ops ops = { .bar_read = d_read, .bar_write = d_write };

static unsigned msi_off, msix_off, vendor_off;

static int setup(void **s)
{
    (void)s;
    struct pci_host h = { &bus, h_msi, h_intx };
    pci_bus_init(&bus, &h, 0xB0000000, 0xC000, 0x10000);
    pci_dev_init(&dev, 0x1234, 0x5678, 0x028000, 7, 1, &ops, NULL);
    pci_dev_set_subsystem(&dev, 0xABCD, 0x0042);
    assert_int_equal(pci_dev_add_bar(&dev, 0, 0x1000, 0), 0);
    assert_int_equal(pci_dev_add_bar(&dev, 2, 0x10000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH), 0);
    assert_int_equal(pci_dev_add_bar(&dev, 4, 32, PCI_BAR_IO), 0);
    vendor_off = pci_dev_add_cap(&dev, PCI_CAP_VENDOR, 8);
    msi_off = pci_dev_add_msi(&dev, 2);
    msix_off = pci_dev_add_msix(&dev, 4, 0, 0x000, 0, 0x800);
    assert_int_not_equal(vendor_off, 0);
    assert_int_not_equal(msi_off, 0);
    assert_int_not_equal(msix_off, 0);
    assert_int_equal(pci_add_dev(&bus, SLOT, &dev), 0);
    nmsg = 0;
    intx_gsi = intx_level = -1;
    intx_calls = 0;
    bar_reads = bar_writes = 0;
    return 0;
}

/* Mechanism #1 and ECAM accessors. */
static uint32_t m1_read(unsigned slot, unsigned reg, unsigned size)
{
    uint32_t v = 0x80000000u | slot << 11 | (reg & 0xFC), r = 0xDEAD;
    assert_int_equal(pci_io(&bus, 0xCF8, 0, 4, &v), PCI_DONE);
    assert_int_equal(pci_io(&bus, (uint16_t)(0xCFC + (reg & 3)), 1, size, &r), PCI_DONE);
    return r;
}

static void m1_write(unsigned slot, unsigned reg, unsigned size, uint32_t val)
{
    uint32_t v = 0x80000000u | slot << 11 | (reg & 0xFC);
    assert_int_equal(pci_io(&bus, 0xCF8, 0, 4, &v), PCI_DONE);
    assert_int_equal(pci_io(&bus, (uint16_t)(0xCFC + (reg & 3)), 0, size, &val), PCI_DONE);
}

static uint64_t ecam(unsigned slot, unsigned reg, unsigned size)
{
    uint64_t v = 0;
    assert_int_equal(pci_mmio_read(&bus, 0xB0000000ull + (slot << 15) + reg, size, &v), PCI_DONE);
    return v;
}

static void ecam_w(unsigned slot, unsigned reg, unsigned size, uint64_t val)
{
    assert_int_equal(pci_mmio_write(&bus, 0xB0000000ull + (slot << 15) + reg, size, val), PCI_DONE);
}

static void test_absent_functions_read_all_ones(void **s)
{
    (void)s;
    for (unsigned slot = 0; slot < 32; slot++) {
        if (slot == 0 || slot == SLOT)
            continue;
        assert_int_equal(m1_read(slot, 0, 4), 0xFFFFFFFFu);
        assert_int_equal(m1_read(slot, 2, 2), 0xFFFF);
        assert_int_equal(m1_read(slot, 0x3D, 1), 0xFF);
        assert_int_equal(ecam(slot, 0, 4), 0xFFFFFFFFu);
        assert_int_equal(ecam(slot, 0x100, 4), 0xFFFFFFFFu);
        m1_write(slot, 4, 2, 0x0007);
        ecam_w(slot, 4, 2, 0x0007);
        assert_int_equal(m1_read(slot, 4, 4), 0xFFFFFFFFu);
    }
    /* Function 1..7 of a present slot, and bus 1 (both mechanisms). */
    assert_int_equal(pci_cfg_read(&bus, SLOT, 1, 0, 4), 0xFFFFFFFFu);
    assert_int_equal(ecam(SLOT, 7 << 12, 4), 0xFFFFFFFFu);
    assert_int_equal(pci_ecam_read(&bus, 1u << 20, 4), 0xFFFFFFFFu);
    assert_int_equal(pci_ecam_read(&bus, 1u << 20, 8), ~0ull);
    uint32_t v = 0x80010000u | SLOT << 11, r;
    pci_io(&bus, 0xCF8, 0, 4, &v);
    pci_io(&bus, 0xCFC, 1, 4, &r);
    assert_int_equal(r, 0xFFFFFFFFu);
    /* The enable bit clear: no configuration cycle at all. */
    v = SLOT << 11;
    pci_io(&bus, 0xCF8, 0, 4, &v);
    pci_io(&bus, 0xCFC, 1, 4, &r);
    assert_int_equal(r, 0xFFFFFFFFu);
    /* An access that runs past 0xCFF reads ones. */
    assert_int_equal(m1_read(SLOT, 3, 2), 0xFFFF);
    /* Present functions: the extended space reads 0 and keeps no write. */
    assert_int_equal(ecam(SLOT, 0x100, 4), 0);
    assert_int_equal(ecam(SLOT, 0xFFC, 4), 0);
    ecam_w(SLOT, 0x200, 4, 0x12345678);
    assert_int_equal(ecam(SLOT, 0x200, 4), 0);
    assert_int_equal(ecam(0, 0x100, 4), 0);
}

static void test_host_bridge(void **s)
{
    (void)s;
    assert_int_equal(m1_read(0, 0, 4), 0x29C08086u);
    assert_int_equal(m1_read(0, 0x0A, 2), 0x0600);
    assert_int_equal(m1_read(0, 0x0E, 1), 0);
    assert_int_equal(ecam(0, 0, 4), 0x29C08086u);
    m1_write(0, 0, 4, 0);
    assert_int_equal(m1_read(0, 0, 4), 0x29C08086u);
}

static void test_cf8_latch(void **s)
{
    (void)s;
    uint32_t v = 0x80000000u, r = 0;
    assert_int_equal(pci_io(&bus, 0xCF8, 0, 4, &v), PCI_DONE);
    assert_int_equal(pci_io(&bus, 0xCF8, 1, 4, &r), PCI_DONE);
    assert_int_equal(r, 0x80000000u); /* how Linux finds mechanism #1 */
    v = 0xFFFFFFFFu;
    pci_io(&bus, 0xCF8, 0, 4, &v);
    pci_io(&bus, 0xCF8, 1, 4, &r);
    assert_int_equal(r, 0x80FFFFFCu); /* reserved bits 30:24 and 1:0 read 0 */
    /* Byte and word accesses to 0xCF8-0xCFB are not the bus's: 0xCF9 is
     * the reset control register. */
    assert_int_equal(pci_io(&bus, 0xCF9, 0, 1, &v), PCI_NOT_MINE);
    assert_int_equal(pci_io(&bus, 0xCF8, 1, 1, &v), PCI_NOT_MINE);
    assert_int_equal(pci_io(&bus, 0xCFA, 1, 2, &v), PCI_NOT_MINE);
    assert_int_equal(pci_io(&bus, 0xCF8, 1, 2, &v), PCI_NOT_MINE);
    assert_int_equal(pci_io(&bus, 0x80, 1, 1, &v), PCI_NOT_MINE);
    pci_io(&bus, 0xCF8, 1, 4, &r);
    assert_int_equal(r, 0x80FFFFFCu);
}

/* Every byte, word and dword of both functions' headers reads the same
 * through mechanism #1, ECAM and pci_cfg_read; a write through one is seen
 * through the other. */
static void test_mech1_and_ecam_agree(void **s)
{
    (void)s;
    const unsigned slots[2] = { 0, SLOT };
    for (unsigned i = 0; i < 2; i++)
        for (unsigned reg = 0; reg < 256; reg++)
            for (unsigned size = 1; size <= 4; size *= 2) {
                if ((reg & 3) + size > 4)
                    continue;
                uint32_t a = m1_read(slots[i], reg, size);
                assert_int_equal(a, ecam(slots[i], reg, size));
                assert_int_equal(a, pci_cfg_read(&bus, slots[i], 0, reg, size));
            }
    m1_write(SLOT, PCI_INTERRUPT_LINE, 1, 0x5A);
    assert_int_equal(ecam(SLOT, PCI_INTERRUPT_LINE, 1), 0x5A);
    ecam_w(SLOT, PCI_INTERRUPT_LINE, 1, 0xA5);
    assert_int_equal(m1_read(SLOT, PCI_INTERRUPT_LINE, 1), 0xA5);
    /* An 8-byte ECAM read is two dwords. */
    assert_int_equal(ecam(SLOT, 0, 8), (uint64_t)m1_read(SLOT, 4, 4) << 32 | m1_read(SLOT, 0, 4));
}

static void test_read_only_fields_and_masks(void **s)
{
    (void)s;
    uint8_t before[256];
    for (unsigned r = 0; r < 256; r++)
        before[r] = (uint8_t)m1_read(SLOT, r, 1);
    /* All ones then all zeros everywhere except the BARs and capabilities,
     * at every width. */
    for (unsigned size = 1; size <= 4; size *= 2)
        for (unsigned reg = 0; reg < 0x40; reg += size) {
            if (reg >= PCI_BAR0 && reg < PCI_BAR0 + 24)
                continue;
            m1_write(SLOT, reg, size, 0xFFFFFFFFu);
        }
    assert_int_equal(m1_read(SLOT, 0, 4), 0x56781234u); /* IDs */
    assert_int_equal(m1_read(SLOT, 8, 4), 0x02800007u); /* class, revision */
    assert_int_equal(m1_read(SLOT, 0x0E, 1), 0);        /* header type 0 */
    assert_int_equal(m1_read(SLOT, 0x2C, 4), 0x0042ABCDu);
    assert_int_equal(m1_read(SLOT, PCI_ROM_BAR, 4), 0); /* no expansion ROM */
    assert_int_equal(m1_read(SLOT, PCI_CAP_PTR, 1), before[PCI_CAP_PTR]);
    assert_int_equal(m1_read(SLOT, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(m1_read(SLOT, PCI_INTERRUPT_LINE, 1), 0xFF); /* RW */
    assert_int_equal(m1_read(SLOT, PCI_CACHE_LINE, 1), 0xFF);     /* RW */
    /* Command: I/O, memory, bus master, parity, SERR, INTx disable. */
    assert_int_equal(m1_read(SLOT, PCI_COMMAND, 2), 0x0547);
    m1_write(SLOT, PCI_COMMAND, 2, 0);
    assert_int_equal(m1_read(SLOT, PCI_COMMAND, 2), 0);
    /* Status: the capability list bit stays; nothing else was set. */
    assert_int_equal(m1_read(SLOT, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
    /* The capabilities' read-only parts: IDs, next pointers, MSI-X size
     * and table/PBA locations, MSI capability bits. */
    for (unsigned r = 0x40; r < 256; r++) {
        if ((r >= msi_off && r < msi_off + PCI_MSI_CAP_LEN) || (r >= msix_off && r < msix_off + 12))
            continue;
        m1_write(SLOT, r, 1, 0xFF);
        assert_int_equal(m1_read(SLOT, r, 1), before[r]);
    }
    m1_write(SLOT, msix_off, 4, 0xFFFFFFFFu);
    assert_int_equal(m1_read(SLOT, msix_off, 4) >> 16, 0xC003); /* enable, mask all; size 4 - 1 */
    m1_write(SLOT, msix_off + 4, 4, 0xFFFFFFFFu);
    m1_write(SLOT, msix_off + 8, 4, 0xFFFFFFFFu);
    assert_int_equal(m1_read(SLOT, msix_off + 4, 4), 0x000);
    assert_int_equal(m1_read(SLOT, msix_off + 8, 4), 0x800);
    m1_write(SLOT, msi_off, 4, 0xFFFFFFFFu);
    /* enable, MME writable; 64-bit, per-vector mask, MMC = 2 read-only */
    assert_int_equal(m1_read(SLOT, msi_off + 2, 2), 0x0100 | 0x0080 | 0x0070 | 0x0004 | 0x0001);
    m1_write(SLOT, msi_off + PCI_MSI_ADDR_LO, 4, 0xFFFFFFFFu);
    assert_int_equal(m1_read(SLOT, msi_off + PCI_MSI_ADDR_LO, 4), 0xFFFFFFFCu);
    m1_write(SLOT, msi_off + PCI_MSI_MASK, 4, 0xFFFFFFFFu);
    assert_int_equal(m1_read(SLOT, msi_off + PCI_MSI_MASK, 4), 0xF); /* 4 vectors */
    m1_write(SLOT, msi_off + PCI_MSI_PENDING, 4, 0xFFFFFFFFu);
    assert_int_equal(m1_read(SLOT, msi_off + PCI_MSI_PENDING, 4), 0); /* read-only */
}

static void test_status_rw1c(void **s)
{
    (void)s;
    /* A device sets its error bits itself; a guest 1 clears them. */
    dev.cfg[PCI_STATUS + 1] |= 0xF9;
    m1_write(SLOT, PCI_STATUS, 2, 0);
    assert_int_equal(m1_read(SLOT, PCI_STATUS, 2), 0xF900 | PCI_STATUS_CAP_LIST);
    m1_write(SLOT, PCI_STATUS, 2, 0x8000);
    assert_int_equal(m1_read(SLOT, PCI_STATUS, 2), 0x7900 | PCI_STATUS_CAP_LIST);
    m1_write(SLOT, PCI_STATUS + 1, 1, 0x79);
    assert_int_equal(m1_read(SLOT, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
    /* Writing the capability list and interrupt bits changes nothing. */
    m1_write(SLOT, PCI_STATUS, 2, 0xFFFF);
    assert_int_equal(m1_read(SLOT, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
}

static void test_bar_sizing(void **s)
{
    (void)s;
    for (unsigned n = 0; n < 6; n++)
        m1_write(SLOT, PCI_BAR0 + 4 * n, 4, 0xFFFFFFFFu);
    assert_int_equal(m1_read(SLOT, 0x10, 4), 0xFFFFF000u);             /* 4 KiB, 32-bit memory */
    assert_int_equal(m1_read(SLOT, 0x14, 4), 0);                       /* none */
    assert_int_equal(m1_read(SLOT, 0x18, 4), 0xFFFF0000u | 0x8 | 0x4); /* 64 KiB, 64-bit, prefetchable */
    assert_int_equal(m1_read(SLOT, 0x1C, 4), 0xFFFFFFFFu);             /* its upper half */
    assert_int_equal(m1_read(SLOT, 0x20, 4), 0x0000FFE1u);             /* 32 ports */
    assert_int_equal(m1_read(SLOT, 0x24, 4), 0);
    /* Back to an address: the low flag bits stay. */
    m1_write(SLOT, 0x18, 4, 0xD0012345u);
    m1_write(SLOT, 0x1C, 4, 0x00000001u);
    assert_int_equal(m1_read(SLOT, 0x18, 4), 0xD001000Cu);
    assert_int_equal(pci_bar_addr(&dev, 2), 0x1D0010000ull);
    assert_int_equal(pci_bar_addr(&dev, 3), 0);
    /* Bad BARs are refused. */
    struct pci_dev d;
    pci_dev_init(&d, 1, 2, 0, 0, 0, NULL, NULL);
    assert_int_equal(pci_dev_add_bar(&d, 0, 0x1800, 0), -1);             /* not a power of two */
    assert_int_equal(pci_dev_add_bar(&d, 0, 8, 0), -1);                  /* memory below 16 bytes */
    assert_int_equal(pci_dev_add_bar(&d, 5, 0x1000, PCI_BAR_MEM64), -1); /* no slot for the upper half */
    assert_int_equal(pci_dev_add_bar(&d, 0, 512, PCI_BAR_IO), -1);       /* I/O above 256 */
    assert_int_equal(pci_dev_add_bar(&d, 6, 0x1000, 0), -1);
    assert_int_equal(pci_dev_add_bar(&d, 1, 0x1000, PCI_BAR_MEM64), 0);
    assert_int_equal(pci_dev_add_bar(&d, 2, 0x1000, 0), -1);             /* the upper half of BAR 1 */
    assert_int_equal(pci_dev_add_bar(&d, 0, 0x1000, PCI_BAR_MEM64), -1); /* overlaps BAR 1 */
    assert_int_equal(pci_add_dev(&bus, SLOT, &d), -1);                   /* taken */
    assert_int_equal(pci_add_dev(&bus, 0, &d), -1);                      /* the host bridge's */
    assert_int_equal(pci_add_dev(&bus, 32, &d), -1);
}

static void test_assign_bars_aligned(void **s)
{
    (void)s;
    struct pci_dev d2;
    pci_dev_init(&d2, 1, 2, 0, 0, 2, NULL, NULL);
    assert_int_equal(pci_dev_add_bar(&d2, 0, 0x100000, 0), 0);
    assert_int_equal(pci_dev_add_bar(&d2, 1, 16, 0), 0);
    assert_int_equal(pci_dev_add_bar(&d2, 2, 0x2000, PCI_BAR_MEM64), 0);
    assert_int_equal(pci_dev_add_bar(&d2, 5, 4, PCI_BAR_IO), 0);
    assert_int_equal(pci_add_dev(&bus, 9, &d2), 0);
    /* A base aligned only to 2 KiB: every BAR still naturally aligned. */
    assert_int_equal(pci_assign_bars(&bus, 0xC0000800ull, 0xFEC00000ull), 0);
    struct {
        uint64_t a, size;
    } seen[16];
    unsigned n = 0;
    struct pci_dev *devs[2] = { &dev, &d2 };
    for (unsigned i = 0; i < 2; i++)
        for (unsigned b = 0; b < 6; b++) {
            const struct pci_bar *bar = &devs[i]->bar[b];
            if (!bar->size)
                continue;
            uint64_t a = pci_bar_addr(devs[i], b);
            assert_int_equal(a % bar->size, 0);
            if (bar->flags & PCI_BAR_IO) {
                assert_true(a >= 0xC000 && a + bar->size <= 0x10000);
            } else {
                assert_true(a >= 0xC0000800ull && a + bar->size <= 0xFEC00000ull);
            }
            for (unsigned j = 0; j < n; j++)
                assert_true(a + bar->size <= seen[j].a || seen[j].a + seen[j].size <= a);
            seen[n].a = a;
            seen[n++].size = bar->size;
        }
    assert_int_equal(n, 7);
    assert_int_equal(m1_read(SLOT, PCI_COMMAND, 2) & 3, 3);
    assert_int_equal(m1_read(9, PCI_COMMAND, 2) & 3, 3);
    /* Interrupt line: the swizzled GSI (slot 3 INTA# -> 19, slot 9 INTB# -> 18). */
    assert_int_equal(m1_read(SLOT, PCI_INTERRUPT_LINE, 1), 19);
    assert_int_equal(m1_read(9, PCI_INTERRUPT_LINE, 1), 18);
    /* A hole too small fails, and what did not fit is not decoded. */
    assert_int_equal(pci_assign_bars(&bus, 0xC0000000ull, 0xC0080000ull), -1);
    assert_int_equal(pci_bar_addr(&d2, 0), 0);
    assert_int_not_equal(pci_bar_addr(&dev, 2), 0); /* the 64 KiB BAR fits */
}

static void test_swizzle(void **s)
{
    (void)s;
    assert_int_equal(pci_intx_gsi(0, 1), 16);
    assert_int_equal(pci_intx_gsi(1, 1), 17);
    assert_int_equal(pci_intx_gsi(3, 1), 19);
    assert_int_equal(pci_intx_gsi(4, 1), 16);
    assert_int_equal(pci_intx_gsi(1, 4), 16);
    assert_int_equal(pci_intx_gsi(2, 3), 16);
    assert_int_equal(pci_intx_gsi(31, 2), 16);
}

static void test_command_gates_decode(void **s)
{
    (void)s;
    uint64_t v = 0;
    uint32_t p = 0;
    assert_int_equal(pci_assign_bars(&bus, 0xC0000000ull, 0xFEC00000ull), 0);
    uint64_t b2 = pci_bar_addr(&dev, 2), io = pci_bar_addr(&dev, 4);
    assert_int_equal(pci_mmio_read(&bus, b2 + 0x10, 4, &v), PCI_DONE);
    assert_int_equal(v, 0x55667788u);
    assert_int_equal(last_bar, 2);
    assert_int_equal(last_off, 0x10);
    assert_int_equal(pci_mmio_write(&bus, b2 + 0xFFF8, 8, 0xAABBCCDDEEFF0011ull), PCI_DONE);
    assert_int_equal(last_val, 0xAABBCCDDEEFF0011ull);
    assert_int_equal(last_off, 0xFFF8);
    assert_int_equal(pci_io(&bus, (uint16_t)(io + 2), 1, 2, &p), PCI_DONE);
    assert_int_equal(p, 0x7788);
    assert_int_equal(last_bar, 4);
    assert_int_equal(last_off, 2);
    /* Just outside: not the bus's. */
    uint64_t b0 = pci_bar_addr(&dev, 0); /* placed after BAR 2, the larger */
    assert_int_equal(b0, b2 + 0x10000);
    assert_int_equal(pci_mmio_read(&bus, b0 + 0x1000, 4, &v), PCI_NOT_MINE);
    assert_int_equal(pci_mmio_read(&bus, b2 - 1, 1, &v), PCI_NOT_MINE);
    assert_int_equal(pci_io(&bus, (uint16_t)(io + 32), 1, 1, &p), PCI_NOT_MINE);
    /* Memory space off: the memory BARs stop decoding, the I/O BAR does not. */
    unsigned reads = bar_reads;
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_IO);
    assert_int_equal(pci_mmio_read(&bus, b2, 4, &v), PCI_NOT_MINE);
    assert_int_equal(pci_mmio_write(&bus, b2, 4, 1), PCI_NOT_MINE);
    assert_int_equal(pci_io(&bus, (uint16_t)io, 1, 1, &p), PCI_DONE);
    assert_int_equal(bar_reads, reads + 1);
    /* I/O space off too. */
    m1_write(SLOT, PCI_COMMAND, 2, 0);
    assert_int_equal(pci_io(&bus, (uint16_t)io, 1, 1, &p), PCI_NOT_MINE);
    /* The ECAM window is always the bus's. */
    assert_int_equal(pci_mmio_read(&bus, 0xB00FFFFCull, 4, &v), PCI_DONE);
    assert_int_equal(pci_mmio_read(&bus, 0xB0100000ull, 4, &v), PCI_NOT_MINE);
    /* A BAR moved while decoding: the new address decodes, the old does not. */
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY);
    m1_write(SLOT, 0x18, 4, 0xE0000000u);
    m1_write(SLOT, 0x1C, 4, 0);
    assert_int_equal(pci_mmio_read(&bus, 0xE0000004ull, 4, &v), PCI_DONE);
    assert_int_equal(last_off, 4);
    assert_int_equal(pci_mmio_read(&bus, b2, 4, &v), b2 == 0xE0000000ull ? PCI_DONE : PCI_NOT_MINE);
}

static void test_capability_walk(void **s)
{
    (void)s;
    unsigned found = 0, steps = 0;
    assert_true(m1_read(SLOT, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    for (unsigned p = m1_read(SLOT, PCI_CAP_PTR, 1); p; p = m1_read(SLOT, p + 1, 1)) {
        assert_true(p >= 0x40 && p < 256 && !(p & 3));
        assert_true(++steps < 48);
        unsigned id = m1_read(SLOT, p, 1);
        if (id == PCI_CAP_VENDOR && p == vendor_off)
            found |= 1;
        if (id == PCI_CAP_MSI && p == msi_off)
            found |= 2;
        if (id == PCI_CAP_MSIX && p == msix_off)
            found |= 4;
    }
    assert_int_equal(found, 7);
    assert_int_equal(steps, 3);
    /* The bridge has none. */
    assert_false(m1_read(0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    /* A full header: no room, 0. */
    struct pci_dev d;
    pci_dev_init(&d, 1, 2, 0, 0, 0, NULL, NULL);
    assert_int_equal(pci_dev_add_cap(&d, 9, 200), 0); /* 0x40 + 200 > 256 */
    assert_int_equal(pci_dev_add_cap(&d, 9, 190), 0x40);
    assert_int_equal(pci_dev_add_cap(&d, 9, 4), 0);
    assert_int_equal(d.cfg[0x41], 0);
}

static void msi_program(uint32_t addr, uint16_t data, unsigned mme)
{
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
    m1_write(SLOT, msi_off + PCI_MSI_ADDR_LO, 4, addr);
    m1_write(SLOT, msi_off + PCI_MSI_ADDR_HI, 4, 0);
    m1_write(SLOT, msi_off + PCI_MSI_DATA, 2, data);
    m1_write(SLOT, msi_off + PCI_MSI_FLAGS, 2, (uint16_t)(mme << 4 | PCI_MSI_FLAGS_ENABLE));
}

static void test_msi(void **s)
{
    (void)s;
    assert_int_equal(pci_dev_signal(&dev, 0), -1); /* nothing enabled */
    msi_program(0xFEE01000u, 0x4040, 2);           /* 4 vectors */
    assert_true(pci_dev_msi_enabled(&dev));
    assert_int_equal(pci_dev_signal(&dev, 1), 1);
    assert_int_equal(nmsg, 1);
    assert_int_equal(msgs[0].addr, 0xFEE01000u);
    assert_int_equal(msgs[0].data, 0x4041);
    /* Masked vector 2: pending, then delivered on unmask. */
    m1_write(SLOT, msi_off + PCI_MSI_MASK, 4, 0x4);
    assert_int_equal(pci_dev_signal(&dev, 2), 0);
    assert_int_equal(nmsg, 1);
    assert_int_equal(m1_read(SLOT, msi_off + PCI_MSI_PENDING, 4), 0x4);
    assert_int_equal(pci_dev_signal(&dev, 3), 1); /* another vector is not held */
    assert_int_equal(msgs[1].data, 0x4043);
    m1_write(SLOT, msi_off + PCI_MSI_MASK, 4, 0);
    assert_int_equal(nmsg, 3);
    assert_int_equal(msgs[2].data, 0x4042);
    assert_int_equal(m1_read(SLOT, msi_off + PCI_MSI_PENDING, 4), 0);
    /* One vector enabled: every vector is that one. */
    m1_write(SLOT, msi_off + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
    assert_int_equal(pci_dev_signal(&dev, 3), 1);
    assert_int_equal(msgs[3].data, 0x4040);
    /* More vectors enabled than capable: capped at 4. */
    m1_write(SLOT, msi_off + PCI_MSI_FLAGS, 2, 5 << 4 | PCI_MSI_FLAGS_ENABLE);
    assert_int_equal(pci_dev_signal(&dev, 7), 1);
    assert_int_equal(msgs[4].data, 0x4043);
    /* Bus mastering off: dropped and counted. */
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY);
    assert_int_equal(pci_dev_signal(&dev, 0), -1);
    assert_int_equal(dev.msi_dropped, 1);
    assert_int_equal(nmsg, 5);
    /* 64-bit address. */
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_MASTER);
    m1_write(SLOT, msi_off + PCI_MSI_ADDR_HI, 4, 0x1);
    assert_int_equal(pci_dev_signal(&dev, 0), 1);
    assert_int_equal(msgs[5].addr, 0x1FEE01000ull);
    /* Disabled: nothing. */
    m1_write(SLOT, msi_off + PCI_MSI_FLAGS, 2, 0);
    assert_int_equal(pci_dev_signal(&dev, 0), -1);
    assert_int_equal(nmsg, 6);
}

static uint64_t table_addr(void) { return pci_bar_addr(&dev, 0); }

static void msix_entry(unsigned n, uint32_t addr, uint32_t data, uint32_t ctrl)
{
    uint64_t t = table_addr() + 16 * n;
    assert_int_equal(pci_mmio_write(&bus, t, 4, addr), PCI_DONE);
    assert_int_equal(pci_mmio_write(&bus, t + 4, 4, 0), PCI_DONE);
    assert_int_equal(pci_mmio_write(&bus, t + 8, 4, data), PCI_DONE);
    assert_int_equal(pci_mmio_write(&bus, t + 12, 4, ctrl), PCI_DONE);
}

static uint64_t pba(void)
{
    uint64_t v = 0;
    assert_int_equal(pci_mmio_read(&bus, table_addr() + 0x800, 8, &v), PCI_DONE);
    return v;
}

static void test_msix(void **s)
{
    (void)s;
    uint64_t v;
    assert_int_equal(pci_assign_bars(&bus, 0xC0000000ull, 0xFEC00000ull), 0);
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
    /* Entries reset masked. */
    for (unsigned n = 0; n < 4; n++) {
        assert_int_equal(pci_mmio_read(&bus, table_addr() + 16 * n + 12, 4, &v), PCI_DONE);
        assert_int_equal(v, 1);
    }
    /* MSI-X wins over MSI when both are on. */
    msi_program(0xFEE00000u, 0x30, 0);
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
    m1_write(SLOT, msix_off + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    assert_true(pci_dev_msix_enabled(&dev));
    /* Signal a masked vector: pending, the PBA shows it. */
    assert_int_equal(pci_dev_signal(&dev, 0), 0);
    assert_int_equal(nmsg, 0);
    assert_int_equal(pba(), 1);
    /* Program and unmask entry 0: the pending message goes out. */
    msix_entry(0, 0xFEE02000u, 0x51, 1);
    assert_int_equal(nmsg, 0);
    assert_int_equal(pci_mmio_write(&bus, table_addr() + 12, 4, 0), PCI_DONE);
    assert_int_equal(nmsg, 1);
    assert_int_equal(msgs[0].addr, 0xFEE02000u);
    assert_int_equal(msgs[0].data, 0x51);
    assert_int_equal(pba(), 0);
    /* Unmasked: straight out. */
    assert_int_equal(pci_dev_signal(&dev, 0), 1);
    assert_int_equal(nmsg, 2);
    /* The function mask holds every vector; clearing it releases them. */
    msix_entry(1, 0xFEE03000u, 0x52, 0);
    m1_write(SLOT, msix_off + 2, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    assert_int_equal(pci_dev_signal(&dev, 1), 0);
    assert_int_equal(pci_dev_signal(&dev, 0), 0);
    assert_int_equal(nmsg, 2);
    assert_int_equal(pba(), 3);
    m1_write(SLOT, msix_off + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(nmsg, 4);
    assert_int_equal(pba(), 0);
    /* A masked entry stays pending while the function mask goes. */
    assert_int_equal(pci_dev_signal(&dev, 2), 0);
    m1_write(SLOT, msix_off + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(nmsg, 4);
    assert_int_equal(pba(), 4);
    /* The PBA is read-only, vector control bits 31:1 reserved, the
     * address dword aligned. */
    assert_int_equal(pci_mmio_write(&bus, table_addr() + 0x800, 8, 0), PCI_DONE);
    assert_int_equal(pba(), 4);
    assert_int_equal(pci_mmio_write(&bus, table_addr() + 16 * 3 + 12, 4, 0xFFFFFFFFu), PCI_DONE);
    assert_int_equal(pci_mmio_read(&bus, table_addr() + 16 * 3 + 12, 4, &v), PCI_DONE);
    assert_int_equal(v, 1);
    assert_int_equal(pci_mmio_write(&bus, table_addr() + 16 * 3, 4, 0xFEE00003u), PCI_DONE);
    assert_int_equal(pci_mmio_read(&bus, table_addr() + 16 * 3, 8, &v), PCI_DONE);
    assert_int_equal(v, 0xFEE00000u);
    /* Out of range vector. */
    assert_int_equal(pci_dev_signal(&dev, 4), -1);
    /* MSI-X off: back to MSI. */
    m1_write(SLOT, msix_off + 2, 2, 0);
    assert_int_equal(pci_dev_signal(&dev, 0), 1);
    assert_int_equal(msgs[nmsg - 1].data, 0x30);
    /* The table is outside the device's BAR ops. */
    assert_int_equal(bar_reads + bar_writes, 0);
    /* Beyond the table and the PBA, BAR 0 is the device's. */
    assert_int_equal(pci_mmio_read(&bus, table_addr() + 0x400, 4, &v), PCI_DONE);
    assert_int_equal(bar_reads, 1);
}

static void test_intx(void **s)
{
    (void)s;
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY);
    pci_dev_set_intx(&dev, 1);
    assert_int_equal(intx_gsi, 19); /* slot 3, INTA# */
    assert_int_equal(intx_level, 1);
    assert_true(m1_read(SLOT, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    /* INTx disable: the line falls, status still says the device wants it. */
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_INTX_DISABLE);
    assert_int_equal(intx_level, 0);
    assert_true(m1_read(SLOT, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    pci_dev_set_intx(&dev, 1);
    assert_int_equal(intx_calls, 2); /* no change, no call */
    m1_write(SLOT, PCI_COMMAND, 2, PCI_CMD_MEMORY);
    assert_int_equal(intx_level, 1);
    assert_int_equal(intx_calls, 3);
    pci_dev_set_intx(&dev, 0);
    assert_int_equal(intx_level, 0);
    assert_false(m1_read(SLOT, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    /* With MSI-X (or MSI) on, INTx is not used. */
    pci_dev_set_intx(&dev, 1);
    assert_int_equal(intx_level, 1);
    m1_write(SLOT, msix_off + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(intx_level, 0);
    m1_write(SLOT, msix_off + 2, 2, 0);
    assert_int_equal(intx_level, 1);
    m1_write(SLOT, msi_off + 2, 2, PCI_MSI_FLAGS_ENABLE);
    assert_int_equal(intx_level, 0);
    m1_write(SLOT, msi_off + 2, 2, 0);
    assert_int_equal(intx_level, 1);
    /* The status interrupt bit is read-only to the guest. */
    m1_write(SLOT, PCI_STATUS, 2, PCI_STATUS_INTERRUPT);
    assert_true(m1_read(SLOT, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    /* A function without an interrupt pin never drives a line. */
    struct pci_dev d;
    pci_dev_init(&d, 1, 2, 0, 0, 0, NULL, NULL);
    assert_int_equal(pci_add_dev(&bus, 5, &d), 0);
    int calls = intx_calls;
    pci_dev_set_intx(&d, 1);
    assert_int_equal(intx_calls, calls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_absent_functions_read_all_ones, setup),
        cmocka_unit_test_setup(test_host_bridge, setup),
        cmocka_unit_test_setup(test_cf8_latch, setup),
        cmocka_unit_test_setup(test_mech1_and_ecam_agree, setup),
        cmocka_unit_test_setup(test_read_only_fields_and_masks, setup),
        cmocka_unit_test_setup(test_status_rw1c, setup),
        cmocka_unit_test_setup(test_bar_sizing, setup),
        cmocka_unit_test_setup(test_assign_bars_aligned, setup),
        cmocka_unit_test_setup(test_swizzle, setup),
        cmocka_unit_test_setup(test_command_gates_decode, setup),
        cmocka_unit_test_setup(test_capability_walk, setup),
        cmocka_unit_test_setup(test_msi, setup),
        cmocka_unit_test_setup(test_msix, setup),
        cmocka_unit_test_setup(test_intx, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
