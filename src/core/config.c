/* config.yaml loading. One table lists every key with its type, default and
 * limits, so defaults, parsing, copying and freeing cannot drift apart. */
#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "core/yaml_dl.h"

#define ACME_PROD_URL    "https://acme-v02.api.letsencrypt.org/directory"
#define ACME_STAGING_URL "https://acme-staging-v02.api.letsencrypt.org/directory"
#define MAX_STR_LEN      4096
#define MAX_LIST_ITEMS   256

enum ktype { K_STR, K_ENUM, K_INT, K_BOOL, K_DUR, K_LIST };

struct key {
        const char *section, *name;
        enum ktype type;
        size_t off;
        const char *def_s; /* NULL: derived from other keys after loading */
        long long def_i, min, max;
        const char *const *choices;
        bool (*item_ok)(const char *);
};

static const char *const reload_choices[] = {"systemd", "signal", NULL};
/* "warning" is folded into "warn" so log_level_from_string() accepts it */
static const char *const level_choices[] = {"debug", "info", "warn", "warning", "error", NULL};

#define OFF(f) offsetof(struct config, f)
#define STR(sec, nm, f, def)                                                                       \
        {                                                                                          \
                sec, nm, K_STR, OFF(f), .def_s = def                                               \
        }
#define ENUM(sec, nm, f, def, ch)                                                                  \
        {                                                                                          \
                sec, nm, K_ENUM, OFF(f), .def_s = def, .choices = ch                               \
        }
#define INT(sec, nm, f, def, lo, hi)                                                               \
        {                                                                                          \
                sec, nm, K_INT, OFF(f), .def_i = def, .min = lo, .max = hi                         \
        }
#define PORT(sec, nm, f, def) INT(sec, nm, f, def, 1, 65535)
#define BOOL(sec, nm, f, def)                                                                      \
        {                                                                                          \
                sec, nm, K_BOOL, OFF(f), .def_i = def                                              \
        }
#define LIST(sec, nm, f, ok)                                                                       \
        {                                                                                          \
                sec, nm, K_LIST, OFF(f), .item_ok = ok                                             \
        }

/* "VVVV:PPPP": a USB vendor and product id in hex. */
static bool valid_usb_id(const char *s)
{
        if (strlen(s) != 9 || s[4] != ':')
                return false;
        for (int i = 0; i < 9; i++)
                if (i != 4 && hex_digit(s[i]) < 0)
                        return false;
        return true;
}

