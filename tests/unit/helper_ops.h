/* Shared by the unit tests of the root helper. serve_raw/serve_built serve
 * one request in this process, as the helper's frame does, for the tests of
 * the frame and of ops that run no program (test_helper_helper.c,
 * test_helper_usb.c, test_helper_nginx.c).
 *
 * The rest is for the ops that run programs (test_helper_accounts.c,
 * test_helper_deploy.c): each request is served as the helper serves it, in
 * a forked child inside a private mount namespace whose /usr/local/sbin
 * (first in exec's PATH) holds recorders named like the programs the ops
 * run; a recorder that ran leaves "name argv..." in a file, so "refused and
 * nothing ran" is checked, not assumed. Needs root (unshare, mount):
 * need_root() skips otherwise; ops_setup(template, programs) from the group
 * setup, teardown() as the group teardown.
 *
 * The including file defines `static struct config cfg;` first. The
 * functions are static inline: a file uses only some of them. */
#pragma once

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "base/util.h"
#include "core/config.h"
#include "helper/helper.h"
#include "sys/helpmsg.h"

/* Serve the bytes req[0..len) as a request on a socket pair of its own
 * (helper_serve_call) and read the answer: its rc, its message into msg, the
 * descriptor that came with it into *fd (-1 when none; fd may be NULL when
 * none may come). Without x the answer must be a result without extras;
 * with x it may carry some, and x[0], x[1] get copies of the first two when
 * they are strings (the files HOP_CERT_INSTALL wrote), else NULL. */
static inline int serve_answer(const void *req, size_t len, char *msg, size_t msglen, int *fd,
                               char *x[2])
{
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        assert_int_equal(send(sv[0], req, len, 0), (ssize_t)len);
        assert_int_equal(helper_serve_call(&cfg, sv[1]), 0);
        unsigned char *buf = malloc(HM_MAX);
        assert_non_null(buf);
        size_t n = 0;
        int got = -1;
        assert_int_equal(hm_recv(sv[0], buf, HM_MAX, &n, &got), 0);
        if (fd)
                *fd = got;
        else
                assert_int_equal(got, -1);
        struct hm_msg m;
        assert_int_equal(hm_parse(buf, n, &m), 0);
        assert_int_equal(m.kind, HM_RESULT);
        if (x)
                assert_true(m.n >= 2 && m.f[0].type == 'i' && m.f[1].type == 's');
        else
                assert_true(hm_expect(&m, "is"));
        int rc = (int)hm_int(&m, 0, 1);
        snprintf(msg, msglen, "%s", hm_str(&m, 1));
        for (unsigned i = 0; x && i < 2; i++)
                x[i] = hm_str(&m, 2 + i) ? strdup(hm_str(&m, 2 + i)) : NULL;
        hm_msg_clear(&m);
        free(buf);
        close(sv[0]);
        close(sv[1]);
        return rc;
}

/* serve_answer of a result without extras */
static inline int serve_raw(const void *req, size_t len, char *msg, size_t msglen, int *fd)
{
        return serve_answer(req, len, msg, msglen, fd, NULL);
}

/* serve_answer of the request built in hb (freed) */
static inline int serve_built_x(struct hm_builder *hb, char *msg, size_t msglen, int *fd,
                                char *x[2])
{
        assert_int_equal(hm_end(hb), 0);
        int rc = serve_answer(hb->b.data, hb->b.len, msg, msglen, fd, x);
        hm_builder_free(hb);
        return rc;
}

/* serve_raw of the request built in hb (freed) */
static inline int serve_built(struct hm_builder *hb, char *msg, size_t msglen, int *fd)
{
        return serve_built_x(hb, msg, msglen, fd, NULL);
}

static char ops_dir[64];
static char bindir[256], ran[256];

/* The test's temp dir (from template, "/tmp/...-XXXXXX") with bin/ holding
 * a recorder per name of progs (NULL-terminated). 0 or -1. */
