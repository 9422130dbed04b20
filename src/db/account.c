/* sessions, api_tokens, TOTP columns of manager_users and totp_recovery. */
#include "db/account.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db-internal.h"

static int step_done(sqlite3 *sql, sqlite3_stmt *s, const char *what)
{
        int rc = sqlite3_step(s);
        return rc == SQLITE_DONE ? 0 : db_step_error(sql, rc, what);
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
        if (v)
                sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(s, i);
}

/* ---- sessions ---- */

void session_row_clear(struct session_row *s)
{
        if (!s)
                return;
        free(s->jti);
        free(s->client_ip);
        free(s->user_agent);
        free(s->created_at);
        free(s->last_seen_at);
        *s = (struct session_row){0};
}

static void session_clear_elem(void *e)
{
        session_row_clear(e);
}

static int session_from_row(sqlite3_stmt *s, void *elem)
{
        struct session_row *r = elem;
        *r = (struct session_row){
            .id = sqlite3_column_int64(s, 0),
            .jti = db_column_strdup(s, 1),
            .client_ip = db_column_strdup(s, 2),
            .user_agent = db_column_strdup(s, 3),
            .created_at = db_column_strdup(s, 4),
            .last_seen_at = db_column_strdup(s, 5),
        };
        if (!r->jti || !r->created_at || !r->last_seen_at) {
                session_row_clear(r);
                return -ENOMEM;
        }
        return 0;
}

int sessions_add(struct db *db, const char *jti, long long user_id, long long pwc, const char *ip,
                 const char *user_agent, long long expires)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql,
            "INSERT INTO sessions (jti, user_id, pwc, client_ip, user_agent, created_at,"
            " last_seen_at, expires) VALUES (?, ?, ?, ?, ?, " DB_NOW_SQL ", " DB_NOW_SQL ", ?)");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, user_id);
        sqlite3_bind_int64(s, 3, pwc);
        bind_text_or_null(s, 4, ip);
        bind_text_or_null(s, 5, user_agent);
        sqlite3_bind_int64(s, 6, expires);
        int r = step_done(sql, s, "add session");
        if (r == 0) {
                /* expired rows of anyone go now and then: a login is rare enough */
                _cleanup_stmt_ sqlite3_stmt *d =
                    db_prepare(sql, "DELETE FROM sessions WHERE expires < ?");
                if (d) {
                        sqlite3_bind_int64(d, 1, (long long)time(NULL));
                        step_done(sql, d, "expire sessions");
                }
        }
        return r;
}

int sessions_list(struct db *db, long long user_id, time_t now, struct session_row **out, size_t *n)
{
        sqlite3 *sql = db_conn(db);
        *out = NULL;
        *n = 0;
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "SELECT s.id, s.jti, s.client_ip, s.user_agent, s.created_at, s.last_seen_at"
                 " FROM sessions s JOIN manager_users u ON u.id = s.user_id"
                 " WHERE s.user_id = ? AND s.expires > ? AND s.pwc = COALESCE(u.pw_changed, 0)"
                 " AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = s.jti)"
                 " ORDER BY s.id DESC");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, user_id);
        sqlite3_bind_int64(s, 2, (long long)now);
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct session_row), session_from_row, session_clear_elem,
                           "list sessions", &list, n);
        *out = list;
        return r;
}

void sessions_list_free(struct session_row *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), session_clear_elem);
}

int sessions_end(struct db *db, long long user_id, long long id, char jti_out[33])
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (db_exec(sql, "BEGIN IMMEDIATE") < 0)
                return -EIO;
        int r = 0;
        {
                _cleanup_stmt_ sqlite3_stmt *q = db_prepare(
                    sql, "SELECT jti, expires FROM sessions WHERE id = ? AND user_id = ?");
                _cleanup_stmt_ sqlite3_stmt *ins = db_prepare(
                    sql, "INSERT OR IGNORE INTO revoked_tokens (jti, expires) VALUES (?, ?)");
                _cleanup_stmt_ sqlite3_stmt *del =
                    db_prepare(sql, "DELETE FROM sessions WHERE id = ?");
                if (!q || !ins || !del) {
                        r = -EIO;
                        goto out;
                }
                sqlite3_bind_int64(q, 1, id);
                sqlite3_bind_int64(q, 2, user_id);
                int rc = sqlite3_step(q);
                if (rc == SQLITE_DONE) {
                        r = -ENOENT;
                        goto out;
                }
                if (rc != SQLITE_ROW) {
                        r = db_step_error(sql, rc, "read session");
                        goto out;
                }
                const char *jti = (const char *)sqlite3_column_text(q, 0);
                if (jti_out)
                        snprintf(jti_out, 33, "%s", jti ? jti : "");
                sqlite3_bind_text(ins, 1, jti ? jti : "", -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(ins, 2, sqlite3_column_int64(q, 1));
                sqlite3_bind_int64(del, 1, id);
                if ((r = step_done(sql, ins, "revoke session")) == 0)
                        r = step_done(sql, del, "delete session");
        }
out:
        if (r < 0) {
                db_exec(sql, "ROLLBACK");
                return r;
        }
        return db_exec(sql, "COMMIT") < 0 ? -EIO : 0;
}

