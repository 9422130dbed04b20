/* Jobs (CONTRACT §9): GET /api/jobs (?state=&kind=&subject=&q=&sort=&order=
 * &page=&per_page=&mine=1: only the caller's jobs), GET /api/jobs/{id} (with
 * steps and output),
 * GET /api/jobs/{id}/stream (SSE: output, step, done; Last-Event-ID
 * resumes), DELETE /api/jobs/{id} (admin: cancel). Any user may read.
 *
 * The module also starts and stops the job engine (jobs/engine.h): it comes
 * first in the module list, so the engine runs (and has marked the jobs a
 * crash interrupted) before any module recovers its kinds or starts jobs. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/app.h"
#include "api/jobs.h"
#include "api/json.h"
#include "api/module.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "db/jobs.h"
#include "http/sse.h"
#include "jobs/engine.h"

#define PER_PAGE_DEFAULT 50
#define PER_PAGE_MAX     200
#define STREAMS_MAX      64
#define CHUNK_MAX        (64 * 1024)

static atomic_int streams_open;

static const char *const kinds[] = {
    "site_create",    "site_deploy",     "site_update",    "site_delete",
    "cert_issue",     "cert_renew",      "backup_create",  "backup_verify",
    "backup_restore", "autarch_install", "autarch_update", "autarch_dns_build",
};
static const char *const states[] = {"queued", "running", "done", "failed", "cancelled"};

static bool one_of(const char *v, const char *const *set, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (streq(v, set[i]))
                        return true;
        return false;
}

static bool job_id_param(struct http_req *r, long long *id)
{
        if (parse_int64(http_param(r, "id"), 1, (1LL << 53), id) < 0) {
                http_reply_error(r, 400, "invalid id");
                return false;
        }
        return true;
}

/* Output of programs may be any bytes; JSON needs UTF-8. */
static json_t *text_json(const char *s)
{
        json_t *v = json_string(s ? s : "");
        if (v)
                return v;
        _cleanup_free_ char *c = strdup(s);
        for (unsigned char *p = (unsigned char *)c; c && *p; p++)
                if (*p >= 0x80)
                        *p = '?';
        return json_string(c ? c : "");
}

static json_t *row_json(const struct job_row *row, bool full)
{
        json_t *o =
            json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "id", (json_int_t)row->id, "kind",
                      row->kind, "subject", row->subject, "state", row->state, "step", row->step,
                      "created_at", row->created_at, "started_at",
                      row->started_at ? json_string(row->started_at) : json_null(), "finished_at",
                      row->finished_at ? json_string(row->finished_at) : json_null(), "error",
                      *row->error ? text_json(row->error) : json_null());
        /* who started it ("" for a recovered or unknown one) */
        if (o)
                json_object_set_new(o, "user", text_json(row->user ? row->user : ""));
        if (o && full) {
                json_t *steps = json_loads(row->steps, 0, NULL);
                json_object_set_new(o, "steps", json_is_array(steps) ? steps : json_array());
                if (!json_is_array(steps))
                        json_decref(steps);
                json_object_set_new(o, "output", text_json(row->output));
        }
        return o;
}

/* ---- list ---- */

static bool page_param(struct http_req *r, const char *name, long long lo, long long hi,
                       long long def, long long *out)
{
        const char *v = http_query(r, name);
        *out = def;
        if (!v)
                return true;
        if (parse_int64(v, lo, hi, out) < 0) {
                http_reply_errorf(r, 400, "%s must be a number from %lld to %lld", name, lo, hi);
                return false;
        }
        return true;
}