static const struct key keys[] = {
    STR("server", "host", server.host, "0.0.0.0"),
    PORT("server", "port", server.port, 9090),
    BOOL("server", "tls", server.tls, true),
    STR("server", "cert", server.cert, "/opt/setec-manager/data/acme/manager.crt"),
    STR("server", "key", server.key, "/opt/setec-manager/data/acme/manager.key"),
    LIST("server", "trusted_proxies", server.trusted_proxies, valid_ip_or_cidr),
    STR("server", "acme_hostname", server.acme_hostname, ""),
    STR("server", "user", server.user, "setec"),
    STR("server", "public_ipv4", server.public_ipv4, ""),
    STR("server", "public_ipv6", server.public_ipv6, ""),
    INT("server", "max_streams", server.max_streams, 0, 0, 1000000),
    INT("server", "max_body_memory_mb", server.max_body_memory_mb, 64, 10, 65536),
    INT("server", "max_connections", server.max_connections, 0, 0, 1000000),
    INT("server", "max_connections_per_ip", server.max_connections_per_ip, 128, 1, 1000000),
    STR("database", "path", database.path, "/opt/setec-manager/data/setec.db"),
    STR("nginx", "sites_available", nginx.sites_available, "/etc/nginx/sites-available"),
    STR("nginx", "sites_enabled", nginx.sites_enabled, "/etc/nginx/sites-enabled"),
    STR("nginx", "snippets", nginx.snippets, "/etc/nginx/snippets"),
    STR("nginx", "webroot", nginx.webroot, "/var/www"),
    STR("nginx", "certbot_webroot", nginx.certbot_webroot, "/var/www/certbot"),
    STR("nginx", "binary", nginx.binary, "nginx"),
    STR("nginx", "conf", nginx.conf, "/etc/nginx/nginx.conf"),
    ENUM("nginx", "reload", nginx.reload, "systemd", reload_choices),
    STR("nginx", "access_log", nginx.access_log, "/var/log/nginx/access.log"),
    STR("nginx", "error_log", nginx.error_log, "/var/log/nginx/error.log"),
    PORT("nginx", "http_port", nginx.http_port, 80),
    PORT("nginx", "https_port", nginx.https_port, 443),
    BOOL("nginx", "default_server", nginx.default_server, true),
    BOOL("nginx", "ipv6", nginx.ipv6, true),
    /* the default of sites without a max_body_size of their own */
    STR("nginx", "client_max_body_size", nginx.client_max_body_size, "64m"),
    STR("systemd", "unit_dir", systemd.unit_dir, "/etc/systemd/system"),
    STR("git", "local_root", git.local_root, "/srv/git"),
    STR("git", "ca_bundle", git.ca_bundle, ""),
    STR("acme", "email", acme.email, ""),
    BOOL("acme", "staging", acme.staging, false),
    STR("acme", "account_dir", acme.account_dir, "/opt/setec-manager/data/acme"),
    STR("acme", "directory_url", acme.directory_url, NULL),
    STR("acme", "ca_bundle", acme.ca_bundle, ""),
    STR("acme", "cert_dir", acme.cert_dir, "/etc/letsencrypt/live"),
    STR("autarch", "install_dir", autarch.install_dir, "/var/www/autarch"),
    STR("autarch", "git_repo", autarch.git_repo, "https://github.com/DigijEth/autarch.git"),
    STR("autarch", "git_branch", autarch.git_branch, "main"),
    PORT("autarch", "web_port", autarch.web_port, 8181),
    PORT("autarch", "dns_port", autarch.dns_port, 53),
    BOOL("autarch", "upgrade_pip", autarch.upgrade_pip, false),
    BOOL("float", "enabled", float_.enabled, false),
    INT("float", "max_sessions", float_.max_sessions, 10, 1, INT32_MAX),
    {"float", "session_ttl", K_DUR, OFF(float_.session_ttl), .def_s = "24h"},
    LIST("float", "allowed_devices", float_.allowed_devices, valid_usb_id),
    STR("float", "sysfs_root", float_.sysfs_root, "/sys"),
    STR("backups", "dir", backups.dir, "/opt/setec-manager/data/backups"),
    INT("backups", "max_age_days", backups.max_age_days, 30, 0, INT32_MAX),
    INT("backups", "max_count", backups.max_count, 50, 0, INT32_MAX),
    ENUM("logging", "level", logging.level, "info", level_choices),
    STR("logging", "file", logging.file, "/var/log/setec-manager.log"),
    INT("logging", "max_size_mb", logging.max_size_mb, 100, 1, INT32_MAX),
    INT("logging", "max_backups", logging.max_backups, 3, 0, INT32_MAX),
    LIST("monitor", "services", monitor.services, valid_unit_name),
    STR("hosting", "dir", hosting.dir, NULL),
    STR("hosting", "ca_bundle", hosting.ca_bundle, ""),
    INT("audit", "max_age_days", audit.max_age_days, 90, 1, 36500),
    INT("jobs", "workers", jobs.workers, 2, 1, 64),
    INT("jobs", "max_age_days", jobs.max_age_days, 30, 1, 36500),
};

static const char *const sections[] = {"server",  "database", "nginx", "systemd", "git",
                                       "acme",    "autarch",  "float", "backups", "logging",
                                       "monitor", "hosting",  "audit", "jobs"};

static const char *const default_services[] = {"nginx", "autarch-web", "autarch-dns",
                                               "setec-manager", "ufw"};

#define FIELD(cfg, k, T) ((T *)((char *)(cfg) + (k)->off))

static bool is_str_key(const struct key *k)
{
        return k->type == K_STR || k->type == K_ENUM || k->type == K_DUR;
}

