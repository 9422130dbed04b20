/* The one outbound HTTP client (ACME and the hosting providers): libcurl
 * loaded on first use (net/curl_dl.h), TLS always verified (system store or
 * one CA file), timeouts, bounded answers, Retry-After on 429, JSON in and
 * out. A client keeps a few curl handles between calls: each handle keeps
 * its connections alive, so sequential calls to one host reuse one
 * TLS connection. A client may be used from several threads at once. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"

#define NET_BODY_MAX        (1024 * 1024)
#define NET_TIMEOUT_MS      30000L
#define NET_RETRIES_429_MAX 3

struct net_client;

/* ca_file: PEM file that replaces the system store for every call of this
 * client; NULL or "" = the system store. 0, -ENOMEM or -EIO (no libcurl; a
 * message is in err). */
int net_client_new(const char *ca_file, struct net_client **out, char *err, size_t errlen);
void net_client_free(struct net_client *c);
/* TCP connections this client opened so far (for tests and the bench). */
unsigned long net_client_connects(struct net_client *c);

struct net_request {
        const char *method; /* GET, HEAD, POST, PUT, PATCH, DELETE */
        const char *url;
        const char *const *headers; /* NULL-terminated "Name: value" lines, may be NULL */
        const char *body;           /* NULL = none (a DELETE may carry one) */
        size_t body_len;
        long timeout_ms;      /* whole exchange; 0 = NET_TIMEOUT_MS */
        size_t max_body;      /* 0 = NET_BODY_MAX; a larger answer fails with -EFBIG */
        unsigned retries_429; /* 0..NET_RETRIES_429_MAX: wait Retry-After and retry */
        bool allow_http;      /* also plain http:// (loopback test peers); else https only */
        const char *capture;  /* one more header to keep (e.g. "Replay-Nonce"), may be NULL */
};

struct net_response {
        long status;
        struct strbuf body;
        char *content_type, *location, *captured;
        double retry_after; /* seconds from the last answer, < 0 = not given */
        unsigned attempts;  /* exchanges made (1 + retries) */
};

void net_response_init(struct net_response *r);
void net_response_free(struct net_response *r);

/* One exchange (plus retries on 429). 0 when an answer came (any status),
 * else -ETIMEDOUT, -EFBIG (answer too large), -EIO (connection, TLS, DNS)
 * with a message in err that never contains the request's headers. */
int net_perform(struct net_client *c, const struct net_request *q, struct net_response *resp,
                char *err, size_t errlen);

/* The response body as JSON, NULL when empty or not JSON. */
json_t *net_response_json(const struct net_response *r);

/* Retry-After value: delay seconds or an HTTP date; < 0 when unparseable. */
double net_parse_retry_after(const char *v);
/* How long to wait before retrying a 429: Retry-After clamped to 1..60 s,
 * 2 s when absent. */
double net_retry_delay(double retry_after);
/* Percent-encode s for a path segment or a query value (RFC 3986
 * unreserved kept). malloc'd, NULL on ENOMEM. */
char *net_escape(const char *s);
