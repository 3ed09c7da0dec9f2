/* The fuzz targets' input: bytes taken from the front, little-endian, and
 * zeros once the input runs out (so every input is a valid program). */
#ifndef TESTS_FUZZ_FUZZ_INPUT_H
#define TESTS_FUZZ_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t take8(struct input *in)
{
    uint8_t v = 0;

    if (in->n) {
        v = *in->p++;
        in->n--;
    }
    return v;
}

static inline uint32_t take32(struct input *in)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++)
        v |= (uint32_t)take8(in) << (8 * i);
    return v;
}

static inline uint64_t take64(struct input *in)
{
    return take32(in) | ((uint64_t)take32(in) << 32);
}

#endif