static void strlist_free(struct config_strlist *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i]);
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

static int strlist_push(struct config_strlist *l, const char *s)
{
        char *d = strdup(s);
        if (!d)
                return -ENOMEM;
        char **items = realloc(l->items, (l->n + 1) * sizeof(*items));
        if (!items) {
                free(d);
                return -ENOMEM;
        }
        items[l->n++] = d;
        l->items = items;
        return 0;
}

void config_free(struct config *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                const struct key *k = &keys[i];
                if (is_str_key(k)) {
                        free(*FIELD(cfg, k, char *));
                        *FIELD(cfg, k, char *) = NULL;
                } else if (k->type == K_LIST) {
                        strlist_free(FIELD(cfg, k, struct config_strlist));
                }
        }
        free(cfg->path);
        free(cfg->data_dir);
        memset(cfg, 0, sizeof(*cfg));
}

static int set_str(char **dst, const char *s)
{
        char *d = strdup(s);
        if (!d)
                return -ENOMEM;
        free(*dst);
        *dst = d;
        return 0;
}

/* dirname() without its habit of modifying the argument */
static char *dir_of(const char *path)
{
        size_t n = strlen(path);
        while (n > 1 && path[n - 1] == '/')
                n--;
        while (n > 0 && path[n - 1] != '/')
                n--;
        if (n == 0)
                return strdup(".");
        while (n > 1 && path[n - 1] == '/')
                n--;
        return strndup(path, n);
}

/* Values that depend on other keys unless the file set them itself. */
static int derive(struct config *cfg, bool hosting_set, bool url_set)
{
        char *dd = dir_of(cfg->database.path ? cfg->database.path : "");
        if (!dd)
                return -ENOMEM;
        free(cfg->data_dir);
        cfg->data_dir = dd;

        if (!hosting_set) {
                struct strbuf b = STRBUF_INIT(0);
                bool slash = dd[strlen(dd) - 1] == '/';
                if (strbuf_printf(&b, "%s%shosting", dd, slash ? "" : "/") < 0) {
                        strbuf_free(&b);
                        return -ENOMEM;
                }
                free(cfg->hosting.dir);
                cfg->hosting.dir = strbuf_steal(&b);
                if (!cfg->hosting.dir)
                        return -ENOMEM;
        }
        if (!url_set &&
            set_str(&cfg->acme.directory_url, cfg->acme.staging ? ACME_STAGING_URL : ACME_PROD_URL))
                return -ENOMEM;
        return 0;
}

int config_defaults(struct config *cfg)
{
        memset(cfg, 0, sizeof(*cfg));
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                const struct key *k = &keys[i];
                switch (k->type) {
                case K_STR:
                case K_ENUM:
                case K_DUR:
                        if (k->def_s && set_str(FIELD(cfg, k, char *), k->def_s) < 0)
                                goto oom;
                        break;
                case K_INT:
                        *FIELD(cfg, k, int) = (int)k->def_i;
                        break;
                case K_BOOL:
                        *FIELD(cfg, k, bool) = k->def_i != 0;
                        break;
                case K_LIST:
                        break;
                }
        }
        cfg->float_.session_ttl_s = 24 * 3600;
        for (size_t i = 0; i < ARRAY_SIZE(default_services); i++)
                if (strlist_push(&cfg->monitor.services, default_services[i]) < 0)
                        goto oom;
        if (derive(cfg, false, false) < 0)
                goto oom;
        return 0;
oom:
        config_free(cfg);
        return -ENOMEM;
}

