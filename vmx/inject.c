/* The pre-entry routine (DESIGN §1): re-inject an interrupted event first,
 * then exceptions, then external interrupts when the guest is
 * interruptible; otherwise interrupt-window exiting brings us back at the
 * first instruction boundary where it is. */
#include "inject.h"

#include "../arch/x86/cpu.h"
#include "../arch/x86/fmt.h"
#include "../arch/x86/lapic.h"
#include "../drivers/log.h"
#include "ept.h"
#include "event.h"
#include "exit.h"
#include "exit_names.h"
#include "pcdev.h"
#include "vmcs.h"

#define VMCS_PREEMPTION_TIMER 0x482E

/* ---- the irq_host interface ---- */

static uint64_t host_now(void *ctx)
{
    /* the guest's TSC is the host's (no offsetting); ahead while a vLAPIC
     * deadline within the timer advance is served (vm_update_timers) */
    return rdtsc() + ((struct vm *)ctx)->vcpu.timer_lookahead;
}

/* A model's pending state changed: the next entry arbitrates again (one
 * vCPU, and the models run on it: nothing to wake). */
static void host_kick(void *ctx) { ((struct vm *)ctx)->vcpu.requests |= REQ_EVENT; }

static int host_deliver(void *ctx, uint8_t vector, uint8_t mode, uint8_t dest, uint8_t dest_logical,
                        uint8_t level)
{
    struct vm *vm = ctx;
    (void)dest;
    (void)dest_logical; /* one vCPU: every destination is this one */
    return vlapic_accept(&vm->vcpu.lapic, vector, mode, level);
}

/* ---- what the vLAPIC needs from the rest of the VM ---- */

static void lapic_eoi_broadcast(void *ctx, uint8_t vector)
{
    struct vm *vm = ctx;
    vioapic_eoi(&vm->irq.ioapic, vector);
}

static int lapic_extint_pending(void *ctx)
{
    struct vm *vm = ctx;
    return vpic_has_interrupt(&vm->irq.pic);
}

static uint8_t lapic_extint_ack(void *ctx)
{
    struct vm *vm = ctx;
    uint8_t vector = vpic_acknowledge(&vm->irq.pic);
    irq_pic_output_changed(&vm->irq);
    return vector;
}

static void lapic_init_sipi(void *ctx, int sipi, uint8_t vector, int to_self)
{
    struct vm *vm = ctx;
    if (to_self)
        guest_event(vm, GUEST_INIT_SIPI, "irq",
                    "guest sent itself %s (vector 0x%02x): one vCPU, "
                    "ignored",
                    sipi ? "a SIPI" : "INIT", vector);
    else
        guest_event(vm, GUEST_INIT_SIPI, "irq",
                    "guest sent %s (vector 0x%02x) to other CPUs: there "
                    "are none (one vCPU)",
                    sipi ? "a SIPI" : "INIT", vector);
}

/* Each step of an interrupt's path, by name, with its arguments' names
 * (DESIGN §6): the text trace's words and the names in the ring's dump. */
static const struct {
    const char *event, *k[3];
} trace_names[TRACE_EVENTS] = {
    [TRACE_IRQ_SET] = { "irq_set", { "source", "gsi", "level" } },
    [TRACE_PIC_SET_IRQ] = { "pic_set_irq", { "pin", "level", "irr_changed" } },
    [TRACE_PIC_ACK] = { "pic_ack", { "pin", "vector", "spurious" } },
    [TRACE_PIC_EOI] = { "pic_eoi", { "pin", "specific", 0 } },
    [TRACE_IOAPIC_SET_IRQ] = { "ioapic_set_irq", { "pin", "level", "sent" } },
    [TRACE_IOAPIC_DELIVER] = { "ioapic_deliver", { "pin", "vector", "mode" } },
    [TRACE_IOAPIC_EOI] = { "ioapic_eoi", { "vector", "pin", "redelivered" } },
    [TRACE_PIT_TICK] = { "pit_tick", { "channel", "dropped", 0 } },
    [TRACE_LAPIC_ACCEPT] = { "lapic_accept", { "vector", "mode", "level" } },
    [TRACE_INJECT] = { "inject", { "vector", "type", 0 } },
    [TRACE_EOI] = { "eoi", { "vector", 0, 0 } },
    [TRACE_LAPIC_TIMER] = { "lapic_timer", { "vector", "mode", "masked" } },
    [TRACE_VID] = { "vid", { "vector", "svi", 0 } },
    [TRACE_GUEST_MARK] = { "guest_mark", { "kind", "arg", "guest_tsc" } },
    [TRACE_TSC_OFFSET] = { "tsc_offset", { "delta_lo", "delta_hi", 0 } },
    [TRACE_MSI] = { "msi", { "address", "data", "delivered" } },
};

