/* Site certificates: the ACME client, the site row and the nginx vhost put
 * together. The order of an issuance: lock the domain, order the
 * certificate (the site keeps serving meanwhile: the vhost already serves
 * the challenge location), write the site row, regenerate the vhost in an
 * nginx transaction (nginx -t, reload), and put the row back if nginx
 * refuses. Every outcome becomes a cert_attempts row. */
#include "jobs/certs.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acme/acme.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"
#include "db/certs.h"
#include "db/sites.h"
#include "jobs/engine.h"
#include "jobs/locks.h"
#include "sys/nginx.h"
#include "sys/tlscert.h"

/* ---- one issuance per domain: the lock registry's "domain:<name>" ---- */

/* Take "domain:<domain>" unless job (running on that subject) holds it
 * already. *held says whether it was taken here (then domain_unlock). */
static int domain_lock(const char *domain, struct job *job, bool *held)
{
        char subject[300];
        snprintf(subject, sizeof(subject), "domain:%s", domain);
        *held = false;
        if (job && streq(job_subject(job), subject))
                return 0;
        int r = locks_acquire(subject, 0, NULL);
        *held = r == 0;
        return r;
}

static void domain_unlock(const char *domain, bool held)
{
        char subject[300];
        if (!held)
                return;
        snprintf(subject, sizeof(subject), "domain:%s", domain);
        locks_release(subject, 0);
}

/* ---- helpers ---- */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        va_list ap;
        va_start(ap, fmt);
        int r = strbuf_vprintf(&b, fmt, ap);
        va_end(ap);
        if (r < 0)
                return NULL;
        return strbuf_steal(&b);
}

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char **err, const char *fmt, ...)
{
        if (!err)
                return;
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        va_list ap;
        va_start(ap, fmt);
        int r = strbuf_vprintf(&b, fmt, ap);
        va_end(ap);
        free(*err);
        *err = r < 0 ? NULL : strbuf_steal(&b);
}

static bool is_file(const char *path)
{
        struct stat st;
        return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* <cert_dir>/<domain>/<file> (malloc'd) */
static char *cert_file(const struct config *cfg, const char *domain, const char *file)
{
        return xasprintf("%s/%s/%s", cfg->acme.cert_dir, domain, file);
}

/* The certificate file of a directory under cert_dir: fullchain.pem, else
 * certbot's cert.pem; NULL when neither is there. */
static char *dir_cert(const struct config *cfg, const char *domain)
{
        static const char *const files[] = {"fullchain.pem", "cert.pem"};
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                char *p = cert_file(cfg, domain, files[i]);
                if (!p || is_file(p))
                        return p;
                free(p);
        }
        return NULL;
}

/* The certificate a site uses: its recorded path when the file exists, else
 * the one under cert_dir; NULL when it has none. */
static char *site_cert(const struct config *cfg, const struct site *s)
{
        if (!str_empty(s->ssl_cert_path) && is_file(s->ssl_cert_path))
                return strdup(s->ssl_cert_path);
        return dir_cert(cfg, s->domain);
}

static void progress_line(void *ctx, const char *line)
{
        struct job *job = ctx;
        if (job)
                job_printf(job, "%s\n", line);
        log_debug("acme: %s", line);
}

/* The names to order: the domain first, then each alias once. */
static int site_names(const struct site *s, char ***out, size_t *n)
{
        _cleanup_free_ char *copy = strdup(s->aliases ? s->aliases : "");
        size_t cap = 1;
        for (const char *p = copy; p && *p; p++)
                if (*p == ' ')
                        cap++;
        cap++;
        char **v = calloc(cap, sizeof(*v));
        if (!copy || !v) {
                free(v);
                return -ENOMEM;
        }
        size_t len = 0;
        v[len++] = s->domain;
        char *save = NULL;
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                bool dup = false;
                for (size_t i = 0; i < len; i++)
                        if (strcmp(v[i], tok) == 0)
                                dup = true;
                if (dup)
                        continue;
                if (!valid_domain(tok)) {
                        free(v);
                        return -EINVAL;
                }
                v[len++] = tok;
        }
        /* the alias strings point into copy: duplicate them */
        for (size_t i = 1; i < len; i++)
                if (!(v[i] = strdup(v[i]))) {
                        for (size_t j = 1; j < i; j++)
                                free(v[j]);
                        free(v);
                        return -ENOMEM;
                }
        *out = v;
        *n = len;
        return 0;
}

