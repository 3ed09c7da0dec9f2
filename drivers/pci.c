/* PCI bus 0 (pci.h). Configuration space is a byte array per function with
 * a write mask and a write-1-to-clear mask beside it, so every access width
 * at every offset is handled the same way, byte by byte; the side effects
 * (INTx re-evaluated, pending messages delivered on unmask) follow from
 * comparing the registers before and after. */
#include "pci.h"

#include <stddef.h>
#include <string.h>

#include "../arch/x86/bytes.h"

#define CMD_WMASK                                                                             \
    (PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER | 0x0040 /* parity */ | 0x0100 /* SERR */ | \
     PCI_CMD_INTX_DISABLE)

static uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t rev,
                  uint8_t int_pin, const struct pci_dev_ops *ops, void *ctx)
{
    memset(d, 0, sizeof(*d));
    put16(d->cfg, PCI_VENDOR_ID, vendor);
    put16(d->cfg, PCI_DEVICE_ID, device);
    d->cfg[PCI_REVISION] = rev;
    d->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
    put16(d->cfg, PCI_CLASS_CODE, (uint16_t)(class_code >> 8));
    d->cfg[PCI_HEADER_TYPE] = 0;
    d->cfg[PCI_INTERRUPT_PIN] = int_pin <= 4 ? int_pin : 0;
    put16(d->wmask, PCI_COMMAND, CMD_WMASK);
    put16(d->w1c, PCI_STATUS, PCI_STATUS_W1C);
    d->wmask[PCI_CACHE_LINE] = 0xFF;
    d->wmask[PCI_INTERRUPT_LINE] = 0xFF;
    d->cap_free = 0x40;
    d->ops = ops;
    d->ctx = ctx;
}

void pci_dev_set_subsystem(struct pci_dev *d, uint16_t vendor, uint16_t id)
{
    put16(d->cfg, PCI_SUBSYS_VENDOR, vendor);
    put16(d->cfg, PCI_SUBSYS_ID, id);
}

static int pow2(uint64_t v) { return v && !(v & (v - 1)); }

int pci_dev_add_bar(struct pci_dev *d, unsigned n, uint64_t size, uint8_t flags)
{
    int is64 = !(flags & PCI_BAR_IO) && (flags & PCI_BAR_MEM64);

    if (n >= PCI_NUM_BARS || !pow2(size) || d->bar[n].size || d->bar[n].upper)
        return -1;
    if (is64 && (n + 1 >= PCI_NUM_BARS || d->bar[n + 1].size || d->bar[n + 1].upper))
        return -1;
    if (flags & PCI_BAR_IO ? size < 4 || size > 256 || flags != PCI_BAR_IO
                           : size < 16 || (!is64 && size > 0x80000000ull))
        return -1;
    unsigned reg = PCI_BAR0 + 4 * n;
    uint64_t mask = ~(size - 1);
    d->bar[n] = (struct pci_bar){ size, flags, 0 };
    put32(d->cfg, reg, flags);
    if (flags & PCI_BAR_IO) {
        put32(d->wmask, reg, (uint32_t)mask & 0xFFFC);
        return 0;
    }
    put32(d->wmask, reg, (uint32_t)mask & ~0xFu);
    if (is64) {
        d->bar[n + 1].upper = 1;
        put32(d->wmask, reg + 4, (uint32_t)(mask >> 32));
    }
    return 0;
}

uint64_t pci_bar_addr(const struct pci_dev *d, unsigned n)
{
    if (n >= PCI_NUM_BARS || !d->bar[n].size)
        return 0;
    uint32_t lo = get32(d->cfg, PCI_BAR0 + 4 * n);
    if (d->bar[n].flags & PCI_BAR_IO)
        return lo & ~3u;
    uint64_t a = lo & ~0xFu;
    if (d->bar[n].flags & PCI_BAR_MEM64)
        a |= (uint64_t)get32(d->cfg, PCI_BAR0 + 4 * n + 4) << 32;
    return a;
}

