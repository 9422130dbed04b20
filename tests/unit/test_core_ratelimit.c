#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/util.h"
#include "core/ratelimit.h"

static void test_limit_and_retry_after(void **state)
{
        struct ratelimit *rl = ratelimit_new(5, 60, 100);
        assert_non_null(rl);
        unsigned ra = 0;
        for (int i = 0; i < 5; i++)
                assert_true(ratelimit_hit(rl, "192.0.2.1", 1000.0 + i, &ra));
        ra = 0;
        assert_false(ratelimit_hit(rl, "192.0.2.1", 1010.0, &ra));
        /* Oldest counted event at 1000 leaves the window at 1060. */
        assert_int_equal(ra, 50);
        ra = 0;
        assert_false(ratelimit_hit(rl, "192.0.2.1", 1059.5, &ra));
        assert_int_equal(ra, 1);

        /* Another key is independent. */
        assert_true(ratelimit_hit(rl, "192.0.2.2", 1010.0, &ra));

        /* At 1060 the first event has left: exactly one slot frees up. */
        assert_true(ratelimit_hit(rl, "192.0.2.1", 1060.0, &ra));
        assert_false(ratelimit_hit(rl, "192.0.2.1", 1060.5, &ra));
        assert_int_equal(ra, 1); /* event at 1001 leaves at 1061 */
        ratelimit_free(rl);
}

static void test_rejected_not_counted(void **state)
{
        struct ratelimit *rl = ratelimit_new(3, 10, 10);
        assert_non_null(rl);
        unsigned ra;
        for (int i = 0; i < 3; i++)
                assert_true(ratelimit_hit(rl, "k", 100.0, &ra));
        /* Hammering while blocked must not extend the block. */
        for (int i = 0; i < 50; i++) {
                assert_false(ratelimit_hit(rl, "k", 100.0 + i * 0.1, &ra));
                assert_true(ra >= 1 && ra <= 10);
        }
        for (int i = 0; i < 3; i++)
                assert_true(ratelimit_hit(rl, "k", 110.0, &ra));
        assert_false(ratelimit_hit(rl, "k", 110.0, &ra));
        assert_int_equal(ra, 10);
        ratelimit_free(rl);
}

static void test_window_passes(void **state)
{
        struct ratelimit *rl = ratelimit_new(5, 60, 100);
        assert_non_null(rl);
        unsigned ra;
        for (int i = 0; i < 5; i++)
                assert_true(ratelimit_hit(rl, "2001:db8::1", 0.0, &ra));
        assert_false(ratelimit_hit(rl, "2001:db8::1", 30.0, &ra));
        assert_int_equal(ra, 30);
        for (int i = 0; i < 5; i++)
                assert_true(ratelimit_hit(rl, "2001:db8::1", 61.0, &ra));
        assert_false(ratelimit_hit(rl, "2001:db8::1", 61.0, &ra));
        /* NULL retry_after is allowed. */
        assert_false(ratelimit_hit(rl, "2001:db8::1", 62.0, NULL));
        ratelimit_free(rl);
}

static void test_eviction_bounded(void **state)
{
        const size_t max = 64;
        struct ratelimit *rl = ratelimit_new(2, 60, max);
        assert_non_null(rl);
        unsigned ra;
        char key[32];

        /* Block one key, then flood with 10x max fresh keys inside its window. */
        assert_true(ratelimit_hit(rl, "victim", 0.0, &ra));
        assert_true(ratelimit_hit(rl, "victim", 0.0, &ra));
        assert_false(ratelimit_hit(rl, "victim", 0.0, &ra));
        for (size_t i = 0; i < 10 * max; i++) {
                snprintf(key, sizeof(key), "10.0.%zu.%zu", i / 256, i % 256);
                assert_true(ratelimit_hit(rl, key, 1.0, &ra));
        }
        /* Every new key was accepted, so old ones were evicted: the most
         * recent keys are still tracked (their counters survive) ... */
        snprintf(key, sizeof(key), "10.0.%zu.%zu", (10 * max - 1) / 256, (10 * max - 1) % 256);
        assert_true(ratelimit_hit(rl, key, 2.0, &ra));
        assert_false(ratelimit_hit(rl, key, 2.0, &ra));
        /* ... while the flooded-out victim (LRU) was forgotten. */
        assert_true(ratelimit_hit(rl, "victim", 3.0, &ra));

        ratelimit_free(rl);
}

