/* The last lines of a text file (nginx logs), read backwards from the end in
 * chunks so that a multi-gigabyte log costs no more than the lines asked for;
 * and the UTF-8 clean-up every log text needs before it becomes JSON. */
#pragma once

#include <stddef.h>

#include "base/strbuf.h"

#define LOGTAIL_CHUNK 65536

/* Append the last max_lines lines of path to out, each ending in "\n"
 * ("\r\n" becomes "\n", a missing final newline is added, invalid UTF-8
 * becomes U+FFFD). At most max_bytes of the file are read: when the lines
 * are longer than that, the oldest (partial) line is dropped. bytes_read
 * (may be NULL) receives how much of the file was read, for tests. 0 or
 * -errno (-ENOENT for a missing file, -EISDIR, -ENOMEM/-E2BIG from out). */
int logtail_read(const char *path, size_t max_lines, size_t max_bytes, struct strbuf *out,
                 size_t *bytes_read);

/* Append s[0..len) to out as valid UTF-8: every byte that is not part of a
 * well-formed sequence, and NUL, becomes U+FFFD. 0 or the strbuf error. */
int logtext_append_utf8(struct strbuf *out, const char *s, size_t len);
