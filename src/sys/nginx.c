/* nginx vhosts: rendering from validated sites, atomic writes, enable
 * symlinks, `nginx -t` before every reload and rollback of a failed change.
 *
 * Every transaction (and the public test/reload/restart calls) holds one
 * process-wide recursive lock, so two changes never interleave and a
 * rollback restores exactly what its own transaction replaced. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/exec.h"
#include "sys/helpcall.h"
#include "sys/nginx.h"
#include "sys/sitemsg.h"
#include "sys/units.h"

#define NGINX_UNIT       "nginx.service"
#define NGINX_TIMEOUT_MS 30000
#define VHOST_MAX        (1024 * 1024)

static pthread_mutex_t nginx_mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

/* Values from the configuration also go into the vhost text unquoted: only
 * plain path characters, absolute and normalised. */
static bool plain_path(const char *p)
{
        if (!p || p[0] != '/' || strlen(p) > 4096)
                return false;
        if (p[1] == '\0')
                return true;
        const char *seg = p + 1;
        for (;;) {
                size_t n = strcspn(seg, "/");
                if (n == 0)
                        return false;
                if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                        return false;
                for (size_t i = 0; i < n; i++) {
                        unsigned char c = (unsigned char)seg[i];
                        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || strchr("._-+@,~=:", c)))
                                return false;
                }
                if (!seg[n])
                        return true;
                seg += n + 1;
        }
}

static bool is_proxy(enum app_type t)
{
        return t == APP_PYTHON || t == APP_NODE || t == APP_AUTARCH;
}

static int put_server_name(struct strbuf *b, const struct site *s)
{
        int r = strbuf_printf(b, "    server_name %s", s->domain);
        /* aliases may hold several spaces between names: emit single ones */
        const char *p = s->aliases;
        while (r == 0 && p && *p) {
                if (*p == ' ') {
                        p++;
                        continue;
                }
                size_t n = strcspn(p, " ");
                r = strbuf_printf(b, " %.*s", (int)n, p);
                p += n;
        }
        return r ? r : strbuf_puts(b, ";\n");
}

static int put_listen(struct strbuf *b, const struct config *cfg, int port, const char *opts)
{
        int r = strbuf_printf(b, "    listen %d%s;\n", port, opts);
        if (!r && cfg->nginx.ipv6)
                r = strbuf_printf(b, "    listen [::]:%d%s;\n", port, opts);
        return r;
}

/* The body size of a site: its own, else the config's. */
static const char *body_size(const struct site *s, const struct config *cfg)
{
        return str_empty(s->max_body_size) ? cfg->nginx.client_max_body_size : s->max_body_size;
}

/* What every server block of a site gets: no version in answers or error
 * pages, the body size, the security headers of its mode (an app that sets
 * its own CSP still gets these; "off" leaves them to the app), and no
 * dot-file (.git, .env, .htpasswd) served, except /.well-known/. */
static int put_common(struct strbuf *b, const struct site *s, const struct config *cfg)
{
        int r = strbuf_printf(b,
                              "    server_tokens off;\n"
                              "    client_max_body_size %s;\n",
                              body_size(s, cfg));
        if (!r && s->security_headers != SITE_HEADERS_OFF)
                r = strbuf_printf(
                    b,
                    "    add_header X-Content-Type-Options nosniff always;\n"
                    "    add_header Referrer-Policy strict-origin-when-cross-origin always;\n"
                    "    add_header X-Frame-Options %s always;\n",
                    s->security_headers == SITE_HEADERS_STRICT ? "DENY" : "SAMEORIGIN");
        if (!r && s->security_headers == SITE_HEADERS_STRICT)
                r = strbuf_puts(
                    b,
                    "    add_header Content-Security-Policy \"frame-ancestors 'none'\" always;\n");
        if (!r)
                r = strbuf_puts(b, "\n"
                                   "    location ~ /\\.(?!well-known/) {\n"
                                   "        return 404;\n"
                                   "    }\n");
        return r;
}

static int put_content(struct strbuf *b, const struct site *s, const struct config *cfg)
{
        if (!is_proxy(s->app_type))
                return strbuf_printf(b,
                                     "\n"
                                     "    root %s;\n"
                                     "    index index.html index.htm;\n"
                                     "\n"
                                     "    location / {\n"
                                     "        try_files $uri $uri/ =404;\n"
                                     "    }\n",
                                     s->app_root);
        /* WebSocket: Upgrade is passed on, Connection comes from the map in
         * the defaults file (nginx_render_defaults), never the client's own
         * hop-by-hop list. Buffering stays on: an app that streams says
         * X-Accel-Buffering: no on that answer. */
        return strbuf_printf(b,
                             "\n"
                             "    location / {\n"
                             "        proxy_pass http://127.0.0.1:%d;\n"
                             "        include %s/proxy-params.conf;\n"
                             "        proxy_http_version 1.1;\n"
                             "        proxy_set_header Upgrade $http_upgrade;\n"
                             "        proxy_set_header Connection $setec_connection_upgrade;\n"
                             "        proxy_read_timeout 3600s;\n"
                             "    }\n",
                             s->app_port, cfg->nginx.snippets);
}

