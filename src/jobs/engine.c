/* The job engine: registry of live jobs, job threads, the row flusher. */
#include "jobs/engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/workpool.h"
#include "db/jobs.h"
#include "db/sites.h"
#include "jobs/locks.h"
#include "sys/exec.h"

#define QUEUE_MAX 64
#define JOB_NICE  10

enum step_state { STEP_PENDING, STEP_RUNNING, STEP_DONE, STEP_FAILED, STEP_SKIPPED, STEP_UNDONE };

static const char *const step_state_names[] = {"pending", "running", "done",
                                               "failed",  "skipped", "undone"};

struct step_rec {
        enum step_state st;
        char started[TIME_RFC3339_LEN], finished[TIME_RFC3339_LEN];
        unsigned ver;
};

struct end_cb {
        job_end_fn fn;
        void *arg;
        struct end_cb *next;
};

struct job_sub {
        struct job *job;
        int efd;
        size_t off;
        unsigned *seen; /* step versions already reported */
        struct job_sub *next;
};

struct job {
        long long id, site_id, deployment_id;
        const struct job_kind *kind;
        char *subject, *user;
        struct db *db;
        void *ctx;
        pthread_mutex_t lock;
        pthread_mutex_t flush_lock; /* one row write at a time, in order */
        enum job_state state;
        bool cancel;
        int cancel_fd;
        char *buf; /* the kept window of output */
        size_t len, cap, base;
        struct step_rec *steps;
        size_t cur;
        char *error, *failed_step;
        char created[TIME_RFC3339_LEN], started[TIME_RFC3339_LEN], finished[TIME_RFC3339_LEN];
        json_t *data;
        bool dirty;
        double ended_mono;
        struct end_cb *cbs;
        bool cbs_taken; /* finish() took them: later watchers are called at once */
        unsigned refs;  /* under registry_lock */
        struct job_sub *subs;
        struct job *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *registry;

static struct {
        struct db *db;
        struct workpool *pool;
        pthread_t flusher;
        bool flusher_started;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        bool stopping;
        atomic_bool running;
} eng = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void now_text(char out[TIME_RFC3339_LEN])
{
        time_format_rfc3339(time(NULL), out);
}

const char *job_state_name(enum job_state st)
{
        static const char *const n[] = {"queued", "running", "done", "failed", "cancelled"};
        return (unsigned)st < ARRAY_SIZE(n) ? n[st] : "unknown";
}

/* ---- references and the registry ---- */

static void job_free(struct job *j)
{
        if (j->ctx && j->kind->free_ctx)
                j->kind->free_ctx(j->ctx);
        for (struct end_cb *c = j->cbs, *n; c; c = n) {
                n = c->next;
                free(c);
        }
        pthread_mutex_destroy(&j->lock);
        pthread_mutex_destroy(&j->flush_lock);
        if (j->cancel_fd >= 0)
                close(j->cancel_fd);
        json_decref(j->data);
        free(j->steps);
        free(j->buf);
        free(j->error);
        free(j->failed_step);
        free(j->subject);
        free(j->user);
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

static bool ended_state(enum job_state st)
{
        return st == JOB_DONE || st == JOB_FAILED || st == JOB_CANCELLED;
}

/* registry_lock held; returns the dropped jobs (to unref after unlocking) */
static struct job *reap_locked(unsigned linger_s)
{
        double now = time_monotonic();
        struct job **pp = &registry, *dropped = NULL;
        while (*pp) {
                struct job *j = *pp;
                pthread_mutex_lock(&j->lock);
                bool old = ended_state(j->state) && now - j->ended_mono >= (double)linger_s;
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

static struct job *find_by(long long id, bool deployment)
{
        struct job *found = NULL;
        pthread_mutex_lock(&registry_lock);
        struct job *dropped = reap_locked(JOB_LINGER_S);
        for (struct job *j = registry; j; j = j->next)
                if ((deployment ? j->deployment_id : j->id) == id) {
                        found = j;
                        found->refs++;
                        break;
                }
        pthread_mutex_unlock(&registry_lock);
        unref_list(dropped);
        return found;
}

struct job *job_find(long long id)
{
        return id > 0 ? find_by(id, false) : NULL;
}

struct job *job_find_deployment(long long deployment_id)
{
        return deployment_id > 0 ? find_by(deployment_id, true) : NULL;
}

long long job_id(const struct job *j)
{
        return j->id;
}

long long job_site_id(const struct job *j)
{
        return j->site_id;
}

const char *job_subject(const struct job *j)
{
        return j->subject;
}

const char *job_kind_name(const struct job *j)
{
        return j->kind->name;
}

enum job_state job_state_of(struct job *j)
{
        pthread_mutex_lock(&j->lock);
        enum job_state st = j->state;
        pthread_mutex_unlock(&j->lock);
        return st;
}

bool job_done(struct job *j, bool *ok)
{
        pthread_mutex_lock(&j->lock);
        bool d = ended_state(j->state);
        if (ok)
                *ok = j->state == JOB_DONE;
        pthread_mutex_unlock(&j->lock);
        return d;
}

char *job_summary(struct job *j)
{
        pthread_mutex_lock(&j->lock);
        char *s = j->error && ended_state(j->state) ? strdup(j->error) : NULL;
        pthread_mutex_unlock(&j->lock);
        return s;
}

/* The error so far, ended or not (malloc'd, may be NULL). */
static char *job_summary_any(struct job *j)
{
        pthread_mutex_lock(&j->lock);
        char *s = j->error ? strdup(j->error) : NULL;
        pthread_mutex_unlock(&j->lock);
        return s;
}

char *job_failed_step(struct job *j)
{
        pthread_mutex_lock(&j->lock);
        char *s = j->failed_step ? strdup(j->failed_step) : NULL;
        pthread_mutex_unlock(&j->lock);
        return s;
}

bool job_cancelled(struct job *j)
{
        pthread_mutex_lock(&j->lock);
        bool c = j->cancel;
        pthread_mutex_unlock(&j->lock);
        return c;
}

/* ---- output ---- */

static void wake_locked(struct job *j)
{
        for (struct job_sub *s = j->subs; s; s = s->next)
                if (eventfd_write(s->efd, 1) < 0 && errno != EAGAIN)
                        log_warn("job %lld: cannot wake a subscriber: %m", j->id);
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
                        j->base += len; /* counted as lost */
                        return;
                }
                j->buf = p;
                j->cap = ncap;
        }
        memcpy(j->buf + j->len, data, len);
        j->len += len;
        j->buf[j->len] = '\0';
        j->dirty = true;
}

void job_output(void *job, const char *data, size_t len)
{
        struct job *j = job;
        if (!j || !len)
                return;
        pthread_mutex_lock(&j->lock);
        if (!ended_state(j->state)) {
                append_locked(j, data, len);
                wake_locked(j);
        }
        pthread_mutex_unlock(&j->lock);
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

void job_fail(struct job *j, const char *fmt, ...)
{
        _cleanup_strbuf_ struct strbuf t = STRBUF_INIT(64 * 1024);
        va_list ap;
        va_start(ap, fmt);
        strbuf_vprintf(&t, fmt, ap);
        va_end(ap);
        pthread_mutex_lock(&j->lock);
        free(j->error);
        j->error = t.data ? strbuf_steal(&t) : NULL;
        pthread_mutex_unlock(&j->lock);
}

void job_set_data(struct job *j, const char *key, json_t *value)
{
        pthread_mutex_lock(&j->lock);
        json_object_set_new(j->data, key, value);
        j->dirty = true;
        pthread_mutex_unlock(&j->lock);
}

char *job_tail(struct job *j, size_t max)
{
        pthread_mutex_lock(&j->lock);
        const char *p = j->buf ? j->buf : "";
        size_t n = j->len;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == '\t'))
                n--;
        size_t start = n > max ? n - max : 0;
        if (start) {
                const char *nl = memchr(p + start, '\n', n - start);
                if (nl && (size_t)(nl - (p + start)) < max / 4)
                        start = (size_t)(nl - p) + 1;
        }
        while (start < n && (p[start] == ' ' || p[start] == '\n' || p[start] == '\r'))
                start++;
        char *t = strndup(p + start, n - start);
        pthread_mutex_unlock(&j->lock);
        return t;
}

/* ---- JSON and rows ---- */

static json_t *steps_json_locked(struct job *j)
{
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < j->kind->nsteps; i++) {
                const struct step_rec *r = &j->steps[i];
                json_array_append_new(
                    arr,
                    json_pack("{s:s,s:s,s:o,s:o}", "name", j->kind->steps[i].name, "state",
                              step_state_names[r->st], "started_at",
                              *r->started ? json_string(r->started) : json_null(), "finished_at",
                              *r->finished ? json_string(r->finished) : json_null()));
        }
        return arr;
}

