/* jobs rows. */
#include "db/jobs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "db/db-internal.h"

#define JOB_COLUMNS                                                                                \
        "id, kind, subject, state, step, steps, output, error, data, user,"                        \
        " COALESCE(deployment_id, 0), created_at, started_at, finished_at"

void job_row_clear(struct job_row *r)
{
        if (!r)
                return;
        free(r->kind);
        free(r->subject);
        free(r->state);
        free(r->step);
        free(r->steps);
        free(r->output);
        free(r->error);
        free(r->data);
        free(r->user);
        free(r->created_at);
        free(r->started_at);
        free(r->finished_at);
        *r = (struct job_row){0};
}

static void clear_elem(void *e)
{
        job_row_clear(e);
}

void job_rows_free(struct job_row *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), clear_elem);
}

static char *col(sqlite3_stmt *s, int c)
{
        char *v = db_column_strdup(s, c);
        return v ? v : strdup("");
}

static int from_row(sqlite3_stmt *s, void *elem)
{
        struct job_row *o = elem;
        *o = (struct job_row){
            .id = sqlite3_column_int64(s, 0),
            .kind = col(s, 1),
            .subject = col(s, 2),
            .state = col(s, 3),
            .step = col(s, 4),
            .steps = col(s, 5),
            .output = col(s, 6),
            .error = col(s, 7),
            .data = col(s, 8),
            .user = col(s, 9),
            .deployment_id = sqlite3_column_int64(s, 10),
            .created_at = col(s, 11),
            .started_at = db_column_strdup(s, 12),
            .finished_at = db_column_strdup(s, 13),
        };
        if (!o->kind || !o->subject || !o->state || !o->step || !o->steps || !o->output ||
            !o->error || !o->data || !o->user || !o->created_at) {
                job_row_clear(o);
                return -ENOMEM;
        }
        return 0;
}

long long jobs_insert(struct db *db, const char *kind, const char *subject, const char *user,
                      const char *steps, long long deployment_id)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "INSERT INTO jobs (kind, subject, state, user, steps, deployment_id, created_at)"
                 " VALUES (?, ?, 'queued', ?, ?, ?, " DB_NOW_SQL ")");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, subject, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, user ? user : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, steps ? steps : "[]", -1, SQLITE_STATIC);
        if (deployment_id > 0)
                sqlite3_bind_int64(s, 5, deployment_id);
        else
                sqlite3_bind_null(s, 5);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "insert job");
        return sqlite3_last_insert_rowid(sql);
}

int jobs_save(struct db *db, long long id, const char *state, const char *step, const char *steps,
              const char *output, const char *error, const char *data, const char *started_at,
              const char *finished_at)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "UPDATE jobs SET state = COALESCE(?1, state), step = COALESCE(?2, step),"
                 " steps = COALESCE(?3, steps), output = COALESCE(?4, output),"
                 " error = COALESCE(?5, error), data = COALESCE(?6, data),"
                 " started_at = COALESCE(?7, started_at), finished_at = COALESCE(?8, finished_at)"
                 " WHERE id = ?9");
        if (!s)
                return -EIO;
        const char *v[] = {state, step, steps, output, error, data, started_at, finished_at};
        for (int i = 0; i < 8; i++)
                if (v[i])
                        sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_STATIC);
                else
                        sqlite3_bind_null(s, i + 1);
        sqlite3_bind_int64(s, 9, id);
        return db_step_changed(sql, s, "save job");
}

int jobs_get(struct db *db, long long id, struct job_row *out)
{
        *out = (struct job_row){0};
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        int rc = db_step_row(sql, s, "read job");
        if (rc < 0)
                return rc;
        return from_row(s, out);
}

/* ?1 state, ?2 kind, ?3 subject, ?4 q (NULL = any) */
#define FILTER_SQL                                                                                 \
        " WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR kind = ?2)"                          \
        " AND (?3 IS NULL OR subject = ?3)"                                                        \
        " AND (?4 IS NULL OR instr(kind, ?4) > 0 OR instr(subject, ?4) > 0)"                       \
        " AND (?7 IS NULL OR user = ?7)"

