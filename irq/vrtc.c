/* Virtual MC146818 RTC/CMOS, after the Motorola MC146818A datasheet
 * (registers A-D, update cycle, interrupts) and the PC's CMOS map (memory
 * size bytes, century byte named by the FADT).
 *
 * Simplifications, none visible to PC software that follows the datasheet:
 * - The update is instantaneous at each second boundary of the divider
 *   chain; UIP reads 1 for the VRTC_UIP_CLOCKS clocks (244 us) before it.
 * - Time registers are encoded from a seconds count on each read, so a
 *   change of DM or 24/12 in register B re-encodes the time at once (the
 *   chip would keep the old bytes until the guest rewrites them). A time
 *   byte written with a value out of range is reduced into range (seconds
 *   modulo 60, ...). While the clock is held (SET, or the divider stopped)
 *   the fields are kept one by one; when it runs again a day past the
 *   month's end rolls into the next month, as does a write while it runs. The day of week (register 6) follows the date; writes to it are
 *   ignored.
 * - Daylight-saving (DSE) and the square-wave output (SQWE) are stored,
 *   nothing more. Divider values 000-010 all run the clock from our
 *   32.768 kHz time base, as QEMU does; 011-111 stop it, and leaving the
 *   reset values puts the first update 500 ms later (datasheet).
 * - The IRQ output is IRQF itself: it rises when an enabled flag sets and
 *   falls when register C is read (or the enables no longer cover a flag);
 *   on the edge-triggered ISA IRQ 8 that is one interrupt per read of C. */
#include "vrtc.h"

#include <stddef.h>
#include <string.h>

#define REG_SEC     0x00
#define REG_SEC_AL  0x01
#define REG_MIN     0x02
#define REG_MIN_AL  0x03
#define REG_HOUR    0x04
#define REG_HOUR_AL 0x05
#define REG_DOW     0x06
#define REG_DAY     0x07
#define REG_MON     0x08
#define REG_YEAR    0x09
#define REG_A       0x0A
#define REG_B       0x0B
#define REG_C       0x0C
#define REG_D       0x0D

#define TIMEBASE 32768u /* divider clocks per second */
#define DAY_SECS 86400u
#define NEVER    ((uint64_t)-1)

static uint64_t host_now(const struct vrtc *r)
{
    if (!r->host || !r->host->now)
        return 0;
    return r->host->now(r->host->ctx);
}

/* ---- the calendar (proleptic Gregorian, H. Hinnant's era arithmetic);
 * days count from 0400 BC-03-01 so that every quantity stays unsigned ---- */

static uint64_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
    unsigned yy = y + 400 - (m <= 2);
    unsigned era = yy / 400, yoe = yy % 400;
    unsigned mp = m > 2 ? m - 3 : m + 9;
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return (uint64_t)era * 146097 + doe;
}

static void civil_from_days(uint64_t z, unsigned *y, unsigned *m, unsigned *d)
{
    unsigned era = (unsigned)(z / 146097), doe = (unsigned)(z % 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2) - 400;
}

struct fields {
    unsigned year, mon, day, hour, min, sec;
};

static void split(uint64_t secs, struct fields *f)
{
    unsigned tod = (unsigned)(secs % DAY_SECS);

    civil_from_days(secs / DAY_SECS, &f->year, &f->mon, &f->day);
    f->hour = tod / 3600;
    f->min = tod / 60 % 60;
    f->sec = tod % 60;
}

static uint64_t join(const struct fields *f)
{
    return days_from_civil(f->year, f->mon, f->day) * DAY_SECS + f->hour * 3600u + f->min * 60u + f->sec;
}

/* 1 = Sunday ... 7 = Saturday; 2000-01-01 was a Saturday. */
static unsigned day_of_week(uint64_t secs)
{
    uint64_t days = secs / DAY_SECS, ref = days_from_civil(2000, 1, 1);

    return (unsigned)((days % 7 + 7 - ref % 7 + 6) % 7) + 1;
}

