/* The scheduler module: its start hook seeds the default jobs and starts the
 * scheduler thread (jobs/scheduler.c), its stop hook stops it.
 * GET /api/scheduler/jobs lists cron_jobs; POST
 * /api/scheduler/jobs/{id}/run runs one now (on the worker pool, answering
 * when the run is over). Handlers: ssl_renew (seeded) and backup (backup
 * schedules an admin adds with POST /api/scheduler/jobs, changes with PUT
 * and removes with DELETE: a site's or a full backup on a cron schedule,
 * keeping the newest `keep` of them). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/json.h"
#include "api/module.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "db/backups.h"
#include "db/schedjobs.h"
#include "jobs/backups.h"
#include "jobs/certs.h"
#include "jobs/cron.h"
#include "jobs/scheduler.h"

static struct scheduler *sched;

static int run_ssl_renew(void *ctx, const struct cron_job_row *job, time_t now, char **err)
{
        struct app *app = ctx;
        int r = certs_renew_due(app->cfg, app->db, now);
        if (r < 0 && !(*err = strdup(strerror(-r))))
                return r;
        return r;
}

/* Starts the backup job and returns: the job runs on the engine's pool. */
static int run_backup(void *ctx, const struct cron_job_row *job, time_t now, char **err)
{
        (void)now;
        struct app *app = ctx;
        int r = backup_start_scheduled(app->cfg, app->db, job->site_id, job->keep);
        if (r < 0 && !(*err = strdup(r == -EBUSY ? "another job holds the site" : strerror(-r))))
                return -ENOMEM;
        return r;
}

static const struct sched_handler handlers[] = {
    {"ssl_renew", run_ssl_renew},
    {"backup", run_backup},
};

static int sched_start_hook(struct app *app)
{
        struct sched_config cfg = {
            .db = app->db,
            .handlers = handlers,
            .nhandlers = ARRAY_SIZE(handlers),
            .ctx = app,
        };
        int r = sched_new(&cfg, &sched);
        if (r < 0)
                return r;
        if ((r = sched_start(sched)) < 0) {
                sched_free(sched);
                sched = NULL;
        }
        return r;
}

static void sched_stop_hook(struct app *app)
{
        sched_free(sched);
        sched = NULL;
}

/* Stored timestamps in the one output format (reference rows may hold
 * others); null when absent or unreadable. */
static json_t *time_json(const char *stored)
{
        time_t t;
        if (!stored || time_parse(stored, &t) < 0)
                return json_null();
        char buf[TIME_RFC3339_LEN];
        time_format_rfc3339(t, buf);
        return json_string(buf);
}

/* Text that may not be UTF-8 (a handler's message, a stored schedule). */
static json_t *text_json(const char *s)
{
        if (!s)
                return json_null();
        json_t *j = json_string(s);
        if (j)
                return j;
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return json_null();
        for (char *p = copy; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        *p = '?';
        return json_string(copy);
}

static json_t *row_json(const struct cron_job_row *j)
{
        struct cron_expr e;
        _cleanup_free_ char *err = NULL;
        bool ok = cron_parse(j->schedule, &e, &err) == 0;
        return json_pack("{s:I,s:o,s:o,s:o,s:b,s:o,s:o,s:b,s:o,s:o}", "id", (json_int_t)j->id,
                         "site_id", j->site_id > 0 ? json_integer(j->site_id) : json_null(),
                         "job_type", text_json(j->job_type), "schedule", text_json(j->schedule),
                         "enabled", j->enabled, "last_run", time_json(j->last_run), "next_run",
                         time_json(j->next_run), "has_handler",
                         sched && sched_has_handler(sched, j->job_type), "schedule_error",
                         ok ? json_null() : text_json(err ? err : "invalid schedule"), "keep",
                         j->keep > 0 ? json_integer(j->keep) : json_null());
}

static void jobs_list(struct http_req *r)
{
        struct cron_job_row *rows;
        size_t n;
        int rc = schedjobs_list(app_of(r)->db, &rows, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "cannot list the scheduled jobs");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, row_json(&rows[i]));
        schedjobs_list_free(rows, n);
        api_reply_json(r, 200, arr);
}

