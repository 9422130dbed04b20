/* Hosting providers: /api/hosting/providers/... (spec/hosting-api.md) and
 * the /hosting page. Credentials live in <hosting.dir>/<provider>.json
 * (0600, directory 0700); the API key appears in no answer, log line or
 * audit row. Every request body is checked before any upstream call; every
 * route that reaches an upstream runs on the worker pool. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/app.h"
#include "api/hosting.h"
#include "api/json.h"
#include "api/module.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"
#include "jobs/sites.h"
#include "net/http.h"
#include "providers/provider.h"
#include "providers/records.h"
#include "providers/sshkey.h"

#define CREDS_MAX    (64 * 1024)
#define KEY_MAX      4096
#define RECORDS_MAX  500
#define CHECK_MAX    20
#define KEY_IDS_MAX  20
#define ID_MAX       64
#define METRICS_SPAN (24 * 3600)

/* ---- the shared outbound client ---- */

static pthread_mutex_t net_lock = PTHREAD_MUTEX_INITIALIZER;
static struct net_client *net;

static struct net_client *net_get(struct app *app, char *err, size_t errlen)
{
        pthread_mutex_lock(&net_lock);
        if (!net)
                (void)net_client_new(app->cfg->hosting.ca_bundle, &net, err, errlen);
        struct net_client *c = net;
        pthread_mutex_unlock(&net_lock);
        return c;
}

/* ---- credentials ---- */

static char *creds_path(struct app *app, const char *name)
{
        struct strbuf b = STRBUF_INIT(0);
        if (strbuf_printf(&b, "%s/%s.json", app->cfg->hosting.dir, name) < 0) {
                strbuf_free(&b);
                return NULL;
        }
        return strbuf_steal(&b);
}

/* 0 with *out, -ENOENT when not configured */
static int creds_load(struct app *app, const char *name, json_t **out)
{
        _cleanup_free_ char *path = creds_path(app, name);
        if (!path)
                return -ENOMEM;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = read_file(path, CREDS_MAX, &data, &len);
        if (r < 0)
                return r;
        json_t *j = json_loadb(data, len, 0, NULL);
        explicit_bzero(data, len);
        if (!json_is_object(j) || !json_is_string(json_object_get(j, "api_key"))) {
                json_decref(j);
                return -ENOENT;
        }
        *out = j;
        return 0;
}

static int creds_save(struct app *app, const char *name, json_t *c)
{
        int r = mkdir_p(app->cfg->hosting.dir, 0700);
        if (r < 0)
                return r;
        (void)chmod(app->cfg->hosting.dir, 0700);
        _cleanup_free_ char *path = creds_path(app, name);
        _cleanup_free_ char *data = json_dumps(c, JSON_COMPACT);
        if (!path || !data)
                return -ENOMEM;
        r = write_file_atomic(path, data, strlen(data), 0600);
        explicit_bzero(data, strlen(data));
        return r;
}

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

/* connected is kept in the credentials file: rewrite it when it changes */
static void set_connected(struct app *app, const char *name, bool on)
{
        pthread_mutex_lock(&state_lock);
        json_t *c = NULL;
        if (creds_load(app, name, &c) == 0) {
                if (json_is_true(json_object_get(c, "connected")) != on) {
                        json_object_set_new(c, "connected", json_boolean(on));
                        if (creds_save(app, name, c) < 0)
                                log_warn("hosting: cannot record the state of %s", name);
                }
                json_decref(c);
        }
        pthread_mutex_unlock(&state_lock);
}

/* base_url: https://..., or http:// to a loopback address */
static bool base_url_ok(const char *u, bool *is_http)
{
        *is_http = false;
        if (strlen(u) > 512 || !valid_printable(u, 512) || strchr(u, ' ') || strchr(u, '?') ||
            strchr(u, '#') || strchr(u, '@'))
                return false;
        if (startswith(u, "https://"))
                return strlen(u) > 8;
        if (!startswith(u, "http://"))
                return false;
        const char *h = u + 7;
        static const char *const loop[] = {"127.", "localhost:", "localhost/", "[::1]"};
        for (size_t i = 0; i < ARRAY_SIZE(loop); i++)
                if (startswith(h, loop[i]) || streq(h, "localhost")) {
                        *is_http = true;
                        return true;
                }
        return false;
}

/* ---- request context ---- */

struct hreq {
        const struct provider *p;
        json_t *creds;
        struct prov_ctx ctx;
        char base[520];
};

static void hreq_done(struct hreq *h)
{
        if (h->creds) {
                const char *k = json_string_value(json_object_get(h->creds, "api_key"));
                if (k)
                        explicit_bzero((char *)k, strlen(k));
        }
        json_decref(h->creds);
        prov_ctx_clear(&h->ctx);
}

static const struct provider *provider_of(struct http_req *r)
{
        const char *name = http_param(r, "p");
        const struct provider *p = name ? provider_find(name) : NULL;
        if (!p)
                http_reply_error(r, 404, "unknown provider");
        return p;
}

/* capability check: the op pointer (NULL = 501) */
static bool can(struct http_req *r, const struct provider *p, const void *op)
{
        if (op)
                return true;
        http_reply_errorf(r, 501, "%s cannot do this", p->display_name);
        return false;
}

