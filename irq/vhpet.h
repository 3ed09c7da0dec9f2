/* Virtual HPET (IA-PC HPET specification 1.0a), as QEMU's pc/q35 offer it:
 * a 64-bit main counter at 100 MHz (period 10,000,000 fs), three
 * comparators, each periodic-capable and 64-bit capable, no FSB (MSI)
 * delivery, legacy replacement routing. Pure C: time comes from the host
 * interface in TSC ticks, lines are raised only through irq_set (one irq
 * source per comparator), and nothing ticks while nobody looks: the
 * counter is derived from the TSC, and comparators are brought up to date
 * on every access and on vhpet_update.
 *
 * Register block (1 KiB at PLATFORM_HPET_BASE): 4- and 8-byte accesses at
 * their natural alignment. Anything else (another width, a misaligned or
 * reserved offset, the rest of the 4 KiB page) reads 0, writes nothing, and
 * makes the access functions answer -1 so the caller can count a guest
 * event; so does a write the spec forbids (the main counter while it runs,
 * an interrupt route the comparator cannot take).
 *
 * Routing. With LEG_RT_CNF set, comparator 0 drives ISA IRQ 0 (8259 pin 0
 * and IOAPIC pin 2, the MADT's override) and comparator 1 ISA IRQ 8, and
 * the sources in irq_chipset.legacy_sources (the PIT, and the RTC: its
 * wiring in vmx/pcdev.c adds itself) are disconnected from their lines (irq_sources_mute).
 * Otherwise each comparator drives the IOAPIC pin named by its
 * Tn_INT_ROUTE_CNF. Tn_INT_ROUTE_CAP is 0x00ff0104 (pins 2, 8 and 16-23),
 * the value QEMU's q35 gives its HPET; QEMU's pc (PIIX) gives 0x4 (pin 2
 * only), which would leave no way to test the routing, and our vIOAPIC's
 * pins 16-23 are free. Pin 2 is reached through routing entry 0 (the ISA
 * IRQ 0 entry, which the 8259's pin 0 shares), pin 8 through entry 8 (the
 * RTC's line, 8259 pin 8 too, as in QEMU).
 *
 * Comparators (spec 2.3.9.2, behaviour facts from QEMU's hw/timer/hpet.c):
 * - A comparator fires when the counter (its low 32 bits in 32-bit mode)
 *   reaches it; one that is set to the counter's current value fires at
 *   once. Periodic mode adds the last value written (the period) to the
 *   comparator at each match; a write with Tn_VAL_SET_CNF sets the
 *   comparator itself (and, as in QEMU, the period too; the bit clears
 *   after the write). Periods missed while nobody looked collapse into one
 *   interrupt, counted in `dropped`.
 * - One-shot in 32-bit mode also fires when the counter's low 32 bits wrap,
 *   if that comes before the match (spec and QEMU); a one-shot then stays
 *   quiet until it is programmed again (QEMU).
 * - Comparators run while the counter runs; Tn_INT_ENB_CNF only gates the
 *   interrupt. Level mode sets the comparator's bit in the general
 *   interrupt status register and holds the line while the bit, INT_ENB
 *   and ENABLE_CNF are all set; writing 1 clears the bit and drops the
 *   line. Edge mode pulses the line and leaves the status bit 0. */
#ifndef IRQ_VHPET_H
#define IRQ_VHPET_H

#include <stdint.h>

#include "irq.h"

#define VHPET_TIMERS    3
#define VHPET_HZ        100000000ull /* main counter frequency */
#define VHPET_PERIOD_FS 10000000ull  /* its period in femtoseconds */
#define VHPET_ROUTE_CAP 0x00ff0104u  /* IOAPIC pins 2, 8, 16-23 */
/* General capabilities, low half: vendor 8086, LEG_RT_CAP, COUNT_SIZE_CAP,
 * NUM_TIM_CAP (timers - 1), REV_ID 1; also the ACPI HPET table's event
 * timer block ID. */