static void list_jobs(struct http_req *r)
{
        struct jobs_filter f = {
            .state = http_query(r, "state"),
            .kind = http_query(r, "kind"),
            .subject = http_query(r, "subject"),
            .q = http_query(r, "q"),
            .sort = http_query(r, "sort"),
        };
        /* ?mine=1: the jobs the caller started (the UI's end notices) */
        const char *mine = http_query(r, "mine");
        if (mine && streq(mine, "1"))
                f.user = r->username;
        if (f.state && *f.state && !one_of(f.state, states, ARRAY_SIZE(states))) {
                http_reply_error(r, 400,
                                 "state must be queued, running, done, failed or cancelled");
                return;
        }
        if (f.kind && *f.kind && !one_of(f.kind, kinds, ARRAY_SIZE(kinds))) {
                http_reply_error(r, 400, "kind is not a job kind");
                return;
        }
        if (f.sort && *f.sort && !jobs_sort_key_valid(f.sort)) {
                http_reply_error(r, 400, "sort must be a field of a job");
                return;
        }
        const char *order = http_query(r, "order");
        if (order && !streq(order, "asc") && !streq(order, "desc")) {
                http_reply_error(r, 400, "order must be asc or desc");
                return;
        }
        f.asc = order && streq(order, "asc");
        long long page, per_page;
        if (!page_param(r, "page", 1, 1LL << 40, 1, &page) ||
            !page_param(r, "per_page", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT, &per_page))
                return;
        f.limit = (size_t)per_page;
        f.offset = (size_t)((page - 1) * per_page);
        struct job_row *rows;
        size_t n, total;
        int rc = jobs_list(app_of(r)->db, &f, &rows, &n, &total);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list jobs");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
                /* a live job is newer than its row (the flusher's second) */
                struct job *j = job_find(rows[i].id);
                json_array_append_new(arr, j ? job_json(j, false) : row_json(&rows[i], false));
                job_unref(j);
        }
        job_rows_free(rows, n);
        api_reply_json(r, 200, arr);
        char count[32];
        snprintf(count, sizeof(count), "%zu", total);
        http_add_header(r, "X-Total-Count", count);
}

/* ---- one ---- */

static void get_job(struct http_req *r)
{
        long long id;
        if (!job_id_param(r, &id))
                return;
        struct job *j = job_find(id);
        if (j) {
                api_reply_json(r, 200, job_json(j, true));
                job_unref(j);
                return;
        }
        struct job_row row;
        int rc = jobs_get(app_of(r)->db, id, &row);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "job not found" : "could not read job");
                return;
        }
        api_reply_json(r, 200, row_json(&row, true));
        job_row_clear(&row);
}

static void cancel_job(struct http_req *r)
{
        long long id;
        if (!job_id_param(r, &id))
                return;
        struct job *j = job_find(id);
        if (j) {
                int rc = job_cancel(j);
                enum job_state st = job_state_of(j);
                job_unref(j);
                if (rc == -EALREADY) {
                        http_reply_errorf(r, 409, "job %lld has already ended (%s)", id,
                                          job_state_name(st));
                        return;
                }
                log_info("jobs: %s cancels job %lld", r->username, id);
                api_reply_status(r, 202, "cancelling");
                return;
        }
        struct job_row row;
        int rc = jobs_get(app_of(r)->db, id, &row);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "job not found" : "could not read job");
                return;
        }
        http_reply_errorf(r, 409, "job %lld has already ended (%s)", id, row.state);
        job_row_clear(&row);
}

/* ---- stream ----
 * Events: "output" (a piece of output; id = the byte offset after it),
 * "step" ({"name","state","started_at","finished_at"} when a step changes)
 * and last "done" ({"state","error","step"}). Last-Event-ID = an offset
 * resumes the output after it. A job no longer in memory is replayed from
 * its row. */

struct job_stream {
        struct job *job;
        struct job_sub *sub; /* NULL: replay of a row */
        struct job_row row;
        size_t from;
        struct strbuf partial; /* output after the last line end, not sent yet */
        size_t partial_off;    /* offset of its first byte */
};

static void stream_free(void *ctx)
{
        struct job_stream *d = ctx;
        if (d) {
                job_sub_free(d->sub);
                job_unref(d->job);
                job_row_clear(&d->row);
                strbuf_free(&d->partial);
                free(d);
        }
        atomic_fetch_sub(&streams_open, 1);
}

static int send_json(struct sse_stream *s, const char *event, const char *id, json_t *o)
{
        _cleanup_free_ char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!text)
                return -ENOMEM;
        return sse_send_event(s, event, id, text, strlen(text));
}

/* One "output" event of whole lines. A bare CR (git's progress redraws)
 * would end an SSE line: it becomes LF. */
static int send_output(struct sse_stream *s, const char *data, size_t len, size_t end_off)
{
        if (!len)
                return 0;
        _cleanup_free_ char *copy = malloc(len);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, len);
        for (size_t i = 0; i < len; i++)
                if (copy[i] == '\r' && (i + 1 == len || copy[i + 1] != '\n'))
                        copy[i] = '\n';
        char id[32];
        snprintf(id, sizeof(id), "%zu", end_off);
        return sse_send_event(s, "output", id, copy, len);
}

/* Send what d->partial holds up to its last line end (all of it with
 * flush). */
