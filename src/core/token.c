#include "core/token.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <gnutls/crypto.h>
#include <jwt.h>
#include <libgen.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/util.h"

/* Our tokens are ~300 bytes; anything far larger is not ours and is refused
 * before any parsing or HMAC work. */
#define TOKEN_MAX_LEN 4096
/* base64url of a 32-byte HMAC-SHA256 without padding. */
#define HS256_SIG_B64_LEN 43

static void jwt_freep(jwt_t **j)
{
        if (*j)
                jwt_free(*j);
}

/* ---- key file ---- */

static int read_key(int fd, unsigned char key[TOKEN_KEY_LEN])
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size != TOKEN_KEY_LEN)
                return -EINVAL;
        if (st.st_mode & 0077)
                log_warn("token key file is accessible by group/others (mode %04o)",
                         (unsigned)(st.st_mode & 07777));
        size_t got = 0;
        while (got < TOKEN_KEY_LEN) {
                ssize_t k = read(fd, key + got, TOKEN_KEY_LEN - got);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EINVAL; /* shrank under us */
                got += (size_t)k;
        }
        /* The file may have grown since fstat: a longer file is still wrong. */
        unsigned char extra;
        ssize_t k;
        do
                k = read(fd, &extra, 1);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        return k == 0 ? 0 : -EINVAL;
}

static int ensure_parent_dir(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        const char *dir = dirname(copy);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int create_key(const char *path, unsigned char key[TOKEN_KEY_LEN])
{
        int r = ensure_parent_dir(path);
        if (r < 0)
                return r;
        /* O_EXCL: never clobber a key some other process just wrote. */
        _cleanup_close_ int fd =
            open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = rand_bytes(key, TOKEN_KEY_LEN);
        if (r >= 0)
                r = write_all(fd, key, TOKEN_KEY_LEN);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                /* A short key file would make every later start fail with -EINVAL. */
                unlink(path);
                explicit_bzero(key, TOKEN_KEY_LEN);
                return r;
        }
        (void)fsync_parent_dir(path);
        return 0;
}

int token_key_load(const char *path, unsigned char key[TOKEN_KEY_LEN])
{
        if (str_empty(path) || !key)
                return -EINVAL;
        /* Two attempts: a concurrent creator may win the O_EXCL race. */
        for (int attempt = 0; attempt < 2; attempt++) {
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0) {
                        int r = read_key(fd, key);
                        if (r < 0)
                                explicit_bzero(key, TOKEN_KEY_LEN);
                        return r;
                }
                if (errno != ENOENT)
                        return -errno;
                int r = create_key(path, key);
                if (r != -EEXIST)
                        return r;
        }
        return -EEXIST;
}

/* ---- base64url (RFC 4648 §5, no padding) ---- */

static int b64url_val(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '-')
                return 62;
        if (c == '_')
                return 63;
        return -1;
}

static bool b64url_valid(const char *s, size_t n)
{
        if (n % 4 == 1) /* can never be produced by an encoder */
                return false;
        for (size_t i = 0; i < n; i++)
                if (b64url_val((unsigned char)s[i]) < 0)
                        return false;
        return true;
}

/* Decodes a validated base64url string; malloc'd, *outlen set. */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *outlen)
{
        unsigned char *out = malloc(n * 3 / 4 + 1);
        if (!out)
                return NULL;
        uint32_t acc = 0;
        unsigned bits = 0;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                acc = (acc << 6) | (uint32_t)b64url_val((unsigned char)s[i]);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (unsigned char)(acc >> bits);
                }
        }
        *outlen = o;
        return out;
}

/* ---- tokens ---- */

static bool is_lower_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

char *token_issue(const unsigned char key[TOKEN_KEY_LEN], long long user_id, const char *username,
                  const char *role, long long pwc, time_t now, struct token_claims *claims_out)
{
        struct token_claims c = {
            .user_id = user_id, .iat = now, .exp = (long long)now + TOKEN_TTL, .pwc = pwc};
        if (!key || user_id <= 0 || str_empty(username) || str_empty(role) ||
            strlen(username) >= sizeof(c.username) || strlen(role) >= sizeof(c.role)) {
                errno = EINVAL;
                return NULL;
        }
        memcpy(c.username, username, strlen(username) + 1);
        memcpy(c.role, role, strlen(role) + 1);
        int r = rand_hex(c.jti, 16);
        if (r < 0) {
                errno = -r;
                return NULL;
        }

        _cleanup_(jwt_freep) jwt_t *jwt = NULL;
        if (jwt_new(&jwt) != 0) {
                errno = ENOMEM;
                return NULL;
        }
        if (jwt_add_grant_int(jwt, "user_id", (long)c.user_id) != 0 ||
            jwt_add_grant(jwt, "username", c.username) != 0 ||
            jwt_add_grant(jwt, "role", c.role) != 0 ||
            jwt_add_grant_int(jwt, "iat", (long)c.iat) != 0 ||
            jwt_add_grant_int(jwt, "exp", (long)c.exp) != 0 ||
            jwt_add_grant(jwt, "jti", c.jti) != 0 ||
            jwt_add_grant_int(jwt, "pwc", (long)c.pwc) != 0 ||
            jwt_set_alg(jwt, JWT_ALG_HS256, key, TOKEN_KEY_LEN) != 0) {
                errno = ENOMEM;
                return NULL;
        }
        char *tok = jwt_encode_str(jwt);
        if (!tok) {
                if (errno == 0)
                        errno = ENOMEM;
                return NULL;
        }
        if (claims_out)
                *claims_out = c;
        return tok;
}

