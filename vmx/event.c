#include "event.h"

#include <stddef.h>

enum exception_class { BENIGN, CONTRIBUTORY, PAGE_FAULT };

/* Table 6-4: #DE, #TS, #NP, #SS and #GP are contributory, #PF is its own
 * class, every other exception (and every vector above 31) is benign. */
static enum exception_class exception_class(unsigned vector)
{
    switch (vector) {
    case 0:
    case 10:
    case 11:
    case 12:
    case 13: return CONTRIBUTORY;
    case PF_VECTOR: return PAGE_FAULT;
    default: return BENIGN;
    }
}

int exception_is_fault(unsigned vector)
{
    return vector < 32 && vector != DB_VECTOR && vector != NMI_VECTOR && vector != BP_VECTOR &&
           vector != OF_VECTOR && vector != DF_VECTOR && vector != MC_VECTOR;
}

enum exception_merge exception_merge(unsigned first, unsigned second)
{
    if (first == DF_VECTOR)
        return exception_class(second) == BENIGN ? MERGE_SECOND : MERGE_TRIPLE_FAULT;
    enum exception_class a = exception_class(first), b = exception_class(second);
    if ((a == CONTRIBUTORY && b == CONTRIBUTORY) || (a == PAGE_FAULT && b != BENIGN))
        return MERGE_DOUBLE_FAULT;
    return MERGE_SECOND;
}

struct pending_event event_from_idt_vectoring(uint32_t info, uint32_t error, uint32_t instr_len)
{
    struct pending_event e = { 0, 0, 0 };
    if (!(info & INTR_INFO_VALID))
        return e;
    e.info = info & ~INTR_INFO_NMI_UNBLOCKED_BY_IRET;
    e.error = (info & INTR_INFO_HAS_ERROR) ? error : 0;
    uint32_t type = info & INTR_TYPE_MASK;
    if (type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_SW_EXCEPTION ||
        type == INTR_TYPE_PRIV_SW_EXCEPTION)
        e.instr_len = instr_len;
    return e;
}

int event_nmi_reblock(int unblocked_by_iret, uint32_t idt_vectoring_info, int double_fault)
{
    return unblocked_by_iret && !(idt_vectoring_info & INTR_INFO_VALID) && !double_fault;
}

uint16_t event_intr_status(int irr_highest, int isr_highest)
{
    return (uint16_t)((isr_highest < 0 ? 0 : isr_highest) << 8 | (irr_highest < 0 ? 0 : irr_highest));
}

struct event_decision event_arbitrate(const struct event_snapshot *s)
{
    struct event_decision d = { INJECT_NOTHING, s->interruptibility, WINDOW_CLOSED, 0, 0 };
    if (s->apicv)
        d.intr_status = event_intr_status(s->irr_highest, s->isr_highest);
    /* Waiting for a SIPI, the CPU takes no event (and VM entry refuses
     * to inject one); the SIPI exit brings us back. */
    if (s->activity == ACTIVITY_WAIT_SIPI)
        return d;

    int shadow = (s->interruptibility & INTERRUPTIBILITY_STI_MOVSS) != 0;
    int nmi_blocked = s->virtual_nmis && (s->interruptibility & INTERRUPTIBILITY_NMI);
    int intr_open = s->rflags_if && !shadow;
    /* Blocking by STI alone: an NMI window may exit at once under it (IF
     * is 1), so an NMI waits behind the interrupt window instead. */
    int sti_alone = (s->interruptibility & INTERRUPTIBILITY_STI) && !nmi_blocked &&
                    !(s->interruptibility & INTERRUPTIBILITY_MOVSS);
    int nmi_window_ok = s->virtual_nmis && s->nmi_window_exiting;

    if (s->pending.info & INTR_INFO_VALID) {
        /* An interrupted delivery goes in again, an exception goes in
         * whatever the shadows. VM entry refuses an NMI with blocking by
         * NMI or MOV SS and an external interrupt with either shadow: the
         * delivery had begun, so those blockings ended with it. */
        uint32_t type = s->pending.info & INTR_TYPE_MASK;
        d.inject = INJECT_PENDING;
        if (type == INTR_TYPE_NMI)
            d.interruptibility &= ~(INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_STI_MOVSS);
        else if (type == INTR_TYPE_EXTERNAL)
            d.interruptibility &= ~INTERRUPTIBILITY_STI_MOVSS;
        d.intr_window = s->intr_pending ? WINDOW_OPEN : WINDOW_CLOSED;
        d.nmi_window = s->nmi_pending && nmi_window_ok;
        return d;
    }

    /* A trap of the previous instruction (single step, data breakpoint)
     * ranks above NMIs and external interrupts (SDM Vol. 3 §6.9, priority
     * 4 against 5), and VM entry discards pending debug exceptions when it
     * injects (§27.7.3). So inject neither: the windows open, the CPU
     * delivers the #DB first and exits at the window after it (at the
     * handler's first instruction for an NMI, after its IRET for an
     * interrupt). */
    if (s->debug_trap) {
        if (s->nmi_pending) {
            if (nmi_window_ok && !sti_alone)
                d.nmi_window = 1;
            else
                d.intr_window = WINDOW_OPEN;
        }
        if (s->intr_pending)
            d.intr_window = WINDOW_OPEN;
        return d;
    }

    if (s->nmi_pending) {
        if (!nmi_blocked && !shadow) {
            d.inject = INJECT_NMI;
            d.intr_window = s->intr_pending ? WINDOW_OPEN : WINDOW_CLOSED;
            return d;
        }
        /* NMI-window exiting waits for the end of NMI blocking (the
         * handler's IRET) and of blocking by MOV SS. Under blocking by STI
         * alone (IF = 1 then) it may exit at once, on every entry: the
         * interrupt window waits out the shadow instead. An interrupt the
         * guest can take meanwhile goes in below. */
        if (!sti_alone)
            d.nmi_window = nmi_window_ok;
        else
            d.intr_window = WINDOW_OPEN;
    }

    if (s->intr_pending) {
        if (intr_open) {
            d.inject = INJECT_INTERRUPT;
            d.intr_window = WINDOW_IF_MORE;
        } else {
            d.intr_window = WINDOW_OPEN;
        }
    }
    return d;
}