/* Every step of an interrupt's path comes to one of the two callbacks
 * below, picked by `trace =` (vm_irq_init); with `trace = off` none. */

/* trace = text: one structured log line per step,
 * "irq: trace tsc=<ticks> <event> <k>=<v> ..." */
static void trace_to_log(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    (void)ctx;
    if ((unsigned)ev >= TRACE_EVENTS || !trace_names[ev].event)
        return;
    const uint32_t val[3] = { a, b, c };
    char line[160];
    int n = fmt_snprintf(line, sizeof(line), "trace tsc=%llu %s", (unsigned long long)rdtsc(),
                         trace_names[ev].event);
    for (int i = 0; i < 3 && trace_names[ev].k[i] && n > 0 && (size_t)n < sizeof(line); i++) {
        int hex = trace_names[ev].k[i][0] == 'v'; /* vectors in hex */
        n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, hex ? " %s=0x%02x" : " %s=%u",
                          trace_names[ev].k[i], val[i]);
    }
    log_info("irq", "%s", line);
}

/* trace = on: into the ring, in host TSC ticks (the dump gives the guest's
 * offset); a handful of instructions (`make bench` shows the cost). The
 * TSC is read last, after the arguments are stored, so that RDTSC's EDX
 * does not push the third argument into another register first. */
static void trace_to_ring(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    struct trace_rec *p = trace_slot(&((struct vm *)ctx)->trace_ring);
    uint32_t lo, hi;
    p->ev = ev;
    p->a = a;
    p->b = b;
    p->c = c;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    p->tsc_lo = lo;
    p->tsc_hi = hi;
}

/* A source raising its line through irq_set (or the vLAPIC timer
 * expiring, seen in vm_update_timers) stamps the time, which the guest reads
 * with HC_IRQ_STAMP to measure the latency to its handler. */
static void host_source(void *ctx, uint32_t gsi)
{
    struct vm *vm = ctx;
    vm->source_tsc = rdtsc() + vm->vcpu.timer_lookahead + vm->vcpu.tsc_offset;
    vm->source_gsi = gsi;
}

/* The dump goes to port 0xE9 (Bochs's port_e9_hack: a few ticks a
 * character, where COM1 costs thousands), one line at a time. */
static void dump_line(void *ctx, const char *s)
{
    (void)ctx;
    for (; *s; s++)
        outb(0xE9, (uint8_t)*s);
    outb(0xE9, '\n');
}

void vm_trace_dump(struct vm *vm)
{
    if (vm->trace != TRACE_RING)
        return;
    /* The cost of one traced event: 1000 events as the models report them,
     * traced (into a scratch ring, so that the run's records stay as they
     * are) and then with the trace off, the difference per event. */
    struct trace_ring run = vm->trace_ring;
    struct trace_rec scratch[64];
    trace_ring_init(&vm->trace_ring, scratch, 64);
    uint64_t t0 = rdtsc();
    for (uint32_t i = 0; i < 1000; i++)
        irq_host_trace(&vm->irq_host, TRACE_EOI, i, 0, 0);
    uint64_t traced = rdtsc() - t0;
    vm->irq_host.trace = 0;
    t0 = rdtsc();
    for (uint32_t i = 0; i < 1000; i++)
        irq_host_trace(&vm->irq_host, TRACE_EOI, i, 0, 0);
    uint64_t untraced = rdtsc() - t0;
    vm->irq_host.trace = trace_to_ring;
    vm->trace_ring = run;
    uint64_t cost = traced > untraced ? (traced - untraced + 500) / 1000 : 0;

    const char *names[TRACE_EVENTS];
    for (unsigned i = 0; i < TRACE_EVENTS; i++)
        names[i] = trace_names[i].event;
    trace_ring_dump(&vm->trace_ring, vm->tsc_hz, vm->vcpu.tsc_offset, names, TRACE_EVENTS, dump_line, vm);
    log_info("hv",
             "trace: %llu events kept, %llu dropped (the oldest), dumped on port 0xE9 as "
             "'tinyhv-trace' lines",
             (unsigned long long)trace_ring_held(&vm->trace_ring),
             (unsigned long long)trace_ring_dropped(&vm->trace_ring));
    log_info("hv",
             "trace: one traced event costs %llu TSC ticks (1000 events timed with the trace "
             "on and off)",
             (unsigned long long)cost);
}

static void vuart_irq(void *ctx, int level)
{
    struct vm *vm = ctx;
    irq_set(&vm->irq, vm->uart_source, 4, level);
}

