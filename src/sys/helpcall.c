#include "sys/helpcall.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "sys/exec.h"

static int ctl_fd = -1;

void helpcall_init(int ctl)
{
        ctl_fd = ctl;
}

bool helpcall_active(void)
{
        return ctl_fd >= 0;
}

void helpcall_reply_free(struct helpcall_reply *r)
{
        hm_msg_clear(&r->m);
        free(r->buf);
        r->buf = NULL;
        if (r->fd >= 0)
                close(r->fd);
        r->fd = -1;
}

static int send_cancel(int sock)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_CANCEL, HOP_NONE);
        int r = hm_send(sock, &hb, -1);
        hm_builder_free(&hb);
        return r;
}

/* Send hb on a socket pair of its own and wait for the result: 0 with
 * *rep filled (look at rep->rc), or -errno. */
static int call(const struct hm_builder *hb, void (*out)(void *ctx, const char *data, size_t len),
                void *ctx, struct helpcall_reply *rep)
{
        if (ctl_fd < 0)
                return -ENOTCONN;
        int sv[2];
        int r = hm_socketpair(sv);
        if (r < 0)
                return r;
        _cleanup_close_ int sock = sv[0];
        /* the helper gets the other end; our copy of it goes at once, so
         * the helper's exit is an end of stream here */
        struct hm_builder hello = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hello, HM_REQUEST, HOP_NONE);
        r = hm_send(ctl_fd, &hello, sv[1]);
        hm_builder_free(&hello);
        close(sv[1]);
        if (r < 0)
                return r;
        r = hm_send(sock, hb, -1);
        if (r < 0)
                return r;
        rep->buf = malloc(HM_MAX);
        if (!rep->buf)
                return -ENOMEM;
        int cancel = exec_cancel_fd();
        bool cancelled = false;
        for (;;) {
                struct pollfd p[2] = {{sock, POLLIN, 0}, {cancelled ? -1 : cancel, POLLIN, 0}};
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents & (POLLIN | POLLHUP)) {
                        cancelled = true;
                        send_cancel(sock);
                        continue;
                }
                size_t len = 0;
                int fd = -1;
                r = hm_recv(sock, rep->buf, HM_MAX, &len, &fd);
                if (r == -EPIPE)
                        return -ECONNRESET; /* the helper died during the call */
                if (r < 0)
                        return r;
                hm_msg_clear(&rep->m);
                if (hm_parse(rep->buf, len, &rep->m) < 0) {
                        if (fd >= 0)
                                close(fd);
                        return -EPROTO;
                }
                if (rep->m.kind == HM_OUTPUT && hm_expect(&rep->m, "b")) {
                        if (fd >= 0)
                                close(fd);
                        if (out)
                                out(ctx, (const char *)rep->m.f[0].data, rep->m.f[0].len);
                        continue;
                }
                if (rep->m.kind != HM_RESULT || rep->m.n < 2 || rep->m.f[0].type != 'i' ||
                    rep->m.f[1].type != 's') {
                        if (fd >= 0)
                                close(fd);
                        return -EPROTO;
                }
                int64_t rc = rep->m.f[0].i;
                rep->rc = rc <= 0 && rc > -4096 ? (int)rc : -EPROTO;
                rep->msg = hm_str(&rep->m, 1);
                rep->fd = fd;
                rep->answered = true;
                return 0;
        }
}

int helpcall_send(struct hm_builder *hb, void (*out)(void *ctx, const char *data, size_t len),
                  void *ctx, struct helpcall_reply *rep, char **msg)
{
        struct helpcall_reply own;
        if (!rep)
                rep = &own;
        *rep = (struct helpcall_reply){.rc = -EIO, .msg = "", .fd = -1};
        int r = hm_end(hb);
        if (r == 0)
                r = call(hb, out, ctx, rep);
        if (hb->b.data)
                explicit_bzero(hb->b.data, hb->b.cap);
        hm_builder_free(hb);
        const char *text = rep->msg;
        if (r < 0) {
                log_error("root helper call %s failed: %s", hm_op_name(hb->op),
                          helpcall_strerror(r));
                text = helpcall_strerror(r);
                hm_msg_clear(&rep->m); /* no extras of a nonsense answer */
        } else {
                r = rep->rc;
        }
        if (msg) {
                free(*msg);
                *msg = *text ? strdup(text) : NULL;
        }
        if (rep == &own)
                helpcall_reply_free(rep);
        return r;
}

const char *helpcall_strerror(int rc)
{
        switch (rc) {
        case -ECONNRESET:
        case -EPIPE:
                return "the root helper is not running";
        case -EPROTO:
                return "the root helper answered something unreadable";
        case -ENOTCONN:
                return "no root helper";
        case -E2BIG:
                return "request too large for the root helper";
        default:
                return strerror(-rc);
        }
}
