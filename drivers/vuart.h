/* The guest's virtual 16550 at COM1. Transmit: each line the guest sends is
 * handed to a sink (the hypervisor forwards it to its log as "guest: ...",
 * so guest and hypervisor output stay readable on one serial line).
 * Receive: bytes the hypervisor pushes (from the physical COM1) wait in a
 * FIFO. Interrupts: received data available and THR empty, gated by MCR
 * OUT2 as on a PC; the line level goes to a callback (IRQ 4). Pure C. */
#ifndef DRIVERS_VUART_H
#define DRIVERS_VUART_H

#include <stdint.h>

#define VUART_LINE_MAX 200
#define VUART_RX_FIFO  64

struct vuart {
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    uint8_t thre_pending; /* THR-empty interrupt not yet acknowledged */
    uint8_t irq_level;    /* last level given to the irq callback */
    uint8_t rx[VUART_RX_FIFO];
    unsigned rx_head, rx_count;
    uint32_t rx_dropped; /* bytes lost to a full FIFO (overrun) */
    unsigned len;
    char line[VUART_LINE_MAX + 1];
    void (*sink)(void *ctx, const char *line);
    void (*irq)(void *ctx, int level);
    void *ctx;
};

void vuart_init(struct vuart *u, void (*sink)(void *ctx, const char *line), void (*irq)(void *ctx, int level),
                void *ctx);
/* Register access at offset 0-7 from the base port. */
uint8_t vuart_read(struct vuart *u, unsigned offset);
void vuart_write(struct vuart *u, unsigned offset, uint8_t value);
/* A byte arriving on the receive line. */
void vuart_receive(struct vuart *u, uint8_t byte);
/* Room left in the receive FIFO: what the machine's COM1 may pass on now. */
unsigned vuart_rx_room(const struct vuart *u);
/* Hands a partial last line to the sink. */
void vuart_flush(struct vuart *u);

#endif
