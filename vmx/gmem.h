/* Guest memory access by guest-linear address (DESIGN §9): the one place
 * every emulation path (MMIO instruction fetch, string I/O, later task
 * switches and descriptor reads) reads and writes guest memory through.
 *
 * Pure C: it sees guest state only through a struct gmem_view snapshot
 * that the VMX side fills from the VMCS, and guest RAM only through
 * view->ram / view->ram_size (guest-physical 0 .. ram_size-1, which is
 * what our EPT maps). Host unit tests build page tables in a buffer and
 * walk them; a fuzzer feeds arbitrary tables.
 *
 * Paging modes, chosen from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57 as the
 * CPU does (SDM Vol. 3 ch. 4): none, 32-bit (4 KiB and, with CR4.PSE,
 * 4 MiB pages), PAE (4 KiB, 2 MiB), 4-level (4 KiB, 2 MiB, 1 GiB) and
 * 5-level. Checks: present, reserved bits, R/W (with CR0.WP for
 * supervisor writes), U/S, XD (EFER.NXE), SMEP and SMAP (RFLAGS.AC).
 * A successful walk sets the accessed bits, and the dirty bit on a write,
 * as the CPU does; a walk that faults sets none (the CPU may set some: the
 * SDM allows both). Protection keys are not checked (we do not advertise
 * PKU). 1 GiB pages are always allowed in 4- and 5-level paging.
 * PAE paging reads the PDPTEs from memory at CR3 (the CPU uses the
 * copies loaded with CR3; they differ only if the guest changed its PDPT
 * without reloading CR3); a PDPTE with a reserved bit set gives a #PF with
 * RSVD here, where the CPU would have refused the MOV to CR3 with #GP.
 *
 * Canonical addresses are checked twice: gmem_seg_linear checks the
 * segment's offset range in 64-bit mode (#GP(0), or #SS(0) for SS), and
 * gmem_translate checks every linear address it is given in IA-32e mode
 * (#GP(0)), so a caller that skips segmentation still cannot walk a
 * non-canonical address. */
#ifndef VMX_GMEM_H
#define VMX_GMEM_H

#include <stddef.h>
#include <stdint.h>

/* The guest state that decides a translation. */
struct gmem_view {
    uint8_t *ram;      /* host pointer to guest-physical 0 */
    uint64_t ram_size; /* bytes of guest RAM from guest-physical 0 */
    uint64_t cr0, cr3, cr4, efer;
    uint64_t rflags;     /* AC matters for SMAP */
    unsigned cpl;        /* current privilege level, 0-3 */
    unsigned maxphyaddr; /* physical-address width the guest sees (CPUID 80000008H:EAX[7:0]):
                          * bits from it to 51 of paging entries are reserved; 0 means 52 */
};

/* Access kinds: a bit set. A read is 0. */
#define GMEM_WRITE    1u /* data write */
#define GMEM_FETCH    2u /* instruction fetch */
#define GMEM_IMPLICIT 4u /* supervisor-mode implicit access (descriptor tables), whatever the CPL */

enum gmem_result {
    GMEM_OK = 0,
    GMEM_FAULT = 1,   /* the guest takes fault->vector: inject it, do not finish the instruction */
    GMEM_NOT_RAM = 2, /* a guest-physical address (fault->gpa) outside guest RAM: nothing touched */
};

/* Filled on GMEM_FAULT and GMEM_NOT_RAM; fields that do not apply are 0. */
struct gmem_fault {
    uint8_t vector; /* 14 (#PF), 13 (#GP) or 12 (#SS) */
    uint8_t has_error;
    uint32_t error; /* #PF: P, W/R, U/S, RSVD, I/D bits as the CPU sets them; #GP/#SS: 0 */
    uint64_t cr2;   /* #PF: the faulting linear address */
    uint64_t gpa;   /* GMEM_NOT_RAM: the first guest-physical address outside RAM that the
                       * access (a paging entry, or the data) needed: >= ram_size */
};

/* Page-fault error code bits (SDM Vol. 3 4.7). */
#define PF_P    1u
#define PF_W    2u
#define PF_U    4u
#define PF_RSVD 8u
#define PF_I    16u

