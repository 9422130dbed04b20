/* AUTARCH (seed "AUTARCH", CONTRACT §8): status read without spawning,
 * install / update / DNS build as tracked jobs (jobs/autarch.h), start /
 * stop / restart of both units over D-Bus with each unit's result, and the
 * settings file, INI-checked before it is written. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/app.h"
#include "api/json.h"
#include "api/module.h"
#include "base/log.h"
#include "base/util.h"
#include "core/ini.h"
#include "jobs/autarch.h"
#include "jobs/engine.h"
#include "jobs/locks.h"
#include "sys/autarch.h"
#include "sys/units.h"

#define UNIT_TIMEOUT_MS 60000u

static const char *install_dir(struct http_req *r)
{
        return app_of(r)->cfg->autarch.install_dir;
}

static bool installed(const char *dir)
{
        char p[4096];
        struct stat st;
        return dir && (size_t)snprintf(p, sizeof(p), "%s/.git", dir) < sizeof(p) &&
               stat(p, &st) == 0;
}

/* ---- status ---- */

static void reply_status(struct http_req *r)
{
        const char *dir = install_dir(r);
        struct autarch_status st;
        autarch_status_read(dir, &st);
        json_t *j = json_pack("{s:b,s:s,s:s,s:b,s:i,s:b,s:s,s:b,s:s}", "installed", st.installed,
                              "install_dir", dir ? dir : "", "git_commit", st.git_commit,
                              "venv_ready", st.venv_ready, "pip_packages", st.pip_packages,
                              "web_running", st.web.running, "web_status", st.web.active,
                              "dns_running", st.dns.running, "dns_status", st.dns.active);
        if (!j) {
                http_reply_error(r, 500, "cannot encode the status");
                return;
        }
        api_reply_json(r, 200, j);
}

/* ---- jobs ---- */

static bool wants_async(struct http_req *r)
{
        const char *p = http_header(r, "Prefer");
        return p && strstr(p, "respond-async");
}

/* The synchronous answer once the job has ended: the seed's status, or 500
 * {"error":"<step> failed: ...","job_id"} (409 when it was cancelled). */
static void job_done_reply(struct job *j, void *ctx, void *arg)
{
        (void)ctx;
        struct http_req *r = arg;
        bool ok = false;
        job_done(j, &ok);
        const char *done = streq(job_kind_name(j), "autarch_install")  ? "installed"
                           : streq(job_kind_name(j), "autarch_update") ? "updated"
                                                                       : "built";
        if (ok) {
                api_reply_status(r, 200, done);
        } else {
                _cleanup_free_ char *err = job_summary(j);
                _cleanup_free_ char *step = job_failed_step(j);
                char msg[1200];
                /* "<step> failed: <reason>" (the reason alone may come back) */
                if (step && err && !startswith(err, step))
                        snprintf(msg, sizeof(msg), "%s failed: %s", step, err);
                else
                        snprintf(msg, sizeof(msg), "%s", err ? err : "failed");
                json_t *o = json_pack("{s:s,s:I}", "error", msg, "job_id", (json_int_t)job_id(j));
                api_reply_json(r, job_state_of(j) == JOB_CANCELLED ? 409 : 500, o);
        }
        http_defer_done(r);
}

static void reply_start_error(struct http_req *r, int rc, long long busy)
{
        if (rc == -EBUSY) {
                char msg[160];
                if (busy > 0)
                        snprintf(msg, sizeof(msg), "autarch busy: job %lld is running; try again",
                                 busy);
                else
                        snprintf(msg, sizeof(msg), "autarch busy with another change; try again");
                json_t *o = json_pack("{s:s}", "error", msg);
                if (o && busy > 0)
                        json_object_set_new(o, "job_id", json_integer(busy));
                api_reply_json(r, 409, o);
        } else if (rc == -EAGAIN) {
                http_reply_error(r, 503, "too many jobs are waiting; try again");
                http_add_header(r, "Retry-After", "10");
        } else if (rc == -ESHUTDOWN) {
                http_reply_error(r, 503, "the panel is stopping");
        } else {
                api_reply_errno(r, rc, "could not start the job");
        }
}

