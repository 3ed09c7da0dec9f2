#include "vmx.h"

#include "../arch/x86/cpu.h"
#include "../arch/x86/fmt.h"
#include "../arch/x86/pages.h"
#include "../drivers/log.h"
#include "vmcs.h"

int vmx_check_support(char *err, size_t errlen)
{
    if (!cpu_has_vmx()) {
        fmt_snprintf(err, errlen,
                     "VMX is not available: CPUID.1:ECX.VMX[bit 5] = 0 (this CPU or "
                     "emulator has no Intel VT-x, or it is not exposed to this machine)");
        return -1;
    }
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK)) {
        fc |= FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE;
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
        log_info("vmx", "IA32_FEATURE_CONTROL was unlocked: locked with VMX outside SMX (0x%llx)",
                 (unsigned long long)fc);
    } else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE)) {
        fmt_snprintf(err, errlen,
                     "VMX is disabled by the firmware: IA32_FEATURE_CONTROL = 0x%llx is "
                     "locked with 'VMX outside SMX' off (enable VT-x in the firmware setup)",
                     (unsigned long long)fc);
        return -1;
    }
    return 0;
}

void vmx_read_caps(struct vmx_caps *c)
{
    c->basic = rdmsr(MSR_IA32_VMX_BASIC);
    c->pin = rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
    c->proc = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
    c->exit = rdmsr(MSR_IA32_VMX_EXIT_CTLS);
    c->entry = rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
    c->misc = rdmsr(MSR_IA32_VMX_MISC);
    c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    /* The secondary-controls MSR exists only when the primary may enable them. */
    c->proc2 = (c->proc >> 63) ? rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
    c->ept_vpid = (c->proc2 >> 32) & (PROC2_EPT | PROC2_VPID) ? rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0;
    if (c->basic & VMX_BASIC_TRUE_CTLS) {
        c->true_pin = rdmsr(MSR_IA32_VMX_TRUE_PINBASED);
        c->true_proc = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED);
        c->true_exit = rdmsr(MSR_IA32_VMX_TRUE_EXIT);
        c->true_entry = rdmsr(MSR_IA32_VMX_TRUE_ENTRY);
    }
}

int vmx_on(const struct vmx_caps *caps, char *err, size_t errlen)
{
    uint32_t *region = page_alloc();
    if (!region) {
        fmt_snprintf(err, errlen, "out of pages for the VMXON region");
        return -1;
    }
    region[0] = (uint32_t)caps->basic & 0x7fffffff; /* VMCS revision identifier */

    write_cr0(vmx_fix_cr0(caps, read_cr0(), 0));
    write_cr4(vmx_fix_cr4(caps, read_cr4() | CR4_VMXE));

    enum vmx_result r = vmxon((uint64_t)(uintptr_t)region);
    if (r != VMX_OK) {
        fmt_snprintf(err, errlen, "VMXON failed (%s)",
                     r == VMX_FAIL_INVALID ? "VMfailInvalid: bad region or revision id"
                                           : "VMfailValid: already in VMX operation");
        return -1;
    }
    log_info("vmx", "VMXON done (VMCS revision 0x%x, %s capability MSRs)", region[0],
             (caps->basic & VMX_BASIC_TRUE_CTLS) ? "TRUE_*" : "legacy");
    return 0;
}
