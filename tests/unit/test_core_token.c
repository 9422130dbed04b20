#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/b64url.h"
#include "base/strbuf.h"
#include "core/token.h"

static const time_t NOW = 1700000000;

static unsigned char key_a[TOKEN_KEY_LEN];
static unsigned char key_b[TOKEN_KEY_LEN];

static int setup(void **state)
{
        for (int i = 0; i < TOKEN_KEY_LEN; i++) {
                key_a[i] = (unsigned char)(i * 7 + 1);
                key_b[i] = (unsigned char)(i * 11 + 3);
        }
        return 0;
}

static char *b64url(const void *data, size_t n)
{
        char *out = b64url_encode(data, n);
        assert_non_null(out);
        return out;
}

/* noinline: inlined, gcc 12 takes the result for a pointer to `out` itself
 * (a false -Wdangling-pointer) */
__attribute__((noinline)) static char *b64url_dec(const char *s, size_t n)
{
        unsigned char *out = NULL;
        size_t len = 0;
        int r = b64url_decode(s, n, &out, &len);
        assert_int_equal(r, 0);
        return (char *)out; /* NUL-terminated */
}

/* Decoded part idx (0 header, 1 payload) of a token. */
static char *token_part(const char *tok, int idx)
{
        for (int i = 0; i < idx; i++) {
                tok = strchr(tok, '.');
                assert_non_null(tok);
                tok++;
        }
        return b64url_dec(tok, strcspn(tok, "."));
}

/* Valid claims JSON for hand-made tokens. */
static const char CLAIMS[] = "{\"user_id\":1,\"username\":\"admin\",\"role\":\"admin\","
                             "\"iat\":1700000000,\"exp\":1700086400,"
                             "\"jti\":\"0123456789abcdef0123456789abcdef\",\"pwc\":7}";

static char *join3(const char *a, const char *b, const char *c)
{
        struct strbuf sb = STRBUF_INIT(0);
        assert_int_equal(strbuf_printf(&sb, "%s.%s.%s", a, b, c), 0);
        return strbuf_steal(&sb);
}

/* Minted by token_issue while it still used libjwt 1.10 (key_a, user 42
 * "alice", role admin, pwc 7, at NOW): tokens handed out before the switch
 * to our own encoder must keep verifying. */
