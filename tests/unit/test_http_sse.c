/* The http server end to end over a plain TCP socket: routing errors,
 * keep-alive, and an SSE stream fed by a pipe. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/strbuf.h"
#include "base/timeutil.h"
#include "http/server.h"
#include "http/sse.h"

static int pipe_w = -1;
static atomic_int freed;

static int pump(struct sse_stream *s, void *ctx)
{
        char buf[4096];
        int fd = *(int *)ctx;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n < 0)
                return -1;
        if (n == 0) /* writer closed: the stream ends */
                return -1;
        return sse_send(s, "7", buf, (size_t)n);
}

static void ctx_free(void *ctx)
{
        free(ctx);
        atomic_fetch_add(&freed, 1);
}

static const struct sse_source_ops ops = {pump, ctx_free};

static void h_events(struct http_req *r)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        pipe_w = p[1];
        int *ctx = malloc(sizeof(int));
        *ctx = p[0];
        http_reply_sse(r, p[0], &ops, ctx);
}

static void h_hello(struct http_req *r)
{
        http_reply(r, 200, "text/plain", strdup("hello"), 5);
}

static const struct route routes[] = {
    {"GET", "/events", h_events, ROUTE_PUBLIC, 0, NULL},
    {"GET", "/hello", h_hello, ROUTE_PUBLIC, ROUTE_WORKER, NULL},
};

static struct http_server *start(void)
{
        struct http_server_opts o = {.host = "127.0.0.1",
                                     .port = 0,
                                     .routes = routes,
                                     .nroutes = 2,
                                     .threads = 2,
                                     .workers = 2};
        struct http_server *s = NULL;
        assert_int_equal(http_server_start(&o, &s), 0);
        return s;
}

static int connect_to(struct http_server *s)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(http_server_port(s))};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        return fd;
}

/* Read until `want` appears in acc or the timeout passes. */
static bool read_until(int fd, struct strbuf *acc, const char *want, double timeout)
{
        double end = time_monotonic() + timeout;
        while (!(acc->data && strstr(acc->data, want))) {
                double left = end - time_monotonic();
                if (left <= 0)
                        return false;
                struct pollfd p = {fd, POLLIN, 0};
                if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
                        continue;
                char buf[4096];
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        return acc->data && strstr(acc->data, want);
                strbuf_append(acc, buf, (size_t)n);
        }
        return true;
}

static void send_str(int fd, const char *s)
{
        assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void test_errors_and_keepalive(void **state)
{
        struct http_server *s = start();
        int fd = connect_to(s);
        struct strbuf acc = STRBUF_INIT(1 << 20);
        send_str(fd, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_true(read_until(fd, &acc, "{\"error\":\"not found\"}", 5));
        assert_non_null(strstr(acc.data, "HTTP/1.1 404"));
        assert_non_null(strstr(acc.data, "X-Content-Type-Options: nosniff"));
        /* same connection: a 405 with Allow, then a worker-pool route */
        send_str(fd, "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        assert_true(read_until(fd, &acc, "method not allowed", 5));
        assert_non_null(strstr(acc.data, "Allow: GET"));
        send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_true(read_until(fd, &acc, "\r\n\r\nhello", 5));
        close(fd);
        strbuf_free(&acc);
        http_server_stop(s, 5);
}

static void test_sse_stream(void **state)
{
        atomic_store(&freed, 0);
        struct http_server *s = start();
        int fd = connect_to(s);
        struct strbuf acc = STRBUF_INIT(1 << 20);
        send_str(fd, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_true(read_until(fd, &acc, "\r\n\r\n", 5));
        assert_non_null(strstr(acc.data, "Content-Type: text/event-stream"));
        assert_non_null(strstr(acc.data, "Cache-Control: no-cache"));
        /* two lines in one chunk: two data lines of one event, framing intact */
        for (int i = 0; i < 50 && pipe_w < 0; i++)
                usleep(10000);
        assert_int_equal(write(pipe_w, "first\nsecond", 12), 12);
        assert_true(read_until(fd, &acc, "id: 7\ndata: first\ndata: second\n\n", 5));
        /* the connection was parked in between; new data wakes it again */
        assert_int_equal(write(pipe_w, "third", 5), 5);
        assert_true(read_until(fd, &acc, "data: third\n\n", 5));
        /* the client goes away: the source is released */
        close(fd);
        for (int i = 0; i < 300 && atomic_load(&freed) == 0; i++)
                usleep(10000);
        assert_int_equal(atomic_load(&freed), 1);
        close(pipe_w);
        pipe_w = -1;
        strbuf_free(&acc);
        http_server_stop(s, 5);
}

static void test_stop_ends_open_streams(void **state)
{
        atomic_store(&freed, 0);
        struct http_server *s = start();
        int fd = connect_to(s);
        struct strbuf acc = STRBUF_INIT(1 << 20);
        send_str(fd, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_true(read_until(fd, &acc, "\r\n\r\n", 5));
        double t0 = time_monotonic();
        http_server_stop(s, 10);
        assert_true(time_monotonic() - t0 < 5.0);
        assert_int_equal(atomic_load(&freed), 1);
        close(fd);
        close(pipe_w);
        pipe_w = -1;
        strbuf_free(&acc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_errors_and_keepalive),
            cmocka_unit_test(test_sse_stream),
            cmocka_unit_test(test_stop_ends_open_streams),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
