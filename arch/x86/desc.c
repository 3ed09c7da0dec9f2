#include "desc.h"

#include "cpu.h"

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t offset_lo, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi, zero;
} __attribute__((packed));

static uint64_t gdt[7] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));

extern const uint64_t isr_stub_table[256];                  /* isr.asm */
extern void desc_reload_segments(uint16_t cs, uint16_t ds); /* isr.asm */

uint64_t desc_gdt_base(void) { return (uint64_t)(uintptr_t)gdt; }
uint64_t desc_idt_base(void) { return (uint64_t)(uintptr_t)idt; }
uint64_t desc_tss_base(void) { return (uint64_t)(uintptr_t)&tss; }

void desc_init(uint64_t ist_stack_top)
{
    uint64_t t = (uint64_t)(uintptr_t)&tss;
    uint64_t limit = sizeof(tss) - 1;

    gdt[0] = 0;
    gdt[1] = 0x00209A0000000000ull; /* 64-bit code, DPL 0 */
    gdt[2] = 0x0000920000000000ull; /* data */
    gdt[3] = (limit & 0xffff) | (t & 0xffffff) << 16 | 0x89ull << 40 | ((limit >> 16) & 0xf) << 48 |
             ((t >> 24) & 0xff) << 56; /* available 64-bit TSS */
    gdt[4] = t >> 32;
    gdt[5] = 0x00CF9A000000FFFFull; /* flat 32-bit code: for the bare (no VMX) hand-off */
    gdt[6] = 0x00CF92000000FFFFull; /* flat 32-bit data */

    tss.ist[0] = ist_stack_top;
    tss.iomap_base = sizeof(tss);

    for (int v = 0; v < 256; v++) {
        uint64_t h = isr_stub_table[v];
        idt[v].offset_lo = (uint16_t)h;
        idt[v].selector = HOST_CS;
        /* Double fault, NMI and machine check run on the IST stack. */
        idt[v].ist = (v == 2 || v == 8 || v == 18) ? 1 : 0;
        idt[v].type_attr = 0x8E; /* present, interrupt gate */
        idt[v].offset_mid = (uint16_t)(h >> 16);
        idt[v].offset_hi = (uint32_t)(h >> 32);
        idt[v].zero = 0;
    }

    struct dtr g = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
    struct dtr i = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    lgdt(&g);
    desc_reload_segments(HOST_CS, HOST_DS);
    ltr(HOST_TR);
    lidt(&i);
}
