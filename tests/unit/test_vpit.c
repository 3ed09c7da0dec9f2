/* Unit tests: the virtual 8254 PIT (irq/vpit.c), driven by a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../irq/vpit.h"

#define HZ_EXACT   ((uint64_t)PIT_HZ * 100) /* 100 TSC ticks per input clock */
#define HZ_INEXACT 200000000ull             /* 167.62 ticks per input clock */

struct fake {
    uint64_t now;
    int levels[4096]; /* raise_irq0 levels in call order */
    int ncalls;
    int ntraces;
    uint32_t trace_a, trace_b, trace_c;
    enum irq_trace_event trace_ev;
};

static struct fake f;
static struct irq_host host;
static struct vpit pit;

static uint64_t fake_now(void *ctx) { return ((struct fake *)ctx)->now; }

static void fake_trace(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    struct fake *x = ctx;

    x->ntraces++;
    x->trace_ev = ev;
    x->trace_a = a;
    x->trace_b = b;
    x->trace_c = c;
}

static void fake_irq(void *ctx, int level)
{
    struct fake *x = ctx;

    if (x->ncalls < 4096)
        x->levels[x->ncalls] = level;
    x->ncalls++;
}

static void init_hz(uint64_t hz)
{
    memset(&f, 0, sizeof(f));
    memset(&host, 0, sizeof(host));
    host.ctx = &f;
    host.now = fake_now;
    host.trace = fake_trace;
    vpit_init(&pit, hz, &host, fake_irq, &f);
}

static int setup(void **s)
{
    (void)s;
    init_hz(HZ_EXACT);
    return 0;
}

static void out8(uint16_t port, uint8_t v) { assert_int_equal(vpit_port_write(&pit, port, v), 0); }

static uint8_t in8(uint16_t port)
{
    uint8_t v = 0;

    assert_int_equal(vpit_port_read(&pit, port, &v), 0);
    return v;
}

