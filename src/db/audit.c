/* audit_log writer, the tally of anonymous requests, retention. */
#include "db/audit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db-internal.h"

int audit_add(struct db *db, const char *username, const char *ip, const char *action,
              const char *detail)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "INSERT INTO audit_log (username, ip, action, detail, created_at)"
                            " VALUES (?, ?, ?, ?, " DB_NOW_SQL ")");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, username ? username : "", -1, SQLITE_STATIC);
        if (ip)
                sqlite3_bind_text(s, 2, ip, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, action ? action : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, detail ? detail : "", -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        return rc == SQLITE_DONE ? 0 : db_step_error(sql, rc, "write audit row");
}

struct audit_tally {
        pthread_mutex_t lock;
        unsigned long n[AUDIT_ANON_KINDS];
        char last_ip[64];
        double last_write; /* monotonic; < 0: never written */
};

struct audit_tally *audit_tally_new(void)
{
        struct audit_tally *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        pthread_mutex_init(&t->lock, NULL);
        t->last_write = -1;
        return t;
}

void audit_tally_free(struct audit_tally *t)
{
        if (!t)
                return;
        pthread_mutex_destroy(&t->lock);
        free(t);
}

void audit_tally_count(struct audit_tally *t, enum audit_anon kind, const char *ip)
{
        if (!t || kind < 0 || kind >= AUDIT_ANON_KINDS)
                return;
        pthread_mutex_lock(&t->lock);
        t->n[kind]++;
        if (ip)
                snprintf(t->last_ip, sizeof(t->last_ip), "%s", ip);
        pthread_mutex_unlock(&t->lock);
}

unsigned long audit_tally_pending(struct audit_tally *t, enum audit_anon kind)
{
        if (!t || kind < 0 || kind >= AUDIT_ANON_KINDS)
                return 0;
        pthread_mutex_lock(&t->lock);
        unsigned long n = t->n[kind];
        pthread_mutex_unlock(&t->lock);
        return n;
}

int audit_tally_flush(struct audit_tally *t, struct db *db, double now, bool force)
{
        if (!t)
                return 0;
        unsigned long n[AUDIT_ANON_KINDS];
        char ip[sizeof(t->last_ip)];
        pthread_mutex_lock(&t->lock);
        unsigned long total = 0;
        for (int i = 0; i < AUDIT_ANON_KINDS; i++)
                total += t->n[i];
        bool due = force || t->last_write < 0 || now - t->last_write >= AUDIT_TALLY_PERIOD_S;
        if (total == 0 || !due) {
                pthread_mutex_unlock(&t->lock);
                return 0;
        }
        memcpy(n, t->n, sizeof(n));
        memcpy(ip, t->last_ip, sizeof(ip));
        memset(t->n, 0, sizeof(t->n));
        t->last_write = now;
        pthread_mutex_unlock(&t->lock);

        char detail[160];
        snprintf(detail, sizeof(detail),
                 "logout=%lu rate_limited=%lu unknown_user=%lu account_throttled=%lu",
                 n[AUDIT_ANON_LOGOUT], n[AUDIT_ANON_RATE_LIMITED], n[AUDIT_ANON_UNKNOWN_USER],
                 n[AUDIT_ANON_ACCOUNT_THROTTLED]);
        int r = audit_add(db, "", ip[0] ? ip : NULL, "anonymous requests", detail);
        if (r < 0) {
                /* keep the counts for the next try */
                pthread_mutex_lock(&t->lock);
                for (int i = 0; i < AUDIT_ANON_KINDS; i++)
                        t->n[i] += n[i];
                pthread_mutex_unlock(&t->lock);
                return r;
        }
        return 1;
}

long audit_prune(struct db *db, int max_age_days)
{
        if (max_age_days < 1)
                return -EINVAL;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        /* created_at is stored as RFC 3339 UTC text: it compares as text */
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "DELETE FROM audit_log WHERE created_at < "
                            "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || ? || ' days')");
        if (!s)
                return -EIO;
        sqlite3_bind_int(s, 1, max_age_days);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "prune audit rows");
        return (long)sqlite3_changes(sql);
}
