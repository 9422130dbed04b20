/* The cron_jobs table (reference schema, unchanged) as the scheduler uses
 * it, and the dashboard's warnings about failed certificate renewals (read
 * from cert_attempts). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct db;

struct cron_job_row {
        long long id;
        long long site_id; /* 0 when NULL (a global job) */
        char *job_type;
        char *schedule;
        bool enabled;
        char *last_run; /* as stored (RFC 3339 UTC), NULL when never */
        char *next_run; /* NULL when not computed yet */
        int keep;       /* backup: the newest kept of its site's backups; 0 = no own rule */
};

void cron_job_row_clear(struct cron_job_row *j);
void schedjobs_list_free(struct cron_job_row *list, size_t n);

/* Every row, by id. */
int schedjobs_list(struct db *db, struct cron_job_row **out, size_t *n);
/* 0, -ENOENT or -errno. */
int schedjobs_get(struct db *db, long long id, struct cron_job_row *out);
/* Insert a global, enabled job of job_type unless a row of that type exists
 * (a disabled or changed one included: a seed never overrides the admin).
 * *inserted tells which. next_run may be NULL. 0 or -errno. */
int schedjobs_seed(struct db *db, const char *job_type, const char *schedule, const char *next_run,
                   bool *inserted);
/* Set next_run, and last_run unless it is NULL. 0, -ENOENT or -errno. */
int schedjobs_set_times(struct db *db, long long id, const char *last_run, const char *next_run);
/* enabled = FALSE, next_run = NULL. 0, -ENOENT or -errno. */
int schedjobs_disable(struct db *db, long long id);

/* A new enabled row (site_id <= 0: NULL; keep <= 0: NULL). The new id or
 * -errno (-ENOENT: no such site). */
long long schedjobs_add(struct db *db, long long site_id, const char *job_type,
                        const char *schedule, int keep, const char *next_run);
/* Replace schedule, enabled, keep (<= 0: NULL) and next_run (NULL: NULL)
 * of a row. 0, -ENOENT or -errno. */
int schedjobs_update(struct db *db, long long id, const char *schedule, bool enabled, int keep,
                     const char *next_run);
/* 0, -ENOENT or -errno. */
int schedjobs_delete(struct db *db, long long id);

struct ssl_warning {
        char *domain;
        char *message; /* the failure and when it happened */
};

void ssl_warnings_free(struct ssl_warning *list, size_t n);
/* One warning per site domain whose latest certificate attempt was a
 * renewal (kind auto or renew) that failed, by domain; messages are
 * printable ASCII (other bytes become ?). An empty list when cert_attempts
 * does not exist (yet). */
int sched_ssl_warnings(struct db *db, struct ssl_warning **out, size_t *n);
