#include "http/sse.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "http/evloop.h"
#include "http/server.h"

#define SSE_BUFFER_MAX (1u << 20) /* a client this far behind is dropped */

/* What an epoll event refers to: a stream's source or its client socket. */
struct watch {
        struct evwatch w; /* first */
        struct sse_stream *s;
        bool socket;
};

struct sse_stream {
        pthread_mutex_t lock; /* guards buf, suspended, ended, gone */
        struct strbuf buf;
        bool suspended; /* the connection is suspended waiting for data */
        bool ended;     /* no more data: end of stream once buf drains */
        bool gone;      /* MHD released the response */
        bool started;   /* loop thread only */
        struct MHD_Connection *conn;
        int fd;
        int sock; /* the client connection, watched for hang-ups; -1 = not watched */
        struct watch w_src, w_sock;
        const struct sse_source_ops *ops;
        void *ctx;
        struct sse_loop *loop;
        struct sse_stream *prev, *next;
};

struct sse_loop {
        struct evloop *ev;
        struct evtick keepalive;
        pthread_mutex_t lock; /* guards the list, `stopping` and `sweep_posted` */
        struct sse_stream *streams;
        bool stopping;     /* no new streams: end each one as it comes */
        bool sweep_posted; /* a sweep is queued on the loop */
};

static void sweep(void *arg);

