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
#include "base/workpool.h"
#include "core/ini.h"
#include "jobs/autarch.h"
#include "jobs/job.h"
#include "sys/autarch.h"
#include "sys/units.h"

#define UNIT_TIMEOUT_MS 60000u

static struct workpool *pool; /* asynchronous jobs (Prefer: respond-async) */

/* One AUTARCH job at a time: the subject "autarch". */
static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static long long busy_id;
static const char *busy_kind;

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

static bool busy_take(long long id, const char *kind, long long *holder, const char **hkind)
{
        pthread_mutex_lock(&busy_lock);
        bool free_ = busy_id == 0;
        if (free_) {
                busy_id = id;
                busy_kind = kind;
        } else {
                *holder = busy_id;
                *hkind = busy_kind;
        }
        pthread_mutex_unlock(&busy_lock);
        return free_;
}

static void busy_drop(void)
{
        pthread_mutex_lock(&busy_lock);
        busy_id = 0;
        busy_kind = NULL;
        pthread_mutex_unlock(&busy_lock);
}

struct autarch_work {
        const struct autarch_kind *kind;
        struct autarch_ctx *ctx;
        struct job *job;
        const char *done_status; /* "installed" ... */
        int rc;
};

static void work_free(struct autarch_work *w)
{
        if (!w)
                return;
        autarch_ctx_free(w->ctx);
        job_unref(w->job);
        free(w);
}

static void work_run(struct autarch_work *w)
{
        w->rc = autarch_run(w->kind, w->ctx, w->job);
        job_finish(w->job, w->rc == 0, w->rc == 0 ? w->done_status : w->ctx->error);
        busy_drop();
}

static void work_task(void *arg)
{
        struct autarch_work *w = arg;
        work_run(w);
        work_free(w);
}

static void start_job(struct http_req *r, const struct autarch_kind *kind, const char *done_status)
{
        struct app *app = app_of(r);
        const char *dir = install_dir(r);
        bool is_install = kind == &autarch_install_kind;
        if (is_install && installed(dir)) {
                http_reply_errorf(r, 409, "AUTARCH already installed at %s", dir);
                return;
        }
        if (!is_install && !installed(dir)) {
                http_reply_errorf(r, 409, "AUTARCH is not installed at %s", dir);
                return;
        }
        struct autarch_work *w = calloc(1, sizeof(*w));
        if (!w || !(w->ctx = autarch_ctx_new(app->cfg))) {
                free(w);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        w->kind = kind;
        w->done_status = done_status;
        long long holder = 0;
        const char *hkind = NULL;
        /* reserve the subject before the row exists: -1 = being started */
        if (!busy_take(-1, kind->name, &holder, &hkind)) {
                work_free(w);
                json_t *e = json_pack("{s:s,s:I}", "error", "", "job_id", (json_int_t)holder);
                char msg[200];
                snprintf(msg, sizeof(msg), "autarch busy: job %lld (%s) is running", holder,
                         hkind ? hkind : "?");
                json_object_set_new(e, "error", json_string(msg));
                api_reply_json(r, 409, e);
                return;
        }
        int rc = job_new(app->db, 0, kind->name, &w->job);
        if (rc < 0) {
                busy_drop();
                work_free(w);
                api_reply_errno(r, rc, "could not record the job");
                return;
        }
        long long id = job_id(w->job);
        pthread_mutex_lock(&busy_lock);
        busy_id = id;
        pthread_mutex_unlock(&busy_lock);
        log_info("autarch: %s started (job %lld)", kind->name, id);

        if (wants_async(r)) {
                rc = pool ? workpool_submit(pool, work_task, w) : -ESHUTDOWN;
                if (rc < 0) {
                        job_finish(w->job, false, "queue failed: too many jobs waiting");
                        busy_drop();
                        work_free(w);
                        http_reply_error(r, 503, "too many jobs are waiting; try again");
                        return;
                }
                api_reply_json(r, 202, json_pack("{s:I}", "job_id", (json_int_t)id));
                http_add_header(r, "Preference-Applied", "respond-async");
                char loc[64];
                snprintf(loc, sizeof(loc), "/api/jobs/%lld", id);
                http_add_header(r, "Location", loc);
                return;
        }
        work_run(w);
        if (w->rc == 0)
                api_reply_status(r, 200, done_status);
        else
                api_reply_json(
                    r, 500,
                    json_pack("{s:s,s:I}", "error", w->ctx->error, "job_id", (json_int_t)id));
        work_free(w);
}

static void install(struct http_req *r)
{
        start_job(r, &autarch_install_kind, "installed");
}

static void update(struct http_req *r)
{
        start_job(r, &autarch_update_kind, "updated");
}

static void dns_build(struct http_req *r)
{
        start_job(r, &autarch_dns_build_kind, "built");
}

/* ---- start / stop / restart ---- */

static void control(struct http_req *r, enum unit_op op, const char *done)
{
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
        int rc = autarch_config_write(dir, b.config, len);
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

static int autarch_start(struct app *app)
{
        (void)app;
        pool = workpool_new(1, 4);
        return pool ? 0 : -errno;
}

static void autarch_stop(struct app *app)
{
        (void)app;
        workpool_free(pool);
        pool = NULL;
}

const struct api_module autarch_module = {"autarch", routes, ARRAY_SIZE(routes), autarch_start,
                                          autarch_stop};