static const char LIBJWT_TOKEN[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJleHAiOjE3MDAwODY0MDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiNGRmYWY5ZGEwNjU0Njc3ZmY2M2UyOTZjMGYy"
    "ZjlhODYiLCJwd2MiOjcsInJvbGUiOiJhZG1pbiIsInVzZXJfaWQiOjQyLCJ1c2VybmFtZSI6ImFsaWNlIn0."
    "xy63lHzy7kN-VhfebxsiUNn0BlfDj94QSat77zzv0To";
static const char LIBJWT_JTI[] = "4dfaf9da0654677ff63e296c0f2f9a86";

/* HMAC with alg over "b64(header).b64(claims)", as any JWT library mints. */
static char *mint(const char *header_json, gnutls_mac_algorithm_t alg, const unsigned char *key,
                  const char *claims_json)
{
        char *h = b64url(header_json, strlen(header_json));
        char *p = b64url(claims_json, strlen(claims_json));
        char *signing_input = NULL;
        assert_true(asprintf(&signing_input, "%s.%s", h, p) > 0);
        unsigned char mac[64];
        assert_true(gnutls_hmac_get_len(alg) <= sizeof(mac));
        assert_int_equal(
            gnutls_hmac_fast(alg, key, TOKEN_KEY_LEN, signing_input, strlen(signing_input), mac),
            0);
        char *sig = b64url(mac, gnutls_hmac_get_len(alg));
        char *t = join3(h, p, sig);
        free(sig);
        free(signing_input);
        free(p);
        free(h);
        return t;
}

static const char HS256_HEADER[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* tok verifies at NOW as user 42 "alice", admin, pwc 7, with this jti */
static void assert_verifies_as_alice(const unsigned char *key, const char *tok, const char *jti)
{
        struct token_claims c;
        memset(&c, 0xff, sizeof(c));
        assert_int_equal(token_verify(key, tok, NOW, &c), 0);
        assert_int_equal(c.user_id, 42);
        assert_string_equal(c.username, "alice");
        assert_string_equal(c.role, "admin");
        assert_int_equal(c.iat, NOW);
        assert_int_equal(c.exp, NOW + TOKEN_TTL);
        assert_string_equal(c.jti, jti);
        assert_int_equal(c.pwc, 7);
}

static void test_libjwt_token_still_verifies(void **state)
{
        assert_verifies_as_alice(key_a, LIBJWT_TOKEN, LIBJWT_JTI);
        assert_int_equal(token_verify(key_a, LIBJWT_TOKEN, NOW + TOKEN_TTL, NULL), -ETIMEDOUT);
        assert_int_equal(token_verify(key_b, LIBJWT_TOKEN, NOW, NULL), -EINVAL);

        /* The same claims issued now (only the random jti differs) give the
         * same bytes libjwt gave: header, claim order, types, signature. */
        struct token_claims issued;
        char *tok = token_issue(key_a, 42, "alice", "admin", 7, NOW, &issued);
        assert_non_null(tok);
        char *claims = token_part(LIBJWT_TOKEN, 1);
        char *at = strstr(claims, LIBJWT_JTI);
        assert_non_null(at);
        memcpy(at, issued.jti, 32);
        char *expect = mint(HS256_HEADER, GNUTLS_MAC_SHA256, key_a, claims);
        assert_int_equal(strncmp(expect, LIBJWT_TOKEN, strchr(LIBJWT_TOKEN, '.') - LIBJWT_TOKEN),
                         0);
        assert_string_equal(tok, expect);
        free(expect);
        free(claims);
        free(tok);
}

static void test_issued_format(void **state)
{
        struct token_claims issued;
        char *tok = token_issue(key_a, 9, "zoë/\"q\"", "viewer", 3, NOW, &issued);
        assert_non_null(tok);
        char *hdr = token_part(tok, 0);
        assert_string_equal(hdr, HS256_HEADER);
        char *claims = token_part(tok, 1);
        char *expect = NULL;
        assert_true(asprintf(&expect,
                             "{\"exp\":%lld,\"iat\":%lld,\"jti\":\"%s\",\"pwc\":3,"
                             "\"role\":\"viewer\",\"user_id\":9,\"username\":\"zoë/\\\"q\\\"\"}",
                             (long long)NOW + TOKEN_TTL, (long long)NOW, issued.jti) > 0);
        assert_string_equal(claims, expect);
        /* base64url without padding, signature of 32 bytes. */
        assert_null(strpbrk(tok, "=+/"));
        assert_int_equal(strlen(strrchr(tok, '.') + 1), 43);
        struct token_claims c;
        assert_int_equal(token_verify(key_a, tok, NOW, &c), 0);
        assert_string_equal(c.username, "zoë/\"q\"");
        free(expect);
        free(claims);
        free(hdr);
        free(tok);

        /* Not UTF-8: refused, as libjwt (jansson) refused it. */
        assert_null(token_issue(key_a, 9, "\xc3\x28", "viewer", 3, NOW, NULL));
}

static void test_round_trip(void **state)
{
        struct token_claims issued;
        char *tok = token_issue(key_a, 42, "alice", "admin", 7, NOW, &issued);
        assert_non_null(tok);
        assert_int_equal(issued.user_id, 42);
        assert_int_equal(issued.iat, NOW);
        assert_int_equal(issued.exp, NOW + TOKEN_TTL);
        assert_int_equal(strlen(issued.jti), 32);

        assert_verifies_as_alice(key_a, tok, issued.jti);
        /* Still valid one second before expiry, not at it. */
        assert_int_equal(token_verify(key_a, tok, NOW + TOKEN_TTL - 1, NULL), 0);
        assert_int_equal(token_verify(key_a, tok, NOW + TOKEN_TTL, NULL), -ETIMEDOUT);

        /* Each token gets its own jti. */
        struct token_claims issued2;
        char *tok2 = token_issue(key_a, 42, "alice", "admin", 7, NOW, &issued2);
        assert_non_null(tok2);
        assert_string_not_equal(issued.jti, issued2.jti);
        free(tok);
        free(tok2);
}

static void test_issue_rejects_bad_input(void **state)
{
        char u64[65];
        memset(u64, 'u', 64);
        u64[64] = '\0';
        assert_null(token_issue(key_a, 1, u64, "admin", 7, NOW, NULL));
        u64[63] = '\0';
        char *t = token_issue(key_a, 1, u64, "admin", 7, NOW, NULL);
        assert_non_null(t);
        struct token_claims c;
        assert_int_equal(token_verify(key_a, t, NOW, &c), 0);
        assert_string_equal(c.username, u64);
        free(t);
        assert_null(token_issue(key_a, 1, "bob", "0123456789abcdef", 7, NOW, NULL));
        assert_null(token_issue(key_a, 1, "", "admin", 7, NOW, NULL));
        assert_null(token_issue(key_a, 0, "bob", "admin", 7, NOW, NULL));
        assert_null(token_issue(key_a, 1, "bob", NULL, 7, NOW, NULL));
}

static void test_tampered(void **state)
{
        char *tok = token_issue(key_a, 7, "bob", "viewer", 7, NOW, NULL);
        assert_non_null(tok);
        char *dot1 = strchr(tok, '.');
        char *dot2 = strchr(dot1 + 1, '.');

        /* Payload swapped for one claiming role admin. */
        char *hdr = strndup(tok, (size_t)(dot1 - tok));
        const char *forged_claims = "{\"exp\":1700086400,\"iat\":1700000000,\"jti\":"
                                    "\"0123456789abcdef0123456789abcdef\",\"pwc\":7,"
                                    "\"role\":\"admin\",\"user_id\":7,\"username\":\"bob\"}";
        char *p = b64url(forged_claims, strlen(forged_claims));
        char *forged = join3(hdr, p, dot2 + 1);
        assert_int_equal(token_verify(key_a, forged, NOW, NULL), -EINVAL);
        free(forged);
        free(p);
        free(hdr);

        /* One header character flipped. */
        char *t2 = strdup(tok);
        t2[2] = t2[2] == 'A' ? 'B' : 'A';
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        free(t2);

        /* A header meaning the same, in other bytes: the signature covers bytes. */
        const char *same_hdr = "{\"typ\":\"JWT\",\"alg\":\"HS256\"}";
        char *h2 = b64url(same_hdr, strlen(same_hdr));
        char *p2 = strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));
        forged = join3(h2, p2, dot2 + 1);
        assert_int_equal(token_verify(key_a, forged, NOW, NULL), -EINVAL);
        free(forged);
        free(p2);
        free(h2);

        /* One payload character flipped. */
        t2 = strdup(tok);
        size_t pi = (size_t)(dot1 - tok) + 5;
        t2[pi] = t2[pi] == 'A' ? 'B' : 'A';
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        free(t2);

        /* One signature character flipped (not the last, whose low bits are padding). */
        t2 = strdup(tok);
        size_t si = (size_t)(dot2 - tok) + 3;
        t2[si] = t2[si] == 'A' ? 'B' : 'A';
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        free(t2);

        /* Signature truncated / removed. */
        t2 = strdup(tok);
        t2[strlen(t2) - 1] = '\0';
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        t2[(size_t)(dot2 - tok) + 1] = '\0';
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        free(t2);

        assert_int_equal(token_verify(key_a, tok, NOW, NULL), 0);
        free(tok);
}

