#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "core/totp.h"

static const unsigned char rfc_key[] = "12345678901234567890";

/* RFC 6238 appendix B, SHA-1 column (8 digits) */
static void test_rfc6238_vectors(void **state)
{
        (void)state;
        static const struct {
                uint64_t t;
                long code;
        } v[] = {{59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
                 {1234567890, 89005924}, {2000000000, 69279037}, {20000000000ULL, 65353130}};
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                assert_int_equal(totp_hotp(rfc_key, 20, v[i].t / 30, 8), v[i].code);
}

/* RFC 4226 appendix D */
static void test_rfc4226_vectors(void **state)
{
        (void)state;
        static const char *want[] = {"755224", "287082", "359152", "969429", "338314",
                                     "254676", "287922", "162583", "399871", "520489"};
        for (unsigned c = 0; c < 10; c++) {
                char got[TOTP_DIGITS + 1];
                assert_int_equal(totp_code(rfc_key, 20, c, got), 0);
                assert_string_equal(got, want[c]);
        }
}

static void test_check_window_and_reuse(void **state)
{
        (void)state;
        time_t now = 1111111111; /* step 37037037 */
        uint64_t step = (uint64_t)now / 30, m = 0;
        char c[TOTP_DIGITS + 1];
        for (int d = -1; d <= 1; d++) {
                totp_code(rfc_key, 20, step + (uint64_t)d, c);
                assert_true(totp_check(rfc_key, 20, c, now, 0, &m));
                assert_int_equal(m, step + (uint64_t)d);
                /* each code once: a step at or before the last used one is refused */
                assert_false(totp_check(rfc_key, 20, c, now, m, &m));
        }
        totp_code(rfc_key, 20, step + 2, c);
        assert_false(totp_check(rfc_key, 20, c, now, 0, &m));
        totp_code(rfc_key, 20, step - 2, c);
        assert_false(totp_check(rfc_key, 20, c, now, 0, &m));
        assert_false(totp_check(rfc_key, 20, "12345", now, 0, &m));
        assert_false(totp_check(rfc_key, 20, "12345a", now, 0, &m));
        assert_false(totp_check(rfc_key, 20, NULL, now, 0, &m));
}

/* RFC 4648 §10 (without padding) */
static void test_base32(void **state)
{
        (void)state;
        static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
        static const char *out[] = {"", "MY", "MZXQ", "MZXW6", "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
        for (size_t i = 0; i < 7; i++) {
                char b[32];
                assert_int_equal(
                    base32_encode((const unsigned char *)in[i], strlen(in[i]), b, sizeof(b)), 0);
                assert_string_equal(b, out[i]);
                unsigned char d[16];
                int n = base32_decode(out[i], d, sizeof(d));
                assert_int_equal(n, (int)strlen(in[i]));
                assert_memory_equal(d, in[i], (size_t)n);
        }
        unsigned char d[20];
        assert_int_equal(base32_decode("mzxw6ytboi======", d, sizeof(d)), 6);
        assert_int_equal(base32_decode("MZ1", d, sizeof(d)), -EINVAL);
        char small[4];
        assert_int_equal(base32_encode((const unsigned char *)"foobar", 6, small, sizeof(small)),
                         -ENOSPC);
        char s[TOTP_SECRET_B32];
        assert_int_equal(totp_secret_new(s), 0);
        assert_int_equal(strlen(s), 32);
        assert_int_equal(base32_decode(s, d, sizeof(d)), 20);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rfc6238_vectors),
            cmocka_unit_test(test_rfc4226_vectors),
            cmocka_unit_test(test_check_window_and_reuse),
            cmocka_unit_test(test_base32),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
