#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "acme/jws.h"

static gnutls_x509_crq_t parse(const unsigned char *der, size_t len)
{
        gnutls_x509_crq_t crq;
        assert_int_equal(gnutls_x509_crq_init(&crq), 0);
        gnutls_datum_t d = {(unsigned char *)der, (unsigned)len};
        assert_int_equal(gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_DER), 0);
        return crq;
}

static void check_sans(gnutls_x509_crq_t crq, const char *const *want, size_t n)
{
        size_t got = 0;
        for (unsigned i = 0;; i++) {
                char buf[300];
                size_t size = sizeof(buf);
                unsigned type = 0, critical = 0;
                int r = gnutls_x509_crq_get_subject_alt_name(crq, i, buf, &size, &type, &critical);
                if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
                        break;
                assert_true(r >= 0);
                assert_int_equal(type, GNUTLS_SAN_DNSNAME);
                assert_true(got < n);
                buf[size] = '\0';
                assert_string_equal(buf, want[got]);
                got++;
        }
        assert_int_equal(got, n);
}

static void test_csr_contents(void **state)
{
        static const char *const names[] = {"example.com", "www.example.com", "shop.example.org"};
        gnutls_x509_privkey_t key;
        assert_int_equal(acme_key_generate(&key), 0);
        unsigned char *der = NULL;
        size_t len = 0;
        assert_int_equal(acme_csr_make(key, names, 3, &der, &len), 0);
        gnutls_x509_crq_t crq = parse(der, len);

        char cn[128];
        size_t cn_len = sizeof(cn);
        assert_int_equal(
            gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len), 0);
        assert_string_equal(cn, "example.com");
        check_sans(crq, names, 3);

        /* self-signature valid, SHA-256 ECDSA, and the key is ours */
        assert_true(gnutls_x509_crq_verify(crq, 0) >= 0);
        assert_int_equal(gnutls_x509_crq_get_signature_algorithm(crq), GNUTLS_SIGN_ECDSA_SHA256);
        unsigned char a[64], b[64];
        size_t al = sizeof(a), bl = sizeof(b);
        assert_int_equal(gnutls_x509_crq_get_key_id(crq, GNUTLS_KEYID_USE_SHA256, a, &al), 0);
        assert_int_equal(gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &bl), 0);
        assert_int_equal(al, bl);
        assert_memory_equal(a, b, al);
        unsigned bits = 0;
        assert_int_equal(gnutls_x509_crq_get_pk_algorithm(crq, &bits), GNUTLS_PK_ECDSA);

        /* a tampered request no longer verifies */
        der[len - 5] ^= 0x01;
        gnutls_x509_crq_t bad;
        assert_int_equal(gnutls_x509_crq_init(&bad), 0);
        gnutls_datum_t d = {der, (unsigned)len};
        if (gnutls_x509_crq_import(bad, &d, GNUTLS_X509_FMT_DER) >= 0)
                assert_true(gnutls_x509_crq_verify(bad, 0) < 0);
        gnutls_x509_crq_deinit(bad);

        gnutls_x509_crq_deinit(crq);
        free(der);
        gnutls_x509_privkey_deinit(key);
}

/* A primary name longer than 64 characters cannot be a CN; it stays a SAN. */
static void test_csr_long_name(void **state)
{
        static const char *const names[] = {
            "a-very-long-label-that-goes-on-and-on-and-on.and-another-long-label.example.com"};
        gnutls_x509_privkey_t key;
        assert_int_equal(acme_key_generate(&key), 0);
        unsigned char *der = NULL;
        size_t len = 0;
        assert_int_equal(acme_csr_make(key, names, 1, &der, &len), 0);
        gnutls_x509_crq_t crq = parse(der, len);
        char cn[128];
        size_t cn_len = sizeof(cn);
        assert_true(
            gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len) < 0);
        check_sans(crq, names, 1);
        assert_true(gnutls_x509_crq_verify(crq, 0) >= 0);
        gnutls_x509_crq_deinit(crq);
        free(der);
        assert_int_equal(acme_csr_make(key, names, 0, &der, &len), -EINVAL);
        gnutls_x509_privkey_deinit(key);
}

/* Each certificate gets its own new key. */
static void test_new_keys_differ(void **state)
{
        gnutls_x509_privkey_t k1, k2;
        assert_int_equal(acme_key_generate(&k1), 0);
        assert_int_equal(acme_key_generate(&k2), 0);
        unsigned char a[64], b[64];
        size_t al = sizeof(a), bl = sizeof(b);
        assert_int_equal(gnutls_x509_privkey_get_key_id(k1, GNUTLS_KEYID_USE_SHA256, a, &al), 0);
        assert_int_equal(gnutls_x509_privkey_get_key_id(k2, GNUTLS_KEYID_USE_SHA256, b, &bl), 0);
        assert_memory_not_equal(a, b, al);
        char *pem = NULL;
        size_t len = 0;
        assert_int_equal(acme_key_export_pem(k1, &pem, &len), 0);
        assert_int_equal(strlen(pem), len);
        assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
        free(pem);
        gnutls_x509_privkey_deinit(k1);
        gnutls_x509_privkey_deinit(k2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_csr_contents),
            cmocka_unit_test(test_csr_long_name),
            cmocka_unit_test(test_new_keys_differ),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
