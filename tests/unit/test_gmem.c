/* Unit tests: the guest memory layer (vmx/gmem.c).
 *
 * Each test builds page tables in an 8 MiB calloc'd "guest RAM" with the
 * map helpers below (every entry P, R/W, U/S unless a test changes one
 * bit afterwards), walks them, and checks the address, the fault (vector,
 * error code, CR2) and the accessed/dirty bits against the Intel SDM
 * Vol. 3 chapter 4. Bit values are spelled out here, not taken from
 * gmem.c, so a wrong constant there makes a test fail. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmx/gmem.h"
#include "../../arch/x86/regs.h"

#define RAM_SIZE     (8ull << 20)
#define TABLES_START 0x10000ull  /* page tables are allocated from here up */
#define DATA         0x200000ull /* 4 KiB data pages from here up */

#define P         (1ull << 0)
#define RW        (1ull << 1)
#define US        (1ull << 2)
#define PWT       (1ull << 3)
#define PCD       (1ull << 4)
#define A         (1ull << 5)
#define D         (1ull << 6)
#define PS        (1ull << 7)
#define XD        (1ull << 63)
#define ADDR_MASK 0x000FFFFFFFFFF000ull

#define AR_DATA_RW   0x93u /* present, S, data read/write, accessed */
#define AR_DATA_RO   0x91u /* present, S, data read-only, accessed */
#define AR_DATA_DOWN 0x97u /* present, S, data read/write expand-down */
#define AR_CODE_RX   0x9Bu /* present, S, code execute/read */
#define AR_CODE_X    0x99u /* present, S, code execute-only */
#define AR_DB        (1u << 14)
#define AR_UNUSABLE  (1u << 16)

static uint8_t *ram;
static struct gmem_view v;
static uint64_t next_table;

/* The entries a map helper used, top level first. */
struct map {
    uint64_t e[5];
    unsigned n;
    unsigned width; /* 4 or 8 */
};

static int setup(void **s)
{
    (void)s;
    ram = calloc(1, RAM_SIZE);
    assert_non_null(ram);
    memset(&v, 0, sizeof(v));
    v.ram = ram;
    v.ram_size = RAM_SIZE;
    v.cr0 = CR0_PE;
    next_table = TABLES_START;
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    free(ram);
    ram = NULL;
    return 0;
}

static uint64_t get64(uint64_t gpa)
{
    uint64_t x;
    memcpy(&x, ram + gpa, 8);
    return x;
}

static void put64(uint64_t gpa, uint64_t x) { memcpy(ram + gpa, &x, 8); }

static uint32_t get32(uint64_t gpa)
{
    uint32_t x;
    memcpy(&x, ram + gpa, 4);
    return x;
}

static void put32(uint64_t gpa, uint32_t x) { memcpy(ram + gpa, &x, 4); }

/* A fresh zeroed page for a paging structure. */
static uint64_t new_table(void)
{
    uint64_t t = next_table;

    next_table += 0x1000;
    assert_true(next_table <= DATA);
    return t;
}

/* Entry i of a mapping (0 = top level). */
static uint64_t ent(const struct map *m, unsigned i)
{
    assert_true(i < m->n);
    return m->width == 4 ? get32(m->e[i]) : get64(m->e[i]);
}

static void ent_write(const struct map *m, unsigned i, uint64_t x)
{
    assert_true(i < m->n);
    if (m->width == 4)
        put32(m->e[i], (uint32_t)x);
    else
        put64(m->e[i], x);
}

static void ent_set(const struct map *m, unsigned i, uint64_t b) { ent_write(m, i, ent(m, i) | b); }

static void ent_clear(const struct map *m, unsigned i, uint64_t b) { ent_write(m, i, ent(m, i) & ~b); }

/* Clears the accessed and dirty bits of every entry of m. */
static void clear_ad(const struct map *m)
{
    for (unsigned i = 0; i < m->n; i++)
        ent_clear(m, i, A | D);
}

/* ---- paging modes ---- */

static void mode_none(void)
{
    v.cr0 = CR0_PE;
    v.cr4 = 0;
    v.efer = 0;
}

static void mode_32(int pse)
{
    v.cr0 = CR0_PE | CR0_PG | CR0_WP;
    v.cr4 = pse ? CR4_PSE : 0;
    v.efer = 0;
    v.cr3 = new_table() | PWT | PCD;
}

/* PAE: the PDPT sits 0x40 into its page, CR3 bits 31:5 point at it. */
static void mode_pae(void)
{
    v.cr0 = CR0_PE | CR0_PG | CR0_WP;
    v.cr4 = CR4_PAE;
    v.efer = 0;
    v.cr3 = (new_table() + 0x40) | PWT | PCD;
}

static void mode_long(int levels)
{
    v.cr0 = CR0_PE | CR0_PG | CR0_WP;
    v.cr4 = CR4_PAE | (levels == 5 ? CR4_LA57 : 0);
    v.efer = EFER_LME | EFER_LMA;
    v.cr3 = new_table() | PWT;
}

/* The table an 8-byte entry points to, made if it points nowhere yet;
 * the entry gets flags. */
static uint64_t child64(uint64_t egpa, uint64_t flags)
{
    uint64_t t = get64(egpa) & ADDR_MASK;

    if (t == 0)
        t = new_table();
    put64(egpa, t | flags);
    return t;
}

/* Maps linear to gpa with a page of 1 << shift bytes in the current PAE,
 * 4-level or 5-level mode. */
static struct map map64(uint64_t linear, uint64_t gpa, unsigned shift)
{
    struct map m = { .width = 8 };
    uint64_t table;
    unsigned s;

    if (!(v.efer & EFER_LMA)) {
        uint64_t pdpte = (v.cr3 & 0xFFFFFFE0) + ((linear >> 30) & 3) * 8;
        m.e[m.n++] = pdpte;
        table = child64(pdpte, P);
        s = 21;
    } else {
        table = v.cr3 & ADDR_MASK;
        s = (v.cr4 & CR4_LA57) ? 48 : 39;
    }
    for (;; s -= 9) {
        uint64_t egpa = table + ((linear >> s) & 511) * 8;
        m.e[m.n++] = egpa;
        if (s == shift) {
            put64(egpa, gpa | P | RW | US | (s > 12 ? PS : 0));
            return m;
        }
        table = child64(egpa, P | RW | US);
    }
}

/* Maps linear to gpa in 32-bit paging, with a 4 MiB page if large. */
static struct map map32(uint32_t linear, uint32_t gpa, int large)
{
    struct map m = { .width = 4 };
    uint64_t pde = (v.cr3 & 0xFFFFF000) + (linear >> 22) * 4;

    m.e[m.n++] = pde;
    if (large) {
        put32(pde, gpa | (uint32_t)(P | RW | US | PS));
        return m;
    }
    uint64_t pt = get32(pde) & 0xFFFFF000;
    if (pt == 0)
        pt = new_table();
    put32(pde, (uint32_t)(pt | P | RW | US));
    uint64_t pte = pt + ((linear >> 12) & 0x3FF) * 4;
    m.e[m.n++] = pte;
    put32(pte, gpa | (uint32_t)(P | RW | US));
    return m;
}

/* ---- checking helpers ---- */

