/* Sites: GET/POST /sites, GET /sites/new, GET/PUT/DELETE /sites/{id},
 * POST /sites/{id}/deploy|start|stop|restart, GET /sites/{id}/logs[/stream],
 * GET /sites/{id}/deployments/{did}[/stream].
 *
 * This file decodes and validates requests, starts or reads jobs and
 * replies; the work itself (provisioning, deploy, update, delete and their
 * undo steps) is the site job kinds of jobs/sites.c on the job engine
 * (jobs/engine.h), subject "site:<id>": a second change of a site while a
 * job holds it answers 409 naming that job. Every change is validated
 * completely before a job starts. Create and deploy also keep the seed's
 * deployments row (the job mirrors its output and end into it), followed
 * over SSE at /sites/{id}/deployments/{did}/stream.
 *
 * With `Prefer: respond-async` a job-backed route answers 202 at once with
 * "job_id" and Location: /api/jobs/{id}; otherwise the seed's answer comes
 * when the job ends, while the connection waits suspended (http_defer): no
 * request thread is held. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/app.h"
#include "api/hosting.h"
#include "api/jobs.h"
#include "api/journal_sse.h"
#include "api/json.h"
#include "api/listq.h"
#include "api/module.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "core/site.h"
#include "db/sites.h"
#include "http/sse.h"
#include "jobs/engine.h"
#include "jobs/locks.h"
#include "jobs/sites.h"
#include "sys/files.h"
#include "sys/journal.h"
#include "sys/pubaddr.h"
#include "sys/services.h"
#include "sys/units.h"

#define LOG_LINES        100
#define LOG_MAX          (4 * 1024 * 1024)
#define STREAM_BACKLOG   50
#define DEPLOYMENTS_SHOW 10

static atomic_int streams_open;

static void site_freep(struct site *s)
{
        site_clear(s);
}
#define _cleanup_site_ __attribute__((cleanup(site_freep)))

/* Program output may be any bytes; JSON needs UTF-8: invalid bytes become
 * '?' (in place). */
static char *utf8_clean(char *s)
{
        unsigned char *p = (unsigned char *)s;
        while (p && *p) {
                unsigned char c = *p;
                size_t n = c < 0x80                 ? 1
                           : c >= 0xc2 && c <= 0xdf ? 2
                           : (c >> 4) == 0xe        ? 3
                           : c >= 0xf0 && c <= 0xf4 ? 4
                                                    : 0;
                bool ok = n > 0;
                for (size_t i = 1; ok && i < n; i++)
                        ok = (p[i] & 0xc0) == 0x80;
                /* overlong forms, surrogates, beyond U+10FFFF */
                if (ok && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
                           (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
                        ok = false;
                if (!ok) {
                        *p++ = '?';
                        continue;
                }
                p += n;
        }
        return s;
}

static json_t *json_text(const char *s)
{
        json_t *j = json_string(s ? s : "");
        if (j)
                return j;
        _cleanup_free_ char *c = strdup(s);
        return c ? json_string(utf8_clean(c)) : NULL;
}

static bool has_unit(const struct site *s)
{
        return site_has_service(s);
}

static const char *state_of(const struct site *s, const struct unit_state *st, bool *running)
{
        if (!has_unit(s)) {
                *running = s->enabled;
                return "static";
        }
        *running = st ? st->running : false;
        return st ? st->active : "unknown";
}

/* What the vhost really does (issue 15): "on" only when it has a certificate
 * and key to serve; ssl_enabled without them is "pending" (plain http until
 * a certificate is issued), never reported as on. */
static const char *ssl_state(const struct site *s)
{
        if (!s->ssl_enabled)
                return "off";
        bool usable = !str_empty(s->ssl_cert_path) && !str_empty(s->ssl_key_path) &&
                      access(s->ssl_cert_path, R_OK) == 0 && access(s->ssl_key_path, R_OK) == 0;
        return usable ? "on" : "pending";
}

static json_t *site_json(const struct site *s, const struct unit_state *st)
{
        /* rows stored before credentials were refused may hold one */
        _cleanup_free_ char *repo = site_git_repo_redacted(s->git_repo);
        bool running;
        const char *status = state_of(s, st, &running);
        json_t *o = json_pack(
            "{s:I,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:b,s:s,s:s,s:b,s:b,s:s,s:s,s:b,s:s}", "id",
            (json_int_t)s->id, "domain", s->domain, "aliases", s->aliases, "app_type",
            app_type_name(s->app_type), "app_root", s->app_root, "app_port", s->app_port,
            "app_entry", s->app_entry, "git_repo", repo ? repo : "", "git_branch", s->git_branch,
            "ssl_enabled", s->ssl_enabled, "ssl_cert_path", s->ssl_cert_path, "ssl_key_path",
            s->ssl_key_path, "ssl_auto", s->ssl_auto, "enabled", s->enabled, "created_at",
            s->created_at, "updated_at", s->updated_at, "running", running, "status", status);
        if (o) {
                json_object_set_new(o, "ssl_state", json_string(ssl_state(s)));
                json_object_set_new(o, "max_body_size",
                                    json_string(s->max_body_size ? s->max_body_size : ""));
                json_object_set_new(o, "security_headers",
                                    json_string(site_headers_name(s->security_headers)));
        }
        return o;
}

static json_t *site_json_live(const struct site *s)
{
        struct unit_state st = {0};
        if (has_unit(s)) {
                char unit[300];
                site_unit_name(s, unit, sizeof(unit));
                unit_state(unit, &st);
        }
        return site_json(s, has_unit(s) ? &st : NULL);
}

static json_t *deployment_json(const struct deployment *d)
{
        _cleanup_free_ char *out = site_text_redacted(d->output);
        return json_pack("{s:I,s:s,s:s,s:o,s:s,s:o}", "id", (json_int_t)d->id, "type", d->type,
                         "status", d->status, "output", json_text(out ? out : ""), "created_at",
                         d->created_at, "finished_at",
                         d->finished_at ? json_string(d->finished_at) : json_null());
}

static bool id_param(struct http_req *r, const char *name, long long *id)
{
        if (parse_int64(http_param(r, name), 1, (1LL << 53), id) < 0) {
                http_reply_errorf(r, 400, "invalid %s", streq(name, "id") ? "id" : "deployment id");
                return false;
        }
        return true;
}

/* The row of {id}, or a 400/404 reply. */
static bool load_site(struct http_req *r, struct site *s)
{
        long long id;
        if (!id_param(r, "id", &id))
                return false;
        int rc = sites_get(app_of(r)->db, id, s);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "site not found" : "could not read site");
                return false;
        }
        return true;
}

