#include "sys/usb.h"

#include <errno.h>
#include <fcntl.h>
#include <libusb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "core/config.h"
#include "sys/helpcall.h"
#include "sys/usb_dl.h"

/* ================= the bridge (libusb, one thread) ================= */

struct usb_req *usb_req_new(enum usb_op op, uint16_t dev, void *owner)
{
        struct usb_req *q = calloc(1, sizeof(*q));
        if (q) {
                q->op = op;
                q->dev = dev;
                q->owner = owner;
        }
        return q;
}

void usb_req_free(struct usb_req *q)
{
        if (!q)
                return;
        free(q->data);
        free(q->in);
        free(q);
}

/* A device opened by an owner. */
/* The node of id from the root helper, for a process that may not open it. */
static int node_from_helper(uint16_t id)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_USB_OPEN);
        hm_add_int(&hb, id);
        struct helpcall_reply rep;
        int r = helpcall_send(&hb, NULL, NULL, &rep, NULL);
        if (r == 0) {
                r = rep.fd >= 0 ? rep.fd : -EPROTO;
                rep.fd = -1; /* ours now */
        }
        helpcall_reply_free(&rep);
        return r;
}

struct opened {
        uint16_t dev;
        int fd; /* the helper's descriptor the handle wraps, -1 */
        void *owner;
        libusb_device_handle *h;
        int nifaces;
        uint8_t ep_type[32]; /* per endpoint address (index = num | dir << 4):
                                LIBUSB_TRANSFER_TYPE_* + 1 */
        unsigned inflight;
        struct usb_req *flight; /* in-flight requests (linked by next) */
        bool closing;
        struct usb_req *close_waiters; /* Close requests answered once inflight is 0 */
        struct opened *next;
};

struct usb_bridge {
        libusb_context *ctx;
        pthread_t thread;
        pthread_mutex_t lock; /* guards queue, quit */
        struct usb_req *queue, *queue_tail;
        bool quit;
        struct opened *devs; /* bridge thread only */
        unsigned nopen;      /* written by the bridge thread */
};

static void finish(struct usb_req *q, int status)
{
        q->status = status;
        q->done(q);
}

static int map_error(int e)
{
        switch (e) {
        case LIBUSB_SUCCESS:
                return USB_ST_OK;
        case LIBUSB_ERROR_PIPE:
                return USB_ST_STALL;
        case LIBUSB_ERROR_TIMEOUT:
                return USB_ST_TIMEOUT;
        case LIBUSB_ERROR_NO_DEVICE:
        case LIBUSB_ERROR_NOT_FOUND:
                return USB_ST_NO_DEVICE;
        case LIBUSB_ERROR_OVERFLOW:
                return USB_ST_OVERFLOW;
        case LIBUSB_ERROR_ACCESS:
                return USB_ST_ACCESS;
        case LIBUSB_ERROR_BUSY:
                return USB_ST_BUSY;
        default:
                return USB_ST_IO;
        }
}

static int map_transfer_status(enum libusb_transfer_status s)
{
        switch (s) {
        case LIBUSB_TRANSFER_COMPLETED:
                return USB_ST_OK;
        case LIBUSB_TRANSFER_STALL:
                return USB_ST_STALL;
        case LIBUSB_TRANSFER_TIMED_OUT:
                return USB_ST_TIMEOUT;
        case LIBUSB_TRANSFER_NO_DEVICE:
                return USB_ST_NO_DEVICE;
        case LIBUSB_TRANSFER_OVERFLOW:
                return USB_ST_OVERFLOW;
        case LIBUSB_TRANSFER_CANCELLED:
                return USB_ST_CLOSED;
        default:
                return USB_ST_IO;
        }
}

static struct opened *find_open(struct usb_bridge *b, uint16_t dev)
{
        for (struct opened *o = b->devs; o; o = o->next)
                if (o->dev == dev)
                        return o;
        return NULL;
}

static int ep_index(uint8_t ep)
{
        return (ep & 0x0F) | ((ep & 0x80) ? 0x10 : 0);
}

