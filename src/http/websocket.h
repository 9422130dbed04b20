/* WebSocket (RFC 6455, version 13), our own framing. Once the handler has
 * decided on the 101, the server takes the connection out of libmicrohttpd
 * (suspended, so MHD neither reads nor writes it) and hands its socket and,
 * with TLS, its GnuTLS session to the one event loop (http/evloop.h), which
 * sends the 101 and drives the connection from then on: no thread per
 * socket, and no relay (MHD's own upgrade relays TLS through a socket pair,
 * a few bytes per record in 0.9.75). When the connection ends, the loop hands
 * the socket back and MHD closes it.
 *
 * The server pings every WS_PING_S seconds and drops a connection that sent
 * nothing for WS_SILENCE_S; a message may be up to
 * WS_MAX_MESSAGE bytes (longer: close 1009); client frames must be masked
 * (else close 1002); fragmented messages are reassembled; the close
 * handshake is answered and initiated as the RFC says.
 *
 * Each connection has a bounded send queue: above WS_QUEUE_SOFT bytes the
 * server stops reading the client's frames until the queue drains (the
 * client cannot make it produce answers faster than it takes them), and a
 * client that lets WS_QUEUE_HARD bytes pile up is dropped. */
#pragma once

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_MAX_MESSAGE  65536u
#define WS_PING_S       30
#define WS_SILENCE_S    90
#define WS_CLOSE_WAIT_S 5 /* after our close frame, wait this long for the client's */
#define WS_QUEUE_SOFT   (256u * 1024)
#define WS_QUEUE_HARD   (4u * 1024 * 1024)

enum ws_opcode {
        WS_OP_CONT = 0x0,
        WS_OP_TEXT = 0x1,
        WS_OP_BINARY = 0x2,
        WS_OP_CLOSE = 0x8,
        WS_OP_PING = 0x9,
        WS_OP_PONG = 0xA,
};

/* ---- the frame parser (pure; fuzzed by tests/fuzz/fuzz_websocket.c) ---- */

enum ws_event {
        WS_EV_MESSAGE, /* a whole (reassembled) text or binary message */
        WS_EV_PING,
        WS_EV_PONG,
        WS_EV_CLOSE, /* code: 0 when the frame had none (1005); data = reason */
};

/* Called for each complete message or control frame. Return 0 to go on,
 * non-zero to stop feeding (the rest of the input is ignored). */
typedef int (*ws_event_fn)(void *ctx, enum ws_event ev, int opcode, unsigned code,
                           const uint8_t *data, size_t len);

struct ws_reader {
        size_t max_message;
        bool require_mask;
        /* current frame */
        bool in_payload;
        uint8_t hdr[14];
        size_t hdr_have;
        bool fin, masked;
        uint8_t opcode, mask[4];
        uint64_t flen, fhave;
        uint8_t ctrl[125];
        /* message being reassembled */
        bool in_message;
        uint8_t msg_opcode;
        uint8_t *msg;
        size_t msg_len;
};

void ws_reader_init(struct ws_reader *rd, size_t max_message, bool require_mask);
void ws_reader_free(struct ws_reader *rd);
/* Feed bytes from the peer. 0, or the close code the peer earned: 1002
 * (protocol error, unmasked frame), 1007 (text or close reason not UTF-8),
 * 1009 (message too big), 1011 (out of memory). After a non-zero return the
 * reader must not be fed again. A non-zero return of fn is returned as is. */
int ws_reader_feed(struct ws_reader *rd, const uint8_t *data, size_t len, ws_event_fn fn,
                   void *ctx);

/* Server frame header (never masked) for a payload of len bytes: its size. */
size_t ws_frame_header(uint8_t out[10], int opcode, bool fin, uint64_t len);
bool ws_utf8_valid(const uint8_t *s, size_t n);
/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: -EINVAL when the key is not
 * the base64 of 16 bytes. */
int ws_accept_key(const char *key, char out[29]);

/* ---- connections ---- */

struct http_req;
struct evloop;
struct ws_conn;

/* Callbacks, all on the loop thread. */
struct ws_ops {
        void (*on_open)(struct ws_conn *ws, void *ctx);
        void (*on_message)(struct ws_conn *ws, void *ctx, bool binary, const uint8_t *data,
                           size_t len);
        /* Each time the server sends its ping (every WS_PING_S). May be NULL. */
        void (*on_ping)(struct ws_conn *ws, void *ctx);
        /* Once, when the connection is gone (ctx is the app's to free). The ws
         * is freed right after: forget it. */
        void (*on_close)(struct ws_conn *ws, void *ctx);
};

/* Answer r with a WebSocket upgrade: 101 when the request is a valid RFC
 * 6455 handshake (400 JSON otherwise, 426 for another version). The app's
 * ctx belongs to the connection from here on: ops->on_close runs for it
 * whatever happens (also when the upgrade never completes). */
void http_reply_websocket(struct http_req *r, const struct ws_ops *ops, void *ctx);

/* Loop thread only. Queue one message: 0, or -EPIPE when the connection is
 * closing or the client lets too much pile up (it is then dropped). */
int ws_send(struct ws_conn *ws, bool binary, const void *data, size_t len);
/* Start the close handshake with code (and a short UTF-8 reason). */
void ws_close(struct ws_conn *ws, unsigned code, const char *reason);
struct evloop *ws_loop(struct ws_conn *ws);

/* ---- used by server.c ---- */
struct ws_hub;
struct ws_hub *ws_hub_new(struct evloop *l);
/* Close every connection (1001 going away); new upgrades are refused. */
void ws_hub_end_all(struct ws_hub *h);
/* After MHD_stop_daemon and before evloop_free. */
void ws_hub_free(struct ws_hub *h);
/* The connection a WebSocket takes over: the client's socket, its TLS
 * session (NULL without TLS), the 101 answer to send first (malloc'd; the
 * WebSocket's from the call on), and release(release_arg), which the loop
 * calls once it is done with socket and session. */
struct ws_socket {
        int fd;
        gnutls_session_t tls;
        char *head;
        size_t head_len;
        void (*release)(void *arg);
        void *release_arg;
};
/* Server thread, with MHD no longer touching the connection: start the
 * WebSocket that http_reply_websocket recorded in r on sock. 0 (release
 * will be called), or -errno (it will not; r keeps its record). */
int ws_start(struct ws_hub *h, struct http_req *r, const struct ws_socket *sock);
/* Drop an upgrade recorded but never turned into a response. */
void ws_discard(struct http_req *r);
