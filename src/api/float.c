/* Float Mode (CONTRACT §7): sessions, the WebSocket upgrade and the binary
 * frame protocol that bridges a browser or client to the server's USB
 * devices.
 *
 * Sessions live in memory: a session is a live thing (a socket, open device
 * handles) that does not survive the process, and last_ping changes with
 * every frame, which the event loop must not write to SQLite. The
 * float_sessions table of the reference schema stays unused.
 *
 * Threads: the routes run on the request threads; every WebSocket callback
 * runs on the http layer's event loop; USB requests run on the usb bridge
 * thread (sys/usb.h), whose completions are posted back to the loop. A
 * session's socket (`struct fconn`) is touched only on the loop. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/app.h"
#include "api/json.h"
#include "api/module.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "http/evloop.h"
#include "http/websocket.h"
#include "sys/usb.h"

enum {
        F_ENUMERATE = 0x01,
        F_ENUM_RESULT = 0x02,
        F_OPEN = 0x03,
        F_OPEN_RESULT = 0x04,
        F_CLOSE = 0x05,
        F_CLOSE_RESULT = 0x06,
        F_CONTROL = 0x07,
        F_CONTROL_RESULT = 0x08,
        F_TRANSFER_OUT = 0x10,
        F_TRANSFER_IN = 0x11,
        F_TRANSFER_RESULT = 0x12,
        F_INTERRUPT = 0x20,
        F_INTERRUPT_RESULT = 0x21,
        F_ERROR = 0xE0,
        F_PING = 0xFE,
        F_PONG = 0xFF,
};

struct fsession;

/* One WebSocket of a session. Reference counted: the socket holds one
 * reference, each USB request in flight one more. */
struct fconn {
        atomic_int refs;
        struct fsession *s; /* holds a session reference */
        struct ws_conn *ws; /* loop thread; NULL once the socket is gone */
};

struct fsession {
        int refs; /* under g.lock */
        char id[37];
        long long user_id;
        char username[64];
        char client_ip[64];
        char *agent;
        time_t connected_at, expires_at;
        _Atomic long long last_ping; /* 0: never */
        atomic_bool bridged;
        bool listed;        /* in g.list (under g.lock) */
        struct fconn *sock; /* the live socket (loop thread) */
        struct fsession *next;
};

