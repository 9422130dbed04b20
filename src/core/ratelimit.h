/* Sliding-window rate limiter keyed by a client address string. Memory is
 * bounded: at most max_keys addresses are tracked; stale ones are evicted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct ratelimit;

struct ratelimit *ratelimit_new(unsigned limit, unsigned window_s, size_t max_keys);
void ratelimit_free(struct ratelimit *rl);
/* Count one event for key at time now (seconds, monotonic). Returns true when
 * allowed; false when this event is over the limit (then *retry_after gets the
 * seconds until the oldest counted event leaves the window, >= 1). Rejected
 * events are not counted. Thread-safe. */
bool ratelimit_hit(struct ratelimit *rl, const char *key, double now, unsigned *retry_after);
