/* libFuzzer target: the entry path's event arbitration (vmx/event.c).
 * Each input is a sequence of snapshots (any interruptibility, activity,
 * IF, pending event of any type, NMI and interrupt pending, either APIC
 * path, with or without virtual NMIs); each decision must keep the
 * invariants below, which trap when broken. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../vmx/event.h"

#define CHECK(c)              \
    do {                      \
        if (!(c))             \
            __builtin_trap(); \
    } while (0)

static void check(const struct event_snapshot *s, const struct event_decision *d)
{
    uint32_t shadow = s->interruptibility & INTERRUPTIBILITY_STI_MOVSS;
    int nmi_blocked = s->virtual_nmis && (s->interruptibility & INTERRUPTIBILITY_NMI);
    int pending = (s->pending.info & INTR_INFO_VALID) != 0;
    int nmi_window_ok = s->virtual_nmis && s->nmi_window_exiting;

    /* Blocking is only ever cleared, never invented. */
    CHECK((d->interruptibility & ~s->interruptibility) == 0);
    if (s->apicv)
        CHECK(d->intr_status == (uint16_t)((s->isr_highest < 0 ? 0 : s->isr_highest) << 8 |
                                           (s->irr_highest < 0 ? 0 : s->irr_highest)));
    /* The entry path's shortcut (event_quiet_apicv): RVI/SVI alone. */
    if (s->apicv && event_quiet_apicv(pending, s->nmi_pending, s->intr_pending))
        CHECK(d->inject == INJECT_NOTHING && !d->intr_window && !d->nmi_window &&
              d->interruptibility == s->interruptibility &&
              d->intr_status == event_intr_status(s->irr_highest, s->isr_highest));
    if (s->activity == ACTIVITY_WAIT_SIPI) {
        CHECK(d->inject == INJECT_NOTHING && !d->intr_window && !d->nmi_window);
        return;
    }
    /* Never inject into a state that blocks the event. */
    if (d->inject == INJECT_NMI)
        CHECK(s->nmi_pending && !nmi_blocked && !shadow && !pending);
    if (d->inject == INJECT_INTERRUPT)
        CHECK(s->intr_pending && s->rflags_if && !shadow && !pending);
    /* A debug trap of the previous instruction goes first. */
    CHECK(!s->debug_trap || (d->inject != INJECT_NMI && d->inject != INJECT_INTERRUPT));
    if (d->inject == INJECT_PENDING) {
        uint32_t type = s->pending.info & INTR_TYPE_MASK;
        if (type == INTR_TYPE_NMI && s->virtual_nmis)
            CHECK(!(d->interruptibility & (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_MOVSS)));
        if (type == INTR_TYPE_EXTERNAL)
            CHECK(!(d->interruptibility & INTERRUPTIBILITY_STI_MOVSS));
    }
    /* Never lose an event: a queued one goes in now... */
    CHECK(pending == (d->inject == INJECT_PENDING));
    /* ... an interrupt not injected waits behind an open window ... */
    if (s->intr_pending && d->inject != INJECT_INTERRUPT)
        CHECK(d->intr_window == WINDOW_OPEN);
    /* ... and so does an NMI, wherever the CPU can tell us its window. */
    if (s->nmi_pending && d->inject != INJECT_NMI && nmi_window_ok)
        CHECK(d->nmi_window || (d->intr_window && !nmi_blocked));
    /* Never open a window that cannot close: */
    CHECK(!d->nmi_window || nmi_window_ok);
    if (d->inject == INJECT_NOTHING) {
        /* the interrupt window exits at once when the guest is open (after
         * the #DB of a due debug trap, which changes the state)... */
        if (d->intr_window && !s->debug_trap)
            CHECK(!(s->rflags_if && !shadow));
        /* ... and the NMI window may, under blocking by STI alone */
        if (d->nmi_window)
            CHECK(nmi_blocked || (s->interruptibility & INTERRUPTIBILITY_MOVSS) ||
                  (s->debug_trap && !(s->interruptibility & INTERRUPTIBILITY_STI)));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    while (size >= 8) {
        struct event_snapshot s;
        memset(&s, 0, sizeof(s));
        s.interruptibility = data[0] & 0xf;
        s.activity = (data[0] >> 4) & 3;
        if (s.activity == 2) /* shutdown: never entered with */
            s.activity = ACTIVITY_ACTIVE;
        s.rflags_if = (data[0] >> 6) & 1;
        if (s.interruptibility & INTERRUPTIBILITY_STI)
            s.rflags_if = 1; /* VM entry: blocking by STI needs IF = 1 */
        if (data[1] & 1) {
            static const uint32_t types[] = { INTR_TYPE_EXTERNAL,          INTR_TYPE_NMI,
                                              INTR_TYPE_HW_EXCEPTION,      INTR_TYPE_SW_INTERRUPT,
                                              INTR_TYPE_PRIV_SW_EXCEPTION, INTR_TYPE_SW_EXCEPTION };
            uint32_t type = types[(data[1] >> 1) % 6];
            s.pending = event_from_idt_vectoring(INTR_INFO_VALID | type | data[2] |
                                                     ((data[1] & 0x80) ? INTR_INFO_HAS_ERROR : 0),
                                                 data[3], data[4] & 0xf);
        }
        s.nmi_pending = (data[5] >> 0) & 1;
        s.virtual_nmis = (data[5] >> 1) & 1;
        s.nmi_window_exiting = (data[5] >> 2) & 1;
        s.apicv = (data[5] >> 3) & 1;
        s.intr_pending = (data[5] >> 4) & 1;
        s.debug_trap = (data[5] >> 5) & 1;
        s.irr_highest = (data[6] & 1) ? -1 : data[6];
        s.isr_highest = (data[7] & 1) ? -1 : data[7];
        struct event_decision d = event_arbitrate(&s);
        check(&s, &d);
        data += 8;
        size -= 8;
    }
    return 0;
}
