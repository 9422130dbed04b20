/* audit_log: one row per state-changing request. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

/* username may be "" for anonymous (e.g. failed login); detail may be NULL. 0 or -EIO. */
int audit_add(struct db *db, const char *username, const char *ip, const char *action,
              const char *detail);

/* ---- reading (GET /api/audit) ---- */
struct audit_row {
        long long id;
        char *username, *ip, *action, *detail, *created_at;
};
void audit_row_clear(struct audit_row *a);
struct audit_filter {
        const char *user;   /* exact username, or NULL */
        const char *action; /* substring of action, or NULL */
        const char *q;      /* substring of action or detail, or NULL */
        const char *since;  /* RFC 3339 UTC, inclusive, or NULL */
        const char *until;  /* RFC 3339 UTC, inclusive, or NULL */
        const char *sort;   /* id, user, action, client_ip, created_at (NULL: id) */
        bool asc;           /* default newest first */
        long long limit, offset;
};
/* One page of rows matching f and the number of all matching rows. */
int audit_list(struct db *db, const struct audit_filter *f, struct audit_row **out, size_t *n,
               long long *total);
void audit_list_free(struct audit_row *list, size_t n);