static void test_eviction_prefers_stale(void **state)
{
        /* Two slots. S's last event is stale but S was touched recently (a
         * refused hit at 59); X is active but least recently used. A new key
         * must push out S, not X. */
        struct ratelimit *rl = ratelimit_new(2, 60, 2);
        assert_non_null(rl);
        unsigned ra;
        assert_true(ratelimit_hit(rl, "S", 0.0, &ra));
        assert_true(ratelimit_hit(rl, "S", 0.0, &ra));
        assert_true(ratelimit_hit(rl, "X", 2.0, &ra));
        assert_false(ratelimit_hit(rl, "S", 59.0, &ra));
        assert_true(ratelimit_hit(rl, "N", 61.0, &ra));
        /* X kept its event from t=2: one more is allowed, then refused. */
        assert_true(ratelimit_hit(rl, "X", 61.0, &ra));
        assert_false(ratelimit_hit(rl, "X", 61.0, &ra));
        assert_int_equal(ra, 1);
        ratelimit_free(rl);
}

static void test_eviction_lru(void **state)
{
        struct ratelimit *rl = ratelimit_new(2, 60, 2);
        assert_non_null(rl);
        unsigned ra;
        assert_true(ratelimit_hit(rl, "p", 10.0, &ra));
        assert_true(ratelimit_hit(rl, "p", 10.0, &ra));
        assert_true(ratelimit_hit(rl, "q", 20.0, &ra));
        /* Both active: the least recently used (p) goes. */
        assert_true(ratelimit_hit(rl, "r", 30.0, &ra));
        assert_true(ratelimit_hit(rl, "q", 30.5, &ra));
        assert_false(ratelimit_hit(rl, "q", 30.5, &ra));
        /* p was blocked until 70 but has been forgotten (r is now LRU and goes). */
        assert_true(ratelimit_hit(rl, "p", 31.0, &ra));
        assert_false(ratelimit_hit(rl, "q", 31.0, &ra));
        ratelimit_free(rl);
}

static void test_bad_params(void **state)
{
        assert_null(ratelimit_new(0, 60, 10));
        assert_null(ratelimit_new(5, 0, 10));
        assert_null(ratelimit_new(5, 60, 0));
}

struct worker_arg {
        struct ratelimit *rl;
        int id;
        int allowed;
};

static void *worker(void *p)
{
        struct worker_arg *a = p;
        char key[32];
        unsigned ra;
        for (int i = 0; i < 2000; i++) {
                /* Shared key across threads plus many private ones (forcing eviction). */
                if (ratelimit_hit(a->rl, "shared", 5.0, &ra))
                        a->allowed++;
                snprintf(key, sizeof(key), "t%d-%d", a->id, i);
                ratelimit_hit(a->rl, key, 5.0 + i * 0.001, &ra);
        }
        return NULL;
}

static void test_threads(void **state)
{
        struct ratelimit *rl = ratelimit_new(10, 60, 50);
        assert_non_null(rl);
        pthread_t th[8];
        struct worker_arg args[8];
        for (int i = 0; i < 8; i++) {
                args[i] = (struct worker_arg){.rl = rl, .id = i};
                assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
        }
        int total = 0;
        for (int i = 0; i < 8; i++) {
                pthread_join(th[i], NULL);
                total += args[i].allowed;
        }
        /* "shared" may be evicted as LRU under this flood and start over, so
         * it can be allowed more than 10 times in total, but never less. */
        assert_true(total >= 10);
        ratelimit_free(rl);
}

static void *shared_worker(void *p)
{
        struct worker_arg *a = p;
        unsigned ra;
        for (int i = 0; i < 50; i++)
                if (ratelimit_hit(a->rl, "shared", 5.0 + i * 0.01, &ra))
                        a->allowed++;
        return NULL;
}

static void test_threads_exact(void **state)
{
        /* Without eviction pressure the shared budget is exact. */
        struct ratelimit *rl = ratelimit_new(100, 60, 10);
        assert_non_null(rl);
        pthread_t th[8];
        struct worker_arg args[8];
        for (int i = 0; i < 8; i++) {
                args[i] = (struct worker_arg){.rl = rl, .id = i};
                assert_int_equal(pthread_create(&th[i], NULL, shared_worker, &args[i]), 0);
        }
        int total = 0;
        for (int i = 0; i < 8; i++) {
                pthread_join(th[i], NULL);
                total += args[i].allowed;
        }
        assert_int_equal(total, 100);
        ratelimit_free(rl);
}