char *nginx_render_vhost(const struct site *s, const struct config *cfg)
{
        if (!s || !cfg || !s->domain || !valid_domain(s->domain) || !s->aliases ||
            !valid_aliases(s->aliases) || (unsigned)s->app_type > APP_AUTARCH ||
            !plain_path(cfg->nginx.certbot_webroot) || !plain_path(cfg->nginx.snippets) ||
            cfg->nginx.http_port < 1 || cfg->nginx.http_port > 65535 || cfg->nginx.https_port < 1 ||
            cfg->nginx.https_port > 65535 || !valid_nginx_size(body_size(s, cfg)) ||
            (unsigned)s->security_headers > SITE_HEADERS_OFF) {
                errno = EINVAL;
                return NULL;
        }
        /* The domain must be lower case already (site_validate does it). */
        for (const char *p = s->domain; *p; p++)
                if (*p >= 'A' && *p <= 'Z') {
                        errno = EINVAL;
                        return NULL;
                }
        if (is_proxy(s->app_type) ? (s->app_port < 1024 || s->app_port > 65535)
                                  : (!s->app_root || !cfg->nginx.webroot ||
                                     !valid_path_inside(s->app_root, cfg->nginx.webroot) ||
                                     !plain_path(s->app_root))) {
                errno = EINVAL;
                return NULL;
        }
        /* Until a certificate exists an SSL site is served over http like a
         * plain one (the ACME location is there either way). */
        bool ssl = s->ssl_enabled && !str_empty(s->ssl_cert_path) && !str_empty(s->ssl_key_path);
        if (ssl && (!plain_path(s->ssl_cert_path) || !plain_path(s->ssl_key_path))) {
                errno = EINVAL;
                return NULL;
        }

        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        int r = strbuf_printf(&b,
                              "# Managed by Setec Manager - do not edit\n"
                              "# site %s (%s)\n"
                              "server {\n",
                              s->domain, app_type_name(s->app_type));
        if (!r)
                r = put_listen(&b, cfg, cfg->nginx.http_port, "");
        if (!r)
                r = put_server_name(&b, s);
        if (!r)
                r = put_common(&b, s, cfg);
        if (!r)
                r = strbuf_printf(&b,
                                  "\n"
                                  "    location ^~ /.well-known/acme-challenge/ {\n"
                                  "        root %s;\n"
                                  "        default_type text/plain;\n"
                                  "    }\n",
                                  cfg->nginx.certbot_webroot);
        if (!r && !ssl)
                r = put_content(&b, s, cfg);
        if (!r && ssl) {
                if (cfg->nginx.https_port == 443)
                        r = strbuf_puts(&b, "\n"
                                            "    location / {\n"
                                            "        return 301 https://$host$request_uri;\n"
                                            "    }\n");
                else
                        r = strbuf_printf(&b,
                                          "\n"
                                          "    location / {\n"
                                          "        return 301 https://$host:%d$request_uri;\n"
                                          "    }\n",
                                          cfg->nginx.https_port);
                /* `listen … ssl http2` is what nginx 1.22 (Debian 12) knows;
                 * newer versions only warn about it */
                if (!r)
                        r = strbuf_puts(&b, "}\n"
                                            "\n"
                                            "server {\n");
                if (!r)
                        r = put_listen(&b, cfg, cfg->nginx.https_port, " ssl http2");
                if (!r)
                        r = put_server_name(&b, s);
                if (!r)
                        r = put_common(&b, s, cfg);
                if (!r)
                        r = strbuf_printf(&b,
                                          "\n"
                                          "    ssl_certificate %s;\n"
                                          "    ssl_certificate_key %s;\n"
                                          "    include %s/ssl-params.conf;\n",
                                          s->ssl_cert_path, s->ssl_key_path, cfg->nginx.snippets);
                if (!r)
                        r = put_content(&b, s, cfg);
        }
        if (!r)
                r = strbuf_puts(&b, "}\n");
        if (r) {
                errno = -r;
                return NULL;
        }
        return strbuf_steal(&b);
}

static char *join(const char *dir, const char *name)
{
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        if (strbuf_printf(&p, "%s/%s", dir, name) < 0)
                return NULL;
        return strbuf_steal(&p);
}

char *nginx_vhost_path(const struct config *cfg, const char *domain)
{
        if (!domain || !valid_domain(domain) || !cfg->nginx.sites_available)
                return NULL;
        return join(cfg->nginx.sites_available, domain);
}

static char *enabled_path(const struct config *cfg, const char *domain)
{
        if (!domain || !valid_domain(domain) || !cfg->nginx.sites_enabled)
                return NULL;
        return join(cfg->nginx.sites_enabled, domain);
}

