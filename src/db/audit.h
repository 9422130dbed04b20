/* audit_log: one row per state-changing request; anonymous noise counted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

/* username may be "" for anonymous (e.g. failed login); detail may be NULL. 0 or -EIO. */
int audit_add(struct db *db, const char *username, const char *ip, const char *action,
              const char *detail);

/* Requests nobody can be held to account for (an unauthenticated POST
 * /logout, a login refused by a rate limit, a failed login of an unknown
 * name) would let anyone fill the table at thousands of rows a second, so
 * they are counted in memory and written as one summary row (action
 * "anonymous requests", detail "logout=N rate_limited=N unknown_user=N
 * account_throttled=N", ip = the last address counted) at most once every
 * AUDIT_TALLY_PERIOD_S seconds, and once more when the panel stops. */
#define AUDIT_TALLY_PERIOD_S 60

enum audit_anon {
        AUDIT_ANON_LOGOUT,            /* POST /logout without a valid token */
        AUDIT_ANON_RATE_LIMITED,      /* login refused by the per-address limit */
        AUDIT_ANON_UNKNOWN_USER,      /* failed login of a name that is no account */
        AUDIT_ANON_ACCOUNT_THROTTLED, /* login refused by the per-account delay */
        AUDIT_ANON_KINDS,
};

struct audit_tally;

/* NULL when out of memory. */
struct audit_tally *audit_tally_new(void);
void audit_tally_free(struct audit_tally *t);
/* Count one event from ip (may be NULL). Thread-safe, no I/O. */
void audit_tally_count(struct audit_tally *t, enum audit_anon kind, const char *ip);
/* Write the summary row when something was counted and either force is set
 * or the last summary is AUDIT_TALLY_PERIOD_S seconds old (now: monotonic
 * seconds). 1 when a row was written, 0 when none was due, -errno (the counts
 * are kept for the next try). */
int audit_tally_flush(struct audit_tally *t, struct db *db, double now, bool force);
/* The counts not yet written, for tests. */
unsigned long audit_tally_pending(struct audit_tally *t, enum audit_anon kind);

/* Delete the rows older than max_age_days (>= 1) days. How many were
 * deleted, or -errno. */
long audit_prune(struct db *db, int max_age_days);

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
