#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/workpool.h"
#include "http/assets.h"
#include "http/conn.h"
#include "http/evloop.h"
#include "http/router.h"
#include "http/sse.h"
#include "http/tls.h"
#include "http/websocket.h"

struct form_kv {
        char *key, *value;
};

struct cidr {
        int family;
        unsigned char addr[16];
        int prefix;
};

struct http_server {
        struct MHD_Daemon *d;
        struct http_server_opts o;
        struct workpool *pool;
        atomic_uint inflight;
        atomic_uint connections;
        atomic_size_t body_mem; /* bytes reserved by the bodies being read */
        unsigned max_conns;
        struct cidr *proxies;
        size_t nproxies;
        int listen_fd;
        pthread_t acceptor;
        bool acceptor_started;
        atomic_bool stopping;
        struct evloop *loop; /* the one event loop: SSE streams and WebSockets */
        struct sse_loop *sse;
        struct ws_hub *ws;
};

/* ST_UPGRADED: a WebSocket has the connection (start_websocket) */
enum req_state { ST_NEW, ST_BODY, ST_WORKING, ST_READY, ST_UPGRADED };

struct req_priv {
        struct http_server *s;
        enum req_state st;
        char *raw_uri;
        double t0;
        bool too_large;
        bool over_memory; /* the bodies being read hold max_body_memory already */
        bool counted;
        size_t max_body; /* this request's limit */
        size_t reserved; /* bytes of s->body_mem this request holds */
        struct form_kv *form;
        size_t nform;
        bool form_parsed;
        bool keep_alive;         /* HTTP/1.1 without "Connection: close" */
        gnutls_session_t corked; /* see cork_response() */
        bool deferred;           /* http_defer() was called */
        atomic_int defer_refs;   /* the handler's return and http_defer_done() */
        atomic_bool ws_released; /* ST_UPGRADED: the WebSocket gave it back */
};

/* On every answer (reference-behaviour §3.6). X-XSS-Protection is 0, not the
 * reference's "1; mode=block": that switched on the browsers' old XSS filter,
 * which current browsers have removed and which in older ones could be used to
 * probe a page's content across sites; the policy below does its job. */
static const char *const security_headers[][2] = {
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"X-XSS-Protection", "0"},
    {"Referrer-Policy", "strict-origin-when-cross-origin"},
    {"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
};

/* The policy of a page: what the web UI's own files may do. */
static const char *const page_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
};

/* Anything else (JSON, scripts, styles, images, files) is never a document that
 * may load or run something: the strictest policy, in a few bytes. */
