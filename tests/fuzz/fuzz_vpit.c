/* libFuzzer target: the virtual 8254 PIT (irq/vpit.c). The input is a TSC
 * frequency choice, then a list of operations: port writes and reads at
 * 0x40-0x43, 0x61 and a few foreign ports, clock advances of any size
 * (saturating at 2^64 - 1 so time stays monotonic), and vpit_update. Broken
 * invariants trap. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../irq/vpit.h"
#include "fuzz_input.h"

struct fuzz {
    uint64_t now;
    int level; /* IRQ 0 as last driven */
    uint64_t raises, lowers;
    uint64_t traces;
    int bad;
};

static uint64_t f_now(void *ctx) { return ((struct fuzz *)ctx)->now; }

static void f_irq(void *ctx, int level)
{
    struct fuzz *f = ctx;

    /* Only edges: 1 after 0 and 0 after 1. */
    if ((level != 0 && level != 1) || level == f->level)
        f->bad = 1;
    f->level = level;
    if (level)
        f->raises++;
    else
        f->lowers++;
}

static void f_trace(void *ctx, enum irq_trace_event ev, uint32_t a, uint32_t b, uint32_t c)
{
    struct fuzz *f = ctx;

    (void)b;
    if (ev != TRACE_PIT_TICK || a != 0 || c != 0)
        f->bad = 1;
    f->traces++;
}

static const uint16_t ports[8] = { 0x40, 0x41, 0x42, 0x43, 0x61, 0x44, 0x60, 0x3F };

static const uint64_t freqs[8] = {
    (uint64_t)PIT_HZ * 100, 200000000, 2419200000ull, 3000000000ull, PIT_HZ, 1, 0, UINT64_MAX,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct fuzz f;
    struct irq_host host;
    struct vpit pit;
    uint64_t hz, d, last = 0, dropped = 0;
    int count_written = 0, nohost;
    uint8_t sel, v;

    memset(&f, 0, sizeof(f));
    memset(&host, 0, sizeof(host));
    host.ctx = &f;
    host.now = f_now;
    host.trace = f_trace;
    sel = take8(&in);
    hz = sel & 0x80 ? take64(&in) : freqs[sel & 7];
    f.now = sel & 0x40 ? take64(&in) : 0;
    nohost = (sel & 0x20) != 0;
    vpit_init(&pit, hz, nohost ? NULL : &host, f_irq, &f);

    while (in.n) {
        uint8_t op = take8(&in);
        uint16_t port = ports[op >> 5];
        int rc;

        switch (op & 7) {
        case 0:
        case 1:
            v = take8(&in);
            rc = vpit_port_write(&pit, port, v);
            if (rc != ((op >> 5) < 5 ? 0 : -1))
                __builtin_trap();
            if (port == 0x40)
                count_written = 1;
            break;
        case 2:
            v = 0;
            rc = vpit_port_read(&pit, port, &v);
            if (rc != ((op >> 5) < 5 ? 0 : -1))
                __builtin_trap();
            if (port == 0x61 && (v & 0xC0))
                __builtin_trap();
            break;
        case 3: fuzz_advance(&f.now, take8(&in)); break;
        case 4: fuzz_advance(&f.now, (uint64_t)take8(&in) << (take8(&in) & 63)); break;
        case 5: fuzz_advance(&f.now, take64(&in)); break;
        case 6:
            /* Land exactly on the last deadline (or one tick before). */
            if (last > f.now)
                f.now = last - (op >> 7);
            /* fall through */
        default:
            d = vpit_update(&pit);
            /* Without a host the model's time is 0 throughout. */
            if (d && d <= (nohost ? 0 : f.now))
                __builtin_trap();
            /* A second call at the same time owes nothing new. */
            {
                uint64_t r = f.raises;

                if (vpit_update(&pit) != d || f.raises != r)
                    __builtin_trap();
            }
            last = d;
            break;
        }
        if (f.bad)
            __builtin_trap();
        if (!count_written && (f.raises || f.lowers || f.traces || pit.ticks_delivered))
            __builtin_trap();
        if (f.raises != pit.ticks_delivered || f.traces != (nohost ? 0 : f.raises))
            __builtin_trap();
        if (pit.ticks_dropped < dropped)
            __builtin_trap();
        dropped = pit.ticks_dropped;
    }
    return 0;
}
