/* The guest's PC devices beside the interrupt chipset, wired to the VM:
 * the RTC/CMOS (irq/vrtc, IRQ 8), the ACPI PM timer and PM1a registers
 * (irq/vpmtmr, SCI on PLATFORM_SCI_GSI; S5 powers the VM off) and the
 * small ports (drivers/pcports: reset through 0xCF9 or the 8042, port
 * 0x80, PCI configuration with no devices). Where each lives is
 * boot/platform.h's. */
#ifndef VMX_PCDEV_H
#define VMX_PCDEV_H

#include "vm.h"

/* The machine's RTC, read at boot (the guest's clock starts there); 0, or
 * -1 (logged) if it could not be read. */
int host_rtc_time(struct vrtc_time *t);
/* Allocates the devices' IRQ sources and starts them; t may be NULL. */
void vm_pcdev_init(struct vm *vm, const struct vrtc_time *t);
/* Port handlers: one access of size bytes at port, *v written or read.
 * Return 0, or -1 for an access the device does not take. */
int vm_io_rtc(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v);
int vm_io_pm(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v);
int vm_io_pcports(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v);
/* Brings the RTC and PM timer up to now; returns the earliest of their
 * deadlines (TSC) and `deadline` (0 = none). They need no hold (inject.c's
 * timer_min_gap): each raises its line once until the guest acknowledges
 * (register C, PM1 status). Also: could either still interrupt a halted
 * guest? */
uint64_t vm_pcdev_timers_due(struct vm *vm, uint64_t deadline);
static inline uint64_t vm_pcdev_update_timers(struct vm *vm, uint64_t deadline)
{
    /* Every VM entry comes here: with no interrupt of theirs enabled
     * (the usual case) it costs two loads. */
    if (!(vm->rtc.next_dl | vm->pm.next_dl))
        return deadline;
    return vm_pcdev_timers_due(vm, deadline);
}
int vm_pcdev_timer_can_wake(const struct vm *vm);

#endif
