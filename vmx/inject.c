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

static void lapic_init_sipi(void *ctx, int sipi, uint8_t vector)
{
    (void)ctx;
    log_warn("irq", "guest sent itself %s (vector 0x%02x): one vCPU, ignored", sipi ? "a SIPI" : "INIT",
             vector);
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
    const struct vlapic_ops ops = {
        .eoi_broadcast = lapic_eoi_broadcast, .extint_pending = lapic_extint_pending,
        .extint_ack = lapic_extint_ack, .init_sipi = lapic_init_sipi, .ctx = vm,
    };
    /* The timer's input clock runs at the TSC rate (CPUID 0x15/0x16 and
     * 0x40000010 say so), and the LAPIC starts as a PC BIOS leaves it. */
    vlapic_init(&vm->vcpu.lapic, 0, vm->tsc_hz, vm->tsc_hz, &vm->irq_host, &ops);
    vlapic_bios_virtual_wire(&vm->vcpu.lapic);
    vm->uart_source = irq_source_alloc(&vm->irq);
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

uint64_t vm_update_timers(struct vm *vm)
{
    uint64_t a = vpit_update(&vm->irq.pit), b = vlapic_update_timer(&vm->vcpu.lapic);
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
