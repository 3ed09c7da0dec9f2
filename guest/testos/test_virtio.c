/* Groups "virtio" and "vbench": a minimal virtio-blk driver for the disk
 * the hypervisor offers with `disk = <file>` (issue 13), written from the
 * virtio 1.2 specification (4.1 PCI transport, 2.7 split virtqueues, 5.2
 * block device) as a guest sees it: the device found through PCI
 * configuration mechanism #1, its capabilities walked, the standard
 * initialisation, one queue of QN entries whose interrupt is MSI-X table
 * entry 0 (or INTA# through the IOAPIC), and synchronous requests.
 *
 * The harness builds the image: sector s holds 128 little-endian words,
 * word i = PATTERN(s, i); the command line says how many sectors there are
 * ("sectors=N") and whether the disk is writable ("disk_rw=1").
 *
 * "vbench" (phase 5 of `make bench`): N sequential 4 KiB reads, each
 * notified and waited for by its MSI-X interrupt (spinning with IF=1), the
 * hypervisor's exit statistics around them; before them, the guest copying
 * the same bytes inside its own RAM (rep movsd), the ceiling. A machine
 * without the hypervisor has no disk: group "vbench_copy" is the copy
 * alone. */
#include "testos.h"

#define PATTERN(s, i) (0x5A000000u + (uint32_t)(s)*128u + (uint32_t)(i))

#define VIRTIO_VENDOR 0x1AF4
#define VIRTIO_BLK_ID 0x1042
#define VEC_MSIX      0x61
#define VEC_INTX      0x62
#define INTX_GSI      17 /* slot 1, INTA#: 16 + ((1 + 1 - 1) % 4) */
#define QN            8

/* Feature bits (spec 5.2.3, 6). */
#define F_SEG_MAX   2
#define F_RO        5
#define F_BLK_SIZE  6
#define F_FLUSH     9
#define F_VERSION_1 32

/* Status (spec 2.1). */
#define S_ACK         1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8

/* Common configuration (spec 4.1.4.3). */
#define C_DFSELECT 0x00
#define C_DF       0x04
#define C_GFSELECT 0x08
#define C_GF       0x0C
#define C_MSIX     0x10
#define C_STATUS   0x14
#define C_QSELECT  0x16
#define C_QSIZE    0x18
#define C_QMSIX    0x1A
#define C_QENABLE  0x1C
#define C_QNOFF    0x1E
#define C_QDESC    0x20
#define C_QAVAIL   0x28
#define C_QUSED    0x30

/* Requests (spec 5.2.6). */
#define T_IN     0
#define T_OUT    1
#define T_FLUSH  4
#define T_GET_ID 8
#define ST_OK    0
#define ST_IOERR 1

#define D_NEXT  1
#define D_WRITE 2

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
static struct desc vq_desc[QN] __attribute__((aligned(16)));
static volatile struct {
    uint16_t flags, idx, ring[QN], used_event;
} vq_avail __attribute__((aligned(2)));
static volatile struct {
    uint16_t flags, idx;
    struct {
        uint32_t id, len;
    } ring[QN];
    uint16_t avail_event;
} vq_used __attribute__((aligned(4)));

static struct {
    uint32_t type, reserved;
    uint64_t sector;
} req_hdr;
static volatile uint8_t req_status;

#define BENCH_BYTES (1024u * 1024u)
/* The bench's two buffers: the first two MiB above the kernel (not in
 * .bss, which every group's boot would then carry). */
static uint8_t *big_a, *big_b;

static struct vblk {
    int found;
    uint32_t cfgaddr; /* 0x80000000 | device << 11 */
    uint32_t bar[6];  /* memory BAR bases (0 if absent) */
    volatile uint8_t *common, *isr, *devcfg, *notify_base;
    uint32_t notify_mult;
    uint8_t msix_cap;
    volatile uint32_t *msix_table;
    uint16_t msix_n;
    uint64_t features, capacity;
    volatile uint16_t *notify;
    uint16_t avail_idx;
    int ready;
    uint64_t limit; /* 10 ms of TSC, the most a request may take (ms_ticks is a CPUID: an exit) */
} vb;

