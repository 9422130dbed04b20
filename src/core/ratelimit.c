#include "core/ratelimit.h"

#include <errno.h>
#include <math.h> /* INFINITY only */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "base/rand.h"
#include "base/util.h"

/* One tracked key: a ring of the timestamps of its counted events, oldest at
 * head. Key bytes follow the ring in the same allocation. */
struct rl_entry {
        uint64_t hash;
        double last_used; /* for LRU eviction */
        unsigned head, count;
        char *key;
        double ts[];
};

struct ratelimit {
        pthread_mutex_t lock;
        unsigned limit;
        double window;
        size_t max_keys;
        size_t nkeys;
        size_t cap;              /* power of two, >= 2 * max_keys: probes stay short */
        uint64_t seed;           /* per-instance, so colliding keys cannot be precomputed */
        struct rl_entry **slots; /* open addressing, linear probing */
};

static uint64_t hash_key(uint64_t seed, const char *s)
{
        /* FNV-1a over a random seed, finished with a murmur-style mix. */
        uint64_t h = 0xcbf29ce484222325ULL ^ seed;
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ULL;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
}

struct ratelimit *ratelimit_new(unsigned limit, unsigned window_s, size_t max_keys)
{
        if (limit == 0 || window_s == 0 || max_keys == 0 || max_keys > (SIZE_MAX / 4) ||
            limit > (1u << 20)) {
                errno = EINVAL;
                return NULL;
        }
        struct ratelimit *rl = calloc(1, sizeof(*rl));
        if (!rl)
                return NULL;
        rl->limit = limit;
        rl->window = window_s;
        rl->max_keys = max_keys;
        rl->cap = 8;
        while (rl->cap < 2 * max_keys)
                rl->cap <<= 1;
        rl->slots = calloc(rl->cap, sizeof(*rl->slots));
        if (!rl->slots || rand_bytes(&rl->seed, sizeof(rl->seed)) < 0) {
                free(rl->slots);
                free(rl);
                errno = ENOMEM;
                return NULL;
        }
        pthread_mutex_init(&rl->lock, NULL);
        return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
        if (!rl)
                return;
        for (size_t i = 0; i < rl->cap; i++)
                free(rl->slots[i]);
        free(rl->slots);
        pthread_mutex_destroy(&rl->lock);
        free(rl);
}

static size_t find_slot(const struct ratelimit *rl, uint64_t h, const char *key)
{
        size_t mask = rl->cap - 1;
        size_t i = (size_t)h & mask;
        while (rl->slots[i]) {
                if (rl->slots[i]->hash == h && streq(rl->slots[i]->key, key))
                        return i;
                i = (i + 1) & mask;
        }
        return i; /* empty slot: load factor <= 1/2 guarantees one */
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void remove_slot(struct ratelimit *rl, size_t i)
{
        size_t mask = rl->cap - 1;
        free(rl->slots[i]);
        rl->slots[i] = NULL;
        rl->nkeys--;
        size_t j = i;
        for (;;) {
                j = (j + 1) & mask;
                if (!rl->slots[j])
                        return;
                size_t home = (size_t)rl->slots[j]->hash & mask;
                /* Move j back into the hole unless its home lies in (i, j]. */
                bool home_between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
                if (!home_between) {
                        rl->slots[i] = rl->slots[j];
                        rl->slots[j] = NULL;
                        i = j;
                }
        }
}

static double newest(const struct ratelimit *rl, const struct rl_entry *e)
{
        if (e->count == 0)
                return -INFINITY;
        return e->ts[(e->head + e->count - 1) % rl->limit];
}

static void prune(const struct ratelimit *rl, struct rl_entry *e, double now)
{
        while (e->count > 0 && e->ts[e->head] <= now - rl->window) {
                e->head = (e->head + 1) % rl->limit;
                e->count--;
        }
}

/* Called with the table full: drop every key with nothing left in its window,
 * or, when all are active, the least recently used one. */
static void evict(struct ratelimit *rl, double now)
{
        size_t lru = SIZE_MAX;
        double lru_t = INFINITY;
        size_t removed = 0;
        for (size_t i = 0; i < rl->cap;) {
                struct rl_entry *e = rl->slots[i];
                if (e && newest(rl, e) <= now - rl->window) {
                        /* Backward shift may pull another entry into i: re-check it. */
                        remove_slot(rl, i);
                        removed++;
                        continue;
                }
                if (e && e->last_used < lru_t) {
                        lru_t = e->last_used;
                        lru = i;
                }
                i++;
        }
        /* A removal may have shifted the LRU entry, so locate it afresh. */
        if (removed == 0 && lru != SIZE_MAX)
                remove_slot(rl, lru);
}

static struct rl_entry *entry_new(const struct ratelimit *rl, uint64_t h, const char *key)
{
        size_t klen = strlen(key);
        struct rl_entry *e = malloc(sizeof(*e) + rl->limit * sizeof(double) + klen + 1);
        if (!e)
                return NULL;
        e->hash = h;
        e->last_used = 0;
        e->head = e->count = 0;
        e->key = (char *)(e->ts + rl->limit);
        memcpy(e->key, key, klen + 1);
        return e;
}

bool ratelimit_hit(struct ratelimit *rl, const char *key, double now, unsigned *retry_after)
{
        if (!rl || !key)
                return false;
        pthread_mutex_lock(&rl->lock);
        uint64_t h = hash_key(rl->seed, key);
        size_t i = find_slot(rl, h, key);
        struct rl_entry *e = rl->slots[i];
        if (!e) {
                if (rl->nkeys >= rl->max_keys) {
                        evict(rl, now);
                        i = find_slot(rl, h, key);
                }
                e = entry_new(rl, h, key);
                if (!e) {
                        /* Out of memory: fail open rather than lock everyone out. */
                        pthread_mutex_unlock(&rl->lock);
                        return true;
                }
                rl->slots[i] = e;
                rl->nkeys++;
        }
        e->last_used = now;
        prune(rl, e, now);

        bool allowed = e->count < rl->limit;
        if (allowed) {
                e->ts[(e->head + e->count) % rl->limit] = now;
                e->count++;
        } else if (retry_after) {
                /* ceil() by hand: core does not link libm. */
                double wait = e->ts[e->head] + rl->window - now;
                unsigned w = 1;
                if (wait >= (double)UINT32_MAX)
                        w = UINT32_MAX;
                else if (wait > 1) {
                        w = (unsigned)wait;
                        if ((double)w < wait)
                                w++;
                }
                *retry_after = w;
        }
        pthread_mutex_unlock(&rl->lock);
        return allowed;
}

/* ---------- per-account backoff ---------- */

struct bo_entry {
        uint64_t hash;
        char *key;        /* NULL: free slot */
        unsigned fails;   /* counted failures */
        double last_fail; /* monotonic */
        double until;     /* refused before this */
};

struct backoff {
        pthread_mutex_t lock;
        unsigned free, base, cap, reset;
        uint64_t seed;
        size_t n, max;
        struct bo_entry *e; /* max entries; a login costs a password hash, so a
                               linear scan of a few thousand is nothing */
};

struct backoff *backoff_new(unsigned free_fails, unsigned base_s, unsigned cap_s, unsigned reset_s,
                            size_t max_keys)
{
        if (base_s == 0 || cap_s < base_s || max_keys == 0 || max_keys > (1u << 20)) {
                errno = EINVAL;
                return NULL;
        }
        struct backoff *b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->e = calloc(max_keys, sizeof(*b->e));
        if (!b->e || rand_bytes(&b->seed, sizeof(b->seed)) < 0) {
                free(b->e);
                free(b);
                errno = ENOMEM;
                return NULL;
        }
        b->free = free_fails;
        b->base = base_s;
        b->cap = cap_s;
        b->reset = reset_s;
        b->max = max_keys;
        pthread_mutex_init(&b->lock, NULL);
        return b;
}

void backoff_free(struct backoff *b)
{
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++)
                free(b->e[i].key);
        free(b->e);
        pthread_mutex_destroy(&b->lock);
        free(b);
}