#define VHPET_CAP_ID    (0x80860000u | 0x8000u | 0x2000u | ((VHPET_TIMERS - 1u) << 8) | 0x01u)
#define VHPET_MMIO_SIZE 0x400

/* Register offsets and bits (spec 2.3). */
#define HPET_CAP           0x000
#define HPET_CONFIG        0x010
#define HPET_STATUS        0x020
#define HPET_COUNTER       0x0F0
#define HPET_TIMER(n)      (0x100 + 0x20 * (n))
#define HPET_TN_CONFIG     0x00
#define HPET_TN_COMPARATOR 0x08
#define HPET_TN_FSB        0x10

#define HPET_CFG_ENABLE     0x1
#define HPET_CFG_LEGACY     0x2
#define HPET_TN_LEVEL       0x002
#define HPET_TN_INT_ENB     0x004
#define HPET_TN_PERIODIC    0x008
#define HPET_TN_PER_CAP     0x010
#define HPET_TN_SIZE_CAP    0x020
#define HPET_TN_VAL_SET     0x040
#define HPET_TN_32BIT       0x100
#define HPET_TN_ROUTE_SHIFT 9
#define HPET_TN_ROUTE_MASK  (0x1full << HPET_TN_ROUTE_SHIFT)

struct vhpet_timer {
    uint64_t config; /* the writable bits of Tn_CONF as last written */
    uint64_t cmp;    /* comparator */
    uint64_t period; /* periodic mode: the increment */
    uint64_t next;   /* main counter value of the next event, if armed */
    uint8_t armed;
    uint8_t wrap;     /* the next event is the 32-bit wrap of a one-shot */
    int source;       /* irq source id */
    int asserted_gsi; /* routing entry held high (level mode), or -1 */
    uint64_t fired;   /* matches and wraps seen */
};

struct vhpet {
    struct irq_chipset *irq;
    const struct irq_host *host;
    uint64_t tsc_hz;
    uint64_t config;  /* general configuration (ENABLE_CNF, LEG_RT_CNF) */
    uint64_t isr;     /* general interrupt status */
    uint64_t counter; /* main counter at base_tsc; its value while halted */
    uint64_t base_tsc;
    uint64_t synced; /* counter value the comparators were brought to */
    struct vhpet_timer t[VHPET_TIMERS];
    uint64_t interrupts;   /* edges sent and level assertions (INT_ENB set) */
    uint64_t dropped;      /* periodic matches collapsed into another's interrupt */
    uint64_t bad_accesses; /* accesses answered -1 */
};

/* Sets the HPET to its reset state (halted, counter 0, comparators all
 * ones, edge, one-shot, interrupts off) and allocates one irq source per
 * comparator. tsc_hz is the guest TSC frequency (0 or above 100 GHz is
 * taken as 100 MHz). Returns 0, or -1 when the chipset has no sources left. */
int vhpet_init(struct vhpet *h, struct irq_chipset *irq, const struct irq_host *host, uint64_t tsc_hz);
/* A guest access at a byte offset of the 4 KiB page (size 1-8). Returns 0,
 * or -1 for an access the HPET does not answer (see above; reads give 0). */
int vhpet_mmio_read(struct vhpet *h, uint64_t off, unsigned size, uint64_t *val);
int vhpet_mmio_write(struct vhpet *h, uint64_t off, unsigned size, uint64_t val);
/* Brings the comparators up to the host's now, raising what fired.
 * Returns vhpet_next_deadline. */
uint64_t vhpet_update(struct vhpet *h);
/* The TSC at which a comparator whose interrupt is enabled next fires, or
 * 0 when none can (counter halted, INT_ENB clear, one-shot spent). */
uint64_t vhpet_next_deadline(const struct vhpet *h);
/* Could a comparator's interrupt reach the vCPU (a deadline, and its route
 * unmasked)? For a halted guest with nothing else to wake it. */
int vhpet_can_interrupt(const struct vhpet *h);
/* Legacy replacement routing is on (LEG_RT_CNF). */
int vhpet_legacy(const struct vhpet *h);

#endif
