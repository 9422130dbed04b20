#include "core/token.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <gnutls/crypto.h>
#include <libgen.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/b64url.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/strbuf.h"
#include "base/util.h"

/* Our tokens are ~300 bytes; anything far larger is not ours and is refused
 * before any parsing or HMAC work. */
#define TOKEN_MAX_LEN 4096
/* base64url of a 32-byte HMAC-SHA256 without padding. */
#define HS256_SIG_B64_LEN 43
#define HS256_MAC_LEN     32

/* base64url of {"alg":"HS256","typ":"JWT"}, byte for byte the header libjwt
 * 1.10 wrote when it minted our tokens: every token we issue carries it. */
static const char our_header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

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

/* ---- tokens ---- */

/* The only MAC tokens are signed or checked with, whatever a header says. */
static int hs256(const unsigned char key[TOKEN_KEY_LEN], const void *data, size_t n,
                 unsigned char mac[HS256_MAC_LEN])
{
        return gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, TOKEN_KEY_LEN, data, n, mac) < 0 ? -EINVAL
                                                                                         : 0;
}

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

        /* Claim names, types and order (sorted keys, compact) as libjwt 1.10
         * wrote them, so tokens look the same to clients as before. */
        _cleanup_(json_decrefp) json_t *payload =
            json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:I}", "user_id", (json_int_t)c.user_id,
                      "username", c.username, "role", c.role, "iat", (json_int_t)c.iat, "exp",
                      (json_int_t)c.exp, "jti", c.jti, "pwc", (json_int_t)c.pwc);
        if (!payload) {
                errno = EINVAL; /* not UTF-8 (or out of memory) */
                return NULL;
        }
        _cleanup_free_ char *json = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
        if (!json) {
                errno = ENOMEM;
                return NULL;
        }
        _cleanup_strbuf_ struct strbuf tok = STRBUF_INIT(TOKEN_MAX_LEN);
        unsigned char mac[HS256_MAC_LEN];
        r = strbuf_puts(&tok, our_header);
        if (r >= 0)
                r = strbuf_puts(&tok, ".");
        if (r >= 0)
                r = b64url_append(&tok, json, strlen(json));
        if (r >= 0)
                r = hs256(key, tok.data, tok.len, mac);
        if (r >= 0)
                r = strbuf_puts(&tok, ".");
        if (r >= 0)
                r = b64url_append(&tok, mac, sizeof(mac));
        if (r < 0) {
                errno = -r;
                return NULL;
        }
        if (claims_out)
                *claims_out = c;
        return strbuf_steal(&tok);
}

/* A header other than ours must still say HS256/JWT (libjwt 1.10, which
 * minted our tokens before, took the algorithm from the token's own header
 * and verified HS384/HS512 tokens with our key); the signature is checked as
 * HMAC-SHA256 only. */
static int check_header(const char *b64, size_t n)
{
        size_t len = 0;
        _cleanup_free_ unsigned char *raw = NULL;
        int r = b64url_decode(b64, n, &raw, &len);
        if (r < 0)
                return r;
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
        /* A third dot is no base64url: the signature's decoding refuses it. */
        if (hlen == 0 || plen == 0 || slen != HS256_SIG_B64_LEN)
                return -EINVAL;

        /* Our own tokens carry exactly this header: skip parsing it then. */
        if (hlen != sizeof(our_header) - 1 || memcmp(token, our_header, hlen) != 0) {
                int hr = check_header(token, hlen);
                if (hr < 0)
                        return hr;
        }

        /* HMAC-SHA256 over "header.payload", compared in constant time. The
         * algorithm is fixed here, whatever a header says. */
        unsigned char mac[HS256_MAC_LEN];
        if (hs256(key, token, (size_t)(dot2 - token), mac) < 0)
                return -EINVAL;
        size_t siglen = 0;
        _cleanup_free_ unsigned char *sig = NULL;
        int r = b64url_decode(dot2 + 1, slen, &sig, &siglen);
        if (r < 0)
                return r;
        if (siglen != sizeof(mac) || !mem_equal_ct(sig, mac, sizeof(mac)))
                return -EINVAL;

        size_t rawlen = 0;
        _cleanup_free_ unsigned char *raw = NULL;
        r = b64url_decode(dot1 + 1, plen, &raw, &rawlen);
        if (r < 0)
                return r;
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