static void job_run(struct http_req *r)
{
        long long id;
        if (parse_int64(http_param(r, "id"), 1, (1LL << 53), &id) < 0) {
                http_reply_error(r, 400, "id: must be a positive integer");
                return;
        }
        if (!sched) {
                http_reply_error(r, 503, "the scheduler is not running");
                return;
        }
        struct sched_result res;
        int rc = sched_run_job(sched, id, time(NULL), &res);
        if (rc == -ENOENT) {
                sched_result_clear(&res);
                http_reply_errorf(r, 404, "job %lld not found", id);
                return;
        }
        if (rc == -EINVAL) {
                http_reply_errorf(r, 409, "job %lld has a malformed schedule and was disabled: %s",
                                  id, res.err ? res.err : "invalid");
                sched_result_clear(&res);
                return;
        }
        if (rc < 0) {
                sched_result_clear(&res);
                api_reply_errno(r, rc, "cannot run the job");
                return;
        }
        if (!res.ran) {
                http_reply_errorf(r, 409, "job_type: no handler for '%s': nothing ran",
                                  res.job_type ? res.job_type : "?");
                sched_result_clear(&res);
                return;
        }
        json_t *j = json_pack(
            "{s:I,s:o,s:b,s:i,s:o,s:s,s:o}", "id", (json_int_t)id, "job_type",
            text_json(res.job_type), "ok", res.rc >= 0, "result", res.rc, "error",
            res.rc < 0 ? text_json(res.err ? res.err : strerror(-res.rc)) : json_null(), "last_run",
            res.last_run, "next_run", res.next_run[0] ? json_string(res.next_run) : json_null());
        sched_result_clear(&res);
        api_reply_json(r, 200, j);
}

/* ---- backup schedules ---- */

#define KEEP_MAX 1000

struct sched_body {
        char *job_type, *schedule;
        long long site_id, keep;
        bool enabled;
        bool has_job_type, has_schedule, has_site_id, has_keep, has_enabled;
};
static const struct field sched_fields[] = {
    FIELD(struct sched_body, FIELD_STRING, job_type, false, 32),
    FIELD(struct sched_body, FIELD_STRING, schedule, false, 128),
    FIELD(struct sched_body, FIELD_INT, site_id, false, 0),
    FIELD(struct sched_body, FIELD_INT, keep, false, 0),
    FIELD(struct sched_body, FIELD_BOOL, enabled, false, 0),
};

/* The next run of schedule after now into next, or a 400 naming the field. */
static bool next_of(struct http_req *r, const char *schedule, char next[TIME_RFC3339_LEN])
{
        struct cron_expr e;
        _cleanup_free_ char *err = NULL;
        time_t t;
        if (str_empty(schedule) || cron_parse(schedule, &e, &err) < 0) {
                http_reply_errorf(r, 400, "schedule: %s",
                                  err ? err : "five fields: minute hour day month weekday");
                return false;
        }
        if (cron_next(&e, time(NULL), &t) < 0) {
                http_reply_error(r, 400, "schedule: matches no date within 4 years");
                return false;
        }
        time_format_rfc3339(t, next);
        return true;
}

static bool keep_ok(struct http_req *r, const struct sched_body *b)
{
        if (b->has_keep && (b->keep < 0 || b->keep > KEEP_MAX)) {
                http_reply_errorf(r, 400, "keep must be 0 (no own rule) to %d", KEEP_MAX);
                return false;
        }
        return true;
}

static void reply_row(struct http_req *r, int status, long long id)
{
        struct cron_job_row j = {0};
        int rc = schedjobs_get(app_of(r)->db, id, &j);
        if (rc < 0) {
                api_reply_errno(r, rc, "cannot read the scheduled job");
                return;
        }
        api_reply_json(r, status, row_json(&j));
        cron_job_row_clear(&j);
}