/* The failure answer of a site job: {"error","step"[,"deployment_id"]}. */
static json_t *failure_json(struct site_job *w, struct job *j, long long did, int *status)
{
        _cleanup_free_ char *err = w->out.error ? NULL : job_summary(j);
        _cleanup_free_ char *step = w->out.step ? NULL : job_failed_step(j);
        const char *e = w->out.error ? w->out.error : err ? err : "failed";
        *status = w->out.status ? w->out.status : job_state_of(j) == JOB_CANCELLED ? 409 : 500;
        json_t *o = json_pack("{s:o,s:s}", "error", json_text(e), "step",
                              w->out.step ? w->out.step
                              : step      ? step
                                          : "");
        if (o && did > 0)
                json_object_set_new(o, "deployment_id", json_integer(did));
        return o;
}

/* Start kind on the site of w (api_start_job). */
static bool start_site_job(struct http_req *r, const struct job_kind *k, struct site_job *w,
                           long long did, job_end_fn done, json_t *async_body)
{
        char subject[32];
        site_subject(w->site.id, subject, sizeof(subject));
        struct job_start_opts o = {.deployment_id = did, .site_id = w->site.id};
        return api_start_job(r, k, subject, w, &o, done, async_body);
}

/* Request body of POST /sites and PUT /sites/{id}. */
struct site_in {
        char *domain, *aliases, *app_type, *app_root, *app_entry, *git_repo, *git_branch,
            *ssl_cert_path, *ssl_key_path, *dns_provider, *max_body_size, *security_headers;
        long long app_port;
        bool ssl_enabled, ssl_auto, enabled;
        bool has_domain, has_aliases, has_app_type, has_app_root, has_app_entry, has_git_repo,
            has_git_branch, has_ssl_cert_path, has_ssl_key_path, has_app_port, has_ssl_enabled,
            has_ssl_auto, has_enabled, has_dns_provider, has_max_body_size, has_security_headers;
};

static const struct field site_fields[] = {
    FIELD(struct site_in, FIELD_STRING, domain, false, 253),
    FIELD(struct site_in, FIELD_STRING, aliases, false, 4096),
    FIELD(struct site_in, FIELD_STRING, app_type, false, 16),
    FIELD(struct site_in, FIELD_STRING, app_root, false, 4096),
    FIELD(struct site_in, FIELD_STRING, app_entry, false, 255),
    FIELD(struct site_in, FIELD_STRING, git_repo, false, 4096),
    FIELD(struct site_in, FIELD_STRING, git_branch, false, 255),
    FIELD(struct site_in, FIELD_STRING, ssl_cert_path, false, 4096),
    FIELD(struct site_in, FIELD_STRING, ssl_key_path, false, 4096),
    FIELD(struct site_in, FIELD_INT, app_port, false, 0),
    FIELD(struct site_in, FIELD_BOOL, ssl_enabled, false, 0),
    FIELD(struct site_in, FIELD_BOOL, ssl_auto, false, 0),
    FIELD(struct site_in, FIELD_BOOL, enabled, false, 0),
    FIELD(struct site_in, FIELD_STRING, dns_provider, false, 64),
    FIELD(struct site_in, FIELD_STRING, max_body_size, false, 32),
    FIELD(struct site_in, FIELD_STRING, security_headers, false, 16),
};

static void site_in_free(struct site_in *in)
{
        fields_free(site_fields, ARRAY_SIZE(site_fields), in);
}
#define _cleanup_site_in_ __attribute__((cleanup(site_in_free)))

static int set_str(char **slot, const char *v)
{
        char *c = strdup(v ? v : "");
        if (!c)
                return -ENOMEM;
        free(*slot);
        *slot = c;
        return 0;
}

/* Merge the fields present in `in` into s; mask gets their columns. Replies
 * 400 (and returns false) for a value that has no place in a site at all;
 * site_validate checks the rest. */
