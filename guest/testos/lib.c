/* testos support: serial output, a small formatter, string helpers, traps. */
#include <stdarg.h>

#include "testos.h"

#define COM1 0x3F8

void serial_init(void)
{
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 0x01);
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);
    outb(COM1 + 2, 0x07);
}

static void serial_putc(char c)
{
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        ;
    outb(COM1, (uint8_t)c);
}

void *memset(void *d, int c, size_t n)
{
    uint8_t *p = d;
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

const char *strstr_(const char *h, const char *n)
{
    size_t ln = strlen(n);
    for (; *h; h++)
        if (!strncmp(h, n, ln))
            return h;
    return 0;
}

/* Formatter: %s %c %d %u %x (32-bit), %llx (64-bit hex), width, '0' and
 * '-' (left-justified %s). */
struct sink {
    char *buf;
    size_t cap, len;
};

static void emit(struct sink *s, char c)
{
    if (s->buf) {
        if (s->len + 1 < s->cap)
            s->buf[s->len] = c;
    } else {
        if (c == '\n')
            serial_putc('\r');
        serial_putc(c);
    }
    s->len++;
}

static void format(struct sink *s, const char *f, va_list ap)
{
    for (; *f; f++) {
        if (*f != '%') {
            emit(s, *f);
            continue;
        }
        f++;
        char pad = ' ';
        int width = 0, ll = 0, left = 0;
        if (*f == '-') {
            left = 1;
            f++;
        }
        if (*f == '0')
            pad = *f++;
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (*f++ - '0');
        while (*f == 'l') {
            ll++;
            f++;
        }
        char tmp[20];
        int n = 0;
        if (*f == 's') {
            const char *str = va_arg(ap, const char *);
            int k = (int)strlen(str);
            for (; !left && k < width; k++)
                emit(s, ' ');
            while (*str)
                emit(s, *str++);
            for (; left && k < width; k++)
                emit(s, ' ');
            continue;
        }
        if (*f == 'c') {
            emit(s, (char)va_arg(ap, int));
            continue;
        }
        if (*f == 'x' && ll >= 2) {
            uint64_t v = va_arg(ap, uint64_t);
            do {
                tmp[n++] = "0123456789abcdef"[v & 15];
                v >>= 4;
            } while (v);
        } else if (*f == 'x' || *f == 'u' || *f == 'd') {
            uint32_t v = va_arg(ap, uint32_t);
            int neg = *f == 'd' && (int32_t)v < 0;
            if (neg)
                v = 0u - v;
            unsigned base = *f == 'x' ? 16 : 10;
            do {
                tmp[n++] = "0123456789abcdef"[v % base];
                v /= base;
            } while (v);
            if (neg)
                tmp[n++] = '-';
        } else {
            emit(s, '%');
            if (*f != '%')
                emit(s, *f);
            continue;
        }
        for (int k = n; k < width; k++)
            emit(s, pad);
        while (n)
            emit(s, tmp[--n]);
    }
}

void kprintf(const char *fmt, ...)
{
    struct sink s = { 0, 0, 0 };
    va_list ap;
    va_start(ap, fmt);
    format(&s, fmt, ap);
    va_end(ap);
}

int ksnprintf(char *buf, size_t n, const char *fmt, ...)
{
    struct sink s = { buf, n, 0 };
    va_list ap;
    va_start(ap, fmt);
    format(&s, fmt, ap);
    va_end(ap);
    if (n)
        buf[s.len < n ? s.len : n - 1] = 0;
    return (int)s.len;
}

void sort_u32(uint32_t *a, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && a[j - 1] > a[j]; j--) {
            uint32_t t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
}

uint64_t div64(uint64_t n, uint64_t d)
{
    uint64_t q = 0, r = 0;
    if (!d)
        return ~0ull;
    for (int i = 63; i >= 0; i--) {
        r = r << 1 | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ull << i;
        }
    }
    return q;
}

uint64_t report_rate(const char *what, uint64_t measured, uint64_t expected)
{
    uint64_t diff = measured > expected ? measured - expected : expected - measured;
    kprintf("# %s in %u TSC ticks, expected %u (%u ppm off)\n", what, (uint32_t)measured, (uint32_t)expected,
            (uint32_t)div64(diff * 1000000, expected));
    return diff;
}

/* ---- traps ---- */

volatile struct trap_record last_trap;
void (*volatile trap_bail_hook)(void);
static volatile uint32_t trap_skip;
static volatile int trap_armed;

void trap_arm(uint32_t skip)
{
    last_trap.taken = 0;
    last_trap.vector = last_trap.error = last_trap.eip = last_trap.dr6 = 0;
    trap_skip = skip;
    trap_armed = 1;
}

void trap_disarm(void) { trap_armed = 0; }

void irq_record(uint32_t vector, uint32_t eip);
void trap_handler(struct trap_frame *f);
void trap_handler(struct trap_frame *f)
{
    if ((f->vector >= 32 && f->vector != 0x80) || f->vector == 2) { /* interrupts and NMI */
        /* The handler may use safe_rdmsr (lapic_read in x2APIC mode):
         * the interrupted code's armed trap and its record survive it. */
        struct trap_record saved = last_trap;
        uint32_t skip = trap_skip;
        int armed = trap_armed;
        irq_record(f->vector, f->eip);
        trap_skip = skip;
        trap_armed = armed;
        last_trap = saved;
        return;
    }
    last_trap.taken++;
    last_trap.vector = f->vector;
    last_trap.error = f->error;
    last_trap.eip = f->eip;
    if (f->vector == 1) {
        /* #DB: keep DR6, then go on once: TF off (no further single
         * steps), RF on (an instruction breakpoint does not fire again). */
        uint32_t dr6;
        __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
        last_trap.dr6 = dr6;
        f->eflags = (f->eflags & ~0x100u) | 0x10000u;
    }
    /* Faults (vectors < 32 other than #DB/#BP/#OF) resume after the
     * instruction when a test expects them. */
    if (f->vector < 32 && f->vector != 3 && f->vector != 4 && f->vector != 1) {
        if (!trap_armed) {
            if (trap_bail_hook)
                trap_bail_hook();
            kprintf("Bail out! unexpected exception %u, error 0x%x at EIP 0x%x\n", f->vector, f->error,
                    f->eip);
            outb(DEBUG_EXIT_PORT, 3);
            for (;;)
                __asm__ volatile("cli; hlt");
        }
        f->eip += trap_skip;
    }
}

int safe_rdmsr(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    trap_arm(2);
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    trap_disarm();
    if (last_trap.taken) {
        *val = 0; /* not whatever EDX:EAX held when the RDMSR faulted */
        return -1;
    }
    *val = (uint64_t)hi << 32 | lo;
    return 0;
}

int safe_wrmsr(uint32_t msr, uint64_t val)
{
    trap_arm(2);
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)));
    trap_disarm();
    return last_trap.taken ? -1 : 0;
}
