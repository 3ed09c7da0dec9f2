/* The VMX side of the guest memory layer: gmem.c walks, this file feeds it
 * the vCPU's state from the VMCS and delivers the faults it finds. */
#ifndef VMX_VCPU_MEM_H
#define VMX_VCPU_MEM_H

#include "gmem.h"
#include "vm.h"

/* CR0 and CR4 as the guest sees them (our bits from the read shadows). */
uint64_t vcpu_cr0(void);
uint64_t vcpu_cr4(void);
/* The paging state of the vCPU now. */
void vcpu_mem_view(const struct vm *vm, struct gmem_view *v);
/* A segment register as the VMCS holds it. */
void vcpu_mem_seg(enum gmem_segreg seg, struct gmem_seg *s);
/* The code size of the current instruction: 16, 32 or 64. */
unsigned vcpu_code_size(void);
/* For gmem_seg_linear: 0 outside 64-bit mode, else GMEM_LONG64 or
 * GMEM_LONG64_LA57 as CR4.LA57 says. */
int vcpu_long64(const struct gmem_view *v);
/* Reads up to *avail bytes of the instruction at CS:RIP. Returns GMEM_OK
 * with *avail lowered when only the bytes up to a page end could be read
 * (then *f holds the fault the rest gave, for when the instruction needs
 * them), or the result of a failed first read. */
int vcpu_fetch_insn(const struct vm *vm, uint8_t *buf, unsigned *avail, struct gmem_fault *f);
/* With EPT, VM entry takes PAE paging's PDPTEs from the VMCS, so an
 * emulated MOV to CR0/CR3/CR4 that loads them on hardware must put them
 * there: if cr0/cr4/efer (the values the instruction is about to set) mean
 * PAE paging, reads the four from the guest's CR3 into the VMCS. Returns
 * -1 after queueing #GP(0) for the guest when one has a reserved bit (the
 * CPU's answer), and then the caller must change nothing. */
int vcpu_load_pdptes(struct vm *vm, uint64_t cr0, uint64_t cr4, uint64_t efer);
/* Loads the guest's CR3 as MOV to CR3 does (an emulated one, or a task
 * switch): with PAE paging its PDPTEs too (vcpu_load_pdptes; on #GP CR3
 * stays as it was and -1 is returned), and the guest's cached
 * translations are flushed, which a VM entry does not do when VPID is on. */
int vcpu_load_cr3(struct vm *vm, uint64_t cr3);
/* Makes the guest take the fault a walk found (#PF with CR2, #GP, #SS). */
void vcpu_inject_fault(struct vm *vm, const struct gmem_fault *f);

#endif
