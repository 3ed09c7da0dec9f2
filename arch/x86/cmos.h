/* The machine's MC146818 RTC, read once at boot for the guest's clock. */
#ifndef ARCH_X86_CMOS_H
#define ARCH_X86_CMOS_H

#include <stdint.h>

/* Reads RTC registers 0-9, register B and the century byte (century_reg,
 * 0 for none: *century = 0) so that they belong to one second: waits for
 * update-in-progress to clear, reads, and repeats until two reads agree.
 * Returns 0, or -1 if UIP never cleared or the reads never agreed. */
int cmos_read_rtc(uint8_t regs[10], uint8_t *reg_b, uint8_t century_reg, uint8_t *century);

#endif
