#include "sys/archive_dl.h"

#include <dlfcn.h>
#include <pthread.h>

#include "base/log.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct archive_fns fns;
static const struct archive_fns *loaded;

static void load(void)
{
        void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                log_error("backups: cannot load libarchive: %s", dlerror());
                return;
        }
#define ARCHIVE_FN_LOAD(n)                                                                         \
        if (!(*(void **)&fns.n = dlsym(h, #n))) {                                                  \
                log_error("backups: libarchive lacks %s", #n);                                     \
                return;                                                                            \
        }
        ARCHIVE_FUNCS(ARCHIVE_FN_LOAD)
#undef ARCHIVE_FN_LOAD
        loaded = &fns; /* stays loaded for the life of the process */
}

const struct archive_fns *archive_fns(void)
{
        pthread_once(&once, load);
        return loaded;
}