static const char *cur_step_locked(struct job *j)
{
        if (j->state == JOB_RUNNING && j->cur < j->kind->nsteps)
                return j->kind->steps[j->cur].name;
        if (j->failed_step)
                return j->failed_step;
        return "";
}

/* Program output may be any bytes; JSON needs UTF-8. */
static json_t *text_json(const char *s, size_t n)
{
        json_t *v = json_stringn(s ? s : "", s ? n : 0);
        if (v)
                return v;
        char *c = strndup(s, n);
        if (!c)
                return json_string("");
        for (unsigned char *p = (unsigned char *)c; *p; p++)
                if (*p >= 0x80)
                        *p = '?';
        v = json_string(c);
        free(c);
        return v;
}

json_t *job_json(struct job *j, bool full)
{
        pthread_mutex_lock(&j->lock);
        json_t *o =
            json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "id", (json_int_t)j->id, "kind",
                      j->kind->name, "subject", j->subject, "state", job_state_name(j->state),
                      "step", cur_step_locked(j), "created_at", j->created, "started_at",
                      *j->started ? json_string(j->started) : json_null(), "finished_at",
                      *j->finished ? json_string(j->finished) : json_null(), "error",
                      j->error && ended_state(j->state) ? text_json(j->error, strlen(j->error))
                                                        : json_null());
        if (o)
                json_object_set_new(o, "user", json_string(j->user ? j->user : ""));
        if (o && full) {
                json_object_set_new(o, "steps", steps_json_locked(j));
                json_object_set_new(o, "output", text_json(j->buf, j->len));
        }
        pthread_mutex_unlock(&j->lock);
        return o;
}

