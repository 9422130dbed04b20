/* net/http: helpers, and real exchanges with a loopback HTTP/1.1 server in
 * a thread: keep-alive reuse (one TCP connection for sequential calls),
 * Retry-After on 429 (bounded retries), bounded answers, methods with a
 * body, and an unreachable peer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/http.h"

static void test_retry_delay(void **state)
{
        (void)state;
        assert_true(net_retry_delay(-1) == 2);
        assert_true(net_retry_delay(0) == 1);
        assert_true(net_retry_delay(5) == 5);
        assert_true(net_retry_delay(3600) == 60);
        assert_true(net_parse_retry_after("7") == 7);
        assert_true(net_parse_retry_after("soon") < 0);
        assert_true(net_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0); /* past */
}

static void test_escape(void **state)
{
        (void)state;
        char *s = net_escape("a b/c?d=é~._-");
        assert_string_equal(s, "a%20b%2Fc%3Fd%3D%C3%A9~._-");
        free(s);
}

/* ---- a tiny server: answers from a script, counts connections ---- */

struct srv {
        int fd, port;
        const char *const *answers; /* one per request, NULL-terminated */
        int connections, requests;
        char last_method[16];
        char last_body[256];
        pthread_t t;
};

static void *serve(void *arg)
{
        struct srv *s = arg;
        size_t next = 0;
        while (s->answers[next]) {
                int c = accept(s->fd, NULL, NULL);
                if (c < 0)
                        break;
                s->connections++;
                char buf[8192];
                size_t len = 0;
                for (;;) {
                        char *end = len ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
                        if (!end) {
                                ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
                                if (n <= 0)
                                        break;
                                len += (size_t)n;
                                continue;
                        }
                        size_t head = (size_t)(end - buf) + 4, clen = 0;
                        buf[len] = '\0';
                        char *cl = strcasestr(buf, "Content-Length:");
                        if (cl && cl < end)
                                clen = strtoul(cl + 15, NULL, 10);
                        while (len < head + clen) {
                                ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
                                if (n <= 0)
                                        goto out;
                                len += (size_t)n;
                        }
                        sscanf(buf, "%15s", s->last_method);
                        snprintf(s->last_body, sizeof(s->last_body), "%.*s", (int)clen, buf + head);
                        s->requests++;
                        const char *a = s->answers[next++];
                        if (write(c, a, strlen(a)) < 0)
                                goto out;
                        memmove(buf, buf + head + clen, len - head - clen);
                        len -= head + clen;
                        if (!s->answers[next])
                                goto out;
                }
        out:
                close(c);
        }
        return NULL;
}

static void srv_start(struct srv *s, const char *const *answers)
{
        memset(s, 0, sizeof(*s));
        s->answers = answers;
        s->fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(s->fd, 8), 0);
        socklen_t al = sizeof(a);
        getsockname(s->fd, (struct sockaddr *)&a, &al);
        s->port = ntohs(a.sin_port);
        pthread_create(&s->t, NULL, serve, s);
}

static void srv_stop(struct srv *s)
{
        shutdown(s->fd, SHUT_RDWR);
        pthread_join(s->t, NULL);
        close(s->fd);
}

#define OK_JSON                                                                                    \
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "                    \
        "11\r\n\r\n{\"ok\":true}"

static int get(struct net_client *c, struct srv *s, const char *method, const char *body,
               unsigned retries, size_t max, struct net_response *resp)
{
        char url[64], err[256] = "";
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s->port);
        const char *hdrs[] = {"Accept: application/json", NULL};
        struct net_request q = {.method = method,
                                .url = url,
                                .headers = hdrs,
                                .body = body,
                                .body_len = body ? strlen(body) : 0,
                                .retries_429 = retries,
                                .max_body = max,
                                .allow_http = true};
        net_response_init(resp);
        return net_perform(c, &q, resp, err, sizeof(err));
}

