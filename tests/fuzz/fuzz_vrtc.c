/* libFuzzer target: the virtual MC146818 RTC/CMOS (irq/vrtc.c). The input
 * is a TSC frequency choice, a start time, then a list of operations: index
 * and data writes, data reads, foreign ports, clock advances of any size
 * (saturating at 2^64 - 1 so time stays monotonic), and vrtc_update. Broken
 * invariants trap: IRQ 8 only in edges and always IRQF itself, no deadline
 * while IRQF is set or not after now, register C clear on a second read at
 * the same time, register D always VRT, decoded time fields in range. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../irq/vrtc.h"
#include "fuzz_input.h"

struct fuzz {
    uint64_t now;
    int level;
    uint64_t rises;
    int bad;
};

static uint64_t f_now(void *ctx) { return ((struct fuzz *)ctx)->now; }

static void f_irq(void *ctx, int level)
{
    struct fuzz *f = ctx;

    if ((level != 0 && level != 1) || level == f->level)
        f->bad = 1;
    f->level = level;
    f->rises += level;
}

static const uint64_t freqs[8] = {
    1000000000ull, 200000000, 2419200000ull, 3000000000ull, 32768, 1, 0, UINT64_MAX,
};

/* Registers the operations aim at most: the time, A-D, the century, NVRAM. */
static const uint8_t regs[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0A, 0x0B, 0x0C, 0x0D, 0x32, 0x40 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct fuzz f;
    struct irq_host host;
    struct vrtc r;
    struct vrtc_time t;
    uint64_t hz, d, last = 0;
    uint8_t sel, v;

    memset(&f, 0, sizeof(f));
    memset(&host, 0, sizeof(host));
    host.ctx = &f;
    host.now = f_now;
    sel = take8(&in);
    hz = sel & 0x80 ? take64(&in) : freqs[sel & 7];
    f.now = sel & 0x40 ? take64(&in) : 0;
    t = (struct vrtc_time){
        (uint16_t)(take8(&in) * 40), take8(&in), take8(&in), take8(&in), take8(&in), take8(&in)
    };
    vrtc_init(&r, hz, &host, f_irq, &f, &t, take64(&in), (sel & 0x20) ? 0x32 : 0);

    while (in.n) {
        uint8_t op = take8(&in);
        int rc;

        switch (op & 7) {
        case 0:
            rc = vrtc_port_write(&r, VRTC_PORT_INDEX, (op & 0x80) ? take8(&in) : regs[op >> 3 & 15]);
            if (rc)
                __builtin_trap();
            break;
        case 1:
            if (vrtc_port_write(&r, VRTC_PORT_DATA, take8(&in)))
                __builtin_trap();
            break;
        case 2:
            v = 0;
            if (vrtc_port_read(&r, VRTC_PORT_DATA, &v))
                __builtin_trap();
            if (r.index == 0x0D && v != VRTC_D_VRT)
                __builtin_trap();
            if (r.index == 0x0C) {
                uint8_t again = 0xFF;

                vrtc_port_read(&r, VRTC_PORT_DATA, &again);
                if (again != 0 || f.level)
                    __builtin_trap();
            }
            break;
        case 3:
            v = 0;
            if (vrtc_port_read(&r, (uint16_t)(0x72 + (op >> 3)), &v) != -1 ||
                vrtc_port_write(&r, (uint16_t)(0x6F - (op >> 3)), v) != -1)
                __builtin_trap();
            break;
        case 4: fuzz_advance(&f.now, (uint64_t)take8(&in) << (take8(&in) & 63)); break;
        case 5: fuzz_advance(&f.now, take64(&in)); break;
        case 6:
            /* Land exactly on the last deadline (or one tick before). */
            if (last > f.now)
                f.now = last - (op >> 7);
            /* fall through */
        default:
            d = vrtc_update(&r);
            if (d && d <= f.now)
                __builtin_trap();
            {
                uint64_t n = f.rises;

                if (vrtc_update(&r) != d || f.rises != n)
                    __builtin_trap();
            }
            last = d;
            break;
        }
        if (f.bad || f.level != r.irq_level || f.level != !!(r.cmos[0x0C] & VRTC_C_IRQF))
            __builtin_trap();
        if (f.level && vrtc_next_deadline(&r))
            __builtin_trap();
        if ((op & 0x78) == 0x78) {
            vrtc_get_time(&r, &t);
            if (t.mon < 1 || t.mon > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.min > 59 || t.sec > 59)
                __builtin_trap();
        }
    }
    return 0;
}
