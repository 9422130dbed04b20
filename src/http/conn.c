#include "http/conn.h"
#include "http/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* GnuTLS's vector is laid out as struct iovec (its own default push casts it too) */
_Static_assert(sizeof(giovec_t) == sizeof(struct iovec) &&
                   offsetof(giovec_t, iov_base) == offsetof(struct iovec, iov_base) &&
                   offsetof(giovec_t, iov_len) == offsetof(struct iovec, iov_len),
               "giovec_t is not struct iovec");

void http_conn_peer(const struct sockaddr *sa, char out[INET6_ADDRSTRLEN])
{
        out[0] = '\0';
        if (!sa)
                return;
        if (sa->sa_family == AF_INET) {
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                          INET6_ADDRSTRLEN);
        } else if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a6 =
                    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
                if (IN6_IS_ADDR_V4MAPPED(a6))
                        inet_ntop(AF_INET, &a6->s6_addr[12], out, INET6_ADDRSTRLEN);
                else
                        inet_ntop(AF_INET6, a6, out, INET6_ADDRSTRLEN);
        }
}

struct http_conn *http_conn_new(int fd, const struct sockaddr *sa)
{
        struct http_conn *c = malloc(sizeof(*c));
        if (!c)
                return NULL;
        c->fd = fd;
        c->push_on_send = false;
        c->buf = NULL;
        c->off = c->len = 0;
        http_conn_peer(sa, c->peer);
        return c;
}

/* Each thread that reads keeps one spare read-ahead buffer (freed when the
 * thread ends); a connection borrows it for as long as it has unread bytes. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_init(void)
{
        if (pthread_key_create(&spare_key, free) != 0)
                abort();
}

static unsigned char *borrow(void)
{
        pthread_once(&spare_once, spare_init);
        unsigned char *b = pthread_getspecific(spare_key);
        if (b) {
                pthread_setspecific(spare_key, NULL);
                return b;
        }
        return malloc(HTTP_CONN_READAHEAD);
}

static void give_back(unsigned char *b)
{
        if (!b)
                return;
        int saved = errno;
        if (pthread_getspecific(spare_key) || pthread_setspecific(spare_key, b) != 0)
                free(b);
        errno = saved;
}

void http_conn_free(struct http_conn *c)
{
        if (!c)
                return;
        free(c->buf);
        free(c);
}

ssize_t http_conn_pull(gnutls_transport_ptr_t ptr, void *data, size_t size)
{
        struct http_conn *c = ptr;
        if (c->len == 0) {
                if (size >= HTTP_CONN_READAHEAD) /* a large read gains nothing from the buffer */
                        return recv(c->fd, data, size, 0);
                unsigned char *b = borrow();
                if (!b) /* no memory: read without reading ahead */
                        return recv(c->fd, data, size, 0);
                ssize_t n = recv(c->fd, b, HTTP_CONN_READAHEAD, 0);
                if (n <= 0) {
                        give_back(b);
                        return n; /* errno (EAGAIN included) from recv() */
                }
                c->buf = b;
                c->off = 0;
                c->len = (size_t)n;
        }
        size_t n = size < c->len ? size : c->len;
        memcpy(data, c->buf + c->off, n);
        c->off += n;
        c->len -= n;
        if (c->len == 0) {
                give_back(c->buf);
                c->buf = NULL;
        }
        return (ssize_t)n;
}

int http_conn_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
        struct http_conn *c = ptr;
        if (c->len)
                return 1;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int timeout = ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : ms > INT_MAX ? INT_MAX : (int)ms;
        return poll(&p, 1, timeout);
}

ssize_t http_conn_vec_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
        struct http_conn *c = ptr;
        struct msghdr m = {.msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = (size_t)iovcnt};
        return sendmsg(c->fd, &m, MSG_NOSIGNAL);
}

/* After a TLS 1.3 handshake the client's Finished is the last thing it sends
 * before its request, and the server has nothing to send until it gets the
 * request: the kernel delays its ACK (up to 40 ms), and a client with Nagle's
 * algorithm on (Python's http.client, most scripts) holds its small request
 * back until that ACK. GnuTLS sends its session tickets before the client's
 * Finished arrives, so unlike nginx's they acknowledge nothing. So when the
 * client's Finished has been read, the ACK goes out at once (TCP_QUICKACK
 * sends a pending delayed ACK). */
static int on_finished(gnutls_session_t tls, unsigned htype, unsigned when, unsigned incoming,
                       const gnutls_datum_t *msg)
{
        (void)htype;
        (void)when;
        (void)msg;
        struct http_conn *c = gnutls_transport_get_ptr(tls);
        if (incoming && c && c->fd >= 0) {
                int one = 1;
                setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
        }
        return 0;
}

void http_conn_attach_tls(struct http_conn *c, gnutls_session_t tls)
{
        gnutls_handshake_set_hook_function(tls, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_POST,
                                           on_finished);
        gnutls_transport_set_ptr(tls, c);
        gnutls_transport_set_pull_function(tls, http_conn_pull);
        gnutls_transport_set_pull_timeout_function(tls, http_conn_pull_timeout);
        gnutls_transport_set_vec_push_function(tls, http_conn_vec_push);
        tls_session_setup(tls);
}
