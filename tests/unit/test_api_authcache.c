/* The cache of verified tokens: a hit needs the same token bytes, the same
 * database generation and an unexpired token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/authcache.h"

static struct token_claims claims(long long uid, long long exp)
{
        struct token_claims c = {.user_id = uid, .iat = exp - 100, .exp = exp, .pwc = 7};
        snprintf(c.username, sizeof(c.username), "user%lld", uid);
        snprintf(c.role, sizeof(c.role), "admin");
        return c;
}

static struct session_user row(const char *role)
{
        struct session_user su = {.pw_changed = 7};
        snprintf(su.username, sizeof(su.username), "user1");
        snprintf(su.role, sizeof(su.role), "%s", role);
        return su;
}

static void test_hit_needs_same_token_generation_and_time(void **state)
{
        struct auth_cache *ac = auth_cache_new();
        assert_non_null(ac);
        struct token_claims c = claims(1, 1000), got;
        struct session_user su = row("viewer"), gotsu;

        assert_false(auth_cache_get(ac, "aaa.bbb.ccc", 5, 900, &got, &gotsu));
        auth_cache_put(ac, "aaa.bbb.ccc", 5, &c, &su);
        assert_true(auth_cache_get(ac, "aaa.bbb.ccc", 5, 900, &got, &gotsu));
        assert_int_equal(got.user_id, 1);
        assert_string_equal(got.username, "user1");
        assert_string_equal(gotsu.role, "viewer");
        assert_int_equal(gotsu.pw_changed, 7);

        /* another database generation, a longer or shorter token, expiry */
        assert_false(auth_cache_get(ac, "aaa.bbb.ccc", 6, 900, &got, &gotsu));
        assert_false(auth_cache_get(ac, "aaa.bbb.cc", 5, 900, &got, &gotsu));
        assert_false(auth_cache_get(ac, "aaa.bbb.cccd", 5, 900, &got, &gotsu));
        assert_false(auth_cache_get(ac, "aaa.bbb.ccc", 5, 1000, &got, &gotsu));

        /* stored again at a new generation with a new row: the new row wins */
        struct session_user admin = row("admin");
        auth_cache_put(ac, "aaa.bbb.ccc", 6, &c, &admin);
        assert_true(auth_cache_get(ac, "aaa.bbb.ccc", 6, 900, &got, &gotsu));
        assert_string_equal(gotsu.role, "admin");
        assert_false(auth_cache_get(ac, "aaa.bbb.ccc", 5, 900, &got, &gotsu));
        auth_cache_free(ac);
}

/* More tokens than slots: the cache stays bounded and keeps answering
 * correctly (an evicted token is a miss, never another token's entry). */
static void test_many_tokens(void **state)
{
        struct auth_cache *ac = auth_cache_new();
        assert_non_null(ac);
        char tok[32];
        for (long long i = 0; i < 100; i++) {
                struct token_claims c = claims(i, 1000);
                struct session_user su = row("viewer");
                snprintf(tok, sizeof(tok), "token-%lld", i);
                auth_cache_put(ac, tok, 1, &c, &su);
        }
        int hits = 0;
        for (long long i = 0; i < 100; i++) {
                struct token_claims got;
                struct session_user gotsu;
                snprintf(tok, sizeof(tok), "token-%lld", i);
                if (auth_cache_get(ac, tok, 1, 900, &got, &gotsu)) {
                        assert_int_equal(got.user_id, i);
                        hits++;
                }
        }
        assert_true(hits > 0 && hits < 100);
        /* the most recent one is always there */
        struct token_claims got;
        struct session_user gotsu;
        assert_true(auth_cache_get(ac, "token-99", 1, 900, &got, &gotsu));
        auth_cache_free(ac);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hit_needs_same_token_generation_and_time),
            cmocka_unit_test(test_many_tokens),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
