/* A small printf-style formatter for freestanding code (pure C: also used
 * by host unit tests). Supports %d %i %u %x %X %c %s %p %%, the l and ll
 * length modifiers, field width, the '0' and '-' flags and '.*' / '.N'
 * precision for strings. Output is always NUL-terminated (when size > 0);
 * returns the length the full output would have. */
#ifndef ARCH_X86_FMT_H
#define ARCH_X86_FMT_H

#include <stdarg.h>
#include <stddef.h>

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
