/* Reading the systemd journal through sd-journal (no journalctl child):
 * the last entries as journalctl-style "short" lines, and a follow stream
 * whose fd can be watched by an event loop, for SSE log tails (system logs
 * and the per-site streams).
 *
 * Which journal: the directory named by $SETEC_JOURNAL_DIR when it is set
 * (tests, or a journal copied from another machine), else the local
 * system journal. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

#define JOURNAL_CURSOR_MAX  512
#define JOURNAL_MESSAGE_MAX 16384 /* longer messages are cut, marked with "…" */

/* A cursor as a client may send it back (Last-Event-ID): 1-512 bytes of
 * printable ASCII without spaces. Says nothing about whether it exists. */
bool journal_valid_cursor(const char *cursor);

/* Append the last n entries, oldest first, one "Mmm dd HH:MM:SS host
 * ident[pid]: message\n" line each (local time; continuation lines of a
 * multi-line message are indented like journalctl does). unit (may be NULL:
 * every entry) is a valid_unit_name, ".service" implied without a suffix;
 * it selects what the unit logged plus systemd's messages about it. When
 * out's maximum is reached the oldest entries are left out. 0 or -errno. */
int journal_last(const char *unit, size_t n, struct strbuf *out);

/* What journal_search keeps (every part optional). */
struct journal_filter {
        const char *unit;    /* as journal_last, or NULL */
        const char *text;    /* case-insensitive substring of the line, or NULL */
        int max_priority;    /* 0 (emerg) .. 7 (debug); < 0: any */
        uint64_t since_usec; /* realtime, inclusive; 0: no bound */
        uint64_t until_usec; /* realtime, inclusive; 0: no bound */
        size_t scan_max;     /* entries looked at at most (0: JOURNAL_SCAN_MAX) */
};
#define JOURNAL_SCAN_MAX 200000
/* journal_last with a filter: the last n matching entries, oldest first.
 * *scanned_all (may be NULL) tells whether the whole range was looked at
 * (false when scan_max stopped the search first). 0 or -errno. */
int journal_search(const struct journal_filter *f, size_t n, struct strbuf *out, bool *scanned_all);

struct journal_stream;

/* Follow the journal from now on. cursor (may be NULL): resume right after
 * that entry (an entry that has since been rotated away resumes at the
 * oldest one still there); -EINVAL when it is not a valid cursor. backlog:
 * without a cursor, how many past entries the first pump sends (0 = only
 * new ones). */
int journal_stream_open(const char *unit, const char *cursor, size_t backlog,
                        struct journal_stream **out);
/* The fd to poll for input (owned by the stream: dup it to hand it away). */
int journal_stream_fd(struct journal_stream *s);

/* Called for every entry: the formatted line (without a final newline;
 * multi-line messages keep their "\n"s, unindented) and its cursor. A
 * negative return stops the pump and is returned by it. */
typedef int (*journal_emit_fn)(void *cls, const char *cursor, const char *line, size_t len);

/* Non-blocking: acknowledge the fd's events and emit every entry that
 * arrived since the last call (at most max_entries, 0 = no limit; the rest
 * comes on the next call). 0, or the emit error, or -errno. */
int journal_stream_pump(struct journal_stream *s, size_t max_entries, journal_emit_fn emit,
                        void *cls);
void journal_stream_free(struct journal_stream *s);
