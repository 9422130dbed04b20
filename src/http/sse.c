#include "http/sse.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"

#define SSE_BUFFER_MAX (1u << 20) /* a client this far behind is dropped */

/* What an epoll event refers to: a stream's source or its client socket. */
struct watch {
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
        pthread_t thread;
        int ep, wake, timer;
        pthread_mutex_t lock; /* guards the list and `stopping` */
        struct sse_stream *streams;
        bool stopping; /* no new streams: end each one as it comes */
        bool quit;     /* leave the loop now */
};

static char tag_wake, tag_timer; /* epoll cookies for the two control fds */

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

static void wake_loop(struct sse_loop *l)
{
        uint64_t one = 1;
        ssize_t k = write(l->wake, &one, sizeof(one));
        (void)k;
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

/* Loop thread: start new streams, reap finished ones. */
static void sweep(struct sse_loop *l)
{
        pthread_mutex_lock(&l->lock);
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
                                epoll_ctl(l->ep, EPOLL_CTL_DEL, s->fd, NULL);
                        if (s->sock >= 0)
                                epoll_ctl(l->ep, EPOLL_CTL_DEL, s->sock, NULL);
                        stream_free(s);
                        continue;
                }
                if (!s->started) {
                        s->started = true;
                        /* A parked connection is not polled by MHD: notice a
                         * client that hangs up ourselves. */
                        const union MHD_ConnectionInfo *ci =
                            MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                        s->w_sock = (struct watch){s, true};
                        struct epoll_event hev = {.events = EPOLLRDHUP, .data.ptr = &s->w_sock};
                        if (ci && epoll_ctl(l->ep, EPOLL_CTL_ADD, ci->connect_fd, &hev) == 0)
                                s->sock = ci->connect_fd;
                        if (s->fd >= 0) {
                                s->w_src = (struct watch){s, false};
                                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->w_src};
                                if (epoll_ctl(l->ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
                                        log_warn("sse: cannot watch fd %d: %s", s->fd,
                                                 strerror(errno));
                        }
                        if (s->ops->pump(s, s->ctx) < 0)
                                end_stream(s);
                }
        }
        pthread_mutex_unlock(&l->lock);
}

static void keepalive_all(struct sse_loop *l)
{
        pthread_mutex_lock(&l->lock);
        for (struct sse_stream *s = l->streams; s; s = s->next)
                if (s->started)
                        sse_comment(s, "keepalive");
        pthread_mutex_unlock(&l->lock);
}

static void *loop_main(void *arg)
{
        struct sse_loop *l = arg;
        for (;;) {
                struct epoll_event evs[32];
                int n = epoll_wait(l->ep, evs, 32, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        break;
                /* Sources first: sweeping (on a wake) may free streams whose
                 * events are in this same batch. */
                bool wake = false, timer = false;
                for (int i = 0; i < n; i++) {
                        void *p = evs[i].data.ptr;
                        if (p == &tag_wake) {
                                wake = true;
                        } else if (p == &tag_timer) {
                                timer = true;
                        } else {
                                struct watch *w = p;
                                struct sse_stream *s = w->s;
                                if (w->socket) {
                                        epoll_ctl(l->ep, EPOLL_CTL_DEL, s->sock, NULL);
                                        s->sock = -1;
                                        end_stream(s);
                                } else if (s->ops->pump(s, s->ctx) < 0) {
                                        epoll_ctl(l->ep, EPOLL_CTL_DEL, s->fd, NULL);
                                        end_stream(s);
                                }
                        }
                }
                uint64_t v;
                if (timer) {
                        ssize_t k = read(l->timer, &v, sizeof(v));
                        (void)k;
                        keepalive_all(l);
                }
                if (wake) {
                        ssize_t k = read(l->wake, &v, sizeof(v));
                        (void)k;
                        sweep(l);
                }
                pthread_mutex_lock(&l->lock);
                bool done = l->quit || (l->stopping && !l->streams);
                pthread_mutex_unlock(&l->lock);
                if (done)
                        break;
        }
        return NULL;
}

struct sse_loop *sse_loop_new(unsigned keepalive_s)
{
        struct sse_loop *l = calloc(1, sizeof(*l));
        if (!l)
                return NULL;
        pthread_mutex_init(&l->lock, NULL);
        l->ep = epoll_create1(EPOLL_CLOEXEC);
        l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        l->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (l->ep < 0 || l->wake < 0 || l->timer < 0)
                goto fail;
        struct itimerspec its = {.it_interval = {keepalive_s, 0}, .it_value = {keepalive_s, 0}};
        timerfd_settime(l->timer, 0, &its, NULL);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_wake};
        epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &ev);
        ev.data.ptr = &tag_timer;
        epoll_ctl(l->ep, EPOLL_CTL_ADD, l->timer, &ev);
        /* the loop never takes signals: they belong to the main thread */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&l->thread, NULL, loop_main, l);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0)
                goto fail;
        return l;
fail:
        if (l->ep >= 0)
                close(l->ep);
        if (l->wake >= 0)
                close(l->wake);
        if (l->timer >= 0)
                close(l->timer);
        pthread_mutex_destroy(&l->lock);
        free(l);
        return NULL;
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
        pthread_mutex_lock(&l->lock);
        l->stopping = true;
        l->quit = true;
        pthread_mutex_unlock(&l->lock);
        wake_loop(l);
        pthread_join(l->thread, NULL);
        /* MHD is stopped: whatever is left will never be released by it */
        for (struct sse_stream *s = l->streams, *next; s; s = next) {
                next = s->next;
                stream_free(s);
        }
        close(l->ep);
        close(l->wake);
        close(l->timer);
        pthread_mutex_destroy(&l->lock);
        free(l);
}
