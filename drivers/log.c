#include "log.h"

#include <stdarg.h>

#include "../arch/x86/fmt.h"
#include "uart.h"

static enum log_level current_level = LOG_INFO;
static void (*console_sink)(const char *line);

void log_set_level(enum log_level level) { current_level = level; }
int log_enabled(enum log_level level) { return level <= current_level; }
void log_set_console(void (*sink)(const char *line)) { console_sink = sink; }

static void log_vline(enum log_level level, const char *src, const char *fmt, va_list ap)
{
    static const char *const tag[] = { "error: ", "warning: ", "", "debug: ", "trace: " };
    char line[512];

    int n = fmt_snprintf(line, sizeof(line), "%s: %s", src, tag[level]);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    fmt_vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    unsigned long len = 0;
    while (line[len])
        len++;
    uart_write(line, len);
    uart_putc('\n');
    if (console_sink && level == LOG_ERROR)
        console_sink(line);
}

void log_vmsg(enum log_level level, const char *src, const char *fmt, va_list ap)
{
    if (log_enabled(level))
        log_vline(level, src, fmt, ap);
}

void log_msg(enum log_level level, const char *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, src, fmt, ap);
    va_end(ap);
}

void log_status(const char *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vline(LOG_INFO, src, fmt, ap);
    va_end(ap);
}
