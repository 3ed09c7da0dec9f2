#include "pic.h"

#include "cpu.h"

void pic_remap_and_mask(void)
{
    outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
    outb(0xA0, 0x11);
    outb(0x21, HOST_PIC_MASTER_BASE); /* ICW2: vector bases */
    outb(0xA1, HOST_PIC_SLAVE_BASE);
    outb(0x21, 0x04); /* ICW3: slave on IRQ 2 */
    outb(0xA1, 0x02);
    outb(0x21, 0x01); /* ICW4: 8086 mode */
    outb(0xA1, 0x01);
    outb(0x21, 0xff); /* OCW1: every line masked */
    outb(0xA1, 0xff);
}