static void names_free(char **v, size_t n)
{
        if (!v)
                return;
        for (size_t i = 1; i < n; i++) /* v[0] is the site's domain */
                free(v[i]);
        free(v);
}

static void record(struct db *db, const char *domain, const char *kind, bool ok, const char *error,
                   time_t not_after)
{
        char na[TIME_RFC3339_LEN];
        if (ok && not_after > 0)
                time_format_rfc3339(not_after, na);
        long long r = cert_attempts_insert(db, domain, kind, ok ? "success" : "failed",
                                           ok ? NULL : (error ? error : "unknown error"),
                                           ok && not_after > 0 ? na : NULL);
        if (r < 0)
                log_warn("cannot record the certificate attempt for %s: %s", domain,
                         strerror((int)-r));
}

/* ---- issuance ---- */

/* Where a new certificate goes: <cert_dir>/<name>/, written by the root
 * helper (tlscert_install_site: cert_dir is root's); for the panel's own
 * the PEMs are kept too (install_panel_pair: the key file there is not
 * readable by this process). */
struct cert_sink {
        const struct config *cfg;
        bool keep;
        char *fullchain, *key;
};

static int sink_install(void *ctx, const char *name, const char *fullchain, const char *key_pem,
                        char **cert_path, char **key_path, char **error)
{
        struct cert_sink *k = ctx;
        int r = tlscert_install_site(k->cfg, name, fullchain, key_pem, cert_path, key_path, error);
        if (r == 0 && k->keep) {
                k->fullchain = strdup(fullchain);
                k->key = strdup(key_pem);
                if (!k->fullchain || !k->key)
                        r = -ENOMEM;
        }
        return r;
}

static void sink_clear(struct cert_sink *k)
{
        if (k->key)
                explicit_bzero(k->key, strlen(k->key));
        free(k->key);
        free(k->fullchain);
        k->key = k->fullchain = NULL;
}

/* The ACME client's options from the config; progress lines go to job (may be NULL). */
static struct acme_opts acme_opts_of(const struct config *cfg, struct job *job,
                                     struct cert_sink *sink)
{
        return (struct acme_opts){
            .install = sink ? sink_install : NULL,
            .install_ctx = sink,
            .directory_url = cfg->acme.directory_url,
            .ca_bundle = cfg->acme.ca_bundle ? cfg->acme.ca_bundle : "",
            .account_dir = cfg->acme.account_dir,
            .email = cfg->acme.email ? cfg->acme.email : "",
            .webroot = cfg->nginx.certbot_webroot,
            .cert_dir = cfg->acme.cert_dir,
            .progress = progress_line,
            .ctx = job,
        };
}

static int issue(const struct config *cfg, struct db *db, const char *domain, const char *kind,
                 struct job *job, char **cert_path, char **err)
{
        if (cert_path)
                *cert_path = NULL;
        if (!domain || !valid_domain(domain)) {
                set_err(err, "domain must be a valid DNS host name");
                return -EINVAL;
        }
        _cleanup_free_ char *dom = strdup(domain);
        if (!dom)
                return -ENOMEM;
        str_tolower(dom);

        struct site old = {0};
        int r = sites_get_by_domain(db, dom, &old);
        if (r == -ENOENT) {
                set_err(err, "no site with domain %s", dom);
                return r;
        }
        if (r < 0) {
                set_err(err, "cannot read the site %s: %s", dom, strerror(-r));
                return r;
        }
        if (streq(kind, "renew")) {
                _cleanup_free_ char *have = site_cert(cfg, &old);
                if (!have) {
                        site_clear(&old);
                        set_err(err, "%s has no certificate to renew: issue one first", dom);
                        return -ENOENT;
                }
        }
        bool held = false;
        if ((r = domain_lock(dom, job, &held)) < 0) {
                site_clear(&old);
                if (r == -EBUSY)
                        set_err(err, "a certificate request for %s is already running", dom);
                return r;
        }

