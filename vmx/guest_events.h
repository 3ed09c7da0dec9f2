/* Log lines a guest can cause as often as it likes (an unknown MSR, an
 * unclaimed port, ...) go through one limiter: the first
 * GUEST_EVENT_BURST of each kind are logged, the rest only counted; at the
 * end of the run one line per kind says how many were suppressed, and the
 * exit statistics list every kind's count. The counters live in struct vm. */
#ifndef VMX_GUEST_EVENTS_H
#define VMX_GUEST_EVENTS_H

#include <stdint.h>

#define GUEST_EVENT_BURST 10

enum guest_event {
    GUEST_UNKNOWN_MSR,       /* RDMSR/WRMSR of an unknown MSR or a refused value: #GP */
    GUEST_UNKNOWN_HYPERCALL, /* VMCALL with a number we do not answer */
    GUEST_UNCLAIMED_PORT,    /* IN/OUT on a port no device claims */
    GUEST_INIT_SIPI,         /* INIT or start-up IPIs (one vCPU) */
    GUEST_TSC_WRITE_REFUSED, /* TSC writes without TSC offsetting */
    GUEST_VMX_INSTRUCTION,   /* VMXON, VMREAD, INVEPT, ...: no nested VMX, #UD */
    GUEST_SLEEP_REFUSED,     /* PM1a_CNT SLP_EN with a sleep type other than S5 */
    GUEST_HPET_ACCESS,       /* an HPET access the spec does not define: read 0 / ignored */
    GUEST_PCI,               /* a PCI driver's mistake the device refused (virtio-blk), a lost MSI */
    GUEST_EVENT_KINDS
};

struct guest_event_counts {
    uint64_t n[GUEST_EVENT_KINDS];
};

struct vm;
/* Counts one event of this kind and logs the line if the kind is still
 * within its burst. */
void guest_event(struct vm *vm, enum guest_event kind, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* At the end of the run: "<src>: N more <kind> suppressed", one per kind
 * that went past its burst, at the kind's level. */
void guest_events_print_suppressed(const struct vm *vm);
/* The counts, as lines of the exit statistics (info level). */
void guest_events_print_stats(const struct vm *vm);

#endif
