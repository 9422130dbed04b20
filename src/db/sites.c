/* sites and deployments rows. */
#include "db/sites.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "db/db-internal.h"

/* Reference rows may carry NULLs where the schema has defaults. */
#define SITE_COLUMNS                                                                               \
        "id, domain, COALESCE(aliases, ''), COALESCE(app_type, 'static'), app_root,"               \
        " COALESCE(app_port, 0), COALESCE(app_entry, ''), COALESCE(git_repo, ''),"                 \
        " COALESCE(git_branch, 'main'), COALESCE(ssl_enabled, 0), COALESCE(ssl_cert_path, ''),"    \
        " COALESCE(ssl_key_path, ''), COALESCE(ssl_auto, 1), COALESCE(enabled, 1),"                \
        " COALESCE(created_at, ''), COALESCE(updated_at, ''), COALESCE(max_body_size, ''),"        \
        " COALESCE(security_headers, 'default')"

#define DEPLOY_COLUMNS                                                                             \
        "id, COALESCE(site_id, 0), action, COALESCE(status, 'pending'), COALESCE(output, ''),"     \
        " COALESCE(started_at, ''), finished_at"

/* Booleans written by the reference are 1/0; a hand-edited 'true' counts too. */
static bool column_bool(sqlite3_stmt *s, int col)
{
        if (sqlite3_column_type(s, col) == SQLITE_TEXT) {
                const char *t = (const char *)sqlite3_column_text(s, col);
                return t && (streq(t, "1") || strcasecmp(t, "true") == 0);
        }
        return sqlite3_column_int64(s, col) != 0;
}

static int site_from_row(sqlite3_stmt *s, void *elem)
{
        struct site *o = elem;
        *o = (struct site){
            .id = sqlite3_column_int64(s, 0),
            .domain = db_column_strdup(s, 1),
            .aliases = db_column_strdup(s, 2),
            .app_root = db_column_strdup(s, 4),
            .app_port = sqlite3_column_int(s, 5),
            .app_entry = db_column_strdup(s, 6),
            .git_repo = db_column_strdup(s, 7),
            .git_branch = db_column_strdup(s, 8),
            .ssl_enabled = column_bool(s, 9),
            .ssl_cert_path = db_column_strdup(s, 10),
            .ssl_key_path = db_column_strdup(s, 11),
            .ssl_auto = column_bool(s, 12),
            .enabled = column_bool(s, 13),
            .created_at = db_column_strdup(s, 14),
            .updated_at = db_column_strdup(s, 15),
            .max_body_size = db_column_strdup(s, 16),
        };
        const char *type = (const char *)sqlite3_column_text(s, 3);
        if (app_type_parse(type ? type : "", &o->app_type) < 0) {
                log_warn("site %lld: unknown app_type '%s', treated as static", o->id,
                         type ? type : "");
                o->app_type = APP_STATIC;
        }
        const char *headers = (const char *)sqlite3_column_text(s, 17);
        if (site_headers_parse(headers ? headers : "", &o->security_headers) < 0) {
                log_warn("site %lld: unknown security_headers '%s', treated as default", o->id,
                         headers ? headers : "");
                o->security_headers = SITE_HEADERS_DEFAULT;
        }
        if (!o->domain || !o->aliases || !o->app_root || !o->app_entry || !o->git_repo ||
            !o->git_branch || !o->ssl_cert_path || !o->ssl_key_path || !o->created_at ||
            !o->updated_at || !o->max_body_size) {
                site_clear(o);
                return -ENOMEM;
        }
        return 0;
}

static void site_clear_elem(void *e)
{
        site_clear(e);
}

void sites_list_free(struct site *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), site_clear_elem);
}

int sites_list(struct db *db, struct site **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " SITE_COLUMNS " FROM sites ORDER BY domain, id");
        if (!s)
                return -EIO;
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct site), site_from_row, site_clear_elem,
                           "list sites", &list, n);
        *out = list;
        return r;
}

