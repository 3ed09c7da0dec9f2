/* Unit tests: the virtio 1.x PCI transport (drivers/virtio_pci.c) on the
 * PCI bus model, with a fake virtio device (its own ops: a config space of
 * 8 bytes, notifications and resets recorded). Identity and capabilities
 * as Linux's virtio_pci_modern finds them, feature negotiation and its
 * refusals, queue set-up checks, reset, the ISR's read-to-clear and the
 * INTx level, MSI-X routing of queue and configuration interrupts,
 * notifications refused before DRIVER_OK, the PCI configuration access
 * capability. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../drivers/virtio_pci.h"

#define SLOT    2
#define RAM     (1u << 20)
#define F_RO    5
#define F_FLUSH 9

struct msg {
    uint64_t addr;
    uint32_t data;
};

static struct pci_bus bus;
static struct virtio_pci vp;
static struct virtio_dev vd;
static uint8_t ram[RAM];
static uint8_t devcfg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static unsigned resets, notified[VIRTIO_MAX_QUEUES], cfg_writes;
static struct msg msgs[32];
static unsigned nmsg;
static int intx_level = -1, intx_gsi = -1;
static uint64_t bar4, bar1;

static void h_msi(void *ctx, uint64_t addr, uint32_t data)
{
    (void)ctx;
    assert_true(nmsg < 32);
    msgs[nmsg++] = (struct msg){ addr, data };
}

static void h_intx(void *ctx, unsigned gsi, int level)
{
    (void)ctx;
    intx_gsi = (int)gsi;
    intx_level = level;
}

static uint32_t f_config_read(struct virtio_dev *d, uint32_t off, unsigned size)
{
    assert_ptr_equal(d, &vd);
    assert_true(off + size <= sizeof(devcfg));
    uint32_t v = 0;
    memcpy(&v, devcfg + off, size);
    return v;
}

static void f_config_write(struct virtio_dev *d, uint32_t off, unsigned size, uint32_t val)
{
    assert_ptr_equal(d, &vd);
    assert_true(off + size <= sizeof(devcfg));
    memcpy(devcfg + off, &val, size);
    cfg_writes++;
}

static void f_notify(struct virtio_dev *d, unsigned q)
{
    assert_ptr_equal(d, &vd);
    assert_true(q < d->num_queues);
    notified[q]++;
}

static void f_reset(struct virtio_dev *d)
{
    assert_ptr_equal(d, &vd);
    resets++;
}

static const struct virtio_dev_ops fops = { f_config_read, f_config_write, f_notify, f_reset };

static int setup(void **s)
{
    (void)s;
    struct pci_host h = { NULL, h_msi, h_intx };
    memset(ram, 0, sizeof(ram));
    memset(&vd, 0, sizeof(vd));
    vd.device_id = 2;
    vd.features = 1ull << VIRTIO_F_VERSION_1 | 1ull << F_RO | 1ull << F_FLUSH;
    vd.config_size = sizeof(devcfg);
    vd.num_queues = 2;
    vd.queue[0].max_size = 128;
    vd.queue[1].max_size = 64;
    vd.mem = (struct virtio_mem){ ram, RAM };
    vd.ops = &fops;
    pci_bus_init(&bus, &h, 0xB0000000ull, 0xC000, 0x10000);
    assert_int_equal(virtio_pci_init(&vp, &vd), 0);
    assert_int_equal(pci_add_dev(&bus, SLOT, &vp.pci), 0);
    assert_int_equal(pci_assign_bars(&bus, 0xC0000000ull, 0xFEC00000ull), 0);
    pci_cfg_write(&bus, SLOT, 0, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
    bar4 = pci_bar_addr(&vp.pci, 4);
    bar1 = pci_bar_addr(&vp.pci, 1);
    resets = cfg_writes = nmsg = 0;
    memset(notified, 0, sizeof(notified));
    intx_level = intx_gsi = -1;
    return 0;
}

static uint64_t rd(uint64_t off, unsigned size)
{
    uint64_t v = 0xDEAD;
    assert_int_equal(pci_mmio_read(&bus, bar4 + off, size, &v), PCI_DONE);
    return v;
}

static void wr(uint64_t off, unsigned size, uint64_t v)
{
    assert_int_equal(pci_mmio_write(&bus, bar4 + off, size, v), PCI_DONE);
}

static uint8_t status(void) { return (uint8_t)rd(VIRTIO_PCI_COMMON_STATUS, 1); }

/* The driver's side of initialization up to FEATURES_OK (spec 3.1.1). */
static void negotiate(uint64_t features)
{
    wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
    wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    wr(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)features);
    wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    wr(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(features >> 32));
    wr(VIRTIO_PCI_COMMON_STATUS, 1,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

/* Queue q: size, rings at aligned addresses in RAM, vector; enable. */
static void setup_queue(unsigned q, uint16_t size, uint64_t base, uint16_t vector)
{
    wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
    wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
    wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)base);
    wr(VIRTIO_PCI_COMMON_Q_DESCHI, 4, (uint32_t)(base >> 32));
    wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)(base + 0x1000));
    wr(VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
    wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)(base + 0x2000));
    wr(VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
    wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
    wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

static void driver_ok(void)
{
    negotiate(1ull << VIRTIO_F_VERSION_1 | 1ull << F_RO);
    setup_queue(0, 128, 0x10000, 0);
    setup_queue(1, 64, 0x20000, 1);
    wr(VIRTIO_PCI_COMMON_STATUS, 1,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
           VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(status(), 0x0F);
}

static uint32_t cfg(unsigned reg, unsigned size) { return pci_cfg_read(&bus, SLOT, 0, reg, size); }

static void test_identity_and_capabilities(void **s)
{
    (void)s;
    assert_int_equal(cfg(0, 4), 0x10421AF4u);
    assert_int_equal(cfg(PCI_REVISION, 1), 1);
    assert_int_equal(cfg(PCI_CLASS_PROG, 1), 0);
    assert_int_equal(cfg(PCI_CLASS_CODE, 2), 0x0180);
    assert_int_equal(cfg(PCI_SUBSYS_VENDOR, 2), 0x1AF4);
    assert_true(cfg(PCI_SUBSYS_ID, 2) >= 0x40);
    assert_int_equal(cfg(PCI_INTERRUPT_PIN, 1), 1);
    /* BAR 1 32-bit memory 4 KiB, BAR 4 64-bit prefetchable 16 KiB. */
    assert_int_equal(cfg(0x14, 4) & 0xF, 0);
    assert_int_equal(cfg(0x20, 4) & 0xF, 0xC);
    assert_int_equal(bar4 % 0x4000, 0);
    assert_true(bar1 != 0 && bar4 != 0);
    /* Walk the list as the driver does. */
    unsigned seen = 0, msix = 0;
    for (unsigned p = cfg(PCI_CAP_PTR, 1); p; p = cfg(p + 1, 1)) {
        unsigned id = cfg(p, 1);
        if (id == PCI_CAP_MSIX) {
            msix = p;
            continue;
        }
        assert_int_equal(id, PCI_CAP_VENDOR);
        unsigned type = cfg(p + 3, 1), len = cfg(p + 2, 1);
        uint32_t off = cfg(p + 8, 4), length = cfg(p + 12, 4);
        seen |= 1u << type;
        if (type == VIRTIO_PCI_CAP_PCI_CFG) {
            assert_int_equal(len, 20);
            continue;
        }
        assert_int_equal(cfg(p + 4, 1), 4); /* bar */
        switch (type) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            assert_int_equal(off, 0);
            assert_int_equal(length, 0x38);
            break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            assert_int_equal(len, 20);
            assert_int_equal(off, 0x3000);
            assert_int_equal(length, 8);
            assert_int_equal(cfg(p + 16, 4), 4); /* notify_off_multiplier */
            break;
        case VIRTIO_PCI_CAP_ISR_CFG:
            assert_int_equal(off, 0x1000);
            assert_true(length >= 1);
            break;
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            assert_int_equal(off, 0x2000);
            assert_int_equal(length, 8);
            break;
        default: fail();
        }
    }
    assert_int_equal(seen, 0x3E); /* types 1-5 */
    assert_int_not_equal(msix, 0);
    assert_int_equal(cfg(msix + 2, 2) & PCI_MSIX_FLAGS_QSIZE, 2); /* 3 vectors: 2 queues + config */
    assert_int_equal(cfg(msix + 4, 4), 1);                        /* table at 0 of BAR 1 */
    assert_int_equal(cfg(msix + 8, 4), 0x801);                    /* PBA at 0x800 of BAR 1 */
    assert_int_equal(rd(VIRTIO_PCI_COMMON_NUMQ, 2), 2);
    /* Construction refuses what it cannot describe. */
    struct virtio_pci v2;
    struct virtio_dev d2 = vd;
    d2.num_queues = VIRTIO_MAX_QUEUES + 1;
    assert_int_equal(virtio_pci_init(&v2, &d2), -1);
    d2.num_queues = 1;
    d2.queue[0].max_size = 100;
    assert_int_equal(virtio_pci_init(&v2, &d2), -1);
    d2.queue[0].max_size = 64;
    d2.ops = NULL;
    assert_int_equal(virtio_pci_init(&v2, &d2), -1);
}

static void test_feature_negotiation(void **s)
{
    (void)s;
    wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_DF, 4), 1u << F_RO | 1u << F_FLUSH);
    wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_DF, 4), 1); /* VERSION_1 is bit 32 */
    wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_DF, 4), 0);
    /* A subset with VERSION_1: accepted. */
    negotiate(1ull << VIRTIO_F_VERSION_1 | 1ull << F_FLUSH);
    assert_true(status() & VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(vd.driver_features, 1ull << VIRTIO_F_VERSION_1 | 1ull << F_FLUSH);
    assert_int_equal(vd.errors, 0);
    wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_GF, 4), 1u << F_FLUSH);
    /* Features changed after FEATURES_OK: refused. */
    wr(VIRTIO_PCI_COMMON_GF, 4, 0);
    assert_int_equal(vd.errors, 1);
    assert_int_equal(vd.driver_features, 1ull << VIRTIO_F_VERSION_1 | 1ull << F_FLUSH);
    /* A feature not offered: FEATURES_OK stays clear. */
    negotiate(1ull << VIRTIO_F_VERSION_1 | 1ull << 28);
    assert_false(status() & VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(vd.errors, 2);
    assert_non_null(vd.last_error);
    /* No VERSION_1 (a legacy driver): refused. */
    negotiate(1ull << F_RO);
    assert_false(status() & VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(vd.errors, 3);
    /* DRIVER_OK without FEATURES_OK: refused. */
    wr(VIRTIO_PCI_COMMON_STATUS, 1,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
    assert_false(status() & VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(vd.errors, 4);
    /* The driver cannot set DEVICE_NEEDS_RESET, nor write read-only fields. */
    wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x43);
    assert_false(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    wr(VIRTIO_PCI_COMMON_NUMQ, 2, 7);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_NUMQ, 2), 2);
}

static void test_queue_setup_checks(void **s)
{
    (void)s;
    negotiate(1ull << VIRTIO_F_VERSION_1);
    wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 128); /* reset value: the maximum */
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 100); /* not a power of two */
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
    wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 256); /* above the maximum */
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
    wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 0);
    assert_int_equal(vd.errors, 3);
    wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 32);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 32);
    /* A vector the table does not have reads back as none. */
    wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 3);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    wr(VIRTIO_PCI_COMMON_MSIX, 2, 9);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    wr(VIRTIO_PCI_COMMON_MSIX, 2, 2);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_MSIX, 2), 2);
    /* queue 1: notify_off 1; a queue that does not exist: size 0. */
    wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
    wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    unsigned e = (unsigned)vd.errors;
    wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(vd.errors, e + 1);
    /* A misaligned descriptor table: enable refused, DEVICE_NEEDS_RESET. */
    setup_queue(0, 32, 0x10008, 0);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_false(vd.queue[0].enabled);
    assert_true(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(vd.errors, e + 2);
    /* Reset clears it; a misaligned used ring is refused as well. */
    negotiate(1ull << VIRTIO_F_VERSION_1);
    assert_false(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, 0x2002);
    wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_false(vd.queue[0].enabled);
    assert_true(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    /* An odd available ring. */
    negotiate(1ull << VIRTIO_F_VERSION_1);
    wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, 0x1001);
    wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_false(vd.queue[0].enabled);
    /* Rings outside guest RAM (the used ring's end just beyond it). */
    negotiate(1ull << VIRTIO_F_VERSION_1);
    setup_queue(0, 128, RAM - 0x2000 - (6 + 8 * 128) + 4, 0);
    assert_false(vd.queue[0].enabled);
    assert_true(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    negotiate(1ull << VIRTIO_F_VERSION_1);
    setup_queue(0, 128, 0xFFFFFFFF00000000ull, 0);
    assert_false(vd.queue[0].enabled);
    /* Just inside: accepted. */
    negotiate(1ull << VIRTIO_F_VERSION_1);
    setup_queue(0, 128, (RAM - 0x2000 - (6 + 8 * 128)) & ~15ull, 0);
    assert_true(vd.queue[0].enabled);
    assert_false(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(vd.queue[0].desc, (RAM - 0x2000 - (6 + 8 * 128)) & ~15ull);
    /* Enabled: its registers are read-only. */
    e = (unsigned)vd.errors;
    wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 16);
    wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0);
    wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
    wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0); /* disabling is a reset's job */
    assert_int_equal(vd.errors, e + 4);
    assert_int_equal(vd.queue[0].size, 128);
    assert_int_equal(vd.queue[0].msix_vector, 0);
    assert_true(vd.queue[0].enabled);
    /* 64-bit ring addresses read back in halves. */
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4), (uint32_t)vd.queue[0].desc);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_DESCHI, 4), 0);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), vd.queue[0].desc);
}

