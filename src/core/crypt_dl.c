#include "core/crypt_dl.h"

#include <pthread.h>
#include <string.h>

#include "base/dynlib.h"
#include "base/util.h"

static const char *const names[] = {
#define CRYPT_FN_NAME(n) #n,
    CRYPT_FUNCS(CRYPT_FN_NAME)
#undef CRYPT_FN_NAME
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct crypt_fns fns;
static const struct crypt_fns *loaded;

/* the table is filled as an array of pointers, one per name */
_Static_assert(sizeof(fns) == ARRAY_SIZE(names) * sizeof(void *), "one slot per name");

static void load(void)
{
        static const char *const sonames[] = {"libcrypt.so.1", NULL};
        void *slots[ARRAY_SIZE(names)];
        if (dynlib_load(sonames, names, slots, ARRAY_SIZE(names), "passwords") < 0)
                return;
        memcpy(&fns, slots, sizeof(fns));
        loaded = &fns; /* stays loaded for the life of the process */
}

const struct crypt_fns *crypt_fns(void)
{
        pthread_once(&once, load);
        return loaded;
}
