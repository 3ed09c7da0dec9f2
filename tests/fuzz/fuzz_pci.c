/* libFuzzer target: the PCI bus (drivers/pci.c) and the virtio PCI
 * transport (drivers/virtio_pci.c) driven by random guest accesses: port
 * I/O to 0xCF8-0xCFF, ECAM reads and writes (buses 0 and 1), accesses to
 * every BAR of a virtio function and of a plain function with MSI, MSI-X
 * and an I/O BAR (and to random addresses), typed writes to the virtio
 * common configuration, notifications, device interrupts, INTx, BAR
 * placement. ASan catches any access outside the models' buffers; broken
 * invariants trap:
 * - absent functions and other buses read all ones, by both mechanisms;
 * - IDs, class, header type, capability pointer, subsystem never change;
 * - an INTx callback only on a change of the line, within GSIs 16-19;
 * - a message only from a function with bus mastering on;
 * - the device's ops see config accesses within config_size only and
 *   notifications only after DRIVER_OK, of enabled queues;
 * - queue sizes stay powers of two within the maximum; an enabled queue's
 *   rings are aligned and in guest RAM; FEATURES_OK only for a subset of
 *   the offered features with VERSION_1; the PBA has no bit beyond the table. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../arch/x86/bytes.h"
#include "../../drivers/virtio_pci.h"
#include "fuzz_input.h"

#define RAM_SIZE 0x10000

static struct pci_bus bus;
static struct virtio_pci vp;
static struct virtio_dev vd;
static struct pci_dev plain;
static uint8_t ram[RAM_SIZE], devcfg[12];
static int line[24];

static void h_msi(void *ctx, uint64_t addr, uint32_t data)
{
    (void)ctx;
    (void)addr;
    (void)data;
    if (!(get16(vp.pci.cfg, PCI_COMMAND) & PCI_CMD_MASTER) &&
        !(get16(plain.cfg, PCI_COMMAND) & PCI_CMD_MASTER))
        __builtin_trap();
}

static void h_intx(void *ctx, unsigned gsi, int level)
{
    (void)ctx;
    if (gsi < 16 || gsi > 19 || (level != 0 && level != 1) || line[gsi] == level)
        __builtin_trap();
    line[gsi] = level;
}

static uint32_t f_config_read(struct virtio_dev *d, uint32_t off, unsigned size)
{
    uint32_t v = 0;
    if (d != &vd || off + size > sizeof(devcfg) || size > 4)
        __builtin_trap();
    memcpy(&v, devcfg + off, size);
    return v;
}

static void f_config_write(struct virtio_dev *d, uint32_t off, unsigned size, uint32_t val)
{
    if (d != &vd || off + size > sizeof(devcfg) || size > 4)
        __builtin_trap();
    memcpy(devcfg + off, &val, size);
}

static void f_notify(struct virtio_dev *d, unsigned q)
{
    if (d != &vd || q >= d->num_queues || !(d->status & VIRTIO_STATUS_DRIVER_OK) || !d->queue[q].enabled)
        __builtin_trap();
}

static void f_reset(struct virtio_dev *d)
{
    if (d != &vd)
        __builtin_trap();
}

static const struct virtio_dev_ops fops = { f_config_read, f_config_write, f_notify, f_reset };

static uint64_t p_read(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size)
{
    if (d != &plain || bar >= PCI_NUM_BARS || off + size > d->bar[bar].size)
        __builtin_trap();
    return off * 0x0101010101010101ull;
}

static void p_write(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size, uint64_t val)
{
    (void)val;
    if (d != &plain || bar >= PCI_NUM_BARS || off + size > d->bar[bar].size)
        __builtin_trap();
}

static const struct pci_dev_ops pops = { .bar_read = p_read, .bar_write = p_write };

/* The header bytes no guest write may change, per present slot. */
static const unsigned ro_regs[] = { 0x00, 0x04 /* see below */, 0x08, 0x0C, 0x2C, 0x34 };
static uint32_t ro_want[3][6];
static const unsigned present[3] = { 0, 2, 4 };

static uint32_t ro_value(unsigned slot, unsigned i)
{
    uint32_t v = pci_cfg_read(&bus, slot, 0, ro_regs[i], 4);
    if (ro_regs[i] == 0x04)
        return v & 0x00100000u; /* status: the capability list bit */
    if (ro_regs[i] == 0x0C)
        return v & 0x00FF0000u; /* header type */
    if (ro_regs[i] == 0x34)
        return v & 0xFFu;
    return v;
}

/* The common configuration fields: offset and width. */
static const uint8_t fields[][2] = {
    { 0x00, 4 }, { 0x04, 4 }, { 0x08, 4 }, { 0x0C, 4 }, { 0x10, 2 }, { 0x12, 2 }, { 0x14, 1 },
    { 0x15, 1 }, { 0x16, 2 }, { 0x18, 2 }, { 0x1A, 2 }, { 0x1C, 2 }, { 0x1E, 2 }, { 0x20, 4 },
    { 0x24, 4 }, { 0x28, 4 }, { 0x2C, 4 }, { 0x30, 4 }, { 0x34, 4 },
};
static const unsigned sizes[4] = { 1, 2, 4, 8 };