static bool merge_input(struct http_req *r, const struct site_in *in, struct site *s,
                        unsigned *mask)
{
        struct {
                bool has;
                const char *v;
                char **slot;
                unsigned col;
        } strs[] = {
            {in->has_domain, in->domain, &s->domain, SITE_COL_DOMAIN},
            {in->has_aliases, in->aliases, &s->aliases, SITE_COL_ALIASES},
            {in->has_app_root, in->app_root, &s->app_root, SITE_COL_APP_ROOT},
            {in->has_app_entry, in->app_entry, &s->app_entry, SITE_COL_APP_ENTRY},
            {in->has_git_repo, in->git_repo, &s->git_repo, SITE_COL_GIT_REPO},
            {in->has_git_branch, in->git_branch, &s->git_branch, SITE_COL_GIT_BRANCH},
            {in->has_ssl_cert_path, in->ssl_cert_path, &s->ssl_cert_path, SITE_COL_SSL_CERT_PATH},
            {in->has_ssl_key_path, in->ssl_key_path, &s->ssl_key_path, SITE_COL_SSL_KEY_PATH},
            {in->has_max_body_size, in->max_body_size, &s->max_body_size, SITE_COL_MAX_BODY_SIZE},
        };
        for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
                if (!strs[i].has)
                        continue;
                if (set_str(strs[i].slot, strs[i].v) < 0) {
                        http_reply_error(r, 500, "out of memory");
                        return false;
                }
                *mask |= strs[i].col;
        }
        if (in->has_app_type) {
                if (app_type_parse(in->app_type, &s->app_type) < 0) {
                        http_reply_error(r, 400,
                                         "app_type must be one of static, python, node, autarch");
                        return false;
                }
                *mask |= SITE_COL_APP_TYPE;
        }
        if (in->has_security_headers) {
                if (site_headers_parse(in->security_headers, &s->security_headers) < 0) {
                        http_reply_error(r, 400,
                                         "security_headers must be one of default, strict, off");
                        return false;
                }
                *mask |= SITE_COL_SECURITY_HEADERS;
        }
        if (in->has_app_port) {
                if (in->app_port < 0 || in->app_port > 65535) {
                        http_reply_error(r, 400, "app_port must be 0 or between 1024 and 65535");
                        return false;
                }
                s->app_port = (int)in->app_port;
                *mask |= SITE_COL_APP_PORT;
        }
        if (in->has_ssl_enabled) {
                s->ssl_enabled = in->ssl_enabled;
                *mask |= SITE_COL_SSL_ENABLED;
        }
        if (in->has_ssl_auto) {
                s->ssl_auto = in->ssl_auto;
                *mask |= SITE_COL_SSL_AUTO;
        }
        if (in->has_enabled) {
                s->enabled = in->enabled;
                *mask |= SITE_COL_ENABLED;
        }
        /* an autarch site fronts the installed AUTARCH: its port is
         * autarch.web_port, whatever was asked */
        if (s->app_type == APP_AUTARCH && s->app_port != app_of(r)->cfg->autarch.web_port) {
                s->app_port = app_of(r)->cfg->autarch.web_port;
                *mask |= SITE_COL_APP_PORT;
        }
        return true;
}

static bool validate(struct http_req *r, struct site *s)
{
        char err[512] = "";
        if (site_validate(s, app_of(r)->cfg, err, sizeof(err)) < 0) {
                http_reply_error(r, 400, *err ? err : "invalid site");
                return false;
        }
        return true;
}

/* app_root must be a real directory (or absent); a clone needs it empty. */
static bool check_root(struct http_req *r, const struct site *s)
{
        struct stat sb;
        if (lstat(s->app_root, &sb) < 0) {
                if (errno == ENOENT)
                        return true;
                http_reply_errorf(r, 500, "app_root %s: %s", s->app_root, strerror(errno));
                return false;
        }
        if (!S_ISDIR(sb.st_mode)) {
                http_reply_errorf(r, 409, "app_root %s exists and is not a directory", s->app_root);
                return false;
        }
        if (!str_empty(s->git_repo) && !files_dir_empty(s->app_root)) {
                http_reply_errorf(r, 400,
                                  "app_root %s exists and is not empty (git clone needs an empty "
                                  "directory)",
                                  s->app_root);
                return false;
        }
        return true;
}
/* Python and node apps run as systemd units: without systemd as PID 1 (a
 * container started without it, a chroot) they can never run, so the create
 * fails at once instead of after the clone. $SETEC_SYSTEM_BUS names a bus
 * explicitly (tests, containers): the job's systemd step decides then. */
static bool systemd_present(void)
{
        const char *bus = getenv("SETEC_SYSTEM_BUS");
        return (bus && *bus) || access("/run/systemd/system", F_OK) == 0;
}

/* ---- create ---- */

static void create_done(struct job *j, void *ctx, void *arg)
{
        struct http_req *r = arg;
        struct site_job *w = ctx;
        struct site *s = &w->site;
        long long did = w->deployment_id;
        bool ok;
        job_done(j, &ok);
        if (!ok) {
                int status;
                json_t *o = failure_json(w, j, did, &status);
                api_reply_json(r, status, o);
        } else if (api_body_is_form(r)) {
                char loc[64];
                snprintf(loc, sizeof(loc), "/sites/%lld", s->id);
                http_redirect(r, 303, loc);
        } else {
                api_reply_json(r, 201,
                               json_pack("{s:I,s:s,s:s,s:b,s:i,s:I}", "id", (json_int_t)s->id,
                                         "domain", s->domain, "app_type",
                                         app_type_name(s->app_type), "enabled", s->enabled,
                                         "app_port", s->app_port, "deployment_id",
                                         (json_int_t)did));
        }
        http_defer_done(r);
}

