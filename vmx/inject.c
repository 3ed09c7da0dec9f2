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
#include "vmcs.h"

#define VMCS_PREEMPTION_TIMER 0x482E

/* ---- the irq_host interface ---- */

static uint64_t host_now(void *ctx)
{
    (void)ctx;
    return rdtsc(); /* the guest's TSC is the host's (no offsetting) */
}

static void host_kick(void *ctx)
{
    (void)ctx; /* one vCPU, evaluated before every entry: nothing to wake */
}

static int host_deliver(void *ctx, uint8_t vector, uint8_t mode, uint8_t dest,
                        uint8_t dest_logical, uint8_t level)
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
        guest_event(vm, GUEST_INIT_SIPI, "irq", "guest sent itself %s (vector 0x%02x): one vCPU, "
                    "ignored", sipi ? "a SIPI" : "INIT", vector);
    else
        guest_event(vm, GUEST_INIT_SIPI, "irq", "guest sent %s (vector 0x%02x) to other CPUs: there "
                    "are none (one vCPU)", sipi ? "a SIPI" : "INIT", vector);
}

/* Each step of an interrupt's path, by name, with its arguments' names
 * (DESIGN §6): the text trace's words and the names in the ring's dump. */
static const struct { const char *event, *k[3]; } trace_names[TRACE_EVENTS] = {
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
    vm->source_tsc = rdtsc() + vm->vcpu.tsc_offset;
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
    log_info("hv", "trace: %llu events kept, %llu dropped (the oldest), dumped on port 0xE9 as "
             "'tinyhv-trace' lines", (unsigned long long)trace_ring_held(&vm->trace_ring),
             (unsigned long long)trace_ring_dropped(&vm->trace_ring));
    log_info("hv", "trace: one traced event costs %llu TSC ticks (1000 events timed with the trace "
             "on and off)", (unsigned long long)cost);
}

static void vuart_irq(void *ctx, int level)
{
    struct vm *vm = ctx;
    irq_set(&vm->irq, vm->uart_source, 4, level);
}

void vm_irq_init(struct vm *vm, uint64_t ioapic_base)
{
    vm->irq_host = (struct irq_host){
        .ctx = vm, .now = host_now, .kick = host_kick, .deliver = host_deliver,
        .trace = vm->trace == TRACE_RING ? trace_to_ring : vm->trace == TRACE_TEXT ? trace_to_log : 0,
        .source = host_source,
    };
    irq_chipset_init(&vm->irq, &vm->irq_host, vm->tsc_hz, ioapic_base);
    const struct vlapic_ops ops = {
        .eoi_broadcast = lapic_eoi_broadcast, .extint_pending = lapic_extint_pending,
        .extint_ack = lapic_extint_ack, .init_sipi = lapic_init_sipi, .ctx = vm,
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

static int lapic_enabled(const struct vm *vm)
{
    return (vm->vcpu.lapic.apic_base & APIC_BASE_EN) != 0;
}

int vm_intr_pending(const struct vm *vm)
{
    /* With the LAPIC globally disabled, the vPIC's INTR is the CPU's INTR pin. */
    if (!lapic_enabled(vm))
        return vpic_has_interrupt(&vm->irq.pic);
    return vlapic_pending(&vm->vcpu.lapic) >= 0;
}

int vm_nmi_pending(const struct vm *vm)
{
    return vm->vcpu.lapic.nmi_pending;
}

/* Guaranteed progress: a virtual timer that fired fires again only after
 * the guest has had TIMER_MIN_GAP of its own time (running or halted, not
 * the hypervisor's) since it resumed; periods missed meanwhile coalesce
 * into one tick, which the models count. Counting the gap from VM entry
 * instead would let a guest whose every tick costs an exit (a PIT at count
 * 1, an EOI per tick) spend all its time in its handler. */
static uint64_t timer_min_gap(const struct vm *vm)
{
    return vm->tsc_hz / 20000; /* 50 us */
}

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
           vlapic_timer_can_interrupt(&vm->vcpu.lapic) || vhpet_can_interrupt(&vm->hpet);
}

/* The HPET's comparators, held like the PIT; out of line, off the path of
 * an exit while the HPET is halted. */
static __attribute__((noinline)) uint64_t hpet_update_timers(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    uint64_t h;
    if (v->guest_time < v->hpet_hold &&
        timer_held(v, v->hpet_hold, vhpet_next_deadline(&vm->hpet), &h))
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
    int lapic_held = v->guest_time < v->lapic_timer_hold &&
                     timer_held(v, v->lapic_timer_hold, vlapic_timer_next(&v->lapic), &b);
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
        uint64_t before = v->lapic.timer_fired;
        b = vlapic_update_timer(&v->lapic);
        if (v->lapic.timer_fired != before) {
            v->lapic_timer_hold = v->guest_time + timer_min_gap(vm);
            host_source(vm, IRQ_SOURCE_LAPIC_TIMER);  /* the latency stamp (HC_IRQ_STAMP) */
        }
    }
    return !a ? b : !b ? a : a < b ? a : b;
}

