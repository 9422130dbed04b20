/* Growable byte buffer with a hard maximum: every buffer that holds data
 * from outside has one, so no input can grow memory without bound. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
        char *data; /* always NUL-terminated when non-NULL */
        size_t len;
        size_t cap;
        size_t max; /* 0 = unlimited (only for data we produce ourselves) */
};

#define STRBUF_INIT(maxlen) ((struct strbuf){.max = (maxlen)})

/* All return 0 or -ENOMEM / -E2BIG (max exceeded; buffer unchanged). */
int strbuf_append(struct strbuf *b, const void *data, size_t n);
int strbuf_puts(struct strbuf *b, const char *s);
int strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap);
void strbuf_reset(struct strbuf *b);
void strbuf_free(struct strbuf *b);
/* Hand the data to the caller (never NULL on success: "" for empty). */
char *strbuf_steal(struct strbuf *b);

static inline void strbuf_freep(struct strbuf *b)
{
        strbuf_free(b);
}
#define _cleanup_strbuf_ __attribute__((cleanup(strbuf_freep)))
