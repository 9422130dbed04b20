#include <errno.h>
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
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "acme/jws.h"
#include "base/b64url.h"

/* RFC 7638 §3.1: the example RSA key and its thumbprint. */
#define RFC7638_N                                                                                  \
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"  \
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"          \
        "65YGjQR0_"                                                                                \
        "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"        \
        "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"                     \
        "kEgU8awapJzKnqDKgw"

/* tests/fixtures/acme/account-p256-lz.pem: its public point (x starts with a
 * zero byte, so a 31-byte export must be padded) and its thumbprint, computed
 * independently with python3-cryptography + hashlib. */
#define FIX_X     "AB3EJqORM6BpdkrCPyhIirRKz411Ecd1mDCsfOMoI-Y"
#define FIX_Y     "wfBzqxnnzlF_QXDthfkC0G2E3LsJlBDLqU7Cr1er-Ec"
#define FIX_THUMB "S8yacsC-A54kjS3zAgmf_szTKTKcgK9oks6bpvxmEfA"

/* RFC 7515 Appendix A.3: ES256 example public key, signing input, signature. */
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_INPUT                                                                                   \
        "eyJhbGciOiJFUzI1NiJ9."                                                                    \
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0" \
        "cnVl"                                                                                     \
        "fQ"
#define A3_SIG                                                                                     \
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"

static void test_thumbprint_rfc7638(void **state)
{
        json_t *jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "n", RFC7638_N, "e", "AQAB",
                                "alg", "RS256");
        char *t = NULL;
        assert_int_equal(acme_jwk_thumbprint(jwk, &t), 0);
        assert_string_equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        free(t);
        char *canon = NULL;
        assert_int_equal(acme_jwk_canonical(jwk, &canon), 0);
        assert_string_equal(canon, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}");
        free(canon);
        json_decref(jwk);

        jwk = json_pack("{s:s}", "kty", "oct");
        assert_int_equal(acme_jwk_thumbprint(jwk, &t), -EINVAL);
        json_decref(jwk);
        jwk = json_pack("{s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", "abc"); /* no y */
        assert_int_equal(acme_jwk_thumbprint(jwk, &t), -EINVAL);
        json_decref(jwk);
}

static void test_jwk_fixture_key(void **state)
{
        gnutls_privkey_t key;
        assert_int_equal(acme_key_load_or_create(FIXTURES "/acme/account-p256-lz.pem", &key), 0);
        json_t *jwk = acme_jwk(key);
        assert_non_null(jwk);
        assert_int_equal(json_object_size(jwk), 4);
        assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
        assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
        assert_string_equal(json_string_value(json_object_get(jwk, "x")), FIX_X);
        assert_string_equal(json_string_value(json_object_get(jwk, "y")), FIX_Y);
        char *canon = NULL, *t = NULL;
        assert_int_equal(acme_jwk_canonical(jwk, &canon), 0);
        assert_string_equal(canon, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" FIX_X
                                   "\",\"y\":\"" FIX_Y "\"}");
        assert_int_equal(acme_jwk_thumbprint(jwk, &t), 0);
        assert_string_equal(t, FIX_THUMB);
        free(canon);
        free(t);
        json_decref(jwk);
        gnutls_privkey_deinit(key);
}

static json_t *decode_json_b64(const char *s)
{
        unsigned char *raw = NULL;
        size_t n = 0;
        assert_int_equal(b64url_decode(s, strlen(s), &raw, &n), 0);
        json_t *j = json_loadb((const char *)raw, n, 0, NULL);
        free(raw);
        return j;
}

/* The JWS verifies with GnuTLS after re-encoding r||s to DER. */
static void verify_jws(gnutls_privkey_t key, json_t *jws)
{
        const char *prot = json_string_value(json_object_get(jws, "protected"));
        const char *pay = json_string_value(json_object_get(jws, "payload"));
        const char *sig = json_string_value(json_object_get(jws, "signature"));
        assert_non_null(prot);
        assert_non_null(pay);
        assert_non_null(sig);
        unsigned char *raw = NULL;
        size_t n = 0;
        assert_int_equal(b64url_decode(sig, strlen(sig), &raw, &n), 0);
        assert_int_equal(n, 64); /* raw r||s, not DER */
        gnutls_datum_t r = {raw, 32}, s = {raw + 32, 32}, der = {0};
        assert_int_equal(gnutls_encode_rs_value(&der, &r, &s), 0);
        gnutls_pubkey_t pub;
        assert_int_equal(gnutls_pubkey_init(&pub), 0);
        assert_int_equal(gnutls_pubkey_import_privkey(pub, key, 0, 0), 0);
        char input[8192];
        int len = snprintf(input, sizeof(input), "%s.%s", prot, pay);
        gnutls_datum_t data = {(unsigned char *)input, (unsigned)len};
        assert_true(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &der) >= 0);
        input[0] ^= 1; /* and a changed header does not */
        assert_true(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &der) < 0);
        gnutls_free(der.data);
        gnutls_pubkey_deinit(pub);
        free(raw);
}