/* dns_provider of a create: a configured provider with the dns capability
 * and an address of this server to point at; else a 400 naming the field
 * (returns false). Nothing is started before this. */
static bool dns_open(struct http_req *r, const struct site_in *in, struct site_job *w)
{
        if (!in->has_dns_provider || str_empty(in->dns_provider))
                return true;
        char err[300] = "";
        int rc = hosting_site_dns(app_of(r), in->dns_provider, &w->dns, err, sizeof(err));
        if (rc < 0) {
                http_reply_errorf(r, rc == -ENOMEM || rc == -EIO ? 500 : 400, "dns_provider: %s",
                                  err);
                return false;
        }
        pubaddr_get(app_of(r)->cfg, w->dns->ipv4, w->dns->ipv6);
        if (!w->dns->ipv4[0] && !w->dns->ipv6[0]) {
                http_reply_error(r, 400,
                                 "dns_provider: this server has no public address (set "
                                 "server.public_ipv4 or server.public_ipv6)");
                return false;
        }
        return true;
}

static void create_site(struct http_req *r)
{
        struct app *app = app_of(r);
        _cleanup_site_in_ struct site_in in = {0};
        if (!fields_decode(r, site_fields, ARRAY_SIZE(site_fields), &in))
                return;
        if (!in.has_domain || !*in.domain) {
                http_reply_error(r, 400, "domain is required");
                return;
        }
        struct site_job *w = site_job_new(app->cfg, app->db);
        if (!w) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        struct site *s = &w->site;
        *s = (struct site){.app_type = APP_STATIC, .ssl_auto = true, .enabled = true};
        unsigned mask = 0;
        bool ok = set_str(&s->aliases, "") == 0 && set_str(&s->app_entry, "") == 0 &&
                  set_str(&s->git_repo, "") == 0 && set_str(&s->git_branch, "main") == 0 &&
                  set_str(&s->ssl_cert_path, "") == 0 && set_str(&s->ssl_key_path, "") == 0 &&
                  set_str(&s->max_body_size, "") == 0;
        if (!ok) {
                site_job_free(w);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        if (!merge_input(r, &in, s, &mask)) {
                site_job_free(w);
                return;
        }
        s->enabled = true; /* a new site serves (the seed answers "enabled": true) */
        if (!in.has_app_root) {
                /* the default needs a valid domain before it is built */
                if (!valid_domain(s->domain)) {
                        site_job_free(w);
                        http_reply_error(r, 400, "domain must be a valid DNS host name");
                        return;
                }
                str_tolower(s->domain);
                _cleanup_strbuf_ struct strbuf root = STRBUF_INIT(0);
                strbuf_printf(&root, "%s/%s", app->cfg->nginx.webroot, s->domain);
                if (!root.data || set_str(&s->app_root, root.data) < 0) {
                        site_job_free(w);
                        http_reply_error(r, 500, "out of memory");
                        return;
                }
        }
        if (!validate(r, s) || !check_root(r, s) || !dns_open(r, &in, w)) {
                site_job_free(w);
                return;
        }
        if (site_has_own_unit(s) && !systemd_present()) {
                http_reply_errorf(r, 503,
                                  "%s apps need systemd running as PID 1, and this machine has "
                                  "none (static sites work without it)",
                                  app_type_name(s->app_type));
                site_job_free(w);
                return;
        }
        int status;
        _cleanup_free_ char *err = NULL;
        int rc = site_reserve(app->db, s, &status, &err);
        if (rc < 0) {
                site_job_free(w);
                http_reply_error(r, status, err ? err : "could not create site");
                return;
        }
        long long id = s->id;
        long long did =
            deployments_insert(app->db, id, str_empty(s->git_repo) ? "create" : "clone");
        if (did < 0) {
                sites_delete(app->db, id);
                site_job_free(w);
                api_reply_errno(r, (int)did, "could not record the deployment");
                return;
        }
        w->deployment_id = did;
        log_info("sites: creating %s (id %lld, deployment %lld)", s->domain, id, did);
        json_t *body =
            json_pack("{s:I,s:I,s:s,s:s,s:b,s:i,s:s}", "id", (json_int_t)id, "deployment_id",
                      (json_int_t)did, "domain", s->domain, "app_type", app_type_name(s->app_type),
                      "enabled", true, "app_port", s->app_port, "status", "provisioning");
        /* the row is the job's now: its abandon/undo deletes it */
        if (!start_site_job(r, &site_create_kind, w, did, create_done, body))
                deployments_finish(app->db, did, false, "queue failed: the job did not start\n");
}
/* ---- list, detail ---- */

static void list_sites(struct http_req *r)
{
        struct site *list;
        size_t n;
        int rc = sites_list(app_of(r)->db, &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list sites");
                return;
        }
        /* one bus round trip for every app unit */
        _cleanup_free_ char *names = n ? calloc(n, 300) : NULL;
        _cleanup_free_ const char **units = n ? calloc(n, sizeof(char *)) : NULL;
        _cleanup_free_ struct unit_state *states = n ? calloc(n, sizeof(*states)) : NULL;
        _cleanup_free_ size_t *slot = n ? calloc(n, sizeof(size_t)) : NULL;
        if (n && (!names || !units || !states || !slot)) {
                sites_list_free(list, n);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (!has_unit(&list[i]))
                        continue;
                site_unit_name(&list[i], names + k * 300, 300);
                units[k] = names + k * 300;
                slot[i] = k++;
        }
        if (k)
                services_query(units, k, states);
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    arr, site_json(&list[i], has_unit(&list[i]) ? &states[slot[i]] : NULL));
        sites_list_free(list, n);
        list_reply(r, arr, (const char *const[]){"domain", "aliases", NULL}, NULL);
}

