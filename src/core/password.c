#include "core/password.h"

#include <crypt.h>
#include <gnutls/crypto.h>
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "core/crypt_dl.h"

/* CONTRACT.md allows up to 1024 bytes, but libxcrypt refuses passphrases of
 * CRYPT_MAX_PASSPHRASE_SIZE (512) bytes or more. For yescrypt, a password
 * longer than PREHASH_OVER is first reduced to "sha256:<hex digest>", so every
 * allowed length works. bcrypt hashes (from the reference, which could not
 * store passwords over 72 bytes) are verified with the password as given. */
#define PASSWORD_MAX 1024
#define PREHASH_OVER 255

/* The passphrase crypt sees for a yescrypt hash: the password itself or its
 * digest. Writes into buf (>= 72 bytes) when a digest is used. */
static const char *yescrypt_input(const char *password, char *buf, size_t buflen)
{
        size_t n = strlen(password);
        if (n <= PREHASH_OVER)
                return password;
        unsigned char d[32];
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, password, n, d) < 0 || buflen < 7 + 64 + 1)
                return NULL;
        static const char hex[] = "0123456789abcdef";
        memcpy(buf, "sha256:", 7);
        for (int i = 0; i < 32; i++) {
                buf[7 + 2 * i] = hex[d[i] >> 4];
                buf[8 + 2 * i] = hex[d[i] & 15];
        }
        buf[7 + 64] = '\0';
        explicit_bzero(d, sizeof(d));
        return buf;
}

static bool password_acceptable(const char *password)
{
        if (!password || !*password)
                return false;
        return strnlen(password, PASSWORD_MAX + 1) <= PASSWORD_MAX;
}

/* crypt_ra's scratch area holds intermediate key material: wipe it. */
static void crypt_scratch_free(void *data, int size)
{
        if (data && size > 0)
                explicit_bzero(data, (size_t)size);
        free(data);
}

char *password_hash(const char *password)
{
        if (!password_acceptable(password)) {
                errno = EINVAL;
                return NULL;
        }
        _cleanup_crypt_held_ int held = crypt_dl_open();
        if (held < 0) {
                errno = ELIBACC;
                return NULL;
        }
        /* count 0 = libxcrypt's default yescrypt cost; NULL rbytes = OS randomness. */
        _cleanup_free_ char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
        if (!setting) {
                if (errno == 0)
                        errno = EINVAL;
                return NULL;
        }

        char digest[80];
        const char *input = yescrypt_input(password, digest, sizeof(digest));
        if (!input) {
                errno = EIO;
                return NULL;
        }
        void *data = NULL;
        int size = 0;
        const char *h = crypt_ra(input, setting, &data, &size);
        explicit_bzero(digest, sizeof(digest));
        char *out = NULL;
        if (h && h[0] != '*')
                out = strdup(h);
        else
                errno = EINVAL;
        crypt_scratch_free(data, size);
        return out;
}

bool password_verify(const char *password, const char *hash)
{
        if (!password_acceptable(password) || str_empty(hash))
                return false;
        /* '*' marks libxcrypt failure tokens and locked accounts, '!' locked ones:
         * neither can ever be a valid hash. */
        if (hash[0] == '*' || hash[0] == '!')
                return false;
        _cleanup_crypt_held_ int held = crypt_dl_open();
        if (held < 0)
                return false;

        char digest[80];
        const char *input = password;
        if (startswith(hash, "$y$"))
                input = yescrypt_input(password, digest, sizeof(digest));
        else if (strlen(password) >= CRYPT_MAX_PASSPHRASE_SIZE)
                input = NULL;
        if (!input)
                return false;
        void *data = NULL;
        int size = 0;
        const char *h = crypt_ra(input, hash, &data, &size);
        explicit_bzero(digest, sizeof(digest));
        bool ok = false;
        if (h && h[0] != '*') {
                size_t hl = strlen(h);
                ok = hl == strlen(hash) && mem_equal_ct(h, hash, hl);
        }
        crypt_scratch_free(data, size);
        return ok;
}

bool password_needs_rehash(const char *hash)
{
        return !startswith(hash, "$y$");
}
