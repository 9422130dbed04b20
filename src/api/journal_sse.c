#include "api/journal_sse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>

#include "api/app.h"
#include "base/log.h"
#include "http/sse.h"
#include "sys/journal.h"

/* A journal stream holds the journal's files open: a few descriptors. The
 * cap is server.max_streams, or sized from RLIMIT_NOFILE. */
#define JOURNAL_FDS 8
#define PUMP_MAX    2000 /* entries per wake-up of one stream */

static atomic_uint streams_open;

static int emit_event(void *cls, const char *cursor, const char *line, size_t len)
{
        return sse_send(cls, cursor, line, len);
}

static int pump(struct sse_stream *s, void *ctx)
{
        if (!ctx)
                return 0; /* keepalives only */
        int rc = journal_stream_pump(ctx, PUMP_MAX, emit_event, s);
        if (rc < 0 && rc != -EPIPE)
                log_warn("journal stream: %s", strerror(-rc));
        return rc < 0 ? -1 : 0;
}

static void release(void *ctx)
{
        journal_stream_free(ctx);
        atomic_fetch_sub(&streams_open, 1);
}

static const struct sse_source_ops ops = {pump, release};

void api_journal_sse(struct http_req *r, const char *unit, unsigned backlog)
{
        /* EventSource sends back the id: of the last event it saw */
        const char *cursor = http_header(r, "Last-Event-ID");
        if (cursor && !*cursor)
                cursor = NULL;
        if (cursor && !journal_valid_cursor(cursor)) {
                http_reply_error(r, 400, "Last-Event-ID must be a journal cursor");
                return;
        }
        unsigned cap = sse_stream_limit((unsigned)app_of(r)->cfg->server.max_streams, JOURNAL_FDS);
        if (atomic_fetch_add(&streams_open, 1) >= cap) {
                atomic_fetch_sub(&streams_open, 1);
                http_reply_error(r, 503, "too many log streams open");
                http_add_header(r, "Retry-After", "5");
                return;
        }
        if (!unit) {
                http_reply_sse(r, -1, &ops, NULL);
                return;
        }
        struct journal_stream *js = NULL;
        int rc = journal_stream_open(unit, cursor, cursor ? 0 : backlog, &js);
        if (rc < 0) {
                atomic_fetch_sub(&streams_open, 1);
                if (rc == -EINVAL && cursor)
                        http_reply_error(r, 400, "Last-Event-ID must be a journal cursor");
                else
                        http_reply_errorf(r, 500, "cannot read the journal: %s", strerror(-rc));
                return;
        }
        /* the SSE loop closes the fd it is given; the journal keeps its own */
        int fd = fcntl(journal_stream_fd(js), F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
                rc = -errno;
                release(js);
                http_reply_errorf(r, 500, "cannot watch the journal: %s", strerror(-rc));
                return;
        }
        http_reply_sse(r, fd, &ops, js);
}
