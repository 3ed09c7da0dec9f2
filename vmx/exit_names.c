#include "exit_names.h"
#include "vmx_caps.h"

static const char *const reasons[] = {
    [0] = "exception or NMI",
    [1] = "external interrupt",
    [2] = "triple fault",
    [3] = "INIT signal",
    [4] = "start-up IPI (SIPI)",
    [5] = "I/O SMI",
    [6] = "other SMI",
    [7] = "interrupt window",
    [8] = "NMI window",
    [9] = "task switch",
    [10] = "CPUID",
    [11] = "GETSEC",
    [12] = "HLT",
    [13] = "INVD",
    [14] = "INVLPG",
    [15] = "RDPMC",
    [16] = "RDTSC",
    [17] = "RSM",
    [18] = "VMCALL",
    [19] = "VMCLEAR",
    [20] = "VMLAUNCH",
    [21] = "VMPTRLD",
    [22] = "VMPTRST",
    [23] = "VMREAD",
    [24] = "VMRESUME",
    [25] = "VMWRITE",
    [26] = "VMXOFF",
    [27] = "VMXON",
    [28] = "control-register access",
    [29] = "MOV DR",
    [30] = "I/O instruction",
    [31] = "RDMSR",
    [32] = "WRMSR",
    [33] = "VM-entry failure: invalid guest state",
    [34] = "VM-entry failure: MSR loading",
    [36] = "MWAIT",
    [37] = "monitor trap flag",
    [39] = "MONITOR",
    [40] = "PAUSE",
    [41] = "VM-entry failure: machine-check event",
    [43] = "TPR below threshold",
    [44] = "APIC access",
    [45] = "virtualized EOI",
    [46] = "GDTR/IDTR access",
    [47] = "LDTR/TR access",
    [48] = "EPT violation",
    [49] = "EPT misconfiguration",
    [50] = "INVEPT",
    [51] = "RDTSCP",
    [52] = "VMX-preemption timer expired",
    [53] = "INVVPID",
    [54] = "WBINVD/WBNOINVD",
    [55] = "XSETBV",
    [56] = "APIC write",
    [57] = "RDRAND",
    [58] = "INVPCID",
    [59] = "VMFUNC",
    [60] = "ENCLS",
    [61] = "RDSEED",
    [62] = "page-modification log full",
    [63] = "XSAVES",
    [64] = "XRSTORS",
    [65] = "PCONFIG",
    [66] = "SPP-related event",
    [67] = "UMWAIT",
    [68] = "TPAUSE",
    [69] = "LOADIWKEY",
    [70] = "ENCLV",
    [72] = "ENQCMD PASID translation failure",
    [73] = "ENQCMDS PASID translation failure",
    [74] = "bus lock",
    [75] = "instruction timeout",
};