        char **names = NULL;
        size_t nnames = 0;
        struct acme_result res = {0};
        _cleanup_free_ char *nginx_msg = NULL;
        r = site_names(&old, &names, &nnames);
        if (r < 0) {
                set_err(err, "aliases of %s are not valid DNS host names", dom);
                goto out;
        }
        if (job)
                job_printf(job, "%s certificate for %s (%zu name(s))\n",
                           streq(kind, "issue") ? "issuing" : "renewing", dom, nnames);

        struct cert_sink sink = {.cfg = cfg};
        const struct acme_opts o = acme_opts_of(cfg, job, &sink);
        r = acme_issue(&o, (const char *const *)names, nnames, &res);
        sink_clear(&sink);
        if (r < 0) {
                set_err(err, "%s", res.error ? res.error : strerror(-r));
                record(db, dom, kind, false, err ? *err : res.error, 0);
                goto out;
        }

        /* The row first, then the vhost from it; nginx refusing puts the
         * row back (the transaction restores the vhost itself). */
        struct site nw = old;
        nw.ssl_enabled = true;
        nw.ssl_cert_path = res.cert_path;
        nw.ssl_key_path = res.key_path;
        if (streq(kind, "issue"))
                nw.ssl_auto = true;
        const unsigned mask = SITE_COL_SSL_ENABLED | SITE_COL_SSL_CERT_PATH |
                              SITE_COL_SSL_KEY_PATH | SITE_COL_SSL_AUTO;
        r = sites_update(db, &nw, mask);
        if (r < 0) {
                set_err(err, "certificate issued but the site row could not be updated: %s",
                        strerror(-r));
                record(db, dom, kind, false, err ? *err : "site update failed", 0);
                goto out;
        }
        if (nw.enabled) {
                if (job)
                        job_printf(job, "regenerating the nginx vhost with TLS\n");
                struct nginx_txn *t = NULL;
                r = nginx_txn_begin(cfg, &t);
                if (r == 0)
                        r = nginx_txn_put_site(t, &nw);
                if (r == 0)
                        r = nginx_txn_commit(t, &nginx_msg);
                nginx_txn_free(t);
                if (r < 0) {
                        int ur = sites_update(db, &old, mask);
                        if (ur < 0)
                                log_error("cannot restore the SSL fields of %s: %s", dom,
                                          strerror(-ur));
                        set_err(err, "nginx rejected the TLS vhost of %s: %s", dom,
                                nginx_msg ? nginx_msg : strerror(-r));
                        record(db, dom, kind, false, err ? *err : "nginx failed", 0);
                        goto out;
                }
        }
        record(db, dom, kind, true, NULL, res.not_after);
        if (job) {
                char na[TIME_RFC3339_LEN];
                time_format_rfc3339(res.not_after, na);
                job_printf(job, "certificate for %s valid until %s\n", dom, na);
        }
        log_info("certificate for %s %s (valid until %ld)", dom,
                 streq(kind, "issue") ? "issued" : "renewed", (long)res.not_after);
        if (cert_path)
                *cert_path = TAKE_PTR(res.cert_path);
        r = 0;
out:
        if (r < 0 && job && err && *err)
                job_printf(job, "%s\n", *err);
        acme_result_clear(&res);
        names_free(names, nnames);
        domain_unlock(dom, held);
        site_clear(&old);
        return r;
}

int certs_issue_for_site(const struct config *cfg, struct db *db, const char *domain, bool renew,
                         struct job *job, char **cert_path, char **err)
{
        if (err)
                *err = NULL;
        return issue(cfg, db, domain, renew ? "renew" : "issue", job, cert_path, err);
}

/* ---- the panel's own certificate ---- */

#define PANEL_PEM_MAX (1u << 20)

/* server.acme_hostname lower-cased (malloc'd); NULL when unset or invalid. */
static char *panel_host(const struct config *cfg)
{
        const char *h = cfg->server.acme_hostname;
        if (str_empty(h) || !valid_domain(h))
                return NULL;
        char *d = strdup(h);
        return d ? str_tolower(d) : NULL;
}

/* Whether path holds a CA-issued certificate naming host (the self-signed
 * certificate of `setup` may name it too, but its issuer is itself). */