/* Deep copy, so a failed load leaves the caller's config untouched. */
static int config_copy(struct config *dst, const struct config *src)
{
        *dst = *src;
        dst->path = dst->data_dir = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                const struct key *k = &keys[i];
                if (is_str_key(k))
                        *FIELD(dst, k, char *) = NULL;
                else if (k->type == K_LIST)
                        *FIELD(dst, k, struct config_strlist) = (struct config_strlist){0};
        }
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                const struct key *k = &keys[i];
                if (is_str_key(k)) {
                        const char *s = *FIELD(src, k, char *const);
                        if (s && set_str(FIELD(dst, k, char *), s) < 0)
                                goto oom;
                } else if (k->type == K_LIST) {
                        const struct config_strlist *l = FIELD(src, k, const struct config_strlist);
                        for (size_t j = 0; j < l->n; j++)
                                if (strlist_push(FIELD(dst, k, struct config_strlist),
                                                 l->items[j]) < 0)
                                        goto oom;
                }
        }
        if ((src->path && set_str(&dst->path, src->path) < 0) ||
            (src->data_dir && set_str(&dst->data_dir, src->data_dir) < 0))
                goto oom;
        return 0;
oom:
        config_free(dst);
        return -ENOMEM;
}

void config_apply_logging(const struct config *cfg)
{
        enum log_level lvl;
        if (log_level_from_string(cfg->logging.level, &lvl) == 0)
                log_set_level(lvl);
        int r = str_empty(cfg->logging.file) ? 0 : log_set_file(cfg->logging.file);
        if (r < 0)
                log_warn("cannot open log file %s (%s): logging to stderr only", cfg->logging.file,
                         r == -EPERM ? "a link or not a regular file" : strerror(-r));
}

const char *config_locate(const char *explicit_path)
{
        if (!str_empty(explicit_path))
                return explicit_path;
        const char *env = getenv("SETEC_CONFIG");
        if (!str_empty(env))
                return env;
        if (access("/etc/setec-manager/config.yaml", F_OK) == 0)
                return "/etc/setec-manager/config.yaml";
        return "/opt/setec-manager/config.yaml";
}

