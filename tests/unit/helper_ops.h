/* Shared by the unit tests of the root helper's ops that run programs
 * (test_helper_accounts.c, test_helper_deploy.c): each request is served as
 * the helper serves it, in a forked child inside a private mount namespace
 * whose /usr/local/sbin (first in exec's PATH) holds recorders named like
 * the programs the ops run; a recorder that ran leaves "name argv..." in a
 * file, so "refused and nothing ran" is checked, not assumed. Needs root
 * (unshare, mount): need_root() skips otherwise.
 *
 * The including file defines `static struct config cfg;` first, calls
 * ops_setup(template, programs) from its group setup and uses teardown()
 * as its group teardown. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "base/util.h"
#include "core/config.h"
#include "helper/helper.h"
#include "sys/helpmsg.h"

static char ops_dir[64];
static char bindir[256], ran[256];

/* The test's temp dir (from template, "/tmp/...-XXXXXX") with bin/ holding
 * a recorder per name of progs (NULL-terminated). 0 or -1. */
static int ops_setup(const char *template, const char *const *progs)
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
static int teardown(void **state)
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

static void need_root(void)
{
        if (geteuid() != 0)
                skip();
}

/* What the recorders saw since the last call ("" when nothing ran). */
static char *recorded(void)
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
static struct result call(struct hm_builder *hb)
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
static struct result req(unsigned op, const char *sig, ...)
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