/* load the credentials and the context; false when it replied */
static bool hreq_open(struct http_req *r, const struct provider *p, struct hreq *h)
{
        memset(h, 0, sizeof(*h));
        h->p = p;
        struct app *app = app_of(r);
        int rc = creds_load(app, p->name, &h->creds);
        if (rc == -ENOENT) {
                http_reply_error(r, 400, "provider not configured");
                return false;
        }
        if (rc < 0) {
                http_reply_error(r, 500, "cannot read the provider's credentials");
                return false;
        }
        char err[256] = "";
        struct net_client *c = net_get(app, err, sizeof(err));
        if (!c) {
                http_reply_errorf(r, 502, "%s", err[0] ? err : "no HTTP client");
                return false;
        }
        const char *base = json_string_value(json_object_get(h->creds, "base_url"));
        if (str_empty(base))
                base = p->default_base_url;
        bool is_http = false;
        if (!base_url_ok(base, &is_http)) {
                http_reply_error(r, 400, "base_url must be https:// (or http:// to loopback)");
                return false;
        }
        snprintf(h->base, sizeof(h->base), "%s", base);
        size_t n = strlen(h->base);
        while (n > 0 && h->base[n - 1] == '/')
                h->base[--n] = '\0';
        h->ctx.p = p;
        h->ctx.net = c;
        h->ctx.api_key = json_string_value(json_object_get(h->creds, "api_key"));
        h->ctx.base_url = h->base;
        h->ctx.extra = json_object_get(h->creds, "extra");
        h->ctx.allow_http = is_http;
        h->ctx.retries_429 = NET_RETRIES_429_MAX;
        return true;
}

/* never let the key out, even if an upstream echoes it */
static void scrub(char *msg, const char *key)
{
        if (str_empty(key) || strlen(key) < 4)
                return;
        char *p;
        while ((p = strstr(msg, key)))
                memset(p, '*', strlen(key));
}

static void reply_upstream_error(struct http_req *r, struct hreq *h, int rc)
{
        struct prov_error *e = &h->ctx.err;
        scrub(e->message, h->ctx.api_key);
        const char *msg = e->message[0] ? e->message : strerror(-rc);
        int status;
        switch (rc) {
        case -EOPNOTSUPP:
                status = 501;
                break;
        case -EACCES:
                set_connected(app_of(r), h->p->name, false);
                http_reply_errorf(r, 502, "%s rejected the credentials", h->p->display_name);
                return;
        case -EINVAL:
                status = 400;
                break;
        case -ENOENT:
                status = 404;
                break;
        case -EAGAIN:
                status = 429;
                break;
        case -ENOMEM:
                status = 500;
                break;
        default:
                status = 502;
        }
        json_t *j = json_pack("{s:s}", "error", msg);
        if (status == 400 && e->fields && json_object_size(e->fields))
                json_object_set(j, "fields", e->fields);
        if (e->correlation_id[0])
                json_object_set_new(j, "correlation_id", json_string(e->correlation_id));
        if (status == 429)
                http_add_header(r, "Retry-After", "60");
        api_reply_json(r, status, j);
}

/* after an upstream call: the answer or the error */
static void finish(struct http_req *r, struct hreq *h, int rc, int status, json_t *j)
{
        if (rc < 0) {
                json_decref(j);
                reply_upstream_error(r, h, rc);
        } else {
                set_connected(app_of(r), h->p->name, true);
                api_reply_json(r, status, j);
        }
        hreq_done(h);
}

static void finish_status(struct http_req *r, struct hreq *h, int rc, int status, const char *s)
{
        finish(r, h, rc, status, rc < 0 ? NULL : json_pack("{s:s}", "status", s));
}

/* a GET with no arguments: open, call, the answer or the error */
static void get_json(struct http_req *r, const struct provider *p,
                     int (*call)(struct prov_ctx *, json_t **))
{
        struct hreq h;
        if (!hreq_open(r, p, &h))
                return;
        json_t *j = NULL;
        int rc = call(&h.ctx, &j);
        finish(r, &h, rc, 200, j);
}

/* ---- request bodies ---- */

static json_t *body_json(struct http_req *r)
{
        if (!r->body.len) {
                http_reply_error(r, 400, "a JSON body is required");
                return NULL;
        }
        json_error_t e;
        json_t *j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_object(j)) {
                json_decref(j);
                http_reply_error(r, 400, "the body must be a JSON object");
                return NULL;
        }
        return j;
}

static void bad_field(struct http_req *r, const char *field, const char *msg)
{
        char e[320];
        snprintf(e, sizeof(e), "%s: %s", field, msg);
        api_reply_json(
            r, 400,
            json_pack("{s:s,s:s,s:{s:[s]}}", "error", e, "field", field, "fields", field, msg));
}