static void start_job(struct http_req *r, const struct job_kind *kind)
{
        struct app *app = app_of(r);
        const char *dir = install_dir(r);
        bool is_install = kind == &autarch_install_kind;
        /* a running install has made <dir>/.git already: say busy, not installed */
        long long holder = locks_holder(AUTARCH_SUBJECT);
        if (holder >= 0) {
                reply_start_error(r, -EBUSY, holder);
                return;
        }
        if (is_install && installed(dir)) {
                http_reply_errorf(r, 409, "AUTARCH already installed at %s", dir);
                return;
        }
        if (!is_install && !installed(dir)) {
                http_reply_errorf(r, 409, "AUTARCH is not installed at %s", dir);
                return;
        }
        struct autarch_ctx *c = autarch_ctx_new(app->cfg);
        if (!c) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        struct job_start_opts o = {.user = r->username};
        bool async = wants_async(r);
        if (!async) {
                if (http_defer(r) < 0) {
                        autarch_ctx_free(c);
                        http_reply_error(r, 500, "cannot wait for the job");
                        return;
                }
                o.on_end = job_done_reply;
                o.on_end_arg = r;
        }
        long long busy = 0;
        struct job *j = NULL;
        int rc = job_start(kind, AUTARCH_SUBJECT, c, &o, &j, &busy);
        if (rc < 0) {
                reply_start_error(r, rc, busy);
                if (!async)
                        http_defer_done(r);
                return;
        }
        log_info("autarch: %s started (job %lld)", kind->name, job_id(j));
        if (async) {
                api_reply_json(r, 202, json_pack("{s:I}", "job_id", (json_int_t)job_id(j)));
                http_add_header(r, "Preference-Applied", "respond-async");
                char loc[64];
                snprintf(loc, sizeof(loc), "/api/jobs/%lld", job_id(j));
                http_add_header(r, "Location", loc);
        }
        job_unref(j);
}

static void install(struct http_req *r)
{
        start_job(r, &autarch_install_kind);
}

static void update(struct http_req *r)
{
        start_job(r, &autarch_update_kind);
}

static void dns_build(struct http_req *r)
{
        start_job(r, &autarch_dns_build_kind);
}

/* ---- start / stop / restart ---- */

/* Unit changes and the settings file wait for no job: while one holds
 * the subject they are refused (the job may be restarting the units). */
static bool take_subject(struct http_req *r)
{
        long long held = 0;
        int rc = locks_acquire(AUTARCH_SUBJECT, 0, &held);
        if (rc == -EBUSY) {
                reply_start_error(r, rc, held);
                return false;
        }
        if (rc < 0) {
                api_reply_errno(r, rc, "cannot lock autarch");
                return false;
        }
        return true;
}

static void control(struct http_req *r, enum unit_op op, const char *done)
{
        if (!take_subject(r))
                return;
        static const char *const units[] = {AUTARCH_WEB_UNIT, AUTARCH_DNS_UNIT};
        static const char *const names[] = {"autarch-web", "autarch-dns"};
        char errors[2][512] = {"", ""};
        int rcs[2];
        for (size_t i = 0; i < 2; i++) {
                rcs[i] = unit_control(units[i], op, UNIT_TIMEOUT_MS, errors[i], sizeof(errors[i]));
                if (rcs[i] < 0 && !errors[i][0])
                        snprintf(errors[i], sizeof(errors[i]), "%s", strerror(-rcs[i]));
        }
        struct unit_state st[2];
        services_query((const char *const *)units, 2, st);
        json_t *map = json_object();
        for (size_t i = 0; i < 2; i++)
                json_object_set_new(map, names[i], json_string(st[i].active));
        char msg[1100] = "";
        for (size_t i = 0; i < 2; i++)
                if (rcs[i] < 0) {
                        size_t n = strlen(msg);
                        snprintf(msg + n, sizeof(msg) - n, "%s%s: %s", n ? "; " : "", names[i],
                                 errors[i]);
                }
        locks_release(AUTARCH_SUBJECT, 0);
        if (msg[0]) {
                log_warn("autarch: %s", msg);
                api_reply_json(r, 500, json_pack("{s:s,s:o}", "error", msg, "units", map));
                return;
        }
        api_reply_json(r, 200, json_pack("{s:s,s:o}", "status", done, "units", map));
}

