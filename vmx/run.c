/* The run loop of one vCPU: event injection before each entry, the entry
 * itself, failure diagnostics in words, and per-exit-reason statistics. */
#include "../arch/x86/cpu.h"
#include "../arch/x86/fmt.h"
#include "../drivers/log.h"
#include "exit.h"
#include "exit_names.h"
#include "inject.h"
#include "vmcs.h"
#include "vmx.h"

/* An exit that interrupted the delivery of an event (an EPT violation while
 * the CPU pushed an exception frame, say) must deliver that event again. */
static void requeue_idt_vectoring(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    uint32_t info = (uint32_t)vmread(IDT_VECTORING_INFO);
    if (!(info & INTR_INFO_VALID))
        return;
    vm->reinjected++;
    v->pending = event_from_idt_vectoring(info, (uint32_t)vmread(IDT_VECTORING_ERROR),
                                          (uint32_t)vmread(EXIT_INSTR_LEN));
    v->requests |= REQ_EVENT;
}

/* The entry work an exit may leave (vm.h's requests), beyond what the
 * models ask for themselves through the kick: by default all of it (a
 * handler may have touched the LAPIC, a timer or the controls); less for
 * the frequent exits whose handlers provably touch less. A CPUID exit
 * changes guest registers only, and so does a hypercall (the one that
 * sends an IPI does it through the vLAPIC, which kicks); a timer's exit,
 * its deadline; a window's or an EOI's, what the guest can take. */
static const uint8_t exit_spares[EXIT_REASON_MAX] = {
    [EXIT_CPUID] = REQ_ALL,
    [EXIT_VMCALL] = REQ_ALL, /* a hypercall that sends an IPI kicks through the model */
    [EXIT_IO] = REQ_APICV,   /* no port reaches the LAPIC's registers */
    [EXIT_PREEMPTION_TIMER] = REQ_ALL & ~REQ_TIMERS,
    [EXIT_EXTERNAL_INTERRUPT] = REQ_ALL & ~REQ_TIMERS,
    [EXIT_INTERRUPT_WINDOW] = REQ_ALL & ~REQ_EVENT,
    [EXIT_NMI_WINDOW] = REQ_ALL & ~REQ_EVENT,
    [EXIT_VIRTUALIZED_EOI] = REQ_ALL & ~REQ_EVENT,
};

/* Re-checks the controls against the capability MSRs and a few guest-state
 * rules, so that a failed entry names the likely culprit. */
static void explain_entry_failure(const struct vm *vm)
{
    const struct vmx_caps *c = vm->caps;
    char why[160];
    int found = 0;
    struct {
        const char *what;
        uint64_t cap;
        enum vmcs_field f;
    } ctl[] = {
        { "pin-based", vmx_cap_pin(c), PIN_CONTROLS },
        { "processor-based", vmx_cap_proc(c), PROC_CONTROLS },
        { "secondary processor-based", c->proc2, PROC2_CONTROLS },
        { "VM-exit", vmx_cap_exit(c), EXIT_CONTROLS },
        { "VM-entry", vmx_cap_entry(c), ENTRY_CONTROLS },
    };
    for (unsigned i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
        if (vmx_check_controls(ctl[i].what, ctl[i].cap, (uint32_t)vmread(ctl[i].f), why, sizeof(why))) {
            log_error("vmx", "  check failed: %s", why);
            found = 1;
        }
    }
    uint64_t cr0 = vmread(GUEST_CR0), cr4 = vmread(GUEST_CR4);
    if (vmx_fix_cr0(c, cr0, 1) != cr0) {
        log_error("vmx", "  check failed: guest CR0 0x%llx violates IA32_VMX_CR0_FIXED0/1",
                  (unsigned long long)cr0);
        found = 1;
    }
    if (vmx_fix_cr4(c, cr4) != cr4) {
        log_error("vmx", "  check failed: guest CR4 0x%llx violates IA32_VMX_CR4_FIXED0/1",
                  (unsigned long long)cr4);
        found = 1;
    }
    if ((vmread(GUEST_RFLAGS) & 0xffc08028ull) || !(vmread(GUEST_RFLAGS) & 2)) {
        log_error("vmx", "  check failed: guest RFLAGS 0x%llx has reserved bits wrong",
                  (unsigned long long)vmread(GUEST_RFLAGS));
        found = 1;
    }
    uint32_t tr_type = (uint32_t)vmread(GUEST_TR_AR) & 0xf;
    if (tr_type != 3 && tr_type != 11) {
        log_error("vmx", "  check failed: guest TR type %u is not a busy TSS", tr_type);
        found = 1;
    }
    if (!found)
        log_error("vmx", "  no check of ours failed; the emulator's log may name it "
                         "(Bochs: lines starting 'VMFAIL' or 'VMENTER FAIL')");
}

