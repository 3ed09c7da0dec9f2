/* The hypervisor's own GDT, TSS and IDT. */
#ifndef ARCH_X86_DESC_H
#define ARCH_X86_DESC_H

#include <stdint.h>

#define HOST_CS   0x08
#define HOST_DS   0x10
#define HOST_TR   0x18
#define HOST_CS32 0x28
#define HOST_DS32 0x30

/* Loads our GDT (flat 64-bit code and data, one TSS with a separate stack for
 * double faults and NMIs) and IDT, and reloads every segment register. */
void desc_init(uint64_t ist_stack_top);
uint64_t desc_gdt_base(void);
uint64_t desc_idt_base(void);
uint64_t desc_tss_base(void);

#endif
