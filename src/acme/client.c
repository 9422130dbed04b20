/* The RFC 8555 conversation: directory, nonces, account, order, HTTP-01
 * authorizations, finalize, download, and the atomic hand-over of the files.
 * One net client (net/http.h) per issuance, so the TLS connection is reused. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acme/acme.h"
#include "net/http.h"
#include "acme/jws.h"
#include "base/b64url.h"
#include "base/fsutil.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"

#define SYSTEM_CA_BUNDLE   "/etc/ssl/certs/ca-certificates.crt"
#define BODY_MAX           (1024 * 1024)
#define CA_FILE_MAX        (8 * 1024 * 1024)
#define REQUEST_TIMEOUT_MS 30000L
#define BAD_NONCE_RETRIES  3
#define MAX_NAMES          100
#define DEFAULT_TIMEOUT_S  300
#define POLL_MAX_S         10.0
#define ERR_PREFIX         "urn:ietf:params:acme:error:"

struct http_resp {
        long status;
        struct strbuf body;
        char *nonce, *location, *content_type;
        double retry_after; /* seconds, < 0 = not given */
};

struct client {
        const struct acme_opts *o;
        struct net_client *net;
        char *ca_file; /* file given to CURLOPT_CAINFO */
        bool ca_tmp;   /* ca_file is our temp bundle: unlink it */
        double deadline;
        json_t *dir;
        char *nonce;
        gnutls_privkey_t key;
        char *kid, *thumb;
        bool kid_cached;
        struct strbuf err;
};

static void resp_init(struct http_resp *r)
{
        memset(r, 0, sizeof(*r));
        r->body = STRBUF_INIT(BODY_MAX);
        r->retry_after = -1;
}

static void resp_clear(struct http_resp *r)
{
        strbuf_free(&r->body);
        free(r->nonce);
        free(r->location);
        free(r->content_type);
        resp_init(r);
}

static void progress(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct client *c, const char *fmt, ...)
{
        if (!c->o->progress)
                return;
        struct strbuf b = STRBUF_INIT(0);
        va_list ap;
        va_start(ap, fmt);
        int r = strbuf_vprintf(&b, fmt, ap);
        va_end(ap);
        if (r == 0)
                c->o->progress(c->o->ctx, b.data);
        strbuf_free(&b);
}

/* The first error wins: it is the cause, later ones are consequences. */
static int fail(struct client *c, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct client *c, int r, const char *fmt, ...)
{
        if (c->err.len == 0) {
                va_list ap;
                va_start(ap, fmt);
                (void)strbuf_vprintf(&c->err, fmt, ap);
                va_end(ap);
        }
        return r < 0 ? r : -EPROTO;
}

static double remaining(struct client *c)
{
        return c->deadline - time_monotonic();
}

