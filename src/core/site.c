/* Site records: app types, validation of every field (CONTRACT.md §4) before
 * a value may reach a file, an nginx vhost, a unit or a command. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "base/validate.h"
#include "core/site.h"

static const char *const type_names[] = {
    [APP_STATIC] = "static",
    [APP_PYTHON] = "python",
    [APP_NODE] = "node",
    [APP_AUTARCH] = "autarch",
};

const char *app_type_name(enum app_type t)
{
        if ((unsigned)t >= ARRAY_SIZE(type_names))
                return "unknown";
        return type_names[t];
}

int app_type_parse(const char *s, enum app_type *out)
{
        for (size_t i = 0; i < ARRAY_SIZE(type_names); i++)
                if (streq(s, type_names[i])) {
                        *out = (enum app_type)i;
                        return 0;
                }
        return -EINVAL;
}

static const char *const headers_names[] = {
    [SITE_HEADERS_DEFAULT] = "default",
    [SITE_HEADERS_STRICT] = "strict",
    [SITE_HEADERS_OFF] = "off",
};

const char *site_headers_name(enum site_headers h)
{
        if ((unsigned)h >= ARRAY_SIZE(headers_names))
                return "unknown";
        return headers_names[h];
}

int site_headers_parse(const char *s, enum site_headers *out)
{
        for (size_t i = 0; i < ARRAY_SIZE(headers_names); i++)
                if (streq(s, headers_names[i])) {
                        *out = (enum site_headers)i;
                        return 0;
                }
        return -EINVAL;
}

void site_clear(struct site *s)
{
        if (!s)
                return;
        char **strs[] = {&s->domain,        &s->aliases,    &s->app_root,      &s->app_entry,
                         &s->git_repo,      &s->git_branch, &s->ssl_cert_path, &s->ssl_key_path,
                         &s->max_body_size, &s->created_at, &s->updated_at};
        for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
                free(*strs[i]);
                *strs[i] = NULL;
        }
}

/* Certificate paths end up inside the nginx config: only characters that
 * need no quoting there (no whitespace, ';', '{', '}', quotes, '$', '#'),
 * absolute and normalised. */
static bool valid_cert_path(const char *p)
{
        if (!p || p[0] != '/' || strlen(p) > 4096)
                return false;
        const char *seg = p + 1;
        for (;;) {
                size_t n = strcspn(seg, "/");
                if (n == 0)
                        return false;
                if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                        return false;
                for (size_t i = 0; i < n; i++) {
                        unsigned char c = (unsigned char)seg[i];
                        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                  (c >= '0' && c <= '9') || strchr("._-+@,~=:", c);
                        if (!ok || c == '\0')
                                return false;
                }
                if (!seg[n])
                        return true;
                seg += n + 1;
        }
}

/* git allows shell and nginx metacharacters in ref names; a branch the
 * panel checks out needs none of them. */
static bool plain_branch(const char *b)
{
        for (const char *p = b; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr("._-/+@=,", c)))
                        return false;
        }
        return true;
}

/* The userinfo ("user:token@") of an https:// or http:// URL: offset and
 * length including the '@'; false when there is none. */
static bool url_userinfo(const char *url, size_t *off, size_t *len)
{
        size_t skip;
        if (startswith(url, "https://"))
                skip = 8;
        else if (startswith(url, "http://"))
                skip = 7;
        else
                return false;
        const char *a = url + skip;
        size_t alen = strcspn(a, "/?#");
        const char *at = NULL;
        for (const char *p = a; p < a + alen; p++)
                if (*p == '@')
                        at = p; /* the last '@' ends the userinfo */
        if (!at)
                return false;
        *off = skip;
        *len = (size_t)(at - a) + 1;
        return true;
}

bool site_git_repo_has_credentials(const char *url)
{
        size_t off, len;
        return url && url_userinfo(url, &off, &len);
}

char *site_git_repo_redacted(const char *url)
{
        if (!url)
                return NULL;
        size_t off, len;
        if (!url_userinfo(url, &off, &len))
                return strdup(url);
        size_t n = strlen(url);
        char *out = malloc(n - len + 1);
        if (!out)
                return NULL;
        memcpy(out, url, off);
        memcpy(out + off, url + off + len, n - off - len + 1);
        return out;
}