static const char *const instr_errors[] = {
    [1] = "VMCALL executed in VMX root operation",
    [2] = "VMCLEAR with invalid physical address",
    [3] = "VMCLEAR with VMXON pointer",
    [4] = "VMLAUNCH with non-clear VMCS",
    [5] = "VMRESUME with non-launched VMCS",
    [6] = "VMRESUME after VMXOFF",
    [7] = "VM entry with invalid control field(s)",
    [8] = "VM entry with invalid host-state field(s)",
    [9] = "VMPTRLD with invalid physical address",
    [10] = "VMPTRLD with VMXON pointer",
    [11] = "VMPTRLD with incorrect VMCS revision identifier",
    [12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
    [13] = "VMWRITE to read-only VMCS component",
    [15] = "VMXON executed in VMX root operation",
    [16] = "VM entry with invalid executive-VMCS pointer",
    [17] = "VM entry with non-launched executive VMCS",
    [18] = "VM entry with executive-VMCS pointer not VMXON pointer",
    [19] = "VMCALL with non-clear VMCS",
    [20] = "VMCALL with invalid VM-exit control fields",
    [22] = "VMCALL with incorrect MSEG revision identifier",
    [23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
    [24] = "VMCALL with invalid SMM-monitor features",
    [25] = "VM entry with invalid VM-execution control fields in executive VMCS",
    [26] = "VM entry with events blocked by MOV SS",
    [28] = "invalid operand to INVEPT/INVVPID",
};

const char *exit_reason_name(uint32_t reason)
{
    reason &= 0xffff;
    if (reason < sizeof(reasons) / sizeof(reasons[0]) && reasons[reason])
        return reasons[reason];
    return "unknown exit reason";
}

const char *vm_instruction_error_name(uint32_t error)
{
    if (error < sizeof(instr_errors) / sizeof(instr_errors[0]) && instr_errors[error])
        return instr_errors[error];
    return "unknown VM-instruction error";
}

const char *entry_failure_qualification_name(uint64_t qual)
{
    switch (qual) {
    case 0: return "no further detail (a guest-state check failed)";
    case 2: return "failure loading PDPTEs";
    case 3: return "attempt to inject an NMI while blocked by NMI";
    case 4: return "invalid VMCS link pointer";
    default: return "unknown qualification";
    }
}

/* The exit reasons that need a control we may leave off, or that cannot
 * happen to a guest like ours at all. A reason is possible as soon as one
 * of its entries' control bits is set; word 0 means no control enables it. */
enum ctl_word { NEVER, PROC, PROC2 };
static const struct {
    uint8_t reason;
    uint8_t word;
    uint32_t bit;
    const char *why;
} conditional[] = {
    { 5, NEVER, 0, "SMIs exit only under the dual-monitor treatment of SMM, which is never activated" },
    { 6, NEVER, 0, "SMIs exit only under the dual-monitor treatment of SMM, which is never activated" },
    { 11, NEVER, 0, "GETSEC is #UD while CR4.SMXE = 0, and the guest cannot set SMXE (SMX is hidden)" },
    { 14, PROC, PROC_INVLPG_EXITING, "INVLPG exiting is off" },
    { 15, PROC, PROC_RDPMC_EXITING, "RDPMC exiting is off" },
    { 16, PROC, PROC_RDTSC_EXITING, "RDTSC exiting is off" },
    { 17, NEVER, 0, "RSM outside SMM is #UD, and the guest never runs in SMM" },
    { 29, PROC, PROC_MOV_DR_EXITING, "MOV-DR exiting is off" },
    { 33, NEVER, 0, "a VM-entry failure: the run loop reports it, it is never handled as an exit" },
    { 34, NEVER, 0, "a VM-entry failure: the run loop reports it, it is never handled as an exit" },
    { 36, PROC, PROC_MWAIT_EXITING, "MWAIT exiting is off" },
    { 37, PROC, PROC_MTF, "the monitor trap flag is off" },
    { 39, PROC, PROC_MONITOR_EXITING, "MONITOR exiting is off" },
    { 40, PROC, PROC_PAUSE_EXITING, "PAUSE exiting and PAUSE-loop exiting are off" },
    { 40, PROC2, 1u << 10, "PAUSE exiting and PAUSE-loop exiting are off" },
    { 41, NEVER, 0, "a VM-entry failure: the run loop reports it, it is never handled as an exit" },
    { 46, PROC2, 1u << 2, "descriptor-table exiting is off" },
    { 47, PROC2, 1u << 2, "descriptor-table exiting is off" },
    { 51, PROC, PROC_RDTSC_EXITING, "RDTSCP exits only with RDTSC exiting, which is off" },
    { 57, PROC2, 1u << 11, "RDRAND exiting is off" },
    { 58, PROC, PROC_INVLPG_EXITING, "INVPCID exits only with INVLPG exiting, which is off" },
    { 60, PROC2, 1u << 15, "ENCLS exiting is off" },
    { 61, PROC2, 1u << 16, "RDSEED exiting is off" },
    { 62, PROC2, 1u << 17, "the page-modification log is off" },
    { 63, PROC2, PROC2_XSAVES, "XSAVES/XRSTORS are not enabled (the guest gets #UD)" },
    { 64, PROC2, PROC2_XSAVES, "XSAVES/XRSTORS are not enabled (the guest gets #UD)" },
    { 65, PROC2, 1u << 27, "PCONFIG is not enabled" },
    { 66, PROC2, 1u << 23, "sub-page write permissions are off" },
    { 67, PROC2, 1u << 26, "user wait and pause are not enabled (the guest gets #UD)" },
    { 68, PROC2, 1u << 26, "user wait and pause are not enabled (the guest gets #UD)" },
    { 69, PROC, 1u << 17, "the tertiary controls (LOADIWKEY exiting) are off" },
    { 70, PROC2, 1u << 28, "ENCLV exiting is off" },
    { 72, PROC2, 1u << 21, "PASID translation is off" },
    { 73, PROC2, 1u << 21, "PASID translation is off" },
    { 74, PROC2, 1u << 30, "bus-lock detection is off" },
    { 75, PROC2, 1u << 31, "the instruction timeout is off" },
};

const char *exit_reason_impossible(uint32_t reason, uint32_t pin, uint32_t proc, uint32_t proc2)
{
    (void)pin;
    if (reason >= sizeof(reasons) / sizeof(reasons[0]) || !reasons[reason])
        return "not an exit reason the SDM defines";
    if (reason == EXIT_TPR_BELOW_THRESHOLD) {
        /* Only with a TPR shadow and without virtual-interrupt delivery,
         * which replaces the TPR threshold. */
        if (!(proc & PROC_TPR_SHADOW))
            return "the TPR shadow is off";
        return (proc2 & PROC2_VIRT_INTR_DELIVERY) ? "virtual-interrupt delivery is on (no TPR threshold)" : 0;
    }
    const char *why = 0;
    for (unsigned i = 0; i < sizeof(conditional) / sizeof(conditional[0]); i++) {
        if (conditional[i].reason != reason)
            continue;
        uint32_t word = conditional[i].word == PROC ? proc : conditional[i].word == PROC2 ? proc2 : 0;
        if (word & conditional[i].bit)
            return 0;
        why = conditional[i].why;
    }
    return why;
}

int apic_write_exits(unsigned offset)
{
    switch (offset) {
    case 0x080: /* TPR, EOI: virtualized when written at their own offset (080H, 0B0H); */
    case 0x0B0: /* a write to one of the other bytes ends in an APIC-write exit (§30.4.3.3) */
    case 0x020: /* ID */
    case 0x0D0: /* LDR */
    case 0x0E0: /* DFR */
    case 0x0F0: /* SVR */
    case 0x280: /* ESR */
    case 0x2F0: /* LVT CMCI */
    case 0x300:
    case 0x310: /* ICR */
    case 0x320:
    case 0x330:
    case 0x340:
    case 0x350:
    case 0x360:
    case 0x370: /* LVTs */
    case 0x380: /* initial count */
    case 0x3E0: /* divide configuration */
    case 0x3F0: /* x2APIC SELF IPI with a vector below 16 (§30.5: the others are virtualized) */ return 1;
    default: return 0;
    }
}
