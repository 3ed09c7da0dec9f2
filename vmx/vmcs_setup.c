/* Building the VMCS: controls from the capability MSRs, host state from the
 * running hypervisor, guest state as Multiboot v1 specifies it. */
#include <string.h>

#include "../arch/x86/cpu.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/fmt.h"
#include "../arch/x86/pages.h"
#include "../drivers/log.h"
#include "ept.h"
#include "exit.h"
#include "exit_names.h"
#include "vmcs.h"
#include "vmx.h"

#define AR_CODE32     0xC09B /* present, DPL0, execute/read accessed, D=1, G=1 */
#define AR_DATA32     0xC093 /* present, DPL0, read/write accessed, D=1, G=1 */
#define AR_TSS32_BUSY 0x8B
#define AR_UNUSABLE   (1u << 16)
#define GUEST_VPID    1

__attribute__((cold, noinline)) void vmwrite_failed(enum vmcs_field f, uint64_t v, int cf)
{
    log_error("vmx", "VMWRITE of field 0x%04x = 0x%llx failed (%s, VM-instruction error %llu)", (unsigned)f,
              (unsigned long long)v, cf ? "VMfailInvalid" : "VMfailValid",
              cf ? 0ull : (unsigned long long)vmread(VM_INSTRUCTION_ERROR));
}

static void setup_host_state(void)
{
    uint64_t cr4 = read_cr4();
    vmwrite(HOST_CR0, read_cr0());
    vmwrite(HOST_CR3, read_cr3());
    vmwrite(HOST_CR4, cr4);
    vmwrite(HOST_CS_SEL, HOST_CS);
    vmwrite(HOST_SS_SEL, HOST_DS);
    vmwrite(HOST_DS_SEL, HOST_DS);
    vmwrite(HOST_ES_SEL, HOST_DS);
    vmwrite(HOST_FS_SEL, 0);
    vmwrite(HOST_GS_SEL, 0);
    vmwrite(HOST_TR_SEL, HOST_TR);
    vmwrite(HOST_FS_BASE, 0);
    vmwrite(HOST_GS_BASE, 0);
    vmwrite(HOST_TR_BASE, desc_tss_base());
    vmwrite(HOST_GDTR_BASE, desc_gdt_base());
    vmwrite(HOST_IDTR_BASE, desc_idt_base());
    vmwrite(HOST_SYSENTER_CS, 0);
    vmwrite(HOST_SYSENTER_ESP, 0);
    vmwrite(HOST_SYSENTER_EIP, 0);
    vmwrite(HOST_EFER, rdmsr(MSR_IA32_EFER));
    vmwrite(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_point);
    /* HOST_RSP is written by vmx_enter just before each entry. */
}

static void setup_guest_segment(enum vmcs_field sel, uint16_t selector, uint32_t ar)
{
    /* Selector, limit, AR and base fields are laid out in parallel groups. */
    unsigned idx = (sel - GUEST_ES_SEL) / 2;
    vmwrite(sel, selector);
    vmwrite((enum vmcs_field)(GUEST_ES_LIMIT + 2 * idx), 0xffffffff);
    vmwrite((enum vmcs_field)(GUEST_ES_AR + 2 * idx), ar);
    vmwrite((enum vmcs_field)(GUEST_ES_BASE + 2 * idx), 0);
}

