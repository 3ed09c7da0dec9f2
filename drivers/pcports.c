/* The PC's small ports (pcports.h), each answered as on a PC without the
 * device, or as its one useful function needs:
 * - 0xCF9, the PIIX/ICH reset control register (byte): a write that sets
 *   RST_CPU (bit 2) resets, as Linux's 0x02-then-0x06 sequence does on its
 *   second write; reads give bits 1 and 3 as written.
 * - 0x60/0x64: no 8042. Both ports read 0xFF, the floating bus of a PC
 *   without one (and QEMU's i8042=off): Linux's i8042_flush sees OBF stuck
 *   and gives up at once ("No controller found"), no timeouts. The one
 *   command still obeyed is 0xFE to 0x64, the reset pulse, which chipsets
 *   keep working with the keyboard controller gone.
 * - 0x80: POST codes, kept (the last one), never a side effect; reads 0xFF.
 * - 0xCF8-0xCFB, what PCI configuration mechanism #1 (drivers/pci.c, which
 *   sees each access first) leaves: byte and word accesses other than the
 *   reset register read all ones and are dropped (Linux's probe writes a
 *   byte to 0xCFB). */
#include "pcports.h"

#include <stddef.h>
#include <string.h>

void pcports_init(struct pcports *s)
{
    memset(s, 0, sizeof(*s));
    s->post = 0xFF;
}

int pcports_claims(uint16_t port)
{
    return port == PCPORTS_POST_PORT || port == PCPORTS_KBC_DATA || port == PCPORTS_KBC_STATUS ||
           (port >= PCPORTS_PCI_ADDR && port < PCPORTS_PCI_DATA);
}

enum pcports_result pcports_io(struct pcports *s, uint16_t port, int in, unsigned size, uint32_t *val)
{
    uint32_t mask = size == 1 ? 0xFF : size == 2 ? 0xFFFF : 0xFFFFFFFFu;

    if (!s || !val || !pcports_claims(port))
        return PCPORTS_NOT_MINE;
    if (in)
        *val = mask; /* what nobody drives reads */
    if (port == PCPORTS_RCR && size == 1) {
        if (in) {
            *val = s->rcr;
            return PCPORTS_DONE;
        }
        s->rcr = (uint8_t)(*val & 0x0A);
        if (*val & PCPORTS_RCR_RST_CPU) {
            s->reset_by = "port 0xCF9";
            return PCPORTS_RESET;
        }
        return PCPORTS_DONE;
    }
    if (port == PCPORTS_POST_PORT && !in) {
        s->post = (uint8_t)*val;
        s->post_writes++;
        return PCPORTS_DONE;
    }
    if (port == PCPORTS_KBC_STATUS && !in && (uint8_t)*val == PCPORTS_KBC_PULSE_RESET) {
        s->reset_by = "8042 command 0xFE";
        return PCPORTS_RESET;
    }
    return PCPORTS_DONE; /* everything else: all ones in, dropped out */
}