static inline int ops_setup(const char *template, const char *const *progs)
{
        snprintf(ops_dir, sizeof(ops_dir), "%s", template);
        if (!mkdtemp(ops_dir))
                return -1;
        snprintf(bindir, sizeof(bindir), "%s/bin", ops_dir);
        snprintf(ran, sizeof(ran), "%s/ran", ops_dir);
        if (mkdir(bindir, 0755) < 0)
                return -1;
        for (const char *const *p = progs; *p; p++) {
                char path[512], text[512];
                snprintf(path, sizeof(path), "%s/%s", bindir, *p);
                snprintf(text, sizeof(text), "#!/bin/sh\necho \"%s $*\" >> %s\nexit 0\n", *p, ran);
                if (write_file_atomic(path, text, strlen(text), 0755) < 0)
                        return -1;
        }
        return 0;
}

/* The group teardown: cfg freed, the temp dir removed with everything in it. */
static inline int teardown(void **state)
{
        (void)state;
        if (geteuid() != 0)
                return 0;
        config_free(&cfg);
        const char *argv[] = {"rm", "-rf", "--", ops_dir, NULL};
        pid_t pid = fork();
        if (pid == 0) {
                execvp("rm", (char *const *)argv);
                _exit(127);
        }
        if (pid > 0)
                waitpid(pid, NULL, 0);
        return 0;
}

static inline void need_root(void)
{
        if (geteuid() != 0)
                skip();
}

/* What the recorders saw since the last call ("" when nothing ran). */
static inline char *recorded(void)
{
        char *data = NULL;
        size_t len = 0;
        if (read_file(ran, 1 << 20, &data, &len) < 0)
                return strdup("");
        unlink(ran);
        return data;
}

struct result {
        int rc;
        char msg[4096];
        int64_t extra; /* the first int extra, -1 when none */
};

/* Serve hb (an HM_REQUEST, sent as built even when malformed) in a child
 * with the recorders first in PATH; output chunks are skipped up to the
 * result. */
static inline struct result call(struct hm_builder *hb)
{
        struct result res = {.rc = 1, .extra = -1};
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        hm_end(hb);
        assert_int_equal(hm_send(sv[0], hb, -1), 0);
        hm_builder_free(hb);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
                    mount(bindir, "/usr/local/sbin", NULL, MS_BIND, NULL) < 0)
                        _exit(77);
                _exit(helper_serve_call(&cfg, sv[1]) < 0 ? 1 : 0);
        }
        close(sv[1]);
        unsigned char *buf = malloc(HM_MAX);
        assert_non_null(buf);
        struct hm_msg m = {0};
        for (;;) {
                size_t len = 0;
                int fd = -1;
                int r = hm_recv(sv[0], buf, HM_MAX, &len, &fd);
                if (fd >= 0)
                        close(fd);
                if (r == -EPIPE)
                        break;
                assert_int_equal(r, 0);
                hm_msg_clear(&m);
                assert_int_equal(hm_parse(buf, len, &m), 0);
                if (m.kind == HM_OUTPUT)
                        continue;
                assert_int_equal(m.kind, HM_RESULT);
                assert_true(m.n >= 2);
                res.rc = (int)hm_int(&m, 0, 1);
                snprintf(res.msg, sizeof(res.msg), "%s", hm_str(&m, 1) ? hm_str(&m, 1) : "");
                res.extra = hm_int(&m, 2, -1);
                break;
        }
        hm_msg_clear(&m);
        free(buf);
        close(sv[0]);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
                skip(); /* no mount namespace here */
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        return res;
}

/* A request: sig gives the fields' types ('s' string, 'i' long long, 'b' a
 * string and its length sent as bytes), then the values. */
static inline struct result req(unsigned op, const char *sig, ...)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, op);
        va_list ap;
        va_start(ap, sig);
        for (const char *t = sig; *t; t++)
                if (*t == 's') {
                        hm_add_str(&hb, va_arg(ap, const char *));
                } else if (*t == 'b') {
                        const char *s = va_arg(ap, const char *);
                        size_t n = va_arg(ap, size_t);
                        hm_add_bytes(&hb, s, n);
                } else {
                        hm_add_int(&hb, va_arg(ap, long long));
                }
        va_end(ap);
        return call(&hb);
}

/* rc is the refusal want and nothing ran. */
#define REFUSED(r, want)                                                                           \
        do {                                                                                       \
                struct result r_ = (r);                                                            \
                _cleanup_free_ char *ran_ = recorded();                                            \
                if (r_.rc != (want) || *ran_)                                                      \
                        fail_msg("line %d: rc %d (want %d) msg '%s' ran '%s'", __LINE__, r_.rc,    \
                                 (want), r_.msg, ran_);                                            \
        } while (0)