/* an id given as a string or an integer, as text in buf; false = invalid */
static bool id_text(const json_t *v, char *buf, size_t len)
{
        if (json_is_integer(v)) {
                snprintf(buf, len, "%lld", (long long)json_integer_value(v));
                return json_integer_value(v) >= 0;
        }
        if (!json_is_string(v))
                return false;
        const char *s = json_string_value(v);
        if (!*s || strlen(s) >= len || strlen(s) > ID_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
                        return false;
        snprintf(buf, len, "%s", s);
        return true;
}

static bool valid_id_str(const char *s)
{
        json_t *j = json_string(s);
        char buf[ID_MAX + 1];
        bool ok = j && id_text(j, buf, sizeof(buf));
        json_decref(j);
        return ok;
}

/* a registrable name: a valid host name with at least one dot, lower-cased */
static bool domain_ok(char *s)
{
        if (!s || !valid_domain(s) || !strchr(s, '.'))
                return false;
        str_tolower(s);
        return true;
}

static char *domain_param(struct http_req *r)
{
        const char *d = http_param(r, "domain");
        char *s = d ? strdup(d) : NULL;
        if (!domain_ok(s)) {
                free(s);
                bad_field(r, "domain", "not a valid domain name");
                return NULL;
        }
        return s;
}

/* ---- provider management ---- */

static json_t *capabilities(const struct provider *p)
{
        json_t *a = json_array();
        if (p->dns)
                json_array_append_new(a, json_string("dns"));
        if (p->domains)
                json_array_append_new(a, json_string("domains"));
        if (p->vps)
                json_array_append_new(a, json_string("vps"));
        if (p->ssh_keys)
                json_array_append_new(a, json_string("ssh_keys"));
        if (p->billing)
                json_array_append_new(a, json_string("billing"));
        return a;
}

static void providers_list(struct http_req *r)
{
        json_t *a = json_array();
        const struct provider *p;
        for (size_t i = 0; (p = provider_at(i)); i++) {
                json_t *c = NULL;
                bool configured = creds_load(app_of(r), p->name, &c) == 0;
                bool connected = configured && json_is_true(json_object_get(c, "connected"));
                json_t *base = configured ? json_object_get(c, "base_url") : NULL;
                json_array_append_new(a, json_pack("{s:s,s:s,s:b,s:b,s:o,s:O?}", "name", p->name,
                                                   "display_name", p->display_name, "connected",
                                                   connected, "configured", configured,
                                                   "capabilities", capabilities(p), "base_url",
                                                   json_is_string(base) ? base : NULL));
                if (c) {
                        const char *k = json_string_value(json_object_get(c, "api_key"));
                        if (k)
                                explicit_bzero((char *)k, strlen(k));
                }
                json_decref(c);
        }
        api_reply_json(r, 200, a);
}

/* the string fields of a configure form as a JSON object */
static json_t *form_json(struct http_req *r)
{
        json_t *j = json_object();
        static const char *const names[] = {"api_key", "api_secret", "base_url"};
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                const char *v = http_form(r, names[i]);
                if (v)
                        json_object_set_new(j, names[i], json_string(v));
        }
        const char *sid = http_form(r, "server_id");
        if (!str_empty(sid))
                json_object_set_new(j, "extra", json_pack("{s:s}", "server_id", sid));
        return j;
}

static void provider_configure(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p)
                return;
        /* an HTML form posts the same fields (a 303 to the page answers it) */
        bool form = api_body_is_form(r);
        _cleanup_json_ json_t *b = form ? form_json(r) : body_json(r);
        if (!b)
                return;
        const json_t *key = json_object_get(b, "api_key");
        if (!json_is_string(key) || json_string_length(key) == 0) {
                bad_field(r, "api_key", "required");
                return;
        }
        if (json_string_length(key) > KEY_MAX ||
            !valid_printable(json_string_value(key), KEY_MAX) ||
            strchr(json_string_value(key), ' ')) {
                bad_field(r, "api_key", "printable, without spaces, at most 4096 bytes");
                return;
        }
        const json_t *secret = json_object_get(b, "api_secret");
        if (secret && !json_is_null(secret) &&
            (!json_is_string(secret) || json_string_length(secret) > KEY_MAX ||
             !valid_printable(json_string_value(secret), KEY_MAX))) {
                bad_field(r, "api_secret", "printable, at most 4096 bytes");
                return;
        }
        const json_t *base = json_object_get(b, "base_url");
        bool is_http;
        if (base && !json_is_null(base) &&
            (!json_is_string(base) ||
             (json_string_length(base) && !base_url_ok(json_string_value(base), &is_http)))) {
                bad_field(r, "base_url", "must be https:// (or http:// to a loopback address)");
                return;
        }
        const json_t *extra = json_object_get(b, "extra");
        if (extra && !json_is_null(extra)) {
                char *s = json_is_object(extra) ? json_dumps(extra, JSON_COMPACT) : NULL;
                size_t n = s ? strlen(s) : SIZE_MAX;
                free(s);
                if (n > 8192) {
                        bad_field(r, "extra", "an object of at most 8 KiB");
                        return;
                }
        }
        json_t *c = json_pack("{s:O,s:b}", "api_key", key, "connected", 0);
        if (json_is_string(secret))
                json_object_set(c, "api_secret", (json_t *)secret);
        if (json_is_string(base) && json_string_length(base))
                json_object_set(c, "base_url", (json_t *)base);
        if (json_is_object(extra))
                json_object_set(c, "extra", (json_t *)extra);
        pthread_mutex_lock(&state_lock);
        int rc = creds_save(app_of(r), p->name, c);
        pthread_mutex_unlock(&state_lock);
        json_decref(c);
        if (rc < 0) {
                log_error("hosting: cannot store the credentials of %s: %s", p->name,
                          strerror(-rc));
                http_reply_error(r, 500, "cannot store the credentials");
                return;
        }
        log_info("hosting: %s configured", p->name);
        if (form)
                http_redirect(r, 303, "/hosting");
        else
                api_reply_status(r, 200, "configured");
}

static void provider_test(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        struct hreq h;
        if (!p || !hreq_open(r, p, &h))
                return;
        char msg[256] = "";
        int rc = p->test(&h.ctx, msg, sizeof(msg));
        finish(r, &h, rc, 200,
               rc < 0 ? NULL : json_pack("{s:s,s:s}", "status", "ok", "message", msg));
}