void vm_irq_init(struct vm *vm, uint64_t ioapic_base)
{
    vm->irq_host = (struct irq_host){
        .ctx = vm,
        .now = host_now,
        .kick = host_kick,
        .deliver = host_deliver,
        .trace = vm->trace == TRACE_RING   ? trace_to_ring
                 : vm->trace == TRACE_TEXT ? trace_to_log
                                           : 0,
        .source = host_source,
    };
    irq_chipset_init(&vm->irq, &vm->irq_host, vm->tsc_hz, ioapic_base);
    const struct vlapic_ops ops = {
        .eoi_broadcast = lapic_eoi_broadcast,
        .extint_pending = lapic_extint_pending,
        .extint_ack = lapic_extint_ack,
        .init_sipi = lapic_init_sipi,
        .ctx = vm,
    };
    /* The timer's input clock runs at the TSC rate (CPUID 0x15/0x16 and
     * 0x40000010 say so), and the LAPIC starts as a PC BIOS leaves it. */
    vlapic_init(&vm->vcpu.lapic, 0, vm->tsc_hz, vm->tsc_hz, &vm->irq_host, &ops);
    vlapic_bios_virtual_wire(&vm->vcpu.lapic);
    vm->uart_source = irq_source_alloc(&vm->irq);
    vm->testdev_source = irq_source_alloc(&vm->irq);
    if (vhpet_init(&vm->hpet, &vm->irq, &vm->irq_host, vm->tsc_hz))
        log_error("hv", "HPET: no irq source left for its comparators; they will raise nothing");
    vm->com1.irq = vuart_irq;
}

/* ---- injection ---- */

static int lapic_enabled(const struct vm *vm) { return (vm->vcpu.lapic.apic_base & APIC_BASE_EN) != 0; }

int vm_nmi_pending(const struct vm *vm) { return vm->vcpu.lapic.nmi_pending; }

/* Guaranteed progress: a virtual timer that fired fires again only after
 * the guest has had TIMER_MIN_GAP of its own time (running or halted, not
 * the hypervisor's) since it resumed; periods missed meanwhile coalesce
 * into one tick, which the models count. Counting the gap from VM entry
 * instead would let a guest whose every tick costs an exit (a PIT at count
 * 1, an EOI per tick) spend all its time in its handler. */
static uint64_t timer_min_gap(const struct vm *vm) { return vm->tsc_hz / 20000; /* 50 us */ }

/* For a timer whose hold guest time has not reached yet: if it is armed
 * (next, its own next deadline, is not 0), its deadline becomes the later
 * of next and the host TSC at which the hold ends, and it returns 1. */
static int timer_held(const struct vcpu *v, uint64_t hold, uint64_t next, uint64_t *deadline)
{
    if (!next)
        return 0;
    uint64_t end = rdtsc() + (hold - v->guest_time);
    *deadline = next > end ? next : end;
    return 1;
}

int vm_timer_can_wake(const struct vm *vm)
{
    return (vpit_next_deadline(&vm->irq.pit) && irq_gsi_unmasked(&vm->irq, 0)) ||
           vlapic_timer_can_interrupt(&vm->vcpu.lapic) || vhpet_can_interrupt(&vm->hpet) ||
           vm_pcdev_timer_can_wake(vm);
}

/* The HPET's comparators, held like the PIT; out of line, off the path of
 * an exit while the HPET is halted. */
static __attribute__((noinline)) uint64_t hpet_update_timers(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    uint64_t h;
    if (v->guest_time < v->hpet_hold && timer_held(v, v->hpet_hold, vhpet_next_deadline(&vm->hpet), &h))
        return h;
    uint64_t before = vm->hpet.interrupts;
    h = vhpet_update(&vm->hpet);
    if (vm->hpet.interrupts != before)
        v->hpet_hold = v->guest_time + timer_min_gap(vm);
    return h;
}

