/* Group "fuzz": a guest-side fuzzer of the hypervisor, in the spirit of
 * HYPER-CUBE (Schumilo et al., NDSS 2020). A seeded PRNG draws bursts of
 * random operations on every interface a guest has to the hypervisor: port
 * I/O (single and REP string), the PIC, the PIT, pc-testdev's lines, MSRs,
 * the LAPIC and IOAPIC pages with every instruction form the MMIO decoder
 * takes, CPUID, VMCALL, CR0/CR3/CR4, a few instructions that exit or fault
 * (XSETBV, INVD, GETSEC, ...), interrupt sources armed as a driver would
 * (whose interrupts then arrive between the other operations' exits) and
 * the interrupt flag. After each burst the
 * guest restores a known interrupt setup and checks that the hypervisor
 * still serves it: a LAPIC timer, PIT through the PIC and through the
 * IOAPIC, a self-IPI, the version hypercall, the control registers, the
 * TSC and the kernel's own code. Some operations also check their own
 * result: registers an instruction does not write keep their values, and
 * ALU instructions on stable APIC registers give the flags and results the
 * CPU gives for the same instruction on RAM.
 *
 * Command line: seed=N (default 0), bursts=N (default 20), seconds=N (run
 * bursts until N seconds of guest time passed; with bursts=N too, whichever
 * ends first), ops=N per burst (default 200), verbose=1 (print every
 * operation before it runs: slow, for replaying a failing seed), from=N
 * (start at burst N: each burst's operations depend only on the seed and
 * the burst's number). A run is deterministic: the same seed and config
 * replay the same operations at the same instants.
 *
 * What no operation does, and why:
 * - touch guest-physical addresses outside RAM other than the LAPIC and
 *   IOAPIC pages: the hypervisor stops the VM there by design (an EPT
 *   violation outside RAM that no device claims, vmx/exit.c
 *   handle_ept_violation; ept_stop.t tests that stop);
 * - move the APIC base (IA32_APIC_BASE keeps 0xFEE00000): the interrupt
 *   handler's EOI would then hit such an address (hostile.t's apic_moves
 *   moves it);
 * - program a vector 16-31 or 0x80 anywhere (PIC bases, LVTs, ICR, IOAPIC
 *   entries, SVR): the CPU would deliver it through an exception gate,
 *   which breaks any guest on real hardware too; vectors 0-15 stay in, the
 *   APIC must refuse those (illegal vector);
 * - write the ports of port_denied() below, HLT, MWAIT, MOV DR, LIDT/LGDT,
 *   or clear CR0.PE or set CR0.PG: each ends or wedges the guest itself;
 * - REP INS/OUTS with a memory operand in MMIO: not emulated, the VM stops
 *   (vmx/exit.c handle_string_io). */
#include "testos.h"

#define DEFAULT_BURSTS 20u
#define DEFAULT_OPS    200u

/* Vectors of the checks after a burst. */
#define V_TIMER      0x70
#define V_PIT_IOAPIC 0x61
#define V_IPI        0x62

