/* The scheduler thread and its passes over cron_jobs (see scheduler.h). */
#include "jobs/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "jobs/cron.h"

static const struct {
        const char *job_type, *schedule;
} default_jobs[] = {
    {"ssl_renew", SCHED_SSL_RENEW_SCHEDULE},
};

struct scheduler {
        struct sched_config cfg;
        pthread_mutex_t run_lock; /* one job at a time */
        pthread_mutex_t lock;     /* stopping, ticks */
        pthread_cond_t wake;      /* on CLOCK_MONOTONIC */
        pthread_t thread;
        bool running, stopping;
        unsigned long ticks;
};

void sched_result_clear(struct sched_result *res)
{
        if (!res)
                return;
        free(res->job_type);
        free(res->err);
        *res = (struct sched_result){0};
}

int sched_new(const struct sched_config *cfg, struct scheduler **out)
{
        struct scheduler *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->cfg = *cfg;
        if (!s->cfg.max_sleep_s)
                s->cfg.max_sleep_s = SCHED_MAX_SLEEP_S;
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->wake, &ca);
        pthread_condattr_destroy(&ca);
        pthread_mutex_init(&s->lock, NULL);
        pthread_mutex_init(&s->run_lock, NULL);
        *out = s;
        return 0;
}

void sched_free(struct scheduler *s)
{
        if (!s)
                return;
        sched_stop(s);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->run_lock);
        free(s);
}

static const struct sched_handler *find_handler(const struct scheduler *s, const char *type)
{
        for (size_t i = 0; i < s->cfg.nhandlers; i++)
                if (streq(s->cfg.handlers[i].job_type, type))
                        return &s->cfg.handlers[i];
        return NULL;
}

bool sched_has_handler(const struct scheduler *s, const char *job_type)
{
        return find_handler(s, job_type) != NULL;
}

/* The next run of row j after now into out. -EINVAL (the row was disabled
 * and the reason logged; *why malloc'd when why is not NULL) or 0. */
static int next_or_disable(struct scheduler *s, const struct cron_job_row *j, time_t now,
                           char out[TIME_RFC3339_LEN], char **why)
{
        struct cron_expr e;
        _cleanup_free_ char *err = NULL;
        time_t next;
        int r = cron_parse(j->schedule, &e, &err);
        if (r == 0 && cron_next(&e, now, &next) < 0) {
                r = -EINVAL;
                free(err);
                err = strdup("schedule: matches no date within 4 years");
        }
        if (r == 0) {
                time_format_rfc3339(next, out);
                return 0;
        }
        log_warn("scheduler: job %lld (%s) disabled: malformed schedule '%s': %s", j->id,
                 j->job_type, j->schedule, err ? err : "invalid");
        int d = schedjobs_disable(s->cfg.db, j->id);
        if (d < 0)
                log_error("scheduler: cannot disable job %lld: %s", j->id, strerror(-d));
        if (why)
                *why = TAKE_PTR(err);
        return -EINVAL;
}

int sched_seed(struct scheduler *s, time_t now)
{
        int seeded = 0;
        for (size_t i = 0; i < ARRAY_SIZE(default_jobs); i++) {
                struct cron_expr e;
                time_t next;
                char nr[TIME_RFC3339_LEN];
                if (cron_parse(default_jobs[i].schedule, &e, NULL) < 0 ||
                    cron_next(&e, now, &next) < 0)
                        return -EINVAL; /* a bug in the table above */
                time_format_rfc3339(next, nr);
                bool inserted;
                int r = schedjobs_seed(s->cfg.db, default_jobs[i].job_type,
                                       default_jobs[i].schedule, nr, &inserted);
                if (r < 0)
                        return r;
                if (inserted) {
                        log_info("scheduler: seeded job %s at '%s' (next run %s)",
                                 default_jobs[i].job_type, default_jobs[i].schedule, nr);
                        seeded++;
                }
        }
        struct cron_job_row *rows;
        size_t n;
        int r = schedjobs_list(s->cfg.db, &rows, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char nr[TIME_RFC3339_LEN];
                time_t t;
                if (!rows[i].enabled || (rows[i].next_run && time_parse(rows[i].next_run, &t) == 0))
                        continue;
                if (next_or_disable(s, &rows[i], now, nr, NULL) == 0)
                        schedjobs_set_times(s->cfg.db, rows[i].id, NULL, nr);
        }
        schedjobs_list_free(rows, n);
        return seeded;
}

/* Run row j (run_lock held): the handler, then last_run and next_run. */
static int run_row(struct scheduler *s, const struct cron_job_row *j, time_t now,
                   struct sched_result *res)
{
        res->id = j->id;
        if (!(res->job_type = strdup(j->job_type)))
                return -ENOMEM;
        char next[TIME_RFC3339_LEN] = "";
        if (next_or_disable(s, j, now, next, &res->err) < 0)
                return -EINVAL;
        if (!j->enabled)
                next[0] = '\0';
        const struct sched_handler *h = find_handler(s, j->job_type);
        time_format_rfc3339(now, res->last_run);
        if (!h) {
                log_warn("scheduler: job %lld: no handler for job type '%s': skipped", j->id,
                         j->job_type);
                res->last_run[0] = '\0';
        } else {
                log_info("scheduler: running job %lld (%s)", j->id, j->job_type);
                res->ran = true;
                res->rc = h->run(s->cfg.ctx, j, now, &res->err);
                if (res->rc < 0)
                        log_warn("scheduler: job %lld (%s) failed: %s", j->id, j->job_type,
                                 res->err ? res->err : strerror(-res->rc));
                else
                        log_info("scheduler: job %lld (%s) done (%d)", j->id, j->job_type, res->rc);
        }
        memcpy(res->next_run, next, sizeof(next));
        int r = schedjobs_set_times(s->cfg.db, j->id, res->ran ? res->last_run : NULL,
                                    next[0] ? next : NULL);
        if (r < 0)
                log_error("scheduler: cannot record the run of job %lld: %s", j->id, strerror(-r));
        return r == -ENOENT ? 0 : r; /* deleted meanwhile (its site went) */
}