/* Translates and expects success; returns the gpa. */
static uint64_t xlate(uint64_t linear, unsigned access)
{
    struct gmem_fault f;
    uint64_t gpa = 0xdead;
    int rc = gmem_translate(&v, linear, access, &gpa, &f);

    if (rc != GMEM_OK)
        fail_msg("translate 0x%llx: rc %d vector %u error 0x%x", (unsigned long long)linear, rc, f.vector,
                 f.error);
    return gpa;
}

/* Translates and expects #PF with error code err and CR2 = cr2. */
static void expect_pf_at(uint64_t linear, unsigned access, uint32_t err, uint64_t cr2)
{
    struct gmem_fault f;
    uint64_t gpa = 0xdead;

    memset(&f, 0x5a, sizeof(f));
    assert_int_equal(gmem_translate(&v, linear, access, &gpa, &f), GMEM_FAULT);
    assert_int_equal(f.vector, 14);
    assert_int_equal(f.has_error, 1);
    assert_int_equal(f.error, err);
    assert_int_equal(f.cr2, cr2);
    assert_int_equal(f.gpa, 0);
    assert_int_equal(gpa, 0xdead);
}

static void expect_pf(uint64_t linear, unsigned access, uint32_t err)
{
    expect_pf_at(linear, access, err, linear);
}

/* Translates and expects #GP(0). */
static void expect_gp(uint64_t linear, unsigned access)
{
    struct gmem_fault f;
    uint64_t gpa = 0xdead;

    assert_int_equal(gmem_translate(&v, linear, access, &gpa, &f), GMEM_FAULT);
    assert_int_equal(f.vector, 13);
    assert_int_equal(f.has_error, 1);
    assert_int_equal(f.error, 0);
    assert_int_equal(f.cr2, 0);
}

/* Translates and expects GMEM_NOT_RAM at gpa. */
static void expect_not_ram(uint64_t linear, unsigned access, uint64_t gpa)
{
    struct gmem_fault f;
    uint64_t out = 0xdead;

    assert_int_equal(gmem_translate(&v, linear, access, &out, &f), GMEM_NOT_RAM);
    assert_int_equal(f.gpa, gpa);
    assert_int_equal(f.vector, 0);
    assert_int_equal(out, 0xdead);
}

/* ---- no paging ---- */

static void test_nopaging_identity(void **s)
{
    (void)s;
    mode_none();
    v.cpl = 3;
    assert_int_equal(xlate(0x12345, 0), 0x12345);
    assert_int_equal(xlate(0x12345, GMEM_WRITE), 0x12345);
    assert_int_equal(xlate(0xFEE00000, GMEM_FETCH), 0xFEE00000); /* not RAM: still translated */
    assert_int_equal(xlate(0x100001234ull, 0), 0x1234);          /* 32-bit linear addresses */
}

static void test_nopaging_read_write(void **s)
{
    (void)s;
    mode_none();
    uint8_t out[6] = { 1, 2, 3, 4, 5, 6 }, in[6] = { 0 };
    struct gmem_fault f;
    assert_int_equal(gmem_write(&v, 0x1FFD, out, 6, &f), GMEM_OK);
    assert_memory_equal(ram + 0x1FFD, out, 6);
    assert_int_equal(gmem_read(&v, 0x1FFD, in, 6, 0, &f), GMEM_OK);
    assert_memory_equal(in, out, 6);
}

/* ---- 32-bit paging ---- */

static void test_32bit_4k(void **s)
{
    (void)s;
    mode_32(0);
    struct map m = map32(0x00401000, DATA + 0x5000, 0);
    assert_int_equal(xlate(0x00401234, 0), DATA + 0x5234);
    assert_int_equal(xlate(0x00401FFF, GMEM_FETCH), DATA + 0x5FFF);
    expect_pf(0x00402000, 0, 0); /* next PTE empty */
    expect_pf(0x00801000, 0, 0); /* next PDE empty */
    (void)m;
}

static void test_32bit_accessed_dirty(void **s)
{
    (void)s;
    mode_32(0);
    struct map m = map32(0x00401000, DATA, 0);
    xlate(0x00401000, 0);
    assert_int_equal(ent(&m, 0), (m.e[1] & ~0xFFFull) | P | RW | US | A);
    assert_int_equal(ent(&m, 1), DATA | P | RW | US | A);
    xlate(0x00401000, GMEM_WRITE);
    assert_int_equal(ent(&m, 0) & (A | D), A); /* D only on the leaf */
    assert_int_equal(ent(&m, 1), DATA | P | RW | US | A | D);
}

static void test_32bit_4m_pse(void **s)
{
    (void)s;
    mode_32(1);
    struct map m = map32(0x00C00000, 0x00400000, 1);
    assert_int_equal(xlate(0x00C12345, 0), 0x00412345);
    assert_int_equal(xlate(0x00FFFFFF, GMEM_WRITE), 0x007FFFFF);
    assert_int_equal(ent(&m, 0), 0x00400000 | P | RW | US | PS | A | D);
}

static void test_32bit_ps_ignored_without_pse(void **s)
{
    (void)s;
    mode_32(0);
    struct map m = map32(0x00401000, DATA + 0x3000, 0);
    ent_set(&m, 0, PS); /* CR4.PSE = 0: PS is ignored, the PDE still points to a page table */
    assert_int_equal(xlate(0x00401010, 0), DATA + 0x3010);
}

static void test_32bit_4m_pse36_high_bits(void **s)
{
    (void)s;
    mode_32(1);
    struct map m = map32(0x00C00000, 0x00400000, 1);
    ent_set(&m, 0, 0x5ull << 13); /* PDE bits 15 and 13: address bits 34 and 32 */
    assert_int_equal(xlate(0x00C00010, 0), 0x500400010ull);
    v.maxphyaddr = 36; /* bits 20:17 of the PDE become reserved */
    assert_int_equal(xlate(0x00C00010, 0), 0x500400010ull);
    ent_set(&m, 0, 1ull << 17);
    expect_pf(0x00C00010, 0, PF_P | PF_RSVD);
}

static void test_32bit_4m_bit21_reserved(void **s)
{
    (void)s;
    mode_32(1);
    struct map m = map32(0x00C00000, 0x00400000, 1);
    ent_set(&m, 0, 1ull << 21);
    expect_pf(0x00C00000, GMEM_WRITE, PF_P | PF_RSVD | PF_W);
    assert_int_equal(ent(&m, 0) & (A | D), 0);
}

static void test_32bit_linear_truncated(void **s)
{
    (void)s;
    mode_32(0);
    map32(0x00401000, DATA, 0);
    assert_int_equal(xlate(0x700401234ull, 0), DATA + 0x234);
    expect_pf_at(0x700402000ull, 0, 0, 0x00402000); /* CR2 holds the 32-bit address */
}

static void test_32bit_not_present_each_level(void **s)
{
    (void)s;
    mode_32(0);
    struct map m = map32(0x00401000, DATA, 0);
    v.cpl = 3;
    for (unsigned i = 0; i < 2; i++) {
        ent_clear(&m, i, P);
        expect_pf(0x00401008, GMEM_WRITE, PF_W | PF_U);
        ent_set(&m, i, P);
    }
    xlate(0x00401008, GMEM_WRITE);
}

