/* The VM-exit handlers. Every exit reason we do not handle stops the VM with
 * its name, the guest's RIP and registers: nothing is silently ignored. */
#include "exit.h"

#include <stdarg.h>
#include <string.h>

#include "../arch/x86/cpu.h"
#include "../arch/x86/fmt.h"
#include "../arch/x86/lapic.h"
#include "../boot/platform.h"
#include "../drivers/log.h"
#include "ept.h"
#include "exit_names.h"
#include "devices.h"
#include "inject.h"
#include "mmio.h"
#include "pcdev.h"
#include "pcibus.h"
#include "task_switch.h"
#include "vcpu_mem.h"
#include "cpuid.h"
#include "vmsr.h"
#include "vmcs.h"

void vm_stop(struct vm *vm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
    va_end(ap);
    vm->state = VM_STOPPED;
}

__attribute__((cold, noinline)) void vm_bug(struct vm *vm, const char *cond, const char *file, int line)
{
    log_error("vmx", "hypervisor bug: VM_BUG_ON(%s) at %s:%d", cond, file, line);
    vm_dump_guest(vm);
    vm_stop(vm, "hypervisor bug: %s (%s:%d)", cond, file, line);
}

void vm_dump_guest(const struct vm *vm)
{
    const uint64_t *r = vm->vcpu.regs.gpr;
    log_error("vmx", "  guest RIP=%016llx RSP=%016llx RFLAGS=%016llx", (unsigned long long)vmread(GUEST_RIP),
              (unsigned long long)vmread(GUEST_RSP), (unsigned long long)vmread(GUEST_RFLAGS));
    log_error("vmx", "  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx", (unsigned long long)r[RAX],
              (unsigned long long)r[RBX], (unsigned long long)r[RCX], (unsigned long long)r[RDX]);
    log_error("vmx", "  RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx", (unsigned long long)r[RSI],
              (unsigned long long)r[RDI], (unsigned long long)r[RBP], (unsigned long long)r[R8]);
    log_error("vmx", "  R9 =%016llx R10=%016llx R11=%016llx R12=%016llx", (unsigned long long)r[R9],
              (unsigned long long)r[R10], (unsigned long long)r[R11], (unsigned long long)r[R12]);
    log_error("vmx", "  R13=%016llx R14=%016llx R15=%016llx", (unsigned long long)r[R13],
              (unsigned long long)r[R14], (unsigned long long)r[R15]);
    log_error("vmx", "  CR0=%llx (shadow %llx) CR3=%llx CR4=%llx (shadow %llx) EFER=%llx",
              (unsigned long long)vmread(GUEST_CR0), (unsigned long long)vmread(CR0_READ_SHADOW),
              (unsigned long long)vmread(GUEST_CR3), (unsigned long long)vmread(GUEST_CR4),
              (unsigned long long)vmread(CR4_READ_SHADOW), (unsigned long long)vmread(GUEST_EFER));
    log_error("vmx", "  CS=%04llx base %llx AR %llx; exit qualification %llx, instruction length %llu",
              (unsigned long long)vmread(GUEST_CS_SEL), (unsigned long long)vmread(GUEST_CS_BASE),
              (unsigned long long)vmread(GUEST_CS_AR), (unsigned long long)vmread(EXIT_QUALIFICATION),
              (unsigned long long)vmread(EXIT_INSTR_LEN));
}

static void skip_instruction(struct vcpu *v)
{
    (void)v;
    vcpu_instruction_done(vmread(GUEST_RIP) + vmread(EXIT_INSTR_LEN));
}

static int guest_long_mode(void) { return (vmread(GUEST_EFER) & EFER_LMA) != 0; }

/* ---- CPUID ---- */

/* The guest's answer for one leaf: the host's, through cpuid.c. */
static struct cpuid_out guest_cpuid(struct vm *vm, uint32_t leaf, uint32_t sub)
{
    struct cpuid_regs host;
    cpuid(leaf, sub, &host);
    struct cpuid_out r = { host.eax, host.ebx, host.ecx, host.edx };
    if (leaf == 1) { /* the bits that follow the guest's state */
        vm->cpuid.apic_enabled = (vm->vcpu.lapic.apic_base & APIC_BASE_EN) != 0;
        vm->cpuid.osxsave = (vcpu_cr4() & CR4_OSXSAVE) != 0;
    }
    vm->cpuid.lapic_timer_hz = vm->vcpu.lapic.timer_hz;
    cpuid_guest(&vm->cpuid, leaf, sub, &r);
    return r;
}

/* Inlined into the fast path below. A basic leaf that cpuid_guest
 * leaves as the host's (CPUID_HOST_LEAVES) goes straight through. */
static inline __attribute__((always_inline)) void emulate_cpuid(struct vm *vm)
{
    uint64_t *g = vm->vcpu.regs.gpr;
    uint32_t leaf = (uint32_t)g[RAX], sub = (uint32_t)g[RCX];
    struct cpuid_out r;
    if (cpuid_leaf_is_host(leaf)) {
        struct cpuid_regs h;
        cpuid(leaf, sub, &h);
        r = (struct cpuid_out){ h.eax, h.ebx, h.ecx, h.edx };
    } else {
        r = guest_cpuid(vm, leaf, sub);
    }
    g[RAX] = r.eax;
    g[RBX] = r.ebx;
    g[RCX] = r.ecx;
    g[RDX] = r.edx;
    vcpu_instruction_done(vmread(GUEST_RIP) + vmread(EXIT_INSTR_LEN));
}

void vm_handle_cpuid(struct vm *vm) { emulate_cpuid(vm); }

/* The fast path, called by the exit stub (vmx_entry.asm) for a CPUID
 * exit, the most frequent exit that needs nothing but its handler, before
 * the stub returns to vm_run. When the entry owes no work (no requests, no
 * deadline passed) it handles the exit here, counts it as vm_run would,
 * and the stub resumes the guest at once (1). Otherwise 0, and vm_run does
 * the whole round. A CPUID exit never interrupts an event's delivery (no
 * IDT-vectoring to requeue), and its handler changes guest registers only
 * (run.c's exit_spares). A deadline that passes while it runs leaves the
 * rest of the round to vm_run, the exit done (exit_done). */
int vm_exit_fast(struct guest_regs *regs)
{
    struct vm *vm = (struct vm *)(void *)regs; /* the first member of vcpu, vcpu of vm */
    struct vcpu *v = &vm->vcpu;
    if (v->requests | vm->selftest_vm_bug)
        return 0;
    uint64_t t_exit = rdtsc();
    v->exit_tsc = t_exit;
    v->guest_time += t_exit - v->entry_tsc;
    emulate_cpuid(vm);
    struct exit_stat *s = &vm->stats[EXIT_CPUID];
    s->count++;
    /* arm_host_timer's work, where there is any */
    if (v->timer_deadline || v->preemption_ticks != 0xffffffffu || !(vm->ctl.pin & PIN_PREEMPTION_TIMER)) {
        if (vm_deadline_due(vm)) {
            v->exit_done = 1;
            return 0;
        }
        vm_arm_host_timer(vm);
    }
    uint64_t t_entry = rdtsc();
    s->ticks += t_entry - t_exit;
    v->entry_tsc = t_entry;
    return 1;
}

