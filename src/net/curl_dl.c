#include "net/curl_dl.h"

#include <pthread.h>
#include <string.h>

#include "base/dynlib.h"
#include "base/log.h"
#include "base/util.h"

/* curl_global_init, then struct curl_fns in field order */
static const char *const names[] = {
    "curl_global_init",  "curl_easy_init",      "curl_easy_cleanup", "curl_easy_reset",
    "curl_easy_setopt",  "curl_easy_perform",   "curl_easy_getinfo", "curl_easy_strerror",
    "curl_slist_append", "curl_slist_free_all", "curl_getdate",
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct curl_fns fns;
static const struct curl_fns *loaded;

_Static_assert(sizeof(fns) == (ARRAY_SIZE(names) - 1) * sizeof(void *), "one slot per name");

static void load(void)
{
        /* Debian's libcurl3-gnutls (the flavour our headers come from), then
         * whatever libcurl.so.4 the system has */
        static const char *const sonames[] = {"libcurl-gnutls.so.4", "libcurl.so.4", NULL};
        void *slots[ARRAY_SIZE(names)];
        if (dynlib_load(sonames, names, slots, ARRAY_SIZE(names), "net") < 0)
                return;
        CURLcode (*global_init)(long);
        *(void **)&global_init = slots[0];
        if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("net: libcurl initialisation failed");
                return;
        }
        memcpy(&fns, slots + 1, sizeof(fns));
        loaded = &fns; /* the library stays loaded for the life of the process */
}

const struct curl_fns *curl_fns(void)
{
        pthread_once(&once, load);
        return loaded;
}