static int send_partial(struct sse_stream *s, struct job_stream *d, bool flush)
{
        size_t n = d->partial.len, cut = 0;
        for (size_t i = n; i > 0; i--)
                if (d->partial.data[i - 1] == '\n' || d->partial.data[i - 1] == '\r') {
                        cut = i;
                        break;
                }
        if (flush)
                cut = n;
        if (!cut)
                return 0;
        if (send_output(s, d->partial.data, cut, d->partial_off + cut) < 0)
                return -1;
        memmove(d->partial.data, d->partial.data + cut, n - cut);
        d->partial.len = n - cut;
        d->partial.data[d->partial.len] = '\0';
        d->partial_off += cut;
        return 0;
}

static int send_done(struct sse_stream *s, const char *state, const char *error, const char *step)
{
        return send_json(s, "done", "done",
                         json_pack("{s:s,s:o,s:s}", "state", state, "error",
                                   error && *error ? text_json(error) : json_null(), "step",
                                   step ? step : ""));
}

static int replay_pump(struct sse_stream *s, struct job_stream *d)
{
        json_t *steps = json_loads(d->row.steps, 0, NULL);
        size_t i;
        json_t *st;
        json_array_foreach(steps, i, st)
        {
                if (send_json(s, "step", NULL, json_incref(st)) < 0)
                        break;
        }
        json_decref(steps);
        size_t len = strlen(d->row.output);
        size_t from = d->from < len ? d->from : len;
        send_output(s, d->row.output + from, len - from, len);
        send_done(s, d->row.state, d->row.error, d->row.step);
        return -1;
}

static int live_pump(struct sse_stream *s, void *ctx)
{
        struct job_stream *d = ctx;
        if (!d->sub)
                return replay_pump(s, d);
        json_t *steps = json_array();
        if (steps)
                job_sub_steps(d->sub, steps);
        size_t i;
        json_t *st;
        json_array_foreach(steps, i, st)
        {
                if (send_json(s, "step", NULL, json_incref(st)) < 0) {
                        json_decref(steps);
                        return -1;
                }
        }
        json_decref(steps);
        for (int round = 0; round < 4; round++) {
                size_t skipped, offset, before = d->partial.len;
                bool done, ok;
                if (job_sub_read(d->sub, &d->partial, CHUNK_MAX, &skipped, &offset, &done, &ok) < 0)
                        return -1;
                size_t fresh = d->partial.len - before;
                if (skipped) {
                        /* what was lost includes the held partial line */
                        memmove(d->partial.data, d->partial.data + before, fresh);
                        d->partial.len = fresh;
                        d->partial_off = offset - fresh;
                        char note[96];
                        int n =
                            snprintf(note, sizeof(note), "[... %zu bytes skipped ...]\n", skipped);
                        if (send_output(s, note, (size_t)n, d->partial_off) < 0)
                                return -1;
                }
                if (send_partial(s, d, done || d->partial.len > CHUNK_MAX) < 0)
                        return -1;
                if (done) {
                        /* the last step states first */
                        json_t *last = json_array();
                        if (last)
                                job_sub_steps(d->sub, last);
                        json_array_foreach(last, i, st) send_json(s, "step", NULL, json_incref(st));
                        json_decref(last);
                        _cleanup_free_ char *err = job_summary(d->job);
                        _cleanup_free_ char *step = job_failed_step(d->job);
                        send_done(s, job_state_name(job_state_of(d->job)), err, step);
                        return -1;
                }
                if (!fresh && !skipped)
                        break;
        }
        return 0;
}

static const struct sse_source_ops stream_ops = {live_pump, stream_free};