int nginx_read_vhost(const struct config *cfg, const char *domain, char **out)
{
        _cleanup_free_ char *path = nginx_vhost_path(cfg, domain);
        if (!path)
                return domain && valid_domain(domain) ? -ENOMEM : -EINVAL;
        struct stat st;
        if (lstat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -ENOENT;
        return read_file(path, VHOST_MAX, out, NULL);
}

/* ---- replacing a symlink atomically ---- */

static int symlink_atomic(const char *target, const char *path)
{
        _cleanup_free_ char *dir = path_dirname(path);
        if (!dir)
                return -ENOMEM;
        for (int attempt = 0; attempt < 16; attempt++) {
                char hex[13];
                if (rand_hex(hex, 6) < 0)
                        return -EIO;
                _cleanup_strbuf_ struct strbuf tmp = STRBUF_INIT(0);
                if (strbuf_printf(&tmp, "%s/.setec-link-%s", dir, hex) < 0)
                        return -ENOMEM;
                if (symlink(target, tmp.data) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                if (rename(tmp.data, path) < 0) {
                        int e = -errno;
                        unlink(tmp.data);
                        return e;
                }
                return 0;
        }
        return -EEXIST;
}

/* ---- transactions ---- */

enum prev_kind { PREV_NONE, PREV_FILE, PREV_LINK };

struct change {
        char *path;
        enum prev_kind kind;
        char *data; /* file content or link target */
        size_t len;
        mode_t mode;
};

struct nginx_txn {
        const struct config *cfg;
        struct change *changes;
        size_t n, cap;
        bool done; /* committed, or undone */
        /* in the HTTP process of a split serve: the changes, recorded as the
         * fields of one HOP_NGINX_APPLY (the list in nginx.h) */
        bool remote;
        struct hm_builder changes_msg;
};

/* Remember what path holds now, once per transaction. */
static int record(struct nginx_txn *t, const char *path)
{
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->changes[i].path, path))
                        return 0;
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 4;
                struct change *c = realloc(t->changes, cap * sizeof(*c));
                if (!c)
                        return -ENOMEM;
                t->changes = c;
                t->cap = cap;
        }
        struct change c = {.kind = PREV_NONE};
        struct stat st;
        if (lstat(path, &st) < 0) {
                if (errno != ENOENT)
                        return -errno;
        } else if (S_ISLNK(st.st_mode)) {
                size_t sz = (size_t)st.st_size + 1;
                if (sz < 256)
                        sz = 256;
                c.data = malloc(sz + 1);
                if (!c.data)
                        return -ENOMEM;
                ssize_t n = readlink(path, c.data, sz);
                if (n < 0 || (size_t)n >= sz) {
                        free(c.data);
                        return n < 0 ? -errno : -ENAMETOOLONG;
                }
                c.data[n] = '\0';
                c.len = (size_t)n;
                c.kind = PREV_LINK;
        } else if (S_ISREG(st.st_mode)) {
                int r = read_file(path, VHOST_MAX, &c.data, &c.len);
                if (r < 0)
                        return r;
                c.mode = st.st_mode & 07777;
                c.kind = PREV_FILE;
        } else {
                /* never replace a directory or a device */
                return -EISDIR;
        }
        c.path = strdup(path);
        if (!c.path) {
                free(c.data);
                return -ENOMEM;
        }
        t->changes[t->n++] = c;
        return 0;
}

static void undo(struct nginx_txn *t)
{
        for (size_t i = t->n; i-- > 0;) {
                struct change *c = &t->changes[i];
                int r = 0;
                switch (c->kind) {
                case PREV_NONE:
                        if (unlink(c->path) < 0 && errno != ENOENT)
                                r = -errno;
                        break;
                case PREV_FILE:
                        r = write_file_atomic(c->path, c->data, c->len, c->mode);
                        break;
                case PREV_LINK:
                        r = symlink_atomic(c->data, c->path);
                        break;
                }
                if (r < 0)
                        log_error("nginx: could not restore %s: %s", c->path, strerror(-r));
        }
}

int nginx_txn_begin(const struct config *cfg, struct nginx_txn **out)
{
        struct nginx_txn *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->cfg = cfg;
        if (helpcall_active()) {
                t->remote = true;
                t->changes_msg = (struct hm_builder){.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&t->changes_msg, HM_REQUEST, HOP_NGINX_APPLY);
        }
        pthread_mutex_lock(&nginx_mutex);
        *out = t;
        return 0;
}

/* Write a vhost's text to avail (in sites_available) and link it from en (in
 * sites_enabled), both recorded for the roll back. NULL paths: -ENOMEM. */
static int put_vhost(struct nginx_txn *t, const char *text, const char *avail, const char *en)
{
        if (!avail || !en)
                return -ENOMEM;
        /* nginx resolves a relative link target against sites_enabled */
        if (avail[0] != '/')
                return -EINVAL;
        int r = record(t, avail);
        if (r < 0)
                return r;
        r = record(t, en);
        if (r < 0)
                return r;
        r = write_file_atomic(avail, text, strlen(text), 0644);
        if (r < 0)
                return r;
        return symlink_atomic(avail, en);
}

