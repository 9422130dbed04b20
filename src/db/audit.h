/* audit_log: one row per state-changing request. */
#pragma once

#include "db/db.h"

/* username may be "" for anonymous (e.g. failed login); detail may be NULL. 0 or -EIO. */
int audit_add(struct db *db, const char *username, const char *ip, const char *action,
              const char *detail);
