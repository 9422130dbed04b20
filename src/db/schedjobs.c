/* cron_jobs rows for the scheduler; renewal warnings for the dashboard. */
#include "db/schedjobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "db/db-internal.h"

/* Reference rows may carry NULLs where the schema has defaults. */
#define JOB_COLUMNS                                                                                \
        "id, COALESCE(site_id, 0), job_type, schedule, COALESCE(enabled, 1), last_run, next_run, " \
        "COALESCE(keep, 0)"

void cron_job_row_clear(struct cron_job_row *j)
{
        if (!j)
                return;
        free(j->job_type);
        free(j->schedule);
        free(j->last_run);
        free(j->next_run);
        *j = (struct cron_job_row){0};
}

static void job_clear_elem(void *e)
{
        cron_job_row_clear(e);
}

void schedjobs_list_free(struct cron_job_row *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), job_clear_elem);
}

static int from_row(sqlite3_stmt *s, void *elem)
{
        struct cron_job_row *j = elem;
        *j = (struct cron_job_row){
            .id = sqlite3_column_int64(s, 0),
            .site_id = sqlite3_column_int64(s, 1),
            .job_type = db_column_strdup(s, 2),
            .schedule = db_column_strdup(s, 3),
            .enabled = sqlite3_column_int(s, 4) != 0,
            .last_run = db_column_strdup(s, 5),
            .next_run = db_column_strdup(s, 6),
            .keep = sqlite3_column_int(s, 7),
        };
        if (!j->job_type || !j->schedule ||
            (!j->last_run && sqlite3_column_type(s, 5) != SQLITE_NULL) ||
            (!j->next_run && sqlite3_column_type(s, 6) != SQLITE_NULL)) {
                cron_job_row_clear(j);
                return -ENOMEM;
        }
        return 0;
}

int schedjobs_list(struct db *db, struct cron_job_row **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " JOB_COLUMNS " FROM cron_jobs WHERE job_type IS NOT NULL"
                            " AND schedule IS NOT NULL ORDER BY id");
        if (!s)
                return -EIO;
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct cron_job_row), from_row, job_clear_elem,
                           "list cron jobs", &list, n);
        *out = list;
        return r;
}

int schedjobs_get(struct db *db, long long id, struct cron_job_row *out)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " JOB_COLUMNS " FROM cron_jobs WHERE id = ?"
                            " AND job_type IS NOT NULL AND schedule IS NOT NULL");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        int rc = db_step_row(sql, s, "get cron job");
        if (rc < 0)
                return rc;
        return from_row(s, out);
}

int schedjobs_seed(struct db *db, const char *job_type, const char *schedule, const char *next_run,
                   bool *inserted)
{
        *inserted = false;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        /* one statement: two panels starting on one file cannot seed twice */
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "INSERT INTO cron_jobs (site_id, job_type, schedule, enabled, last_run, next_run)"
                 " SELECT NULL, ?1, ?2, 1, NULL, ?3"
                 " WHERE NOT EXISTS (SELECT 1 FROM cron_jobs WHERE job_type = ?1)");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, job_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, schedule, -1, SQLITE_STATIC);
        if (next_run)
                sqlite3_bind_text(s, 3, next_run, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(s, 3);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "seed cron job");
        *inserted = sqlite3_changes(sql) > 0;
        return 0;
}

static int update(struct db *db, const char *q, long long id, const char *a, const char *b)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, q);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        /* unbound parameters are NULL */
        if (a)
                sqlite3_bind_text(s, 2, a, -1, SQLITE_STATIC);
        if (b)
                sqlite3_bind_text(s, 3, b, -1, SQLITE_STATIC);
        return db_step_changed(sql, s, "update cron job");
}

int schedjobs_set_times(struct db *db, long long id, const char *last_run, const char *next_run)
{
        return update(db,
                      "UPDATE cron_jobs SET last_run = COALESCE(?2, last_run), next_run = ?3"
                      " WHERE id = ?1",
                      id, last_run, next_run);
}

