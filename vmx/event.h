/* Rules of x86 event delivery that need no VMCS (pure C, host-tested):
 * how exceptions combine, what an exit that interrupted a delivery leaves
 * to deliver again, and the entry path's arbitration (DESIGN §9): from a
 * snapshot of the guest's state, what to inject and which windows to open.
 * vmx/inject.c gathers the snapshot and applies the decision. */
#ifndef VMX_EVENT_H
#define VMX_EVENT_H

#include <stdint.h>

/* Interruption-information format (VM-entry, VM-exit, IDT-vectoring). */
#define INTR_INFO_VALID                 (1u << 31)
#define INTR_INFO_NMI_UNBLOCKED_BY_IRET (1u << 12) /* exit interruption info; undefined in IDT-vectoring */
#define INTR_INFO_HAS_ERROR             (1u << 11)
#define INTR_TYPE_EXTERNAL              (0u << 8)
#define INTR_TYPE_NMI                   (2u << 8)
#define INTR_TYPE_HW_EXCEPTION          (3u << 8)
#define INTR_TYPE_SW_INTERRUPT          (4u << 8)
#define INTR_TYPE_PRIV_SW_EXCEPTION     (5u << 8)
#define INTR_TYPE_SW_EXCEPTION          (6u << 8)
#define INTR_TYPE_MASK                  (7u << 8)

/* Guest interruptibility state: blocking by STI and by MOV SS (the
 * one-instruction shadows), blocking by NMI (virtual-NMI blocking with
 * virtual NMIs). */
#define INTERRUPTIBILITY_STI       1u
#define INTERRUPTIBILITY_MOVSS     2u
#define INTERRUPTIBILITY_STI_MOVSS 3u
#define INTERRUPTIBILITY_NMI       8u

#define ACTIVITY_ACTIVE    0
#define ACTIVITY_HLT       1
#define ACTIVITY_WAIT_SIPI 3

/* Exception vectors (SDM Vol. 3 §6.3.1, table 6-1) the hypervisor names. */
#define DB_VECTOR  1
#define NMI_VECTOR 2
#define BP_VECTOR  3
#define OF_VECTOR  4
#define UD_VECTOR  6
#define DF_VECTOR  8
#define TS_VECTOR  10
#define NP_VECTOR  11
#define SS_VECTOR  12
#define GP_VECTOR  13
#define PF_VECTOR  14
#define MC_VECTOR  18

/* Is exception `vector` a fault (SDM Vol. 3 §6.5, table 6-1): reported
 * with the faulting instruction's address, to run it again? Then the
 * RFLAGS image its delivery pushes has RF=1. Not #DB, #BP and #OF (traps,
 * as the hypervisor raises them), #DF and #MC (aborts) or vector 2 (NMI). */
int exception_is_fault(unsigned vector);

/* What the CPU delivers when delivering exception `first` raises exception
 * `second` (SDM Vol. 3 §6.15, "Conditions for Generating a Double Fault",
 * table 6-5): the second alone (the first is handled serially or, a
 * benign one, found again when the instruction re-executes), a double
 * fault (#DF, error code 0), or, after a #DF, a triple fault (shutdown). */
enum exception_merge { MERGE_SECOND, MERGE_DOUBLE_FAULT, MERGE_TRIPLE_FAULT };
enum exception_merge exception_merge(unsigned first, unsigned second);

/* An event to deliver at the next entry: VM-entry interruption information
 * (0: none), its error code and, for software interrupts and exceptions,
 * the length of the instruction that raised it. */
struct pending_event {
    uint32_t info, error, instr_len;
};

/* The event an exit interrupted (IDT-vectoring information, its error code,
 * the exit's instruction length), as the next entry must deliver it again
 * (SDM Vol. 3 §28.2.4 / §27.2.4): every type goes in again as it was, bit
 * 12 (undefined here) cleared. None when the valid bit is clear. */
struct pending_event event_from_idt_vectoring(uint32_t info, uint32_t error, uint32_t instr_len);

/* After an exit caused by a fault of an IRET that had unblocked NMIs (bit
 * 12 of the exit interruption information or of an EPT violation's
 * qualification), the IRET restarts: virtual-NMI blocking must be set
 * again, unless the exit interrupted an event's delivery (the IRET did not
 * run then) or the fault was a #DF. 1 when the entry path must set it. */
int event_nmi_reblock(int unblocked_by_iret, uint32_t idt_vectoring_info, int double_fault);

/* The entry path's view of the guest and of the pending events. */
struct event_snapshot {
    uint32_t interruptibility; /* guest interruptibility state */
    uint32_t activity;         /* ACTIVITY_* */
    int rflags_if;
    struct pending_event pending; /* queued exception or interrupted delivery */
    int nmi_pending;              /* the vLAPIC has an NMI for the vCPU */
    int virtual_nmis;             /* "virtual NMIs" is on (NMI blocking is tracked) */
    int nmi_window_exiting;       /* and the CPU offers NMI-window exiting */
    int apicv;                    /* virtual-interrupt delivery: the CPU delivers fixed vectors */
    /* An external interrupt we must inject: on the software path any that
     * the vLAPIC (or, with the LAPIC disabled, the vPIC) would hand the
     * CPU; with virtual-interrupt delivery only ExtINT (the 8259). */
    int intr_pending;
    int irr_highest, isr_highest; /* vLAPIC, -1 when empty (virtual-interrupt delivery) */
    /* A debug trap is due before the next instruction (a single step or
     * a data breakpoint in the pending debug exceptions): it ranks above
     * NMIs and external interrupts, and an injection would discard it. */
    int debug_trap;
};

enum event_inject { INJECT_NOTHING, INJECT_PENDING, INJECT_NMI, INJECT_INTERRUPT };

/* WINDOW_IF_MORE: after acknowledging the interrupt it injects, the entry
 * path opens the interrupt window only if another one is still pending. */
enum { WINDOW_CLOSED = 0, WINDOW_OPEN = 1, WINDOW_IF_MORE = 2 };

struct event_decision {
    enum event_inject inject;
    uint32_t interruptibility; /* the state to enter with (blocking cleared where an
                                  * injection requires it) */
    int intr_window;           /* WINDOW_* */
    int nmi_window;
    uint16_t intr_status; /* RVI | SVI << 8, with virtual-interrupt delivery */
};

/* The decision, in SDM priority order: an interrupted or queued event
 * first, then an NMI, then an external interrupt. Never injects into a
 * state that blocks the event, never opens a window that cannot close
 * (an NMI window under STI blocking alone exits at once on some CPUs:
 * the interrupt window waits out the STI shadow instead, as KVM does),
 * and leaves every pending event either injected or behind an open window. */
struct event_decision event_arbitrate(const struct event_snapshot *s);

/* RVI | SVI << 8 for the highest vector in IRR and ISR (-1: none). */
uint16_t event_intr_status(int irr_highest, int isr_highest);

/* With nothing of ours to deliver (no queued or interrupted event, no NMI,
 * no interrupt to inject) on the APIC-virtualization path, the decision is
 * RVI/SVI alone, whatever the interruptibility, activity and IF: nothing
 * injected, no window, the interruptibility kept (test_event checks this
 * against event_arbitrate for every combination). The entry path then
 * needs neither those three nor the arbitration. */
static inline int event_quiet_apicv(int pending_valid, int nmi_pending, int intr_pending)
{
    return !pending_valid && !nmi_pending && !intr_pending;
}

#endif
