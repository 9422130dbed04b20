/* libcurl, loaded on first use. It and the libraries it pulls in (nghttp2,
 * ssh2, ldap, rtmp, brotli, ...) are several MB of resident pages that an
 * idle panel never needs: only the ACME client and the hosting providers
 * talk HTTP out (net/http.h). */
#pragma once

#include <curl/curl.h>
#include <time.h>

struct curl_fns {
        CURL *(*easy_init)(void);
        void (*easy_cleanup)(CURL *h);
        void (*easy_reset)(CURL *h);
        CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
        CURLcode (*easy_perform)(CURL *h);
        CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
        const char *(*easy_strerror)(CURLcode rc);
        struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
        void (*slist_free_all)(struct curl_slist *l);
        time_t (*getdate)(const char *s, const time_t *unused);
};

/* The loaded and initialised library, or NULL when it cannot be loaded (the
 * reason is logged once). Thread-safe. */
const struct curl_fns *curl_fns(void);