/* 32-bit paging has no XD bit: NXE alone never sets I/D, SMEP does. */
static void test_32bit_fetch_error_code(void **s)
{
    (void)s;
    mode_32(0);
    v.efer = EFER_NXE;
    expect_pf(0x00401000, GMEM_FETCH, 0);
    v.cr4 |= CR4_SMEP;
    expect_pf(0x00401000, GMEM_FETCH, PF_I);
}

/* ---- PAE paging ---- */

static void test_pae_4k(void **s)
{
    (void)s;
    mode_pae();
    struct map m = map64(0xC0201000, DATA + 0x7000, 12);
    assert_int_equal(m.n, 3);
    assert_int_equal(xlate(0xC0201ABC, 0), DATA + 0x7ABC);
    assert_int_equal(xlate(0x7C0201ABCull, GMEM_WRITE), DATA + 0x7ABC); /* 32-bit linear */
    assert_int_equal(ent(&m, 0) & (A | D), 0);                          /* PDPTE: no A bit */
    assert_int_equal(ent(&m, 1) & (A | D), A);
    assert_int_equal(ent(&m, 2) & (A | D), A | D);
    expect_pf(0x80201000, 0, 0); /* another PDPTE, not present */
}

static void test_pae_2m(void **s)
{
    (void)s;
    mode_pae();
    struct map m = map64(0x40200000, 0x400000, 21);
    ent_set(&m, 1, 1ull << 12); /* PAT: not an address bit */
    assert_int_equal(xlate(0x402ABCDE, GMEM_WRITE), 0x4ABCDE);
    assert_int_equal(ent(&m, 1) & (A | D), A | D);
}

static void test_pae_pdpte_reserved_bits(void **s)
{
    (void)s;
    static const uint64_t rsvd[] = { RW, US, A, PS, 1ull << 8, 1ull << 52, XD };
    mode_pae();
    v.efer = EFER_NXE; /* XD is reserved in a PDPTE all the same */
    struct map m = map64(0x00001000, DATA, 12);
    for (unsigned i = 0; i < sizeof(rsvd) / sizeof(rsvd[0]); i++) {
        ent_set(&m, 0, rsvd[i]);
        expect_pf(0x00001000, 0, PF_P | PF_RSVD);
        ent_clear(&m, 0, rsvd[i]);
    }
    ent_set(&m, 0, PWT | PCD | (7ull << 9)); /* allowed bits */
    assert_int_equal(xlate(0x00001000, 0), DATA);
}

static void test_pae_2m_reserved_bits(void **s)
{
    (void)s;
    mode_pae();
    struct map m = map64(0x00200000, 0x400000, 21);
    ent_set(&m, 1, 1ull << 13);
    expect_pf(0x00200000, 0, PF_P | PF_RSVD);
    ent_clear(&m, 1, 1ull << 13);
    ent_set(&m, 1, 1ull << 20);
    expect_pf(0x00200000, 0, PF_P | PF_RSVD);
}

/* The PDPTEs MOV to CR0/CR4 loads: all four, from CR3 bits 31:5; a
 * present one with a reserved bit is #GP(0), a not-present one may hold
 * anything; a table outside RAM is GMEM_NOT_RAM. */
static void test_pae_pdptes_load(void **s)
{
    (void)s;
    mode_pae();
    struct map m = map64(0xC0001000, DATA, 12); /* fills PDPTE 3 */
    uint64_t p[4];
    struct gmem_fault f;
    assert_int_equal(gmem_pae_pdptes(&v, p, &f), GMEM_OK);
    assert_int_equal(p[3], ent(&m, 0));
    assert_int_equal(p[0] | p[1] | p[2], 0);
    uint64_t *pdpt = (uint64_t *)(ram + (v.cr3 & 0xFFFFFFE0u));
    pdpt[1] = 0xdeadbeef0ull; /* not present: ignored */
    assert_int_equal(gmem_pae_pdptes(&v, p, &f), GMEM_OK);
    assert_int_equal(p[1], 0xdeadbeef0ull);
    static const uint64_t rsvd[] = { RW, US, PS, 1ull << 8, 1ull << 52, XD };
    for (unsigned i = 0; i < sizeof(rsvd) / sizeof(rsvd[0]); i++) {
        pdpt[2] = 0x5000 | P | rsvd[i];
        assert_int_equal(gmem_pae_pdptes(&v, p, &f), GMEM_FAULT);
        assert_int_equal(f.vector, 13);
        assert_int_equal(f.error, 0);
    }
    pdpt[2] = 0x5000 | P | PWT | PCD | (7ull << 9);
    assert_int_equal(gmem_pae_pdptes(&v, p, &f), GMEM_OK);
    v.cr3 = v.ram_size; /* the table lies past the end of RAM */
    assert_int_equal(gmem_pae_pdptes(&v, p, &f), GMEM_NOT_RAM);
    assert_int_equal(f.gpa, v.ram_size);
}

/* PAE reserves PDE/PTE bits 62:MAXPHYADDR; 4-level ignores 62:52. */
static void test_pae_high_bits_reserved(void **s)
{
    (void)s;
    mode_pae();
    struct map m = map64(0x00001000, DATA, 12);
    ent_set(&m, 2, 1ull << 60);
    expect_pf(0x00001000, 0, PF_P | PF_RSVD);
    ent_clear(&m, 2, 1ull << 60);
    v.maxphyaddr = 36;
    ent_set(&m, 1, 1ull << 40);
    expect_pf(0x00001000, 0, PF_P | PF_RSVD);
    ent_clear(&m, 1, 1ull << 40);
    assert_int_equal(xlate(0x00001000, 0), DATA);
}

/* ---- 4-level and 5-level paging ---- */

static void test_4level_4k(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0xFFFF800000201000ull, DATA + 0x1000, 12);
    assert_int_equal(m.n, 4);
    assert_int_equal(xlate(0xFFFF800000201FF8ull, 0), DATA + 0x1FF8);
    expect_pf(0xFFFF800000202000ull, 0, 0);
    expect_pf(0x0000000000201000ull, 0, 0); /* another PML4E */
}

static void test_4level_2m(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x0000004000200000ull, 0x600000, 21);
    assert_int_equal(m.n, 3);
    ent_set(&m, 2, 1ull << 12); /* PAT */
    assert_int_equal(xlate(0x00000040002FEDCBull, 0), 0x6FEDCB);
}

static void test_4level_1g(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x0000000040000000ull, 0x40000000, 30);
    assert_int_equal(m.n, 2);
    assert_int_equal(xlate(0x0000000040123456ull, 0), 0x40123456); /* beyond RAM: fine here */
    ent_write(&m, 1, 0 | P | RW | US | PS);
    assert_int_equal(xlate(0x0000000040123456ull, GMEM_WRITE), 0x123456);
    assert_int_equal(ent(&m, 1) & (A | D), A | D);
}

static void test_4level_ignored_bits(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    for (unsigned i = 0; i < 4; i++)
        ent_set(&m, i, (0x7FFull << 52) | (7ull << 9)); /* 62:52 and 11:9 ignored */
    ent_set(&m, 0, D);                                  /* ignored in a PML4E */
    assert_int_equal(xlate(0x1234, 0), DATA + 0x234);
}

static void test_4level_ps_reserved_in_pml4e(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_set(&m, 0, PS);
    expect_pf(0x1000, GMEM_FETCH, PF_P | PF_RSVD);
}