/* The guest's CPUID answer for one leaf, outside a CPUID exit. */
static struct cpuid_out guest_cpuid_leaf(const struct vm *vm, uint32_t leaf)
{
    struct cpuid_regs h;
    cpuid(leaf, 0, &h);
    struct cpuid_out r = { h.eax, h.ebx, h.ecx, h.edx };
    cpuid_guest(&vm->cpuid, leaf, 0, &r);
    return r;
}

uint64_t vm_guest_cr4_allowed(struct vm *vm)
{
    /* before the VMCS exists: the guest-state bits of leaf 1 do not matter here */
    struct cpuid_out l1 = guest_cpuid_leaf(vm, 1), l7 = guest_cpuid_leaf(vm, 7);
    return cpuid_cr4_allowed(&l1, &l7) & vm->caps->cr4_fixed1 & ~(uint64_t)CR4_VMXE;
}

uint64_t vm_guest_efer_allowed(struct vm *vm)
{
    struct cpuid_out ext1 = guest_cpuid_leaf(vm, 0x80000001u);
    return cpuid_efer_allowed(&ext1);
}

/* XSETBV (always exits): the guest's XCR0, checked as the CPU checks it
 * against what the host supports (CPUID.(0xD,0)), then loaded. The
 * hypervisor itself uses no extended state, so XCR0 is the guest's. */
static void handle_xsetbv(struct vm *vm)
{
    uint64_t *g = vm->vcpu.regs.gpr;
    uint64_t val = (g[RDX] & 0xffffffffull) << 32 | (g[RAX] & 0xffffffffull);
    struct cpuid_regs d;
    cpuid(0xd, 0, &d);
    uint64_t supported = (uint64_t)d.edx << 32 | d.eax;
    const uint64_t x87 = 1, sse = 2, avx = 4, bndregs = 8, bndcsr = 16, avx512 = 0xe0;
    int bad = (uint32_t)g[RCX] != 0 || (val & ~supported) || !(val & x87) || ((val & avx) && !(val & sse)) ||
              (!(val & bndregs) != !(val & bndcsr)) ||
              ((val & avx512) && ((val & avx512) != avx512 || !(val & avx))) || !(vcpu_cr4() & CR4_OSXSAVE) ||
              (vmread(GUEST_SS_AR) & 0x60);
    if (bad) {
        vcpu_queue_exception(&vm->vcpu, (vcpu_cr4() & CR4_OSXSAVE) ? GP_VECTOR : UD_VECTOR,
                             (vcpu_cr4() & CR4_OSXSAVE) != 0, 0);
        return;
    }
    /* XSETBV is #UD without CR4.OSXSAVE in the CPU that runs it, and the
     * host's CR4 (HOST_CR4, loaded at every exit) has it clear: set it
     * for this one instruction. XCR0 keeps the value into the guest. */
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 | CR4_OSXSAVE);
    __asm__ volatile("xsetbv" ::"a"((uint32_t)val), "d"((uint32_t)(val >> 32)), "c"(0));
    write_cr4(cr4);
    skip_instruction(&vm->vcpu);
}

/* ---- I/O ports ---- */

static void io_unclaimed(struct vm *vm, uint16_t port, int in, unsigned size)
{
    guest_event(vm, GUEST_UNCLAIMED_PORT, "vmx", "guest %s port 0x%04x (%u byte%s) is not emulated: %s",
                in ? "read from" : "write to", port, size, size > 1 ? "s" : "",
                in ? "reads return all ones" : "writes are dropped");
}

/* The devices behind the guest's ports. Each handler takes one access of
 * size bytes: *v is what an OUT writes, or receives what an IN reads (it
 * comes in as all ones); it returns 0, or -1 if the device does not take
 * that access (then it counts as unclaimed). */
typedef int (*port_fn)(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v);

static int io_com1(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    (void)size;
    if (in) {
        *v = vuart_read(&vm->com1, port - 0x3F8u);
        if (port == 0x3F8)
            vm_poll_devices(vm); /* a byte read: room for what the machine's UART held back */
    } else
        vuart_write(&vm->com1, port - 0x3F8u, (uint8_t)*v);
    return 0;
}

static int io_pic(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    uint8_t b = (uint8_t)*v;
    if (in) {
        vpic_port_read(&vm->irq.pic, port, &b);
        *v = size == 1 ? b : (*v & ~0xffu) | b;
    } else {
        vpic_port_write(&vm->irq.pic, port, b);
    }
    irq_pic_output_changed(&vm->irq); /* OCW and poll reads change INTR */
    return 0;
}

static int io_pit(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    uint8_t b = (uint8_t)*v;
    if (in) {
        vpit_port_read(&vm->irq.pit, port, &b);
        *v = size == 1 ? b : (*v & ~0xffu) | b;
    } else {
        vpit_port_write(&vm->irq.pit, port, b);
    }
    return 0;
}

static int io_fwcfg(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    if (port == FWCFG_PORT_SELECTOR && size == 2) {
        if (!in)
            fwcfg_select(&vm->fwcfg, (uint16_t)*v);
        return 0;
    }
    if (port == FWCFG_PORT_DATA && size == 1) {
        if (in)
            *v = fwcfg_read(&vm->fwcfg);
        return 0;
    }
    return -1;
}

/* pc-testdev: a write drives one interrupt line from the testdev's own
 * source, as a device would; reads give 0. */
static int io_testdev_irq(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    (void)size;
    if (!in)
        irq_set(&vm->irq, vm->testdev_source, port - TESTDEV_IRQ_PORT, *v != 0);
    else
        *v = 0;
    return 0;
}

/* pc-testdev's I/O test register: reads return what was written, at any
 * width and offset. */
static int io_testdev_scratch(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    uint32_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
    unsigned shift = 8 * (port - TESTDEV_SCRATCH_PORT);
    uint64_t field = (uint64_t)mask << shift;
    if (in)
        *v = (uint32_t)((vm->testdev_scratch & field) >> shift);
    else
        vm->testdev_scratch = (uint32_t)((vm->testdev_scratch & ~field) | (((uint64_t)*v << shift) & field));
    return 0;
}

static int io_debug_exit(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    (void)port;
    (void)size;
    if (in)
        return -1;
    vuart_flush(&vm->com1);
    vm->exit_status = *v;
    vm->state = VM_EXITED;
    return 0;
}