static void setup(void)
{
    struct pci_host h = { NULL, h_msi, h_intx };
    memset(line, 0, sizeof(line));
    memset(ram, 0, sizeof(ram));
    memset(devcfg, 0x5A, sizeof(devcfg));
    pci_bus_init(&bus, &h, 0xB0000000ull, 0xC000, 0x10000);
    memset(&vd, 0, sizeof(vd));
    vd.device_id = 2;
    vd.features = 1ull << VIRTIO_F_VERSION_1 | 1ull << 5 | 1ull << 9;
    vd.config_size = sizeof(devcfg);
    vd.num_queues = 2;
    vd.queue[0].max_size = 16;
    vd.queue[1].max_size = 8;
    vd.mem = (struct virtio_mem){ ram, sizeof(ram) };
    vd.ops = &fops;
    if (virtio_pci_init(&vp, &vd) || pci_add_dev(&bus, 2, &vp.pci))
        __builtin_trap();
    pci_dev_init(&plain, 0x1234, 0x1111, 0x0B4000, 3, 1, &pops, NULL);
    pci_dev_set_subsystem(&plain, 0x1234, 0x0001);
    if (pci_dev_add_bar(&plain, 0, 0x1000, 0) || pci_dev_add_bar(&plain, 2, 0x100, PCI_BAR_MEM64) ||
        pci_dev_add_bar(&plain, 5, 16, PCI_BAR_IO) || !pci_dev_add_msi(&plain, 3) ||
        !pci_dev_add_msix(&plain, 5, 0, 0x400, 2, 0x80) || pci_add_dev(&bus, 4, &plain))
        __builtin_trap();
    for (unsigned s = 0; s < 3; s++)
        for (unsigned i = 0; i < 6; i++)
            ro_want[s][i] = ro_value(present[s], i);
}

static int is_present(unsigned slot) { return slot == 0 || slot == 2 || slot == 4; }

static void check(void)
{
    for (unsigned s = 0; s < 3; s++)
        for (unsigned i = 0; i < 6; i++)
            if (ro_value(present[s], i) != ro_want[s][i])
                __builtin_trap();
    for (unsigned q = 0; q < vd.num_queues; q++) {
        const struct virtq *v = &vd.queue[q];
        if (!v->size || (v->size & (v->size - 1)) || v->size > v->max_size)
            __builtin_trap();
        if (v->enabled && ((v->desc & 15) || (v->avail & 1) || (v->used & 3) || v->desc > RAM_SIZE ||
                           v->avail > RAM_SIZE || v->used > RAM_SIZE || v->desc + 16u * v->size > RAM_SIZE ||
                           v->avail + 6 + 2u * v->size > RAM_SIZE || v->used + 6 + 8u * v->size > RAM_SIZE))
            __builtin_trap();
    }
    if ((vd.status & VIRTIO_STATUS_FEATURES_OK) &&
        ((vd.driver_features & ~vd.features) || !(vd.driver_features >> VIRTIO_F_VERSION_1 & 1)))
        __builtin_trap();
    if ((vd.status & VIRTIO_STATUS_DRIVER_OK) && !(vd.status & VIRTIO_STATUS_FEATURES_OK))
        __builtin_trap();
    /* The ISR and the INTx level go together: a queue bit only with the
     * line (both set by an interrupt without MSI-X), the line only with an
     * ISR bit; an ISR read or a reset clears both. */
    if ((vd.isr & VIRTIO_ISR_QUEUE && !vp.pci.intx_level) || (vp.pci.intx_level && !vd.isr))
        __builtin_trap();
    if ((vp.pci.msix_pending >> vp.pci.msix_n) || (plain.msix_pending >> plain.msix_n))
        __builtin_trap();
    if (plain.intx_out != (plain.intx_level && !(get16(plain.cfg, PCI_COMMAND) & PCI_CMD_INTX_DISABLE) &&
                           !pci_dev_msi_enabled(&plain) && !pci_dev_msix_enabled(&plain)))
        __builtin_trap();
}

