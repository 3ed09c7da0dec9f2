/* The narrow interface through which the device models in irq/ reach the
 * outside world. The hypervisor fills it with the TSC and its vCPU; host
 * unit tests and fuzzers fill it with a fake clock and recorders. Nothing
 * else in irq/ knows about VMX, ports or globals. */
#ifndef IRQ_IRQ_HOST_H
#define IRQ_IRQ_HOST_H

#include <stdint.h>

/* Steps of an interrupt's path, for the interrupt trace (DESIGN §6). The
 * meaning of the three arguments is given per event. */
enum irq_trace_event {
    TRACE_IRQ_SET,        /* a = source id, b = gsi, c = level */
    TRACE_PIC_SET_IRQ,    /* a = pic pin 0-15, b = level, c = 1 if IRR changed */
    TRACE_PIC_ACK,        /* a = pin (or 7/15 spurious), b = vector, c = 1 if spurious */
    TRACE_PIC_EOI,        /* a = pin, b = 1 if specific EOI */
    TRACE_IOAPIC_SET_IRQ, /* a = pin, b = level, c = 1 if a message was sent */
    TRACE_IOAPIC_DELIVER, /* a = pin, b = vector, c = delivery mode */
    TRACE_IOAPIC_EOI,     /* a = vector, b = pin (or 0xff if none matched), c = 1 if re-delivered */
    TRACE_PIT_TICK,       /* a = channel, b = ticks missed and dropped, c = 0 */
    TRACE_LAPIC_ACCEPT,   /* a = vector, b = delivery mode, c = level-triggered */
    TRACE_INJECT,         /* a = vector, b = VM-entry interruption type, c = 0 */
    TRACE_EOI,            /* a = vector, b = 0, c = 0 */
    TRACE_LAPIC_TIMER,    /* the vLAPIC timer expired: a = LVT vector, b = mode (0 one-shot,
                            * 1 periodic, 2 TSC-deadline), c = 1 if the LVT is masked */
    TRACE_VID,            /* virtual-interrupt delivery armed: a = RVI, b = SVI, c = 0 */
    TRACE_GUEST_MARK,     /* the guest's own mark (hypercall HC_TRACE_MARK): a = kind
                            * (1 ISR entry, 2 EOI done, 3 a phase begins, 4 it ends, 5 hello),
                            * b = vector or phase number, c = the guest's TSC, low 32 bits */
    TRACE_TSC_OFFSET,     /* the guest moved its TSC: a, b = the change, low and high 32 bits */
    TRACE_MSI,            /* a device's message (irq_msi): a = address low, b = data, c = 1 if delivered */
    TRACE_EVENTS          /* the number of events */
};

struct irq_host {
    void *ctx;
    /* Current guest time in TSC ticks. */
    uint64_t (*now)(void *ctx);
    /* Something changed that may make an event pending for the vCPU. */
    void (*kick)(void *ctx);
    /* An IOAPIC redirection entry (or MSI) sends a message to the local
     * APIC side: vector, delivery mode (0 fixed, 1 lowest priority, 2 SMI,
     * 4 NMI, 5 INIT, 7 ExtINT), destination, destination mode (0 physical,
     * 1 logical) and trigger (1 = level). Returns 1 if accepted. */
    int (*deliver)(void *ctx, uint8_t vector, uint8_t mode, uint8_t dest, uint8_t dest_logical,
                   uint8_t level_trig);
    /* May be NULL. */
    void (*trace)(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c);
    /* A source event: a line raised through irq_set (its GSI). May be
     * NULL. (The host sees the vLAPIC timer expire by itself: timer_fired.) */
    void (*source)(void *ctx, uint32_t gsi);
};
#define IRQ_SOURCE_LAPIC_TIMER 0xffu /* the host's stamp for the vLAPIC timer */

static inline void irq_host_trace(const struct irq_host *h, enum irq_trace_event ev, uint32_t a, uint32_t b,
                                  uint32_t c)
{
    if (h && h->trace)
        h->trace(h->ctx, ev, a, b, c);
}

static inline void irq_host_source(const struct irq_host *h, uint32_t gsi)
{
    if (h && h->source)
        h->source(h->ctx, gsi);
}

#endif