static const struct {
    uint16_t first, last;
    port_fn fn;
} port_devices[] = {
    { 0x3F8, 0x3FF, io_com1 },
    { 0x20, 0x21, io_pic },
    { 0xA0, 0xA1, io_pic },
    { 0x4D0, 0x4D1, io_pic },
    { 0x40, 0x43, io_pit },
    { 0x61, 0x61, io_pit },
    { FWCFG_PORT_SELECTOR, FWCFG_PORT_DATA, io_fwcfg },
    { TESTDEV_IRQ_PORT, TESTDEV_IRQ_PORT + IRQ_NR_GSI - 1, io_testdev_irq },
    { TESTDEV_SCRATCH_PORT, TESTDEV_SCRATCH_PORT + 3, io_testdev_scratch },
    { DEBUG_EXIT_PORT, DEBUG_EXIT_PORT, io_debug_exit },
    { PLATFORM_RTC_PORT, PLATFORM_RTC_PORT + 1, vm_io_rtc },
    { PLATFORM_PM_BASE, PLATFORM_PM_BASE + VPM_BLOCK_LEN - 1, vm_io_pm },
    { PLATFORM_KBC_DATA, PLATFORM_KBC_DATA, vm_io_pcports },
    { PLATFORM_KBC_STATUS, PLATFORM_KBC_STATUS, vm_io_pcports },
    { PCPORTS_POST_PORT, PCPORTS_POST_PORT, vm_io_pcports },
    { PLATFORM_PCI_CONFIG_ADDR, PLATFORM_PCI_CONFIG_DATA + 3, vm_io_pci },
};

/* One port access of size bytes: *val is what an OUT writes, and receives
 * what an IN reads (all ones from a port nobody claims). */
static void port_access(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val)
{
    uint32_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
    uint32_t v = in ? mask : *val & mask;
    unsigned i, n = sizeof(port_devices) / sizeof(port_devices[0]);

    for (i = 0; i < n; i++)
        if (port >= port_devices[i].first && port <= port_devices[i].last)
            break;
    if (i == n || port_devices[i].fn(vm, port, in, size, &v)) {
        v = in ? mask : v;
        io_unclaimed(vm, port, in, size);
    }
    if (in)
        *val = v & mask;
}

/* Writes a count or index register as an instruction of address size asz
 * bytes does: 2 merges into the low word, 4 zero-extends, 8 replaces. */
static uint64_t addr_reg_update(uint64_t old, uint64_t v, unsigned asz)
{
    if (asz == 2)
        return (old & ~0xffffull) | (v & 0xffff);
    return asz == 4 ? v & 0xffffffffull : v;
}

/* The most elements one exit moves: a long REP INS/OUTS resumes the guest
 * (and lets interrupts in) between chunks, as the CPU may. */
#define STRING_IO_CHUNK 1024u

/* INS/OUTS, with or without REP, through the guest's segments and paging.
 * Each element is one port access and one memory access; RCX, RSI/RDI
 * advance per element, so a fault part-way leaves them as the CPU would
 * and the instruction restarts from there after the guest handles it. */
static void handle_string_io(struct vm *vm, uint64_t q, uint16_t port, int in, unsigned size)
{
    if (!(vm->caps->basic & (1ull << 54))) {
        vm_stop(vm,
                "string I/O on port 0x%04x: this CPU gives no INS/OUTS exit information "
                "(IA32_VMX_BASIC bit 54)",
                port);
        return;
    }
    uint64_t *g = vm->vcpu.regs.gpr;
    uint32_t info = (uint32_t)vmread(EXIT_INSTR_INFO);
    unsigned asz = 2u << ((info >> 7) & 7); /* 0: 16-bit, 1: 32-bit, 2: 64-bit */
    enum gmem_segreg segreg = in ? SEG_ES : (enum gmem_segreg)((info >> 15) & 7);
    int rep = (q >> 5) & 1;
    int idx = in ? RDI : RSI;
    uint64_t amask = asz == 8 ? ~0ull : (1ull << (8 * asz)) - 1;
    uint64_t count = rep ? g[RCX] & amask : 1;
    int64_t step = (vmread(GUEST_RFLAGS) & RFLAGS_DF) ? -(int64_t)size : (int64_t)size;
    struct gmem_view view;
    struct gmem_seg seg;
    vcpu_mem_view(vm, &view);
    int long64 = vcpu_long64(&view);
    vcpu_mem_seg(segreg, &seg);

    for (unsigned n = 0; count && n < STRING_IO_CHUNK && vm->state == VM_RUNNING; n++) {
        struct gmem_fault f;
        uint64_t linear;
        uint32_t val = 0;
        int rc = gmem_seg_linear(segreg, &seg, long64, asz, g[idx] & amask, size, in ? GMEM_WRITE : 0,
                                 &linear, &f);
        if (rc == GMEM_OK) {
            if (in) {
                /* The port is read only once the element's first byte
                 * translates; an element that runs into a faulting page
                 * loses its input, as on hardware (the CPU reads the port,
                 * then faults on the store). */
                rc = gmem_translate(&view, linear, GMEM_WRITE, &(uint64_t){ 0 }, &f);
                if (rc == GMEM_OK) {
                    port_access(vm, port, 1, size, &val);
                    rc = gmem_write(&view, linear, &val, size, &f);
                }
            } else {
                rc = gmem_read(&view, linear, &val, size, 0, &f);
                if (rc == GMEM_OK)
                    port_access(vm, port, 0, size, &val);
            }
        }
        if (rc == GMEM_FAULT) {
            vcpu_inject_fault(vm, &f);
            return;
        }
        if (rc == GMEM_NOT_RAM) {
            vm_stop(vm,
                    "%s on port 0x%04x: memory operand at guest-physical 0x%llx is not guest "
                    "RAM (string I/O to MMIO is not emulated)",
                    in ? "INS" : "OUTS", port, (unsigned long long)f.gpa);
            vm_dump_guest(vm);
            return;
        }
        g[idx] = addr_reg_update(g[idx], g[idx] + (uint64_t)step, asz);
        count--;
        if (rep)
            g[RCX] = addr_reg_update(g[RCX], count, asz);
    }
    if (!count)
        skip_instruction(&vm->vcpu);
}

static void handle_io(struct vm *vm)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    unsigned size = (unsigned)(q & 7) + 1;
    int in = (q >> 3) & 1, string = (q >> 4) & 1;
    uint16_t port = (uint16_t)(q >> 16);
    uint64_t *rax = &vm->vcpu.regs.gpr[RAX];
    uint32_t val = (uint32_t)*rax;

    if (string) {
        handle_string_io(vm, q, port, in, size);
        return;
    }
    port_access(vm, port, in, size, &val);
    if (in) {
        uint32_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
        if (size == 4)
            *rax = val; /* a 32-bit write zero-extends */
        else
            *rax = (*rax & ~(uint64_t)mask) | (val & mask);
    }
    skip_instruction(&vm->vcpu);
}

