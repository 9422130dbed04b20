/* Session tokens (core/token.h) verified with a fixed key. The first input
 * byte picks a mode:
 *   0: the rest is a token. Only the one token token_issue() minted with
 *      this key (KNOWN_TOKEN, also in the corpus) may verify.
 *   1: the rest is "HEADER\nPAYLOAD" JSON, signed here with the key: what
 *      verifies says alg HS256 (typ JWT if any) and carries sane claims, the
 *      same the payload holds.
 *   2: the rest are (2-byte position, byte) triples that change KNOWN_TOKEN: any
 *      change at all must make it fail.
 * Whatever verifies must also be unexpired at NOW. */
#include <errno.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"
#include "core/token.h"
#include "fuzz.h"

/* Minted with token_issue(key, 1, "admin", "admin", 0, 1700000000, NULL). */
static const char KNOWN_TOKEN[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJleHAiOjE3MDAwODY0MDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiNTQzNTNmNzA5OGM4MzJkMTBl"
    "OTc0OGZjNWVmNjdlODYiLCJwd2MiOjAsInJvbGUiOiJhZG1pbiIsInVzZXJfaWQiOjEsInVzZXJuYW1l"
    "IjoiYWRtaW4ifQ."
    "yxo1lbBrqFw9J9rgyBdE3p28ApWu7sAlHzoerKorDyo";
static const time_t NOW = 1700000000 + 60;
static unsigned char key[TOKEN_KEY_LEN];

static char *b64url(const void *data, size_t n)
{
        static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const unsigned char *p = data;
        char *out = malloc(n / 3 * 4 + 5), *o = out;
        CHECK(out);
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n; i++) {
                acc = (acc << 8 | p[i]) & 0xffff;
                bits += 8;
                while (bits >= 6) {
                        bits -= 6;
                        *o++ = a[(acc >> bits) & 63];
                }
        }
        if (bits > 0)
                *o++ = a[(acc << (6 - bits)) & 63];
        *o = '\0';
        return out;
}

static void check_claims(const struct token_claims *c)
{
        CHECK(c->user_id > 0);
        size_t ul = strnlen(c->username, sizeof(c->username));
        size_t rl = strnlen(c->role, sizeof(c->role));
        CHECK(ul > 0 && ul < sizeof(c->username) && rl > 0 && rl < sizeof(c->role));
        CHECK(strnlen(c->jti, sizeof(c->jti)) == 32);
        for (size_t i = 0; i < 32; i++)
                CHECK((c->jti[i] >= '0' && c->jti[i] <= '9') ||
                      (c->jti[i] >= 'a' && c->jti[i] <= 'f'));
        CHECK(c->iat <= c->exp && c->exp > (long long)NOW);
}

static long long int_claim(json_t *o, const char *name)
{
        json_t *v = json_object_get(o, name);
        CHECK(json_is_integer(v));
        return json_integer_value(v);
}

static bool str_claim_is(json_t *o, const char *name, const char *want)
{
        json_t *v = json_object_get(o, name);
        return json_is_string(v) && json_string_length(v) == strlen(want) &&
               streq(json_string_value(v), want);
}

/* Mode 1: sign header and payload; check what verifies against them. */
static void signed_input(const char *in, size_t n)
{
        const char *nl = memchr(in, '\n', n);
        size_t hl = nl ? (size_t)(nl - in) : n;
        const char *payload = nl ? nl + 1 : "";
        size_t pl = nl ? n - hl - 1 : 0;
        char *h = b64url(in, hl), *p = b64url(payload, pl);
        size_t tl = strlen(h) + strlen(p) + 1;
        char *tok = malloc(tl + 1 + 44);
        CHECK(tok);
        snprintf(tok, tl + 1, "%s.%s", h, p);
        unsigned char mac[32];
        CHECK(gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, sizeof(key), tok, tl, mac) == 0);
        char *sig = b64url(mac, sizeof(mac));
        CHECK(strlen(sig) == 43);
        tok[tl] = '.';
        memcpy(tok + tl + 1, sig, 44);

        struct token_claims c;
        int r = token_verify(key, tok, NOW, &c);
        CHECK(r == 0 || r == -EINVAL || r == -ETIMEDOUT);
        if (r == 0) {
                check_claims(&c);
                json_t *hdr = json_loadb(in, hl, JSON_REJECT_DUPLICATES, NULL);
                json_t *alg = json_object_get(hdr, "alg"), *typ = json_object_get(hdr, "typ");
                CHECK(json_is_string(alg) && streq(json_string_value(alg), "HS256"));
                CHECK(!typ || (json_is_string(typ) && streq(json_string_value(typ), "JWT")));
                json_decref(hdr);
                json_t *o = json_loadb(payload, pl, JSON_REJECT_DUPLICATES, NULL);
                CHECK(json_is_object(o));
                CHECK(int_claim(o, "user_id") == c.user_id && int_claim(o, "iat") == c.iat &&
                      int_claim(o, "exp") == c.exp && int_claim(o, "pwc") == c.pwc);
                CHECK(str_claim_is(o, "username", c.username) && str_claim_is(o, "role", c.role) &&
                      str_claim_is(o, "jti", c.jti));
                json_decref(o);
        }
        free(h);
        free(p);
        free(sig);
        free(tok);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        if (!key[1])
                for (int i = 0; i < TOKEN_KEY_LEN; i++)
                        key[i] = (unsigned char)(i * 7 + 1);
        if (size == 0)
                return 0;
        const char *in = (const char *)data + 1;
        size_t n = size - 1;
        struct token_claims c;
        switch (data[0] % 3) {
        case 0: {
                char *tok = strndup(in, n);
                CHECK(tok);
                int r = token_verify(key, tok, NOW, &c);
                CHECK(r == 0 || r == -EINVAL || r == -ETIMEDOUT);
                if (r == 0) {
                        CHECK(streq(tok, KNOWN_TOKEN));
                        check_claims(&c);
                }
                free(tok);
                break;
        }
        case 1:
                signed_input(in, n);
                break;
        case 2: {
                char tok[sizeof(KNOWN_TOKEN)];
                memcpy(tok, KNOWN_TOKEN, sizeof(tok));
                for (size_t i = 0; i + 2 < n; i += 3) {
                        size_t pos = ((size_t)(unsigned char)in[i] << 8 | (unsigned char)in[i + 1]);
                        tok[pos % (sizeof(tok) - 1)] = in[i + 2];
                }
                int r = token_verify(key, tok, NOW, &c);
                if (memcmp(tok, KNOWN_TOKEN, sizeof(tok)) == 0) {
                        CHECK(r == 0);
                        check_claims(&c);
                        CHECK(c.user_id == 1 && streq(c.username, "admin") &&
                              streq(c.role, "admin") && c.iat == NOW - 60);
                } else {
                        CHECK(r < 0);
                }
                break;
        }
        }
        return 0;
}