static void bind_filter(sqlite3_stmt *s, const struct jobs_filter *f)
{
        const char *v[] = {f->state, f->kind, f->subject, f->q};
        for (int i = 0; i < 4; i++)
                if (v[i] && *v[i])
                        sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_STATIC);
                else
                        sqlite3_bind_null(s, i + 1);
        if (f->user && *f->user)
                sqlite3_bind_text(s, 7, f->user, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(s, 7);
}

static const char *const sort_keys[] = {"id",    "kind",       "subject",    "state",      "step",
                                        "error", "created_at", "started_at", "finished_at"};

bool jobs_sort_key_valid(const char *key)
{
        for (size_t i = 0; key && i < ARRAY_SIZE(sort_keys); i++)
                if (streq(key, sort_keys[i]))
                        return true;
        return false;
}

int jobs_list(struct db *db, const struct jobs_filter *f, struct job_row **out, size_t *n,
              size_t *total)
{
        *out = NULL;
        *n = 0;
        *total = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *c = db_prepare(sql, "SELECT count(*) FROM jobs" FILTER_SQL);
        if (!c)
                return -EIO;
        bind_filter(c, f);
        int rc = sqlite3_step(c);
        if (rc != SQLITE_ROW)
                return db_step_error(sql, rc, "count jobs");
        *total = (size_t)sqlite3_column_int64(c, 0);
        /* the column name comes from sort_keys only, never from the request */
        const char *key = "id";
        for (size_t i = 0; f->sort && i < ARRAY_SIZE(sort_keys); i++)
                if (streq(f->sort, sort_keys[i]))
                        key = sort_keys[i];
        _cleanup_strbuf_ struct strbuf q = STRBUF_INIT(0);
        strbuf_printf(&q,
                      "SELECT id, kind, subject, state, step, steps, '', error, data, user,"
                      " COALESCE(deployment_id, 0), created_at, started_at, finished_at"
                      " FROM jobs" FILTER_SQL " ORDER BY %s %s, id %s LIMIT ?5 OFFSET ?6",
                      key, f->asc ? "ASC" : "DESC", f->asc ? "ASC" : "DESC");
        if (!q.data)
                return -ENOMEM;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, q.data);
        if (!s)
                return -EIO;
        bind_filter(s, f);
        sqlite3_bind_int64(s, 5, f->limit ? (sqlite3_int64)f->limit : -1);
        sqlite3_bind_int64(s, 6, (sqlite3_int64)f->offset);
        void *list = NULL;
        int r =
            db_collect(sql, s, sizeof(struct job_row), from_row, clear_elem, "list jobs", &list, n);
        *out = list;
        return r;
}

int jobs_fail_stale(struct db *db)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE jobs SET recover_pending = 1, finished_at = " DB_NOW_SQL ","
                            " error = CASE WHEN step = '' THEN"
                            "  'interrupted: the panel stopped before the job ran'"
                            " ELSE 'interrupted: the panel stopped during step ' || step END,"
                            " state = 'failed' WHERE state IN ('queued', 'running')");
        if (!s)
                return -EIO;
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "fail stale jobs");
        return sqlite3_changes(sql);
}

int jobs_list_recover(struct db *db, const char *kind, struct job_row **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "SELECT " JOB_COLUMNS " FROM jobs WHERE recover_pending = 1 AND kind = ?"
                 " ORDER BY id");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct job_row), from_row, clear_elem,
                           "list jobs to recover", &list, n);
        *out = list;
        return r;
}

int jobs_recovered(struct db *db, long long id)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE jobs SET recover_pending = 0 WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        int rc = sqlite3_step(s);
        return rc == SQLITE_DONE ? 0 : db_step_error(sql, rc, "mark job recovered");
}

long jobs_prune(struct db *db, int max_age_days)
{
        if (max_age_days < 1)
                return -EINVAL;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        /* the times are RFC 3339 UTC text: they compare as text */
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "DELETE FROM jobs WHERE state IN ('done', 'failed', 'cancelled')"
                            " AND recover_pending = 0 AND COALESCE(finished_at, created_at) < "
                            "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || ? || ' days')");
        if (!s)
                return -EIO;
        sqlite3_bind_int(s, 1, max_age_days);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "prune job rows");
        return (long)sqlite3_changes(sql);
}
