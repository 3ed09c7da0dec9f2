/* The VMX side of the guest memory layer (gmem.c): the vCPU's paging and
 * segment state read from the VMCS, and the fault a walk found turned into
 * an exception for the guest. */
#include "vcpu_mem.h"

#include "../arch/x86/cpu.h"
#include "inject.h"
#include "vmcs.h"

#define CS_AR_L    (1u << 13)
#define CS_AR_DB   (1u << 14)
#define AR_DPL(ar) (((ar) >> 5) & 3u)

/* A control register as the guest sees it: the bits we own from the read
 * shadow, the rest from the register itself. */
static uint64_t guest_cr(enum vmcs_field reg, enum vmcs_field shadow, enum vmcs_field mask)
{
    uint64_t owned = vmread(mask);
    return (vmread(reg) & ~owned) | (vmread(shadow) & owned);
}

uint64_t vcpu_cr0(void) { return guest_cr(GUEST_CR0, CR0_READ_SHADOW, CR0_GUEST_HOST_MASK); }
uint64_t vcpu_cr4(void) { return guest_cr(GUEST_CR4, CR4_READ_SHADOW, CR4_GUEST_HOST_MASK); }

void vcpu_mem_view(const struct vm *vm, struct gmem_view *v)
{
    v->ram = vm->ram;
    v->ram_size = vm->ram_size;
    v->cr0 = vcpu_cr0();
    v->cr3 = vmread(GUEST_CR3);
    v->cr4 = vcpu_cr4();
    v->efer = vmread(GUEST_EFER);
    v->rflags = vmread(GUEST_RFLAGS);
    v->cpl = AR_DPL((uint32_t)vmread(GUEST_SS_AR));
    v->maxphyaddr = vm->maxphyaddr;
}

int vcpu_long64(const struct gmem_view *v)
{
    if (vcpu_code_size() != 64)
        return 0;
    return (v->cr4 & CR4_LA57) ? GMEM_LONG64_LA57 : GMEM_LONG64;
}

void vcpu_mem_seg(enum gmem_segreg seg, struct gmem_seg *s)
{
    /* ES, CS, SS, DS, FS, GS: consecutive VMCS fields, two encodings apart. */
    s->base = vmread((enum vmcs_field)(GUEST_ES_BASE + 2 * seg));
    s->limit = (uint32_t)vmread((enum vmcs_field)(GUEST_ES_LIMIT + 2 * seg));
    s->ar = (uint32_t)vmread((enum vmcs_field)(GUEST_ES_AR + 2 * seg));
}

unsigned vcpu_code_size(void)
{
    uint32_t ar = (uint32_t)vmread(GUEST_CS_AR);
    if ((ar & CS_AR_L) && (vmread(GUEST_EFER) & EFER_LMA))
        return 64;
    return (ar & CS_AR_DB) ? 32 : 16;
}

int vcpu_fetch_insn(const struct vm *vm, uint8_t *buf, unsigned *avail, struct gmem_fault *f)
{
    struct gmem_view v;
    struct gmem_seg cs;
    uint64_t linear;
    unsigned code = vcpu_code_size();
    vcpu_mem_view(vm, &v);
    vcpu_mem_seg(SEG_CS, &cs);
    int rc = gmem_seg_linear(SEG_CS, &cs, vcpu_long64(&v), code / 8, vmread(GUEST_RIP), 1, GMEM_FETCH,
                             &linear, f);
    if (rc)
        return rc;
    /* Up to the end of the page first: the bytes after it may be on a page
     * that faults, and a short instruction does not need them. */
    unsigned first = (unsigned)(0x1000 - (linear & 0xfff));
    if (first > *avail)
        first = *avail;
    rc = gmem_read(&v, linear, buf, first, GMEM_FETCH, f);
    if (rc || first == *avail)
        return rc;
    struct gmem_fault later;
    if (gmem_read(&v, linear + first, buf + first, *avail - first, GMEM_FETCH, &later) == GMEM_OK)
        return GMEM_OK;
    *f = later; /* given to the caller in case the instruction turns out to need those bytes */
    *avail = first;
    return GMEM_OK;
}

void vcpu_inject_fault(struct vm *vm, const struct gmem_fault *f)
{
    /* CR2 is not part of the VMCS: the guest's CR2 is the CPU's while it
     * runs, and nothing in the hypervisor changes it before the entry. */
    if (f->vector == PF_VECTOR)
        write_cr2(f->cr2);
    vcpu_queue_exception(&vm->vcpu, f->vector, f->has_error, f->error);
}

int vcpu_load_pdptes(struct vm *vm, uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE) || (efer & EFER_LMA))
        return 0; /* not PAE paging: the PDPTE fields are not used */
    struct gmem_view v;
    vcpu_mem_view(vm, &v);
    v.cr0 = cr0;
    v.cr4 = cr4;
    v.efer = efer;
    uint64_t pdpte[4];
    struct gmem_fault f;
    int rc = gmem_pae_pdptes(&v, pdpte, &f);
    if (rc != GMEM_OK) {
        /* A table outside RAM reads as all ones on a PC: present, with
         * reserved bits set, so #GP(0) as well. */
        f = (struct gmem_fault){ .vector = GP_VECTOR, .has_error = 1 };
        vcpu_inject_fault(vm, &f);
        return -1;
    }
    for (unsigned i = 0; i < 4; i++)
        vmwrite((enum vmcs_field)(GUEST_PDPTE0 + 2 * i), pdpte[i]);
    return 0;
}

/* INVVPID of the guest's VPID: single-context where the CPU has it
 * (IA32_VMX_EPT_VPID_CAP bit 41), else all contexts (bit 42). Without VPID
 * every VM entry and exit flushes already. */
static void flush_guest_tlb(const struct vm *vm)
{
    if (!vm->ctl.vpid)
        return;
    struct {
        uint64_t vpid, linear;
    } desc = { vmread(VMCS_VPID), 0 };
    uint64_t type = (vm->caps->ept_vpid >> 41) & 1 ? 1 : 2;
    __asm__ volatile("invvpid %0, %1" ::"m"(desc), "r"(type) : "cc", "memory");
}

int vcpu_load_cr3(struct vm *vm, uint64_t cr3)
{
    uint64_t old = vmread(GUEST_CR3);
    vmwrite(GUEST_CR3, cr3);
    if (vcpu_load_pdptes(vm, vcpu_cr0(), vcpu_cr4(), vmread(GUEST_EFER))) {
        vmwrite(GUEST_CR3, old);
        return -1;
    }
    flush_guest_tlb(vm);
    return 0;
}