static void test_4level_large_page_reserved_bits(void **s)
{
    (void)s;
    mode_long(4);
    struct map g = map64(0x40000000, 0, 30);
    ent_set(&g, 1, 1ull << 29);
    expect_pf(0x40000000, 0, PF_P | PF_RSVD);
    ent_clear(&g, 1, 1ull << 29);
    ent_set(&g, 1, 1ull << 13);
    expect_pf(0x40000000, 0, PF_P | PF_RSVD);

    struct map m = map64(0x80200000, 0x400000, 21);
    ent_set(&m, 2, 1ull << 16);
    expect_pf(0x80200000, 0, PF_P | PF_RSVD);
}

static void test_4level_maxphyaddr_reserved(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_set(&m, 3, 1ull << 45);
    assert_int_equal(xlate(0x1000, 0), (1ull << 45) | DATA); /* MAXPHYADDR 52: an address bit */
    v.maxphyaddr = 39;
    expect_pf(0x1000, 0, PF_P | PF_RSVD);
    ent_clear(&m, 3, 1ull << 45);
    ent_set(&m, 1, 1ull << 39);
    expect_pf(0x1000, 0, PF_P | PF_RSVD);
    ent_clear(&m, 1, 1ull << 39);
    ent_set(&m, 3, 1ull << 38);
    assert_int_equal(xlate(0x1000, 0), (1ull << 38) | DATA);
}

/* MAXPHYADDR outside 32..52 is clamped into it. */
static void test_maxphyaddr_clamped(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_set(&m, 3, 1ull << 51);
    v.maxphyaddr = 60; /* as 52: bit 51 is an address bit */
    assert_int_equal(xlate(0x1000, 0), (1ull << 51) | DATA);
    ent_clear(&m, 3, 1ull << 51);
    ent_set(&m, 3, 1ull << 31);
    v.maxphyaddr = 20; /* as 32: bit 31 is an address bit, bit 32 is reserved */
    assert_int_equal(xlate(0x1000, 0), (1ull << 31) | DATA);
    ent_set(&m, 3, 1ull << 32);
    expect_pf(0x1000, 0, PF_P | PF_RSVD);
}

static void test_4level_not_present_each_level(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x7FFFFFFFF000ull, DATA, 12);
    for (unsigned i = 0; i < 4; i++) {
        ent_clear(&m, i, P);
        expect_pf(0x7FFFFFFFF123ull, 0, 0);
        ent_set(&m, i, P);
    }
    assert_int_equal(xlate(0x7FFFFFFFF123ull, 0), DATA + 0x123);
}

/* A reserved bit below a not-present entry is never seen; one above it wins. */
static void test_walk_order(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    v.maxphyaddr = 48;
    ent_clear(&m, 1, P);
    ent_set(&m, 3, 1ull << 51);
    expect_pf(0x1000, 0, 0);
    ent_set(&m, 0, PS);
    expect_pf(0x1000, 0, PF_P | PF_RSVD);
}

static void test_4level_noncanonical_gp(void **s)
{
    (void)s;
    mode_long(4);
    expect_gp(0x0000800000000000ull, 0);
    expect_gp(0xFFFF7FFFFFFFFFFFull, GMEM_WRITE);
    expect_gp(0x8000000000000000ull, GMEM_FETCH);
    expect_pf(0xFFFF800000000000ull, 0, 0); /* canonical: walked */
}

static void test_5level(void **s)
{
    (void)s;
    mode_long(5);
    struct map m = map64(0x00FF000000201000ull, DATA + 0x2000, 12);
    assert_int_equal(m.n, 5);
    assert_int_equal(xlate(0x00FF000000201042ull, GMEM_WRITE), DATA + 0x2042);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(ent(&m, i) & (A | D), A);
    assert_int_equal(ent(&m, 4) & (A | D), A | D);
    ent_set(&m, 0, PS); /* reserved in a PML5E */
    expect_pf(0x00FF000000201042ull, 0, PF_P | PF_RSVD);
}

static void test_5level_canonical(void **s)
{
    (void)s;
    mode_long(5);
    map64(0xFF00000000000000ull, DATA, 12);
    assert_int_equal(xlate(0xFF00000000000010ull, 0), DATA + 0x10);
    expect_gp(0x0100000000000000ull, 0);
    v.cr4 &= ~CR4_LA57; /* the same address is not canonical with 4 levels */
    expect_gp(0xFF00000000000010ull, 0);
}

/* ---- access rights ---- */

static void test_write_readonly_wp(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_clear(&m, 3, RW);
    expect_pf(0x1000, GMEM_WRITE, PF_P | PF_W);
    assert_int_equal(xlate(0x1000, 0), DATA);
    v.cr0 &= ~CR0_WP; /* supervisor writes ignore R/W */
    assert_int_equal(xlate(0x1000, GMEM_WRITE), DATA);
    assert_int_equal(ent(&m, 3) & (A | D), A | D);
}

static void test_write_readonly_upper_level(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    for (unsigned i = 0; i < 3; i++) {
        ent_clear(&m, i, RW);
        expect_pf(0x1000, GMEM_WRITE, PF_P | PF_W);
        ent_set(&m, i, RW);
    }
    assert_int_equal(xlate(0x1000, GMEM_WRITE), DATA);
}

static void test_user_write_readonly_ignores_wp(void **s)
{
    (void)s;
    mode_32(0);
    struct map m = map32(0x1000, DATA, 0);
    v.cr0 &= ~CR0_WP;
    v.cpl = 3;
    ent_clear(&m, 0, RW);
    expect_pf(0x1000, GMEM_WRITE, PF_P | PF_W | PF_U);
    assert_int_equal(xlate(0x1000, 0), DATA);
}

static void test_user_to_supervisor_page(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    v.cpl = 3;
    for (unsigned i = 0; i < 4; i++) {
        ent_clear(&m, i, US);
        expect_pf(0x1000, 0, PF_P | PF_U);
        expect_pf(0x1000, GMEM_FETCH, PF_P | PF_U);
        v.cpl = 0;
        assert_int_equal(xlate(0x1000, 0), DATA);
        v.cpl = 3;
        ent_set(&m, i, US);
    }
    assert_int_equal(xlate(0x1000, GMEM_WRITE), DATA);
}

static void test_xd_fetch(void **s)
{
    (void)s;
    mode_long(4);
    v.efer |= EFER_NXE;
    struct map m = map64(0x1000, DATA, 12);
    for (unsigned i = 0; i < 4; i++) {
        ent_set(&m, i, XD);
        expect_pf(0x1000, GMEM_FETCH, PF_P | PF_I);
        assert_int_equal(xlate(0x1000, 0), DATA);
        assert_int_equal(xlate(0x1000, GMEM_WRITE), DATA);
        ent_clear(&m, i, XD);
    }
    assert_int_equal(xlate(0x1000, GMEM_FETCH), DATA);
    v.cpl = 3;
    ent_set(&m, 3, XD);
    expect_pf(0x1000, GMEM_FETCH, PF_P | PF_I | PF_U);
}

static void test_xd_reserved_without_nxe(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_set(&m, 1, XD);
    expect_pf(0x1000, 0, PF_P | PF_RSVD);
    expect_pf(0x1000, GMEM_FETCH, PF_P | PF_RSVD); /* no I/D without NXE or SMEP */
}