char *site_text_redacted(const char *text)
{
        if (!text)
                return NULL;
        size_t n = strlen(text);
        char *out = malloc(n + 1), *o = out;
        if (!out)
                return NULL;
        const char *p = text;
        while (*p) {
                const char *u = strstr(p, "http");
                if (!u) {
                        size_t rest = strlen(p);
                        memcpy(o, p, rest);
                        o += rest;
                        break;
                }
                memcpy(o, p, (size_t)(u - p));
                o += u - p;
                /* the URL ends at whitespace or a quote */
                size_t ulen = strcspn(u, " \t\r\n'\"<>");
                size_t off, len;
                _cleanup_free_ char *one = strndup(u, ulen);
                if (one && url_userinfo(one, &off, &len)) {
                        memcpy(o, u, off);
                        o += off;
                        memcpy(o, u + off + len, ulen - off - len);
                        o += ulen - off - len;
                        p = u + ulen;
                } else {
                        *o++ = *u;
                        p = u + 1;
                }
        }
        *o = '\0';
        return out;
}

static int fail(char *err, size_t errlen, const char *msg)
{
        if (err && errlen)
                snprintf(err, errlen, "%s", msg);
        return -EINVAL;
}

/* "localhost" and its subdomains (RFC 6761 6.3), lower case */
static bool is_localhost(const char *d, size_t n)
{
        static const char lh[] = "localhost";
        size_t l = sizeof(lh) - 1;
        return (n == l && strncmp(d, lh, l) == 0) ||
               (n > l && d[n - l - 1] == '.' && strncmp(d + n - l, lh, l) == 0);
}

int site_validate(struct site *s, const struct config *cfg, char *err, size_t errlen)
{
        if (!s->domain || !valid_domain(s->domain))
                return fail(err, errlen, "domain must be a valid DNS host name");
        str_tolower(s->domain);
        if (is_localhost(s->domain, strlen(s->domain)))
                return fail(err, errlen,
                            "domain: localhost names only this machine, no visitor can reach it");
        if (!s->aliases || !valid_aliases(s->aliases))
                return fail(err, errlen, "aliases must be space-separated valid DNS host names");
        str_tolower(s->aliases);
        for (const char *p = s->aliases; *p;) {
                size_t n = strcspn(p, " ");
                if (is_localhost(p, n))
                        return fail(err, errlen, "aliases: localhost names only this machine");
                p += n;
                p += strspn(p, " ");
        }
        if ((unsigned)s->app_type >= ARRAY_SIZE(type_names))
                return fail(err, errlen, "app_type must be one of static, python, node, autarch");
        if (!s->app_root || !cfg->nginx.webroot ||
            !valid_path_inside(s->app_root, cfg->nginx.webroot)) {
                if (err && errlen)
                        snprintf(err, errlen,
                                 "app_root must be an absolute, normalised path inside %s",
                                 cfg->nginx.webroot ? cfg->nginx.webroot : "nginx.webroot");
                return -EINVAL;
        }
        if (!s->app_entry || (*s->app_entry && !valid_relative_path(s->app_entry)))
                return fail(err, errlen,
                            "app_entry must be a relative path inside app_root without '..'");
        if (s->app_port != 0 && (s->app_port < 1024 || s->app_port > 65535))
                return fail(err, errlen, "app_port must be 0 or between 1024 and 65535");
        const char *local = str_empty(cfg->git.local_root) ? NULL : cfg->git.local_root;
        if (!s->git_repo || (*s->git_repo && !valid_git_repo(s->git_repo, local)))
                return fail(err, errlen,
                            "git_repo must be an https://, ssh:// or user@host:path URL or a "
                            "repository inside git.local_root");
        /* A token in the URL would be stored in the site row, in the app's
         * .git/config and in every clone's output: ssh remotes with a deploy
         * key are the way to reach a private repository. */
        if (site_git_repo_has_credentials(s->git_repo))
                return fail(err, errlen,
                            "git_repo must not contain credentials (user:token@): use an ssh "
                            "remote with a deploy key");
        if (s->app_type == APP_AUTARCH && !str_empty(s->git_repo))
                return fail(err, errlen,
                            "git_repo must be empty for an autarch site: it serves the AUTARCH "
                            "installed from the AUTARCH page (autarch.git_repo)");
        /* "" only when there is nothing to check out */
        if (!s->git_branch ||
            (*s->git_branch ? !valid_git_branch(s->git_branch) || !plain_branch(s->git_branch)
                            : !str_empty(s->git_repo)))
                return fail(err, errlen, "git_branch must be a valid git branch name");
        if (!s->ssl_cert_path || (*s->ssl_cert_path && !valid_cert_path(s->ssl_cert_path)))
                return fail(err, errlen,
                            "ssl_cert_path must be an absolute, normalised path of plain "
                            "characters");
        if (!s->ssl_key_path || (*s->ssl_key_path && !valid_cert_path(s->ssl_key_path)))
                return fail(err, errlen,
                            "ssl_key_path must be an absolute, normalised path of plain "
                            "characters");
        /* written into the vhost unquoted: the one size rule of the config
         * key, bounded */
        if (!str_empty(s->max_body_size) && !valid_nginx_size(s->max_body_size))
                return fail(err, errlen,
                            "max_body_size must be an nginx size such as 10m, 512k or 1g (digits "
                            "and an optional k, m or g, at most 4g; \"\" for the server default)");
        if ((unsigned)s->security_headers >= ARRAY_SIZE(headers_names))
                return fail(err, errlen, "security_headers must be one of default, strict, off");
        return 0;
}

