/* HTTPS server on libmicrohttpd: epoll thread pool, route table, request
 * limits, security headers, access log, worker pool for blocking handlers
 * (the connection is suspended meanwhile) and graceful shutdown.
 *
 * The http layer knows nothing about users or the database: authentication,
 * CSRF and roles are decided by the `gate` hook the api layer installs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"

struct http_req;
struct http_server;

typedef void (*http_handler)(struct http_req *r);

enum route_auth {
        ROUTE_PUBLIC = 0, /* no authentication */
        ROUTE_USER,       /* any panel user may GET; other methods need the admin role */
        ROUTE_ADMIN,      /* admin only, whatever the method */
        ROUTE_SELF,       /* any panel user, any method: acts on their own account only */
};

enum route_flags {
        ROUTE_WORKER = 1 << 0, /* the handler blocks: run it on the worker pool */
        ROUTE_PAGE = 1 << 1,   /* GET with Accept: text/html serves the `page` asset */
};

struct route {
        const char *method;  /* "GET", "POST", "PUT", "DELETE" */
        const char *pattern; /* "/sites/{id}"; a "{name}" segment matches one path segment */
        http_handler fn;
        enum route_auth auth;
        unsigned flags;
        const char *page; /* asset path for ROUTE_PAGE, e.g. "/app.html" */
};

#define HTTP_MAX_PARAMS 4

struct http_param {
        const char *name; /* points into the pattern */
        size_t name_len;
        char *value; /* percent-decoded, owned */
};

struct http_header {
        char *name, *value;
        struct http_header *next;
};

struct http_req {
        /* request */
        const char *method;
        const char *path; /* decoded path without the query */
        const struct route *route;
        struct http_param params[HTTP_MAX_PARAMS];
        size_t nparams;
        struct strbuf body;
        char peer[64]; /* client address (X-Forwarded-For only from trusted proxies) */
        bool tls;
        void *app; /* the api layer's context */

        /* filled by the gate hook */
        bool authenticated;
        bool via_cookie; /* authenticated by the setec_token cookie (CSRF applies) */
        long long user_id;
        char username[64];
        char role[16];

        /* response */
        int status;
        char *resp_body;
        size_t resp_len;
        const char *resp_type;
        int resp_fd; /* >= 0: send this file (resp_len bytes from resp_off) instead */
        long long resp_off;
        struct http_header *resp_headers;
        bool responded;
        struct sse_stream *sse; /* set by http_reply_sse */
        void *ws;               /* set by http_reply_websocket */

        void *conn; /* struct MHD_Connection * */
        void *priv; /* server internals */
};

struct http_server_opts {
        const char *host;
        int port;
        bool tls;
        const char *cert_path; /* PEM files; re-read when they change (http/tls.h) */
        const char *key_path;
        unsigned threads;                   /* request threads (0 = one per core but one) */
        unsigned workers;                   /* worker pool size for ROUTE_WORKER */
        size_t max_body;                    /* bytes; larger -> 413 */
        size_t max_body_memory;             /* bytes all bodies being read may hold (0: 64 MiB) */
        unsigned per_ip_conns;              /* concurrent connections per client address */
        unsigned max_conns;                 /* connections at most (0: sized from RLIMIT_NOFILE) */
        unsigned timeout_s;                 /* idle connection timeout */
        const char *const *trusted_proxies; /* NULL-terminated list of IPs/CIDRs, may be NULL */
        const struct route *routes;
        size_t nroutes;
        void *app;
        /* Called before the handler (on the worker thread for ROUTE_WORKER).
         * Return true to continue; false when it has already set the response. */
        bool (*gate)(struct http_req *r);
        /* Called for a request that announces a body, from its headers alone,
         * before the body is read (on the server thread). False when it has
         * set the response (401, 403): that is sent without reading the body
         * and the connection closed. The gate still runs afterwards. */
        bool (*preauth)(struct http_req *r);
        /* Called after the handler has produced its response (same thread). */
        void (*after)(struct http_req *r);
        bool access_log;
};

/* Start listening. -EADDRINUSE when the port is taken, -EKEYREJECTED when
 * the certificate and key are not a usable PEM pair, -errno otherwise. */
int http_server_start(const struct http_server_opts *opts, struct http_server **out);
/* Stop accepting, let in-flight requests finish (up to timeout_s), stop. */
void http_server_stop(struct http_server *s, unsigned timeout_s);
/* The bound port (useful with port 0). */
int http_server_port(struct http_server *s);
/* Number of requests being handled right now. */
unsigned http_server_inflight(struct http_server *s);

/* ---- request accessors ---- */
const char *http_header(struct http_req *r, const char *name);
const char *http_query(struct http_req *r, const char *name);
const char *http_cookie(struct http_req *r, const char *name);
const char *http_param(struct http_req *r, const char *name);
/* Parsed application/x-www-form-urlencoded body value (NULL when absent or
 * when the body is not a form). */
const char *http_form(struct http_req *r, const char *name);
bool http_is_form(struct http_req *r);
bool http_accepts_html(struct http_req *r);

/* ---- responses ---- */
/* Takes ownership of body (malloc'd, may be NULL for empty). */
void http_reply(struct http_req *r, int status, const char *content_type, char *body, size_t len);
/* {"error": msg} with the given status. */
void http_reply_error(struct http_req *r, int status, const char *msg);
void http_reply_errorf(struct http_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Send a file: takes ownership of fd. */
void http_reply_file(struct http_req *r, int status, const char *content_type, int fd,
                     long long offset, long long len);
void http_redirect(struct http_req *r, int status, const char *location);
/* Serve an embedded asset (404 JSON when absent). */
void http_reply_asset(struct http_req *r, const char *path);
/* Extra header on the response (may repeat, e.g. Set-Cookie). */
void http_add_header(struct http_req *r, const char *name, const char *value);
/* Set-Cookie with Path=/ and SameSite=Strict; max_age < 0 deletes. */
void http_set_cookie(struct http_req *r, const char *name, const char *value, long max_age,
                     bool http_only);

/* ---- deferred replies ----
 * A ROUTE_WORKER handler that waits for something long (a job) calls
 * http_defer(r) and returns at once: the worker thread is free, the
 * connection stays suspended (no thread held) and r stays valid until
 * http_defer_done(r) is called, from any thread, after the reply has been
 * set on r with the usual http_reply* calls. The `after` hook (audit) runs
 * in http_defer_done. 0, or -EINVAL when r is not on the worker pool (the
 * handler must then answer as usual). */
int http_defer(struct http_req *r);
void http_defer_done(struct http_req *r);

/* Status text for a code ("Not Found"). */
const char *http_status_text(int status);