/* I/D in PAE/4-level paging: set on a fetch with NXE or SMEP, else 0. */
static void test_fetch_error_code_id(void **s)
{
    (void)s;
    mode_pae();
    expect_pf(0x1000, GMEM_FETCH, 0);
    v.efer = EFER_NXE;
    expect_pf(0x1000, GMEM_FETCH, PF_I);
    v.efer = 0;
    v.cr4 |= CR4_SMEP;
    expect_pf(0x1000, GMEM_FETCH, PF_I);
    expect_pf(0x1000, 0, 0);
}

static void test_smep(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    assert_int_equal(xlate(0x1000, GMEM_FETCH), DATA); /* SMEP off */
    v.cr4 |= CR4_SMEP;
    expect_pf(0x1000, GMEM_FETCH, PF_P | PF_I);
    assert_int_equal(xlate(0x1000, 0), DATA); /* data access unaffected */
    v.cpl = 3;
    assert_int_equal(xlate(0x1000, GMEM_FETCH), DATA); /* user fetch fine */
    v.cpl = 0;
    ent_clear(&m, 2, US); /* a supervisor address: fine */
    assert_int_equal(xlate(0x1000, GMEM_FETCH), DATA);
}

static void test_smap_explicit(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    v.cr4 |= CR4_SMAP;
    expect_pf(0x1000, 0, PF_P);
    expect_pf(0x1000, GMEM_WRITE, PF_P | PF_W);
    v.cr0 &= ~CR0_WP;
    expect_pf(0x1000, GMEM_WRITE, PF_P | PF_W);
    assert_int_equal(xlate(0x1000, GMEM_FETCH), DATA); /* fetches are SMEP's business */
    ent_clear(&m, 0, US);                              /* supervisor address: fine */
    assert_int_equal(xlate(0x1000, GMEM_WRITE), DATA);
}

static void test_smap_ac(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    v.cr4 |= CR4_SMAP;
    v.rflags = RFLAGS_AC | 2;
    assert_int_equal(xlate(0x1000, 0), DATA);
    assert_int_equal(xlate(0x1000, GMEM_WRITE), DATA);
    ent_clear(&m, 3, RW); /* AC lifts SMAP, not write protection */
    expect_pf(0x1000, GMEM_WRITE, PF_P | PF_W);
}

static void test_smap_implicit_ignores_ac(void **s)
{
    (void)s;
    mode_long(4);
    map64(0x1000, DATA, 12);
    v.cr4 |= CR4_SMAP;
    v.rflags = RFLAGS_AC;
    expect_pf(0x1000, GMEM_IMPLICIT, PF_P);
    v.cpl = 3; /* implicit supervisor access at CPL 3: U/S clear in the error code */
    expect_pf(0x1000, GMEM_IMPLICIT | GMEM_WRITE, PF_P | PF_W);
    v.cr4 &= ~CR4_SMAP;
    assert_int_equal(xlate(0x1000, GMEM_IMPLICIT), DATA);
}

static void test_implicit_at_cpl3_is_supervisor(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_clear(&m, 3, US | RW);
    v.cpl = 3;
    expect_pf(0x1000, 0, PF_P | PF_U);
    assert_int_equal(xlate(0x1000, GMEM_IMPLICIT), DATA);
    expect_pf(0x1000, GMEM_IMPLICIT | GMEM_WRITE, PF_P | PF_W); /* CR0.WP = 1 */
    expect_pf(0x2000, GMEM_IMPLICIT, 0);                        /* not present, no U */
}

static void test_not_present_error_bits(void **s)
{
    (void)s;
    mode_long(4);
    v.cpl = 3;
    expect_pf(0x5000, GMEM_WRITE, PF_W | PF_U);
    expect_pf(0x5000, 0, PF_U);
    v.cpl = 2;
    expect_pf(0x5000, GMEM_WRITE, PF_W);
}

/* Reserved bits are checked during the walk, before access rights. */
static void test_rsvd_before_rights(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_clear(&m, 0, US);
    ent_set(&m, 3, 1ull << 51);
    v.maxphyaddr = 48;
    v.cpl = 3;
    expect_pf(0x1000, 0, PF_P | PF_RSVD | PF_U);
}

/* ---- accessed and dirty bits ---- */

static void test_accessed_dirty_4level(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    xlate(0x1000, GMEM_FETCH);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(ent(&m, i) & (A | D), A);
    clear_ad(&m);
    xlate(0x1000, GMEM_WRITE);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(ent(&m, i) & (A | D), A);
    assert_int_equal(ent(&m, 3) & (A | D), A | D);
}

