/* systemd units for apps: rendered from validated sites, installed into
 * systemd.unit_dir, controlled over sd-bus (org.freedesktop.systemd1). */
#pragma once

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

/* Write <unit_dir>/<name> atomically (0644) and daemon-reload. 0 or -errno. */
int unit_install(const struct config *cfg, const char *name, const char *text);
/* Stop, disable, remove the file, daemon-reload. Missing is fine. */
int unit_remove(const struct config *cfg, const char *name);

enum unit_op { UNIT_START, UNIT_STOP, UNIT_RESTART, UNIT_RELOAD, UNIT_ENABLE, UNIT_DISABLE };
/* Over sd-bus, waiting for the job to finish (up to timeout_ms). 0, or
 * -errno with a message (the unit's failure, the bus error) in err. */
int unit_control(const char *name, enum unit_op op, unsigned timeout_ms, char *err,
                 size_t errlen);
/* ActiveState etc. of one unit (services_query for one name). */
int unit_state(const char *name, struct unit_state *out);
