/* The scheduler module: its start hook seeds the default jobs and starts the
 * scheduler thread (jobs/scheduler.c), its stop hook stops it.
 * GET /api/scheduler/jobs lists cron_jobs; POST
 * /api/scheduler/jobs/{id}/run runs one now (on the worker pool, answering
 * when the run is over). ssl_renew is the one job type with a handler. */
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
#include "db/schedjobs.h"
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

static const struct sched_handler handlers[] = {
    {"ssl_renew", run_ssl_renew},
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

static json_t *job_json(const struct cron_job_row *j)
{
        struct cron_expr e;
        _cleanup_free_ char *err = NULL;
        bool ok = cron_parse(j->schedule, &e, &err) == 0;
        return json_pack("{s:I,s:o,s:o,s:o,s:b,s:o,s:o,s:b,s:o}", "id", (json_int_t)j->id,
                         "site_id", j->site_id > 0 ? json_integer(j->site_id) : json_null(),
                         "job_type", text_json(j->job_type), "schedule", text_json(j->schedule),
                         "enabled", j->enabled, "last_run", time_json(j->last_run), "next_run",
                         time_json(j->next_run), "has_handler",
                         sched && sched_has_handler(sched, j->job_type), "schedule_error",
                         ok ? json_null() : text_json(err ? err : "invalid schedule"));
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
                json_array_append_new(arr, job_json(&rows[i]));
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

static const struct route routes[] = {
    {"GET", "/api/scheduler/jobs", jobs_list, ROUTE_USER, 0, NULL},
    {"POST", "/api/scheduler/jobs/{id}/run", job_run, ROUTE_ADMIN, ROUTE_WORKER, NULL},
};

const struct api_module sched_module = {"sched", routes, ARRAY_SIZE(routes), sched_start_hook,
                                        sched_stop_hook};
