/* The interrupt trace as a binary ring in memory (DESIGN §6, §9): one
 * fixed-size record per step of an interrupt's path (guest TSC, event,
 * three arguments), written in a handful of instructions and never
 * blocking: when the ring is full the newest record overwrites the oldest,
 * and the dump says how many were lost. Dumped once, as text lines, at the
 * end of the run; scripts/trace2json.py turns the dump into trace-event
 * JSON and a PNG. Pure C: host-tested (tests/unit/test_trace_ring.c). */
#ifndef DRIVERS_TRACE_RING_H
#define DRIVERS_TRACE_RING_H

#include <stddef.h>
#include <stdint.h>

/* 32 bytes, so that finding the next record is a shift-free AND. */
struct trace_rec {
    uint32_t ev; /* enum irq_trace_event */
    uint32_t a, b, c;
    uint32_t tsc_lo, tsc_hi; /* the host's TSC (the dump's reader adds the guest's offset) */
    uint32_t reserved[2];
};

struct trace_ring {
    uint8_t *base; /* size records; size a power of two */
    uint64_t mask; /* size * sizeof(struct trace_rec) - 1 */
    uint64_t head; /* bytes ever written: the next record is at base + (head & mask) */
};

/* rec: room for size records, size a power of two (else the ring stays
 * off: trace_put then writes nothing). */
void trace_ring_init(struct trace_ring *r, struct trace_rec *rec, uint64_t size);

/* The next record to fill: the oldest is overwritten when the ring is full. */
static inline struct trace_rec *trace_slot(struct trace_ring *r)
{
    uint64_t at = r->head;
    r->head = at + sizeof(struct trace_rec);
    return (struct trace_rec *)(r->base + (at & r->mask));
}

static inline void trace_put(struct trace_ring *r, uint64_t tsc, uint32_t ev, uint32_t a, uint32_t b,
                             uint32_t c)
{
    struct trace_rec *p = trace_slot(r);
    p->ev = ev;
    p->a = a;
    p->b = b;
    p->c = c;
    p->tsc_lo = (uint32_t)tsc;
    p->tsc_hi = (uint32_t)(tsc >> 32);
}

/* Records held (at most the ring's size) and records lost to overwriting. */
uint64_t trace_ring_held(const struct trace_ring *r);
uint64_t trace_ring_dropped(const struct trace_ring *r);
/* The i-th oldest record held (i < trace_ring_held). */
const struct trace_rec *trace_ring_at(const struct trace_ring *r, uint64_t i);

/* Writes the dump as text lines, each handed to line() without its
 * newline:
 *   tinyhv-trace begin v1 tsc_hz=<hz> tsc_offset=<hex> held=<n> dropped=<n>
 *   tinyhv-trace names <name0>,<name1>,...      (event numbers in order)
 *   tinyhv-trace <tsc hex> <ev> <a hex> <b hex> <c hex>     (oldest first)
 *   tinyhv-trace end
 * names[i] is the name of event i (NULL: "ev<i>"); tsc_offset is the
 * guest's TSC offset at the end (the events that changed it on the way say
 * by how much). */
void trace_ring_dump(const struct trace_ring *r, uint64_t tsc_hz, uint64_t tsc_offset,
                     const char *const *names, unsigned nnames, void (*line)(void *ctx, const char *s),
                     void *ctx);

#endif