static bool panel_cert_for(const char *path, const char *host, time_t *not_after)
{
        struct cert_info ci = {0};
        if (!is_file(path) || acme_cert_info(path, &ci) < 0)
                return false;
        bool match = false;
        for (size_t i = 0; i < ci.nnames; i++)
                if (strcasecmp(ci.names[i], host) == 0)
                        match = true;
        if (match && ci.issuer && ci.subject_cn && streq(ci.issuer, ci.subject_cn))
                match = false;
        if (match && not_after)
                *not_after = ci.not_after;
        cert_info_clear(&ci);
        return match;
}

/* The new pair becomes server.key / server.cert. Both are written as temps
 * first and renamed key first: the panel re-reads the files when either
 * changes (http/tls.c), and the old key is put back if the certificate
 * cannot follow, so the pair never stays mismatched. */
static int install_panel_pair(const struct config *cfg, const char *cert, const char *key,
                              char **err)
{
        _cleanup_free_ char *old_key = NULL, *ktmp = NULL, *ctmp = NULL;
        size_t clen = cert ? strlen(cert) : 0, klen = key ? strlen(key) : 0, oklen = 0;
        bool have_old = false;
        int r = 0;
        if (!clen || !klen) {
                set_err(err, "the new certificate is missing");
                return -EINVAL;
        }
        ktmp = xasprintf("%s.setec-new", cfg->server.key);
        ctmp = xasprintf("%s.setec-new", cfg->server.cert);
        if (!ktmp || !ctmp) {
                r = -ENOMEM;
                goto wipe;
        }
        r = write_file_atomic(ktmp, key, klen, 0600);
        if (r < 0) {
                set_err(err, "cannot write %s: %s", ktmp, strerror(-r));
                goto wipe;
        }
        r = write_file_atomic(ctmp, cert, clen, 0644);
        if (r < 0) {
                set_err(err, "cannot write %s: %s", ctmp, strerror(-r));
                unlink(ktmp);
                goto wipe;
        }
        have_old = read_file(cfg->server.key, PANEL_PEM_MAX, &old_key, &oklen) == 0;
        if (rename(ktmp, cfg->server.key) < 0) {
                r = -errno;
                set_err(err, "cannot replace %s: %s", cfg->server.key, strerror(-r));
                unlink(ktmp);
                unlink(ctmp);
                goto wipe;
        }
        if (rename(ctmp, cfg->server.cert) < 0) {
                r = -errno;
                set_err(err, "cannot replace %s: %s", cfg->server.cert, strerror(-r));
                unlink(ctmp);
                if (have_old) {
                        int ur = write_file_atomic(cfg->server.key, old_key, oklen, 0600);
                        if (ur < 0)
                                log_error("cannot restore %s: %s", cfg->server.key, strerror(-ur));
                }
                goto wipe;
        }
        (void)fsync_parent_dir(cfg->server.key);
        (void)fsync_parent_dir(cfg->server.cert);
        r = 0;
wipe:
        if (old_key)
                explicit_bzero(old_key, oklen);
        return r;
}

