#include "vuart.h"

#include <string.h>

#define LCR_DLAB 0x80
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IIR_NO_INTERRUPT 0x01
#define MSR_DCD_DSR_CTS 0xB0

void vuart_init(struct vuart *u, void (*sink)(void *ctx, const char *line), void *ctx)
{
    memset(u, 0, sizeof(*u));
    u->lcr = 0x03;
    u->dll = 1;
    u->sink = sink;
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

uint8_t vuart_read(struct vuart *u, unsigned offset)
{
    int dlab = (u->lcr & LCR_DLAB) != 0;
    switch (offset & 7) {
    case 0: return dlab ? u->dll : 0;      /* RBR: no receive path yet */
    case 1: return dlab ? u->dlm : u->ier;
    case 2: return IIR_NO_INTERRUPT;
    case 3: return u->lcr;
    case 4: return u->mcr;
    case 5: return LSR_THRE | LSR_TEMT;    /* always ready to send */
    case 6: return MSR_DCD_DSR_CTS;
    default: return u->scr;
    }
}

void vuart_write(struct vuart *u, unsigned offset, uint8_t value)
{
    int dlab = (u->lcr & LCR_DLAB) != 0;
    switch (offset & 7) {
    case 0:
        if (dlab)
            u->dll = value;
        else
            transmit(u, value);
        break;
    case 1:
        if (dlab)
            u->dlm = value;
        else
            u->ier = value & 0x0f;
        break;
    case 2: break; /* FCR */
    case 3: u->lcr = value; break;
    case 4: u->mcr = value & 0x1f; break;
    case 7: u->scr = value; break;
    default: break; /* LSR, MSR: read-only */
    }
}
