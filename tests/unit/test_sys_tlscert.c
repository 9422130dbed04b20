#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "sys/tlscert.h"

struct paths {
        char dir[64];
        char cert[128];
        char key[128];
};

static int setup(void **state)
{
        struct paths *p = calloc(1, sizeof(*p));
        if (!p)
                return -1;
        snprintf(p->dir, sizeof(p->dir), "/tmp/setec-tls-XXXXXX");
        if (!mkdtemp(p->dir))
                return -1;
        /* Nested, missing parents: create must make them. */
        snprintf(p->cert, sizeof(p->cert), "%s/a/b/panel.crt", p->dir);
        snprintf(p->key, sizeof(p->key), "%s/a/c/panel.key", p->dir);
        *state = p;
        return 0;
}

static void rm_rf_level(const char *dir)
{
        char sub[256];
        const char *names[] = {
            "a/b/panel.crt", "a/c/panel.key", "a/b/other.crt", "a/c/other.key", "a/b", "a/c", "a"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                snprintf(sub, sizeof(sub), "%s/%s", dir, names[i]);
                if (unlink(sub) < 0)
                        rmdir(sub);
        }
        rmdir(dir);
}

static int teardown(void **state)
{
        struct paths *p = *state;
        rm_rf_level(p->dir);
        free(p);
        return 0;
}

static gnutls_x509_crt_t load_crt(const char *path)
{
        gnutls_datum_t d = {0};
        assert_int_equal(gnutls_load_file(path, &d), 0);
        gnutls_x509_crt_t crt;
        assert_int_equal(gnutls_x509_crt_init(&crt), 0);
        assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
        gnutls_free(d.data);
        return crt;
}

static void test_create_and_check(void **state)
{
        struct paths *p = *state;
        assert_int_equal(tlscert_create_selfsigned(p->cert, p->key, "panel.example.com"), 0);

        struct stat st;
        assert_int_equal(stat(p->key, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(stat(p->cert, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        char parent[160];
        snprintf(parent, sizeof(parent), "%s/a/b", p->dir);
        assert_int_equal(stat(parent, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);

        assert_int_equal(tlscert_check(p->cert, p->key), 0);
}

static void test_cert_contents(void **state)
{
        struct paths *p = *state;
        time_t before = time(NULL);
        assert_int_equal(tlscert_create_selfsigned(p->cert, p->key, "panel.example.com"), 0);
        gnutls_x509_crt_t crt = load_crt(p->cert);

        assert_int_equal(gnutls_x509_crt_get_version(crt), 3);
        assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, NULL), GNUTLS_PK_ECDSA);
        gnutls_ecc_curve_t curve;
        gnutls_datum_t x = {0}, y = {0};
        assert_int_equal(gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, &y), 0);
        assert_int_equal(curve, GNUTLS_ECC_CURVE_SECP256R1);
        gnutls_free(x.data);
        gnutls_free(y.data);
        assert_int_equal(gnutls_x509_crt_get_signature_algorithm(crt), GNUTLS_SIGN_ECDSA_SHA256);

        char cn[128];
        size_t cn_len = sizeof(cn);
        assert_int_equal(
            gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len), 0);
        assert_string_equal(cn, "panel.example.com");

        /* Self-signed: issuer is the subject and the signature checks out. */
        assert_true(gnutls_x509_crt_check_issuer(crt, crt) != 0);
        unsigned status = 0xffff;
        assert_int_equal(gnutls_x509_crt_verify(crt, &crt, 1, 0, &status), 0);
        assert_int_equal(status, 0);

        unsigned char serial[40];
        size_t serial_len = sizeof(serial);
        assert_int_equal(gnutls_x509_crt_get_serial(crt, serial, &serial_len), 0);
        assert_int_equal(serial_len, 16);
        assert_true(serial[0] < 0x80);

        int dns_local = 0, dns_cn = 0, ip4 = 0, ip6 = 0;
        for (unsigned i = 0;; i++) {
                char san[256];
                size_t len = sizeof(san);
                int t = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &len, NULL);
                if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
                        break;
                assert_true(t >= 0);
                if (t == GNUTLS_SAN_DNSNAME && len == 9 && memcmp(san, "localhost", 9) == 0)
                        dns_local++;
                else if (t == GNUTLS_SAN_DNSNAME && len == 17 &&
                         memcmp(san, "panel.example.com", 17) == 0)
                        dns_cn++;
                else if (t == GNUTLS_SAN_IPADDRESS && len == 4 &&
                         memcmp(san, "\x7f\x00\x00\x01", 4) == 0)
                        ip4++;
                else if (t == GNUTLS_SAN_IPADDRESS && len == 16) {
                        unsigned char lo[16];
                        inet_pton(AF_INET6, "::1", lo);
                        assert_memory_equal(san, lo, 16);
                        ip6++;
                } else
                        fail_msg("unexpected SAN type %d", t);
        }
        assert_int_equal(dns_local, 1);
        assert_int_equal(dns_cn, 1);
        assert_int_equal(ip4, 1);
        assert_int_equal(ip6, 1);

        unsigned usage = 0, critical = 0;
        assert_true(gnutls_x509_crt_get_key_usage(crt, &usage, &critical) >= 0);
        assert_int_equal(usage, GNUTLS_KEY_DIGITAL_SIGNATURE);

        char oid[128];
        size_t oid_len = sizeof(oid);
        assert_int_equal(gnutls_x509_crt_get_key_purpose_oid(crt, 0, oid, &oid_len, NULL), 0);
        assert_string_equal(oid, GNUTLS_KP_TLS_WWW_SERVER);

        unsigned ca = 1;
        int pathlen = 0;
        assert_true(gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, &pathlen) >= 0);
        assert_int_equal(ca, 0);

        time_t nb = gnutls_x509_crt_get_activation_time(crt);
        time_t na = gnutls_x509_crt_get_expiration_time(crt);
        assert_true(nb <= before - 3600 + 5 && nb >= before - 3600 - 5);
        assert_true(na - nb == 397 * 86400 + 3600 || na - nb == 397 * 86400 + 3601 ||
                    na - nb == 397 * 86400 + 3599);
        gnutls_x509_crt_deinit(crt);
}

