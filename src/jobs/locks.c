/* The lock registry: a small array of (subject, holder) under one mutex. */
#include "jobs/locks.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct held {
        char *subject;
        long long holder;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct held *held;
static size_t nheld, capheld;

static struct held *find_locked(const char *subject)
{
        for (size_t i = 0; i < nheld; i++)
                if (streq(held[i].subject, subject))
                        return &held[i];
        return NULL;
}

int locks_acquire(const char *subject, long long holder, long long *held_by)
{
        if (str_empty(subject))
                return -EINVAL;
        int rc = 0;
        pthread_mutex_lock(&mu);
        struct held *h = find_locked(subject);
        if (h) {
                if (held_by)
                        *held_by = h->holder;
                rc = -EBUSY;
                goto out;
        }
        if (nheld == capheld) {
                size_t ncap = capheld ? capheld * 2 : 16;
                struct held *p = reallocarray(held, ncap, sizeof(*p));
                if (!p) {
                        rc = -ENOMEM;
                        goto out;
                }
                held = p;
                capheld = ncap;
        }
        char *c = strdup(subject);
        if (!c) {
                rc = -ENOMEM;
                goto out;
        }
        held[nheld++] = (struct held){c, holder};
out:
        pthread_mutex_unlock(&mu);
        return rc;
}

int locks_release(const char *subject, long long holder)
{
        if (str_empty(subject))
                return -ENOENT;
        int rc = -ENOENT;
        pthread_mutex_lock(&mu);
        struct held *h = find_locked(subject);
        if (h && h->holder == holder) {
                free(h->subject);
                *h = held[--nheld];
                rc = 0;
        }
        if (nheld == 0) {
                free(held);
                held = NULL;
                capheld = 0;
        }
        pthread_mutex_unlock(&mu);
        return rc;
}

int locks_transfer(const char *subject, long long from, long long to)
{
        if (str_empty(subject))
                return -ENOENT;
        int rc = -ENOENT;
        pthread_mutex_lock(&mu);
        struct held *h = find_locked(subject);
        if (h && h->holder == from) {
                h->holder = to;
                rc = 0;
        }
        pthread_mutex_unlock(&mu);
        return rc;
}

long long locks_holder(const char *subject)
{
        if (str_empty(subject))
                return -1;
        pthread_mutex_lock(&mu);
        struct held *h = find_locked(subject);
        long long r = h ? h->holder : -1;
        pthread_mutex_unlock(&mu);
        return r;
}

unsigned locks_count(void)
{
        pthread_mutex_lock(&mu);
        unsigned n = (unsigned)nheld;
        pthread_mutex_unlock(&mu);
        return n;
}