static const char *const other_headers[][2] = {
    {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
};

const char *http_status_text(int status)
{
        switch (status) {
        case 200:
                return "OK";
        case 201:
                return "Created";
        case 202:
                return "Accepted";
        case 204:
                return "No Content";
        case 206:
                return "Partial Content";
        case 303:
                return "See Other";
        case 304:
                return "Not Modified";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 409:
                return "Conflict";
        case 413:
                return "Payload Too Large";
        case 416:
                return "Range Not Satisfiable";
        case 429:
                return "Too Many Requests";
        case 500:
                return "Internal Server Error";
        case 501:
                return "Not Implemented";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        case 504:
                return "Gateway Timeout";
        default:
                return "";
        }
}

/* ---------- trusted proxies ---------- */

static int parse_cidr(const char *s, struct cidr *c)
{
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        char *slash = strchr(copy, '/');
        if (slash)
                *slash++ = '\0';
        if (inet_pton(AF_INET, copy, c->addr) == 1) {
                c->family = AF_INET;
                c->prefix = 32;
        } else if (inet_pton(AF_INET6, copy, c->addr) == 1) {
                c->family = AF_INET6;
                c->prefix = 128;
        } else {
                return -EINVAL;
        }
        if (slash) {
                long long p;
                if (parse_int64(slash, 0, c->prefix, &p) < 0)
                        return -EINVAL;
                c->prefix = (int)p;
        }
        return 0;
}

static bool cidr_contains(const struct cidr *c, const char *ip)
{
        unsigned char a[16];
        int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
        if (fam != c->family || inet_pton(fam, ip, a) != 1)
                return false;
        int bits = c->prefix;
        for (int i = 0; bits > 0; i++, bits -= 8) {
                unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
                if ((a[i] & mask) != (c->addr[i] & mask))
                        return false;
        }
        return true;
}

static bool is_trusted_proxy(struct http_server *s, const char *ip)
{
        for (size_t i = 0; i < s->nproxies; i++)
                if (cidr_contains(&s->proxies[i], ip))
                        return true;
        return false;
}

/* What on_connection() keeps for the connection; NULL if it had no memory. */
static struct http_conn *conn_state(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return ci ? ci->socket_context : NULL;
}

/* The client address: the socket peer, or for a trusted proxy the rightmost
 * X-Forwarded-For entry that is not itself a trusted proxy. */
static void resolve_peer(struct http_server *s, struct http_req *r)
{
        const struct http_conn *c = conn_state(r->conn);
        _Static_assert(sizeof(r->peer) >= sizeof(c->peer), "peer does not fit");
        if (c) {
                memcpy(r->peer, c->peer, sizeof(c->peer));
        } else { /* no memory for it when the connection came */
                const union MHD_ConnectionInfo *ci =
                    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
                http_conn_peer(ci ? ci->client_addr : NULL, r->peer);
        }
        if (!s->nproxies || !is_trusted_proxy(s, r->peer))
                return;
        const char *xff = http_header(r, "X-Forwarded-For");
        if (!xff)
                return;
        _cleanup_free_ char *copy = strdup(xff);
        if (!copy)
                return;
        for (;;) {
                char *comma = strrchr(copy, ',');
                char *item = comma ? comma + 1 : copy;
                while (*item == ' ' || *item == '\t')
                        item++;
                size_t l = strlen(item);
                while (l && (item[l - 1] == ' ' || item[l - 1] == '\t'))
                        item[--l] = '\0';
                struct cidr probe;
                if (l == 0 || l >= sizeof(r->peer) || parse_cidr(item, &probe) < 0 ||
                    strchr(item, '/'))
                        return; /* malformed: keep the last trusted hop we have */
                snprintf(r->peer, sizeof(r->peer), "%s", item);
                if (!is_trusted_proxy(s, item) || !comma)
                        return;
                *comma = '\0';
        }
}

/* ---------- accessors ---------- */

const char *http_header(struct http_req *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct http_req *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_cookie(struct http_req *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

const char *http_param(struct http_req *r, const char *name)
{
        size_t l = strlen(name);
        for (size_t i = 0; i < r->nparams; i++)
                if (r->params[i].name_len == l && memcmp(r->params[i].name, name, l) == 0)
                        return r->params[i].value;
        return NULL;
}

bool http_is_form(struct http_req *r)
{
        const char *ct = http_header(r, "Content-Type");
        return ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

static char *form_decode(const char *s, size_t n)
{
        char *out = malloc(n + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '+') {
                        *o++ = ' ';
                        continue;
                }
                if (s[i] != '%') {
                        *o++ = s[i];
                        continue;
                }
                int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
                int lo = hi < 0 ? -1 : hex_digit(s[i + 2]);
                if (hi < 0 || lo < 0 || (hi | lo) == 0) {
                        free(out);
                        return NULL;
                }
                *o++ = (char)(hi * 16 + lo);
                i += 2;
        }
        *o = '\0';
        return out;
}

static void parse_form(struct http_req *r)
{
        struct req_priv *p = r->priv;
        p->form_parsed = true;
        if (!http_is_form(r) || !r->body.data)
                return;
        const char *s = r->body.data, *end = s + r->body.len;
        while (s < end) {
                const char *amp = memchr(s, '&', (size_t)(end - s));
                if (!amp)
                        amp = end;
                const char *eq = memchr(s, '=', (size_t)(amp - s));
                if (eq && eq > s) {
                        struct form_kv *nf = realloc(p->form, (p->nform + 1) * sizeof(*nf));
                        if (!nf)
                                return;
                        p->form = nf;
                        char *k = form_decode(s, (size_t)(eq - s));
                        char *v = form_decode(eq + 1, (size_t)(amp - eq - 1));
                        if (k && v) {
                                p->form[p->nform].key = k;
                                p->form[p->nform].value = v;
                                p->nform++;
                        } else {
                                free(k);
                                free(v);
                        }
                }
                s = amp + 1;
        }
}

const char *http_form(struct http_req *r, const char *name)
{
        struct req_priv *p = r->priv;
        if (!p->form_parsed)
                parse_form(r);
        for (size_t i = 0; i < p->nform; i++)
                if (streq(p->form[i].key, name))
                        return p->form[i].value;
        return NULL;
}

bool http_accepts_html(struct http_req *r)
{
        const char *a = http_header(r, "Accept");
        return a && strstr(a, "text/html");
}

/* ---------- responses ---------- */

static void clear_response(struct http_req *r)
{
        sse_discard(r);
        ws_discard(r);
        free(r->resp_body);
        r->resp_body = NULL;
        if (r->resp_fd >= 0)
                close(r->resp_fd);
        r->resp_fd = -1;
}

void http_reply(struct http_req *r, int status, const char *content_type, char *body, size_t len)
{
        clear_response(r);
        r->status = status;
        r->resp_type = content_type;
        r->resp_body = body;
        r->resp_len = body ? len : 0;
        r->responded = true;
}

void http_reply_error(struct http_req *r, int status, const char *msg)
{
        json_t *o = json_pack("{s:s}", "error", msg ? msg : http_status_text(status));
        if (!o) /* msg is not UTF-8 */
                o = json_pack("{s:s}", "error", http_status_text(status));
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        http_reply(r, status, "application/json", s, s ? strlen(s) : 0);
}

void http_reply_errorf(struct http_req *r, int status, const char *fmt, ...)
{
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(4096);
        va_list ap;
        va_start(ap, fmt);
        strbuf_vprintf(&b, fmt, ap);
        va_end(ap);
        http_reply_error(r, status, b.data);
}

void http_reply_file(struct http_req *r, int status, const char *content_type, int fd,
                     long long offset, long long len)
{
        clear_response(r);
        r->status = status;
        r->resp_type = content_type;
        r->resp_fd = fd;
        r->resp_off = offset;
        r->resp_len = (size_t)len;
        r->responded = true;
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
        struct http_header *h = calloc(1, sizeof(*h));
        if (!h)
                return;
        h->name = strdup(name);
        h->value = strdup(value);
        if (!h->name || !h->value) {
                free(h->name);
                free(h->value);
                free(h);
                return;
        }
        struct http_header **tail = &r->resp_headers;
        while (*tail)
                tail = &(*tail)->next;
        *tail = h;
}

void http_redirect(struct http_req *r, int status, const char *location)
{
        http_reply(r, status, "text/plain; charset=utf-8", NULL, 0);
        http_add_header(r, "Location", location);
}

void http_set_cookie(struct http_req *r, const char *name, const char *value, long max_age,
                     bool http_only)
{
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(8192);
        strbuf_printf(&b, "%s=%s; Path=/; Max-Age=%ld; SameSite=Strict%s%s", name,
                      max_age < 0 ? "" : value, max_age < 0 ? 0 : max_age,
                      http_only ? "; HttpOnly" : "", r->tls ? "; Secure" : "");
        if (b.data)
                http_add_header(r, "Set-Cookie", b.data);
}

void http_reply_asset(struct http_req *r, const char *path)
{
        const struct asset *a = assets_find(path);
        if (!a) {
                http_reply_error(r, 404, "not found");
                return;
        }
        /* Every view revalidates (no-cache) and a repeat view downloads
         * nothing: 304 for a known ETag. Text is sent gzipped (made at build
         * time) to clients that take it. */
        const char *ae = http_header(r, "Accept-Encoding");
        bool gz = a->gz && ae && strstr(ae, "gzip");
        /* each coding its own strong tag: "<hash>" and "<hash>-gz" */
        char etag[64] = "";
        if (a->etag)
                snprintf(etag, sizeof(etag), "%.*s%s\"", (int)strlen(a->etag) - 1, a->etag,
                         gz ? "-gz" : "");
        if (*etag && assets_etag_matches(http_header(r, "If-None-Match"), etag)) {
                /* the type picks the same security headers the 200 had */
                http_reply(r, 304, assets_content_type(path), NULL, 0);
        } else {
                const unsigned char *data = gz ? a->gz : a->data;
                size_t size = gz ? a->gz_size : a->size;
                char *copy = malloc(size ? size : 1);
                if (!copy) {
                        http_reply_error(r, 500, "out of memory");
                        return;
                }
                memcpy(copy, data, size);
                http_reply(r, 200, assets_content_type(path), copy, size);
                if (gz)
                        http_add_header(r, "Content-Encoding", "gzip");
        }
        if (a->gz)
                http_add_header(r, "Vary", "Accept-Encoding");
        if (*etag)
                http_add_header(r, "ETag", etag);
        http_add_header(r, "Cache-Control", "no-cache");
}

/* libmicrohttpd 0.9.75 encrypts a response's header and body as two TLS
 * records, which costs both sides a record and a read. For a small response
 * that is surely sent at once, the session is corked while MHD writes it and
 * uncorked when MHD reports it complete (on_completed, which MHD calls before
 * it reads the next request): one record. "Surely": HTTP/1.1 keep-alive (MHD
 * does not close the connection after it), not shutting down, and nothing
 * queued on the socket, so a few KiB fit into its buffer. Never for an
 * answer that stays open (SSE, a WebSocket upgrade): MHD does not complete it.
 * GnuTLS keeps the buffer a corked answer was gathered in until the session
 * ends: an idle keep-alive connection holds 2 KiB more after a corked answer
 * of up to 2 KiB (header included), ~6.5 KiB after a 4 KiB body
 * (bench/tls_session_mem.c). */
#define CORK_MAX 4096

static int conn_fd(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        return ci ? ci->connect_fd : -1;
}

/* For a response from memory of at most CORK_MAX bytes. */
static void cork_response(struct http_server *s, struct http_req *r)
{
        struct req_priv *p = r->priv;
        int queued = -1, fd;
        if (!s->o.tls || !p->keep_alive || atomic_load(&s->stopping) ||
            (fd = conn_fd(r->conn)) < 0 || ioctl(fd, SIOCOUTQ, &queued) < 0 || queued != 0)
                return;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (!ci || !ci->tls_session)
                return;
        gnutls_record_cork(ci->tls_session);
        p->corked = ci->tls_session;
}

static void uncork_response(struct MHD_Connection *conn, gnutls_session_t tls)
{
        struct http_conn *c = conn_state(conn);
        int fd = conn_fd(conn);
        /* Not expected to wait (see above); if the client stops reading after
         * all, wait for room at most 2 s, then drop the connection rather
         * than leave the answer corked. */
        for (int i = 0; i < 20; i++) {
                int rc = gnutls_record_uncork(tls, 0);
                if (rc >= 0 && fd >= 0 && !(c && c->push_on_send)) {
                        /* MHD TCP_CORKs the socket for its first answer and
                         * from then on pushes each one with TCP_NODELAY, before
                         * this send. Clearing the cork sends this answer now and
                         * every later one with its own send(). */
                        int zero = 0, one = 1;
                        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                        if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)) == 0 && c)
                                c->push_on_send = true;
                }
                if (rc >= 0 || gnutls_error_is_fatal(rc) || fd < 0)
                        return;
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, 100);
        }
        log_warn("client does not read its answer: closing the connection");
        shutdown(fd, SHUT_RDWR);
}

