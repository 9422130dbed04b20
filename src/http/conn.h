/* What the server keeps per client connection (MHD's socket context): the
 * client's address as text, worked out once rather than for every request, and
 * for TLS the transport under GnuTLS.
 *
 * The transport reads ahead: GnuTLS asks for a record's 5-byte header and then
 * for its body, two recv() calls per request; here one recv() of up to
 * HTTP_CONN_READAHEAD bytes serves both. It says EAGAIN only when its buffer and
 * the socket are both empty, so an edge-triggered caller (MHD's epoll) that reads
 * until EAGAIN never misses buffered bytes. libmicrohttpd 0.9.75 does: it keeps a
 * TLS connection read-ready until GnuTLS says EAGAIN, a short read does not count
 * as drained (test_pipelined_records_in_one_segment hangs if that changes).
 *
 * The read-ahead buffer belongs to a connection only while it holds unread
 * bytes (between a record's header and its body, or pipelined records): once
 * drained it goes back to the thread that drained it, which lends it to the
 * next connection it reads. An idle connection (a keep-alive connection between
 * requests, a WebSocket) holds none: ~100 bytes here instead of 2 KiB. */
#ifndef SETEC_HTTP_CONN_H
#define SETEC_HTTP_CONN_H

#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define HTTP_CONN_READAHEAD 2048

struct http_conn {
        int fd;
        bool push_on_send;           /* TCP_CORK cleared: a send leaves at once (see server.c) */
        char peer[INET6_ADDRSTRLEN]; /* "" when the address is not IP */
        unsigned char *buf;          /* NULL when len is 0 (lent back to a thread) */
        size_t off, len;             /* unread bytes are buf[off, off + len) */
};

/* A connection on socket fd from address sa (may be NULL); NULL without memory. */
struct http_conn *http_conn_new(int fd, const struct sockaddr *sa);
void http_conn_free(struct http_conn *c);

/* The client address of sa as text ("" if it is not IPv4/IPv6); an IPv4-mapped
 * IPv6 address is written as IPv4. */
void http_conn_peer(const struct sockaddr *sa, char out[INET6_ADDRSTRLEN]);

/* Let tls read and write through c (GnuTLS transport functions). */
void http_conn_attach_tls(struct http_conn *c, gnutls_session_t tls);

/* The transport functions themselves (GnuTLS's pull, pull-timeout and vector
 * push), with the contract of recv(), poll() and sendmsg(). */
ssize_t http_conn_pull(gnutls_transport_ptr_t c, void *data, size_t size);
int http_conn_pull_timeout(gnutls_transport_ptr_t c, unsigned int ms);
ssize_t http_conn_vec_push(gnutls_transport_ptr_t c, const giovec_t *iov, int iovcnt);

#endif