/* Go's time.ParseDuration, reduced to whole seconds (truncated). */
int config_parse_duration(const char *s, long *seconds)
{
        static const struct {
                const char *name;
                uint64_t ns;
        } units[] = {
            {"ns", 1ULL},
            {"us", 1000ULL},
            {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
            {"\xce\xbcs", 1000ULL}, /* U+03BC Greek mu */
            {"ms", 1000000ULL},
            {"s", 1000000000ULL},
            {"m", 60ULL * 1000000000ULL},
            {"h", 3600ULL * 1000000000ULL},
        };
        const uint64_t limit = 1ULL << 63;

        if (!s || !seconds)
                return -EINVAL;
        bool neg = false;
        if (*s == '-' || *s == '+') {
                neg = *s == '-';
                s++;
        }
        if (strcmp(s, "0") == 0) {
                *seconds = 0;
                return 0;
        }
        if (!*s)
                return -EINVAL;

        uint64_t total = 0;
        while (*s) {
                if (!(*s == '.' || (*s >= '0' && *s <= '9')))
                        return -EINVAL;
                uint64_t v = 0;
                const char *p = s;
                while (*p >= '0' && *p <= '9') {
                        if (v > (limit - 1) / 10)
                                return -EINVAL;
                        v = v * 10 + (uint64_t)(*p - '0');
                        if (v > limit)
                                return -EINVAL;
                        p++;
                }
                bool pre = p != s;
                uint64_t f = 0;
                double scale = 1;
                bool post = false;
                if (*p == '.') {
                        p++;
                        const char *q = p;
                        bool overflow = false;
                        while (*p >= '0' && *p <= '9') {
                                /* digits beyond uint64 precision cannot matter */
                                if (!overflow) {
                                        if (f > (limit - 1) / 10) {
                                                overflow = true;
                                        } else {
                                                f = f * 10 + (uint64_t)(*p - '0');
                                                scale *= 10;
                                        }
                                }
                                p++;
                        }
                        post = p != q;
                }
                if (!pre && !post)
                        return -EINVAL;

                size_t ulen = 0;
                while (p[ulen] && p[ulen] != '.' && !(p[ulen] >= '0' && p[ulen] <= '9'))
                        ulen++;
                if (ulen == 0)
                        return -EINVAL;
                uint64_t unit = 0;
                for (size_t i = 0; i < ARRAY_SIZE(units); i++)
                        if (strlen(units[i].name) == ulen && memcmp(units[i].name, p, ulen) == 0)
                                unit = units[i].ns;
                if (!unit)
                        return -EINVAL;
                if (v > limit / unit)
                        return -EINVAL;
                v *= unit;
                if (f > 0) {
                        v += (uint64_t)((double)f * ((double)unit / scale));
                        if (v > limit)
                                return -EINVAL;
                }
                total += v;
                if (total > limit)
                        return -EINVAL;
                s = p + ulen;
        }
        if (total == limit && !neg)
                return -EINVAL;
        long sec = (long)(total / 1000000000ULL);
        *seconds = neg ? -sec : sec;
        return 0;
}

/* ---- YAML walking ---- */

struct loader {
        const char *path;
        yaml_document_t *doc;
        struct config *cfg;
        void (*warn)(const char *msg);
        char *err;
        size_t errlen;
        bool set[ARRAY_SIZE(keys)];
};

static void set_err(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
        if (!L->err || L->errlen == 0)
                return;
        int off;
        if (n)
                off = snprintf(L->err, L->errlen, "%s: line %zu: ", L->path,
                               (size_t)n->start_mark.line + 1);
        else
                off = snprintf(L->err, L->errlen, "%s: ", L->path);
        if (off < 0 || (size_t)off >= L->errlen)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(L->err + off, L->errlen - (size_t)off, fmt, ap);
        va_end(ap);
}

/* A key from the file, made safe to print: it may hold anything. */
static char *printable_key(const yaml_node_t *n)
{
        struct strbuf b = STRBUF_INIT(0);
        if (n->type != YAML_SCALAR_NODE) {
                if (strbuf_puts(&b, "<non-scalar>") < 0)
                        goto oom;
                return strbuf_steal(&b);
        }
        size_t len = n->data.scalar.length;
        for (size_t i = 0; i < len && i < 64; i++) {
                unsigned char c = n->data.scalar.value[i];
                if (strbuf_append(&b, c >= 0x20 && c < 0x7f ? (const char *)&c : "?", 1) < 0)
                        goto oom;
        }
        if (len > 64 && strbuf_puts(&b, "...") < 0)
                goto oom;
        return strbuf_steal(&b);
oom:
        strbuf_free(&b);
        return NULL;
}

static int warn_unknown(struct loader *L, const char *section, const yaml_node_t *keynode)
{
        if (!L->warn)
                return 0;
        _cleanup_free_ char *k = printable_key(keynode);
        struct strbuf b = STRBUF_INIT(0);
        if (!k ||
            strbuf_printf(&b, "unknown config key '%s%s%s' (line %zu)", section ? section : "",
                          section ? "." : "", k, (size_t)keynode->start_mark.line + 1) < 0) {
                strbuf_free(&b);
                return -ENOMEM;
        }
        L->warn(b.data);
        strbuf_free(&b);
        return 0;
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
        return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
               memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

static bool is_null(const yaml_node_t *n)
{
        if (n->type != YAML_SCALAR_NODE)
                return false;
        if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
                return true;
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        return scalar_is(n, "") || scalar_is(n, "~") || scalar_is(n, "null") ||
               scalar_is(n, "Null") || scalar_is(n, "NULL");
}

static bool is_plain(const yaml_node_t *n)
{
        return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* Scalar text, refusing what no path, URL or name in this file may hold. */
static const char *scalar_text(struct loader *L, const yaml_node_t *n, const char *full)
{
        if (n->type != YAML_SCALAR_NODE) {
                set_err(L, n, "config key '%s' must be a single value", full);
                return NULL;
        }
        const char *v = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        if (len > MAX_STR_LEN) {
                set_err(L, n, "config key '%s' is too long", full);
                return NULL;
        }
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)v[i];
                if (c < 0x20 || c == 0x7f) {
                        set_err(L, n, "config key '%s' contains control characters", full);
                        return NULL;
                }
        }
        return v;
}

static int load_key(struct loader *L, const struct key *k, size_t ki, const yaml_node_t *v)
{
        struct config *cfg = L->cfg;
        char full[64];
        snprintf(full, sizeof(full), "%s.%s", k->section, k->name);

        if (is_null(v))
                return 0; /* "key:" with no value keeps the default */

        if (k->type == K_LIST) {
                if (v->type != YAML_SEQUENCE_NODE) {
                        set_err(L, v, "config key '%s' must be a list", full);
                        return -EINVAL;
                }
                struct config_strlist nl = {0};
                int r = 0;
                size_t count = 0;
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top; it++, count++) {
                        const yaml_node_t *e = yaml_document_get_node(L->doc, *it);
                        const char *s = NULL;
                        if (count >= MAX_LIST_ITEMS) {
                                set_err(L, v, "config key '%s' has too many entries", full);
                                r = -EINVAL;
                        } else if (!e || is_null(e) || !(s = scalar_text(L, e, full))) {
                                if (e && is_null(e))
                                        set_err(L, e, "config key '%s' has an empty entry", full);
                                r = -EINVAL;
                        } else if (!k->item_ok(s)) {
                                _cleanup_free_ char *p = printable_key(e);
                                set_err(L, e, "config key '%s': invalid entry '%s'", full,
                                        p ? p : "?");
                                r = -EINVAL;
                        } else {
                                r = strlist_push(&nl, s);
                        }
                        if (r < 0) {
                                strlist_free(&nl);
                                return r;
                        }
                }
                struct config_strlist *dst = FIELD(cfg, k, struct config_strlist);
                strlist_free(dst);
                *dst = nl;
                L->set[ki] = true;
                return 0;
        }

        if (v->type != YAML_SCALAR_NODE) {
                set_err(L, v, "config key '%s' must be a single value", full);
                return -EINVAL;
        }

        switch (k->type) {
        case K_INT: {
                long long n;
                const char *s = (const char *)v->data.scalar.value;
                int r = is_plain(v) ? parse_int64(s, k->min, k->max, &n) : -EINVAL;
                if (r == -ERANGE) {
                        set_err(L, v, "config key '%s' must be between %lld and %lld", full, k->min,
                                k->max);
                        return -EINVAL;
                }
                if (r < 0) {
                        set_err(L, v, "config key '%s' must be an integer", full);
                        return -EINVAL;
                }
                *FIELD(cfg, k, int) = (int)n;
                break;
        }
        case K_BOOL: {
                static const char *const yes[] = {"true", "yes", "on"};
                static const char *const no[] = {"false", "no", "off"};
                const char *s = (const char *)v->data.scalar.value;
                int b = -1;
                for (size_t i = 0; is_plain(v) && i < ARRAY_SIZE(yes); i++) {
                        if (strcasecmp(s, yes[i]) == 0)
                                b = 1;
                        else if (strcasecmp(s, no[i]) == 0)
                                b = 0;
                }
                if (b < 0) {
                        set_err(L, v, "config key '%s' must be true or false", full);
                        return -EINVAL;
                }
                *FIELD(cfg, k, bool) = b == 1;
                break;
        }
        case K_STR: {
                const char *s = scalar_text(L, v, full);
                if (!s)
                        return -EINVAL;
                if (set_str(FIELD(cfg, k, char *), s) < 0)
                        return -ENOMEM;
                break;
        }
        case K_ENUM: {
                const char *s = scalar_text(L, v, full);
                if (!s)
                        return -EINVAL;
                const char *match = NULL;
                for (size_t i = 0; k->choices[i]; i++)
                        if (strcasecmp(s, k->choices[i]) == 0)
                                match = k->choices[i];
                if (!match) {
                        struct strbuf b = STRBUF_INIT(0);
                        for (size_t i = 0; k->choices[i]; i++)
                                if (strbuf_printf(&b, "%s%s", i ? ", " : "", k->choices[i]) < 0)
                                        break;
                        set_err(L, v, "config key '%s' must be one of: %s", full,
                                b.data ? b.data : "");
                        strbuf_free(&b);
                        return -EINVAL;
                }
                if (streq(match, "warning"))
                        match = "warn";
                if (set_str(FIELD(cfg, k, char *), match) < 0)
                        return -ENOMEM;
                break;
        }
        case K_DUR: {
                const char *s = scalar_text(L, v, full);
                long sec;
                if (!s)
                        return -EINVAL;
                if (config_parse_duration(s, &sec) < 0 || sec <= 0) {
                        set_err(L, v,
                                "config key '%s' must be a positive duration such as 24h, 90m "
                                "or 1h30m",
                                full);
                        return -EINVAL;
                }
                if (set_str(FIELD(cfg, k, char *), s) < 0)
                        return -ENOMEM;
                cfg->float_.session_ttl_s = sec;
                break;
        }
        case K_LIST:
                break;
        }
        L->set[ki] = true;
        return 0;
}

