#include "vmx_caps.h"

#include "../arch/x86/fmt.h"

int vmx_adjust_controls(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *out, uint32_t *missing)
{
    uint32_t must1 = (uint32_t)cap;
    uint32_t may1 = (uint32_t)(cap >> 32);

    *missing = required & ~may1;
    *out = ((required | optional) & may1) | must1;
    return *missing ? -1 : 0;
}

uint64_t vmx_cap_pin(const struct vmx_caps *c)
{
    return (c->basic & VMX_BASIC_TRUE_CTLS) ? c->true_pin : c->pin;
}
uint64_t vmx_cap_proc(const struct vmx_caps *c)
{
    return (c->basic & VMX_BASIC_TRUE_CTLS) ? c->true_proc : c->proc;
}
uint64_t vmx_cap_exit(const struct vmx_caps *c)
{
    return (c->basic & VMX_BASIC_TRUE_CTLS) ? c->true_exit : c->exit;
}
uint64_t vmx_cap_entry(const struct vmx_caps *c)
{
    return (c->basic & VMX_BASIC_TRUE_CTLS) ? c->true_entry : c->entry;
}

struct bit_name {
    uint32_t bit;
    const char *name;
};

static const struct bit_name pin_names[] = {
    { PIN_EXTINT_EXITING, "external-interrupt exiting" },
    { PIN_NMI_EXITING, "NMI exiting" },
    { PIN_VIRTUAL_NMIS, "virtual NMIs" },
    { PIN_PREEMPTION_TIMER, "VMX-preemption timer" },
    { PIN_POSTED_INTERRUPTS, "process posted interrupts" },
    { 0, 0 },
};
static const struct bit_name proc_names[] = {
    { PROC_INTR_WINDOW, "interrupt-window exiting" },
    { PROC_HLT_EXITING, "HLT exiting" },
    { PROC_CR3_LOAD_EXITING, "CR3-load exiting" },
    { PROC_CR3_STORE_EXITING, "CR3-store exiting" },
    { PROC_CR8_LOAD_EXITING, "CR8-load exiting" },
    { PROC_CR8_STORE_EXITING, "CR8-store exiting" },
    { PROC_NMI_WINDOW, "NMI-window exiting" },
    { PROC_IO_BITMAPS, "use I/O bitmaps" },
    { PROC_MSR_BITMAPS, "use MSR bitmaps" },
    { PROC_SECONDARY, "activate secondary controls" },
    { 0, 0 },
};
static const struct bit_name proc2_names[] = {
    { PROC2_VIRT_APIC_ACCESS, "virtualize APIC accesses" },
    { PROC2_EPT, "enable EPT" },
    { PROC2_VPID, "enable VPID" },
    { PROC2_UNRESTRICTED, "unrestricted guest" },
    { 0, 0 },
};
static const struct bit_name exit_names[] = {
    { EXIT_HOST_ADDR64, "host address-space size" },
    { EXIT_ACK_INTR, "acknowledge interrupt on exit" },
    { EXIT_SAVE_EFER, "save IA32_EFER" },
    { EXIT_LOAD_EFER, "load IA32_EFER" },
    { EXIT_SAVE_DEBUG, "save debug controls" },
    { 0, 0 },
};
static const struct bit_name entry_names[] = {
    { ENTRY_IA32E_GUEST, "IA-32e mode guest" },
    { ENTRY_LOAD_EFER, "load IA32_EFER" },
    { ENTRY_LOAD_DEBUG, "load debug controls" },
    { 0, 0 },
};

static void name_bits(char *err, size_t errlen, const char *what, uint32_t bits, const struct bit_name *names,
                      const char *verb)
{
    int n = fmt_snprintf(err, errlen, "%s control bits 0x%08x %s:", what, bits, verb);
    for (const struct bit_name *b = names; names && b->name; b++)
        if ((bits & b->bit) && n >= 0 && (size_t)n < errlen)
            n += fmt_snprintf(err + n, errlen - (size_t)n, " [%s]", b->name);
}

