/* Group "paging": the hypervisor emulates MMIO and string I/O through the
 * guest's own page tables. testos turns on 32-bit paging (4 MiB pages for
 * RAM and the APIC area, identity-mapped) and maps the IOAPIC and LAPIC
 * pages a second time at other linear addresses, so the guest-physical
 * address of an access differs from its linear one and the instruction
 * itself can only be found through the page walk. Two RAM pages that are
 * not adjacent in guest-physical memory are mapped side by side, for
 * string I/O across a page boundary; a third linear page is left
 * not-present, for a fault part-way through a REP. The hypervisor's
 * pc-testdev read-back register (port 0xE0) and fw_cfg (0x510/0x511) are
 * the ports. The last test goes to 64-bit mode (longmode.asm) with 4-level
 * tables (2 MiB and 1 GiB pages) for 8-byte accesses and REX forms. */
#include "testos.h"

#define CR0_PG  0x80000000u
#define CR4_PSE 0x10u
#define PTE_P   1u
#define PTE_W   2u
#define PTE_PCD 0x10u
#define PDE_PS  0x80u

#define ALIAS        0x40000000u       /* linear page-table window */
#define ALIAS_IOAPIC (ALIAS + 0x0000u) /* -> 0xFEC00000 */
#define ALIAS_LAPIC  (ALIAS + 0x1000u) /* -> 0xFEE00000 */
#define ALIAS_BUF    (ALIAS + 0x2000u) /* -> buf_lo, then buf_hi: two pages */
#define ALIAS_HOLE   (ALIAS + 0x4000u) /* not present */

#define TESTDEV_SCRATCH 0xE0
#define FWCFG_SELECTOR  0x510
#define FWCFG_DATA      0x511

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[1024] __attribute__((aligned(4096)));
/* Two RAM pages with one page between them: adjacent linearly, not physically. */
static uint8_t buf_pages[3][4096] __attribute__((aligned(4096)));
#define buf_lo (buf_pages[0])
#define buf_hi (buf_pages[2])