static void sleep_s(double s)
{
        if (s <= 0)
                return;
        struct timespec ts = {.tv_sec = (time_t)s,
                              .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- HTTP (net/http.h) ---- */

static bool is_b64url_char(char ch)
{
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
               ch == '-' || ch == '_';
}

static bool valid_nonce(const char *s)
{
        if (str_empty(s))
                return false;
        for (const char *p = s; *p; p++)
                if (!is_b64url_char(*p))
                        return false;
        return true;
}

/* method: "GET", "HEAD" or "POST" (body = JWS). 0 when the exchange
 * happened (any status), else -errno with the error set. */
static int http(struct client *c, const char *method, const char *url, const char *body,
                const char *accept, struct http_resp *resp)
{
        double left = remaining(c);
        if (left <= 0)
                return fail(c, -ETIMEDOUT, "timed out after %u s (before %s %s)",
                            c->o->timeout_s ? c->o->timeout_s : DEFAULT_TIMEOUT_S, method, url);
        long timeout_ms = (long)(left * 1000) + 1;
        if (timeout_ms > REQUEST_TIMEOUT_MS)
                timeout_ms = REQUEST_TIMEOUT_MS;
        struct strbuf acc = STRBUF_INIT(0);
        if (strbuf_printf(&acc, "Accept: %s", accept ? accept : "application/json") < 0)
                return fail(c, -ENOMEM, "out of memory");
        const char *hdrs[] = {acc.data, body ? "Content-Type: application/jose+json" : NULL, NULL};
        struct net_request q = {
            .method = body && streq(method, "POST") ? "POST" : method,
            .url = url,
            .headers = hdrs,
            .body = body,
            .body_len = body ? strlen(body) : 0,
            .timeout_ms = timeout_ms,
            .max_body = BODY_MAX,
            .capture = "Replay-Nonce",
        };
        struct net_response nr;
        net_response_init(&nr);
        char err[512] = "";
        int r = net_perform(c->net, &q, &nr, err, sizeof(err));
        strbuf_free(&acc);
        if (r < 0) {
                net_response_free(&nr);
                return fail(c, r, "%s", err[0] ? err : strerror(-r));
        }
        resp->status = nr.status;
        strbuf_free(&resp->body);
        resp->body = nr.body;
        nr.body = STRBUF_INIT(0);
        resp->nonce = TAKE_PTR(nr.captured);
        resp->location = TAKE_PTR(nr.location);
        resp->content_type = TAKE_PTR(nr.content_type);
        resp->retry_after = nr.retry_after;
        net_response_free(&nr);
        if (resp->nonce && valid_nonce(resp->nonce)) {
                free(c->nonce);
                c->nonce = resp->nonce;
                resp->nonce = NULL;
        }
        return 0;
}

/* ---- problem documents (RFC 7807 / RFC 8555 §6.7) ---- */

static json_t *resp_json(struct http_resp *r)
{
        if (!r->body.data)
                return NULL;
        return json_loadb(r->body.data, r->body.len, 0, NULL);
}

static void problem_append(struct strbuf *b, const json_t *p)
{
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *detail = json_string_value(json_object_get(p, "detail"));
        (void)strbuf_printf(b, "%s", type ? type : "problem");
        if (detail && *detail)
                (void)strbuf_printf(b, ": %s", detail);
        json_t *subs = json_object_get(p, "subproblems");
        size_t i;
        json_t *sp;
        json_array_foreach(subs, i, sp)
        {
                const char *v =
                    json_string_value(json_object_get(json_object_get(sp, "identifier"), "value"));
                const char *st = json_string_value(json_object_get(sp, "type"));
                const char *sd = json_string_value(json_object_get(sp, "detail"));
                (void)strbuf_printf(b, "; %s: %s%s%s", v ? v : "?", st ? st : "problem",
                                    sd ? ": " : "", sd ? sd : "");
        }
}

static bool problem_is(const json_t *p, const char *short_type)
{
        const char *type = json_string_value(json_object_get(p, "type"));
        return type && startswith(type, ERR_PREFIX) && streq(type + strlen(ERR_PREFIX), short_type);
}

/* Error text for a non-2xx answer: the problem document when there is one. */
static int fail_http(struct client *c, const char *what, struct http_resp *r)
{
        json_t *p = resp_json(r);
        int ret;
        if (json_is_object(p) && json_object_get(p, "type")) {
                struct strbuf b = STRBUF_INIT(0);
                problem_append(&b, p);
                ret = fail(c, -EPROTO, "%s: %s", what, b.data ? b.data : "");
                strbuf_free(&b);
        } else {
                ret = fail(c, -EPROTO, "%s: HTTP %ld", what, r->status);
        }
        json_decref(p);
        return ret;
}

/* ---- directory, nonces, signed requests ---- */

static const char *dir_url(struct client *c, const char *name)
{
        return json_string_value(json_object_get(c->dir, name));
}

static int fetch_directory(struct client *c)
{
        struct http_resp r;
        resp_init(&r);
        int ret = http(c, "GET", c->o->directory_url, NULL, NULL, &r);
        if (ret == 0 && r.status != 200)
                ret = fail_http(c, "ACME directory", &r);
        if (ret == 0) {
                c->dir = resp_json(&r);
                if (!json_is_object(c->dir) || !dir_url(c, "newNonce") ||
                    !dir_url(c, "newAccount") || !dir_url(c, "newOrder"))
                        ret = fail(c, -EPROTO, "%s is not an ACME directory", c->o->directory_url);
        }
        resp_clear(&r);
        return ret;
}

static int new_nonce(struct client *c)
{
        struct http_resp r;
        resp_init(&r);
        free(c->nonce);
        c->nonce = NULL;
        int ret = http(c, "HEAD", dir_url(c, "newNonce"), NULL, NULL, &r);
        if (ret == 0 && (r.status < 200 || r.status > 299 || !c->nonce))
                ret = fail(c, -EPROTO, "newNonce: HTTP %ld without a Replay-Nonce", r.status);
        resp_clear(&r);
        return ret;
}

/* A JWS POST (payload NULL = POST-as-GET), retried on badNonce with the
 * nonce that came with the rejection. 0 when the exchange happened: the
 * caller looks at resp->status. */
static int post(struct client *c, const char *url, const char *payload, const char *accept,
                struct http_resp *resp)
{
        for (int attempt = 0;; attempt++) {
                if (!c->nonce) {
                        int r = new_nonce(c);
                        if (r < 0)
                                return r;
                }
                char *jws = NULL;
                int r = acme_jws_sign(c->key, url, c->nonce, c->kid, payload, &jws);
                free(c->nonce);
                c->nonce = NULL; /* each nonce is good for one request */
                if (r < 0)
                        return fail(c, r, "signing a request failed: %s", strerror(-r));
                resp_clear(resp);
                r = http(c, "POST", url, jws, accept, resp);
                free(jws);
                if (r < 0)
                        return r;
                if (resp->status == 400 && attempt < BAD_NONCE_RETRIES) {
                        json_t *p = resp_json(resp);
                        bool bad = problem_is(p, "badNonce");
                        json_decref(p);
                        if (bad)
                                continue;
                }
                return 0;
        }
}

/* POST and parse a JSON object answer with a 2xx status. */
static int post_json(struct client *c, const char *what, const char *url, const char *payload,
                     json_t **out, char **location)
{
        struct http_resp r;
        resp_init(&r);
        int ret = post(c, url, payload, NULL, &r);
        if (ret == 0 && (r.status < 200 || r.status > 299))
                ret = fail_http(c, what, &r);
        if (ret == 0) {
                *out = resp_json(&r);
                if (!json_is_object(*out)) {
                        json_decref(*out);
                        *out = NULL;
                        ret = fail(c, -EPROTO, "%s: the answer is not a JSON object", what);
                }
        }
        if (ret == 0 && location) {
                *location = r.location;
                r.location = NULL;
        }
        resp_clear(&r);
        return ret;
}

/* ---- account ---- */

static char *path_join(const char *a, const char *b)
{
        struct strbuf s = STRBUF_INIT(0);
        if (strbuf_printf(&s, "%s/%s", a, b) < 0)
                return NULL;
        return strbuf_steal(&s);
}

static void load_cached_account(struct client *c)
{
        _cleanup_free_ char *path = path_join(c->o->account_dir, "account.json");
        _cleanup_free_ char *txt = NULL;
        if (!path || read_file(path, 64 * 1024, &txt, NULL) < 0)
                return;
        json_t *j = json_loads(txt, 0, NULL);
        const char *url = json_string_value(json_object_get(j, "account_url"));
        /* the cache is only good for this CA and this key */
        if (url && startswith(url, "https://") &&
            streq(json_string_value(json_object_get(j, "directory_url")), c->o->directory_url) &&
            streq(json_string_value(json_object_get(j, "thumbprint")), c->thumb)) {
                c->kid = strdup(url);
                c->kid_cached = c->kid != NULL;
        }
        json_decref(j);
}

static void save_cached_account(struct client *c)
{
        _cleanup_free_ char *path = path_join(c->o->account_dir, "account.json");
        json_t *j = json_pack("{s:s, s:s, s:s}", "directory_url", c->o->directory_url,
                              "account_url", c->kid, "thumbprint", c->thumb);
        char *txt = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        json_decref(j);
        if (path && txt)
                (void)write_file_atomic(path, txt, strlen(txt), 0600); /* only a cache */
        free(txt);
}

static int register_account(struct client *c)
{
        free(c->kid);
        c->kid = NULL;
        c->kid_cached = false;
        json_t *p = json_pack("{s:b}", "termsOfServiceAgreed", 1);
        if (!p)
                return fail(c, -ENOMEM, "out of memory");
        if (!str_empty(c->o->email)) {
                struct strbuf m = STRBUF_INIT(0);
                if (strbuf_printf(&m, "mailto:%s", c->o->email) < 0 ||
                    json_object_set_new(p, "contact", json_pack("[s]", m.data)) < 0) {
                        strbuf_free(&m);
                        json_decref(p);
                        return fail(c, -ENOMEM, "out of memory");
                }
                strbuf_free(&m);
        }
        char *payload = json_dumps(p, JSON_COMPACT);
        json_decref(p);
        if (!payload)
                return fail(c, -ENOMEM, "out of memory");
        json_t *acct = NULL;
        char *loc = NULL;
        int r = post_json(c, "newAccount", dir_url(c, "newAccount"), payload, &acct, &loc);
        free(payload);
        if (r == 0 && (!loc || !startswith(loc, "https://")))
                r = fail(c, -EPROTO, "newAccount: no account URL in the answer");
        if (r == 0 && !streq(json_string_value(json_object_get(acct, "status")), "valid"))
                r = fail(c, -EPROTO, "newAccount: account status is %s",
                         json_string_value(json_object_get(acct, "status"))
                             ? json_string_value(json_object_get(acct, "status"))
                             : "missing");
        json_decref(acct);
        if (r < 0) {
                free(loc);
                return r;
        }
        c->kid = loc;
        progress(c, "account %s", c->kid);
        save_cached_account(c);
        return 0;
}

static int account(struct client *c)
{
        _cleanup_free_ char *key_path = path_join(c->o->account_dir, "account.key");
        if (!key_path)
                return fail(c, -ENOMEM, "out of memory");
        int r = acme_key_load_or_create(key_path, &c->key);
        if (r < 0)
                return fail(c, r, "account key %s: %s", key_path,
                            r == -EINVAL ? "not an EC P-256 key" : strerror(-r));
        json_t *jwk = acme_jwk(c->key);
        r = jwk ? acme_jwk_thumbprint(jwk, &c->thumb) : -ENOMEM;
        json_decref(jwk);
        if (r < 0)
                return fail(c, r, "account key thumbprint: %s", strerror(-r));
        load_cached_account(c);
        return c->kid ? 0 : register_account(c);
}

/* ---- client life cycle ---- */

static int client_open_ca(struct client *c, const struct acme_opts *o)
{
        memset(c, 0, sizeof(*c));
        c->o = o;
        c->err = STRBUF_INIT(4096);
        c->deadline = time_monotonic() + (o->timeout_s ? o->timeout_s : DEFAULT_TIMEOUT_S);
        if (str_empty(o->directory_url) || !startswith(o->directory_url, "https://"))
                return fail(c, -EINVAL, "acme.directory_url must be an https:// URL");
        if (str_empty(o->account_dir) || o->account_dir[0] != '/')
                return fail(c, -EINVAL, "acme.account_dir must be an absolute path");
        if (str_empty(o->ca_bundle))
                return 0;

        /* curl with GnuTLS takes one CA file: the system store plus the
         * extra CA, written to a temp file for the life of this client. */
        _cleanup_free_ char *extra = NULL, *sys = NULL;
        size_t extra_len = 0, sys_len = 0;
        int r = read_file(o->ca_bundle, CA_FILE_MAX, &extra, &extra_len);
        if (r < 0)
                return fail(c, r, "acme.ca_bundle %s: %s", o->ca_bundle, strerror(-r));
        if (read_file(SYSTEM_CA_BUNDLE, CA_FILE_MAX, &sys, &sys_len) < 0) {
                c->ca_file = strdup(o->ca_bundle); /* no system store: the extra CA alone */
                return c->ca_file ? 0 : fail(c, -ENOMEM, "out of memory");
        }
        r = mkdir_p(o->account_dir, 0700);
        if (r < 0)
                return fail(c, r, "acme.account_dir %s: %s", o->account_dir, strerror(-r));
        struct strbuf path = STRBUF_INIT(0);
        if (strbuf_printf(&path, "%s/.ca-bundle-XXXXXX", o->account_dir) < 0)
                return fail(c, -ENOMEM, "out of memory");
        c->ca_file = strbuf_steal(&path);
        if (!c->ca_file)
                return fail(c, -ENOMEM, "out of memory");
        _cleanup_close_ int fd = mkostemp(c->ca_file, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(c->ca_file);
                c->ca_file = NULL;
                return fail(c, r, "temporary CA bundle: %s", strerror(-r));
        }
        c->ca_tmp = true;
        r = fchmod(fd, 0644) < 0 ? -errno : 0;
        if (r == 0)
                r = write_all(fd, sys, sys_len);
        if (r == 0)
                r = write_all(fd, "\n", 1);
        if (r == 0)
                r = write_all(fd, extra, extra_len);
        if (r < 0)
                return fail(c, r, "temporary CA bundle: %s", strerror(-r));
        return 0;
}

/* The CA file first (it is the net client's), then one net client for the
 * whole issuance: its kept-alive connection serves every request. */
static int client_open(struct client *c, const struct acme_opts *o)
{
        int r = client_open_ca(c, o);
        if (r < 0)
                return r;
        char err[256] = "";
        r = net_client_new(c->ca_file, &c->net, err, sizeof(err));
        if (r < 0)
                return fail(c, r, "%s", err[0] ? err : strerror(-r));
        return 0;
}

static void client_close(struct client *c)
{
        net_client_free(c->net);
        if (c->ca_file && c->ca_tmp)
                unlink(c->ca_file);
        free(c->ca_file);
        json_decref(c->dir);
        free(c->nonce);
        if (c->key)
                gnutls_privkey_deinit(c->key);
        free(c->kid);
        free(c->thumb);
        strbuf_free(&c->err);
}

static char *client_error(struct client *c, int r)
{
        if (c->err.len)
                return strdup(c->err.data);
        return strdup(strerror(r < 0 ? -r : EIO));
}

/* ---- polling ---- */

/* Wait before the next poll: Retry-After when given (bounded), else a
 * growing interval; never past the deadline. false = no time left. */
static bool poll_wait(struct client *c, double retry_after, double *interval)
{
        double w = retry_after >= 0 ? retry_after : *interval;
        if (w > POLL_MAX_S)
                w = POLL_MAX_S;
        if (retry_after < 0 && *interval < POLL_MAX_S / 2)
                *interval *= 2;
        double left = remaining(c);
        if (left <= 0.05)
                return false;
        sleep_s(w < left ? w : left - 0.05);
        return true;
}

/* POST-as-GET url until its "status" leaves the given pending states.
 * *out gets the last object. */
static int poll_status(struct client *c, const char *what, const char *url,
                       const char *const *pending, json_t **out)
{
        double interval = 0.25;
        for (;;) {
                struct http_resp r;
                resp_init(&r);
                int ret = post(c, url, NULL, NULL, &r);
                if (ret == 0 && (r.status < 200 || r.status > 299))
                        ret = fail_http(c, what, &r);
                json_t *j = ret == 0 ? resp_json(&r) : NULL;
                double ra = r.retry_after;
                resp_clear(&r);
                if (ret < 0)
                        return ret;
                const char *st = json_string_value(json_object_get(j, "status"));
                if (!st) {
                        json_decref(j);
                        return fail(c, -EPROTO, "%s: no status in the answer", what);
                }
                bool wait = false;
                for (size_t i = 0; pending[i]; i++)
                        wait = wait || streq(st, pending[i]);
                if (!wait) {
                        *out = j;
                        return 0;
                }
                json_decref(j);
                if (!poll_wait(c, ra, &interval))
                        return fail(c, -ETIMEDOUT, "%s: still %s after %u s", what, st,
                                    c->o->timeout_s ? c->o->timeout_s : DEFAULT_TIMEOUT_S);
        }
}

/* ---- authorizations (HTTP-01) ---- */

static bool valid_token(const char *t)
{
        if (str_empty(t) || strlen(t) > 256)
                return false;
        for (const char *p = t; *p; p++)
                if (!is_b64url_char(*p))
                        return false;
        return true;
}

static const json_t *find_challenge(const json_t *authz, const char *type)
{
        size_t i;
        json_t *ch;
        json_array_foreach(json_object_get(authz, "challenges"), i, ch)
        {
                if (streq(json_string_value(json_object_get(ch, "type")), type))
                        return ch;
        }
        return NULL;
}

static int authorize(struct client *c, const char *authz_url)
{
        json_t *authz = NULL;
        int r = post_json(c, "authorization", authz_url, NULL, &authz, NULL);
        if (r < 0)
                return r;
        const char *name =
            json_string_value(json_object_get(json_object_get(authz, "identifier"), "value"));
        const char *status = json_string_value(json_object_get(authz, "status"));
        if (!name)
                name = "?";
        if (streq(status, "valid")) {
                progress(c, "%s: already authorized", name);
                json_decref(authz);
                return 0;
        }
        if (!streq(status, "pending")) {
                r = fail(c, -EPROTO, "authorization for %s is %s", name, status ? status : "?");
                json_decref(authz);
                return r;
        }
        const json_t *ch = find_challenge(authz, "http-01");
        const char *token = json_string_value(json_object_get(ch, "token"));
        const char *ch_url = json_string_value(json_object_get(ch, "url"));
        if (!ch || !ch_url) {
                r = fail(c, -EPROTO, "the CA offers no http-01 challenge for %s", name);
                json_decref(authz);
                return r;
        }
        if (!valid_token(token)) {
                r = fail(c, -EPROTO, "the CA sent an invalid http-01 token for %s", name);
                json_decref(authz);
                return r;
        }

        struct strbuf dir = STRBUF_INIT(0), path = STRBUF_INIT(0), ka = STRBUF_INIT(0);
        /* name, token and ch_url point into authz */
        _cleanup_free_ char *name_copy = strdup(name), *ch_url_copy = strdup(ch_url),
                            *token_copy = strdup(token);
        json_decref(authz);
        authz = NULL;
        token = token_copy;
        if (!name_copy || !ch_url_copy || !token_copy ||
            strbuf_printf(&dir, "%s/.well-known/acme-challenge", c->o->webroot) < 0 ||
            strbuf_printf(&path, "%s/%s", dir.data, token) < 0 ||
            strbuf_printf(&ka, "%s.%s", token, c->thumb) < 0) {
                r = fail(c, -ENOMEM, "out of memory");
                goto out;
        }
        r = mkdir_p(dir.data, 0755);
        if (r == 0)
                r = write_file_atomic(path.data, ka.data, ka.len, 0644);
        if (r < 0) {
                r = fail(c, r, "challenge file %s: %s", path.data, strerror(-r));
                goto out;
        }
        progress(c, "%s: http-01 challenge at /.well-known/acme-challenge/%s", name_copy, token);
        json_t *resp = NULL;
        r = post_json(c, "challenge", ch_url_copy, "{}", &resp, NULL);
        json_decref(resp);
        if (r < 0)
                goto out;
        static const char *const pending[] = {"pending", "processing", NULL};
        json_t *final = NULL;
        r = poll_status(c, "authorization", authz_url, pending, &final);
        if (r < 0)
                goto out;
        const char *st = json_string_value(json_object_get(final, "status"));
        if (streq(st, "valid")) {
                progress(c, "%s: authorized", name_copy);
        } else {
                /* the reason is on the challenge (RFC 8555 §7.1.6) */
                const json_t *fch = find_challenge(final, "http-01");
                const json_t *err = json_object_get(fch, "error");
                struct strbuf b = STRBUF_INIT(0);
                if (json_is_object(err))
                        problem_append(&b, err);
                r = fail(c, -EPROTO, "http-01 challenge for %s failed (authorization %s)%s%s",
                         name_copy, st, b.len ? ": " : "", b.len ? b.data : "");
                strbuf_free(&b);
        }
        json_decref(final);
out:
        if (path.data)
                unlink(path.data); /* whatever happened */
        strbuf_free(&dir);
        strbuf_free(&path);
        strbuf_free(&ka);
        return r;
}

/* ---- files ---- */

struct staged {
        char *path, *tmp;
};

static int stage_file(struct staged *s, const char *dir, const char *name, const char *data,
                      size_t len, mode_t mode)
{
        struct strbuf p = STRBUF_INIT(0), t = STRBUF_INIT(0);
        if (strbuf_printf(&p, "%s/%s", dir, name) < 0 ||
            strbuf_printf(&t, "%s/.%s.tmp-XXXXXX", dir, name) < 0) {
                strbuf_free(&p);
                strbuf_free(&t);
                return -ENOMEM;
        }
        s->path = strbuf_steal(&p);
        s->tmp = strbuf_steal(&t);
        int fd = mkostemp(s->tmp, O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                free(s->tmp);
                s->tmp = NULL;
                return r;
        }
        int r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r == 0)
                r = write_all(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

/* Write the four files as temps, then rename them over the old ones one
 * after the other: until every temp is complete the old set is untouched. */
static int install_files(struct client *c, const char *name, const char *fullchain, size_t fc_len,
                         const char *leaf, const char *chain, const char *key_pem, size_t key_len,
                         char **cert_path, char **key_path)
{
        _cleanup_free_ char *dir = path_join(c->o->cert_dir, name);
        if (!dir)
                return fail(c, -ENOMEM, "out of memory");
        int r = mkdir_p(dir, 0755);
        if (r < 0)
                return fail(c, r, "certificate directory %s: %s", dir, strerror(-r));
        struct staged s[4] = {{0}};
        r = stage_file(&s[0], dir, "privkey.pem", key_pem, key_len, 0600);
        if (r == 0)
                r = stage_file(&s[1], dir, "cert.pem", leaf, strlen(leaf), 0644);
        if (r == 0)
                r = stage_file(&s[2], dir, "chain.pem", chain, strlen(chain), 0644);
        if (r == 0)
                r = stage_file(&s[3], dir, "fullchain.pem", fullchain, fc_len, 0644);
        size_t done = 0;
        for (; r == 0 && done < ARRAY_SIZE(s); done++)
                if (rename(s[done].tmp, s[done].path) < 0)
                        r = -errno;
        if (r == 0)
                (void)fsync_parent_dir(s[0].path);
        else
                r = fail(c, r, "writing the certificate files in %s: %s", dir, strerror(-r));
        for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
                if (s[i].tmp && (r < 0 && i >= done))
                        unlink(s[i].tmp);
                free(s[i].tmp);
        }
        if (r == 0) {
                *key_path = s[0].path;
                *cert_path = s[3].path;
                s[0].path = s[3].path = NULL;
        }
        for (size_t i = 0; i < ARRAY_SIZE(s); i++)
                free(s[i].path);
        return r;
}

/* The leaf must carry our new key and every name we asked for. */
static int check_leaf(struct client *c, const char *leaf, gnutls_x509_privkey_t key,
                      const char *const *names, size_t n, struct cert_info *ci)
{
        int r = acme_cert_info_mem(leaf, strlen(leaf), ci);
        if (r < 0)
                return fail(c, r, "the CA's certificate does not parse");
        for (size_t i = 0; i < n; i++) {
                bool found = false;
                for (size_t j = 0; j < ci->nnames && !found; j++)
                        found = strcasecmp(ci->names[j], names[i]) == 0;
                if (!found)
                        return fail(c, -EPROTO, "the CA's certificate does not name %s", names[i]);
        }
        gnutls_x509_crt_t crt;
        if (gnutls_x509_crt_init(&crt) < 0)
                return fail(c, -ENOMEM, "out of memory");
        gnutls_datum_t d = {.data = (unsigned char *)leaf, .size = (unsigned)strlen(leaf)};
        unsigned char a[64], b[64];
        size_t al = sizeof(a), bl = sizeof(b);
        bool same = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) >= 0 &&
                    gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a, &al) >= 0 &&
                    gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &bl) >= 0 &&
                    al == bl && memcmp(a, b, al) == 0;
        gnutls_x509_crt_deinit(crt);
        return same ? 0 : fail(c, -EPROTO, "the CA's certificate is not for our key");
}

