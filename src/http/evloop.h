/* The one event loop of the http layer: one thread, one epoll set, shared by
 * the Server-Sent Events streams (http/sse.c) and the WebSocket connections
 * (http/websocket.c). No thread per socket: a watcher is a file descriptor and
 * a callback that runs on the loop thread and must not block.
 *
 * Other threads reach the loop only through evloop_post(), which queues a
 * function to run on it. Every other call here is for the loop thread (or
 * before the loop starts). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct evloop;

/* A watched descriptor: `fn` runs on the loop thread with the epoll events. */
struct evwatch {
        int fd;
        void (*fn)(struct evwatch *w, uint32_t events);
};

/* A periodic callback (every `period_s` seconds, on the loop thread). */
struct evtick {
        unsigned period_s;
        void (*fn)(struct evtick *t, double now);
        double next;
        struct evtick *next_tick;
};

struct evloop *evloop_new(void);
/* Stop the thread (after the functions already posted ran) and free the loop.
 * Watchers still registered are not called again; their owners free them. */
void evloop_free(struct evloop *l);

/* Loop thread. 0 or -errno (epoll_ctl). */
int evloop_add(struct evloop *l, struct evwatch *w, uint32_t events);
int evloop_mod(struct evloop *l, struct evwatch *w, uint32_t events);
void evloop_del(struct evloop *l, struct evwatch *w);
/* A watcher removed while the loop may still hold its event in the batch
 * being dispatched must not be freed before the batch ends: evloop_defer()
 * runs fn(arg) on the loop thread after the batch. */
void evloop_defer(struct evloop *l, void (*fn)(void *arg), void *arg);
void evloop_add_tick(struct evloop *l, struct evtick *t);

/* Any thread: run fn(arg) on the loop thread soon. -ENOMEM, or -ESHUTDOWN
 * when the loop is stopping (fn is then not called). */
int evloop_post(struct evloop *l, void (*fn)(void *arg), void *arg);
/* True on the loop thread. */
bool evloop_on_thread(struct evloop *l);