static void test_keepalive_reuse(void **state)
{
        (void)state;
        static const char *const answers[] = {OK_JSON, OK_JSON, OK_JSON, OK_JSON, OK_JSON, NULL};
        struct srv s;
        srv_start(&s, answers);
        struct net_client *c;
        assert_int_equal(net_client_new(NULL, &c, NULL, 0), 0);
        for (int i = 0; i < 5; i++) {
                struct net_response r;
                assert_int_equal(get(c, &s, "GET", NULL, 0, 0, &r), 0);
                assert_int_equal(r.status, 200);
                json_t *j = net_response_json(&r);
                assert_true(json_is_true(json_object_get(j, "ok")));
                json_decref(j);
                assert_string_equal(r.content_type, "application/json");
                net_response_free(&r);
        }
        srv_stop(&s);
        assert_int_equal(s.requests, 5);
        assert_int_equal(s.connections, 1);
        assert_int_equal(net_client_connects(c), 1);
        net_client_free(c);
}

static void test_429_retried(void **state)
{
        (void)state;
        static const char *const answers[] = {
            "HTTP/1.1 429 Too Many\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n", OK_JSON, NULL};
        struct srv s;
        srv_start(&s, answers);
        struct net_client *c;
        assert_int_equal(net_client_new(NULL, &c, NULL, 0), 0);
        struct net_response r;
        assert_int_equal(get(c, &s, "PUT", "{\"a\":1}", 3, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.attempts, 2);
        assert_string_equal(s.last_method, "PUT");
        assert_string_equal(s.last_body, "{\"a\":1}");
        net_response_free(&r);
        srv_stop(&s);
        net_client_free(c);
}

static void test_429_not_retried_without_budget(void **state)
{
        (void)state;
        static const char *const answers[] = {
            "HTTP/1.1 429 Too Many\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n", NULL};
        struct srv s;
        srv_start(&s, answers);
        struct net_client *c;
        assert_int_equal(net_client_new(NULL, &c, NULL, 0), 0);
        struct net_response r;
        assert_int_equal(get(c, &s, "DELETE", "{\"filters\":[]}", 0, 0, &r), 0);
        assert_int_equal(r.status, 429);
        assert_true(r.retry_after == 30);
        assert_int_equal(r.attempts, 1);
        assert_string_equal(s.last_method, "DELETE");
        assert_string_equal(s.last_body, "{\"filters\":[]}");
        net_response_free(&r);
        srv_stop(&s);
        net_client_free(c);
}

static void test_bounded_body(void **state)
{
        (void)state;
        static const char *const answers[] = {
            "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789", NULL};
        struct srv s;
        srv_start(&s, answers);
        struct net_client *c;
        assert_int_equal(net_client_new(NULL, &c, NULL, 0), 0);
        struct net_response r;
        assert_int_equal(get(c, &s, "GET", NULL, 0, 10, &r), -EFBIG);
        net_response_free(&r);
        srv_stop(&s);
        net_client_free(c);
}

static void test_unreachable_and_https_only(void **state)
{
        (void)state;
        struct net_client *c;
        assert_int_equal(net_client_new(NULL, &c, NULL, 0), 0);
        /* a port nobody listens on: bind one and close it */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        bind(fd, (struct sockaddr *)&a, sizeof(a));
        socklen_t al = sizeof(a);
        getsockname(fd, (struct sockaddr *)&a, &al);
        close(fd);
        char url[64], err[256] = "";
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
        struct net_request q = {.method = "GET", .url = url, .allow_http = true};
        struct net_response r;
        net_response_init(&r);
        assert_int_equal(net_perform(c, &q, &r, err, sizeof(err)), -EIO);
        assert_non_null(strstr(err, url));
        /* plain http is refused unless allowed */
        q.allow_http = false;
        err[0] = '\0';
        assert_int_equal(net_perform(c, &q, &r, err, sizeof(err)), -EIO);
        net_response_free(&r);
        net_client_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_retry_delay),
            cmocka_unit_test(test_escape),
            cmocka_unit_test(test_keepalive_reuse),
            cmocka_unit_test(test_429_retried),
            cmocka_unit_test(test_429_not_retried_without_budget),
            cmocka_unit_test(test_bounded_body),
            cmocka_unit_test(test_unreachable_and_https_only),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
