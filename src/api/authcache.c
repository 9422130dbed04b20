#include "api/authcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_CACHE_SLOTS 32

struct entry {
        char *token; /* NULL: free slot */
        size_t len;
        uint64_t gen;
        struct token_claims c;
        struct session_user su;
};

struct auth_cache {
        pthread_mutex_t lock;
        unsigned next; /* slot replaced by the next put when none is free */
        struct entry e[AUTH_CACHE_SLOTS];
};

struct auth_cache *auth_cache_new(void)
{
        struct auth_cache *ac = calloc(1, sizeof(*ac));
        if (ac)
                pthread_mutex_init(&ac->lock, NULL);
        return ac;
}

void auth_cache_free(struct auth_cache *ac)
{
        if (!ac)
                return;
        for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
                free(ac->e[i].token);
        pthread_mutex_destroy(&ac->lock);
        free(ac);
}

static struct entry *find(struct auth_cache *ac, const char *token, size_t len)
{
        for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
                if (ac->e[i].token && ac->e[i].len == len &&
                    memcmp(ac->e[i].token, token, len) == 0)
                        return &ac->e[i];
        return NULL;
}

bool auth_cache_get(struct auth_cache *ac, const char *token, uint64_t gen, time_t now,
                    struct token_claims *c, struct session_user *su)
{
        bool hit = false;
        pthread_mutex_lock(&ac->lock);
        struct entry *e = find(ac, token, strlen(token));
        if (e && e->gen == gen && e->c.exp > now) {
                *c = e->c;
                *su = e->su;
                hit = true;
        }
        pthread_mutex_unlock(&ac->lock);
        return hit;
}

void auth_cache_put(struct auth_cache *ac, const char *token, uint64_t gen,
                    const struct token_claims *c, const struct session_user *su)
{
        size_t len = strlen(token);
        pthread_mutex_lock(&ac->lock);
        struct entry *e = find(ac, token, len);
        if (!e) {
                /* a free slot, or one stored before the database last changed */
                for (size_t i = 0; i < AUTH_CACHE_SLOTS && !e; i++)
                        if (!ac->e[i].token || ac->e[i].gen != gen)
                                e = &ac->e[i];
                if (!e)
                        e = &ac->e[ac->next++ % AUTH_CACHE_SLOTS];
                char *copy = malloc(len);
                if (!copy) {
                        pthread_mutex_unlock(&ac->lock);
                        return;
                }
                memcpy(copy, token, len);
                free(e->token);
                e->token = copy;
                e->len = len;
        }
        e->gen = gen;
        e->c = *c;
        e->su = *su;
        pthread_mutex_unlock(&ac->lock);
}
