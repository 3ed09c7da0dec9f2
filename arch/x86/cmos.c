#include "cmos.h"

#include "cpu.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define RTC_REG_A  0x0A
#define RTC_REG_B  0x0B
#define RTC_UIP    0x80
#define UIP_POLLS  2000000 /* an update lasts about 2 ms; each read is about 1 us */
#define TRIES      5

static uint8_t cmos_in(uint8_t reg)
{
    outb(CMOS_INDEX, reg); /* bit 7 clear: NMIs stay enabled, as firmware leaves them */
    return inb(CMOS_DATA);
}

static int wait_uip_clear(void)
{
    for (unsigned i = 0; i < UIP_POLLS; i++)
        if (!(cmos_in(RTC_REG_A) & RTC_UIP))
            return 0;
    return -1;
}

/* One snapshot: 10 time registers, B and the century byte. */
static void snapshot(uint8_t s[12], uint8_t century_reg)
{
    for (uint8_t r = 0; r < 10; r++)
        s[r] = cmos_in(r);
    s[10] = cmos_in(RTC_REG_B);
    s[11] = century_reg ? cmos_in(century_reg) : 0;
}

int cmos_read_rtc(uint8_t regs[10], uint8_t *reg_b, uint8_t century_reg, uint8_t *century)
{
    uint8_t a[12], b[12];

    for (int t = 0; t < TRIES; t++) {
        int same = 1;

        if (wait_uip_clear())
            return -1;
        snapshot(a, century_reg);
        if (wait_uip_clear())
            return -1;
        snapshot(b, century_reg);
        for (int i = 0; i < 12; i++)
            same &= a[i] == b[i];
        if (!same)
            continue;
        for (int i = 0; i < 10; i++)
            regs[i] = a[i];
        *reg_b = a[10];
        *century = a[11];
        return 0;
    }
    return -1;
}
