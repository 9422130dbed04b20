/* Logging to stderr (and optionally a file). Thread-safe, one line per call. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
/* Returns 0 or -EINVAL for an unknown name ("debug", "info", "warn", "error"). */
int log_level_from_string(const char *s, enum log_level *out);
/* Also append to PATH (in addition to stderr); NULL closes it. 0 or -errno;
 * -EPERM when PATH is a symbolic link, not a regular file, or has another
 * hard link (the file may belong to a less privileged user). */
int log_set_file(const char *path);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether a line of level lvl would be written. */
bool log_enabled(enum log_level lvl);

/* The access log's path, built for one line per request (like nginx's
 * access_log buffer=): msg (len bytes, no newline) gets the same
 * "<time> <level>: " prefix as log_msg() but is appended to a buffer of the
 * calling thread, without printf or strftime (the time text is made once a
 * second per thread). A buffer is written when full, when its thread ends,
 * and by log_flush(), which the serve loop calls every second and on exit.
 * Lines of one thread keep their order. */
void log_buffered(enum log_level lvl, const char *msg, size_t len);
/* Write every thread's buffered lines now. Also run at exit(). */
void log_flush(void);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