/* Every header of r's answer: the fixed ones, then the handler's. */
static void each_header(const struct http_server *s, const struct http_req *r,
                        void (*add)(void *arg, const char *name, const char *value), void *arg)
{
        if (r->resp_type)
                add(arg, MHD_HTTP_HEADER_CONTENT_TYPE, r->resp_type);
        for (size_t i = 0; i < ARRAY_SIZE(security_headers); i++)
                add(arg, security_headers[i][0], security_headers[i][1]);
        if (r->resp_type && strncmp(r->resp_type, "text/html", 9) == 0)
                for (size_t i = 0; i < ARRAY_SIZE(page_headers); i++)
                        add(arg, page_headers[i][0], page_headers[i][1]);
        else
                for (size_t i = 0; i < ARRAY_SIZE(other_headers); i++)
                        add(arg, other_headers[i][0], other_headers[i][1]);
        if (s->o.tls)
                add(arg, "Strict-Transport-Security", "max-age=31536000; includeSubDomains");
        bool has_cache = false;
        for (struct http_header *h = r->resp_headers; h; h = h->next) {
                add(arg, h->name, h->value);
                if (strcasecmp(h->name, "Cache-Control") == 0)
                        has_cache = true;
        }
        if (!has_cache)
                add(arg, "Cache-Control", "no-store");
}