struct snapshot {
        char *state, *step, *steps, *output, *error, *data;
        char started[TIME_RFC3339_LEN], finished[TIME_RFC3339_LEN];
        bool ended, ok;
};

static void snapshot_clear(struct snapshot *s)
{
        free(s->state);
        free(s->step);
        free(s->steps);
        free(s->output);
        free(s->error);
        free(s->data);
}

static void snapshot_locked(struct job *j, struct snapshot *s)
{
        *s = (struct snapshot){0};
        s->state = strdup(job_state_name(j->state));
        s->step = strdup(cur_step_locked(j));
        json_t *steps = steps_json_locked(j);
        s->steps = steps ? json_dumps(steps, JSON_COMPACT) : NULL;
        json_decref(steps);
        _cleanup_strbuf_ struct strbuf t = STRBUF_INIT(0);
        if (j->base)
                strbuf_printf(&t, "[... %zu bytes of earlier output omitted ...]\n", j->base);
        strbuf_append(&t, j->buf ? j->buf : "", j->len);
        s->output = t.data ? strbuf_steal(&t) : strdup("");
        s->error = strdup(j->error && ended_state(j->state) ? j->error : "");
        s->data = json_dumps(j->data, JSON_COMPACT);
        memcpy(s->started, j->started, sizeof(s->started));
        memcpy(s->finished, j->finished, sizeof(s->finished));
        s->ended = ended_state(j->state);
        s->ok = j->state == JOB_DONE;
        j->dirty = false;
}

/* Write the row (and the mirrored deployment) from the job's current
 * state. flush_lock keeps the writes in order; a write that finds the job
 * ended after a final write was made is skipped. */
static void save(struct job *j, bool final)
{
        pthread_mutex_lock(&j->flush_lock);
        struct snapshot s;
        pthread_mutex_lock(&j->lock);
        bool skip = !final && ended_state(j->state);
        if (!skip)
                snapshot_locked(j, &s);
        pthread_mutex_unlock(&j->lock);
        if (!skip) {
                int rc =
                    jobs_save(j->db, j->id, s.state, s.step, s.steps, s.output, s.error, s.data,
                              *s.started ? s.started : NULL, *s.finished ? s.finished : NULL);
                if (rc < 0)
                        log_warn("job %lld: cannot save the row: %s", j->id, strerror(-rc));
                if (j->deployment_id > 0) {
                        if (final)
                                rc = deployments_finish(j->db, j->deployment_id, s.ok, s.output);
                        else
                                rc = deployments_set_output(j->db, j->deployment_id, s.output);
                        if (rc < 0)
                                log_warn("deployment %lld: cannot save: %s", j->deployment_id,
                                         strerror(-rc));
                }
                snapshot_clear(&s);
        }
        pthread_mutex_unlock(&j->flush_lock);
}

