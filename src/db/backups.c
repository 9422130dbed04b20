/* backups rows and database snapshots. */
#include "db/backups.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "db/db-internal.h"

/* Reference rows may carry NULLs where the schema has defaults; the site's
 * domain is the one it has now (NULL for a full backup or a deleted site). */
#define BACKUP_SELECT                                                                              \
        "SELECT b.id, COALESCE(b.site_id, 0), COALESCE(b.backup_type, 'site'), b.file_path,"       \
        " COALESCE(b.size_bytes, 0), COALESCE(b.created_at, ''), s.domain"                         \
        " FROM backups b LEFT JOIN sites s ON s.id = b.site_id"

void backup_rec_clear(struct backup_rec *b)
{
        if (!b)
                return;
        free(b->type);
        free(b->path);
        free(b->created_at);
        free(b->domain);
        *b = (struct backup_rec){0};
}

static void clear_elem(void *e)
{
        backup_rec_clear(e);
}

void backups_list_free(struct backup_rec *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), clear_elem);
}

static int from_row(sqlite3_stmt *s, void *elem)
{
        struct backup_rec *b = elem;
        *b = (struct backup_rec){
            .id = sqlite3_column_int64(s, 0),
            .site_id = sqlite3_column_int64(s, 1),
            .type = db_column_strdup(s, 2),
            .path = db_column_strdup(s, 3),
            .size = sqlite3_column_int64(s, 4),
            .created_at = db_column_strdup(s, 5),
            .domain = db_column_strdup(s, 6),
        };
        if (!b->type || !b->path || !b->created_at ||
            (!b->domain && sqlite3_column_type(s, 6) != SQLITE_NULL)) {
                backup_rec_clear(b);
                return -ENOMEM;
        }
        return 0;
}

long long backups_insert(struct db *db, long long site_id, const char *type, const char *path,
                         long long size)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "INSERT INTO backups (site_id, backup_type, file_path, size_bytes, created_at)"
                 " VALUES (?, ?, ?, ?, " DB_NOW_SQL ")");
        if (!s)
                return -EIO;
        if (site_id > 0)
                sqlite3_bind_int64(s, 1, site_id);
        else
                sqlite3_bind_null(s, 1);
        sqlite3_bind_text(s, 2, type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, size);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "insert backup");
        return sqlite3_last_insert_rowid(sql);
}

int backups_get(struct db *db, long long id, struct backup_rec *out)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, BACKUP_SELECT " WHERE b.id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        int rc = db_step_row(sql, s, "read backup");
        if (rc < 0)
                return rc;
        return from_row(s, out);
}

int backups_list(struct db *db, struct backup_rec **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, BACKUP_SELECT " ORDER BY b.created_at DESC, b.id DESC");
        if (!s)
                return -EIO;
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct backup_rec), from_row, clear_elem, "list backups",
                           &list, n);
        *out = list;
        return r;
}

int backups_delete(struct db *db, long long id)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, "DELETE FROM backups WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        return db_step_changed(sql, s, "delete backup");
}

int backups_site_lookup(struct db *db, long long site_id, char **domain, char **app_root)
{
        *domain = *app_root = NULL;
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT domain, app_root FROM sites WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, site_id);
        int rc = db_step_row(sql, s, "read site");
        if (rc < 0)
                return rc;
        *domain = db_column_strdup(s, 0);
        *app_root = db_column_strdup(s, 1);
        if (!*domain || !*app_root) {
                free(*domain);
                free(*app_root);
                *domain = *app_root = NULL;
                return -ENOMEM;
        }
        return 0;
}

int db_snapshot(struct db *db, const char *dest)
{
        sqlite3 *src = db_conn(db);
        if (!src)
                return -EIO;
        /* created here so the copy of a database holding secrets is never
         * readable by others, not even for a moment */
        int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        close(fd);
        sqlite3 *dst = NULL;
        int r = -EIO;
        if (sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
                sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
                if (b) {
                        /* -1: every page in one step, so no writer can make
                         * it start over */
                        int rc = sqlite3_backup_step(b, -1);
                        sqlite3_backup_finish(b);
                        if (rc == SQLITE_DONE)
                                r = 0;
                        else
                                log_error("db snapshot: %s", sqlite3_errstr(rc));
                } else {
                        log_error("db snapshot: %s", sqlite3_errmsg(dst));
                }
        }
        if (sqlite3_close(dst) != SQLITE_OK && r == 0)
                r = -EIO;
        if (r < 0)
                unlink(dest);
        return r;
}
