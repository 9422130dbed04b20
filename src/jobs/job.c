/* Tracked jobs: a deployments row, a bounded live output window and
 * eventfd-notified subscribers. */
#include "jobs/job.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "db/sites.h"

struct job_sub {
        struct job *job;
        int efd;
        size_t off; /* absolute output offset of the next byte to read */
        struct job_sub *next;
};

struct job {
        long long id, site_id;
        struct db *db;
        pthread_mutex_t lock;
        pthread_mutex_t flush_lock; /* one row write at a time, in order */
        char *buf;                  /* the kept window of output */
        size_t len, cap;
        size_t base; /* bytes dropped before buf[0] */
        bool done, ok;
        char *summary;
        time_t finished; /* monotonic seconds */
        time_t last_flush;
        unsigned refs; /* under registry_lock */
        struct job_sub *subs;
        struct job *next; /* registry */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *registry;

static time_t now_mono(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

static void job_free(struct job *j)
{
        pthread_mutex_destroy(&j->lock);
        pthread_mutex_destroy(&j->flush_lock);
        free(j->buf);
        free(j->summary);
        free(j);
}

struct job *job_ref(struct job *j)
{
        if (!j)
                return NULL;
        pthread_mutex_lock(&registry_lock);
        j->refs++;
        pthread_mutex_unlock(&registry_lock);
        return j;
}

void job_unref(struct job *j)
{
        if (!j)
                return;
        pthread_mutex_lock(&registry_lock);
        bool last = --j->refs == 0;
        pthread_mutex_unlock(&registry_lock);
        if (last)
                job_free(j);
}

/* Caller holds registry_lock. Returns the jobs to unref after unlocking. */
static struct job *reap_locked(unsigned linger_s)
{
        time_t now = now_mono();
        struct job **pp = &registry, *dropped = NULL;
        while (*pp) {
                struct job *j = *pp;
                pthread_mutex_lock(&j->lock);
                bool old = j->done && now - j->finished >= (time_t)linger_s;
                pthread_mutex_unlock(&j->lock);
                if (old) {
                        *pp = j->next;
                        j->next = dropped;
                        dropped = j;
                } else {
                        pp = &j->next;
                }
        }
        return dropped;
}

static void unref_list(struct job *list)
{
        while (list) {
                struct job *next = list->next;
                job_unref(list);
                list = next;
        }
}

void jobs_reap(unsigned linger_s)
{
        pthread_mutex_lock(&registry_lock);
        struct job *dropped = reap_locked(linger_s);
        pthread_mutex_unlock(&registry_lock);
        unref_list(dropped);
}

int job_new(struct db *db, long long site_id, const char *action, struct job **out)
{
        *out = NULL;
        struct job *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        long long id = deployments_insert(db, site_id, action);
        if (id < 0) {
                free(j);
                return (int)id;
        }
        j->id = id;
        j->site_id = site_id;
        j->db = db;
        j->refs = 2; /* the registry's and the caller's */
        j->last_flush = now_mono();
        pthread_mutex_init(&j->lock, NULL);
        pthread_mutex_init(&j->flush_lock, NULL);
        pthread_mutex_lock(&registry_lock);
        struct job *dropped = reap_locked(JOB_LINGER_S);
        j->next = registry;
        registry = j;
        pthread_mutex_unlock(&registry_lock);
        unref_list(dropped);
        *out = j;
        return 0;
}

long long job_id(const struct job *j)
{
        return j->id;
}

long long job_site_id(const struct job *j)
{
        return j->site_id;
}

struct job *job_find(long long id)
{
        struct job *found = NULL;
        pthread_mutex_lock(&registry_lock);
        struct job *dropped = reap_locked(JOB_LINGER_S);
        for (struct job *j = registry; j; j = j->next)
                if (j->id == id) {
                        found = j;
                        found->refs++;
                        break;
                }
        pthread_mutex_unlock(&registry_lock);
        unref_list(dropped);
        return found;
}

static void wake_locked(struct job *j)
{
        for (struct job_sub *s = j->subs; s; s = s->next)
                if (eventfd_write(s->efd, 1) < 0 && errno != EAGAIN)
                        log_warn("job %lld: cannot wake a subscriber: %m", j->id);
}

/* The row's copy of the output: the window, with a note for what fell out. */
static char *snapshot_locked(struct job *j)
{
        _cleanup_strbuf_ struct strbuf t = STRBUF_INIT(0);
        if (j->base)
                strbuf_printf(&t, "[... %zu bytes of earlier output omitted ...]\n", j->base);
        strbuf_append(&t, j->buf ? j->buf : "", j->len);
        return t.data ? strbuf_steal(&t) : NULL;
}

static void append_locked(struct job *j, const char *data, size_t len)
{
        if (len >= JOB_OUTPUT_KEEP) {
                j->base += j->len + (len - JOB_OUTPUT_KEEP);
                data += len - JOB_OUTPUT_KEEP;
                len = JOB_OUTPUT_KEEP;
                j->len = 0;
        } else if (j->len + len > JOB_OUTPUT_KEEP) {
                size_t drop = j->len + len - JOB_OUTPUT_KEEP;
                memmove(j->buf, j->buf + drop, j->len - drop);
                j->len -= drop;
                j->base += drop;
        }
        if (j->len + len + 1 > j->cap) {
                size_t ncap = j->cap ? j->cap : 4096;
                while (ncap < j->len + len + 1)
                        ncap *= 2;
                if (ncap > JOB_OUTPUT_KEEP + 1)
                        ncap = JOB_OUTPUT_KEEP + 1;
                char *p = realloc(j->buf, ncap);
                if (!p) {
                        /* out of memory: the bytes are counted as lost */
                        j->base += len;
                        return;
                }
                j->buf = p;
                j->cap = ncap;
        }
        memcpy(j->buf + j->len, data, len);
        j->len += len;
        j->buf[j->len] = '\0';
}

void job_output(void *job, const char *data, size_t len)
{
        struct job *j = job;
        if (!j || !len)
                return;
        char *snap = NULL;
        pthread_mutex_lock(&j->lock);
        if (!j->done) {
                append_locked(j, data, len);
                wake_locked(j);
                time_t now = now_mono();
                if (now - j->last_flush >= JOB_FLUSH_S) {
                        j->last_flush = now;
                        snap = snapshot_locked(j);
                }
        }
        pthread_mutex_unlock(&j->lock);
        if (snap) {
                pthread_mutex_lock(&j->flush_lock);
                bool done;
                pthread_mutex_lock(&j->lock);
                done = j->done;
                pthread_mutex_unlock(&j->lock);
                /* after the end the final text is in the row already */
                if (!done)
                        deployments_set_output(j->db, j->id, snap);
                pthread_mutex_unlock(&j->flush_lock);
                free(snap);
        }
}

void job_printf(struct job *j, const char *fmt, ...)
{
        _cleanup_strbuf_ struct strbuf t = STRBUF_INIT(64 * 1024);
        va_list ap;
        va_start(ap, fmt);
        strbuf_vprintf(&t, fmt, ap);
        va_end(ap);
        if (t.data)
                job_output(j, t.data, t.len);
}

int job_finish(struct job *j, bool ok, const char *summary)
{
        pthread_mutex_lock(&j->flush_lock);
        pthread_mutex_lock(&j->lock);
        if (j->done) {
                pthread_mutex_unlock(&j->lock);
                pthread_mutex_unlock(&j->flush_lock);
                return 0;
        }
        if (summary && *summary) {
                if (j->len && j->buf[j->len - 1] != '\n')
                        append_locked(j, "\n", 1);
                append_locked(j, summary, strlen(summary));
                append_locked(j, "\n", 1);
        }
        j->done = true;
        j->ok = ok;
        j->summary = summary ? strdup(summary) : NULL;
        j->finished = now_mono();
        char *snap = snapshot_locked(j);
        wake_locked(j);
        pthread_mutex_unlock(&j->lock);
        int r = deployments_finish(j->db, j->id, ok, snap ? snap : "");
        pthread_mutex_unlock(&j->flush_lock);
        free(snap);
        if (r < 0)
                log_warn("deployment %lld: cannot record the end: %s", j->id, strerror(-r));
        return r;
}

char *job_summary(struct job *j)
{
        pthread_mutex_lock(&j->lock);
        char *s = j->summary ? strdup(j->summary) : NULL;
        pthread_mutex_unlock(&j->lock);
        return s;
}

bool job_done(struct job *j, bool *ok)
{
        pthread_mutex_lock(&j->lock);
        bool d = j->done;
        if (ok)
                *ok = j->ok;
        pthread_mutex_unlock(&j->lock);
        return d;
}

static bool is_space(char c)
{
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

char *job_tail(struct job *j, size_t max)
{
        pthread_mutex_lock(&j->lock);
        const char *p = j->buf ? j->buf : "";
        size_t n = j->len;
        while (n && is_space(p[n - 1]))
                n--;
        size_t start = n > max ? n - max : 0;
        if (start) {
                /* begin at a line when one starts within the first quarter */
                const char *nl = memchr(p + start, '\n', n - start);
                if (nl && (size_t)(nl - (p + start)) < max / 4)
                        start = (size_t)(nl - p) + 1;
        }
        while (start < n && is_space(p[start]))
                start++;
        char *t = strndup(p + start, n - start);
        pthread_mutex_unlock(&j->lock);
        return t;
}

int job_subscribe(struct job *j, size_t from, struct job_sub **out)
{
        *out = NULL;
        struct job_sub *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->efd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC); /* readable at once: first read */
        if (s->efd < 0) {
                int e = -errno;
                free(s);
                return e;
        }
        s->job = job_ref(j);
        s->off = from;
        pthread_mutex_lock(&j->lock);
        s->next = j->subs;
        j->subs = s;
        pthread_mutex_unlock(&j->lock);
        *out = s;
        return 0;
}

int job_sub_fd(struct job_sub *s)
{
        return s->efd;
}

int job_sub_read(struct job_sub *s, struct strbuf *out, size_t max, size_t *skipped, size_t *offset,
                 bool *done, bool *ok)
{
        struct job *j = s->job;
        eventfd_t v;
        (void)eventfd_read(s->efd, &v); /* EAGAIN when nothing was pending */
        int r = 0;
        pthread_mutex_lock(&j->lock);
        *skipped = 0;
        if (s->off < j->base) {
                *skipped = j->base - s->off;
                s->off = j->base;
        }
        size_t end = j->base + j->len;
        if (s->off > end)
                s->off = end; /* an offset from the future (bad Last-Event-ID) */
        size_t take = end - s->off;
        if (take > max) {
                take = max;
                /* more to come: stay readable */
                eventfd_write(s->efd, 1);
        }
        if (take)
                r = strbuf_append(out, j->buf + (s->off - j->base), take);
        if (r == 0)
                s->off += take;
        *offset = s->off;
        *done = j->done && s->off == end;
        *ok = j->ok;
        pthread_mutex_unlock(&j->lock);
        return r;
}

void job_sub_free(struct job_sub *s)
{
        if (!s)
                return;
        struct job *j = s->job;
        pthread_mutex_lock(&j->lock);
        for (struct job_sub **pp = &j->subs; *pp; pp = &(*pp)->next)
                if (*pp == s) {
                        *pp = s->next;
                        break;
                }
        pthread_mutex_unlock(&j->lock);
        close(s->efd);
        free(s);
        job_unref(j);
}