static void bo_drop(struct backoff *b, size_t i)
{
        free(b->e[i].key);
        b->e[i] = b->e[--b->n];
        b->e[b->n] = (struct bo_entry){0};
}

/* The entry of key, with failures older than the reset window forgotten;
 * NULL when none. */
static struct bo_entry *bo_find(struct backoff *b, const char *key, double now)
{
        uint64_t h = hash_key(b->seed, key);
        for (size_t i = 0; i < b->n; i++) {
                struct bo_entry *e = &b->e[i];
                if (e->hash != h || !streq(e->key, key))
                        continue;
                if (now - e->last_fail >= b->reset && now >= e->until) {
                        bo_drop(b, i);
                        return NULL;
                }
                return e;
        }
        return NULL;
}

bool backoff_check(struct backoff *b, const char *key, double now, unsigned *retry_after)
{
        if (!b || !key)
                return true;
        pthread_mutex_lock(&b->lock);
        struct bo_entry *e = bo_find(b, key, now);
        bool ok = !e || now >= e->until;
        if (!ok && retry_after) {
                double wait = e->until - now;
                unsigned w = (unsigned)wait;
                if ((double)w < wait)
                        w++;
                *retry_after = w < 1 ? 1 : w;
        }
        pthread_mutex_unlock(&b->lock);
        return ok;
}

unsigned backoff_fail(struct backoff *b, const char *key, double now)
{
        if (!b || !key)
                return 0;
        pthread_mutex_lock(&b->lock);
        struct bo_entry *e = bo_find(b, key, now);
        if (!e) {
                if (b->n == b->max) {
                        /* evict the least recently failed key that is not refused
                         * now; when all are, the least recent of all */
                        size_t victim = 0;
                        double best = INFINITY;
                        bool best_free = false;
                        for (size_t i = 0; i < b->n; i++) {
                                bool f = now >= b->e[i].until;
                                if ((f && !best_free) ||
                                    (f == best_free && b->e[i].last_fail < best)) {
                                        victim = i;
                                        best = b->e[i].last_fail;
                                        best_free = f;
                                }
                        }
                        bo_drop(b, victim);
                }
                char *k = strdup(key);
                if (!k) {
                        pthread_mutex_unlock(&b->lock);
                        return 0;
                }
                e = &b->e[b->n++];
                *e = (struct bo_entry){.hash = hash_key(b->seed, key), .key = k};
        }
        e->fails++;
        e->last_fail = now;
        unsigned delay = 0;
        if (e->fails > b->free) {
                unsigned k = e->fails - b->free - 1;
                delay = b->base;
                while (k-- > 0 && delay < b->cap)
                        delay = delay > b->cap / 2 ? b->cap : delay * 2;
                if (delay > b->cap)
                        delay = b->cap;
                e->until = now + delay;
        }
        pthread_mutex_unlock(&b->lock);
        return delay;
}

void backoff_success(struct backoff *b, const char *key)
{
        if (!b || !key)
                return;
        pthread_mutex_lock(&b->lock);
        uint64_t h = hash_key(b->seed, key);
        for (size_t i = 0; i < b->n; i++)
                if (b->e[i].hash == h && streq(b->e[i].key, key)) {
                        bo_drop(b, i);
                        break;
                }
        pthread_mutex_unlock(&b->lock);
}