static int load_section(struct loader *L, const char *section, const yaml_node_t *m)
{
        if (is_null(m))
                return 0;
        if (m->type != YAML_MAPPING_NODE) {
                set_err(L, m, "config section '%s' must be a mapping", section);
                return -EINVAL;
        }
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
             p++) {
                const yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
                const yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
                if (!kn || !vn)
                        return -EINVAL;
                size_t ki = ARRAY_SIZE(keys);
                for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                        if (streq(keys[i].section, section) && scalar_is(kn, keys[i].name))
                                ki = i;
                int r = ki < ARRAY_SIZE(keys) ? load_key(L, &keys[ki], ki, vn)
                                              : warn_unknown(L, section, kn);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int load_root(struct loader *L, const yaml_node_t *root)
{
        if (!root || is_null(root))
                return 0; /* empty file: defaults */
        if (root->type != YAML_MAPPING_NODE) {
                set_err(L, root, "config file must be a mapping of sections");
                return -EINVAL;
        }
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
             p++) {
                const yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
                const yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
                if (!kn || !vn)
                        return -EINVAL;
                const char *section = NULL;
                for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
                        if (scalar_is(kn, sections[i]))
                                section = sections[i];
                int r = section ? load_section(L, section, vn) : warn_unknown(L, NULL, kn);
                if (r < 0)
                        return r;
        }
        return 0;
}

