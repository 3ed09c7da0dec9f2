/* The hypervisor's own 16550 console (COM1 by default). */
#ifndef DRIVERS_UART_H
#define DRIVERS_UART_H

#include <stdint.h>

#define COM1_PORT 0x3F8

void uart_init(uint16_t port);
void uart_putc(char c);
void uart_write(const char *s, unsigned long n);
/* Waits until the transmitter is empty (LSR.TEMT), so that nothing is lost
 * if the machine powers off right after. */
void uart_flush(void);
/* The receive side, for passing COM1 input to the guest. */
int uart_rx_ready(void);
uint8_t uart_getc(void);
/* Raise the UART's interrupt on received data (IER.RDA and MCR.OUT2, which
 * gates the IRQ line on PCs). */
void uart_enable_rx_interrupt(void);

#endif