static int cmp_next(const void *a, const void *b)
{
        time_t x = ((const time_t *)a)[0], y = ((const time_t *)b)[0];
        return x < y ? -1 : x > y;
}

int sched_tick(struct scheduler *s, time_t now, time_t *wake)
{
        if (wake)
                *wake = 0;
        struct cron_job_row *rows;
        size_t n;
        int r = schedjobs_list(s->cfg.db, &rows, &n);
        if (r < 0)
                return r;
        /* (next_run, index) pairs of the due rows, oldest first */
        time_t(*due)[2] = calloc(n ? n : 1, sizeof(*due));
        if (!due) {
                schedjobs_list_free(rows, n);
                return -ENOMEM;
        }
        size_t ndue = 0;
        time_t earliest = 0;
        for (size_t i = 0; i < n; i++) {
                struct cron_job_row *j = &rows[i];
                if (!j->enabled)
                        continue;
                time_t t;
                char nr[TIME_RFC3339_LEN];
                if (!j->next_run || time_parse(j->next_run, &t) < 0) {
                        /* never computed (or unreadable): schedule, do not run */
                        if (next_or_disable(s, j, now, nr, NULL) < 0)
                                continue;
                        schedjobs_set_times(s->cfg.db, j->id, NULL, nr);
                        time_parse(nr, &t);
                } else if (t <= now) {
                        due[ndue][0] = t;
                        due[ndue][1] = (time_t)i;
                        ndue++;
                        continue;
                }
                if (!earliest || t < earliest)
                        earliest = t;
        }
        qsort(due, ndue, sizeof(*due), cmp_next);
        int ran = 0;
        for (size_t k = 0; k < ndue; k++) {
                struct cron_job_row *j = &rows[due[k][1]];
                struct sched_result res = {0};
                pthread_mutex_lock(&s->run_lock);
                /* a run-now may have run it meanwhile: re-read the row */
                struct cron_job_row cur;
                time_t t;
                int g = schedjobs_get(s->cfg.db, j->id, &cur);
                if (g == 0 && cur.enabled && cur.next_run && time_parse(cur.next_run, &t) == 0 &&
                    t <= now) {
                        r = run_row(s, &cur, now, &res);
                        if (res.ran)
                                ran++;
                }
                pthread_mutex_unlock(&s->run_lock);
                if (g == 0)
                        cron_job_row_clear(&cur);
                if (res.next_run[0] && time_parse(res.next_run, &t) == 0 &&
                    (!earliest || t < earliest))
                        earliest = t;
                sched_result_clear(&res);
        }
        free(due);
        schedjobs_list_free(rows, n);
        if (wake)
                *wake = earliest;
        return ran;
}

int sched_run_job(struct scheduler *s, long long id, time_t now, struct sched_result *res)
{
        *res = (struct sched_result){0};
        pthread_mutex_lock(&s->run_lock);
        struct cron_job_row j;
        int r = schedjobs_get(s->cfg.db, id, &j);
        if (r == 0) {
                r = run_row(s, &j, now, res);
                cron_job_row_clear(&j);
        }
        pthread_mutex_unlock(&s->run_lock);
        /* the thread may now sleep past an earlier next_run: wake it */
        pthread_mutex_lock(&s->lock);
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        return r;
}

static void *thread_main(void *arg)
{
        struct scheduler *s = arg;
        pthread_mutex_lock(&s->lock);
        while (!s->stopping) {
                pthread_mutex_unlock(&s->lock);
                time_t wake = 0;
                int r = sched_tick(s, time(NULL), &wake);
                if (r < 0)
                        log_error("scheduler: tick failed: %s", strerror(-r));
                time_t now = time(NULL);
                long secs = s->cfg.max_sleep_s;
                if (wake && wake - now < secs)
                        secs = wake - now;
                if (secs < 1)
                        secs = 1;
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += secs;
                pthread_mutex_lock(&s->lock);
                s->ticks++;
                if (!s->stopping)
                        pthread_cond_timedwait(&s->wake, &s->lock, &ts);
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

int sched_start(struct scheduler *s)
{
        if (s->running)
                return -EALREADY;
        int r = sched_seed(s, time(NULL));
        if (r < 0)
                return r;
        s->stopping = false;
        /* the thread is born with every signal blocked: they belong to the
         * main thread's sigwait */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&s->thread, NULL, thread_main, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0)
                return -r;
        s->running = true;
        return 0;
}

void sched_stop(struct scheduler *s)
{
        if (!s || !s->running)
                return;
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
        s->running = false;
}

unsigned long sched_tick_count(struct scheduler *s)
{
        pthread_mutex_lock(&s->lock);
        unsigned long t = s->ticks;
        pthread_mutex_unlock(&s->lock);
        return t;
}
