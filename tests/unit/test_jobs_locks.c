/* The lock registry: one holder per subject, the refusal names the holder,
 * only the holder releases, transfer keeps the subject held, and of many
 * threads racing for one subject exactly one wins. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "jobs/locks.h"

static void test_acquire_release(void **state)
{
        (void)state;
        long long by = 0;
        assert_int_equal(locks_holder("site:1"), -1);
        assert_int_equal(locks_acquire("site:1", 7, &by), 0);
        assert_int_equal(locks_holder("site:1"), 7);
        assert_int_equal(locks_count(), 1);
        /* a second job on the busy subject is refused, naming the first */
        assert_int_equal(locks_acquire("site:1", 8, &by), -EBUSY);
        assert_int_equal(by, 7);
        /* the same holder again is refused too: a job never nests */
        assert_int_equal(locks_acquire("site:1", 7, NULL), -EBUSY);
        /* other subjects are independent */
        assert_int_equal(locks_acquire("site:10", 8, NULL), 0);
        assert_int_equal(locks_acquire("domain:site:1", 9, NULL), 0);
        assert_int_equal(locks_count(), 3);
        /* only the holder releases */
        assert_int_equal(locks_release("site:1", 8), -ENOENT);
        assert_int_equal(locks_holder("site:1"), 7);
        assert_int_equal(locks_release("site:1", 7), 0);
        assert_int_equal(locks_holder("site:1"), -1);
        assert_int_equal(locks_release("site:1", 7), -ENOENT);
        assert_int_equal(locks_acquire("site:1", 8, NULL), 0);
        assert_int_equal(locks_release("site:1", 8), 0);
        assert_int_equal(locks_release("site:10", 8), 0);
        assert_int_equal(locks_release("domain:site:1", 9), 0);
        assert_int_equal(locks_count(), 0);
}

static void test_bad_subjects(void **state)
{
        (void)state;
        assert_int_equal(locks_acquire("", 1, NULL), -EINVAL);
        assert_int_equal(locks_acquire(NULL, 1, NULL), -EINVAL);
        assert_int_equal(locks_release(NULL, 1), -ENOENT);
        assert_int_equal(locks_holder(NULL), -1);
        assert_int_equal(locks_count(), 0);
}

static void test_holder_zero_and_transfer(void **state)
{
        (void)state;
        long long by = -5;
        /* a quick change that is no job holds with 0; the refusal says 0 */
        assert_int_equal(locks_acquire("autarch", 0, NULL), 0);
        assert_int_equal(locks_acquire("autarch", 3, &by), -EBUSY);
        assert_int_equal(by, 0);
        /* transfer: from must hold it; the subject never becomes free */
        assert_int_equal(locks_transfer("autarch", 3, 4), -ENOENT);
        assert_int_equal(locks_transfer("autarch", 0, 4), 0);
        assert_int_equal(locks_holder("autarch"), 4);
        assert_int_equal(locks_release("autarch", 0), -ENOENT);
        assert_int_equal(locks_release("autarch", 4), 0);
        assert_int_equal(locks_count(), 0);
}

static void test_many_subjects_grow(void **state)
{
        (void)state;
        char name[32];
        for (int i = 0; i < 300; i++) {
                snprintf(name, sizeof(name), "backup:%d", i);
                assert_int_equal(locks_acquire(name, i + 1, NULL), 0);
        }
        assert_int_equal(locks_count(), 300);
        for (int i = 0; i < 300; i++) {
                snprintf(name, sizeof(name), "backup:%d", i);
                assert_int_equal(locks_holder(name), i + 1);
        }
        for (int i = 299; i >= 0; i--) {
                snprintf(name, sizeof(name), "backup:%d", i);
                assert_int_equal(locks_release(name, i + 1), 0);
        }
        assert_int_equal(locks_count(), 0);
}

#define RACERS 8
static pthread_barrier_t barrier;

static void *racer(void *arg)
{
        long long id = (long long)(intptr_t)arg;
        pthread_barrier_wait(&barrier);
        int wins = 0;
        for (int round = 0; round < 200; round++) {
                char name[32];
                snprintf(name, sizeof(name), "site:%d", round);
                if (locks_acquire(name, id, NULL) == 0)
                        wins++;
        }
        return (void *)(intptr_t)wins;
}

static void test_one_winner_per_subject(void **state)
{
        (void)state;
        pthread_t t[RACERS];
        pthread_barrier_init(&barrier, NULL, RACERS);
        for (int i = 0; i < RACERS; i++)
                pthread_create(&t[i], NULL, racer, (void *)(intptr_t)(i + 1));
        int total = 0;
        for (int i = 0; i < RACERS; i++) {
                void *w;
                pthread_join(t[i], &w);
                total += (int)(intptr_t)w;
        }
        pthread_barrier_destroy(&barrier);
        assert_int_equal(total, 200);
        assert_int_equal(locks_count(), 200);
        for (int round = 0; round < 200; round++) {
                char name[32];
                snprintf(name, sizeof(name), "site:%d", round);
                long long h = locks_holder(name);
                assert_true(h >= 1 && h <= RACERS);
                assert_int_equal(locks_release(name, h), 0);
        }
        assert_int_equal(locks_count(), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_acquire_release),
            cmocka_unit_test(test_bad_subjects),
            cmocka_unit_test(test_holder_zero_and_transfer),
            cmocka_unit_test(test_many_subjects_grow),
            cmocka_unit_test(test_one_winner_per_subject),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
