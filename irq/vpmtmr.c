/* Virtual ACPI PM timer and PM1a registers (ACPI 6.x, 4.8.3: PM1 event
 * and control registers, the power-management timer). The counter is
 * derived from the TSC elapsed since init, so it is monotonic (modulo its
 * 24-bit wrap) as long as the TSC is. TMR_STS sets each time bit 23 of the
 * counter changes, as the spec says of a 24-bit timer; the SCI is the
 * level OR of status bits with their enables (as QEMU's PIIX4), whatever
 * SCI_EN says: there is no SMI side to route events to. */
#include "vpmtmr.h"

#include <stddef.h>
#include <string.h>

#define NEVER ((uint64_t)-1)

static uint64_t host_now(const struct vpmtmr *p)
{
    if (!p->host || !p->host->now)
        return 0;
    return p->host->now(p->host->ctx);
}

/* Timer ticks in the TSC interval since base (never more than the TSC
 * ticks, as tsc_hz >= VPM_HZ). */
static uint64_t ticks_at(const struct vpmtmr *p, uint64_t now)
{
    uint64_t e = now > p->base ? now - p->base : 0;

    return e / p->tsc_hz * VPM_HZ + e % p->tsc_hz * VPM_HZ / p->tsc_hz;
}

/* First TSC at which ticks_at reaches k, or 0 beyond 2^64. */
static uint64_t tsc_at_tick(const struct vpmtmr *p, uint64_t k)
{
    uint64_t whole = k / VPM_HZ, part = k % VPM_HZ;
    uint64_t d, frac = (part * p->tsc_hz + VPM_HZ - 1) / VPM_HZ;

    if (whole && p->tsc_hz > NEVER / whole)
        return 0;
    d = whole * p->tsc_hz;
    if (frac > NEVER - d || d + frac > NEVER - p->base)
        return 0;
    return p->base + d + frac;
}

static void drive_sci(struct vpmtmr *p)
{
    int level = (p->sts & p->en & VPM_EN_MASK) != 0;

    if (level == p->sci_level)
        return;
    p->sci_level = (uint8_t)level;
    if (p->sci)
        p->sci(p->sci_ctx, level);
}

static void catch_up(struct vpmtmr *p, uint64_t now)
{
    uint64_t n = ticks_at(p, now) >> 23;

    if (n > p->ovf_done) {
        p->ovf_done = n;
        p->sts |= VPM_TMR_STS;
    }
    drive_sci(p);
}

static void recompute_deadline(struct vpmtmr *p)
{
    p->next_dl = 0;
    if ((p->en & VPM_TMR_STS) && !(p->sts & VPM_TMR_STS) && p->ovf_done + 1 < (1ull << 41))
        p->next_dl = tsc_at_tick(p, (p->ovf_done + 1) << 23);
}

void vpmtmr_init(struct vpmtmr *p, uint64_t tsc_hz, const struct irq_host *host,
                 void (*sci)(void *ctx, int level), void *sci_ctx)
{
    memset(p, 0, sizeof(*p));
    /* Kept within [VPM_HZ, 2^40]: no product of the conversions overflows. */
    p->tsc_hz = tsc_hz < VPM_HZ ? VPM_HZ : tsc_hz > (1ull << 40) ? 1ull << 40 : tsc_hz;
    p->host = host;
    p->sci = sci;
    p->sci_ctx = sci_ctx;
    p->cnt = VPM_SCI_EN;
    p->base = host_now(p);
}

uint32_t vpmtmr_count(const struct vpmtmr *p) { return (uint32_t)(ticks_at(p, host_now(p)) & 0xFFFFFF); }

/* One byte of the block as it reads now. */
static uint8_t read_byte(const struct vpmtmr *p, unsigned off, uint32_t tmr)
{
    switch (off) {
    case 0:
    case 1: return (uint8_t)(p->sts >> (8 * off));
    case 2:
    case 3: return (uint8_t)(p->en >> (8 * (off - 2)));
    case 4:
    case 5: return (uint8_t)(p->cnt >> (8 * (off - 4)));
    case 8:
    case 9:
    case 10:
    case 11: return (uint8_t)(tmr >> (8 * (off - 8)));
    default: return 0; /* PM1a_CNT's unused upper half: reserved, 0 */
    }
}

int vpmtmr_read(struct vpmtmr *p, unsigned off, unsigned size, uint32_t *val)
{
    uint32_t v = 0, tmr;
    uint64_t now;

    if (!p || !val || off >= VPM_BLOCK_LEN || (size != 1 && size != 2 && size != 4))
        return -1;
    now = host_now(p);
    catch_up(p, now);
    tmr = (uint32_t)(ticks_at(p, now) & 0xFFFFFF);
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)(off + i < VPM_BLOCK_LEN ? read_byte(p, off + i, tmr) : 0xFF) << (8 * i);
    *val = v;
    recompute_deadline(p);
    return VPM_NONE;
}

int vpmtmr_write(struct vpmtmr *p, unsigned off, unsigned size, uint32_t val)
{
    int action = VPM_NONE;

    if (!p || off >= VPM_BLOCK_LEN || (size != 1 && size != 2 && size != 4))
        return -1;
    catch_up(p, host_now(p));
    for (unsigned i = 0; i < size && off + i < VPM_BLOCK_LEN; i++) {
        unsigned o = off + i, sh;
        uint16_t b = (uint8_t)(val >> (8 * i));

        switch (o) {
        case 0:
        case 1: /* status: write 1 to clear */ p->sts &= (uint16_t) ~(b << (8 * o)); break;
        case 2:
        case 3:
            sh = 8 * (o - 2);
            p->en = (uint16_t)((p->en & ~(0xFFu << sh)) | ((b << sh) & VPM_EN_MASK));
            break;
        case 4:
        case 5:
            sh = 8 * (o - 4);
            p->cnt = (uint16_t)((p->cnt & ~(0xFFu << sh)) | ((b << sh) & VPM_CNT_MASK));
            if ((b << sh) & VPM_SLP_EN) {
                p->sleep_typ = (uint8_t)((p->cnt & VPM_SLP_TYP_MASK) >> VPM_SLP_TYP_SHIFT);
                action = VPM_SLEEP;
            }
            break;
        default: /* the timer is read-only */ break;
        }
    }
    drive_sci(p);
    recompute_deadline(p);
    return action;
}

uint64_t vpmtmr_next_deadline(const struct vpmtmr *p) { return p ? p->next_dl : 0; }

uint64_t vpmtmr_update(struct vpmtmr *p)
{
    uint64_t now;

    if (!p || !p->next_dl)
        return 0;
    now = host_now(p);
    if (now < p->next_dl)
        return p->next_dl;
    catch_up(p, now);
    recompute_deadline(p);
    if (p->next_dl && p->next_dl <= now) /* only at the end of the 64-bit TSC */
        p->next_dl = 0;
    return p->next_dl;
}