/* ---- MSRs ---- */

static int is_lapic_msr(uint32_t msr)
{
    return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE || (msr >= 0x800 && msr <= 0x8FF);
}

/* A linear address the CPU would accept in a base MSR or VMCS field:
 * canonical for the CPU's linear-address width. */
static int canonical(const struct vm *vm, uint64_t a)
{
    unsigned bits = vm->linear_bits;
    int64_t s = (int64_t)(a << (64 - bits)) >> (64 - bits);
    return (uint64_t)s == a;
}

/* An MSR kept in a VMCS field that VM entry checks for canonical form
 * (SYSENTER_ESP/EIP, FS/GS base): refused (#GP) where entry would fail. */
static int write_canonical(const struct vm *vm, enum vmcs_field field, uint64_t val)
{
    if (!canonical(vm, val))
        return -1;
    vmwrite(field, val);
    return 0;
}

/* The guest's TSC is the host's plus the VMCS TSC offset. */
static uint64_t guest_tsc(const struct vm *vm) { return rdtsc() + vm->vcpu.tsc_offset; }

/* Moves the guest's TSC by delta: TSC writes and IA32_TSC_ADJUST writes
 * both do (SDM 18.17.3: each also moves the other's view). */
static int tsc_shift(struct vm *vm, uint64_t delta)
{
    if (!(vm->ctl.proc & PROC_TSC_OFFSET)) {
        guest_event(vm, GUEST_TSC_WRITE_REFUSED, "vmx",
                    "guest TSC write refused: this CPU has no TSC offsetting");
        return -1;
    }
    vm->vcpu.tsc_offset += delta;
    vmwrite(TSC_OFFSET, vm->vcpu.tsc_offset);
    irq_host_trace(&vm->irq_host, TRACE_TSC_OFFSET, (uint32_t)delta, (uint32_t)(delta >> 32), 0);
    return 0;
}

/* The syscall MSRs are not switched by VMX: the guest's values live in the
 * CPU itself (the hypervisor uses neither SYSCALL nor SWAPGS). */
static int is_syscall_msr(uint32_t msr)
{
    return (msr >= MSR_STAR && msr <= MSR_SFMASK) || msr == MSR_KERNEL_GS_BASE;
}

/* Returns 0 and the value, or -1 for "no such MSR" (#GP). */
static int msr_read(struct vm *vm, uint32_t msr, uint64_t *val)
{
    struct vcpu *v = &vm->vcpu;
    if (msr == MSR_IA32_TSC_DEADLINE) {
        /* the vLAPIC keeps deadlines in host TSC ticks */
        int rc = vlapic_msr_read(&v->lapic, msr, val);
        if (!rc && *val)
            *val += v->tsc_offset;
        return rc;
    }
    if (is_lapic_msr(msr))
        return vlapic_msr_read(&v->lapic, msr, val);
    if (is_syscall_msr(msr)) {
        *val = rdmsr(msr);
        return 0;
    }
    switch (msr) {
    case MSR_IA32_TSC: *val = guest_tsc(vm); return 0;
    case MSR_IA32_TSC_ADJUST: *val = v->tsc_adjust; return 0;
    case MSR_TSC_AUX:
        if (!(vm->ctl.proc2 & PROC2_RDTSCP))
            return -1;
        *val = rdmsr(MSR_TSC_AUX);
        return 0;
    case MSR_IA32_FEATURE_CONTROL: *val = FEATURE_CONTROL_LOCK; return 0; /* locked, VMX off */
    case 0x8B: *val = 0; return 0;                                        /* IA32_BIOS_SIGN_ID */
    case MSR_IA32_SYSENTER_CS: *val = vmread(GUEST_SYSENTER_CS); return 0;
    case MSR_IA32_SYSENTER_ESP: *val = vmread(GUEST_SYSENTER_ESP); return 0;
    case MSR_IA32_SYSENTER_EIP: *val = vmread(GUEST_SYSENTER_EIP); return 0;
    case MSR_IA32_EFER: *val = vmread(GUEST_EFER); return 0;
    case MSR_FS_BASE: *val = vmread(GUEST_FS_BASE); return 0;
    case MSR_GS_BASE: *val = vmread(GUEST_GS_BASE); return 0;
    default: return vmsr_read(&v->msrs, msr, val) == VMSR_OK ? 0 : -1;
    }
}

static int msr_write(struct vm *vm, uint32_t msr, uint64_t val)
{
    struct vcpu *v = &vm->vcpu;
    if (msr == MSR_IA32_TSC_DEADLINE && val)
        val -= v->tsc_offset; /* to host TSC ticks, the vLAPIC's clock */
    if (is_lapic_msr(msr))
        return vlapic_msr_write(&v->lapic, msr, val);
    if (is_syscall_msr(msr)) {
        if (msr != MSR_STAR && msr != MSR_SFMASK && !canonical(vm, val))
            return -1; /* LSTAR, CSTAR, KERNEL_GS_BASE hold addresses */
        if (msr == MSR_SFMASK && (val >> 32))
            return -1;
        wrmsr(msr, val);
        return 0;
    }
    switch (msr) {
    case MSR_IA32_TSC: {
        uint64_t delta = val - guest_tsc(vm);
        if (tsc_shift(vm, delta))
            return 0; /* no offsetting: the write is dropped (logged) */
        v->tsc_adjust += delta;
        return 0;
    }
    case MSR_IA32_TSC_ADJUST:
        if (tsc_shift(vm, val - v->tsc_adjust))
            return -1;
        v->tsc_adjust = val;
        return 0;
    case MSR_TSC_AUX:
        if (!(vm->ctl.proc2 & PROC2_RDTSCP) || (val >> 32))
            return -1;
        wrmsr(MSR_TSC_AUX, val);
        return 0;
    case 0x8B: return 0;
    case MSR_IA32_SYSENTER_CS: vmwrite(GUEST_SYSENTER_CS, val & 0xffffffffull); return 0;
    case MSR_IA32_SYSENTER_ESP: return write_canonical(vm, GUEST_SYSENTER_ESP, val);
    case MSR_IA32_SYSENTER_EIP: return write_canonical(vm, GUEST_SYSENTER_EIP, val);
    case MSR_IA32_EFER: {
        /* As WRMSR checks it: bits of features CPUID hides are reserved
         * (#GP); LMA is the CPU's (the written value is ignored); LME may
         * not change while paging is on. */
        uint64_t old = vmread(GUEST_EFER);
        if ((val & ~vm->efer_allowed) || (((val ^ old) & EFER_LME) && (vmread(GUEST_CR0) & CR0_PG)))
            return -1;
        vmwrite(GUEST_EFER, (val & ~EFER_LMA) | (old & EFER_LMA));
        return 0;
    }
    case MSR_FS_BASE: return write_canonical(vm, GUEST_FS_BASE, val);
    case MSR_GS_BASE: return write_canonical(vm, GUEST_GS_BASE, val);
    default: return vmsr_write(&v->msrs, msr, val) == VMSR_OK ? 0 : -1;
    }
}

