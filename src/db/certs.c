/* cert_attempts rows and the renewal back-off. */
#include "db/certs.h"

#include <errno.h>
#include <stdlib.h>

#include "base/timeutil.h"
#include "db/db-internal.h"

#define ATTEMPT_COLUMNS "id, domain, kind, result, error, not_after, created_at"
#define DEFAULT_LIMIT   20

void cert_attempt_clear(struct cert_attempt *a)
{
        if (!a)
                return;
        free(a->domain);
        free(a->kind);
        free(a->result);
        free(a->error);
        free(a->not_after);
        free(a->created_at);
        *a = (struct cert_attempt){0};
}

static void clear_elem(void *e)
{
        cert_attempt_clear(e);
}

void cert_attempts_free(struct cert_attempt *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), clear_elem);
}

static int from_row(sqlite3_stmt *s, void *elem)
{
        struct cert_attempt *a = elem;
        *a = (struct cert_attempt){
            .id = sqlite3_column_int64(s, 0),
            .domain = db_column_strdup(s, 1),
            .kind = db_column_strdup(s, 2),
            .result = db_column_strdup(s, 3),
            .error = db_column_strdup(s, 4),
            .not_after = db_column_strdup(s, 5),
            .created_at = db_column_strdup(s, 6),
        };
        if (!a->domain || !a->kind || !a->result || !a->created_at ||
            (!a->error && sqlite3_column_type(s, 4) != SQLITE_NULL) ||
            (!a->not_after && sqlite3_column_type(s, 5) != SQLITE_NULL)) {
                cert_attempt_clear(a);
                return -ENOMEM;
        }
        return 0;
}

long long cert_attempts_insert(struct db *db, const char *domain, const char *kind,
                               const char *result, const char *error, const char *not_after)
{
        if (str_empty(domain) ||
            !(streq(kind, "issue") || streq(kind, "renew") || streq(kind, "auto")) ||
            !(streq(result, "success") || streq(result, "failed")))
                return -EINVAL;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "INSERT INTO cert_attempts (domain, kind, result, error, not_after, created_at)"
                 " VALUES (?, ?, ?, ?, ?, " DB_NOW_SQL ")");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, result, -1, SQLITE_STATIC);
        if (error)
                sqlite3_bind_text(s, 4, error, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(s, 4);
        if (not_after)
                sqlite3_bind_text(s, 5, not_after, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(s, 5);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "insert cert attempt");
        return sqlite3_last_insert_rowid(sql);
}

int cert_attempts_list(struct db *db, const char *domain, size_t limit, struct cert_attempt **out,
                       size_t *n)
{
        *out = NULL;
        *n = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, domain ? "SELECT " ATTEMPT_COLUMNS " FROM cert_attempts"
                                     " WHERE domain = ? ORDER BY id DESC LIMIT ?"
                                   : "SELECT " ATTEMPT_COLUMNS " FROM cert_attempts"
                                     " ORDER BY id DESC LIMIT ?");
        if (!s)
                return -EIO;
        int i = 1;
        if (domain)
                sqlite3_bind_text(s, i++, domain, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, i, (sqlite3_int64)(limit ? limit : DEFAULT_LIMIT));
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct cert_attempt), from_row, clear_elem,
                           "list cert attempts", &list, n);
        *out = list;
        return r;
}

int cert_attempts_last(struct db *db, const char *domain, struct cert_attempt *out)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " ATTEMPT_COLUMNS " FROM cert_attempts"
                            " WHERE domain = ? ORDER BY id DESC LIMIT 1");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return db_step_error(sql, rc, "read cert attempt");
        return from_row(s, out);
}

long cert_backoff_seconds(int k)
{
        if (k <= 0)
                return 0;
        /* 2^k hours reaches a day at k = 5 */
        if (k >= 5)
                return 24L * 3600;
        return (1L << k) * 3600;
}

int cert_attempts_next_auto(struct db *db, const char *domain, time_t *next, int *failures)
{
        *next = 0;
        if (failures)
                *failures = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        /* Newest first until the last success: the streak of failed
         * scheduled renewals. Manual attempts neither extend nor end it
         * unless they succeed. */
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT kind, result, created_at FROM cert_attempts"
                            " WHERE domain = ? AND id > COALESCE((SELECT MAX(id) FROM cert_attempts"
                            " WHERE domain = ? AND result = 'success'), 0)"
                            " AND kind = 'auto' AND result = 'failed' ORDER BY id DESC");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
        int k = 0, rc;
        time_t newest = 0;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                if (k == 0) {
                        const char *at = (const char *)sqlite3_column_text(s, 2);
                        if (!at || time_parse(at, &newest) < 0)
                                newest = 0;
                }
                k++;
        }
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "read cert attempts");
        if (failures)
                *failures = k;
        if (k > 0 && newest > 0)
                *next = newest + (time_t)cert_backoff_seconds(k);
        return 0;
}
