/* One virtual machine and its (single) vCPU. Everything per-VM hangs off
 * struct vm; nothing about a guest lives in globals. */
#ifndef VMX_VM_H
#define VMX_VM_H

#include <stdint.h>

#include "../drivers/fwcfg.h"
#include "../drivers/pci.h"
#include "../drivers/pcports.h"
#include "../drivers/virtio_blk.h"
#include "../drivers/virtio_pci.h"
#include "../drivers/trace_ring.h"
#include "../drivers/vuart.h"
#include "../irq/irq.h"
#include "../irq/vhpet.h"
#include "../irq/vlapic.h"
#include "../irq/vpmtmr.h"
#include "../irq/vrtc.h"
#include "cpuid.h"
#include "decode.h"
#include "event.h"
#include "guest_events.h"
#include "vmsr.h"
#include "vmx_caps.h"

#define EXIT_REASON_MAX 80

/* Guest general-purpose registers, indexed as in the SDM's exit
 * qualifications (0 = RAX ... 15 = R15). Slot 4 (RSP) is unused: the guest's
 * RSP lives in the VMCS. vmx_entry.asm relies on this layout. */
enum gpr { RAX, RCX, RDX, RBX, RSP_UNUSED, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
struct guest_regs {
    uint64_t gpr[16];
};

struct exit_stat {
    uint64_t count;
    uint64_t ticks; /* TSC ticks in the hypervisor from these exits to the next entries */
};

enum vm_state { VM_RUNNING, VM_EXITED, VM_STOPPED };

struct vm;

/* Work the entry path owes (vcpu.requests), in the spirit of KVM's
 * requests: whatever changes the state a piece of work depends on sets its
 * bit; vm_prepare_entry does the work of the bits set, and nothing else. */
enum vcpu_request {
    REQ_EVENT = 1,  /* pending interrupts, NMI or a queued event changed: arbitrate again */
    REQ_TIMERS = 2, /* a virtual timer's programming changed: its deadline again */
    REQ_APICV = 4,  /* the LAPIC's mode or registers changed by the model: APIC
                     * virtualization's controls, the APIC-write shadow, EOI exits */
};
#define REQ_ALL (REQ_EVENT | REQ_TIMERS | REQ_APICV)

struct vcpu {
    struct guest_regs regs; /* first member: the entry stub takes its address */
    struct vm *vm;
    int launched;
    struct vmsr msrs;             /* MTRRs, PAT, MISC_ENABLE, machine-check globals */
    uint64_t tsc_offset;          /* guest TSC - host TSC (the VMCS TSC offset) */
    uint64_t tsc_adjust;          /* IA32_TSC_ADJUST as the guest sees it */
    struct pending_event pending; /* to inject at the next entry (info 0: none) */
    uint32_t requests;            /* REQ_*: work the next entry owes */
    uint64_t timer_deadline;      /* the next virtual timer deadline (host TSC), 0 if none */
    uint32_t preemption_ticks;    /* VMX-preemption timer value as last written */
    unsigned preemption_rate;     /* it counts down every 2^rate TSC ticks (IA32_VMX_MISC) */
    int apicv_on;                 /* APIC virtualization's controls are on (apicv_sync_controls) */
    int x2apic_msrs_open;         /* the MSR bitmap lets the CPU virtualize x2APIC accesses */
    struct vlapic lapic;          /* the vCPU's local APIC (software path: every access traps) */
    uint32_t proc_ctl;            /* primary controls as last written (interrupt window on/off) */
    uint32_t proc2_ctl;           /* secondary controls as last written (APIC virtualization on/off) */
    uint64_t apic_access_page;    /* host page behind the APIC-access page (APIC virtualization) */
    uint64_t apic_access_gpa;     /* where the EPT maps it now, 0 = not mapped */
    /* Register values before the guest's last run: an APIC-write exit comes
     * after the CPU stored the new value, but the model must see the old. */
    uint32_t lapic_shadow[64];
    uint8_t apic_write_reg[64]; /* which of them (offset / 16): apicv_write_exits() */
    unsigned apic_write_regs;
    uint64_t eoi_exit_bitmap[4]; /* as last written to the VMCS */
    /* Guest time: TSC ticks the vCPU spent in VMX non-root operation or
     * halted, i.e. the time it had for itself. A virtual timer that fired
     * is held until the guest time reaches its hold (vm_update_timers). */
    uint64_t guest_time;
    uint64_t entry_tsc, exit_tsc; /* host TSC at the last VM entry and exit (run.c) */
    int exit_done;                /* the fast path handled and counted this exit (run.c) */
    uint64_t pit_hold, lapic_timer_hold, hpet_hold;
    /* Timer advance (inject.c): the host timer fires timer_advance ticks
     * ahead of a vLAPIC deadline, which is then served as at its time
     * (timer_lookahead, the models' clock ahead while they update) and
     * the entry waits for it (fired_deadline). */
    uint64_t timer_advance, timer_lookahead, fired_deadline;
    uint64_t lapic_deadline; /* the vLAPIC's next deadline out of its hold, 0 if none */
    /* The last MMIO instructions decoded, by their bytes (mmio.c). */
    struct mmio_decoded {
        uint8_t bytes[DECODE_MAX_LEN];
        unsigned mode;
        struct mmio_insn in; /* in.len 0: empty */
    } mmio_decoded[4];
    unsigned mmio_decoded_next; /* the entry to replace next */
    void *vmcs;
};

struct vm {
    struct vcpu vcpu;
    const struct vmx_caps *caps;
    struct vmx_controls ctl;
    uint8_t *ram; /* host pointer to guest-physical 0 */
    uint64_t ram_size;
    uint64_t eptp;
    uint8_t *io_bitmap_a, *io_bitmap_b, *msr_bitmap;
    struct vuart com1;
    struct irq_chipset irq; /* routing, vPIC, vIOAPIC, vPIT */
    struct irq_host irq_host;
    struct vhpet hpet;          /* at PLATFORM_HPET_BASE (vmx/mmio.c) */
    int uart_source;            /* irq source id of the virtual COM1 */
    struct fwcfg fwcfg;         /* QEMU's fw_cfg items on ports 0x510/0x511 */
    int testdev_source;         /* irq source id of pc-testdev's IRQ-line ports */
    uint32_t testdev_scratch;   /* pc-testdev's read-back register at port 0xe0 */
    struct vrtc rtc;            /* RTC/CMOS at 0x70/0x71, IRQ 8 (vmx/pcdev.c wires these three) */
    struct vpmtmr pm;           /* ACPI PM timer and PM1a registers, the SCI */
    struct pcports pcports;     /* 0xCF9 reset, the absent 8042, port 0x80, PCI configuration */
    int rtc_source, sci_source; /* their irq source ids */
    struct pci_bus pci;         /* bus 0: host bridge, the disk (vmx/pcibus.c wires these) */
    int pci_intx_source;        /* irq source id of every PCI function's INTx# */
    struct virtio_pci disk_pci; /* the disk's PCI function (virtio 1.x transport) */
    struct virtio_dev disk_dev;
    struct virtio_blk disk;    /* disk.dev is NULL without `disk =` */
    uint64_t disk_errors_seen; /* disk_dev.errors already reported */
    int trace;                 /* TRACE_OFF, TRACE_RING (the ring below) or TRACE_TEXT (the log) */
    struct trace_ring trace_ring;
    /* The last source event (a line raised through irq_set, or the vLAPIC
     * timer expiring): guest TSC and GSI, for HC_IRQ_STAMP. */
    uint64_t source_tsc;
    uint32_t source_gsi;     /* IRQ_SOURCE_LAPIC_TIMER for the vLAPIC timer */
    uint32_t delivered;      /* the last interrupt handed to the guest, for HC_IRQ_STAMP:
                              * vector | HC_DELIVERED_INJECTED or HC_DELIVERED_VID << 8 */
    int apicv;               /* APIC virtualization available and wanted */
    int x2apicv;             /* and for x2APIC mode too ("virtualize x2APIC mode") */
    int test_hooks;          /* the test hypercalls answer (test_hooks = on) */
    int selftest_vm_bug;     /* hv_selftest = vm_bug: the first exit fails a VM_BUG_ON */
    uint64_t tsc_hz;         /* calibrated TSC frequency */
    struct cpuid_vm cpuid;   /* what CPUID tells the guest (cpuid.c) */
    uint64_t cr4_allowed;    /* CR4 bits the guest may set (vm_guest_cr4_allowed) */
    uint64_t efer_allowed;   /* EFER bits the guest may set (vm_guest_efer_allowed) */
    unsigned maxphyaddr;     /* physical-address width (CPUID 0x80000008), for guest page walks */
    unsigned linear_bits;    /* the CPU's linear-address width (57 with 5-level paging, else 48):
                              * what WRMSR and VM entry check base addresses against */
    uint64_t lapic_timer_hz; /* calibrated physical LAPIC timer (0: unusable) */
    uint64_t com1_bytes;     /* bytes passed from the machine's COM1 to the guest */
    uint64_t reinjected;     /* events re-delivered after an exit interrupted them */
    uint64_t test_unmapped;  /* guest-physical 2 MiB page unmapped by HC_TEST_UNMAP, or ~0 */
    int test_unmapped_nmi;   /* and an NMI comes when the guest touches it */
    uint64_t test_physintr;  /* external-interrupt exits for HC_TEST_PHYS_INTR's interrupts */
    struct guest_event_counts guest_events;      /* rate-limited diagnostics (guest_events.h) */
    struct exit_stat stats[EXIT_REASON_MAX + 1]; /* last slot: other reasons */
    enum vm_state state;
    uint32_t exit_status;  /* value written to the debug-exit port */
    char stop_reason[320]; /* long enough for any reason we give, instruction bytes included */
};

#endif
