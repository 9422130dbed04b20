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

/* ---- reading (GET /api/audit) ---- */

void audit_row_clear(struct audit_row *a)
{
        if (!a)
                return;
        free(a->username);
        free(a->ip);
        free(a->action);
        free(a->detail);
        free(a->created_at);
        *a = (struct audit_row){0};
}

static void audit_clear_elem(void *e)
{
        audit_row_clear(e);
}

static int audit_from_row(sqlite3_stmt *s, void *elem)
{
        struct audit_row *a = elem;
        *a = (struct audit_row){
            .id = sqlite3_column_int64(s, 0),
            .username = db_column_strdup(s, 1),
            .ip = db_column_strdup(s, 2),
            .action = db_column_strdup(s, 3),
            .detail = db_column_strdup(s, 4),
            .created_at = db_column_strdup(s, 5),
        };
        if (!a->username || !a->action || !a->detail || !a->created_at) {
                audit_row_clear(a);
                return -ENOMEM;
        }
        return 0;
}

void audit_list_free(struct audit_row *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), audit_clear_elem);
}

/* The WHERE clause every query of audit_list shares; parameters ?1..?5. */
#define AUDIT_WHERE                                                                                \
        " WHERE (?1 IS NULL OR username = ?1)"                                                     \
        " AND (?2 IS NULL OR instr(action, ?2) > 0)"                                               \
        " AND (?3 IS NULL OR instr(action, ?3) > 0 OR instr(COALESCE(detail, ''), ?3) > 0"         \
        "      OR instr(username, ?3) > 0)"                                                        \
        " AND (?4 IS NULL OR created_at >= ?4)"                                                    \
        " AND (?5 IS NULL OR created_at <= ?5)"

static void bind_filter(sqlite3_stmt *s, const struct audit_filter *f)
{
        const char *v[] = {f->user, f->action, f->q, f->since, f->until};
        for (int i = 0; i < 5; i++) {
                if (v[i] && *v[i])
                        sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_STATIC);
                else
                        sqlite3_bind_null(s, i + 1);
        }
}

int audit_list(struct db *db, const struct audit_filter *f, struct audit_row **out, size_t *n,
               long long *total)
{
        *out = NULL;
        *n = 0;
        *total = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        /* the sort column comes from this table only, never from the request */
        static const struct {
                const char *key, *col;
        } cols[] = {{"id", "id"},        {"user", "username"},         {"action", "action"},
                    {"client_ip", "ip"}, {"created_at", "created_at"}, {"target", "action"}};
        const char *col = "id";
        for (size_t i = 0; f->sort && i < ARRAY_SIZE(cols); i++)
                if (streq(f->sort, cols[i].key))
                        col = cols[i].col;
        char q[1024];
        snprintf(q, sizeof(q),
                 "SELECT id, username, ip, action, COALESCE(detail, ''), COALESCE(created_at, '')"
                 " FROM audit_log" AUDIT_WHERE " ORDER BY %s %s, id %s LIMIT ?6 OFFSET ?7",
                 col, f->asc ? "ASC" : "DESC", f->asc ? "ASC" : "DESC");
        _cleanup_stmt_ sqlite3_stmt *c =
            db_prepare(sql, "SELECT COUNT(*) FROM audit_log" AUDIT_WHERE);
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, q);
        if (!c || !s)
                return -EIO;
        bind_filter(c, f);
        int rc = sqlite3_step(c);
        if (rc != SQLITE_ROW)
                return db_step_error(sql, rc, "count audit rows");
        *total = sqlite3_column_int64(c, 0);
        bind_filter(s, f);
        sqlite3_bind_int64(s, 6, f->limit > 0 ? f->limit : 50);
        sqlite3_bind_int64(s, 7, f->offset > 0 ? f->offset : 0);
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct audit_row), audit_from_row, audit_clear_elem,
                           "list audit rows", &list, n);
        *out = list;
        return r;
}
