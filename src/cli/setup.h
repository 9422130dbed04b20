/* Start-up and first-time set-up steps shared by `serve`, `setup` and `check`. */
#pragma once

#include <stdbool.h>

#include "core/config.h"
#include "db/db.h"

/* When there are no panel users, create `admin` with $SETEC_ADMIN_PASSWORD or
 * a random password printed once on stderr and written to
 * <data dir>/initial-admin-password (0600). 0 or -errno. */
int setup_first_admin(struct config *cfg, struct db *db);
/* Create the self-signed panel certificate when server.cert is missing. */
int setup_panel_cert(struct config *cfg);
/* The whole `setup` command: directories, snippets, certificate, admin, unit;
 * with firewall, also ufw's default rule set (sys/firewall.h). */
int setup_run(struct config *cfg, const char *config_path, bool firewall);
/* `check`: print every problem found; returns the number of problems. */
int setup_check(struct config *cfg);
