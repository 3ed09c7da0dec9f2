/* The physical local APIC, as far as the hypervisor needs it so far. */
#ifndef ARCH_X86_LAPIC_H
#define ARCH_X86_LAPIC_H

#include <stdint.h>

/* Masks every LVT entry (the firmware's timer stops interrupting us) and
 * software-enables the LAPIC for our own IOAPIC lines. lapic_base comes
 * from ACPI, or IA32_APIC_BASE when 0. */
void lapic_quiesce(uint64_t lapic_base);
void lapic_eoi(void);

#define LAPIC_SPURIOUS_VECTOR 0xFF
#define LAPIC_TIMER_VECTOR    0xEF

/* Measures the LAPIC timer (divide by 1) against the TSC; returns its
 * frequency in Hz, or 0 if it does not count. */
uint64_t lapic_timer_calibrate(uint64_t tsc_hz);
/* One-shot interrupt (LAPIC_TIMER_VECTOR) at TSC `deadline`, or stop it
 * when deadline is 0. Needs lapic_timer_calibrate first. */
void lapic_timer_arm(uint64_t deadline);

/* A fixed, edge-triggered interrupt at `vector` to this CPU (ICR shorthand
 * "self"): pending until the CPU takes interrupts or, in a guest, exits. */
void lapic_self_ipi(uint8_t vector);

/* This CPU's local APIC ID. */
uint8_t lapic_id(void);

#endif
