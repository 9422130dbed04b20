#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "http/conn.h"

static void pair(int sv[2], bool nonblock)
{
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0, sv),
                         0);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
        for (size_t i = 0; i < n; i++)
                p[i] = (unsigned char)(i * 7 + seed);
}

static void test_peer_text(void **state)
{
        (void)state;
        char out[INET6_ADDRSTRLEN];
        struct sockaddr_in a4 = {.sin_family = AF_INET};
        inet_pton(AF_INET, "192.0.2.7", &a4.sin_addr);
        http_conn_peer((struct sockaddr *)&a4, out);
        assert_string_equal(out, "192.0.2.7");
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
        inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
        http_conn_peer((struct sockaddr *)&a6, out);
        assert_string_equal(out, "2001:db8::1");
        inet_pton(AF_INET6, "::ffff:198.51.100.2", &a6.sin6_addr);
        http_conn_peer((struct sockaddr *)&a6, out);
        assert_string_equal(out, "198.51.100.2");
        struct sockaddr un = {.sa_family = AF_UNIX};
        http_conn_peer(&un, out);
        assert_string_equal(out, "");
        http_conn_peer(NULL, out);
        assert_string_equal(out, "");

        struct http_conn *c = http_conn_new(-1, (struct sockaddr *)&a4);
        assert_non_null(c);
        assert_string_equal(c->peer, "192.0.2.7");
        assert_false(c->push_on_send);
        http_conn_free(c);
}

/* recv() semantics: short reads from the buffer, EAGAIN only when the
 * buffer and the socket are both empty, 0 at the peer's end. */
static void test_pull_reads_ahead(void **state)
{
        (void)state;
        int sv[2];
        pair(sv, true);
        struct http_conn *c = http_conn_new(sv[0], NULL);
        assert_non_null(c);
        size_t total = HTTP_CONN_READAHEAD + 1000;
        unsigned char *in = malloc(total), *out = calloc(1, total);
        assert_non_null(in);
        assert_non_null(out);
        fill(in, total, 3);
        assert_int_equal(write(sv[1], in, total), (ssize_t)total);

        size_t got = 0;
        /* a record header: one recv() fills the buffer, 5 bytes come back */
        assert_int_equal(http_conn_pull(c, out, 5), 5);
        got += 5;
        assert_int_equal(c->len, HTTP_CONN_READAHEAD - 5);
        assert_int_equal(http_conn_pull(c, out + got, 100), 100);
        got += 100;
        /* more than is buffered: what is buffered, no second recv() */
        ssize_t n = http_conn_pull(c, out + got, total);
        assert_int_equal(n, HTTP_CONN_READAHEAD - 105);
        got += (size_t)n;
        assert_int_equal(c->len, 0);
        /* buffer empty, large read: straight from the socket */
        n = http_conn_pull(c, out + got, total - got + HTTP_CONN_READAHEAD);
        assert_int_equal(n, 1000);
        got += (size_t)n;
        assert_int_equal(c->len, 0);
        assert_memory_equal(in, out, total);

        errno = 0;
        assert_int_equal(http_conn_pull(c, out, 5), -1);
        assert_int_equal(errno, EAGAIN);
        assert_int_equal(http_conn_pull_timeout(c, 0), 0);

        /* something buffered: ready without asking the socket */
        assert_int_equal(write(sv[1], "abcdefgh", 8), 8);
        assert_int_equal(http_conn_pull(c, out, 2), 2);
        assert_int_equal(http_conn_pull_timeout(c, 0), 1);
        assert_int_equal(http_conn_pull(c, out, 100), 6);
        assert_memory_equal(out, "cdefgh", 6);

        close(sv[1]);
        assert_true(http_conn_pull_timeout(c, 1000) > 0);
        assert_int_equal(http_conn_pull(c, out, 5), 0);
        http_conn_free(c);
        close(sv[0]);
        free(in);
        free(out);
}

struct pull_arg {
        struct http_conn *c;
        unsigned char out[64];
        ssize_t n;
};

static void *pull_elsewhere(void *arg)
{
        struct pull_arg *a = arg;
        a->n = http_conn_pull(a->c, a->out, sizeof(a->out));
        return NULL;
}

/* The read-ahead buffer is held only while it has unread bytes: an idle
 * connection holds none, two connections read on one thread keep their own
 * bytes, and a connection read on another thread (a WebSocket taken over by
 * the event loop) still gets the bytes it had buffered, in order. */