static void provider_delete(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p)
                return;
        _cleanup_free_ char *path = creds_path(app_of(r), p->name);
        if (!path) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        pthread_mutex_lock(&state_lock);
        int rc = unlink(path) < 0 ? -errno : 0;
        pthread_mutex_unlock(&state_lock);
        if (rc == -ENOENT) {
                http_reply_error(r, 400, "provider not configured");
                return;
        }
        if (rc < 0) {
                http_reply_error(r, 500, "cannot remove the credentials");
                return;
        }
        log_info("hosting: %s credentials removed", p->name);
        api_reply_status(r, 200, "deleted");
}

/* ---- DNS ---- */

static void dns_list(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->dns))
                return;
        _cleanup_free_ char *d = domain_param(r);
        struct hreq h;
        if (!d || !hreq_open(r, p, &h))
                return;
        struct dns_record *recs = NULL;
        size_t n = 0;
        int rc = p->dns->list(&h.ctx, d, &recs, &n);
        json_t *a = NULL;
        if (rc == 0) {
                a = json_array();
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(a, dns_record_json(&recs[i]));
        }
        dns_records_free(recs, n);
        finish(r, &h, rc, 200, a);
}

/* records of a PUT/validate body: 400 naming records[i].field */
static bool parse_records(struct http_req *r, const json_t *arr, struct dns_record **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        if (!json_is_array(arr) || json_array_size(arr) == 0 ||
            json_array_size(arr) > RECORDS_MAX) {
                bad_field(r, "records", "a list of 1 to 500 records");
                return false;
        }
        struct dns_record *v = calloc(json_array_size(arr), sizeof(*v));
        if (!v) {
                http_reply_error(r, 500, "out of memory");
                return false;
        }
        size_t i;
        json_t *j;
        json_array_foreach(arr, i, j)
        {
                const char *field = "record";
                char msg[160] = "", name[64];
                int rc = dns_record_from_json(j, &v[i], &field, msg, sizeof(msg));
                *n = i + 1;
                if (rc < 0) {
                        snprintf(name, sizeof(name), "records[%zu].%s", i, field);
                        bad_field(r, name, msg[0] ? msg : "invalid");
                        dns_records_free(v, *n);
                        *n = 0;
                        return false;
                }
        }
        *out = v;
        return true;
}

static void dns_create(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->dns))
                return;
        _cleanup_free_ char *d = domain_param(r);
        if (!d)
                return;
        _cleanup_json_ json_t *b = body_json(r);
        if (!b)
                return;
        struct dns_record rec;
        const char *field = "record";
        char msg[160] = "";
        if (dns_record_from_json(b, &rec, &field, msg, sizeof(msg)) < 0) {
                bad_field(r, field, msg[0] ? msg : "invalid");
                free(rec.name);
                free(rec.type);
                free(rec.content);
                return;
        }
        struct hreq h;
        if (!hreq_open(r, p, &h)) {
                free(rec.name);
                free(rec.type);
                free(rec.content);
                return;
        }
        int rc = p->dns->update(&h.ctx, d, &rec, 1, false);
        free(rec.name);
        free(rec.type);
        free(rec.content);
        finish_status(r, &h, rc, 201, "created");
}

static void dns_put_or_validate(struct http_req *r, bool dry)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->dns))
                return;
        _cleanup_free_ char *d = domain_param(r);
        if (!d)
                return;
        _cleanup_json_ json_t *b = body_json(r);
        if (!b)
                return;
        const json_t *ow = json_object_get(b, "overwrite");
        if (ow && !json_is_boolean(ow) && !json_is_null(ow)) {
                bad_field(r, "overwrite", "must be a boolean");
                return;
        }
        struct dns_record *recs;
        size_t n;
        if (!parse_records(r, json_object_get(b, "records"), &recs, &n))
                return;
        bool overwrite = json_is_true(ow);
        if (dry && !p->dns->validate) {
                /* no upstream dry run: the local checks were the validation */
                dns_records_free(recs, n);
                api_reply_status(r, 200, "valid");
                return;
        }
        struct hreq h;
        if (!hreq_open(r, p, &h)) {
                dns_records_free(recs, n);
                return;
        }
        int rc = dry ? p->dns->validate(&h.ctx, d, recs, n, overwrite)
                     : p->dns->update(&h.ctx, d, recs, n, overwrite);
        dns_records_free(recs, n);
        finish_status(r, &h, rc, 200, dry ? "valid" : "updated");
}

static void dns_update(struct http_req *r)
{
        dns_put_or_validate(r, false);
}

static void dns_validate(struct http_req *r)
{
        dns_put_or_validate(r, true);
}

static void dns_delete(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->dns))
                return;
        _cleanup_free_ char *d = domain_param(r);
        if (!d)
                return;
        const char *name = http_query(r, "name"), *type = http_query(r, "type");
        if (str_empty(name) || str_empty(type)) {
                bad_field(r, str_empty(name) ? "name" : "type", "required (query parameter)");
                return;
        }
        /* name and type through the record validator, with a dummy content */
        struct dns_record probe = {.name = (char *)name,
                                   .type = (char *)type,
                                   .content = (char *)"probe",
                                   .ttl = DNS_DEFAULT_TTL,
                                   .priority = -1};
        const char *field = NULL;
        char msg[160];
        if (dns_record_check(&probe, &field, msg, sizeof(msg)) < 0 &&
            (streq(field, "name") || streq(field, "type"))) {
                bad_field(r, field, msg);
                return;
        }
        struct hreq h;
        if (!hreq_open(r, p, &h))
                return;
        int rc = p->dns->remove(&h.ctx, d, name, type);
        finish_status(r, &h, rc, 200, "deleted");
}

