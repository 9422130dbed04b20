#include "sys/journal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "base/util.h"
#include "base/validate.h"
#include "sys/logtail.h"
#include "sys/systemd_dl.h"

bool journal_valid_cursor(const char *cursor)
{
        if (str_empty(cursor))
                return false;
        size_t n = 0;
        for (const char *p = cursor; *p; p++, n++)
                if (n >= JOURNAL_CURSOR_MAX || *p <= ' ' || *p > '~')
                        return false;
        return true;
}

static int journal_open(sd_journal **j)
{
        if (!systemd_fns())
                return -ELIBACC;
        const char *dir = getenv("SETEC_JOURNAL_DIR");
        int r = !str_empty(dir) ? sd_journal_open_directory(j, dir, 0)
                                : sd_journal_open(j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        /* fields are read whole up to this size: bounds every entry */
        sd_journal_set_data_threshold(*j, JOURNAL_MESSAGE_MAX + 64);
        return 0;
}

static bool has_suffix(const char *unit)
{
        static const char *const suffixes[] = {".service", ".socket", ".timer", ".target",
                                               ".mount",   ".path",   ".scope", ".slice"};
        size_t n = strlen(unit);
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                size_t k = strlen(suffixes[i]);
                if (n > k && streq(unit + n - k, suffixes[i]))
                        return true;
        }
        return false;
}

/* What `journalctl -u` shows: the unit's own output, or systemd (PID 1)
 * talking about the unit (started, stopped, failed). */
static int add_unit_match(sd_journal *j, const char *unit)
{
        if (!valid_unit_name(unit))
                return -EINVAL;
        _cleanup_strbuf_ struct strbuf m = STRBUF_INIT(512);
        int r;
        if ((r = strbuf_printf(&m, "_SYSTEMD_UNIT=%s%s", unit,
                               has_suffix(unit) ? "" : ".service")) < 0 ||
            (r = sd_journal_add_match(j, m.data, m.len)) < 0 ||
            (r = sd_journal_add_disjunction(j)) < 0)
                return r;
        strbuf_reset(&m);
        if ((r = strbuf_printf(&m, "UNIT=%s%s", unit, has_suffix(unit) ? "" : ".service")) < 0 ||
            (r = sd_journal_add_match(j, m.data, m.len)) < 0 ||
            (r = sd_journal_add_match(j, "_PID=1", 0)) < 0)
                return r;
        return 0;
}

/* The value of field `name` of the current entry (not NUL-terminated). */
static bool field(sd_journal *j, const char *name, const char **val, size_t *len)
{
        const void *d;
        size_t l;
        if (sd_journal_get_data(j, name, &d, &l) < 0)
                return false;
        size_t k = strlen(name);
        if (l <= k || ((const char *)d)[k] != '=')
                return false;
        *val = (const char *)d + k + 1;
        *len = l - k - 1;
        return true;
}

/* A short identifier field (host, ident, pid): printable, bounded. */
static void append_token(struct strbuf *b, const char *v, size_t len, size_t max)
{
        if (len > max)
                len = max;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f) {
                        len = i;
                        break;
                }
        logtext_append_utf8(b, v, len);
}

/* Append the current entry. indent: continuation lines are indented to the
 * message column (journalctl's layout for a text view); otherwise kept as
 * they are (for SSE, where each line becomes its own data: line). */
