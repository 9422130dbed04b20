/* nginx: vhosts rendered from validated sites, written atomically, always
 * tested with `nginx -t` before a reload, and rolled back when the test (or
 * the reload) fails, so a bad change never leaves nginx broken. */
#pragma once

#include <stdbool.h>

#include "base/strbuf.h"
#include "core/config.h"
#include "core/site.h"

/* The vhost text of a validated site: port nginx.http_port serves
 * /.well-known/acme-challenge/ from nginx.certbot_webroot first; without SSL
 * it serves the content (static root or proxy to 127.0.0.1:app_port with
 * WebSocket upgrade headers); with SSL it redirects to https and a
 * nginx.https_port block serves with ssl_cert_path/ssl_key_path and the
 * snippets by absolute path. malloc'd, NULL on ENOMEM/EINVAL. */
char *nginx_render_vhost(const struct site *s, const struct config *cfg);

/* The file every vhost relies on (<sites_available>/setec-defaults, enabled
 * as 000-setec-defaults): the map of $setec_connection_upgrade and, with
 * nginx.default_server, default servers on the shared ports that refuse
 * unknown names (return 444; ssl_reject_handshake on). Written with every
 * nginx_txn_put_site/put_panel. malloc'd, NULL on ENOMEM/EINVAL. */
char *nginx_render_defaults(const struct config *cfg);

/* Path of a domain's vhost: <sites_available>/<domain> (malloc'd). */
char *nginx_vhost_path(const struct config *cfg, const char *domain);

/* A set of file changes applied together. Every change records what was
 * there before; commit runs `nginx -t` and reloads; on any failure every
 * change is undone (and nginx reloaded again if it had been). */
struct nginx_txn;
int nginx_txn_begin(const struct config *cfg, struct nginx_txn **out);
/* Write the vhost of s into sites_available and enable it (symlink). */
int nginx_txn_put_site(struct nginx_txn *t, const struct site *s);
/* Disable the vhost of domain (remove the symlink); with remove_file also
 * remove it from sites_available. Missing files are fine. */
int nginx_txn_drop_site(struct nginx_txn *t, const char *domain, bool remove_file);
/* Test and reload. 0, or -EINVAL when `nginx -t` failed (its output in
 * *msg, changes undone), or another -errno when the reload failed (message in
 * *msg, changes undone). *msg is malloc'd when set. */
int nginx_txn_commit(struct nginx_txn *t, char **msg);
/* Undo whatever was not committed, free. NULL-safe. */
void nginx_txn_free(struct nginx_txn *t);

/* In the HTTP process of a split serve (sys/helpcall.h) a transaction only
 * records its changes (put_site and put_panel render locally, to refuse
 * what the helper would refuse); commit sends them as one HOP_NGINX_APPLY
 * and returns the helper's rc and message, with the same contract. The
 * request's one 'b' field is an HM_REQUEST message of the changes, each a
 * tag string then its fields:
 *   "site"  + the site's fields (sys/sitemsg.h)   nginx_txn_put_site
 *   "drop"  + domain (s), remove_file (i 0/1)     nginx_txn_drop_site
 *   "panel"                                        nginx_txn_put_panel */
#define NGINX_CHANGE_SITE  "site"
#define NGINX_CHANGE_DROP  "drop"
#define NGINX_CHANGE_PANEL "panel"
/* HOP_NGINX_RELOAD's mode: nginx_reload, nginx_checked_reload,
 * nginx_restart, nginx_test (its result: the output as the message, an
 * extra int 1 when the test passed). */
enum nginx_mode {
        NGINX_MODE_RELOAD = 0,
        NGINX_MODE_CHECKED_RELOAD = 1,
        NGINX_MODE_RESTART = 2,
        NGINX_MODE_TEST = 3
};

/* `nginx -t -c <nginx.conf>`: 1 valid, 0 invalid, -errno when it could not
 * run; the combined output in *output (malloc'd). */
int nginx_test(const struct config *cfg, char **output);
/* Reload (nginx.reload "systemd": ReloadUnit nginx.service over sd-bus;
 * "signal": `nginx -c CONF -s reload`). 0 or -errno with *msg. */
int nginx_reload(const struct config *cfg, char **msg);
int nginx_restart(const struct config *cfg, char **msg);
/* Whether nginx runs: ActiveState of nginx.service, or for "signal" mode the
 * pid file named in the config being alive. state gets "active"/"inactive"/... */
int nginx_status(const struct config *cfg, bool *running, char *state, size_t statelen);

/* services_query of names, with the state of nginx (a name "nginx" or
 * "nginx.service") from nginx_status: in signal mode nginx runs without its
 * unit, and the dashboard, the monitor and the nginx page say the same
 * about it. */
struct unit_state;
void nginx_services_query(const struct config *cfg, const char *const *names, size_t n,
                          struct unit_state *out);

/* ---- additions (nginx engineer) ---- */

/* The vhost file of domain (<sites_available>/<domain>): 0 with *out
 * malloc'd, -EINVAL for an invalid domain, -ENOENT when there is none. */
int nginx_read_vhost(const struct config *cfg, const char *domain, char **out);
/* Test, then reload only when the test passed, under the same lock as the
 * transactions: 0; -EINVAL when the test failed (nginx's output in *msg);
 * another -errno when nginx could not run or the reload failed (*msg). */
int nginx_checked_reload(const struct config *cfg, char **msg);
/* The argument of the top-level `pid` directive of an nginx.conf text,
 * relative values resolved against conf_dir (our layouts keep nginx.conf in
 * the prefix root, where nginx -p would resolve them too); NULL when absent.
 * Signal mode reads it to find the master (default /run/nginx.pid). */
char *nginx_conf_pid_path(const char *conf_text, const char *conf_dir);
/* Note: a transaction holds a process-wide (recursive) lock from
 * nginx_txn_begin to nginx_txn_free, which must run on the same thread; the
 * other calls here take it too, so they may be used inside a transaction. */

/* ---- the panel's own host name (server.acme_hostname) ---- */

/* The vhost that lets the CA reach the panel's host name over HTTP-01: port
 * nginx.http_port, server_name server.acme_hostname, only the ACME location
 * (from nginx.certbot_webroot) and a redirect of everything else to the
 * panel (https://$host:server.port). malloc'd; NULL with errno EINVAL when
 * the host name is unset or invalid, or ENOMEM (the name is written lower case). */
char *nginx_render_panel_vhost(const struct config *cfg);
/* Its file: <sites_available>/setec-panel_<hostname> (the '_' keeps it
 * apart from every site's file, which is named by a valid domain).
 * malloc'd, NULL when the host name is unset or invalid. */
char *nginx_panel_vhost_path(const struct config *cfg);
/* Write that vhost and enable it (symlink), like nginx_txn_put_site. */
int nginx_txn_put_panel(struct nginx_txn *t);
