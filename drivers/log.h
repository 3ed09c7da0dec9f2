/* Leveled log lines with a source: "src: message" at info level,
 * "src: warning: message", "src: error: message", "src: debug: message".
 * Goes to the serial console; errors also to the firmware console while
 * boot services last. */
#ifndef DRIVERS_LOG_H
#define DRIVERS_LOG_H

#include <stdarg.h>

#include "../boot/config.h"

void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
/* A second sink (the UEFI console) for error lines, or NULL to drop it
 * (after ExitBootServices). */
void log_set_console(void (*sink)(const char *line));
void log_msg(enum log_level level, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *src, const char *fmt, va_list ap);
/* A line printed at every log level, untagged like an info line: the
 * run's final status, which is always the last line of the log. */
void log_status(const char *src, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(src, ...) log_msg(LOG_ERROR, src, __VA_ARGS__)
#define log_warn(src, ...)  log_msg(LOG_WARN, src, __VA_ARGS__)
#define log_info(src, ...)  log_msg(LOG_INFO, src, __VA_ARGS__)
#define log_debug(src, ...) log_msg(LOG_DEBUG, src, __VA_ARGS__)

#endif