static void test_jws_sign(void **state)
{
        char dir[] = "/tmp/setec-acme-jws-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[256];
        snprintf(path, sizeof(path), "%s/sub/account.key", dir);
        gnutls_privkey_t key, again;
        assert_int_equal(acme_key_load_or_create(path, &key), 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(acme_key_load_or_create(path, &again), 0); /* loads, not replaces */
        json_t *j1 = acme_jwk(key), *j2 = acme_jwk(again);
        assert_true(json_equal(j1, j2));

        /* newAccount style: jwk, no kid */
        char *out = NULL;
        assert_int_equal(acme_jws_sign(key, "https://ca.test/new-acct", "nonce-1", NULL,
                                       "{\"termsOfServiceAgreed\":true}", &out),
                         0);
        json_t *jws = json_loads(out, 0, NULL);
        assert_non_null(jws);
        assert_int_equal(json_object_size(jws), 3);
        json_t *prot = decode_json_b64(json_string_value(json_object_get(jws, "protected")));
        assert_int_equal(json_object_size(prot), 4);
        assert_string_equal(json_string_value(json_object_get(prot, "alg")), "ES256");
        assert_string_equal(json_string_value(json_object_get(prot, "nonce")), "nonce-1");
        assert_string_equal(json_string_value(json_object_get(prot, "url")),
                            "https://ca.test/new-acct");
        assert_true(json_equal(json_object_get(prot, "jwk"), j1));
        assert_null(json_object_get(prot, "kid"));
        json_t *pay = decode_json_b64(json_string_value(json_object_get(jws, "payload")));
        assert_true(json_is_true(json_object_get(pay, "termsOfServiceAgreed")));
        verify_jws(key, jws);
        json_decref(pay);
        json_decref(prot);
        json_decref(jws);
        free(out);

        /* POST-as-GET with kid: empty payload, no jwk */
        assert_int_equal(acme_jws_sign(again, "https://ca.test/order/1", "nonce-2",
                                       "https://ca.test/acct/7", NULL, &out),
                         0);
        jws = json_loads(out, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(jws, "payload")), "");
        prot = decode_json_b64(json_string_value(json_object_get(jws, "protected")));
        assert_int_equal(json_object_size(prot), 4);
        assert_string_equal(json_string_value(json_object_get(prot, "kid")),
                            "https://ca.test/acct/7");
        assert_null(json_object_get(prot, "jwk"));
        verify_jws(key, jws); /* signed by the same key, loaded twice */
        json_decref(prot);
        json_decref(jws);
        free(out);

        json_decref(j1);
        json_decref(j2);
        gnutls_privkey_deinit(key);
        gnutls_privkey_deinit(again);
        unlink(path);
        snprintf(path, sizeof(path), "%s/sub", dir);
        rmdir(path);
        rmdir(dir);
}

/* A key file that is not EC P-256 is refused, not silently replaced. */
static void test_key_wrong_type(void **state)
{
        char dir[] = "/tmp/setec-acme-key-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[256];
        snprintf(path, sizeof(path), "%s/account.key", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("not a key\n", f);
        fclose(f);
        gnutls_privkey_t key;
        assert_int_equal(acme_key_load_or_create(path, &key), -EINVAL);
        unlink(path);
        rmdir(dir);
}

/* The RFC 7515 A.3 signature (raw r||s) verifies once converted to DER, and
 * our DER -> raw conversion gives the RFC's bytes back. */
static void test_rfc7515_es256(void **state)
{
        unsigned char *x = NULL, *y = NULL, *sig = NULL;
        size_t xl, yl, sl;
        assert_int_equal(b64url_decode(A3_X, strlen(A3_X), &x, &xl), 0);
        assert_int_equal(b64url_decode(A3_Y, strlen(A3_Y), &y, &yl), 0);
        assert_int_equal(b64url_decode(A3_SIG, strlen(A3_SIG), &sig, &sl), 0);
        assert_int_equal(sl, 64);
        gnutls_pubkey_t pub;
        assert_int_equal(gnutls_pubkey_init(&pub), 0);
        gnutls_datum_t xd = {x, (unsigned)xl}, yd = {y, (unsigned)yl};
        assert_int_equal(gnutls_pubkey_import_ecc_raw(pub, GNUTLS_ECC_CURVE_SECP256R1, &xd, &yd),
                         0);
        gnutls_datum_t r = {sig, 32}, s = {sig + 32, 32}, der = {0};
        assert_int_equal(gnutls_encode_rs_value(&der, &r, &s), 0);
        gnutls_datum_t data = {(unsigned char *)A3_INPUT, (unsigned)strlen(A3_INPUT)};
        assert_true(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &der) >= 0);
        unsigned char raw[64];
        assert_int_equal(acme_ecdsa_der_to_raw(&der, raw, 32), 0);
        assert_memory_equal(raw, sig, 64);

        /* small r: DER drops the leading zeros, raw must put them back */
        unsigned char small[32] = {0};
        small[31] = 7;
        gnutls_datum_t rs = {small, 32}, der2 = {0};
        assert_int_equal(gnutls_encode_rs_value(&der2, &rs, &s), 0);
        assert_int_equal(acme_ecdsa_der_to_raw(&der2, raw, 32), 0);
        assert_memory_equal(raw, small, 32);
        assert_memory_equal(raw + 32, sig + 32, 32);
        gnutls_datum_t junk = {(unsigned char *)"\x30\x01", 2};
        assert_int_equal(acme_ecdsa_der_to_raw(&junk, raw, 32), -EINVAL);

        gnutls_free(der.data);
        gnutls_free(der2.data);
        gnutls_pubkey_deinit(pub);
        free(x);
        free(y);
        free(sig);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_thumbprint_rfc7638), cmocka_unit_test(test_jwk_fixture_key),
            cmocka_unit_test(test_jws_sign),           cmocka_unit_test(test_key_wrong_type),
            cmocka_unit_test(test_rfc7515_es256),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
