#include "core/yaml_dl.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "base/dynlib.h"
#include "base/util.h"

static const char *const names[] = {
#define YAML_FN_NAME(n) #n,
    YAML_FUNCS(YAML_FN_NAME)
#undef YAML_FN_NAME
};

/* users counts the open references; fns and handle change only when it goes
 * from 0 to 1 or back, under lock, so a holder reads fns without it */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned users;
static void *handle;
static struct yaml_fns fns;

/* the table is filled as an array of pointers, one per name */
_Static_assert(sizeof(fns) == ARRAY_SIZE(names) * sizeof(void *), "one slot per name");

int yaml_dl_open(void)
{
        static const char *const sonames[] = {YAML_DL_SONAME, NULL};
        int r = 0;
        pthread_mutex_lock(&lock);
        if (users == 0) {
                void *slots[ARRAY_SIZE(names)];
                r = dynlib_open(sonames, names, slots, ARRAY_SIZE(names), "config", &handle);
                if (r == 0)
                        memcpy(&fns, slots, sizeof(fns));
        }
        if (r == 0)
                users++;
        pthread_mutex_unlock(&lock);
        return r < 0 ? -ELIBACC : 0;
}

void yaml_dl_close(void)
{
        pthread_mutex_lock(&lock);
        if (users > 0 && --users == 0) {
                dynlib_close(handle);
                handle = NULL;
                /* a call after the close then faults on NULL, not in unmapped code */
                memset(&fns, 0, sizeof(fns));
        }
        pthread_mutex_unlock(&lock);
}

const struct yaml_fns *yaml_fns(void)
{
        return &fns;
}
