/* The PC's small ports that a kernel touches and that need no real device
 * behind them: the reset control register at 0xCF9, the 8042 keyboard
 * controller at 0x60/0x64 (absent, but its pulse-reset command 0xFE
 * resets), the POST-code port 0x80, and the narrow accesses to
 * 0xCF8-0xCFB that PCI configuration mechanism #1 (drivers/pci.c) does not
 * take. Pure C: the caller acts on PCPORTS_RESET. */
#ifndef DRIVERS_PCPORTS_H
#define DRIVERS_PCPORTS_H

#include <stdint.h>

#define PCPORTS_POST_PORT       0x80
#define PCPORTS_KBC_DATA        0x60
#define PCPORTS_KBC_STATUS      0x64
#define PCPORTS_PCI_ADDR        0xCF8
#define PCPORTS_RCR             0xCF9
#define PCPORTS_PCI_DATA        0xCFC
#define PCPORTS_KBC_PULSE_RESET 0xFE
#define PCPORTS_RCR_RST_CPU     0x04 /* 0 -> 1 resets; bit 1 picks hard reset */

enum pcports_result {
    PCPORTS_NOT_MINE = -1,
    PCPORTS_DONE = 0,
    PCPORTS_RESET = 1, /* the guest asked for a reset: reset_by names how */
};

struct pcports {
    uint8_t rcr;  /* reset control register, bits 1 and 3 kept */
    uint8_t post; /* the last POST code written to port 0x80 */
    uint64_t post_writes;
    const char *reset_by; /* after PCPORTS_RESET: "port 0xCF9" or "8042 command 0xFE" */
};

void pcports_init(struct pcports *s);
/* Is the port one of these small ports? */
int pcports_claims(uint16_t port);
/* One IN (in = 1, *val receives) or OUT (*val is written) of size 1, 2
 * or 4 bytes at port. */
enum pcports_result pcports_io(struct pcports *s, uint16_t port, int in, unsigned size, uint32_t *val);

#endif
