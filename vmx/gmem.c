/* Guest memory access by guest-linear address (see gmem.h).
 *
 * Written from the Intel SDM Vol. 3: chapter 4 (choice of paging mode
 * 4.1.1, the walks of 32-bit, PAE, 4-level and 5-level paging 4.3-4.5,
 * access rights 4.6, page-fault error codes 4.7, accessed and dirty
 * flags 4.8), chapter 3.3.7.1 (canonical addresses) and chapter 5.3-5.4
 * (segment limits, expand-down segments, type checks).
 *
 * A translation is done in two steps: walk() computes the address and the
 * entries it used without writing anything, commit() then sets their
 * accessed and dirty flags. gmem_read/gmem_write walk every page of an
 * access before committing any, so a fault changes no guest memory. */
#include "gmem.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../arch/x86/regs.h"

/* Paging-structure entries (the low bits mean the same in every format) */
#define PTE_P              (1ull << 0)
#define PTE_RW             (1ull << 1)
#define PTE_US             (1ull << 2)
#define PTE_A              (1ull << 5)
#define PTE_D              (1ull << 6)
#define PTE_PS             (1ull << 7)
#define PTE_XD             (1ull << 63)
#define PAE_PDPTE_RSVD_LOW 0x1E6ull     /* bits 8:5 and 2:1 of a PAE PDPTE */
#define PDE32_4M_RSVD      (1ull << 21) /* the one always-reserved bit of a 4 MiB PDE */

#define PAGE_SIZE        4096ull
#define PAGE_OFFSET_MASK 0xFFFull
#define LOW32            0xFFFFFFFFull
#define MAXPHYADDR_MAX   52u
#define MAXPHYADDR_MIN   32u
#define PSE36_MAXPHYADDR 40u /* 4 MiB pages of 32-bit paging reach 40 bits at most */
#define MAX_LEVELS       5

/* Exception vectors */
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14

/* Segment access rights, VMCS format */
#define AR_TYPE_RW      (1u << 1) /* data: writable; code: readable */
#define AR_TYPE_EXPDOWN (1u << 2) /* data: expand-down (code: conforming) */
#define AR_TYPE_CODE    (1u << 3)
#define AR_DB           (1u << 14)
#define AR_UNUSABLE     (1u << 16)

enum paging_mode { PG_NONE, PG_32, PG_PAE, PG_4LEVEL, PG_5LEVEL };

/* The access being translated, as the permission rules see it. */
struct req {
    uint64_t linear; /* truncated to 32 bits outside IA-32e mode */
    int write;       /* data write */
    int fetch;       /* instruction fetch (wins over GMEM_WRITE if both are given) */
    int implicit;    /* implicit supervisor-mode access */
    int user;        /* user-mode access: CPL 3 and not implicit */
};

/* One translation before its side effects: the address found and the
 * entries whose accessed (and, on the leaf, dirty) flags commit() sets. */
struct walk {
    uint64_t gpa;
    uint64_t entry[MAX_LEVELS]; /* guest-physical address of each entry used */
    unsigned n;                 /* entries used; entry[n - 1] is the leaf */
    unsigned width;             /* entry size: 4 (32-bit paging) or 8 */
    int dirty;                  /* a write: set D on the leaf */
    int all_user;               /* U/S = 1 in every entry: a user-mode address */
    int all_writable;           /* R/W = 1 in every entry */
    int any_xd;                 /* XD = 1 in some entry */
};

/* One page's part of a gmem_read/gmem_write access. */
struct piece {
    struct walk w;
    size_t len;
};

/* Mask of bits hi..lo (0 when hi < lo). */
static uint64_t bits(unsigned hi, unsigned lo)
{
    if (hi < lo)
        return 0;
    return (~0ull >> (63 - hi)) & (~0ull << lo);
}

/* The guest's MAXPHYADDR, 52 when the view leaves it 0. */
static unsigned maxphyaddr(const struct gmem_view *v)
{
    if (v->maxphyaddr == 0 || v->maxphyaddr > MAXPHYADDR_MAX)
        return MAXPHYADDR_MAX;
    return v->maxphyaddr < MAXPHYADDR_MIN ? MAXPHYADDR_MIN : v->maxphyaddr;
}

