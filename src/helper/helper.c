#include "helper/helper.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "sys/exec.h"

#define MAX_CALLS        32 /* calls running at once; more wait in the control socket */
#define HELPER_CALL_NICE 10 /* the job threads' niceness (jobs/engine.c) */

/* ---------- one call ---------- */

void helper_output(void *call, const char *data, size_t len)
{
        struct helper_call *c = call;
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        while (len > 0) {
                size_t n = len < 16384 ? len : 16384;
                hm_begin(&hb, HM_OUTPUT, HOP_NONE);
                hm_add_bytes(&hb, data, n);
                if (hm_send(c->sock, &hb, -1) < 0)
                        break; /* the caller went away: the cancel fd says so too */
                data += n;
                len -= n;
        }
        hm_builder_free(&hb);
}

void helper_msgf(struct helper_call *c, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        strbuf_vprintf(&c->msg, fmt, ap);
        va_end(ap);
}

static const struct helper_op *find_op(unsigned op)
{
        for (size_t i = 0; i < helper_nops; i++)
                if (helper_ops[i].op == op)
                        return &helper_ops[i];
        return NULL;
}

static int answer(struct helper_call *c, int rc)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_RESULT, HOP_NONE);
        hm_add_int(&hb, rc);
        hm_add_str(&hb, c->msg.data ? c->msg.data : "");
        /* the extras' fields follow as they were built */
        if (c->extra.n && !c->extra.err && !hb.err) {
                if (strbuf_append(&hb.b, c->extra.b.data + HM_HEADER, c->extra.b.len - HM_HEADER))
                        hb.err = -E2BIG;
                hb.n += c->extra.n;
                hb.b.data[6] = (char)(hb.n >> 8);
                hb.b.data[7] = (char)hb.n;
        }
        int r = hm_send(c->sock, &hb, c->fd_out);
        hm_builder_free(&hb);
        return r;
}

int helper_serve_call(const struct config *cfg, int sock)
{
        _cleanup_free_ unsigned char *buf = malloc(HM_MAX);
        if (!buf)
                return -ENOMEM;
        size_t len = 0;
        int fd = -1;
        int r = hm_recv(sock, buf, HM_MAX, &len, &fd);
        if (fd >= 0)
                close(fd); /* a request never carries one */
        if (r < 0)
                return r;
        struct hm_msg m;
        struct helper_call c = {.cfg = cfg,
                                .sock = sock,
                                .req = &m,
                                .msg = STRBUF_INIT(65536),
                                .subject = STRBUF_INIT(512),
                                .extra = {.b = STRBUF_INIT(HM_MAX)},
                                .fd_out = -1};
        hm_begin(&c.extra, HM_RESULT, HOP_NONE);
        int pr = hm_parse(buf, len, &m);
        const struct helper_op *op = pr == 0 && m.kind == HM_REQUEST ? find_op(m.op) : NULL;
        int rc;
        if (pr < 0 || m.kind != HM_REQUEST) {
                helper_msgf(&c, "malformed request");
                rc = -EBADMSG;
        } else if (!op) {
                helper_msgf(&c, "unknown operation %u", m.op);
                rc = -EOPNOTSUPP;
        } else if (!hm_expect(&m, op->sig)) {
                helper_msgf(&c, "%s: wrong arguments", hm_op_name(m.op));
                rc = -EINVAL;
        } else {
                /* a cancel from the caller (or its end) stops the program */
                exec_set_cancel_fd(sock);
                rc = op->fn(&c);
                exec_set_cancel_fd(-1);
        }
        if (rc > 0)
                rc = 0;
        log_msg(rc == 0 ? LOG_INFO : LOG_WARN, "helper: %s%s%s -> %s%s%s",
                pr == 0 ? hm_op_name(m.op) : "?", c.subject.len ? " " : "",
                c.subject.len ? c.subject.data + strspn(c.subject.data, " ") : "",
                rc == 0 ? "ok" : strerror(-rc), c.msg.len ? ": " : "", c.msg.len ? c.msg.data : "");
        r = answer(&c, rc);
        if (c.fd_out >= 0)
                close(c.fd_out);
        strbuf_free(&c.msg);
        strbuf_free(&c.subject);
        hm_builder_free(&c.extra);
        hm_msg_clear(&m);
        return r;
}

/* ---------- the loop ---------- */

int helper_main(const struct config *cfg, int ctl)
{
        prctl(PR_SET_NAME, "setec-helper");
        /* what start-up freed stays freed here too */
        malloc_trim(0);
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        _cleanup_close_ int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return -errno;
        unsigned running = 0;
        unsigned char hello[64];
        for (;;) {
                struct pollfd p[2] = {{sfd, POLLIN, 0},
                                      {running < MAX_CALLS ? ctl : -1, POLLIN, 0}};
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                ;
                        while (running > 0 && waitpid(-1, NULL, WNOHANG) > 0)
                                running--;
                }
                if (!(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                /* a call: a "hello" datagram carrying the call's socket */
                size_t len = 0;
                int sock = -1;
                int r = hm_recv(ctl, hello, sizeof(hello), &len, &sock);
                if (r == -EPIPE || r == -ECONNRESET)
                        break; /* the HTTP process ended: so do we */
                if (r < 0 || sock < 0) {
                        if (sock >= 0)
                                close(sock);
                        continue;
                }
                pid_t pid = fork();
                if (pid == 0) {
                        close(ctl);
                        close(sfd);
                        sigprocmask(SIG_UNBLOCK, &chld, NULL);
                        /* system work yields the CPU to the panel's answers,
                         * as the job threads that ask for most of it do: a
                         * backup's compression or a build runs here */
                        setpriority(PRIO_PROCESS, 0, HELPER_CALL_NICE);
                        int rc = helper_serve_call(cfg, sock);
                        _exit(rc < 0 ? 1 : 0);
                }
                if (pid > 0)
                        running++;
                else
                        log_error("helper: cannot fork for a call: %s", strerror(errno));
                close(sock); /* a failed fork: the caller sees the end of its call */
        }
        /* the calls still running finish (their callers are gone: the
         * programs they run see the cancel) */
        while (running > 0 && waitpid(-1, NULL, 0) > 0)
                running--;
        return 0;
}