static void dns_reset(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->dns) || !can(r, p, p->dns->reset))
                return;
        _cleanup_free_ char *d = domain_param(r);
        struct hreq h;
        if (!d || !hreq_open(r, p, &h))
                return;
        int rc = p->dns->reset(&h.ctx, d);
        finish_status(r, &h, rc, 200, "reset");
}

/* ---- domains ---- */

static void domains_list(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (p && can(r, p, p->domains))
                get_json(r, p, p->domains->list);
}

static void domains_get(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->domains))
                return;
        _cleanup_free_ char *d = domain_param(r);
        struct hreq h;
        if (!d || !hreq_open(r, p, &h))
                return;
        json_t *j = NULL;
        int rc = p->domains->get(&h.ctx, d, &j);
        finish(r, &h, rc, 200, j);
}

/* a list of lower-cased domain names from a JSON array; false when it replied */
static bool name_list(struct http_req *r, const json_t *arr, const char *field, size_t min,
                      size_t max, char ***out, size_t *n)
{
        *out = NULL;
        *n = 0;
        char msg[96];
        snprintf(msg, sizeof(msg), "a list of %zu to %zu domain names", min, max);
        if (!json_is_array(arr) || json_array_size(arr) < min || json_array_size(arr) > max) {
                bad_field(r, field, msg);
                return false;
        }
        char **v = calloc(json_array_size(arr) + 1, sizeof(*v));
        if (!v) {
                http_reply_error(r, 500, "out of memory");
                return false;
        }
        size_t i;
        json_t *j;
        json_array_foreach(arr, i, j)
        {
                v[i] = json_is_string(j) ? strdup(json_string_value(j)) : NULL;
                *n = i + 1;
                if (!domain_ok(v[i])) {
                        char f[64];
                        snprintf(f, sizeof(f), "%s[%zu]", field, i);
                        bad_field(r, f, "not a valid domain name");
                        for (size_t k = 0; k <= i; k++)
                                free(v[k]);
                        free(v);
                        *n = 0;
                        return false;
                }
        }
        *out = v;
        return true;
}

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

static void domains_check(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->domains))
                return;
        _cleanup_json_ json_t *b = body_json(r);
        if (!b)
                return;
        char **names;
        size_t n;
        if (!name_list(r, json_object_get(b, "domains"), "domains", 1, CHECK_MAX, &names, &n))
                return;
        struct hreq h;
        if (!hreq_open(r, p, &h)) {
                strv_free(names, n);
                return;
        }
        json_t *j = NULL;
        int rc = p->domains->check(&h.ctx, (const char *const *)names, n, &j);
        strv_free(names, n);
        finish(r, &h, rc, 200, j);
}

static void domains_purchase(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->domains))
                return;
        _cleanup_json_ json_t *b = body_json(r);
        if (!b)
                return;
        const json_t *dj = json_object_get(b, "domain");
        _cleanup_free_ char *domain = json_is_string(dj) ? strdup(json_string_value(dj)) : NULL;
        if (!domain_ok(domain)) {
                bad_field(r, "domain", dj ? "not a valid domain name" : "required");
                return;
        }
        struct domain_order o = {.domain = domain, .period_years = 1};
        char item[ID_MAX * 2 + 1], pm[ID_MAX + 1];
        const json_t *it = json_object_get(b, "item_id"), *py = json_object_get(b, "period_years");
        if (it && !json_is_null(it)) {
                if (!id_text(it, item, sizeof(item))) {
                        bad_field(r, "item_id", "a catalog price id");
                        return;
                }
                o.item_id = item;
        } else if (py && !json_is_null(py)) {
                if (!json_is_integer(py) || json_integer_value(py) < 1 ||
                    json_integer_value(py) > 10) {
                        bad_field(r, "period_years", "an integer from 1 to 10");
                        return;
                }
                o.period_years = (long)json_integer_value(py);
        } else {
                bad_field(r, "item_id", "item_id or period_years is required");
                return;
        }
        const json_t *pmj = json_object_get(b, "payment_method_id");
        if (pmj && !json_is_null(pmj)) {
                if (!id_text(pmj, pm, sizeof(pm))) {
                        bad_field(r, "payment_method_id", "an id");
                        return;
                }
                o.payment_method_id = pm;
        }
        const json_t *pr = json_object_get(b, "privacy_protection");
        if (pr && !json_is_boolean(pr) && !json_is_null(pr)) {
                bad_field(r, "privacy_protection", "must be a boolean");
                return;
        }
        o.privacy_protection = json_is_true(pr);
        struct hreq h;
        if (!hreq_open(r, p, &h))
                return;
        json_t *j = NULL;
        int rc = p->domains->purchase(&h.ctx, &o, &j);
        if (rc == 0)
                log_info("hosting: %s: domain %s ordered by %s", p->name, domain, r->username);
        finish(r, &h, rc, 201, j);
}