static void handle_msr(struct vm *vm, int write)
{
    uint64_t *g = vm->vcpu.regs.gpr;
    uint32_t msr = (uint32_t)g[RCX];
    uint64_t val = (g[RDX] & 0xffffffffull) << 32 | (g[RAX] & 0xffffffffull);
    int rc = write ? msr_write(vm, msr, val) : msr_read(vm, msr, &val);

    if (rc) {
        if (write)
            guest_event(vm, GUEST_UNKNOWN_MSR, "vmx",
                        "guest WRMSR 0x%x = 0x%llx: unknown MSR or "
                        "refused value; injecting #GP (RIP=0x%llx)",
                        msr, (unsigned long long)val, (unsigned long long)vmread(GUEST_RIP));
        else
            guest_event(vm, GUEST_UNKNOWN_MSR, "vmx",
                        "guest RDMSR 0x%x: unknown MSR; injecting #GP "
                        "(RIP=0x%llx)",
                        msr, (unsigned long long)vmread(GUEST_RIP));
        vcpu_queue_exception(&vm->vcpu, GP_VECTOR, 1, 0);
        return;
    }
    if (!write) {
        g[RAX] = val & 0xffffffffull;
        g[RDX] = val >> 32;
    }
    skip_instruction(&vm->vcpu);
}

static void handle_rdmsr(struct vm *vm) { handle_msr(vm, 0); }
static void handle_wrmsr(struct vm *vm) { handle_msr(vm, 1); }

/* ---- Control registers ---- */

static void guest_write_cr0(struct vm *vm, uint64_t val)
{
    const struct vmx_caps *c = vm->caps;
    /* What MOV to CR0 itself refuses with #GP: bits 63:32, PG without PE,
     * NW without CD. */
    if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD))) {
        vcpu_queue_exception(&vm->vcpu, GP_VECTOR, 1, 0);
        return;
    }
    uint64_t efer = vmread(GUEST_EFER);
    uint64_t old = vcpu_cr0(); /* PG is the guest's: the read shadow may hold an old one */
    /* Clearing PG is #GP in 64-bit code and while CR4.PCIDE = 1. */
    if ((old & ~val & CR0_PG) && (vcpu_code_size() == 64 || (vcpu_cr4() & CR4_PCIDE))) {
        vcpu_queue_exception(&vm->vcpu, GP_VECTOR, 1, 0);
        return;
    }
    if ((val ^ old) & CR0_PG) {
        uint32_t entry = (uint32_t)vmread(ENTRY_CONTROLS);
        if ((val & CR0_PG) && (efer & EFER_LME)) {
            if (!(vcpu_cr4() & CR4_PAE)) { /* PAE is the guest's bit: not in the shadow */
                vcpu_queue_exception(&vm->vcpu, GP_VECTOR, 1, 0);
                return;
            }
            efer |= EFER_LMA;
            entry |= ENTRY_IA32E_GUEST;
        } else if (!(val & CR0_PG)) {
            efer &= ~EFER_LMA;
            entry &= ~ENTRY_IA32E_GUEST;
        }
        /* PAE paging begins: its PDPTEs, checked as the CPU checks them */
        if (vcpu_load_pdptes(vm, val, vcpu_cr4(), efer))
            return;
        vmwrite(GUEST_EFER, efer);
        vmwrite(ENTRY_CONTROLS, entry);
    } else if (((val ^ old) & (CR0_CD | CR0_NW)) && vcpu_load_pdptes(vm, val, vcpu_cr4(), efer)) {
        return; /* the CPU reloads the PDPTEs when CD or NW changes too */
    }
    vmwrite(CR0_READ_SHADOW, val);
    vmwrite(GUEST_CR0, vmx_fix_cr0(c, val, 1));
    skip_instruction(&vm->vcpu);
}

static void guest_write_cr4(struct vm *vm, uint64_t val)
{
    const struct vmx_caps *c = vm->caps;
    uint64_t old = vcpu_cr4();
    int lma = (vmread(GUEST_EFER) & EFER_LMA) != 0;
    /* Reserved for this guest: bits the CPU cannot set, VMXE (no nested
     * VMX) and the bits of features CPUID hides (SMXE, PKE, CET, MCE, ...).
     * In IA-32e mode PAE must stay set and LA57 cannot change; PCIDE may
     * be set only in IA-32e mode with CR3[11:0] = 0 (SDM MOV to CR4). */
    if ((val & ~vm->cr4_allowed) || (lma && !(val & CR4_PAE)) || (lma && ((val ^ old) & CR4_LA57)) ||
        ((val & ~old & CR4_PCIDE) && (!lma || (vmread(GUEST_CR3) & 0xfff)))) {
        vcpu_queue_exception(&vm->vcpu, GP_VECTOR, 1, 0);
        return;
    }
    /* A change of PAE, PGE, PSE or SMEP reloads PAE paging's PDPTEs. */
    if (((val ^ old) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)) &&
        vcpu_load_pdptes(vm, vcpu_cr0(), val, vmread(GUEST_EFER)))
        return;
    vmwrite(CR4_READ_SHADOW, val);
    vmwrite(GUEST_CR4, vmx_fix_cr4(c, val));
    skip_instruction(&vm->vcpu);
}

static void handle_cr_access(struct vm *vm)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    uint64_t *g = vm->vcpu.regs.gpr;

    if (type == 0) { /* MOV to CR */
        uint64_t val = reg == 4 ? vmread(GUEST_RSP) : g[reg];
        if (!guest_long_mode())
            val &= 0xffffffffull;
        if (cr == 0)
            guest_write_cr0(vm, val);
        else if (cr == 4)
            guest_write_cr4(vm, val);
        else if (cr == 3) { /* only where a CPU forces CR3-load exiting */
            if (vcpu_load_cr3(vm, val))
                return; /* #GP: CR3 stays as it was */
            skip_instruction(&vm->vcpu);
        } else if (cr == 8) {
            /* CR8 is the vLAPIC's TPR[7:4]; it must never reach the real TPR. */
            if (val > 15) {
                vcpu_queue_exception(&vm->vcpu, GP_VECTOR, 1, 0);
                return;
            }
            vlapic_set_tpr(&vm->vcpu.lapic, (uint8_t)(val << 4));
            skip_instruction(&vm->vcpu);
        } else
            goto unsupported;
        return;
    }
    if (type == 1 && cr == 8) {
        uint64_t cr8 = vlapic_get_tpr(&vm->vcpu.lapic) >> 4;
        if (reg == RSP_UNUSED)
            vmwrite(GUEST_RSP, cr8);
        else
            g[reg] = cr8;
        skip_instruction(&vm->vcpu);
        return;
    }
    if (type == 1 && cr == 3) { /* MOV from CR3 (only when CR3-store exiting is forced) */
        if (reg == 4)
            vmwrite(GUEST_RSP, vmread(GUEST_CR3));
        else
            g[reg] = vmread(GUEST_CR3);
        skip_instruction(&vm->vcpu);
        return;
    }
