#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level lvl)
{
        min_level = lvl;
}

int log_level_from_string(const char *s, enum log_level *out)
{
        static const char *names[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
                if (s && strcmp(s, names[i]) == 0) {
                        *out = (enum log_level)i;
                        return 0;
                }
        if (s && strcmp(s, "warning") == 0) {
                *out = LOG_WARN;
                return 0;
        }
        return -EINVAL;
}

int log_set_file(const char *path)
{
        FILE *f = NULL;
        if (path) {
                f = fopen(path, "ae");
                if (!f)
                        return -errno;
                setvbuf(f, NULL, _IOLBF, 0);
        }
        pthread_mutex_lock(&log_lock);
        if (log_file)
                fclose(log_file);
        log_file = f;
        pthread_mutex_unlock(&log_lock);
        return 0;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
        static const char *tags[] = {"debug", "info", "warn", "error"};
        if (lvl < min_level)
                return;
        char ts[32];
        struct timespec now;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

        /* One write per line: stderr is unbuffered, and lines from several
         * threads must not interleave. Long messages are cut, never split. */
        char line[4096];
        int n = snprintf(line, sizeof(line), "%s %s: ", ts, tags[lvl]);
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
        if (len > sizeof(line) - 2)
                len = sizeof(line) - 2;
        line[len++] = '\n';
        pthread_mutex_lock(&log_lock);
        fwrite(line, 1, len, stderr);
        if (log_file)
                fwrite(line, 1, len, log_file);
        pthread_mutex_unlock(&log_lock);
}