uint64_t vm_update_timers(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    uint64_t a, b;
    /* Only a timer in its hold needs its next deadline looked up. */
    int pit_held = v->guest_time < v->pit_hold &&
                   timer_held(v, v->pit_hold, vpit_next_deadline(&vm->irq.pit), &a);
    /* The vLAPIC's hold ends up to the timer advance early (below): the
     * guest is sure of TIMER_MIN_GAP less the advance. */
    uint64_t lapic_next = 0;
    int lapic_held = v->guest_time + v->timer_advance < v->lapic_timer_hold &&
                     timer_held(v, v->lapic_timer_hold, lapic_next = vlapic_timer_next(&v->lapic), &b);
    if (!pit_held) {
        uint64_t before = vm->irq.pit.ticks_delivered;
        a = vpit_update(&vm->irq.pit);
        if (vm->irq.pit.ticks_delivered != before)
            v->pit_hold = v->guest_time + timer_min_gap(vm);
    }
    /* Nothing to do for the HPET (one test per exit) while its counter is
     * halted, as it is until a guest uses it. */
    if (vm->hpet.config & HPET_CFG_ENABLE) {
        uint64_t h = hpet_update_timers(vm);
        if (h && (!a || h < a))
            a = h;
    }
    if (!lapic_held) {
        /* A deadline within the advance is served now, as at its time:
         * the entry waits for it (vm_prepare_entry). The deadline as of
         * the last update: one the guest has moved since fires no earlier
         * than the new one, and the entry waits for the later of the two. */
        uint64_t before = v->lapic.timer_fired, due = v->lapic_deadline;
        if (due && v->timer_advance) {
            uint64_t now = rdtsc();
            if (due > now && due - now <= v->timer_advance)
                v->timer_lookahead = due - now;
        }
        b = vlapic_update_timer(&v->lapic);
        if (v->lapic.timer_fired != before) {
            v->lapic_timer_hold = v->guest_time + timer_min_gap(vm);
            host_source(vm, IRQ_SOURCE_LAPIC_TIMER); /* the latency stamp (HC_IRQ_STAMP) */
            /* Served ahead: the entry waits for the deadline. Served
             * after it: how late teaches the advance. */
            if (v->timer_lookahead || (due && due <= rdtsc()))
                v->fired_deadline = due;
        }
        v->timer_lookahead = 0;
    }
    /* Its deadline, where the hold does not decide it: the host timer
     * fires the advance early for it. */
    v->lapic_deadline = !lapic_held || b == lapic_next ? b : 0;
    return vm_pcdev_update_timers(vm, !a ? b : !b ? a : a < b ? a : b);
}

/* The interrupt the VM would hand the CPU now: with the LAPIC enabled, the
 * vLAPIC's (a vector, or 256 for ExtINT, the 8259 through LINT0; with
 * virtual-interrupt delivery ExtINT is the only one we inject), else the
 * vPIC's (256 too), whose INTR is the CPU's pin then. -1 if none. */
static int pending_interrupt(const struct vm *vm, int apicv)
{
    const struct vlapic *l = &vm->vcpu.lapic;
    if (!lapic_enabled(vm))
        return vpic_has_interrupt(&vm->irq.pic) ? 256 : -1;
    if (apicv)
        return vlapic_extint_pending(l) ? 256 : -1;
    return vlapic_pending(l);
}

int vm_intr_pending(const struct vm *vm) { return pending_interrupt(vm, 0) >= 0; }

/* Injects what pending_interrupt found: its acknowledge (IRR -> ISR, or
 * the 8259's INTA cycle) decides the vector. */
static void inject_interrupt(struct vm *vm, int pending)
{
    int vector;
    if (lapic_enabled(vm)) {
        vector = vlapic_acknowledge(&vm->vcpu.lapic, pending);
    } else {
        vector = vpic_acknowledge(&vm->irq.pic);
        irq_pic_output_changed(&vm->irq);
    }
    if (vector < 0)
        return; /* vanished between the check and the acknowledge */
    vmwrite(ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | (uint32_t)vector);
    irq_host_trace(&vm->irq_host, TRACE_INJECT, (uint32_t)vector, INTR_TYPE_EXTERNAL >> 8, 0);
    vm->delivered = (uint32_t)vector | HC_DELIVERED_INJECTED << 8;
}

static void inject_nmi(struct vm *vm)
{
    vm->vcpu.lapic.nmi_pending = 0;
    vmwrite(ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | NMI_VECTOR);
    irq_host_trace(&vm->irq_host, TRACE_INJECT, NMI_VECTOR, INTR_TYPE_NMI >> 8, 0);
    vm->delivered = NMI_VECTOR | HC_DELIVERED_INJECTED << 8;
}

static void set_windows(struct vm *vm, int intr_window, int nmi_window)
{
    struct vcpu *v = &vm->vcpu;
    uint32_t want = v->proc_ctl & ~(PROC_INTR_WINDOW | PROC_NMI_WINDOW);
    if (intr_window)
        want |= PROC_INTR_WINDOW;
    if (nmi_window)
        want |= PROC_NMI_WINDOW;
    if (want != v->proc_ctl) {
        v->proc_ctl = want;
        vmwrite(PROC_CONTROLS, want);
    }
}

/* The next virtual deadline interrupts the guest through the VMX-preemption
 * timer (an exit, no interrupt), or else through the physical LAPIC timer
 * (an external-interrupt exit). */
