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