static void start(struct http_req *r)
{
        control(r, UNIT_START, "started");
}

static void stop(struct http_req *r)
{
        control(r, UNIT_STOP, "stopped");
}

static void restart(struct http_req *r)
{
        control(r, UNIT_RESTART, "restarted");
}

/* ---- config ---- */

static void get_config(struct http_req *r)
{
        char *text = NULL;
        size_t len = 0;
        int rc = autarch_config_read(install_dir(r), INI_MAX_SIZE, &text, &len);
        if (rc == -ENOENT || rc == -ENOTDIR) {
                http_reply_error(r, 404, "config not found");
                return;
        }
        if (rc < 0) {
                http_reply_errorf(r, rc == -EFBIG ? 500 : 500, "cannot read %s: %s",
                                  AUTARCH_SETTINGS, strerror(-rc));
                return;
        }
        json_t *s = json_stringn(text, len);
        free(text);
        if (!s) {
                http_reply_errorf(r, 500, "%s is not UTF-8 text", AUTARCH_SETTINGS);
                return;
        }
        json_t *j = json_object();
        json_object_set_new(j, "config", s);
        api_reply_json(r, 200, j);
}

struct config_body {
        char *config;
        bool has_config;
};

static const struct field config_fields[] = {
    FIELD(struct config_body, FIELD_STRING, config, true, INI_MAX_SIZE),
};

static void put_config(struct http_req *r)
{
        struct config_body b = {0};
        if (!fields_decode(r, config_fields, ARRAY_SIZE(config_fields), &b))
                return;
        size_t len = strlen(b.config);
        struct ini_error e;
        if (!ini_check(b.config, len, &e)) {
                char msg[200];
                snprintf(msg, sizeof(msg), "config: %s", e.msg);
                api_reply_json(r, 400, json_pack("{s:s,s:i}", "error", msg, "line", (int)e.line));
                fields_free(config_fields, ARRAY_SIZE(config_fields), &b);
                return;
        }
        const char *dir = install_dir(r);
        if (!take_subject(r)) {
                fields_free(config_fields, ARRAY_SIZE(config_fields), &b);
                return;
        }
        int rc = autarch_config_write(dir, b.config, len);
        locks_release(AUTARCH_SUBJECT, 0);
        fields_free(config_fields, ARRAY_SIZE(config_fields), &b);
        if (rc == -ENOENT || rc == -ENOTDIR) {
                http_reply_errorf(r, 404, "AUTARCH is not installed at %s", dir);
                return;
        }
        if (rc < 0) {
                http_reply_errorf(r, 500, "cannot write %s: %s", AUTARCH_SETTINGS, strerror(-rc));
                return;
        }
        log_info("autarch: %s/%s saved (%zu bytes)", dir, AUTARCH_SETTINGS, len);
        api_reply_status(r, 200, "saved");
}

/* ---- module ---- */

static const struct route routes[] = {
    {"GET", "/autarch", reply_status, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
    {"GET", "/autarch/status", reply_status, ROUTE_USER, ROUTE_WORKER, NULL},
    {"POST", "/autarch/install", install, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/autarch/update", update, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/autarch/start", start, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/autarch/stop", stop, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/autarch/restart", restart, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"GET", "/autarch/config", get_config, ROUTE_USER, ROUTE_WORKER, NULL},
    {"PUT", "/autarch/config", put_config, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/autarch/dns/build", dns_build, ROUTE_ADMIN, ROUTE_WORKER, NULL},
};

/* An install the panel's stop interrupted is cleaned up before any new job. */
static int autarch_start(struct app *app)
{
        jobs_recover(app->cfg, app->db, &autarch_install_kind);
        return 0;
}

const struct api_module autarch_module = {"autarch", routes, ARRAY_SIZE(routes), autarch_start,
                                          NULL};