/* Control word for channel ch, LSB then MSB access, then the 16-bit count. */
static void program(int ch, int mode, uint32_t count)
{
    out8(0x43, (uint8_t)((ch << 6) | 0x30 | (mode << 1)));
    out8((uint16_t)(0x40 + ch), (uint8_t)count);
    out8((uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

static uint16_t read_count16(int ch)
{
    uint16_t lo = in8((uint16_t)(0x40 + ch));

    return (uint16_t)(lo | in8((uint16_t)(0x40 + ch)) << 8);
}

/* Read-back of channel ch's status byte only. */
static uint8_t status(int ch)
{
    out8(0x43, (uint8_t)(0xC0 | 0x20 | (2 << ch)));
    return in8((uint16_t)(0x40 + ch));
}

/* ceil(k * hz / PIT_HZ): the TSC ticks for k input clocks. */
static uint64_t ticks(uint64_t k, uint64_t hz)
{
    unsigned __int128 n = (unsigned __int128)k * hz;

    return (uint64_t)((n + PIT_HZ - 1) / PIT_HZ);
}

static int pulses(void)
{
    int n = 0;

    for (int i = 0; i + 1 < f.ncalls && i + 1 < 4096; i++)
        if (f.levels[i] == 1 && f.levels[i + 1] == 0)
            n++;
    return n;
}

static void test_unknown_ports(void **s)
{
    uint8_t v = 0x5A;

    (void)s;
    assert_int_equal(vpit_port_read(&pit, 0x44, &v), -1);
    assert_int_equal(vpit_port_read(&pit, 0x3F, &v), -1);
    assert_int_equal(vpit_port_read(&pit, 0x60, &v), -1);
    assert_int_equal(vpit_port_read(&pit, 0x62, &v), -1);
    assert_int_equal(v, 0x5A);
    assert_int_equal(vpit_port_write(&pit, 0x44, 0), -1);
    assert_int_equal(vpit_port_write(&pit, 0x3F8, 0), -1);
    assert_int_equal(vpit_port_write(&pit, 0x140, 0), -1); /* 0x40 in the low byte */
    assert_int_equal(in8(0x43), 0xFF);                     /* write-only register */
}

static void test_mode2_exact_rate_1000_periods(void **s)
{
    (void)s;
    f.now = 7;
    program(0, 2, 1000); /* 100000 ticks per period */
    for (uint64_t k = 1; k <= 1000; k++) {
        uint64_t due = 7 + k * 100000;

        f.now = due - 1;
        assert_int_equal(vpit_update(&pit), due);
        assert_int_equal(pit.ticks_delivered, k - 1);
        f.now = due;
        assert_int_equal(vpit_update(&pit), due + 100000);
        assert_int_equal(pit.ticks_delivered, k);
    }
    assert_int_equal(pulses(), 1000);
    assert_int_equal(f.ncalls, 2000);
    assert_int_equal(pit.ticks_dropped, 0);
}

static void test_mode2_inexact_no_drift(void **s)
{
    uint64_t d, naive = 0, step = ticks(1000, HZ_INEXACT);

    (void)s;
    init_hz(HZ_INEXACT);
    f.now = 123;
    program(0, 2, 1000); /* 167619.02 ticks per period */
    d = vpit_update(&pit);
    for (uint64_t k = 1; k <= 1000; k++) {
        assert_int_equal(d, 123 + ticks(k * 1000, HZ_INEXACT));
        f.now = d;
        d = vpit_update(&pit);
        naive += step;
    }
    assert_int_equal(pit.ticks_delivered, 1000);
    assert_int_equal(pit.ticks_dropped, 0);
    /* 1000 periods of 1000 clocks: exactly 10^6 clocks of 200 MHz / PIT_HZ. */
    assert_int_equal(f.now, 123 + 167619023ull);
    assert_true(naive != f.now - 123); /* adding a rounded period drifts */
}

static void test_mode2_count_and_out(void **s)
{
    (void)s;
    program(0, 2, 4);
    f.now = 0;
    assert_int_equal(read_count16(0), 4);
    assert_int_equal(status(0) & 0x80, 0x80);
    f.now = 100;
    assert_int_equal(read_count16(0), 3);
    f.now = 300; /* count 1: OUT low for one clock */
    assert_int_equal(read_count16(0), 1);
    assert_int_equal(status(0) & 0x80, 0);
    f.now = 400; /* reloaded */
    assert_int_equal(read_count16(0), 4);
    assert_int_equal(status(0) & 0x80, 0x80);
}

static void test_mode3_square_wave(void **s)
{
    (void)s;
    f.now = 1000;
    program(0, 3, 10); /* 1000 ticks per period */
    f.now = 1000 + 499;
    assert_int_equal(status(0) & 0x80, 0x80);
    f.now = 1000 + 500;
    assert_int_equal(status(0) & 0x80, 0);
    f.now = 1000 + 999;
    assert_int_equal(status(0) & 0x80, 0);
    assert_int_equal(vpit_update(&pit), 2000);
    assert_int_equal(f.ncalls, 0);
    f.now = 2000;
    assert_int_equal(status(0) & 0x80, 0x80);
    assert_int_equal(vpit_update(&pit), 3000);
    assert_int_equal(pulses(), 1);
    f.now = 3000;
    assert_int_equal(vpit_update(&pit), 4000);
    assert_int_equal(pulses(), 2);
}

static void test_mode3_odd_count(void **s)
{
    (void)s;
    program(0, 3, 5); /* high 3 clocks, low 2 */
    f.now = 299;
    assert_int_equal(status(0) & 0x80, 0x80);
    f.now = 300;
    assert_int_equal(status(0) & 0x80, 0);
    f.now = 499;
    assert_int_equal(status(0) & 0x80, 0);
    f.now = 500;
    assert_int_equal(status(0) & 0x80, 0x80);
    f.now = 0;
    assert_int_equal(read_count16(0), 4); /* odd counts load n - 1, step 2 */
    f.now = 100;
    assert_int_equal(read_count16(0), 2);
}

static void test_mode3_count_steps_by_two(void **s)
{
    (void)s;
    program(0, 3, 8);
    f.now = 0;
    assert_int_equal(read_count16(0), 8);
    f.now = 100;
    assert_int_equal(read_count16(0), 6);
    f.now = 400; /* second half starts at 8 again */
    assert_int_equal(read_count16(0), 8);
    f.now = 700;
    assert_int_equal(read_count16(0), 2);
}

/* vpit_next_deadline says what vpit_update would act on, and changes
 * nothing: no pulse, no count, the same deadline afterwards. */
static void test_next_deadline_peeks(void **s)
{
    (void)s;
    assert_int_equal(vpit_next_deadline(&pit), 0); /* not programmed */
    f.now = 7;
    program(0, 2, 1000);
    assert_int_equal(vpit_next_deadline(&pit), 7 + 100000);
    f.now = 7 + 350000; /* three periods late */
    assert_int_equal(vpit_next_deadline(&pit), 7 + 100000);
    assert_int_equal(f.ncalls, 0);
    assert_int_equal(pit.ticks_delivered, 0);
    assert_int_equal(vpit_update(&pit), 7 + 400000); /* one tick, two dropped */
    assert_int_equal(vpit_next_deadline(&pit), 7 + 400000);
    program(0, 0, 100); /* one-shot */
    f.now += 10000;
    vpit_update(&pit);
    assert_int_equal(vpit_next_deadline(&pit), 0); /* fired: nothing armed */
    assert_int_equal(vpit_next_deadline(NULL), 0);
}

static void test_mode0_fires_once(void **s)
{
    (void)s;
    f.now = 50;
    program(0, 0, 100);
    assert_int_equal(status(0) & 0x80, 0);
    assert_int_equal(vpit_update(&pit), 50 + 10000);
    f.now = 50 + 9999;
    assert_int_equal(vpit_update(&pit), 50 + 10000);
    assert_int_equal(f.ncalls, 0);
    f.now = 50 + 10000;
    assert_int_equal(vpit_update(&pit), 0);
    assert_int_equal(f.ncalls, 1);
    assert_int_equal(f.levels[0], 1); /* held high, not a pulse */
    assert_int_equal(status(0) & 0x80, 0x80);
    f.now += 100000000;
    assert_int_equal(vpit_update(&pit), 0);
    assert_int_equal(f.ncalls, 1);
    assert_int_equal(pit.ticks_delivered, 1);
    assert_int_equal(status(0) & 0x80, 0x80); /* OUT stays high */
}

static void test_mode0_keeps_counting_after_terminal_count(void **s)
{
    (void)s;
    program(0, 0, 3);
    f.now = 300;
    assert_int_equal(read_count16(0), 0);
    f.now = 400;
    assert_int_equal(read_count16(0), 0xFFFF);
    f.now = 500;
    assert_int_equal(read_count16(0), 0xFFFE);
}

static void test_mode0_rewrite_lowers_irq_and_restarts(void **s)
{
    (void)s;
    program(0, 0, 10);
    f.now = 1000;
    vpit_update(&pit);
    assert_int_equal(f.ncalls, 1);
    f.now = 5000;
    out8(0x40, 20); /* first byte: OUT and IRQ drop */
    assert_int_equal(f.ncalls, 2);
    assert_int_equal(f.levels[1], 0);
    assert_int_equal(status(0) & 0x80, 0);
    out8(0x40, 0);
    assert_int_equal(vpit_update(&pit), 5000 + 2000);
    f.now = 7000;
    assert_int_equal(vpit_update(&pit), 0);
    assert_int_equal(f.ncalls, 3);
    assert_int_equal(f.levels[2], 1);
    out8(0x43, 0x30); /* control word lowers it too */
    assert_int_equal(f.ncalls, 4);
    assert_int_equal(f.levels[3], 0);
}

static void test_mode0_first_byte_stops_counting(void **s)
{
    (void)s;
    program(0, 0, 1000);
    f.now = 200; /* count 998 */
    out8(0x40, 0x55);
    f.now = 5000;
    assert_int_equal(read_count16(0), 998);
    assert_int_equal(vpit_update(&pit), 0);
    out8(0x40, 0x00); /* new count 0x55 from now */
    assert_int_equal(read_count16(0), 0x55);
    assert_int_equal(vpit_update(&pit), 5000 + 0x55 * 100);
}

static void test_access_lsb_only(void **s)
{
    (void)s;
    out8(0x43, 0x14); /* ch0, LSB only, mode 2 */
    out8(0x40, 0x34);
    assert_int_equal(vpit_update(&pit), 0x34 * 100);
    f.now = 100;
    assert_int_equal(in8(0x40), 0x33);
    assert_int_equal(in8(0x40), 0x33); /* no flip-flop: LSB again */
    assert_int_equal(status(0) & 0x30, 0x10);
}

static void test_access_msb_only(void **s)
{
    (void)s;
    out8(0x43, 0x24); /* ch0, MSB only, mode 2 */
    out8(0x40, 0x12);
    assert_int_equal(vpit_update(&pit), 0x1200 * 100);
    f.now = 0x100 * 100;
    assert_int_equal(in8(0x40), 0x11);
    assert_int_equal(in8(0x40), 0x11);
}

static void test_access_lsb_then_msb(void **s)
{
    (void)s;
    out8(0x43, 0x34);
    out8(0x40, 0x78);
    assert_int_equal(vpit_update(&pit), 0); /* only half a count so far */
    out8(0x40, 0x56);
    assert_int_equal(vpit_update(&pit), 0x5678ull * 100);
    f.now = 0x78 * 100;
    assert_int_equal(in8(0x40), 0x00);
    assert_int_equal(in8(0x40), 0x56);
    assert_int_equal(in8(0x40), 0x00); /* the flip-flop alternates */
    out8(0x43, 0x34);                  /* a control word resets it */
    assert_int_equal(in8(0x40), 0x00);
    assert_int_equal(in8(0x40), 0x56);
}

static void test_count_decreases_with_time(void **s)
{
    uint16_t prev = 0xFFFF, c;

    (void)s;
    init_hz(HZ_INEXACT);
    program(0, 2, 50000);
    for (uint64_t t = 0; t < 8000000; t += 333333) {
        f.now = t;
        c = read_count16(0);
        assert_true(c < prev);
        assert_int_equal(c, 50000 - (uint64_t)((unsigned __int128)t * PIT_HZ / HZ_INEXACT));
        prev = c;
    }
}

static void test_counter_latch_freezes(void **s)
{
    (void)s;
    program(0, 2, 1000);
    f.now = 100 * 10;
    out8(0x43, 0x00); /* latch: 990 */
    f.now = 100 * 500;
    assert_int_equal(in8(0x40), 990 & 0xFF);
    f.now = 100 * 700;
    assert_int_equal(in8(0x40), 990 >> 8);
    assert_int_equal(read_count16(0), 300); /* released: live again */
}

static void test_second_latch_ignored(void **s)
{
    (void)s;
    program(0, 2, 1000);
    f.now = 100 * 10;
    out8(0x43, 0x00);
    f.now = 100 * 20;
    out8(0x43, 0x00); /* ignored: still 990 */
    assert_int_equal(read_count16(0), 990);
    out8(0x43, 0x00); /* fully read: a new one works */
    assert_int_equal(read_count16(0), 980);
}

static void test_latch_lsb_only_one_byte(void **s)
{
    (void)s;
    out8(0x43, 0x14);
    out8(0x40, 200);
    f.now = 100 * 50;
    out8(0x43, 0x00);
    f.now = 100 * 60;
    assert_int_equal(in8(0x40), 150);
    assert_int_equal(in8(0x40), 140); /* one byte releases the latch */
}

static void test_readback_status_then_count(void **s)
{
    (void)s;
    program(1, 2, 1000);
    f.now = 100 * 10;
    out8(0x43, 0xC4); /* count and status of channel 1 */
    f.now = 100 * 400;
    assert_int_equal(in8(0x41), 0x80 | 0x30 | 0x04);
    assert_int_equal(in8(0x41), 990 & 0xFF);
    assert_int_equal(in8(0x41), 990 >> 8);
    assert_int_equal(read_count16(1), 600);
}

static void test_readback_status_fields(void **s)
{
    (void)s;
    out8(0x43, 0x9B); /* ch2, LSB, mode 5, BCD */
    assert_int_equal(status(2), 0x80 | 0x40 | 0x1B);
    out8(0x43, 0x50); /* ch1, LSB, mode 0 */
    assert_int_equal(status(1), 0x40 | 0x10);
    out8(0x41, 5);
    assert_int_equal(status(1), 0x10); /* loaded, OUT still low */
    f.now = 500;
    assert_int_equal(status(1), 0x80 | 0x10); /* terminal count */
    /* One command for all three: each channel holds its own status. */
    out8(0x43, 0xEE);
    assert_int_equal(in8(0x42), 0x80 | 0x40 | 0x1B);
    assert_int_equal(in8(0x41), 0x80 | 0x10);
    assert_int_equal(in8(0x40), 0x40 | 0x30); /* power-up: mode 0, no count */
}

static void test_readback_second_status_ignored(void **s)
{
    (void)s;
    program(0, 0, 100);
    out8(0x43, 0xE2); /* status: OUT low */
    f.now = 100 * 100;
    out8(0x43, 0xE2); /* ignored, OUT high now */
    assert_int_equal(in8(0x40) & 0x80, 0);
    assert_int_equal(status(0) & 0x80, 0x80);
}

static void test_readback_keeps_held_count_latch(void **s)
{
    (void)s;
    program(0, 2, 1000);
    f.now = 100 * 10;
    out8(0x43, 0x00); /* latch 990 */
    f.now = 100 * 20;
    out8(0x43, 0xD2); /* read-back count: already held */
    assert_int_equal(read_count16(0), 990);
    out8(0x43, 0xD2);
    f.now = 100 * 30;
    assert_int_equal(read_count16(0), 980); /* read-back latched at 20 clocks */
}

static void test_null_count(void **s)
{
    (void)s;
    out8(0x43, 0x34);
    assert_int_equal(status(0) & 0x40, 0x40);
    out8(0x40, 0x10);
    assert_int_equal(status(0) & 0x40, 0x40); /* half a count */
    out8(0x40, 0x00);
    assert_int_equal(status(0) & 0x40, 0);
    out8(0x43, 0x34);
    assert_int_equal(status(0) & 0x40, 0x40); /* new mode: waits for a count */
}

static void test_reload_zero_is_65536(void **s)
{
    (void)s;
    init_hz(HZ_INEXACT);
    program(0, 2, 0);
    assert_int_equal(read_count16(0), 0);
    assert_int_equal(vpit_update(&pit), ticks(65536, HZ_INEXACT));
    f.now = ticks(1, HZ_INEXACT);
    assert_int_equal(read_count16(0), 0xFFFF);
    f.now = ticks(65536, HZ_INEXACT);
    assert_int_equal(vpit_update(&pit), ticks(2 * 65536, HZ_INEXACT));
    assert_int_equal(pit.ticks_delivered, 1);
    /* LSB-only 0 is 65536 too. */
    out8(0x43, 0x10);
    out8(0x40, 0);
    assert_int_equal(pit.ch[0].reload, 0x10000);
    assert_int_equal(in8(0x40), 0);
}

static void test_mode_aliases(void **s)
{
    (void)s;
    out8(0x43, 0x3C); /* mode 6 = 2 */
    out8(0x40, 10);
    out8(0x40, 0);
    f.now = 1000;
    assert_int_equal(vpit_update(&pit), 2000);
    assert_int_equal(pulses(), 1);
    f.now = 800;
    assert_int_equal(status(0) & 0x80, 0x80); /* mode 3 would be low here */
    f.now = 900;
    assert_int_equal(status(0) & 0x80, 0);
    out8(0x43, 0x3E); /* mode 7 = 3 */
    out8(0x40, 10);
    out8(0x40, 0);
    f.now = 900 + 500;
    assert_int_equal(status(0) & 0x80, 0); /* second half low */
}

static void test_control_word_stops_counting(void **s)
{
    (void)s;
    program(0, 2, 1000);
    f.now = 100 * 100;
    out8(0x43, 0x34);
    f.now = 100 * 5000;
    assert_int_equal(vpit_update(&pit), 0);
    assert_int_equal(f.ncalls, 0);
    assert_int_equal(read_count16(0), 900); /* frozen where it stopped */
}

static void test_new_count_restarts_period(void **s)
{
    (void)s;
    program(0, 2, 1000);
    f.now = 100 * 300;
    out8(0x40, 0xF4);
    out8(0x40, 0x01); /* 500 */
    assert_int_equal(vpit_update(&pit), 100 * 300 + 100 * 500);
    assert_int_equal(read_count16(0), 500);
}

static void test_port61_calibration_loop(void **s)
{
    const uint64_t n = 11932; /* about 10 ms */
    uint64_t t0 = 1000003, due, t;
    uint8_t v;

    (void)s;
    init_hz(HZ_INEXACT);
    f.now = t0;
    out8(0x61, (uint8_t)((in8(0x61) & ~0x02) | 0x01));
    out8(0x43, 0xB0); /* ch2, LSB/MSB, mode 0 */
    out8(0x42, (uint8_t)n);
    out8(0x42, (uint8_t)(n >> 8));
    due = t0 + ticks(n, HZ_INEXACT);
    for (t = t0; t < t0 + 10 * HZ_INEXACT; t += 997) {
        f.now = t;
        if (in8(0x61) & 0x20)
            break;
    }
    assert_true(t >= due && t < due + 997);
    f.now = due - 1;
    assert_int_equal(in8(0x61) & 0x20, 0);
    f.now = due;
    v = in8(0x61);
    assert_int_equal(v & 0x21, 0x21);
    assert_int_equal(f.ncalls, 0); /* channel 2 has no IRQ */
}

static void test_port61_gate_low_pauses_mode0(void **s)
{
    (void)s;
    out8(0x43, 0xB0);
    out8(0x42, 100);
    out8(0x42, 0); /* gate low: loaded, not counting */
    f.now = 100 * 1000;
    assert_int_equal(read_count16(2), 100);
    out8(0x61, 0x01);
    f.now += 100 * 40;
    assert_int_equal(read_count16(2), 60);
    out8(0x61, 0x00); /* pause at 60 */
    f.now += 100 * 1000;
    assert_int_equal(read_count16(2), 60);
    assert_int_equal(in8(0x61) & 0x20, 0);
    out8(0x61, 0x01);
    f.now += 100 * 59;
    assert_int_equal(in8(0x61) & 0x20, 0);
    f.now += 100;
    assert_int_equal(in8(0x61) & 0x20, 0x20);
}

static void test_port61_gate_rise_restarts_mode2(void **s)
{
    (void)s;
    out8(0x61, 0x01);
    program(2, 2, 100);
    f.now = 100 * 30;
    assert_int_equal(read_count16(2), 70);
    out8(0x61, 0x00); /* low: stop, OUT high */
    f.now = 100 * 99 + 100 * 500;
    assert_int_equal(read_count16(2), 70);
    assert_int_equal(in8(0x61) & 0x20, 0x20);
    out8(0x61, 0x01); /* rising edge: reload */
    assert_int_equal(read_count16(2), 100);
    f.now += 100 * 99;
    assert_int_equal(in8(0x61) & 0x20, 0); /* count 1: OUT strobe */
}

static void test_port61_mode1_one_shot(void **s)
{
    (void)s;
    program(2, 1, 50);
    f.now = 100 * 1000;
    assert_int_equal(in8(0x61) & 0x20, 0x20); /* no trigger yet: OUT high */
    assert_int_equal(status(2) & 0x40, 0x40); /* count not loaded yet */
    out8(0x61, 0x01);                         /* trigger */
    assert_int_equal(in8(0x61) & 0x20, 0);
    assert_int_equal(read_count16(2), 50);
    f.now += 100 * 49;
    assert_int_equal(in8(0x61) & 0x20, 0);
    out8(0x61, 0x00); /* low gate: ignored */
    f.now += 100;
    assert_int_equal(in8(0x61) & 0x20, 0x20);
    out8(0x61, 0x01); /* retrigger */
    assert_int_equal(in8(0x61) & 0x20, 0);
}

static void test_port61_refresh_and_bits(void **s)
{
    uint8_t a, b, c;

    (void)s;
    a = in8(0x61);
    b = in8(0x61);
    c = in8(0x61);
    assert_int_equal((a ^ b) & 0x10, 0x10);
    assert_int_equal((b ^ c) & 0x10, 0x10);
    out8(0x61, 0xFF); /* only bits 0-3 stick */
    a = in8(0x61);
    assert_int_equal(a & 0xCF, 0x0F);
    assert_int_equal(pit.ch[2].gate, 1);
    out8(0x61, 0x02);
    assert_int_equal(in8(0x61) & 0x0F, 0x02);
    assert_int_equal(pit.ch[2].gate, 0);
}

static void test_missed_ticks_one_interrupt(void **s)
{
    (void)s;
    f.now = 5;
    program(0, 2, 1000); /* 100000 ticks */
    f.now = 5 + 1000 * 100000ull + 50;
    assert_int_equal(vpit_update(&pit), 5 + 1001 * 100000ull);
    assert_int_equal(pulses(), 1);
    assert_int_equal(f.ncalls, 2);
    assert_int_equal(pit.ticks_delivered, 1);
    assert_int_equal(pit.ticks_dropped, 999);
    assert_int_equal(f.ntraces, 1);
    assert_int_equal(f.trace_b, 999);
    /* Back on the grid: the next one is on time, none dropped. */
    f.now = 5 + 1001 * 100000ull;
    assert_int_equal(vpit_update(&pit), 5 + 1002 * 100000ull);
    assert_int_equal(pit.ticks_dropped, 999);
    assert_int_equal(f.trace_b, 0);
}

static void test_missed_ticks_inexact(void **s)
{
    uint64_t d;

    (void)s;
    init_hz(HZ_INEXACT);
    program(0, 3, 1193);
    f.now = 10 * HZ_INEXACT + 17; /* about 10000 periods */
    d = vpit_update(&pit);
    assert_true(d > f.now);
    assert_true(d - f.now <= ticks(1193, HZ_INEXACT));
    assert_int_equal(pit.ticks_delivered, 1);
    /* Periods ended by now, less the one delivered. */
    assert_int_equal(pit.ticks_dropped,
                     (uint64_t)((unsigned __int128)f.now * PIT_HZ / HZ_INEXACT / 1193) - 1);
    assert_int_equal(d, ticks((pit.ticks_dropped + 2) * 1193, HZ_INEXACT));
}

static void test_huge_time_jump(void **s)
{
    uint64_t d;

    (void)s;
    program(0, 2, 2); /* shortest period */
    f.now = 1000000000000000ull;
    d = vpit_update(&pit);
    assert_true(d > f.now && d <= f.now + 200);
    assert_int_equal(pit.ticks_delivered, 1);
    assert_int_equal(pit.ticks_dropped, 1000000000000000ull / 200 - 1);
    assert_int_equal(f.trace_b, 0xFFFFFFFFu); /* saturated in the trace */
    /* Near the end of the TSC: no deadline past 2^64, and no wrap. */
    f.now = UINT64_MAX - 50;
    d = vpit_update(&pit);
    assert_true(d == 0 || d > f.now);
    f.now = UINT64_MAX;
    d = vpit_update(&pit);
    assert_true(d == 0 || d > f.now);
    (void)read_count16(0);
}

static void test_tiny_tsc_hz(void **s)
{
    uint64_t d;

    (void)s;
    init_hz(1); /* clocks far beyond 64 bits */
    program(0, 2, 3);
    f.now = UINT64_MAX / 2;
    d = vpit_update(&pit);
    assert_true(d == 0 || d > f.now);
    assert_int_equal(pit.ticks_delivered, 1);
    init_hz(0); /* taken as PIT_HZ */
    program(0, 2, 3);
    assert_int_equal(vpit_update(&pit), 3);
}

static void test_null_host_and_callbacks(void **s)
{
    uint8_t v;

    (void)s;
    vpit_init(&pit, HZ_EXACT, NULL, NULL, NULL);
    program(0, 2, 10);
    assert_int_equal(vpit_update(&pit), 1000); /* now is 0 throughout */
    assert_int_equal(read_count16(0), 10);
    assert_int_equal(vpit_port_read(&pit, 0x61, &v), 0);
    program(0, 0, 0);
    assert_int_equal(vpit_update(&pit), ticks(65536, HZ_EXACT));
    assert_int_equal(vpit_port_read(&pit, 0x40, NULL), -1);
}

static void test_trace_and_irq_callbacks(void **s)
{
    (void)s;
    program(0, 2, 10);
    f.now = 1000;
    vpit_update(&pit);
    assert_int_equal(f.ntraces, 1);
    assert_int_equal(f.trace_ev, TRACE_PIT_TICK);
    assert_int_equal(f.trace_a, 0);
    assert_int_equal(f.trace_b, 0);
    assert_int_equal(f.trace_c, 0);
    assert_int_equal(f.ncalls, 2);
    assert_int_equal(f.levels[0], 1);
    assert_int_equal(f.levels[1], 0);
    vpit_update(&pit); /* nothing due: no trace */
    assert_int_equal(f.ntraces, 1);
    host.trace = NULL;
    f.now = 2000;
    vpit_update(&pit);
    assert_int_equal(pulses(), 2);
}

static void test_no_irq_without_count(void **s)
{
    (void)s;
    out8(0x43, 0x34);
    f.now = 1000000000;
    assert_int_equal(vpit_update(&pit), 0);
    program(1, 2, 10); /* channels 1, 2 never raise IRQ 0 */
    out8(0x61, 1);
    program(2, 3, 10);
    f.now += 1000000;
    assert_int_equal(vpit_update(&pit), 0);
    assert_int_equal(f.ncalls, 0);
    assert_int_equal(f.ntraces, 0);
}

static void test_mode4_strobe_once(void **s)
{
    (void)s;
    program(0, 4, 10);
    f.now = 999;
    assert_int_equal(status(0) & 0x80, 0x80);
    assert_int_equal(vpit_update(&pit), 1000);
    f.now = 1000;
    assert_int_equal(status(0) & 0x80, 0); /* one-clock strobe */
    assert_int_equal(vpit_update(&pit), 0);
    assert_int_equal(pulses(), 1);
    f.now = 1100;
    assert_int_equal(status(0) & 0x80, 0x80);
    f.now = 1000 + 65536 * 100; /* wrapped: no second strobe */
    assert_int_equal(status(0) & 0x80, 0x80);
    assert_int_equal(vpit_update(&pit), 0);
    assert_int_equal(pulses(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_unknown_ports, setup),
        cmocka_unit_test_setup(test_next_deadline_peeks, setup),
        cmocka_unit_test_setup(test_mode2_exact_rate_1000_periods, setup),
        cmocka_unit_test_setup(test_mode2_inexact_no_drift, setup),
        cmocka_unit_test_setup(test_mode2_count_and_out, setup),
        cmocka_unit_test_setup(test_mode3_square_wave, setup),
        cmocka_unit_test_setup(test_mode3_odd_count, setup),
        cmocka_unit_test_setup(test_mode3_count_steps_by_two, setup),
        cmocka_unit_test_setup(test_mode0_fires_once, setup),
        cmocka_unit_test_setup(test_mode0_keeps_counting_after_terminal_count, setup),
        cmocka_unit_test_setup(test_mode0_rewrite_lowers_irq_and_restarts, setup),
        cmocka_unit_test_setup(test_mode0_first_byte_stops_counting, setup),
        cmocka_unit_test_setup(test_access_lsb_only, setup),
        cmocka_unit_test_setup(test_access_msb_only, setup),
        cmocka_unit_test_setup(test_access_lsb_then_msb, setup),
        cmocka_unit_test_setup(test_count_decreases_with_time, setup),
        cmocka_unit_test_setup(test_counter_latch_freezes, setup),
        cmocka_unit_test_setup(test_second_latch_ignored, setup),
        cmocka_unit_test_setup(test_latch_lsb_only_one_byte, setup),
        cmocka_unit_test_setup(test_readback_status_then_count, setup),
        cmocka_unit_test_setup(test_readback_status_fields, setup),
        cmocka_unit_test_setup(test_readback_second_status_ignored, setup),
        cmocka_unit_test_setup(test_readback_keeps_held_count_latch, setup),
        cmocka_unit_test_setup(test_null_count, setup),
        cmocka_unit_test_setup(test_reload_zero_is_65536, setup),
        cmocka_unit_test_setup(test_mode_aliases, setup),
        cmocka_unit_test_setup(test_control_word_stops_counting, setup),
        cmocka_unit_test_setup(test_new_count_restarts_period, setup),
        cmocka_unit_test_setup(test_port61_calibration_loop, setup),
        cmocka_unit_test_setup(test_port61_gate_low_pauses_mode0, setup),
        cmocka_unit_test_setup(test_port61_gate_rise_restarts_mode2, setup),
        cmocka_unit_test_setup(test_port61_mode1_one_shot, setup),
        cmocka_unit_test_setup(test_port61_refresh_and_bits, setup),
        cmocka_unit_test_setup(test_missed_ticks_one_interrupt, setup),
        cmocka_unit_test_setup(test_missed_ticks_inexact, setup),
        cmocka_unit_test_setup(test_huge_time_jump, setup),
        cmocka_unit_test_setup(test_tiny_tsc_hz, setup),
        cmocka_unit_test_setup(test_null_host_and_callbacks, setup),
        cmocka_unit_test_setup(test_trace_and_irq_callbacks, setup),
        cmocka_unit_test_setup(test_no_irq_without_count, setup),
        cmocka_unit_test_setup(test_mode4_strobe_once, setup),
    };
    return cmocka_run_group_tests_name("vpit", tests, NULL, NULL);
}