static void test_readahead_lent(void **state)
{
        (void)state;
        int a[2], b[2];
        pair(a, true);
        pair(b, true);
        struct http_conn *ca = http_conn_new(a[0], NULL), *cb = http_conn_new(b[0], NULL);
        assert_non_null(ca);
        assert_non_null(cb);
        assert_null(ca->buf);
        unsigned char out[64];
        assert_int_equal(write(a[1], "AAAAAaaaaaaaaaa", 15), 15);
        assert_int_equal(write(b[1], "BBBBBbbbbbbbbbb", 15), 15);
        assert_int_equal(http_conn_pull(ca, out, 5), 5);
        assert_memory_equal(out, "AAAAA", 5);
        assert_non_null(ca->buf);
        assert_int_equal(http_conn_pull(cb, out, 5), 5);
        assert_memory_equal(out, "BBBBB", 5);
        assert_non_null(cb->buf);
        assert_ptr_not_equal(ca->buf, cb->buf);
        assert_int_equal(http_conn_pull(ca, out, sizeof(out)), 10);
        assert_memory_equal(out, "aaaaaaaaaa", 10);
        assert_null(ca->buf); /* drained: idle, nothing held */
        assert_int_equal(http_conn_pull(ca, out, 5), -1);
        assert_int_equal(errno, EAGAIN);
        assert_null(ca->buf);

        struct pull_arg pa = {.c = cb};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, pull_elsewhere, &pa), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_int_equal(pa.n, 10);
        assert_memory_equal(pa.out, "bbbbbbbbbb", 10);
        assert_null(cb->buf);

        /* freed with unread bytes */
        assert_int_equal(write(a[1], "0123456789", 10), 10);
        assert_int_equal(http_conn_pull(ca, out, 5), 5);
        assert_non_null(ca->buf);
        http_conn_free(ca);
        http_conn_free(cb);
        for (int i = 0; i < 2; i++) {
                close(a[i]);
                close(b[i]);
        }
}

static void test_vec_push(void **state)
{
        (void)state;
        int sv[2];
        pair(sv, true);
        struct http_conn *c = http_conn_new(sv[0], NULL);
        assert_non_null(c);
        giovec_t v[2] = {{.iov_base = (void *)"head", .iov_len = 4},
                         {.iov_base = (void *)"-body", .iov_len = 5}};
        assert_int_equal(http_conn_vec_push(c, v, 2), 9);
        char buf[16] = {0};
        assert_int_equal(read(sv[1], buf, sizeof(buf)), 9);
        assert_string_equal(buf, "head-body");
        close(sv[1]);
        errno = 0;
        assert_int_equal(http_conn_vec_push(c, v, 2), -1); /* no SIGPIPE: EPIPE */
        assert_int_equal(errno, EPIPE);
        http_conn_free(c);
        close(sv[0]);
}

/* ---- a real TLS 1.3 session (PSK) whose server side runs over http_conn ---- */

static const gnutls_datum_t psk_key = {(unsigned char *)"0123456789abcdef0123456789abcdef", 32};

static int server_psk(gnutls_session_t s, const char *user, gnutls_datum_t *key)
{
        (void)s;
        if (strcmp(user, "t") != 0)
                return -1;
        key->data = gnutls_malloc(psk_key.size);
        if (!key->data)
                return -1;
        memcpy(key->data, psk_key.data, psk_key.size);
        key->size = psk_key.size;
        return 0;
}

#define PRIO "NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK"
#define BIG  (40 * 1024)

struct client {
        int fd;
        int rc;
        unsigned char echo[BIG];
};

/* The client sends three small records (pipelined requests),
 * then one of 40 KiB, and reads what the server sends back. */
