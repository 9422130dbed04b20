#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/workpool.h"

/* A latch the test opens to let a blocking job finish. */
struct gate {
        pthread_mutex_t m;
        pthread_cond_t c;
        bool open, entered;
};

static void gate_init(struct gate *g)
{
        pthread_mutex_init(&g->m, NULL);
        pthread_cond_init(&g->c, NULL);
        g->open = g->entered = false;
}

static void gate_job(void *arg)
{
        struct gate *g = arg;
        pthread_mutex_lock(&g->m);
        g->entered = true;
        pthread_cond_broadcast(&g->c);
        while (!g->open)
                pthread_cond_wait(&g->c, &g->m);
        pthread_mutex_unlock(&g->m);
}

static void gate_wait_entered(struct gate *g)
{
        pthread_mutex_lock(&g->m);
        while (!g->entered)
                pthread_cond_wait(&g->c, &g->m);
        pthread_mutex_unlock(&g->m);
}

static void gate_open(struct gate *g)
{
        pthread_mutex_lock(&g->m);
        g->open = true;
        pthread_cond_broadcast(&g->c);
        pthread_mutex_unlock(&g->m);
}

static void gate_destroy(struct gate *g)
{
        pthread_cond_destroy(&g->c);
        pthread_mutex_destroy(&g->m);
}

static void count_job(void *arg)
{
        atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_each_job_runs_once(void **state)
{
        enum { N = 5000 };
        atomic_int *runs = calloc(N, sizeof(*runs));
        assert_non_null(runs);
        struct workpool *p = workpool_new(4, 16);
        assert_non_null(p);
        for (int i = 0; i < N; i++) {
                int r;
                while ((r = workpool_submit(p, count_job, &runs[i])) == -EAGAIN) {
                        sched_yield();
                }
                assert_int_equal(r, 0);
        }
        workpool_free(p);
        for (int i = 0; i < N; i++)
                assert_int_equal(atomic_load(&runs[i]), 1);
        free(runs);
}

static void test_queue_full(void **state)
{
        struct gate g;
        gate_init(&g);
        atomic_int done = 0;
        struct workpool *p = workpool_new(1, 2);
        assert_non_null(p);
        assert_int_equal(workpool_submit(p, gate_job, &g), 0);
        gate_wait_entered(&g); /* the only worker is now busy, the queue empty */
        assert_int_equal(workpool_submit(p, count_job, &done), 0);
        assert_int_equal(workpool_submit(p, count_job, &done), 0);
        assert_int_equal(workpool_submit(p, count_job, &done), -EAGAIN);
        assert_int_equal(workpool_submit(p, count_job, &done), -EAGAIN);
        assert_int_equal(atomic_load(&done), 0);
        gate_open(&g);
        workpool_free(p);
        /* Exactly the two accepted jobs ran. */
        assert_int_equal(atomic_load(&done), 2);
        gate_destroy(&g);
}

static void slow_job(void *arg)
{
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_free_waits_for_queued(void **state)
{
        atomic_int done = 0;
        struct workpool *p = workpool_new(2, 64);
        assert_non_null(p);
        for (int i = 0; i < 40; i++)
                assert_int_equal(workpool_submit(p, slow_job, &done), 0);
        workpool_free(p);
        assert_int_equal(atomic_load(&done), 40);
}

struct resubmit {
        struct workpool *p;
        atomic_int result;
        atomic_int counter;
};

static void resubmit_job(void *arg)
{
        struct resubmit *rs = arg;
        atomic_store(&rs->result, workpool_submit(rs->p, count_job, &rs->counter));
}

static void *free_thread(void *arg)
{
        workpool_free(arg);
        return NULL;
}

static void test_shutdown_refuses(void **state)
{
        struct gate g;
        gate_init(&g);
        struct resubmit rs = {.result = 12345};
        atomic_int extra = 0;
        struct workpool *p = workpool_new(1, 1000);
        assert_non_null(p);
        rs.p = p;
        assert_int_equal(workpool_submit(p, gate_job, &g), 0);
        gate_wait_entered(&g);
        assert_int_equal(workpool_submit(p, resubmit_job, &rs), 0);

        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, free_thread, p), 0);
        /* Poll until free has begun shutting down; the worker is still held
         * by the gate, so the pool cannot be gone yet. */
        int r;
        while ((r = workpool_submit(p, count_job, &extra)) == 0 || r == -EAGAIN)
                sched_yield();
        assert_int_equal(r, -ESHUTDOWN);
        gate_open(&g);
        pthread_join(t, NULL);
        /* The job queued before shutdown ran, and its submit was refused. */
        assert_int_equal(atomic_load(&rs.result), -ESHUTDOWN);
        assert_int_equal(atomic_load(&rs.counter), 0);
        gate_destroy(&g);
}

static void test_bad_args(void **state)
{
        errno = 0;
        assert_null(workpool_new(0, 4));
        assert_int_equal(errno, EINVAL);
        assert_null(workpool_new(2, 0));
        assert_int_equal(workpool_submit(NULL, count_job, NULL), -EINVAL);
        struct workpool *p = workpool_new(1, 1);
        assert_non_null(p);
        assert_int_equal(workpool_submit(p, NULL, NULL), -EINVAL);
        workpool_free(p);
        workpool_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_each_job_runs_once),
            cmocka_unit_test(test_queue_full),
            cmocka_unit_test(test_free_waits_for_queued),
            cmocka_unit_test(test_shutdown_refuses),
            cmocka_unit_test(test_bad_args),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