/* ---- the defaults every vhost relies on ---- */

#define DEFAULTS_AVAIL "setec-defaults"
#define DEFAULTS_EN    "000-setec-defaults"

char *nginx_render_defaults(const struct config *cfg)
{
        if (!cfg || cfg->nginx.http_port < 1 || cfg->nginx.http_port > 65535 ||
            cfg->nginx.https_port < 1 || cfg->nginx.https_port > 65535) {
                errno = EINVAL;
                return NULL;
        }
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        int r = strbuf_puts(&b, "# Managed by Setec Manager - do not edit\n"
                                "# Connection for the upstream: \"upgrade\" for a WebSocket, else\n"
                                "# \"close\"; never the client's own hop-by-hop list\n"
                                "map $http_upgrade $setec_connection_upgrade {\n"
                                "    default upgrade;\n"
                                "    '' close;\n"
                                "}\n");
        if (!r && cfg->nginx.default_server) {
                /* An unknown Host (or SNI) gets nothing, not whichever site
                 * sorts first (and its certificate). */
                r = strbuf_puts(&b, "\n"
                                    "# names no site serves: the connection is closed\n"
                                    "server {\n");
                if (!r)
                        r = put_listen(&b, cfg, cfg->nginx.http_port, " default_server");
                if (!r)
                        r = strbuf_puts(&b, "    server_name _;\n"
                                            "    server_tokens off;\n"
                                            "    return 444;\n"
                                            "}\n"
                                            "\n"
                                            "server {\n");
                if (!r)
                        r = put_listen(&b, cfg, cfg->nginx.https_port, " ssl http2 default_server");
                if (!r)
                        r = strbuf_puts(&b, "    server_name _;\n"
                                            "    server_tokens off;\n"
                                            "    ssl_reject_handshake on;\n"
                                            "}\n");
        }
        if (r) {
                errno = -r;
                return NULL;
        }
        return strbuf_steal(&b);
}

/* The defaults file, rewritten with every vhost change (recorded, so a
 * failed test restores it too). With nginx.default_server, Debian's stock
 * `default` site (a symlink in sites_enabled) is disabled: it claims
 * default_server on the same ports. */
static int put_defaults(struct nginx_txn *t)
{
        _cleanup_free_ char *text = nginx_render_defaults(t->cfg);
        if (!text)
                return errno == ENOMEM ? -ENOMEM : -EINVAL;
        if (!t->cfg->nginx.sites_available || !t->cfg->nginx.sites_enabled)
                return -EINVAL;
        _cleanup_free_ char *avail = join(t->cfg->nginx.sites_available, DEFAULTS_AVAIL);
        _cleanup_free_ char *en = join(t->cfg->nginx.sites_enabled, DEFAULTS_EN);
        int r = put_vhost(t, text, avail, en);
        if (r < 0 || !t->cfg->nginx.default_server)
                return r;
        _cleanup_free_ char *stock = join(t->cfg->nginx.sites_enabled, "default");
        struct stat st;
        if (!stock)
                return -ENOMEM;
        if (lstat(stock, &st) < 0 || !S_ISLNK(st.st_mode))
                return 0;
        r = record(t, stock);
        if (r < 0)
                return r;
        if (unlink(stock) < 0 && errno != ENOENT)
                return -errno;
        log_info("nginx: disabled the stock site %s (the panel's default server replaces it)",
                 stock);
        return 0;
}

int nginx_txn_put_site(struct nginx_txn *t, const struct site *s)
{
        if (!t || t->done)
                return -EINVAL;
        if (t->remote) {
                /* refused here as the helper would (it renders again) */
                _cleanup_free_ char *text = nginx_render_vhost(s, t->cfg);
                if (!text)
                        return errno == ENOMEM ? -ENOMEM : -EINVAL;
                hm_add_str(&t->changes_msg, NGINX_CHANGE_SITE);
                hm_add_site(&t->changes_msg, s);
                return hm_end(&t->changes_msg);
        }
        int dr = put_defaults(t);
        if (dr < 0)
                return dr;
        _cleanup_free_ char *text = nginx_render_vhost(s, t->cfg);
        if (!text)
                return errno == ENOMEM ? -ENOMEM : -EINVAL;
        _cleanup_free_ char *avail = nginx_vhost_path(t->cfg, s->domain);
        _cleanup_free_ char *en = enabled_path(t->cfg, s->domain);
        return put_vhost(t, text, avail, en);
}