static void setup_guest_state(struct vm *vm, const struct guest_start *start)
{
    const struct vmx_caps *caps = vm->caps;
    /* The Multiboot v1 and Linux 32-bit machine state: 32-bit protected
     * mode, paging off, flat segments, IF=0 (struct guest_start). */
    setup_guest_segment(GUEST_CS_SEL, start->cs, AR_CODE32);
    setup_guest_segment(GUEST_DS_SEL, start->ds, AR_DATA32);
    setup_guest_segment(GUEST_ES_SEL, start->ds, AR_DATA32);
    setup_guest_segment(GUEST_FS_SEL, start->ds, AR_DATA32);
    setup_guest_segment(GUEST_GS_SEL, start->ds, AR_DATA32);
    setup_guest_segment(GUEST_SS_SEL, start->ds, AR_DATA32);
    vmwrite(GUEST_LDTR_SEL, 0);
    vmwrite(GUEST_LDTR_LIMIT, 0);
    vmwrite(GUEST_LDTR_AR, AR_UNUSABLE);
    vmwrite(GUEST_LDTR_BASE, 0);
    vmwrite(GUEST_TR_SEL, 0);
    vmwrite(GUEST_TR_LIMIT, 0xff);
    vmwrite(GUEST_TR_AR, AR_TSS32_BUSY);
    vmwrite(GUEST_TR_BASE, 0);
    vmwrite(GUEST_GDTR_BASE, start->gdt_base);
    vmwrite(GUEST_GDTR_LIMIT, start->gdt_limit);
    vmwrite(GUEST_IDTR_BASE, 0);
    vmwrite(GUEST_IDTR_LIMIT, 0);

    /* The guest sees CR0 = PE|ET and CR4 = 0; the bits VMX forces (NE,
     * VMXE) are owned by the hypervisor and hidden by the read shadows. */
    uint64_t cr0_shadow = CR0_PE | CR0_ET;
    /* CD and NW are ours too: VM entry never loads them from the guest
     * CR0 field, nor VM exit from the host one (SDM, "Loading Guest
     * Control Registers" and "Loading Host Control Registers"), so a guest
     * write that exits would lose them, and one that does not exit would
     * leave the CPU's caches off for the host too. The guest's values
     * live in the read shadow, the CPU keeps the host's, as in KVM. */
    uint64_t cr0_owned = (caps->cr0_fixed0 | ~caps->cr0_fixed1 | CR0_CD | CR0_NW) & ~(CR0_PE | CR0_PG);
    /* CR4: ours are the bits VMX forces and every bit the guest may not
     * set (so that setting one exits and gets #GP). */
    uint64_t cr4_owned = caps->cr4_fixed0 | ~caps->cr4_fixed1 | ~vm->cr4_allowed;
    vmwrite(CR0_GUEST_HOST_MASK, cr0_owned);
    vmwrite(CR0_READ_SHADOW, cr0_shadow);
    vmwrite(GUEST_CR0, vmx_fix_cr0(caps, cr0_shadow, 1));
    vmwrite(CR4_GUEST_HOST_MASK, cr4_owned);
    vmwrite(CR4_READ_SHADOW, 0);
    vmwrite(GUEST_CR4, vmx_fix_cr4(caps, 0));
    vmwrite(GUEST_CR3, 0);
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_RFLAGS, 0x2);
    vmwrite(GUEST_RSP, 0);
    vmwrite(GUEST_RIP, start->eip);
    vmwrite(GUEST_EFER, 0);
    vmwrite(GUEST_DEBUGCTL, 0);
    vmwrite(GUEST_SYSENTER_CS, 0);
    vmwrite(GUEST_SYSENTER_ESP, 0);
    vmwrite(GUEST_SYSENTER_EIP, 0);
    vmwrite(GUEST_INTERRUPTIBILITY, 0);
    vmwrite(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    vmwrite(GUEST_PENDING_DBG, 0);
    vmwrite(VMCS_LINK_POINTER, ~0ull);

    memset(&vm->vcpu.regs, 0, sizeof(vm->vcpu.regs));
    vm->vcpu.regs.gpr[RAX] = start->eax;
    vm->vcpu.regs.gpr[RBX] = start->ebx;
    vm->vcpu.regs.gpr[RSI] = start->esi;
    vmsr_init(&vm->vcpu.msrs, vm->maxphyaddr);
}