static void test_other_key(void **state)
{
        char *tok = token_issue(key_b, 1, "alice", "admin", 7, NOW, NULL);
        assert_non_null(tok);
        assert_int_equal(token_verify(key_b, tok, NOW, NULL), 0);
        assert_int_equal(token_verify(key_a, tok, NOW, NULL), -EINVAL);
        free(tok);
}

static void test_alg_none(void **state)
{
        const char *hdr_json = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
        char *h = b64url(hdr_json, strlen(hdr_json));
        char *p = b64url(CLAIMS, strlen(CLAIMS));
        char *tok = join3(h, p, "");
        assert_int_equal(token_verify(key_a, tok, NOW, NULL), -EINVAL);
        free(tok);

        /* A none token carrying a (valid-looking) signature part is refused too. */
        char sig[43 + 1];
        memset(sig, 'A', 43);
        sig[43] = '\0';
        tok = join3(h, p, sig);
        assert_int_equal(token_verify(key_a, tok, NOW, NULL), -EINVAL);
        free(tok);

        /* Case games with the alg name. */
        const char *variants[] = {
            "{\"alg\":\"None\",\"typ\":\"JWT\"}",
            "{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
            "{\"alg\":\"HS256\",\"typ\":\"JWE\"}",
            "{\"alg\":\"HS256\",\"typ\":5}",
            "{\"typ\":\"JWT\"}",
            "[\"HS256\"]",
            "{\"alg\":\"HS256\",\"alg\":\"none\"}",
        };
        for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
                char *vh = b64url(variants[i], strlen(variants[i]));
                tok = join3(vh, p, sig);
                assert_int_equal(token_verify(key_a, tok, NOW, NULL), -EINVAL);
                free(tok);
                free(vh);
        }
        free(h);
        free(p);
}