int nginx_txn_drop_site(struct nginx_txn *t, const char *domain, bool remove_file)
{
        if (!t || t->done || !domain || !valid_domain(domain))
                return -EINVAL;
        if (t->remote) {
                hm_add_str(&t->changes_msg, NGINX_CHANGE_DROP);
                hm_add_str(&t->changes_msg, domain);
                hm_add_int(&t->changes_msg, remove_file);
                return hm_end(&t->changes_msg);
        }
        _cleanup_free_ char *en = enabled_path(t->cfg, domain);
        if (!en)
                return -ENOMEM;
        int r = record(t, en);
        if (r < 0)
                return r;
        if (unlink(en) < 0 && errno != ENOENT)
                return -errno;
        if (!remove_file)
                return 0;
        _cleanup_free_ char *avail = nginx_vhost_path(t->cfg, domain);
        if (!avail)
                return -ENOMEM;
        r = record(t, avail);
        if (r < 0)
                return r;
        if (unlink(avail) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* ---- the panel's host name ---- */

#define PANEL_VHOST_PREFIX "setec-panel_"

/* The host name, lower case (malloc'd), or NULL when unset or invalid. */
static char *panel_host(const struct config *cfg)
{
        const char *h = cfg ? cfg->server.acme_hostname : NULL;
        if (str_empty(h) || !valid_domain(h))
                return NULL;
        char *d = strdup(h);
        return d ? str_tolower(d) : NULL;
}

char *nginx_render_panel_vhost(const struct config *cfg)
{
        _cleanup_free_ char *host = panel_host(cfg);
        if (!host || !plain_path(cfg->nginx.certbot_webroot) || cfg->nginx.http_port < 1 ||
            cfg->nginx.http_port > 65535 || cfg->server.port < 1 || cfg->server.port > 65535) {
                errno = EINVAL;
                return NULL;
        }
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        int r = strbuf_printf(&b,
                              "# Managed by Setec Manager - do not edit\n"
                              "# the panel's host name: ACME HTTP-01 challenges for its "
                              "certificate\n"
                              "server {\n"
                              "    listen %d;\n"
                              "    server_name %s;\n"
                              "\n"
                              "    location ^~ /.well-known/acme-challenge/ {\n"
                              "        root %s;\n"
                              "        default_type text/plain;\n"
                              "    }\n"
                              "\n"
                              "    location / {\n",
                              cfg->nginx.http_port, host, cfg->nginx.certbot_webroot);
        if (!r)
                r = cfg->server.port == 443
                        ? strbuf_puts(&b, "        return 301 https://$host$request_uri;\n")
                        : strbuf_printf(&b, "        return 301 https://$host:%d$request_uri;\n",
                                        cfg->server.port);
        if (!r)
                r = strbuf_puts(&b, "    }\n"
                                    "}\n");
        if (r) {
                errno = -r;
                return NULL;
        }
        return strbuf_steal(&b);
}

static char *panel_path(const struct config *cfg, const char *dir)
{
        _cleanup_free_ char *host = panel_host(cfg);
        if (!host || !dir)
                return NULL;
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        if (strbuf_printf(&p, "%s/" PANEL_VHOST_PREFIX "%s", dir, host) < 0)
                return NULL;
        return strbuf_steal(&p);
}

char *nginx_panel_vhost_path(const struct config *cfg)
{
        return panel_path(cfg, cfg->nginx.sites_available);
}

int nginx_txn_put_panel(struct nginx_txn *t)
{
        if (!t || t->done)
                return -EINVAL;
        if (t->remote) {
                _cleanup_free_ char *text = nginx_render_panel_vhost(t->cfg);
                if (!text)
                        return errno == ENOMEM ? -ENOMEM : -EINVAL;
                hm_add_str(&t->changes_msg, NGINX_CHANGE_PANEL);
                return hm_end(&t->changes_msg);
        }
        int dr = put_defaults(t);
        if (dr < 0)
                return dr;
        _cleanup_free_ char *text = nginx_render_panel_vhost(t->cfg);
        if (!text)
                return errno == ENOMEM ? -ENOMEM : -EINVAL;
        _cleanup_free_ char *avail = panel_path(t->cfg, t->cfg->nginx.sites_available);
        _cleanup_free_ char *en = panel_path(t->cfg, t->cfg->nginx.sites_enabled);
        return put_vhost(t, text, avail, en);
}

static char *trimmed(char *s)
{
        if (!s)
                return s;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
                s[--n] = '\0';
        return s;
}

static int run_nginx(const struct config *cfg, const char *const *extra, size_t nextra,
                     struct exec_result *res)
{
        const char *argv[16];
        size_t k = 0;
        argv[k++] = cfg->nginx.binary;
        for (size_t i = 0; i < nextra && k < 10; i++)
                argv[k++] = extra[i];
        argv[k++] = "-c";
        argv[k++] = cfg->nginx.conf;
        if (!str_empty(cfg->nginx.error_log)) {
                /* start-up errors go where the config says, never to the
                 * compiled-in /var/log/nginx */
                argv[k++] = "-e";
                argv[k++] = cfg->nginx.error_log;
        }
        argv[k] = NULL;
        struct exec_opts o = {
            .argv = argv, .timeout_ms = NGINX_TIMEOUT_MS, .max_output = 64 * 1024};
        return exec_run(&o, res);
}

static int test_locked(const struct config *cfg, char **output)
{
        struct exec_result res = {0};
        const char *args[] = {"-t"};
        int r = run_nginx(cfg, args, 1, &res);
        if (r < 0) {
                if (output) {
                        _cleanup_strbuf_ struct strbuf m = STRBUF_INIT(0);
                        strbuf_printf(&m, "cannot run %s: %s", cfg->nginx.binary, strerror(-r));
                        *output = strbuf_steal(&m);
                }
                return r;
        }
        int valid = res.status == 0 && !res.timed_out;
        if (output)
                *output = trimmed(TAKE_PTR(res.output));
        exec_result_free(&res);
        return valid;
}

/* In the HTTP process of a split serve: HOP_NGINX_RELOAD (mode) in the
 * helper, under this process's lock (the helper runs one call per child:
 * the lock here keeps the panel's own nginx calls from interleaving). The
 * result's message becomes *msg; for NGINX_MODE_TEST the extra int says
 * whether the test passed. */
static int remote_nginx(int mode, char **msg, int *valid)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_NGINX_RELOAD);
        hm_add_int(&hb, mode);
        struct helpcall_reply rep;
        pthread_mutex_lock(&nginx_mutex);
        int r = helpcall_send(&hb, NULL, NULL, &rep, msg);
        pthread_mutex_unlock(&nginx_mutex);
        if (valid)
                *valid = hm_int(&rep.m, 2, 0) == 1;
        helpcall_reply_free(&rep);
        return r;
}