static int format_entry(sd_journal *j, struct strbuf *b, bool indent)
{
        static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        uint64_t usec = 0;
        int r = sd_journal_get_realtime_usec(j, &usec);
        if (r < 0)
                return r;
        time_t t = (time_t)(usec / 1000000);
        struct tm tm;
        if (!localtime_r(&t, &tm))
                return -EINVAL;
        size_t start = b->len;
        if ((r = strbuf_printf(b, "%s %02d %02d:%02d:%02d", months[tm.tm_mon % 12], tm.tm_mday,
                               tm.tm_hour, tm.tm_min, tm.tm_sec)) < 0)
                return r;
        const char *v;
        size_t len;
        if (field(j, "_HOSTNAME", &v, &len)) {
                strbuf_puts(b, " ");
                append_token(b, v, len, 255);
        }
        strbuf_puts(b, " ");
        if (field(j, "SYSLOG_IDENTIFIER", &v, &len) || field(j, "_COMM", &v, &len))
                append_token(b, v, len, 64);
        else
                strbuf_puts(b, "unknown");
        if (field(j, "_PID", &v, &len) || field(j, "SYSLOG_PID", &v, &len)) {
                strbuf_puts(b, "[");
                append_token(b, v, len, 20);
                strbuf_puts(b, "]");
        }
        if ((r = strbuf_puts(b, ": ")) < 0)
                return r;
        size_t prefix = b->len - start;
        if (!field(j, "MESSAGE", &v, &len)) {
                v = "";
                len = 0;
        }
        bool cut = len > JOURNAL_MESSAGE_MAX;
        if (cut)
                len = JOURNAL_MESSAGE_MAX;
        while (len && (v[len - 1] == '\n' || v[len - 1] == '\r'))
                len--;
        const char *p = v, *end = v + len;
        for (;;) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *le = nl ? nl : end;
                if ((r = logtext_append_utf8(b, p, (size_t)(le - p))) < 0)
                        return r;
                if (!nl)
                        break;
                if ((r = strbuf_puts(b, "\n")) < 0)
                        return r;
                if (indent)
                        for (size_t i = 0; i < prefix; i++)
                                if ((r = strbuf_puts(b, " ")) < 0)
                                        return r;
                p = nl + 1;
        }
        if (cut && (r = strbuf_puts(b, "…")) < 0)
                return r;
        return 0;
}

struct line {
        char *text;
        size_t len;
};

int journal_last(const char *unit, size_t n, struct strbuf *out)
{
        const struct journal_filter f = {.unit = unit, .max_priority = -1, .scan_max = SIZE_MAX};
        return journal_search(&f, n, out, NULL);
}

/* Is the current entry outside f? 1 skip, 0 keep, 2 older than since (stop). */
static int filtered_out(sd_journal *j, const struct journal_filter *f)
{
        if (f->since_usec || f->until_usec) {
                uint64_t usec = 0;
                if (sd_journal_get_realtime_usec(j, &usec) < 0)
                        return 1;
                if (f->since_usec && usec < f->since_usec)
                        return 2;
                if (f->until_usec && usec > f->until_usec)
                        return 1;
        }
        if (f->max_priority >= 0) {
                const char *v;
                size_t len;
                /* an entry without PRIORITY is "info" (6), as journalctl -p reads it */
                int prio = field(j, "PRIORITY", &v, &len) && len == 1 && v[0] >= '0' && v[0] <= '7'
                               ? v[0] - '0'
                               : 6;
                if (prio > f->max_priority)
                        return 1;
        }
        return 0;
}

int journal_search(const struct journal_filter *f, size_t n, struct strbuf *out, bool *scanned_all)
{
        const char *unit = f->unit;
        size_t scan_max = f->scan_max ? f->scan_max : JOURNAL_SCAN_MAX, scanned = 0;
        if (scanned_all)
                *scanned_all = true;
        sd_journal *j = NULL;
        int r = journal_open(&j);
        if (r < 0)
                return r;
        struct line *lines = NULL;
        size_t k = 0, total = 0;
        size_t budget = out->max ? (out->max > out->len ? out->max - out->len : 0) : SIZE_MAX;
        /* declared before the first goto: the cleanup runs at every exit */
        _cleanup_strbuf_ struct strbuf one = STRBUF_INIT(JOURNAL_MESSAGE_MAX * 4 + 1024);
        if (unit && (r = add_unit_match(j, unit)) < 0)
                goto done;
        if (!n)
                goto done;
        lines = calloc(n, sizeof(*lines));
        if (!lines) {
                r = -ENOMEM;
                goto done;
        }
        if ((r = sd_journal_seek_tail(j)) < 0)
                goto done;
        /* newest first, so that a size limit drops the oldest entries */
        while (k < n) {
                r = sd_journal_previous(j);
                if (r < 0)
                        goto done;
                if (r == 0)
                        break;
                if (++scanned > scan_max) {
                        if (scanned_all)
                                *scanned_all = false;
                        break;
                }
                int skip = filtered_out(j, f);
                if (skip == 2)
                        break;
                if (skip)
                        continue;
                strbuf_reset(&one);
                if (format_entry(j, &one, true) < 0 || strbuf_puts(&one, "\n") < 0)
                        continue; /* an unreadable entry is skipped, like journalctl */
                if (f->text && *f->text && !strcasestr(one.data, f->text))
                        continue;
                if (total + one.len > budget)
                        break;
                total += one.len;
                lines[k].len = one.len;
                lines[k++].text = strbuf_steal(&one);
                if (!lines[k - 1].text) {
                        r = -ENOMEM;
                        goto done;
                }
        }
        r = 0;
        for (size_t i = k; i-- > 0 && r == 0;)
                r = strbuf_append(out, lines[i].text, lines[i].len);
done:
        for (size_t i = 0; i < k; i++)
                free(lines[i].text);
        free(lines);
        sd_journal_close(j);
        return r;
}

