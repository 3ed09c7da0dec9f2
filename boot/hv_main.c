/* The hypervisor after ExitBootServices: take the machine, turn VMX on, run
 * the guest, report, power off. */
#include <string.h>

#include "../arch/x86/cpu.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/lapic.h"
#include "../arch/x86/pages.h"
#include "../arch/x86/paging.h"
#include "../arch/x86/pic.h"
#include "../arch/x86/tsc.h"
#include "../drivers/log.h"
#include "../drivers/poweroff.h"
#include "../vmx/devices.h"
#include "../vmx/exit.h"
#include "../vmx/inject.h"
#include "../vmx/pcdev.h"
#include "../vmx/pcibus.h"
#include "../vmx/vmx.h"
#include "../drivers/uart.h"
#include "bare.h"
#include "boot_info.h"
#include "multiboot.h"

static struct vm the_vm;
static struct vmx_caps caps;

static uint64_t physical_ioapic_base(const struct boot_info *bi)
{
    return bi->have_acpi && bi->acpi.n_ioapic ? bi->acpi.ioapic[0].addr : VIOAPIC_DEFAULT_BASE;
}

/* The GSI of an ISA IRQ: the MADT's interrupt source override, if any. */
static unsigned isa_irq_to_gsi(const struct boot_info *bi, unsigned irq)
{
    for (unsigned i = 0; bi->have_acpi && i < bi->acpi.n_iso; i++)
        if (bi->acpi.iso[i].bus == 0 && bi->acpi.iso[i].source == irq)
            return bi->acpi.iso[i].gsi;
    return irq;
}

static void guest_line(void *ctx, const char *line)
{
    (void)ctx;
    log_info("guest", "%s", line);
}