/* ---- subscriptions ---- */

int job_subscribe(struct job *j, size_t from, struct job_sub **out)
{
        *out = NULL;
        struct job_sub *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->seen = calloc(j->kind->nsteps ? j->kind->nsteps : 1, sizeof(unsigned));
        s->efd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC); /* readable at once: first read */
        if (s->efd < 0 || !s->seen) {
                int e = s->efd < 0 ? -errno : -ENOMEM;
                if (s->efd >= 0)
                        close(s->efd);
                free(s->seen);
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
        (void)eventfd_read(s->efd, &v);
        int r = 0;
        pthread_mutex_lock(&j->lock);
        *skipped = 0;
        if (s->off < j->base) {
                *skipped = j->base - s->off;
                s->off = j->base;
        }
        size_t end = j->base + j->len;
        if (s->off > end)
                s->off = end;
        size_t take = end - s->off;
        if (take > max) {
                take = max;
                eventfd_write(s->efd, 1); /* more to come: stay readable */
        }
        if (take)
                r = strbuf_append(out, j->buf + (s->off - j->base), take);
        if (r == 0)
                s->off += take;
        *offset = s->off;
        *done = ended_state(j->state) && s->off == end;
        *ok = j->state == JOB_DONE;
        pthread_mutex_unlock(&j->lock);
        return r;
}

size_t job_sub_steps(struct job_sub *s, json_t *arr)
{
        struct job *j = s->job;
        size_t n = 0;
        pthread_mutex_lock(&j->lock);
        for (size_t i = 0; i < j->kind->nsteps; i++) {
                const struct step_rec *r = &j->steps[i];
                if (r->ver == s->seen[i])
                        continue;
                s->seen[i] = r->ver;
                json_array_append_new(
                    arr,
                    json_pack("{s:s,s:s,s:o,s:o}", "name", j->kind->steps[i].name, "state",
                              step_state_names[r->st], "started_at",
                              *r->started ? json_string(r->started) : json_null(), "finished_at",
                              *r->finished ? json_string(r->finished) : json_null()));
                n++;
        }
        pthread_mutex_unlock(&j->lock);
        return n;
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
        free(s->seen);
        free(s);
        job_unref(j);
}

/* ---- running ---- */

static void set_step(struct job *j, size_t i, enum step_state st)
{
        pthread_mutex_lock(&j->lock);
        struct step_rec *r = &j->steps[i];
        if (st == STEP_RUNNING) {
                now_text(r->started);
                j->cur = i;
        } else if (st != STEP_UNDONE) {
                now_text(r->finished);
        }
        r->st = st;
        r->ver++;
        j->dirty = true;
        wake_locked(j);
        pthread_mutex_unlock(&j->lock);
}

/* The end: row written, subject unlocked, watchers called, ctx freed. */
static void finish(struct job *j, enum job_state st)
{
        pthread_mutex_lock(&j->lock);
        j->state = st;
        now_text(j->finished);
        j->ended_mono = time_monotonic();
        if (st == JOB_CANCELLED && !j->error)
                j->error = strdup("cancelled");
        if (j->error && j->len && j->buf[j->len - 1] != '\n')
                append_locked(j, "\n", 1);
        if (j->error && st != JOB_DONE) {
                append_locked(j, j->error, strlen(j->error));
                append_locked(j, "\n", 1);
        }
        pthread_mutex_unlock(&j->lock);
        save(j, true);
        locks_release(j->subject, j->id);
        pthread_mutex_lock(&j->lock);
        struct end_cb *cbs = j->cbs;
        j->cbs = NULL;
        j->cbs_taken = true;
        wake_locked(j);
        pthread_mutex_unlock(&j->lock);
        /* watchers in the order they came */
        struct end_cb *rev = NULL;
        while (cbs) {
                struct end_cb *n = cbs->next;
                cbs->next = rev;
                rev = cbs;
                cbs = n;
        }
        for (struct end_cb *c = rev, *n; c; c = n) {
                n = c->next;
                c->fn(j, j->ctx, c->arg);
                free(c);
        }
        pthread_mutex_lock(&j->lock);
        void *ctx = j->ctx;
        j->ctx = NULL;
        pthread_mutex_unlock(&j->lock);
        if (ctx && j->kind->free_ctx)
                j->kind->free_ctx(ctx);
        log_info("job %lld (%s %s): %s%s%s", j->id, j->kind->name, j->subject, job_state_name(st),
                 j->error ? ": " : "", j->error ? j->error : "");
}