static void arm_host_timer(struct vm *vm, uint64_t deadline)
{
    /* How often a timer may fire is vm_update_timers' business (counted
     * in guest time). The host timer is also never armed closer to entry
     * than that gap: with the physical LAPIC timer armed for a deadline
     * right at entry, Bochs delivered a pending virtual interrupt to a
     * guest with IF=0 (inject group, host_timer = lapic). */
    struct vcpu *v = &vm->vcpu;
    if (deadline)
        deadline -= vm_deadline_early(v, deadline);
    if (!(vm->ctl.pin & PIN_PREEMPTION_TIMER)) {
        uint64_t now = rdtsc(), min_gap = timer_min_gap(vm);
        lapic_timer_arm(deadline && deadline < now + min_gap ? now + min_gap : deadline);
        return;
    }
    /* The VMCS field is loaded at every entry and not saved at exit: with
     * no deadline the value written last (the longest) still holds. */
    uint32_t ticks = 0xffffffffu;
    if (deadline) {
        uint64_t now = rdtsc(), min_gap = timer_min_gap(vm);
        if (deadline < now + min_gap)
            deadline = now + min_gap;
        uint64_t t = (deadline - now) >> v->preemption_rate; /* it counts TSC >> rate */
        ticks = t > 0xffffffffull ? 0xffffffffu : (uint32_t)t;
    } else if (v->preemption_ticks == ticks) {
        return;
    }
    v->preemption_ticks = ticks;
    vmwrite(VMCS_PREEMPTION_TIMER, ticks);
}

/* The timer advance, as KVM's lapic_timer_advance: the exit for a vLAPIC
 * deadline comes early by about what serving it costs (the exit, the
 * model's update, the arbitration), the deadline is served then as if at
 * its time, and the entry waits until the deadline has passed, so the
 * guest never sees its interrupt early. Tuned at each served deadline by
 * an eighth of the error, up to TIMER_ADVANCE_MAX; an error above that
 * (a deadline that passed during a long exit of another kind) teaches
 * nothing. */
static uint64_t timer_advance_max(const struct vm *vm) { return vm->tsc_hz / 100000; /* 10 us */ }

static void timer_advance_adjust(struct vm *vm, uint64_t now, uint64_t deadline)
{
    struct vcpu *v = &vm->vcpu;
    uint64_t max = timer_advance_max(vm);
    if (now < deadline) { /* early: less advance */
        uint64_t step = (deadline - now + 7) / 8;
        v->timer_advance = step < v->timer_advance ? v->timer_advance - step : 0;
    } else if (now - deadline < max) { /* late: more */
        v->timer_advance += (now - deadline + 7) / 8;
        if (v->timer_advance > max)
            v->timer_advance = max;
    }
}

/* The event queued by an exit handler (an exception) or by an exit that
 * interrupted a delivery (IDT-vectoring information). A second exception
 * while a hardware exception is queued combines as the CPU combines them
 * (exception_merge): the second alone, #DF, or a triple fault, which stops
 * the VM. Behind another kind of event (an interrupt whose delivery is
 * retried) it is dropped: that event goes in first, and the exception
 * recurs when the instruction restarts. */
void vcpu_queue_exception(struct vcpu *v, unsigned vector, int has_error, uint32_t error)
{
    VM_BUG_ON(v->vm, vector > 31);
    v->requests |= REQ_EVENT;
    if (v->pending.info) {
        if ((v->pending.info & INTR_TYPE_MASK) != INTR_TYPE_HW_EXCEPTION)
            return;
        switch (exception_merge(v->pending.info & 0xff, vector)) {
        case MERGE_SECOND: break;
        case MERGE_DOUBLE_FAULT:
            vector = DF_VECTOR;
            has_error = 1;
            error = 0;
            break;
        case MERGE_TRIPLE_FAULT:
            v->pending.info = 0;
            vm_stop(v->vm, "triple fault: exception %u while delivering a double fault", vector);
            return;
        }
    }
    v->pending.info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
                      (has_error ? INTR_INFO_HAS_ERROR : 0);
    v->pending.error = error;
    v->pending.instr_len = 0;
    /* A fault's delivery pushes RFLAGS with RF=1 (so that the restarted
     * instruction does not hit its instruction breakpoint again), but an
     * injection pushes the guest's RFLAGS as they are: "the value pushed
     * for the RF flag is not modified based on the type of event" (SDM
     * Vol. 3 §27.6.1.1). So a fault the hypervisor raises sets RF here, as
     * the CPU would have (kvm-unit-tests idt_test, "#GP rflags.rf", on a
     * MOV to CR4 that we refuse). An event the CPU was delivering when it
     * exited already has RF right in the saved RFLAGS (§28.3.3). */
    if (exception_is_fault(vector))
        vmwrite(GUEST_RFLAGS, vmread(GUEST_RFLAGS) | RFLAGS_RF);
}

