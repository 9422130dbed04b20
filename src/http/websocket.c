#include "http/websocket.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "http/evloop.h"
#include "http/server.h"

/* ================= the frame parser ================= */

void ws_reader_init(struct ws_reader *rd, size_t max_message, bool require_mask)
{
        *rd = (struct ws_reader){.max_message = max_message, .require_mask = require_mask};
}

void ws_reader_free(struct ws_reader *rd)
{
        free(rd->msg);
        rd->msg = NULL;
        rd->msg_len = 0;
        rd->in_message = false;
}

bool ws_utf8_valid(const uint8_t *s, size_t n)
{
        size_t i = 0;
        while (i < n) {
                uint8_t c = s[i];
                if (c < 0x80) {
                        i++;
                        continue;
                }
                size_t k;
                uint32_t cp;
                if (c >= 0xC2 && c <= 0xDF) {
                        k = 1;
                        cp = c & 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        k = 2;
                        cp = c & 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        k = 3;
                        cp = c & 0x07;
                } else {
                        return false;
                }
                if (n - i <= k)
                        return false;
                for (size_t j = 1; j <= k; j++) {
                        if ((s[i + j] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + j] & 0x3F);
                }
                if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += k + 1;
        }
        return true;
}

static bool close_code_valid(unsigned c)
{
        return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

/* Bytes of header needed given what we have: 2, then 2 + ext + mask. */
static size_t header_need(const struct ws_reader *rd)
{
        if (rd->hdr_have < 2)
                return 2;
        size_t n = 2;
        uint8_t l7 = rd->hdr[1] & 0x7F;
        if (l7 == 126)
                n += 2;
        else if (l7 == 127)
                n += 8;
        if (rd->hdr[1] & 0x80)
                n += 4;
        return n;
}

/* The header is complete: decode and check it. 0 or a close code. */
static int header_done(struct ws_reader *rd)
{
        const uint8_t *h = rd->hdr;
        rd->fin = h[0] & 0x80;
        rd->opcode = h[0] & 0x0F;
        rd->masked = h[1] & 0x80;
        if (h[0] & 0x70)
                return 1002; /* no extension was negotiated */
        uint8_t l7 = h[1] & 0x7F;
        size_t p = 2;
        uint64_t len = l7;
        if (l7 == 126) {
                len = (uint64_t)h[2] << 8 | h[3];
                p = 4;
                if (len < 126)
                        return 1002; /* not the minimal encoding */
        } else if (l7 == 127) {
                len = 0;
                for (int i = 0; i < 8; i++)
                        len = len << 8 | h[2 + i];
                p = 10;
                if (len >> 63 || len <= 0xFFFF)
                        return 1002;
        }
        if (rd->masked)
                memcpy(rd->mask, h + p, 4);
        else if (rd->require_mask)
                return 1002;
        rd->flen = len;
        rd->fhave = 0;
        switch (rd->opcode) {
        case WS_OP_CLOSE:
        case WS_OP_PING:
        case WS_OP_PONG:
                if (!rd->fin || len > 125)
                        return 1002;
                return 0;
        case WS_OP_CONT:
                if (!rd->in_message)
                        return 1002;
                break;
        case WS_OP_TEXT:
        case WS_OP_BINARY:
                if (rd->in_message)
                        return 1002;
                rd->in_message = true;
                rd->msg_opcode = rd->opcode;
                rd->msg_len = 0;
                break;
        default:
                return 1002;
        }
        if (len > rd->max_message - rd->msg_len)
                return 1009;
        if (len) {
                uint8_t *m = realloc(rd->msg, rd->msg_len + (size_t)len);
                if (!m)
                        return 1011;
                rd->msg = m;
        }
        return 0;
}

static void unmask(uint8_t *d, size_t n, const uint8_t mask[4], uint64_t off)
{
        for (size_t i = 0; i < n; i++)
                d[i] ^= mask[(off + i) & 3];
}

/* The frame's payload is complete. */
static int frame_done(struct ws_reader *rd, ws_event_fn fn, void *ctx)
{
        size_t len = (size_t)rd->flen;
        switch (rd->opcode) {
        case WS_OP_PING:
                return fn(ctx, WS_EV_PING, rd->opcode, 0, rd->ctrl, len);
        case WS_OP_PONG:
                return fn(ctx, WS_EV_PONG, rd->opcode, 0, rd->ctrl, len);
        case WS_OP_CLOSE: {
                if (len == 1)
                        return 1002;
                unsigned code = 0;
                if (len >= 2) {
                        code = (unsigned)rd->ctrl[0] << 8 | rd->ctrl[1];
                        if (!close_code_valid(code))
                                return 1002;
                        if (!ws_utf8_valid(rd->ctrl + 2, len - 2))
                                return 1007;
                }
                return fn(ctx, WS_EV_CLOSE, rd->opcode, code, len >= 2 ? rd->ctrl + 2 : rd->ctrl,
                          len >= 2 ? len - 2 : 0);
        }
        default:
                rd->msg_len += len;
                if (!rd->fin)
                        return 0;
                rd->in_message = false;
                if (rd->msg_opcode == WS_OP_TEXT && !ws_utf8_valid(rd->msg, rd->msg_len))
                        return 1007;
                /* the buffer is released before the callback may feed more */
                uint8_t *m = rd->msg;
                size_t ml = rd->msg_len;
                rd->msg = NULL;
                rd->msg_len = 0;
                int r = fn(ctx, WS_EV_MESSAGE, rd->msg_opcode, 0, m ? m : (const uint8_t *)"", ml);
                free(m);
                return r;
        }
}

int ws_reader_feed(struct ws_reader *rd, const uint8_t *data, size_t len, ws_event_fn fn, void *ctx)
{
        while (len) {
                if (!rd->in_payload) {
                        size_t need = header_need(rd);
                        while (rd->hdr_have < need && len) {
                                rd->hdr[rd->hdr_have++] = *data++;
                                len--;
                                need = header_need(rd);
                        }
                        if (rd->hdr_have < need)
                                return 0;
                        rd->hdr_have = 0;
                        int r = header_done(rd);
                        if (r)
                                return r;
                        rd->in_payload = true;
                } else {
                        uint64_t want = rd->flen - rd->fhave;
                        size_t take = len < want ? len : (size_t)want;
                        uint8_t *dst = rd->opcode >= WS_OP_CLOSE
                                           ? rd->ctrl + rd->fhave
                                           : rd->msg + rd->msg_len + rd->fhave;
                        memcpy(dst, data, take);
                        if (rd->masked)
                                unmask(dst, take, rd->mask, rd->fhave);
                        rd->fhave += take;
                        data += take;
                        len -= take;
                }
                if (rd->in_payload && rd->fhave == rd->flen) {
                        rd->in_payload = false;
                        int r = frame_done(rd, fn, ctx);
                        if (r)
                                return r;
                }
        }
        return 0;
}

size_t ws_frame_header(uint8_t out[10], int opcode, bool fin, uint64_t len)
{
        out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
        if (len < 126) {
                out[1] = (uint8_t)len;
                return 2;
        }
        if (len <= 0xFFFF) {
                out[1] = 126;
                out[2] = (uint8_t)(len >> 8);
                out[3] = (uint8_t)len;
                return 4;
        }
        out[1] = 127;
        for (int i = 0; i < 8; i++)
                out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        return 10;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int ws_accept_key(const char *key, char out[29])
{
        /* base64 of 16 bytes: 22 characters and "==" */
        if (!key || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
                return -EINVAL;
        for (int i = 0; i < 22; i++)
                if (!strchr(b64chars, key[i]) || !key[i])
                        return -EINVAL;
        char buf[24 + 36 + 1];
        memcpy(buf, key, 24);
        memcpy(buf + 24, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
        uint8_t d[21] = {0};
        if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, 60, d) < 0)
                return -EIO;
        char *o = out;
        for (int i = 0; i < 21; i += 3) {
                uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
                *o++ = b64chars[v >> 18 & 63];
                *o++ = b64chars[v >> 12 & 63];
                *o++ = b64chars[v >> 6 & 63];
                *o++ = b64chars[v & 63];
        }
        out[27] = '=';
        out[28] = '\0';
        return 0;
}

/* ================= connections ================= */

enum ws_state { WS_OPEN, WS_CLOSING, WS_DONE };

struct ws_chunk {
        struct ws_chunk *next;
        size_t len, off;
        uint8_t data[];
};

struct ws_conn {
        struct evwatch w;     /* first: the watcher is the connection */
        gnutls_session_t tls; /* NULL without TLS */
        void (*release)(void *arg);
        void *release_arg;
        struct ws_hub *hub;
        const struct ws_ops *ops;
        void *ctx;
        struct ws_reader rd;
        enum ws_state state;
        bool reading_paused, want_out, close_after_flush;
        bool kick_posted, free_wanted; /* see kick() */
        double last_rx, last_ping, closing_since;
        struct ws_chunk *q, *q_tail;
        size_t q_bytes;
        struct ws_conn *prev, *next;
};

struct ws_hub {
        struct evloop *loop;
        struct evtick tick;
        struct ws_conn *conns; /* loop thread */
        pthread_mutex_t lock;
        bool ending;
};

/* What http_reply_websocket records until the server hands over the socket. */
struct ws_pending {
        const struct ws_ops *ops;
        void *ctx;
};

struct evloop *ws_loop(struct ws_conn *ws)
{
        return ws->hub->loop;
}

static void pending_free(struct ws_pending *p)
{
        if (!p)
                return;
        if (p->ops->on_close)
                p->ops->on_close(NULL, p->ctx);
        free(p);
}

static bool has_token(const char *v, const char *tok)
{
        size_t tl = strlen(tok);
        for (const char *p = v; p && *p;) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                const char *e = p;
                while (*e && *e != ',')
                        e++;
                const char *t = e;
                while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
                        t--;
                if ((size_t)(t - p) == tl && strncasecmp(p, tok, tl) == 0)
                        return true;
                p = e;
        }
        return false;
}

void http_reply_websocket(struct http_req *r, const struct ws_ops *ops, void *ctx)
{
        struct ws_pending *p = calloc(1, sizeof(*p));
        if (!p) {
                if (ops->on_close)
                        ops->on_close(NULL, ctx);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        p->ops = ops;
        p->ctx = ctx;
        const char *up = http_header(r, "Upgrade");
        const char *conn = http_header(r, "Connection");
        const char *ver = http_header(r, "Sec-WebSocket-Version");
        char accept[29];
        if (!streq(r->method, "GET") || !up || !has_token(up, "websocket") || !conn ||
            !has_token(conn, "upgrade")) {
                pending_free(p);
                http_reply_error(r, 400, "not a WebSocket upgrade request");
                return;
        }
        if (!ver || !streq(ver, "13")) {
                pending_free(p);
                http_reply_error(r, 426, "unsupported WebSocket version (13 only)");
                http_add_header(r, "Sec-WebSocket-Version", "13");
                return;
        }
        if (ws_accept_key(http_header(r, "Sec-WebSocket-Key"), accept) < 0) {
                pending_free(p);
                http_reply_error(r, 400, "bad Sec-WebSocket-Key");
                return;
        }
        ws_discard(r);
        http_reply(r, 101, NULL, NULL, 0);
        r->ws = p;
        http_add_header(r, "Upgrade", "websocket");
        http_add_header(r, "Connection", "Upgrade");
        http_add_header(r, "Sec-WebSocket-Accept", accept);
}

void ws_discard(struct http_req *r)
{
        if (r->ws) {
                pending_free(r->ws);
                r->ws = NULL;
        }
}

static void conn_free(struct ws_conn *ws)
{
        ws_reader_free(&ws->rd);
        for (struct ws_chunk *c = ws->q, *n; c; c = n) {
                n = c->next;
                free(c);
        }
        free(ws);
}

/* Deferred past the event batch being dispatched (it may still hold an
 * event for this connection), and past a kick already posted. */
static void conn_free_deferred(void *arg)
{
        struct ws_conn *ws = arg;
        if (ws->kick_posted)
                ws->free_wanted = true; /* kick() frees it */
        else
                conn_free(ws);
}

/* Drop the connection now (loop thread): the socket and its TLS session go
 * back to the server, which closes them. */
static void conn_drop(struct ws_conn *ws)
{
        if (ws->state == WS_DONE)
                return;
        ws->state = WS_DONE;
        struct ws_hub *h = ws->hub;
        evloop_del(h->loop, &ws->w);
        if (ws->prev)
                ws->prev->next = ws->next;
        else
                h->conns = ws->next;
        if (ws->next)
                ws->next->prev = ws->prev;
        if (ws->ops->on_close)
                ws->ops->on_close(ws, ws->ctx);
        ws->release(ws->release_arg); /* from here on neither fd nor tls are ours */
        evloop_defer(h->loop, conn_free_deferred, ws);
}

static void update_events(struct ws_conn *ws)
{
        if (ws->state == WS_DONE)
                return;
        uint32_t ev = EPOLLRDHUP;
        if (!ws->reading_paused)
                ev |= EPOLLIN;
        if (ws->q)
                ev |= EPOLLOUT;
        evloop_mod(ws->hub->loop, &ws->w, ev);
}

/* One write of at most len bytes: the count written, 0 when the socket is
 * full, -1 when the connection is broken. GnuTLS wants a write it could not
 * finish repeated with the same data: the queue's head chunk stays in place
 * until it is out, and a record is at most 16 KiB either way. */
static ssize_t sock_write(struct ws_conn *ws, const uint8_t *data, size_t len)
{
        for (;;) {
                if (ws->tls) {
                        ssize_t n = gnutls_record_send(ws->tls, data, len < 16384 ? len : 16384);
                        if (n == GNUTLS_E_AGAIN)
                                return 0;
                        if (n == GNUTLS_E_INTERRUPTED)
                                continue;
                        return n > 0 ? n : -1;
                }
                ssize_t n = send(ws->w.fd, data, len, MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return 0;
                if (n < 0 && errno == EINTR)
                        continue;
                return n > 0 ? n : -1;
        }
}

/* One read: the count read, 0 when nothing is waiting, -1 at the end of the
 * connection (closed, reset, or a TLS error). */
static ssize_t sock_read(struct ws_conn *ws, uint8_t *buf, size_t len)
{
        for (int tries = 0; tries < 16; tries++) {
                if (ws->tls) {
                        ssize_t n = gnutls_record_recv(ws->tls, buf, len);
                        if (n > 0)
                                return n;
                        if (n == GNUTLS_E_AGAIN)
                                return 0;
                        /* an alert that is only a warning, an interrupted call */
                        if (n < 0 && !gnutls_error_is_fatal((int)n) && n != GNUTLS_E_REHANDSHAKE &&
                            n != GNUTLS_E_PREMATURE_TERMINATION)
                                continue;
                        return -1; /* 0: close_notify; a fatal error; renegotiation */
                }
                ssize_t n = recv(ws->w.fd, buf, len, 0);
                if (n > 0)
                        return n;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return 0;
                if (n < 0 && errno == EINTR)
                        continue;
                return -1;
        }
        return -1;
}

static void kick_reading(struct ws_conn *ws);

/* Write what the queue holds. false when the connection was dropped. */
static bool flush(struct ws_conn *ws)
{
        while (ws->q) {
                struct ws_chunk *c = ws->q;
                ssize_t n = sock_write(ws, c->data + c->off, c->len - c->off);
                if (n == 0)
                        break;
                if (n < 0) {
                        conn_drop(ws);
                        return false;
                }
                c->off += (size_t)n;
                ws->q_bytes -= (size_t)n;
                if (c->off == c->len) {
                        ws->q = c->next;
                        if (!ws->q)
                                ws->q_tail = NULL;
                        free(c);
                }
        }
        if (!ws->q && ws->close_after_flush) {
                conn_drop(ws);
                return false;
        }
        bool paused = ws->reading_paused;
        ws->reading_paused = ws->q_bytes > WS_QUEUE_SOFT;
        if (paused != ws->reading_paused || !!ws->q != ws->want_out) {
                ws->want_out = ws->q != NULL;
                update_events(ws);
        }
        if (paused && !ws->reading_paused)
                kick_reading(ws); /* TLS may hold bytes read before the pause */
        return true;
}

/* Queue len bytes of data after a frame header of hlen bytes (hlen 0: the
 * bytes go out as they are, the 101 answer). */
static int queue_bytes(struct ws_conn *ws, const uint8_t *hdr, size_t hlen, const void *data,
                       size_t len)
{
        if (ws->state == WS_DONE)
                return -EPIPE;
        if (ws->q_bytes + len > WS_QUEUE_HARD) {
                log_warn("websocket: client does not read (%zu bytes queued): dropped",
                         ws->q_bytes);
                conn_drop(ws);
                return -EPIPE;
        }
        struct ws_chunk *c = malloc(sizeof(*c) + hlen + len);
        if (!c) {
                conn_drop(ws);
                return -EPIPE;
        }
        if (hlen)
                memcpy(c->data, hdr, hlen);
        if (len)
                memcpy(c->data + hlen, data, len);
        c->len = hlen + len;
        c->off = 0;
        c->next = NULL;
        if (ws->q_tail)
                ws->q_tail->next = c;
        else
                ws->q = c;
        ws->q_tail = c;
        ws->q_bytes += c->len;
        return flush(ws) ? 0 : -EPIPE;
}

static int queue_frame(struct ws_conn *ws, int opcode, const void *data, size_t len)
{
        uint8_t h[10];
        return queue_bytes(ws, h, ws_frame_header(h, opcode, true, len), data, len);
}

int ws_send(struct ws_conn *ws, bool binary, const void *data, size_t len)
{
        if (ws->state != WS_OPEN)
                return -EPIPE;
        return queue_frame(ws, binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
}

static void send_close(struct ws_conn *ws, unsigned code, const char *reason)
{
        uint8_t b[125];
        size_t n = 0;
        if (code) {
                b[0] = (uint8_t)(code >> 8);
                b[1] = (uint8_t)code;
                n = 2;
                size_t rl = reason ? strlen(reason) : 0;
                if (rl > sizeof(b) - 2)
                        rl = sizeof(b) - 2;
                if (rl)
                        memcpy(b + 2, reason, rl);
                n += rl;
        }
        queue_frame(ws, WS_OP_CLOSE, b, n);
}

void ws_close(struct ws_conn *ws, unsigned code, const char *reason)
{
        if (ws->state != WS_OPEN)
                return;
        ws->state = WS_CLOSING;
        ws->closing_since = time_monotonic();
        send_close(ws, code, reason);
}

static int on_event(void *ctx, enum ws_event ev, int opcode, unsigned code, const uint8_t *data,
                    size_t len)
{
        struct ws_conn *ws = ctx;
        switch (ev) {
        case WS_EV_MESSAGE:
                if (ws->state == WS_OPEN)
                        ws->ops->on_message(ws, ws->ctx, opcode == WS_OP_BINARY, data, len);
                break;
        case WS_EV_PING:
                if (ws->state == WS_OPEN)
                        queue_frame(ws, WS_OP_PONG, data, len);
                break;
        case WS_EV_PONG:
                break;
        case WS_EV_CLOSE:
                if (ws->state == WS_OPEN) {
                        /* echo the code, then close once it is out */
                        ws->state = WS_CLOSING;
                        ws->close_after_flush = true;
                        send_close(ws, code ? code : 0, NULL);
                } else {
                        conn_drop(ws); /* the answer to our close */
                }
                return 1;
        }
        return ws->state == WS_DONE ? 1 : 0;
}

static void consume(struct ws_conn *ws, const uint8_t *buf, size_t n)
{
        int r = ws_reader_feed(&ws->rd, buf, n, on_event, ws);
        if (r > 1 && ws->state != WS_DONE) {
                /* the client broke the protocol: close with its code, and do
                 * not wait for an answer from a peer that speaks nonsense */
                ws->state = WS_CLOSING;
                ws->close_after_flush = true;
                send_close(ws, (unsigned)r, NULL);
        }
}

/* Read and handle what the client sent, a bounded amount per turn so that
 * one busy client does not hold up the others. */
static void read_input(struct ws_conn *ws)
{
        uint8_t buf[16384];
        for (int rounds = 0; rounds < 8; rounds++) {
                if (ws->state == WS_DONE || ws->reading_paused)
                        return;
                ssize_t n = sock_read(ws, buf, sizeof(buf));
                if (n == 0)
                        return;
                if (n < 0) {
                        conn_drop(ws);
                        return;
                }
                ws->last_rx = time_monotonic();
                if (!ws->close_after_flush) /* closing: what follows is ignored */
                        consume(ws, buf, (size_t)n);
        }
        /* more may be waiting, and with TLS it may be waiting in GnuTLS's or
         * the transport's buffer, which epoll does not see */
        kick_reading(ws);
}

static void kick(void *arg)
{
        struct ws_conn *ws = arg;
        ws->kick_posted = false;
        if (ws->free_wanted)
                conn_free(ws);
        else
                read_input(ws);
}

/* Read again after the events at hand (a posted call: the loop's other
 * sockets get their turn first). */
static void kick_reading(struct ws_conn *ws)
{
        if (ws->kick_posted || ws->state == WS_DONE)
                return;
        if (evloop_post(ws->hub->loop, kick, ws) == 0)
                ws->kick_posted = true;
}

static void on_io(struct evwatch *w, uint32_t events)
{
        struct ws_conn *ws = (struct ws_conn *)w;
        if (ws->state == WS_DONE)
                return;
        if ((events & EPOLLOUT) && !flush(ws))
                return;
        if (events & EPOLLIN)
                read_input(ws);
        else if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                conn_drop(ws); /* gone while we were not reading */
}

static void on_tick(struct evtick *t, double now)
{
        struct ws_hub *h = (struct ws_hub *)((char *)t - offsetof(struct ws_hub, tick));
        for (struct ws_conn *ws = h->conns, *next; ws; ws = next) {
                next = ws->next;
                if (ws->state == WS_CLOSING && now - ws->closing_since >= WS_CLOSE_WAIT_S) {
                        conn_drop(ws);
                } else if (now - ws->last_rx >= WS_SILENCE_S) {
                        if (ws->state == WS_OPEN)
                                ws_close(ws, 1001, "silent for too long");
                        else
                                conn_drop(ws);
                } else if (ws->state == WS_OPEN && now - ws->last_ping >= WS_PING_S) {
                        ws->last_ping = now;
                        if (queue_frame(ws, WS_OP_PING, NULL, 0) == 0 && ws->ops->on_ping)
                                ws->ops->on_ping(ws, ws->ctx);
                }
        }
}

/* From the server's thread to the loop. */
struct ws_start {
        struct ws_hub *hub;
        struct ws_pending *p;
        struct ws_socket sock;
};

static void start_failed(struct ws_start *st)
{
        st->sock.release(st->sock.release_arg);
        pending_free(st->p);
        free(st->sock.head);
        free(st);
}

/* Loop thread: the socket is ours. */
static void start_conn(void *arg)
{
        struct ws_start *st = arg;
        struct ws_hub *h = st->hub;
        pthread_mutex_lock(&h->lock);
        bool ending = h->ending;
        pthread_mutex_unlock(&h->lock);
        struct ws_conn *ws = ending ? NULL : calloc(1, sizeof(*ws));
        if (!ws) {
                start_failed(st);
                return;
        }
        ws->w.fd = st->sock.fd;
        ws->w.fn = on_io;
        ws->tls = st->sock.tls;
        ws->release = st->sock.release;
        ws->release_arg = st->sock.release_arg;
        ws->hub = h;
        ws->ops = st->p->ops;
        ws->ctx = st->p->ctx;
        ws->last_rx = ws->last_ping = time_monotonic();
        ws_reader_init(&ws->rd, WS_MAX_MESSAGE, true);
        free(st->p);
        char *head = st->sock.head;
        size_t head_len = st->sock.head_len;
        free(st);
        ws->next = h->conns;
        if (h->conns)
                h->conns->prev = ws;
        h->conns = ws;
        if (evloop_add(h->loop, &ws->w, EPOLLIN | EPOLLRDHUP) < 0) {
                log_warn("websocket: cannot watch the socket: %s", strerror(errno));
                free(head);
                conn_drop(ws);
                return;
        }
        int rc = queue_bytes(ws, NULL, 0, head, head_len); /* the 101 */
        free(head);
        if (rc < 0)
                return;
        if (ws->ops->on_open)
                ws->ops->on_open(ws, ws->ctx);
        if (ws->state == WS_OPEN)
                read_input(ws);
}

int ws_start(struct ws_hub *h, struct http_req *r, const struct ws_socket *sock)
{
        struct ws_start *st = malloc(sizeof(*st));
        if (!st) {
                free(sock->head);
                return -ENOMEM;
        }
        *st = (struct ws_start){.hub = h, .p = r->ws, .sock = *sock};
        r->ws = NULL;
        /* Neither Nagle's algorithm nor a cork left by an earlier answer on
         * this connection may hold a frame back. */
        int one = 1, zero = 0;
        setsockopt(sock->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(sock->fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero));
        int fl = fcntl(sock->fd, F_GETFL); /* MHD's sockets are, but the loop must never block */
        if (fl >= 0 && !(fl & O_NONBLOCK))
                fcntl(sock->fd, F_SETFL, fl | O_NONBLOCK);
        int rc = evloop_post(h->loop, start_conn, st);
        if (rc < 0) {
                r->ws = st->p;
                free(sock->head);
                free(st);
        }
        return rc;
}

struct ws_hub *ws_hub_new(struct evloop *l)
{
        struct ws_hub *h = calloc(1, sizeof(*h));
        if (!h)
                return NULL;
        h->loop = l;
        pthread_mutex_init(&h->lock, NULL);
        h->tick.period_s = 1;
        h->tick.fn = on_tick;
        /* before the loop sees any connection: the list is the loop's */
        evloop_add_tick(l, &h->tick);
        return h;
}

static void end_all(void *arg)
{
        struct ws_hub *h = arg;
        for (struct ws_conn *ws = h->conns, *next; ws; ws = next) {
                next = ws->next;
                ws_close(ws, 1001, "server shutting down");
                /* no waiting for answers (or for a client that does not
                 * read): the server is stopping */
                conn_drop(ws);
        }
}

void ws_hub_end_all(struct ws_hub *h)
{
        pthread_mutex_lock(&h->lock);
        h->ending = true;
        pthread_mutex_unlock(&h->lock);
        evloop_post(h->loop, end_all, h);
}

void ws_hub_free(struct ws_hub *h)
{
        if (!h)
                return;
        pthread_mutex_destroy(&h->lock);
        free(h);
}
