#include "tsc.h"

#include "cpu.h"

#define PIT_HZ     1193182ull
#define CAL_COUNT  59659u     /* 50 ms of PIT input clocks */
#define SPIN_LIMIT 100000000u /* a PIT that never answers must not hang us */

uint64_t tsc_calibrate_pit(void)
{
    uint8_t p61 = inb(0x61);
    outb(0x61, (uint8_t)((p61 & ~0x02) | 0x01)); /* gate 2 on, speaker off */
    outb(0x43, 0xB0);                            /* channel 2, LSB+MSB, mode 0 */
    outb(0x42, CAL_COUNT & 0xff);
    outb(0x42, CAL_COUNT >> 8); /* counting starts: OUT2 low */
    uint64_t t0 = rdtsc();
    unsigned spins = 0;
    while (!(inb(0x61) & 0x20)) { /* OUT2 goes high at terminal count */
        if (++spins == SPIN_LIMIT) {
            outb(0x61, p61);
            return 0;
        }
    }
    uint64_t t1 = rdtsc();
    outb(0x61, p61);
    return (t1 - t0) * PIT_HZ / CAL_COUNT;
}
