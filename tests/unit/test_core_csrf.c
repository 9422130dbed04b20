#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/csrf.h"

static const unsigned char key1[TOKEN_KEY_LEN] = "0123456789abcdef0123456789abcde";
static const unsigned char key2[TOKEN_KEY_LEN] = "0123456789abcdef0123456789abcdX";
static const char *jti1 = "00112233445566778899aabbccddeeff";
static const char *jti2 = "00112233445566778899aabbccddeefe";

static void test_token_is_bound(void **state)
{
        char a[CSRF_TOKEN_LEN + 1], b[CSRF_TOKEN_LEN + 1], c[CSRF_TOKEN_LEN + 1];
        assert_int_equal(csrf_token_for(key1, jti1, a), 0);
        assert_int_equal(strlen(a), CSRF_TOKEN_LEN);
        assert_int_equal(strspn(a, "0123456789abcdef"), CSRF_TOKEN_LEN);
        /* the same session: the same token */
        assert_int_equal(csrf_token_for(key1, jti1, b), 0);
        assert_string_equal(a, b);
        /* another session, another key: another token */
        assert_int_equal(csrf_token_for(key1, jti2, b), 0);
        assert_string_not_equal(a, b);
        assert_int_equal(csrf_token_for(key2, jti1, c), 0);
        assert_string_not_equal(a, c);
        assert_true(csrf_token_valid(key1, jti1, a));
        assert_false(csrf_token_valid(key1, jti2, a));
        assert_false(csrf_token_valid(key2, jti1, a));
        /* no session id */
        assert_int_equal(csrf_token_for(key1, "", c), -EINVAL);
        assert_int_equal(csrf_token_for(key1, NULL, c), -EINVAL);
        assert_false(csrf_token_valid(key1, NULL, a));
}

static void test_only_the_exact_value(void **state)
{
        char a[CSRF_TOKEN_LEN + 1], w[CSRF_TOKEN_LEN + 2];
        assert_int_equal(csrf_token_for(key1, jti1, a), 0);
        strcpy(w, a);
        w[0] = w[0] == '0' ? '1' : '0';
        assert_false(csrf_token_valid(key1, jti1, w)); /* one character off */
        strcpy(w, a);
        w[CSRF_TOKEN_LEN - 1] = '\0';
        assert_false(csrf_token_valid(key1, jti1, w)); /* shorter */
        strcpy(w, a);
        strcat(w, "0");
        assert_false(csrf_token_valid(key1, jti1, w)); /* longer */
        assert_false(csrf_token_valid(key1, jti1, NULL));
        assert_false(csrf_token_valid(key1, jti1, ""));
        /* a value of the attacker's choosing (a planted cookie) never counts */
        assert_false(csrf_token_valid(key1, jti1, "x"));
        memset(w, 'f', CSRF_TOKEN_LEN);
        w[CSRF_TOKEN_LEN] = '\0';
        assert_false(csrf_token_valid(key1, jti1, w));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_token_is_bound),
            cmocka_unit_test(test_only_the_exact_value),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