int sessions_touch(struct db *db, const char *jti)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE sessions SET last_seen_at = " DB_NOW_SQL " WHERE jti = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
        return step_done(sql, s, "touch session");
}

/* ---- API tokens ---- */

void api_token_clear(struct api_token *t)
{
        if (!t)
                return;
        free(t->name);
        free(t->scope);
        free(t->username);
        free(t->created_at);
        *t = (struct api_token){0};
}

static void token_clear_elem(void *e)
{
        api_token_clear(e);
}

static int token_from_row(sqlite3_stmt *s, void *elem)
{
        struct api_token *t = elem;
        *t = (struct api_token){
            .id = sqlite3_column_int64(s, 0),
            .user_id = sqlite3_column_int64(s, 1),
            .name = db_column_strdup(s, 2),
            .scope = db_column_strdup(s, 3),
            .username = db_column_strdup(s, 4),
            .created_at = db_column_strdup(s, 5),
            .expires = sqlite3_column_int64(s, 6),
            .last_used = sqlite3_column_int64(s, 7),
        };
        if (!t->name || !t->scope || !t->username || !t->created_at) {
                api_token_clear(t);
                return -ENOMEM;
        }
        return 0;
}

long long apitokens_create(struct db *db, long long user_id, const char *name, const char *scope,
                           const char *hash_hex, long long expires)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "INSERT INTO api_tokens (user_id, name, scope, token_hash, created_at,"
                            " expires) VALUES (?, ?, ?, ?, " DB_NOW_SQL ", ?)");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, user_id);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, scope, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, hash_hex, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, expires);
        int r = step_done(sql, s, "create API token");
        return r < 0 ? r : sqlite3_last_insert_rowid(sql);
}

int apitokens_list(struct db *db, struct api_token **out, size_t *n)
{
        sqlite3 *sql = db_conn(db);
        *out = NULL;
        *n = 0;
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT t.id, t.user_id, t.name, t.scope, u.username, t.created_at,"
                            " t.expires, t.last_used FROM api_tokens t"
                            " JOIN manager_users u ON u.id = t.user_id ORDER BY t.id DESC");
        if (!s)
                return -EIO;
        void *list = NULL;
        int r = db_collect(sql, s, sizeof(struct api_token), token_from_row, token_clear_elem,
                           "list API tokens", &list, n);
        *out = list;
        return r;
}

void apitokens_list_free(struct api_token *list, size_t n)
{
        db_list_free(list, n, sizeof(*list), token_clear_elem);
}

int apitokens_delete(struct db *db, long long id)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, "DELETE FROM api_tokens WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, id);
        int r = step_done(sql, s, "delete API token");
        return r < 0 ? r : sqlite3_changes(sql) > 0 ? 0 : -ENOENT;
}

int apitokens_lookup(struct db *db, const char *hash_hex, struct token_auth *out)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT t.id, t.user_id, t.scope, u.username,"
                            " COALESCE(u.role, 'viewer'), t.expires, t.last_used"
                            " FROM api_tokens t JOIN manager_users u ON u.id = t.user_id"
                            " WHERE t.token_hash = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, hash_hex, -1, SQLITE_STATIC);
        int rc = db_step_row(sql, s, "look up API token");
        if (rc < 0)
                return rc;
        const char *scope = (const char *)sqlite3_column_text(s, 2);
        const char *user = (const char *)sqlite3_column_text(s, 3);
        const char *role = (const char *)sqlite3_column_text(s, 4);
        out->id = sqlite3_column_int64(s, 0);
        out->user_id = sqlite3_column_int64(s, 1);
        snprintf(out->scope, sizeof(out->scope), "%s", scope ? scope : "read");
        snprintf(out->username, sizeof(out->username), "%s", user ? user : "");
        snprintf(out->role, sizeof(out->role), "%s", role ? role : "viewer");
        out->expires = sqlite3_column_int64(s, 5);
        out->last_used = sqlite3_column_int64(s, 6);
        return 0;
}

int apitokens_touch(struct db *db, long long id, long long now)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE api_tokens SET last_used = ? WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, now);
        sqlite3_bind_int64(s, 2, id);
        return step_done(sql, s, "touch API token");
}

/* ---- TOTP ---- */

int totp_state_get(struct db *db, long long user_id, struct totp_state *out)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "SELECT totp_enabled, COALESCE(totp_secret, ''),"
                            " COALESCE(totp_pending, ''), totp_last_step FROM manager_users"
                            " WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, user_id);
        int rc = db_step_row(sql, s, "read TOTP state");
        if (rc < 0)
                return rc;
        *out = (struct totp_state){.enabled = sqlite3_column_int(s, 0) != 0,
                                   .last_step = sqlite3_column_int64(s, 3)};
        snprintf(out->secret, sizeof(out->secret), "%s", (const char *)sqlite3_column_text(s, 1));
        snprintf(out->pending, sizeof(out->pending), "%s", (const char *)sqlite3_column_text(s, 2));
        return 0;
}