static void inject_pending_event(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    uint32_t e = v->pending.info, type = e & INTR_TYPE_MASK;
    vmwrite(ENTRY_INTR_INFO, e);
    irq_host_trace(&vm->irq_host, TRACE_INJECT, e & 0xff, type >> 8, 0);
    if (e & INTR_INFO_HAS_ERROR)
        vmwrite(ENTRY_EXCEPTION_ERROR, v->pending.error);
    if (v->pending.instr_len)
        vmwrite(ENTRY_INSTR_LEN, v->pending.instr_len);
    v->pending = (struct pending_event){ 0, 0, 0 };
}

/* x2APIC MSRs the CPU virtualizes while "virtualize x2APIC mode" is on
 * (SDM Vol. 3 §30.5): reads served from the virtual-APIC page where the
 * model keeps exactly what it would answer (ID, the version, the current
 * count and ICR are the model's to compute), and the writes of TPR, EOI
 * and SELF IPI. Every other x2APIC access exits to the model. */
static int x2apic_read_virtualized(uint32_t msr)
{
    return msr == 0x808 || msr == 0x80A || msr == 0x80D || msr == 0x80F || (msr >= 0x810 && msr <= 0x828) ||
           (msr >= 0x832 && msr <= 0x838) || msr == 0x83E;
}

static int x2apic_write_virtualized(uint32_t msr) { return msr == 0x808 || msr == 0x80B || msr == 0x83F; }

/* The MSR bitmap (SDM §25.6.9): read bits of MSRs 0-0x1FFF at byte 0,
 * write bits at byte 2048. Open only while the CPU virtualizes x2APIC
 * mode: otherwise a clear bit would reach the physical x2APIC. */
static void x2apic_msrs_open(struct vm *vm, int open)
{
    uint8_t *bm = vm->msr_bitmap;
    for (uint32_t msr = 0x800; msr <= 0x8FF; msr++) {
        uint8_t bit = (uint8_t)(1u << (msr & 7));
        if (x2apic_read_virtualized(msr))
            bm[msr / 8] = open ? bm[msr / 8] & ~bit : bm[msr / 8] | bit;
        if (x2apic_write_virtualized(msr))
            bm[2048 + msr / 8] = open ? bm[2048 + msr / 8] & ~bit : bm[2048 + msr / 8] | bit;
    }
    vm->vcpu.x2apic_msrs_open = open;
}

/* APIC virtualization is on while the guest's LAPIC is software-enabled:
 * in xAPIC mode through the APIC-access page, in x2APIC mode through the
 * MSR bitmap where the CPU can ("virtualize x2APIC mode"). A disabled
 * LAPIC takes the software path: the CPU would otherwise deliver
 * virtualized self-IPIs that a disabled LAPIC must drop. */
static int apicv_sync_controls(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    int sw_enabled = (v->lapic.regs[LAPIC_SVR / 4] & 0x100) != 0;
    int x2 = vlapic_x2apic_enabled(&v->lapic);
    int on = vm->apicv && sw_enabled && (vlapic_xapic_enabled(&v->lapic) || (x2 && vm->x2apicv));
    /* With the TPR shadow, MOV to and from CR8 are the virtual TPR's
     * (the vLAPIC's own register): no exit, where the CPU lets them go. */
    const uint32_t cr8_exits = (PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING) &
                               ~(uint32_t)vmx_cap_proc(vm->caps);
    uint32_t proc = on ? (v->proc_ctl | PROC_TPR_SHADOW) & ~cr8_exits
                       : (v->proc_ctl & ~PROC_TPR_SHADOW) | cr8_exits;
    uint32_t proc2 = v->proc2_ctl & ~(PROC2_APICV | PROC2_X2APICV);
    if (on)
        proc2 |= x2 ? PROC2_X2APICV : PROC2_APICV;
    if (proc != v->proc_ctl) {
        v->proc_ctl = proc;
        vmwrite(PROC_CONTROLS, proc);
    }
    if ((on && x2) != v->x2apic_msrs_open)
        x2apic_msrs_open(vm, on && x2);
    /* The APIC-access page exists in the EPT only while the CPU
     * virtualizes it, at the guest's current APIC base; otherwise APIC
     * accesses trap as MMIO. */
    uint64_t page = on && !x2 ? v->lapic.apic_base & ~0xfffull : 0;
    if (page != v->apic_access_gpa) {
        if (v->apic_access_gpa)
            ept_unmap_page(vm->eptp, v->apic_access_gpa);
        v->apic_access_gpa = 0;
        if (page && ept_map_page(vm->eptp, page, v->apic_access_page)) {
            log_warn("vmx",
                     "APIC base 0x%llx cannot take the APIC-access page (%s): software path "
                     "from now on",
                     (unsigned long long)page,
                     page < vm->ram_size ? "it is guest RAM" : "no page left for its EPT table");
            vm->apicv = 0;
            return apicv_sync_controls(vm);
        }
        v->apic_access_gpa = page;
    }
    if (proc2 != v->proc2_ctl) {
        vmwrite(APIC_ACCESS_ADDR, v->apic_access_page);
        v->proc2_ctl = proc2;
        vmwrite(PROC2_CONTROLS, proc2);
    }
    if (on) {
        /* The registers whose writes end in an APIC-write exit: the
         * model's values before the guest runs (handle_apic_write). */
        for (unsigned i = 0; i < v->apic_write_regs; i++)
            v->lapic_shadow[v->apic_write_reg[i]] = v->lapic.regs[v->apic_write_reg[i] * 4];
    }
    return on;
}