static void test_reset(void **s)
{
    (void)s;
    driver_ok(); /* which resets first, as a driver does */
    assert_int_equal(resets, 1);
    resets = 0;
    wr(VIRTIO_PCI_COMMON_MSIX, 2, 2);
    vd.interrupt(vd.transport, &vd, 0); /* INTx: MSI-X is off */
    assert_int_equal(intx_level, 1);
    wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(resets, 1);
    assert_int_equal(status(), 0);
    assert_int_equal(vd.driver_features, 0);
    assert_int_equal(vd.isr, 0);
    assert_int_equal(intx_level, 0);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    for (unsigned q = 0; q < 2; q++) {
        assert_false(vd.queue[q].enabled);
        assert_int_equal(vd.queue[q].size, vd.queue[q].max_size);
        assert_int_equal(vd.queue[q].msix_vector, VIRTIO_MSI_NO_VECTOR);
        assert_int_equal(vd.queue[q].desc, 0);
    }
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 0);
}

static void test_isr_read_to_clear_and_intx(void **s)
{
    (void)s;
    driver_ok();
    assert_false(pci_dev_msix_enabled(&vp.pci));
    vd.interrupt(vd.transport, &vd, 1);
    assert_int_equal(intx_level, 1);
    assert_int_equal(intx_gsi, pci_intx_gsi(SLOT, 1));
    assert_true(cfg(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    virtio_dev_interrupt(&vd, VIRTIO_CONFIG_IRQ);
    assert_int_equal(vd.isr, VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
    assert_int_equal(rd(VIRTIO_PCI_ISR, 1), 3);
    assert_int_equal(intx_level, 0);
    assert_false(cfg(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    assert_int_equal(rd(VIRTIO_PCI_ISR, 1), 0);
    /* A write to the ISR is refused and changes nothing. */
    virtio_dev_interrupt(&vd, 0);
    unsigned e = (unsigned)vd.errors;
    wr(VIRTIO_PCI_ISR, 1, 0);
    assert_int_equal(vd.errors, e + 1);
    assert_int_equal(intx_level, 1);
    /* INTx disabled by the driver: the line falls, the ISR still says. */
    pci_cfg_write(&bus, SLOT, 0, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
    assert_int_equal(intx_level, 0);
    assert_int_equal(rd(VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
    assert_int_equal(nmsg, 0);
}

static void msix_entry(unsigned n, uint32_t data, int masked)
{
    uint64_t t = bar1 + 16 * n;
    assert_int_equal(pci_mmio_write(&bus, t, 4, 0xFEE00000u), PCI_DONE);
    assert_int_equal(pci_mmio_write(&bus, t + 4, 4, 0), PCI_DONE);
    assert_int_equal(pci_mmio_write(&bus, t + 8, 4, data), PCI_DONE);
    assert_int_equal(pci_mmio_write(&bus, t + 12, 4, masked), PCI_DONE);
}

static void test_msix_routing(void **s)
{
    (void)s;
    /* Linux: MSI-X on (function masked while it programs), then vectors. */
    unsigned cap = vp.pci.msix_cap;
    pci_cfg_write(&bus, SLOT, 0, cap + 2, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    msix_entry(0, 0x41, 0);
    msix_entry(1, 0x42, 0);
    msix_entry(2, 0x43, 0);
    pci_cfg_write(&bus, SLOT, 0, cap + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    negotiate(1ull << VIRTIO_F_VERSION_1);
    wr(VIRTIO_PCI_COMMON_MSIX, 2, 2);
    setup_queue(0, 128, 0x10000, 1);
    setup_queue(1, 64, 0x20000, 0);
    wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
    virtio_dev_interrupt(&vd, 0);
    virtio_dev_interrupt(&vd, 1);
    virtio_dev_interrupt(&vd, VIRTIO_CONFIG_IRQ);
    assert_int_equal(nmsg, 3);
    assert_int_equal(msgs[0].data, 0x42);
    assert_int_equal(msgs[1].data, 0x41);
    assert_int_equal(msgs[2].data, 0x43);
    /* On the MSI-X path no INTx, and the ISR says only the configuration
     * change (spec 4.1.4.5.1). */
    assert_int_equal(vd.isr, VIRTIO_ISR_CONFIG);
    assert_int_equal(intx_level, -1);
    assert_int_equal(rd(VIRTIO_PCI_ISR, 1), VIRTIO_ISR_CONFIG);
    assert_int_equal(intx_level, -1); /* a line never raised: no call at all */
    assert_int_equal(vp.irq_msix, 3);
    /* A masked vector holds its message until unmasked. */
    pci_mmio_write(&bus, bar1 + 16 * 1 + 12, 4, 1);
    virtio_dev_interrupt(&vd, 0);
    assert_int_equal(nmsg, 3);
    uint64_t pba = 0;
    pci_mmio_read(&bus, bar1 + 0x800, 8, &pba);
    assert_int_equal(pba, 2);
    pci_mmio_write(&bus, bar1 + 16 * 1 + 12, 4, 0);
    assert_int_equal(nmsg, 4);
    assert_int_equal(msgs[3].data, 0x42);
    /* A queue with no vector: nothing at all. */
    virtio_dev_interrupt(&vd, VIRTIO_CONFIG_IRQ); /* still vector 2 */
    wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
    negotiate(1ull << VIRTIO_F_VERSION_1);
    setup_queue(0, 128, 0x10000, VIRTIO_MSI_NO_VECTOR);
    wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
    virtio_dev_interrupt(&vd, 0);
    virtio_dev_interrupt(&vd, VIRTIO_CONFIG_IRQ); /* reset: config vector none */
    assert_int_equal(nmsg, 5);
    assert_int_equal(vd.isr, VIRTIO_ISR_CONFIG);
}

static void test_notify_before_driver_ok_refused(void **s)
{
    (void)s;
    negotiate(1ull << VIRTIO_F_VERSION_1);
    setup_queue(0, 128, 0x10000, 0);
    wr(VIRTIO_PCI_NOTIFY, 2, 0);
    assert_int_equal(notified[0], 0);
    assert_int_equal(vd.errors, 1);
    assert_non_null(vd.last_error);
    wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
    wr(VIRTIO_PCI_NOTIFY, 2, 0);
    assert_int_equal(notified[0], 1);
    assert_int_equal(vp.notifies, 1);
    /* Queue 1 is not enabled; no queue 2; a misaligned notify address. */
    wr(VIRTIO_PCI_NOTIFY + 4, 2, 1);
    wr(VIRTIO_PCI_NOTIFY + 8, 2, 2);
    wr(VIRTIO_PCI_NOTIFY + 2, 2, 0);
    assert_int_equal(notified[1], 0);
    assert_int_equal(vd.errors, 4);
    /* Notify reads 0 and does nothing. */
    assert_int_equal(rd(VIRTIO_PCI_NOTIFY, 2), 0);
    assert_int_equal(notified[0], 1);
    /* A broken device: a configuration interrupt, then notifications dropped. */
    virtio_dev_broken(&vd, "test");
    assert_true(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(vd.isr, VIRTIO_ISR_CONFIG);
    assert_int_equal(intx_level, 1);
    wr(VIRTIO_PCI_NOTIFY, 4, 0);
    assert_int_equal(notified[0], 1);
    assert_int_equal(vd.errors, 6);
}

static void test_device_config_and_widths(void **s)
{
    (void)s;
    assert_int_equal(rd(VIRTIO_PCI_DEVICE, 4), 0x04030201u);
    assert_int_equal(rd(VIRTIO_PCI_DEVICE + 6, 2), 0x0807);
    assert_int_equal(rd(VIRTIO_PCI_DEVICE, 8), 0x0807060504030201ull);
    wr(VIRTIO_PCI_DEVICE + 1, 1, 0xAA);
    assert_int_equal(devcfg[1], 0xAA);
    assert_int_equal(vd.errors, 0);
    /* Beyond config_size: 0, refused, counted. */
    assert_int_equal(rd(VIRTIO_PCI_DEVICE + 6, 4), 0);
    wr(VIRTIO_PCI_DEVICE + 8, 1, 1);
    assert_int_equal(cfg_writes, 1);
    assert_int_equal(vd.errors, 2);
    /* Common configuration at the wrong width: refused, counted. */
    assert_int_equal(rd(VIRTIO_PCI_COMMON_STATUS, 4), 0);
    wr(VIRTIO_PCI_COMMON_Q_SELECT, 4, 0x00010001);
    assert_int_equal(rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
    assert_int_equal(rd(0x39, 1), 0);
    assert_int_equal(vd.errors, 5);
    /* config_generation. */
    vd.config_generation = 0x105;
    assert_int_equal(rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), 5);
}

/* The PCI configuration access capability: BAR 4 through config space. */
static void test_pci_cfg_access_capability(void **s)
{
    (void)s;
    unsigned c = vp.cfg_cap;
    assert_int_not_equal(c, 0);
    pci_cfg_write(&bus, SLOT, 0, c + 4, 1, 4);
    pci_cfg_write(&bus, SLOT, 0, c + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
    pci_cfg_write(&bus, SLOT, 0, c + 12, 4, 2);
    assert_int_equal(cfg(c + 16, 4) & 0xFFFF, 2);
    pci_cfg_write(&bus, SLOT, 0, c + 8, 4, VIRTIO_PCI_COMMON_STATUS);
    pci_cfg_write(&bus, SLOT, 0, c + 12, 4, 1);
    pci_cfg_write(&bus, SLOT, 0, c + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(status(), VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(cfg(c + 16, 1), VIRTIO_STATUS_ACKNOWLEDGE);
    /* A bad length or another BAR: no access. */
    pci_cfg_write(&bus, SLOT, 0, c + 12, 4, 3);
    pci_cfg_write(&bus, SLOT, 0, c + 16, 1, 0);
    assert_int_equal(status(), VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(vd.errors, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_identity_and_capabilities, setup),
        cmocka_unit_test_setup(test_feature_negotiation, setup),
        cmocka_unit_test_setup(test_queue_setup_checks, setup),
        cmocka_unit_test_setup(test_reset, setup),
        cmocka_unit_test_setup(test_isr_read_to_clear_and_intx, setup),
        cmocka_unit_test_setup(test_msix_routing, setup),
        cmocka_unit_test_setup(test_notify_before_driver_ok_refused, setup),
        cmocka_unit_test_setup(test_device_config_and_widths, setup),
        cmocka_unit_test_setup(test_pci_cfg_access_capability, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