static void job_add(struct http_req *r)
{
        struct app *app = app_of(r);
        struct sched_body b = {0};
        if (!fields_decode(r, sched_fields, ARRAY_SIZE(sched_fields), &b))
                return;
        char next[TIME_RFC3339_LEN];
        if (!streq(b.job_type, "backup")) {
                http_reply_error(r, 400, "job_type must be backup (ssl_renew is built in)");
                goto out;
        }
        if (b.has_site_id && b.site_id < 0) {
                http_reply_error(r, 400, "site_id must be a site's id, or 0 for a full backup");
                goto out;
        }
        if (!keep_ok(r, &b) || !next_of(r, b.schedule, next))
                goto out;
        if (b.site_id > 0) {
                _cleanup_free_ char *domain = NULL, *root = NULL;
                if (backups_site_lookup(app->db, b.site_id, &domain, &root) < 0) {
                        http_reply_errorf(r, 400, "site_id: no site %lld", b.site_id);
                        goto out;
                }
        }
        long long id = schedjobs_add(app->db, b.site_id, "backup", b.schedule, (int)b.keep, next);
        if (id < 0) {
                api_reply_errno(r, (int)id, "cannot add the scheduled job");
                goto out;
        }
        reply_row(r, 201, id);
out:
        fields_free(sched_fields, ARRAY_SIZE(sched_fields), &b);
}

static bool load_row(struct http_req *r, long long *id, struct cron_job_row *j)
{
        if (parse_int64(http_param(r, "id"), 1, (1LL << 53), id) < 0) {
                http_reply_error(r, 400, "id: must be a positive integer");
                return false;
        }
        int rc = schedjobs_get(app_of(r)->db, *id, j);
        if (rc < 0) {
                if (rc == -ENOENT)
                        http_reply_errorf(r, 404, "job %lld not found", *id);
                else
                        api_reply_errno(r, rc, "cannot read the scheduled job");
                return false;
        }
        return true;
}

/* schedule, enabled, keep: what is given changes; next_run follows. */
static void job_update(struct http_req *r)
{
        long long id;
        struct cron_job_row j = {0};
        struct sched_body b = {0};
        if (!load_row(r, &id, &j))
                return;
        if (!fields_decode(r, sched_fields, ARRAY_SIZE(sched_fields), &b))
                goto out;
        if ((b.has_job_type && !streq(b.job_type, j.job_type)) ||
            (b.has_site_id && b.site_id != j.site_id)) {
                http_reply_error(r, 400, "job_type and site_id cannot change: add a new job");
                goto out;
        }
        if (!keep_ok(r, &b))
                goto out;
        if (b.has_keep && !streq(j.job_type, "backup")) {
                http_reply_error(r, 400, "keep: only backup jobs keep backups");
                goto out;
        }
        const char *schedule = b.has_schedule ? b.schedule : j.schedule;
        bool enabled = b.has_enabled ? b.enabled : j.enabled;
        char next[TIME_RFC3339_LEN] = "";
        if (!next_of(r, schedule, next))
                goto out;
        int rc = schedjobs_update(app_of(r)->db, id, schedule, enabled,
                                  b.has_keep ? (int)b.keep : j.keep, enabled ? next : NULL);
        if (rc < 0) {
                api_reply_errno(r, rc, "cannot change the scheduled job");
                goto out;
        }
        reply_row(r, 200, id);
out:
        fields_free(sched_fields, ARRAY_SIZE(sched_fields), &b);
        cron_job_row_clear(&j);
}

static void job_delete(struct http_req *r)
{
        long long id;
        struct cron_job_row j = {0};
        if (!load_row(r, &id, &j))
                return;
        if (!streq(j.job_type, "backup")) {
                http_reply_errorf(r, 409, "%s is built in: disable it instead",
                                  j.job_type ? j.job_type : "this job");
        } else {
                int rc = schedjobs_delete(app_of(r)->db, id);
                if (rc < 0)
                        api_reply_errno(r, rc, "cannot delete the scheduled job");
                else
                        api_reply_status(r, 200, "deleted");
        }
        cron_job_row_clear(&j);
}

static const struct route routes[] = {
    {"GET", "/api/scheduler/jobs", jobs_list, ROUTE_USER, 0, NULL},
    {"POST", "/api/scheduler/jobs", job_add, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"PUT", "/api/scheduler/jobs/{id}", job_update, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"DELETE", "/api/scheduler/jobs/{id}", job_delete, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/api/scheduler/jobs/{id}/run", job_run, ROUTE_ADMIN, ROUTE_WORKER, NULL},
};

const struct api_module sched_module = {"sched", routes, ARRAY_SIZE(routes), sched_start_hook,
                                        sched_stop_hook};
