/* Group "chaos": random values to every PIC, ELCR, PIT and IOAPIC register
 * for a while, with interrupts off. The hypervisor must keep running, its
 * models must recover with a normal programming sequence, and the run must
 * end normally. */
#include "testos.h"

static uint32_t lcg_state = 12345;
static uint32_t rnd(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 8;
}

static const uint16_t ports[] = { 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1, 0x40, 0x41, 0x42, 0x43, 0x61 };

static int t_random_writes(char *why)
{
    cli();
    for (unsigned i = 0; i < 20000; i++) {
        uint32_t r = rnd();
        switch (r % 4) {
        case 0:
        case 1: {
            uint16_t p = ports[(r >> 4) % (sizeof(ports) / sizeof(ports[0]))];
            if (r & 0x100000)
                (void)inb(p);
            else
                outb(p, (uint8_t)rnd());
            break;
        }
        case 2: {
            /* Any value, but vectors stay >= 0x30: a vector below 32 would
             * reach the guest as a fake exception once interrupts are on
             * (the guest's problem on real hardware too, not the test's). */
            uint32_t reg = (r >> 4) & 0x3f, v = rnd() ^ (rnd() << 16);
            if (reg >= 0x10 && !(reg & 1))
                v |= 0x30;
            ioapic_write(reg, v);
            break;
        }
        default:
            if (r & 0x10000)
                *(volatile uint32_t *)(IOAPIC_BASE + 0x40) = rnd();
            else
                (void)ioapic_read((r >> 4) & 0xff);
            break;
        }
    }
    CHECK(hypercall(HC_VERSION, 0) == 0x000100u, "the hypervisor stopped answering hypercalls");
    return 0;
}

static int t_models_recover(char *why)
{
    legacy_reset(1);
    ioapic_write(0, 0);
    CHECK(inb(0x21) == 0xff, "PIC IMR 0x%x after re-init", inb(0x21));
    CHECK((ioapic_read(1) & 0xff) == 0x20, "IOAPIC version register changed");
    CHECK(ioapic_read(0x10 + 2 * 7) == 0x10000, "pin 7 entry 0x%x after re-init", ioapic_read(0x10 + 14));
    /* A clean tick through the re-initialised PIC. */
    outb(0x21, 0xfe);
    pit_program(0, 0, 200);
    CHECK(spin_irq(PIC_MASTER_BASE, 1, tsc_khz() * 20), "no PIT tick after re-init");
    outb(0x21, 0xff);
    return 0;
}

static const struct test_case cases[] = {
    { "20000 random register accesses", t_random_writes },
    { "models work again after re-initialisation", t_models_recover },
};

const struct test_group group_chaos = { "chaos", cases, sizeof(cases) / sizeof(cases[0]) };