/* Out of the entry path's way: only with the trace on. */
static __attribute__((noinline, cold)) void trace_vid(struct vm *vm, int irr, int isr)
{
    irq_host_trace(&vm->irq_host, TRACE_VID, (uint32_t)irr, (uint32_t)(isr < 0 ? 0 : isr), 0);
}

/* Level-triggered vectors get an EOI exit (for the IOAPIC's remote IRR)
 * unless the guest suppressed the EOI broadcast. */
static void apicv_sync_eoi_exits(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    const struct vlapic *l = &v->lapic;
    int suppress = (l->regs[LAPIC_SVR / 4] >> 12) & 1;
    for (unsigned i = 0; i < 4; i++) {
        uint64_t tmr = suppress ? 0
                                : (uint64_t)l->regs[(LAPIC_TMR + 0x20 * i) / 4] |
                                      (uint64_t)l->regs[(LAPIC_TMR + 0x20 * i + 0x10) / 4] << 32;
        if (tmr != v->eoi_exit_bitmap[i]) {
            v->eoi_exit_bitmap[i] = tmr;
            vmwrite((enum vmcs_field)(EOI_EXIT_BITMAP0 + 2 * i), tmr);
        }
    }
}

/* The arbitration's input (event.h), from the VMCS and the models. */
/* What the VMX side keeps beside the snapshot: the interrupt found (for
 * the acknowledge), and with virtual-interrupt delivery the CPU's RVI/SVI
 * as read and whether EOI exits need a look. */
struct entry_view {
    int pending;
    uint16_t intr_status;
    int eoi_exits_stale;
};

/* With virtual-interrupt delivery the CPU keeps RVI and SVI as it
 * delivers and ends interrupts, and the model changes IRR only by
 * posting (vlapic_take_posted): RVI is the higher of the CPU's and the
 * posted vector, SVI the CPU's. After a resync (REQ_APICV: the controls
 * may just have come on) both come from the registers. */
static void apicv_view(struct vm *vm, int resync, struct event_snapshot *s, struct entry_view *e)
{
    struct vlapic *l = &vm->vcpu.lapic;
    int tmr_changed;
    int posted = vlapic_take_posted(l, &tmr_changed);
    e->intr_status = (uint16_t)vmread(GUEST_INTR_STATUS);
    e->eoi_exits_stale = resync || tmr_changed;
    if (resync) {
        s->irr_highest = vlapic_highest_irr(l);
        s->isr_highest = vlapic_highest_isr(l);
        return;
    }
    int rvi = e->intr_status & 0xff, svi = e->intr_status >> 8;
    s->irr_highest = rvi && rvi > posted ? rvi : posted;
    s->isr_highest = svi ? svi : -1;
}

static void event_snapshot(struct vm *vm, int apicv, int resync, struct event_snapshot *s,
                           struct entry_view *e)
{
    int pending = pending_interrupt(vm, apicv);
    struct vcpu *v = &vm->vcpu;
    s->interruptibility = (uint32_t)vmread(GUEST_INTERRUPTIBILITY);
    s->activity = (uint32_t)vmread(GUEST_ACTIVITY_STATE);
    s->rflags_if = (vmread(GUEST_RFLAGS) & RFLAGS_IF) != 0;
    s->pending = v->pending;
    s->nmi_pending = vm_nmi_pending(vm);
    s->virtual_nmis = (vm->ctl.pin & PIN_VIRTUAL_NMIS) != 0;
    s->nmi_window_exiting = ((vmx_cap_proc(vm->caps) >> 32) & PROC_NMI_WINDOW) != 0;
    s->apicv = apicv;
    s->intr_pending = pending >= 0;
    s->irr_highest = s->isr_highest = -1;
    uint64_t dbg = vmread(GUEST_PENDING_DBG); /* BS, or B0-B3 of an enabled breakpoint (bit 12) */
    s->debug_trap = (dbg & PENDING_DBG_BS) || ((dbg & (1u << 12)) && (dbg & 0xf));
    e->pending = pending;
    if (apicv)
        apicv_view(vm, resync, s, e);
}