static int panel_issue(const struct config *cfg, struct db *db, const char *kind, struct job *job,
                       char **err)
{
        _cleanup_free_ char *host = panel_host(cfg);
        if (!host) {
                if (str_empty(cfg->server.acme_hostname)) {
                        set_err(err, "server.acme_hostname is not set");
                        return -EOPNOTSUPP;
                }
                set_err(err, "server.acme_hostname must be a valid DNS host name");
                return -EINVAL;
        }
        if (str_empty(cfg->server.cert) || str_empty(cfg->server.key)) {
                set_err(err, "server.cert and server.key must be set");
                return -EINVAL;
        }
        /* a site's certificate lives in the same <cert_dir>/<domain> */
        struct site s = {0};
        int r = sites_get_by_domain(db, host, &s);
        if (r == 0) {
                site_clear(&s);
                set_err(err,
                        "a site with domain %s exists: issue its certificate with "
                        "/ssl/%s/issue instead",
                        host, host);
                return -EEXIST;
        }
        if (r != -ENOENT) {
                set_err(err, "cannot read the sites: %s", strerror(-r));
                return r;
        }
        if (!streq(kind, "issue") && !panel_cert_for(cfg->server.cert, host, NULL)) {
                set_err(err, "%s is not a certificate for %s: issue one first", cfg->server.cert,
                        host);
                return -ENOENT;
        }
        bool held = false;
        if ((r = domain_lock(host, job, &held)) < 0) {
                if (r == -EBUSY)
                        set_err(err, "a certificate request for %s is already running", host);
                return r;
        }

        struct cert_sink sink = {.cfg = cfg, .keep = true};
        struct acme_result res = {0};
        _cleanup_free_ char *nginx_msg = NULL;
        struct nginx_txn *t = NULL;
        r = nginx_txn_begin(cfg, &t);
        if (r == 0)
                r = nginx_txn_put_panel(t);
        if (r == 0)
                r = nginx_txn_commit(t, &nginx_msg);
        nginx_txn_free(t);
        if (r < 0) {
                set_err(err, "nginx rejected the vhost for %s: %s", host,
                        nginx_msg ? nginx_msg : strerror(-r));
                record(db, host, kind, false, err ? *err : "nginx failed", 0);
                r = r == -ENOMEM ? r : -EIO;
                goto out;
        }

        const struct acme_opts o = acme_opts_of(cfg, job, &sink);
        const char *const names[] = {host};
        r = acme_issue(&o, names, 1, &res);
        if (r < 0) {
                set_err(err, "%s", res.error ? res.error : strerror(-r));
                record(db, host, kind, false, err ? *err : res.error, 0);
                r = r == -ENOMEM ? r : -EIO;
                goto out;
        }
        r = install_panel_pair(cfg, sink.fullchain, sink.key, err);
        if (r < 0) {
                _cleanup_free_ char *why = err && *err ? strdup(*err) : NULL;
                set_err(err, "certificate issued but not installed as the panel's: %s",
                        why ? why : strerror(-r));
                record(db, host, kind, false, err ? *err : "install failed", 0);
                goto out;
        }
        record(db, host, kind, true, NULL, res.not_after);
        log_info("panel certificate for %s %s (valid until %ld)", host,
                 streq(kind, "issue") ? "issued" : "renewed", (long)res.not_after);
        r = 0;
out:
        sink_clear(&sink);
        acme_result_clear(&res);
        domain_unlock(host, held);
        return r;
}

int certs_issue_panel(const struct config *cfg, struct db *db, bool renew, char **err)
{
        if (err)
                *err = NULL;
        return panel_issue(cfg, db, renew ? "renew" : "issue", NULL, err);
}

/* ---- listing ---- */

void certs_list_free(struct cert_status *list, size_t n)
{
        if (!list)
                return;
        for (size_t i = 0; i < n; i++) {
                free(list[i].domain);
                free(list[i].issuer);
                free(list[i].cert_path);
                free(list[i].last_attempt_at);
                free(list[i].last_result);
                free(list[i].last_error);
        }
        free(list);
}

static long days_left(time_t not_after, time_t now)
{
        long long d = (long long)not_after - (long long)now;
        long long q = d / 86400;
        if (d % 86400 != 0 && d < 0)
                q--; /* floor, also when expired */
        return (long)q;
}

struct list_acc {
        struct cert_status *v;
        size_t n, cap;
};

static int add_entry(struct list_acc *a, struct db *db, const char *domain, char *cert_path,
                     bool managed, bool auto_renew, time_t now)
{
        if (a->n == a->cap) {
                size_t ncap = a->cap ? a->cap * 2 : 8;
                struct cert_status *p = reallocarray(a->v, ncap, sizeof(*p));
                if (!p) {
                        free(cert_path);
                        return -ENOMEM;
                }
                a->v = p;
                a->cap = ncap;
        }
        struct cert_status *c = &a->v[a->n];
        *c = (struct cert_status){
            .domain = strdup(domain),
            .managed = managed,
            .auto_renew = auto_renew,
            .cert_path = cert_path,
        };
        a->n++;
        if (!c->domain)
                return -ENOMEM;
        struct cert_info ci = {0};
        if (cert_path && acme_cert_info(cert_path, &ci) == 0) {
                c->issuer = ci.issuer ? strdup(ci.issuer) : NULL;
                c->not_before = ci.not_before;
                c->not_after = ci.not_after;
                c->days_left = days_left(ci.not_after, now);
                cert_info_clear(&ci);
        }
        struct cert_attempt last = {0};
        if (cert_attempts_last(db, domain, &last) == 0) {
                c->last_attempt_at = TAKE_PTR(last.created_at);
                c->last_result = TAKE_PTR(last.result);
                c->last_error = TAKE_PTR(last.error);
                cert_attempt_clear(&last);
        }
        return 0;
}

