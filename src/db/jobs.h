/* The jobs table: one row per job of the engine (jobs/engine.h) with its
 * steps (JSON text), output, error and recovery data. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct db;

struct job_row {
        long long id, deployment_id;
        char *kind, *subject, *state, *step, *steps, *output, *error, *data, *user;
        char *created_at, *started_at, *finished_at; /* started/finished may be NULL */
};

void job_row_clear(struct job_row *r);
void job_rows_free(struct job_row *list, size_t n);

/* New row, state "queued". The id, or -errno. */
long long jobs_insert(struct db *db, const char *kind, const char *subject, const char *user,
                      const char *steps, long long deployment_id);
/* Write the row's changing columns. Strings NULL keep the column
 * (started_at/finished_at NULL keep it too). 0 or -errno. */
int jobs_save(struct db *db, long long id, const char *state, const char *step, const char *steps,
              const char *output, const char *error, const char *data, const char *started_at,
              const char *finished_at);
/* 0, -ENOENT or -errno. */
int jobs_get(struct db *db, long long id, struct job_row *out);

struct jobs_filter {
        const char *state, *kind, *subject, *q; /* NULL or "" = any */
        const char *user;                       /* who started it; NULL or "" = anyone */
        const char *sort;                       /* a column (jobs_sort_key_valid); NULL = id */
        bool asc;                               /* default newest first */
        size_t offset, limit;                   /* limit 0 = all */
};
bool jobs_sort_key_valid(const char *key);
/* Newest first, without the output column (""). *total gets the count
 * matching the filter. */
int jobs_list(struct db *db, const struct jobs_filter *f, struct job_row **out, size_t *n,
              size_t *total);

/* Rows left queued/running by an earlier process: failed with a reason
 * naming their step, marked for recovery. The number of rows, or -errno. */
int jobs_fail_stale(struct db *db);
/* Rows of kind marked for recovery (every column). */
int jobs_list_recover(struct db *db, const char *kind, struct job_row **out, size_t *n);
int jobs_recovered(struct db *db, long long id);
/* Retention: delete ended rows (done, failed, cancelled; none still waiting
 * for recovery) that ended more than max_age_days ago. The number of rows
 * deleted, -EINVAL (max_age_days < 1) or -errno. */
long jobs_prune(struct db *db, int max_age_days);