/* ---- the order ---- */

static int new_order(struct client *c, const char *const *names, size_t n, json_t **order,
                     char **order_url)
{
        json_t *ids = json_array();
        for (size_t i = 0; ids && i < n; i++)
                if (json_array_append_new(
                        ids, json_pack("{s:s, s:s}", "type", "dns", "value", names[i])) < 0) {
                        json_decref(ids);
                        ids = NULL;
                }
        json_t *p = ids ? json_pack("{s:o}", "identifiers", ids) : NULL;
        char *payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
        if (!payload)
                return fail(c, -ENOMEM, "out of memory");
        struct http_resp r;
        resp_init(&r);
        int ret = post(c, dir_url(c, "newOrder"), payload, NULL, &r);
        if (ret == 0 && r.status == 400 && c->kid_cached) {
                /* a cached account the CA no longer knows: register again */
                json_t *prob = resp_json(&r);
                bool gone =
                    problem_is(prob, "accountDoesNotExist") || problem_is(prob, "unauthorized");
                json_decref(prob);
                if (gone) {
                        progress(c, "cached account unknown to the CA, registering again");
                        ret = register_account(c);
                        if (ret == 0)
                                ret = post(c, dir_url(c, "newOrder"), payload, NULL, &r);
                }
        }
        free(payload);
        if (ret == 0 && r.status != 201 && r.status != 200)
                ret = fail_http(c, "newOrder", &r);
        if (ret == 0) {
                *order = resp_json(&r);
                *order_url = r.location;
                r.location = NULL;
                if (!json_is_object(*order) || !*order_url ||
                    !json_is_array(json_object_get(*order, "authorizations")) ||
                    !json_string_value(json_object_get(*order, "finalize")))
                        ret = fail(c, -EPROTO, "newOrder: malformed order");
        }
        resp_clear(&r);
        return ret;
}