int job_on_end(struct job *j, job_end_fn fn, void *arg)
{
        pthread_mutex_lock(&j->lock);
        if (!j->cbs_taken) {
                struct end_cb *c = calloc(1, sizeof(*c));
                if (!c) {
                        pthread_mutex_unlock(&j->lock);
                        return -ENOMEM;
                }
                c->fn = fn;
                c->arg = arg;
                c->next = j->cbs;
                j->cbs = c;
                pthread_mutex_unlock(&j->lock);
                return 0;
        }
        pthread_mutex_unlock(&j->lock);
        fn(j, NULL, arg);
        return 0;
}

/* Job threads (and the programs they start) run at a lower CPU priority
 * than the request threads: a backup's compression or a build never
 * delays a login or a page on a busy machine. Once per thread. */
static void lower_priority(void)
{
        static __thread bool done;
        if (done)
                return;
        done = true;
        if (setpriority(PRIO_PROCESS, (id_t)gettid(), JOB_NICE) < 0)
                log_warn("jobs: cannot lower the priority of a job thread: %m");
}

static void run_job(void *arg)
{
        struct job *j = arg;
        lower_priority();
        const struct job_kind *k = j->kind;
        pthread_mutex_lock(&j->lock);
        if (j->state != JOB_QUEUED) { /* cancelled while queued */
                pthread_mutex_unlock(&j->lock);
                job_unref(j);
                return;
        }
        j->state = JOB_RUNNING;
        now_text(j->started);
        wake_locked(j);
        pthread_mutex_unlock(&j->lock);
        save(j, false);

        exec_set_cancel_fd(j->cancel_fd);
        ssize_t last = -1; /* the last step that ran */
        bool failed = false;
        for (size_t i = 0; i < k->nsteps; i++) {
                if (job_cancelled(j))
                        break;
                set_step(j, i, STEP_RUNNING);
                save(j, false);
                int rc = k->steps[i].run(j, j->ctx);
                if (rc == JOB_SKIP) {
                        set_step(j, i, STEP_SKIPPED);
                        continue;
                }
                last = (ssize_t)i;
                if (rc < 0) {
                        set_step(j, i, STEP_FAILED);
                        pthread_mutex_lock(&j->lock);
                        free(j->failed_step);
                        j->failed_step = strdup(k->steps[i].name);
                        const char *name = k->steps[i].name;
                        if (!j->error) {
                                _cleanup_strbuf_ struct strbuf t = STRBUF_INIT(0);
                                strbuf_printf(&t, "%s failed: %s", name, strerror(-rc));
                                j->error = t.data ? strbuf_steal(&t) : NULL;
                        }
                        pthread_mutex_unlock(&j->lock);
                        failed = true;
                        break;
                }
                set_step(j, i, STEP_DONE);
                save(j, false);
        }
        exec_set_cancel_fd(-1); /* the undo steps must run to their end */
        bool cancelled = job_cancelled(j);
        if (failed || cancelled) {
                if (cancelled) {
                        pthread_mutex_lock(&j->lock);
                        free(j->error);
                        j->error = strdup("cancelled");
                        pthread_mutex_unlock(&j->lock);
                }
                if (last >= 0) {
                        _cleanup_free_ char *why = job_summary_any(j);
                        job_printf(j, "%s\n==> rolling back\n", why ? why : "failed");
                }
                for (ssize_t i = last; i >= 0; i--) {
                        if (j->steps[i].st == STEP_SKIPPED || !k->steps[i].undo)
                                continue;
                        k->steps[i].undo(j, j->ctx);
                        if (j->steps[i].st == STEP_DONE)
                                set_step(j, (size_t)i, STEP_UNDONE);
                }
        }
        finish(j, cancelled ? JOB_CANCELLED : failed ? JOB_FAILED : JOB_DONE);
        job_unref(j);
}