static void stream_job(struct http_req *r)
{
        long long id;
        if (!job_id_param(r, &id))
                return;
        size_t from = 0;
        const char *last = http_header(r, "Last-Event-ID");
        long long off;
        if (last && *last && parse_int64(last, 0, 1LL << 50, &off) == 0)
                from = (size_t)off;
        if (atomic_fetch_add(&streams_open, 1) >= STREAMS_MAX) {
                atomic_fetch_sub(&streams_open, 1);
                http_reply_error(r, 503, "too many streams open");
                http_add_header(r, "Retry-After", "5");
                return;
        }
        /* from here on stream_free gives the slot back */
        struct job_stream *d = calloc(1, sizeof(*d));
        if (!d) {
                stream_free(NULL);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        d->from = from;
        d->partial = STRBUF_INIT(2 * JOB_OUTPUT_KEEP);
        d->partial_off = from;
        d->job = job_find(id);
        if (d->job) {
                int rc = job_subscribe(d->job, from, &d->sub);
                int fd = rc == 0 ? fcntl(job_sub_fd(d->sub), F_DUPFD_CLOEXEC, 3) : -1;
                if (fd < 0) {
                        stream_free(d);
                        http_reply_error(r, 500, "cannot follow the job");
                        return;
                }
                http_reply_sse(r, fd, &stream_ops, d);
                return;
        }
        int rc = jobs_get(app_of(r)->db, id, &d->row);
        if (rc < 0) {
                stream_free(d);
                api_reply_errno(r, rc, rc == -ENOENT ? "job not found" : "could not read job");
                return;
        }
        http_reply_sse(r, -1, &stream_ops, d);
}

/* ---- for the modules that start jobs ---- */

void api_reply_busy(struct http_req *r, const char *subject, long long job)
{
        _cleanup_strbuf_ struct strbuf t = STRBUF_INIT(0);
        if (job > 0)
                strbuf_printf(&t, "%s is busy: job %lld is already running; try again", subject,
                              job);
        else
                strbuf_printf(&t, "%s is busy: another change is already running; try again",
                              subject);
        json_t *o = json_pack("{s:s}", "error", t.data ? t.data : "busy");
        if (o && job > 0)
                json_object_set_new(o, "job_id", json_integer(job));
        api_reply_json(r, 409, o);
}

void api_reply_job_start_error(struct http_req *r, int rc, const char *subject, long long busy)
{
        if (rc == -EBUSY) {
                api_reply_busy(r, subject, busy);
        } else if (rc == -EAGAIN) {
                http_reply_error(r, 503, "too many jobs are waiting; try again");
                http_add_header(r, "Retry-After", "10");
        } else if (rc == -ESHUTDOWN) {
                http_reply_error(r, 503, "the panel is stopping");
        } else {
                api_reply_errno(r, rc, "could not start the job");
        }
}

bool api_wants_async(struct http_req *r)
{
        const char *p = http_header(r, "Prefer");
        return p && strstr(p, "respond-async");
}

bool api_start_job(struct http_req *r, const struct job_kind *k, const char *subject, void *ctx,
                   struct job_start_opts *o, job_end_fn done, json_t *async_body)
{
        struct job_start_opts none = {0};
        if (!o)
                o = &none;
        if (!o->user)
                o->user = r->username;
        bool async = async_body && api_wants_async(r);
        if (!async) {
                json_decref(async_body);
                async_body = NULL;
                if (http_defer(r) < 0) {
                        if (ctx && k->free_ctx)
                                k->free_ctx(ctx);
                        http_reply_error(r, 500, "cannot wait for the job");
                        return false;
                }
                o->on_end = done;
                o->on_end_arg = r;
        }
        long long busy = 0;
        struct job *j = NULL;
        int rc = job_start(k, subject, ctx, o, &j, &busy);
        if (rc < 0) {
                json_decref(async_body);
                api_reply_job_start_error(r, rc, subject, busy);
                if (!async)
                        http_defer_done(r);
                return false;
        }
        if (async) {
                json_object_set_new(async_body, "job_id", json_integer(job_id(j)));
                api_reply_json(r, 202, async_body);
                http_add_header(r, "Preference-Applied", "respond-async");
                char loc[64];
                snprintf(loc, sizeof(loc), "/api/jobs/%lld", job_id(j));
                http_add_header(r, "Location", loc);
        }
        job_unref(j);
        return true;
}

/* ---- module ---- */

static int jobs_module_start(struct app *app)
{
        return jobs_engine_start(app->db, (unsigned)app->cfg->jobs.workers);
}

static void jobs_module_stop(struct app *app)
{
        (void)app;
        jobs_engine_stop();
}

void api_jobs_drain(void)
{
        jobs_engine_stop();
}

static const struct route jobs_routes[] = {
    {"GET", "/api/jobs", list_jobs, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/api/jobs/{id}", get_job, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/api/jobs/{id}/stream", stream_job, ROUTE_USER, ROUTE_WORKER, NULL},
    {"DELETE", "/api/jobs/{id}", cancel_job, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"GET", "/jobs", list_jobs, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
};

const struct api_module jobs_module = {"jobs", jobs_routes, ARRAY_SIZE(jobs_routes),
                                       jobs_module_start, jobs_module_stop};