static uint64_t bar_gpa(struct fuzz_input *in, struct pci_dev **d)
{
    *d = take8(in) & 1 ? &plain : &vp.pci;
    unsigned n = take8(in) % PCI_NUM_BARS;
    uint64_t size = (*d)->bar[n].size ? (*d)->bar[n].size : 0x1000;
    return pci_bar_addr(*d, n) + (((uint64_t)take8(in) << 8 | take8(in)) % (size + 16));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct pci_dev *d;
    uint32_t v32;
    uint64_t v64, gpa;
    unsigned sz, port;

    setup();
    while (in.n) {
        uint8_t op = take8(&in);
        switch (op % 16) {
        case 0: /* OUT to 0xCF8-0xCFF */
        case 1: /* IN */
            port = 0xCF8 + take8(&in) % 8;
            sz = sizes[take8(&in) % 3];
            v32 = take32(&in);
            if (op % 16 == 0) {
                pci_io(&bus, (uint16_t)port, 0, sz, &v32);
                break;
            }
            if (pci_io(&bus, (uint16_t)port, 1, sz, &v32) == PCI_DONE && port >= 0xCFC) {
                uint32_t a = bus.cf8, ones = sz == 4 ? ~0u : (1u << (8 * sz)) - 1;
                int absent = !(a & 0x80000000u) || (a >> 16 & 0xFF) || (a >> 8 & 7) ||
                             !is_present(a >> 11 & 31) || (port - 0xCFC) + sz > 4;
                if (absent && v32 != ones)
                    __builtin_trap();
                if (v32 > ones)
                    __builtin_trap();
            }
            break;
        case 2: /* CONFIG_ADDRESS for a chosen function */
            v32 = 0x80000000u | (take8(&in) % 32u) << 11 | (take8(&in) & 0xFCu) | (take8(&in) & 1u) << 8;
            pci_io(&bus, 0xCF8, 0, 4, &v32);
            break;
        case 3: /* ECAM read: bus 0 or 1 */
            v64 = take32(&in) % 0x200000u;
            sz = sizes[take8(&in) % 4];
            gpa = pci_ecam_read(&bus, v64, sz);
            if ((v64 & 0xFFF) + sz > 0x1000)
                break; /* runs into the next function */
            if ((v64 >> 20 || !is_present(v64 >> 15 & 31) || (v64 >> 12 & 7)) &&
                gpa != (sz == 8 ? ~0ull : (1ull << (8 * sz)) - 1))
                __builtin_trap();
            if (!(v64 >> 20) && is_present(v64 >> 15 & 31) && !(v64 >> 12 & 7) && (v64 & 0xFFF) >= 0x100 &&
                gpa)
                __builtin_trap(); /* the extended space of a present function reads 0 */
            break;
        case 4: /* ECAM write */
            v64 = take32(&in) % 0x200000u;
            sz = sizes[take8(&in) % 4];
            pci_mmio_write(&bus, 0xB0000000ull + v64, sz, take64(&in));
            break;
        case 5: /* a BAR read */
            gpa = bar_gpa(&in, &d);
            pci_mmio_read(&bus, gpa, sizes[take8(&in) % 4], &v64);
            v32 = 0;
            pci_io(&bus, (uint16_t)gpa, 1, sizes[take8(&in) % 3], &v32);
            break;
        case 6: /* a BAR write */
            gpa = bar_gpa(&in, &d);
            sz = sizes[take8(&in) % 4];
            v64 = take64(&in);
            pci_mmio_write(&bus, gpa, sz, v64);
            v32 = (uint32_t)v64;
            pci_io(&bus, (uint16_t)gpa, 0, sz == 8 ? 4 : sz, &v32);
            break;
        case 7: { /* a typed common configuration write */
            const uint8_t *f = fields[take8(&in) % (sizeof(fields) / sizeof(fields[0]))];
            uint32_t val = take8(&in) & 1 ? take32(&in) : take8(&in);
            pci_mmio_write(&bus, pci_bar_addr(&vp.pci, VIRTIO_PCI_BAR) + f[0], f[1], val);
            break;
        }
        case 8: /* a notification */
            pci_mmio_write(&bus,
                           pci_bar_addr(&vp.pci, VIRTIO_PCI_BAR) + VIRTIO_PCI_NOTIFY + 4 * (take8(&in) % 4),
                           take8(&in) & 1 ? 2 : 4, take8(&in));
            break;
        case 9: pci_dev_signal(take8(&in) & 1 ? &plain : &vp.pci, take8(&in) % 40); break;
        case 10: pci_dev_set_intx(&plain, take8(&in) & 1); break;
        case 11: virtio_dev_interrupt(&vd, (int)(take8(&in) % 4) - 1); break;
        case 12:
            if (take8(&in) == 0x42)
                virtio_dev_broken(&vd, "fuzz");
            break;
        case 13: {
            static const uint64_t bases[4] = { 0xC0000000ull, 0xC0000800ull, 0xFEBFF000ull, 0x1000 };
            unsigned b = take8(&in) % 4;
            pci_assign_bars(&bus, bases[b], b == 3 ? 0x3000 : 0xFEC00000ull);
            break;
        }
        case 14: /* anywhere */
            gpa = take64(&in);
            sz = sizes[take8(&in) % 4];
            if (op & 0x80)
                pci_mmio_write(&bus, gpa, sz, take64(&in));
            else
                pci_mmio_read(&bus, gpa, sz, &v64);
            break;
        default: /* the ISR, read to clear */
            pci_mmio_read(&bus, pci_bar_addr(&vp.pci, VIRTIO_PCI_BAR) + VIRTIO_PCI_ISR, 1, &v64);
            break;
        }
        check();
    }
    return 0;
}