static int guest_interruptible(void)
{
    return (vmread(GUEST_RFLAGS) & RFLAGS_IF) &&
           !(vmread(GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_STI_MOVSS);
}

static void inject_external(struct vm *vm)
{
    int vector;
    if (lapic_enabled(vm)) {
        /* IRR -> ISR, or for ExtINT (256) the 8259's INTA cycle. */
        vector = vlapic_acknowledge(&vm->vcpu.lapic, vlapic_pending(&vm->vcpu.lapic));
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

static void set_windows(struct vm *vm, int intr_window, int nmi_window)
{
    struct vcpu *v = &vm->vcpu;
    uint32_t want = v->proc_ctl & ~(PROC_INTR_WINDOW | PROC_NMI_WINDOW);
    if (intr_window)
        want |= PROC_INTR_WINDOW;
    /* NMI-window exiting exists only together with virtual NMIs. */
    if (nmi_window && (vm->ctl.pin & PIN_VIRTUAL_NMIS) &&
        ((vmx_cap_proc(vm->caps) >> 32) & PROC_NMI_WINDOW))
        want |= PROC_NMI_WINDOW;
    if (want != v->proc_ctl) {
        v->proc_ctl = want;
        vmwrite(PROC_CONTROLS, want);
    }
}

/* An NMI can go in unless the guest is still in its NMI handler (virtual-NMI
 * blocking until IRET) or in a MOV-SS / STI shadow. */
static int inject_nmi_if_possible(struct vm *vm)
{
    if (vmread(GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI_MOVSS | INTERRUPTIBILITY_NMI))
        return 0;
    vm->vcpu.lapic.nmi_pending = 0;
    vmwrite(ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | 2);
    irq_host_trace(&vm->irq_host, TRACE_INJECT, 2, INTR_TYPE_NMI >> 8, 0);
    vm->delivered = 2 | HC_DELIVERED_INJECTED << 8;
    return 1;
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
    uint64_t now = rdtsc(), min_gap = timer_min_gap(vm);
    if (deadline && deadline < now + min_gap)
        deadline = now + min_gap;
    if (!(vm->ctl.pin & PIN_PREEMPTION_TIMER)) {
        lapic_timer_arm(deadline);
        return;
    }
    unsigned rate = (unsigned)(vm->caps->misc & 0x1f); /* it counts TSC >> rate */
    uint64_t ticks = 0xffffffffull;
    if (deadline)
        ticks = (deadline - now) >> rate;
    if (ticks > 0xffffffffull)
        ticks = 0xffffffffull;
    vmwrite(VMCS_PREEMPTION_TIMER, ticks);
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
    if (v->pending_event) {
        if ((v->pending_event & INTR_TYPE_MASK) != INTR_TYPE_HW_EXCEPTION)
            return;
        unsigned first = v->pending_event & 0xff;
        switch (exception_merge(first, vector)) {
        case MERGE_SECOND: break;
        case MERGE_DOUBLE_FAULT:
            vector = DF_VECTOR;
            has_error = 1;
            error = 0;
            break;
        case MERGE_TRIPLE_FAULT:
            v->pending_event = 0;
            vm_stop(v->vm, "triple fault: exception %u while delivering a double fault", vector);
            return;
        }
    }
    v->pending_event = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
                       (has_error ? INTR_INFO_HAS_ERROR : 0);
    v->pending_error = error;
}

static void inject_pending_event(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    uint32_t e = v->pending_event, type = e & INTR_TYPE_MASK;
    vmwrite(ENTRY_INTR_INFO, e);
    irq_host_trace(&vm->irq_host, TRACE_INJECT, e & 0xff, type >> 8, 0);
    if (e & INTR_INFO_HAS_ERROR)
        vmwrite(ENTRY_EXCEPTION_ERROR, v->pending_error);
    if (type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_SW_EXCEPTION ||
        type == INTR_TYPE_PRIV_SW_EXCEPTION)
        vmwrite(ENTRY_INSTR_LEN, v->pending_instr_len);
    v->pending_event = 0;
}

/* APIC virtualization is on while the guest's LAPIC is software-enabled in
 * xAPIC mode. x2APIC accesses and a disabled LAPIC take the software path:
 * the CPU would otherwise deliver virtualized self-IPIs that a disabled
 * LAPIC must drop. */
static int apicv_sync_controls(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    int on = vm->apicv && vlapic_xapic_enabled(&v->lapic) &&
             (v->lapic.regs[LAPIC_SVR / 4] & 0x100);
    uint32_t proc = on ? v->proc_ctl | PROC_TPR_SHADOW : v->proc_ctl & ~PROC_TPR_SHADOW;
    uint32_t proc2 = on ? v->proc2_ctl | PROC2_APICV : v->proc2_ctl & ~PROC2_APICV;
    if (proc != v->proc_ctl) {
        v->proc_ctl = proc;
        vmwrite(PROC_CONTROLS, proc);
    }
    /* The APIC-access page exists in the EPT only while the CPU
     * virtualizes it, at the guest's current APIC base; otherwise APIC
     * accesses trap as MMIO. */
    uint64_t page = on ? v->lapic.apic_base & ~0xfffull : 0;
    if (page != v->apic_access_gpa) {
        if (v->apic_access_gpa)
            ept_unmap_page(vm->eptp, v->apic_access_gpa);
        v->apic_access_gpa = 0;
        if (page && ept_map_page(vm->eptp, page, v->apic_access_page)) {
            log_warn("vmx", "APIC base 0x%llx cannot take the APIC-access page (%s): software path "
                     "from now on", (unsigned long long)page,
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
        /* Only registers whose writes end in an APIC-write exit need the
         * value the model had before the guest ran. */
        static const uint16_t trap_like[] = { 0x020, 0x0D0, 0x0E0, 0x0F0, 0x280, 0x300, 0x310, 0x320,
                                              0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x3E0 };
        for (unsigned i = 0; i < sizeof(trap_like) / sizeof(trap_like[0]); i++)
            v->lapic_shadow[trap_like[i] / 16] = v->lapic.regs[trap_like[i] / 4];
    }
    return on;
}

/* Out of the entry path's way: only with the trace on. */
static __attribute__((noinline, cold)) void trace_vid(struct vm *vm, int irr, int isr)
{
    irq_host_trace(&vm->irq_host, TRACE_VID, (uint32_t)irr, (uint32_t)(isr < 0 ? 0 : isr), 0);
}

/* Virtual-interrupt delivery: RVI = highest IRR, SVI = highest ISR; the CPU
 * delivers when the guest can take it, no injection and no window exit.
 * Level-triggered vectors get an EOI exit (for the IOAPIC's remote IRR)
 * unless the guest suppressed the EOI broadcast. */
static void apicv_sync_state(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    const struct vlapic *l = &v->lapic;
    int irr = vlapic_highest_irr(l), isr = vlapic_highest_isr(l);
    uint16_t status = (uint16_t)((isr < 0 ? 0 : isr) << 8 | (irr < 0 ? 0 : irr));
    /* The CPU changes RVI/SVI as it delivers and ends interrupts: read it
     * back rather than trusting what we wrote last. */
    if (vmread(GUEST_INTR_STATUS) != status) {
        vmwrite(GUEST_INTR_STATUS, status);
        if (irr >= 0) {
            vm->delivered = (uint32_t)irr | HC_DELIVERED_VID << 8;
            if (__builtin_expect(vm->irq_host.trace != 0, 0))
                trace_vid(vm, irr, isr);
        }
    }
    int suppress = (l->regs[LAPIC_SVR / 4] >> 12) & 1;
    for (unsigned i = 0; i < 4; i++) {
        uint64_t tmr = suppress ? 0 : (uint64_t)l->regs[(LAPIC_TMR + 0x20 * i) / 4] |
                                      (uint64_t)l->regs[(LAPIC_TMR + 0x20 * i + 0x10) / 4] << 32;
        if (tmr != v->eoi_exit_bitmap[i]) {
            v->eoi_exit_bitmap[i] = tmr;
            vmwrite((enum vmcs_field)(EOI_EXIT_BITMAP0 + 2 * i), tmr);
        }
    }
}

/* With virtual-interrupt delivery only ExtINT (the 8259 through LINT0) is
 * injected by us. */
static int extint_pending_apicv(const struct vm *vm)
{
    return vlapic_extint_pending(&vm->vcpu.lapic);
}

static void inject_extint(struct vm *vm)
{
    int vector = vlapic_acknowledge(&vm->vcpu.lapic, 256); /* the 8259's INTA cycle */
    if (vector < 0)
        return;
    vmwrite(ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | (uint32_t)vector);
    irq_host_trace(&vm->irq_host, TRACE_INJECT, (uint32_t)vector, INTR_TYPE_EXTERNAL >> 8, 0);
    vm->delivered = (uint32_t)vector | HC_DELIVERED_INJECTED << 8;
}

void vm_prepare_entry(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    uint64_t deadline = vm_update_timers(vm);
    int window = 0, nmi_window = 0;

    if (apicv_sync_controls(vm)) {
        apicv_sync_state(vm);
        if (v->pending_event) {
            inject_pending_event(vm);
            window = extint_pending_apicv(vm);
            nmi_window = vm_nmi_pending(vm);
        } else if (vm_nmi_pending(vm)) {
            nmi_window = !inject_nmi_if_possible(vm);
            window = extint_pending_apicv(vm);
        } else if (extint_pending_apicv(vm)) {
            if (guest_interruptible())
                inject_extint(vm);
            else
                window = 1;
        }
        set_windows(vm, window, nmi_window);
        arm_host_timer(vm, deadline);
        return;
    }

    if (v->pending_event) {
        /* An exception or re-delivered event goes first; an interrupt
         * behind it waits for the window after it. */
        inject_pending_event(vm);
        window = vm_intr_pending(vm);
        nmi_window = vm_nmi_pending(vm);
    } else if (vm_nmi_pending(vm)) {
        /* NMI before external interrupts. */
        nmi_window = !inject_nmi_if_possible(vm);
        window = vm_intr_pending(vm);
    } else if (vm_intr_pending(vm)) {
        if (guest_interruptible()) {
            inject_external(vm);
            window = vm_intr_pending(vm); /* more behind it: come back at the next window */
        } else {
            window = 1;
        }
    }
    set_windows(vm, window, nmi_window);
    arm_host_timer(vm, deadline);
}