static void report_vmfail(struct vm *vm, int rc)
{
    if (rc == VMX_FAIL_INVALID) {
        log_error("vmx", "VM entry failed: VMfailInvalid (no current VMCS)");
        vm_stop(vm, "VM entry failed: VMfailInvalid");
        return;
    }
    uint32_t err = (uint32_t)vmread(VM_INSTRUCTION_ERROR);
    log_error("vmx", "VM entry failed: VM-instruction error %u: %s", err, vm_instruction_error_name(err));
    explain_entry_failure(vm);
    vm_stop(vm, "VM entry failed: VM-instruction error %u (%s)", err, vm_instruction_error_name(err));
}

static void report_entry_failure_exit(struct vm *vm, uint32_t reason)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    uint32_t basic = reason & 0xffff;
    log_error("vmx", "VM entry failed: exit reason %u (%s), qualification %llu: %s", basic,
              exit_reason_name(basic), (unsigned long long)q,
              basic == EXIT_MSR_LOADING ? "index of the failing MSR-load entry"
                                        : entry_failure_qualification_name(q));
    explain_entry_failure(vm);
    vm_dump_guest(vm);
    vm_stop(vm, "VM entry failed: %s", exit_reason_name(basic));
}

void vm_run(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    struct exit_stat *last = 0; /* the previous exit's, charged up to this entry */

    vm->state = VM_RUNNING;
    v->requests = REQ_ALL;
    while (vm->state == VM_RUNNING) {
        vm_prepare_entry(vm);
        uint64_t t_entry = rdtsc();
        if (last)
            last->ticks += t_entry - v->exit_tsc;
        v->entry_tsc = t_entry;
        int rc = vmx_enter(&v->regs, v->launched);
        if (!v->exit_done) {
            v->exit_tsc = rdtsc();
            v->guest_time += v->exit_tsc - v->entry_tsc; /* since the last entry, fast or not */
        }
        last = 0;
        if (rc) {
            report_vmfail(vm, rc);
            break;
        }
        v->launched = 1;
        uint32_t reason = (uint32_t)vmread(EXIT_REASON);
        if (reason & (1u << 31)) {
            report_entry_failure_exit(vm, reason);
            break;
        }
        reason &= 0xffff;
        last = &vm->stats[reason < EXIT_REASON_MAX ? reason : EXIT_REASON_MAX];
        if (v->exit_done) { /* handled and counted by vm_exit_fast */
            v->exit_done = 0;
            continue;
        }
        /* A task switch through a task gate is the event's delivery:
         * vm_task_switch completes it, so it is not delivered again. */
        if (reason != EXIT_TASK_SWITCH)
            requeue_idt_vectoring(vm);
        VM_BUG_ON(vm, vm->selftest_vm_bug); /* hv_selftest = vm_bug, on purpose */
        vm_handle_exit(vm, reason);
        v->requests |= REQ_ALL & ~(reason < EXIT_REASON_MAX ? exit_spares[reason] : 0u);
        last->count++;
    }
    if (last)
        last->ticks += rdtsc() - v->exit_tsc;
}

void vm_print_stats(const struct vm *vm)
{
    uint64_t total = 0;
    unsigned done[EXIT_REASON_MAX + 1] = { 0 };

    log_info("hv", "exit statistics (TSC ticks spent in the hypervisor per exit reason):");
    log_info("hv", "  %-32s %10s %14s %10s", "reason", "count", "ticks", "ticks/exit");
    for (;;) { /* by count, largest first */
        int best = -1;
        for (unsigned r = 0; r <= EXIT_REASON_MAX; r++)
            if (!done[r] && vm->stats[r].count && (best < 0 || vm->stats[r].count > vm->stats[best].count))
                best = (int)r;
        if (best < 0)
            break;
        done[best] = 1;
        const struct exit_stat *s = &vm->stats[best];
        total += s->count;
        log_info("hv", "  %-32s %10llu %14llu %10llu",
                 best == EXIT_REASON_MAX ? "(other)" : exit_reason_name((uint32_t)best),
                 (unsigned long long)s->count, (unsigned long long)s->ticks,
                 (unsigned long long)(s->ticks / s->count));
    }
    log_info("hv", "  %-32s %10llu", "total", (unsigned long long)total);
    guest_events_print_stats(vm);
}

void vm_print_stats_lines(const struct vm *vm, unsigned label)
{
    for (unsigned r = 0; r <= EXIT_REASON_MAX; r++)
        if (vm->stats[r].count)
            log_info("hv", "stats %u %u %llu %llu %s", label, r, (unsigned long long)vm->stats[r].count,
                     (unsigned long long)vm->stats[r].ticks,
                     r == EXIT_REASON_MAX ? "(other)" : exit_reason_name(r));
    log_info("hv", "stats %u end", label);
}