/* ---- PCI configuration, mechanism #1 ---- */
static uint32_t cfg32(uint32_t off)
{
    outl(0xCF8, vb.cfgaddr | (off & 0xFC));
    return inl(0xCFC);
}
static uint16_t cfg16(uint32_t off)
{
    outl(0xCF8, vb.cfgaddr | (off & 0xFC));
    return inw((uint16_t)(0xCFC + (off & 2)));
}
static uint8_t cfg8(uint32_t off)
{
    outl(0xCF8, vb.cfgaddr | (off & 0xFC));
    return inb((uint16_t)(0xCFC + (off & 3)));
}
static void cfg16_set(uint32_t off, uint16_t v)
{
    outl(0xCF8, vb.cfgaddr | (off & 0xFC));
    outw((uint16_t)(0xCFC + (off & 2)), v);
}

/* Finds 1af4:1042 on bus 0 and its BARs and capabilities. Returns 0 or
 * fills why. */
static int vblk_probe(char *why)
{
    memset(&vb, 0, sizeof(vb));
    for (uint32_t dev = 0; dev < 32 && !vb.found; dev++) {
        vb.cfgaddr = 0x80000000u | dev << 11;
        if (cfg32(0) == ((uint32_t)VIRTIO_BLK_ID << 16 | VIRTIO_VENDOR))
            vb.found = 1;
    }
    CHECK(vb.found, "no %04x:%04x on bus 0", VIRTIO_VENDOR, VIRTIO_BLK_ID);
    for (unsigned i = 0; i < 6; i++) {
        uint32_t lo = cfg32(0x10 + 4 * i);
        if (lo & 1)
            continue;        /* an I/O BAR */
        if ((lo & 6) == 4) { /* 64-bit: the guest runs 32-bit without paging */
            uint32_t hi = cfg32(0x10 + 4 * (i + 1));
            CHECK(hi == 0, "BAR %u is above 4 GiB (high dword 0x%x)", i, hi);
            vb.bar[i] = lo & ~15u;
            i++;
        } else {
            vb.bar[i] = lo & ~15u;
        }
    }
    CHECK(cfg16(6) & 0x10, "status 0x%x: no capability list", cfg16(6));
    unsigned seen = 0, n = 0;
    for (uint8_t c = cfg8(0x34) & 0xFC; c && n < 48; c = cfg8(c + 1u) & 0xFC, n++) {
        uint8_t id = cfg8(c);
        if (id == 0x11) {
            vb.msix_cap = c;
            uint16_t ctl = cfg16(c + 2u);
            uint32_t tbl = cfg32(c + 4u);
            vb.msix_n = (uint16_t)((ctl & 0x7FF) + 1);
            CHECK(vb.bar[tbl & 7], "MSI-X table in BAR %u, which is not a memory BAR", tbl & 7);
            vb.msix_table = (volatile uint32_t *)(uintptr_t)(vb.bar[tbl & 7] + (tbl & ~7u));
            continue;
        }
        if (id != 0x09)
            continue;
        uint8_t type = cfg8(c + 3u), bar = cfg8(c + 4u);
        if (type < 1 || type > 4)
            continue; /* the PCI configuration access capability (5), or unknown */
        CHECK(bar < 6 && vb.bar[bar], "capability type %u in BAR %u, not a memory BAR", type, bar);
        volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)(vb.bar[bar] + cfg32(c + 8u));
        if (type == 1)
            vb.common = p;
        else if (type == 2) {
            vb.notify_base = p;
            vb.notify_mult = cfg32(c + 16u);
        } else if (type == 3)
            vb.isr = p;
        else
            vb.devcfg = p;
        seen |= 1u << type;
    }
    CHECK(seen == 0x1E, "virtio capabilities found: mask 0x%x, expected common, notify, ISR, device (0x1e)",
          seen);
    CHECK(vb.msix_cap, "no MSI-X capability");
    return 0;
}

static uint8_t st_read(void) { return vb.common[C_STATUS]; }
static void st_write(uint8_t v) { vb.common[C_STATUS] = v; }
static void c16(unsigned off, uint16_t v) { *(volatile uint16_t *)(vb.common + off) = v; }
static uint16_t r16(unsigned off) { return *(volatile uint16_t *)(vb.common + off); }
static void c32(unsigned off, uint32_t v) { *(volatile uint32_t *)(vb.common + off) = v; }
static uint32_t r32(unsigned off) { return *(volatile uint32_t *)(vb.common + off); }