int job_cancel(struct job *j)
{
        pthread_mutex_lock(&j->lock);
        if (ended_state(j->state) || j->cancel) {
                bool ended = ended_state(j->state);
                pthread_mutex_unlock(&j->lock);
                return ended ? -EALREADY : 0;
        }
        j->cancel = true;
        bool queued = j->state == JOB_QUEUED;
        if (queued)
                j->state = JOB_CANCELLED; /* the job thread will skip it */
        if (!queued && eventfd_write(j->cancel_fd, 1) < 0)
                log_warn("job %lld: cannot signal the cancel: %m", j->id);
        pthread_mutex_unlock(&j->lock);
        if (queued) {
                if (j->kind->abandon)
                        j->kind->abandon(j, j->ctx);
                pthread_mutex_lock(&j->lock);
                if (!j->error)
                        j->error = strdup("cancelled before it started");
                pthread_mutex_unlock(&j->lock);
                finish(j, JOB_CANCELLED);
        }
        return 0;
}

static char *steps_text(const struct job_kind *k)
{
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < k->nsteps; i++)
                json_array_append_new(arr,
                                      json_pack("{s:s,s:s,s:n,s:n}", "name", k->steps[i].name,
                                                "state", "pending", "started_at", "finished_at"));
        char *t = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
        json_decref(arr);
        return t;
}

/* job_start failed before the job could run: the kind undoes what its
 * starter did, then the job goes. */
static void start_fail(struct job *j)
{
        if (j->kind->abandon)
                j->kind->abandon(j, j->ctx);
        job_free(j);
}

int job_start(const struct job_kind *k, const char *subject, void *ctx,
              const struct job_start_opts *o, struct job **out, long long *busy_id)
{
        if (out)
                *out = NULL;
        struct job_start_opts none = {0};
        if (!o)
                o = &none;
        if (!atomic_load(&eng.running)) {
                if (ctx && k->free_ctx)
                        k->free_ctx(ctx);
                return -ESHUTDOWN;
        }
        struct job *j = calloc(1, sizeof(*j));
        if (!j) {
                if (ctx && k->free_ctx)
                        k->free_ctx(ctx);
                return -ENOMEM;
        }
        j->kind = k;
        j->ctx = ctx;
        j->db = eng.db;
        j->cancel_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        j->subject = strdup(subject ? subject : "");
        j->user = strdup(o->user ? o->user : "");
        j->steps = calloc(k->nsteps ? k->nsteps : 1, sizeof(*j->steps));
        j->data = json_object();
        j->deployment_id = o->deployment_id;
        j->site_id = o->site_id;
        j->refs = 1;
        pthread_mutex_init(&j->lock, NULL);
        pthread_mutex_init(&j->flush_lock, NULL);
        now_text(j->created);
        if (j->cancel_fd < 0 || !j->subject || !j->user || !j->steps || !j->data) {
                start_fail(j);
                return -ENOMEM;
        }
        /* a provisional holder until the row has an id */
        static atomic_llong provisional = -2;
        long long tmp = atomic_fetch_sub(&provisional, 1);
        int rc = locks_acquire(j->subject, tmp, busy_id);
        if (rc < 0) {
                start_fail(j);
                return rc;
        }
        _cleanup_free_ char *steps = steps_text(k);
        long long id = jobs_insert(eng.db, k->name, j->subject, j->user, steps, j->deployment_id);
        if (id < 0) {
                locks_release(j->subject, tmp);
                start_fail(j);
                return (int)id;
        }
        j->id = id;
        if (o->on_end && job_on_end(j, o->on_end, o->on_end_arg) < 0) {
                locks_release(j->subject, tmp);
                start_fail(j);
                return -ENOMEM;
        }
        /* swap the provisional holder for the id */
        locks_transfer(j->subject, tmp, id);

        pthread_mutex_lock(&registry_lock);
        struct job *dropped = reap_locked(JOB_LINGER_S);
        j->refs = 3; /* the registry's, the job thread's and the caller's */
        j->next = registry;
        registry = j;
        pthread_mutex_unlock(&registry_lock);
        unref_list(dropped);

        rc = workpool_submit(eng.pool, run_job, j);
        if (rc < 0) {
                job_unref(j); /* the job thread's */
                pthread_mutex_lock(&j->lock);
                for (struct end_cb *c = j->cbs, *nx; c; c = nx) {
                        nx = c->next; /* never called when job_start fails */
                        free(c);
                }
                j->cbs = NULL;
                j->state = JOB_FAILED;
                free(j->error);
                j->error = strdup(rc == -EAGAIN ? "queue failed: too many jobs waiting"
                                                : "queue failed: the panel is stopping");
                pthread_mutex_unlock(&j->lock);
                /* ctx stays the caller's problem through abandon */
                if (k->abandon)
                        k->abandon(j, j->ctx);
                finish(j, JOB_FAILED);
                job_unref(j);
                return rc == -EAGAIN ? -EAGAIN : -ESHUTDOWN;
        }
        log_info("job %lld (%s %s) queued", id, k->name, j->subject);
        if (out)
                *out = j;
        else
                job_unref(j);
        return 0;
}

