/* A site: a domain served by nginx, optionally backed by an app (python,
 * node, AUTARCH) run as a systemd unit. Field names are the seed's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

enum app_type { APP_STATIC, APP_PYTHON, APP_NODE, APP_AUTARCH };

/* The security headers nginx adds to every answer of a site (issue 11):
 *   default: X-Content-Type-Options nosniff, Referrer-Policy
 *            strict-origin-when-cross-origin, X-Frame-Options SAMEORIGIN
 *            (framing by the site's own pages only);
 *   strict:  the same, with framing refused altogether: X-Frame-Options DENY
 *            and Content-Security-Policy "frame-ancestors 'none'";
 *   off:     none (the app sets its own).
 * Numbers are stored in helper messages: append only. */
enum site_headers { SITE_HEADERS_DEFAULT, SITE_HEADERS_STRICT, SITE_HEADERS_OFF };

struct site {
        long long id;
        char *domain;  /* lower-case DNS name */
        char *aliases; /* space-separated DNS names, "" for none */
        enum app_type app_type;
        char *app_root;   /* absolute, normalised, inside nginx.webroot */
        int app_port;     /* 1024-65535; 0 = none (static) or "pick one" before provisioning */
        char *app_entry;  /* relative path inside app_root, "" for none */
        char *git_repo;   /* "" for none */
        char *git_branch; /* default "main" */
        bool ssl_enabled;
        char *ssl_cert_path, *ssl_key_path; /* "" until a certificate exists */
        bool ssl_auto;
        bool enabled;
        /* client_max_body_size of its vhost (valid_nginx_size); "" or NULL:
         * the config's nginx.client_max_body_size */
        char *max_body_size;
        enum site_headers security_headers;
        char *created_at, *updated_at; /* RFC 3339 UTC */
};

const char *app_type_name(enum app_type t);
/* 0 or -EINVAL. */
int app_type_parse(const char *s, enum app_type *out);

const char *site_headers_name(enum site_headers h);
/* 0 or -EINVAL. */
int site_headers_parse(const char *s, enum site_headers *out);

/* Free the strings (the struct itself is the caller's); safe on a zeroed struct. */
void site_clear(struct site *s);

/* Validate every field (CONTRACT.md §4) against cfg (nginx.webroot,
 * git.local_root), whatever the app_type. Lower-cases domain and aliases in
 * place. On failure returns -EINVAL and writes a message that starts with
 * the field's name into err. */
int site_validate(struct site *s, const struct config *cfg, char *err, size_t errlen);

/* Whether git_repo is an https:// URL with userinfo (a user name or token
 * before '@'): site_validate refuses those. */
bool site_git_repo_has_credentials(const char *url);
/* git_repo fit to show: the userinfo of an https:// URL removed (rows stored
 * before credentials were refused may hold one). malloc'd, NULL on ENOMEM
 * or a NULL url. */
char *site_git_repo_redacted(const char *url);

/* text (a deployment's output, say) with the userinfo of every http(s) URL
 * in it removed. malloc'd, NULL on ENOMEM or a NULL text. */
char *site_text_redacted(const char *text);

/* app_root rules (the database's sites_root_conflict applies the first to
 * every other site): two sites' app_roots overlap when they are equal or
 * one lies inside the other. */
bool site_roots_overlap(const char *a, const char *b);
/* A new app_root must be a directory or absent; one the panel clones or
 * builds into (a git_repo, or an app type other than static) must also be
 * empty, so that nothing an undo removes or a build chowns was someone
 * else's. A static site without a repository may serve an existing
 * directory as it is (the panel writes nothing into it). 0; -EEXIST (not
 * empty), -ENOTDIR, or -errno, with a message starting "app_root" in err. */
int site_check_root_free(const struct site *s, char *err, size_t errlen);

/* The unit of AUTARCH's web app, which an `autarch` site fronts. */
#define SITE_AUTARCH_UNIT "autarch-web.service"

/* python and node sites have a unit, a system user and a tree of their
 * own, built from their repository. */
bool site_has_own_unit(const struct site *s);
/* Sites whose page shows a service's state and controls it: their own unit,
 * or for an `autarch` site (nginx in front of the installed AUTARCH's web
 * port, autarch.web_port: no repository, user or unit of its own)
 * SITE_AUTARCH_UNIT. */
bool site_has_service(const struct site *s);

/* The site's service (site_has_service) into out (>= 300 bytes):
 * "app-<domain>.service", or SITE_AUTARCH_UNIT for an autarch site. */
void site_unit_name(const struct site *s, char *out, size_t outlen);
