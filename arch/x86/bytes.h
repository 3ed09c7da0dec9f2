/* Multi-byte fields at any offset of a byte buffer (boot headers, firmware
 * tables, PCI and virtio registers): x86 is little-endian, and memcpy makes
 * unaligned access safe. __builtin_memcpy because the hypervisor is built
 * -ffreestanding (so -fno-builtin): a plain memcpy of a constant 2, 4 or 8
 * bytes would be a call, this is one load or store. Pure C, used by the
 * loaders, the ACPI builder, the device models and their host tests. */
#ifndef ARCH_X86_BYTES_H
#define ARCH_X86_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t get16(const uint8_t *p, size_t off)
{
    uint16_t v;
    __builtin_memcpy(&v, p + off, 2);
    return v;
}
static inline uint32_t get32(const uint8_t *p, size_t off)
{
    uint32_t v;
    __builtin_memcpy(&v, p + off, 4);
    return v;
}
static inline uint64_t get64(const uint8_t *p, size_t off)
{
    uint64_t v;
    __builtin_memcpy(&v, p + off, 8);
    return v;
}
static inline void put16(uint8_t *p, size_t off, uint16_t v) { __builtin_memcpy(p + off, &v, 2); }
static inline void put32(uint8_t *p, size_t off, uint32_t v) { __builtin_memcpy(p + off, &v, 4); }
static inline void put64(uint8_t *p, size_t off, uint64_t v) { __builtin_memcpy(p + off, &v, 8); }

#endif
