#include "net/http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/util.h"
#include "base/validate.h"
#include "net/curl_dl.h"

#define USER_AGENT        "setec-manager"
#define CONNECT_TIMEOUT_S 10L
#define HEADER_VALUE_MAX  2048
#define IDLE_HANDLES      4

struct net_client {
        const struct curl_fns *F;
        char *ca_file;
        pthread_mutex_t lock;
        CURL *idle[IDLE_HANDLES]; /* LIFO: the last used handle (and its live connection) first */
        size_t nidle;
        unsigned long connects;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
        if (!err || errlen == 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

int net_client_new(const char *ca_file, struct net_client **out, char *err, size_t errlen)
{
        *out = NULL;
        const struct curl_fns *F = curl_fns();
        if (!F) {
                set_err(err, errlen, "libcurl cannot be loaded (is libcurl3-gnutls installed?)");
                return -EIO;
        }
        struct net_client *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->F = F;
        if (!str_empty(ca_file) && !(c->ca_file = strdup(ca_file))) {
                free(c);
                return -ENOMEM;
        }
        pthread_mutex_init(&c->lock, NULL);
        *out = c;
        return 0;
}

void net_client_free(struct net_client *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->nidle; i++)
                c->F->easy_cleanup(c->idle[i]);
        pthread_mutex_destroy(&c->lock);
        free(c->ca_file);
        free(c);
}

unsigned long net_client_connects(struct net_client *c)
{
        pthread_mutex_lock(&c->lock);
        unsigned long n = c->connects;
        pthread_mutex_unlock(&c->lock);
        return n;
}

static CURL *handle_get(struct net_client *c)
{
        pthread_mutex_lock(&c->lock);
        CURL *h = c->nidle ? c->idle[--c->nidle] : NULL;
        pthread_mutex_unlock(&c->lock);
        return h ? h : c->F->easy_init();
}

static void handle_put(struct net_client *c, CURL *h, long new_connects)
{
        pthread_mutex_lock(&c->lock);
        c->connects += (unsigned long)(new_connects > 0 ? new_connects : 0);
        if (c->nidle < IDLE_HANDLES) {
                c->idle[c->nidle++] = h;
                h = NULL;
        }
        pthread_mutex_unlock(&c->lock);
        if (h)
                c->F->easy_cleanup(h);
}

void net_response_init(struct net_response *r)
{
        memset(r, 0, sizeof(*r));
        r->body = STRBUF_INIT(NET_BODY_MAX);
        r->retry_after = -1;
}

static void headers_forget(struct net_response *r)
{
        free(r->content_type);
        free(r->location);
        free(r->captured);
        r->content_type = r->location = r->captured = NULL;
        r->retry_after = -1;
}

void net_response_free(struct net_response *r)
{
        strbuf_free(&r->body);
        headers_forget(r);
}

double net_parse_retry_after(const char *v)
{
        long long secs;
        if (parse_int64(v, 0, 86400 * 7, &secs) == 0)
                return (double)secs;
        const struct curl_fns *F = curl_fns();
        time_t t = F ? F->getdate(v, NULL) : (time_t)-1;
        if (t == (time_t)-1)
                return -1;
        double d = difftime(t, time(NULL));
        return d < 0 ? 0 : d;
}

double net_retry_delay(double retry_after)
{
        if (retry_after < 0)
                return 2;
        if (retry_after < 1)
                return 1;
        return retry_after > 60 ? 60 : retry_after;
}

char *net_escape(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s);
        char *o = malloc(n * 3 + 1), *p = o;
        if (!o)
                return NULL;
        for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
                if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
                    (*q >= '0' && *q <= '9') || *q == '-' || *q == '.' || *q == '_' || *q == '~') {
                        *p++ = (char)*q;
                } else {
                        *p++ = '%';
                        *p++ = hex[*q >> 4];
                        *p++ = hex[*q & 15];
                }
        }
        *p = '\0';
        return o;
}

struct cb {
        struct net_response *r;
        const char *capture;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
        struct cb *cb = ud;
        size_t n = size * nmemb;
        return strbuf_append(&cb->r->body, ptr, n) == 0 ? n : 0; /* 0 aborts: too large */
}

