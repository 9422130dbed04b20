/* The scheduler: runs the rows of cron_jobs when they are due.
 *
 * On start it seeds the default jobs that are absent (ssl_renew at
 * SCHED_SSL_RENEW_SCHEDULE: twice a day, at an odd minute so panels do not
 * all ask the CA on the hour) and computes next_run where it is missing.
 * Then a thread (all signals blocked) ticks: it runs every enabled row whose
 * next_run has come, one at a time, through the handler registered for its
 * job_type, records last_run and the next run, and sleeps until the earliest
 * next_run (at most max_sleep_s). A row whose schedule does not parse (or
 * never matches) is disabled, with the reason logged; a job type without a
 * handler is logged and skipped (its next_run still advances). Missed runs
 * (the panel was down) run once at the first tick. Jobs never run
 * concurrently: a run requested through sched_run_job() waits for the
 * thread's current job and vice versa. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/timeutil.h"
#include "db/schedjobs.h"

#define SCHED_SSL_RENEW_SCHEDULE "17 3,15 * * *"
#define SCHED_MAX_SLEEP_S        30

struct scheduler;

/* Runs one job. A result >= 0 is success (e.g. how many certificates were
 * renewed), -errno a failure, optionally explained in *err (malloc'd). */
typedef int (*sched_handler_fn)(void *ctx, const struct cron_job_row *job, time_t now, char **err);

struct sched_handler {
        const char *job_type;
        sched_handler_fn run;
};

struct sched_config {
        struct db *db;
        const struct sched_handler *handlers; /* copied by pointer: must outlive the scheduler */
        size_t nhandlers;
        void *ctx;            /* passed to every handler */
        unsigned max_sleep_s; /* 0: SCHED_MAX_SLEEP_S */
};

struct sched_result {
        long long id;
        char *job_type;
        bool ran;  /* a handler was called */
        int rc;    /* the handler's result */
        char *err; /* the handler's explanation, or NULL */
        char last_run[TIME_RFC3339_LEN];
        char next_run[TIME_RFC3339_LEN]; /* "" when none (the row is disabled) */
};

void sched_result_clear(struct sched_result *res);

/* 0 or -ENOMEM. The thread is not started. */
int sched_new(const struct sched_config *cfg, struct scheduler **out);
/* Stops the thread if it runs, then frees. NULL is fine. */
void sched_free(struct scheduler *s);

/* Seed the default jobs that are absent and compute next_run (after now) for
 * enabled rows without one; malformed schedules are disabled. Returns how
 * many rows were seeded, or -errno. */
int sched_seed(struct scheduler *s, time_t now);
/* One pass: every enabled row due at now runs (oldest next_run first).
 * *wake (may be NULL) gets the earliest next_run left, or 0 when none.
 * Returns how many handlers were called, or -errno. */
int sched_tick(struct scheduler *s, time_t now, time_t *wake);
/* Run the row now, whatever its next_run (the API's "run now"); a disabled
 * row runs too but stays disabled. 0 with *res filled (res->ran false when
 * the type has no handler), -ENOENT (no such row), -EINVAL with res->err
 * (the schedule is malformed: the row is disabled, nothing ran) or -errno. */
int sched_run_job(struct scheduler *s, long long id, time_t now, struct sched_result *res);
/* Whether a handler exists for job_type. */
bool sched_has_handler(const struct scheduler *s, const char *job_type);

/* Seed (with the current time), then start the thread; its first tick is
 * immediate. 0 or -errno. */
int sched_start(struct scheduler *s);
/* Wake the thread at once and join it (after the job it may be running).
 * Idempotent. */
void sched_stop(struct scheduler *s);
/* Completed ticks of the thread (tests). */
unsigned long sched_tick_count(struct scheduler *s);
