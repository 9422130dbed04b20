#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/csrf.h"

static void test_new_tokens(void **state)
{
        char a[CSRF_TOKEN_LEN + 1], b[CSRF_TOKEN_LEN + 1];
        assert_int_equal(csrf_token_new(a), 0);
        assert_int_equal(csrf_token_new(b), 0);
        assert_int_equal(strlen(a), CSRF_TOKEN_LEN);
        assert_int_equal(strspn(a, "0123456789abcdef"), CSRF_TOKEN_LEN);
        assert_string_not_equal(a, b);
        assert_true(csrf_token_matches(a, a));
        assert_false(csrf_token_matches(a, b));
}

static void test_matching(void **state)
{
        const char *tok = "0123456789abcdef0123456789abcdef";
        assert_true(csrf_token_matches(tok, "0123456789abcdef0123456789abcdef"));
        /* one character off, shorter, longer, missing */
        assert_false(csrf_token_matches(tok, "0123456789abcdef0123456789abcdee"));
        assert_false(csrf_token_matches(tok, "0123456789abcdef0123456789abcde"));
        assert_false(csrf_token_matches(tok, "0123456789abcdef0123456789abcdef0"));
        assert_false(csrf_token_matches(tok, NULL));
        assert_false(csrf_token_matches(NULL, tok));
        assert_false(csrf_token_matches(NULL, NULL));
        /* a short cookie (set by an attacker's subdomain, say) never counts */
        assert_false(csrf_token_matches("x", "x"));
        assert_false(csrf_token_matches("", ""));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_new_tokens),
            cmocka_unit_test(test_matching),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
