/* The sites and deployments tables (reference schema, unchanged). Values are
 * stored as given: callers validate (site_validate) before writing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/site.h"

struct db;

/* Columns of a partial update (sites_update). */
enum site_col {
        SITE_COL_DOMAIN = 1u << 0,
        SITE_COL_ALIASES = 1u << 1,
        SITE_COL_APP_TYPE = 1u << 2,
        SITE_COL_APP_ROOT = 1u << 3,
        SITE_COL_APP_PORT = 1u << 4,
        SITE_COL_APP_ENTRY = 1u << 5,
        SITE_COL_GIT_REPO = 1u << 6,
        SITE_COL_GIT_BRANCH = 1u << 7,
        SITE_COL_SSL_ENABLED = 1u << 8,
        SITE_COL_SSL_CERT_PATH = 1u << 9,
        SITE_COL_SSL_KEY_PATH = 1u << 10,
        SITE_COL_SSL_AUTO = 1u << 11,
        SITE_COL_ENABLED = 1u << 12,
        SITE_COL_MAX_BODY_SIZE = 1u << 13,
        SITE_COL_SECURITY_HEADERS = 1u << 14,
        SITE_COL_ALL = (1u << 15) - 1,
};

void sites_list_free(struct site *list, size_t n);
/* Ordered by domain. *out is malloc'd (NULL when empty). 0 or -errno. */
int sites_list(struct db *db, struct site **out, size_t *n);
/* 0, -ENOENT or -errno. out is filled only on 0. */
int sites_get(struct db *db, long long id, struct site *out);
int sites_get_by_domain(struct db *db, const char *domain, struct site *out);
/* The hosting provider whose DNS the site's records were made at ("" = none).
 * 0, -ENOENT (no such site) or -errno; get: *out malloc'd. */
int sites_set_dns_provider(struct db *db, long long id, const char *provider);
int sites_get_dns_provider(struct db *db, long long id, char **out);
/* Insert s (id, created_at, updated_at ignored, stamped now). The new id,
 * -EEXIST when the domain is taken, or -errno. */
long long sites_insert(struct db *db, const struct site *s);
/* Write the columns in mask (enum site_col) from s into row s->id and stamp
 * updated_at. 0, -ENOENT, -EEXIST (domain taken) or -errno. */
int sites_update(struct db *db, const struct site *s, unsigned mask);
/* Delete the row. Rows that point at it are kept for history with site_id
 * NULL (deployments, backups) or removed (cron_jobs, which would run for
 * nothing). 0, -ENOENT or -errno. */
int sites_delete(struct db *db, long long id);
/* Another site than except_id whose app_root is app_root, lies inside it or
 * holds it (site_roots_overlap): 0 with its domain in domain; -ENOENT when
 * there is none; -errno. */
int sites_root_conflict(struct db *db, const char *app_root, long long except_id, char *domain,
                        size_t domainlen);
/* app_port of every site except except_id with a port > 0. *out malloc'd. */
int sites_used_ports(struct db *db, long long except_id, int **out, size_t *n);

/* A deployment row as the API shows it: {"id","type","status","output",
 * "created_at","finished_at"} (type = action, created_at = started_at). */
struct deployment {
        long long id;
        long long site_id; /* 0 when NULL */
        char *type;        /* "clone", "create", "deploy" */
        char *status;      /* "running", "success", "failed" (reference rows: "pending") */
        char *output;
        char *created_at;
        char *finished_at; /* NULL while running */
};

void deployment_clear(struct deployment *d);
void deployments_list_free(struct deployment *list, size_t n);
/* New row (site_id <= 0: NULL), status "running", stamped now. id or -errno. */
long long deployments_insert(struct db *db, long long site_id, const char *action);
/* Append to output. 0, -ENOENT or -errno. */
int deployments_append_output(struct db *db, long long id, const char *data, size_t len);
/* Replace output (the job's bounded copy). 0, -ENOENT or -errno. */
int deployments_set_output(struct db *db, long long id, const char *output);
/* status "success"/"failed", finished_at now, output replaced when not NULL. */
int deployments_finish(struct db *db, long long id, bool ok, const char *output);
/* Newest first, at most limit. */
int deployments_list(struct db *db, long long site_id, size_t limit, struct deployment **out,
                     size_t *n);
int deployments_get(struct db *db, long long id, struct deployment *out);
/* Rows still "running" (a previous process died mid-job) become "failed".
 * Returns how many, or -errno. */
int deployments_fail_stale(struct db *db, const char *note);
