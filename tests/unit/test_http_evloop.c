/* The one event loop (http/evloop.h): posted functions run on the loop
 * thread in order, watchers see their descriptors, ticks come back. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/timeutil.h"
#include "http/evloop.h"

static struct evloop *loop;
static atomic_int order[16];
static atomic_int norder;
static atomic_bool on_thread_ok = true;

static void posted(void *arg)
{
        if (!evloop_on_thread(loop))
                atomic_store(&on_thread_ok, false);
        order[atomic_fetch_add(&norder, 1)] = (int)(intptr_t)arg;
}

static bool wait_until(atomic_int *v, int want)
{
        double deadline = time_monotonic() + 5;
        while (atomic_load(v) < want && time_monotonic() < deadline) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
        }
        return atomic_load(v) >= want;
}

static void test_post_in_order_on_the_loop(void **state)
{
        (void)state;
        loop = evloop_new();
        assert_non_null(loop);
        assert_false(evloop_on_thread(loop));
        for (int i = 0; i < 10; i++)
                assert_int_equal(evloop_post(loop, posted, (void *)(intptr_t)i), 0);
        assert_true(wait_until(&norder, 10));
        for (int i = 0; i < 10; i++)
                assert_int_equal(order[i], i);
        assert_true(atomic_load(&on_thread_ok));
        evloop_free(loop);
        loop = NULL;
}

struct pipe_watch {
        struct evwatch w;
        atomic_int reads;
};

static void on_readable(struct evwatch *w, uint32_t events)
{
        struct pipe_watch *p = (struct pipe_watch *)w;
        char buf[16];
        if ((events & EPOLLIN) && read(w->fd, buf, sizeof(buf)) > 0)
                atomic_fetch_add(&p->reads, 1);
}

static struct pipe_watch pw;

static void add_watch(void *arg)
{
        (void)arg;
        assert_int_equal(evloop_add(loop, &pw.w, EPOLLIN), 0);
}

static atomic_int ticks;
static struct evtick tick;

static void on_tick(struct evtick *t, double now)
{
        (void)t;
        (void)now;
        atomic_fetch_add(&ticks, 1);
}

static void test_watch_and_tick(void **state)
{
        (void)state;
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        loop = evloop_new();
        assert_non_null(loop);
        pw.w.fd = fds[0];
        pw.w.fn = on_readable;
        evloop_post(loop, add_watch, NULL);
        assert_int_equal(write(fds[1], "x", 1), 1);
        assert_true(wait_until(&pw.reads, 1));
        tick.period_s = 1;
        tick.fn = on_tick;
        evloop_add_tick(loop, &tick);
        assert_true(wait_until(&ticks, 1));
        evloop_free(loop);
        /* a stopped loop refuses work */
        loop = NULL;
        close(fds[0]);
        close(fds[1]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_post_in_order_on_the_loop),
            cmocka_unit_test(test_watch_and_tick),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
