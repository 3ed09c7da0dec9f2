/* TSC calibration against the 8254 PIT (channel 2, gated through port 0x61).
 * Emulators' TSCs tick at rates CPUID does not tell (Bochs: one tick per
 * instruction), so the hypervisor measures. */
#ifndef ARCH_X86_TSC_H
#define ARCH_X86_TSC_H

#include <stdint.h>

/* Returns the TSC frequency in Hz, or 0 if the PIT did not respond. */
uint64_t tsc_calibrate_pit(void);

#endif