static void new_site_page(struct http_req *r)
{
        /* the form lives in the web UI; JSON clients get the defaults */
        const struct config *cfg = app_of(r)->cfg;
        api_reply_json(r, 200,
                       json_pack("{s:s,s:s,s:s,s:i,s:[ssss],s:s,s:s,s:s,s:[sss]}", "app_type",
                                 "static", "git_branch", "main", "webroot", cfg->nginx.webroot,
                                 "app_port", 0, "app_types", "static", "python", "node", "autarch",
                                 "max_body_size", "", "max_body_size_default",
                                 cfg->nginx.client_max_body_size, "security_headers", "default",
                                 "security_headers_modes", "default", "strict", "off"));
}

static void get_site(struct http_req *r)
{
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        struct deployment *deps;
        size_t n;
        int rc = deployments_list(app_of(r)->db, s.id, DEPLOYMENTS_SHOW, &deps, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not read deployments");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, deployment_json(&deps[i]));
        deployments_list_free(deps, n);
        json_t *site = site_json_live(&s);
        _cleanup_free_ char *prov = NULL;
        if (site && sites_get_dns_provider(app_of(r)->db, s.id, &prov) == 0)
                json_object_set_new(site, "dns_provider", json_string(prov));
        api_reply_json(r, 200, json_pack("{s:o,s:o}", "Site", site, "Deployments", arr));
}

/* ---- update ---- */

static int site_copy(const struct site *a, struct site *b)
{
        *b = *a;
        b->domain = b->aliases = b->app_root = b->app_entry = b->git_repo = b->git_branch = NULL;
        b->ssl_cert_path = b->ssl_key_path = b->max_body_size = b->created_at = b->updated_at =
            NULL;
        if (set_str(&b->domain, a->domain) < 0 || set_str(&b->aliases, a->aliases) < 0 ||
            set_str(&b->app_root, a->app_root) < 0 || set_str(&b->app_entry, a->app_entry) < 0 ||
            set_str(&b->git_repo, a->git_repo) < 0 || set_str(&b->git_branch, a->git_branch) < 0 ||
            set_str(&b->ssl_cert_path, a->ssl_cert_path) < 0 ||
            set_str(&b->ssl_key_path, a->ssl_key_path) < 0 ||
            set_str(&b->max_body_size, a->max_body_size) < 0 ||
            set_str(&b->created_at, a->created_at) < 0 ||
            set_str(&b->updated_at, a->updated_at) < 0) {
                site_clear(b);
                return -ENOMEM;
        }
        return 0;
}

static void update_done(struct job *j, void *ctx, void *arg)
{
        struct http_req *r = arg;
        struct site_job *w = ctx;
        bool ok;
        job_done(j, &ok);
        if (!ok) {
                int status;
                json_t *o = failure_json(w, j, 0, &status);
                json_object_del(o, "step");
                api_reply_json(r, status, o);
        } else {
                struct site cur = {0};
                if (sites_get(w->db, w->site.id, &cur) < 0) {
                        api_reply_json(r, 200, site_json_live(&w->site));
                } else {
                        log_info("sites: updated %s (id %lld)", cur.domain, cur.id);
                        api_reply_json(r, 200, site_json_live(&cur));
                }
                site_clear(&cur);
        }
        http_defer_done(r);
}

static void update_site(struct http_req *r)
{
        struct app *app = app_of(r);
        struct site_job *w = site_job_new(app->cfg, app->db);
        if (!w) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        if (!load_site(r, &w->old)) {
                site_job_free(w);
                return;
        }
        _cleanup_site_in_ struct site_in in = {0};
        if (!fields_decode(r, site_fields, ARRAY_SIZE(site_fields), &in) ||
            site_copy(&w->old, &w->site) < 0) {
                if (!r->responded)
                        http_reply_error(r, 500, "out of memory");
                site_job_free(w);
                return;
        }
        if (in.has_dns_provider) {
                site_job_free(w);
                http_reply_error(r, 400, "dns_provider can only be given when the site is created");
                return;
        }
        if (!merge_input(r, &in, &w->site, &w->mask) || !validate(r, &w->site)) {
                site_job_free(w);
                return;
        }
        start_site_job(r, &site_update_kind, w, 0, update_done, NULL);
}

/* ---- delete ---- */

static void delete_done(struct job *j, void *ctx, void *arg)
{
        struct http_req *r = arg;
        struct site_job *w = ctx;
        bool ok;
        job_done(j, &ok);
        if (!ok) {
                int status;
                json_t *o = failure_json(w, j, 0, &status);
                json_object_del(o, "step");
                api_reply_json(r, status, o);
        } else {
                api_reply_status(r, 200, "deleted");
        }
        http_defer_done(r);
}

static void delete_site(struct http_req *r)
{
        struct app *app = app_of(r);
        struct site_job *w = site_job_new(app->cfg, app->db);
        if (!w) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        if (!load_site(r, &w->site)) {
                site_job_free(w);
                return;
        }
        start_site_job(r, &site_delete_kind, w, 0, delete_done, NULL);
}

/* ---- deploy ---- */

static void deploy_done(struct job *j, void *ctx, void *arg)
{
        struct http_req *r = arg;
        struct site_job *w = ctx;
        bool ok;
        job_done(j, &ok);
        if (!ok) {
                int status;
                json_t *o = failure_json(w, j, w->deployment_id, &status);
                api_reply_json(r, status, o);
        } else {
                api_reply_json(r, 200,
                               json_pack("{s:s,s:I}", "status", "deployed", "deployment_id",
                                         (json_int_t)w->deployment_id));
        }
        http_defer_done(r);
}

static void deploy_site(struct http_req *r)
{
        struct app *app = app_of(r);
        struct site_job *w = site_job_new(app->cfg, app->db);
        if (!w) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        if (!load_site(r, &w->site)) {
                site_job_free(w);
                return;
        }
        /* refuse before a deployments row exists */
        char subject[32];
        site_subject(w->site.id, subject, sizeof(subject));
        long long holder = locks_holder(subject);
        if (holder >= 0) {
                site_job_free(w);
                api_reply_busy(r, subject, holder);
                return;
        }
        long long did = deployments_insert(app->db, w->site.id, "deploy");
        if (did < 0) {
                site_job_free(w);
                api_reply_errno(r, (int)did, "could not record the deployment");
                return;
        }
        w->deployment_id = did;
        json_t *body =
            json_pack("{s:s,s:I}", "status", "deploying", "deployment_id", (json_int_t)did);
        if (!start_site_job(r, &site_deploy_kind, w, did, deploy_done, body))
                deployments_finish(app->db, did, false, "queue failed: the job did not start\n");
}

/* ---- start, stop, restart (quick: no job, but never while one runs) ---- */

static void control(struct http_req *r, enum unit_op op, const char *what, const char *done)
{
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        if (!has_unit(&s)) {
                http_reply_error(r, 400, "static sites have no service to control");
                return;
        }
        /* an autarch site's service is AUTARCH's web unit: AUTARCH's lock */
        char subject[32] = "autarch";
        if (site_has_own_unit(&s))
                site_subject(s.id, subject, sizeof(subject));
        long long holder = 0;
        if (locks_acquire(subject, 0, &holder) < 0) {
                api_reply_busy(r, subject, holder);
                return;
        }
        struct site_outcome o = {0};
        int rc = site_unit_op(&s, op, what, &o);
        locks_release(subject, 0);
        if (rc < 0) {
                http_reply_error(r, 500, o.error ? o.error : "failed");
                site_outcome_clear(&o);
                return;
        }
        api_reply_status(r, 200, done);
}
static void start_site(struct http_req *r)
{
        control(r, UNIT_START, "start", "started");
}

static void stop_site(struct http_req *r)
{
        control(r, UNIT_STOP, "stop", "stopped");
}

static void restart_site(struct http_req *r)
{
        control(r, UNIT_RESTART, "restart", "restarted");
}

/* ---- logs ---- */

static void site_logs(struct http_req *r)
{
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        if (!has_unit(&s)) {
                api_reply_json(r, 200, json_pack("{s:s}", "logs", ""));
                return;
        }
        char unit[300];
        site_unit_name(&s, unit, sizeof(unit));
        _cleanup_strbuf_ struct strbuf text = STRBUF_INIT(LOG_MAX);
        int rc = journal_last(unit, LOG_LINES, &text);
        if (rc < 0) {
                http_reply_errorf(r, 500, "cannot read the journal of %s: %s", unit, strerror(-rc));
                return;
        }
        api_reply_json(
            r, 200,
            json_pack("{s:s%}", "logs", text.data ? text.data : "", text.data ? text.len : 0));
}

static bool stream_slot(struct http_req *r)
{
        /* a job stream holds one descriptor besides the socket */
        unsigned cap = sse_stream_limit((unsigned)app_of(r)->cfg->server.max_streams, 1);
        if ((unsigned)atomic_fetch_add(&streams_open, 1) >= cap) {
                atomic_fetch_sub(&streams_open, 1);
                http_reply_error(r, 503, "too many streams open");
                http_add_header(r, "Retry-After", "5");
                return false;
        }
        return true;
}

static void site_logs_stream(struct http_req *r)
{
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        if (!has_unit(&s)) {
                api_journal_sse(r, NULL, 0);
                return;
        }
        char unit[300];
        site_unit_name(&s, unit, sizeof(unit));
        api_journal_sse(r, unit, STREAM_BACKLOG);
}

/* ---- deployments ---- */

/* Streams a job's output one line per event (CR and LF both end a line:
 * git's progress redraws with CR, and a bare CR would end an SSE line too);
 * id = the byte offset after the line, so Last-Event-ID resumes there. The
 * last event is named "end" with {"status","error","step"}. A deployment no
 * longer in memory is replayed from its row. */
struct dep_stream {
        struct job *job;
        struct job_sub *sub; /* NULL: replay of a finished row */
        struct strbuf partial;
        size_t consumed; /* offset of partial's first byte */
        char *text;      /* replay */
        size_t from;
        char *status, *error;
};

static void dep_stream_free(void *ctx)
{
        struct dep_stream *d = ctx;
        if (d) {
                job_sub_free(d->sub);
                job_unref(d->job);
                strbuf_free(&d->partial);
                free(d->text);
                free(d->status);
                free(d->error);
                free(d);
        }
        atomic_fetch_sub(&streams_open, 1);
}

/* The last event of a deployment stream: "end" with the final status. */
static int send_end(struct sse_stream *s, const char *status, const char *error)
{
        _cleanup_json_ json_t *j =
            json_pack("{s:s,s:s,s:s}", "status", status, "error", error ? error : "", "step", "");
        const char *colon = error ? strstr(error, " failed") : NULL;
        if (j && colon)
                json_object_set_new(j, "step", json_stringn(error, (size_t)(colon - error)));
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (!text)
                return -ENOMEM;
        return sse_send_event(s, "end", "end", text, strlen(text));
}

/* Send every complete line of buf (starting at offset base); returns the
 * bytes consumed. */
static int send_lines(struct sse_stream *s, const char *buf, size_t len, size_t base, size_t *used,
                      bool flush)
{
        size_t start = 0;
        char id[32];
        for (size_t i = 0; i < len; i++) {
                if (buf[i] != '\n' && buf[i] != '\r')
                        continue;
                snprintf(id, sizeof(id), "%zu", base + i + 1);
                if (i > start || buf[i] == '\n') {
                        int rc = sse_send(s, id, buf + start, i - start);
                        if (rc < 0)
                                return rc;
                }
                start = i + 1;
        }
        if (flush && start < len) {
                snprintf(id, sizeof(id), "%zu", base + len);
                int rc = sse_send(s, id, buf + start, len - start);
                if (rc < 0)
                        return rc;
                start = len;
        }
        *used = start;
        return 0;
}

static int dep_pump(struct sse_stream *s, void *ctx)
{
        struct dep_stream *d = ctx;
        size_t used;
        if (!d->sub) {
                size_t len = strlen(d->text);
                size_t from = d->from < len ? d->from : len;
                if (send_lines(s, d->text + from, len - from, from, &used, true) < 0)
                        return -1;
                send_end(s, d->status, d->error);
                return -1;
        }
        for (int round = 0; round < 4; round++) {
                size_t skipped, offset;
                bool done, ok;
                size_t before = d->partial.len;
                if (job_sub_read(d->sub, &d->partial, 64 * 1024, &skipped, &offset, &done, &ok) < 0)
                        return -1;
                if (skipped) {
                        /* what was lost includes the partial line */
                        size_t fresh = d->partial.len - before;
                        memmove(d->partial.data, d->partial.data + before, fresh);
                        d->partial.len = fresh;
                        d->consumed = offset - fresh;
                        char note[96];
                        int n =
                            snprintf(note, sizeof(note), "[... %zu bytes skipped ...]", skipped);
                        if (sse_send(s, NULL, note, (size_t)n) < 0)
                                return -1;
                }
                if (send_lines(s, d->partial.data ? d->partial.data : "", d->partial.len,
                               d->consumed, &used, done) < 0)
                        return -1;
                if (used) {
                        memmove(d->partial.data, d->partial.data + used, d->partial.len - used);
                        d->partial.len -= used;
                        d->partial.data[d->partial.len] = '\0';
                        d->consumed += used;
                }
                if (done) {
                        _cleanup_free_ char *summary = ok ? NULL : job_summary(d->job);
                        send_end(s, ok ? "success" : "failed",
                                 summary ? utf8_clean(summary) : NULL);
                        return -1;
                }
                if (d->partial.len == before && !skipped)
                        break; /* nothing new */
        }
        return 0;
}

static const struct sse_source_ops dep_ops = {dep_pump, dep_stream_free};

static bool dep_params(struct http_req *r, long long *site_id, long long *did)
{
        return id_param(r, "id", site_id) && id_param(r, "did", did);
}

static void get_deployment(struct http_req *r)
{
        long long site_id, did;
        if (!dep_params(r, &site_id, &did))
                return;
        struct deployment d = {0};
        int rc = deployments_get(app_of(r)->db, did, &d);
        struct job *j = job_find_deployment(did);
        /* a failed create's row has lost its site: the live job knows it */
        bool mine = rc == 0 && (d.site_id == site_id || (j && job_site_id(j) == site_id));
        job_unref(j);
        if (!mine) {
                deployment_clear(&d);
                if (rc < 0 && rc != -ENOENT)
                        api_reply_errno(r, rc, "could not read deployment");
                else
                        http_reply_error(r, 404, "deployment not found");
                return;
        }
        json_t *out = deployment_json(&d);
        json_object_set_new(out, "site_id", d.site_id ? json_integer(d.site_id) : json_null());
        deployment_clear(&d);
        api_reply_json(r, 200, out);
}

/* The last non-empty line of a failed deployment's output: its summary. */
static char *last_line(const char *text)
{
        size_t n = strlen(text);
        while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
                n--;
        size_t start = n;
        while (start && text[start - 1] != '\n' && text[start - 1] != '\r')
                start--;
        return strndup(text + start, n - start);
}

static void deployment_stream(struct http_req *r)
{
        long long site_id, did;
        if (!dep_params(r, &site_id, &did))
                return;
        size_t from = 0;
        const char *last = http_header(r, "Last-Event-ID");
        long long off;
        if (last && *last && parse_int64(last, 0, 1LL << 50, &off) == 0)
                from = (size_t)off;
        bool ended = last && startswith(last, "end");
        if (!stream_slot(r))
                return;
        /* from here on dep_stream_free gives the slot back */
        struct dep_stream *d = calloc(1, sizeof(*d));
        if (!d) {
                dep_stream_free(NULL);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        d->partial = STRBUF_INIT(2 * JOB_OUTPUT_KEEP);
        d->from = from;
        d->consumed = from;
        d->job = job_find_deployment(did);
        if (d->job && job_site_id(d->job) != site_id) {
                job_unref(d->job);
                d->job = NULL;
        }
        int rc;
        if (d->job && !ended) {
                rc = job_subscribe(d->job, from, &d->sub);
                if (rc < 0) {
                        dep_stream_free(d);
                        http_reply_errorf(r, 500, "cannot follow the deployment: %s",
                                          strerror(-rc));
                        return;
                }
                int fd = fcntl(job_sub_fd(d->sub), F_DUPFD_CLOEXEC, 3);
                if (fd < 0) {
                        rc = -errno;
                        dep_stream_free(d);
                        http_reply_errorf(r, 500, "cannot follow the deployment: %s",
                                          strerror(-rc));
                        return;
                }
                http_reply_sse(r, fd, &dep_ops, d);
                return;
        }
        struct deployment row = {0};
        rc = deployments_get(app_of(r)->db, did, &row);
        bool mine = rc == 0 && (row.site_id == site_id || d->job);
        if (!mine) {
                deployment_clear(&row);
                dep_stream_free(d);
                if (rc < 0 && rc != -ENOENT)
                        api_reply_errno(r, rc, "could not read deployment");
                else
                        http_reply_error(r, 404, "deployment not found");
                return;
        }
        d->status = strdup(row.status);
        d->text = ended ? strdup("") : site_text_redacted(row.output ? row.output : "");
        _cleanup_free_ char *shown = site_text_redacted(row.output ? row.output : "");
        d->error = streq(row.status, "failed") && shown ? last_line(shown) : NULL;
        deployment_clear(&row);
        if (!d->status || !d->text) {
                dep_stream_free(d);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        if (d->error)
                utf8_clean(d->error);
        http_reply_sse(r, -1, &dep_ops, d);
}

/* ---- module ---- */

/* ---- GET /sites/{id}/dns: does the domain resolve to this server? ---- */

#define DNS_ADDRS_MAX 16

static void site_dns(struct http_req *r)
{
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        char v4[PUBADDR_LEN], v6[PUBADDR_LEN];
        pubaddr_get(app_of(r)->cfg, v4, v6);
        char addrs[DNS_ADDRS_MAX][PUBADDR_LEN];
        size_t n = 0;
        int rc = pubaddr_resolve(s.domain, addrs, DNS_ADDRS_MAX, &n);
        json_t *arr = json_array();
        bool here = false;
        for (size_t i = 0; i < n; i++) {
                json_array_append_new(arr, json_string(addrs[i]));
                here = here || (v4[0] && streq(addrs[i], v4)) || (v6[0] && streq(addrs[i], v6));
        }
        json_t *server = json_array();
        if (v4[0])
                json_array_append_new(server, json_string(v4));
        if (v6[0])
                json_array_append_new(server, json_string(v6));
        json_t *j = json_pack("{s:s,s:b,s:o,s:o}", "domain", s.domain, "points_here", here,
                              "addresses", arr, "server_addresses", server);
        if (j && rc < 0)
                json_object_set_new(
                    j, "error",
                    json_string(rc == -ENOENT ? "the name does not resolve" : "the lookup failed"));
        api_reply_json(r, 200, j);
}

static int sites_start(struct app *app)
{
        int n = deployments_fail_stale(app->db, "\n[interrupted: the panel stopped]\n");
        if (n > 0)
                log_warn("sites: %d deployments were interrupted by a restart", n);
        jobs_recover(app->cfg, app->db, &site_create_kind);
        return 0;
}

static const struct route sites_routes[] = {
    {"GET", "/sites", list_sites, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
    {"POST", "/sites", create_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"GET", "/sites/new", new_site_page, ROUTE_USER, ROUTE_PAGE, "/app.html"},
    {"GET", "/sites/{id}", get_site, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
    {"PUT", "/sites/{id}", update_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"DELETE", "/sites/{id}", delete_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/sites/{id}/deploy", deploy_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/sites/{id}/start", start_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/sites/{id}/stop", stop_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/sites/{id}/restart", restart_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"GET", "/sites/{id}/logs", site_logs, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/sites/{id}/dns", site_dns, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/sites/{id}/logs/stream", site_logs_stream, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/sites/{id}/deployments/{did}", get_deployment, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/sites/{id}/deployments/{did}/stream", deployment_stream, ROUTE_USER, ROUTE_WORKER,
     NULL},
};

const struct api_module sites_module = {"sites", sites_routes, ARRAY_SIZE(sites_routes),
                                        sites_start, NULL};