/* The paging mode CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57 select (SDM 4.1.1). */
static enum paging_mode paging_mode(const struct gmem_view *v)
{
    if (!(v->cr0 & CR0_PG))
        return PG_NONE;
    if (!(v->cr4 & CR4_PAE))
        return PG_32;
    if (!(v->efer & EFER_LMA))
        return PG_PAE;
    return (v->cr4 & CR4_LA57) ? PG_5LEVEL : PG_4LEVEL;
}

/* Whether a is canonical for a linear-address width of width bits. */
static int canonical(uint64_t a, unsigned width)
{
    uint64_t top = a >> (width - 1);

    return top == 0 || top == (~0ull >> (width - 1));
}

/* Whether gpa .. gpa+len-1 lies inside guest RAM. */
static int in_ram(const struct gmem_view *v, uint64_t gpa, uint64_t len)
{
    return gpa < v->ram_size && len <= v->ram_size - gpa;
}

/* The fixed-size copies and clears here are __builtin_memcpy/memset: the
 * hypervisor is built freestanding (-fno-builtin), where a plain memcpy of
 * 4 bytes is a call, and these run on every emulated MMIO access (the
 * fetch of the instruction walks the guest's page tables). */

/* Fills f with an exception and returns GMEM_FAULT. */
static int set_fault(struct gmem_fault *f, uint8_t vector, uint32_t error, uint64_t cr2)
{
    __builtin_memset(f, 0, sizeof(*f));
    f->vector = vector;
    f->has_error = 1;
    f->error = error;
    f->cr2 = cr2;
    return GMEM_FAULT;
}

/* Fills f for an access at gpa that does not fit in RAM and returns
 * GMEM_NOT_RAM; f->gpa is its first byte outside RAM. */
static int not_ram(const struct gmem_view *v, struct gmem_fault *f, uint64_t gpa)
{
    __builtin_memset(f, 0, sizeof(*f));
    f->gpa = gpa < v->ram_size ? v->ram_size : gpa;
    return GMEM_NOT_RAM;
}

/* A #PF for r: cause is 0 (not present), PF_P (protection) or
 * PF_P | PF_RSVD; W/R, U/S and I/D come from the access (SDM 4.7: I/D only
 * with SMEP, or with NXE outside 32-bit paging). */
static int page_fault(const struct gmem_view *v, enum paging_mode mode, const struct req *r, uint32_t cause,
                      struct gmem_fault *f)
{
    uint32_t err = cause;

    if (r->write)
        err |= PF_W;
    if (r->user)
        err |= PF_U;
    if (r->fetch && ((v->cr4 & CR4_SMEP) || (mode != PG_32 && (v->efer & EFER_NXE))))
        err |= PF_I;
    return set_fault(f, VEC_PF, err, r->linear);
}

/* Reads a paging-structure entry of width bytes at gpa; GMEM_NOT_RAM if
 * it is not wholly inside RAM. */
static int read_entry(const struct gmem_view *v, uint64_t gpa, unsigned width, uint64_t *e,
                      struct gmem_fault *f)
{
    if (!in_ram(v, gpa, width))
        return not_ram(v, f, gpa);
    if (width == 4) {
        uint32_t e32;
        __builtin_memcpy(&e32, v->ram + gpa, 4);
        *e = e32;
    } else {
        __builtin_memcpy(e, v->ram + gpa, 8);
    }
    return GMEM_OK;
}

/* ORs set into the entry of width bytes at gpa (known to be in RAM),
 * writing only if that changes it. */
