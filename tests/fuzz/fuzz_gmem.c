/* libFuzzer target: the guest memory layer (vmx/gmem.c).
 *
 * Input: a 9-byte header that picks the view, a list of operations, and
 * the rest: bytes tiled over guest RAM (at most 64 KiB, allocated at its
 * exact size so AddressSanitizer reports any access past it).
 *
 *   byte 0   paging mode: none, 32-bit, PAE, 4-level, 5-level (mod 5)
 *   byte 1   bit 0 CR4.PSE, 1 CR0.WP, 2 EFER.NXE, 3 CR4.SMEP, 4 CR4.SMAP,
 *            5 RFLAGS.AC, 6 "tame" (every paging entry points inside RAM),
 *            7 RAM size not a multiple of 8 (entries straddle its end)
 *   byte 2   CPL (bits 1:0), MAXPHYADDR choice (bits 7:2; 0 = default)
 *   byte 3   how much smaller RAM is, with bit 7 of byte 1
 *   4..7     CR3 (32 bits)
 *   byte 8   number of operations - 1 (mod 8)
 *   ops      28 bytes each: the op byte (bits 1:0 translate/read/write/
 *            segment, 4:2 access bits, 5 make the address canonical),
 *            then its arguments (linear 8, length 2; or for a segment:
 *            register 1, base 8, limit 4, rights 3, mode and address
 *            size 1, offset 8, length 2)
 *
 * Invariants: every result is GMEM_OK, GMEM_FAULT or GMEM_NOT_RAM; a
 * fault's vector is 14 or 13 (12 only from gmem_seg_linear for SS); a #PF
 * has an error code of the SDM bits only, with CR2 = the address asked
 * (or the first byte of a later page of a read or write); a fault or
 * GMEM_NOT_RAM (whose gpa is never inside RAM) changes neither guest RAM
 * nor the read buffer; a successful translation agrees with a 1-byte
 * gmem_read.
 *
 * The one exception gmem.h documents: a copy of more than
 * GMEM_ATOMIC_PAGES pages is checked whole, then done a group of pages at
 * a time, so a write that rewrites the page tables of its own later pages
 * (easy here: RAM is small and tiled) may stop half done, with a fault
 * past the first group, and only if every page did translate into RAM
 * before the copy began. A long read changes RAM only through accessed
 * bits, which can matter only in PAE (bit 5 is reserved in a PDPTE). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmx/gmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_MAX         65536u
#define HEADER          9u
#define MAX_OPS         8u
#define OP_BYTES        28u
#define PAGE            4096u
#define TAME_PAGES_MASK 0xFull /* 16 pages of 4 KiB: 64 KiB */

enum mode { M_NONE, M_32, M_PAE, M_4L, M_5L };

/* A cursor over the input; reads past its end give zeros. */
struct cursor {
    const uint8_t *p;
    size_t left;
};

static uint64_t take(struct cursor *c, unsigned bytes)
{
    uint64_t x = 0;

    for (unsigned i = 0; i < bytes; i++) {
        uint64_t b = 0;
        if (c->left) {
            b = *c->p++;
            c->left--;
        }
        x |= b << (8 * i);
    }
    return x;
}

struct ctx {
    struct gmem_view v;
    enum mode mode;
    uint8_t *snap; /* a copy of RAM before an operation */
};

static int canonical(uint64_t a, unsigned width)
{
    uint64_t top = a >> (width - 1);

    return top == 0 || top == (~0ull >> (width - 1));
}

/* The address a #PF would report for linear in this mode. */
static uint64_t as_cr2(const struct ctx *c, uint64_t linear)
{
    return c->mode >= M_4L ? linear : linear & 0xFFFFFFFFull;
}

/* Sign-extends linear from the mode's top linear-address bit. */
static uint64_t make_canonical(const struct ctx *c, uint64_t linear)
{
    unsigned width = c->mode == M_5L ? 57 : 48;
    uint64_t sign = 1ull << (width - 1);
    uint64_t low = linear & ((sign << 1) - 1);

    return (low ^ sign) - sign;
}

/* Makes every 4- or 8-byte word of RAM point inside it (flags and the
 * bits above 51 kept), so walks go deep. */