static size_t key_index(const char *section, const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                if (streq(keys[i].section, section) && streq(keys[i].name, name))
                        return i;
        abort(); /* a typo in this file, not in the config */
}

/* Rules spanning several keys, checked once everything is loaded. */
static int check_config(struct loader *L)
{
        const struct config *c = L->cfg;
        if (str_empty(c->database.path)) {
                set_err(L, NULL, "config key 'database.path' must not be empty");
                return -EINVAL;
        }
        if (c->server.tls && str_empty(c->server.cert)) {
                set_err(L, NULL,
                        "config key 'server.cert' must not be empty when server.tls is on");
                return -EINVAL;
        }
        if (c->server.tls && str_empty(c->server.key)) {
                set_err(L, NULL, "config key 'server.key' must not be empty when server.tls is on");
                return -EINVAL;
        }
        if (!valid_nginx_size(c->nginx.client_max_body_size)) {
                set_err(L, NULL,
                        "config key 'nginx.client_max_body_size' must be a size such as 64m "
                        "(digits, optional k, m or g; at most 4g, 0 = no limit)");
                return -EINVAL;
        }
        if (!str_empty(c->server.user) && !valid_username(c->server.user)) {
                set_err(L, NULL, "config key 'server.user' must be a user name or \"\"");
                return -EINVAL;
        }
        if (!str_empty(c->server.acme_hostname) && !valid_domain(c->server.acme_hostname)) {
                set_err(L, NULL, "config key 'server.acme_hostname' must be a valid DNS host name");
                return -EINVAL;
        }
        struct in_addr a4;
        if (!str_empty(c->server.public_ipv4) &&
            inet_pton(AF_INET, c->server.public_ipv4, &a4) != 1) {
                set_err(L, NULL, "config key 'server.public_ipv4' must be an IPv4 address");
                return -EINVAL;
        }
        struct in6_addr a6;
        if (!str_empty(c->server.public_ipv6) &&
            (inet_pton(AF_INET6, c->server.public_ipv6, &a6) != 1 || IN6_IS_ADDR_V4MAPPED(&a6))) {
                set_err(L, NULL, "config key 'server.public_ipv6' must be an IPv6 address");
                return -EINVAL;
        }
        const char *root = str_empty(c->git.local_root) ? NULL : c->git.local_root;
        if (!valid_git_repo(c->autarch.git_repo, root)) {
                set_err(L, NULL, "config key 'autarch.git_repo' is not an accepted repository URL");
                return -EINVAL;
        }
        /* reaches git's environment (GIT_SSL_CAINFO): an absolute, normalised path */
        if (!str_empty(c->git.ca_bundle) && !valid_path_inside(c->git.ca_bundle, "/")) {
                set_err(L, NULL, "config key 'git.ca_bundle' must be an absolute normalised path");
                return -EINVAL;
        }
        if (!valid_git_branch(c->autarch.git_branch)) {
                set_err(L, NULL, "config key 'autarch.git_branch' is not a valid branch name");
                return -EINVAL;
        }
        return 0;
}

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
        if (!err || errlen == 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

static void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

int config_load(struct config *cfg, const char *path, bool *missing, void (*warn)(const char *msg),
                char *err, size_t errlen)
{
        int r;
        if (missing)
                *missing = false;
        if (err && errlen)
                err[0] = '\0';
        if (!cfg || str_empty(path)) {
                errf(err, errlen, "no config path given");
                return -EINVAL;
        }
        /* a zeroed struct means the caller wants defaults underneath */
        if (!cfg->database.path && !cfg->server.host) {
                r = config_defaults(cfg);
                if (r < 0)
                        return r;
        }

        __attribute__((cleanup(fclosep))) FILE *f = fopen(path, "re");
        if (!f) {
                r = -errno;
                if (r == -ENOENT) {
                        if (missing)
                                *missing = true;
                        free(cfg->path);
                        cfg->path = NULL;
                        return 0;
                }
                errf(err, errlen, "%s: %s", path, strerror(-r));
                return r;
        }
        struct stat st;
        if (fstat(fileno(f), &st) < 0) {
                r = -errno;
                errf(err, errlen, "%s: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                errf(err, errlen, "%s: not a regular file", path);
                return -EINVAL;
        }

        struct config tmp;
        r = config_copy(&tmp, cfg);
        if (r < 0)
                return r;

        /* libyaml is loaded for this parse only: its pages leave again */
        r = yaml_dl_open();
        if (r < 0) {
                errf(err, errlen, "%s: cannot parse it: libyaml (%s) cannot be loaded", path,
                     YAML_DL_SONAME);
                config_free(&tmp);
                return r;
        }
        yaml_parser_t parser;
        yaml_document_t doc;
        if (!yaml_parser_initialize(&parser)) {
                yaml_dl_close();
                config_free(&tmp);
                return -ENOMEM;
        }
        yaml_parser_set_input_file(&parser, f);
        if (!yaml_parser_load(&parser, &doc)) {
                errf(err, errlen, "%s: line %zu: YAML syntax error: %s%s%s", path,
                     (size_t)parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "unknown", parser.context ? " " : "",
                     parser.context ? parser.context : "");
                r = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
                yaml_parser_delete(&parser);
                yaml_dl_close();
                config_free(&tmp);
                return r;
        }

        struct loader L = {
            .path = path, .doc = &doc, .cfg = &tmp, .warn = warn, .err = err, .errlen = errlen};
        r = load_root(&L, yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        yaml_dl_close();
        if (r == 0)
                r = derive(&tmp, L.set[key_index("hosting", "dir")],
                           L.set[key_index("acme", "directory_url")]);
        if (r == 0)
                r = check_config(&L);
        if (r == 0)
                r = set_str(&tmp.path, path);
        if (r < 0) {
                if (r == -EINVAL && err && errlen && !err[0])
                        errf(err, errlen, "%s: invalid configuration", path);
                config_free(&tmp);
                return r;
        }
        config_free(cfg);
        *cfg = tmp;
        return 0;
}