/* MSI-X table entry 0 -> this CPU's LAPIC, fixed, edge, VEC_MSIX, unmasked;
 * MSI-X on (no function mask) when `on`, else off (INTx). */
static void msix_setup(int on)
{
    uint32_t apic_id = lapic_read(0x20) >> 24;
    vb.msix_table[0] = 0xFEE00000u | apic_id << 12;
    vb.msix_table[1] = 0;
    vb.msix_table[2] = VEC_MSIX;
    vb.msix_table[3] = 0;
    uint16_t ctl = cfg16(vb.msix_cap + 2u) & (uint16_t)~0xC000u;
    cfg16_set(vb.msix_cap + 2u, (uint16_t)(ctl | (on ? 0x8000u : 0)));
}

/* Memory space and bus master on, INTx disabled or not; reset, ACK,
 * DRIVER, features (VERSION_1, and RO if offered), FEATURES_OK, queue 0 of
 * QN entries with MSI-X vector 0, DRIVER_OK. */
static int vblk_init(char *why)
{
    uint16_t cmd = cfg16(4);
    cfg16_set(4, (uint16_t)(cmd | 0x0006u | 0x0400u)); /* memory, bus master, INTx disabled */
    msix_setup(1);
    st_write(0);
    CHECK(st_read() == 0, "status 0x%x after a reset", st_read());
    st_write(S_ACK);
    st_write(S_ACK | S_DRIVER);
    c32(C_DFSELECT, 0);
    uint32_t lo = r32(C_DF);
    c32(C_DFSELECT, 1);
    uint32_t hi = r32(C_DF);
    vb.features = (uint64_t)hi << 32 | lo;
    CHECK(vb.features >> F_VERSION_1 & 1, "device features 0x%llx: no VERSION_1", vb.features);
    uint64_t want = 1ull << F_VERSION_1 | (vb.features & 1ull << F_RO);
    c32(C_GFSELECT, 0);
    c32(C_GF, (uint32_t)want);
    c32(C_GFSELECT, 1);
    c32(C_GF, (uint32_t)(want >> 32));
    st_write(S_ACK | S_DRIVER | S_FEATURES_OK);
    CHECK(st_read() & S_FEATURES_OK, "FEATURES_OK did not stick (status 0x%x)", st_read());
    c16(C_MSIX, 0xFFFF);
    c16(C_QSELECT, 0);
    uint16_t max = r16(C_QSIZE);
    CHECK(max >= QN, "queue 0 offers %u entries, fewer than %u", max, QN);
    c16(C_QSIZE, QN);
    c16(C_QMSIX, 0);
    CHECK(r16(C_QMSIX) == 0, "queue 0's MSI-X vector reads 0x%x after writing 0", r16(C_QMSIX));
    memset((void *)&vq_avail, 0, sizeof(vq_avail));
    memset((void *)&vq_used, 0, sizeof(vq_used));
    vb.avail_idx = 0;
    c32(C_QDESC, (uint32_t)(uintptr_t)vq_desc);
    c32(C_QDESC + 4, 0);
    c32(C_QAVAIL, (uint32_t)(uintptr_t)&vq_avail);
    c32(C_QAVAIL + 4, 0);
    c32(C_QUSED, (uint32_t)(uintptr_t)&vq_used);
    c32(C_QUSED + 4, 0);
    c16(C_QENABLE, 1);
    CHECK(r16(C_QENABLE) == 1, "queue 0 did not enable");
    vb.notify = (volatile uint16_t *)(vb.notify_base + (uint32_t)r16(C_QNOFF) * vb.notify_mult);
    st_write(S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    CHECK(st_read() == (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK), "status 0x%x after DRIVER_OK",
          st_read());
    vb.capacity = *(volatile uint32_t *)(vb.devcfg + 0) | (uint64_t) * (volatile uint32_t *)(vb.devcfg + 4)
                                                              << 32;
    vb.limit = ms_ticks(10);
    vb.ready = 1;
    return 0;
}

/* Probe and initialise once per boot (each case needs it). */
static int vblk_ready(char *why)
{
    if (vb.ready)
        return 0;
    if (vblk_probe(why) || vblk_init(why))
        return 1;
    return 0;
}

/* ---- requests ---- */
static volatile uint32_t vintr;
static void msix_hook(uint32_t v)
{
    (void)v;
    vintr++;
    lapic_eoi();
}

static volatile uint32_t intx_isr_read;
static void intx_hook(uint32_t v)
{
    (void)v;
    intx_isr_read = *vb.isr; /* read-to-clear: INTA# deasserts */
    vintr++;
}

#define WAIT_IRQ  0 /* spin with IF=1 until the interrupt handler ran */
#define WAIT_POLL 1 /* spin on the used index, interrupts off */

/* One request, synchronous: returns its status byte, or -1 when the
 * device did not complete it within 10 ms of guest time (-2: completed but
 * no interrupt came). *written <- the used element's length. */
static int vblk_req(uint32_t type, uint64_t sector, void *buf, uint32_t len, int wait, uint32_t *written)
{
    unsigned n = 0;
    req_hdr.type = type;
    req_hdr.reserved = 0;
    req_hdr.sector = sector;
    req_status = 0xEE;
    vq_desc[n] = (struct desc){ (uint32_t)(uintptr_t)&req_hdr, sizeof(req_hdr), D_NEXT, 1 };
    n++;
    if (len) {
        vq_desc[n] = (struct desc){ (uint32_t)(uintptr_t)buf, len,
                                    (uint16_t)(D_NEXT | (type == T_OUT ? 0 : D_WRITE)), (uint16_t)(n + 1) };
        n++;
    }
    vq_desc[n] = (struct desc){ (uint32_t)(uintptr_t)&req_status, 1, D_WRITE, 0 };
    uint32_t irqs = vintr;
    uint16_t want = (uint16_t)(vb.avail_idx + 1);
    vq_avail.ring[vb.avail_idx % QN] = 0;
    __asm__ volatile("" ::: "memory");
    vq_avail.idx = want;
    vb.avail_idx = want;
    __asm__ volatile("" ::: "memory");
    uint64_t start = rdtsc(), limit = vb.limit;
    if (wait == WAIT_IRQ) {
        sti();
        *vb.notify = 0;
        while (vintr == irqs && rdtsc() - start < limit)
            ;
        cli();
    } else {
        *vb.notify = 0;
    }
    while (vq_used.idx != want && rdtsc() - start < limit)
        ;
    if (vq_used.idx != want)
        return -1;
    if (written)
        *written = vq_used.ring[(uint16_t)(want - 1) % QN].len;
    if (wait == WAIT_IRQ && vintr == irqs)
        return -2;
    return req_status;
}

static uint32_t sector_bad_words(const uint8_t *buf, uint64_t sector, unsigned nsec)
{
    const uint32_t *w = (const uint32_t *)buf;
    uint32_t bad = 0;
    for (unsigned s = 0; s < nsec; s++)
        for (unsigned i = 0; i < 128; i++)
            bad += w[s * 128 + i] != PATTERN(sector + s, i);
    return bad;
}

/* Interrupts as the requests want them: the MSI-X vector's hook, which
 * ends with an EOI and nothing else. */
static void irq_msix_on(void)
{
    legacy_reset(0);
    lapic_auto_eoi = 0;
    irq_hook[VEC_MSIX] = msix_hook;
}

/* The device ready and its MSI-X vector hooked: each case's start. */
static int msix_ready(char *why)
{
    irq_msix_on();
    return vblk_ready(why);
}

/* ---- group "virtio" ---- */

static int t_found(char *why)
{
    if (vblk_probe(why))
        return 1;
    CHECK(vb.cfgaddr == (0x80000000u | 1u << 11), "the disk is at device %u, expected 00:01.0",
          (vb.cfgaddr >> 11) & 31);
    uint32_t class = cfg32(8) >> 8;
    CHECK(class == 0x018000, "class code 0x%06x, expected 0x018000 (mass storage, other)", class);
    CHECK(cfg8(0x3D) == 1, "interrupt pin %u, expected 1 (INTA#)", cfg8(0x3D));
    CHECK(vb.msix_n >= 2, "MSI-X table of %u entries", vb.msix_n);
    CHECK(vb.notify_mult != 0 && !(vb.notify_mult & 1), "notify_off_multiplier %u", vb.notify_mult);
    for (unsigned i = 0; i < 6; i++)
        CHECK(!vb.bar[i] || vb.bar[i] >= 0xC0000000u, "BAR %u at 0x%x, below the PCI hole", i, vb.bar[i]);
    kprintf(
        "# virtio: 00:01.0 common 0x%x notify 0x%x (x%u) isr 0x%x device 0x%x, MSI-X %u entries at 0x%x\n",
        (uint32_t)(uintptr_t)vb.common, (uint32_t)(uintptr_t)vb.notify_base, vb.notify_mult,
        (uint32_t)(uintptr_t)vb.isr, (uint32_t)(uintptr_t)vb.devcfg, vb.msix_n,
        (uint32_t)(uintptr_t)vb.msix_table);
    return 0;
}

static int t_features(char *why)
{
    vb.ready = 0; /* initialised again: this case is about negotiation */
    if (msix_ready(why))
        return 1;
    uint32_t sectors = boot.disk_sectors;
    int ro = !boot.disk_rw;
    kprintf("# virtio: device features 0x%llx, capacity %u sectors\n", vb.features, (uint32_t)vb.capacity);
    CHECK(((vb.features >> F_RO) & 1) == (uint64_t)ro, "RO %s offered on a %s disk", ro ? "not" : "",
          ro ? "read-only" : "writable");
    CHECK(vb.features & (1ull << F_SEG_MAX | 1ull << F_BLK_SIZE | 1ull << F_FLUSH),
          "features 0x%llx: none of SEG_MAX, BLK_SIZE, FLUSH", vb.features);
    CHECK(sectors && vb.capacity == sectors, "capacity %u sectors, the image has %u", (uint32_t)vb.capacity,
          sectors);
    return 0;
}

static int t_read(char *why)
{
    static uint8_t buf[4096] __attribute__((aligned(16)));
    uint32_t written = 0;
    if (msix_ready(why))
        return 1;
    uint64_t last = vb.capacity - 1;
    const uint64_t which[3] = { 0, last, vb.capacity / 2 };
    for (unsigned k = 0; k < 3; k++) {
        memset(buf, 0, sizeof(buf));
        int st = vblk_req(T_IN, which[k], buf, 512, WAIT_IRQ, &written);
        CHECK(st == ST_OK, "read of sector %u: status %d", (uint32_t)which[k], st);
        CHECK(written == 513, "read of sector %u: used length %u, expected 513", (uint32_t)which[k], written);
        uint32_t bad = sector_bad_words(buf, which[k], 1);
        CHECK(!bad, "sector %u: %u of 128 words differ from the image (word 0 0x%x)", (uint32_t)which[k], bad,
              *(uint32_t *)buf);
    }
    /* 8 sectors in one request, ending at the last. */
    int st = vblk_req(T_IN, vb.capacity - 8, buf, 4096, WAIT_IRQ, &written);
    CHECK(st == ST_OK, "4 KiB read ending at the last sector: status %d", st);
    CHECK(!sector_bad_words(buf, vb.capacity - 8, 8), "4 KiB read ending at the last sector: data differ");
    return 0;
}

static int t_beyond(char *why)
{
    static uint8_t buf[1024] __attribute__((aligned(16)));
    if (msix_ready(why))
        return 1;
    int st = vblk_req(T_IN, vb.capacity, buf, 512, WAIT_IRQ, 0);
    CHECK(st == ST_IOERR, "read of sector %u (the capacity): status %d, expected S_IOERR",
          (uint32_t)vb.capacity, st);
    st = vblk_req(T_IN, vb.capacity - 1, buf, 1024, WAIT_IRQ, 0);
    CHECK(st == ST_IOERR, "two sectors from the last: status %d, expected S_IOERR", st);
    st = vblk_req(T_IN, 0xFFFFFFFFFFFFFFF0ull, buf, 512, WAIT_IRQ, 0);
    CHECK(st == ST_IOERR, "read of sector 2^64-16: status %d, expected S_IOERR", st);
    return 0;
}

/* A read-only disk refuses a write with S_IOERR and keeps its data; a
 * volatile one (disk_rw=1) takes it, and a FLUSH, and reads it back. */
static int t_write(char *why)
{
    static uint8_t buf[1024] __attribute__((aligned(16)));
    if (msix_ready(why))
        return 1;
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(0xA5 ^ i);
    int st = vblk_req(T_OUT, 3, buf, 1024, WAIT_IRQ, 0);
    memset(buf, 0, sizeof(buf));
    int back = vblk_req(T_IN, 3, buf, 1024, WAIT_IRQ, 0);
    CHECK(back == ST_OK, "reading sectors 3-4 back: status %d", back);
    if (!boot.disk_rw) {
        CHECK(st == ST_IOERR, "write to the read-only disk: status %d, expected S_IOERR", st);
        CHECK(!sector_bad_words(buf, 3, 2), "sectors 3-4 changed after the refused write");
        return 0;
    }
    CHECK(st == ST_OK, "write to the volatile disk: status %d", st);
    for (unsigned i = 0; i < sizeof(buf); i++)
        CHECK(buf[i] == (uint8_t)(0xA5 ^ i), "byte %u of the written sectors reads 0x%x", i, buf[i]);
    st = vblk_req(T_FLUSH, 0, 0, 0, WAIT_IRQ, 0);
    CHECK(st == ST_OK, "FLUSH: status %d", st);
    /* Sector 5, beside them, untouched. */
    st = vblk_req(T_IN, 5, buf, 512, WAIT_IRQ, 0);
    CHECK(st == ST_OK && !sector_bad_words(buf, 5, 1), "sector 5 after writing 3-4 (status %d)", st);
    return 0;
}

static int t_get_id(char *why)
{
    static char id[20] __attribute__((aligned(16)));
    uint32_t written = 0;
    if (msix_ready(why))
        return 1;
    memset(id, 'x', sizeof(id));
    int st = vblk_req(T_GET_ID, 0, id, 20, WAIT_IRQ, &written);
    CHECK(st == ST_OK, "GET_ID: status %d", st);
    char shown[21];
    memcpy(shown, id, 20);
    shown[20] = 0;
    CHECK(!strncmp(id, "tinyhv-disk0", 13), "GET_ID: '%s'", shown);
    for (unsigned i = 13; i < 20; i++)
        CHECK(id[i] == 0, "GET_ID: byte %u is 0x%x, not NUL padding", i, (uint8_t)id[i]);
    CHECK(written == 21, "GET_ID: used length %u, expected 21", written);
    return 0;
}

/* 32 requests, one MSI-X interrupt each, none more; ISR status stays 0
 * (the queue bit is only for INTx). */
static int t_msix_count(char *why)
{
    static uint8_t buf[512] __attribute__((aligned(16)));
    if (msix_ready(why))
        return 1;
    uint32_t before = vintr;
    for (unsigned i = 0; i < 32; i++) {
        int st = vblk_req(T_IN, i, buf, 512, WAIT_IRQ, 0);
        CHECK(st == ST_OK, "request %u: status %d (-2: completed without its interrupt)", i, st);
    }
    spin_irq(VEC_MSIX, irqlog.count[VEC_MSIX] + 1, ms_ticks(QUIET_MS));
    CHECK(vintr - before == 32, "%u MSI-X interrupts for 32 requests", vintr - before);
    CHECK(irqlog.count[VEC_INTX] == 0, "an INTx interrupt with MSI-X on");
    CHECK(*vb.isr == 0, "ISR status nonzero with MSI-X on");
    /* Polled, with the queue's interrupt suppressed: no interrupt at all. */
    vq_avail.flags = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
    before = vintr;
    int st = vblk_req(T_IN, 5, buf, 512, WAIT_POLL, 0);
    spin_irq(VEC_MSIX, irqlog.count[VEC_MSIX] + 1, ms_ticks(QUIET_MS));
    vq_avail.flags = 0;
    CHECK(st == ST_OK && !sector_bad_words(buf, 5, 1), "polled read of sector 5: status %d", st);
    CHECK(vintr == before, "an interrupt with VIRTQ_AVAIL_F_NO_INTERRUPT set");
    return 0;
}

/* MSI-X off: the interrupt is INTA#, GSI 17, level, active low, through
 * the IOAPIC; the handler reads ISR status (1: the queue), which
 * deasserts the line: one interrupt per request, no storm. */
static int t_intx(char *why)
{
    static uint8_t buf[512] __attribute__((aligned(16)));
    legacy_reset(0);
    if (vblk_ready(why))
        return 1;
    irq_hook[VEC_INTX] = intx_hook;
    msix_setup(0);
    cfg16_set(4, cfg16(4) & (uint16_t)~0x0400u);               /* INTx enabled */
    ioapic_route(INTX_GSI, VEC_INTX | 1u << 13 | 1u << 15, 0); /* active low, level */
    uint32_t before = vintr;
    int bad = 0;
    for (unsigned i = 0; i < 8 && !bad; i++) {
        intx_isr_read = 0;
        int st = vblk_req(T_IN, 100 + i, buf, 512, WAIT_IRQ, 0);
        if (st != ST_OK || sector_bad_words(buf, 100 + i, 1) || intx_isr_read != 1) {
            ksnprintf(why, WHY_MAX, "INTx request %u: status %d, ISR read 0x%x in the handler", i, st,
                      intx_isr_read);
            bad = 1;
        }
    }
    spin_irq(VEC_INTX, irqlog.count[VEC_INTX] + 1, ms_ticks(QUIET_MS));
    uint32_t got = vintr - before, msix = irqlog.count[VEC_MSIX];
    uint8_t isr_after = *vb.isr;
    ioapic_route(INTX_GSI, 0x10000, 0);
    cfg16_set(4, cfg16(4) | 0x0400u);
    msix_setup(1);
    if (bad)
        return 1;
    CHECK(got == 8, "%u INTx interrupts for 8 requests (the ISR read should deassert the line)", got);
    CHECK(msix == 0, "%u MSI-X interrupts with MSI-X off", msix);
    CHECK(isr_after == 0, "ISR status 0x%x after the handler read it", isr_after);
    return 0;
}

static const struct test_case cases[] = {
    { "found: 1af4:1042 at 00:01.0, its virtio and MSI-X capabilities in BARs above 0xC0000000", t_found },
    { "features: VERSION_1 negotiated, RO offered as the disk is, capacity as the image", t_features },
    { "read: sector 0, the middle and the last sectors, and 4 KiB ending at the last, match the image",
      t_read },
    { "beyond: reads past the capacity complete with S_IOERR", t_beyond },
    { "write: refused with S_IOERR on a read-only disk, nothing changed; on a volatile one read back",
      t_write },
    { "get_id: GET_ID returns 'tinyhv-disk0', NUL padded", t_get_id },
    { "msix: one MSI-X interrupt per request, none when the driver polls with NO_INTERRUPT", t_msix_count },
    { "intx: MSI-X off, INTA# on GSI 17 (level, active low); reading ISR status deasserts it", t_intx },
};
const struct test_group group_virtio = { "virtio", cases, sizeof(cases) / sizeof(cases[0]) };

/* ---- group "vbench": phase 5 of `make bench` ---- */

static void stats(uint32_t nr, uint32_t arg)
{
    if (hv_present())
        hypercall(nr, arg);
}

static void copy_rep_movsd(void *d, const void *s, uint32_t n)
{
    uint32_t c = n / 4;
    __asm__ volatile("cld; rep movsl" : "+D"(d), "+S"(s), "+c"(c)::"memory");
}

/* MiB per 10^9 ticks, in thousandths: bytes * 10^9 * 1000 / (ticks * 2^20). */
static uint32_t mib_per_gtick_milli(uint64_t bytes, uint64_t ticks)
{
    return ticks ? (uint32_t)div64(div64(bytes * 1000000ull, ticks) * 1000000ull, 1048576ull) : 0;
}

/* The bench's buffers: the first two MiB above the kernel. */
static int bench_buffers(char *why)
{
    big_a = (uint8_t *)((((uint32_t)(uintptr_t)kernel_end) + 0xFFFFFu) & ~0xFFFFFu);
    big_b = big_a + BENCH_BYTES;
    CHECK((uint32_t)(uintptr_t)big_b + BENCH_BYTES <= boot.ram_mb_expected << 20,
          "the bench's buffers end at 0x%x, beyond the RAM (ram_mb=%u on the command line)",
          (uint32_t)(uintptr_t)big_b + BENCH_BYTES, boot.ram_mb_expected);
    return 0;
}

/* The ceiling: the bench's MiB copied within RAM, 4 bytes an iteration. */
static int t_bench_copy(char *why)
{
    if (bench_buffers(why))
        return 1;
    for (uint32_t i = 0; i < BENCH_BYTES / 4; i++)
        ((uint32_t *)big_a)[i] = PATTERN(i / 128, i % 128);
    memset(big_b, 0, BENCH_BYTES);
    uint64_t t = rdtsc();
    copy_rep_movsd(big_b, big_a, BENCH_BYTES);
    uint64_t copy = rdtsc() - t;
    uint32_t bad = sector_bad_words(big_b, 0, BENCH_BYTES / 512);
    CHECK(!bad, "%u words of the copy differ from the source", bad);
    uint32_t cm = mib_per_gtick_milli(BENCH_BYTES, copy);
    kprintf("# bench vblk_copy_ticks=%u vblk_copy_mib_per_gtick=%u.%03u\n", (uint32_t)copy, cm / 1000,
            cm % 1000);
    return 0;
}

/* The bench's 256 sequential 4 KiB reads into big_a, waited for as `wait`
 * says, the hypervisor's statistics printed with `label`; checks the data,
 * one MSI-X interrupt per read (none when polled) and at most 2 VM exits a
 * read, the goal (the notify; on the software path the EOI). */
static int read_pass(char *why, int wait, unsigned label, const char *key)
{
    const unsigned n = BENCH_BYTES / 4096;
    CHECK(hv_present(), "no hypervisor, so no virtio disk (the bare machine runs group vbench_copy)");
    if (bench_buffers(why) || msix_ready(why))
        return 1;
    CHECK(vb.capacity * 512 >= BENCH_BYTES, "the disk holds %u sectors, fewer than the bench's %u",
          (uint32_t)vb.capacity, BENCH_BYTES / 512);
    memset(big_a, 0, BENCH_BYTES);
    vq_avail.flags = wait == WAIT_POLL ? 1 : 0; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
    uint32_t irqs = vintr;
    int st = 0;
    unsigned i;
    struct irq_stamp s1, s2;
    stats(HC_STATS_RESET, 0);
    irq_stamp(&s1);
    uint64_t t = rdtsc();
    for (i = 0; i < n && st == ST_OK; i++)
        st = vblk_req(T_IN, (uint64_t)i * 8, big_a + i * 4096u, 4096, wait, 0);
    uint64_t took = rdtsc() - t;
    irq_stamp(&s2);
    stats(HC_STATS_PRINT, label);
    vq_avail.flags = 0;
    /* s2 counts s1's own VMCALL; the loop's exits are the rest. */
    uint32_t exits = s2.exits - s1.exits - 1;
    CHECK(st == ST_OK, "read %u: status %d", i - 1, st);
    uint32_t want = wait == WAIT_POLL ? 0 : n;
    CHECK(vintr - irqs == want, "%u MSI-X interrupts for %u reads, expected %u", vintr - irqs, n, want);
    uint32_t bad = sector_bad_words(big_a, 0, BENCH_BYTES / 512);
    CHECK(!bad, "%u words of the %u KiB read differ from the image", bad, BENCH_BYTES / 1024);
    CHECK(exits <= 2 * n, "%u VM exits for %u reads: more than 2 a request", exits, n);
    uint32_t rm = mib_per_gtick_milli(BENCH_BYTES, took);
    kprintf("# bench %s_reads=%u %s_exits=%u %s_ticks=%u %s_ticks_per_req=%u %s_mib_per_gtick=%u.%03u\n", key,
            n, key, exits, key, (uint32_t)took, key, (uint32_t)div64(took, n), key, rm / 1000, rm % 1000);
    return 0;
}

/* Phase 5: each read waited for by its MSI-X interrupt (spinning, IF=1). */
static int t_bench_read(char *why) { return read_pass(why, WAIT_IRQ, 5, "vblk_read"); }

/* Phase 6: the same, polling the used index, no interrupt asked for. */
static int t_bench_poll(char *why) { return read_pass(why, WAIT_POLL, 6, "vblk_poll"); }

static const struct test_case bench_cases[] = {
    { "copy: 1 MiB copied in guest RAM (rep movsd), the ceiling", t_bench_copy },
    { "read: 256 sequential 4 KiB virtio-blk reads by MSI-X, at most 2 exits each", t_bench_read },
    { "poll: the same reads polled (VIRTQ_AVAIL_F_NO_INTERRUPT), no interrupt, at most 2 exits each",
      t_bench_poll },
};
const struct test_group group_vbench = { "vbench", bench_cases,
                                         sizeof(bench_cases) / sizeof(bench_cases[0]) };
/* The bare machine has no disk: the ceiling alone. */
const struct test_group group_vbench_copy = { "vbench_copy", bench_cases, 1 };