bool site_roots_overlap(const char *a, const char *b)
{
        if (!a || !b)
                return false;
        size_t la = strlen(a), lb = strlen(b);
        const char *shorter = la <= lb ? a : b, *longer = la <= lb ? b : a;
        size_t ls = la <= lb ? la : lb;
        if (strncmp(shorter, longer, ls) != 0)
                return false;
        /* equal, or the longer one continues with a new path segment ("/" is
         * inside everything) */
        return longer[ls] == '\0' || longer[ls] == '/' || (ls && shorter[ls - 1] == '/');
}

int site_check_root_free(const struct site *s, char *err, size_t errlen)
{
        const char *app_root = s->app_root;
        struct stat st;
        if (!app_root)
                return -EINVAL;
        if (lstat(app_root, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                int e = -errno;
                if (err && errlen)
                        snprintf(err, errlen, "app_root %s cannot be checked: %s", app_root,
                                 strerror(-e));
                return e;
        }
        if (!S_ISDIR(st.st_mode)) {
                if (err && errlen)
                        snprintf(err, errlen, "app_root %s exists and is not a directory",
                                 app_root);
                return -ENOTDIR;
        }
        DIR *d = opendir(app_root);
        if (!d) {
                int e = -errno;
                if (err && errlen)
                        snprintf(err, errlen, "app_root %s cannot be read: %s", app_root,
                                 strerror(-e));
                return e;
        }
        bool empty = true;
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        empty = false;
                        break;
                }
        closedir(d);
        /* a static site without a repository serves the directory as it is:
         * nothing is written into it, nothing removed from it */
        if (!empty && s->app_type == APP_STATIC && str_empty(s->git_repo))
                return 0;
        if (!empty) {
                if (err && errlen)
                        snprintf(err, errlen,
                                 "app_root %s exists and is not empty: choose a new directory",
                                 app_root);
                return -EEXIST;
        }
        return 0;
}

bool site_has_own_unit(const struct site *s)
{
        return s->app_type == APP_PYTHON || s->app_type == APP_NODE;
}

bool site_has_service(const struct site *s)
{
        return site_has_own_unit(s) || s->app_type == APP_AUTARCH;
}

void site_unit_name(const struct site *s, char *out, size_t outlen)
{
        if (s->app_type == APP_AUTARCH)
                snprintf(out, outlen, "%s", SITE_AUTARCH_UNIT);
        else
                snprintf(out, outlen, "app-%s.service", s->domain ? s->domain : "");
}
