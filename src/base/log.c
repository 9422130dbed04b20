#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const tags[] = {"debug", "info", "warn", "error"};

bool log_enabled(enum log_level lvl)
{
        return lvl >= min_level;
}

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
                /* Opened as root at start while the file belongs to the HTTP
                 * process's user: a symbolic or hard link planted in its place
                 * must not make root append to another file. */
                int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
                if (fd < 0)
                        return errno == ELOOP ? -EPERM : -errno;
                struct stat st;
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
                        close(fd);
                        return -EPERM;
                }
                f = fdopen(fd, "a");
                if (!f) {
                        int e = errno;
                        close(fd);
                        return -e;
                }
                setvbuf(f, NULL, _IOLBF, 0);
        }
        log_flush();
        pthread_mutex_lock(&log_lock);
        if (log_file)
                fclose(log_file);
        log_file = f;
        pthread_mutex_unlock(&log_lock);
        return 0;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
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

/* ---------- buffered lines ---------- */

#define LOGBUF_SIZE (32 * 1024)

struct logbuf {
        pthread_mutex_t lock; /* the owner appends, log_flush() empties */
        size_t len;
        struct logbuf *prev, *next;
        char data[LOGBUF_SIZE];
};

static pthread_mutex_t bufs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct logbuf *bufs; /* every thread's buffer */
static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static _Thread_local struct logbuf *my_buf;
/* "YYYY-MM-DDTHH:MM:SSZ " of the second ts_sec, made once a second */
static _Thread_local time_t ts_sec = -1;
static _Thread_local char ts_text[24];

static void write_out(const char *data, size_t len)
{
        pthread_mutex_lock(&log_lock);
        fwrite(data, 1, len, stderr);
        if (log_file) {
                fwrite(data, 1, len, log_file);
                fflush(log_file);
        }
        pthread_mutex_unlock(&log_lock);
}

static void buf_flush_locked(struct logbuf *b)
{
        if (b->len)
                write_out(b->data, b->len);
        b->len = 0;
}

/* A thread ends: write its lines and forget its buffer. */
static void buf_destroy(void *arg)
{
        struct logbuf *b = arg;
        pthread_mutex_lock(&bufs_lock);
        if (b->prev)
                b->prev->next = b->next;
        else
                bufs = b->next;
        if (b->next)
                b->next->prev = b->prev;
        pthread_mutex_unlock(&bufs_lock);
        pthread_mutex_lock(&b->lock);
        buf_flush_locked(b);
        pthread_mutex_unlock(&b->lock);
        pthread_mutex_destroy(&b->lock);
        free(b);
}

static void buf_init_once(void)
{
        pthread_key_create(&buf_key, buf_destroy);
        atexit(log_flush);
}

static struct logbuf *my_logbuf(void)
{
        if (my_buf)
                return my_buf;
        pthread_once(&buf_once, buf_init_once);
        struct logbuf *b = malloc(sizeof(*b));
        if (!b)
                return NULL;
        pthread_mutex_init(&b->lock, NULL);
        b->len = 0;
        b->prev = NULL;
        pthread_mutex_lock(&bufs_lock);
        b->next = bufs;
        if (bufs)
                bufs->prev = b;
        bufs = b;
        pthread_mutex_unlock(&bufs_lock);
        pthread_setspecific(buf_key, b);
        my_buf = b;
        return b;
}

static const char *time_text(void)
{
        struct timespec now;
        clock_gettime(CLOCK_REALTIME_COARSE, &now);
        if (now.tv_sec != ts_sec) {
                struct tm tm;
                gmtime_r(&now.tv_sec, &tm);
                strftime(ts_text, sizeof(ts_text), "%Y-%m-%dT%H:%M:%SZ ", &tm);
                ts_sec = now.tv_sec;
        }
        return ts_text;
}

void log_buffered(enum log_level lvl, const char *msg, size_t len)
{
        if (lvl < min_level || lvl < LOG_DEBUG || lvl > LOG_ERROR)
                return;
        const char *ts = time_text();
        size_t tl = strlen(ts), gl = strlen(tags[lvl]);
        if (len > 4000)
                len = 4000; /* cut, never split, as log_msg() does */
        size_t need = tl + gl + 2 + len + 1;
        struct logbuf *b = my_logbuf();
        if (!b) {
                log_msg(lvl, "%.*s", (int)len, msg);
                return;
        }
        pthread_mutex_lock(&b->lock);
        if (b->len + need > sizeof(b->data))
                buf_flush_locked(b);
        char *p = b->data + b->len;
        memcpy(p, ts, tl);
        p += tl;
        memcpy(p, tags[lvl], gl);
        p += gl;
        *p++ = ':';
        *p++ = ' ';
        memcpy(p, msg, len);
        p += len;
        *p++ = '\n';
        b->len += need;
        pthread_mutex_unlock(&b->lock);
}

void log_flush(void)
{
        pthread_mutex_lock(&bufs_lock);
        for (struct logbuf *b = bufs; b; b = b->next) {
                pthread_mutex_lock(&b->lock);
                buf_flush_locked(b);
                pthread_mutex_unlock(&b->lock);
        }
        pthread_mutex_unlock(&bufs_lock);
}