static void learn_endpoints(struct opened *o, libusb_device *d)
{
        struct libusb_config_descriptor *cfg = NULL;
        if (libusb_get_active_config_descriptor(d, &cfg) < 0 &&
            libusb_get_config_descriptor(d, 0, &cfg) < 0)
                return;
        o->nifaces = cfg->bNumInterfaces;
        for (int i = 0; i < cfg->bNumInterfaces; i++)
                for (int a = 0; a < cfg->interface[i].num_altsetting; a++) {
                        const struct libusb_interface_descriptor *id =
                            &cfg->interface[i].altsetting[a];
                        for (int e = 0; e < id->bNumEndpoints; e++) {
                                const struct libusb_endpoint_descriptor *ed = &id->endpoint[e];
                                o->ep_type[ep_index(ed->bEndpointAddress)] =
                                    (uint8_t)((ed->bmAttributes & 3) + 1);
                        }
                }
        libusb_free_config_descriptor(cfg);
}

static void do_open(struct usb_bridge *b, struct usb_req *q)
{
        struct opened *o = find_open(b, q->dev);
        if (o) {
                finish(q, o->owner == q->owner && !o->closing ? USB_ST_OK : USB_ST_BUSY);
                return;
        }
        libusb_device **list = NULL;
        ssize_t n = libusb_get_device_list(b->ctx, &list);
        libusb_device *found = NULL;
        for (ssize_t i = 0; i < n; i++)
                if (libusb_get_bus_number(list[i]) == (q->dev >> 8) &&
                    libusb_get_device_address(list[i]) == (q->dev & 0xFF))
                        found = list[i];
        libusb_device_handle *h = NULL;
        int r = found ? libusb_open(found, &h) : LIBUSB_ERROR_NO_DEVICE;
        int fd = -1;
        if (r == LIBUSB_ERROR_ACCESS && helpcall_active()) {
                /* unprivileged: the root helper opens the node */
                fd = node_from_helper(q->dev);
                r = fd >= 0         ? libusb_wrap_sys_device(b->ctx, (intptr_t)fd, &h)
                    : fd == -ENOENT ? LIBUSB_ERROR_NO_DEVICE
                                    : LIBUSB_ERROR_ACCESS;
                if (r < 0 && fd >= 0) {
                        close(fd);
                        fd = -1;
                }
        }
        o = r == 0 ? calloc(1, sizeof(*o)) : NULL;
        if (r == 0 && !o) {
                libusb_close(h);
                if (fd >= 0)
                        close(fd);
                r = LIBUSB_ERROR_NO_MEM;
        }
        if (r == 0) {
                o->dev = q->dev;
                o->fd = fd;
                o->owner = q->owner;
                o->h = h;
                learn_endpoints(o, libusb_get_device(h));
                libusb_set_auto_detach_kernel_driver(h, 1);
                for (int i = 0; i < o->nifaces && r == 0; i++) {
                        r = libusb_claim_interface(h, i);
                        if (r < 0) {
                                while (i-- > 0)
                                        libusb_release_interface(h, i);
                        }
                }
                if (r < 0) {
                        libusb_close(h);
                        if (o->fd >= 0)
                                close(o->fd);
                        free(o);
                } else {
                        o->next = b->devs;
                        b->devs = o;
                        b->nopen++;
                }
        }
        if (list)
                libusb_free_device_list(list, 1);
        if (r < 0)
                log_info("float: cannot open USB device %03u/%03u: %s", q->dev >> 8, q->dev & 0xFF,
                         libusb_error_name(r));
        finish(q, map_error(r));
}

/* Release and close o once nothing is in flight; answer its Close requests. */
static void maybe_close(struct usb_bridge *b, struct opened *o)
{
        if (!o->closing || o->inflight)
                return;
        for (int i = 0; i < o->nifaces; i++)
                libusb_release_interface(o->h, i); /* auto-detach reattaches the drivers */
        libusb_close(o->h);
        if (o->fd >= 0)
                close(o->fd); /* libusb_close leaves a wrapped descriptor open */
        for (struct opened **p = &b->devs; *p; p = &(*p)->next)
                if (*p == o) {
                        *p = o->next;
                        break;
                }
        b->nopen--;
        struct usb_req *w = o->close_waiters;
        free(o);
        while (w) {
                struct usb_req *next = w->next;
                w->next = NULL;
                finish(w, USB_ST_OK);
                w = next;
        }
}