static void test_serials_differ(void **state)
{
        struct paths *p = *state;
        unsigned char s1[40], s2[40];
        size_t l1 = sizeof(s1), l2 = sizeof(s2);
        assert_int_equal(tlscert_create_selfsigned(p->cert, p->key, "a.example"), 0);
        gnutls_x509_crt_t c = load_crt(p->cert);
        assert_int_equal(gnutls_x509_crt_get_serial(c, s1, &l1), 0);
        gnutls_x509_crt_deinit(c);
        assert_int_equal(tlscert_create_selfsigned(p->cert, p->key, "a.example"), 0);
        c = load_crt(p->cert);
        assert_int_equal(gnutls_x509_crt_get_serial(c, s2, &l2), 0);
        gnutls_x509_crt_deinit(c);
        assert_true(l1 != l2 || memcmp(s1, s2, l1) != 0);
}

static void test_ip_common_name(void **state)
{
        struct paths *p = *state;
        assert_int_equal(tlscert_create_selfsigned(p->cert, p->key, "203.0.113.7"), 0);
        assert_int_equal(tlscert_check(p->cert, p->key), 0);
        gnutls_x509_crt_t crt = load_crt(p->cert);
        /* An IP common name goes in as an IP SAN, not a DNS name. */
        assert_int_equal(
            gnutls_x509_crt_check_ip(crt, (const unsigned char *)"\xcb\x00\x71\x07", 4, 0), 1);
        assert_int_equal(gnutls_x509_crt_check_hostname(crt, "localhost"), 1);
        gnutls_x509_crt_deinit(crt);
}

static void test_mismatch_and_missing(void **state)
{
        struct paths *p = *state;
        char other_crt[160], other_key[160];
        snprintf(other_crt, sizeof(other_crt), "%s/a/b/other.crt", p->dir);
        snprintf(other_key, sizeof(other_key), "%s/a/c/other.key", p->dir);
        assert_int_equal(tlscert_create_selfsigned(p->cert, p->key, "one.example"), 0);
        assert_int_equal(tlscert_create_selfsigned(other_crt, other_key, "one.example"), 0);
        assert_int_equal(tlscert_check(other_crt, other_key), 0);
        assert_int_equal(tlscert_check(p->cert, other_key), -EINVAL);
        assert_int_equal(tlscert_check(other_crt, p->key), -EINVAL);

        char missing[160];
        snprintf(missing, sizeof(missing), "%s/nope.pem", p->dir);
        assert_int_equal(tlscert_check(missing, p->key), -ENOENT);
        assert_int_equal(tlscert_check(p->cert, missing), -ENOENT);

        /* Not PEM at all. */
        int fd = open(other_key, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "garbage\n", 8), 8);
        close(fd);
        assert_int_equal(tlscert_check(other_crt, other_key), -EINVAL);
        /* Key and cert swapped. */
        assert_int_equal(tlscert_check(p->key, p->cert), -EINVAL);
}

static int count_entries(const char *dir, int *tmp_files)
{
        DIR *d = opendir(dir);
        assert_non_null(d);
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                n++;
                if (strstr(de->d_name, ".tmp-"))
                        (*tmp_files)++;
        }
        closedir(d);
        return n;
}

static void test_no_temp_files_left(void **state)
{
        struct paths *p = *state;
        for (int i = 0; i < 3; i++)
                assert_int_equal(tlscert_create_selfsigned(p->cert, p->key, "x.example"), 0);
        char dir[160];
        int tmp = 0;
        snprintf(dir, sizeof(dir), "%s/a/b", p->dir);
        assert_int_equal(count_entries(dir, &tmp), 1);
        snprintf(dir, sizeof(dir), "%s/a/c", p->dir);
        assert_int_equal(count_entries(dir, &tmp), 1);
        assert_int_equal(tmp, 0);

        /* Bad arguments fail without touching the existing pair. */
        assert_int_equal(tlscert_create_selfsigned(p->cert, p->key, ""), -EINVAL);
        assert_int_equal(tlscert_create_selfsigned(p->cert, p->key, NULL), -EINVAL);
        assert_int_equal(tlscert_check(p->cert, p->key), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_create_and_check, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cert_contents, setup, teardown),
            cmocka_unit_test_setup_teardown(test_serials_differ, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ip_common_name, setup, teardown),
            cmocka_unit_test_setup_teardown(test_mismatch_and_missing, setup, teardown),
            cmocka_unit_test_setup_teardown(test_no_temp_files_left, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
