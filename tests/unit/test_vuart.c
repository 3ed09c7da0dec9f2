/* Unit tests: the guest's virtual UART (drivers/vuart.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../drivers/vuart.h"

static char lines[8][VUART_LINE_MAX + 1];
static int nlines;

static void sink(void *ctx, const char *line)
{
    (void)ctx;
    if (nlines < 8)
        strcpy(lines[nlines], line);
    nlines++;
}

static struct vuart u;
static int nirq, irq_level;

static void irq_cb(void *ctx, int level)
{
    (void)ctx;
    nirq++;
    irq_level = level;
}

static int setup(void **s)
{
    (void)s;
    nlines = 0;
    nirq = 0;
    irq_level = 0;
    vuart_init(&u, sink, irq_cb, NULL);
    return 0;
}

static void send(const char *str)
{
    while (*str)
        vuart_write(&u, 0, (uint8_t)*str++);
}

static void test_lines_and_crlf(void **s)
{
    (void)s;
    send("ok 1 - a\r\nok 2");
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "ok 1 - a");
    send("\n\n");
    assert_int_equal(nlines, 3);
    assert_string_equal(lines[1], "ok 2");
    assert_string_equal(lines[2], "");
}

static void test_flush_partial(void **s)
{
    (void)s;
    send("tail");
    vuart_flush(&u);
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "tail");
    vuart_flush(&u);
    assert_int_equal(nlines, 1);
}

static void test_unprintable_replaced(void **s)
{
    (void)s;
    send("a\x1b[2Jb\n");
    assert_string_equal(lines[0], "a?[2Jb");
}

static void test_long_line_split(void **s)
{
    (void)s;
    for (int i = 0; i < VUART_LINE_MAX + 5; i++)
        vuart_write(&u, 0, 'x');
    assert_int_equal(nlines, 1);
    assert_int_equal(strlen(lines[0]), VUART_LINE_MAX);
}

static void test_registers(void **s)
{
    (void)s;
    assert_int_equal(vuart_read(&u, 5) & 0x60, 0x60); /* LSR: THRE, TEMT */
    assert_int_equal(vuart_read(&u, 2), 0x01);        /* IIR: nothing pending */
    vuart_write(&u, 7, 0xA5);
    assert_int_equal(vuart_read(&u, 7), 0xA5); /* scratch */
    vuart_write(&u, 3, 0x83);                  /* DLAB on */
    vuart_write(&u, 0, 0x0C);                  /* divisor latch, not data */
    vuart_write(&u, 1, 0x00);
    assert_int_equal(nlines, 0);
    vuart_flush(&u);
    assert_int_equal(nlines, 0);
    assert_int_equal(vuart_read(&u, 0), 0x0C);
    vuart_write(&u, 3, 0x03);
    assert_int_equal(vuart_read(&u, 3), 0x03);
    vuart_write(&u, 1, 0xFF);
    assert_int_equal(vuart_read(&u, 1), 0x0F); /* IER keeps 4 bits */
}

static void test_receive_fifo_and_lsr(void **s)
{
    (void)s;
    assert_int_equal(vuart_read(&u, 5) & 0x01, 0);
    vuart_receive(&u, 'h');
    vuart_receive(&u, 'i');
    assert_int_equal(vuart_read(&u, 5) & 0x01, 0x01); /* data ready */
    assert_int_equal(vuart_read(&u, 0), 'h');
    assert_int_equal(vuart_read(&u, 0), 'i');
    assert_int_equal(vuart_read(&u, 5) & 0x01, 0);
    for (int i = 0; i < VUART_RX_FIFO + 3; i++)
        vuart_receive(&u, (uint8_t)i);
    assert_int_equal(vuart_read(&u, 5) & 0x03, 0x03); /* data ready + overrun, once */
    assert_int_equal(vuart_read(&u, 5) & 0x02, 0);
    assert_int_equal(vuart_read(&u, 0), 0); /* the oldest byte kept */
}

/* The room the machine's COM1 may fill (vm_poll_devices reads no more). */
static void test_rx_room(void **s)
{
    (void)s;
    assert_int_equal(vuart_rx_room(&u), VUART_RX_FIFO);
    vuart_receive(&u, 'a');
    assert_int_equal(vuart_rx_room(&u), VUART_RX_FIFO - 1);
    for (int i = 1; i < VUART_RX_FIFO; i++)
        vuart_receive(&u, 'b');
    assert_int_equal(vuart_rx_room(&u), 0);
    assert_int_equal(vuart_read(&u, 0), 'a');
    assert_int_equal(vuart_rx_room(&u), 1);
}

static void test_rx_interrupt_needs_ier_and_out2(void **s)
{
    (void)s;
    vuart_receive(&u, 'a');
    assert_int_equal(nirq, 0); /* IER off */
    vuart_write(&u, 1, 0x01);  /* RDA on, OUT2 still off */
    assert_int_equal(irq_level, 0);
    vuart_write(&u, 4, 0x08); /* OUT2 */
    assert_int_equal(irq_level, 1);
    assert_int_equal(vuart_read(&u, 2), 0x04); /* IIR: received data */
    assert_int_equal(vuart_read(&u, 0), 'a');
    assert_int_equal(irq_level, 0); /* FIFO empty: line drops */
    assert_int_equal(vuart_read(&u, 2), 0x01);
}

static void test_thre_interrupt(void **s)
{
    (void)s;
    vuart_write(&u, 4, 0x08);
    vuart_write(&u, 1, 0x02); /* THRE on: THR is empty */
    assert_int_equal(irq_level, 1);
    assert_int_equal(vuart_read(&u, 2), 0x02); /* reading IIR acknowledges */
    assert_int_equal(irq_level, 0);
    vuart_write(&u, 0, 'x'); /* sent: empty again */
    assert_int_equal(irq_level, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lines_and_crlf, setup),
        cmocka_unit_test_setup(test_flush_partial, setup),
        cmocka_unit_test_setup(test_unprintable_replaced, setup),
        cmocka_unit_test_setup(test_long_line_split, setup),
        cmocka_unit_test_setup(test_registers, setup),
        cmocka_unit_test_setup(test_receive_fifo_and_lsr, setup),
        cmocka_unit_test_setup(test_rx_room, setup),
        cmocka_unit_test_setup(test_rx_interrupt_needs_ier_and_out2, setup),
        cmocka_unit_test_setup(test_thre_interrupt, setup),
    };
    return cmocka_run_group_tests_name("vuart", tests, NULL, NULL);
}