static int get_one(struct db *db, const char *where, long long id, const char *text,
                   struct site *out)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_strbuf_ struct strbuf q = STRBUF_INIT(0);
        if (strbuf_printf(&q, "SELECT " SITE_COLUMNS " FROM sites WHERE %s", where) < 0)
                return -ENOMEM;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, q.data);
        if (!s)
                return -EIO;
        if (text)
                sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
        else
                sqlite3_bind_int64(s, 1, id);
        int rc = db_step_row(sql, s, "read site");
        if (rc < 0)
                return rc;
        return site_from_row(s, out);
}

int sites_get(struct db *db, long long id, struct site *out)
{
        return get_one(db, "id = ?", id, NULL, out);
}

int sites_get_by_domain(struct db *db, const char *domain, struct site *out)
{
        return get_one(db, "domain = ?", 0, domain, out);
}

static const char *nz(const char *s)
{
        return s ? s : "";
}

long long sites_insert(struct db *db, const struct site *st)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "INSERT INTO sites (domain, aliases, app_type, app_root, app_port, app_entry,"
                 " git_repo, git_branch, ssl_enabled, ssl_cert_path, ssl_key_path, ssl_auto,"
                 " enabled, max_body_size, security_headers, created_at, updated_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " DB_NOW_SQL ", " DB_NOW_SQL
                 ")");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, nz(st->domain), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, nz(st->aliases), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, app_type_name(st->app_type), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, nz(st->app_root), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 5, st->app_port);
        sqlite3_bind_text(s, 6, nz(st->app_entry), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, nz(st->git_repo), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, nz(st->git_branch), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 9, st->ssl_enabled);
        sqlite3_bind_text(s, 10, nz(st->ssl_cert_path), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 11, nz(st->ssl_key_path), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 12, st->ssl_auto);
        sqlite3_bind_int(s, 13, st->enabled);
        sqlite3_bind_text(s, 14, nz(st->max_body_size), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 15, site_headers_name(st->security_headers), -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT)
                return -EEXIST;
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "insert site");
        return sqlite3_last_insert_rowid(sql);
}

