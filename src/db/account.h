/* What a panel user owns beyond the manager_users row: the sessions logins
 * issued, API tokens (stored as SHA-256 hex only) and TOTP 2FA state with
 * hashed recovery codes. Times are unix seconds unless named *_at (RFC 3339). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "db/db.h"

/* ---- sessions ---- */
struct session_row {
        long long id;
        char *jti;
        char *client_ip;
        char *user_agent;
        char *created_at;
        char *last_seen_at;
};
void session_row_clear(struct session_row *s);
/* Record a token a login issued. 0 or -EIO. */
int sessions_add(struct db *db, const char *jti, long long user_id, long long pwc, const char *ip,
                 const char *user_agent, long long expires);
/* The user's sessions still valid at now (not revoked, not expired, of the
 * current password), newest first. */
int sessions_list(struct db *db, long long user_id, time_t now, struct session_row **out,
                  size_t *n);
void sessions_list_free(struct session_row *list, size_t n);
/* End session id of user_id: its token is revoked and the row removed. The
 * jti is copied to jti_out (may be NULL). 0, -ENOENT, -EIO. */
int sessions_end(struct db *db, long long user_id, long long id, char jti_out[33]);
/* last_seen_at = now. 0 or -EIO. */
int sessions_touch(struct db *db, const char *jti);

/* ---- API tokens ---- */
struct api_token {
        long long id;
        long long user_id;
        char *name;
        char *scope;    /* "read" or "admin" */
        char *username; /* who created it */
        char *created_at;
        long long expires;
        long long last_used; /* 0: never */
};
void api_token_clear(struct api_token *t);
/* New id (> 0) or -EIO. */
long long apitokens_create(struct db *db, long long user_id, const char *name, const char *scope,
                           const char *hash_hex, long long expires);
/* All tokens, newest first. */
int apitokens_list(struct db *db, struct api_token **out, size_t *n);
void apitokens_list_free(struct api_token *list, size_t n);
/* 0, -ENOENT, -EIO */
int apitokens_delete(struct db *db, long long id);

/* What a request authenticated by a token needs. */
struct token_auth {
        long long id;
        long long user_id;
        char scope[8];
        char username[64];
        char role[16];
        long long expires;
        long long last_used;
};
/* By hash. 0, -ENOENT, -EIO. */
int apitokens_lookup(struct db *db, const char *hash_hex, struct token_auth *out);
int apitokens_touch(struct db *db, long long id, long long now);

/* ---- TOTP ---- */
struct totp_state {
        bool enabled;
        char secret[64];  /* base32; "" when none */
        char pending[64]; /* set up, not yet enabled */
        long long last_step;
};
/* 0, -ENOENT, -EIO */
int totp_state_get(struct db *db, long long user_id, struct totp_state *out);
int totp_set_pending(struct db *db, long long user_id, const char *secret);
/* pending becomes the secret, step is used, the recovery codes replace any
 * earlier ones; only when pending is still `pending` (-ESTALE otherwise). */
int totp_enable(struct db *db, long long user_id, const char *pending, long long step,
                const char *const *code_hashes, size_t ncodes);
/* Use time step `step`: only when it is after the last used one. 0, -EALREADY, -EIO. */
int totp_use_step(struct db *db, long long user_id, long long step);
/* Use a recovery code (by hash). 0, -ENOENT (unknown or used), -EIO. */
int totp_use_recovery(struct db *db, long long user_id, const char *code_hash);
/* Remaining unused recovery codes, or -EIO. */
long long totp_recovery_left(struct db *db, long long user_id);
int totp_disable(struct db *db, long long user_id);