unsupported:
    vm_stop(vm, "control-register access not emulated (CR%u, access type %u)", cr, type);
    vm_dump_guest(vm);
}

/* ---- Other exits ---- */

static void handle_vmcall(struct vm *vm)
{
    uint64_t *g = vm->vcpu.regs.gpr;
    if (hc_is_test_hook(g[RAX]) && !vm->test_hooks) {
        guest_event(vm, GUEST_UNKNOWN_HYPERCALL, "vmx", "test hypercall %llu refused: test_hooks = off",
                    (unsigned long long)g[RAX]);
        g[RAX] = HC_UNKNOWN_RESULT;
        skip_instruction(&vm->vcpu);
        return;
    }
    switch (g[RAX]) {
    case HC_VERSION: g[RAX] = TINYHV_VERSION; break;
    case HC_TEST_UNMAP: {
        uint64_t gpa = g[RBX] & 0xffffffffull & ~((2ull << 20) - 1);
        if (gpa >= vm->ram_size || vm->test_unmapped != ~0ull || ept_set_present(vm->eptp, gpa, 0)) {
            g[RAX] = HC_UNKNOWN_RESULT;
            break;
        }
        vm->test_unmapped = gpa;
        vm->test_unmapped_nmi = (uint32_t)g[RCX] == HC_TEST_UNMAP_NMI;
        g[RAX] = 0;
        break;
    }
    case HC_TEST_REINJECTED: g[RAX] = vm->reinjected; break;
    case HC_TEST_PHYS_INTR:
        g[RAX] = vm->test_physintr;
        if ((uint32_t)g[RBX])
            lapic_self_ipi(HOST_VECTOR_TEST); /* IF=0 here: it waits for the VM entry */
        break;
    case HC_STATS_RESET:
        for (unsigned r = 0; r <= EXIT_REASON_MAX; r++)
            vm->stats[r] = (struct exit_stat){ 0, 0 };
        g[RAX] = 0;
        /* this VMCALL itself is counted after the reset: scripts subtract it */
        break;
    case KVM_HC_SEND_IPI: {
        /* KVM's paravirtual IPI, which test kernels written for KVM call:
         * RBX:RCX a bitmap of APIC IDs from RDX on, RSI the ICR's low half.
         * Our one vCPU has APIC ID 0; the result is how many got it. */
        uint64_t min = g[RDX], icr = g[RSI] & 0xffffffffull, n = 0;
        if (min == 0 && (g[RBX] & 1)) {
            vlapic_accept(&vm->vcpu.lapic, (uint8_t)icr, (uint8_t)((icr >> 8) & 7), 0);
            n = 1;
        }
        g[RAX] = n;
        break;
    }
    case HC_IRQ_STAMP: {
        uint64_t exits = 0;
        for (unsigned r = 0; r <= EXIT_REASON_MAX; r++)
            exits += vm->stats[r].count;
        g[RAX] = (uint32_t)exits;
        g[RBX] = (uint32_t)vm->source_tsc;
        g[RCX] = vm->source_gsi;
        g[RDX] = vm->delivered;
        break;
    }
    case HC_TRACE_MARK:
        if (vm->trace == TRACE_RING) {
            irq_host_trace(&vm->irq_host, TRACE_GUEST_MARK, (uint32_t)(g[RBX] >> 8) & 0xff,
                           (uint32_t)g[RBX] & 0xff, (uint32_t)g[RCX]);
            g[RAX] = 0;
        } else {
            g[RAX] = 1;
        }
        break;
    case HC_STATS_PRINT:
        vm_print_stats_lines(vm, (unsigned)g[RBX]);
        g[RAX] = 0;
        break;
    default:
        guest_event(vm, GUEST_UNKNOWN_HYPERCALL, "vmx", "unknown hypercall %llu", (unsigned long long)g[RAX]);
        g[RAX] = HC_UNKNOWN_RESULT;
        break;
    }
    skip_instruction(&vm->vcpu);
}

/* HLT exiting is always on (Bochs 3.0 does not wake a halted guest from a
 * pending virtual interrupt, bug B; and we own the wait anyway). The vCPU
 * waits here until an interrupt is pending for it. */
static void handle_hlt(struct vm *vm)
{
    skip_instruction(&vm->vcpu);
    /* With IF=0 only an NMI wakes the CPU, and it can come from a virtual
     * timer (an LVT in NMI mode) or a device through the IOAPIC: wait for
     * one as long as anything could bring it. */
    int intr_wakes = (vmread(GUEST_RFLAGS) & RFLAGS_IF) != 0;
    /* Wait with the CPU halted: the LAPIC timer (at the next virtual
     * deadline) or COM1's interrupt wakes it; the host IDT just ends the
     * interrupt, the loop does the work. Without a LAPIC timer, spin.
     * Time halted is the guest's own (it counts towards the hold of a
     * timer that fired, vm_update_timers). */
    uint64_t since = rdtsc();
    while (!(intr_wakes && vm_intr_pending(vm)) && !vm_nmi_pending(vm)) {
        uint64_t now = rdtsc();
        vm->vcpu.guest_time += now - since;
        since = now;
        uint64_t deadline = vm_update_timers(vm);
        vm_poll_devices(vm);
        if ((intr_wakes && vm_intr_pending(vm)) || vm_nmi_pending(vm))
            break;
        if (!vm_timer_can_wake(vm) && !vm_can_receive(vm)) {
            vm_stop(vm, intr_wakes ? "guest halted with nothing that can wake it: no timer armed "
                                     "with its interrupt unmasked, no device that could interrupt"
                                   : "guest executed HLT with interrupts disabled and nothing that could "
                                     "bring an NMI: it can never wake up");
            return;
        }
        if (vm->lapic_timer_hz) {
            /* a vLAPIC deadline wakes the timer advance early (inject.c) */
            lapic_timer_arm(deadline - vm_deadline_early(&vm->vcpu, deadline));
            __asm__ volatile("sti; hlt; cli" ::: "memory");
        } else {
            pause();
        }
    }
    if (vm->ctl.pin & PIN_PREEMPTION_TIMER)
        lapic_timer_arm(0);
}

/* VMX instructions other than VMCALL (our hypercall): there is no nested
 * VMX, and CPUID hides it, so the guest gets what a CPU without VMX gives. */
static void handle_vmx_instruction(struct vm *vm)
{
    uint32_t reason = (uint32_t)vmread(EXIT_REASON) & 0xffff;
    guest_event(vm, GUEST_VMX_INSTRUCTION, "vmx",
                "guest executed %s: no nested VMX; injecting #UD "
                "(RIP=0x%llx)",
                exit_reason_name(reason), (unsigned long long)vmread(GUEST_RIP));
    vcpu_queue_exception(&vm->vcpu, UD_VECTOR, 0, 0);
}