struct journal_stream {
        sd_journal *j;
        int fd;
        bool current_pending; /* the current entry is not sent yet */
};

/* Position so that next() returns only entries written from now on. */
static int seek_end(sd_journal *j)
{
        int r = sd_journal_seek_tail(j);
        if (r < 0)
                return r;
        /* onto the last matching entry: next() then moves past it */
        r = sd_journal_previous(j);
        if (r != 0)
                return r < 0 ? r : 0;
        /* Nothing matches yet. A tail location never moves (next() after it
         * stays empty even when entries arrive), while from the head every
         * matching entry is one written after now. */
        return sd_journal_seek_head(j);
}

int journal_stream_open(const char *unit, const char *cursor, size_t backlog,
                        struct journal_stream **out)
{
        if (cursor && !journal_valid_cursor(cursor))
                return -EINVAL;
        struct journal_stream *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        int r = journal_open(&s->j);
        if (r < 0) {
                free(s);
                return r;
        }
        if (unit && (r = add_unit_match(s->j, unit)) < 0)
                goto fail;
        /* the fd exists before positioning, so nothing written in between
         * is missed */
        s->fd = sd_journal_get_fd(s->j);
        if (s->fd < 0) {
                r = s->fd;
                goto fail;
        }
        if (cursor) {
                if ((r = sd_journal_seek_cursor(s->j, cursor)) < 0)
                        goto fail;
                r = sd_journal_next(s->j);
                if (r < 0)
                        goto fail;
                /* landed on the cursor's own entry: already seen; on a later
                 * one (the cursor's entry is gone): that one is new */
                if (r > 0 && sd_journal_test_cursor(s->j, cursor) <= 0)
                        s->current_pending = true;
                if (r == 0 && (r = seek_end(s->j)) < 0)
                        goto fail; /* nothing at or after it: follow from the end */
        } else {
                if (backlog) {
                        if ((r = sd_journal_seek_tail(s->j)) < 0)
                                goto fail;
                        r = sd_journal_previous_skip(s->j, backlog);
                        if (r < 0)
                                goto fail;
                        if (r > 0)
                                s->current_pending = true;
                        else if ((r = sd_journal_seek_head(s->j)) < 0)
                                goto fail;
                } else if ((r = seek_end(s->j)) < 0) {
                        goto fail;
                }
        }
        *out = s;
        return 0;
fail:
        journal_stream_free(s);
        return r;
}

int journal_stream_fd(struct journal_stream *s)
{
        return s->fd;
}

static int emit_current(struct journal_stream *s, struct strbuf *b, journal_emit_fn emit, void *cls)
{
        strbuf_reset(b);
        if (format_entry(s->j, b, false) < 0)
                return 0; /* skipped */
        char *cur = NULL;
        int r = sd_journal_get_cursor(s->j, &cur);
        if (r < 0)
                return 0;
        r = emit(cls, cur, b->data ? b->data : "", b->len);
        free(cur);
        return r;
}

int journal_stream_pump(struct journal_stream *s, size_t max_entries, journal_emit_fn emit,
                        void *cls)
{
        int r = sd_journal_process(s->j);
        if (r < 0)
                return r;
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(JOURNAL_MESSAGE_MAX * 4 + 1024);
        size_t sent = 0;
        if (s->current_pending) {
                s->current_pending = false;
                if ((r = emit_current(s, &b, emit, cls)) < 0)
                        return r;
                sent++;
        }
        while (!max_entries || sent < max_entries) {
                r = sd_journal_next(s->j);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if ((r = emit_current(s, &b, emit, cls)) < 0)
                        return r;
                sent++;
        }
        return 0;
}

void journal_stream_free(struct journal_stream *s)
{
        if (!s)
                return;
        if (s->j)
                sd_journal_close(s->j);
        free(s);
}
