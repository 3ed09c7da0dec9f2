/* The hypervisor after ExitBootServices: take the machine, turn VMX on, run
 * the guest, report, power off. */
#include <string.h>

#include "../arch/x86/cpu.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/lapic.h"
#include "../arch/x86/paging.h"
#include "../drivers/log.h"
#include "../drivers/poweroff.h"
#include "../vmx/exit.h"
#include "../vmx/vmx.h"
#include "boot_info.h"

static struct vm the_vm;
static struct vmx_caps caps;

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
    lapic_quiesce(bi->have_acpi ? bi->acpi.lapic_base : 0);
    log_info("hv", "own GDT/TSS/IDT and page tables loaded (CR3=0x%llx), firmware interrupts masked",
             (unsigned long long)cr3);

    vmx_read_caps(&caps);
    memset(vm, 0, sizeof(*vm));
    vm->caps = &caps;
    if (vmx_choose_controls(&caps, &vm->ctl, err, sizeof(err)))
        platform_fatal(err);
    if (vmx_on(&caps, err, sizeof(err)))
        platform_fatal(err);

    vm->ram = bi->guest_ram;
    vm->ram_size = bi->guest_ram_size;
    vuart_init(&vm->com1, guest_line, vm);
    if (vmcs_setup(vm, bi->guest_entry, bi->guest_mb_info, err, sizeof(err)))
        platform_fatal(err);

    log_info("hv", "launching the guest: entry 0x%x, Multiboot info at 0x%x, %llu MiB RAM",
             bi->guest_entry, bi->guest_mb_info, (unsigned long long)(vm->ram_size >> 20));
    vm_run(vm);
    vuart_flush(&vm->com1);

    vm_print_stats(vm);
    if (vm->state == VM_EXITED)
        log_info("hv", "guest exited status=%u", vm->exit_status);
    else
        log_info("hv", "guest stopped: %s", vm->stop_reason);
    platform_poweroff();
}
