/* The physical local APIC, as far as the hypervisor needs it so far. */
#ifndef ARCH_X86_LAPIC_H
#define ARCH_X86_LAPIC_H

#include <stdint.h>

/* Masks every LVT entry (the firmware's timer stops interrupting us) and the
 * legacy 8259 pair. lapic_base comes from ACPI or IA32_APIC_BASE. */
void lapic_quiesce(uint64_t lapic_base);
void lapic_eoi(void);
/* This CPU's local APIC ID. */
uint8_t lapic_id(void);

#endif
