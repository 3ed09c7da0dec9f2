/* Virtual local APIC (xAPIC page and x2APIC MSRs) with its timer (one-shot,
 * periodic, TSC-deadline), for one vCPU. Pure C: time and deliveries come
 * through struct irq_host and struct vlapic_ops, so host unit tests and
 * fuzzers drive it with a fake clock.
 *
 * The hypervisor uses it through vmx/inject.c (software path: every APIC
 * access traps). */
#ifndef IRQ_VLAPIC_H
#define IRQ_VLAPIC_H

#include <stdint.h>

#include "irq_host.h"

#define VLAPIC_DEFAULT_BASE   0xFEE00000ull
#define VLAPIC_VERSION        0x00050014u /* version 0x14, max LVT 5 (6 entries): no CMCI */
#define MSR_IA32_APIC_BASE    0x1B
#define MSR_IA32_TSC_DEADLINE 0x6E0
#define APIC_BASE_BSP         (1ull << 8)
#define APIC_BASE_EXTD        (1ull << 10)
#define APIC_BASE_EN          (1ull << 11)

/* Register offsets in the xAPIC page (x2APIC MSR = 0x800 + offset / 16). */
enum vlapic_reg {
    LAPIC_ID = 0x020,
    LAPIC_VER = 0x030,
    LAPIC_TPR = 0x080,
    LAPIC_APR = 0x090,
    LAPIC_PPR = 0x0A0,
    LAPIC_EOI = 0x0B0,
    LAPIC_RRD = 0x0C0,
    LAPIC_LDR = 0x0D0,
    LAPIC_DFR = 0x0E0,
    LAPIC_SVR = 0x0F0,
    LAPIC_ISR = 0x100,
    LAPIC_TMR = 0x180,
    LAPIC_IRR = 0x200,
    LAPIC_ESR = 0x280,
    LAPIC_LVT_CMCI = 0x2F0,
    LAPIC_ICR_LO = 0x300,
    LAPIC_ICR_HI = 0x310,
    LAPIC_LVT_TIMER = 0x320,
    LAPIC_LVT_THERMAL = 0x330,
    LAPIC_LVT_PERF = 0x340,
    LAPIC_LVT_LINT0 = 0x350,
    LAPIC_LVT_LINT1 = 0x360,
    LAPIC_LVT_ERROR = 0x370,
    LAPIC_TIMER_ICR = 0x380,
    LAPIC_TIMER_CCR = 0x390,
    LAPIC_TIMER_DCR = 0x3E0,
    LAPIC_SELF_IPI = 0x3F0, /* x2APIC only */
};

/* What the LAPIC needs from the rest of the VM. Any pointer may be NULL. */
struct vlapic_ops {
    /* EOI of a level-triggered vector with EOI broadcast not suppressed:
     * the IOAPIC clears remote IRR (vioapic_eoi). */
    void (*eoi_broadcast)(void *ctx, uint8_t vector);
    /* LINT0 in ExtINT mode: the vPIC's INTR output, and its INTA cycle. */
    int (*extint_pending)(void *ctx);
    uint8_t (*extint_ack)(void *ctx);
    /* INIT or SIPI sent with the ICR (recorded; there is one vCPU). */
    void (*init_sipi)(void *ctx, int sipi, uint8_t vector, int to_self); /* to_self 0: only to other CPUs */
    void *ctx;
};

struct vlapic {
    uint64_t apic_base; /* IA32_APIC_BASE: base | EN | EXTD | BSP */
    int no_x2apic;      /* x2APIC mode hidden from the guest (CPUID): EXTD is reserved */
    /* The xAPIC register page, by byte offset / 4. Page-aligned: with APIC
     * virtualization the CPU uses it as the virtual-APIC page. */
    _Alignas(4096) uint32_t regs[1024];
    uint8_t esr_pending;     /* errors collected since the last ESR write */
    uint8_t nmi_pending;     /* NMI via LINT1, LVT delivery mode NMI or ICR */
    uint64_t tsc_hz;         /* guest TSC frequency */
    uint64_t timer_hz;       /* timer input before the divider (bus clock) */
    uint64_t timer_start;    /* TSC when the current count began */
    uint64_t timer_period;   /* TSC ticks per full count (one-shot and periodic); 0 = stopped */
    uint64_t timer_deadline; /* TSC of the next expiry, 0 = none */
    uint64_t tsc_deadline;   /* IA32_TSC_DEADLINE */
    uint64_t timer_fired;    /* expiries delivered (statistics) */
    uint32_t initial_id;     /* initial APIC ID: xAPIC ID after reset, x2APIC ID */
    uint8_t extint_msg;      /* an ExtINT message (IOAPIC) waits for its INTA cycle */
    /* Since the last vlapic_take_posted: the highest vector the model put
     * in IRR (-1: none) and whether a TMR bit changed. With virtual-
     * interrupt delivery the CPU tracks the rest (RVI, SVI). */
    int16_t posted_irr;
    uint8_t tmr_changed;
    const struct irq_host *host;
    struct vlapic_ops ops;
};

