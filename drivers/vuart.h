/* The guest's virtual 16550 at COM1: transmit only, no interrupts yet. Each
 * line the guest sends is handed to a sink (the hypervisor forwards it to its
 * log as "guest: <line>", so guest and hypervisor output stay readable on one
 * serial line). Pure C. */
#ifndef DRIVERS_VUART_H
#define DRIVERS_VUART_H

#include <stdint.h>

#define VUART_LINE_MAX 200

struct vuart {
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    unsigned len;
    char line[VUART_LINE_MAX + 1];
    void (*sink)(void *ctx, const char *line);
    void *ctx;
};

void vuart_init(struct vuart *u, void (*sink)(void *ctx, const char *line), void *ctx);
/* Register access at offset 0-7 from the base port. */
uint8_t vuart_read(struct vuart *u, unsigned offset);
void vuart_write(struct vuart *u, unsigned offset, uint8_t value);
/* Hands a partial last line to the sink. */
void vuart_flush(struct vuart *u);

#endif