int nginx_test(const struct config *cfg, char **output)
{
        if (helpcall_active()) {
                int valid = 0;
                int r = remote_nginx(NGINX_MODE_TEST, output, &valid);
                return r < 0 ? r : valid;
        }
        pthread_mutex_lock(&nginx_mutex);
        int r = test_locked(cfg, output);
        pthread_mutex_unlock(&nginx_mutex);
        return r;
}

static bool signal_mode(const struct config *cfg)
{
        return streq(cfg->nginx.reload, "signal");
}

static int fail_msg(char **msg, int err, const char *what, const char *detail)
{
        if (msg) {
                _cleanup_strbuf_ struct strbuf m = STRBUF_INIT(0);
                if (str_empty(detail))
                        strbuf_printf(&m, "%s: %s", what, strerror(-err));
                else
                        strbuf_printf(&m, "%s: %s", what, detail);
                *msg = strbuf_steal(&m);
        }
        return err;
}

/* nginx -s SIG: 0 or -errno with its output. */
static int send_signal(const struct config *cfg, const char *sig, char **msg)
{
        struct exec_result res = {0};
        const char *args[] = {"-s", sig};
        int r = run_nginx(cfg, args, 2, &res);
        if (r < 0)
                return fail_msg(msg, r, "cannot run nginx", NULL);
        if (res.status != 0 || res.timed_out) {
                r = fail_msg(msg, -EIO, "nginx -s failed", trimmed(res.output));
                exec_result_free(&res);
                return r;
        }
        exec_result_free(&res);
        return 0;
}

static long master_pid(const struct config *cfg);

/* The worker pids of the master (its children), from /proc; "" when unknown. */
static char *worker_pids(long master)
{
        char path[96];
        snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", master, master);
        char *text = NULL;
        if (master <= 0 || read_file(path, 64 * 1024, &text, NULL) < 0)
                return NULL;
        return text;
}

/* After a reload the old workers keep accepting connections until they have
 * been told to quit, so a request right after the reload may still see the
 * old configuration (an ACME challenge answered 404, a new site missing).
 * Wait (bounded) until none of the workers that existed before is left. */
