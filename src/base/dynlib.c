#include "base/dynlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"

int dynlib_open(const char *const *sonames, const char *const *names, void **slots, size_t n,
                const char *what, void **handle)
{
        *handle = NULL;
        memset(slots, 0, n * sizeof(*slots));
        _cleanup_strbuf_ struct strbuf tried = STRBUF_INIT(1024);
        _cleanup_strbuf_ struct strbuf why = STRBUF_INIT(1024);
        void *h = NULL;
        size_t k = 0;
        for (; sonames[k]; k++) {
                h = dlopen(sonames[k], RTLD_NOW | RTLD_LOCAL);
                if (h)
                        break;
                /* dlerror() names the file and the reason: keep the first
                 * one's, the library we would rather have */
                const char *e = dlerror();
                if (!why.len)
                        strbuf_puts(&why, e ? e : "unknown error");
                strbuf_printf(&tried, "%s%s", tried.len ? " or " : "", sonames[k]);
        }
        if (!h) {
                log_error("%s: cannot load %s: %s", what, tried.len ? tried.data : "(no library)",
                          why.len ? why.data : "nothing to try");
                return -ENOENT;
        }
        for (size_t i = 0; i < n; i++) {
                slots[i] = dlsym(h, names[i]);
                if (!slots[i]) {
                        log_error("%s: %s lacks %s", what, sonames[k], names[i]);
                        memset(slots, 0, n * sizeof(*slots));
                        dlclose(h);
                        return -ENOSYS;
                }
        }
        *handle = h;
        return 0;
}

int dynlib_load(const char *const *sonames, const char *const *names, void **slots, size_t n,
                const char *what)
{
        void *h; /* never closed: the library stays for the life of the process */
        return dynlib_open(sonames, names, slots, n, what, &h);
}

void dynlib_close(void *handle)
{
        if (handle)
                dlclose(handle);
}

int dynlib_hold(struct dynlib_ref *ref)
{
        int r = 0;
        pthread_mutex_lock(&ref->lock);
        if (ref->users == 0)
                r = dynlib_open(ref->sonames, ref->names, ref->slots, ref->n, ref->what,
                                &ref->handle);
        if (r == 0)
                ref->users++;
        pthread_mutex_unlock(&ref->lock);
        return r < 0 ? -ELIBACC : 0;
}

void dynlib_release(struct dynlib_ref *ref)
{
        pthread_mutex_lock(&ref->lock);
        if (ref->users > 0 && --ref->users == 0) {
                dynlib_close(ref->handle);
                ref->handle = NULL;
                /* a call after the release faults on NULL, not in unmapped code */
                memset(ref->slots, 0, ref->n * sizeof(*ref->slots));
        }
        pthread_mutex_unlock(&ref->lock);
}

bool dynlib_lazy_get(struct dynlib_lazy *lazy)
{
        pthread_mutex_lock(&lazy->lock);
        if (!lazy->tried) {
                lazy->tried = true;
                lazy->loaded =
                    dynlib_load(lazy->sonames, lazy->names, lazy->slots, lazy->n, lazy->what) == 0;
        }
        bool loaded = lazy->loaded;
        pthread_mutex_unlock(&lazy->lock);
        return loaded;
}