void hv_main(struct boot_info *bi)
{
    char err[256];
    struct vm *vm = &the_vm;

    desc_init(bi->ist_stack_top);
    uint64_t cr3 = paging_build_identity(bi->mem_top);
    if (!cr3)
        platform_fatal("out of pages for the hypervisor's page tables");
    write_cr3(cr3);
    pic_remap_and_mask();
    lapic_quiesce(bi->have_acpi ? bi->acpi.lapic_base : 0);
    log_info("hv", "own GDT/TSS/IDT and page tables loaded (CR3=0x%llx), firmware interrupts masked",
             (unsigned long long)cr3);

    if (bi->cfg.selftest == SELFTEST_EXCEPTION) {
        log_info("hv", "hv_selftest = exception: executing UD2 in the hypervisor");
        __asm__ volatile("mov $0x1234567890abcdef, %%rax; ud2" ::: "rax");
    }
    if (bi->cfg.bare)
        run_bare(bi);
    vmx_read_caps(&caps);
    memset(vm, 0, sizeof(*vm));
    vm->caps = &caps;
    if (vmx_choose_controls(&caps, &vm->ctl, err, sizeof(err)))
        platform_fatal(err);
    if (vmx_on(&caps, err, sizeof(err)))
        platform_fatal(err);

    vm->ram = bi->guest_ram;
    vm->ram_size = bi->guest_ram_size;
    struct cpuid_regs r;
    cpuid(0x80000008, 0, &r);
    vm->maxphyaddr = r.eax & 0xff;
    cpuid(7, 0, &r);
    vm->linear_bits = (r.ecx & (1u << 16)) ? 57 : 48;
    vm->tsc_hz = tsc_calibrate_pit();
    if (!vm->tsc_hz)
        platform_fatal("TSC calibration failed: the PIT's channel 2 never reached terminal count");
    log_info("hv", "TSC calibrated against the PIT: %llu kHz", (unsigned long long)(vm->tsc_hz / 1000));
    vm->lapic_timer_hz = lapic_timer_calibrate(vm->tsc_hz);
    log_info("hv", "physical LAPIC timer: %llu kHz", (unsigned long long)(vm->lapic_timer_hz / 1000));
    if (bi->cfg.lapic_timer || !(vm->ctl.pin & PIN_PREEMPTION_TIMER)) {
        if (!vm->lapic_timer_hz)
            platform_fatal("no VMX-preemption timer and no usable LAPIC timer for virtual deadlines");
        vm->ctl.pin &= ~PIN_PREEMPTION_TIMER;
        log_info("hv", "virtual timer deadlines: physical LAPIC timer%s",
                 bi->cfg.lapic_timer ? " (host_timer = lapic)" : "");
    } else {
        log_info("hv", "virtual timer deadlines: VMX-preemption timer");
    }
    cpuid_vm_init(&vm->cpuid);
    vm->cpuid.version = TINYHV_VERSION;
    vm->cpuid.tsc_hz = vm->tsc_hz;
    vm->cpuid.rdtscp = (vm->ctl.proc2 & PROC2_RDTSCP) != 0;
    if (cpuid_hide_list(&vm->cpuid, bi->cfg.cpuid_hide, err, sizeof(err)))
        platform_fatal(err);
    vm->cr4_allowed = vm_guest_cr4_allowed(vm);
    vm->efer_allowed = vm_guest_efer_allowed(vm);
    vm->trace = bi->cfg.trace;
    trace_ring_init(&vm->trace_ring, NULL, 0);
    if (vm->trace == TRACE_RING) {
        /* 8192 records of 32 bytes: 64 pages, about 1,000 interrupts' paths */
        struct trace_rec *rec = pages_alloc(8192 * sizeof(struct trace_rec) / 4096);
        if (!rec)
            platform_fatal("out of pages for the trace ring (trace = on)");
        trace_ring_init(&vm->trace_ring, rec, 8192);
        log_info("hv", "trace: interrupt trace into a ring of 8192 events, dumped at the end");
    }
    vm->test_hooks = bi->cfg.test_hooks;
    vm->selftest_vm_bug = bi->cfg.selftest == SELFTEST_VM_BUG;
    vm->apicv = vm->ctl.apicv && !bi->cfg.no_apicv;
    vm->x2apicv = vm->apicv && vm->ctl.x2apicv;
    log_info("hv", "APIC: %s%s",
             vm->apicv       ? "hardware virtualization (TPR shadow, APIC-register "
                               "virtualization, virtual-interrupt delivery)"
             : vm->ctl.apicv ? "software path "
                               "(apicv = off)"
                             : "software path (the CPU lacks APIC virtualization)",
             !vm->apicv    ? ""
             : vm->x2apicv ? ", in xAPIC and x2APIC mode"
                           : ", in xAPIC mode only (no \"virtualize x2APIC mode\")");
    vm->test_unmapped = ~0ull;
    vuart_init(&vm->com1, guest_line, NULL, vm);
    fwcfg_init(&vm->fwcfg, vm->ram_size, 1);
    /* The vIOAPIC where the VM description (and so the guest's MADT) says. */
    vm_irq_init(vm, bi->desc.ioapic_base);
    vm->irq.ioapic.id = bi->desc.ioapic_id;
    struct vrtc_time rtc_now;
    vm_pcdev_init(vm, host_rtc_time(&rtc_now) ? NULL : &rtc_now);
    const struct vm_disk disk = { bi->disk, bi->disk_size, bi->cfg.disk_volatile, bi->cfg.disk };
    vm_pci_init(vm, &disk);
    vm->vcpu.lapic.no_x2apic = (vm->cpuid.hide[0] & CPUID_1_ECX_X2APIC) != 0;
    vm_devices_init(vm, physical_ioapic_base(bi), isa_irq_to_gsi(bi, 4));
    if (vmcs_setup(vm, &bi->start, err, sizeof(err)))
        platform_fatal(err);

    if (bi->start.esi)
        log_info("hv", "launching the guest: entry 0x%x, Linux zero page at 0x%x, %llu MiB RAM",
                 bi->start.eip, bi->start.esi, (unsigned long long)(vm->ram_size >> 20));
    else
        log_info("hv", "launching the guest: entry 0x%x, Multiboot info at 0x%x, %llu MiB RAM", bi->start.eip,
                 bi->start.ebx, (unsigned long long)(vm->ram_size >> 20));
    vm_run(vm);
    vuart_flush(&vm->com1);
    vm_trace_dump(vm);

    guest_events_print_suppressed(vm);
    vm_print_stats(vm);
    vm_pci_print_stats(vm);
    if (vm->com1_bytes)
        log_info("hv", "COM1 input: %llu bytes passed to the guest", (unsigned long long)vm->com1_bytes);
    if (vm->state == VM_EXITED)
        log_status("hv", "guest exited status=%u", vm->exit_status);
    else
        log_status("hv", "guest stopped: %s", vm->stop_reason);
    platform_poweroff();
}
