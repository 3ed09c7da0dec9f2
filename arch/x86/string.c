/* The C string functions the compiler and our code need. memcpy and memset
 * are ours too: libefi's (init.o, pulled in with InitializeLib) copy a byte
 * per loop iteration, and the Makefile links a copy of libefi in which
 * they are weak, so these take their place everywhere, in the UEFI stage
 * as after it. */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);

/* Eight bytes per step with REP MOVSQ, the rest with REP MOVSB (DF is
 * clear: the ABI's state at every call). A 4 KiB virtio-blk read copies
 * in 512 steps instead of 4096 loop iterations. */
void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    size_t q = n / 8, r = n % 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(r) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    size_t q = n / 8, r = n % 8;
    uint64_t v = 0x0101010101010101ull * (uint8_t)c;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (; n; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}
