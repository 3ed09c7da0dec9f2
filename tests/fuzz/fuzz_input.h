/* What the libFuzzer targets share: the input as a byte stream read from
 * the front (reads past its end give zeros), and a fake clock that
 * saturates at 2^64 - 1 so that time stays monotonic. */
#ifndef TESTS_FUZZ_FUZZ_INPUT_H
#define TESTS_FUZZ_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_input {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t take8(struct fuzz_input *in)
{
    uint8_t v = 0;

    if (in->n) {
        v = *in->p++;
        in->n--;
    }
    return v;
}

/* Little-endian, as the seeds are written. */
static inline uint32_t take32(struct fuzz_input *in)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++)
        v |= (uint32_t)take8(in) << (8 * i);
    return v;
}

static inline uint64_t take64(struct fuzz_input *in)
{
    uint64_t lo = take32(in);

    return lo | (uint64_t)take32(in) << 32;
}

static inline void fuzz_advance(uint64_t *now, uint64_t d)
{
    *now = d > UINT64_MAX - *now ? UINT64_MAX : *now + d;
}

#endif
