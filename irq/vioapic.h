/* Virtual 82093AA IOAPIC: 24 pins behind IOREGSEL (offset 0x00) and IOWIN
 * (0x10), with the EOI register (0x40) of version 0x20. Pure C. */
#ifndef IRQ_VIOAPIC_H
#define IRQ_VIOAPIC_H

#include <stdint.h>

#include "irq_host.h"

#define VIOAPIC_PINS         24
#define VIOAPIC_VERSION      0x20
#define VIOAPIC_DEFAULT_BASE 0xFEC00000ull
#define VIOAPIC_MMIO_SIZE    0x1000

/* Redirection-entry bits */
#define IOREDTBL_VECTOR        0xffull
#define IOREDTBL_DELMODE_SHIFT 8
#define IOREDTBL_DEST_LOGICAL  (1ull << 11)
#define IOREDTBL_DELIVS        (1ull << 12) /* read-only */
#define IOREDTBL_POLARITY_LOW  (1ull << 13)
#define IOREDTBL_REMOTE_IRR    (1ull << 14) /* read-only */
#define IOREDTBL_LEVEL         (1ull << 15)
#define IOREDTBL_MASKED        (1ull << 16)
#define IOREDTBL_DEST_SHIFT    56

struct vioapic {
    uint64_t base; /* guest-physical base of the register window */
    uint8_t id;    /* bits 27:24 of the ID register */
    uint8_t arb_id;
    uint32_t ioregsel;
    uint64_t redtbl[VIOAPIC_PINS];
    uint32_t line; /* input levels after polarity, bit per pin */
    const struct irq_host *host;
};

void vioapic_init(struct vioapic *io, uint64_t base, const struct irq_host *host);
/* Drives pin to level (1 = asserted, before polarity inversion). Returns 1
 * if a message went to the LAPIC side, 0 if masked or coalesced. */
int vioapic_set_irq(struct vioapic *io, unsigned pin, int level);
/* 32-bit MMIO at offset 0x00, 0x10 or 0x40 from base; other offsets read as
 * 0 and ignore writes. Sizes other than 4 are handled as the low bytes. */
uint32_t vioapic_mmio_read(struct vioapic *io, uint64_t offset);
void vioapic_mmio_write(struct vioapic *io, uint64_t offset, uint32_t val);
/* The LAPIC's EOI broadcast for a level-triggered vector (or a write to the
 * EOI register): clears remote IRR of the matching pins and re-delivers
 * any whose line is still asserted. */
void vioapic_eoi(struct vioapic *io, uint8_t vector);

#endif
