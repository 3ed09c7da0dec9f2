/* VMCS field encodings (SDM Vol. 3 Appendix B) and the VMX instructions. */
#ifndef VMX_VMCS_H
#define VMX_VMCS_H

#include <stdint.h>

#include "event.h"

enum vmcs_field {
    /* 16-bit */
    VMCS_VPID = 0x0000,
    GUEST_INTR_STATUS = 0x0810,
    GUEST_ES_SEL = 0x0800,
    GUEST_CS_SEL = 0x0802,
    GUEST_SS_SEL = 0x0804,
    GUEST_DS_SEL = 0x0806,
    GUEST_FS_SEL = 0x0808,
    GUEST_GS_SEL = 0x080A,
    GUEST_LDTR_SEL = 0x080C,
    GUEST_TR_SEL = 0x080E,
    HOST_ES_SEL = 0x0C00,
    HOST_CS_SEL = 0x0C02,
    HOST_SS_SEL = 0x0C04,
    HOST_DS_SEL = 0x0C06,
    HOST_FS_SEL = 0x0C08,
    HOST_GS_SEL = 0x0C0A,
    HOST_TR_SEL = 0x0C0C,
    /* 64-bit */
    IO_BITMAP_A = 0x2000,
    IO_BITMAP_B = 0x2002,
    MSR_BITMAP = 0x2004,
    TSC_OFFSET = 0x2010,
    VIRTUAL_APIC_PAGE = 0x2012,
    APIC_ACCESS_ADDR = 0x2014,
    EOI_EXIT_BITMAP0 = 0x201C,
    EOI_EXIT_BITMAP1 = 0x201E,
    EOI_EXIT_BITMAP2 = 0x2020,
    EOI_EXIT_BITMAP3 = 0x2022,
    EPT_POINTER = 0x201A,
    GUEST_PHYSICAL_ADDRESS = 0x2400,
    VMCS_LINK_POINTER = 0x2800,
    GUEST_DEBUGCTL = 0x2802,
    GUEST_PAT = 0x2804,
    GUEST_EFER = 0x2806,
    GUEST_PDPTE0 = 0x280A, /* PDPTE1..3 follow, two encodings apart */
    HOST_PAT = 0x2C00,
    HOST_EFER = 0x2C02,
    /* 32-bit */
    PIN_CONTROLS = 0x4000,
    PROC_CONTROLS = 0x4002,
    EXCEPTION_BITMAP = 0x4004,
    PF_ERROR_MASK = 0x4006,
    PF_ERROR_MATCH = 0x4008,
    CR3_TARGET_COUNT = 0x400A,
    EXIT_CONTROLS = 0x400C,
    EXIT_MSR_STORE_COUNT = 0x400E,
    EXIT_MSR_LOAD_COUNT = 0x4010,
    ENTRY_CONTROLS = 0x4012,
    ENTRY_MSR_LOAD_COUNT = 0x4014,
    ENTRY_INTR_INFO = 0x4016,
    ENTRY_EXCEPTION_ERROR = 0x4018,
    ENTRY_INSTR_LEN = 0x401A,
    TPR_THRESHOLD = 0x401C,
    PROC2_CONTROLS = 0x401E,
    VM_INSTRUCTION_ERROR = 0x4400,
    EXIT_REASON = 0x4402,
    EXIT_INTR_INFO = 0x4404,
    EXIT_INTR_ERROR = 0x4406,
    IDT_VECTORING_INFO = 0x4408,
    IDT_VECTORING_ERROR = 0x440A,
    EXIT_INSTR_LEN = 0x440C,
    EXIT_INSTR_INFO = 0x440E,
    GUEST_ES_LIMIT = 0x4800,
    GUEST_CS_LIMIT = 0x4802,
    GUEST_SS_LIMIT = 0x4804,
    GUEST_DS_LIMIT = 0x4806,
    GUEST_FS_LIMIT = 0x4808,
    GUEST_GS_LIMIT = 0x480A,
    GUEST_LDTR_LIMIT = 0x480C,
    GUEST_TR_LIMIT = 0x480E,
    GUEST_GDTR_LIMIT = 0x4810,
    GUEST_IDTR_LIMIT = 0x4812,
    GUEST_ES_AR = 0x4814,
    GUEST_CS_AR = 0x4816,
    GUEST_SS_AR = 0x4818,
    GUEST_DS_AR = 0x481A,
    GUEST_FS_AR = 0x481C,
    GUEST_GS_AR = 0x481E,
    GUEST_LDTR_AR = 0x4820,
    GUEST_TR_AR = 0x4822,
    GUEST_INTERRUPTIBILITY = 0x4824,
    GUEST_ACTIVITY_STATE = 0x4826,
    GUEST_SYSENTER_CS = 0x482A,
    HOST_SYSENTER_CS = 0x4C00,
    /* natural width */
    CR0_GUEST_HOST_MASK = 0x6000,
    CR4_GUEST_HOST_MASK = 0x6002,
    CR0_READ_SHADOW = 0x6004,
    CR4_READ_SHADOW = 0x6006,
    EXIT_QUALIFICATION = 0x6400,
    GUEST_LINEAR_ADDRESS = 0x640A,
    GUEST_CR0 = 0x6800,
    GUEST_CR3 = 0x6802,
    GUEST_CR4 = 0x6804,
    GUEST_ES_BASE = 0x6806,
    GUEST_CS_BASE = 0x6808,
    GUEST_SS_BASE = 0x680A,
    GUEST_DS_BASE = 0x680C,
    GUEST_FS_BASE = 0x680E,
    GUEST_GS_BASE = 0x6810,
    GUEST_LDTR_BASE = 0x6812,
    GUEST_TR_BASE = 0x6814,
    GUEST_GDTR_BASE = 0x6816,
    GUEST_IDTR_BASE = 0x6818,
    GUEST_DR7 = 0x681A,
    GUEST_RSP = 0x681C,
    GUEST_RIP = 0x681E,
    GUEST_RFLAGS = 0x6820,
    GUEST_PENDING_DBG = 0x6822,
    GUEST_SYSENTER_ESP = 0x6824,
    GUEST_SYSENTER_EIP = 0x6826,
    HOST_CR0 = 0x6C00,
    HOST_CR3 = 0x6C02,
    HOST_CR4 = 0x6C04,
    HOST_FS_BASE = 0x6C06,
    HOST_GS_BASE = 0x6C08,
    HOST_TR_BASE = 0x6C0A,
    HOST_GDTR_BASE = 0x6C0C,
    HOST_IDTR_BASE = 0x6C0E,
    HOST_SYSENTER_ESP = 0x6C10,
    HOST_SYSENTER_EIP = 0x6C12,
    HOST_RSP = 0x6C14,
    HOST_RIP = 0x6C16,
};

