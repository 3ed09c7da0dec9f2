/* VMX capability MSRs and the choice of VMCS controls from them. Pure C:
 * takes recorded MSR values, so host unit tests run it on Bochs's and real
 * CPUs' numbers. */
#ifndef VMX_VMX_CAPS_H
#define VMX_VMX_CAPS_H

#include <stddef.h>
#include <stdint.h>

#define MSR_IA32_VMX_BASIC           0x480
#define MSR_IA32_VMX_PINBASED_CTLS   0x481
#define MSR_IA32_VMX_PROCBASED_CTLS  0x482
#define MSR_IA32_VMX_EXIT_CTLS       0x483
#define MSR_IA32_VMX_ENTRY_CTLS      0x484
#define MSR_IA32_VMX_MISC            0x485
#define MSR_IA32_VMX_CR0_FIXED0      0x486
#define MSR_IA32_VMX_CR0_FIXED1      0x487
#define MSR_IA32_VMX_CR4_FIXED0      0x488
#define MSR_IA32_VMX_CR4_FIXED1      0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48B
#define MSR_IA32_VMX_EPT_VPID_CAP    0x48C
#define MSR_IA32_VMX_TRUE_PINBASED   0x48D
#define MSR_IA32_VMX_TRUE_PROCBASED  0x48E
#define MSR_IA32_VMX_TRUE_EXIT       0x48F
#define MSR_IA32_VMX_TRUE_ENTRY      0x490

#define VMX_BASIC_TRUE_CTLS (1ull << 55)

/* Pin-based VM-execution controls */
#define PIN_EXTINT_EXITING       (1u << 0)
#define PIN_NMI_EXITING          (1u << 3)
#define PIN_VIRTUAL_NMIS         (1u << 5)
#define PIN_PREEMPTION_TIMER     (1u << 6)
#define PIN_POSTED_INTERRUPTS    (1u << 7)
/* Primary processor-based controls */
#define PROC_INTR_WINDOW         (1u << 2)
#define PROC_TSC_OFFSET          (1u << 3)
#define PROC_HLT_EXITING         (1u << 7)
#define PROC_INVLPG_EXITING      (1u << 9)
#define PROC_MWAIT_EXITING       (1u << 10)
#define PROC_RDPMC_EXITING       (1u << 11)
#define PROC_RDTSC_EXITING       (1u << 12)
#define PROC_CR3_LOAD_EXITING    (1u << 15)
#define PROC_CR3_STORE_EXITING   (1u << 16)
#define PROC_CR8_LOAD_EXITING    (1u << 19)
#define PROC_CR8_STORE_EXITING   (1u << 20)
#define PROC_TPR_SHADOW          (1u << 21)
#define PROC_NMI_WINDOW          (1u << 22)
#define PROC_MOV_DR_EXITING      (1u << 23)
#define PROC_UNCOND_IO_EXITING   (1u << 24)
#define PROC_IO_BITMAPS          (1u << 25)
#define PROC_MTF                 (1u << 27)
#define PROC_MSR_BITMAPS         (1u << 28)
#define PROC_MONITOR_EXITING     (1u << 29)
#define PROC_PAUSE_EXITING       (1u << 30)
#define PROC_SECONDARY           (1u << 31)
/* Secondary processor-based controls */
#define PROC2_VIRT_APIC_ACCESS   (1u << 0)
#define PROC2_EPT                (1u << 1)
#define PROC2_RDTSCP             (1u << 3)
#define PROC2_VIRT_X2APIC        (1u << 4)
#define PROC2_VPID               (1u << 5)
#define PROC2_UNRESTRICTED       (1u << 7)
#define PROC2_APIC_REG_VIRT      (1u << 8)
#define PROC2_VIRT_INTR_DELIVERY (1u << 9)
/* The secondary controls of APIC virtualization, switched on together. */
#define PROC2_APICV              (PROC2_VIRT_APIC_ACCESS | PROC2_APIC_REG_VIRT | PROC2_VIRT_INTR_DELIVERY)
/* The same for a guest in x2APIC mode: MSR accesses instead of the page. */
#define PROC2_X2APICV            (PROC2_VIRT_X2APIC | PROC2_APIC_REG_VIRT | PROC2_VIRT_INTR_DELIVERY)
#define PROC2_INVPCID            (1u << 12)
#define PROC2_XSAVES             (1u << 20)
/* VM-exit controls */
#define EXIT_SAVE_DEBUG          (1u << 2)
#define EXIT_HOST_ADDR64         (1u << 9)
#define EXIT_ACK_INTR            (1u << 15)
#define EXIT_SAVE_PAT            (1u << 18)
#define EXIT_LOAD_PAT            (1u << 19)
#define EXIT_SAVE_EFER           (1u << 20)
#define EXIT_LOAD_EFER           (1u << 21)
#define EXIT_SAVE_PREEMPT        (1u << 22)
/* VM-entry controls */
#define ENTRY_LOAD_DEBUG         (1u << 2)
#define ENTRY_IA32E_GUEST        (1u << 9)
#define ENTRY_LOAD_PAT           (1u << 14)
#define ENTRY_LOAD_EFER          (1u << 15)

/* EPT/VPID capability bits */
#define EPT_CAP_WALK4         (1ull << 6)
#define EPT_CAP_WB            (1ull << 14)
#define EPT_CAP_2M            (1ull << 16)
#define EPT_CAP_INVEPT        (1ull << 20)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL    (1ull << 26)
#define VPID_CAP_INVVPID      (1ull << 32)

struct vmx_caps {
    uint64_t basic, pin, proc, exit, entry, misc, proc2, ept_vpid;
    uint64_t true_pin, true_proc, true_exit, true_entry;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

struct vmx_controls {
    uint32_t pin, proc, proc2, exit, entry;
    int vpid;    /* VPID enabled */
    int apicv;   /* TPR shadow, APIC-access and APIC-register virtualization and
                         * virtual-interrupt delivery may all be set (not set here) */
    int x2apicv; /* and "virtualize x2APIC mode" instead of APIC accesses */
};

/* Adjusts a control word against a capability MSR (low half: bits that must
 * be 1; high half: bits that may be 1). Bits of `required` that may not be
 * set are returned in *missing and the function returns -1; bits of
 * `optional` that may not be set are silently dropped. */
int vmx_adjust_controls(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *out, uint32_t *missing);

/* Chooses every control word for our guests (DESIGN §4) from caps. Returns 0,
 * or -1 with an explanation in err naming the missing feature. */
int vmx_choose_controls(const struct vmx_caps *caps, struct vmx_controls *out, char *err, size_t errlen);

/* Checks a control word against its capability MSR; returns 0 or -1 with the
 * offending bits named in err. Used to explain a VM-entry failure. */
int vmx_check_controls(const char *what, uint64_t cap, uint32_t value, char *err, size_t errlen);

/* Which capability MSR governs each control word, honouring IA32_VMX_BASIC[55]. */
uint64_t vmx_cap_pin(const struct vmx_caps *c);
uint64_t vmx_cap_proc(const struct vmx_caps *c);
uint64_t vmx_cap_exit(const struct vmx_caps *c);
uint64_t vmx_cap_entry(const struct vmx_caps *c);

/* Applies the fixed-bit MSRs to a CR0/CR4 value. For CR0 with unrestricted
 * guest, PE and PG may be 0. */
uint64_t vmx_fix_cr0(const struct vmx_caps *c, uint64_t cr0, int unrestricted);
uint64_t vmx_fix_cr4(const struct vmx_caps *c, uint64_t cr4);

#endif