static void tame(struct ctx *c)
{
    size_t n = c->v.ram_size;

    if (c->mode == M_32) {
        for (size_t i = 0; i + 4 <= n; i += 4) {
            uint32_t w;
            memcpy(&w, c->v.ram + i, 4);
            w &= 0xFFFFu; /* a 4 MiB page then starts at 0 (or past 4 GiB with PSE-36 bits) */
            memcpy(c->v.ram + i, &w, 4);
        }
        return;
    }
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, c->v.ram + i, 8);
        w = (w & 0xFFF0000000000FFFull) | (w & (TAME_PAGES_MASK << 12));
        memcpy(c->v.ram + i, &w, 8);
    }
}

/* Checks a fault from a translation, read or write at linear of len bytes. */
static void check_fault(const struct ctx *c, const struct gmem_fault *f, uint64_t linear, size_t len,
                        unsigned access)
{
    if (f->has_error != 1)
        __builtin_trap();
    if (f->vector == 13) {
        if (c->mode < M_4L || f->error != 0 || f->cr2 != 0)
            __builtin_trap();
        return;
    }
    if (f->vector != 14 || (f->error & ~0x1Fu) != 0)
        __builtin_trap();
    if ((f->error & PF_RSVD) && !(f->error & PF_P))
        __builtin_trap();
    if ((f->error & PF_W) && (!(access & GMEM_WRITE) || (access & GMEM_FETCH)))
        __builtin_trap();
    if ((f->error & PF_I) && !(access & GMEM_FETCH))
        __builtin_trap();
    if ((f->error & PF_U) && (c->v.cpl != 3 || (access & GMEM_IMPLICIT)))
        __builtin_trap();
    /* CR2: the first byte, or the first byte of a later page */
    if (f->cr2 == as_cr2(c, linear))
        return;
    for (uint64_t k = PAGE - (linear & (PAGE - 1)); k < len; k += PAGE)
        if (f->cr2 == as_cr2(c, linear + k))
            return;
    __builtin_trap();
}

/* RAM must be as it was before the operation. */
static void check_unchanged(const struct ctx *c)
{
    if (memcmp(c->snap, c->v.ram, c->v.ram_size) != 0)
        __builtin_trap();
}

/* The linear address of piece k of an access at linear (piece 0 is the
 * first byte, piece k > 0 the start of the k-th following page). */
static uint64_t piece_start(uint64_t linear, unsigned k)
{
    return k == 0 ? linear : linear + (PAGE - (linear & (PAGE - 1))) + (uint64_t)(k - 1) * PAGE;
}

/* Whether every page of the access translated into RAM on the RAM as it
 * was before the operation (each page walked on a fresh copy of it, so
 * that no accessed bit of one walk changes the next). */
static int all_pages_fine_before(const struct ctx *c, uint64_t linear, size_t len, unsigned access)
{
    struct gmem_view v = c->v;
    int fine = 1;

    v.ram = malloc(c->v.ram_size);
    if (!v.ram)
        abort();
    for (unsigned k = 0; fine && piece_start(linear, k) - linear < len; k++) {
        uint64_t at = piece_start(linear, k), gpa;
        uint64_t chunk = len - (at - linear);
        struct gmem_fault f;
        if (chunk > PAGE - (at & (PAGE - 1)))
            chunk = PAGE - (at & (PAGE - 1));
        memcpy(v.ram, c->snap, v.ram_size);
        fine = gmem_translate(&v, at, access, &gpa, &f) == GMEM_OK && gpa < v.ram_size &&
               chunk <= v.ram_size - gpa;
    }
    free(v.ram);
    return fine;
}

/* Checks what a failed gmem_read (buf != NULL) or gmem_write left behind. */
static void check_failed_copy(const struct ctx *c, int rc, const struct gmem_fault *f, uint64_t linear,
                              size_t len, unsigned access, const uint8_t *buf)
{
    if (memcmp(c->snap, c->v.ram, c->v.ram_size) == 0) {
        for (size_t i = 0; buf && i < len; i++)
            if (buf[i] != 0xA5)
                __builtin_trap();
        return;
    }
    /* RAM changed: only a long copy, past its first group of pages */
    if (len <= piece_start(linear, GMEM_ATOMIC_PAGES) - linear)
        __builtin_trap();
    if (buf && !(c->mode == M_PAE && rc == GMEM_FAULT && (f->error & PF_RSVD)))
        __builtin_trap();
    for (unsigned k = 0; rc == GMEM_FAULT && k < GMEM_ATOMIC_PAGES; k++)
        if (f->vector == 14 && f->cr2 == as_cr2(c, piece_start(linear, k)))
            __builtin_trap();
    if (!all_pages_fine_before(c, linear, len, access))
        __builtin_trap();
}