static void add_to_response(void *resp, const char *name, const char *value)
{
        MHD_add_response_header(resp, name, value);
}

struct head {
        struct strbuf b;
        int rc; /* the first error */
};

static void head_put(struct head *h, const char *text)
{
        if (h->rc == 0)
                h->rc = strbuf_puts(&h->b, text);
}

static void add_to_head(void *arg, const char *name, const char *value)
{
        struct head *h = arg;
        if (h->rc == 0)
                h->rc = strbuf_printf(&h->b, "%s: %s\r\n", name, value);
}

/* Loop thread: the WebSocket is done with the connection. MHD calls the
 * handler again once resumed, which closes the connection. */
static void websocket_released(void *arg)
{
        struct http_req *r = arg;
        atomic_store(&((struct req_priv *)r->priv)->ws_released, true);
        MHD_resume_connection(r->conn);
}

/* A WebSocket's 101: MHD is told to leave the connection alone (suspended)
 * and the socket with its TLS session goes to the WebSocket, which sends
 * the 101 itself (http/websocket.h says why). */
static enum MHD_Result start_websocket(struct http_server *s, struct http_req *r)
{
        struct req_priv *p = r->priv;
        int fd = conn_fd(r->conn);
        const union MHD_ConnectionInfo *ci =
            s->o.tls ? MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION) : NULL;
        gnutls_session_t tls = ci ? ci->tls_session : NULL;
        if (fd < 0 || (s->o.tls && !tls))
                return MHD_NO;
        struct head head = {.b = STRBUF_INIT(8192)};
        head_put(&head, "HTTP/1.1 101 Switching Protocols\r\n");
        each_header(s, r, add_to_head, &head);
        head_put(&head, "\r\n");
        if (head.rc < 0) {
                strbuf_free(&head.b);
                return MHD_NO;
        }
        p->st = ST_UPGRADED;
        MHD_suspend_connection(r->conn);
        struct ws_socket sock = {.fd = fd,
                                 .tls = tls,
                                 .head = head.b.data,
                                 .head_len = head.b.len,
                                 .release = websocket_released,
                                 .release_arg = r};
        if (ws_start(s->ws, r, &sock) < 0)
                websocket_released(r); /* the server is stopping: close it */
        return MHD_YES;
}