int schedjobs_disable(struct db *db, long long id)
{
        return update(db, "UPDATE cron_jobs SET enabled = 0, next_run = NULL WHERE id = ?1", id,
                      NULL, NULL);
}

long long schedjobs_add(struct db *db, long long site_id, const char *job_type,
                        const char *schedule, int keep, const char *next_run)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "INSERT INTO cron_jobs (site_id, job_type, schedule, enabled, next_run, keep)"
                 " VALUES (?1, ?2, ?3, 1, ?4, ?5)");
        if (!s)
                return -EIO;
        if (site_id > 0)
                sqlite3_bind_int64(s, 1, site_id);
        sqlite3_bind_text(s, 2, job_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, schedule, -1, SQLITE_STATIC);
        if (next_run)
                sqlite3_bind_text(s, 4, next_run, -1, SQLITE_STATIC);
        if (keep > 0)
                sqlite3_bind_int(s, 5, keep);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_CONSTRAINT)
                return -ENOENT; /* the site's foreign key */
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "add cron job");
        return sqlite3_last_insert_rowid(sql);
}

int schedjobs_update(struct db *db, long long id, const char *schedule, bool enabled, int keep,
                     const char *next_run)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE cron_jobs SET schedule = ?2, enabled = ?3, keep = ?4,"
                            " next_run = ?5 WHERE id = ?1");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, schedule, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3, enabled);
        if (keep > 0)
                sqlite3_bind_int(s, 4, keep);
        if (next_run)
                sqlite3_bind_text(s, 5, next_run, -1, SQLITE_STATIC);
        return db_step_changed(sql, s, "update cron job");
}

int schedjobs_delete(struct db *db, long long id)
{
        return update(db, "DELETE FROM cron_jobs WHERE id = ?1", id, NULL, NULL);
}

static void warning_clear_elem(void *e)
{
        struct ssl_warning *w = e;
        free(w->domain);
        free(w->message);
}

void ssl_warnings_free(struct ssl_warning *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), warning_clear_elem);
}

static bool table_exists(sqlite3 *sql, const char *name)
{
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
        if (!s)
                return false;
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        return sqlite3_step(s) == SQLITE_ROW;
}

static int warning_from_row(sqlite3_stmt *s, void *elem)
{
        struct ssl_warning *w = elem;
        const char *at = (const char *)sqlite3_column_text(s, 1);
        const char *err = (const char *)sqlite3_column_text(s, 2);
        char *msg = NULL;
        if (asprintf(&msg, "certificate renewal failed%s%s%s%s", *at ? " at " : "", at,
                     *err ? ": " : "", err) < 0)
                msg = NULL;
        /* ACME problem details and nginx output are not always UTF-8 */
        for (char *c = msg; c && *c; c++)
                if ((unsigned char)*c >= 0x80 || (unsigned char)*c < 0x20)
                        *c = '?';
        *w = (struct ssl_warning){.domain = db_column_strdup(s, 0), .message = msg};
        if (!w->domain || !msg) {
                free(w->domain);
                free(msg);
                *w = (struct ssl_warning){0};
                return -ENOMEM;
        }
        return 0;
}

int sched_ssl_warnings(struct db *db, struct ssl_warning **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (!table_exists(sql, "cert_attempts"))
                return 0;
        /* the latest attempt of each site's domain (by id: later rows are
         * later attempts), when it was a renewal and failed; a failed first
         * issuance is answered to whoever asked for it */
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "SELECT a.domain, COALESCE(a.created_at, ''), COALESCE(a.error, '')"
                 " FROM cert_attempts a"
                 " WHERE a.id = (SELECT MAX(b.id) FROM cert_attempts b WHERE b.domain = a.domain)"
                 " AND a.result = 'failed' AND a.kind IN ('auto', 'renew')"
                 " AND a.domain IN (SELECT domain FROM sites) ORDER BY a.domain");
        if (!s)
                return -EIO;
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct ssl_warning), warning_from_row, warning_clear_elem,
                           "list failed certificate attempts", &list, n);
        *out = list;
        return r;
}
