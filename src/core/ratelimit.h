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

/* Per-account login delay: failures of one key (an account name) are counted
 * whatever address they come from. The first `free` failures cost nothing;
 * each further one refuses the key for a delay that doubles (base_s, 2 base_s,
 * 4 base_s ...) up to cap_s. A refusal is temporary, never a lockout: once the
 * delay has passed the next attempt is judged on its password, and a success
 * forgets the key. Failures are forgotten reset_s seconds after the last one.
 * Memory is bounded: at most max_keys keys, the least recently used evicted
 * first. Thread-safe. */
struct backoff;

struct backoff *backoff_new(unsigned free, unsigned base_s, unsigned cap_s, unsigned reset_s,
                            size_t max_keys);
void backoff_free(struct backoff *b);
/* Whether an attempt on key may be judged at now (monotonic seconds); when
 * not, *retry_after gets the seconds left (>= 1). Does not count anything. */
bool backoff_check(struct backoff *b, const char *key, double now, unsigned *retry_after);
/* Count a failure of key at now; returns the delay it starts (0: none yet). */
unsigned backoff_fail(struct backoff *b, const char *key, double now);
/* A success: forget key. */
void backoff_success(struct backoff *b, const char *key);