static void *client_main(void *arg)
{
        struct client *cl = arg;
        gnutls_session_t s;
        gnutls_psk_client_credentials_t cred;
        cl->rc = -1;
        if (gnutls_psk_allocate_client_credentials(&cred) < 0)
                return NULL;
        gnutls_psk_set_client_credentials(cred, "t", &psk_key, GNUTLS_PSK_KEY_RAW);
        gnutls_init(&s, GNUTLS_CLIENT);
        gnutls_priority_set_direct(s, PRIO, NULL);
        gnutls_credentials_set(s, GNUTLS_CRD_PSK, cred);
        gnutls_transport_set_int(s, cl->fd);
        if (gnutls_handshake(s) < 0)
                goto out;
        for (int i = 0; i < 3; i++)
                if (gnutls_record_send(s, "GET / HTTP/1.1\r\n\r\n", 18) != 18)
                        goto out;
        unsigned char *big = malloc(BIG);
        if (!big)
                goto out;
        fill(big, BIG, 9);
        size_t sent = 0;
        while (sent < BIG) {
                ssize_t n = gnutls_record_send(s, big + sent, BIG - sent);
                if (n < 0)
                        break;
                sent += (size_t)n;
        }
        free(big);
        size_t got = 0;
        while (got < BIG) {
                ssize_t n = gnutls_record_recv(s, cl->echo + got, BIG - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        cl->rc = got == BIG ? 0 : -1;
        gnutls_bye(s, GNUTLS_SHUT_WR);
out:
        gnutls_deinit(s);
        gnutls_psk_free_client_credentials(cred);
        return NULL;
}

/* The server side as MHD drives it: a non-blocking socket, reads until
 * GNUTLS_E_AGAIN, then waits for the socket. */
static ssize_t server_recv(gnutls_session_t s, int fd, void *buf, size_t len)
{
        for (int i = 0; i < 20; i++) {
                ssize_t n = gnutls_record_recv(s, buf, len);
                if (n != GNUTLS_E_AGAIN)
                        return n;
                struct pollfd p = {.fd = fd, .events = POLLIN};
                poll(&p, 1, 250);
        }
        return GNUTLS_E_TIMEDOUT;
}

static void test_tls_session_over_conn(void **state)
{
        (void)state;
        int sv[2];
        pair(sv, false);
        struct client *cl = calloc(1, sizeof(*cl));
        assert_non_null(cl);
        cl->fd = sv[1];
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, client_main, cl), 0);

        assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
        struct http_conn *c = http_conn_new(sv[0], NULL);
        assert_non_null(c);
        gnutls_psk_server_credentials_t cred;
        assert_int_equal(gnutls_psk_allocate_server_credentials(&cred), 0);
        gnutls_psk_set_server_credentials_function(cred, server_psk);
        gnutls_session_t s;
        assert_int_equal(gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK), 0);
        assert_int_equal(gnutls_priority_set_direct(s, PRIO, NULL), 0);
        assert_int_equal(gnutls_credentials_set(s, GNUTLS_CRD_PSK, cred), 0);
        gnutls_transport_set_int(s, sv[0]); /* as MHD does, then replaced */
        http_conn_attach_tls(c, s);
        int rc;
        while ((rc = gnutls_handshake(s)) == GNUTLS_E_AGAIN) {
                struct pollfd p = {.fd = sv[0], .events = POLLIN};
                poll(&p, 1, 5000);
        }
        assert_int_equal(rc, 0);

        /* all three records wait in the socket: one recv() takes them all */
        int queued = 0;
        for (int i = 0; i < 500 && queued < 3 * (18 + 22); i++) {
                assert_int_equal(ioctl(sv[0], FIONREAD, &queued), 0);
                usleep(10 * 1000);
        }
        assert_true(queued >= 3 * (18 + 22)); /* TLS 1.3: 22 bytes around each */
        char req[64];
        for (int i = 0; i < 3; i++) {
                assert_int_equal(server_recv(s, sv[0], req, sizeof(req)), 18);
                assert_memory_equal(req, "GET / HTTP/1.1\r\n\r\n", 18);
        }
        unsigned char *big = malloc(BIG), *want = malloc(BIG);
        assert_non_null(big);
        assert_non_null(want);
        fill(want, BIG, 9);
        size_t got = 0;
        while (got < BIG) {
                ssize_t n = server_recv(s, sv[0], big + got, BIG - got);
                assert_true(n > 0);
                got += (size_t)n;
        }
        assert_memory_equal(big, want, BIG);
        /* and back, through the vector push; corked as the server corks */
        gnutls_record_cork(s);
        size_t sent = 0;
        while (sent < BIG) {
                ssize_t n = gnutls_record_send(s, big + sent, BIG - sent);
                assert_true(n > 0);
                sent += (size_t)n;
        }
        while ((rc = gnutls_record_uncork(s, 0)) == GNUTLS_E_AGAIN) {
                struct pollfd p = {.fd = sv[0], .events = POLLOUT};
                poll(&p, 1, 5000);
        }
        assert_true(rc >= 0);
        /* the client's close_notify, then the end */
        assert_int_equal(server_recv(s, sv[0], req, sizeof(req)), 0);

        pthread_join(th, NULL);
        assert_int_equal(cl->rc, 0);
        assert_memory_equal(cl->echo, want, BIG);
        gnutls_deinit(s);
        gnutls_psk_free_server_credentials(cred);
        http_conn_free(c);
        close(sv[0]);
        close(sv[1]);
        free(big);
        free(want);
        free(cl);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_peer_text),
            cmocka_unit_test(test_pull_reads_ahead),
            cmocka_unit_test(test_readahead_lent),
            cmocka_unit_test(test_vec_push),
            cmocka_unit_test(test_tls_session_over_conn),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
