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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "helper/helper.h"
#include "sys/helpcall.h"
#include "sys/helpmsg.h"

static struct config cfg;

/* Send raw bytes as a request, serve the call, return the answer's rc. */
static int serve_raw(const void *req, size_t len, char *msg, size_t msglen)
{
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        assert_int_equal(send(sv[0], req, len, 0), (ssize_t)len);
        assert_int_equal(helper_serve_call(&cfg, sv[1]), 0);
        unsigned char buf[HM_MAX];
        size_t n = 0;
        assert_int_equal(hm_recv(sv[0], buf, sizeof(buf), &n, NULL), 0);
        struct hm_msg m;
        assert_int_equal(hm_parse(buf, n, &m), 0);
        assert_int_equal(m.kind, HM_RESULT);
        assert_true(hm_expect(&m, "is"));
        int rc = (int)hm_int(&m, 0, 1);
        snprintf(msg, msglen, "%s", hm_str(&m, 1));
        hm_msg_clear(&m);
        close(sv[0]);
        close(sv[1]);
        return rc;
}

static int serve_built(struct hm_builder *hb, char *msg, size_t msglen)
{
        assert_int_equal(hm_end(hb), 0);
        int rc = serve_raw(hb->b.data, hb->b.len, msg, msglen);
        hm_builder_free(hb);
        return rc;
}

static void test_hostile_requests(void **state)
{
        (void)state;
        char msg[4096];
        /* garbage */
        assert_int_equal(serve_raw("GET / HTTP/1.1\r\n\r\n", 18, msg, sizeof(msg)), -EBADMSG);
        assert_string_equal(msg, "malformed request");
        /* a well-formed result is no request */
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_RESULT, HOP_PING);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg)), -EBADMSG);
        /* an op outside the closed set */
        hm_begin(&hb, HM_REQUEST, 4242);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg)), -EOPNOTSUPP);
        assert_string_equal(msg, "unknown operation 4242");
        /* the right op with the wrong shape */
        hm_begin(&hb, HM_REQUEST, HOP_PING);
        hm_add_str(&hb, "x");
        assert_int_equal(serve_built(&hb, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "ping: wrong arguments");
        /* and a good one */
        hm_begin(&hb, HM_REQUEST, HOP_PING);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg)), 0);
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

/* The loop as serve runs it: calls through helpcall, and the helper ends
 * when the control socket closes. */
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
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, i == 1 ? 4242 : HOP_PING);
                char *m = NULL;
                assert_int_equal(helpcall_simple(&hb, &m), i == 1 ? -EOPNOTSUPP : 0);
                if (i == 1)
                        assert_string_equal(m, "unknown operation 4242");
                free(m);
                hm_builder_free(&hb);
        }
        helpcall_init(-1);
        close(sv[0]);
        int st = -1;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
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
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
