/* Session tokens: JWT HS256 (algorithm pinned, "none" and every other alg
 * refused), claims user_id, username, role, iat, exp, jti. */
#pragma once

#include <stddef.h>
#include <time.h>

#define TOKEN_KEY_LEN 32
#define TOKEN_TTL     (24 * 3600)

struct token_claims {
        long long user_id;
        char username[64];
        char role[16];
        long long iat, exp;
        char jti[33];  /* 32 hex chars */
        long long pwc; /* the user's password generation when issued */
};

/* Load the 32-byte key from path, or create it (0600, parent dir 0700 if
 * missing). A file of the wrong size is an error (-EINVAL), never silently
 * replaced. 0 or -errno. */
int token_key_load(const char *path, unsigned char key[TOKEN_KEY_LEN]);
/* Mint a token for now (iat=now, exp=now+TOKEN_TTL, random jti); fills
 * claims_out when non-NULL. malloc'd string or NULL. */
char *token_issue(const unsigned char key[TOKEN_KEY_LEN], long long user_id, const char *username,
                  const char *role, long long pwc, time_t now, struct token_claims *claims_out);
/* Verify signature, alg == HS256, exp > now; fill claims. 0, -EINVAL (malformed
 * or bad signature or wrong alg), -ETIMEDOUT (expired). */
int token_verify(const unsigned char key[TOKEN_KEY_LEN], const char *token, time_t now,
                 struct token_claims *out);