static void begin_close(struct usb_bridge *b, struct opened *o)
{
        if (o->closing)
                return;
        o->closing = true;
        (void)b;
        /* cancel what is in flight: each finishes with USB_ST_CLOSED */
        for (struct usb_req *q = o->flight; q; q = q->next)
                libusb_cancel_transfer(q->transfer);
}

static void transfer_cb(struct libusb_transfer *t)
{
        struct usb_req *q = t->user_data;
        struct usb_bridge *b = q->bridge;
        q->transfer = NULL;
        int st = map_transfer_status(t->status);
        if (q->op == USB_CONTROL) {
                if (st == USB_ST_OK && (q->setup[0] & 0x80) && t->actual_length > 0) {
                        q->in = malloc((size_t)t->actual_length);
                        if (q->in) {
                                memcpy(q->in, libusb_control_transfer_get_data(t),
                                       (size_t)t->actual_length);
                                q->in_len = (size_t)t->actual_length;
                        }
                }
                free(t->buffer);
        } else if (q->op == USB_OUT) {
                q->in_len = (size_t)t->actual_length;
                free(t->buffer);
        } else { /* IN: the buffer becomes the answer */
                q->in = t->buffer;
                q->in_len = st == USB_ST_OK || st == USB_ST_TIMEOUT || st == USB_ST_CLOSED
                                ? (size_t)t->actual_length
                                : 0;
        }
        t->buffer = NULL;
        struct opened *o = find_open(b, q->dev);
        libusb_free_transfer(t);
        if (o) {
                o->inflight--;
                for (struct usb_req **p = &o->flight; *p; p = &(*p)->next)
                        if (*p == q) {
                                *p = q->next;
                                break;
                        }
                q->next = NULL;
        }
        finish(q, st);
        if (o)
                maybe_close(b, o);
}

static void do_transfer(struct usb_bridge *b, struct usb_req *q)
{
        struct opened *o = find_open(b, q->dev);
        if (!o || o->owner != q->owner || o->closing) {
                finish(q, USB_ST_NOT_OPEN);
                return;
        }
        struct libusb_transfer *t = libusb_alloc_transfer(0);
        if (!t) {
                finish(q, USB_ST_IO);
                return;
        }
        unsigned char *buf = NULL;
        int r;
        if (q->op == USB_CONTROL) {
                uint16_t wlen = (uint16_t)(q->setup[6] | q->setup[7] << 8);
                buf = malloc(LIBUSB_CONTROL_SETUP_SIZE + (size_t)wlen);
                if (!buf)
                        goto nomem;
                memcpy(buf, q->setup, 8);
                if (!(q->setup[0] & 0x80) && wlen)
                        memcpy(buf + 8, q->data, wlen);
                libusb_fill_control_transfer(t, o->h, buf, transfer_cb, q, q->timeout_ms);
        } else {
                bool in = q->op != USB_OUT;
                uint8_t ep = in ? (uint8_t)(q->endpoint | 0x80) : (uint8_t)(q->endpoint & 0x7F);
                int type = o->ep_type[ep_index(ep)] - 1;
                if (type != LIBUSB_TRANSFER_TYPE_BULK && type != LIBUSB_TRANSFER_TYPE_INTERRUPT) {
                        libusb_free_transfer(t);
                        finish(q, USB_ST_IO); /* no such bulk/interrupt endpoint */
                        return;
                }
                if (q->op == USB_INTERRUPT)
                        type = LIBUSB_TRANSFER_TYPE_INTERRUPT;
                size_t len = in ? q->length : q->data_len;
                buf = malloc(len ? len : 1);
                if (!buf)
                        goto nomem;
                if (!in && len)
                        memcpy(buf, q->data, len);
                if (type == LIBUSB_TRANSFER_TYPE_INTERRUPT)
                        libusb_fill_interrupt_transfer(t, o->h, ep, buf, (int)len, transfer_cb, q,
                                                       q->timeout_ms);
                else
                        libusb_fill_bulk_transfer(t, o->h, ep, buf, (int)len, transfer_cb, q,
                                                  q->timeout_ms);
        }
        q->bridge = b;
        q->transfer = t;
        r = libusb_submit_transfer(t);
        if (r < 0) {
                q->transfer = NULL;
                free(buf);
                libusb_free_transfer(t);
                finish(q, map_error(r));
                return;
        }
        o->inflight++;
        q->next = o->flight; /* for cancellation */
        o->flight = q;
        return;
nomem:
        libusb_free_transfer(t);
        finish(q, USB_ST_IO);
}