static void set_entry_bits(const struct gmem_view *v, uint64_t gpa, unsigned width, uint64_t set)
{
    if (width == 4) {
        uint32_t e;
        __builtin_memcpy(&e, v->ram + gpa, 4);
        if ((e | (uint32_t)set) != e) {
            e |= (uint32_t)set;
            __builtin_memcpy(v->ram + gpa, &e, 4);
        }
    } else {
        uint64_t e;
        __builtin_memcpy(&e, v->ram + gpa, 8);
        if ((e | set) != e) {
            e |= set;
            __builtin_memcpy(v->ram + gpa, &e, 8);
        }
    }
}

/* Notes an entry the translation uses and folds in its access rights. */
static void record(struct walk *w, uint64_t gpa, uint64_t e)
{
    w->entry[w->n++] = gpa;
    if (!(e & PTE_US))
        w->all_user = 0;
    if (!(e & PTE_RW))
        w->all_writable = 0;
    if (e & PTE_XD)
        w->any_xd = 1;
}

/* 32-bit paging (SDM 4.3): a PDE, then a PTE or a 4 MiB page with CR4.PSE
 * (PSE-36: PDE bits 20:13 are address bits 39:32). */
static int walk32(const struct gmem_view *v, const struct req *r, struct walk *w, struct gmem_fault *f)
{
    uint64_t pde_gpa = (v->cr3 & 0xFFFFF000ull) + ((r->linear >> 22) << 2);
    uint64_t e;
    int rc;

    w->width = 4;
    if ((rc = read_entry(v, pde_gpa, 4, &e, f)) != GMEM_OK)
        return rc;
    if (!(e & PTE_P))
        return page_fault(v, PG_32, r, 0, f);
    if ((e & PTE_PS) && (v->cr4 & CR4_PSE)) {
        unsigned m = maxphyaddr(v) < PSE36_MAXPHYADDR ? maxphyaddr(v) : PSE36_MAXPHYADDR;
        /* PDE bit 13+k holds address bit 32+k: reserved from address bit m up */
        if (e & (PDE32_4M_RSVD | bits(20, m - 19)))
            return page_fault(v, PG_32, r, PF_P | PF_RSVD, f);
        record(w, pde_gpa, e);
        w->gpa = (e & 0xFFC00000ull) | (((e >> 13) & 0xFF) << 32) | (r->linear & 0x3FFFFF);
        return GMEM_OK;
    }
    record(w, pde_gpa, e);

    uint64_t pte_gpa = (e & 0xFFFFF000ull) + (((r->linear >> 12) & 0x3FF) << 2);
    if ((rc = read_entry(v, pte_gpa, 4, &e, f)) != GMEM_OK)
        return rc;
    if (!(e & PTE_P))
        return page_fault(v, PG_32, r, 0, f);
    record(w, pte_gpa, e);
    w->gpa = (e & 0xFFFFF000ull) | (r->linear & PAGE_OFFSET_MASK);
    return GMEM_OK;
}

/* PAE paging's PDPTE for r (SDM 4.4.1), read from memory at CR3 bits 31:5;
 * gives the page directory's address. A PDPTE grants no rights and has no
 * accessed flag, so it is not recorded. */
static int pae_pdpte(const struct gmem_view *v, const struct req *r, uint64_t *table, struct gmem_fault *f)
{
    uint64_t gpa = (v->cr3 & 0xFFFFFFE0ull) + (((r->linear >> 30) & 3) << 3);
    unsigned m = maxphyaddr(v);
    uint64_t e;
    int rc;

    if ((rc = read_entry(v, gpa, 8, &e, f)) != GMEM_OK)
        return rc;
    if (!(e & PTE_P))
        return page_fault(v, PG_PAE, r, 0, f);
    if (e & (bits(63, m) | PAE_PDPTE_RSVD_LOW))
        return page_fault(v, PG_PAE, r, PF_P | PF_RSVD, f);
    *table = e & bits(m - 1, 12);
    return GMEM_OK;
}