static int valid_time(const struct vrtc_time *t)
{
    return t && t->year <= 9999 && t->mon >= 1 && t->mon <= 12 && t->day >= 1 && t->day <= 31 &&
           t->hour < 24 && t->min < 60 && t->sec < 60;
}

/* ---- encoding per register B ---- */

static uint8_t enc(uint8_t b, unsigned v)
{
    return (b & VRTC_B_DM_BIN) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned dec(uint8_t b, uint8_t v)
{
    return (b & VRTC_B_DM_BIN) ? v : (unsigned)(v >> 4) * 10 + (v & 15);
}

static uint8_t enc_hour(uint8_t b, unsigned h)
{
    if (b & VRTC_B_24H)
        return enc(b, h);
    return (uint8_t)(enc(b, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0));
}

/* 0-23, or 24 and more for a byte that is no hour. */
static unsigned dec_hour(uint8_t b, uint8_t v)
{
    unsigned h;

    if (b & VRTC_B_24H)
        return dec(b, v);
    h = dec(b, v & 0x7F);
    if (h == 0 || h > 12)
        return 24 + h;
    return (h % 12) + ((v & 0x80) ? 12 : 0);
}

/* ---- the divider chain ---- */

/* Divider clocks since div_base at now (0 before it): below 2^59, as
 * tsc_hz is at least 1 MHz. */
static uint64_t clocks_at(const struct vrtc *r, uint64_t now)
{
    uint64_t e = now > r->div_base ? now - r->div_base : 0;

    return e / r->tsc_hz * TIMEBASE + e % r->tsc_hz * TIMEBASE / r->tsc_hz;
}

/* The first TSC at which clocks_at() reaches c seconds (c_secs) plus
 * c_clocks clocks, or 0 if beyond 2^64. */
static uint64_t tsc_at(const struct vrtc *r, uint64_t c_secs, uint64_t c_clocks)
{
    uint64_t whole = c_secs + c_clocks / TIMEBASE, part = c_clocks % TIMEBASE;
    uint64_t d, frac = (part * r->tsc_hz + TIMEBASE - 1) / TIMEBASE;

    if (whole < c_secs || (whole && r->tsc_hz > NEVER / whole))
        return 0;
    d = whole * r->tsc_hz;
    if (frac > NEVER - d || d + frac > NEVER - r->div_base)
        return 0;
    return r->div_base + d + frac;
}

/* Periodic-interrupt period in divider clocks (register A RS), 0 = off. */
static uint64_t period_clocks(const struct vrtc *r)
{
    unsigned rs = r->cmos[REG_A] & VRTC_A_RS_MASK;

    if (!rs)
        return 0;
    return rs < 3 ? 128u << (rs - 1) : 1u << (rs - 1);
}

static int held(const struct vrtc *r) { return !r->running || (r->cmos[REG_B] & VRTC_B_SET); }

static void hold_to_fields(const struct vrtc *r, struct fields *f)
{
    *f = (struct fields){ r->hold.year, r->hold.mon, r->hold.day, r->hold.hour, r->hold.min, r->hold.sec };
}

/* The clock in seconds at now, whose evaluated seconds are secs_done. */
static uint64_t clock_now(const struct vrtc *r)
{
    struct fields f;

    if (!held(r))
        return r->offset + r->secs_done;
    hold_to_fields(r, &f);
    return join(&f);
}

/* The clock stops: its fields are kept as they are, so that a guest can
 * set them one by one (a day 31 written before the month stays 31). */
static void enter_hold(struct vrtc *r)
{
    struct fields f;

    split(clock_now(r), &f);
    r->hold = (struct vrtc_time){ (uint16_t)f.year, (uint8_t)f.mon, (uint8_t)f.day,
                                  (uint8_t)f.hour,  (uint8_t)f.min, (uint8_t)f.sec };
}

/* The clock runs on from what the held fields say (normalized now). */
static void leave_hold(struct vrtc *r)
{
    struct fields f;

    hold_to_fields(r, &f);
    r->offset = join(&f) - r->secs_done;
}

/* ---- the alarm ---- */

/* An alarm byte as a value 0..lim-1, -1 for "don't care" (bits 7:6 both
 * set), or lim for a byte that never matches. */
static int alarm_field(const struct vrtc *r, uint8_t v, unsigned lim, int hour)
{
    uint8_t b = r->cmos[REG_B];
    unsigned x;

    if ((v & 0xC0) == 0xC0)
        return -1;
    x = hour ? dec_hour(b, v) : dec(b, v);
    return (int)(x < lim ? x : lim);
}

static int matches(int want, unsigned v) { return want < 0 || (unsigned)want == v; }

/* The first clock second after `after` at which the alarm matches, or NEVER. */
static uint64_t next_alarm(const struct vrtc *r, uint64_t after)
{
    int ah = alarm_field(r, r->cmos[REG_HOUR_AL], 24, 1);
    int am = alarm_field(r, r->cmos[REG_MIN_AL], 60, 0);
    int as = alarm_field(r, r->cmos[REG_SEC_AL], 60, 0);
    uint64_t day0 = after - after % DAY_SECS;

    for (unsigned day = 0; day < 2; day++) {
        unsigned from = day ? 0 : (unsigned)(after % DAY_SECS) + 1;

        for (unsigned h = 0; h < 24; h++) {
            if (!matches(ah, h) || h * 3600 + 3599 < from)
                continue;
            for (unsigned m = 0; m < 60; m++) {
                if (!matches(am, m) || h * 3600 + m * 60 + 59 < from)
                    continue;
                for (unsigned s = 0; s < 60; s++) {
                    unsigned t = h * 3600 + m * 60 + s;

                    if (matches(as, s) && t >= from)
                        return day0 + day * (uint64_t)DAY_SECS + t;
                }
            }
        }
    }
    return NEVER;
}

/* ---- flags, IRQ 8 and the deadline ---- */

static void set_line(struct vrtc *r, int level)
{
    if (level == r->irq_level)
        return;
    r->irq_level = (uint8_t)level;
    if (level)
        r->irqs++;
    if (r->raise_irq)
        r->raise_irq(r->irq_ctx, level);
}

/* IRQF = PF.PIE + AF.AIE + UF.UIE (the flag and enable bits line up). */
static void eval_irqf(struct vrtc *r)
{
    uint8_t *c = &r->cmos[REG_C];

    if (*c & r->cmos[REG_B] & (VRTC_C_PF | VRTC_C_AF | VRTC_C_UF))
        *c |= VRTC_C_IRQF;
    else
        *c &= (uint8_t)~VRTC_C_IRQF;
    set_line(r, (*c & VRTC_C_IRQF) != 0);
}

/* Sets the flags of every period and update that passed up to now. */
static void catch_up(struct vrtc *r, uint64_t now)
{
    uint64_t c, s, per;

    if (!r->running)
        return;
    c = clocks_at(r, now);
    s = c / TIMEBASE;
    per = period_clocks(r);
    if (per && c / per > r->periods_done) {
        r->periods_done = c / per;
        r->cmos[REG_C] |= VRTC_C_PF;
    }
    if (s > r->secs_done) {
        if (!(r->cmos[REG_B] & VRTC_B_SET)) {
            uint64_t before = r->offset + r->secs_done, after = r->offset + s;
            uint64_t a = next_alarm(r, before);

            r->cmos[REG_C] |= VRTC_C_UF;
            if (a != NEVER && a <= after)
                r->cmos[REG_C] |= VRTC_C_AF;
        }
        r->secs_done = s;
    }
    eval_irqf(r);
}

static void earliest(uint64_t *best, uint64_t t)
{
    if (t && (!*best || t < *best))
        *best = t;
}

/* Only an enabled interrupt that can still raise IRQ 8 needs a deadline:
 * none while IRQF is set (the line is already up until C is read). */
static void recompute_deadline(struct vrtc *r)
{
    uint8_t b = r->cmos[REG_B];
    uint64_t best = 0, per = period_clocks(r);

    r->next_dl = 0;
    if (!r->running || (r->cmos[REG_C] & VRTC_C_IRQF))
        return;
    if ((b & VRTC_B_PIE) && per)
        earliest(&best, tsc_at(r, 0, (r->periods_done + 1) * per));
    if (!(b & VRTC_B_SET)) {
        if (b & VRTC_B_UIE)
            earliest(&best, tsc_at(r, r->secs_done + 1, 0));
        if (b & VRTC_B_AIE) {
            uint64_t a = next_alarm(r, r->offset + r->secs_done);

            if (a != NEVER)
                earliest(&best, tsc_at(r, a - r->offset, 0));
        }
    }
    r->next_dl = best;
}

/* ---- registers ---- */

static uint8_t read_time_byte(const struct vrtc *r, uint8_t reg)
{
    uint8_t b = r->cmos[REG_B];
    uint64_t now = clock_now(r);
    struct fields f;

    if (held(r))
        hold_to_fields(r, &f);
    else
        split(now, &f);
    switch (reg) {
    case REG_SEC: return enc(b, f.sec);
    case REG_MIN: return enc(b, f.min);
    case REG_HOUR: return enc_hour(b, f.hour);
    case REG_DOW: return enc(b, day_of_week(now));
    case REG_DAY: return enc(b, f.day);
    case REG_MON: return enc(b, f.mon);
    case REG_YEAR: return enc(b, f.year % 100);
    default: return enc(b, f.year / 100); /* the century byte */
    }
}

static void write_time_byte(struct vrtc *r, uint8_t reg, uint8_t v)
{
    uint8_t b = r->cmos[REG_B];
    unsigned x = dec(b, v);
    struct fields f;

    if (held(r))
        hold_to_fields(r, &f);
    else
        split(clock_now(r), &f);
    switch (reg) {
    case REG_SEC: f.sec = x % 60; break;
    case REG_MIN: f.min = x % 60; break;
    case REG_HOUR: f.hour = dec_hour(b, v) % 24; break;
    case REG_DOW: return;
    case REG_DAY: f.day = x % 32 ? x % 32 : 1; break;
    case REG_MON: f.mon = x % 13 ? x % 13 : 1; break;
    case REG_YEAR: f.year = f.year / 100 * 100 + x % 100; break;
    default: f.year = x % 100 * 100 + f.year % 100; break;
    }
    if (held(r))
        r->hold = (struct vrtc_time){ (uint16_t)f.year, (uint8_t)f.mon, (uint8_t)f.day,
                                      (uint8_t)f.hour,  (uint8_t)f.min, (uint8_t)f.sec };
    else
        r->offset = join(&f) - r->secs_done;
}

static int is_time_reg(const struct vrtc *r, uint8_t reg)
{
    return reg == REG_SEC || reg == REG_MIN || reg == REG_HOUR || (reg >= REG_DOW && reg <= REG_YEAR) ||
           (r->century_reg >= 0x0E && reg == r->century_reg);
}

static uint8_t read_reg(struct vrtc *r, uint8_t reg, uint64_t now)
{
    uint8_t v;

    if (is_time_reg(r, reg))
        return read_time_byte(r, reg);
    switch (reg) {
    case REG_A:
        v = r->cmos[REG_A];
        if (!held(r) && clocks_at(r, now) % TIMEBASE >= TIMEBASE - VRTC_UIP_CLOCKS)
            v |= VRTC_A_UIP;
        return v;
    case REG_C:
        v = r->cmos[REG_C];
        r->cmos[REG_C] = 0;
        set_line(r, 0);
        return v;
    case REG_D: return VRTC_D_VRT;
    default: return r->cmos[reg];
    }
}

/* The divider starts (DV 000-010) or stops (anything else). */
static void write_a(struct vrtc *r, uint8_t v, uint64_t now)
{
    int run = (v & VRTC_A_DV_MASK) <= VRTC_A_DV_32K;

    if (r->running && !run) {
        if (!held(r))
            enter_hold(r);
        r->running = 0;
    }
    r->cmos[REG_A] = v & (uint8_t)~VRTC_A_UIP;
    if (!r->running && run) {
        /* Out of reset the first update comes 500 ms later. */
        uint64_t c, half = r->tsc_hz / 2;

        r->div_base = now > half ? now - half : 0;
        r->running = 1;
        c = clocks_at(r, now);
        r->secs_done = c / TIMEBASE;
        if (!held(r))
            leave_hold(r);
    }
    if (r->running && period_clocks(r))
        r->periods_done = clocks_at(r, now) / period_clocks(r);
}

static void write_b(struct vrtc *r, uint8_t v)
{
    uint8_t old = r->cmos[REG_B];

    if (v & VRTC_B_SET)
        v &= (uint8_t)~VRTC_B_UIE; /* datasheet: SET clears UIE */
    if (!(old & VRTC_B_SET) && (v & VRTC_B_SET) && !held(r))
        enter_hold(r);
    r->cmos[REG_B] = v;
    if ((old & VRTC_B_SET) && !(v & VRTC_B_SET) && !held(r))
        leave_hold(r);
    eval_irqf(r);
}

static void write_reg(struct vrtc *r, uint8_t reg, uint8_t v, uint64_t now)
{
    if (is_time_reg(r, reg)) {
        write_time_byte(r, reg, v);
        return;
    }
    switch (reg) {
    case REG_A: write_a(r, v, now); break;
    case REG_B: write_b(r, v); break;
    case REG_C:
    case REG_D: break;                /* read-only */
    default: r->cmos[reg] = v; break; /* alarm bytes and CMOS memory */
    }
}

/* ---- the CMOS memory map ---- */

static void put16(uint8_t *p, uint64_t v)
{
    if (v > 0xFFFF)
        v = 0xFFFF;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void fill_memory_bytes(struct vrtc *r, uint64_t ram)
{
    uint64_t below = ram < (1ull << 32) ? ram : 1ull << 32, above = ram - below, sum = 0;
    uint64_t ext = below > (1u << 20) ? (below >> 10) - 1024 : 0;

    put16(&r->cmos[0x15], 640); /* base memory, KiB */
    put16(&r->cmos[0x17], ext); /* above 1 MiB, KiB */
    put16(&r->cmos[0x30], ext);
    put16(&r->cmos[0x34], below > (16u << 20) ? (below - (16u << 20)) >> 16 : 0); /* above 16 MiB, 64 KiB */
    above >>= 16; /* above 4 GiB, 64 KiB units */
    if (above > 0xFFFFFF)
        above = 0xFFFFFF;
    r->cmos[0x5B] = (uint8_t)above;
    r->cmos[0x5C] = (uint8_t)(above >> 8);
    r->cmos[0x5D] = (uint8_t)(above >> 16);
    for (unsigned i = 0x10; i <= 0x2D; i++) /* the standard checksum */
        sum += r->cmos[i];
    r->cmos[0x2E] = (uint8_t)(sum >> 8);
    r->cmos[0x2F] = (uint8_t)sum;
}

/* ---- interface ---- */

void vrtc_init(struct vrtc *r, uint64_t tsc_hz, const struct irq_host *host,
               void (*raise_irq)(void *ctx, int level), void *irq_ctx, const struct vrtc_time *t,
               uint64_t ram_size, uint8_t century_reg)
{
    struct fields f = { 2000, 1, 1, 0, 0, 0 };

    memset(r, 0, sizeof(*r));
    /* Kept within [1 MHz, 2^48]: no product of the conversions overflows. */
    r->tsc_hz = tsc_hz < 1000000 ? 1000000 : tsc_hz > (1ull << 48) ? 1ull << 48 : tsc_hz;
    r->host = host;
    r->raise_irq = raise_irq;
    r->irq_ctx = irq_ctx;
    r->century_reg = century_reg < VRTC_CMOS_SIZE ? century_reg : 0;
    if (valid_time(t))
        f = (struct fields){ t->year, t->mon, t->day, t->hour, t->min, t->sec };
    /* What a PC BIOS leaves: 32.768 kHz, 1024 Hz rate, BCD, 24 hours. */
    r->cmos[REG_A] = VRTC_A_DV_32K | 6;
    r->cmos[REG_B] = VRTC_B_24H;
    r->offset = join(&f);
    r->div_base = host_now(r);
    r->running = 1;
    fill_memory_bytes(r, ram_size);
}

int vrtc_port_read(struct vrtc *r, uint16_t port, uint8_t *val)
{
    uint64_t now;

    if (!r || !val)
        return -1;
    if (port == VRTC_PORT_INDEX) {
        *val = 0xFF; /* write-only on a PC */
        return 0;
    }
    if (port != VRTC_PORT_DATA)
        return -1;
    now = host_now(r);
    catch_up(r, now);
    *val = read_reg(r, r->index, now);
    recompute_deadline(r);
    return 0;
}

int vrtc_port_write(struct vrtc *r, uint16_t port, uint8_t val)
{
    uint64_t now;

    if (!r)
        return -1;
    if (port == VRTC_PORT_INDEX) {
        r->index = val & 0x7F;
        r->nmi_masked = val >> 7;
        return 0;
    }
    if (port != VRTC_PORT_DATA)
        return -1;
    now = host_now(r);
    catch_up(r, now);
    write_reg(r, r->index, val, now);
    catch_up(r, now);
    recompute_deadline(r);
    return 0;
}

uint64_t vrtc_next_deadline(const struct vrtc *r) { return r ? r->next_dl : 0; }

uint64_t vrtc_update(struct vrtc *r)
{
    uint64_t now;

    if (!r || !r->next_dl)
        return 0;
    now = host_now(r);
    if (now < r->next_dl)
        return r->next_dl;
    catch_up(r, now);
    recompute_deadline(r);
    /* A deadline not after now would mean no progress (only at the end of
     * the 64-bit TSC). */
    if (r->next_dl && r->next_dl <= now)
        r->next_dl = 0;
    return r->next_dl;
}

void vrtc_get_time(struct vrtc *r, struct vrtc_time *t)
{
    struct fields f;

    catch_up(r, host_now(r));
    recompute_deadline(r);
    if (held(r))
        hold_to_fields(r, &f);
    else
        split(clock_now(r), &f);
    *t = (struct vrtc_time){ (uint16_t)f.year, (uint8_t)f.mon, (uint8_t)f.day,
                             (uint8_t)f.hour,  (uint8_t)f.min, (uint8_t)f.sec };
}

int vrtc_time_from_regs(const uint8_t regs[10], uint8_t reg_b, uint8_t century, struct vrtc_time *t)
{
    unsigned yy = dec(reg_b, regs[REG_YEAR]), cc = century ? dec(reg_b, century) : 0;

    if (cc < 19 || cc > 99)
        cc = yy < 70 ? 20 : 19; /* no century byte: the usual PC guess */
    *t = (struct vrtc_time){
        .year = (uint16_t)(cc * 100 + yy),
        .mon = (uint8_t)dec(reg_b, regs[REG_MON]),
        .day = (uint8_t)dec(reg_b, regs[REG_DAY]),
        .hour = (uint8_t)dec_hour(reg_b, regs[REG_HOUR]),
        .min = (uint8_t)dec(reg_b, regs[REG_MIN]),
        .sec = (uint8_t)dec(reg_b, regs[REG_SEC]),
    };
    return yy < 100 && valid_time(t) ? 0 : -1;
}
