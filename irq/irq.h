/* The interrupt chipset of one VM and its routing layer, our kvm_set_irq.
 *
 * irq_set(chipset, source, gsi, level) walks every routing entry of the GSI
 * (PIC pin, IOAPIC pin or MSI) after ORing the levels of all sources that
 * share the line, so two sources on one level-triggered line cannot
 * overwrite each other. The default table is a PC's: entries 0-15 are the
 * ISA IRQs, each to the 8259 pin of the same number and to the IOAPIC pin
 * of the same number, except IRQ 0, which reaches IOAPIC pin 2 as the
 * MADT's interrupt source override says, and IRQ 2, the 8259 cascade, which
 * has no entry of its own; entries 16-23 are IOAPIC pins only. The vPIC's
 * INTR output drives IOAPIC pin 0 (ExtINT through the IOAPIC) and is also
 * what the vCPU sees as its INTR input while its local APIC is disabled.
 * Pure C, like every model here. */
#ifndef IRQ_IRQ_H
#define IRQ_IRQ_H

#include <stdint.h>

#include "irq_host.h"
#include "vioapic.h"
#include "vpic.h"
#include "vpit.h"

#define IRQ_NR_GSI      24
#define IRQ_MAX_SOURCES 32
#define IRQ_MAX_ROUTES  3 /* routing entries per GSI */
#define IRQ_SOURCE_PIT  0 /* reserved ids, allocated at init */

enum irq_route_kind { IRQ_ROUTE_PIC = 1, IRQ_ROUTE_IOAPIC, IRQ_ROUTE_MSI };

struct irq_route {
    uint8_t kind;
    uint8_t pin;       /* PIC pin 0-15 or IOAPIC pin 0-23 */
    uint32_t msi_addr; /* MSI: address low (0xFEExxxxx) and data */
    uint32_t msi_data;
};

/* What irq_set did with a request. */
enum irq_result {
    IRQ_ERROR = -2,    /* bad source id or GSI */
    IRQ_MASKED = -1,   /* every route is masked */
    IRQ_COALESCED = 0, /* the line was already asserted, or a deassertion */
    IRQ_DELIVERED = 1, /* at least one controller took a new request */
};

struct irq_chipset {
    const struct irq_host *host;
    struct irq_route routes[IRQ_NR_GSI][IRQ_MAX_ROUTES];
    uint8_t nroutes[IRQ_NR_GSI];
    uint32_t line[IRQ_NR_GSI]; /* bit per source asserting the GSI */
    uint32_t sources;          /* allocated source ids */
    struct vpic pic;
    struct vioapic ioapic;
    struct vpit pit;
    uint8_t pic_intr; /* last vPIC INTR level seen on IOAPIC pin 0 */
    /* Sources cut off from their lines (irq_sources_mute): what they assert
     * meanwhile is held per GSI and comes back when they are reconnected. */
    uint32_t muted;
    uint32_t held[IRQ_NR_GSI];
    /* The sources an HPET in legacy replacement mode disconnects (QEMU's pc:
     * the PIT's IRQ 0 and the RTC's IRQ 8). IRQ_SOURCE_PIT from init; the
     * RTC's wiring adds its own source's bit. */
    uint32_t legacy_sources;
    /* GSIs whose line is wired active low and shared by wired-OR (PCI
     * INTx#, the DSDT's _PRT): the router drives the vIOAPIC pin low while
     * any source asserts it, and high (idle) otherwise. */
    uint32_t active_low;
};

/* Sets up the models and the default PC routing table. tsc_hz is the guest
 * TSC frequency (for the PIT); ioapic_base the vIOAPIC's guest-physical base. */
void irq_chipset_init(struct irq_chipset *c, const struct irq_host *host, uint64_t tsc_hz,
                      uint64_t ioapic_base);
/* A new source id (for a device that raises lines), or -1 when all are taken. */
int irq_source_alloc(struct irq_chipset *c);
void irq_source_free(struct irq_chipset *c, int source);
enum irq_result irq_set(struct irq_chipset *c, int source, unsigned gsi, int level);
/* Disconnects (mute = 1) or reconnects (0) every source in the mask from
 * its lines, as QEMU's HPET gates the PIT and RTC outputs in legacy
 * replacement mode: a muted source's lines drop, what it asserts meanwhile
 * is remembered (irq_set answers IRQ_MASKED), and on reconnection the lines
 * it still holds rise again. Edges sent while muted are lost. */
void irq_sources_mute(struct irq_chipset *c, uint32_t sources, int mute);
/* Replaces the routing entries of one GSI (n <= IRQ_MAX_ROUTES). Returns 0 or -1. */
int irq_set_routes(struct irq_chipset *c, unsigned gsi, const struct irq_route *r, unsigned n);
/* Is any routing entry of the GSI unmasked (a PIC pin and, for the slave,
 * the cascade; an IOAPIC pin; an MSI)? If not, asserting it interrupts
 * nobody. */
int irq_gsi_unmasked(const struct irq_chipset *c, unsigned gsi);
/* After any change to the vPIC (port writes, acknowledge), so its INTR
 * output reaches IOAPIC pin 0. */
void irq_pic_output_changed(struct irq_chipset *c);
const char *irq_result_name(enum irq_result r);
/* A message-signalled interrupt a device wrote (PCI MSI or MSI-X): address
 * 0xFEExxxxx (destination, destination mode), data (vector, delivery
 * mode, trigger), delivered as the router's MSI routes are, and traced
 * (TRACE_MSI). IRQ_DELIVERED, or IRQ_MASKED when nobody took it (an
 * address outside the LAPIC's range, a disabled LAPIC). */
enum irq_result irq_msi(struct irq_chipset *c, uint64_t addr, uint32_t data);

#endif
