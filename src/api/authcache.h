/* Verified tokens and the user rows they were checked against, kept between
 * requests while the database is unchanged: a request with a token seen
 * before skips the signature check, the payload parse and the SQLite read. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/token.h"
#include "db/users.h"

struct auth_cache;

/* NULL when out of memory. */
struct auth_cache *auth_cache_new(void);
void auth_cache_free(struct auth_cache *ac);

/* True, with *c and *su as stored, when token was stored at database
 * generation gen (db_generation()) and has not expired at now. */
bool auth_cache_get(struct auth_cache *ac, const char *token, uint64_t gen, time_t now,
                    struct token_claims *c, struct session_user *su);
/* Remember a token whose signature was verified, with the user row read at
 * generation gen. Silently does nothing when out of memory. */
void auth_cache_put(struct auth_cache *ac, const char *token, uint64_t gen,
                    const struct token_claims *c, const struct session_user *su);