static void stream_free(struct sse_stream *s)
{
        if (s->ops && s->ops->free)
                s->ops->free(s->ctx);
        if (s->fd >= 0)
                close(s->fd);
        strbuf_free(&s->buf);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

#define NOFILE_RESERVE 512 /* descriptors kept for requests, the database, children */

unsigned sse_stream_limit(unsigned configured, unsigned fds_per_stream)
{
        if (configured)
                return configured;
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return 1024;
        rlim_t spare = rl.rlim_cur > NOFILE_RESERVE ? rl.rlim_cur - NOFILE_RESERVE : 0;
        rlim_t n = spare / (fds_per_stream + 1);
        return n < 16 ? 16 : n > 1000000 ? 1000000 : (unsigned)n;
}

void http_reply_sse(struct http_req *r, int fd, const struct sse_source_ops *ops, void *ctx)
{
        struct sse_stream *s = calloc(1, sizeof(*s));
        if (!s) {
                if (ops->free)
                        ops->free(ctx);
                if (fd >= 0)
                        close(fd);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        pthread_mutex_init(&s->lock, NULL);
        s->buf = STRBUF_INIT(SSE_BUFFER_MAX);
        s->fd = fd;
        s->sock = -1;
        s->ops = ops;
        s->ctx = ctx;
        sse_discard(r);
        http_reply(r, 200, "text/event-stream", NULL, 0);
        r->sse = s;
        http_add_header(r, "Cache-Control", "no-cache");
        http_add_header(r, "X-Accel-Buffering", "no");
}

void sse_discard(struct http_req *r)
{
        if (r->sse) {
                stream_free(r->sse);
                r->sse = NULL;
        }
}

/* Called with s->lock held. */
static void wake_connection(struct sse_stream *s)
{
        if (s->suspended && !s->gone) {
                s->suspended = false;
                MHD_resume_connection(s->conn);
        }
}

static int append_locked(struct sse_stream *s, const char *data, size_t len)
{
        if (s->gone || s->ended)
                return -EPIPE;
        if (strbuf_append(&s->buf, data, len) < 0) {
                s->ended = true; /* too slow: let it end rather than grow */
                wake_connection(s);
                return -EPIPE;
        }
        wake_connection(s);
        return 0;
}

/* Names and ids are ours (never client data), but a newline in one would
 * still break the framing. */
static bool one_line(const char *s)
{
        return !s || !strpbrk(s, "\r\n");
}

int sse_send(struct sse_stream *s, const char *id, const char *data, size_t len)
{
        return sse_send_event(s, NULL, id, data, len);
}

int sse_send_event(struct sse_stream *s, const char *event, const char *id, const char *data,
                   size_t len)
{
        if (!one_line(event) || !one_line(id))
                return -EINVAL;
        _cleanup_strbuf_ struct strbuf ev = STRBUF_INIT(SSE_BUFFER_MAX);
        if (event)
                strbuf_printf(&ev, "event: %s\n", event);
        if (id)
                strbuf_printf(&ev, "id: %s\n", id);
        const char *p = data, *end = data + len;
        do {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *le = nl ? nl : end;
                size_t l = (size_t)(le - p);
                if (l && p[l - 1] == '\r')
                        l--;
                strbuf_puts(&ev, "data: ");
                if (strbuf_append(&ev, p, l) < 0)
                        return -EPIPE;
                strbuf_puts(&ev, "\n");
                p = nl ? nl + 1 : end;
        } while (p < end);
        if (strbuf_puts(&ev, "\n") < 0)
                return -EPIPE;
        pthread_mutex_lock(&s->lock);
        int r = append_locked(s, ev.data, ev.len);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int sse_comment(struct sse_stream *s, const char *text)
{
        _cleanup_strbuf_ struct strbuf ev = STRBUF_INIT(4096);
        if (strbuf_printf(&ev, ": %s\n\n", text) < 0)
                return -EINVAL;
        pthread_mutex_lock(&s->lock);
        int r = append_locked(s, ev.data, ev.len);
        pthread_mutex_unlock(&s->lock);
        return r;
}

static void end_stream(struct sse_stream *s)
{
        pthread_mutex_lock(&s->lock);
        s->ended = true;
        wake_connection(s);
        pthread_mutex_unlock(&s->lock);
}

/* MHD asks for the next bytes of the body. */
static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
        struct sse_stream *s = cls;
        pthread_mutex_lock(&s->lock);
        ssize_t n;
        if (s->buf.len) {
                size_t k = s->buf.len < max ? s->buf.len : max;
                memcpy(out, s->buf.data, k);
                memmove(s->buf.data, s->buf.data + k, s->buf.len - k);
                s->buf.len -= k;
                s->buf.data[s->buf.len] = '\0';
                n = (ssize_t)k;
        } else if (s->ended) {
                n = MHD_CONTENT_READER_END_OF_STREAM;
        } else {
                /* nothing to send: park the connection until data arrives */
                s->suspended = true;
                MHD_suspend_connection(s->conn);
                n = 0;
        }
        pthread_mutex_unlock(&s->lock);
        return n;
}

/* Have the loop sweep the streams (start new ones, reap finished ones). */
static void wake_loop(struct sse_loop *l)
{
        pthread_mutex_lock(&l->lock);
        bool post = !l->sweep_posted;
        l->sweep_posted = true;
        pthread_mutex_unlock(&l->lock);
        if (post && evloop_post(l->ev, sweep, l) < 0) {
                pthread_mutex_lock(&l->lock);
                l->sweep_posted = false;
                pthread_mutex_unlock(&l->lock);
        }
}

/* MHD is done with the response (the connection closed). */
static void reader_free(void *cls)
{
        struct sse_stream *s = cls;
        pthread_mutex_lock(&s->lock);
        s->gone = true;
        pthread_mutex_unlock(&s->lock);
        wake_loop(s->loop);
}

void *sse_make_response(struct sse_loop *l, struct http_req *r)
{
        struct sse_stream *s = r->sse;
        struct MHD_Response *resp =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, s, reader_free);
        if (!resp)
                return NULL;
        r->sse = NULL; /* the loop owns it now */
        s->conn = r->conn;
        s->loop = l;
        pthread_mutex_lock(&l->lock);
        s->next = l->streams;
        if (l->streams)
                l->streams->prev = s;
        l->streams = s;
        if (l->stopping)
                s->ended = true;
        pthread_mutex_unlock(&l->lock);
        wake_loop(l);
        return resp;
}

static void on_source(struct evwatch *ew, uint32_t events);

/* Loop thread: start new streams, reap finished ones. */
static void sweep(void *arg)
{
        struct sse_loop *l = arg;
        pthread_mutex_lock(&l->lock);
        l->sweep_posted = false;
        for (struct sse_stream *s = l->streams, *next; s; s = next) {
                next = s->next;
                pthread_mutex_lock(&s->lock);
                bool gone = s->gone;
                pthread_mutex_unlock(&s->lock);
                if (gone) {
                        if (s->prev)
                                s->prev->next = s->next;
                        else
                                l->streams = s->next;
                        if (s->next)
                                s->next->prev = s->prev;
                        if (s->fd >= 0 && s->started)
                                evloop_del(l->ev, &s->w_src.w);
                        if (s->sock >= 0)
                                evloop_del(l->ev, &s->w_sock.w);
                        /* events of this batch are all dispatched: sweeps run
                         * after them */
                        stream_free(s);
                        continue;
                }
                if (!s->started) {
                        s->started = true;
                        /* A parked connection is not polled by MHD: notice a
                         * client that hangs up ourselves. */
                        const union MHD_ConnectionInfo *ci =
                            MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                        s->w_sock = (struct watch){{ci ? ci->connect_fd : -1, on_source}, s, true};
                        if (ci && evloop_add(l->ev, &s->w_sock.w, EPOLLRDHUP) == 0)
                                s->sock = ci->connect_fd;
                        if (s->fd >= 0) {
                                s->w_src = (struct watch){{s->fd, on_source}, s, false};
                                if (evloop_add(l->ev, &s->w_src.w, EPOLLIN) < 0)
                                        log_warn("sse: cannot watch fd %d: %s", s->fd,
                                                 strerror(errno));
                        }
                        if (s->ops->pump(s, s->ctx) < 0)
                                end_stream(s);
                }
        }
        pthread_mutex_unlock(&l->lock);
}

static void on_source(struct evwatch *ew, uint32_t events)
{
        (void)events;
        struct watch *w = (struct watch *)ew;
        struct sse_stream *s = w->s;
        struct sse_loop *l = s->loop;
        if (w->socket) {
                evloop_del(l->ev, &s->w_sock.w);
                s->sock = -1;
                end_stream(s);
        } else if (s->ops->pump(s, s->ctx) < 0) {
                evloop_del(l->ev, &s->w_src.w);
                end_stream(s);
        }
}

static void keepalive_all(struct evtick *t, double now)
{
        (void)now;
        struct sse_loop *l = (struct sse_loop *)((char *)t - offsetof(struct sse_loop, keepalive));
        pthread_mutex_lock(&l->lock);
        for (struct sse_stream *s = l->streams; s; s = s->next)
                if (s->started)
                        sse_comment(s, "keepalive");
        pthread_mutex_unlock(&l->lock);
}

struct sse_loop *sse_loop_new(struct evloop *ev, unsigned keepalive_s)
{
        struct sse_loop *l = calloc(1, sizeof(*l));
        if (!l)
                return NULL;
        pthread_mutex_init(&l->lock, NULL);
        l->ev = ev;
        l->keepalive.period_s = keepalive_s;
        l->keepalive.fn = keepalive_all;
        evloop_add_tick(ev, &l->keepalive);
        return l;
}

void sse_loop_end_all(struct sse_loop *l)
{
        pthread_mutex_lock(&l->lock);
        l->stopping = true;
        for (struct sse_stream *s = l->streams; s; s = s->next)
                end_stream(s);
        pthread_mutex_unlock(&l->lock);
        wake_loop(l);
}

void sse_loop_free(struct sse_loop *l)
{
        if (!l)
                return;
        /* the event loop is gone and MHD is stopped: whatever is left will
         * never be released by them */
        for (struct sse_stream *s = l->streams, *next; s; s = next) {
                next = s->next;
                stream_free(s);
        }
        pthread_mutex_destroy(&l->lock);
        free(l);
}