int vmcs_setup(struct vm *vm, const struct guest_start *start, char *err, size_t errlen)
{
    struct vcpu *v = &vm->vcpu;
    uint32_t *vmcs = page_alloc();

    vm->io_bitmap_a = page_alloc();
    vm->io_bitmap_b = page_alloc();
    vm->msr_bitmap = page_alloc();
    if (!vmcs || !vm->io_bitmap_a || !vm->io_bitmap_b || !vm->msr_bitmap) {
        fmt_snprintf(err, errlen, "out of pages for the VMCS and its bitmaps");
        return -1;
    }
    /* Every port and every MSR exits: the hypervisor decides each access. */
    memset(vm->io_bitmap_a, 0xff, PAGE_SIZE);
    memset(vm->io_bitmap_b, 0xff, PAGE_SIZE);
    memset(vm->msr_bitmap, 0xff, PAGE_SIZE);

    vm->eptp = ept_build((uint64_t)(uintptr_t)vm->ram, vm->ram_size);
    if (!vm->eptp) {
        fmt_snprintf(err, errlen, "out of pages for the EPT");
        return -1;
    }

    vmcs[0] = (uint32_t)vm->caps->basic & 0x7fffffff;
    uint64_t pa = (uint64_t)(uintptr_t)vmcs;
    if (vmclear(pa) != VMX_OK || vmptrld(pa) != VMX_OK) {
        fmt_snprintf(err, errlen, "VMCLEAR/VMPTRLD of the VMCS at 0x%llx failed", (unsigned long long)pa);
        return -1;
    }
    v->vmcs = vmcs;
    v->vm = vm;

    vmwrite(PIN_CONTROLS, vm->ctl.pin);
    vmwrite(PROC_CONTROLS, vm->ctl.proc);
    if (vm->ctl.proc & PROC_TSC_OFFSET)
        vmwrite(TSC_OFFSET, 0); /* the guest's TSC starts as the host's */
    v->proc_ctl = vm->ctl.proc;
    vmwrite(PROC2_CONTROLS, vm->ctl.proc2);
    v->proc2_ctl = vm->ctl.proc2;
    v->preemption_rate = (unsigned)(vm->caps->misc & 0x1f);
    if (vm->apicv) {
        /* APIC virtualization: the vLAPIC's register page is the
         * virtual-APIC page; guest-physical 0xFEE00000 maps to an
         * APIC-access page whose accesses the CPU virtualizes or turns
         * into APIC-access exits. The controls themselves are switched on
         * before entry while the guest's LAPIC is in xAPIC mode. */
        void *access = page_alloc();
        if (!access) {
            fmt_snprintf(err, errlen, "out of pages for the APIC-access page");
            return -1;
        }
        v->apic_access_page = (uint64_t)(uintptr_t)access; /* mapped while APICv is on */
        for (unsigned off = 0; off < 0x400; off += 16)
            if (apic_write_exits(off))
                v->apic_write_reg[v->apic_write_regs++] = (uint8_t)(off / 16);
        vmwrite(VIRTUAL_APIC_PAGE, (uint64_t)(uintptr_t)v->lapic.regs);
        vmwrite(APIC_ACCESS_ADDR, (uint64_t)(uintptr_t)access);
        vmwrite(TPR_THRESHOLD, 0);
        vmwrite(GUEST_INTR_STATUS, 0);
        vmwrite(EOI_EXIT_BITMAP0, 0);
        vmwrite(EOI_EXIT_BITMAP1, 0);
        vmwrite(EOI_EXIT_BITMAP2, 0);
        vmwrite(EOI_EXIT_BITMAP3, 0);
    }
    vmwrite(EXIT_CONTROLS, vm->ctl.exit);
    vmwrite(ENTRY_CONTROLS, vm->ctl.entry);
    vmwrite(EXCEPTION_BITMAP, 0);
    vmwrite(PF_ERROR_MASK, 0);
    vmwrite(PF_ERROR_MATCH, 0);
    vmwrite(CR3_TARGET_COUNT, 0);
    vmwrite(EXIT_MSR_STORE_COUNT, 0);
    vmwrite(EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(ENTRY_INTR_INFO, 0);
    vmwrite(IO_BITMAP_A, (uint64_t)(uintptr_t)vm->io_bitmap_a);
    vmwrite(IO_BITMAP_B, (uint64_t)(uintptr_t)vm->io_bitmap_b);
    vmwrite(MSR_BITMAP, (uint64_t)(uintptr_t)vm->msr_bitmap);
    vmwrite(EPT_POINTER, vm->eptp);
    if (vm->ctl.vpid)
        vmwrite(VMCS_VPID, GUEST_VPID);

    /* Every control the run can switch on: the windows, and APIC
     * virtualization's while the guest's LAPIC allows it. */
    uint32_t proc_max = vm->ctl.proc | PROC_INTR_WINDOW | PROC_NMI_WINDOW | (vm->apicv ? PROC_TPR_SHADOW : 0);
    uint32_t proc2_max = vm->ctl.proc2 | (vm->apicv ? PROC2_APICV : 0) | (vm->x2apicv ? PROC2_X2APICV : 0);
    if (vm_check_exit_handlers(vm->ctl.pin, proc_max, proc2_max, err, errlen) ||
        vm_check_exit_handlers(vm->ctl.pin, vm->ctl.proc, vm->ctl.proc2, err, errlen))
        return -1;
    setup_host_state();
    setup_guest_state(vm, start);
    log_info("vmx", "VMCS ready: pin 0x%08x proc 0x%08x proc2 0x%08x exit 0x%08x entry 0x%08x%s%s",
             vm->ctl.pin, vm->ctl.proc, vm->ctl.proc2, vm->ctl.exit, vm->ctl.entry,
             vm->ctl.vpid ? ", VPID 1" : "", vm->apicv ? ", APIC virtualization" : "");
    return 0;
}
