#include "vuart.h"

#include <string.h>

#define IER_RDA         0x01
#define IER_THRE        0x02
#define LCR_DLAB        0x80
#define MCR_OUT2        0x08
#define LSR_DR          0x01
#define LSR_OE          0x02
#define LSR_THRE        0x20
#define LSR_TEMT        0x40
#define IIR_NONE        0x01
#define IIR_THRE        0x02
#define IIR_RDA         0x04
#define MSR_DCD_DSR_CTS 0xB0

static void update_irq(struct vuart *u)
{
    int pending = ((u->ier & IER_RDA) && u->rx_count) || ((u->ier & IER_THRE) && u->thre_pending);
    int level = pending && (u->mcr & MCR_OUT2);
    if (level != u->irq_level) {
        u->irq_level = (uint8_t)level;
        if (u->irq)
            u->irq(u->ctx, level);
    }
}

void vuart_init(struct vuart *u, void (*sink)(void *ctx, const char *line), void (*irq)(void *ctx, int level),
                void *ctx)
{
    memset(u, 0, sizeof(*u));
    u->lcr = 0x03;
    u->dll = 1;
    u->sink = sink;
    u->irq = irq;
    u->ctx = ctx;
}

void vuart_flush(struct vuart *u)
{
    if (u->len == 0)
        return;
    u->line[u->len] = 0;
    u->len = 0;
    if (u->sink)
        u->sink(u->ctx, u->line);
}

static void transmit(struct vuart *u, uint8_t c)
{
    if (c == '\r')
        return;
    if (c == '\n') {
        if (u->len == 0) {
            u->line[0] = 0;
            if (u->sink)
                u->sink(u->ctx, u->line);
            return;
        }
        vuart_flush(u);
        return;
    }
    if (c < 0x20 || c >= 0x7f)
        c = '?'; /* keep the log one line per guest line, printable */
    u->line[u->len++] = (char)c;
    if (u->len == VUART_LINE_MAX)
        vuart_flush(u);
}

void vuart_receive(struct vuart *u, uint8_t byte)
{
    if (u->rx_count == VUART_RX_FIFO) {
        u->rx_dropped++;
        return;
    }
    u->rx[(u->rx_head + u->rx_count) % VUART_RX_FIFO] = byte;
    u->rx_count++;
    update_irq(u);
}

unsigned vuart_rx_room(const struct vuart *u) { return VUART_RX_FIFO - u->rx_count; }

static uint8_t rx_pop(struct vuart *u)
{
    if (!u->rx_count)
        return 0;
    uint8_t b = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % VUART_RX_FIFO;
    u->rx_count--;
    update_irq(u);
    return b;
}

static uint8_t read_iir(struct vuart *u)
{
    if ((u->ier & IER_RDA) && u->rx_count)
        return IIR_RDA;
    if ((u->ier & IER_THRE) && u->thre_pending) {
        u->thre_pending = 0; /* reading IIR acknowledges THR empty */
        update_irq(u);
        return IIR_THRE;
    }
    return IIR_NONE;
}

uint8_t vuart_read(struct vuart *u, unsigned offset)
{
    int dlab = (u->lcr & LCR_DLAB) != 0;
    switch (offset & 7) {
    case 0: return dlab ? u->dll : rx_pop(u);
    case 1: return dlab ? u->dlm : u->ier;
    case 2: return read_iir(u);
    case 3: return u->lcr;
    case 4: return u->mcr;
    case 5: {
        uint8_t lsr = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) | (u->rx_dropped ? LSR_OE : 0);
        u->rx_dropped = 0; /* overrun is reported once */
        return lsr;
    }
    case 6: return MSR_DCD_DSR_CTS;
    default: return u->scr;
    }
}

void vuart_write(struct vuart *u, unsigned offset, uint8_t value)
{
    int dlab = (u->lcr & LCR_DLAB) != 0;
    switch (offset & 7) {
    case 0:
        if (dlab) {
            u->dll = value;
        } else {
            transmit(u, value);
            u->thre_pending = 1; /* sent at once: THR is empty again */
        }
        break;
    case 1:
        if (dlab) {
            u->dlm = value;
        } else {
            if ((value & IER_THRE) && !(u->ier & IER_THRE))
                u->thre_pending = 1; /* enabling it with THR empty raises it */
            u->ier = value & 0x0f;
        }
        break;
    case 2: break; /* FCR */
    case 3: u->lcr = value; break;
    case 4: u->mcr = value & 0x1f; break;
    case 7: u->scr = value; break;
    default: break; /* LSR, MSR: read-only */
    }
    update_irq(u);
}
