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

struct trace_rec {
    uint64_t tsc;            /* guest TSC */
    uint32_t ev;             /* enum irq_trace_event */
    uint32_t a, b, c;
};

struct trace_ring {
    struct trace_rec *rec;   /* size records; size a power of two */
    uint64_t mask;           /* size - 1 */
    uint64_t head;           /* records ever written (the next goes to head & mask) */
};

/* rec: room for size records, size a power of two (else the ring stays
 * off: trace_put then writes nothing). */
void trace_ring_init(struct trace_ring *r, struct trace_rec *rec, uint64_t size);

static inline void trace_put(struct trace_ring *r, uint64_t tsc, uint32_t ev, uint32_t a, uint32_t b,
                             uint32_t c)
{
    struct trace_rec *p = &r->rec[r->head++ & r->mask];
    p->tsc = tsc;
    p->ev = ev;
    p->a = a;
    p->b = b;
    p->c = c;
}

/* Records held (at most the ring's size) and records lost to overwriting. */
uint64_t trace_ring_held(const struct trace_ring *r);
uint64_t trace_ring_dropped(const struct trace_ring *r);
/* The i-th oldest record held (i < trace_ring_held). */
const struct trace_rec *trace_ring_at(const struct trace_ring *r, uint64_t i);

/* Writes the dump as text lines, each handed to line() without its
 * newline:
 *   tinyhv-trace begin v1 tsc_hz=<hz> held=<n> dropped=<n>
 *   tinyhv-trace names <name0>,<name1>,...      (event numbers in order)
 *   tinyhv-trace <tsc hex> <ev> <a hex> <b hex> <c hex>     (oldest first)
 *   tinyhv-trace end
 * names[i] is the name of event i (NULL: "ev<i>"). */
void trace_ring_dump(const struct trace_ring *r, uint64_t tsc_hz, const char *const *names,
                     unsigned nnames, void (*line)(void *ctx, const char *s), void *ctx);

#endif
