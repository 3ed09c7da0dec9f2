/* Ending a run: power the machine (or emulator) off. */
#ifndef DRIVERS_POWEROFF_H
#define DRIVERS_POWEROFF_H

#include "acpi.h"

/* Remembers the FADT's PM1 control ports and _S5 sleep types. */
void poweroff_set_acpi(const struct acpi_info *acpi);
/* Flushes the console, then tries ACPI S5, then Bochs's shutdown port
 * (0x8900), then halts forever. Never returns. */
__attribute__((noreturn)) void platform_poweroff(void);
/* Logs "hv: fatal: <why>" and powers off. */
__attribute__((noreturn)) void platform_fatal(const char *why);

#endif