static void domains_nameservers(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->domains))
                return;
        _cleanup_free_ char *d = domain_param(r);
        if (!d)
                return;
        _cleanup_json_ json_t *b = body_json(r);
        if (!b)
                return;
        char **ns;
        size_t n;
        if (!name_list(r, json_object_get(b, "nameservers"), "nameservers", 2, 4, &ns, &n))
                return;
        struct hreq h;
        if (!hreq_open(r, p, &h)) {
                strv_free(ns, n);
                return;
        }
        int rc = p->domains->set_nameservers(&h.ctx, d, (const char *const *)ns, n);
        strv_free(ns, n);
        finish_status(r, &h, rc, 200, "updated");
}

static void domain_flag(struct http_req *r, bool lock, bool on)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->domains))
                return;
        _cleanup_free_ char *d = domain_param(r);
        struct hreq h;
        if (!d || !hreq_open(r, p, &h))
                return;
        int rc =
            lock ? p->domains->set_lock(&h.ctx, d, on) : p->domains->set_privacy(&h.ctx, d, on);
        finish_status(r, &h, rc, 200,
                      lock ? (on ? "locked" : "unlocked") : (on ? "enabled" : "disabled"));
}

static void domain_lock(struct http_req *r)
{
        domain_flag(r, true, true);
}
static void domain_unlock(struct http_req *r)
{
        domain_flag(r, true, false);
}
static void domain_privacy_on(struct http_req *r)
{
        domain_flag(r, false, true);
}
static void domain_privacy_off(struct http_req *r)
{
        domain_flag(r, false, false);
}

/* ---- VPS ---- */

static const char *vm_param(struct http_req *r)
{
        const char *id = http_param(r, "id");
        if (!id || !valid_id_str(id)) {
                bad_field(r, "id", "not a valid id");
                return NULL;
        }
        return id;
}

static void vms_list(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (p && can(r, p, p->vps))
                get_json(r, p, p->vps->list);
}

static void vms_get(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->vps))
                return;
        const char *id = vm_param(r);
        struct hreq h;
        if (!id || !hreq_open(r, p, &h))
                return;
        json_t *j = NULL;
        int rc = p->vps->get(&h.ctx, id, &j);
        if (rc == -ENOENT && !h.ctx.err.message[0])
                snprintf(h.ctx.err.message, sizeof(h.ctx.err.message), "no such VM");
        finish(r, &h, rc, 200, j);
}

static void vms_create(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->vps))
                return;
        _cleanup_json_ json_t *b = body_json(r);
        if (!b)
                return;
        char item[ID_MAX * 2 + 1], dc[ID_MAX + 1], tpl[ID_MAX + 1], key[ID_MAX + 1], pm[ID_MAX + 1];
        struct {
                const char *name;
                char *buf;
                size_t len;
                bool required;
                const char **dst;
        } ids[] = {
            {"item_id", item, sizeof(item), true, NULL},
            {"data_center_id", dc, sizeof(dc), true, NULL},
            {"template_id", tpl, sizeof(tpl), true, NULL},
            {"ssh_key_id", key, sizeof(key), false, NULL},
            {"payment_method_id", pm, sizeof(pm), false, NULL},
        };
        struct vm_order o = {0};
        const char **dsts[] = {&o.item_id, &o.data_center_id, &o.template_id, &o.ssh_key_id,
                               &o.payment_method_id};
        for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
                const json_t *v = json_object_get(b, ids[i].name);
                if (!v || json_is_null(v)) {
                        if (ids[i].required) {
                                bad_field(r, ids[i].name, "required");
                                return;
                        }
                        continue;
                }
                if (!id_text(v, ids[i].buf, ids[i].len)) {
                        bad_field(r, ids[i].name, "an id (string or integer)");
                        return;
                }
                *dsts[i] = ids[i].buf;
        }
        const json_t *hn = json_object_get(b, "hostname");
        _cleanup_free_ char *hostname = json_is_string(hn) ? strdup(json_string_value(hn)) : NULL;
        if (hn && !json_is_null(hn)) {
                if (!hostname || !valid_domain(hostname)) {
                        bad_field(r, "hostname", "not a valid host name");
                        return;
                }
                o.hostname = str_tolower(hostname);
        }
        const json_t *pw = json_object_get(b, "password");
        if (pw && !json_is_null(pw)) {
                if (!json_is_string(pw) || json_string_length(pw) < 12 ||
                    json_string_length(pw) > 128 || !valid_printable(json_string_value(pw), 128)) {
                        bad_field(r, "password", "12 to 128 printable characters");
                        return;
                }
                o.password = json_string_value(pw);
        }
        struct hreq h;
        if (!hreq_open(r, p, &h))
                return;
        json_t *j = NULL;
        int rc = p->vps->create(&h.ctx, &o, &j);
        finish(r, &h, rc, 201, j);
}

static void vm_power(struct http_req *r, const char *action)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->vps))
                return;
        const char *id = vm_param(r);
        struct hreq h;
        if (!id || !hreq_open(r, p, &h))
                return;
        json_t *j = NULL;
        int rc = p->vps->power(&h.ctx, id, action, &j);
        finish(r, &h, rc, 202, j);
}

static void vm_start(struct http_req *r)
{
        vm_power(r, "start");
}
static void vm_stop(struct http_req *r)
{
        vm_power(r, "stop");
}
static void vm_restart(struct http_req *r)
{
        vm_power(r, "restart");
}

