/* The limiter of guest-triggered log lines (guest_events.h). */
#include "guest_events.h"

#include <stdarg.h>

#include "../drivers/log.h"
#include "vm.h"

static const struct {
    const char *what; /* plural, for "N more <what> suppressed" */
    enum log_level level;
} kinds[GUEST_EVENT_KINDS] = {
    [GUEST_UNKNOWN_MSR] = { "unknown-MSR accesses", LOG_WARN },
    [GUEST_UNKNOWN_HYPERCALL] = { "unknown hypercalls", LOG_WARN },
    [GUEST_UNCLAIMED_PORT] = { "unclaimed port accesses", LOG_WARN },
    [GUEST_INIT_SIPI] = { "INIT and start-up IPIs", LOG_INFO },
    [GUEST_TSC_WRITE_REFUSED] = { "refused TSC writes", LOG_WARN },
    [GUEST_VMX_INSTRUCTION] = { "VMX instructions answered with #UD", LOG_WARN },
    [GUEST_SLEEP_REFUSED] = { "refused sleep requests", LOG_WARN },
    [GUEST_HPET_ACCESS] = { "undefined HPET accesses", LOG_WARN },
    [GUEST_PCI] = { "refused PCI device requests", LOG_WARN },
};

void guest_event(struct vm *vm, enum guest_event kind, const char *src, const char *fmt, ...)
{
    va_list ap;
    if (++vm->guest_events.n[kind] > GUEST_EVENT_BURST || !log_enabled(kinds[kind].level))
        return;
    va_start(ap, fmt);
    log_vmsg(kinds[kind].level, src, fmt, ap);
    va_end(ap);
}

void guest_events_print_suppressed(const struct vm *vm)
{
    for (unsigned k = 0; k < GUEST_EVENT_KINDS; k++)
        if (vm->guest_events.n[k] > GUEST_EVENT_BURST)
            log_msg(kinds[k].level, "vmx", "%llu more %s suppressed",
                    (unsigned long long)(vm->guest_events.n[k] - GUEST_EVENT_BURST), kinds[k].what);
}

void guest_events_print_stats(const struct vm *vm)
{
    int any = 0;
    for (unsigned k = 0; k < GUEST_EVENT_KINDS; k++) {
        uint64_t n = vm->guest_events.n[k];
        if (!n)
            continue;
        if (!any)
            log_info("hv", "guest-triggered events (the first %u of each kind logged):", GUEST_EVENT_BURST);
        any = 1;
        log_info("hv", "  %-36s %10llu, %llu suppressed", kinds[k].what, (unsigned long long)n,
                 (unsigned long long)(n > GUEST_EVENT_BURST ? n - GUEST_EVENT_BURST : 0));
    }
}
