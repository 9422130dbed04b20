#include "http/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
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
        c->off = c->len = 0;
        http_conn_peer(sa, c->peer);
        return c;
}

void http_conn_free(struct http_conn *c)
{
        free(c);
}

ssize_t http_conn_pull(gnutls_transport_ptr_t ptr, void *data, size_t size)
{
        struct http_conn *c = ptr;
        if (c->len == 0) {
                if (size >= sizeof(c->buf)) /* a large read gains nothing from the buffer */
                        return recv(c->fd, data, size, 0);
                ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);
                if (n <= 0)
                        return n; /* errno (EAGAIN included) from recv() */
                c->off = 0;
                c->len = (size_t)n;
        }
        size_t n = size < c->len ? size : c->len;
        memcpy(data, c->buf + c->off, n);
        c->off += n;
        c->len -= n;
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

void http_conn_attach_tls(struct http_conn *c, gnutls_session_t tls)
{
        gnutls_transport_set_ptr(tls, c);
        gnutls_transport_set_pull_function(tls, http_conn_pull);
        gnutls_transport_set_pull_timeout_function(tls, http_conn_pull_timeout);
        gnutls_transport_set_vec_push_function(tls, http_conn_vec_push);
}