static void do_close(struct usb_bridge *b, struct usb_req *q)
{
        struct opened *o = find_open(b, q->dev);
        if (!o || o->owner != q->owner) {
                finish(q, USB_ST_NOT_OPEN);
                return;
        }
        q->next = o->close_waiters;
        o->close_waiters = q;
        begin_close(b, o);
        maybe_close(b, o);
}

static void run(struct usb_bridge *b, struct usb_req *q)
{
        switch (q->op) {
        case USB_OPEN:
                do_open(b, q);
                break;
        case USB_CLOSE:
                do_close(b, q);
                break;
        default:
                do_transfer(b, q);
                break;
        }
}

/* A marker request: release everything of q->owner. */
static void release_done(struct usb_req *q)
{
        usb_req_free(q);
}

static void do_release(struct usb_bridge *b, void *owner)
{
        for (struct opened *o = b->devs, *next; o; o = next) {
                next = o->next;
                if (o->owner == owner) {
                        begin_close(b, o);
                        maybe_close(b, o);
                }
        }
}

#define OP_RELEASE 100

static void *bridge_main(void *arg)
{
        struct usb_bridge *b = arg;
        pthread_setname_np(pthread_self(), "usb-bridge");
        for (;;) {
                pthread_mutex_lock(&b->lock);
                struct usb_req *q = b->queue;
                b->queue = b->queue_tail = NULL;
                bool quit = b->quit;
                pthread_mutex_unlock(&b->lock);
                while (q) {
                        struct usb_req *next = q->next;
                        q->next = NULL;
                        if ((int)q->op == OP_RELEASE) {
                                do_release(b, q->owner);
                                release_done(q);
                        } else {
                                run(b, q);
                        }
                        q = next;
                }
                if (quit && !b->devs)
                        break;
                if (quit)
                        for (struct opened *o = b->devs; o; o = o->next)
                                begin_close(b, o);
                struct timeval tv = {1, 0};
                libusb_handle_events_timeout_completed(b->ctx, &tv, NULL);
        }
        return NULL;
}

static void enqueue(struct usb_bridge *b, struct usb_req *q)
{
        q->next = NULL;
        pthread_mutex_lock(&b->lock);
        if (b->queue_tail)
                b->queue_tail->next = q;
        else
                b->queue = q;
        b->queue_tail = q;
        pthread_mutex_unlock(&b->lock);
        libusb_interrupt_event_handler(b->ctx);
}

void usb_submit(struct usb_bridge *b, struct usb_req *q)
{
        enqueue(b, q);
}

void usb_release_owner(struct usb_bridge *b, void *owner)
{
        struct usb_req *q = usb_req_new((enum usb_op)OP_RELEASE, 0, owner);
        if (!q) {
                log_error("float: out of memory releasing devices");
                return;
        }
        enqueue(b, q);
}

unsigned usb_bridge_open_count(struct usb_bridge *b)
{
        return __atomic_load_n(&b->nopen, __ATOMIC_RELAXED);
}

int usb_bridge_new(struct usb_bridge **out)
{
        if (!usb_dl_load())
                return -ELIBACC;
        struct usb_bridge *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        int r = libusb_init(&b->ctx);
        if (r < 0) {
                log_error("float: libusb_init: %s", libusb_error_name(r));
                free(b);
                return -EIO;
        }
        pthread_mutex_init(&b->lock, NULL);
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&b->thread, NULL, bridge_main, b);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                libusb_exit(b->ctx);
                pthread_mutex_destroy(&b->lock);
                free(b);
                return -r;
        }
        *out = b;
        return 0;
}

void usb_bridge_free(struct usb_bridge *b)
{
        if (!b)
                return;
        pthread_mutex_lock(&b->lock);
        b->quit = true;
        pthread_mutex_unlock(&b->lock);
        libusb_interrupt_event_handler(b->ctx);
        pthread_join(b->thread, NULL);
        libusb_exit(b->ctx);
        pthread_mutex_destroy(&b->lock);
        free(b);
}
