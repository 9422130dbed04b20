/* The helper's frame: one call answered on its socket whatever arrives
 * (garbage, a result posing as a request, an op outside the closed set, the
 * wrong shape), and the loop behind a control socket as serve runs it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "helper/helper.h"
#include "sys/helpcall.h"
#include "sys/helpmsg.h"

static struct config cfg;
#include "helper_ops.h"

static void test_hostile_requests(void **state)
{
        (void)state;
        char msg[4096];
        /* garbage */
        assert_int_equal(serve_raw("GET / HTTP/1.1\r\n\r\n", 18, msg, sizeof(msg), NULL), -EBADMSG);
        assert_string_equal(msg, "malformed request");
        /* a well-formed result is no request */
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_RESULT, HOP_PING);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EBADMSG);
        /* an op outside the closed set */
        hm_begin(&hb, HM_REQUEST, 4242);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EOPNOTSUPP);
        assert_string_equal(msg, "unknown operation 4242");
        /* the right op with the wrong shape */
        hm_begin(&hb, HM_REQUEST, HOP_PING);
        hm_add_str(&hb, "x");
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
        assert_string_equal(msg, "ping: wrong arguments");
        /* and a good one */
        hm_begin(&hb, HM_REQUEST, HOP_PING);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), 0);
        /* every op of the table has a signature of known field types */
        for (size_t i = 0; i < helper_nops; i++)
                assert_int_equal(strspn(helper_ops[i].sig, "sib"), strlen(helper_ops[i].sig));
}

static void test_no_request(void **state)
{
        (void)state;
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        close(sv[0]); /* the caller went away before asking */
        assert_true(helper_serve_call(&cfg, sv[1]) < 0);
        close(sv[1]);
}

/* A request of op (HM_REQUEST), with a field of n zero bytes when n > 0. */
static struct hm_builder request(unsigned op, size_t n)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, op);
        if (n) {
                char *big = calloc(1, n);
                assert_non_null(big);
                hm_add_bytes(&hb, big, n);
                free(big);
        }
        return hb;
}

/* The loop as serve runs it: calls through helpcall_send, and the helper
 * ends when the control socket closes. */
static void test_loop(void **state)
{
        (void)state;
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                _exit(helper_main(&cfg, sv[1]) == 0 ? 0 : 1);
        }
        close(sv[1]);
        helpcall_init(sv[0]);
        assert_true(helpcall_active());
        for (int i = 0; i < 3; i++) {
                struct hm_builder hb = request(i == 1 ? 4242 : HOP_PING, 0);
                char *m = strdup("a message of an earlier call"); /* replaced (freed) */
                struct helpcall_reply rep;
                assert_int_equal(helpcall_send(&hb, NULL, NULL, &rep, &m),
                                 i == 1 ? -EOPNOTSUPP : 0);
                assert_null(hb.b.data); /* freed in every case */
                assert_true(rep.answered);
                assert_int_equal(rep.rc, i == 1 ? -EOPNOTSUPP : 0);
                if (i == 1) {
                        assert_string_equal(m, "unknown operation 4242");
                        assert_string_equal(rep.msg, m);
                } else {
                        assert_null(m);
                }
                helpcall_reply_free(&rep);
                free(m);
        }
        /* a request that does not fit is not sent; the helper still serves */
        struct hm_builder hb = request(HOP_PING, HM_MAX);
        char *m = NULL;
        struct helpcall_reply rep;
        assert_int_equal(helpcall_send(&hb, NULL, NULL, &rep, &m), -E2BIG);
        assert_null(hb.b.data);
        assert_false(rep.answered);
        assert_int_equal(rep.m.n, 0);
        assert_string_equal(m, "request too large for the root helper");
        helpcall_reply_free(&rep);
        free(m);
        hb = request(HOP_PING, 0);
        assert_int_equal(helpcall_send(&hb, NULL, NULL, NULL, NULL), 0);
        helpcall_init(-1);
        close(sv[0]);
        int st = -1;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

/* A call without a helper fails with a text for the API, rep unanswered. */
static void test_no_helper(void **state)
{
        (void)state;
        assert_false(helpcall_active());
        struct hm_builder hb = request(HOP_PING, 0);
        char *m = NULL;
        assert_int_equal(helpcall_send(&hb, NULL, NULL, NULL, &m), -ENOTCONN);
        assert_null(hb.b.data);
        assert_string_equal(m, "no root helper");
        free(m);
        /* the helper gone: its end of the control socket closed */
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        close(sv[1]);
        helpcall_init(sv[0]);
        hb = request(HOP_PING, 0);
        struct helpcall_reply rep;
        m = NULL;
        assert_int_equal(helpcall_send(&hb, NULL, NULL, &rep, &m), -EPIPE);
        assert_false(rep.answered);
        assert_string_equal(m, "the root helper is not running");
        helpcall_reply_free(&rep);
        free(m);
        helpcall_init(-1);
        close(sv[0]);
}

static int setup(void **state)
{
        (void)state;
        return config_defaults(&cfg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hostile_requests),
            cmocka_unit_test(test_no_request),
            cmocka_unit_test(test_loop),
            cmocka_unit_test(test_no_helper),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
