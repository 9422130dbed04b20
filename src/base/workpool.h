/* Bounded worker pool for blocking work (exec, network, archives): a fixed
 * number of threads and a fixed-size queue, so a burst of requests cannot
 * spawn unbounded threads or queue unbounded memory. */
#pragma once

struct workpool;

/* threads >= 1, max_queue >= 1 (jobs waiting, not counting running ones).
 * NULL with errno set on failure. Worker threads block all signals. */
struct workpool *workpool_new(unsigned threads, unsigned max_queue);
/* Queue fn(arg). 0, -EAGAIN when the queue is full, -ESHUTDOWN after
 * workpool_free started (also when called from a job during shutdown),
 * -EINVAL for a NULL pool or fn. */
int workpool_submit(struct workpool *p, void (*fn)(void *), void *arg);
/* Stops accepting work, runs everything already queued, joins the threads and
 * frees the pool. Must not be called from a job. NULL is a no-op. */
void workpool_free(struct workpool *p);