/* ---- the flusher: rows of running jobs at most once a second ---- */

static void *flusher_main(void *arg)
{
        (void)arg;
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
        pthread_mutex_lock(&eng.mu);
        while (!eng.stopping) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += JOB_FLUSH_S;
                pthread_cond_timedwait(&eng.cv, &eng.mu, &ts);
                if (eng.stopping)
                        break;
                pthread_mutex_unlock(&eng.mu);
                /* collect the dirty running jobs, then write each */
                struct job *list[64];
                size_t n = 0;
                pthread_mutex_lock(&registry_lock);
                for (struct job *j = registry; j && n < ARRAY_SIZE(list); j = j->next) {
                        pthread_mutex_lock(&j->lock);
                        bool want = j->state == JOB_RUNNING && j->dirty;
                        pthread_mutex_unlock(&j->lock);
                        if (want) {
                                j->refs++;
                                list[n++] = j;
                        }
                }
                pthread_mutex_unlock(&registry_lock);
                for (size_t i = 0; i < n; i++) {
                        save(list[i], false);
                        job_unref(list[i]);
                }
                pthread_mutex_lock(&eng.mu);
        }
        pthread_mutex_unlock(&eng.mu);
        return NULL;
}

int jobs_engine_start(struct db *db, unsigned workers)
{
        if (atomic_load(&eng.running))
                return -EALREADY;
        eng.db = db;
        int n = jobs_fail_stale(db);
        if (n > 0)
                log_warn("jobs: %d jobs were interrupted by a stop of the panel; marked failed", n);
        eng.pool = workpool_new(workers ? workers : 2, QUEUE_MAX);
        if (!eng.pool)
                return -errno;
        eng.stopping = false;
        int rc = pthread_create(&eng.flusher, NULL, flusher_main, NULL);
        if (rc != 0) {
                workpool_free(eng.pool);
                eng.pool = NULL;
                return -rc;
        }
        eng.flusher_started = true;
        atomic_store(&eng.running, true);
        return 0;
}

void jobs_recover(const struct config *cfg, struct db *db, const struct job_kind *k)
{
        struct job_row *rows;
        size_t n;
        if (jobs_list_recover(db, k->name, &rows, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                if (k->recover) {
                        json_t *data = json_loads(rows[i].data, 0, NULL);
                        if (!json_is_object(data)) {
                                json_decref(data);
                                data = json_object();
                        }
                        log_warn("jobs: repairing %s after interrupted job %lld (%s)",
                                 rows[i].subject, rows[i].id, k->name);
                        k->recover(cfg, db, rows[i].subject, data, rows[i].step);
                        json_decref(data);
                }
                jobs_recovered(db, rows[i].id);
        }
        job_rows_free(rows, n);
}

void jobs_engine_stop(void)
{
        if (!atomic_exchange(&eng.running, false))
                return;
        /* cancel everything, then let the pool drain */
        pthread_mutex_lock(&registry_lock);
        struct job *list[256];
        size_t n = 0;
        for (struct job *j = registry; j && n < ARRAY_SIZE(list); j = j->next) {
                j->refs++;
                list[n++] = j;
        }
        pthread_mutex_unlock(&registry_lock);
        for (size_t i = 0; i < n; i++) {
                job_cancel(list[i]);
                job_unref(list[i]);
        }
        workpool_free(eng.pool);
        eng.pool = NULL;
        pthread_mutex_lock(&eng.mu);
        eng.stopping = true;
        pthread_cond_broadcast(&eng.cv);
        pthread_mutex_unlock(&eng.mu);
        if (eng.flusher_started)
                pthread_join(eng.flusher, NULL);
        eng.flusher_started = false;
        jobs_reap(0);
}