/* linear -> guest-physical for one access of one byte (the caller splits
 * accesses at page boundaries; gmem_read/gmem_write do). Outside IA-32e
 * mode the linear address is truncated to 32 bits (CR2 gets the truncated
 * value). The result need not be RAM (MMIO is a legal target), but every
 * paging-structure entry read must be: else GMEM_NOT_RAM (f->gpa is the
 * entry's address, or ram_size for an entry cut by the end of RAM).
 * *gpa is written only on GMEM_OK. */
int gmem_translate(const struct gmem_view *v, uint64_t linear, unsigned access, uint64_t *gpa,
                   struct gmem_fault *f);

/* Copy len bytes from/to guest-linear memory. An access that crosses a
 * page boundary is translated for every page before any byte moves, so a
 * fault leaves guest memory unchanged (accessed and dirty bits included);
 * a #PF on a later page reports that page's first byte in CR2. Every page
 * must translate to guest RAM, else GMEM_NOT_RAM with the first
 * guest-physical address outside it. gmem_read's access is 0 or
 * GMEM_FETCH, either possibly with GMEM_IMPLICIT (GMEM_WRITE is ignored).
 * Copies longer than GMEM_ATOMIC_PAGES pages (no single x86 access is that
 * long) are checked whole first, then translated and copied that many pages at
 * a time: only a copy that rewrites its own later page tables can then
 * stop half done. */
#define GMEM_ATOMIC_PAGES 8
int gmem_read(const struct gmem_view *v, uint64_t linear, void *buf, size_t len, unsigned access,
              struct gmem_fault *f);
int gmem_write(const struct gmem_view *v, uint64_t linear, const void *buf, size_t len, struct gmem_fault *f);
/* gmem_write with GMEM_IMPLICIT in access allowed (descriptor accessed and
 * busy bits, the TSS in a task switch); GMEM_WRITE is implied. */
int gmem_write_access(const struct gmem_view *v, uint64_t linear, const void *buf, size_t len,
                      unsigned access, struct gmem_fault *f);

/* PAE paging's four PDPTEs, read from the 32-byte table at CR3 bits 31:5
 * as MOV to CR0, CR3 or CR4 loads them (SDM 4.4.1): GMEM_FAULT with
 * #GP(0) if a present one has a reserved bit set, GMEM_NOT_RAM if the
 * table is not in guest RAM (*f says where). */
int gmem_pae_pdptes(const struct gmem_view *v, uint64_t pdpte[4], struct gmem_fault *f);

/* Segment registers in the SDM's encoding (instruction information field). */
enum gmem_segreg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

/* A segment as the VMCS holds it (access rights in the VMCS format:
 * type 3:0, S 4, DPL 6:5, P 7, L 13, D/B 14, G 15, unusable 16). */
struct gmem_seg {
    uint64_t base;
    uint32_t limit; /* byte granular, as the VMCS stores it */
    uint32_t ar;
};

/* segment:offset -> linear for an access of len bytes. long64: the CPU is
 * in 64-bit mode (EFER.LMA and CS.L): then only FS and GS add their base,
 * no limit or type applies, and the first and last byte's linear address
 * must be canonical (else #GP(0), or #SS(0) for SS): 48-bit canonical for
 * GMEM_LONG64 (or any nonzero value but GMEM_LONG64_LA57), 57-bit for
 * GMEM_LONG64_LA57 (CR4.LA57 = 1). The offset is truncated to addr_size
 * bytes (2, 4, or 8 in 64-bit mode only; anything else is taken as 4
 * outside 64-bit mode and 8 in it). Outside 64-bit mode the segment must
 * be usable and of the right type (writable data for a write; readable
 * for a read; a fetch checks no type) and offset..offset+len-1 inside its
 * limit (expand-down segments included: limit+1 .. 0xFFFF or 0xFFFFFFFF
 * by D/B), else #GP(0) / #SS(0); the linear address is truncated to 32
 * bits. len 0 is checked as 1. *linear is written only on GMEM_OK. */
#define GMEM_LONG64      1
#define GMEM_LONG64_LA57 2
int gmem_seg_linear(enum gmem_segreg seg, const struct gmem_seg *s, int long64, unsigned addr_size,
                    uint64_t offset, unsigned len, unsigned access, uint64_t *linear, struct gmem_fault *f);

#endif
