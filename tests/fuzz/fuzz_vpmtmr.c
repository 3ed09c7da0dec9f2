/* libFuzzer target: the virtual ACPI PM timer and PM1a registers
 * (irq/vpmtmr.c). Operations: reads and writes of every width at every
 * offset in and around the block, clock advances, vpmtmr_update. Broken
 * invariants trap: the SCI only in edges and always the OR of status with
 * enable, the counter within 24 bits, no deadline not after now, a sleep
 * request only from a write that sets SLP_EN. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../irq/vpmtmr.h"
#include "fuzz_input.h"

struct fuzz {
    uint64_t now;
    int level;
    int bad;
};

static uint64_t f_now(void *ctx) { return ((struct fuzz *)ctx)->now; }

static void f_sci(void *ctx, int level)
{
    struct fuzz *f = ctx;

    if ((level != 0 && level != 1) || level == f->level)
        f->bad = 1;
    f->level = level;
}

static const uint64_t freqs[4] = { 2419200000ull, 200000000, 1, UINT64_MAX };
static const unsigned sizes[4] = { 1, 2, 4, 3 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct fuzz f;
    struct irq_host host;
    struct vpmtmr p;
    uint32_t v;
    uint64_t d;
    uint8_t sel = take8(&in);

    memset(&f, 0, sizeof(f));
    memset(&host, 0, sizeof(host));
    host.ctx = &f;
    host.now = f_now;
    f.now = sel & 0x40 ? take64(&in) : 0;
    vpmtmr_init(&p, sel & 0x80 ? take64(&in) : freqs[sel & 3], &host, f_sci, &f);

    while (in.n) {
        uint8_t op = take8(&in);
        unsigned off = take8(&in) % 16, sz = sizes[op >> 6];
        int valid = off < VPM_BLOCK_LEN && sz != 3, rc;

        switch (op & 3) {
        case 0:
            v = 0;
            rc = vpmtmr_read(&p, off, sz, &v);
            if (rc != (valid ? VPM_NONE : -1))
                __builtin_trap();
            if (valid && off == VPM_OFF_TMR && sz == 4 && (v >> 24))
                __builtin_trap();
            break;
        case 1:
            v = (uint32_t)take64(&in);
            rc = vpmtmr_write(&p, off, sz, v);
            if (!valid ? rc != -1 : rc == VPM_SLEEP ? p.sleep_typ > 7 : rc != VPM_NONE)
                __builtin_trap();
            if (rc == VPM_SLEEP && !(off <= 5 && off + sz > 5 && ((v >> (8 * (5 - off))) & 0x20)))
                __builtin_trap();
            break;
        case 2:
            fuzz_advance(&f.now, take8(&in) & 1 ? take64(&in) : (uint64_t)take8(&in) << (take8(&in) % 40));
            break;
        default:
            d = vpmtmr_update(&p);
            if (d && d <= f.now)
                __builtin_trap();
            break;
        }
        if (f.bad || f.level != ((p.sts & p.en & VPM_EN_MASK) != 0) || f.level != p.sci_level)
            __builtin_trap();
        if (vpmtmr_count(&p) > 0xFFFFFF)
            __builtin_trap();
    }
    return 0;
}