int gmem_pae_pdptes(const struct gmem_view *v, uint64_t pdpte[4], struct gmem_fault *f)
{
    uint64_t base = v->cr3 & 0xFFFFFFE0ull, rsvd = bits(63, maxphyaddr(v)) | PAE_PDPTE_RSVD_LOW;
    *f = (struct gmem_fault){ 0 };
    for (unsigned i = 0; i < 4; i++) {
        int rc = read_entry(v, base + 8 * i, 8, &pdpte[i], f);
        if (rc != GMEM_OK)
            return rc;
        if ((pdpte[i] & PTE_P) && (pdpte[i] & rsvd)) {
            f->vector = 13;
            f->has_error = 1;
            return GMEM_FAULT;
        }
    }
    return GMEM_OK;
}

/* Reserved bits of an 8-byte entry at the level that translates bits
 * shift+8..shift of the address; leaf: it maps a page (SDM tables 4-8 to
 * 4-11 for PAE, 4-15 to 4-20 for 4-level; 5-level adds the PML5E). */
static uint64_t rsvd_mask(const struct gmem_view *v, enum paging_mode mode, unsigned shift, int leaf)
{
    unsigned m = maxphyaddr(v);
    uint64_t r = mode == PG_PAE ? bits(62, m) : bits(51, m);

    if (!(v->efer & EFER_NXE))
        r |= PTE_XD;
    if (shift >= 39)
        r |= PTE_PS; /* PML4E and PML5E never map a page */
    else if (leaf && shift > 12)
        r |= bits(shift - 1, 13); /* a large page's address bits below its size (bit 12 is PAT) */
    return r;
}

/* PAE, 4-level and 5-level paging: 8-byte entries, 512 to a table; 2 MiB
 * pages in PDEs, 1 GiB pages in 4-/5-level PDPTEs. */
static int walk64(const struct gmem_view *v, enum paging_mode mode, const struct req *r, struct walk *w,
                  struct gmem_fault *f)
{
    unsigned m = maxphyaddr(v);
    uint64_t table = 0;
    unsigned shift;
    int rc;

    w->width = 8;
    if (mode == PG_PAE) {
        if ((rc = pae_pdpte(v, r, &table, f)) != GMEM_OK)
            return rc;
        shift = 21;
    } else {
        table = v->cr3 & bits(m - 1, 12);
        shift = mode == PG_5LEVEL ? 48 : 39;
    }
    for (;;) {
        uint64_t gpa = table + (((r->linear >> shift) & 0x1FF) << 3);
        uint64_t e;
        if ((rc = read_entry(v, gpa, 8, &e, f)) != GMEM_OK)
            return rc;
        if (!(e & PTE_P))
            return page_fault(v, mode, r, 0, f);
        int leaf = shift == 12 || ((e & PTE_PS) && shift <= 30);
        if (e & rsvd_mask(v, mode, shift, leaf))
            return page_fault(v, mode, r, PF_P | PF_RSVD, f);
        record(w, gpa, e);
        if (leaf) {
            w->gpa = (e & bits(m - 1, shift)) | (r->linear & bits(shift - 1, 0));
            return GMEM_OK;
        }
        table = e & bits(m - 1, 12);
        shift -= 9;
    }
}

/* Whether the rights the walk collected allow the access (SDM 4.6.1). */
static int rights_ok(const struct gmem_view *v, const struct req *r, const struct walk *w)
{
    if (r->fetch && w->any_xd && (v->efer & EFER_NXE))
        return 0;
    if (r->user)
        return w->all_user && (!r->write || w->all_writable);
    if (w->all_user) {
        int smap = (v->cr4 & CR4_SMAP) && (r->implicit || !(v->rflags & RFLAGS_AC));
        if (r->fetch ? (v->cr4 & CR4_SMEP) != 0 : smap)
            return 0;
    }
    return !r->write || w->all_writable || !(v->cr0 & CR0_WP);
}

/* Describes an access of kind access to linear under paging mode mode. */
static struct req make_req(const struct gmem_view *v, enum paging_mode mode, uint64_t linear, unsigned access)
{
    struct req r;

    r.linear = mode >= PG_4LEVEL ? linear : linear & LOW32;
    r.fetch = (access & GMEM_FETCH) != 0;
    r.write = (access & GMEM_WRITE) && !r.fetch;
    r.implicit = (access & GMEM_IMPLICIT) != 0;
    r.user = v->cpl == 3 && !r.implicit;
    return r;
}

