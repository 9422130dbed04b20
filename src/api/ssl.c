/* SSL/TLS section: GET /ssl and GET /api/ssl/status (certificates of the
 * sites and any other certificate under acme.cert_dir, parsed from the
 * files), POST /ssl/{domain}/issue and /renew (cert_issue/cert_renew jobs
 * of the engine: an ACME order, then the vhost regenerated with TLS), and
 * GET /api/ssl/attempts (the stored history of issuances and renewals).
 * POST /ssl/panel/issue and /renew order the panel's own certificate for
 * server.acme_hostname, as cert_issue/cert_renew jobs on
 * "domain:<acme_hostname>" like the sites' routes; they come before the {domain} routes (the first
 * match wins), so a site literally named "panel" has no /ssl/ routes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/jobs.h"
#include "api/json.h"
#include "api/listq.h"
#include "api/module.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"
#include "db/certs.h"
#include "jobs/certs.h"
#include "jobs/engine.h"

#define ATTEMPTS_LIMIT 20

static json_t *time_or_null(time_t t)
{
        if (t <= 0)
                return json_null();
        char buf[TIME_RFC3339_LEN];
        time_format_rfc3339(t, buf);
        return json_string(buf);
}

/* Problem documents and nginx output need not be UTF-8; JSON must be. */
static json_t *text_or_null(const char *s)
{
        if (!s)
                return json_null();
        json_t *j = json_string(s);
        if (j)
                return j;
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return NULL;
        for (char *p = copy; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        *p = '?';
        return json_string(copy);
}

static json_t *status_json(const struct cert_status *c)
{
        bool known = c->not_after > 0;
        return json_pack("{s:s,s:o,s:o,s:o,s:o,s:b,s:b,s:b,s:o,s:o,s:o,s:o}", "domain", c->domain,
                         "issuer", text_or_null(c->issuer ? c->issuer : ""), "not_before",
                         time_or_null(c->not_before), "not_after", time_or_null(c->not_after),
                         "days_left", known ? json_integer(c->days_left) : json_null(),
                         "auto_renew", c->auto_renew, "managed", c->managed, "panel", c->panel,
                         "cert_path", text_or_null(c->cert_path), "last_attempt_at",
                         text_or_null(c->last_attempt_at), "last_result",
                         text_or_null(c->last_result), "last_error", text_or_null(c->last_error));
}

static void ssl_status(struct http_req *r)
{
        struct cert_status *list = NULL;
        size_t n = 0;
        int rc = certs_list(app_of(r)->cfg, app_of(r)->db, &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list certificates");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
                json_t *o = status_json(&list[i]);
                if (!o || json_array_append_new(arr, o) < 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        }
        certs_list_free(list, n);
        if (!arr) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        list_reply(r, arr, (const char *const[]){"domain", "issuer", NULL}, NULL);
}

/* The {domain} parameter, validated and lower-cased (malloc'd), or NULL
 * after a 400. */
static char *domain_param(struct http_req *r)
{
        const char *param = http_param(r, "domain");
        if (!param || !valid_domain(param)) {
                http_reply_error(r, 400, "domain must be a valid DNS host name");
                return NULL;
        }
        char *d = strdup(param);
        if (!d) {
                http_reply_error(r, 500, "out of memory");
                return NULL;
        }
        return str_tolower(d);
}

/* The end of a cert_issue/cert_renew job: the seed's answer. */
static void issue_done(struct job *j, void *ctx, void *arg)
{
        struct http_req *r = arg;
        struct cert_job *w = ctx;
        int rc = w->rc;
        if (rc == 0 && job_state_of(j) != JOB_DONE)
                rc = -ECANCELED;
        if (rc < 0) {
                int status = rc == -ENOENT                        ? 404
                             : rc == -EBUSY || rc == -EEXIST      ? 409
                             : rc == -EINVAL || rc == -EOPNOTSUPP ? 400
                             : rc == -ENOMEM                      ? 500
                             : rc == -ECANCELED                   ? 409
                                                                  : 502;
                api_reply_json(r, status,
                               json_pack("{s:o}", "error",
                                         text_or_null(w->err             ? w->err
                                                      : rc == -ECANCELED ? "cancelled"
                                                                         : strerror(-rc))));
        } else if (api_body_is_form(r)) {
                http_redirect(r, 303, "/ssl");
        } else if (w->panel) {
                api_reply_json(r, 200,
                               json_pack("{s:s,s:o}", "status", w->renew ? "renewed" : "issued",
                                         "cert", text_or_null(w->cfg->server.cert)));
        } else if (w->renew) {
                api_reply_status(r, 200, "renewed");
        } else {
                api_reply_json(
                    r, 200,
                    json_pack("{s:s,s:o}", "status", "issued", "cert", text_or_null(w->cert_path)));
        }
        http_defer_done(r);
}

/* A job on "domain:<domain>": a second request for the domain while one
 * runs answers 409 naming it. */
static void issue_or_renew(struct http_req *r, bool renew)
{
        _cleanup_free_ char *domain = domain_param(r);
        if (!domain)
                return;
        struct cert_job *w = cert_job_new(app_of(r)->cfg, app_of(r)->db, domain, renew);
        if (!w) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        _cleanup_strbuf_ struct strbuf subject = STRBUF_INIT(0);
        strbuf_printf(&subject, "domain:%s", domain);
        if (!subject.data) {
                cert_job_free(w);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        json_t *body =
            json_pack("{s:s,s:s}", "status", renew ? "renewing" : "issuing", "domain", domain);
        api_start_job(r, renew ? &cert_renew_kind : &cert_issue_kind, subject.data, w, NULL,
                      issue_done, body);
}

static void ssl_issue(struct http_req *r)
{
        issue_or_renew(r, false);
}

static void ssl_renew(struct http_req *r)
{
        issue_or_renew(r, true);
}

/* The panel's own certificate: a job on "domain:<server.acme_hostname>",
 * like a site's. */
static void panel_issue_or_renew(struct http_req *r, bool renew)
{
        const struct config *cfg = app_of(r)->cfg;
        if (str_empty(cfg->server.acme_hostname)) {
                http_reply_error(r, 400, "server.acme_hostname is not set");
                return;
        }
        if (!valid_domain(cfg->server.acme_hostname)) {
                http_reply_error(r, 400, "server.acme_hostname must be a valid DNS host name");
                return;
        }
        _cleanup_free_ char *host = strdup(cfg->server.acme_hostname);
        struct cert_job *w =
            host ? cert_job_new(cfg, app_of(r)->db, str_tolower(host), renew) : NULL;
        if (!w) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        w->panel = true;
        _cleanup_strbuf_ struct strbuf subject = STRBUF_INIT(0);
        strbuf_printf(&subject, "domain:%s", host);
        if (!subject.data) {
                cert_job_free(w);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        json_t *body = json_pack("{s:s,s:s,s:b}", "status", renew ? "renewing" : "issuing",
                                 "domain", host, "panel", true);
        api_start_job(r, renew ? &cert_renew_kind : &cert_issue_kind, subject.data, w, NULL,
                      issue_done, body);
}

static void ssl_panel_issue(struct http_req *r)
{
        panel_issue_or_renew(r, false);
}

static void ssl_panel_renew(struct http_req *r)
{
        panel_issue_or_renew(r, true);
}

static void ssl_attempts(struct http_req *r)
{
        const char *q = http_query(r, "domain");
        _cleanup_free_ char *domain = NULL;
        if (q && *q) {
                if (!valid_domain(q)) {
                        http_reply_error(r, 400, "domain must be a valid DNS host name");
                        return;
                }
                if (!(domain = strdup(q))) {
                        http_reply_error(r, 500, "out of memory");
                        return;
                }
                str_tolower(domain);
        }
        struct cert_attempt *list = NULL;
        size_t n = 0;
        int rc = cert_attempts_list(app_of(r)->db, domain, ATTEMPTS_LIMIT, &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list certificate attempts");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
                const struct cert_attempt *a = &list[i];
                json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:s}", "id", (json_int_t)a->id,
                                      "domain", a->domain, "kind", a->kind, "result", a->result,
                                      "error", text_or_null(a->error), "not_after",
                                      text_or_null(a->not_after), "created_at", a->created_at);
                if (!o || json_array_append_new(arr, o) < 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        }
        cert_attempts_free(list, n);
        if (!arr) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        api_reply_json(r, 200, arr);
}

static const struct route ssl_routes[] = {
    {"GET", "/ssl", ssl_status, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
    {"GET", "/api/ssl/status", ssl_status, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/api/ssl/attempts", ssl_attempts, ROUTE_USER, ROUTE_WORKER, NULL},
    /* before the {domain} routes: "panel" is a valid domain label */
    {"POST", "/ssl/panel/issue", ssl_panel_issue, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/ssl/panel/renew", ssl_panel_renew, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/ssl/{domain}/issue", ssl_issue, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/ssl/{domain}/renew", ssl_renew, ROUTE_ADMIN, ROUTE_WORKER, NULL},
};

const struct api_module ssl_module = {"ssl", ssl_routes, ARRAY_SIZE(ssl_routes), NULL, NULL};
