#include "acme/curl_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include "base/log.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct curl_fns fns;
static const struct curl_fns *loaded;

static void load(void)
{
        /* Debian's libcurl3-gnutls (the flavour our headers come from), then
         * whatever libcurl.so.4 the system has */
        static const char *const names[] = {"libcurl-gnutls.so.4", "libcurl.so.4"};
        void *h = NULL;
        for (size_t i = 0; !h && i < sizeof(names) / sizeof(names[0]); i++)
                h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                log_error("acme: cannot load libcurl: %s", dlerror());
                return;
        }
        CURLcode (*global_init)(long) = (CURLcode(*)(long))dlsym(h, "curl_global_init");
        struct {
                void **slot;
                const char *sym;
        } table[] = {
            {(void **)&fns.easy_init, "curl_easy_init"},
            {(void **)&fns.easy_cleanup, "curl_easy_cleanup"},
            {(void **)&fns.easy_reset, "curl_easy_reset"},
            {(void **)&fns.easy_setopt, "curl_easy_setopt"},
            {(void **)&fns.easy_perform, "curl_easy_perform"},
            {(void **)&fns.easy_getinfo, "curl_easy_getinfo"},
            {(void **)&fns.easy_strerror, "curl_easy_strerror"},
            {(void **)&fns.slist_append, "curl_slist_append"},
            {(void **)&fns.slist_free_all, "curl_slist_free_all"},
            {(void **)&fns.getdate, "curl_getdate"},
        };
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                *table[i].slot = dlsym(h, table[i].sym);
                if (!*table[i].slot) {
                        log_error("acme: libcurl lacks %s", table[i].sym);
                        return;
                }
        }
        if (!global_init || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("acme: libcurl initialisation failed");
                return;
        }
        loaded = &fns; /* the library stays loaded for the life of the process */
}

const struct curl_fns *curl_fns(void)
{
        pthread_once(&once, load);
        return loaded;
}