static void wait_old_workers(long master, const char *before)
{
        if (str_empty(before))
                return;
        for (int i = 0; i < 150; i++) {
                _cleanup_free_ char *now = worker_pids(master);
                bool old_left = false;
                _cleanup_free_ char *copy = strdup(before);
                char *save = NULL;
                for (char *tok = copy ? strtok_r(copy, " \n", &save) : NULL; tok && now;
                     tok = strtok_r(NULL, " \n", &save)) {
                        /* whole-token match in the space-separated list */
                        size_t l = strlen(tok);
                        for (const char *p = now; (p = strstr(p, tok)); p += l)
                                if ((p == now || p[-1] == ' ') &&
                                    (p[l] == ' ' || p[l] == '\0' || p[l] == '\n'))
                                        old_left = true;
                }
                if (!now || !old_left)
                        return;
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
}

static int reload_locked(const struct config *cfg, char **msg)
{
        long master = master_pid(cfg);
        _cleanup_free_ char *before = worker_pids(master);
        int r;
        if (signal_mode(cfg)) {
                r = send_signal(cfg, "reload", msg);
        } else {
                char err[512] = "";
                r = unit_control(NGINX_UNIT, UNIT_RELOAD, NGINX_TIMEOUT_MS, err, sizeof(err));
                if (r < 0)
                        r = fail_msg(msg, r, "reloading nginx.service failed", err);
        }
        if (r == 0)
                wait_old_workers(master, before);
        return r;
}

int nginx_reload(const struct config *cfg, char **msg)
{
        if (helpcall_active())
                return remote_nginx(NGINX_MODE_RELOAD, msg, NULL);
        pthread_mutex_lock(&nginx_mutex);
        int r = reload_locked(cfg, msg);
        pthread_mutex_unlock(&nginx_mutex);
        return r;
}

int nginx_checked_reload(const struct config *cfg, char **msg)
{
        if (helpcall_active())
                return remote_nginx(NGINX_MODE_CHECKED_RELOAD, msg, NULL);
        pthread_mutex_lock(&nginx_mutex);
        _cleanup_free_ char *out = NULL;
        int r = test_locked(cfg, &out);
        if (r == 0) {
                if (msg)
                        *msg = TAKE_PTR(out);
                r = -EINVAL;
        } else if (r < 0) {
                if (msg)
                        *msg = TAKE_PTR(out);
        } else {
                r = reload_locked(cfg, msg);
        }
        pthread_mutex_unlock(&nginx_mutex);
        return r;
}

/* ---- the pid file of signal mode ---- */

/* The argument of the top-level `pid` directive, NULL when there is none. */
char *nginx_conf_pid_path(const char *conf_text, const char *conf_dir)
{
        const char *p = conf_text;
        int depth = 0;
        bool stmt_start = true;
        while (p && *p) {
                char c = *p;
                if (c == '#') {
                        p += strcspn(p, "\n");
                        continue;
                }
                if (c == '{') {
                        depth++;
                        stmt_start = true;
                        p++;
                        continue;
                }
                if (c == '}') {
                        depth--;
                        stmt_start = true;
                        p++;
                        continue;
                }
                if (c == ';') {
                        stmt_start = true;
                        p++;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                        p++;
                        continue;
                }
                size_t n = strcspn(p, " \t\r\n;{}#");
                if (stmt_start && depth == 0 && n == 3 && strncmp(p, "pid", 3) == 0) {
                        const char *v = p + 3;
                        v += strspn(v, " \t\r\n");
                        if (*v == '"' || *v == '\'') {
                                char q = *v++;
                                size_t vn = strcspn(v, q == '"' ? "\"" : "'");
                                if (v[vn] != q)
                                        return NULL;
                                _cleanup_free_ char *val = strndup(v, vn);
                                if (!val)
                                        return NULL;
                                return val[0] == '/' || !conf_dir ? TAKE_PTR(val)
                                                                  : join(conf_dir, val);
                        }
                        size_t vn = strcspn(v, " \t\r\n;");
                        if (vn == 0)
                                return NULL;
                        _cleanup_free_ char *val = strndup(v, vn);
                        if (!val)
                                return NULL;
                        return val[0] == '/' || !conf_dir ? TAKE_PTR(val) : join(conf_dir, val);
                }
                stmt_start = false;
                /* skip the word, and a quoted argument whole */
                if (c == '"' || c == '\'') {
                        const char *e = strchr(p + 1, c);
                        p = e ? e + 1 : p + strlen(p);
                } else {
                        p += n;
                }
        }
        return NULL;
}

/* The pid of the running master in signal mode, 0 when none. */
static long master_pid(const struct config *cfg)
{
        _cleanup_free_ char *text = NULL;
        if (read_file(cfg->nginx.conf, VHOST_MAX, &text, NULL) < 0)
                return 0;
        _cleanup_free_ char *dir = path_dirname(cfg->nginx.conf);
        _cleanup_free_ char *pidpath = nginx_conf_pid_path(text, dir);
        if (!pidpath) {
                /* Debian's compiled-in default */
                pidpath = strdup("/run/nginx.pid");
                if (!pidpath)
                        return 0;
        }
        _cleanup_free_ char *pidtxt = NULL;
        if (read_file(pidpath, 64, &pidtxt, NULL) < 0)
                return 0;
        long long pid;
        if (parse_int64(trimmed(pidtxt), 1, 4194304, &pid) < 0)
                return 0;
        if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
                return 0;
        /* a stale pid file may name an unrelated process, or a zombie
         * nobody has reaped yet */
        char procpath[64];
        snprintf(procpath, sizeof(procpath), "/proc/%lld/comm", pid);
        _cleanup_free_ char *comm = NULL;
        if (read_file(procpath, 64, &comm, NULL) == 0 && !startswith(comm, "nginx"))
                return 0;
        snprintf(procpath, sizeof(procpath), "/proc/%lld/stat", pid);
        _cleanup_free_ char *stat = NULL;
        if (read_file(procpath, 4096, &stat, NULL) == 0) {
                const char *rp = strrchr(stat, ')');
                if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
                        return 0;
        }
        return (long)pid;
}

void nginx_services_query(const struct config *cfg, const char *const *names, size_t n,
                          struct unit_state *out)
{
        services_query(names, n, out);
        if (!signal_mode(cfg))
                return;
        for (size_t i = 0; i < n; i++) {
                if (!streq(names[i], "nginx") && !streq(names[i], NGINX_UNIT))
                        continue;
                bool up = master_pid(cfg) > 0;
                snprintf(out[i].active, sizeof(out[i].active), "%s", up ? "active" : "inactive");
                snprintf(out[i].sub, sizeof(out[i].sub), "%s", up ? "running" : "dead");
                out[i].running = up;
                out[i].memory = UINT64_MAX;
        }
}

int nginx_status(const struct config *cfg, bool *running, char *state, size_t statelen)
{
        if (signal_mode(cfg)) {
                bool up = master_pid(cfg) > 0;
                *running = up;
                if (state && statelen)
                        snprintf(state, statelen, "%s", up ? "active" : "inactive");
                return 0;
        }
        struct unit_state st;
        int r = unit_state(NGINX_UNIT, &st);
        *running = r >= 0 && st.running;
        if (state && statelen)
                snprintf(state, statelen, "%s", r >= 0 ? st.active : "unknown");
        return r < 0 ? r : 0;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static int restart_signal(const struct config *cfg, char **msg)
{
        long pid = master_pid(cfg);
        if (pid > 0) {
                int r = send_signal(cfg, "quit", msg);
                if (r < 0)
                        return r;
                /* the old master must have let go of its ports first */
                for (int i = 0; i < 300 && master_pid(cfg) == pid; i++)
                        sleep_ms(50);
                if (master_pid(cfg) == pid)
                        return fail_msg(msg, -ETIMEDOUT, "nginx did not stop", NULL);
        }
        /* daemonises by its own configuration; the master leaves our process
         * group, so exec's timeout never reaches it */
        struct exec_result res = {0};
        int r = run_nginx(cfg, NULL, 0, &res);
        if (r < 0)
                return fail_msg(msg, r, "cannot run nginx", NULL);
        if (res.status != 0 || res.timed_out) {
                r = fail_msg(msg, -EIO, "nginx did not start", trimmed(res.output));
                exec_result_free(&res);
                return r;
        }
        exec_result_free(&res);
        return 0;
}

int nginx_restart(const struct config *cfg, char **msg)
{
        if (helpcall_active())
                return remote_nginx(NGINX_MODE_RESTART, msg, NULL);
        pthread_mutex_lock(&nginx_mutex);
        int r;
        if (signal_mode(cfg)) {
                r = restart_signal(cfg, msg);
        } else {
                char err[512] = "";
                r = unit_control(NGINX_UNIT, UNIT_RESTART, NGINX_TIMEOUT_MS, err, sizeof(err));
                if (r < 0)
                        fail_msg(msg, r, "restarting nginx.service failed", err);
        }
        pthread_mutex_unlock(&nginx_mutex);
        return r;
}

/* The recorded changes, applied and committed by the helper in one call. */
static int commit_remote(struct nginx_txn *t, char **msg)
{
        t->done = true;
        int r = hm_end(&t->changes_msg);
        if (r < 0)
                return r;
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_NGINX_APPLY);
        hm_add_bytes(&hb, t->changes_msg.b.data, t->changes_msg.b.len);
        return helpcall_send(&hb, NULL, NULL, NULL, msg);
}

int nginx_txn_commit(struct nginx_txn *t, char **msg)
{
        if (!t || t->done)
                return -EINVAL;
        if (t->remote)
                return commit_remote(t, msg);
        _cleanup_free_ char *out = NULL;
        int r = test_locked(t->cfg, &out);
        if (r <= 0) {
                undo(t);
                t->done = true;
                if (msg)
                        *msg = TAKE_PTR(out);
                return r == 0 ? -EINVAL : r;
        }
        bool running = false;
        if (nginx_status(t->cfg, &running, NULL, 0) == 0 && !running) {
                /* a valid config is picked up when nginx starts */
                t->done = true;
                return 0;
        }
        r = reload_locked(t->cfg, msg);
        if (r < 0) {
                undo(t);
                /* whatever nginx made of the new files, give it the old ones */
                _cleanup_free_ char *ignored = NULL;
                reload_locked(t->cfg, &ignored);
        }
        t->done = true;
        return r;
}

void nginx_txn_free(struct nginx_txn *t)
{
        if (!t)
                return;
        if (!t->done)
                undo(t);
        for (size_t i = 0; i < t->n; i++) {
                free(t->changes[i].path);
                free(t->changes[i].data);
        }
        free(t->changes);
        if (t->remote)
                hm_builder_free(&t->changes_msg);
        free(t);
        pthread_mutex_unlock(&nginx_mutex);
}
