/* manager_users, revoked_tokens and the sites count. */
#include "db/users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "db/db-internal.h"

/* A NULL role (possible only in a hand-edited reference DB) reads as the
 * least privileged one. */
#define USER_COLUMNS                                                                               \
        "id, username, password_hash, COALESCE(role, 'viewer'), force_change, last_login,"         \
        " COALESCE(created_at, ''), COALESCE(pw_changed, 0)"

void panel_user_clear(struct panel_user *u)
{
        if (!u)
                return;
        free(u->username);
        free(u->password_hash);
        free(u->role);
        free(u->last_login);
        free(u->created_at);
        *u = (struct panel_user){0};
}

static int user_from_row(sqlite3_stmt *s, void *elem)
{
        struct panel_user *u = elem;
        *u = (struct panel_user){
            .id = sqlite3_column_int64(s, 0),
            .username = db_column_strdup(s, 1),
            .password_hash = db_column_strdup(s, 2),
            .role = db_column_strdup(s, 3),
            .force_change = sqlite3_column_int(s, 4) != 0,
            .last_login = db_column_strdup(s, 5),
            .created_at = db_column_strdup(s, 6),
            .pw_changed = sqlite3_column_int64(s, 7),
        };
        if (!u->username || !u->password_hash || !u->role || !u->created_at ||
            (!u->last_login && sqlite3_column_type(s, 5) != SQLITE_NULL)) {
                panel_user_clear(u);
                return -ENOMEM;
        }
        return 0;
}

static int get_one(sqlite3 *sql, sqlite3_stmt *s, struct panel_user *out)
{
        int rc = db_step_row(sql, s, "read user");
        if (rc < 0)
                return rc;
        return user_from_row(s, out);
}

int users_get_by_name(struct db *db, const char *username, struct panel_user *out)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (!username)
                return -ENOENT;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " USER_COLUMNS " FROM manager_users WHERE username = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, username, -1, SQLITE_STATIC);
        return get_one(sql, s, out);
}

int users_get_by_id(struct db *db, long long id, struct panel_user *out)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " USER_COLUMNS " FROM manager_users WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        return get_one(sql, s, out);
}

static void clear_elem(void *e)
{
        panel_user_clear(e);
}

void users_list_free(struct panel_user *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), clear_elem);
}

int users_list(struct db *db, struct panel_user **out, size_t *n)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT " USER_COLUMNS " FROM manager_users ORDER BY username");
        if (!s)
                return -EIO;

        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct panel_user), user_from_row, clear_elem,
                           "list users", &list, n);
        *out = list;
        return r;
}

long long users_create(struct db *db, const char *username, const char *password_hash,
                       const char *role)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (!username || !password_hash || !role)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "INSERT INTO manager_users"
                            " (username, password_hash, role, force_change, created_at, pw_changed)"
                            " VALUES (?, ?, ?, 0, " DB_NOW_SQL ", ?)");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, username, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, password_hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, role, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, (long long)time(NULL));
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE) {
                if (sqlite3_extended_errcode(sql) == SQLITE_CONSTRAINT_UNIQUE)
                        return -EEXIST;
                return db_step_error(sql, rc, "create user");
        }
        return sqlite3_last_insert_rowid(sql);
}

static int update_user(sqlite3 *sql, long long id, const char *password_hash, const char *role)
{
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE manager_users SET"
                            " password_hash = COALESCE(?1, password_hash),"
                            " role = COALESCE(?2, role),"
                            " force_change = CASE WHEN ?1 IS NULL THEN force_change ELSE 0 END,"
                            " pw_changed = CASE WHEN ?1 IS NULL THEN pw_changed"
                            "   ELSE MAX(?3, COALESCE(pw_changed, 0) + 1) END"
                            " WHERE id = ?4");
        if (!s)
                return -EIO;
        if (password_hash)
                sqlite3_bind_text(s, 1, password_hash, -1, SQLITE_STATIC);
        if (role)
                sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (long long)time(NULL));
        sqlite3_bind_int64(s, 4, id);
        return db_step_changed(sql, s, "update user");
}

int users_update(struct db *db, long long id, const char *password_hash, const char *role)
{
        sqlite3 *sql = db_conn(db);
        return sql ? update_user(sql, id, password_hash, role) : -EIO;
}

/* float_sessions.user_id references the user and foreign keys are enforced,
 * so the user's sessions go with it. Runs inside the caller's transaction. */
static int delete_user(sqlite3 *sql, long long id)
{
        _cleanup_stmt_ sqlite3_stmt *fs =
            db_prepare(sql, "DELETE FROM float_sessions WHERE user_id = ?");
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, "DELETE FROM manager_users WHERE id = ?");
        if (!fs || !s)
                return -EIO;
        sqlite3_bind_int64(fs, 1, id);
        int rc = sqlite3_step(fs);
        if (rc != SQLITE_DONE)
                return db_step_error(sql, rc, "delete float sessions of user");
        sqlite3_bind_int64(s, 1, id);
        return db_step_changed(sql, s, "delete user");
}

static int finish_tx(sqlite3 *sql, int r)
{
        if (r < 0) {
                db_exec(sql, "ROLLBACK");
                return r;
        }
        if (db_exec(sql, "COMMIT") < 0) {
                db_exec(sql, "ROLLBACK");
                return -EIO;
        }
        return r;
}

