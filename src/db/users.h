/* manager_users: panel accounts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "db/db.h"

struct panel_user {
        long long id;
        char *username;
        char *password_hash; /* never leaves the db/api layer in responses */
        char *role;          /* "admin" or "viewer" */
        bool force_change;
        char *last_login;     /* RFC 3339 UTC or NULL */
        char *created_at;     /* RFC 3339 UTC */
        long long pw_changed; /* password generation: unix seconds of the last change,
                               * strictly increasing even within one second */
};

void panel_user_clear(struct panel_user *u);

/* 0, -ENOENT, -EIO */
int users_get_by_name(struct db *db, const char *username, struct panel_user *out);
int users_get_by_id(struct db *db, long long id, struct panel_user *out);
/* Ordered by username. *out is a malloc'd array (free with users_list_free). */
int users_list(struct db *db, struct panel_user **out, size_t *n);
void users_list_free(struct panel_user *list, size_t n);
/* Returns the new id (>0), -EEXIST for a duplicate username, -EIO. */
long long users_create(struct db *db, const char *username, const char *password_hash,
                       const char *role);
/* NULL fields are left unchanged. A new hash also resets force_change and sets pw_changed. 0,
 * -ENOENT, -EIO */
int users_update(struct db *db, long long id, const char *password_hash, const char *role);
int users_delete(struct db *db, long long id);
int users_touch_login(struct db *db, long long id);
/* Number of users (role NULL) or with that role. <0 on error. */
long long users_count(struct db *db, const char *role);
/* The last-admin rule done atomically: delete (new_role NULL) or demote user id
 * to new_role unless that leaves no admin. 0, -ENOENT, -EBUSY (would leave no
 * admin), -EIO. */
int users_delete_or_demote_guarded(struct db *db, long long id, const char *new_role);

/* Token revocation (logout): jti stays revoked until expires (unix seconds). */
int tokens_revoke(struct db *db, const char *jti, long long expires);
/* 1 revoked, 0 not, <0 error. Also deletes expired entries now and then. */
int tokens_is_revoked(struct db *db, const char *jti);

/* What every authenticated request needs about its token's user, in one
 * query on a statement kept per thread. */
struct session_user {
        char username[64];
        char role[16];
        long long pw_changed;
        bool revoked; /* the token's jti is revoked */
};
/* 0, -ENOENT (no such user), -EIO. */
int users_session_check(struct db *db, long long id, const char *jti, struct session_user *out);

/* Count of rows in sites. */
long long sites_count(struct db *db);
