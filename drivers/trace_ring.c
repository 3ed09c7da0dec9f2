/* The interrupt trace's binary ring and its dump (trace_ring.h). */
#include "trace_ring.h"

#include "../arch/x86/fmt.h"

/* A ring of one record that nobody reads: where trace_put writes while the
 * ring is off, so that the writer never checks. */
static struct trace_rec sink;

void trace_ring_init(struct trace_ring *r, struct trace_rec *rec, uint64_t size)
{
    r->head = 0;
    if (!rec || !size || (size & (size - 1))) {
        r->base = (uint8_t *)&sink;
        r->mask = 0;
        return;
    }
    r->base = (uint8_t *)rec;
    r->mask = size * sizeof(struct trace_rec) - 1;
}

static uint64_t ring_size(const struct trace_ring *r)
{
    return r->base == (uint8_t *)&sink ? 0 : (r->mask + 1) / sizeof(struct trace_rec);
}

static uint64_t written(const struct trace_ring *r) { return r->head / sizeof(struct trace_rec); }

uint64_t trace_ring_held(const struct trace_ring *r)
{
    return written(r) < ring_size(r) ? written(r) : ring_size(r);
}

uint64_t trace_ring_dropped(const struct trace_ring *r) { return written(r) - trace_ring_held(r); }

const struct trace_rec *trace_ring_at(const struct trace_ring *r, uint64_t i)
{
    return (const struct trace_rec *)(r->base +
                                      (((trace_ring_dropped(r) + i) * sizeof(struct trace_rec)) & r->mask));
}

void trace_ring_dump(const struct trace_ring *r, uint64_t tsc_hz, uint64_t tsc_offset,
                     const char *const *names, unsigned nnames, void (*line)(void *ctx, const char *s),
                     void *ctx)
{
    char buf[160];
    uint64_t held = trace_ring_held(r);
    fmt_snprintf(buf, sizeof(buf), "tinyhv-trace begin v1 tsc_hz=%llu tsc_offset=%llx held=%llu dropped=%llu",
                 (unsigned long long)tsc_hz, (unsigned long long)tsc_offset, (unsigned long long)held,
                 (unsigned long long)trace_ring_dropped(r));
    line(ctx, buf);
    int n = fmt_snprintf(buf, sizeof(buf), "tinyhv-trace names ");
    for (unsigned i = 0; i < nnames; i++) {
        char one[32];
        if (names[i])
            fmt_snprintf(one, sizeof(one), "%s%s", i ? "," : "", names[i]);
        else
            fmt_snprintf(one, sizeof(one), "%sev%u", i ? "," : "", i);
        size_t len = 0;
        while (one[len])
            len++;
        if ((size_t)n + len >= sizeof(buf)) { /* a long list goes on over several lines */
            line(ctx, buf);
            n = fmt_snprintf(buf, sizeof(buf), "tinyhv-trace names+ ");
        }
        for (size_t k = 0; k <= len; k++)
            buf[n + (int)k] = one[k];
        n += (int)len;
    }
    line(ctx, buf);
    for (uint64_t i = 0; i < held; i++) {
        const struct trace_rec *p = trace_ring_at(r, i);
        fmt_snprintf(buf, sizeof(buf), "tinyhv-trace %llx %u %x %x %x",
                     (unsigned long long)p->tsc_hi << 32 | p->tsc_lo, p->ev, p->a, p->b, p->c);
        line(ctx, buf);
    }
    line(ctx, "tinyhv-trace end");
}
