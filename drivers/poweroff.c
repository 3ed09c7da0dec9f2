#include "poweroff.h"

#include "../arch/x86/cpu.h"
#include "log.h"
#include "uart.h"

#define SLP_EN              (1u << 13)
#define BOCHS_SHUTDOWN_PORT 0x8900

static struct {
    int valid;
    uint32_t pm1a_cnt, pm1b_cnt;
    uint8_t typ_a, typ_b;
} s5;

void poweroff_set_acpi(const struct acpi_info *acpi)
{
    s5.valid = acpi->s5_valid && acpi->pm1a_cnt && acpi->pm1a_cnt <= 0xffff;
    s5.pm1a_cnt = acpi->pm1a_cnt;
    s5.pm1b_cnt = acpi->pm1b_cnt;
    s5.typ_a = acpi->slp_typ_a;
    s5.typ_b = acpi->slp_typ_b;
}

void platform_poweroff(void)
{
    cli();
    uart_flush();
    if (s5.valid) {
        outw((uint16_t)s5.pm1a_cnt, (uint16_t)((s5.typ_a & 7u) << 10 | SLP_EN));
        if (s5.pm1b_cnt && s5.pm1b_cnt <= 0xffff)
            outw((uint16_t)s5.pm1b_cnt, (uint16_t)((s5.typ_b & 7u) << 10 | SLP_EN));
    }
    /* Bochs: the bytes of "Shutdown" to port 0x8900 end the simulation. */
    for (const char *p = "Shutdown"; *p; p++)
        outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
    halt_forever();
}

void platform_fatal(const char *why)
{
    log_error("hv", "fatal: %s; powering off", why);
    platform_poweroff();
}