/* Power-on / INIT state: APIC base 0xFEE00000 | EN | BSP, xAPIC mode, ID
 * `id`, SVR 0xFF (software disabled), every LVT masked. */
void vlapic_init(struct vlapic *l, uint32_t id, uint64_t tsc_hz, uint64_t timer_hz,
                 const struct irq_host *host, const struct vlapic_ops *ops);

/* xAPIC page access: 32-bit reads and writes at a 16-byte-aligned register
 * offset (0x000-0xFF0). Returns 0; -1 if the LAPIC is not in xAPIC mode (the
 * hypervisor then treats the page as not there). Reads of write-only or
 * reserved registers return 0; writes to read-only registers are ignored;
 * bad vectors and reserved bits behave as the SDM says (ESR). */
int vlapic_mmio_read(struct vlapic *l, uint32_t offset, uint32_t *val);
int vlapic_mmio_write(struct vlapic *l, uint32_t offset, uint32_t val);
/* The task-priority register as CR8 reaches it (CR8 = TPR[7:4]): in every
 * mode, the APIC disabled included, as hardware keeps CR8. */
uint8_t vlapic_get_tpr(const struct vlapic *l);
void vlapic_set_tpr(struct vlapic *l, uint8_t tpr);

/* MSRs: IA32_APIC_BASE (mode transitions; an invalid one returns -1 = #GP),
 * IA32_TSC_DEADLINE, and the x2APIC range 0x800-0x8FF (only in x2APIC mode;
 * reserved or read-only ones return -1 = #GP as the SDM says; ICR is one
 * 64-bit MSR 0x830; SELF IPI is 0x83F). Returns 0 or -1. */
int vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *val);
int vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val);

/* An interrupt message for this LAPIC (IOAPIC, MSI, IPI, LVT): delivery mode
 * 0 fixed / 1 lowest priority set IRR (and TMR when level); 4 NMI sets
 * nmi_pending; 7 ExtINT is taken from the vPIC at acknowledge time. Illegal
 * vectors (< 16) set ESR "receive illegal vector" and are dropped.
 * Returns 1 if accepted, 0 if dropped (also when the LAPIC is disabled). */
int vlapic_accept(struct vlapic *l, uint8_t vector, uint8_t mode, int level);

/* The vector the CPU would take now: the highest IRR vector whose priority
 * class is above PPR's, or -1. (ExtINT via LINT0 is reported as 256.) */
int vlapic_pending(const struct vlapic *l);
/* The interrupt-acknowledge: vector goes from IRR to ISR, PPR updates.
 * For 256 (ExtINT) returns the vPIC's vector instead. */
int vlapic_acknowledge(struct vlapic *l, int vector);

/* For APIC virtualization (RVI, SVI, EOI-exit bitmap): the highest vector
 * in IRR / ISR (-1 if none), whether an ExtINT waits (LINT0 or a message),
 * and whether the LAPIC is enabled in xAPIC or in x2APIC mode. */
int vlapic_highest_irr(const struct vlapic *l);
int vlapic_highest_isr(const struct vlapic *l);
int vlapic_extint_pending(const struct vlapic *l);
int vlapic_xapic_enabled(const struct vlapic *l);
int vlapic_x2apic_enabled(const struct vlapic *l);
/* What the model posted since the last call (see posted_irr): returns the
 * highest vector put in IRR or -1, sets *tmr_changed; both start over. */
int vlapic_take_posted(struct vlapic *l, int *tmr_changed);

/* The state a PC BIOS leaves: software-enabled (SVR 0x1FF), LINT0 in ExtINT
 * mode and LINT1 as NMI ("virtual wire"), so a guest that only knows the
 * 8259 still gets its interrupts. */
void vlapic_bios_virtual_wire(struct vlapic *l);

/* Brings the timer up to the host's now: an expiry delivers the LVT timer
 * vector (even when masked, the count keeps running; a masked LVT only
 * suppresses the interrupt). Periodic mode re-arms from the previous
 * deadline, not from now (no drift). Returns the next deadline or 0. */
uint64_t vlapic_update_timer(struct vlapic *l);
/* The deadline (TSC) at which vlapic_update_timer would next fire the
 * timer, or 0 if it is not counting; changes nothing. */
uint64_t vlapic_timer_next(const struct vlapic *l);
/* Counting with its LVT unmasked: its expiry will bring an interrupt. */
int vlapic_timer_can_interrupt(const struct vlapic *l);

#endif