static enum MHD_Result send_response(struct http_req *r)
{
        struct http_server *s = ((struct req_priv *)r->priv)->s;
        if (r->ws)
                return start_websocket(s, r);
        struct MHD_Response *resp;
        /* decided before sse_make_response() takes the stream */
        bool small = !r->sse && r->resp_fd < 0 && r->resp_len <= CORK_MAX;
        if (r->sse) {
                resp = sse_make_response(s->sse, r);
        } else if (r->resp_fd >= 0) {
                resp = MHD_create_response_from_fd_at_offset64(r->resp_len, r->resp_fd,
                                                               (uint64_t)r->resp_off);
                if (resp)
                        r->resp_fd = -1; /* MHD closes it */
        } else {
                resp = MHD_create_response_from_buffer_with_free_callback(r->resp_len, r->resp_body,
                                                                          free);
                if (resp)
                        r->resp_body = NULL;
        }
        if (!resp)
                return MHD_NO;
        each_header(s, r, add_to_response, resp);
        if (small)
                cork_response(s, r);
        enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* ---------- request lifecycle ---------- */

static struct http_req *req_new(struct http_server *s, const char *uri)
{
        struct http_req *r = calloc(1, sizeof(*r));
        struct req_priv *p = calloc(1, sizeof(*p));
        if (!r || !p) {
                free(r);
                free(p);
                return NULL;
        }
        p->s = s;
        p->raw_uri = strdup(uri ? uri : "/");
        p->t0 = time_monotonic();
        r->priv = p;
        r->app = s->o.app;
        r->tls = s->o.tls;
        r->resp_fd = -1;
        r->body = STRBUF_INIT(s->o.max_body);
        p->max_body = s->o.max_body;
        return r;
}

static void body_release(struct req_priv *p)
{
        if (p && p->reserved) {
                atomic_fetch_sub(&p->s->body_mem, p->reserved);
                p->reserved = 0;
        }
}

/* Takes n more bytes of the memory all bodies may hold; false when that
 * would go over the limit. */
static bool body_reserve(struct req_priv *p, size_t n)
{
        struct http_server *s = p->s;
        size_t cur = atomic_load(&s->body_mem);
        do {
                if (n > s->o.max_body_memory || cur > s->o.max_body_memory - n)
                        return false;
        } while (!atomic_compare_exchange_weak(&s->body_mem, &cur, cur + n));
        p->reserved += n;
        return true;
}

static void req_free(struct http_req *r)
{
        if (!r)
                return;
        struct req_priv *p = r->priv;
        body_release(p);
        router_params_free(r->params, r->nparams);
        strbuf_free(&r->body);
        clear_response(r);
        for (struct http_header *h = r->resp_headers, *n; h; h = n) {
                n = h->next;
                free(h->name);
                free(h->value);
                free(h);
        }
        if (p) {
                for (size_t i = 0; i < p->nform; i++) {
                        free(p->form[i].key);
                        free(p->form[i].value);
                }
                free(p->form);
                free(p->raw_uri);
                free(p);
        }
        free(r);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
        return req_new(cls, uri);
}

/* The handler proper: gate, page or handler, after. */
static void run_pipeline(struct http_req *r)
{
        struct http_server *s = ((struct req_priv *)r->priv)->s;
        if (s->o.gate && !s->o.gate(r))
                goto done;
        if ((r->route->flags & ROUTE_PAGE) && http_accepts_html(r) && r->route->page)
                http_reply_asset(r, r->route->page);
        else
                r->route->fn(r);
        if (((struct req_priv *)r->priv)->deferred)
                return; /* http_defer_done answers and runs `after` */
        if (!r->responded)
                http_reply_error(r, 500, "handler produced no response");
done:
        if (s->o.after)
                s->o.after(r);
}

/* The second of the handler's return and http_defer_done() resumes. */
static void defer_put(struct http_req *r)
{
        struct req_priv *p = r->priv;
        if (atomic_fetch_sub(&p->defer_refs, 1) != 1)
                return;
        p->st = ST_READY;
        MHD_resume_connection(r->conn);
}

int http_defer(struct http_req *r)
{
        struct req_priv *p = r->priv;
        if (p->st != ST_WORKING || p->deferred)
                return -EINVAL;
        atomic_store(&p->defer_refs, 2);
        p->deferred = true;
        return 0;
}

void http_defer_done(struct http_req *r)
{
        struct http_server *s = ((struct req_priv *)r->priv)->s;
        if (!r->responded)
                http_reply_error(r, 500, "handler produced no response");
        if (s->o.after)
                s->o.after(r);
        defer_put(r);
}

static void worker_job(void *arg)
{
        struct http_req *r = arg;
        run_pipeline(r);
        if (((struct req_priv *)r->priv)->deferred) {
                defer_put(r);
                return;
        }
        ((struct req_priv *)r->priv)->st = ST_READY;
        MHD_resume_connection(r->conn);
}

/* Returns true when the request was handed to the worker pool. */
static bool dispatch(struct http_server *s, struct http_req *r)
{
        struct req_priv *p = r->priv;
        if (p->too_large) {
                http_reply_errorf(r, 413, "request body larger than %zu bytes", p->max_body);
                return false;
        }
        if (p->over_memory) {
                http_reply_error(r, 503, "server busy, try again");
                http_add_header(r, "Retry-After", "1");
                return false;
        }
        /* The path is the raw URI up to '?'; segments are decoded by the router. */
        char *q = strchr(p->raw_uri, '?');
        if (q)
                *q = '\0';
        const char *path = p->raw_uri;
        r->path = path;
        if (path[0] != '/') {
                http_reply_error(r, 400, "bad request path");
                return false;
        }
        bool get = streq(r->method, "GET") || streq(r->method, "HEAD");
        if (get && path[1] && !strstr(path, "..") && !strchr(path, '%') &&
            (startswith(path, "/css/") || startswith(path, "/js/") || startswith(path, "/img/") ||
             streq(path, "/favicon.ico"))) {
                http_reply_asset(r, streq(path, "/favicon.ico") ? "/img/favicon.svg" : path);
                return false;
        }
        _cleanup_strbuf_ struct strbuf allow = STRBUF_INIT(256);
        switch (router_match(s->o.routes, s->o.nroutes, r->method, path, &r->route, r->params,
                             &r->nparams, &allow)) {
        case MATCH_NONE:
                /* a browser gets the UI's own "Page not found" */
                if (streq(r->method, "GET") && http_accepts_html(r) && assets_find("/app.html")) {
                        http_reply_asset(r, "/app.html");
                        if (r->status == 200)
                                r->status = 404;
                        return false;
                }
                http_reply_error(r, 404, "not found");
                return false;
        case MATCH_BAD_METHOD:
                http_reply_error(r, 405, "method not allowed");
                if (allow.data)
                        http_add_header(r, "Allow", allow.data);
                return false;
        case MATCH_FOUND:
                break;
        }
        if (!(r->route->flags & ROUTE_WORKER)) {
                run_pipeline(r);
                return false;
        }
        p->st = ST_WORKING;
        MHD_suspend_connection(r->conn);
        int rc = workpool_submit(s->pool, worker_job, r);
        if (rc < 0) {
                MHD_resume_connection(r->conn);
                p->st = ST_READY;
                http_reply_error(r, 503, "server busy, try again");
                http_add_header(r, "Retry-After", "1");
        }
        return true;
}

/* A request that announces a body is decided from its request line and
 * headers before the body is read: an unknown route, a refusal by the
 * preauth hook (401, 403), a body over the limit or over the memory all
 * bodies may hold get their answer at once, and MHD closes the connection
 * instead of reading the body. A route that needs no authentication (login)
 * gets at most PUBLIC_MAX_BODY. True when r has its answer. */
#define PUBLIC_MAX_BODY (64u * 1024)

static bool decide_before_body(struct http_server *s, struct http_req *r, long long announced)
{
        struct req_priv *p = r->priv;
        char *q = strchr(p->raw_uri, '?');
        if (q)
                *q = '\0';
        r->path = p->raw_uri;
        if (r->path[0] != '/')
                return false; /* dispatch() answers 400 */
        _cleanup_strbuf_ struct strbuf allow = STRBUF_INIT(256);
        bool answered = false;
        switch (router_match(s->o.routes, s->o.nroutes, r->method, r->path, &r->route, r->params,
                             &r->nparams, &allow)) {
        case MATCH_NONE:
        case MATCH_BAD_METHOD:
                router_params_free(r->params, r->nparams);
                r->nparams = 0;
                r->route = NULL;
                dispatch(s, r); /* 404/405: never a worker route */
                return true;
        case MATCH_FOUND:
                break;
        }
        if (r->route->auth == ROUTE_PUBLIC && p->max_body > PUBLIC_MAX_BODY)
                p->max_body = PUBLIC_MAX_BODY;
        if (announced >= 0 && (unsigned long long)announced > p->max_body) {
                p->too_large = true;
        } else if (s->o.preauth && !s->o.preauth(r)) {
                answered = true;
                if (s->o.after)
                        s->o.after(r);
        } else if (announced > 0 && !body_reserve(p, (size_t)announced)) {
                http_reply_error(r, 503, "server busy, try again");
                http_add_header(r, "Retry-After", "1");
                answered = true;
        }
        router_params_free(r->params, r->nparams);
        r->nparams = 0;
        return answered;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
        struct http_server *s = cls;
        struct http_req *r = *con_cls;
        if (!r) {
                r = req_new(s, url);
                if (!r)
                        return MHD_NO;
                *con_cls = r;
        }
        struct req_priv *p = r->priv;
        switch (p->st) {
        case ST_NEW: {
                r->conn = conn;
                r->method = method;
                const char *connection = http_header(r, MHD_HTTP_HEADER_CONNECTION);
                p->keep_alive = streq(version, MHD_HTTP_VERSION_1_1) &&
                                !(connection && strcasestr(connection, "close"));
                resolve_peer(s, r);
                if (!p->counted) {
                        atomic_fetch_add(&s->inflight, 1);
                        p->counted = true;
                }
                const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
                const char *te = http_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
                long long n = -1;
                if (cl && parse_int64(cl, 0, (long long)1 << 62, &n) < 0)
                        n = -1;
                p->st = ST_BODY;
                if ((n > 0 || (te && strcasestr(te, "chunked"))) && decide_before_body(s, r, n)) {
                        p->st = ST_READY;
                        return send_response(r);
                }
                return MHD_YES; /* answer on the next call: keeps keep-alive working */
        }
        case ST_BODY:
                if (*upload_size) {
                        size_t want = r->body.len + *upload_size;
                        if (want > p->max_body)
                                p->too_large = true;
                        else if (want > p->reserved && !p->over_memory &&
                                 !body_reserve(p, want - p->reserved))
                                p->over_memory = true;
                        if (!p->too_large && !p->over_memory &&
                            strbuf_append(&r->body, upload_data, *upload_size) < 0)
                                p->too_large = true;
                        if (p->too_large || p->over_memory) {
                                strbuf_free(&r->body);
                                body_release(p);
                        }
                        *upload_size = 0;
                        return MHD_YES;
                }
                if (dispatch(s, r))
                        return MHD_YES;
                return send_response(r);
        case ST_WORKING:
                *upload_size = 0;
                return MHD_YES; /* spurious call while suspended */
        case ST_READY:
                return send_response(r);
        case ST_UPGRADED:
                /* after the WebSocket: close the connection (no answer can
                 * follow a 101) */
                return atomic_load(&p->ws_released) ? MHD_NO : MHD_YES;
        }
        return MHD_NO;
}

/* ---------- access log ---------- */

/* The access log's line is built by hand (no printf: it runs for every
 * request) and buffered per thread (log_buffered()). */
struct line {
        char *p, *end;
};

static void put(struct line *l, const char *s, size_t n)
{
        if (n > (size_t)(l->end - l->p))
                n = (size_t)(l->end - l->p);
        memcpy(l->p, s, n);
        l->p += n;
}

static void put_str(struct line *l, const char *s)
{
        if (s)
                put(l, s, strlen(s));
}

static void put_uint(struct line *l, unsigned long long v)
{
        char d[24];
        size_t i = sizeof(d);
        do {
                d[--i] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        put(l, d + i, sizeof(d) - i);
}

static void access_log(struct http_req *r, struct req_priv *p)
{
        char buf[2048];
        struct line l = {buf, buf + sizeof(buf)};
        put_str(&l, r->peer);
        put(&l, " \"", 2);
        put_str(&l, r->method);
        put(&l, " ", 1);
        put_str(&l, p->raw_uri);
        put(&l, "\" ", 2);
        put_uint(&l, r->status < 0 ? 0 : (unsigned long long)r->status);
        put(&l, " ", 1);
        put_uint(&l, r->resp_len);
        put(&l, " ", 1);
        /* milliseconds with one decimal, rounded as %.1f would */
        double ms = (time_monotonic() - p->t0) * 1000.0;
        unsigned long long tenths = ms > 0 ? (unsigned long long)(ms * 10.0 + 0.5) : 0;
        put_uint(&l, tenths / 10);
        char frac[2] = {'.', (char)('0' + tenths % 10)};
        put(&l, frac, 2);
        put(&l, "ms", 2);
        if (r->username[0]) {
                put(&l, " user=", 6);
                put_str(&l, r->username);
        }
        log_buffered(LOG_INFO, buf, (size_t)(l.p - buf));
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct http_server *s = cls;
        struct http_req *r = *con_cls;
        if (!r)
                return;
        struct req_priv *p = r->priv;
        if (p->corked)
                uncork_response(conn, p->corked);
        if (s->o.access_log && r->method && log_enabled(LOG_INFO))
                access_log(r, p);
        if (p->counted)
                atomic_fetch_sub(&s->inflight, 1);
        req_free(r);
        *con_cls = NULL;
}

/* Each connection gets its struct http_conn (the client address as text; for
 * TLS, GnuTLS reads and writes through it). When the last connection closes,
 * freed memory (TLS sessions, request buffers) goes back to the system rather
 * than staying in malloc's arenas: an idle panel stays small after a burst of
 * clients. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
        struct http_server *s = cls;
        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                atomic_fetch_add(&s->connections, 1);
                const union MHD_ConnectionInfo *addr =
                    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
                struct http_conn *c = http_conn_new(conn_fd(conn), addr ? addr->client_addr : NULL);
                *socket_ctx = c;
                const union MHD_ConnectionInfo *ci =
                    s->o.tls ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION)
                             : NULL;
                if (c && ci && ci->tls_session)
                        http_conn_attach_tls(c, ci->tls_session);
                return;
        }
        http_conn_free(*socket_ctx);
        *socket_ctx = NULL;
        if (atomic_fetch_sub(&s->connections, 1) == 1)
                malloc_trim(0);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(4096);
        strbuf_vprintf(&b, fmt, ap);
        while (b.len && (b.data[b.len - 1] == '\n'))
                b.data[--b.len] = '\0';
        log_debug("mhd: %s", b.data ? b.data : "");
}

static int open_listener(const char *host, int port)
{
        char portstr[16];
        snprintf(portstr, sizeof(portstr), "%d", port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        int rc = getaddrinfo(str_empty(host) ? NULL : host, portstr, &hints, &res);
        if (rc != 0)
                return -EADDRNOTAVAIL;
        int err = -EADDRNOTAVAIL;
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
                if (fd < 0) {
                        err = -errno;
                        continue;
                }
                int one = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
                        freeaddrinfo(res);
                        return fd;
                }
                err = -errno;
                close(fd);
        }
        freeaddrinfo(res);
        return err;
}

/* One thread accepts and hands each connection to the MHD thread pool, which
 * spreads them over its workers (MHD's own accept lets whichever worker wakes
 * first take a whole burst: wrk's 64 connections all landed on one thread). */
static void *acceptor_main(void *arg)
{
        struct http_server *s = arg;
        pthread_setname_np(pthread_self(), "http-accept");
        for (;;) {
                struct sockaddr_storage ss;
                socklen_t len = sizeof(ss);
                int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (atomic_load(&s->stopping)) {
                        if (fd >= 0)
                                close(fd);
                        return NULL;
                }
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
                                continue;
                        /* out of descriptors or memory: back off instead of spinning */
                        log_warn("accept: %s", strerror(errno));
                        struct timespec ts = {0, 100 * 1000 * 1000};
                        nanosleep(&ts, NULL);
                        continue;
                }
                /* closes the socket itself when it refuses (limits) */
                MHD_add_connection(s->d, fd, (struct sockaddr *)&ss, len);
        }
}

static void acceptor_stop(struct http_server *s)
{
        if (!s->acceptor_started)
                return;
        atomic_store(&s->stopping, true);
        shutdown(s->listen_fd, SHUT_RDWR); /* wakes the blocked accept() */
        pthread_join(s->acceptor, NULL);
        s->acceptor_started = false;
}

/* Descriptors left for everything but client connections: the database,
 * log files, pipes of the commands the panel runs, certificates. */
#define FD_HEADROOM 256
#define MAX_CONNS   16384u /* unless configured: ~0.6 GB of idle TLS connections */

/* The soft RLIMIT_NOFILE is raised to the hard one (systemd's default soft
 * limit is 1024 whatever LimitNOFILE says about the hard one), and MHD's
 * connection limit kept below it with headroom: a flood of idle connections
 * then meets MHD's limit, never EMFILE in the panel's own work. A configured
 * limit (server.max_connections) is kept below it too. */
static unsigned fd_connection_limit(void)
{
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return 512;
        if (rl.rlim_cur < rl.rlim_max) {
                struct rlimit want = {rl.rlim_max, rl.rlim_max};
                if (want.rlim_cur == RLIM_INFINITY)
                        want.rlim_cur = want.rlim_max = 1u << 20;
                if (setrlimit(RLIMIT_NOFILE, &want) == 0)
                        rl = want;
        }
        if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= MAX_CONNS + FD_HEADROOM)
                return MAX_CONNS;
        if (rl.rlim_cur > 2 * FD_HEADROOM)
                return (unsigned)(rl.rlim_cur - FD_HEADROOM);
        return (unsigned)rl.rlim_cur / 2;
}