static struct {
        pthread_mutex_t lock; /* guards list, n, refs, usb, loop */
        struct fsession *list;
        unsigned n;
        struct usb_bridge *usb;
        struct evloop *loop;
        struct evtick tick;
        struct app *app;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void session_unref(struct fsession *s)
{
        pthread_mutex_lock(&g.lock);
        bool last = --s->refs == 0;
        pthread_mutex_unlock(&g.lock);
        if (last) {
                free(s->agent);
                free(s);
        }
}

static void fconn_unref(struct fconn *c)
{
        if (atomic_fetch_sub(&c->refs, 1) == 1) {
                session_unref(c->s);
                free(c);
        }
}

/* Called with g.lock held. */
static void unlist(struct fsession *s)
{
        for (struct fsession **p = &g.list; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        s->listed = false;
                        g.n--;
                        return;
                }
}

/* Loop thread: what c opened is released now, not when its closing
 * handshake ends. */
static void release_devices(struct fconn *c)
{
        pthread_mutex_lock(&g.lock);
        struct usb_bridge *b = g.usb;
        pthread_mutex_unlock(&g.lock);
        if (b)
                usb_release_owner(b, c);
}

/* Loop thread: the session's socket (if any) closes with code 1000. */
static void close_session_socket(struct fsession *s, const char *why)
{
        struct fconn *c = s->sock;
        if (!c || !c->ws)
                return;
        ws_close(c->ws, 1000, why);
        release_devices(c);
        s->sock = NULL;
        atomic_store(&s->bridged, false);
}

static void close_socket(void *arg)
{
        struct fsession *s = arg;
        close_session_socket(s, "session closed");
        session_unref(s);
}

/* Remove a listed session (g.lock held) and close its socket from the loop. */
static void end_session_locked(struct fsession *s)
{
        unlist(s);
        if (g.loop && atomic_load(&s->bridged)) {
                s->refs++;
                if (evloop_post(g.loop, close_socket, s) < 0)
                        s->refs--;
        }
        s->refs--; /* the list's reference; never the last while posted */
        if (s->refs == 0) {
                free(s->agent);
                free(s);
        }
}

/* Drop expired sessions (g.lock held). */
static void reap_locked(time_t now)
{
        for (struct fsession *s = g.list, *next; s; s = next) {
                next = s->next;
                if (s->expires_at <= now)
                        end_session_locked(s);
        }
}

/* Every second on the loop: the socket of an expired session is closed. The
 * session itself is dropped by the next list or register (so that an
 * upgrade in between learns 410, not 404). */
static void on_tick(struct evtick *t, double mono)
{
        (void)t;
        (void)mono;
        time_t now = time(NULL);
        pthread_mutex_lock(&g.lock);
        struct fsession *expired[16];
        size_t n = 0;
        for (struct fsession *s = g.list; s && n < ARRAY_SIZE(expired); s = s->next)
                if (s->expires_at <= now && s->sock) {
                        s->refs++;
                        expired[n++] = s;
                }
        pthread_mutex_unlock(&g.lock);
        for (size_t i = 0; i < n; i++) {
                close_session_socket(expired[i], "session expired");
                session_unref(expired[i]);
        }
}

/* ---------------- HTTP routes ---------------- */

static bool float_enabled(struct http_req *r)
{
        if (app_of(r)->cfg->float_.enabled)
                return true;
        http_reply_error(r, 503, "Float Mode is disabled");
        return false;
}

static void float_register(struct http_req *r)
{
        if (!float_enabled(r))
                return;
        const struct config *cfg = app_of(r)->cfg;
        char agent[256] = "";
        if (r->body.len) {
                json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
                json_t *ua = j ? json_object_get(j, "user_agent") : NULL;
                if (json_is_string(ua))
                        snprintf(agent, sizeof(agent), "%s", json_string_value(ua));
                json_decref(j);
        }
        struct fsession *s = calloc(1, sizeof(*s));
        if (!s || !(s->agent = strdup(agent)) || rand_uuid(s->id) < 0) {
                if (s)
                        free(s->agent);
                free(s);
                http_reply_error(r, 500, "cannot create a session");
                return;
        }
        s->refs = 1;
        s->user_id = r->user_id;
        snprintf(s->username, sizeof(s->username), "%s", r->username);
        snprintf(s->client_ip, sizeof(s->client_ip), "%s", r->peer);
        s->connected_at = time(NULL);
        s->expires_at = s->connected_at + cfg->float_.session_ttl_s;
        pthread_mutex_lock(&g.lock);
        reap_locked(s->connected_at);
        if (g.n >= (unsigned)cfg->float_.max_sessions) {
                pthread_mutex_unlock(&g.lock);
                free(s->agent);
                free(s);
                http_reply_errorf(r, 429, "too many Float sessions (at most %d)",
                                  cfg->float_.max_sessions);
                return;
        }
        s->listed = true;
        s->next = g.list;
        g.list = s;
        g.n++;
        pthread_mutex_unlock(&g.lock);
        api_reply_json(r, 201,
                       json_pack("{s:s, s:s}", "session_id", s->id, "expires_in",
                                 cfg->float_.session_ttl ? cfg->float_.session_ttl : "24h"));
}

static json_t *time_json(time_t t)
{
        if (!t)
                return json_null();
        char buf[TIME_RFC3339_LEN];
        time_format_rfc3339(t, buf);
        return json_string(buf);
}

static void float_sessions(struct http_req *r)
{
        json_t *arr = json_array();
        pthread_mutex_lock(&g.lock);
        reap_locked(time(NULL));
        /* newest first: the list is built by prepending */
        for (struct fsession *s = g.list; s; s = s->next)
                json_array_append_new(
                    arr,
                    json_pack("{s:s, s:I, s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "id", s->id,
                              "user_id", (json_int_t)s->user_id, "username", s->username,
                              "client_ip", s->client_ip, "client_agent", s->agent, "usb_bridge",
                              atomic_load(&s->bridged), "connected_at", time_json(s->connected_at),
                              "last_ping", time_json((time_t)atomic_load(&s->last_ping)),
                              "expires_at", time_json(s->expires_at)));
        pthread_mutex_unlock(&g.lock);
        api_reply_json(r, 200, arr);
}

static struct fsession *find_locked(const char *id)
{
        for (struct fsession *s = g.list; s; s = s->next)
                if (streq(s->id, id))
                        return s;
        return NULL;
}

static void float_delete(struct http_req *r)
{
        const char *id = http_param(r, "id");
        pthread_mutex_lock(&g.lock);
        struct fsession *s = id ? find_locked(id) : NULL;
        if (!s) {
                pthread_mutex_unlock(&g.lock);
                http_reply_error(r, 404, "Float session not found");
                return;
        }
        end_session_locked(s);
        pthread_mutex_unlock(&g.lock);
        api_reply_json(r, 200, json_pack("{s:s}", "status", "disconnected"));
}

/* ---------------- the frame protocol (loop thread) ---------------- */

static void put16(uint8_t *p, unsigned v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
        return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Send one frame: [type][len u32][payload]. */
static void send_frame(struct ws_conn *ws, uint8_t type, const uint8_t *payload, size_t len)
{
        uint8_t *b = malloc(5 + len);
        if (!b)
                return;
        b[0] = type;
        put32(b + 1, (uint32_t)len);
        if (len)
                memcpy(b + 5, payload, len);
        ws_send(ws, true, b, 5 + len);
        free(b);
}

static void send_error(struct ws_conn *ws, unsigned code, const char *msg)
{
        size_t ml = strlen(msg);
        uint8_t b[256];
        if (ml > sizeof(b) - 2)
                ml = sizeof(b) - 2;
        put16(b, code);
        memcpy(b + 2, msg, ml);
        send_frame(ws, F_ERROR, b, 2 + ml);
}

/* The devices a session may see. */
static int visible_devices(struct usb_dev_info **out, size_t *n)
{
        const struct config *cfg = g.app->cfg;
        int r = usb_enumerate(cfg->float_.sysfs_root ? cfg->float_.sysfs_root : "/sys", out, n);
        if (r < 0)
                return r;
        size_t k = 0;
        for (size_t i = 0; i < *n; i++)
                if (usb_device_allowed(&cfg->float_.allowed_devices, &(*out)[i]))
                        (*out)[k++] = (*out)[i];
        *n = k;
        return 0;
}

static int put_str(struct strbuf *b, const char *s)
{
        size_t l = strlen(s);
        uint8_t h[2];
        put16(h, (unsigned)l);
        if (strbuf_append(b, (const char *)h, 2) < 0)
                return -ENOMEM;
        return strbuf_append(b, s, l);
}

static void do_enumerate(struct ws_conn *ws)
{
        struct usb_dev_info *devs = NULL;
        size_t n = 0;
        if (visible_devices(&devs, &n) < 0) {
                send_error(ws, 0x0004, "enumerate: cannot read the USB devices");
                return;
        }
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(WS_MAX_MESSAGE - 5);
        uint8_t rec[8];
        put16(rec, (unsigned)n);
        strbuf_append(&b, (const char *)rec, 2);
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
                put16(rec, devs[i].vendor);
                put16(rec + 2, devs[i].product);
                put16(rec + 4, devs[i].id);
                rec[6] = devs[i].cls;
                rec[7] = devs[i].sub_cls;
                rc = strbuf_append(&b, (const char *)rec, 8);
                if (rc == 0)
                        rc = put_str(&b, devs[i].manufacturer);
                if (rc == 0)
                        rc = put_str(&b, devs[i].product_name);
                if (rc == 0)
                        rc = put_str(&b, devs[i].serial);
        }
        free(devs);
        if (rc < 0 || !b.data) {
                send_error(ws, 0x0004, "enumerate: device list too long");
                return;
        }
        send_frame(ws, F_ENUM_RESULT, (const uint8_t *)b.data, b.len);
}

/* A finished USB request's answer, on its way to the loop. */
struct delivery {
        struct fconn *c;
        size_t len;
        uint8_t frame[]; /* a whole float frame, or [0xE0...] */
};

static void deliver(void *arg)
{
        struct delivery *d = arg;
        if (d->c->ws)
                ws_send(d->c->ws, true, d->frame, d->len);
        fconn_unref(d->c);
        free(d);
}

/* Bridge thread: turn the result into a frame and post it to the loop. */
static void usb_done(struct usb_req *q)
{
        struct fconn *c = q->ctx;
        uint8_t head[9];
        size_t hl = 0;
        const uint8_t *data = NULL;
        size_t dl = 0;
        uint8_t type;
        if (q->status == USB_ST_NOT_OPEN) {
                static const char msg[] = "device not open in this session";
                type = F_ERROR;
                put16(head, 0x0060);
                hl = 2;
                data = (const uint8_t *)msg;
                dl = sizeof(msg) - 1;
        } else {
                put16(head, q->dev);
                hl = 2;
                switch (q->op) {
                case USB_OPEN:
                        type = F_OPEN_RESULT;
                        head[hl++] = (uint8_t)q->status;
                        break;
                case USB_CLOSE:
                        type = F_CLOSE_RESULT;
                        head[hl++] = (uint8_t)q->status;
                        break;
                case USB_CONTROL:
                        type = F_CONTROL_RESULT;
                        head[hl++] = (uint8_t)q->status;
                        data = q->in;
                        dl = q->in_len;
                        break;
                case USB_OUT:
                        type = F_TRANSFER_RESULT;
                        head[hl++] = q->endpoint;
                        head[hl++] = (uint8_t)q->status;
                        put32(head + hl, (uint32_t)q->in_len);
                        hl += 4;
                        break;
                case USB_IN:
                case USB_INTERRUPT:
                default:
                        type = q->op == USB_IN ? F_TRANSFER_RESULT : F_INTERRUPT_RESULT;
                        head[hl++] = q->endpoint;
                        head[hl++] = (uint8_t)q->status;
                        data = q->in;
                        dl = q->in_len;
                        break;
                }
        }
        struct delivery *d = malloc(sizeof(*d) + 5 + hl + dl);
        if (d) {
                d->c = c;
                d->len = 5 + hl + dl;
                d->frame[0] = type;
                put32(d->frame + 1, (uint32_t)(hl + dl));
                memcpy(d->frame + 5, head, hl);
                if (dl)
                        memcpy(d->frame + 5 + hl, data, dl);
                if (evloop_post(g.loop, deliver, d) < 0) {
                        free(d);
                        fconn_unref(c);
                }
        } else {
                fconn_unref(c);
        }
        usb_req_free(q);
}

/* The bridge, started on first use; NULL (and *err, -errno) when it cannot
 * start. */
static struct usb_bridge *bridge(int *err)
{
        pthread_mutex_lock(&g.lock);
        *err = g.usb ? 0 : usb_bridge_new(&g.usb);
        if (*err < 0)
                g.usb = NULL;
        struct usb_bridge *b = g.usb;
        pthread_mutex_unlock(&g.lock);
        return b;
}

static void submit(struct fconn *c, struct usb_req *q)
{
        int err;
        struct usb_bridge *b = bridge(&err);
        if (!b) {
                usb_req_free(q);
                send_error(c->ws, 0x0004,
                           err == -ELIBACC ? "USB is not available on this server: "
                                             "cannot load " USB_LIBRARY
                                           : "USB is not available on this server");
                return;
        }
        q->done = usb_done;
        q->ctx = c;
        atomic_fetch_add(&c->refs, 1);
        usb_submit(b, q);
}

static void do_open(struct fconn *c, const uint8_t *p, size_t n)
{
        if (n < 2) {
                send_error(c->ws, 0x0010, "open: payload too short");
                return;
        }
        unsigned dev = get16(p);
        struct usb_dev_info *devs = NULL;
        size_t nd = 0;
        bool found = false;
        if (visible_devices(&devs, &nd) == 0)
                for (size_t i = 0; i < nd; i++)
                        found |= devs[i].id == dev;
        free(devs);
        if (!found) {
                send_error(c->ws, 0x0011, "open: device not found");
                return;
        }
        struct usb_req *q = usb_req_new(USB_OPEN, (uint16_t)dev, c);
        if (q)
                submit(c, q);
}

static void do_close(struct fconn *c, const uint8_t *p, size_t n)
{
        if (n < 2) {
                send_error(c->ws, 0x0020, "close: payload too short");
                return;
        }
        struct usb_req *q = usb_req_new(USB_CLOSE, (uint16_t)get16(p), c);
        if (q)
                submit(c, q);
}

static void do_control(struct fconn *c, const uint8_t *p, size_t n)
{
        if (n < 14) {
                send_error(c->ws, 0x0050, "control: payload too short");
                return;
        }
        uint8_t type = p[2];
        unsigned wlen = get16(p + 8);
        size_t dl = n - 14;
        if (!(type & 0x80) && dl != wlen) {
                send_error(c->ws, 0x0050, "control: OUT data length differs from wLength");
                return;
        }
        struct usb_req *q = usb_req_new(USB_CONTROL, (uint16_t)get16(p), c);
        if (!q)
                return;
        /* the setup packet is little-endian on the bus */
        q->setup[0] = type;
        q->setup[1] = p[3];
        q->setup[2] = p[5];
        q->setup[3] = p[4];
        q->setup[4] = p[7];
        q->setup[5] = p[6];
        q->setup[6] = p[9];
        q->setup[7] = p[8];
        q->timeout_ms = get32(p + 10);
        if (!(type & 0x80) && dl) {
                q->data = malloc(dl);
                if (!q->data) {
                        usb_req_free(q);
                        return;
                }
                memcpy(q->data, p + 14, dl);
                q->data_len = dl;
        }
        submit(c, q);
}

static void do_transfer(struct fconn *c, uint8_t type, const uint8_t *p, size_t n)
{
        bool out = type == F_TRANSFER_OUT;
        size_t need = out ? 7 : 11;
        if (n < need) {
                send_error(c->ws, type == F_INTERRUPT ? 0x0040 : 0x0030,
                           type == F_INTERRUPT ? "interrupt: payload too short"
                                               : "transfer: payload too short");
                return;
        }
        uint32_t len = out ? (uint32_t)(n - 7) : get32(p + 7);
        if (len > USB_MAX_TRANSFER) {
                send_error(c->ws, 0x0070, "length above 65,536 bytes");
                return;
        }
        enum usb_op op = out ? USB_OUT : type == F_INTERRUPT ? USB_INTERRUPT : USB_IN;
        struct usb_req *q = usb_req_new(op, (uint16_t)get16(p), c);
        if (!q)
                return;
        q->endpoint = p[2];
        q->timeout_ms = get32(p + 3);
        q->length = len;
        if (out && len) {
                q->data = malloc(len);
                if (!q->data) {
                        usb_req_free(q);
                        return;
                }
                memcpy(q->data, p + 7, len);
                q->data_len = len;
        }
        submit(c, q);
}

static void on_message(struct ws_conn *ws, void *ctx, bool binary, const uint8_t *data, size_t len)
{
        struct fconn *c = ctx;
        if (!binary) {
                send_error(ws, 0x0001, "expected binary message");
                return;
        }
        if (len < 5) {
                send_error(ws, 0x0002, "malformed frame: shorter than 5 bytes");
                return;
        }
        uint32_t pl = get32(data + 1);
        if (pl > len - 5) {
                send_error(ws, 0x0002, "malformed frame: truncated payload");
                return;
        }
        atomic_store(&c->s->last_ping, (long long)time(NULL));
        const uint8_t *p = data + 5;
        switch (data[0]) {
        case F_ENUMERATE:
                do_enumerate(ws);
                break;
        case F_OPEN:
                do_open(c, p, pl);
                break;
        case F_CLOSE:
                do_close(c, p, pl);
                break;
        case F_CONTROL:
                do_control(c, p, pl);
                break;
        case F_TRANSFER_OUT:
        case F_TRANSFER_IN:
        case F_INTERRUPT:
                do_transfer(c, data[0], p, pl);
                break;
        case F_PONG:
                break;
        default:
                send_error(ws, 0x0003, "unknown frame type");
                break;
        }
}

static void on_open(struct ws_conn *ws, void *ctx)
{
        struct fconn *c = ctx;
        struct fsession *s = c->s;
        c->ws = ws;
        pthread_mutex_lock(&g.lock);
        if (!g.loop) {
                g.loop = ws_loop(ws);
                g.tick.period_s = 1;
                g.tick.fn = on_tick;
                evloop_add_tick(g.loop, &g.tick);
        }
        bool listed = s->listed && s->expires_at > time(NULL);
        pthread_mutex_unlock(&g.lock);
        if (!listed) { /* deleted or expired during the handshake */
                ws_close(ws, 1000, "session closed");
                return;
        }
        close_session_socket(s, "replaced by a new connection");
        s->sock = c;
        atomic_store(&s->bridged, true);
}

static void on_ping(struct ws_conn *ws, void *ctx)
{
        (void)ctx;
        send_frame(ws, F_PING, NULL, 0);
}

static void on_close(struct ws_conn *ws, void *ctx)
{
        struct fconn *c = ctx;
        if (ws) {
                c->ws = NULL;
                if (c->s->sock == c) {
                        c->s->sock = NULL;
                        atomic_store(&c->s->bridged, false);
                }
                release_devices(c);
        }
        fconn_unref(c);
}

static const struct ws_ops float_ws_ops = {
    .on_open = on_open,
    .on_message = on_message,
    .on_ping = on_ping,
    .on_close = on_close,
};

static bool same_origin(struct http_req *r)
{
        const char *origin = http_header(r, "Origin");
        const char *host = http_header(r, "Host");
        if (!origin || !host)
                return false;
        const char *scheme = r->tls ? "https://" : "http://";
        size_t sl = strlen(scheme);
        return strncasecmp(origin, scheme, sl) == 0 && strcasecmp(origin + sl, host) == 0;
}

static void float_ws(struct http_req *r)
{
        if (!streq(r->role, "admin")) {
                http_reply_error(r, 403, "admin role required");
                return;
        }
        if (!float_enabled(r))
                return;
        if (r->via_cookie && !same_origin(r)) {
                http_reply_error(r, 403,
                                 "cross-origin WebSocket refused (Origin must be the panel's)");
                return;
        }
        const char *id = http_query(r, "session");
        if (str_empty(id)) {
                http_reply_error(r, 400, "missing session parameter");
                return;
        }
        pthread_mutex_lock(&g.lock);
        struct fsession *s = find_locked(id);
        int status = 0;
        if (!s)
                status = 404;
        else if (s->expires_at <= time(NULL))
                status = 410;
        else if (s->user_id != r->user_id)
                status = 403;
        else
                s->refs++;
        pthread_mutex_unlock(&g.lock);
        if (status) {
                http_reply_error(r, status,
                                 status == 404   ? "invalid session"
                                 : status == 410 ? "session expired"
                                                 : "session of another user");
                return;
        }
        struct fconn *c = calloc(1, sizeof(*c));
        if (!c) {
                session_unref(s);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        atomic_init(&c->refs, 1);
        c->s = s;
        http_reply_websocket(r, &float_ws_ops, c);
}

static int float_start(struct app *app)
{
        g.app = app;
        return 0;
}

static void float_stop(struct app *app)
{
        (void)app;
        pthread_mutex_lock(&g.lock);
        struct usb_bridge *b = g.usb;
        g.usb = NULL;
        pthread_mutex_unlock(&g.lock);
        usb_bridge_free(b);
}

static const struct route float_routes[] = {
    {"POST", "/float/register", float_register, ROUTE_ADMIN, 0, NULL},
    {"GET", "/float/sessions", float_sessions, ROUTE_USER, ROUTE_PAGE, "/app.html"},
    {"GET", "/float", float_sessions, ROUTE_USER, ROUTE_PAGE, "/app.html"},
    {"DELETE", "/float/sessions/{id}", float_delete, ROUTE_ADMIN, 0, NULL},
    {"GET", "/float/ws", float_ws, ROUTE_USER, 0, NULL},
};

const struct api_module float_module = {"float", float_routes, ARRAY_SIZE(float_routes),
                                        float_start, float_stop};