/* libjwt 1.10 takes the algorithm from the token's own header (it verifies
 * HS384/HS512 tokens with our key), so verification does not use it: the
 * header must say HS256/JWT and the signature is checked as HMAC-SHA256
 * only. libjwt still mints the tokens. */
static int check_header(const char *b64, size_t n)
{
        size_t len = 0;
        _cleanup_free_ unsigned char *raw = b64url_decode(b64, n, &len);
        if (!raw)
                return -ENOMEM;
        _cleanup_(json_decrefp) json_t *hdr =
            json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(hdr))
                return -EINVAL;
        json_t *alg = json_object_get(hdr, "alg");
        if (!json_is_string(alg) || !streq(json_string_value(alg), "HS256"))
                return -EINVAL;
        json_t *typ = json_object_get(hdr, "typ");
        if (typ && (!json_is_string(typ) || !streq(json_string_value(typ), "JWT")))
                return -EINVAL;
        return 0;
}

static int get_string_claim(json_t *payload, const char *name, char *out, size_t outsize)
{
        json_t *v = json_object_get(payload, name);
        if (!json_is_string(v))
                return -EINVAL;
        size_t n = json_string_length(v);
        const char *s = json_string_value(v);
        /* An embedded NUL would make the C string differ from the signed one. */
        if (n == 0 || n >= outsize || strlen(s) != n)
                return -EINVAL;
        memcpy(out, s, n + 1);
        return 0;
}

static int get_int_claim(json_t *payload, const char *name, long long *out)
{
        json_t *v = json_object_get(payload, name);
        if (!json_is_integer(v))
                return -EINVAL;
        *out = json_integer_value(v);
        return 0;
}

int token_verify(const unsigned char key[TOKEN_KEY_LEN], const char *token, time_t now,
                 struct token_claims *out)
{
        if (!key || str_empty(token))
                return -EINVAL;
        size_t len = strnlen(token, TOKEN_MAX_LEN + 1);
        if (len > TOKEN_MAX_LEN)
                return -EINVAL;

        const char *dot1 = memchr(token, '.', len);
        if (!dot1)
                return -EINVAL;
        const char *dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
        if (!dot2)
                return -EINVAL;
        size_t hlen = (size_t)(dot1 - token);
        size_t plen = (size_t)(dot2 - dot1 - 1);
        size_t slen = len - (size_t)(dot2 + 1 - token);
        /* The signature part may not contain a third dot: b64url_valid rejects it. */
        if (hlen == 0 || plen == 0 || slen != HS256_SIG_B64_LEN || !b64url_valid(token, hlen) ||
            !b64url_valid(dot1 + 1, plen) || !b64url_valid(dot2 + 1, slen))
                return -EINVAL;

        /* Our own tokens carry exactly this header: skip parsing it then. */
        static const char our_header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
        if (hlen != sizeof(our_header) - 1 || memcmp(token, our_header, hlen) != 0) {
                int r = check_header(token, hlen);
                if (r < 0)
                        return r;
        }

        /* HMAC-SHA256 over "header.payload", compared in constant time. The
         * algorithm is fixed here, whatever a header says. */
        unsigned char mac[32];
        if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, TOKEN_KEY_LEN, token, (size_t)(dot2 - token),
                             mac) < 0)
                return -EINVAL;
        size_t siglen = 0;
        _cleanup_free_ unsigned char *sig = b64url_decode(dot2 + 1, slen, &siglen);
        if (!sig || siglen != sizeof(mac) || !mem_equal_ct(sig, mac, sizeof(mac)))
                return -EINVAL;

        size_t rawlen = 0;
        _cleanup_free_ unsigned char *raw = b64url_decode(dot1 + 1, plen, &rawlen);
        if (!raw)
                return -ENOMEM;
        _cleanup_(json_decrefp) json_t *payload =
            json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(payload))
                return -EINVAL;

        struct token_claims c = {0};
        if (get_int_claim(payload, "user_id", &c.user_id) < 0 || c.user_id <= 0 ||
            get_string_claim(payload, "username", c.username, sizeof(c.username)) < 0 ||
            get_string_claim(payload, "role", c.role, sizeof(c.role)) < 0 ||
            get_int_claim(payload, "iat", &c.iat) < 0 ||
            get_int_claim(payload, "exp", &c.exp) < 0 ||
            get_int_claim(payload, "pwc", &c.pwc) < 0 ||
            get_string_claim(payload, "jti", c.jti, sizeof(c.jti)) < 0 || strlen(c.jti) != 32 ||
            !is_lower_hex(c.jti, 32) || c.iat > c.exp)
                return -EINVAL;
        if (c.exp <= (long long)now)
                return -ETIMEDOUT;
        if (out)
                *out = c;
        return 0;
}