static bool listed(const struct list_acc *a, const char *domain)
{
        for (size_t i = 0; i < a->n; i++)
                if (streq(a->v[i].domain, domain))
                        return true;
        return false;
}

static int cmp_status(const void *x, const void *y)
{
        const struct cert_status *a = x, *b = y;
        return strcmp(a->domain, b->domain);
}

int certs_list(const struct config *cfg, struct db *db, struct cert_status **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        time_t now = time(NULL);
        struct site *sites = NULL;
        size_t nsites = 0;
        int r = sites_list(db, &sites, &nsites);
        if (r < 0)
                return r;
        struct list_acc a = {0};
        for (size_t i = 0; i < nsites && r == 0; i++) {
                const struct site *s = &sites[i];
                char *path = site_cert(cfg, s);
                if (!s->ssl_enabled && !path)
                        continue;
                r = add_entry(&a, db, s->domain, path, true, s->ssl_auto, now);
        }
        sites_list_free(sites, nsites);

        /* the panel's own certificate, when it is ordered over ACME */
        _cleanup_free_ char *host = panel_host(cfg);
        if (r == 0 && host && !str_empty(cfg->server.cert)) {
                char *path = is_file(cfg->server.cert) ? strdup(cfg->server.cert) : NULL;
                r = add_entry(&a, db, host, path, true,
                              panel_cert_for(cfg->server.cert, host, NULL), now);
                if (r == 0)
                        a.v[a.n - 1].panel = true;
        }

        /* certificates of other tools (certbot's live/ layout) */
        DIR *d = r == 0 && cfg->acme.cert_dir ? opendir(cfg->acme.cert_dir) : NULL;
        struct dirent *de;
        while (d && r == 0 && (de = readdir(d))) {
                if (de->d_name[0] == '.' || !valid_domain(de->d_name) || listed(&a, de->d_name))
                        continue;
                char *path = dir_cert(cfg, de->d_name);
                if (!path)
                        continue;
                r = add_entry(&a, db, de->d_name, path, false, false, now);
        }
        if (d)
                closedir(d);
        if (r < 0) {
                certs_list_free(a.v, a.n);
                return r;
        }
        if (a.n > 1)
                qsort(a.v, a.n, sizeof(*a.v), cmp_status);
        *out = a.v;
        *n = a.n;
        return 0;
}

/* ---- scheduled renewal ---- */

/* The ARI suggestion for the certificate (0 when the CA has none or cannot
 * be asked). */
static time_t ari_start(const struct config *cfg, const char *cert)
{
        const struct acme_opts o = {
            .directory_url = cfg->acme.directory_url,
            .ca_bundle = cfg->acme.ca_bundle ? cfg->acme.ca_bundle : "",
            .account_dir = cfg->acme.account_dir,
            .email = cfg->acme.email ? cfg->acme.email : "",
            .webroot = cfg->nginx.certbot_webroot,
            .cert_dir = cfg->acme.cert_dir,
            .timeout_s = 30,
        };
        struct acme_renewal_window w = {0};
        _cleanup_free_ char *error = NULL;
        int r = acme_renewal_info(&o, cert, &w, &error);
        if (r < 0) {
                if (r != -EOPNOTSUPP)
                        log_debug("renewalInfo for %s: %s", cert, error ? error : strerror(-r));
                return 0;
        }
        time_t t = acme_ari_pick(w.start, w.end, (unsigned long)random());
        acme_renewal_window_clear(&w);
        return t;
}

/* Start a scheduled renewal of domain (the panel's certificate when panel)
 * as a cert_renew job: the scheduler thread only starts it. 0 when started,
 * -EBUSY when another job holds the domain, else -errno. */
static int start_renewal(const struct config *cfg, struct db *db, const char *domain, bool panel)
{
        struct cert_job *w = cert_job_new(cfg, db, domain, true);
        if (!w)
                return -ENOMEM;
        w->panel = panel;
        w->automatic = true;
        char subject[300];
        snprintf(subject, sizeof(subject), "domain:%s", domain);
        struct job_start_opts o = {.user = "scheduler"};
        long long busy = 0;
        int r = job_start(&cert_renew_kind, subject, w, &o, NULL, &busy);
        if (r == -EBUSY)
                log_debug("renewal of %s not started: job %lld holds it", domain, busy);
        else if (r < 0)
                log_warn("cannot start the renewal of %s: %s", domain, strerror(-r));
        return r;
}

