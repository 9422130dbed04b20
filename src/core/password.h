/* Password hashing with libxcrypt (loaded on first use, core/crypt_dl.h): new
 * hashes are yescrypt ($y$); bcrypt ($2a$/$2b$/$2y$) hashes from the reference
 * keep verifying. */
#pragma once

#include <stdbool.h>

/* malloc'd hash string, or NULL (errno set; ELIBACC when libxcrypt cannot be
 * loaded). */
char *password_hash(const char *password);
/* Constant-time compare of crypt(password, hash) with hash. False on any error. */
bool password_verify(const char *password, const char *hash);
/* True when hash is not yescrypt (so it may be upgraded after a successful login). */
bool password_needs_rehash(const char *hash);
