/* The panel's configuration: every key of the reference config.yaml plus the
 * keys CONTRACT.md §2 adds. Strings are owned by the struct. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct config_strlist {
        char **items;
        size_t n;
};

struct config {
        struct {
                char *host;
                int port;
                bool tls;
                char *cert;
                char *key;
                struct config_strlist trusted_proxies;
                /* "" = off; else the panel's certificate can be ordered over
                 * ACME for this host name (POST /ssl/panel/issue) and is
                 * renewed with the sites' certificates */
                char *acme_hostname;
                /* the unprivileged user the HTTP process becomes when serve
                 * starts as root (a root helper stays); "" = no drop: both
                 * processes keep the starting user (development, tests) */
                char *user;
                /* this server's public addresses for DNS records (site
                 * dns_provider); "" = detected from the routing table */
                char *public_ipv4, *public_ipv6;
                /* open SSE streams of each kind at most; 0 = sized from
                 * RLIMIT_NOFILE (sse_stream_limit) */
                int max_streams;
                /* MiB all request bodies being received may hold together;
                 * beyond, a request gets 503 (Retry-After) */
                int max_body_memory_mb;
                /* client connections at most, and per client address; 0 =
                 * sized from RLIMIT_NOFILE (at most 16384) */
                int max_connections, max_connections_per_ip;
        } server;
        struct {
                char *path; /* its directory is the data dir */
        } database;
        struct {
                char *sites_available, *sites_enabled, *snippets, *webroot, *certbot_webroot;
                char *binary, *conf, *reload; /* reload: "systemd" or "signal" */
                char *access_log, *error_log;
                int http_port, https_port;
                bool default_server; /* a catch-all server refuses unknown names */
                bool ipv6;           /* every server listens on [::] too */
                /* nginx size ("64m") of every site without a max_body_size of
                 * its own (site.max_body_size "") */
                char *client_max_body_size;
        } nginx;
        struct {
                char *unit_dir;
        } systemd;
        struct {
                char *local_root;
                char *ca_bundle; /* "" = the system store; else GIT_SSL_CAINFO for git */
        } git;
        struct {
                char *email;
                bool staging;
                char *account_dir, *directory_url, *ca_bundle, *cert_dir;
        } acme;
        struct {
                char *install_dir, *git_repo, *git_branch;
                int web_port, dns_port;
                bool upgrade_pip; /* the reference's "upgrade pip" install step */
        } autarch;
        struct {
                bool enabled;
                int max_sessions;
                char *session_ttl;                     /* as written, Go duration syntax */
                long session_ttl_s;                    /* parsed */
                struct config_strlist allowed_devices; /* "VVVV:PPPP"; empty = every device */
                char *sysfs_root;                      /* where devices are listed, "/sys" */
        } float_;
        struct {
                char *dir;
                int max_age_days, max_count;
        } backups;
        struct {
                char *level, *file;
                int max_size_mb, max_backups;
        } logging;
        struct {
                struct config_strlist services;
        } monitor;
        struct {
                char *dir; /* default <data dir>/hosting */
                /* PEM file replacing the system store for provider calls, "" = system */
                char *ca_bundle;
        } hosting;
        struct {
                int max_age_days; /* audit rows older than this are pruned */
        } audit;
        struct {
                int workers;      /* job threads (jobs/engine.h), 1-64, default 2 */
                int max_age_days; /* ended job rows older than this are pruned, default 30 */
        } jobs;

        char *path;     /* the file it was loaded from, NULL when defaults only */
        char *data_dir; /* dirname(database.path) */
};

/* Fill cfg with the built-in defaults. 0 or -ENOMEM. */
int config_defaults(struct config *cfg);

/* Load PATH over the defaults. A missing file is not an error: defaults are
 * kept, cfg->path stays NULL and *missing is set. Unknown keys are reported
 * through warn (one line each, may be NULL). On a bad value returns -EINVAL
 * and writes a message naming the key into err (errlen bytes). */
int config_load(struct config *cfg, const char *path, bool *missing, void (*warn)(const char *msg),
                char *err, size_t errlen);

/* Apply logging.level and logging.file to base/log (a log file that cannot
 * be opened is warned about: stderr only), as serve and the root helper do. */
void config_apply_logging(const struct config *cfg);

/* Which file to use: explicit (from --config), else $SETEC_CONFIG, else
 * /etc/setec-manager/config.yaml, else /opt/setec-manager/config.yaml (the
 * first that exists; the last one when none does). Returns a static or
 * argument string. */
const char *config_locate(const char *explicit_path);

/* Parse a Go duration ("24h", "90m", "1h30m", "45s"). 0 or -EINVAL. */
int config_parse_duration(const char *s, long *seconds);

void config_free(struct config *cfg);
