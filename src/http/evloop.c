#include "http/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"

struct post {
        void (*fn)(void *arg);
        void *arg;
        struct post *next;
};

struct evloop {
        pthread_t thread;
        int ep;
        struct evwatch wake, timer;
        pthread_mutex_t lock; /* guards posted, stopping, the head of ticks */
        struct post *posted, *posted_tail;
        bool stopping;
        struct post *deferred; /* loop thread only */
        struct evtick *ticks;  /* prepended under lock */
};

int evloop_add(struct evloop *l, struct evwatch *w, uint32_t events)
{
        struct epoll_event ev = {.events = events, .data.ptr = w};
        return epoll_ctl(l->ep, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

int evloop_mod(struct evloop *l, struct evwatch *w, uint32_t events)
{
        struct epoll_event ev = {.events = events, .data.ptr = w};
        return epoll_ctl(l->ep, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

void evloop_del(struct evloop *l, struct evwatch *w)
{
        epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
}

void evloop_defer(struct evloop *l, void (*fn)(void *arg), void *arg)
{
        struct post *p = malloc(sizeof(*p));
        if (!p) { /* no memory: run it now, at worst a stale event is dropped */
                log_warn("evloop: out of memory deferring a release");
                fn(arg);
                return;
        }
        *p = (struct post){fn, arg, l->deferred};
        l->deferred = p;
}

void evloop_add_tick(struct evloop *l, struct evtick *t)
{
        t->next = time_monotonic() + t->period_s;
        pthread_mutex_lock(&l->lock);
        t->next_tick = l->ticks;
        l->ticks = t;
        pthread_mutex_unlock(&l->lock);
}

int evloop_post(struct evloop *l, void (*fn)(void *arg), void *arg)
{
        struct post *p = malloc(sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (struct post){fn, arg, NULL};
        pthread_mutex_lock(&l->lock);
        if (l->stopping) {
                pthread_mutex_unlock(&l->lock);
                free(p);
                return -ESHUTDOWN;
        }
        bool first = !l->posted;
        if (l->posted_tail)
                l->posted_tail->next = p;
        else
                l->posted = p;
        l->posted_tail = p;
        pthread_mutex_unlock(&l->lock);
        if (first) {
                uint64_t one = 1;
                ssize_t k = write(l->wake.fd, &one, sizeof(one));
                (void)k;
        }
        return 0;
}

bool evloop_on_thread(struct evloop *l)
{
        return pthread_equal(pthread_self(), l->thread);
}

static void run_posted(struct evloop *l)
{
        uint64_t v;
        ssize_t k = read(l->wake.fd, &v, sizeof(v));
        (void)k;
        pthread_mutex_lock(&l->lock);
        struct post *p = l->posted;
        l->posted = l->posted_tail = NULL;
        pthread_mutex_unlock(&l->lock);
        while (p) {
                struct post *next = p->next;
                p->fn(p->arg);
                free(p);
                p = next;
        }
}

static void run_ticks(struct evloop *l)
{
        uint64_t v;
        ssize_t k = read(l->timer.fd, &v, sizeof(v));
        (void)k;
        double now = time_monotonic();
        /* ticks are only ever prepended (under the lock): the list read from
         * its head is complete */
        pthread_mutex_lock(&l->lock);
        struct evtick *head = l->ticks;
        pthread_mutex_unlock(&l->lock);
        for (struct evtick *t = head; t; t = t->next_tick)
                if (now >= t->next) {
                        t->next = now + t->period_s;
                        t->fn(t, now);
                }
}

static void run_deferred(struct evloop *l)
{
        while (l->deferred) {
                struct post *p = l->deferred;
                l->deferred = p->next;
                p->fn(p->arg);
                free(p);
        }
}

static void *loop_main(void *arg)
{
        struct evloop *l = arg;
        pthread_setname_np(pthread_self(), "http-events");
        for (;;) {
                struct epoll_event evs[64];
                int n = epoll_wait(l->ep, evs, 64, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        log_error("evloop: epoll_wait: %s", strerror(errno));
                        break;
                }
                bool wake = false, timer = false;
                for (int i = 0; i < n; i++) {
                        struct evwatch *w = evs[i].data.ptr;
                        if (w == &l->wake)
                                wake = true;
                        else if (w == &l->timer)
                                timer = true;
                        else
                                w->fn(w, evs[i].events);
                }
                run_deferred(l);
                if (timer)
                        run_ticks(l);
                if (wake)
                        run_posted(l);
                run_deferred(l);
                pthread_mutex_lock(&l->lock);
                bool done = l->stopping && !l->posted;
                pthread_mutex_unlock(&l->lock);
                if (done)
                        break;
        }
        return NULL;
}

struct evloop *evloop_new(void)
{
        struct evloop *l = calloc(1, sizeof(*l));
        if (!l)
                return NULL;
        pthread_mutex_init(&l->lock, NULL);
        l->ep = epoll_create1(EPOLL_CLOEXEC);
        l->wake.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        l->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (l->ep < 0 || l->wake.fd < 0 || l->timer.fd < 0)
                goto fail;
        struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
        timerfd_settime(l->timer.fd, 0, &its, NULL);
        if (evloop_add(l, &l->wake, EPOLLIN) < 0 || evloop_add(l, &l->timer, EPOLLIN) < 0)
                goto fail;
        /* the loop never takes signals: they belong to the main thread */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&l->thread, NULL, loop_main, l);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0)
                goto fail;
        return l;
fail:
        if (l->ep >= 0)
                close(l->ep);
        if (l->wake.fd >= 0)
                close(l->wake.fd);
        if (l->timer.fd >= 0)
                close(l->timer.fd);
        pthread_mutex_destroy(&l->lock);
        free(l);
        return NULL;
}

void evloop_free(struct evloop *l)
{
        if (!l)
                return;
        pthread_mutex_lock(&l->lock);
        l->stopping = true;
        pthread_mutex_unlock(&l->lock);
        uint64_t one = 1;
        ssize_t k = write(l->wake.fd, &one, sizeof(one));
        (void)k;
        pthread_join(l->thread, NULL);
        run_deferred(l);
        close(l->ep);
        close(l->wake.fd);
        close(l->timer.fd);
        pthread_mutex_destroy(&l->lock);
        free(l);
}
