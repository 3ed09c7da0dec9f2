#include "pcdev.h"

#include "../arch/x86/cmos.h"
#include "../boot/platform.h"
#include "../drivers/log.h"
#include "exit.h"
#include "guest_events.h"

int host_rtc_time(struct vrtc_time *t)
{
    uint8_t regs[10], b, century;

    if (cmos_read_rtc(regs, &b, PLATFORM_RTC_CENTURY, &century)) {
        log_warn("hv", "the machine's RTC could not be read (update in progress never ended): "
                       "the guest's clock starts at 2000-01-01 00:00:00");
        return -1;
    }
    if (vrtc_time_from_regs(regs, b, century, t)) {
        log_warn("hv",
                 "the machine's RTC reads no valid date (%02x-%02x-%02x %02x:%02x:%02x, "
                 "register B 0x%02x): the guest's clock starts at 2000-01-01 00:00:00",
                 regs[9], regs[8], regs[7], regs[4], regs[2], regs[0], b);
        return -1;
    }
    log_info("hv", "guest RTC starts at the machine's %04u-%02u-%02u %02u:%02u:%02u", t->year, t->mon, t->day,
             t->hour, t->min, t->sec);
    return 0;
}

static void rtc_irq(void *ctx, int level)
{
    struct vm *vm = ctx;
    irq_set(&vm->irq, vm->rtc_source, PLATFORM_RTC_IRQ, level);
}

static void sci_irq(void *ctx, int level)
{
    struct vm *vm = ctx;
    irq_set(&vm->irq, vm->sci_source, PLATFORM_SCI_GSI, level);
}

void vm_pcdev_init(struct vm *vm, const struct vrtc_time *t)
{
    vm->rtc_source = irq_source_alloc(&vm->irq);
    /* The HPET's legacy replacement takes IRQ 8 from the RTC, as on a PC. */
    vm->irq.legacy_sources |= 1u << vm->rtc_source;
    vm->sci_source = irq_source_alloc(&vm->irq);
    vrtc_init(&vm->rtc, vm->tsc_hz, &vm->irq_host, rtc_irq, vm, t, vm->ram_size, PLATFORM_RTC_CENTURY);
    vpmtmr_init(&vm->pm, vm->tsc_hz, &vm->irq_host, sci_irq, vm);
    pcports_init(&vm->pcports);
}

int vm_io_rtc(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    uint8_t b = (uint8_t)*v;

    if (size != 1)
        return -1;
    if (in) {
        vrtc_port_read(&vm->rtc, port, &b);
        *v = b;
        return 0;
    }
    return vrtc_port_write(&vm->rtc, port, b);
}

/* SLP_EN: S5 ends the run as a pass would (status 0, the guest asked for
 * it); other sleep states are not emulated and the write does nothing. */
static void pm_sleep(struct vm *vm)
{
    unsigned typ = vm->pm.sleep_typ;

    if (typ != PLATFORM_SLP_TYP_S5) {
        guest_event(vm, GUEST_SLEEP_REFUSED, "hv",
                    "guest asked for sleep type %u through PM1a_CNT: "
                    "only S5 (type %u) is emulated; ignored",
                    typ, PLATFORM_SLP_TYP_S5);
        return;
    }
    vuart_flush(&vm->com1);
    log_info("hv", "guest powered off");
    vm->exit_status = 0;
    vm->state = VM_EXITED;
}

int vm_io_pm(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    unsigned off = port - PLATFORM_PM_BASE;

    if (in)
        return vpmtmr_read(&vm->pm, off, size, v) < 0 ? -1 : 0;
    int r = vpmtmr_write(&vm->pm, off, size, *v);
    if (r == VPM_SLEEP)
        pm_sleep(vm);
    return r < 0 ? -1 : 0;
}

/* A reset is not emulated: the VM stops. Its final line is "guest
 * stopped: guest reset ...", never "guest exited status=0", so a reset
 * can never pass for a clean end. */
int vm_io_pcports(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *v)
{
    enum pcports_result r = pcports_io(&vm->pcports, port, in, size, v);

    if (r == PCPORTS_RESET) {
        vuart_flush(&vm->com1);
        log_info("hv", "guest reset");
        vm_stop(vm, "guest reset through %s (a reset is not emulated: the VM stops)", vm->pcports.reset_by);
    }
    return r == PCPORTS_NOT_MINE ? -1 : 0;
}

static uint64_t earliest(uint64_t a, uint64_t b) { return !a ? b : !b ? a : a < b ? a : b; }

uint64_t vm_pcdev_timers_due(struct vm *vm, uint64_t deadline)
{
    return earliest(deadline, earliest(vrtc_update(&vm->rtc), vpmtmr_update(&vm->pm)));
}

int vm_pcdev_timer_can_wake(const struct vm *vm)
{
    return (vrtc_next_deadline(&vm->rtc) && irq_gsi_unmasked(&vm->irq, PLATFORM_RTC_IRQ)) ||
           (vpmtmr_next_deadline(&vm->pm) && irq_gsi_unmasked(&vm->irq, PLATFORM_SCI_GSI));
}
