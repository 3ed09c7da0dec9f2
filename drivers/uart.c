#include "uart.h"

#include "../arch/x86/cpu.h"

#define UART_THR        0
#define UART_IER        1
#define UART_FCR        2
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define LSR_DR          0x01
#define LSR_THRE        0x20
#define LSR_TEMT        0x40
/* A missing UART reads 0xFF (both bits set), so no wait below can hang; the
 * bound is a second guard against a wedged device. */
#define UART_SPIN_LIMIT 1000000

static uint16_t uart_port;

void uart_init(uint16_t port)
{
    uart_port = port;
    outb(port + UART_IER, 0x00); /* no interrupts */
    outb(port + UART_LCR, 0x80); /* DLAB */
    outb(port + 0, 1);           /* divisor 1: 115200 baud */
    outb(port + 1, 0);
    outb(port + UART_LCR, 0x03); /* 8N1 */
    outb(port + UART_FCR, 0x07); /* enable and clear FIFOs */
    outb(port + UART_MCR, 0x03); /* DTR, RTS */
}

static void wait_lsr(uint8_t bit)
{
    for (unsigned i = 0; i < UART_SPIN_LIMIT; i++) {
        if (inb(uart_port + UART_LSR) & bit)
            return;
        pause();
    }
}

void uart_putc(char c)
{
    if (!uart_port)
        return;
    if (c == '\n')
        uart_putc('\r');
    wait_lsr(LSR_THRE);
    outb(uart_port + UART_THR, (uint8_t)c);
}

void uart_write(const char *s, unsigned long n)
{
    while (n--)
        uart_putc(*s++);
}

int uart_rx_ready(void)
{
    if (!uart_port)
        return 0;
    uint8_t lsr = inb(uart_port + UART_LSR);
    return lsr != 0xff && (lsr & LSR_DR);
}

uint8_t uart_getc(void) { return inb(uart_port + UART_THR); }

void uart_enable_rx_interrupt(void)
{
    if (!uart_port)
        return;
    outb(uart_port + UART_MCR, 0x0B); /* DTR, RTS, OUT2 */
    outb(uart_port + UART_IER, 0x01); /* received data available */
}

void uart_flush(void)
{
    if (uart_port)
        wait_lsr(LSR_TEMT);
}