/* ---- PRNG: splitmix64 ---- */
static uint64_t rng;
static uint64_t rnd64(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint32_t rnd32(void) { return (uint32_t)rnd64(); }
static uint32_t below(uint32_t n) { return rnd32() % n; }
static int chance(uint32_t percent) { return below(100) < percent; }
#define PICK(a) ((a)[below(sizeof(a) / sizeof((a)[0]))])

/* A value for a register: often a boundary, else random. */
static uint32_t rnd_value(void)
{
    static const uint32_t edges[] = { 0, 1, 0xff, 0x100, 0x7fffffffu, 0x80000000u, 0xffffffffu };
    return chance(25) ? PICK(edges) : rnd32();
}

/* A vector the guest can take: 16-31 and 0x80 would arrive through an
 * exception gate or testos's software-interrupt path (see the top). */
static uint8_t sane_vector(uint32_t v)
{
    v &= 0xff;
    if (v >= 16 && v < 32)
        v += 32;
    if (v == 0x80)
        v++;
    return (uint8_t)v;
}

/* ---- the record of what ran, for failure messages ---- */
enum op_kind {
    OP_PORT,
    OP_PORT_STRING,
    OP_PIC,
    OP_PIT,
    OP_TESTDEV,
    OP_MSR,
    OP_LAPIC,
    OP_IOAPIC,
    OP_ALU,
    OP_CPUID,
    OP_VMCALL,
    OP_CR,
    OP_MISC,
    OP_IRQ,
    OP_IF,
    OP_KINDS
};
static const char *const op_names[OP_KINDS] = {
    "port",     "port-string", "pic",    "pit", "testdev", "msr", "lapic", "ioapic",
    "alu-diff", "cpuid",       "vmcall", "cr",  "misc",    "irq", "if",
};
/* Relative frequencies, summing to 100. */
static const uint8_t op_weight[OP_KINDS] = { 11, 4, 6, 5, 3, 13, 13, 8, 8, 6, 5, 5, 4, 5, 4 };

/* One operation: its kind, what it ran (an instruction, a form) and up to
 * three numbers (a port, MSR, address, leaf or hypercall; a size or
 * second operand; a value). */
struct op_rec {
    uint32_t n, a, b;
    uint8_t kind;
    const char *what;
    uint64_t v;
};
#define RING 8
static struct op_rec ring[RING];
static uint32_t seed, burst, op_n, verbose;
static const char *phase = ""; /* "" while the operations run, else what runs after them */
static uint64_t total_ops;
static char op_why[WHY_MAX]; /* set by an operation whose own check failed */

static void print_op(const struct op_rec *r)
{
    kprintf("# fuzz:   op %u: %s %s a=0x%x b=0x%x v=0x%llx\n", r->n, op_names[r->kind], r->what, r->a, r->b,
            r->v);
}

static void record(enum op_kind k, const char *what, uint32_t a, uint32_t b, uint64_t v)
{
    struct op_rec *r = &ring[op_n % RING];
    *r = (struct op_rec){ op_n, a, b, (uint8_t)k, what, v };
    if (verbose)
        print_op(r);
}

/* The operations up to and including op `last` (as many as the ring holds). */
static void print_ring(uint32_t last)
{
    uint32_t first = last >= RING ? last - RING + 1 : 0;
    kprintf("# fuzz: seed %u burst %u: operations %u to %u:\n", seed, burst, first, last);
    for (uint32_t i = first; i <= last; i++)
        if (ring[i % RING].n == i)
            print_op(&ring[i % RING]);
}

/* A guest exception nobody armed for: say where the fuzzer was. */
static void bail_note(void)
{
    kprintf("# fuzz: unexpected exception in seed %u burst %u op %u%s\n", seed, burst, op_n, phase);
    print_ring(op_n);
}

#define OPCHECK(cond, ...)                           \
    do {                                             \
        if (!(cond)) {                               \
            ksnprintf(op_why, WHY_MAX, __VA_ARGS__); \
            return;                                  \
        }                                            \
    } while (0)

/* ---- port I/O ---- */

/* Ports no write may reach (reads are all fine). Today the hypervisor
 * drops writes to all but the first two (unclaimed ports), but each ends
 * the run on some platform or would once it is emulated. */
static const struct {
    uint16_t first, last;
} denied[] = {
    { 0x00F0, 0x00F7 }, /* debug-exit 0xF4 (QEMU's isa-debug-exit is 4 wide): ends the run */
    { 0x03F8, 0x03FF }, /* COM1: the TAP output (line settings, garbled lines) */
    { 0x0064, 0x0064 }, /* 8042 command: 0xFE pulses the reset line */
    { 0x0092, 0x0092 }, /* port 92h: bit 0 resets the CPU */
    { 0x0CF9, 0x0CF9 }, /* reset control register */
    { 0x0600, 0x063F }, /* QEMU's ACPI PM block: PM1 control (0x604) powers off */
    { 0xB000, 0xB03F }, /* OVMF's ACPI PM block on Bochs's PIIX4: 0xB004 powers off */
    { 0x8900, 0x8900 }, /* Bochs's shutdown port */
};

static int port_overlaps(uint16_t port, unsigned size, uint16_t first, uint16_t last)
{
    return (uint32_t)port + size > first && port <= last;
}

static int port_denied(uint16_t port, unsigned size)
{
    for (unsigned i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
        if (port_overlaps(port, size, denied[i].first, denied[i].last))
            return 1;
    return 0;
}

static int port_is_pic(uint16_t port, unsigned size)
{
    return port_overlaps(port, size, 0x20, 0x21) || port_overlaps(port, size, 0xA0, 0xA1);
}

static const uint16_t hot_ports[] = {
    0x20,  0x21,  0xA0,  0xA1,  0x4D0,  0x4D1,  0x40,   0x41,   0x42,   0x43,   0x61,   0x510, 0x511,
    0xE0,  0xE1,  0xE2,  0xE3,  0x2000, 0x2002, 0x2004, 0x2008, 0x200F, 0x2017, 0x2018, 0x3F8, 0x3F9,
    0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE,  0x3FF,  0xF4,   0x70,   0x71,   0x80,   0x3F0,
};

/* One IN or OUT of size bytes. ESI and EDI carry canaries through it;
 * an OUT leaves EAX alone, an IN of 1 or 2 bytes the bits above them. */
#define IO(insn) __asm__ volatile(insn : "+a"(a), "+S"(s), "+D"(d) : "d"(port))
static void port_io(uint16_t port, unsigned size, int out, uint32_t v)
{
    uint32_t pre = out ? v : rnd32(), a = pre, s = rnd32(), d = rnd32(), s0 = s, d0 = d;
    record(OP_PORT, out ? "out" : "in", port, size, pre);
    switch ((out ? 3 : 0) + size / 2) {
    case 0: IO("inb %w3, %b0"); break;
    case 1: IO("inw %w3, %w0"); break;
    case 2: IO("inl %w3, %0"); break;
    case 3: IO("outb %b0, %w3"); break;
    case 4: IO("outw %w0, %w3"); break;
    default: IO("outl %0, %w3"); break;
    }
    OPCHECK(s == s0 && d == d0, "%s port 0x%x changed ESI/EDI", out ? "OUT" : "IN", port);
    uint32_t keep = out ? ~0u : size == 1 ? 0xffffff00u : size == 2 ? 0xffff0000u : 0;
    OPCHECK((a & keep) == (pre & keep), "%s%u port 0x%x: EAX 0x%x became 0x%x", out ? "OUT" : "IN", size,
            port, pre, a);
}
#undef IO
static void port_in(uint16_t port, unsigned size) { port_io(port, size, 0, 0); }
static void port_out(uint16_t port, unsigned size, uint32_t v) { port_io(port, size, 1, v); }

/* The PIC through its ports, one byte at a time, with the ICW2 that
 * follows an ICW1 kept to a vector base the guest can take. */
static int icw2_next[2];

/* What a write of v to a PIC's data port (0x21, 0xA1) may write. */
static uint8_t pic_data_value(int pic, uint8_t v)
{
    if (icw2_next[pic]) {
        uint8_t base = v & 0xf8;
        if (base < 0x20 || base == 0x80)
            base = (uint8_t)(base + 0x30);
        v = base;
    }
    icw2_next[pic] = 0;
    return v;
}

static void op_pic(void)
{
    static const uint16_t ports[] = { 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1 };
    static const uint8_t commands[] = { 0x11, 0x13, 0x19, 0x20, 0x60, 0x62, 0xA0,
                                        0xC0, 0xE3, 0x0A, 0x0B, 0x0C, 0x68, 0x48 };
    uint16_t p = PICK(ports);
    if (chance(30)) {
        port_in(p, 1);
        return;
    }
    uint8_t v = chance(50) ? PICK(commands) : (uint8_t)rnd32();
    int pic = p >= 0xA0 && p < 0x4D0;
    if (p == 0x20 || p == 0xA0) {
        if (v & 0x10)
            icw2_next[pic] = 1;
    } else if (p == 0x21 || p == 0xA1) {
        if (chance(30))
            v = (uint8_t)(rnd32() & rnd32()); /* an IMR with some lines open */
        v = pic_data_value(pic, v);
    }
    port_out(p, 1, v);
}

static void op_pit(void)
{
    static const uint16_t ports[] = { 0x40, 0x41, 0x42, 0x43, 0x61 };
    uint16_t p = PICK(ports);
    if (chance(30)) {
        port_in(p, 1);
        return;
    }
    if (p == 0x43 && chance(40)) { /* a whole programming: control word, LSB, MSB */
        unsigned ch = below(3), mode = below(6);
        uint16_t count = (uint16_t)(chance(50) ? below(64) : rnd32());
        port_out(0x43, 1, (ch << 6) | 0x30 | (mode << 1));
        if (op_why[0])
            return;
        port_out((uint16_t)(0x40 + ch), 1, count & 0xff);
        if (op_why[0])
            return;
        port_out((uint16_t)(0x40 + ch), 1, count >> 8);
        return;
    }
    port_out(p, 1, rnd32() & 0xff);
}

static void op_port(void)
{
    static const uint8_t sizes[] = { 1, 1, 2, 4 };
    uint16_t port = chance(50) ? PICK(hot_ports) : (uint16_t)rnd32();
    unsigned size = PICK(sizes);
    if (chance(45) || port_denied(port, size)) {
        port_in(port, size);
        return;
    }
    if (port_is_pic(port, size)) {
        op_pic();
        return;
    }
    port_out(port, size, rnd_value());
}

/* REP INS/OUTS between a RAM buffer and a port: ECX ends at 0 and ESI or
 * EDI moves by count elements up or down (DF), however many exits and
 * interrupts the hypervisor took on the way. */
static uint8_t string_buf[8192] __attribute__((aligned(16)));
static void op_port_string(void)
{
    static const uint8_t sizes[] = { 1, 2, 4 };
    uint16_t port = chance(50) ? PICK(hot_ports) : (uint16_t)rnd32();
    unsigned size = PICK(sizes), in = chance(50) || port_denied(port, 4) || port_is_pic(port, 4);
    uint32_t count = chance(10) ? 1 + below(2000) : 1 + below(32), down = chance(30);
    uint8_t *start = string_buf + (down ? (count - 1) * size : 0);
    uint32_t c = count, p = (uint32_t)(uintptr_t)start, p0 = p, bx = rnd32(), bx0 = bx;
    record(OP_PORT_STRING, in ? (down ? "std; rep ins" : "rep ins") : (down ? "std; rep outs" : "rep outs"),
           port, size, count);
    if (!in)
        for (uint32_t i = 0; i < count * size; i++)
            string_buf[i] = (uint8_t)rnd32();
    if (down)
        __asm__ volatile("std" ::: "cc");
#define STR(insn, reg) __asm__ volatile(insn : "+c"(c), reg(p), "+b"(bx) : "d"(port) : "memory")
    switch ((in ? 0 : 3) + (size == 1 ? 0 : size == 2 ? 1 : 2)) {
    case 0: STR("rep insb", "+D"); break;
    case 1: STR("rep insw", "+D"); break;
    case 2: STR("rep insl", "+D"); break;
    case 3: STR("rep outsb", "+S"); break;
    case 4: STR("rep outsw", "+S"); break;
    default: STR("rep outsl", "+S"); break;
    }
#undef STR
    __asm__ volatile("cld" ::: "cc");
    uint32_t want = down ? p0 - count * size : p0 + count * size;
    OPCHECK(c == 0, "REP %s port 0x%x: ECX %u after %u elements", in ? "INS" : "OUTS", port, c, count);
    OPCHECK(p == want, "REP %s port 0x%x x%u: %s 0x%x, expected 0x%x", in ? "INS" : "OUTS", port, count,
            in ? "EDI" : "ESI", p, want);
    OPCHECK(bx == bx0, "REP %s port 0x%x changed EBX", in ? "INS" : "OUTS", port);
}

/* pc-testdev: port 0x2000 + n drives interrupt line n. */
static void op_testdev(void)
{
    uint16_t port = (uint16_t)(0x2000 + below(24));
    if (chance(20))
        port_in(port, 1);
    else
        port_out(port, 1, chance(50));
}

/* ---- MSRs ---- */

/* The MSRs the hypervisor emulates and the fuzzer puts back after each
 * burst (the TSC through IA32_TSC_ADJUST, the APIC base and the x2APIC
 * registers with the LAPIC), with the bits a write must read back. */
static const struct {
    uint32_t msr;
    uint32_t echo_lo, echo_hi;
} saved_msrs[] = {
    { 0x174, ~0u, 0 },
    { 0x175, ~0u, ~0u },
    { 0x176, ~0u, ~0u },
    { 0x17A, ~0u, ~0u },
    { 0x1A0, 0x00c50009u, 0x4 }, /* IA32_MISC_ENABLE: the writable bits */
    { 0x200, ~0u, ~0u },
    { 0x201, ~0u, ~0u },
    { 0x202, ~0u, ~0u },
    { 0x203, ~0u, ~0u },
    { 0x204, ~0u, ~0u },
    { 0x205, ~0u, ~0u },
    { 0x206, ~0u, ~0u },
    { 0x207, ~0u, ~0u },
    { 0x208, ~0u, ~0u },
    { 0x209, ~0u, ~0u },
    { 0x20A, ~0u, ~0u },
    { 0x20B, ~0u, ~0u },
    { 0x20C, ~0u, ~0u },
    { 0x20D, ~0u, ~0u },
    { 0x20E, ~0u, ~0u },
    { 0x20F, ~0u, ~0u },
    { 0x250, ~0u, ~0u },
    { 0x258, ~0u, ~0u },
    { 0x259, ~0u, ~0u },
    { 0x268, ~0u, ~0u },
    { 0x269, ~0u, ~0u },
    { 0x26A, ~0u, ~0u },
    { 0x26B, ~0u, ~0u },
    { 0x26C, ~0u, ~0u },
    { 0x26D, ~0u, ~0u },
    { 0x26E, ~0u, ~0u },
    { 0x26F, ~0u, ~0u },
    { 0x277, ~0u, ~0u },
    { 0x2FF, ~0u, ~0u },
    { 0xC0000080u, 0x901u, 0 }, /* EFER: SCE, LME, NXE (a write of LMA is ignored) */
    { 0xC0000081u, ~0u, ~0u },
    { 0xC0000082u, ~0u, ~0u },
    { 0xC0000083u, ~0u, ~0u },
    { 0xC0000084u, ~0u, 0 },
    { 0xC0000100u, ~0u, ~0u },
    { 0xC0000101u, ~0u, ~0u },
    { 0xC0000102u, ~0u, ~0u },
    { 0xC0000103u, ~0u, 0 },
};
#define NSAVED (sizeof(saved_msrs) / sizeof(saved_msrs[0]))
static uint64_t saved_val[NSAVED];
static uint8_t saved_ok[NSAVED];

/* Others worth a try: emulated ones not put back and real MSRs of the CPU
 * the hypervisor does not offer (#GP). */
static const uint32_t other_msrs[] = {
    0x10,  0x1B,  0x3A,  0x3B,        0x8B,        0xFE,        0x179,       0x6E0, 0x17,  0x2A,
    0xCE,  0xE7,  0xE8,  0x10A,       0x1D9,       0x345,       0x38F,       0xC1,  0x186, 0x199,
    0x19A, 0x1A2, 0x3F1, 0x480,       0x481,       0x48B,       0x48D,       0x491, 0x4C1, 0x600,
    0x6A0, 0x6A2, 0xDA0, 0xC0000104u, 0xC0010000u, 0x40000000u, 0x40000001u,
};

static uint64_t apic_base0;
static void track_apic_mode(void)
{
    uint64_t b = 0;
    if (safe_rdmsr(MSR_APIC_BASE, &b) == 0)
        lapic_x2apic = (b & (APIC_BASE_EXTD | APIC_BASE_EN)) == (APIC_BASE_EXTD | APIC_BASE_EN);
}

/* x2APIC registers that hold a vector in bits 7:0: SVR, CMCI, ICR, LVTs,
 * SELF IPI. */
static int x2apic_vector_reg(uint32_t msr)
{
    return msr == 0x80F || msr == 0x82F || msr == 0x830 || (msr >= 0x832 && msr <= 0x837) || msr == 0x83F;
}

static uint64_t msr_value(uint32_t msr)
{
    static const uint64_t edges[] = { 0,
                                      1,
                                      ~0ull,
                                      1ull << 63,
                                      0x00007fffffffffffull,
                                      0xffff800000000000ull,
                                      0x0007040600070406ull,
                                      0xfee00000ull };
    uint64_t cur = 0;
    switch (below(5)) {
    case 0: return rnd64();
    case 1: return rnd32();
    case 2:
        (void)safe_rdmsr(msr, &cur); /* 0 where it faults */
        return cur ^ (1ull << below(64));
    case 3: return PICK(edges);
    default: return rnd32() & 0xff;
    }
}

static void op_msr(void)
{
    uint32_t msr;
    uint32_t r = below(100);
    if (r < 35)
        msr = saved_msrs[below(NSAVED)].msr;
    else if (r < 55)
        msr = PICK(other_msrs);
    else if (r < 70)
        msr = 0x800 + below(0x100);
    else if (r < 80)
        msr = below(0x2000);
    else if (r < 90)
        msr = 0xC0000000u + below(0x2000);
    else
        msr = rnd32();
    uint64_t v;
    if (chance(40)) {
        record(OP_MSR, "rdmsr", msr, 0, 0);
        (void)safe_rdmsr(msr, &v);
        return;
    }
    v = msr_value(msr);
    if (msr == MSR_APIC_BASE) {
        /* Same base, random mode bits (EN, EXTD, BSP), sometimes a
         * reserved bit (#GP). */
        v = 0xfee00000u | (rnd32() & (APIC_BASE_EN | APIC_BASE_EXTD | 0x100));
        if (chance(10))
            v |= 1ull << PICK(((const uint8_t[]){ 0, 5, 9, 36, 40, 63 }));
    }
    if (x2apic_vector_reg(msr))
        v = (v & ~0xffull) |
            (msr == 0x80F ? (uint8_t)(sane_vector((uint32_t)v) | 0x20) : sane_vector((uint32_t)v));
    record(OP_MSR, "wrmsr", msr, 0, v);
    int rc = safe_wrmsr(msr, v);
    if (msr == MSR_APIC_BASE) {
        uint64_t now = 0;
        track_apic_mode();
        OPCHECK(safe_rdmsr(MSR_APIC_BASE, &now) == 0, "RDMSR IA32_APIC_BASE faulted");
        OPCHECK((now & ~0xfffull) == 0xfee00000u,
                "IA32_APIC_BASE 0x%llx after writing 0x%llx: the base "
                "moved",
                now, v);
        OPCHECK(rc || ((now ^ v) & ~0x100ull) == 0, "IA32_APIC_BASE reads 0x%llx after a write of 0x%llx",
                now, v);
        return;
    }
    if (rc)
        return;
    for (unsigned i = 0; i < NSAVED; i++) {
        if (saved_msrs[i].msr != msr)
            continue;
        uint64_t back = 0, mask = (uint64_t)saved_msrs[i].echo_hi << 32 | saved_msrs[i].echo_lo;
        OPCHECK(safe_rdmsr(msr, &back) == 0, "RDMSR 0x%x faulted after a WRMSR of 0x%llx", msr, v);
        OPCHECK(((back ^ v) & mask) == 0, "MSR 0x%x reads 0x%llx after WRMSR 0x%llx", msr, back, v);
    }
}

/* ---- MMIO: the instruction forms of the hypervisor's decoder ---- */

enum form_kind { F_LOAD, F_STORE, F_RMW, F_READ }; /* F_READ: flags only (CMP, TEST) */
struct form {
    uint32_t (*fn)(uintptr_t m, uint32_t eax, uint32_t fin, uint32_t *fout, uint32_t *canary);
    const char *text;
    uint8_t size, kind, logic; /* logic: AF undefined */
    uint8_t shape;             /* for loads: 1 merge, 2 zero-extend, 3 sign-extend, 0 any */
};

/* Each form runs with the six arithmetic flags set from fin (IF kept) and
 * returns EAX and the flags after it; ESI/EDI carry canaries through. */
#define FORM_FN(name, insn)                                                                             \
    static uint32_t f_##name(uintptr_t m, uint32_t eax, uint32_t fin, uint32_t *fout, uint32_t *canary) \
    {                                                                                                   \
        uint32_t f, s = canary[0], d = canary[1];                                                       \
        __asm__ volatile("pushfl\n\tandl $~0x8d5, (%%esp)\n\torl %[fin], (%%esp)\n\tpopfl\n\t" insn     \
                         "\n\tpushfl\n\tpopl %[f]"                                                      \
                         : [f] "=&r"(f), "+a"(eax), "+S"(s), "+D"(d)                                    \
                         : "b"(m), [fin] "r"(fin)                                                       \
                         : "memory", "cc");                                                             \
        *fout = f;                                                                                      \
        canary[0] = s;                                                                                  \
        canary[1] = d;                                                                                  \
        return eax;                                                                                     \
    }
#define ALU3(op)                             \
    FORM_FN(op##l_m, #op "l %%eax, (%%ebx)") \
    FORM_FN(op##w_m, #op "w %%ax, (%%ebx)")  \
    FORM_FN(op##b_m, #op "b %%al, (%%ebx)")  \
    FORM_FN(op##l_r, #op "l (%%ebx), %%eax") \
    FORM_FN(op##w_r, #op "w (%%ebx), %%ax")  \
    FORM_FN(op##b_r, #op "b (%%ebx), %%al")
FORM_FN(movl_ld, "movl (%%ebx), %%eax")
FORM_FN(movw_ld, "movw (%%ebx), %%ax")
FORM_FN(movb_ld, "movb (%%ebx), %%al")
FORM_FN(movzbl, "movzbl (%%ebx), %%eax")
FORM_FN(movzwl, "movzwl (%%ebx), %%eax")
FORM_FN(movsbl, "movsbl (%%ebx), %%eax")
FORM_FN(movswl, "movswl (%%ebx), %%eax")
FORM_FN(movl_st, "movl %%eax, (%%ebx)")
FORM_FN(movw_st, "movw %%ax, (%%ebx)")
FORM_FN(movb_st, "movb %%al, (%%ebx)")
FORM_FN(xchgl, "xchgl %%eax, (%%ebx)")
FORM_FN(xchgw, "xchgw %%ax, (%%ebx)")
FORM_FN(xchgb, "xchgb %%al, (%%ebx)")
FORM_FN(testl, "testl %%eax, (%%ebx)")
FORM_FN(testw, "testw %%ax, (%%ebx)")
FORM_FN(testb, "testb %%al, (%%ebx)")
ALU3(add)
ALU3(or)
ALU3(adc)
ALU3(sbb)
ALU3(and)
ALU3(sub)
ALU3(xor)
ALU3(cmp)
#undef ALU3

#define F(name, size, kind, logic, shape)         \
    {                                             \
        f_##name, #name, size, kind, logic, shape \
    }
#define FALU(op, logic, mkind)                                                                      \
    F(op##l_m, 4, mkind, logic, 0), F(op##w_m, 2, mkind, logic, 0), F(op##b_m, 1, mkind, logic, 0), \
        F(op##l_r, 4, F_LOAD, logic, 0), F(op##w_r, 2, F_LOAD, logic, 0), F(op##b_r, 1, F_LOAD, logic, 0)
static const struct form forms[] = {
    F(movl_ld, 4, F_LOAD, 0, 0),  F(movw_ld, 2, F_LOAD, 0, 1),  F(movb_ld, 1, F_LOAD, 0, 1),
    F(movzbl, 1, F_LOAD, 0, 2),   F(movzwl, 2, F_LOAD, 0, 2),   F(movsbl, 1, F_LOAD, 0, 3),
    F(movswl, 2, F_LOAD, 0, 3),   F(movl_st, 4, F_STORE, 0, 0), F(movw_st, 2, F_STORE, 0, 0),
    F(movb_st, 1, F_STORE, 0, 0), F(xchgl, 4, F_RMW, 0, 0),     F(xchgw, 2, F_RMW, 0, 0),
    F(xchgb, 1, F_RMW, 0, 0),     F(testl, 4, F_READ, 1, 0),    F(testw, 2, F_READ, 1, 0),
    F(testb, 1, F_READ, 1, 0),    FALU(add, 0, F_RMW),          FALU(or, 1, F_RMW),
    FALU(adc, 0, F_RMW),          FALU(sbb, 0, F_RMW),          FALU(and, 1, F_RMW),
    FALU(sub, 0, F_RMW),          FALU(xor, 1, F_RMW),          FALU(cmp, 0, F_READ),
};
#undef FALU
#undef F
#define NFORMS      (sizeof(forms) / sizeof(forms[0]))
#define ARITH_FLAGS 0x8d5u
#define AF          0x10u

static int form_writes(const struct form *f) { return f->kind == F_STORE || f->kind == F_RMW; }
static int form_is_xchg(const struct form *f) { return f->text[0] == 'x' && f->text[1] == 'c'; }
/* MOV, MOVZX, MOVSX and XCHG leave the flags alone. */
static int form_keeps_flags(const struct form *f) { return f->text[0] == 'm' || form_is_xchg(f); }

/* Runs one form on an MMIO address and checks what does not depend on
 * the device: ESI/EDI, EAX for stores and flag-only forms, and the upper
 * bits of EAX for narrow loads. */
static void mmio_form(enum op_kind k, uintptr_t addr, const struct form *f, uint32_t eax)
{
    uint32_t canary[2] = { rnd32(), rnd32() }, c0 = canary[0], c1 = canary[1];
    uint32_t fin = rnd32() & ARITH_FLAGS, fout, out;
    record(k, f->text, (uint32_t)addr, 0, eax);
    out = f->fn(addr, eax, fin, &fout, canary);
    OPCHECK(canary[0] == c0 && canary[1] == c1, "%s at 0x%x changed ESI/EDI", f->text, (uint32_t)addr);
    if (f->kind == F_STORE || f->kind == F_READ || (f->kind == F_RMW && !form_is_xchg(f)))
        OPCHECK(out == eax, "%s at 0x%x changed EAX 0x%x to 0x%x", f->text, (uint32_t)addr, eax, out);
    if (form_keeps_flags(f))
        OPCHECK((fout & ARITH_FLAGS) == fin, "%s at 0x%x changed the flags 0x%x to 0x%x", f->text,
                (uint32_t)addr, fin, fout & ARITH_FLAGS);
    uint32_t high = f->size == 1 ? 0xffffff00u : 0xffff0000u;
    if (f->shape == 1 || (form_is_xchg(f) && f->size < 4))
        OPCHECK((out & high) == (eax & high), "%s at 0x%x: EAX 0x%x became 0x%x above the size", f->text,
                (uint32_t)addr, eax, out);
    if (f->shape == 2)
        OPCHECK((out & high) == 0, "%s at 0x%x: 0x%x not zero-extended", f->text, (uint32_t)addr, out);
    if (f->shape == 3) {
        uint32_t sign = f->size == 1 ? 0x80u : 0x8000u;
        OPCHECK((out & high) == ((out & sign) ? high : 0), "%s at 0x%x: 0x%x not sign-extended", f->text,
                (uint32_t)addr, out);
    }
}

static const struct form *pick_form(int writes_ok)
{
    const struct form *f;
    do
        f = &forms[below(NFORMS)];
    while (!writes_ok && form_writes(f));
    return f;
}

/* ---- the LAPIC page ---- */

static const uint16_t lapic_regs[] = {
    0x20,  0x30,  0x80,  0x90,  0xA0,  0xB0,  0xC0,  0xD0,  0xE0,  0xF0,  0x100, 0x170, 0x180, 0x1F0, 0x200,
    0x270, 0x280, 0x2F0, 0x300, 0x310, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x390, 0x3E0, 0x3F0,
};

/* Registers with a vector in bits 7:0 (SVR, CMCI, ICR, LVTs, self IPI). */
static int lapic_vector_reg(uint32_t aligned)
{
    return aligned == 0xF0 || aligned == 0x2F0 || aligned == 0x300 ||
           (aligned >= 0x320 && aligned <= 0x370 && !(aligned & 0xF)) || aligned == 0x3F0;
}

/* A write reaches bits 7:0 of the dword at off & ~3 when it starts there
 * or is a misaligned dword (the emulator writes it to the aligned dword). */
static int write_hits_low_byte(uint32_t off, unsigned size) { return (off & 3) == 0 || size >= 4; }

static uint32_t store_value(uint32_t aligned, int vector_reg)
{
    uint32_t v = rnd_value();
    if (aligned == 0x380 && chance(70))
        v = below(100000); /* a timer count that expires during the burst */
    if (vector_reg)
        v = (v & ~0xffu) | (aligned == 0xF0 ? (sane_vector(v) | 0x20u) : sane_vector(v));
    return v;
}

static void op_lapic(void)
{
    const struct form *f = pick_form(1);
    uint32_t off;
    if (chance(75)) {
        off = PICK(lapic_regs);
        if (chance(10))
            off += 1 + below(15);
    } else {
        off = below(0x1000);
    }
    if (off + f->size > 0x1000)
        off = 0x1000 - f->size;
    uint32_t aligned = off & ~3u;
    int vec = lapic_vector_reg(aligned) && write_hits_low_byte(off, f->size);
    /* A read-modify-write of a vector would compute a vector we did not
     * choose: load instead. */
    if (vec && f->kind == F_RMW)
        f = pick_form(0);
    mmio_form(OP_LAPIC, LAPIC_BASE + off, f, store_value(aligned, vec && f->kind == F_STORE));
}

/* ---- the IOAPIC page ---- */

static uint32_t ioregsel(void) { return *(volatile uint32_t *)IOAPIC_BASE & 0xff; }

static void op_ioapic(void)
{
    const struct form *f = pick_form(1);
    uint32_t off, r = below(100);
    if (r < 35)
        off = 0x00;
    else if (r < 80)
        off = 0x10;
    else if (r < 90)
        off = 0x40;
    else
        off = below(0x1000 - 3);
    if (chance(10) && off < 0x40)
        off += 1 + below(3);
    if (off + f->size > 0x1000)
        off = 0x1000 - f->size;
    uint32_t v = rnd_value(), aligned = off & ~3u;
    /* With IF=0: a storm's handler would move IOREGSEL under us. */
    uint32_t fl;
    __asm__ volatile("pushfl; popl %0; cli" : "=r"(fl)::"memory");
    uint32_t sel = ioregsel();
    if (aligned == 0x00 && chance(70))
        v = chance(30) ? below(3) : 0x10 + below(48); /* a real register */
    int vec = aligned == 0x10 && sel >= 0x10 && sel < 0x40 && !(sel & 1) && write_hits_low_byte(off, f->size);
    if (vec && f->kind == F_RMW)
        f = pick_form(0);
    if (vec && f->kind == F_STORE)
        v = (v & ~0xffu) | sane_vector(v);
    mmio_form(OP_IOAPIC, IOAPIC_BASE + off, f, v);
    if (fl & 0x200)
        sti();
}

/* ---- differential ALU: the same instruction on an APIC register and on
 * RAM holding the register's value must give the same flags and EAX. ---- */
static volatile uint32_t twin;
static void op_alu(void)
{
    static const struct {
        uint32_t base, off, ioreg;
    } stable[] = {
        { LAPIC_BASE, 0x80, 0 },  { LAPIC_BASE, 0x30, 0 },  { LAPIC_BASE, 0xD0, 0 },
        { LAPIC_BASE, 0xE0, 0 },  { IOAPIC_BASE, 0x10, 0 }, { IOAPIC_BASE, 0x10, 1 },
        { IOAPIC_BASE, 0x10, 2 }, { IOAPIC_BASE, 0x00, 0 },
    };
    unsigned i = below(sizeof(stable) / sizeof(stable[0]));
    const struct form *f = pick_form(1);
    uintptr_t addr = stable[i].base + stable[i].off;
    uint32_t eax = rnd_value(), fin = rnd32() & ARITH_FLAGS, fl;
    uint32_t c_mmio[2] = { 0, 0 }, c_ram[2] = { 0, 0 }, f_mmio, f_ram;
    __asm__ volatile("pushfl; popl %0; cli" : "=r"(fl)::"memory");
    if (stable[i].base == IOAPIC_BASE && stable[i].off == 0x10)
        *(volatile uint32_t *)IOAPIC_BASE = stable[i].ioreg;
    /* IOREGSEL and TPR take any value; DFR, LDR, the IOAPIC ID and the
     * version registers drop what they do not keep, which the next read
     * sees. A write through the IOAPIC index register moves it, so only
     * flag-only forms there. */
    if (stable[i].base == IOAPIC_BASE && stable[i].off == 0x00 && form_writes(f))
        f = pick_form(0);
    uint32_t v = *(volatile uint32_t *)addr;
    twin = v;
    record(OP_ALU, f->text, (uint32_t)addr, v, eax);
    uint32_t out_mmio = f->fn(addr, eax, fin, &f_mmio, c_mmio);
    uint32_t out_ram = f->fn((uintptr_t)&twin, eax, fin, &f_ram, c_ram);
    if (fl & 0x200)
        sti();
    uint32_t mask = ARITH_FLAGS & ~(f->logic ? AF : 0u);
    OPCHECK((f_mmio & mask) == (f_ram & mask),
            "%s on 0x%x (value 0x%x, EAX 0x%x, flags in 0x%x): flags "
            "0x%x, the CPU gives 0x%x",
            f->text, (uint32_t)addr, v, eax, fin, f_mmio & mask, f_ram & mask);
    OPCHECK(out_mmio == out_ram, "%s on 0x%x (value 0x%x, EAX 0x%x): EAX 0x%x, the CPU gives 0x%x", f->text,
            (uint32_t)addr, v, eax, out_mmio, out_ram);
}

/* ---- CPUID, VMCALL ---- */

static void op_cpuid(void)
{
    static const uint32_t leaves[] = { 0,           1,           2,           4,           6,
                                       7,           0xB,         0xD,         0xF,         0x10,
                                       0x12,        0x14,        0x15,        0x16,        0x17,
                                       0x18,        0x1A,        0x1B,        0x1F,        0x20,
                                       0x40000000u, 0x40000001u, 0x40000010u, 0x400000ffu, 0x80000000u,
                                       0x80000001u, 0x80000007u, 0x80000008u, 0x8000001fu };
    uint32_t leaf = chance(70) ? PICK(leaves) : rnd32(), sub = chance(50) ? below(4) : rnd32();
    uint32_t a = leaf, b = rnd32(), c = sub, d = rnd32(), s = rnd32(), di = rnd32(), s0 = s, di0 = di;
    record(OP_CPUID, "cpuid", leaf, sub, 0);
    __asm__ volatile("cpuid" : "+a"(a), "+b"(b), "+c"(c), "+d"(d), "+S"(s), "+D"(di));
    OPCHECK(s == s0 && di == di0, "CPUID 0x%x.%u changed ESI/EDI", leaf, sub);
}

static void op_vmcall(void)
{
    uint32_t nr = chance(60) ? below(13) : rnd32();
    uint32_t a = nr, b = rnd32(), c = rnd32(), d = rnd32(), s = rnd32(), di = rnd32();
    uint32_t b0 = b, c0 = c, d0 = d, di0 = di;
    if (nr == 10) /* KVM_HC_SEND_IPI: RSI is an ICR */
        s = (s & ~0xffu) | sane_vector(s);
    if (nr == 1 && chance(70)) /* HC_TEST_UNMAP: somewhere in guest RAM */
        b = b0 = below(32u << 20);
    uint32_t s0 = s;
    record(OP_VMCALL, "vmcall", nr, b, (uint64_t)c << 32 | s);
    __asm__ volatile("vmcall" : "+a"(a), "+b"(b), "+c"(c), "+d"(d), "+S"(s), "+D"(di)::"memory");
    if (nr == HC_IRQ_STAMP) /* answers in EBX, ECX and EDX too */
        b = b0, c = c0, d = d0;
    OPCHECK(b == b0 && c == c0 && d == d0 && s == s0 && di == di0,
            "hypercall %u changed a register other than EAX", nr);
    if (nr == HC_VERSION)
        OPCHECK(a == 0x000100u, "hypercall 0 (version) returned 0x%x", a);
    if (nr == HC_TRACE_MARK)
        OPCHECK(a <= 1, "hypercall %u (trace mark) returned 0x%x, not 0 or 1", nr, a);
    /* HC_TEST_PHYS_INTR, a test hook, answers a count (or, with
     * test_hooks = off, the unknown result): nothing to check in EAX. */
    if (nr > HC_TRACE_MARK && nr != 10 && nr != HC_TEST_PHYS_INTR)
        OPCHECK(a == HC_UNKNOWN_RESULT, "unknown hypercall %u returned 0x%x", nr, a);
}

/* ---- control registers ---- */

static uint32_t cr0_0, cr3_0, cr4_0;
static uint32_t read_cr(unsigned n)
{
    uint32_t v = 0;
    if (n == 0)
        __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    else if (n == 3)
        __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    else
        __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

/* MOV to CRn (3 bytes: 0f 22 /r); returns the vector of a fault or -1. */
static int write_cr(unsigned n, uint32_t v)
{
    trap_arm(3);
    if (n == 0)
        __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory");
    else if (n == 3)
        __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory");
    else
        __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory");
    trap_disarm();
    return last_trap.taken ? (int)last_trap.vector : -1;
}

#define CR0_PE        0x1u
#define CR0_ET        0x10u
#define CR0_PG        0x80000000u
/* MP EM TS ET NE WP AM NW CD: what the guest may flip. */
#define CR0_FLIPPABLE 0x6005003eu
#define CR0_DEFINED   (CR0_FLIPPABLE | CR0_PE | CR0_PG)
#define CR4_OSXSAVE   (1u << 18)

static void op_cr(void)
{
    uint32_t which = below(10), v;
    if (which < 4) {
        v = read_cr(0) ^ (rnd32() & CR0_FLIPPABLE);
        if (chance(10))
            v |= 1u << (6 + below(10)); /* a reserved bit: ignored, no #GP */
        v = (v & ~(CR0_PE | CR0_PG)) | (cr0_0 & (CR0_PE | CR0_PG));
        record(OP_CR, "mov cr0", 0, 0, v);
        int vec = write_cr(0, v);
        uint32_t now = read_cr(0);
        if (vec == -1)
            OPCHECK(((now ^ v) & CR0_DEFINED & ~CR0_ET) == 0, "CR0 reads 0x%x after writing 0x%x", now, v);
        else
            OPCHECK(vec == 13, "MOV to CR0 0x%x: exception %d, expected #GP or none", v, vec);
    } else if (which < 8) {
        v = read_cr(4) ^ (1u << below(25)) ^ (chance(30) ? rnd32() & 0x1ffffffu : 0);
        record(OP_CR, "mov cr4", 4, 0, v);
        int vec = write_cr(4, v);
        uint32_t now = read_cr(4);
        if (vec == -1)
            OPCHECK(now == v, "CR4 reads 0x%x after writing 0x%x", now, v);
        else
            OPCHECK(vec == 13, "MOV to CR4 0x%x: exception %d, expected #GP or none", v, vec);
    } else {
        v = rnd32(); /* paging is off: CR3 is just a value */
        record(OP_CR, "mov cr3", 3, 0, v);
        OPCHECK(write_cr(3, v) == -1, "MOV to CR3 0x%x faulted (vector %u)", v, last_trap.vector);
        OPCHECK(read_cr(3) == v, "CR3 reads 0x%x after writing 0x%x", read_cr(3), v);
    }
}

/* ---- instructions that exit or may fault ---- */

static int xcr0_dirty;

/* Runs `bytes` (an instruction, then RET added here) from a buffer with
 * EAX, ECX, EDX as given; a fault resumes at the RET. Returns the vector or -1. */
static int run_insn(const uint8_t *bytes, unsigned len, uint32_t a, uint32_t c, uint32_t d)
{
    static uint8_t code[16] __attribute__((aligned(16)));
    static uint32_t operand[4];
    memcpy(code, bytes, len);
    code[len] = 0xc3;
    trap_arm(len);
    uint32_t *b = operand;
    __asm__ volatile("call *%4"
                     : "+a"(a), "+c"(c), "+d"(d), "+b"(b)
                     : "r"(code)
                     : "esi", "edi", "memory", "cc");
    trap_disarm();
    return last_trap.taken ? (int)last_trap.vector : -1;
}

static void op_misc(void)
{
    static const struct {
        const char *name;
        uint8_t len, bytes[5];
    } insns[] = {
        { "XSETBV", 3, { 0x0f, 0x01, 0xd1 } },  { "XGETBV", 3, { 0x0f, 0x01, 0xd0 } },
        { "WBINVD", 2, { 0x0f, 0x09 } },        { "INVD", 2, { 0x0f, 0x08 } },
        { "RDTSCP", 3, { 0x0f, 0x01, 0xf9 } },  { "RDPMC", 2, { 0x0f, 0x33 } },
        { "GETSEC", 2, { 0x0f, 0x37 } },        { "RDRAND", 3, { 0x0f, 0xc7, 0xf0 } },
        { "RDSEED", 3, { 0x0f, 0xc7, 0xf8 } },  { "PAUSE", 2, { 0xf3, 0x90 } },
        { "CLFLUSH", 3, { 0x0f, 0xae, 0x3b } }, { "INVLPG", 3, { 0x0f, 0x01, 0x3b } },
        { "RDTSC", 2, { 0x0f, 0x31 } },
    };
    unsigned i = below(sizeof(insns) / sizeof(insns[0]));
    uint32_t a = chance(50) ? PICK(((const uint32_t[]){ 1, 3, 7, 0xe7, 0x207 })) : rnd32();
    uint32_t c = chance(70) ? below(2) : rnd32(), d = chance(70) ? 0 : rnd32();
    record(OP_MISC, insns[i].name, a, c, (uint64_t)d << 32 | a);
    int vec = run_insn(insns[i].bytes, insns[i].len, a, c, d);
    if (i == 0 && vec == -1)
        xcr0_dirty = 1;
    OPCHECK(vec == -1 || vec == 6 || vec == 13, "%s (EAX 0x%x ECX 0x%x EDX 0x%x): exception %d",
            insns[i].name, a, c, d, vec);
}

/* ---- interrupts during a burst ----
 * Every vector's handler (irq_hook) lowers the pc-testdev line that
 * op_irq routed to it, as a driver acknowledges its device, and quiets
 * every source once one vector arrived FUZZ_STORM times in the burst: a
 * level line held high through an unmasked pin (random programming asks
 * for that) would otherwise take the guest's storm guard's 20,000
 * interrupts, seconds of Bochs time each. */
#define FUZZ_STORM 300
static uint8_t level_pin[256]; /* testdev line + 1 routed to the vector, or 0 */
static uint32_t quelled;

static void quiet_sources(void)
{
    uint32_t sel = ioregsel(); /* an NMI may come in between an op's IOREGSEL and data */
    outb(0x21, pic_data_value(0, 0xff));
    outb(0xA1, pic_data_value(1, 0xff));
    outb(0x43, 0x30); /* PIT channel 0 stopped */
    for (unsigned pin = 0; pin < 24; pin++) {
        outb((uint16_t)(0x2000 + pin), 0);
        ioapic_write(0x10 + 2 * pin, 0x10000);
    }
    lapic_write(0x320, 0x10000);
    lapic_write(0x350, 0x10000);
    lapic_write(0x360, 0x10000);
    *(volatile uint32_t *)IOAPIC_BASE = sel;
}

static void fuzz_irq_hook(uint32_t vector)
{
    if (level_pin[vector])
        outb((uint16_t)(0x2000 + level_pin[vector] - 1), 0);
    if (irqlog.count[vector] == FUZZ_STORM) {
        quelled++;
        quiet_sources();
    }
}

/* An interrupt source armed the way a driver would, so that interrupts
 * (and NMIs) arrive while later operations exit: the LAPIC timer, the PIT
 * through the PIC or the IOAPIC, a self-IPI, a pc-testdev line through a
 * level-triggered IOAPIC pin. */
static void op_irq(void)
{
    static const char *const what[] = { "lapic timer", "pit via pic", "pit via ioapic", "self-ipi",
                                        "testdev level line" };
    uint32_t r = below(5), vector = 0x30 + below(0xc0), a = 0;
    if (vector == 0x80)
        vector++;
    switch (r) {
    case 0:
        a = 0x10 + below(20000);
        record(OP_IRQ, what[r], r, vector, a);
        lapic_write(0x3E0, 0x0B);
        lapic_write(0x320, vector | (chance(50) ? 1u << 17 : 0) | (chance(10) ? 4u << 8 : 0));
        lapic_write(0x380, a);
        break;
    case 1:
        a = 1 + below(3000);
        record(OP_IRQ, what[r], r, 0, a);
        outb(0x21, pic_data_value(0, (uint8_t)(inb(0x21) & ~1u)));
        pit_program(0, chance(50) ? 2 : 0, (uint16_t)a);
        break;
    case 2:
        a = 1 + below(3000);
        record(OP_IRQ, what[r], r, vector, a);
        ioapic_route(2, vector | (chance(10) ? 4u << 8 : 0), 0);
        pit_program(0, chance(50) ? 2 : 0, (uint16_t)a);
        break;
    case 3:
        record(OP_IRQ, what[r], r, vector, 0);
        lapic_self_ipi((uint8_t)vector);
        break;
    default:
        a = 5 + below(19); /* a pin no ISA device uses as an edge */
        record(OP_IRQ, what[r], r, vector, a);
        level_pin[vector] = (uint8_t)(a + 1);
        ioapic_route(a, vector | 1u << 15, 0);
        outb((uint16_t)(0x2000 + a), 1);
        break;
    }
}

static void op_if(void)
{
    uint32_t r = below(3);
    record(OP_IF, r == 0 ? "sti" : r == 1 ? "cli" : "sti; spin; cli", r, 0, 0);
    if (r == 0) {
        sti();
    } else if (r == 1) {
        cli();
    } else { /* a window of up to ~50 us with IF=1 */
        uint64_t t = rdtsc(), len = div64(ms_ticks(1), 20 + below(200));
        sti();
        while (rdtsc() - t < len)
            ;
        cli();
    }
}

/* ---- one burst ---- */

static void run_op(void)
{
    uint32_t r = below(100), k = 0;
    while (r >= op_weight[k]) {
        r -= op_weight[k];
        k++;
    }
    switch (k) {
    case OP_PORT: op_port(); break;
    case OP_PORT_STRING: op_port_string(); break;
    case OP_PIC: op_pic(); break;
    case OP_PIT: op_pit(); break;
    case OP_TESTDEV: op_testdev(); break;
    case OP_MSR: op_msr(); break;
    case OP_LAPIC: op_lapic(); break;
    case OP_IOAPIC: op_ioapic(); break;
    case OP_ALU: op_alu(); break;
    case OP_CPUID: op_cpuid(); break;
    case OP_VMCALL: op_vmcall(); break;
    case OP_CR: op_cr(); break;
    case OP_MISC: op_misc(); break;
    case OP_IRQ: op_irq(); break;
    default: op_if(); break;
    }
}

/* ---- the known state, saved once and put back after each burst ---- */

static uint64_t tsc_adjust0;
static uint32_t lapic_id0, lapic_ldr0, lapic_dfr0, ioapic_id0, text_sum0;
static uint8_t port61_0;
extern char rodata_end[];

static uint32_t text_sum(void)
{
    uint32_t s = 0;
    for (const uint32_t *p = (const uint32_t *)kernel_start; p < (const uint32_t *)rodata_end; p++)
        s = (s << 1 | s >> 31) ^ *p;
    return s;
}

static void save_state(void)
{
    cr0_0 = read_cr(0);
    cr3_0 = read_cr(3);
    cr4_0 = read_cr(4);
    for (unsigned i = 0; i < NSAVED; i++)
        saved_ok[i] = safe_rdmsr(saved_msrs[i].msr, &saved_val[i]) == 0;
    (void)safe_rdmsr(MSR_APIC_BASE, &apic_base0);
    (void)safe_rdmsr(0x3B, &tsc_adjust0);
    lapic_id0 = lapic_read(0x20);
    lapic_ldr0 = lapic_read(0xD0);
    lapic_dfr0 = lapic_read(0xE0);
    ioapic_id0 = ioapic_read(0);
    port61_0 = inb(0x61);
    text_sum0 = text_sum();
}

/* Puts everything back; returns 0 or fills why. */
static int restore_state(char *why)
{
    cli();
    for (unsigned n = 0; n < 24; n++)
        outb((uint16_t)(0x2000 + n), 0); /* pc-testdev lines low */
    if (xcr0_dirty) {                    /* XCR0 back to x87 only */
        static const uint8_t xsetbv[] = { 0x0f, 0x01, 0xd1 };
        (void)write_cr(4, read_cr(4) | CR4_OSXSAVE);
        CHECK(run_insn(xsetbv, 3, 1, 0, 0) == -1, "XSETBV XCR0=1 faulted (vector %u)", last_trap.vector);
        xcr0_dirty = 0;
    }
    CHECK(write_cr(0, cr0_0) == -1, "restoring CR0 0x%x faulted", cr0_0);
    CHECK(write_cr(4, cr4_0) == -1, "restoring CR4 0x%x faulted", cr4_0);
    CHECK(write_cr(3, cr3_0) == -1, "restoring CR3 0x%x faulted", cr3_0);
    for (unsigned i = 0; i < NSAVED; i++) {
        uint64_t back = 0;
        if (!saved_ok[i])
            continue;
        CHECK(safe_wrmsr(saved_msrs[i].msr, saved_val[i]) == 0, "MSR 0x%x refused its own value 0x%llx",
              saved_msrs[i].msr, saved_val[i]);
        CHECK(safe_rdmsr(saved_msrs[i].msr, &back) == 0 && back == saved_val[i],
              "MSR 0x%x reads 0x%llx after restoring 0x%llx", saved_msrs[i].msr, back, saved_val[i]);
    }
    /* The APIC: back to xAPIC mode (x2APIC only leaves through disabled),
     * then its registers; legacy_reset does the rest. */
    uint64_t base = 0;
    CHECK(safe_rdmsr(MSR_APIC_BASE, &base) == 0, "RDMSR IA32_APIC_BASE faulted");
    if (base != apic_base0) {
        if (base & APIC_BASE_EXTD)
            CHECK(safe_wrmsr(MSR_APIC_BASE, apic_base0 & ~(uint64_t)(APIC_BASE_EN | APIC_BASE_EXTD)) == 0,
                  "disabling the APIC from 0x%llx faulted", base);
        CHECK(safe_wrmsr(MSR_APIC_BASE, apic_base0) == 0, "IA32_APIC_BASE 0x%llx refused (was 0x%llx)",
              apic_base0, base);
    }
    lapic_x2apic = 0;
    legacy_reset(0);
    lapic_write(0x20, lapic_id0);
    lapic_write(0xD0, lapic_ldr0);
    lapic_write(0xE0, lapic_dfr0);
    lapic_write(0x3E0, 0x0B);    /* divide by 1 */
    lapic_write(0x2F0, 0x10000); /* CMCI, thermal, perf, error: masked */
    lapic_write(0x330, 0x10000);
    lapic_write(0x340, 0x10000);
    lapic_write(0x370, 0x10000);
    lapic_write(0x280, 0); /* ESR: latch and clear */
    ioapic_write(0, ioapic_id0);
    outb(0x43, 0xB0); /* PIT channel 2 stopped */
    outb(0x61, port61_0);
    CHECK(safe_wrmsr(0x3B, tsc_adjust0) == 0, "IA32_TSC_ADJUST 0x%llx refused", tsc_adjust0);
    icw2_next[0] = icw2_next[1] = 0;
    return 0;
}

/* The hypervisor still serves a well-behaved guest. */
static int check_state(char *why, uint64_t burst_start)
{
    uint64_t now = rdtsc();
    CHECK(read_cr(0) == cr0_0 && read_cr(4) == cr4_0 && read_cr(3) == cr3_0,
          "CR0/CR3/CR4 0x%x/0x%x/0x%x after restoring 0x%x/0x%x/0x%x", read_cr(0), read_cr(3), read_cr(4),
          cr0_0, cr3_0, cr4_0);
    CHECK((int64_t)(now - burst_start) >= 0 && now - burst_start < ms_ticks(60000),
          "the TSC moved by 0x%llx over the burst with IA32_TSC_ADJUST restored", now - burst_start);
    CHECK(lapic_read(0x20) == lapic_id0, "LAPIC ID 0x%x, was 0x%x", lapic_read(0x20), lapic_id0);
    /* LAPIC timer, one-shot, 1 ms */
    lapic_write(0x320, V_TIMER);
    lapic_write(0x380, (uint32_t)lapic_timer_khz());
    CHECK(wait_irq(V_TIMER, 1, ms_ticks(50)), "no LAPIC timer interrupt within 50 ms");
    /* PIT through the PIC (IRQ 0, virtual wire) and through the IOAPIC (pin 2) */
    outb(0x21, 0xfe);
    pit_program(0, 0, 1193);
    CHECK(wait_irq(PIC_MASTER_BASE, 1, ms_ticks(50)), "no PIT interrupt through the PIC within 50 ms");
    outb(0x21, 0xff);
    ioapic_route(2, V_PIT_IOAPIC, 0);
    pit_program(0, 0, 1193);
    int pit_ioapic = wait_irq(V_PIT_IOAPIC, 1, ms_ticks(50));
    ioapic_route(2, 0x10000, 0);
    CHECK(pit_ioapic, "no PIT interrupt through the IOAPIC within 50 ms");
    CHECK(control_ipi(V_IPI), "self-IPI 0x%x not delivered", V_IPI);
    uint32_t ver = hypercall(HC_VERSION, 0);
    CHECK(ver == 0x000100u, "the version hypercall returned 0x%x", ver);
    CHECK(text_sum() == text_sum0, "the kernel's code or read-only data changed");
    return 0;
}

static int t_bursts(char *why)
{
    CHECK(hv_present(), "no hypervisor: this group fuzzes one");
    seed = boot.fuzz_seed;
    verbose = boot.fuzz_verbose;
    uint32_t bursts = boot.fuzz_bursts, ops = boot.fuzz_ops ? boot.fuzz_ops : DEFAULT_OPS;
    if (!bursts && !boot.fuzz_seconds)
        bursts = DEFAULT_BURSTS;
    uint64_t limit = boot.fuzz_seconds ? ms_ticks(1000) * boot.fuzz_seconds : 0, t0 = rdtsc();
    legacy_reset(0);
    save_state();
    trap_bail_hook = bail_note;
    uint32_t storms0 = irq_storms, storms = 0, interrupts = 0;
    quelled = 0;
    total_ops = 0;
    for (burst = boot.fuzz_from; (!bursts || burst < bursts) && (!limit || rdtsc() - t0 < limit); burst++) {
        /* Said first: should the VM stop or hang in the burst or its
         * checks, the log's last guest line names it. */
        kprintf("# fuzz: seed %u burst %u ops %u\n", seed, burst, ops);
        rng = (uint64_t)seed << 32 | burst;
        (void)rnd64();
        uint64_t start = rdtsc();
        op_why[0] = 0;
        phase = "";
        irqlog_reset();
        for (unsigned v = 0; v < 256; v++) {
            irq_hook[v] = fuzz_irq_hook;
            level_pin[v] = 0;
        }
        for (op_n = 0; op_n < ops && !op_why[0]; op_n++)
            run_op();
        total_ops += op_n;
        if (op_why[0]) {
            op_n--;
            print_ring(op_n);
            trap_bail_hook = 0;
            FAILF("seed %u burst %u op %u (%s): %s", seed, burst, op_n, op_names[ring[op_n % RING].kind],
                  op_why);
        }
        phase = " (after the burst: restoring or checking)";
        /* Storms the hook did not quiet (the guest's own guard masked
         * every source) come from the same random programming: counted,
         * not failures. */
        interrupts += irqlog.n;
        storms += irq_storms - storms0;
        irq_storms = storms0;
        char sub[WHY_MAX];
        if (restore_state(sub) || check_state(sub, start)) {
            print_ring(op_n - 1);
            trap_bail_hook = 0;
            FAILF("seed %u burst %u, after its %u ops: %s", seed, burst, op_n, sub);
        }
    }
    trap_bail_hook = 0;
    kprintf("# fuzz: seed %u done: %u bursts, %u ops, %u interrupts and NMIs taken during them "
            "(%u storms quieted at %u, %u at %u), %u ms of guest time\n",
            seed, burst - boot.fuzz_from, (uint32_t)total_ops, interrupts, quelled, FUZZ_STORM, storms,
            IRQ_STORM, (uint32_t)div64(rdtsc() - t0, ms_ticks(1)));
    return 0;
}

static const struct test_case cases[] = {
    { "seeded random bursts", t_bursts },
};

const struct test_group group_fuzz = { "fuzz", cases, sizeof(cases) / sizeof(cases[0]) };