static inline uint32_t read_cr0(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
static inline uint32_t read_cr2(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline uint32_t read_cr4(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

/* Identity 4 MiB pages for the first 64 MiB and the APIC area; the window
 * at ALIAS through a page table. */
static void paging_on(void)
{
    memset(pd, 0, sizeof(pd));
    memset(pt, 0, sizeof(pt));
    for (uint32_t i = 0; i < 16; i++)
        pd[i] = (i << 22) | PDE_PS | PTE_W | PTE_P;
    pd[IOAPIC_BASE >> 22] = (IOAPIC_BASE & 0xffc00000u) | PDE_PS | PTE_PCD | PTE_W | PTE_P;
    pd[ALIAS >> 22] = (uint32_t)(uintptr_t)pt | PTE_W | PTE_P;
    pt[0] = IOAPIC_BASE | PTE_PCD | PTE_W | PTE_P;
    pt[1] = LAPIC_BASE | PTE_PCD | PTE_W | PTE_P;
    pt[2] = (uint32_t)(uintptr_t)buf_lo | PTE_W | PTE_P;
    pt[3] = (uint32_t)(uintptr_t)buf_hi | PTE_W | PTE_P;
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((uint32_t)(uintptr_t)pd);
    write_cr0(read_cr0() | CR0_PG);
}

static void paging_off(void)
{
    write_cr0(read_cr0() & ~CR0_PG);
    write_cr4(read_cr4() & ~CR4_PSE);
}

#define MMIO32(a) (*(volatile uint32_t *)(uintptr_t)(a))
#define MMIO16(a) (*(volatile uint16_t *)(uintptr_t)(a))
#define MMIO8(a)  (*(volatile uint8_t *)(uintptr_t)(a))

static int t_ioapic_through_alias(char *why)
{
    legacy_reset(0);
    uint32_t ver = ioapic_read(1); /* paging off: the identity address */
    paging_on();
    MMIO8(ALIAS_IOAPIC) = 0x01;                 /* byte store to IOREGSEL */
    uint32_t v32 = MMIO32(ALIAS_IOAPIC + 0x10); /* dword load of IOWIN */
    uint16_t v16 = MMIO16(ALIAS_IOAPIC + 0x10); /* word load */
    uint8_t v8 = MMIO8(ALIAS_IOAPIC + 0x12);    /* byte load of bits 23:16 */
    uint32_t zx, sx;
    __asm__ volatile("movzbl (%1), %0" : "=r"(zx) : "r"(ALIAS_IOAPIC + 0x10));
    __asm__ volatile("movswl (%1), %0" : "=r"(sx) : "r"(ALIAS_IOAPIC + 0x10));
    paging_off();
    CHECK(v32 == ver, "dword read through the alias 0x%x, identity read 0x%x", v32, ver);
    CHECK(v16 == (ver & 0xffff), "word read 0x%x", v16);
    CHECK(v8 == ((ver >> 16) & 0xff), "byte read of bits 23:16 gave 0x%x", v8);
    CHECK(zx == (ver & 0xff), "movzx gave 0x%x", zx);
    CHECK(sx == (uint32_t)(int32_t)(int16_t)(ver & 0xffff), "movsx gave 0x%x", sx);
    return 0;
}

/* Read-modify-write ALU instructions on a redirection entry through the
 * alias: OR sets the mask, AND clears it, XOR flips the vector, ADD and
 * SUB change it; CMP and TEST set the flags the CPU would. */
static int t_ioapic_alu_rmw(char *why)
{
    legacy_reset(0);
    ioapic_route(7, 0x10000u | 0x40, 0);
    paging_on();
    MMIO32(ALIAS_IOAPIC) = 0x10 + 2 * 7;
    uint32_t win = ALIAS_IOAPIC + 0x10, after_and, after_or, after_xor, after_add, after_sub;
    uint8_t eq, zf, cf;
    __asm__ volatile("andl $0xfffeffff, (%0)" ::"r"(win) : "memory", "cc");
    after_and = MMIO32(win);
    __asm__ volatile("orl $0x10000, (%0)" ::"r"(win) : "memory", "cc");
    after_or = MMIO32(win);
    __asm__ volatile("xorb $0x0f, (%0)" ::"r"(win) : "memory", "cc");
    after_xor = MMIO32(win);
    __asm__ volatile("addl %1, (%0)" ::"r"(win), "r"(0x11u) : "memory", "cc");
    after_add = MMIO32(win);
    __asm__ volatile("subb $0x20, (%0)" ::"r"(win) : "memory", "cc");
    after_sub = MMIO32(win);
    __asm__ volatile("cmpl $0x10040, (%1); sete %0" : "=q"(eq) : "r"(win) : "cc");
    __asm__ volatile("testl $0x8000, (%1); setz %0" : "=q"(zf) : "r"(win) : "cc");
    __asm__ volatile("cmpb $0x41, (%1); setc %0" : "=q"(cf) : "r"(win) : "cc");
    uint32_t reg_or = 0x100;
    __asm__ volatile("orl (%1), %0" : "+r"(reg_or) : "r"(win) : "cc"); /* memory is the source */
    uint32_t identity = 0;
    paging_off();
    identity = ioapic_read(0x10 + 2 * 7);
    ioapic_route(7, 0x10000u, 0);
    CHECK(after_and == 0x40, "AND left 0x%x, expected 0x40", after_and);
    CHECK(after_or == 0x10040, "OR left 0x%x, expected 0x10040", after_or);
    CHECK(after_xor == 0x1004f, "XOR (byte) left 0x%x, expected 0x1004f", after_xor);
    CHECK(after_add == 0x10060, "ADD left 0x%x, expected 0x10060", after_add);
    CHECK(after_sub == 0x10040, "SUB (byte) left 0x%x, expected 0x10040", after_sub);
    CHECK(eq == 1, "CMP of equal values did not set ZF");
    CHECK(zf == 1, "TEST of a clear bit did not set ZF");
    CHECK(cf == 1, "CMP 0x40 - 0x41 did not set CF");
    CHECK(reg_or == 0x10140, "OR with memory as the source gave 0x%x", reg_or);
    CHECK(identity == 0x10040, "the identity mapping sees 0x%x", identity);
    return 0;
}

static int t_lapic_through_alias(char *why)
{
    legacy_reset(0);
    uint32_t ver = lapic_read(0x30);
    paging_on();
    uint32_t v = MMIO32(ALIAS_LAPIC + 0x30);
    MMIO32(ALIAS_LAPIC + 0x80) = 0x20; /* TPR */
    uint32_t tpr1 = MMIO32(ALIAS_LAPIC + 0x80);
    __asm__ volatile("orl $0x10, (%0)" ::"r"(ALIAS_LAPIC + 0x80) : "memory", "cc");
    uint32_t tpr2 = MMIO32(ALIAS_LAPIC + 0x80);
    uint8_t tpr_byte = MMIO8(ALIAS_LAPIC + 0x80);
    MMIO32(ALIAS_LAPIC + 0x80) = 0;
    paging_off();
    uint32_t tpr3 = lapic_read(0x80);
    CHECK(v == ver, "version through the alias 0x%x, identity 0x%x", v, ver);
    CHECK(tpr1 == 0x20, "TPR reads 0x%x after writing 0x20", tpr1);
    CHECK(tpr2 == 0x30, "TPR reads 0x%x after OR 0x10", tpr2);
    CHECK(tpr_byte == 0x30, "byte read of TPR gave 0x%x", tpr_byte);
    CHECK(tpr3 == 0, "TPR through the identity mapping 0x%x after clearing", tpr3);
    return 0;
}

/* rep insb from fw_cfg's signature item into a buffer that crosses from
 * one page to the other: "QE" at the end of the first, "MU" at the start
 * of the second, with RDI and RCX advanced as the CPU does. */
static int t_rep_ins_across_pages(char *why)
{
    legacy_reset(0);
    memset(buf_lo, 0, 4096);
    memset(buf_hi, 0, 4096);
    outw(FWCFG_SELECTOR, 0);
    paging_on();
    uint32_t edi = ALIAS_BUF + 4094, ecx = 4;
    __asm__ volatile("cld; rep insb" : "+D"(edi), "+c"(ecx) : "d"(FWCFG_DATA) : "memory");
    paging_off();
    CHECK(ecx == 0 && edi == ALIAS_BUF + 4098, "ECX %u, EDI 0x%x after the REP", ecx, edi);
    CHECK(buf_lo[4094] == 'Q' && buf_lo[4095] == 'E', "end of the first page: '%c%c'", buf_lo[4094],
          buf_lo[4095]);
    CHECK(buf_hi[0] == 'M' && buf_hi[1] == 'U', "start of the second page: '%c%c'", buf_hi[0], buf_hi[1]);
    CHECK(buf_pages[1][0] == 0, "the physical page between them was written");
    return 0;
}

/* rep outsw backwards (DF=1) across the boundary into the read-back
 * register: the last word sent is the lowest one. */
static int t_rep_outs_backwards(char *why)
{
    legacy_reset(0);
    buf_lo[4094] = 0x34;
    buf_lo[4095] = 0x12;
    buf_hi[0] = 0x78;
    buf_hi[1] = 0x56;
    outl(TESTDEV_SCRATCH, 0);
    paging_on();
    uint32_t esi = ALIAS_BUF + 4096, ecx = 2;
    __asm__ volatile("std; rep outsw; cld" : "+S"(esi), "+c"(ecx) : "d"(TESTDEV_SCRATCH) : "memory");
    paging_off();
    uint32_t got = inl(TESTDEV_SCRATCH);
    CHECK(ecx == 0 && esi == ALIAS_BUF + 4092, "ECX %u, ESI 0x%x after the REP", ecx, esi);
    CHECK(got == 0x1234, "the read-back register holds 0x%x, expected 0x1234 (the last word)", got);
    return 0;
}

/* A REP OUTS that runs into a not-present page: #PF with CR2 at the start
 * of that page, error code "not present, read, supervisor", and ESI/ECX
 * counting exactly the elements sent before it. */
static int t_rep_outs_faults_partway(char *why)
{
    legacy_reset(0);
    buf_hi[4094] = 0xaa;
    buf_hi[4095] = 0xbb;
    outl(TESTDEV_SCRATCH, 0);
    paging_on();
    uint32_t esi = ALIAS_BUF + 4096 + 4094, ecx = 5;
    trap_arm(2); /* f3 6e: resume after the rep outsb */
    __asm__ volatile("cld; rep outsb" : "+S"(esi), "+c"(ecx) : "d"(TESTDEV_SCRATCH) : "memory");
    trap_disarm();
    uint32_t cr2 = read_cr2();
    paging_off();
    uint32_t got = inl(TESTDEV_SCRATCH) & 0xff;
    CHECK(last_trap.taken == 1 && last_trap.vector == 14, "%d traps, vector %u (expected one #PF)",
          last_trap.taken, last_trap.vector);
    CHECK(last_trap.error == 0, "error code 0x%x, expected 0 (not present, read, supervisor)",
          last_trap.error);
    CHECK(cr2 == ALIAS_HOLE, "CR2 0x%x, expected 0x%x", cr2, ALIAS_HOLE);
    CHECK(esi == ALIAS_HOLE && ecx == 3, "ESI 0x%x ECX %u, expected 0x%x and 3", esi, ecx, ALIAS_HOLE);
    CHECK(got == 0xbb, "last byte sent 0x%x, expected 0xbb", got);
    return 0;
}

/* ---- 64-bit mode (longmode.asm) ---- */

void lm_mmio_routine(void);
uint64_t lm_results[8];

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd_low[512] __attribute__((aligned(4096)));
static uint64_t pd_alias[512] __attribute__((aligned(4096)));
static uint64_t pt_alias[512] __attribute__((aligned(4096)));

/* 4-level tables: 2 MiB pages for the first 64 MiB, one 1 GiB page for
 * 3-4 GiB (the APIC area, uncached), and the same 4 KiB window at ALIAS. */
uint32_t long_mode_tables(void)
{
    memset(pml4, 0, sizeof(pml4));
    memset(pdpt, 0, sizeof(pdpt));
    memset(pd_low, 0, sizeof(pd_low));
    memset(pd_alias, 0, sizeof(pd_alias));
    memset(pt_alias, 0, sizeof(pt_alias));
    pml4[0] = (uint32_t)(uintptr_t)pdpt | PTE_W | PTE_P;
    pdpt[0] = (uint32_t)(uintptr_t)pd_low | PTE_W | PTE_P;
    pdpt[1] = (uint32_t)(uintptr_t)pd_alias | PTE_W | PTE_P;
    pdpt[3] = 0xC0000000ull | PDE_PS | PTE_PCD | PTE_W | PTE_P;
    for (uint32_t i = 0; i < 32; i++)
        pd_low[i] = ((uint64_t)i << 21) | PDE_PS | PTE_W | PTE_P;
    pd_alias[0] = (uint32_t)(uintptr_t)pt_alias | PTE_W | PTE_P;
    pt_alias[0] = IOAPIC_BASE | PTE_PCD | PTE_W | PTE_P;
    pt_alias[1] = LAPIC_BASE | PTE_PCD | PTE_W | PTE_P;
    return (uint32_t)(uintptr_t)pml4;
}

static int t_long_mode_8byte(char *why)
{
    legacy_reset(0);
    uint32_t ver = ioapic_read(1);
    uint32_t after = *(volatile uint32_t *)(IOAPIC_BASE + 0x14);
    uint32_t lver = lapic_read(0x30);
    memset(lm_results, 0xee, sizeof(lm_results));
    lm_call(long_mode_tables(), lm_mmio_routine);
    uint32_t tpr = lapic_read(0x80), sel = *(volatile uint32_t *)IOAPIC_BASE;
    CHECK((uint32_t)lm_results[0] == ver && (uint32_t)(lm_results[0] >> 32) == after,
          "8-byte IOWIN load 0x%x%08x, expected 0x%x%08x", (uint32_t)(lm_results[0] >> 32),
          (uint32_t)lm_results[0], after, ver);
    CHECK(lm_results[1] == lver, "r10d <- LAPIC version 0x%x, expected 0x%x", (uint32_t)lm_results[1], lver);
    CHECK(lm_results[2] == 0x30, "TPR after an 8-byte OR 0x%x%08x, expected 0x30",
          (uint32_t)(lm_results[2] >> 32), (uint32_t)lm_results[2]);
    CHECK(lm_results[3] == lver, "SIB load 0x%x, expected 0x%x", (uint32_t)lm_results[3], lver);
    CHECK(lm_results[4] == 0x40, "byte load after a word store 0x%x, expected 0x40", (uint32_t)lm_results[4]);
    CHECK(tpr == 0 && sel == 0, "TPR 0x%x and IOREGSEL 0x%x after the routine, expected 0", tpr, sel);
    CHECK(lm_results[5] == 0x104 && lm_results[6] == 0,
          "fs rep outsb left RSI 0x%x RCX %u, "
          "expected 0x104 and 0",
          (uint32_t)lm_results[5], (uint32_t)lm_results[6]);
    CHECK((lm_results[7] & 0xff) == 0x44,
          "fs rep outsb sent 0x%x last, expected 0x44 (FS base "
          "ignored?)",
          (uint32_t)lm_results[7] & 0xff);
    return 0;
}

/* PAE paging (2 MiB pages) turned on by a MOV to CR0 that also flips NE,
 * a bit the hypervisor owns, so that the write exits and is emulated: with
 * EPT, VM entry takes the PDPTEs from the VMCS, so the emulation must load
 * them from CR3 as the CPU would (else the next fetch finds no mapping).
 * A present PDPTE with a reserved bit makes the same MOV #GP, emulated or
 * executed by the CPU itself (without the NE flip). */
static uint64_t pae_pdpt[4] __attribute__((aligned(32)));
static uint64_t pae_pd[2][512] __attribute__((aligned(4096))); /* 0-1 GiB, 3-4 GiB */
#define CR0_NE  0x20u
#define CR4_PAE 0x20u

static int t_pae_pdptes(char *why)
{
    memset(pae_pd, 0, sizeof(pae_pd));
    for (uint32_t i = 0; i < 32; i++)
        pae_pd[0][i] = (i << 21) | PDE_PS | PTE_W | PTE_P;
    pae_pd[1][(IOAPIC_BASE >> 21) & 511] = (IOAPIC_BASE & ~0x1fffffu) | PDE_PS | PTE_PCD | PTE_W | PTE_P;
    pae_pd[1][(LAPIC_BASE >> 21) & 511] = (LAPIC_BASE & ~0x1fffffu) | PDE_PS | PTE_PCD | PTE_W | PTE_P;
    pae_pdpt[0] = (uint32_t)(uintptr_t)pae_pd[0] | PTE_P;
    pae_pdpt[1] = pae_pdpt[2] = 0;
    pae_pdpt[3] = (uint32_t)(uintptr_t)pae_pd[1] | PTE_P;
    uint32_t cr0 = read_cr0(), cr4 = read_cr4();
    CHECK(!(cr0 & CR0_PG), "paging already on (CR0 0x%x)", cr0);
    write_cr4(cr4 | CR4_PAE);
    write_cr3((uint32_t)(uintptr_t)pae_pdpt);
    write_cr0((cr0 ^ CR0_NE) | CR0_PG); /* exits: NE is the hypervisor's */
    uint32_t on = read_cr0(), version = MMIO32(LAPIC_BASE + 0x30) & 0xff;
    write_cr0(cr0);
    write_cr4(cr4);
    CHECK(on & CR0_PG, "CR0 0x%x after turning PAE paging on", on);
    CHECK(version >= 0x10, "LAPIC version 0x%x read through PAE paging", version);

    static const struct {
        uint32_t flip;
        const char *how;
    } ways[] = {
        { CR0_NE, "emulated (NE flipped)" },
        { 0, "executed by the CPU" },
    };
    for (unsigned w = 0; w < 2; w++) {
        pae_pdpt[1] = (uint32_t)(uintptr_t)pae_pd[0] | PTE_W | PTE_P; /* R/W is reserved in a PDPTE */
        write_cr4(cr4 | CR4_PAE);
        trap_arm(3); /* mov %r32, %cr0: 0f 22 /r */
        write_cr0((cr0 ^ ways[w].flip) | CR0_PG);
        trap_disarm();
        uint32_t now = read_cr0();
        write_cr0(cr0);
        write_cr4(cr4);
        pae_pdpt[1] = 0;
        CHECK(last_trap.taken == 1 && last_trap.vector == 13, "PDPTE with R/W set, MOV to CR0 %s: %s %u",
              ways[w].how, last_trap.taken ? "vector" : "no #GP, vector", last_trap.vector);
        CHECK(!(now & CR0_PG), "paging on (CR0 0x%x) after the refused MOV to CR0 %s", now, ways[w].how);
    }
    return 0;
}

static const struct test_case cases[] = {
    { "IOAPIC through a second mapping: byte, word, dword, movzx, movsx", t_ioapic_through_alias },
    { "IOAPIC redirection entry changed by AND/OR/XOR/ADD/SUB, CMP/TEST flags", t_ioapic_alu_rmw },
    { "LAPIC through a second mapping: version, TPR, OR on TPR", t_lapic_through_alias },
    { "rep insb across a page boundary (fw_cfg signature)", t_rep_ins_across_pages },
    { "rep outsw with DF=1 across a page boundary", t_rep_outs_backwards },
    { "rep outsb into a not-present page: #PF, CR2, ESI/ECX part-way", t_rep_outs_faults_partway },
    { "PAE paging turned on by an emulated MOV to CR0: PDPTEs loaded, a reserved bit in one is #GP",
      t_pae_pdptes },
    { "64-bit mode, 4-level paging: 8-byte, REX, SIB, 8-byte OR on both APICs; FS: rep outsb",
      t_long_mode_8byte },
};
const struct test_group group_paging = { "paging", cases, sizeof(cases) / sizeof(cases[0]) };
