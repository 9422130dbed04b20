/* Server-Sent Events without a thread per stream: every stream's source fd
 * is watched by the one event loop of the http layer (http/evloop.h, shared
 * with the WebSocket connections), the connection is suspended
 * while there is nothing to send, and a ": keepalive" comment goes out every
 * 15 s. */
#pragma once

#include <stddef.h>

struct sse_stream;
struct http_req;
struct evloop;

struct sse_source_ops {
        /* Runs on the stream thread: once when the stream starts, then each
         * time the source fd is readable. Send events with sse_send(). Return
         * 0 to go on, < 0 to end the stream. Must not block. */
        int (*pump)(struct sse_stream *s, void *ctx);
        /* Releases ctx (stream thread), once, when the stream is over. */
        void (*free)(void *ctx);
};

/* Answer r with an event stream fed by ops; fd may be -1 (keepalives only).
 * Takes ownership of ctx: ops->free runs even when the stream never starts. */
void http_reply_sse(struct http_req *r, int fd, const struct sse_source_ops *ops, void *ctx);

/* Queue one event. Each line of data becomes one "data:" line, so embedded
 * newlines never break the framing; id (may be NULL) becomes "id:". 0, or
 * -EPIPE when the client is gone or too slow (its buffer is full): then the
 * stream ends. */
int sse_send(struct sse_stream *s, const char *id, const char *data, size_t len);
/* The same with an event name ("event:" line), e.g. "end". Names and ids
 * with a newline are refused (-EINVAL). */
int sse_send_event(struct sse_stream *s, const char *event, const char *id, const char *data,
                   size_t len);
/* A comment line (": text"), e.g. for keepalives. */
int sse_comment(struct sse_stream *s, const char *text);

/* How many streams that each hold fds_per_stream descriptors (besides the
 * client's socket) fit in the process's RLIMIT_NOFILE, once a reserve for
 * everything else is kept: at least 16. With configured > 0, configured. */
unsigned sse_stream_limit(unsigned configured, unsigned fds_per_stream);

/* ---- used by server.c ---- */
struct sse_loop;
/* Streams on the event loop ev, with a keepalive comment every keepalive_s. */
struct sse_loop *sse_loop_new(struct evloop *ev, unsigned keepalive_s);
/* End every stream (their connections finish as MHD releases them). */
void sse_loop_end_all(struct sse_loop *l);
/* After MHD_stop_daemon and evloop_free. */
void sse_loop_free(struct sse_loop *l);
/* Build the MHD response for a stream recorded by http_reply_sse. */
void *sse_make_response(struct sse_loop *l, struct http_req *r);
/* Drop a stream recorded but never turned into a response. */
void sse_discard(struct http_req *r);
