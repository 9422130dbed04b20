#include "sys/logtail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

static const char replacement[] = "\xEF\xBF\xBD";

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
        unsigned char c = s[0];
        if (c >= 0x01 && c < 0x80)
                return 1;
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;
        } else {
                return 0;
        }
        if (n < len || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xBF)
                        return 0;
        return len;
}

int logtext_append_utf8(struct strbuf *out, const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, run = 0; /* run: valid bytes not yet copied, ending at i */
        while (i < len) {
                size_t k = utf8_seq(p + i, len - i);
                if (k) {
                        i += k;
                        run += k;
                        continue;
                }
                int r = strbuf_append(out, p + i - run, run);
                if (r < 0)
                        return r;
                r = strbuf_append(out, replacement, 3);
                if (r < 0)
                        return r;
                run = 0;
                i++;
        }
        return strbuf_append(out, p + len - run, run);
}

/* Copy file bytes [start, end) to out, turning "\r\n" into "\n" and ending
 * with a newline. */
static int copy_range(int fd, off_t start, off_t end, struct strbuf *out, size_t *bytes_read)
{
        _cleanup_free_ char *buf = malloc(LOGTAIL_CHUNK);
        if (!buf)
                return -ENOMEM;
        size_t base = out->len;
        bool pending_cr = false;
        off_t pos = start;
        while (pos < end) {
                size_t want =
                    (size_t)(end - pos) < LOGTAIL_CHUNK ? (size_t)(end - pos) : LOGTAIL_CHUNK;
                ssize_t n = pread(fd, buf, want, pos);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break; /* truncated meanwhile */
                *bytes_read += (size_t)n;
                pos += n;
                /* A sequence split across chunks is checked as a whole below,
                 * so only line endings are handled here. */
                size_t from = 0;
                for (size_t i = 0; i < (size_t)n; i++) {
                        if (pending_cr) {
                                pending_cr = false;
                                if (buf[i] != '\n' && strbuf_append(out, "\r", 1) < 0)
                                        return -E2BIG;
                        }
                        if (buf[i] == '\r') {
                                int r = strbuf_append(out, buf + from, i - from);
                                if (r < 0)
                                        return r;
                                from = i + 1;
                                pending_cr = true;
                        }
                }
                int r = strbuf_append(out, buf + from, (size_t)n - from);
                if (r < 0)
                        return r;
        }
        if (pending_cr && strbuf_append(out, "\r", 1) < 0)
                return -E2BIG;
        if (out->len > base && out->data[out->len - 1] != '\n' && strbuf_append(out, "\n", 1) < 0)
                return -E2BIG;
        /* Validate in place: move the raw text aside and append it cleaned. */
        size_t rawlen = out->len - base;
        if (!rawlen)
                return 0;
        _cleanup_free_ char *raw = malloc(rawlen);
        if (!raw)
                return -ENOMEM;
        memcpy(raw, out->data + base, rawlen);
        out->len = base;
        out->data[base] = '\0';
        return logtext_append_utf8(out, raw, rawlen);
}

int logtail_read(const char *path, size_t max_lines, size_t max_bytes, struct strbuf *out,
                 size_t *bytes_read)
{
        size_t dummy = 0;
        if (!bytes_read)
                bytes_read = &dummy;
        *bytes_read = 0;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EINVAL; /* a FIFO or device would block or never end */
        off_t size = st.st_size, end = size;
        if (!size || !max_lines)
                return 0;
        _cleanup_free_ char *buf = malloc(LOGTAIL_CHUNK);
        if (!buf)
                return -ENOMEM;
        off_t limit = max_bytes && (off_t)max_bytes < size ? size - (off_t)max_bytes : 0;
        off_t start = limit;
        bool found = false, last_byte = true;
        size_t newlines = 0;
        off_t pos = end;
        while (pos > limit && !found) {
                size_t want =
                    (size_t)(pos - limit) < LOGTAIL_CHUNK ? (size_t)(pos - limit) : LOGTAIL_CHUNK;
                off_t at = pos - (off_t)want;
                ssize_t n = pread(fd, buf, want, at);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if ((size_t)n < want) {
                        /* the file shrank (rotated by truncation): start over smaller */
                        end = size = at + n;
                        pos = end;
                        limit = max_bytes && (off_t)max_bytes < size ? size - (off_t)max_bytes : 0;
                        newlines = 0;
                        last_byte = true;
                        continue;
                }
                *bytes_read += (size_t)n;
                for (size_t i = (size_t)n; i-- > 0;) {
                        if (buf[i] == '\n') {
                                /* the newline ending the file closes the last line,
                                 * it does not start another one */
                                if (last_byte && at + (off_t)i == end - 1) {
                                        last_byte = false;
                                        continue;
                                }
                                if (++newlines == max_lines) {
                                        start = at + (off_t)i + 1;
                                        found = true;
                                        break;
                                }
                        }
                        last_byte = false;
                }
                pos = at;
        }
        if (!found && limit > 0) {
                /* Cut at max_bytes: drop the partial oldest line, unless the
                 * window holds no line break at all. */
                off_t p = limit;
                char before = 0;
                bool cut = pread(fd, &before, 1, limit - 1) == 1 && before == '\n';
                while (p < end && !cut) {
                        size_t want =
                            (size_t)(end - p) < LOGTAIL_CHUNK ? (size_t)(end - p) : LOGTAIL_CHUNK;
                        ssize_t n = pread(fd, buf, want, p);
                        if (n <= 0)
                                break;
                        char *nl = memchr(buf, '\n', (size_t)n);
                        if (nl) {
                                off_t s = p + (nl - buf) + 1;
                                if (s < end)
                                        start = s;
                                cut = true;
                        }
                        p += n;
                }
        }
        return copy_range(fd, start, end, out, bytes_read);
}