/* Translates linear for one access without side effects: on GMEM_OK, w
 * holds the address and the entries to mark accessed. */
static int walk(const struct gmem_view *v, uint64_t linear, unsigned access, struct walk *w,
                struct gmem_fault *f)
{
    enum paging_mode mode = paging_mode(v);
    struct req r = make_req(v, mode, linear, access);
    int rc;

    __builtin_memset(w, 0, sizeof(*w));
    w->all_user = w->all_writable = 1;
    w->dirty = r.write;
    if (mode == PG_NONE) {
        w->gpa = r.linear;
        return GMEM_OK;
    }
    if (mode >= PG_4LEVEL && !canonical(linear, mode == PG_5LEVEL ? 57 : 48))
        return set_fault(f, VEC_GP, 0, 0);
    rc = mode == PG_32 ? walk32(v, &r, w, f) : walk64(v, mode, &r, w, f);
    if (rc != GMEM_OK)
        return rc;
    if (!rights_ok(v, &r, w))
        return page_fault(v, mode, &r, PF_P, f);
    return GMEM_OK;
}

/* Sets the accessed flag of every entry the walk used, and the dirty flag
 * of its leaf for a write. */
static void commit(const struct gmem_view *v, const struct walk *w)
{
    for (unsigned i = 0; i < w->n; i++) {
        uint64_t set = PTE_A;
        if (w->dirty && i == w->n - 1)
            set |= PTE_D;
        set_entry_bits(v, w->entry[i], w->width, set);
    }
}

int gmem_translate(const struct gmem_view *v, uint64_t linear, unsigned access, uint64_t *gpa,
                   struct gmem_fault *f)
{
    struct walk w;
    int rc = walk(v, linear, access, &w, f);

    if (rc != GMEM_OK)
        return rc;
    commit(v, &w);
    *gpa = w.gpa;
    return GMEM_OK;
}

/* Walks the part of an access of len bytes at linear that lies in
 * linear's page, and checks that it lands in RAM. No side effects. */
static int piece_at(const struct gmem_view *v, uint64_t linear, size_t len, unsigned access, struct piece *p,
                    struct gmem_fault *f)
{
    uint64_t room = PAGE_SIZE - (linear & PAGE_OFFSET_MASK);
    int rc;

    p->len = len < room ? len : (size_t)room;
    if ((rc = walk(v, linear, access, &p->w, f)) != GMEM_OK)
        return rc;
    if (!in_ram(v, p->w.gpa, p->len))
        return not_ram(v, f, p->w.gpa);
    return GMEM_OK;
}

/* Walks every page of a long access without side effects, so that a
 * fault is reported before any byte moves. */
static int check_all(const struct gmem_view *v, uint64_t linear, size_t len, unsigned access,
                     struct gmem_fault *f)
{
    struct piece p;
    int rc;

    while (len > 0) {
        if ((rc = piece_at(v, linear, len, access, &p, f)) != GMEM_OK)
            return rc;
        linear += p.len;
        len -= p.len;
    }
    return GMEM_OK;
}

/* Copies len bytes between guest-linear memory at linear and the host
 * buffer: into the guest from src when to_guest, else out to dst. */
static int transfer(const struct gmem_view *v, uint64_t linear, uint8_t *dst, const uint8_t *src,
                    int to_guest, size_t len, unsigned access, struct gmem_fault *f)
{
    uint64_t first_room = PAGE_SIZE - (linear & PAGE_OFFSET_MASK);
    size_t done = 0;
    int rc;

    if (len > first_room + (GMEM_ATOMIC_PAGES - 1) * PAGE_SIZE &&
        (rc = check_all(v, linear, len, access, f)) != GMEM_OK)
        return rc;
    while (done < len) {
        struct piece p[GMEM_ATOMIC_PAGES];
        unsigned n = 0;
        size_t group = 0;

        while (n < GMEM_ATOMIC_PAGES && done + group < len) {
            rc = piece_at(v, linear + done + group, len - done - group, access, &p[n], f);
            if (rc != GMEM_OK)
                return rc;
            group += p[n++].len;
        }
        for (unsigned i = 0; i < n; i++)
            commit(v, &p[i].w);
        for (unsigned i = 0; i < n; i++) {
            uint8_t *guest = v->ram + p[i].w.gpa;
            if (to_guest)
                memmove(guest, src + done, p[i].len);
            else
                memmove(dst + done, guest, p[i].len);
            done += p[i].len;
        }
    }
    return GMEM_OK;
}