static void handle_ept_violation(struct vm *vm)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    uint64_t gpa = vmread(GUEST_PHYSICAL_ADDRESS);
    /* An IRET that had unblocked NMIs faulted here and will run again:
     * NMIs stay blocked until it completes (SDM Vol. 3 §28.2.3). */
    if ((vm->ctl.pin & PIN_VIRTUAL_NMIS) && event_nmi_reblock((q & INTR_INFO_NMI_UNBLOCKED_BY_IRET) != 0,
                                                              (uint32_t)vmread(IDT_VECTORING_INFO), 0))
        vmwrite(GUEST_INTERRUPTIBILITY, vmread(GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
    if (vm->test_unmapped != ~0ull && gpa - vm->test_unmapped < (2ull << 20)) {
        ept_set_present(vm->eptp, vm->test_unmapped, 1); /* HC_TEST_UNMAP's page: map it back */
        vm->test_unmapped = ~0ull;
        if (vm->test_unmapped_nmi) /* an NMI arrives at this very exit */
            vm->vcpu.lapic.nmi_pending = 1;
        return;
    }
    if (mmio_handle(vm, gpa, q))
        return;
    /* The second page of an access that began in a device page (the CPU
     * checks it first on the APIC-virtualization path): mmio_handle stops
     * such an access in the same words on the software path. */
    const char *from = mmio_page_before(vm, gpa);
    if (from) {
        vm_stop(vm, "MMIO access runs past the end of the %s page into 0x%llx, RIP 0x%llx", from,
                (unsigned long long)gpa, (unsigned long long)vmread(GUEST_RIP));
        return;
    }
    const char *kind = (q & 4) ? "instruction fetch" : (q & 2) ? "write" : "read";
    log_error("vmx",
              "EPT violation: guest %s at guest-physical 0x%llx, outside guest RAM "
              "[0, 0x%llx), RIP=0x%llx; stopping the VM",
              kind, (unsigned long long)gpa, (unsigned long long)vm->ram_size,
              (unsigned long long)vmread(GUEST_RIP));
    vm_stop(vm, "EPT violation (%s) at guest-physical 0x%llx, RIP 0x%llx", kind, (unsigned long long)gpa,
            (unsigned long long)vmread(GUEST_RIP));
}

/* ---- APIC virtualization ---- */

/* An access to the APIC-access page the CPU did not virtualize (a timer
 * count read, an odd size): emulate it like trapped MMIO. */
static void handle_apic_access(struct vm *vm)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    unsigned type = (unsigned)(q >> 12) & 0xf;
    uint64_t gpa = (vm->vcpu.lapic.apic_base & ~0xfffull) + (q & 0xfff);
    /* Types 3 and 10 are accesses during event delivery: mmio_handle
     * names those (IDT-vectoring information is valid). */
    if (type > 1 && !(vmread(IDT_VECTORING_INFO) & INTR_INFO_VALID)) {
        vm_stop(vm, "APIC access of type %u (not a linear read or write) at offset 0x%llx", type,
                (unsigned long long)(q & 0xfff));
        vm_dump_guest(vm);
        return;
    }
    if (!mmio_handle(vm, gpa, type == 1 ? 2 : 0))
        vm_stop(vm, "APIC access at 0x%llx with no device behind it", (unsigned long long)gpa);
}

/* A register write the CPU already stored in the virtual-APIC page: the
 * model now does what the write means (arm the timer, send the IPI, ...). */
static void handle_apic_write(struct vm *vm)
{
    struct vcpu *v = &vm->vcpu;
    uint32_t off = (uint32_t)vmread(EXIT_QUALIFICATION) & 0x3f0;
    /* lapic_shadow holds the registers apic_write_exits() names */
    VM_BUG_ON(vm, !apic_write_exits(off));
    uint32_t value = v->lapic.regs[off / 4];
    v->lapic.regs[off / 4] = v->lapic_shadow[off / 16]; /* what the model last had */
    if (vlapic_x2apic_enabled(&v->lapic))               /* an x2APIC MSR write the CPU did not virtualize */
        (void)vlapic_msr_write(&v->lapic, 0x800 + off / 16, value);
    else
        vlapic_mmio_write(&v->lapic, off, value);
    v->lapic_shadow[off / 16] = v->lapic.regs[off / 4];
}

/* The guest's EOI of a vector in the EOI-exit bitmap (level-triggered):
 * the CPU updated ISR; the IOAPIC gets the broadcast. */
static void handle_virtualized_eoi(struct vm *vm)
{
    uint8_t vector = (uint8_t)vmread(EXIT_QUALIFICATION);
    irq_host_trace(&vm->irq_host, TRACE_EOI, vector, 0, 0);
    vioapic_eoi(&vm->irq.ioapic, vector);
}

