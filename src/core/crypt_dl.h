/* libxcrypt, loaded only while a password is hashed or checked (logins,
 * password changes, new users): an idle panel does not map it. Loading
 * costs well under a millisecond, a yescrypt hash tens of them. Include this
 * after <crypt.h>: from here on every libxcrypt call in the file goes
 * through the loaded library, and may only be made between crypt_dl_open()
 * and crypt_dl_close(). */
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

/* Load libxcrypt or take one more reference. 0, or -ELIBACC when it cannot
 * be loaded (logged). Every 0 is paired with one crypt_dl_close(). */
int crypt_dl_open(void);
void crypt_dl_close(void);
/* The functions: valid between crypt_dl_open() and crypt_dl_close(). */
const struct crypt_fns *crypt_fns(void);

static inline void crypt_dl_closep(int *held)
{
        if (*held == 0)
                crypt_dl_close();
}
/* _cleanup_crypt_held_ int held = crypt_dl_open(); closes at scope exit */
#define _cleanup_crypt_held_ __attribute__((cleanup(crypt_dl_closep)))

#define crypt_gensalt_ra(...) (crypt_fns()->crypt_gensalt_ra(__VA_ARGS__))
#define crypt_ra(...)         (crypt_fns()->crypt_ra(__VA_ARGS__))