/* Interruption information, interruptibility and activity states: event.h. */

/* VMfail results of the VMX instructions. */
enum vmx_result { VMX_OK = 0, VMX_FAIL_INVALID = 1, VMX_FAIL_VALID = 2 };

static inline enum vmx_result vmx_status(uint8_t cf, uint8_t zf)
{
    return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

static inline enum vmx_result vmxon(uint64_t pa)
{
    uint8_t cf, zf;
    __asm__ volatile("vmxon %2; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "m"(pa) : "cc", "memory");
    return vmx_status(cf, zf);
}
static inline enum vmx_result vmclear(uint64_t pa)
{
    uint8_t cf, zf;
    __asm__ volatile("vmclear %2; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "m"(pa) : "cc", "memory");
    return vmx_status(cf, zf);
}
static inline enum vmx_result vmptrld(uint64_t pa)
{
    uint8_t cf, zf;
    __asm__ volatile("vmptrld %2; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "m"(pa) : "cc", "memory");
    return vmx_status(cf, zf);
}
/* Pending debug exceptions (GUEST_PENDING_DBG), SDM Vol. 3 §25.4.2: BS,
 * a single-step trap due before the next instruction. */
#define PENDING_DBG_BS (1ull << 14)

static inline uint64_t vmread(enum vmcs_field f)
{
    uint64_t v;
    __asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"((uint64_t)f) : "cc");
    return v;
}

/* VMWRITE; a failure (an unsupported field, say) is logged by name, out
 * of the entry path's way. */
void vmwrite_failed(enum vmcs_field f, uint64_t v, int cf);
static inline void vmwrite(enum vmcs_field f, uint64_t v)
{
    uint8_t cf, zf;
    __asm__ volatile("vmwrite %3, %2; setc %0; setz %1"
                     : "=r"(cf), "=r"(zf)
                     : "r"((uint64_t)f), "rm"(v)
                     : "cc");
    if (__builtin_expect(cf | zf, 0))
        vmwrite_failed(f, v, cf);
}

#endif