static int order_error(struct client *c, const char *what, json_t *order)
{
        const json_t *err = json_object_get(order, "error");
        struct strbuf b = STRBUF_INIT(0);
        if (json_is_object(err))
                problem_append(&b, err);
        const char *st = json_string_value(json_object_get(order, "status"));
        int r = fail(c, -EPROTO, "%s: order is %s%s%s", what, st ? st : "?", b.len ? ": " : "",
                     b.len ? b.data : "");
        strbuf_free(&b);
        return r;
}

static int check_names(struct client *c, const char *const *names, size_t n, char ***out)
{
        if (n == 0 || n > MAX_NAMES)
                return fail(c, -EINVAL, "between 1 and %d names are needed", MAX_NAMES);
        char **v = calloc(n, sizeof(*v));
        if (!v)
                return fail(c, -ENOMEM, "out of memory");
        *out = v;
        for (size_t i = 0; i < n; i++) {
                if (!valid_domain(names[i]))
                        return fail(c, -EINVAL, "invalid domain name: %s",
                                    names[i] ? names[i] : "(null)");
                v[i] = strdup(names[i]);
                if (!v[i])
                        return fail(c, -ENOMEM, "out of memory");
                for (char *p = v[i]; *p; p++)
                        if (*p >= 'A' && *p <= 'Z')
                                *p = (char)(*p - 'A' + 'a');
                for (size_t j = 0; j < i; j++)
                        if (streq(v[i], v[j]))
                                return fail(c, -EINVAL, "duplicate domain name: %s", v[i]);
        }
        return 0;
}