int totp_set_pending(struct db *db, long long user_id, const char *secret)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE manager_users SET totp_pending = ? WHERE id = ?");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, secret, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, user_id);
        int r = step_done(sql, s, "store TOTP secret");
        return r < 0 ? r : sqlite3_changes(sql) > 0 ? 0 : -ENOENT;
}

int totp_enable(struct db *db, long long user_id, const char *pending, long long step,
                const char *const *code_hashes, size_t ncodes)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (db_exec(sql, "BEGIN IMMEDIATE") < 0)
                return -EIO;
        int r = 0;
        {
                _cleanup_stmt_ sqlite3_stmt *u = db_prepare(
                    sql, "UPDATE manager_users SET totp_secret = totp_pending, totp_pending = NULL,"
                         " totp_enabled = 1, totp_last_step = ? WHERE id = ? AND totp_pending = ?");
                _cleanup_stmt_ sqlite3_stmt *d =
                    db_prepare(sql, "DELETE FROM totp_recovery WHERE user_id = ?");
                _cleanup_stmt_ sqlite3_stmt *ins =
                    db_prepare(sql, "INSERT INTO totp_recovery (user_id, code_hash) VALUES (?, ?)");
                if (!u || !d || !ins) {
                        r = -EIO;
                        goto out;
                }
                sqlite3_bind_int64(u, 1, step);
                sqlite3_bind_int64(u, 2, user_id);
                sqlite3_bind_text(u, 3, pending, -1, SQLITE_STATIC);
                if ((r = step_done(sql, u, "enable TOTP")) < 0)
                        goto out;
                if (sqlite3_changes(sql) != 1) {
                        r = -ESTALE;
                        goto out;
                }
                sqlite3_bind_int64(d, 1, user_id);
                if ((r = step_done(sql, d, "clear recovery codes")) < 0)
                        goto out;
                for (size_t i = 0; i < ncodes && r == 0; i++) {
                        sqlite3_reset(ins);
                        sqlite3_bind_int64(ins, 1, user_id);
                        sqlite3_bind_text(ins, 2, code_hashes[i], -1, SQLITE_STATIC);
                        r = step_done(sql, ins, "store recovery code");
                }
        }
out:
        if (r < 0) {
                db_exec(sql, "ROLLBACK");
                return r;
        }
        return db_exec(sql, "COMMIT") < 0 ? -EIO : 0;
}

int totp_use_step(struct db *db, long long user_id, long long step)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "UPDATE manager_users SET totp_last_step = ?1"
                            " WHERE id = ?2 AND totp_last_step < ?1");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, step);
        sqlite3_bind_int64(s, 2, user_id);
        int r = step_done(sql, s, "use TOTP step");
        return r < 0 ? r : sqlite3_changes(sql) == 1 ? 0 : -EALREADY;
}

int totp_use_recovery(struct db *db, long long user_id, const char *code_hash)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "UPDATE totp_recovery SET used_at = " DB_NOW_SQL " WHERE id = (SELECT id FROM"
                 " totp_recovery WHERE user_id = ? AND code_hash = ? AND used_at IS NULL LIMIT 1)");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, user_id);
        sqlite3_bind_text(s, 2, code_hash, -1, SQLITE_STATIC);
        int r = step_done(sql, s, "use recovery code");
        return r < 0 ? r : sqlite3_changes(sql) == 1 ? 0 : -ENOENT;
}

long long totp_recovery_left(struct db *db, long long user_id)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(
            sql, "SELECT COUNT(*) FROM totp_recovery WHERE user_id = ? AND used_at IS NULL");
        if (!s)
                return -EIO;
        sqlite3_bind_int64(s, 1, user_id);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return db_step_error(sql, rc, "count recovery codes");
        return sqlite3_column_int64(s, 0);
}

int totp_disable(struct db *db, long long user_id)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        if (db_exec(sql, "BEGIN IMMEDIATE") < 0)
                return -EIO;
        int r;
        {
                _cleanup_stmt_ sqlite3_stmt *u = db_prepare(
                    sql, "UPDATE manager_users SET totp_secret = NULL, totp_pending = NULL,"
                         " totp_enabled = 0 WHERE id = ?");
                _cleanup_stmt_ sqlite3_stmt *d =
                    db_prepare(sql, "DELETE FROM totp_recovery WHERE user_id = ?");
                r = u && d ? 0 : -EIO;
                if (r == 0) {
                        sqlite3_bind_int64(u, 1, user_id);
                        sqlite3_bind_int64(d, 1, user_id);
                        r = step_done(sql, u, "disable TOTP");
                        if (r == 0)
                                r = step_done(sql, d, "clear recovery codes");
                }
        }
        if (r < 0) {
                db_exec(sql, "ROLLBACK");
                return r;
        }
        return db_exec(sql, "COMMIT") < 0 ? -EIO : 0;
}