static unsigned connection_limit(unsigned configured)
{
        unsigned fit = fd_connection_limit();
        if (!configured)
                return fit;
        if (configured > fit)
                log_warn("server.max_connections %u is more than the %u the descriptor limit "
                         "leaves room for: %u (raise LimitNOFILE)",
                         configured, fit, fit);
        return configured < fit ? configured : fit;
}

/* Mozilla's "intermediate" profile: TLS 1.2 and 1.3, ECDHE key exchange,
 * AEAD ciphers only (AES-GCM, ChaCha20-Poly1305): no CBC (LUCKY13), no
 * SHA-1 MACs, no CCM, no RSA key exchange; the server's order wins. */
#define TLS_PRIORITIES                                                                             \
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"        \
        "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:+GROUP-"     \
        "X25519:"                                                                                  \
        "+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-X448:+GROUP-SECP521R1:%SERVER_PRECEDENCE"

int http_server_start(const struct http_server_opts *opts, struct http_server **out)
{
        struct http_server *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->o = *opts;
        s->listen_fd = -1;
        if (!s->o.max_body)
                s->o.max_body = 10u << 20;
        if (!s->o.max_body_memory)
                s->o.max_body_memory = (size_t)64 << 20;
        s->max_conns = connection_limit(s->o.max_conns);
        if (!s->o.threads) {
                /* One core is left to the machine the panel manages (its sites,
                 * nginx, builds): one request thread on one or two cores. More
                 * threads than free cores only trade requests for wake-ups: on two
                 * cores under load, two threads woke 3-5 times as often as one and
                 * served 65-95k requests a second against one thread's 82-96k. */
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                s->o.threads = n > 1 ? (unsigned)n - 1 : 1;
        }
        if (!s->o.workers)
                s->o.workers = 4;
        if (!s->o.timeout_s)
                s->o.timeout_s = 60;
        if (!s->o.per_ip_conns)
                s->o.per_ip_conns = 128;
        int rc = -ENOMEM;
        for (const char *const *p = opts->trusted_proxies; p && *p; p++) {
                struct cidr *np = realloc(s->proxies, (s->nproxies + 1) * sizeof(*np));
                if (!np)
                        goto fail;
                s->proxies = np;
                if (parse_cidr(*p, &s->proxies[s->nproxies]) == 0)
                        s->nproxies++;
                else
                        log_warn("ignoring malformed trusted proxy '%s'", *p);
        }
        s->pool = workpool_new(s->o.workers, 256);
        s->loop = evloop_new();
        s->sse = s->loop ? sse_loop_new(s->loop, 15) : NULL;
        s->ws = s->loop ? ws_hub_new(s->loop) : NULL;
        if (!s->pool || !s->sse || !s->ws)
                goto fail;
        if (s->o.tls && tls_creds_init(s->o.cert_path, s->o.key_path) < 0) {
                rc = -EKEYREJECTED;
                goto fail;
        }
        s->listen_fd = open_listener(s->o.host, s->o.port);
        if (s->listen_fd < 0) {
                rc = s->listen_fd;
                goto fail;
        }

        /* No listening socket for MHD: the acceptor thread hands it the
         * connections. */
        unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                         MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
        if (s->o.tls)
                flags |= MHD_USE_TLS;
        struct MHD_OptionItem tls_opts[] = {
            {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, tls_creds_callback()},
            /* X25519 first: it is the key share clients send (OpenSSL, NSS,
             * Go); with NORMAL's order the server preferred P-256 and asked
             * them with a HelloRetryRequest, one more round trip per
             * handshake */
            {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
            {MHD_OPTION_END, 0, NULL},
        };
        /* A pool of one thread is refused with a warning: none then. */
        struct MHD_OptionItem pool_opts[] = {
            {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)s->o.threads, NULL},
            {MHD_OPTION_END, 0, NULL},
        };
        /* 20 KiB for MHD's per-connection pool: it holds the request
         * headers: ~19 KiB of them, a Cookie header of ~9.5 KiB (MHD copies
         * it to parse it), more than nginx's default 8 KiB line. Beyond, MHD
         * answers 431. MHD zeroes the pool after every request, so it is kept
         * small: at 36 KiB the zeroing alone (and the caches it flushes) cost
         * ~10 % of the requests a second. The pool is also most of what an
         * idle connection costs (20 of ~33 KB, bench/README.md issue 13): MHD
         * mallocs pools up to 32 KiB, and malloc hands out pages other
         * connections dirtied; a larger pool is mmapped, and a WebSocket would
         * keep only the pages its request touched (21 KB each), but the
         * zeroing makes every keep-alive connection hold all of it (49 KB). */
        s->d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
            MHD_OPTION_ARRAY, s->o.threads > 1 ? pool_opts : &pool_opts[1],
            MHD_OPTION_CONNECTION_TIMEOUT, s->o.timeout_s, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            s->o.per_ip_conns, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)20 * 1024,
            MHD_OPTION_CONNECTION_LIMIT, s->max_conns, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
            on_connection, s, MHD_OPTION_ARRAY,
            s->o.tls ? tls_opts : &tls_opts[ARRAY_SIZE(tls_opts) - 1], MHD_OPTION_END);
        if (!s->d) {
                rc = -EIO;
                goto fail;
        }
        if (pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0) {
                rc = -EAGAIN;
                goto fail;
        }
        s->acceptor_started = true;
        *out = s;
        return 0;
