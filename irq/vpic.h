/* Virtual 8259A pair (master at 0x20/0x21, slave at 0xA0/0xA1 on the
 * master's IRQ 2) with the ELCR at 0x4D0/0x4D1. Pure C. */
#ifndef IRQ_VPIC_H
#define IRQ_VPIC_H

#include <stdint.h>

#include "irq_host.h"

struct vpic_chip {
    uint8_t irr, isr, imr; /* request, in-service, mask */
    uint8_t line;          /* current input levels (bit per pin) */
    uint8_t elcr;          /* 1 = level-triggered pin */
    uint8_t elcr_mask;     /* pins whose ELCR bit may be set */
    uint8_t vector_base;   /* ICW2 & 0xf8 */
    uint8_t priority_add;  /* lowest-priority pin is (priority_add - 1) & 7 */
    uint8_t init_state;    /* 0: operating; 1..3: waiting for ICW2..ICW4 */
    uint8_t icw4_needed;
    uint8_t single; /* ICW1.SNGL */
    uint8_t auto_eoi;
    uint8_t rotate_on_aeoi;
    uint8_t special_mask;
    uint8_t special_fully_nested;
    uint8_t read_isr; /* OCW3 RR/RIS: read ISR instead of IRR */
    uint8_t poll;     /* next read is a poll */
    uint8_t cascade;  /* ICW3 */
};

struct vpic {
    struct vpic_chip chip[2]; /* 0 = master, 1 = slave */
    uint8_t intr;             /* master INTR output */
    const struct irq_host *host;
};

void vpic_init(struct vpic *p, const struct irq_host *host);
/* Drives input pin 0-15 to level (0/1). Edge pins latch a rising edge;
 * level pins follow the line. Returns 1 if the request changed the IRR. */
int vpic_set_irq(struct vpic *p, unsigned pin, int level);
/* Port access: 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1 (byte wide). Returns 0,
 * or -1 for a port the vPIC does not own. */
int vpic_port_read(struct vpic *p, uint16_t port, uint8_t *val);
int vpic_port_write(struct vpic *p, uint16_t port, uint8_t val);
/* Is INTR asserted toward the CPU? */
int vpic_has_interrupt(const struct vpic *p);
/* The interrupt-acknowledge cycle: returns the vector and updates IRR/ISR
 * (or the spurious vector of IRQ 7 / IRQ 15 when the request vanished). */
uint8_t vpic_acknowledge(struct vpic *p);

#endif
