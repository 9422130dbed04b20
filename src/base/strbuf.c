#include "base/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(struct strbuf *b, size_t extra)
{
        if (b->max && (extra > b->max || b->len > b->max - extra))
                return -E2BIG;
        size_t need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = cap;
        return 0;
}

int strbuf_append(struct strbuf *b, const void *data, size_t n)
{
        int r = reserve(b, n);
        if (r < 0)
                return r;
        if (n)
                memcpy(b->data + b->len, data, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int strbuf_puts(struct strbuf *b, const char *s)
{
        return strbuf_append(b, s, strlen(s));
}

int strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap)
{
        va_list cp;
        va_copy(cp, ap);
        int n = vsnprintf(NULL, 0, fmt, cp);
        va_end(cp);
        if (n < 0)
                return -EINVAL;
        int r = reserve(b, (size_t)n);
        if (r < 0)
                return r;
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
}

int strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = strbuf_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

void strbuf_reset(struct strbuf *b)
{
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

void strbuf_free(struct strbuf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

char *strbuf_steal(struct strbuf *b)
{
        char *p = b->data ? b->data : strdup("");
        b->data = NULL;
        b->len = b->cap = 0;
        return p;
}
