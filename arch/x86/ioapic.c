#include "ioapic.h"

static void ioapic_write(uint64_t base, uint32_t reg, uint32_t v)
{
    volatile uint32_t *io = (volatile uint32_t *)(uintptr_t)base;
    io[0] = reg; /* IOREGSEL */
    io[4] = v;   /* IOWIN at +0x10 */
}

void ioapic_route(uint64_t base, unsigned pin, uint8_t vector, uint8_t dest)
{
    ioapic_write(base, 0x11 + 2 * pin, (uint32_t)dest << 24);
    ioapic_write(base, 0x10 + 2 * pin, vector); /* fixed, physical, high, edge, unmasked */
}
