#include "base/workpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
        void (*fn)(void *);
        void *arg;
};

struct workpool {
        pthread_mutex_t lock;
        pthread_cond_t nonempty;
        struct job *queue; /* ring of max_queue */
        unsigned max_queue, head, count;
        bool shutdown;
        unsigned nthreads;
        pthread_t *threads;
};

static void *worker(void *data)
{
        struct workpool *p = data;
        pthread_mutex_lock(&p->lock);
        for (;;) {
                while (p->count == 0 && !p->shutdown)
                        pthread_cond_wait(&p->nonempty, &p->lock);
                /* Drain the queue before honouring shutdown. */
                if (p->count == 0)
                        break;
                struct job j = p->queue[p->head];
                p->head = (p->head + 1) % p->max_queue;
                p->count--;
                pthread_mutex_unlock(&p->lock);
                j.fn(j.arg);
                pthread_mutex_lock(&p->lock);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

static void stop_and_join(struct workpool *p, unsigned started)
{
        pthread_mutex_lock(&p->lock);
        p->shutdown = true;
        pthread_cond_broadcast(&p->nonempty);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < started; i++)
                pthread_join(p->threads[i], NULL);
}

static void destroy(struct workpool *p)
{
        pthread_cond_destroy(&p->nonempty);
        pthread_mutex_destroy(&p->lock);
        free(p->threads);
        free(p->queue);
        free(p);
}

struct workpool *workpool_new(unsigned threads, unsigned max_queue)
{
        if (threads == 0 || max_queue == 0) {
                errno = EINVAL;
                return NULL;
        }
        struct workpool *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->queue = calloc(max_queue, sizeof(*p->queue));
        p->threads = calloc(threads, sizeof(*p->threads));
        if (!p->queue || !p->threads) {
                free(p->queue);
                free(p->threads);
                free(p);
                errno = ENOMEM;
                return NULL;
        }
        p->max_queue = max_queue;
        p->nthreads = threads;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->nonempty, NULL);

        /* Workers inherit the creator's mask: block everything while creating
         * them so signals are only delivered to the main thread. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = 0;
        unsigned started = 0;
        for (; started < threads; started++) {
                r = pthread_create(&p->threads[started], NULL, worker, p);
                if (r != 0)
                        break;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                stop_and_join(p, started);
                destroy(p);
                errno = r;
                return NULL;
        }
        return p;
}

int workpool_submit(struct workpool *p, void (*fn)(void *), void *arg)
{
        if (!p || !fn)
                return -EINVAL;
        int r = 0;
        pthread_mutex_lock(&p->lock);
        if (p->shutdown)
                r = -ESHUTDOWN;
        else if (p->count == p->max_queue)
                r = -EAGAIN;
        else {
                p->queue[(p->head + p->count) % p->max_queue] = (struct job){fn, arg};
                p->count++;
                pthread_cond_signal(&p->nonempty);
        }
        pthread_mutex_unlock(&p->lock);
        return r;
}

void workpool_free(struct workpool *p)
{
        if (!p)
                return;
        stop_and_join(p, p->nthreads);
        destroy(p);
}