static void handle_init(struct vm *vm)
{
    if (!(vm->caps->misc & (1u << 8))) {
        vm_stop(vm, "INIT signal received and the wait-for-SIPI activity state is not supported");
        return;
    }
    guest_event(vm, GUEST_INIT_SIPI, "vmx", "INIT signal: the vCPU waits for a start-up IPI");
    vmwrite(GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
}

static void handle_sipi(struct vm *vm)
{
    unsigned vector = (unsigned)vmread(EXIT_QUALIFICATION) & 0xff;
    guest_event(vm, GUEST_INIT_SIPI, "vmx",
                "start-up IPI, vector 0x%02x: the vCPU starts in real "
                "mode at 0x%x",
                vector, vector << 12);
    static const enum vmcs_field segs[] = { GUEST_ES_SEL, GUEST_SS_SEL, GUEST_DS_SEL, GUEST_FS_SEL,
                                            GUEST_GS_SEL };
    for (unsigned i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        unsigned idx = (segs[i] - GUEST_ES_SEL) / 2;
        vmwrite(segs[i], 0);
        vmwrite((enum vmcs_field)(GUEST_ES_BASE + 2 * idx), 0);
        vmwrite((enum vmcs_field)(GUEST_ES_LIMIT + 2 * idx), 0xffff);
        vmwrite((enum vmcs_field)(GUEST_ES_AR + 2 * idx), 0x93);
    }
    vmwrite(GUEST_CS_SEL, vector << 8);
    vmwrite(GUEST_CS_BASE, vector << 12);
    vmwrite(GUEST_CS_LIMIT, 0xffff);
    vmwrite(GUEST_CS_AR, 0x9b);
    vmwrite(GUEST_RIP, 0);
    vmwrite(GUEST_RFLAGS, 2);
    vmwrite(CR0_READ_SHADOW, CR0_ET);
    vmwrite(GUEST_CR0, vmx_fix_cr0(vm->caps, CR0_ET, 1));
    vmwrite(CR4_READ_SHADOW, 0);
    vmwrite(GUEST_CR4, vmx_fix_cr4(vm->caps, 0));
    vmwrite(GUEST_EFER, 0);
    vmwrite(ENTRY_CONTROLS, vmread(ENTRY_CONTROLS) & ~(uint64_t)ENTRY_IA32E_GUEST);
    vmwrite(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
}

static void handle_external_interrupt(struct vm *vm)
{
    uint32_t info = (uint32_t)vmread(EXIT_INTR_INFO);
    vm_physical_interrupt(vm, (uint8_t)(info & 0xff)); /* acknowledged on exit */
}

/* The exception bitmap is 0, so only an NMI (NMI exiting is on) exits here. */
static void handle_exception_or_nmi(struct vm *vm)
{
    uint32_t info = (uint32_t)vmread(EXIT_INTR_INFO);
    if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
        log_warn("vmx", "physical NMI while the guest ran (ignored)");
        return;
    }
    vm_stop(vm,
            "guest exception exit, vector %u, which the exception bitmap (0) makes impossible: "
            "a CPU or hypervisor bug",
            info & 0xff);
    vm_dump_guest(vm);
}

static void handle_triple_fault(struct vm *vm)
{
    log_error("vmx", "guest triple fault: stopping the VM");
    vm_dump_guest(vm);
    vm_stop(vm, "triple fault at RIP 0x%llx", (unsigned long long)vmread(GUEST_RIP));
}

/* INVD always exits. Dropping caches without writing them back could lose
 * data the hypervisor owns: do what KVM does, a write-back and invalidate.
 * WBINVD and WBNOINVD exit only where a CPU forces WBINVD exiting; they
 * get the same. */
static void handle_invd_wbinvd(struct vm *vm)
{
    __asm__ volatile("wbinvd" ::: "memory");
    skip_instruction(&vm->vcpu);
}

/* Interrupt and NMI windows, the VMX-preemption timer (a virtual deadline):
 * the pre-entry routine updates the timers and injects what is due. */
static void handle_nothing_more(struct vm *vm) { (void)vm; }

static void handle_ept_misconfig(struct vm *vm)
{
    log_error("vmx", "EPT misconfiguration at guest-physical 0x%llx (a hypervisor bug)",
              (unsigned long long)vmread(GUEST_PHYSICAL_ADDRESS));
    vm_dump_guest(vm);
    vm_stop(vm, "EPT misconfiguration");
}

/* One handler for every exit reason our controls allow; vm_check_exit_handlers
 * proves at VMCS setup that no allowed reason is missing. */
static void (*const exit_handlers[EXIT_REASON_MAX])(struct vm *vm) = {
    [EXIT_EXCEPTION_NMI] = handle_exception_or_nmi,
    [EXIT_EXTERNAL_INTERRUPT] = handle_external_interrupt,
    [EXIT_TRIPLE_FAULT] = handle_triple_fault,
    [EXIT_INIT] = handle_init,
    [EXIT_SIPI] = handle_sipi,
    [EXIT_INTERRUPT_WINDOW] = handle_nothing_more,
    [EXIT_NMI_WINDOW] = handle_nothing_more,
    [EXIT_TASK_SWITCH] = vm_task_switch,
    [EXIT_CPUID] = vm_handle_cpuid,
    [EXIT_HLT] = handle_hlt,
    [EXIT_INVD] = handle_invd_wbinvd,
    [EXIT_VMCALL] = handle_vmcall,
    [EXIT_VMCLEAR] = handle_vmx_instruction,
    [EXIT_VMLAUNCH] = handle_vmx_instruction,
    [EXIT_VMPTRLD] = handle_vmx_instruction,
    [EXIT_VMPTRST] = handle_vmx_instruction,
    [EXIT_VMREAD] = handle_vmx_instruction,
    [EXIT_VMRESUME] = handle_vmx_instruction,
    [EXIT_VMWRITE] = handle_vmx_instruction,
    [EXIT_VMXOFF] = handle_vmx_instruction,
    [EXIT_VMXON] = handle_vmx_instruction,
    [EXIT_CR_ACCESS] = handle_cr_access,
    [EXIT_IO] = handle_io,
    [EXIT_RDMSR] = handle_rdmsr,
    [EXIT_WRMSR] = handle_wrmsr,
    [EXIT_APIC_ACCESS] = handle_apic_access,
    [EXIT_VIRTUALIZED_EOI] = handle_virtualized_eoi,
    [EXIT_EPT_VIOLATION] = handle_ept_violation,
    [EXIT_EPT_MISCONFIG] = handle_ept_misconfig,
    [EXIT_INVEPT] = handle_vmx_instruction,
    [EXIT_PREEMPTION_TIMER] = handle_nothing_more,
    [EXIT_INVVPID] = handle_vmx_instruction,
    [EXIT_WBINVD] = handle_invd_wbinvd,
    [EXIT_XSETBV] = handle_xsetbv,
    [EXIT_APIC_WRITE] = handle_apic_write,
    [EXIT_VMFUNC] = handle_vmx_instruction,
};

int vm_check_exit_handlers(uint32_t pin, uint32_t proc, uint32_t proc2, char *err, size_t errlen)
{
    for (uint32_t r = 0; r < EXIT_REASON_MAX; r++)
        if (!exit_handlers[r] && !exit_reason_impossible(r, pin, proc, proc2)) {
            fmt_snprintf(err, errlen,
                         "exit reason %u (%s) is possible under these controls "
                         "(pin 0x%08x proc 0x%08x proc2 0x%08x) and has no handler",
                         r, exit_reason_name(r), pin, proc, proc2);
            return -1;
        }
    return 0;
}

static __attribute__((noinline, cold)) void unexpected_exit(struct vm *vm, uint32_t reason)
{
    const struct vcpu *v = &vm->vcpu;
    const char *why = exit_reason_impossible(reason, vm->ctl.pin, v->proc_ctl, v->proc2_ctl);
    log_error("vmx", "VM exit %u (%s) that %s", reason, exit_reason_name(reason),
              why ? "this VM's controls make impossible: a CPU or hypervisor bug"
                  : "has no handler although the controls allow it: a hypervisor bug");
    if (why)
        log_error("vmx", "  impossible because %s", why);
    vm_dump_guest(vm);
    vm_stop(vm, "unexpected VM exit %u (%s) at RIP 0x%llx: %s%s", reason, exit_reason_name(reason),
            (unsigned long long)vmread(GUEST_RIP), why ? "impossible, " : "no handler", why ? why : "");
}

void vm_handle_exit(struct vm *vm, uint32_t reason)
{
    if (reason < EXIT_REASON_MAX && exit_handlers[reason])
        exit_handlers[reason](vm);
    else
        unexpected_exit(vm, reason);
}