fail:
        if (s->d)
                MHD_stop_daemon(s->d);
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        if (s->o.tls)
                tls_creds_free();
        evloop_free(s->loop);
        sse_loop_free(s->sse);
        ws_hub_free(s->ws);
        workpool_free(s->pool);
        free(s->proxies);
        free(s);
        return rc;
}

int http_server_port(struct http_server *s)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &len) < 0)
                return -errno;
        if (ss.ss_family == AF_INET)
                return ntohs(((struct sockaddr_in *)&ss)->sin_port);
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

unsigned http_server_inflight(struct http_server *s)
{
        return atomic_load(&s->inflight);
}

void http_server_stop(struct http_server *s, unsigned timeout_s)
{
        if (!s)
                return;
        acceptor_stop(s);
        sse_loop_end_all(s->sse); /* streams never finish by themselves */
        ws_hub_end_all(s->ws);
        double deadline = time_monotonic() + timeout_s;
        while (atomic_load(&s->inflight) > 0 && time_monotonic() < deadline) {
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        MHD_stop_daemon(s->d);
        close(s->listen_fd);
        evloop_free(s->loop);
        sse_loop_free(s->sse);
        ws_hub_free(s->ws);
        workpool_free(s->pool);
        if (s->o.tls)
                tls_creds_free();
        free(s->proxies);
        free(s);
}