static void vm_metrics(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->vps))
                return;
        const char *id = vm_param(r);
        if (!id)
                return;
        time_t now = time(NULL), from = now - METRICS_SPAN, to = now;
        const char *qf = http_query(r, "from"), *qt = http_query(r, "to");
        if (qf && time_parse(qf, &from) < 0) {
                bad_field(r, "from", "an RFC 3339 time");
                return;
        }
        if (qt && time_parse(qt, &to) < 0) {
                bad_field(r, "to", "an RFC 3339 time");
                return;
        }
        if (from >= to) {
                bad_field(r, "from", "must be before to");
                return;
        }
        char f[TIME_RFC3339_LEN], t[TIME_RFC3339_LEN];
        time_format_rfc3339(from, f);
        time_format_rfc3339(to, t);
        struct hreq h;
        if (!hreq_open(r, p, &h))
                return;
        json_t *j = NULL;
        int rc = p->vps->metrics(&h.ctx, id, f, t, &j);
        finish(r, &h, rc, 200, j);
}

static void vps_datacenters(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (p && can(r, p, p->vps))
                get_json(r, p, p->vps->datacenters);
}

static void vps_templates(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (p && can(r, p, p->vps))
                get_json(r, p, p->vps->templates);
}

/* ---- SSH keys ---- */

static void keys_list(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (p && can(r, p, p->ssh_keys))
                get_json(r, p, p->ssh_keys->list);
}

static void keys_add(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->ssh_keys))
                return;
        _cleanup_json_ json_t *b = body_json(r);
        if (!b)
                return;
        const json_t *name = json_object_get(b, "name"), *key = json_object_get(b, "public_key");
        if (!json_is_string(name) || json_string_length(name) == 0 ||
            json_string_length(name) > 64 || !valid_printable(json_string_value(name), 64)) {
                bad_field(r, "name", name ? "1 to 64 printable characters" : "required");
                return;
        }
        char fp[SSHKEY_FP_LEN], msg[160];
        if (!json_is_string(key)) {
                bad_field(r, "public_key", "required");
                return;
        }
        if (sshkey_parse(json_string_value(key), fp, msg, sizeof(msg)) < 0) {
                bad_field(r, "public_key", msg);
                return;
        }
        /* the key line without trailing whitespace */
        _cleanup_free_ char *line = strdup(json_string_value(key));
        if (!line) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
                line[--n] = '\0';
        struct hreq h;
        if (!hreq_open(r, p, &h))
                return;
        json_t *j = NULL;
        int rc = p->ssh_keys->add(&h.ctx, json_string_value(name), line, &j);
        finish(r, &h, rc, 201, j);
}

static void keys_delete(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->ssh_keys))
                return;
        const char *id = http_param(r, "id");
        if (!id || !valid_id_str(id)) {
                bad_field(r, "id", "not a valid id");
                return;
        }
        struct hreq h;
        if (!hreq_open(r, p, &h))
                return;
        int rc = p->ssh_keys->remove(&h.ctx, id);
        finish_status(r, &h, rc, 200, "deleted");
}

static void keys_attach(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->ssh_keys))
                return;
        _cleanup_json_ json_t *b = body_json(r);
        if (!b)
                return;
        char vm[ID_MAX + 1];
        const json_t *vj = json_object_get(b, "vm_id");
        if (!vj || !id_text(vj, vm, sizeof(vm))) {
                bad_field(r, "vm_id", vj ? "an id" : "required");
                return;
        }
        const json_t *ids = json_object_get(b, "key_ids");
        if (!json_is_array(ids) || json_array_size(ids) == 0 ||
            json_array_size(ids) > KEY_IDS_MAX) {
                bad_field(r, "key_ids", "a list of 1 to 20 key ids");
                return;
        }
        char buf[KEY_IDS_MAX][ID_MAX + 1];
        const char *v[KEY_IDS_MAX];
        size_t i;
        json_t *k;
        json_array_foreach(ids, i, k)
        {
                if (!id_text(k, buf[i], sizeof(buf[i]))) {
                        char f[32];
                        snprintf(f, sizeof(f), "key_ids[%zu]", i);
                        bad_field(r, f, "an id");
                        return;
                }
                v[i] = buf[i];
        }
        struct hreq h;
        if (!hreq_open(r, p, &h))
                return;
        int rc = p->ssh_keys->attach(&h.ctx, vm, v, json_array_size(ids));
        finish_status(r, &h, rc, 200, "attached");
}

/* ---- billing ---- */

static void billing_subscriptions(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (p && can(r, p, p->billing))
                get_json(r, p, p->billing->subscriptions);
}

static void billing_catalog(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (!p || !can(r, p, p->billing))
                return;
        const char *cat = http_query(r, "category");
        if (cat && !streq(cat, "DOMAIN") && !streq(cat, "VPS") && !streq(cat, "EMAIL")) {
                bad_field(r, "category", "DOMAIN, VPS or EMAIL");
                return;
        }
        struct hreq h;
        if (!hreq_open(r, p, &h))
                return;
        json_t *j = NULL;
        int rc = p->billing->catalog(&h.ctx, cat, &j);
        finish(r, &h, rc, 200, j);
}

static void billing_payment_methods(struct http_req *r)
{
        const struct provider *p = provider_of(r);
        if (p && can(r, p, p->billing))
                get_json(r, p, p->billing->payment_methods);
}

/* ---- site DNS (api/hosting.h) ---- */

struct site_dns_own {
        struct site_dns d; /* first: release gets it back */
        struct hreq h;
};

static void site_dns_release(struct site_dns *d)
{
        struct site_dns_own *o = (struct site_dns_own *)d;
        hreq_done(&o->h);
        free(o);
}

