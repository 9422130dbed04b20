/* libxcrypt, loaded on first use: only logins, password changes and new
 * users hash passwords, so an idle panel nobody logged into never maps it.
 * Once loaded it stays (every login uses it again). Include this after
 * <crypt.h>: from here on every libxcrypt call in the file goes through the
 * loaded library. Call crypt_fns() first and give up when it returns NULL. */
#pragma once

#include <crypt.h>

#define CRYPT_FUNCS(X)                                                                             \
        X(crypt_gensalt_ra)                                                                        \
        X(crypt_ra)

struct crypt_fns {
#define CRYPT_FN_SLOT(n) __typeof__(n) *n;
        CRYPT_FUNCS(CRYPT_FN_SLOT)
#undef CRYPT_FN_SLOT
};

/* The loaded library, or NULL when it cannot be loaded (logged once). */
const struct crypt_fns *crypt_fns(void);

#define crypt_gensalt_ra(...) (crypt_fns()->crypt_gensalt_ra(__VA_ARGS__))
#define crypt_ra(...)         (crypt_fns()->crypt_ra(__VA_ARGS__))