int sites_update(struct db *db, const struct site *st, unsigned mask)
{
        static const char *const cols[] = {
            "domain",       "aliases",  "app_type",   "app_root",      "app_port",
            "app_entry",    "git_repo", "git_branch", "ssl_enabled",   "ssl_cert_path",
            "ssl_key_path", "ssl_auto", "enabled",    "max_body_size", "security_headers",
        };
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_strbuf_ struct strbuf q = STRBUF_INIT(0);
        strbuf_puts(&q, "UPDATE sites SET ");
        for (size_t i = 0; i < ARRAY_SIZE(cols); i++)
                if (mask & (1u << i))
                        strbuf_printf(&q, "%s = ?%zu, ", cols[i], i + 1);
        strbuf_puts(&q, "updated_at = " DB_NOW_SQL " WHERE id = ?20");
        if (!q.data)
                return -ENOMEM;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, q.data);
        if (!s)
                return -EIO;
        /* ?N parameters that the statement does not use are ignored by SQLite
         * only when they exist in it: bind just the ones in the mask */
        for (size_t i = 0; i < ARRAY_SIZE(cols); i++) {
                if (!(mask & (1u << i)))
                        continue;
                int p = (int)i + 1;
                switch (1u << i) {
                case SITE_COL_DOMAIN:
                        sqlite3_bind_text(s, p, nz(st->domain), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_ALIASES:
                        sqlite3_bind_text(s, p, nz(st->aliases), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_APP_TYPE:
                        sqlite3_bind_text(s, p, app_type_name(st->app_type), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_APP_ROOT:
                        sqlite3_bind_text(s, p, nz(st->app_root), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_APP_PORT:
                        sqlite3_bind_int(s, p, st->app_port);
                        break;
                case SITE_COL_APP_ENTRY:
                        sqlite3_bind_text(s, p, nz(st->app_entry), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_GIT_REPO:
                        sqlite3_bind_text(s, p, nz(st->git_repo), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_GIT_BRANCH:
                        sqlite3_bind_text(s, p, nz(st->git_branch), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_SSL_ENABLED:
                        sqlite3_bind_int(s, p, st->ssl_enabled);
                        break;
                case SITE_COL_SSL_CERT_PATH:
                        sqlite3_bind_text(s, p, nz(st->ssl_cert_path), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_SSL_KEY_PATH:
                        sqlite3_bind_text(s, p, nz(st->ssl_key_path), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_SSL_AUTO:
                        sqlite3_bind_int(s, p, st->ssl_auto);
                        break;
                case SITE_COL_ENABLED:
                        sqlite3_bind_int(s, p, st->enabled);
                        break;
                case SITE_COL_MAX_BODY_SIZE:
                        sqlite3_bind_text(s, p, nz(st->max_body_size), -1, SQLITE_STATIC);
                        break;
                case SITE_COL_SECURITY_HEADERS:
                        sqlite3_bind_text(s, p, site_headers_name(st->security_headers), -1,
                                          SQLITE_STATIC);
                        break;
                }
        }
        sqlite3_bind_int64(s, 20, st->id);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT)
                return -EEXIST;
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "update site");
        return sqlite3_changes(sql) > 0 ? 0 : -ENOENT;
}

static int exec_bound(sqlite3 *sql, const char *q, long long id, const char *what)
{
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, q);
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        int rc = sqlite3_step(s);
        return rc == SQLITE_DONE ? 0 : db_step_error(sql, rc, what);
}

int sites_delete(struct db *db, long long id)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        int r = db_exec(sql, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = exec_bound(sql, "UPDATE deployments SET site_id = NULL WHERE site_id = ?", id,
                       "detach deployments");
        if (r == 0)
                r = exec_bound(sql, "UPDATE backups SET site_id = NULL WHERE site_id = ?", id,
                               "detach backups");
        if (r == 0)
                r = exec_bound(sql, "DELETE FROM cron_jobs WHERE site_id = ?", id,
                               "delete cron jobs");
        if (r == 0) {
                r = exec_bound(sql, "DELETE FROM sites WHERE id = ?", id, "delete site");
                if (r == 0 && sqlite3_changes(sql) == 0)
                        r = -ENOENT;
        }
        if (r < 0) {
                db_exec(sql, "ROLLBACK");
                return r;
        }
        return db_exec(sql, "COMMIT");
}

int sites_used_ports(struct db *db, long long except_id, int **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "SELECT app_port FROM sites WHERE app_port > 0 AND id != ? ORDER BY app_port");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, except_id);
        int *list = NULL;
        size_t len = 0, cap = 0;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                if (len == cap) {
                        size_t ncap = cap ? cap * 2 : 32;
                        int *p = reallocarray(list, ncap, sizeof(*list));
                        if (!p) {
                                free(list);
                                return -ENOMEM;
                        }
                        list = p;
                        cap = ncap;
                }
                list[len++] = sqlite3_column_int(s, 0);
        }
        if (rc != SQLITE_DONE) {
                free(list);
                return db_step_error(sql, rc, "list ports");
        }
        *out = list;
        *n = len;
        return 0;
}

int sites_root_conflict(struct db *db, const char *app_root, long long except_id, char *domain,
                        size_t domainlen)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT domain, app_root FROM sites WHERE id != ? ORDER BY id");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, except_id);
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                const char *root = (const char *)sqlite3_column_text(s, 1);
                if (!root || !site_roots_overlap(root, app_root))
                        continue;
                const char *d = (const char *)sqlite3_column_text(s, 0);
                if (domain && domainlen)
                        snprintf(domain, domainlen, "%s", d ? d : "");
                return 0;
        }
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "check app_root");
        return -ENOENT;
}

/* ---- deployments ---- */

void deployment_clear(struct deployment *d)
{
        if (!d)
                return;
        free(d->type);
        free(d->status);
        free(d->output);
        free(d->created_at);
        free(d->finished_at);
        *d = (struct deployment){0};
}