static int issue(struct client *c, const char *const *names, size_t n, struct acme_result *res)
{
        const struct acme_opts *o = c->o;
        if (str_empty(o->webroot) || o->webroot[0] != '/')
                return fail(c, -EINVAL, "the challenge webroot must be an absolute path");
        if (str_empty(o->cert_dir) || o->cert_dir[0] != '/')
                return fail(c, -EINVAL, "acme.cert_dir must be an absolute path");
        int r = fetch_directory(c);
        if (r == 0)
                r = account(c);
        if (r < 0)
                return r;

        json_t *order = NULL;
        _cleanup_free_ char *order_url = NULL;
        progress(c, "ordering a certificate for %zu name(s), first %s", n, names[0]);
        r = new_order(c, names, n, &order, &order_url);
        if (r < 0)
                return r;
        if (streq(json_string_value(json_object_get(order, "status")), "invalid")) {
                r = order_error(c, "newOrder", order);
                json_decref(order);
                return r;
        }
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(order, "authorizations"), i, a)
        {
                const char *url = json_string_value(a);
                r = url ? authorize(c, url) : fail(c, -EPROTO, "malformed authorization URL");
                if (r < 0)
                        break;
        }
        _cleanup_free_ char *finalize = NULL;
        if (r == 0 && !(finalize = strdup(json_string_value(json_object_get(order, "finalize")))))
                r = fail(c, -ENOMEM, "out of memory");
        json_decref(order);
        order = NULL;
        if (r < 0)
                return r;

        static const char *const before_ready[] = {"pending", NULL};
        r = poll_status(c, "order", order_url, before_ready, &order);
        if (r < 0)
                return r;
        const char *st = json_string_value(json_object_get(order, "status"));
        if (!streq(st, "ready") && !streq(st, "valid")) {
                r = order_error(c, "order", order);
                json_decref(order);
                return r;
        }
        json_decref(order);
        order = NULL;

        gnutls_x509_privkey_t cert_key = NULL;
        r = acme_key_generate(&cert_key);
        if (r < 0)
                return fail(c, r, "generating the certificate key: %s", strerror(-r));
        _cleanup_free_ unsigned char *der = NULL;
        size_t der_len = 0;
        _cleanup_free_ char *csr_b64 = NULL, *payload = NULL, *key_pem = NULL;
        size_t key_len = 0;
        r = acme_csr_make(cert_key, names, n, &der, &der_len);
        if (r == 0 && !(csr_b64 = b64url_encode(der, der_len)))
                r = -ENOMEM;
        if (r == 0) {
                json_t *p = json_pack("{s:s}", "csr", csr_b64);
                payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
                json_decref(p);
                if (!payload)
                        r = -ENOMEM;
        }
        if (r == 0)
                r = acme_key_export_pem(cert_key, &key_pem, &key_len);
        if (r < 0) {
                gnutls_x509_privkey_deinit(cert_key);
                return fail(c, r, "making the CSR: %s", strerror(-r));
        }
        progress(c, "finalizing the order");
        r = post_json(c, "finalize", finalize, payload, &order, NULL);
        json_decref(order);
        order = NULL;
        static const char *const processing[] = {"pending", "ready", "processing", NULL};
        if (r == 0)
                r = poll_status(c, "order", order_url, processing, &order);
        if (r == 0 && !streq(json_string_value(json_object_get(order, "status")), "valid"))
                r = order_error(c, "finalize", order);
        const char *cert_url = json_string_value(json_object_get(order, "certificate"));
        if (r == 0 && !cert_url)
                r = fail(c, -EPROTO, "the valid order has no certificate URL");

        struct http_resp dl;
        resp_init(&dl);
        if (r == 0) {
                progress(c, "downloading the certificate");
                r = post(c, cert_url, NULL, "application/pem-certificate-chain", &dl);
                if (r == 0 && dl.status != 200)
                        r = fail_http(c, "certificate download", &dl);
        }
        json_decref(order);
        _cleanup_free_ char *leaf = NULL, *chain = NULL;
        struct cert_info ci = {0};
        if (r == 0 &&
            acme_split_chain(dl.body.data ? dl.body.data : "", dl.body.len, &leaf, &chain) < 0)
                r = fail(c, -EPROTO, "the CA's certificate chain is not PEM certificates");
        if (r == 0)
                r = check_leaf(c, leaf, cert_key, names, n, &ci);
        gnutls_x509_privkey_deinit(cert_key);
        if (r == 0 && o->install) {
                _cleanup_free_ char *fullchain = strndup(dl.body.data, dl.body.len);
                _cleanup_free_ char *why = NULL;
                r = fullchain ? o->install(o->install_ctx, names[0], fullchain, key_pem,
                                           &res->cert_path, &res->key_path, &why)
                              : -ENOMEM;
                if (r < 0)
                        r = fail(c, r, "installing the certificate of %s: %s", names[0],
                                 why ? why : strerror(-r));
        } else if (r == 0) {
                r = install_files(c, names[0], dl.body.data, dl.body.len, leaf, chain, key_pem,
                                  key_len, &res->cert_path, &res->key_path);
        }
        if (r == 0) {
                res->not_before = ci.not_before;
                res->not_after = ci.not_after;
                res->issuer = ci.issuer;
                ci.issuer = NULL;
                char exp[TIME_RFC3339_LEN];
                time_format_rfc3339(ci.not_after, exp);
                progress(c, "certificate installed in %s (expires %s)", res->cert_path, exp);
        }
        cert_info_clear(&ci);
        explicit_bzero(key_pem, key_len);
        resp_clear(&dl);
        return r;
}