/* 0 when the renewal of the panel's certificate was started, 1 when nothing
 * was due, -errno when it could not be started. */
static int renew_panel_if_due(const struct config *cfg, struct db *db, time_t now)
{
        _cleanup_free_ char *host = panel_host(cfg);
        time_t not_after = 0;
        if (!host || !panel_cert_for(cfg->server.cert, host, &not_after))
                return 1;
        if (!acme_should_renew(now, not_after, ari_start(cfg, cfg->server.cert)))
                return 1;
        time_t next = 0;
        int failures = 0;
        if (cert_attempts_next_auto(db, host, &next, &failures) == 0 && now < next) {
                log_debug("renewal of the panel certificate held back after %d failure(s)",
                          failures);
                return 1;
        }
        int r = start_renewal(cfg, db, host, true);
        return r == -EBUSY ? 1 : r;
}

int certs_renew_due(const struct config *cfg, struct db *db, time_t now)
{
        struct site *sites = NULL;
        size_t nsites = 0;
        int r = sites_list(db, &sites, &nsites);
        if (r < 0)
                return r;
        int renewed = 0;
        for (size_t i = 0; i < nsites; i++) {
                const struct site *s = &sites[i];
                /* a disabled site's vhost is off: nobody would answer the challenge */
                if (!s->ssl_enabled || !s->ssl_auto || !s->enabled)
                        continue;
                _cleanup_free_ char *cert = site_cert(cfg, s);
                if (!cert)
                        continue;
                struct cert_info ci = {0};
                if (acme_cert_info(cert, &ci) < 0) {
                        log_warn("renewal: cannot read the certificate of %s (%s)", s->domain,
                                 cert);
                        continue;
                }
                time_t not_after = ci.not_after;
                cert_info_clear(&ci);
                if (!acme_should_renew(now, not_after, ari_start(cfg, cert)))
                        continue;
                time_t next = 0;
                int failures = 0;
                if (cert_attempts_next_auto(db, s->domain, &next, &failures) == 0 && now < next) {
                        log_debug("renewal of %s held back after %d failure(s)", s->domain,
                                  failures);
                        continue;
                }
                if (start_renewal(cfg, db, s->domain, false) == 0)
                        renewed++;
        }
        sites_list_free(sites, nsites);
        if (renew_panel_if_due(cfg, db, now) == 0)
                renewed++;
        return renewed;
}

/* ---- issue and renew as jobs ---- */

struct cert_job *cert_job_new(const struct config *cfg, struct db *db, const char *domain,
                              bool renew)
{
        struct cert_job *w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        w->cfg = cfg;
        w->db = db;
        w->renew = renew;
        w->domain = strdup(domain);
        if (!w->domain) {
                free(w);
                return NULL;
        }
        return w;
}

void cert_job_free(void *ctx)
{
        struct cert_job *w = ctx;
        if (!w)
                return;
        free(w->domain);
        free(w->cert_path);
        free(w->err);
        free(w);
}

static int cert_step(struct job *j, void *ctx)
{
        struct cert_job *w = ctx;
        const char *kind = w->automatic ? "auto" : w->renew ? "renew" : "issue";
        if (w->panel)
                w->rc = panel_issue(w->cfg, w->db, kind, j, &w->err);
        else
                w->rc = issue(w->cfg, w->db, w->domain, kind, j, &w->cert_path, &w->err);
        if (w->rc < 0) {
                if (w->automatic)
                        log_warn("renewal of the certificate of %s failed: %s", w->domain,
                                 w->err ? w->err : strerror(-w->rc));
                job_fail(j, "%s", w->err ? w->err : strerror(-w->rc));
                return w->rc;
        }
        return 0;
}

static const struct job_step cert_steps[] = {{"certificate", cert_step, NULL}};

const struct job_kind cert_issue_kind = {"cert_issue", cert_steps, 1, NULL, NULL, cert_job_free};
const struct job_kind cert_renew_kind = {"cert_renew", cert_steps, 1, NULL, NULL, cert_job_free};