int users_delete(struct db *db, long long id)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (db_exec(sql, "BEGIN IMMEDIATE") < 0)
                return -EIO;
        return finish_tx(sql, delete_user(sql, id));
}

int users_touch_login(struct db *db, long long id)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE manager_users SET last_login = " DB_NOW_SQL " WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        return db_step_changed(sql, s, "touch login");
}

static long long count_query(sqlite3 *sql, const char *query, const char *text, long long id,
                             bool bind_id)
{
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, query);
        if (!s)
                return -EIO;
        int i = 1;
        if (text)
                sqlite3_bind_text(s, i++, text, -1, SQLITE_STATIC);
        if (bind_id)
                sqlite3_bind_int64(s, i, id);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return db_step_error(sql, rc, "count");
        return sqlite3_column_int64(s, 0);
}

long long users_count(struct db *db, const char *role)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (!role)
                return count_query(sql, "SELECT COUNT(*) FROM manager_users", NULL, 0, false);
        return count_query(sql, "SELECT COUNT(*) FROM manager_users WHERE role = ?", role, 0,
                           false);
}

/* Read, check and write under one write lock (BEGIN IMMEDIATE): two requests
 * removing the last two admins are serialised, and the second sees -EBUSY. */
static int guarded(sqlite3 *sql, long long id, const char *new_role)
{
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT COALESCE(role, '') FROM manager_users WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        int rc = db_step_row(sql, s, "read user role");
        if (rc < 0)
                return rc;
        bool is_admin = streq((const char *)sqlite3_column_text(s, 0), "admin");

        if (is_admin && !streq(new_role, "admin")) {
                long long others = count_query(
                    sql, "SELECT COUNT(*) FROM manager_users WHERE role = ? AND id <> ?", "admin",
                    id, true);
                if (others < 0)
                        return (int)others;
                if (others == 0)
                        return -EBUSY;
        }
        return new_role ? update_user(sql, id, NULL, new_role) : delete_user(sql, id);
}

int users_delete_or_demote_guarded(struct db *db, long long id, const char *new_role)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (db_exec(sql, "BEGIN IMMEDIATE") < 0)
                return -EIO;
        return finish_tx(sql, guarded(sql, id, new_role));
}

int tokens_revoke(struct db *db, const char *jti, long long expires)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (str_empty(jti))
                return -EINVAL;
        /* Revoking twice keeps the later expiry. */
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "INSERT INTO revoked_tokens (jti, expires) VALUES (?, ?)"
                 " ON CONFLICT(jti) DO UPDATE SET expires = MAX(expires, excluded.expires)");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, expires);
        int rc = sqlite3_step(s);
        return rc == SQLITE_DONE ? 0 : db_step_error(sql, rc, "revoke token");
}

/* Expired entries are useless (the token itself no longer verifies), so they
 * are swept every PRUNE_EVERY lookups instead of by a timer. */
#define PRUNE_EVERY 256
static unsigned long lookups;

static void prune_revoked(sqlite3 *sql)
{
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "DELETE FROM revoked_tokens WHERE expires < ?");
        if (!s)
                return;
        sqlite3_bind_int64(s, 1, (long long)time(NULL));
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                db_step_error(sql, rc, "prune revoked tokens");
}

int tokens_is_revoked(struct db *db, const char *jti)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (!jti)
                return -EINVAL;
        if (__atomic_add_fetch(&lookups, 1, __ATOMIC_RELAXED) % PRUNE_EVERY == 0)
                prune_revoked(sql);

        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT 1 FROM revoked_tokens WHERE jti = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                return 1;
        return rc == SQLITE_DONE ? 0 : db_step_error(sql, rc, "look up revoked token");
}

long long sites_count(struct db *db)
{
        sqlite3 *sql = db_conn(db);
        return sql ? count_query(sql, "SELECT COUNT(*) FROM sites", NULL, 0, false) : -EIO;
}

int users_session_check(struct db *db, long long id, const char *jti, struct session_user *out)
{
        sqlite3_stmt *s =
            db_cached_stmt(db, DB_STMT_SESSION,
                           "SELECT username, COALESCE(role, 'viewer'), COALESCE(pw_changed, 0),"
                           " EXISTS(SELECT 1 FROM revoked_tokens WHERE jti = ?2)"
                           " FROM manager_users WHERE id = ?1");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, jti, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        int r = 0;
        if (rc == SQLITE_ROW) {
                const char *u = (const char *)sqlite3_column_text(s, 0);
                const char *role = (const char *)sqlite3_column_text(s, 1);
                snprintf(out->username, sizeof(out->username), "%s", u ? u : "");
                snprintf(out->role, sizeof(out->role), "%s", role ? role : "viewer");
                out->pw_changed = sqlite3_column_int64(s, 2);
                out->revoked = sqlite3_column_int(s, 3) != 0;
        } else if (rc == SQLITE_DONE) {
                r = -ENOENT;
        } else {
                r = db_step_error(sqlite3_db_handle(s), rc, "session check");
        }
        sqlite3_reset(s); /* release the read transaction */
        return r;
}