static char *header_value(const char *line, size_t n, const char *name)
{
        size_t nl = strlen(name);
        if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
                return NULL;
        const char *v = line + nl + 1;
        const char *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        if ((size_t)(end - v) > HEADER_VALUE_MAX)
                return NULL;
        return strndup(v, (size_t)(end - v));
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
        struct cb *cb = ud;
        struct net_response *r = cb->r;
        size_t n = size * nitems;
        char *v;
        if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
                /* a new response (after a 100 Continue): forget the old headers */
                headers_forget(r);
        } else if (cb->capture && (v = header_value(line, n, cb->capture))) {
                free(r->captured);
                r->captured = v;
        } else if ((v = header_value(line, n, "Location"))) {
                free(r->location);
                r->location = v;
        } else if ((v = header_value(line, n, "Content-Type"))) {
                free(r->content_type);
                r->content_type = v;
        } else if ((v = header_value(line, n, "Retry-After"))) {
                r->retry_after = net_parse_retry_after(v);
                free(v);
        }
        return n;
}

static void sleep_s(double s)
{
        struct timespec ts = {.tv_sec = (time_t)s,
                              .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int perform_once(struct net_client *c, CURL *h, const struct net_request *q,
                        struct net_response *resp, char *err, size_t errlen)
{
        const struct curl_fns *F = c->F;
        char curl_err[CURL_ERROR_SIZE] = "";
        struct cb cb = {resp, q->capture};
        struct curl_slist *hdrs = NULL;
        for (const char *const *p = q->headers; p && *p; p++) {
                struct curl_slist *t = F->slist_append(hdrs, *p);
                if (!t) {
                        F->slist_free_all(hdrs);
                        return -ENOMEM;
                }
                hdrs = t;
        }
        F->easy_reset(h); /* keeps the live connections */
        F->easy_setopt(h, CURLOPT_URL, q->url);
        F->easy_setopt(h, CURLOPT_PROTOCOLS_STR, q->allow_http ? "http,https" : "https");
        F->easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
        F->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        F->easy_setopt(h, CURLOPT_TIMEOUT_MS, q->timeout_ms > 0 ? q->timeout_ms : NET_TIMEOUT_MS);
        F->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
        F->easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
        F->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        F->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        F->easy_setopt(h, CURLOPT_WRITEDATA, &cb);
        F->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        F->easy_setopt(h, CURLOPT_HEADERDATA, &cb);
        F->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        F->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (c->ca_file)
                F->easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
        if (streq(q->method, "HEAD"))
                F->easy_setopt(h, CURLOPT_NOBODY, 1L);
        else if (!streq(q->method, "GET"))
                F->easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
        if (q->body) {
                F->easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
                F->easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
        }
        CURLcode rc = F->easy_perform(h);
        F->slist_free_all(hdrs);
        if (rc != CURLE_OK) {
                if (rc == CURLE_WRITE_ERROR) {
                        set_err(err, errlen, "%s %s: answer larger than %zu bytes", q->method,
                                q->url, resp->body.max);
                        return -EFBIG;
                }
                set_err(err, errlen, "%s %s: %s", q->method, q->url,
                        curl_err[0] ? curl_err : F->easy_strerror(rc));
                return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
        }
        F->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        return 0;
}

int net_perform(struct net_client *c, const struct net_request *q, struct net_response *resp,
                char *err, size_t errlen)
{
        unsigned retries =
            q->retries_429 > NET_RETRIES_429_MAX ? NET_RETRIES_429_MAX : q->retries_429;
        resp->body.max = q->max_body ? q->max_body : NET_BODY_MAX;
        CURL *h = handle_get(c);
        if (!h)
                return -ENOMEM;
        int r;
        long connects = 0;
        for (;;) {
                strbuf_reset(&resp->body);
                headers_forget(resp);
                resp->status = 0;
                resp->attempts++;
                r = perform_once(c, h, q, resp, err, errlen);
                long n = 0;
                if (c->F->easy_getinfo(h, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK)
                        connects += n;
                if (r < 0 || resp->status != 429 || retries == 0)
                        break;
                retries--;
                sleep_s(net_retry_delay(resp->retry_after));
        }
        handle_put(c, h, connects);
        return r;
}

json_t *net_response_json(const struct net_response *r)
{
        if (!r->body.data || r->body.len == 0)
                return NULL;
        return json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, NULL);
}