static void test_other_hmac_algs(void **state)
{
        /* Sanity: the minting helper makes tokens we accept with HS256. */
        char *t = mint(HS256_HEADER, GNUTLS_MAC_SHA256, key_a, CLAIMS);
        assert_int_equal(token_verify(key_a, t, NOW, NULL), 0);
        free(t);

        /* Correctly signed with our key, but another algorithm (libjwt 1.10
         * accepted these): refused. */
        t = mint("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", GNUTLS_MAC_SHA512, key_a, CLAIMS);
        assert_int_equal(token_verify(key_a, t, NOW, NULL), -EINVAL);
        free(t);
        t = mint("{\"alg\":\"HS384\",\"typ\":\"JWT\"}", GNUTLS_MAC_SHA384, key_a, CLAIMS);
        assert_int_equal(token_verify(key_a, t, NOW, NULL), -EINVAL);
        free(t);
        /* A header naming HS512 over a valid HS256 signature: refused too. */
        t = mint("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", GNUTLS_MAC_SHA256, key_a, CLAIMS);
        assert_int_equal(token_verify(key_a, t, NOW, NULL), -EINVAL);
        free(t);
}

static void test_expired(void **state)
{
        char *tok = token_issue(key_a, 3, "carol", "operator", 7, NOW - TOKEN_TTL - 10, NULL);
        assert_non_null(tok);
        assert_int_equal(token_verify(key_a, tok, NOW, NULL), -ETIMEDOUT);
        assert_int_equal(token_verify(key_a, tok, NOW - 20, NULL), 0);
        free(tok);
}

static void test_claim_types(void **state)
{
        const char *bad[] = {
            /* user_id as string */
            "{\"pwc\":7,\"user_id\":\"1\",\"username\":\"admin\",\"role\":\"admin\","
            "\"iat\":1700000000,\"exp\":1700086400,\"jti\":\"0123456789abcdef0123456789abcdef\"}",
            /* missing role */
            "{\"pwc\":7,\"user_id\":1,\"username\":\"admin\",\"iat\":1700000000,"
            "\"exp\":1700086400,\"jti\":\"0123456789abcdef0123456789abcdef\"}",
            /* exp as string */
            "{\"pwc\":7,\"user_id\":1,\"username\":\"admin\",\"role\":\"admin\",\"iat\":1700000000,"
            "\"exp\":\"1700086400\",\"jti\":\"0123456789abcdef0123456789abcdef\"}",
            /* missing exp */
            "{\"pwc\":7,\"user_id\":1,\"username\":\"admin\",\"role\":\"admin\",\"iat\":1700000000,"
            "\"jti\":\"0123456789abcdef0123456789abcdef\"}",
            /* jti too short */
            "{\"pwc\":7,\"user_id\":1,\"username\":\"admin\",\"role\":\"admin\",\"iat\":1700000000,"
            "\"exp\":1700086400,\"jti\":\"0123456789abcdef\"}",
            /* jti not hex */
            "{\"pwc\":7,\"user_id\":1,\"username\":\"admin\",\"role\":\"admin\",\"iat\":1700000000,"
            "\"exp\":1700086400,\"jti\":\"0123456789abcdef0123456789abcdeZ\"}",
            /* role too long (16) */
            "{\"pwc\":7,\"user_id\":1,\"username\":\"admin\",\"role\":\"0123456789abcdef\","
            "\"iat\":1700000000,\"exp\":1700086400,\"jti\":\"0123456789abcdef0123456789abcdef\"}",
            /* embedded NUL in the username */
            "{\"user_id\":1,\"username\":\"ad\\u0000min\",\"role\":\"admin\",\"iat\":1700000000,"
            "\"exp\":1700086400,\"jti\":\"0123456789abcdef0123456789abcdef\",\"pwc\":7}",
            /* float user_id */
            "{\"pwc\":7,\"user_id\":1.5,\"username\":\"admin\",\"role\":\"admin\","
            "\"iat\":1700000000,\"exp\":1700086400,\"jti\":\"0123456789abcdef0123456789abcdef\"}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *t = mint(HS256_HEADER, GNUTLS_MAC_SHA256, key_a, bad[i]);
                assert_int_equal(token_verify(key_a, t, NOW, NULL), -EINVAL);
                free(t);
        }
        /* Username of 64 bytes is one too many. */
        char *longname = NULL;
        assert_true(asprintf(&longname,
                             "{\"pwc\":7,\"user_id\":1,\"username\":\"%064d\",\"role\":\"admin\","
                             "\"iat\":1700000000,\"exp\":1700086400,"
                             "\"jti\":\"0123456789abcdef0123456789abcdef\"}",
                             0) > 0);
        char *t = mint(HS256_HEADER, GNUTLS_MAC_SHA256, key_a, longname);
        assert_int_equal(token_verify(key_a, t, NOW, NULL), -EINVAL);
        free(t);
        free(longname);
}