static void op_translate(struct ctx *c, uint64_t linear, unsigned access)
{
    struct gmem_fault f;
    uint64_t gpa = 0;
    int rc = gmem_translate(&c->v, linear, access, &gpa, &f);

    if (rc == GMEM_FAULT) {
        check_fault(c, &f, linear, 1, access);
        check_unchanged(c);
        return;
    }
    if (rc == GMEM_NOT_RAM) {
        if (f.gpa < c->v.ram_size)
            __builtin_trap();
        check_unchanged(c);
        return;
    }
    if (rc != GMEM_OK)
        __builtin_trap();
    if ((c->mode == M_NONE && gpa > 0xFFFFFFFFull) || (c->mode == M_32 && gpa > 0xFFFFFFFFFFull))
        __builtin_trap();

    /* a 1-byte read of the same address agrees */
    uint8_t b = 0;
    rc = gmem_read(&c->v, linear, &b, 1, access & ~GMEM_WRITE, &f);
    if (gpa < c->v.ram_size) {
        /* PAE only: the accessed bit just set may be bit 5 of a PDPTE
         * that aliases a paging entry, and that bit is reserved there */
        if (rc == GMEM_FAULT && c->mode == M_PAE && (f.error & PF_RSVD))
            return;
        if (rc != GMEM_OK || b != c->v.ram[gpa])
            __builtin_trap();
    } else if (rc != GMEM_NOT_RAM || f.gpa != gpa) {
        if (!(rc == GMEM_FAULT && c->mode == M_PAE && (f.error & PF_RSVD)))
            __builtin_trap();
    }
}

static void op_read(struct ctx *c, uint64_t linear, size_t len, unsigned access)
{
    uint8_t *buf = malloc(len ? len : 1);
    struct gmem_fault f;

    if (!buf)
        return;
    memset(buf, 0xA5, len);
    int rc = gmem_read(&c->v, linear, buf, len, access, &f);
    if (rc != GMEM_OK) {
        if (rc == GMEM_FAULT)
            check_fault(c, &f, linear, len, access & ~GMEM_WRITE);
        else if (rc != GMEM_NOT_RAM || f.gpa < c->v.ram_size)
            __builtin_trap();
        check_failed_copy(c, rc, &f, linear, len, access & ~GMEM_WRITE, buf);
    }
    free(buf);
}

static void op_write(struct ctx *c, uint64_t linear, size_t len, unsigned access)
{
    uint8_t *buf = malloc(len ? len : 1);
    struct gmem_fault f;

    if (!buf)
        return;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 31 + 7);
    int rc = gmem_write_access(&c->v, linear, buf, len, access & GMEM_IMPLICIT, &f);
    if (rc != GMEM_OK) {
        if (rc == GMEM_FAULT)
            check_fault(c, &f, linear, len, (access & GMEM_IMPLICIT) | GMEM_WRITE);
        else if (rc != GMEM_NOT_RAM || f.gpa < c->v.ram_size)
            __builtin_trap();
        check_failed_copy(c, rc, &f, linear, len, (access & GMEM_IMPLICIT) | GMEM_WRITE, NULL);
    }
    free(buf);
}

static void op_segment(struct cursor *in, unsigned access)
{
    enum gmem_segreg seg = (enum gmem_segreg)(take(in, 1) % 6);
    struct gmem_seg s;
    s.base = take(in, 8);
    s.limit = (uint32_t)take(in, 4);
    s.ar = (uint32_t)take(in, 3);
    unsigned sel = (unsigned)take(in, 1);
    int long64 = (int)(sel % 3);
    unsigned addr_size = 1u << ((sel >> 2) % 4); /* 1, 2, 4, 8 */
    uint64_t offset = take(in, 8);
    unsigned len = (unsigned)take(in, 2);
    struct gmem_fault f;
    uint64_t lin = 0, lin2 = 0;

    int rc = gmem_seg_linear(seg, &s, long64, addr_size, offset, len, access, &lin, &f);
    if (rc == GMEM_FAULT) {
        if (f.vector != (seg == SEG_SS ? 12 : 13) || f.has_error != 1 || f.error != 0)
            __builtin_trap();
        return;
    }
    if (rc != GMEM_OK)
        __builtin_trap();
    if (!long64 && lin > 0xFFFFFFFFull)
        __builtin_trap();
    if (long64 && !canonical(lin, long64 == GMEM_LONG64_LA57 ? 57 : 48))
        __builtin_trap();
    if (gmem_seg_linear(seg, &s, long64, addr_size, offset, len, access, &lin2, &f) != GMEM_OK || lin2 != lin)
        __builtin_trap();
}

