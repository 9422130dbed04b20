/* Logging to stderr (and optionally a file). Thread-safe, one line per call. */
#pragma once

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
/* Returns 0 or -EINVAL for an unknown name ("debug", "info", "warn", "error"). */
int log_level_from_string(const char *s, enum log_level *out);
/* Also append to PATH (in addition to stderr); NULL closes it. 0 or -errno. */
int log_set_file(const char *path);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