int acme_issue(const struct acme_opts *o, const char *const *names, size_t n,
               struct acme_result *res)
{
        memset(res, 0, sizeof(*res));
        struct client c;
        int r = client_open(&c, o);
        char **v = NULL;
        if (r == 0)
                r = check_names(&c, names, n, &v);
        if (r == 0)
                r = issue(&c, (const char *const *)v, n, res);
        if (r < 0) {
                free(res->cert_path);
                free(res->key_path);
                free(res->issuer);
                memset(res, 0, sizeof(*res));
                res->error = client_error(&c, r);
        }
        if (v)
                for (size_t i = 0; i < n; i++)
                        free(v[i]);
        free(v);
        client_close(&c);
        return r;
}

void acme_result_clear(struct acme_result *res)
{
        free(res->cert_path);
        free(res->key_path);
        free(res->issuer);
        free(res->error);
        memset(res, 0, sizeof(*res));
}

/* ---- ARI ---- */

int acme_renewal_info(const struct acme_opts *o, const char *pem_path,
                      struct acme_renewal_window *w, char **error)
{
        memset(w, 0, sizeof(*w));
        *error = NULL;
        struct client c;
        int r = client_open(&c, o);
        if (r == 0)
                r = fetch_directory(&c);
        const char *base = r == 0 ? dir_url(&c, "renewalInfo") : NULL;
        if (r == 0 && !base) {
                client_close(&c);
                return -EOPNOTSUPP;
        }
        _cleanup_free_ char *id = NULL;
        if (r == 0) {
                r = acme_ari_cert_id(pem_path, &id);
                if (r < 0)
                        r = fail(&c, r, "%s: no certificate identifier (%s)", pem_path,
                                 r == -ENOENT ? "no authority key identifier" : strerror(-r));
        }
        struct strbuf url = STRBUF_INIT(0);
        if (r == 0 &&
            strbuf_printf(&url, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", id) < 0)
                r = fail(&c, -ENOMEM, "out of memory");
        struct http_resp resp;
        resp_init(&resp);
        if (r == 0)
                r = http(&c, "GET", url.data, NULL, NULL, &resp);
        if (r == 0 && resp.status != 200)
                r = fail_http(&c, "renewalInfo", &resp);
        if (r == 0 && acme_renewal_info_parse(resp.body.data ? resp.body.data : "", w) < 0)
                r = fail(&c, -EPROTO, "renewalInfo: no valid suggestedWindow");
        if (r == 0 && resp.retry_after >= 0)
                w->retry_after = time(NULL) + (time_t)resp.retry_after;
        if (r < 0)
                *error = client_error(&c, r);
        resp_clear(&resp);
        strbuf_free(&url);
        client_close(&c);
        return r;
}