/* Virtual-interrupt delivery: RVI/SVI as decided, compared with what the
 * CPU holds now; the EOI-exit bitmap where TMR may have changed. */
static void apply_intr_status(struct vm *vm, const struct event_snapshot *s, const struct entry_view *e,
                              uint16_t intr_status)
{
    if (e->intr_status != intr_status) {
        vmwrite(GUEST_INTR_STATUS, intr_status);
        if (s->irr_highest >= 0) {
            vm->delivered = (uint32_t)s->irr_highest | HC_DELIVERED_VID << 8;
            if (__builtin_expect(vm->irq_host.trace != 0, 0))
                trace_vid(vm, s->irr_highest, s->isr_highest);
        }
    }
    if (e->eoi_exits_stale)
        apicv_sync_eoi_exits(vm);
}

static void event_apply(struct vm *vm, const struct event_snapshot *s, const struct entry_view *e,
                        const struct event_decision *d)
{
    if (d->interruptibility != s->interruptibility)
        vmwrite(GUEST_INTERRUPTIBILITY, d->interruptibility);
    VM_BUG_ON(vm, d->inject == INJECT_PENDING && !(vm->vcpu.pending.info & INTR_INFO_VALID));
    VM_BUG_ON(vm, d->nmi_window && !(vm->ctl.pin & PIN_VIRTUAL_NMIS));
    switch (d->inject) {
    case INJECT_NOTHING: break;
    case INJECT_PENDING: inject_pending_event(vm); break;
    case INJECT_NMI: inject_nmi(vm); break;
    case INJECT_INTERRUPT: inject_interrupt(vm, e->pending); break;
    }
    int window = d->intr_window;
    if (window == WINDOW_IF_MORE) /* another one behind the injected interrupt? */
        window = pending_interrupt(vm, s->apicv) >= 0;
    set_windows(vm, window, d->nmi_window);
    if (s->apicv)
        apply_intr_status(vm, s, e, d->intr_status);
}

/* The entry path's shortcut with nothing of ours to deliver on the
 * APIC-virtualization path (event_quiet_apicv): the decision is RVI/SVI
 * alone, so neither the guest's interruptibility, activity and IF nor
 * the arbitration are needed. */
static int event_quiet(struct vm *vm)
{
    const struct vcpu *v = &vm->vcpu;
    return event_quiet_apicv((v->pending.info & INTR_INFO_VALID) != 0, vm_nmi_pending(vm),
                             pending_interrupt(vm, 1) >= 0);
}

/* The work the requests ask for (out of line: most exits ask none). */
static __attribute__((noinline)) void entry_work(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    /* A deadline that passed is a timer request too (an exit came after
     * it, before the host timer's own exit). */
    if ((v->requests & REQ_TIMERS) || vm_deadline_due(vm)) {
        v->requests &= ~REQ_TIMERS;
        v->timer_deadline = vm_update_timers(vm);
    }
    if (v->requests & REQ_APICV)
        v->apicv_on = apicv_sync_controls(vm);
    if ((v->requests & (REQ_EVENT | REQ_APICV)) == REQ_EVENT && v->apicv_on && event_quiet(vm)) {
        struct event_snapshot s = { .irr_highest = -1, .isr_highest = -1 };
        struct entry_view e = { -1, 0, 0 };
        apicv_view(vm, 0, &s, &e);
        set_windows(vm, 0, 0);
        apply_intr_status(vm, &s, &e, event_intr_status(s.irr_highest, s.isr_highest));
    } else if (v->requests & (REQ_EVENT | REQ_APICV)) {
        struct event_snapshot s;
        struct entry_view e = { -1, 0, 0 };
        event_snapshot(vm, v->apicv_on, (v->requests & REQ_APICV) != 0, &s, &e);
        struct event_decision d = event_arbitrate(&s);
        event_apply(vm, &s, &e, &d);
    }
    v->requests = 0;
}

void vm_prepare_entry(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    if (v->requests || vm_deadline_due(vm))
        entry_work(vm);
    if (v->fired_deadline) { /* a vLAPIC deadline served: not before its time */
        uint64_t d = v->fired_deadline;
        v->fired_deadline = 0;
        timer_advance_adjust(vm, rdtsc(), d);
        while (rdtsc() < d)
            pause();
    }
    arm_host_timer(vm, v->timer_deadline);
}

void vm_arm_host_timer(struct vm *vm) { arm_host_timer(vm, vm->vcpu.timer_deadline); }