unsigned pci_dev_add_cap(struct pci_dev *d, uint8_t id, unsigned len)
{
    unsigned off = (d->cap_free + 3u) & ~3u;

    if (len < 2 || off + len > 256)
        return 0;
    d->cfg[off] = id;
    d->cfg[off + 1] = 0;
    if (d->cap_last)
        d->cfg[d->cap_last + 1] = (uint8_t)off;
    else
        d->cfg[PCI_CAP_PTR] = (uint8_t)off;
    put16(d->cfg, PCI_STATUS, get16(d->cfg, PCI_STATUS) | PCI_STATUS_CAP_LIST);
    d->cap_last = (uint8_t)off;
    d->cap_free = (uint8_t)(off + len < 256 ? off + len : 255);
    return off;
}

unsigned pci_dev_add_msi(struct pci_dev *d, unsigned log2_vectors)
{
    if (log2_vectors > 5 || d->msi_cap)
        return 0;
    unsigned off = pci_dev_add_cap(d, PCI_CAP_MSI, PCI_MSI_CAP_LEN);
    if (!off)
        return 0;
    put16(d->cfg, off + PCI_MSI_FLAGS,
          (uint16_t)(PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (log2_vectors << 1)));
    put16(d->wmask, off + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    put32(d->wmask, off + PCI_MSI_ADDR_LO, ~3u);
    put32(d->wmask, off + PCI_MSI_ADDR_HI, ~0u);
    put16(d->wmask, off + PCI_MSI_DATA, 0xFFFF);
    put32(d->wmask, off + PCI_MSI_MASK, (uint32_t)((1ull << (1u << log2_vectors)) - 1));
    d->msi_cap = (uint8_t)off;
    return off;
}

/* Does [off, off + len) fit in BAR n? */
static int in_bar(const struct pci_dev *d, unsigned n, uint32_t off, uint32_t len)
{
    return n < PCI_NUM_BARS && d->bar[n].size && !(d->bar[n].flags & PCI_BAR_IO) && off < d->bar[n].size &&
           len <= d->bar[n].size - off;
}

unsigned pci_dev_add_msix(struct pci_dev *d, unsigned n, unsigned table_bar, uint32_t table_off,
                          unsigned pba_bar, uint32_t pba_off)
{
    if (!n || n > PCI_MSIX_MAX || d->msix_cap || (table_off & 7) || (pba_off & 7) ||
        !in_bar(d, table_bar, table_off, n * PCI_MSIX_ENTRY_SIZE) || !in_bar(d, pba_bar, pba_off, 8))
        return 0;
    if (table_bar == pba_bar && pba_off < table_off + n * PCI_MSIX_ENTRY_SIZE && table_off < pba_off + 8)
        return 0;
    unsigned off = pci_dev_add_cap(d, PCI_CAP_MSIX, PCI_MSIX_CAP_LEN);
    if (!off)
        return 0;
    put16(d->cfg, off + PCI_MSIX_FLAGS, (uint16_t)(n - 1));
    put16(d->wmask, off + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    put32(d->cfg, off + PCI_MSIX_TABLE, table_off | table_bar);
    put32(d->cfg, off + PCI_MSIX_PBA, pba_off | pba_bar);
    d->msix_cap = (uint8_t)off;
    d->msix_n = (uint16_t)n;
    d->msix_bar = (uint8_t)table_bar;
    d->msix_table_off = table_off;
    d->msix_pba_bar = (uint8_t)pba_bar;
    d->msix_pba_off = pba_off;
    for (unsigned i = 0; i < n; i++)
        d->msix_table[i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_CTRL] = PCI_MSIX_ENTRY_MASKED;
    return off;
}

void pci_bus_init(struct pci_bus *bus, const struct pci_host *host, uint64_t ecam_base, uint32_t io_base,
                  uint32_t io_end)
{
    memset(bus, 0, sizeof(*bus));
    if (host)
        bus->host = *host;
    bus->ecam_base = ecam_base;
    bus->io_base = io_base;
    bus->io_end = io_end;
    /* QEMU q35's host bridge (the MCH): 8086:29C0, class 0600. */
    pci_dev_init(&bus->bridge, 0x8086, 0x29C0, 0x060000, 0, 0, NULL, NULL);
    pci_dev_set_subsystem(&bus->bridge, 0x1AF4, 0x1100);
    bus->bridge.bus = bus;
    bus->slot[0] = &bus->bridge;
}

int pci_add_dev(struct pci_bus *bus, unsigned slot, struct pci_dev *d)
{
    if (!slot || slot >= PCI_SLOTS || bus->slot[slot] || !d)
        return -1;
    d->bus = bus;
    d->slot = (uint8_t)slot;
    bus->slot[slot] = d;
    return 0;
}

struct pci_dev *pci_find(struct pci_bus *bus, unsigned slot, unsigned fn)
{
    return slot < PCI_SLOTS && fn == 0 ? bus->slot[slot] : NULL;
}

unsigned pci_intx_gsi(unsigned slot, unsigned pin)
{
    return PCI_INTX_GSI_BASE + (slot + (pin ? pin : 1) - 1) % 4;
}

int pci_dev_msix_enabled(const struct pci_dev *d)
{
    return d->msix_cap && (get16(d->cfg, d->msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE);
}

int pci_dev_msi_enabled(const struct pci_dev *d)
{
    return d->msi_cap && (get16(d->cfg, d->msi_cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE);
}

/* ---- interrupts ---- */

static void update_intx(struct pci_dev *d)
{
    uint16_t cmd = get16(d->cfg, PCI_COMMAND), st = get16(d->cfg, PCI_STATUS);
    int out = d->intx_level && !(cmd & PCI_CMD_INTX_DISABLE) && !pci_dev_msi_enabled(d) &&
              !pci_dev_msix_enabled(d) && d->cfg[PCI_INTERRUPT_PIN];

    st = (uint16_t)(d->intx_level ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT);
    put16(d->cfg, PCI_STATUS, st);
    if (out == d->intx_out)
        return;
    d->intx_out = (uint8_t)out;
    if (d->bus && d->bus->host.intx)
        d->bus->host.intx(d->bus->host.ctx, pci_intx_gsi(d->slot, d->cfg[PCI_INTERRUPT_PIN]), out);
}

void pci_dev_set_intx(struct pci_dev *d, int level)
{
    d->intx_level = level != 0;
    update_intx(d);
}

static int send(struct pci_dev *d, uint64_t addr, uint32_t data)
{
    if (!(get16(d->cfg, PCI_COMMAND) & PCI_CMD_MASTER)) {
        d->msi_dropped++;
        return -1;
    }
    d->msi_sent++;
    if (d->bus && d->bus->host.msi)
        d->bus->host.msi(d->bus->host.ctx, addr, data);
    return 1;
}

static int msix_masked(const struct pci_dev *d, unsigned n)
{
    return (get16(d->cfg, d->msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_MASKALL) ||
           (d->msix_table[n * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_CTRL] & PCI_MSIX_ENTRY_MASKED);
}

static int msix_send(struct pci_dev *d, unsigned n)
{
    const uint8_t *e = d->msix_table + n * PCI_MSIX_ENTRY_SIZE;
    return send(d, get64(e, 0), get32(e, 8));
}

/* MSI: the vectors enabled (multiple message enable, at most what the
 * function is capable of) and vector n's message. */
static unsigned msi_count(const struct pci_dev *d)
{
    uint16_t f = get16(d->cfg, d->msi_cap + PCI_MSI_FLAGS);
    unsigned cap = (f & PCI_MSI_FLAGS_QMASK) >> 1, en = (f & PCI_MSI_FLAGS_QSIZE) >> 4;
    return 1u << (en < cap ? en : cap);
}

static int msi_send(struct pci_dev *d, unsigned v)
{
    const uint8_t *c = d->cfg + d->msi_cap;
    uint32_t data = get16(c, PCI_MSI_DATA);
    data = (data & ~(msi_count(d) - 1)) | v;
    return send(d, get32(c, PCI_MSI_ADDR_LO) | (uint64_t)get32(c, PCI_MSI_ADDR_HI) << 32, data);
}

int pci_dev_signal(struct pci_dev *d, unsigned n)
{
    if (pci_dev_msix_enabled(d)) {
        if (n >= d->msix_n)
            return -1;
        if (msix_masked(d, n)) {
            d->msix_pending |= 1u << n;
            d->msi_masked++;
            return 0;
        }
        return msix_send(d, n);
    }
    if (pci_dev_msi_enabled(d)) {
        if (n >= 32)
            return -1;
        unsigned count = msi_count(d), v = n < count ? n : count - 1;
        uint8_t *c = d->cfg + d->msi_cap;
        if (get32(c, PCI_MSI_MASK) & (1u << v)) {
            put32(c, PCI_MSI_PENDING, get32(c, PCI_MSI_PENDING) | 1u << v);
            d->msi_masked++;
            return 0;
        }
        return msi_send(d, v);
    }
    return -1;
}

/* After a change that may unmask: send what is pending and now unmasked. */
static void deliver_pending(struct pci_dev *d)
{
    if (pci_dev_msix_enabled(d)) {
        for (unsigned n = 0; n < d->msix_n; n++)
            if ((d->msix_pending & (1u << n)) && !msix_masked(d, n)) {
                d->msix_pending &= ~(1u << n);
                msix_send(d, n);
            }
    }
    if (pci_dev_msi_enabled(d)) {
        uint8_t *c = d->cfg + d->msi_cap;
        uint32_t ready = get32(c, PCI_MSI_PENDING) & ~get32(c, PCI_MSI_MASK);
        put32(c, PCI_MSI_PENDING, get32(c, PCI_MSI_PENDING) & ~ready);
        for (unsigned v = 0; v < 32; v++)
            if (ready & (1u << v))
                msi_send(d, v);
    }
}

/* ---- configuration space ---- */

uint32_t pci_cfg_read(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size)
{
    struct pci_dev *d = pci_find(bus, slot, fn);
    uint32_t v = 0;

    if (size != 1 && size != 2 && size != 4)
        size = 4;
    if (!d || reg >= 4096 || reg + size > 4096)
        return (uint32_t)size_mask(size);
    for (unsigned i = 0; i < size; i++)
        if (reg + i < 256)
            v |= (uint32_t)d->cfg[reg + i] << (8 * i);
    if (d->ops && d->ops->cfg_read)
        d->ops->cfg_read(d, reg, size, &v);
    return v;
}

void pci_cfg_write(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size, uint32_t val)
{
    struct pci_dev *d = pci_find(bus, slot, fn);

    if (!d || (size != 1 && size != 2 && size != 4) || reg + size > 256)
        return; /* absent, or the extended space: nothing there to write */
    uint16_t cmd = get16(d->cfg, PCI_COMMAND);
    int msi = pci_dev_msi_enabled(d), msix = pci_dev_msix_enabled(d);
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(val >> (8 * i)), *p = &d->cfg[reg + i];
        *p = (uint8_t)((*p & ~d->wmask[reg + i]) | (b & d->wmask[reg + i]));
        *p = (uint8_t)(*p & ~(b & d->w1c[reg + i]));
    }
    if (((cmd ^ get16(d->cfg, PCI_COMMAND)) & PCI_CMD_INTX_DISABLE) || msi != pci_dev_msi_enabled(d) ||
        msix != pci_dev_msix_enabled(d))
        update_intx(d);
    /* A write that cleared a mask, enabled MSI/MSI-X or bus mastering may
     * release pending messages. */
    if ((d->msi_cap && reg < d->msi_cap + PCI_MSI_CAP_LEN + 0u && reg + size > d->msi_cap) ||
        (d->msix_cap && reg < d->msix_cap + PCI_MSIX_CAP_LEN + 0u && reg + size > d->msix_cap) ||
        (reg < PCI_COMMAND + 2 && reg + size > PCI_COMMAND))
        deliver_pending(d);
    if (d->ops && d->ops->cfg_write)
        d->ops->cfg_write(d, reg, size, val);
}

/* ---- mechanism #1 and ECAM ---- */

#define CF8_ENABLE 0x80000000u

/* The function and BAR (in I/O space if io, else in memory space) that
 * decode addr while the function's command register enables that space. */
static struct pci_dev *find_bar(const struct pci_bus *bus, uint64_t addr, int io, unsigned *bar,
                                uint64_t *off)
{
    for (unsigned s = 1; s < PCI_SLOTS; s++) {
        struct pci_dev *d = bus->slot[s];
        if (!d || !(get16(d->cfg, PCI_COMMAND) & (io ? PCI_CMD_IO : PCI_CMD_MEMORY)))
            continue;
        for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
            uint64_t a = pci_bar_addr(d, n);
            if (!d->bar[n].size || !(d->bar[n].flags & PCI_BAR_IO) != !io || !a || addr < a ||
                addr - a >= d->bar[n].size)
                continue;
            *bar = n;
            *off = addr - a;
            return d;
        }
    }
    return NULL;
}

/* An I/O BAR access. */
static int io_bar(struct pci_bus *bus, uint16_t port, int in, unsigned size, uint32_t *val)
{
    unsigned n;
    uint64_t off;
    struct pci_dev *d = find_bar(bus, port, 1, &n, &off);

    if (!d)
        return PCI_NOT_MINE;
    if (in)
        *val = (uint32_t)size_mask(size);
    if (off + size > d->bar[n].size || !d->ops)
        return PCI_DONE; /* runs past the BAR's end: all ones, dropped */
    if (in && d->ops->bar_read)
        *val = (uint32_t)(d->ops->bar_read(d, n, off, size) & size_mask(size));
    else if (!in && d->ops->bar_write)
        d->ops->bar_write(d, n, off, size, *val & size_mask(size));
    return PCI_DONE;
}

int pci_io(struct pci_bus *bus, uint16_t port, int in, unsigned size, uint32_t *val)
{
    if (size != 1 && size != 2 && size != 4)
        return PCI_NOT_MINE;
    if (port == PCI_IO_CONFIG_ADDR && size == 4) {
        if (in)
            *val = bus->cf8;
        else
            bus->cf8 = *val & (CF8_ENABLE | 0x00FFFFFCu);
        return PCI_DONE;
    }
    if (port >= PCI_IO_CONFIG_DATA && port < PCI_IO_CONFIG_DATA + 4) {
        unsigned byte = port - PCI_IO_CONFIG_DATA, busno = (bus->cf8 >> 16) & 0xFF;
        unsigned slot = (bus->cf8 >> 11) & 31, fn = (bus->cf8 >> 8) & 7, reg = (bus->cf8 & 0xFC) + byte;
        int valid = (bus->cf8 & CF8_ENABLE) && busno == 0 && byte + size <= 4;
        if (in)
            *val = valid ? pci_cfg_read(bus, slot, fn, reg, size) : (uint32_t)size_mask(size);
        else if (valid)
            pci_cfg_write(bus, slot, fn, reg, size, *val & (uint32_t)size_mask(size));
        return PCI_DONE;
    }
    if (port >= PCI_IO_CONFIG_ADDR && port < PCI_IO_CONFIG_DATA)
        return PCI_NOT_MINE; /* bytes at 0xCF8-0xCFB: 0xCF9 is the reset register */
    return io_bar(bus, port, in, size, val);
}

uint64_t pci_ecam_read(struct pci_bus *bus, uint64_t off, unsigned size)
{
    if (size == 8)
        return pci_ecam_read(bus, off, 4) | (uint64_t)pci_ecam_read(bus, off + 4, 4) << 32;
    if ((size != 1 && size != 2 && size != 4) || off >= PCI_ECAM_SIZE || (off & 0xFFF) + size > 4096)
        return size_mask(size);
    return pci_cfg_read(bus, (unsigned)(off >> 15) & 31, (unsigned)(off >> 12) & 7, (unsigned)(off & 0xFFF),
                        size);
}

void pci_ecam_write(struct pci_bus *bus, uint64_t off, unsigned size, uint64_t val)
{
    if (size == 8) {
        pci_ecam_write(bus, off, 4, (uint32_t)val);
        pci_ecam_write(bus, off + 4, 4, val >> 32);
        return;
    }
    if ((size != 1 && size != 2 && size != 4) || off >= PCI_ECAM_SIZE || (off & 0xFFF) + size > 4096)
        return;
    pci_cfg_write(bus, (unsigned)(off >> 15) & 31, (unsigned)(off >> 12) & 7, (unsigned)(off & 0xFFF), size,
                  (uint32_t)(val & size_mask(size)));
}

/* ---- memory BARs ---- */

/* An access at off of BAR n that touches the MSI-X table or PBA: done
 * here (1), or not (0). */
static int msix_access(struct pci_dev *d, unsigned n, uint64_t off, unsigned size, int write, uint64_t *val)
{
    uint64_t tlen = (uint64_t)d->msix_n * PCI_MSIX_ENTRY_SIZE;

    if (!d->msix_cap)
        return 0;
    if (n == d->msix_bar && off < d->msix_table_off + tlen && off + size > d->msix_table_off) {
        uint64_t t = off - d->msix_table_off;
        if (off < d->msix_table_off || t + size > tlen || (t & (size - 1))) {
            if (!write)
                *val = size_mask(size); /* straddles the table: nothing sane to do */
            return 1;
        }
        if (!write) {
            uint64_t v = 0;
            memcpy(&v, d->msix_table + t, size);
            *val = v;
            return 1;
        }
        for (unsigned i = 0; i < size; i++) {
            unsigned at = (unsigned)t + i, field = at % PCI_MSIX_ENTRY_SIZE;
            uint8_t b = (uint8_t)(*val >> (8 * i));
            if (field == 0)
                b &= 0xFC; /* the address is dword aligned */
            else if (field == PCI_MSIX_ENTRY_CTRL)
                b &= PCI_MSIX_ENTRY_MASKED; /* the rest of vector control is reserved */
            else if (field > PCI_MSIX_ENTRY_CTRL)
                b = 0;
            d->msix_table[at] = b;
        }
        deliver_pending(d);
        return 1;
    }
    if (n == d->msix_pba_bar && off < d->msix_pba_off + 8 && off + size > d->msix_pba_off) {
        if (!write)
            *val = off >= d->msix_pba_off && off + size <= d->msix_pba_off + 8
                       ? ((uint64_t)d->msix_pending >> (8 * (off - d->msix_pba_off))) & size_mask(size)
                       : size_mask(size);
        return 1; /* the PBA is read-only */
    }
    return 0;
}

static int mmio(struct pci_bus *bus, uint64_t gpa, unsigned size, int write, uint64_t *val)
{
    unsigned n;
    uint64_t off;
    struct pci_dev *d;

    if (size != 1 && size != 2 && size != 4 && size != 8)
        return PCI_NOT_MINE;
    if (gpa >= bus->ecam_base && gpa - bus->ecam_base < PCI_ECAM_SIZE) {
        if (write)
            pci_ecam_write(bus, gpa - bus->ecam_base, size, *val);
        else
            *val = pci_ecam_read(bus, gpa - bus->ecam_base, size);
        return PCI_DONE;
    }
    d = find_bar(bus, gpa, 0, &n, &off);
    if (!d)
        return PCI_NOT_MINE;
    if (off + size > d->bar[n].size) {
        if (!write)
            *val = size_mask(size); /* runs past the BAR's end */
        return PCI_DONE;
    }
    if (msix_access(d, n, off, size, write, val))
        return PCI_DONE;
    if (write) {
        if (d->ops && d->ops->bar_write)
            d->ops->bar_write(d, n, off, size, *val & size_mask(size));
    } else {
        *val = d->ops && d->ops->bar_read ? d->ops->bar_read(d, n, off, size) & size_mask(size)
                                          : size_mask(size);
    }
    return PCI_DONE;
}

int pci_mmio_claims(const struct pci_bus *bus, uint64_t gpa)
{
    unsigned n;
    uint64_t off;
    return (gpa >= bus->ecam_base && gpa - bus->ecam_base < PCI_ECAM_SIZE) || find_bar(bus, gpa, 0, &n, &off);
}

int pci_mmio_read(struct pci_bus *bus, uint64_t gpa, unsigned size, uint64_t *val)
{
    return mmio(bus, gpa, size, 0, val);
}

int pci_mmio_write(struct pci_bus *bus, uint64_t gpa, unsigned size, uint64_t val)
{
    return mmio(bus, gpa, size, 1, &val);
}

/* ---- placement ---- */

static void set_bar(struct pci_dev *d, unsigned n, uint64_t addr)
{
    unsigned reg = PCI_BAR0 + 4 * n;
    put32(d->cfg, reg, (uint32_t)addr | d->bar[n].flags);
    if (d->bar[n].flags & PCI_BAR_MEM64 && !(d->bar[n].flags & PCI_BAR_IO))
        put32(d->cfg, reg + 4, (uint32_t)(addr >> 32));
}

/* Places the BARs of one kind (io or memory) in [base, end), largest first,
 * each aligned to its size. */
static int place(struct pci_bus *bus, int io, uint64_t base, uint64_t end)
{
    uint8_t done[PCI_SLOTS][PCI_NUM_BARS];
    uint64_t at = base;
    int rc = 0;

    memset(done, 0, sizeof(done));
    for (;;) {
        struct pci_dev *best = NULL;
        unsigned bs = 0, bn = 0;
        for (unsigned s = 1; s < PCI_SLOTS; s++)
            for (unsigned n = 0; bus->slot[s] && n < PCI_NUM_BARS; n++) {
                const struct pci_bar *b = &bus->slot[s]->bar[n];
                if (b->size && !done[s][n] && !(b->flags & PCI_BAR_IO) == !io &&
                    (!best || b->size > best->bar[bn].size)) {
                    best = bus->slot[s];
                    bs = s;
                    bn = n;
                }
            }
        if (!best)
            return rc;
        done[bs][bn] = 1;
        uint64_t size = best->bar[bn].size, a = (at + size - 1) & ~(size - 1);
        if (a < at || a > end || size > end - a) {
            set_bar(best, bn, 0); /* not decoded */
            rc = -1;
            continue;
        }
        set_bar(best, bn, a);
        put16(best->cfg, PCI_COMMAND, get16(best->cfg, PCI_COMMAND) | (io ? PCI_CMD_IO : PCI_CMD_MEMORY));
        at = a + size;
    }
}

int pci_assign_bars(struct pci_bus *bus, uint64_t mmio_base, uint64_t mmio_end)
{
    bus->mmio_base = mmio_base;
    bus->mmio_end = mmio_end;
    int rc = place(bus, 0, mmio_base, mmio_end);
    if (place(bus, 1, bus->io_base, bus->io_end))
        rc = -1;
    for (unsigned s = 1; s < PCI_SLOTS; s++) {
        struct pci_dev *d = bus->slot[s];
        if (d && d->cfg[PCI_INTERRUPT_PIN])
            d->cfg[PCI_INTERRUPT_LINE] = (uint8_t)pci_intx_gsi(s, d->cfg[PCI_INTERRUPT_PIN]);
    }
    return rc;
}