/* Sets up the view from the header. */
static void make_view(struct ctx *c, const uint8_t *h)
{
    static const uint64_t cr0_pe = 1, cr0_wp = 1ull << 16, cr0_pg = 1ull << 31;
    static const uint64_t cr4_pse = 1 << 4, cr4_pae = 1 << 5, cr4_la57 = 1 << 12;
    static const uint64_t cr4_smep = 1 << 20, cr4_smap = 1 << 21;
    static const uint64_t efer_lme = 1 << 8, efer_lma = 1 << 10, efer_nxe = 1 << 11;
    uint8_t fl = h[1];

    c->mode = (enum mode)(h[0] % 5);
    c->v.cr0 = cr0_pe | (c->mode != M_NONE ? cr0_pg : 0) | ((fl & 2) ? cr0_wp : 0);
    c->v.cr4 = ((fl & 1) ? cr4_pse : 0) | ((fl & 8) ? cr4_smep : 0) | ((fl & 16) ? cr4_smap : 0);
    if (c->mode >= M_PAE)
        c->v.cr4 |= cr4_pae;
    if (c->mode == M_5L)
        c->v.cr4 |= cr4_la57;
    c->v.efer = (fl & 4) ? efer_nxe : 0;
    if (c->mode >= M_4L)
        c->v.efer |= efer_lme | efer_lma;
    c->v.rflags = 2 | ((fl & 32) ? 1ull << 18 : 0);
    c->v.cpl = h[2] & 3;
    c->v.maxphyaddr = (h[2] >> 2) ? 32 + (h[2] >> 2) % 21 : 0;
    c->v.ram_size = (fl & 128) ? RAM_MAX - 1 - h[3] * 13u : RAM_MAX;
    c->v.cr3 = (uint64_t)h[4] | (uint64_t)h[5] << 8 | (uint64_t)h[6] << 16 | (uint64_t)h[7] << 24;
    if (fl & 64)
        c->v.cr3 = (c->v.cr3 & 0xFFF) | (c->v.cr3 & (TAME_PAGES_MASK << 12));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    struct ctx c;
    memset(&c, 0, sizeof(c));
    make_view(&c, data);

    struct cursor in = { data + HEADER, size - HEADER };
    unsigned nops = data[8] % MAX_OPS + 1;
    uint8_t ops[MAX_OPS][OP_BYTES];
    size_t opsz[MAX_OPS];
    for (unsigned i = 0; i < nops; i++) {
        opsz[i] = in.left < OP_BYTES ? in.left : OP_BYTES;
        memcpy(ops[i], in.p, opsz[i]);
        in.p += opsz[i];
        in.left -= opsz[i];
    }

    c.v.ram = malloc(c.v.ram_size);
    c.snap = malloc(c.v.ram_size);
    if (!c.v.ram || !c.snap)
        abort();
    memset(c.v.ram, 0, c.v.ram_size);
    for (size_t i = 0; in.left && i < c.v.ram_size; i += in.left)
        memcpy(c.v.ram + i, in.p, c.v.ram_size - i < in.left ? c.v.ram_size - i : in.left);
    if (data[1] & 64)
        tame(&c);

    for (unsigned i = 0; i < nops; i++) {
        struct cursor op = { ops[i], opsz[i] };
        unsigned kind = (unsigned)take(&op, 1);
        unsigned access = (kind >> 2) & 7;
        memcpy(c.snap, c.v.ram, c.v.ram_size);
        if ((kind & 3) == 3) {
            op_segment(&op, access);
            continue;
        }
        uint64_t linear = take(&op, 8);
        size_t len = (size_t)take(&op, 2);
        if (kind & 32)
            linear = make_canonical(&c, linear);
        if ((kind & 3) == 0)
            op_translate(&c, linear, access);
        else if ((kind & 3) == 1)
            op_read(&c, linear, len, access);
        else
            op_write(&c, linear, len, access);
    }
    free(c.snap);
    free(c.v.ram);
    return 0;
}
