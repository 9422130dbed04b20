/* systemd units for apps: rendered from validated sites, installed into
 * systemd.unit_dir, controlled over sd-bus (org.freedesktop.systemd1). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/site.h"
#include "sys/services.h"

/* The unit text of a validated python/node/autarch site: runs as `user`
 * (unprivileged), WorkingDirectory=app_root, Environment=PORT=<app_port>,
 * Restart=on-failure, NoNewPrivileges=yes, ProtectSystem=strict with
 * ReadWritePaths=app_root, PrivateTmp=yes...; ExecStart python:
 * <root>/venv/bin/python3 <root>/<entry>, node: /usr/bin/node <root>/<entry>,
 * autarch: <root>/venv/bin/python3 <root>/autarch_web.py. Values are quoted
 * for systemd. malloc'd; NULL for a static site or on error. */
char *unit_render_app(const struct site *s, const struct config *cfg, const char *user);

enum autarch_unit { AUTARCH_UNIT_WEB, AUTARCH_UNIT_DNS };
#define AUTARCH_WEB_UNIT SITE_AUTARCH_UNIT
#define AUTARCH_DNS_UNIT "autarch-dns.service"
/* autarch-web (<dir>/venv/bin/python3 <dir>/autarch_web.py, PORT=web_port,
 * CAP_NET_RAW) or autarch-dns (<dir>/services/dns-server/autarch-dns --config
 * <dir>/data/dns/config.json, CAP_NET_BIND_SERVICE and CAP_NET_RAW), as user,
 * WorkingDirectory=dir, with the app units' quoting and hardening
 * (ReadWritePaths=dir). malloc'd; NULL on a bad argument. */
char *unit_render_autarch(enum autarch_unit which, const char *dir, const char *user, int web_port);

/* Write <unit_dir>/<name> atomically (0644) and daemon-reload. 0 or -errno.
 * In the HTTP process of a split serve (sys/helpcall.h): -EPERM, the root
 * helper never takes a unit's text; use the two below. */
int unit_install(const struct config *cfg, const char *name, const char *text);
/* The unit of an app site (site_unit_name), rendered (unit_render_app) for
 * the site's own user (accounts_site_user_name) and installed. Routed
 * through the helper (HOP_UNIT_INSTALL_SITE), which validates the site again
 * against its own config. 0 or -errno (-EINVAL: not renderable). */
int units_install_site(const struct config *cfg, const struct site *s);
/* autarch-web or autarch-dns for AUTARCH_USER in autarch.install_dir of cfg
 * (the helper's own; HOP_UNIT_INSTALL_AUTARCH). 0 or -errno. */
int units_install_autarch(const struct config *cfg, enum autarch_unit which, int web_port);
/* Stop, disable, remove the file, daemon-reload. Missing is fine. Routed
 * (HOP_UNIT_REMOVE): only a site's unit or an AUTARCH unit. */
int unit_remove(const struct config *cfg, const char *name);

/* The units the panel manages, the only ones the root helper touches: a
 * site's unit ("app-<lower-case valid domain>.service", what site_unit_name
 * makes), the AUTARCH units; with control also nginx.service and the
 * monitored services (units_monitored). */
bool units_managed(const struct config *cfg, const char *name, bool control);
bool units_is_site_unit(const char *name);
/* name is one of monitor.services (started, stopped, restarted from the
 * monitor page). */
bool units_monitored(const struct config *cfg, const char *name);

enum unit_op { UNIT_START, UNIT_STOP, UNIT_RESTART, UNIT_RELOAD, UNIT_ENABLE, UNIT_DISABLE };
/* Over sd-bus, waiting for the job to finish (up to timeout_ms). 0, or
 * -errno with a message (the unit's failure, the bus error) in err. Routed
 * (HOP_UNIT_CONTROL): only units_managed(cfg, name, true). */
int unit_control(const char *name, enum unit_op op, unsigned timeout_ms, char *err, size_t errlen);
/* ActiveState etc. of one unit (services_query for one name). */
int unit_state(const char *name, struct unit_state *out);

/* The unprivileged system user apps run as. */
#define UNITS_APP_USER "setec-app"
/* Make sure UNITS_APP_USER exists (useradd --system, no home, nologin shell,
 * only when getpwnam does not know it). *name_out (may be NULL) = its name.
 * 0 or -errno. */
int units_ensure_app_user(const char **name_out);
/* chown -R dir to user (and its primary group) without following symlinks
 * at any level (a link is chowned itself, never its target). 0 or -errno. */
int units_chown_tree(const char *dir, const char *user);
/* One value double-quoted for a unit file (systemd.syntax: '\\' and '"'
 * escaped, '%' doubled, '$' doubled when exec_arg). malloc'd; NULL when s
 * holds a control character. */
char *unit_quote(const char *s, bool exec_arg);