int hosting_site_dns(struct app *app, const char *name, struct site_dns **out, char *err,
                     size_t errlen)
{
        *out = NULL;
        const struct provider *p = provider_find(name);
        if (!p) {
                snprintf(err, errlen, "unknown provider '%s'", name);
                return -ENOENT;
        }
        if (!p->dns) {
                snprintf(err, errlen, "%s has no DNS capability", p->display_name);
                return -EOPNOTSUPP;
        }
        struct site_dns_own *o = calloc(1, sizeof(*o));
        if (!o) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        struct hreq *h = &o->h;
        h->p = p;
        int rc = creds_load(app, p->name, &h->creds);
        if (rc < 0) {
                free(o);
                snprintf(err, errlen,
                         rc == -ENOENT ? "%s is not configured"
                                       : "cannot read the credentials of %s",
                         p->display_name);
                return rc == -ENOENT ? -ENXIO : rc;
        }
        struct net_client *c = net_get(app, err, errlen);
        if (!c) {
                hreq_done(h);
                free(o);
                if (!err[0])
                        snprintf(err, errlen, "no HTTP client");
                return -EIO;
        }
        const char *base = json_string_value(json_object_get(h->creds, "base_url"));
        if (str_empty(base))
                base = p->default_base_url;
        bool is_http = false;
        if (!base_url_ok(base, &is_http)) {
                hreq_done(h);
                free(o);
                snprintf(err, errlen, "the base_url of %s is not usable", p->display_name);
                return -EINVAL;
        }
        snprintf(h->base, sizeof(h->base), "%s", base);
        size_t n = strlen(h->base);
        while (n > 0 && h->base[n - 1] == '/')
                h->base[--n] = '\0';
        h->ctx.p = p;
        h->ctx.net = c;
        h->ctx.api_key = json_string_value(json_object_get(h->creds, "api_key"));
        h->ctx.base_url = h->base;
        h->ctx.extra = json_object_get(h->creds, "extra");
        h->ctx.allow_http = is_http;
        h->ctx.retries_429 = NET_RETRIES_429_MAX;
        o->d.ctx = &h->ctx;
        o->d.release = site_dns_release;
        o->d.key = h->ctx.api_key;
        snprintf(o->d.provider, sizeof(o->d.provider), "%s", p->name);
        *out = &o->d;
        return 0;
}

static void hosting_stop(struct app *app)
{
        pthread_mutex_lock(&net_lock);
        net_client_free(net);
        net = NULL;
        pthread_mutex_unlock(&net_lock);
}

#define P "/api/hosting/providers"
#define W ROUTE_WORKER
#define RT(m, path, fn)                                                                            \
        {                                                                                          \
                m, P path, fn, ROUTE_USER, W, NULL                                                 \
        }

static const struct route routes[] = {
    {"GET", "/hosting", providers_list, ROUTE_USER, ROUTE_PAGE | W, "/app.html"},
    RT("GET", "", providers_list),
    RT("POST", "/{p}/configure", provider_configure),
    RT("POST", "/{p}/test", provider_test),
    RT("DELETE", "/{p}", provider_delete),
    RT("GET", "/{p}/dns/{domain}", dns_list),
    RT("POST", "/{p}/dns/{domain}", dns_create),
    RT("PUT", "/{p}/dns/{domain}", dns_update),
    RT("DELETE", "/{p}/dns/{domain}", dns_delete),
    RT("POST", "/{p}/dns/{domain}/validate", dns_validate),
    RT("POST", "/{p}/dns/{domain}/reset", dns_reset),
    RT("GET", "/{p}/domains", domains_list),
    RT("POST", "/{p}/domains/check", domains_check),
    RT("POST", "/{p}/domains/purchase", domains_purchase),
    RT("GET", "/{p}/domains/{domain}", domains_get),
    RT("PUT", "/{p}/domains/{domain}/nameservers", domains_nameservers),
    RT("POST", "/{p}/domains/{domain}/lock", domain_lock),
    RT("DELETE", "/{p}/domains/{domain}/lock", domain_unlock),
    RT("POST", "/{p}/domains/{domain}/privacy", domain_privacy_on),
    RT("DELETE", "/{p}/domains/{domain}/privacy", domain_privacy_off),
    RT("GET", "/{p}/vms", vms_list),
    RT("POST", "/{p}/vms", vms_create),
    RT("GET", "/{p}/vms/{id}", vms_get),
    RT("POST", "/{p}/vms/{id}/start", vm_start),
    RT("POST", "/{p}/vms/{id}/stop", vm_stop),
    RT("POST", "/{p}/vms/{id}/restart", vm_restart),
    RT("GET", "/{p}/vms/{id}/metrics", vm_metrics),
    RT("GET", "/{p}/datacenters", vps_datacenters),
    RT("GET", "/{p}/templates", vps_templates),
    RT("GET", "/{p}/ssh-keys", keys_list),
    RT("POST", "/{p}/ssh-keys", keys_add),
    RT("POST", "/{p}/ssh-keys/attach", keys_attach),
    RT("DELETE", "/{p}/ssh-keys/{id}", keys_delete),
    RT("GET", "/{p}/subscriptions", billing_subscriptions),
    RT("GET", "/{p}/catalog", billing_catalog),
    RT("GET", "/{p}/payment-methods", billing_payment_methods),
};

const struct api_module hosting_module = {"hosting", routes, ARRAY_SIZE(routes), NULL,
                                          hosting_stop};