int gmem_read(const struct gmem_view *v, uint64_t linear, void *buf, size_t len, unsigned access,
              struct gmem_fault *f)
{
    return transfer(v, linear, buf, NULL, 0, len, access & ~GMEM_WRITE, f);
}

int gmem_write_access(const struct gmem_view *v, uint64_t linear, const void *buf, size_t len,
                      unsigned access, struct gmem_fault *f)
{
    return transfer(v, linear, NULL, buf, 1, len, (access & GMEM_IMPLICIT) | GMEM_WRITE, f);
}

int gmem_write(const struct gmem_view *v, uint64_t linear, const void *buf, size_t len, struct gmem_fault *f)
{
    return gmem_write_access(v, linear, buf, len, GMEM_WRITE, f);
}

/* #GP(0), or #SS(0) for an access through SS. */
static int seg_fault(enum gmem_segreg seg, struct gmem_fault *f)
{
    return set_fault(f, seg == SEG_SS ? VEC_SS : VEC_GP, 0, 0);
}

/* The effective-address mask for an address size of addr_size bytes. */
static uint64_t offset_mask(unsigned addr_size, int long64)
{
    if (addr_size == 2)
        return 0xFFFF;
    if (addr_size == 4 || !long64)
        return LOW32;
    return ~0ull;
}

/* Whether a segment of access rights ar allows the access (SDM 5.4): a
 * write needs a writable data segment, a read a data or readable code
 * segment; fetches come through CS and check nothing here. */
static int seg_type_ok(uint32_t ar, unsigned access)
{
    int code = (ar & AR_TYPE_CODE) != 0;
    int rw = (ar & AR_TYPE_RW) != 0;

    if (access & GMEM_FETCH)
        return 1;
    if (access & GMEM_WRITE)
        return !code && rw;
    return !code || rw;
}

/* Whether offsets first..last are inside the segment's limit (SDM 5.3):
 * up to the limit, or for an expand-down data segment above it up to
 * 0xFFFF or 0xFFFFFFFF (by D/B). */
static int seg_limit_ok(const struct gmem_seg *s, uint64_t first, uint64_t last)
{
    if (!(s->ar & AR_TYPE_CODE) && (s->ar & AR_TYPE_EXPDOWN)) {
        uint64_t top = (s->ar & AR_DB) ? LOW32 : 0xFFFF;
        return first > s->limit && last <= top;
    }
    return last <= s->limit;
}

int gmem_seg_linear(enum gmem_segreg seg, const struct gmem_seg *s, int long64, unsigned addr_size,
                    uint64_t offset, unsigned len, unsigned access, uint64_t *linear, struct gmem_fault *f)
{
    uint64_t eff = offset & offset_mask(addr_size, long64);
    uint64_t span = len ? len - 1 : 0;

    if (long64) {
        uint64_t first = eff + ((seg == SEG_FS || seg == SEG_GS) ? s->base : 0);
        unsigned width = long64 == GMEM_LONG64_LA57 ? 57 : 48;
        if (!canonical(first, width) || !canonical(first + span, width))
            return seg_fault(seg, f);
        *linear = first;
        return GMEM_OK;
    }
    if ((s->ar & AR_UNUSABLE) || !seg_type_ok(s->ar, access) || !seg_limit_ok(s, eff, eff + span))
        return seg_fault(seg, f);
    *linear = (s->base + eff) & LOW32;
    return GMEM_OK;
}
