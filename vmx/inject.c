/* The pre-entry routine (DESIGN §1): re-inject an interrupted event first,
 * then exceptions, then external interrupts when the guest is
 * interruptible; otherwise interrupt-window exiting brings us back at the
 * first instruction boundary where it is. */
#include "inject.h"

#include "../arch/x86/cpu.h"
#include "../arch/x86/fmt.h"
#include "../arch/x86/lapic.h"
#include "../drivers/log.h"
#include "exit_names.h"
#include "vmcs.h"

#define VMCS_PREEMPTION_TIMER 0x482E
#define INTERRUPTIBILITY_STI_MOVSS 3u
#define INTERRUPTIBILITY_NMI 8u

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
    struct vcpu_intr *in = &vm->vcpu.intr;
    (void)dest;
    (void)dest_logical; /* one vCPU: every destination is this one */
    irq_host_trace(&vm->irq_host, TRACE_LAPIC_ACCEPT, vector, mode, level);
    switch (mode) {
    case 0: /* fixed */
    case 1: /* lowest priority */
        if (vector < 16) {
            log_warn("irq", "IOAPIC/MSI message with illegal vector %u dropped", vector);
            return 0;
        }
        in->irr[vector / 64] |= 1ull << (vector % 64);
        return 1;
    case 7: /* ExtINT: the vPIC supplies the vector at acknowledge time */
        in->extint = 1;
        return 1;
    case 4: /* NMI: the vector field is ignored */
        in->nmi = 1;
        return 1;
    default:
        log_warn("irq", "IOAPIC/MSI delivery mode %u (vector %u) is not supported yet", mode, vector);
        return 0;
    }
}

/* One structured line per step of an interrupt's path:
 * "irq: trace tsc=<ticks> <event> <k>=<v> ..." (DESIGN §6). */
static void host_trace(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    static const struct { const char *event, *k[3]; } names[] = {
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
    };
    struct vm *vm = ctx;
    if (!vm->trace || (unsigned)ev >= sizeof(names) / sizeof(names[0]) || !names[ev].event)
        return;
    const uint32_t val[3] = { a, b, c };
    char line[160];
    int n = fmt_snprintf(line, sizeof(line), "trace tsc=%llu %s", (unsigned long long)rdtsc(),
                         names[ev].event);
    for (int i = 0; i < 3 && names[ev].k[i] && n > 0 && (size_t)n < sizeof(line); i++) {
        int hex = names[ev].k[i][0] == 'v'; /* vectors in hex */
        n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, hex ? " %s=0x%02x" : " %s=%u",
                          names[ev].k[i], val[i]);
    }
    log_info("irq", "%s", line);
}

static void vuart_irq(void *ctx, int level)
{
    struct vm *vm = ctx;
    irq_set(&vm->irq, vm->uart_source, 4, level);
}

void vm_irq_init(struct vm *vm, uint64_t ioapic_base)
{
    vm->irq_host = (struct irq_host){
        .ctx = vm, .now = host_now, .kick = host_kick, .deliver = host_deliver, .trace = host_trace,
    };
    irq_chipset_init(&vm->irq, &vm->irq_host, vm->tsc_hz, ioapic_base);
    vm->uart_source = irq_source_alloc(&vm->irq);
    vm->com1.irq = vuart_irq;
}

/* ---- injection ---- */

static int highest_irr(const struct vcpu_intr *in)
{
    for (int w = 3; w >= 0; w--)
        if (in->irr[w])
            return w * 64 + 63 - __builtin_clzll(in->irr[w]);
    return -1;
}

int vm_intr_pending(const struct vm *vm)
{
    const struct vcpu_intr *in = &vm->vcpu.intr;
    /* With the LAPIC disabled, the vPIC's INTR is the CPU's INTR pin (LINT0). */
    return highest_irr(in) >= 0 || in->extint || vpic_has_interrupt(&vm->irq.pic);
}

uint64_t vm_update_timers(struct vm *vm)
{
    return vpit_update(&vm->irq.pit);
}

static int guest_interruptible(void)
{
    return (vmread(GUEST_RFLAGS) & RFLAGS_IF) &&
           !(vmread(GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_STI_MOVSS);
}

static void inject_external(struct vm *vm)
{
    struct vcpu_intr *in = &vm->vcpu.intr;
    int vector = highest_irr(in);
    if (vector >= 0) {
        in->irr[vector / 64] &= ~(1ull << (vector % 64));
    } else {
        /* ExtINT (through IOAPIC pin 0 or LINT0): the INTA cycle. */
        in->extint = 0;
        vector = vpic_acknowledge(&vm->irq.pic);
        irq_pic_output_changed(&vm->irq);
    }
    vmwrite(ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | (uint32_t)vector);
    irq_host_trace(&vm->irq_host, TRACE_INJECT, (uint32_t)vector, INTR_TYPE_EXTERNAL >> 8, 0);
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
    vm->vcpu.intr.nmi = 0;
    vmwrite(ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | 2);
    irq_host_trace(&vm->irq_host, TRACE_INJECT, 2, INTR_TYPE_NMI >> 8, 0);
    return 1;
}

/* The next virtual deadline interrupts the guest through the VMX-preemption
 * timer (an exit, no interrupt), or else through the physical LAPIC timer
 * (an external-interrupt exit). */
static void arm_host_timer(struct vm *vm, uint64_t deadline)
{
    /* Virtual timers fire at most every 50 us of guest time: a guest that
     * programs the PIT to 1 MHz gets coalesced ticks, not an exit storm
     * that leaves it no time to run. */
    uint64_t now = rdtsc(), min_gap = vm->tsc_hz / 20000;
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

void vm_prepare_entry(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    uint64_t deadline = vm_update_timers(vm);
    int window = 0, nmi_window = 0;

    if (v->pending_event) {
        /* An exception or re-delivered event goes first; an interrupt
         * behind it waits for the window after it. */
        uint32_t e = v->pending_event, type = e & INTR_TYPE_MASK;
        vmwrite(ENTRY_INTR_INFO, e);
        if (e & INTR_INFO_HAS_ERROR)
            vmwrite(ENTRY_EXCEPTION_ERROR, v->pending_error);
        if (type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_SW_EXCEPTION ||
            type == INTR_TYPE_PRIV_SW_EXCEPTION)
            vmwrite(ENTRY_INSTR_LEN, v->pending_instr_len);
        v->pending_event = 0;
        window = vm_intr_pending(vm);
        nmi_window = v->intr.nmi;
    } else if (v->intr.nmi) {
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