static void deployment_clear_elem(void *e)
{
        deployment_clear(e);
}

void deployments_list_free(struct deployment *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), deployment_clear_elem);
}

static int deployment_from_row(sqlite3_stmt *s, void *elem)
{
        struct deployment *d = elem;
        *d = (struct deployment){
            .id = sqlite3_column_int64(s, 0),
            .site_id = sqlite3_column_int64(s, 1),
            .type = db_column_strdup(s, 2),
            .status = db_column_strdup(s, 3),
            .output = db_column_strdup(s, 4),
            .created_at = db_column_strdup(s, 5),
            .finished_at = db_column_strdup(s, 6),
        };
        if (!d->type || !d->status || !d->output || !d->created_at ||
            (!d->finished_at && sqlite3_column_type(s, 6) != SQLITE_NULL)) {
                deployment_clear(d);
                return -ENOMEM;
        }
        return 0;
}

long long deployments_insert(struct db *db, long long site_id, const char *action)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "INSERT INTO deployments (site_id, action, status, output, started_at)"
                            " VALUES (?, ?, 'running', '', " DB_NOW_SQL ")");
        if (!s)
                return -EIO;
        if (site_id > 0)
                sqlite3_bind_int64(s, 1, site_id);
        else
                sqlite3_bind_null(s, 1);
        sqlite3_bind_text(s, 2, action, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "insert deployment");
        return sqlite3_last_insert_rowid(sql);
}

int deployments_append_output(struct db *db, long long id, const char *data, size_t len)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "UPDATE deployments SET output = COALESCE(output, '') || ? WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, data, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, id);
        return db_step_changed(sql, s, "append deployment output");
}

int deployments_set_output(struct db *db, long long id, const char *output)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE deployments SET output = ? WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, nz(output), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, id);
        return db_step_changed(sql, s, "write deployment output");
}

int deployments_finish(struct db *db, long long id, bool ok, const char *output)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE deployments SET status = ?, output = COALESCE(?, output),"
                            " finished_at = " DB_NOW_SQL " WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, ok ? "success" : "failed", -1, SQLITE_STATIC);
        if (output)
                sqlite3_bind_text(s, 2, output, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(s, 2);
        sqlite3_bind_int64(s, 3, id);
        return db_step_changed(sql, s, "finish deployment");
}

int deployments_list(struct db *db, long long site_id, size_t limit, struct deployment **out,
                     size_t *n)
{
        *out = NULL;
        *n = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " DEPLOY_COLUMNS " FROM deployments WHERE site_id = ?"
                            " ORDER BY id DESC LIMIT ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, site_id);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct deployment), deployment_from_row,
                           deployment_clear_elem, "list deployments", &list, n);
        *out = list;
        return r;
}

int deployments_get(struct db *db, long long id, struct deployment *out)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " DEPLOY_COLUMNS " FROM deployments WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        int rc = db_step_row(sql, s, "read deployment");
        if (rc < 0)
                return rc;
        return deployment_from_row(s, out);
}

int deployments_fail_stale(struct db *db, const char *note)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "UPDATE deployments SET status = 'failed', finished_at = " DB_NOW_SQL ","
                 " output = COALESCE(output, '') || ? WHERE status = 'running'");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, nz(note), -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "fail stale deployments");
        return sqlite3_changes(sql);
}

/* ---- sites.dns_provider ---- */

int sites_set_dns_provider(struct db *db, long long id, const char *provider)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE sites SET dns_provider = ? WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, nz(provider), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, id);
        return db_step_changed(sql, s, "set dns_provider");
}

int sites_get_dns_provider(struct db *db, long long id, char **out)
{
        *out = NULL;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT COALESCE(dns_provider, '') FROM sites WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        int rc = db_step_row(sql, s, "read dns_provider");
        if (rc < 0)
                return rc;
        *out = db_column_strdup(s, 0);
        return *out ? 0 : -ENOMEM;
}