static void test_garbage(void **state)
{
        char *tok = token_issue(key_a, 1, "alice", "admin", 7, NOW, NULL);
        assert_non_null(tok);
        const char *junk[] = {
            "",
            ".",
            "..",
            "...",
            "a.b.c",
            "abc",
            "a..c",
            "..c",
            "eyJhbGciOiJIUzI1NiJ9",
            "\xff\xfe.\x01.\x02",
            "not a token at all",
        };
        for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
                assert_int_equal(token_verify(key_a, junk[i], NOW, NULL), -EINVAL);
        assert_int_equal(token_verify(key_a, NULL, NOW, NULL), -EINVAL);

        /* Extra dots and trailing data around a valid token. */
        char *t2 = NULL;
        assert_true(asprintf(&t2, "%s.", tok) > 0);
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        free(t2);
        assert_true(asprintf(&t2, "%s.%s", tok, "AAAA") > 0);
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        free(t2);
        assert_true(asprintf(&t2, ".%s", tok) > 0);
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        free(t2);
        assert_true(asprintf(&t2, "%s=", tok) > 0);
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        free(t2);
        assert_true(asprintf(&t2, " %s", tok) > 0);
        assert_int_equal(token_verify(key_a, t2, NOW, NULL), -EINVAL);
        free(t2);

        /* Oversized input. */
        char *big = malloc(100001);
        assert_non_null(big);
        memset(big, 'A', 100000);
        big[100000] = '\0';
        big[10] = '.';
        big[20] = '.';
        assert_int_equal(token_verify(key_a, big, NOW, NULL), -EINVAL);
        free(big);

        assert_int_equal(token_verify(key_a, tok, NOW, NULL), 0);
        free(tok);
}

static char *tmpdir_path(void)
{
        char tmpl[] = "/tmp/setec-token-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        return strdup(tmpl);
}

static void test_key_file(void **state)
{
        char *dir = tmpdir_path();
        char *path = NULL;
        assert_true(asprintf(&path, "%s/sub/jwt.key", dir) > 0);

        unsigned char k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN];
        assert_int_equal(token_key_load(path, k1), 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, TOKEN_KEY_LEN);
        char *sub = NULL;
        assert_true(asprintf(&sub, "%s/sub", dir) > 0);
        assert_int_equal(stat(sub, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);

        assert_int_equal(token_key_load(path, k2), 0);
        assert_memory_equal(k1, k2, TOKEN_KEY_LEN);
        static const unsigned char zero[TOKEN_KEY_LEN];
        assert_memory_not_equal(k1, zero, TOKEN_KEY_LEN);

        /* A token minted with the loaded key verifies with the reloaded one. */
        char *tok = token_issue(k1, 5, "dave", "admin", 7, NOW, NULL);
        assert_int_equal(token_verify(k2, tok, NOW, NULL), 0);
        free(tok);

        /* Wrong sizes: refused and left untouched. */
        char *bad = NULL;
        assert_true(asprintf(&bad, "%s/bad.key", dir) > 0);
        const size_t sizes[] = {0, 31, 33, 64};
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                unsigned char content[64];
                memset(content, 0x5a, sizeof(content));
                FILE *f = fopen(bad, "w");
                assert_non_null(f);
                assert_int_equal(fwrite(content, 1, sizes[i], f), sizes[i]);
                assert_int_equal(fclose(f), 0);
                assert_int_equal(token_key_load(bad, k2), -EINVAL);
                unsigned char back[65];
                f = fopen(bad, "r");
                assert_non_null(f);
                assert_int_equal(fread(back, 1, sizeof(back), f), sizes[i]);
                fclose(f);
                assert_memory_equal(back, content, sizes[i]);
        }
        unlink(bad);
        free(bad);

        /* A directory where the key should be. */
        assert_int_equal(token_key_load(sub, k2), -EINVAL);
        /* Parent of the parent missing: not created recursively. */
        char *deep = NULL;
        assert_true(asprintf(&deep, "%s/x/y/jwt.key", dir) > 0);
        assert_int_equal(token_key_load(deep, k2), -ENOENT);
        free(deep);

        unlink(path);
        rmdir(sub);
        rmdir(dir);
        free(sub);
        free(path);
        free(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_libjwt_token_still_verifies),
            cmocka_unit_test(test_issued_format),
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_issue_rejects_bad_input),
            cmocka_unit_test(test_tampered),
            cmocka_unit_test(test_other_key),
            cmocka_unit_test(test_alg_none),
            cmocka_unit_test(test_other_hmac_algs),
            cmocka_unit_test(test_expired),
            cmocka_unit_test(test_claim_types),
            cmocka_unit_test(test_garbage),
            cmocka_unit_test(test_key_file),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