/* ---------- per-account backoff ---------- */

static void test_backoff_grows_and_caps(void **state)
{
        (void)state;
        struct backoff *b = backoff_new(3, 1, 8, 3600, 16);
        assert_non_null(b);
        unsigned ra = 0;
        /* the free failures cost nothing */
        for (int i = 0; i < 3; i++) {
                assert_true(backoff_check(b, "admin", 100, &ra));
                assert_int_equal(backoff_fail(b, "admin", 100), 0);
        }
        assert_true(backoff_check(b, "admin", 100, &ra));
        /* then 1, 2, 4, 8, 8 ... seconds, whichever address asks */
        unsigned want[] = {1, 2, 4, 8, 8, 8};
        double t = 100;
        for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
                assert_int_equal(backoff_fail(b, "admin", t), want[i]);
                ra = 0;
                assert_false(backoff_check(b, "admin", t, &ra));
                assert_int_equal(ra, want[i]);
                /* refused attempts are not counted: nothing to call */
                assert_false(backoff_check(b, "admin", t + want[i] - 0.5, &ra));
                assert_int_equal(ra, 1);
                t += want[i];
                /* never a lockout: once the delay is over, an attempt is judged */
                assert_true(backoff_check(b, "admin", t, &ra));
        }
        /* other accounts are not concerned */
        assert_true(backoff_check(b, "bob", t - 1, &ra));
        /* a success forgets everything */
        backoff_success(b, "admin");
        assert_true(backoff_check(b, "admin", t, &ra));
        assert_int_equal(backoff_fail(b, "admin", t), 0);
        backoff_free(b);
}

static void test_backoff_forgets(void **state)
{
        (void)state;
        struct backoff *b = backoff_new(1, 2, 60, 100, 16);
        assert_non_null(b);
        assert_int_equal(backoff_fail(b, "a", 0), 0);
        assert_int_equal(backoff_fail(b, "a", 1), 2);
        assert_int_equal(backoff_fail(b, "a", 3), 4);
        /* reset_s after the last failure, it starts afresh */
        assert_int_equal(backoff_fail(b, "a", 103), 0);
        assert_int_equal(backoff_fail(b, "a", 104), 2);
        backoff_free(b);
}

static void test_backoff_bounded(void **state)
{
        (void)state;
        struct backoff *b = backoff_new(0, 10, 10, 3600, 4);
        assert_non_null(b);
        /* "admin" is refused; a flood of other names does not evict it while
         * evictable (not refused) ones exist */
        assert_int_equal(backoff_fail(b, "admin", 0), 10);
        backoff_success(b, "admin");
        assert_int_equal(backoff_fail(b, "admin", 100), 10);
        char name[32];
        for (int i = 0; i < 100; i++) {
                snprintf(name, sizeof(name), "user%d", i);
                backoff_fail(b, name, 100 + i * 20);
        }
        unsigned ra = 0;
        /* memory stayed bounded (4 keys), and the last names are tracked */
        assert_false(backoff_check(b, "user99", 100 + 99 * 20, &ra));
        backoff_free(b);
        assert_null(backoff_new(1, 0, 10, 10, 4));
        assert_null(backoff_new(1, 10, 5, 10, 4));
        assert_null(backoff_new(1, 1, 5, 10, 0));
        /* NULL-safe */
        assert_true(backoff_check(NULL, "x", 0, &ra));
        assert_int_equal(backoff_fail(NULL, "x", 0), 0);
        backoff_success(NULL, "x");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_limit_and_retry_after),
            cmocka_unit_test(test_rejected_not_counted),
            cmocka_unit_test(test_window_passes),
            cmocka_unit_test(test_eviction_bounded),
            cmocka_unit_test(test_eviction_prefers_stale),
            cmocka_unit_test(test_eviction_lru),
            cmocka_unit_test(test_bad_params),
            cmocka_unit_test(test_threads),
            cmocka_unit_test(test_threads_exact),
            cmocka_unit_test(test_backoff_grows_and_caps),
            cmocka_unit_test(test_backoff_forgets),
            cmocka_unit_test(test_backoff_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