static void test_no_accessed_bits_on_fault(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_clear(&m, 3, RW);
    expect_pf(0x1000, GMEM_WRITE, PF_P | PF_W);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(ent(&m, i) & (A | D), 0);
    ent_clear(&m, 3, P);
    expect_pf(0x1000, 0, 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(ent(&m, i) & (A | D), 0);
}

/* ---- gmem_read / gmem_write ---- */

static void test_read_write_across_pages(void **s)
{
    (void)s;
    mode_long(4);
    map64(0x10000, DATA + 0x3000, 12); /* the second page lies below the first */
    map64(0x11000, DATA + 0x1000, 12);
    uint8_t out[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 }, in[8] = { 0 };
    struct gmem_fault f;
    assert_int_equal(gmem_write(&v, 0x10FFD, out, 8, &f), GMEM_OK);
    assert_memory_equal(ram + DATA + 0x3FFD, out, 3);
    assert_memory_equal(ram + DATA + 0x1000, out + 3, 5);
    assert_int_equal(gmem_read(&v, 0x10FFD, in, 8, 0, &f), GMEM_OK);
    assert_memory_equal(in, out, 8);
}

static void test_write_second_page_faults(void **s)
{
    (void)s;
    mode_long(4);
    struct map a = map64(0x10000, DATA + 0x3000, 12);
    struct map b = map64(0x11000, DATA + 0x1000, 12);
    ent_clear(&b, 3, RW);
    clear_ad(&a);
    memset(ram + DATA + 0x3FF0, 0xEE, 16);
    uint8_t out[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    struct gmem_fault f;
    assert_int_equal(gmem_write(&v, 0x10FFC, out, 8, &f), GMEM_FAULT);
    assert_int_equal(f.vector, 14);
    assert_int_equal(f.error, PF_P | PF_W);
    assert_int_equal(f.cr2, 0x11000);
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(ram[DATA + 0x3FF0 + i], 0xEE);
    assert_int_equal(ram[DATA + 0x1000], 0);
    for (unsigned i = 0; i < 4; i++) /* the first page's walk left no trace either */
        assert_int_equal(ent(&a, i) & (A | D), 0);
}

static void test_read_second_page_not_present(void **s)
{
    (void)s;
    mode_pae();
    map64(0x7000, DATA, 12);
    uint8_t in[4] = { 9, 9, 9, 9 };
    struct gmem_fault f;
    v.cpl = 3;
    assert_int_equal(gmem_read(&v, 0x7FFE, in, 4, 0, &f), GMEM_FAULT);
    assert_int_equal(f.vector, 14);
    assert_int_equal(f.error, PF_U);
    assert_int_equal(f.cr2, 0x8000);
    assert_int_equal(in[0], 9);
    /* a fault on the first page reports the first byte asked */
    assert_int_equal(gmem_read(&v, 0x6FFF, in, 4, 0, &f), GMEM_FAULT);
    assert_int_equal(f.cr2, 0x6FFF);
}

static void test_read_fetch_access(void **s)
{
    (void)s;
    mode_long(4);
    v.efer |= EFER_NXE;
    struct map m = map64(0x1000, DATA, 12);
    ent_set(&m, 3, XD);
    uint8_t in[2];
    struct gmem_fault f;
    assert_int_equal(gmem_read(&v, 0x1000, in, 2, 0, &f), GMEM_OK);
    assert_int_equal(gmem_read(&v, 0x1000, in, 2, GMEM_FETCH, &f), GMEM_FAULT);
    assert_int_equal(f.error, PF_P | PF_I);
    /* gmem_read ignores GMEM_WRITE: a read-only page reads fine */
    ent_clear(&m, 3, RW | XD);
    assert_int_equal(gmem_read(&v, 0x1000, in, 2, GMEM_WRITE, &f), GMEM_OK);
    assert_int_equal(ent(&m, 3) & D, 0);
}

static void test_read_gpa_outside_ram(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, 0xFEE00000, 12);
    assert_int_equal(xlate(0x1030, 0), 0xFEE00030); /* MMIO: translate is fine */
    clear_ad(&m);
    uint8_t in[4] = { 7, 7, 7, 7 };
    struct gmem_fault f;
    assert_int_equal(gmem_read(&v, 0x1030, in, 4, 0, &f), GMEM_NOT_RAM);
    assert_int_equal(f.gpa, 0xFEE00030);
    assert_int_equal(f.vector, 0);
    assert_int_equal(in[0], 7);
    assert_int_equal(gmem_write(&v, 0x1030, in, 4, &f), GMEM_NOT_RAM);
    assert_int_equal(f.gpa, 0xFEE00030);
    assert_int_equal(ent(&m, 3) & (A | D), 0); /* nothing touched */
}

static void test_read_straddles_ram_end(void **s)
{
    (void)s;
    mode_none();
    uint8_t in[4] = { 7, 7, 7, 7 };
    struct gmem_fault f;
    assert_int_equal(gmem_read(&v, RAM_SIZE - 2, in, 4, 0, &f), GMEM_NOT_RAM);
    assert_int_equal(f.gpa, RAM_SIZE);
    assert_int_equal(in[0], 7);
    assert_int_equal(gmem_read(&v, RAM_SIZE - 4, in, 4, 0, &f), GMEM_OK);
    v.ram_size = RAM_SIZE - 1; /* one piece that straddles the end */
    memset(in, 7, sizeof(in));
    assert_int_equal(gmem_read(&v, RAM_SIZE - 4, in, 4, 0, &f), GMEM_NOT_RAM);
    assert_int_equal(f.gpa, RAM_SIZE - 1);
    assert_int_equal(in[0], 7);
}

static void test_page_tables_outside_ram(void **s)
{
    (void)s;
    mode_long(4);
    v.cr3 = 0x40000000; /* the PML4 itself */
    expect_not_ram(0x1000, 0, 0x40000000);
    expect_not_ram(0x8000000000ull, 0, 0x40000008);

    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_write(&m, 2, 0x7FFFF000 | P | RW | US); /* the page table */
    expect_not_ram(0x1000, 0, 0x7FFFF008);

    mode_32(0);
    v.cr3 = 0x80000000; /* the page directory */
    expect_not_ram(0x00401000, 0, 0x80000004);
    v.cr3 = RAM_SIZE - 0x1000;
    put32(RAM_SIZE - 0x1000, 0x90000000u | (uint32_t)(P | RW));
    expect_not_ram(0x1000, 0, 0x90000004);

    mode_pae();
    v.cr3 = RAM_SIZE - 32; /* the PDPT at the very end of RAM */
    v.ram_size = RAM_SIZE - 16;
    expect_pf(0x40000000, 0, 0);                  /* PDPTE 1: in RAM, not present */
    expect_not_ram(0x80000000, 0, RAM_SIZE - 16); /* PDPTE 2: past the end */
    v.ram_size = RAM_SIZE - 20;
    expect_not_ram(0x40000000, 0, RAM_SIZE - 20); /* PDPTE 1: half of it past the end */
    uint8_t in[1];
    struct gmem_fault f;
    assert_int_equal(gmem_read(&v, 0x40000000, in, 1, 0, &f), GMEM_NOT_RAM);
    assert_int_equal(f.gpa, RAM_SIZE - 20);
}

static void test_write_implicit(void **s)
{
    (void)s;
    mode_long(4);
    struct map m = map64(0x1000, DATA, 12);
    ent_clear(&m, 1, US);
    v.cpl = 3;
    uint8_t out[2] = { 0xAB, 0xCD };
    struct gmem_fault f;
    assert_int_equal(gmem_write(&v, 0x1000, out, 2, &f), GMEM_FAULT);
    assert_int_equal(f.error, PF_P | PF_W | PF_U);
    assert_int_equal(gmem_write_access(&v, 0x1000, out, 2, GMEM_IMPLICIT, &f), GMEM_OK);
    assert_memory_equal(ram + DATA, out, 2);
    assert_int_equal(ent(&m, 3) & D, D);
}

static void test_long_copy_checked_whole(void **s)
{
    (void)s;
    mode_long(4);
    enum { NPAGES = 12 };
    struct map last;
    for (unsigned i = 0; i < NPAGES; i++)
        last = map64(0x100000 + i * 0x1000ull, DATA + (NPAGES - 1 - i) * 0x1000ull, 12);
    size_t len = NPAGES * 4096 - 100;
    uint8_t *out = malloc(len), *in = calloc(1, len);
    assert_non_null(out);
    assert_non_null(in);
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(i * 7 + 3);
    struct gmem_fault f;

    ent_clear(&last, 3, RW); /* the 12th page: outside the first group of 8 */
    assert_int_equal(gmem_write(&v, 0x100050, out, len, &f), GMEM_FAULT);
    assert_int_equal(f.cr2, 0x100000 + (NPAGES - 1) * 0x1000ull);
    for (size_t i = 0; i < NPAGES * 4096ull; i++)
        if (ram[DATA + i] != 0)
            fail_msg("byte %zu written", i);

    ent_set(&last, 3, RW);
    assert_int_equal(gmem_write(&v, 0x100050, out, len, &f), GMEM_OK);
    assert_memory_equal(ram + DATA + (NPAGES - 1) * 0x1000ull + 0x50, out, 4096 - 0x50);
    size_t head = (NPAGES - 1) * 4096 - 0x50; /* bytes before the last page */
    assert_memory_equal(ram + DATA, out + head, len - head);
    assert_int_equal(gmem_read(&v, 0x100050, in, len, 0, &f), GMEM_OK);
    assert_memory_equal(in, out, len);
    free(out);
    free(in);
}

static void test_zero_length(void **s)
{
    (void)s;
    mode_long(4);
    struct gmem_fault f;
    uint8_t b = 0;
    assert_int_equal(gmem_read(&v, 0x1000, &b, 0, 0, &f), GMEM_OK); /* unmapped, but no byte */
    assert_int_equal(gmem_write(&v, 0x1000, &b, 0, &f), GMEM_OK);
}

/* Outside IA-32e mode linear addresses wrap at 4 GiB. */
static void test_read_wraps_at_4g(void **s)
{
    (void)s;
    mode_32(0);
    map32(0xFFFFF000, DATA + 0x1000, 0);
    map32(0x00000000, DATA + 0x4000, 0);
    ram[DATA + 0x1FFE] = 1;
    ram[DATA + 0x1FFF] = 2;
    ram[DATA + 0x4000] = 3;
    ram[DATA + 0x4001] = 4;
    uint8_t in[4];
    struct gmem_fault f;
    assert_int_equal(gmem_read(&v, 0xFFFFFFFE, in, 4, 0, &f), GMEM_OK);
    assert_memory_equal(in, ((uint8_t[]){ 1, 2, 3, 4 }), 4);
}

/* ---- segmentation ---- */

/* gmem_seg_linear expecting success. */
static uint64_t seg_ok(enum gmem_segreg sr, struct gmem_seg sg, int long64, unsigned asz, uint64_t off,
                       unsigned len, unsigned access)
{
    struct gmem_fault f;
    uint64_t lin = 0xdead;
    int rc = gmem_seg_linear(sr, &sg, long64, asz, off, len, access, &lin, &f);

    if (rc != GMEM_OK)
        fail_msg("seg %d off 0x%llx len %u: rc %d vector %u", sr, (unsigned long long)off, len, rc, f.vector);
    return lin;
}

/* gmem_seg_linear expecting #GP(0) or #SS(0) (vector). */
static void seg_fault(enum gmem_segreg sr, struct gmem_seg sg, int long64, unsigned asz, uint64_t off,
                      unsigned len, unsigned access, unsigned vector)
{
    struct gmem_fault f;
    uint64_t lin = 0xdead;

    assert_int_equal(gmem_seg_linear(sr, &sg, long64, asz, off, len, access, &lin, &f), GMEM_FAULT);
    assert_int_equal(f.vector, vector);
    assert_int_equal(f.has_error, 1);
    assert_int_equal(f.error, 0);
    assert_int_equal(lin, 0xdead);
}

static struct gmem_seg seg(uint64_t base, uint32_t limit, uint32_t ar)
{
    struct gmem_seg sg = { .base = base, .limit = limit, .ar = ar };
    return sg;
}

static void test_seg_flat_32(void **s)
{
    (void)s;
    struct gmem_seg flat = seg(0, 0xFFFFFFFF, AR_DATA_RW | AR_DB);
    assert_int_equal(seg_ok(SEG_DS, flat, 0, 4, 0xFFFFFFFC, 4, GMEM_WRITE), 0xFFFFFFFC);
    struct gmem_seg high = seg(0xFFFFF000, 0xFFFFFFFF, AR_DATA_RW | AR_DB);
    assert_int_equal(seg_ok(SEG_ES, high, 0, 4, 0x2000, 1, 0), 0x1000);         /* wraps at 4 GiB */
    assert_int_equal(seg_ok(SEG_ES, high, 0, 4, 0x100002000ull, 1, 0), 0x1000); /* offset cut */
    assert_int_equal(seg_ok(SEG_ES, high, 0, 8, 0x100002000ull, 1, 0), 0x1000); /* 8 taken as 4 */
}

static void test_seg_limit(void **s)
{
    (void)s;
    struct gmem_seg sg = seg(0x10000, 0xFFF, AR_DATA_RW | AR_DB);
    assert_int_equal(seg_ok(SEG_DS, sg, 0, 4, 0xFFC, 4, 0), 0x10FFC);
    seg_fault(SEG_DS, sg, 0, 4, 0xFFD, 4, 0, 13);
    seg_fault(SEG_DS, sg, 0, 4, 0x1000, 1, GMEM_WRITE, 13);
    seg_fault(SEG_SS, sg, 0, 4, 0xFFD, 4, GMEM_WRITE, 12);
    assert_int_equal(seg_ok(SEG_SS, sg, 0, 4, 0xFFF, 1, GMEM_WRITE), 0x10FFF);
    assert_int_equal(seg_ok(SEG_DS, sg, 0, 4, 0xFFF, 0, 0), 0x10FFF); /* len 0 checks 1 */
    seg_fault(SEG_DS, sg, 0, 4, 0x1000, 0, 0, 13);
}

static void test_seg_16bit_truncation(void **s)
{
    (void)s;
    struct gmem_seg real = seg(0x12340, 0xFFFF, AR_DATA_RW);
    assert_int_equal(seg_ok(SEG_DS, real, 0, 2, 0x1FFFE, 2, 0), 0x2233E);
    seg_fault(SEG_DS, real, 0, 2, 0xFFFF, 2, 0, 13); /* a word at 0xFFFF overruns */
    seg_fault(SEG_SS, real, 0, 2, 0xFFFF, 2, GMEM_WRITE, 12);
    struct gmem_seg big = seg(0, 0xFFFFFFFF, AR_DATA_RW); /* "unreal" mode */
    assert_int_equal(seg_ok(SEG_DS, big, 0, 4, 0x123456, 4, 0), 0x123456);
    assert_int_equal(seg_ok(SEG_DS, big, 0, 2, 0x123456, 4, 0), 0x3456);
}

static void test_seg_expand_down_16(void **s)
{
    (void)s;
    struct gmem_seg sg = seg(0x20000, 0x0FFF, AR_DATA_DOWN);
    assert_int_equal(seg_ok(SEG_SS, sg, 0, 2, 0x1000, 2, GMEM_WRITE), 0x21000);
    assert_int_equal(seg_ok(SEG_DS, sg, 0, 4, 0xFFFE, 2, 0), 0x2FFFE);
    seg_fault(SEG_SS, sg, 0, 2, 0x0FFF, 1, 0, 12);
    seg_fault(SEG_DS, sg, 0, 4, 0x0FFE, 2, 0, 13); /* first byte at the limit */
    seg_fault(SEG_DS, sg, 0, 4, 0xFFFF, 2, 0, 13); /* past 0xFFFF with B = 0 */
    seg_fault(SEG_DS, sg, 0, 4, 0x10000, 1, 0, 13);
}

static void test_seg_expand_down_32(void **s)
{
    (void)s;
    struct gmem_seg sg = seg(0, 0x0FFF, AR_DATA_DOWN | AR_DB);
    assert_int_equal(seg_ok(SEG_SS, sg, 0, 4, 0xFFFFFFFC, 4, GMEM_WRITE), 0xFFFFFFFC);
    assert_int_equal(seg_ok(SEG_DS, sg, 0, 4, 0x10000, 4, 0), 0x10000);
    seg_fault(SEG_DS, sg, 0, 4, 0xFFFFFFFD, 4, 0, 13);
    seg_fault(SEG_SS, sg, 0, 4, 0x800, 4, 0, 12);
}

static void test_seg_types(void **s)
{
    (void)s;
    struct gmem_seg ro = seg(0, 0xFFFFF, AR_DATA_RO);
    struct gmem_seg rx = seg(0, 0xFFFFF, AR_CODE_RX);
    struct gmem_seg x = seg(0, 0xFFFFF, AR_CODE_X);
    assert_int_equal(seg_ok(SEG_DS, ro, 0, 4, 0x10, 4, 0), 0x10);
    seg_fault(SEG_DS, ro, 0, 4, 0x10, 4, GMEM_WRITE, 13);
    seg_fault(SEG_SS, ro, 0, 4, 0x10, 4, GMEM_WRITE, 12);
    assert_int_equal(seg_ok(SEG_CS, rx, 0, 4, 0x10, 4, 0), 0x10);
    seg_fault(SEG_CS, rx, 0, 4, 0x10, 4, GMEM_WRITE, 13); /* code is never writable */
    seg_fault(SEG_ES, x, 0, 4, 0x10, 4, 0, 13);           /* execute-only: no reads */
    assert_int_equal(seg_ok(SEG_CS, x, 0, 4, 0x10, 15, GMEM_FETCH), 0x10);
    seg_fault(SEG_CS, x, 0, 4, 0xFFFFF, 2, GMEM_FETCH, 13);     /* limits still apply to fetches */
    struct gmem_seg conforming = seg(0, 0xFFF, AR_CODE_RX | 4); /* not expand-down */
    assert_int_equal(seg_ok(SEG_DS, conforming, 0, 4, 0x10, 1, 0), 0x10);
}

static void test_seg_unusable(void **s)
{
    (void)s;
    struct gmem_seg null = seg(0, 0xFFFFFFFF, AR_DATA_RW | AR_DB | AR_UNUSABLE);
    seg_fault(SEG_DS, null, 0, 4, 0, 1, 0, 13);
    seg_fault(SEG_SS, null, 0, 4, 0, 1, 0, 12);
    /* in 64-bit mode a null DS is fine */
    assert_int_equal(seg_ok(SEG_DS, null, GMEM_LONG64, 8, 0x1234, 8, GMEM_WRITE), 0x1234);
}

static void test_seg_64_bases(void **s)
{
    (void)s;
    struct gmem_seg ds = seg(0x1000, 0xF, AR_DATA_RO);
    struct gmem_seg fs = seg(0xFFFF800000000000ull, 0, AR_DATA_RO);
    assert_int_equal(seg_ok(SEG_DS, ds, GMEM_LONG64, 8, 0x123456789ull, 8, GMEM_WRITE),
                     0x123456789ull); /* base, limit and type ignored */
    assert_int_equal(seg_ok(SEG_SS, ds, GMEM_LONG64, 8, 0x20, 8, 0), 0x20);
    assert_int_equal(seg_ok(SEG_FS, fs, GMEM_LONG64, 8, 0x10, 8, 0), 0xFFFF800000000010ull);
    assert_int_equal(seg_ok(SEG_GS, fs, GMEM_LONG64, 8, 0x10, 8, GMEM_WRITE), 0xFFFF800000000010ull);
    /* 32-bit address size in 64-bit mode: the offset is cut, the base is not */
    assert_int_equal(seg_ok(SEG_GS, fs, GMEM_LONG64, 4, 0x1FFFFFFF0ull, 1, 0), 0xFFFF8000FFFFFFF0ull);
}

static void test_seg_64_noncanonical(void **s)
{
    (void)s;
    struct gmem_seg ds = seg(0, 0, AR_DATA_RW);
    seg_fault(SEG_DS, ds, GMEM_LONG64, 8, 0x0000800000000000ull, 1, 0, 13);
    seg_fault(SEG_SS, ds, GMEM_LONG64, 8, 0x0000800000000000ull, 1, 0, 12);
    seg_fault(SEG_DS, ds, GMEM_LONG64, 8, 0x00007FFFFFFFFFFFull, 2, 0, 13); /* last byte */
    seg_fault(SEG_SS, ds, GMEM_LONG64, 8, 0x00007FFFFFFFFFF9ull, 8, GMEM_WRITE, 12);
    assert_int_equal(seg_ok(SEG_SS, ds, GMEM_LONG64, 8, 0x00007FFFFFFFFFF8ull, 8, 0), 0x00007FFFFFFFFFF8ull);
    struct gmem_seg fs = seg(0x00007FFFFFFFF000ull, 0, AR_DATA_RW);
    seg_fault(SEG_FS, fs, GMEM_LONG64, 8, 0x1000, 1, 0, 13); /* the base makes it so */
    assert_int_equal(seg_ok(SEG_DS, fs, GMEM_LONG64, 8, 0x1000, 1, 0), 0x1000);
}

static void test_seg_64_la57(void **s)
{
    (void)s;
    struct gmem_seg ds = seg(0, 0, AR_DATA_RW);
    assert_int_equal(seg_ok(SEG_DS, ds, GMEM_LONG64_LA57, 8, 0x00FF000000000000ull, 8, 0),
                     0x00FF000000000000ull);
    seg_fault(SEG_DS, ds, GMEM_LONG64, 8, 0x00FF000000000000ull, 8, 0, 13);
    seg_fault(SEG_SS, ds, GMEM_LONG64_LA57, 8, 0x0100000000000000ull, 8, 0, 12);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_nopaging_identity),
        T(test_nopaging_read_write),
        T(test_32bit_4k),
        T(test_32bit_accessed_dirty),
        T(test_32bit_4m_pse),
        T(test_32bit_ps_ignored_without_pse),
        T(test_32bit_4m_pse36_high_bits),
        T(test_32bit_4m_bit21_reserved),
        T(test_32bit_linear_truncated),
        T(test_32bit_not_present_each_level),
        T(test_32bit_fetch_error_code),
        T(test_pae_4k),
        T(test_pae_2m),
        T(test_pae_pdpte_reserved_bits),
        T(test_pae_2m_reserved_bits),
        T(test_pae_high_bits_reserved),
        T(test_pae_pdptes_load),
        T(test_4level_4k),
        T(test_4level_2m),
        T(test_4level_1g),
        T(test_4level_ignored_bits),
        T(test_4level_ps_reserved_in_pml4e),
        T(test_4level_large_page_reserved_bits),
        T(test_4level_maxphyaddr_reserved),
        T(test_maxphyaddr_clamped),
        T(test_4level_not_present_each_level),
        T(test_walk_order),
        T(test_4level_noncanonical_gp),
        T(test_5level),
        T(test_5level_canonical),
        T(test_write_readonly_wp),
        T(test_write_readonly_upper_level),
        T(test_user_write_readonly_ignores_wp),
        T(test_user_to_supervisor_page),
        T(test_xd_fetch),
        T(test_xd_reserved_without_nxe),
        T(test_fetch_error_code_id),
        T(test_smep),
        T(test_smap_explicit),
        T(test_smap_ac),
        T(test_smap_implicit_ignores_ac),
        T(test_implicit_at_cpl3_is_supervisor),
        T(test_not_present_error_bits),
        T(test_rsvd_before_rights),
        T(test_accessed_dirty_4level),
        T(test_no_accessed_bits_on_fault),
        T(test_read_write_across_pages),
        T(test_write_second_page_faults),
        T(test_read_second_page_not_present),
        T(test_read_fetch_access),
        T(test_read_gpa_outside_ram),
        T(test_read_straddles_ram_end),
        T(test_page_tables_outside_ram),
        T(test_write_implicit),
        T(test_long_copy_checked_whole),
        T(test_zero_length),
        T(test_read_wraps_at_4g),
        T(test_seg_flat_32),
        T(test_seg_limit),
        T(test_seg_16bit_truncation),
        T(test_seg_expand_down_16),
        T(test_seg_expand_down_32),
        T(test_seg_types),
        T(test_seg_unusable),
        T(test_seg_64_bases),
        T(test_seg_64_noncanonical),
        T(test_seg_64_la57),
    };
    return cmocka_run_group_tests_name("gmem", tests, NULL, NULL);
}