int vmx_choose_controls(const struct vmx_caps *caps, struct vmx_controls *out, char *err, size_t errlen)
{
    uint32_t miss;

    if (vmx_adjust_controls(vmx_cap_pin(caps), PIN_EXTINT_EXITING | PIN_NMI_EXITING,
                            PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER, &out->pin, &miss)) {
        name_bits(err, errlen, "pin-based", miss, pin_names, "not supported by this CPU");
        return -1;
    }
    /* CR3 load/store exiting are not wanted with EPT; the TRUE MSR lets us
     * clear them, the legacy one may force them (handled by the CR exit). */
    if (vmx_adjust_controls(vmx_cap_proc(caps),
                            PROC_HLT_EXITING | PROC_IO_BITMAPS | PROC_MSR_BITMAPS | PROC_SECONDARY |
                                PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING,
                            PROC_TSC_OFFSET, &out->proc, &miss)) {
        name_bits(err, errlen, "processor-based", miss, proc_names, "not supported by this CPU");
        return -1;
    }
    /* Interrupt-window exiting is switched on and off at run time: it must
     * be allowed, and not be forced on. */
    if (!((vmx_cap_proc(caps) >> 32) & PROC_INTR_WINDOW) || (out->proc & PROC_INTR_WINDOW)) {
        name_bits(err, errlen, "processor-based", PROC_INTR_WINDOW, proc_names,
                  "cannot be switched on demand on this CPU");
        return -1;
    }
    /* Secondary controls: the capability MSR has no must-be-1 half in practice,
     * but treat it like the others. */
    if (vmx_adjust_controls(caps->proc2, PROC2_EPT | PROC2_UNRESTRICTED, PROC2_VPID | PROC2_RDTSCP,
                            &out->proc2, &miss)) {
        name_bits(err, errlen, "secondary processor-based", miss, proc2_names, "not supported by this CPU");
        return -1;
    }
    /* Never enable a secondary control we do not handle (INVPCID and XSAVES
     * are "enable" bits: without them the guest's instruction #UDs, and
     * CPUID does not advertise them). RDTSCP we handle: TSC_AUX is the
     * guest's. */
    out->proc2 &= PROC2_EPT | PROC2_UNRESTRICTED | PROC2_VPID | PROC2_RDTSCP | (uint32_t)caps->proc2;
    out->vpid = (out->proc2 & PROC2_VPID) != 0;
    out->apicv = ((vmx_cap_proc(caps) >> 32) & PROC_TPR_SHADOW) &&
                 (((caps->proc2 >> 32) & PROC2_APICV) == PROC2_APICV) && (out->pin & PIN_EXTINT_EXITING);
    out->x2apicv = out->apicv && ((caps->proc2 >> 32) & PROC2_VIRT_X2APIC);

    if ((caps->ept_vpid & (EPT_CAP_WALK4 | EPT_CAP_WB)) != (EPT_CAP_WALK4 | EPT_CAP_WB)) {
        fmt_snprintf(err, errlen,
                     "EPT lacks a 4-level walk or write-back paging structures "
                     "(IA32_VMX_EPT_VPID_CAP 0x%llx)",
                     (unsigned long long)caps->ept_vpid);
        return -1;
    }
    if (vmx_adjust_controls(vmx_cap_exit(caps),
                            EXIT_HOST_ADDR64 | EXIT_ACK_INTR | EXIT_SAVE_EFER | EXIT_LOAD_EFER |
                                EXIT_SAVE_DEBUG,
                            0, &out->exit, &miss)) {
        name_bits(err, errlen, "VM-exit", miss, exit_names, "not supported by this CPU");
        return -1;
    }
    /* The guest's DR7 and IA32_DEBUGCTL live in the VMCS across exits:
     * without these two, every VM exit sets DR7 to 0x400 and entry does
     * not restore it, so the guest's hardware breakpoints vanish (found
     * by kvm-unit-tests debug, "Wanted #DB on ... got 0 #DBs"). */
    if (vmx_adjust_controls(vmx_cap_entry(caps), ENTRY_LOAD_EFER | ENTRY_LOAD_DEBUG, 0, &out->entry, &miss)) {
        name_bits(err, errlen, "VM-entry", miss, entry_names, "not supported by this CPU");
        return -1;
    }
    if (out->entry & ENTRY_IA32E_GUEST) {
        fmt_snprintf(err, errlen,
                     "VM-entry control 'IA-32e mode guest' is forced to 1: "
                     "a 32-bit guest cannot start");
        return -1;
    }
    return 0;
}

int vmx_check_controls(const char *what, uint64_t cap, uint32_t value, char *err, size_t errlen)
{
    uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
    uint32_t bad1 = value & ~may1, bad0 = must1 & ~value;

    if (bad1) {
        name_bits(err, errlen, what, bad1, 0, "set but not allowed to be 1");
        return -1;
    }
    if (bad0) {
        name_bits(err, errlen, what, bad0, 0, "clear but required to be 1");
        return -1;
    }
    return 0;
}

uint64_t vmx_fix_cr0(const struct vmx_caps *c, uint64_t cr0, int unrestricted)
{
    uint64_t fixed0 = c->cr0_fixed0;
    if (unrestricted)
        fixed0 &= ~(uint64_t)(1u << 0 | 1u << 31); /* PE, PG */
    return (cr0 | fixed0) & c->cr0_fixed1;
}

uint64_t vmx_fix_cr4(const struct vmx_caps *c, uint64_t cr4) { return (cr4 | c->cr4_fixed0) & c->cr4_fixed1; }
