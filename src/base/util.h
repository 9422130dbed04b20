/* Small libc-only helpers shared by every layer: cleanup attributes,
 * string predicates and array sizing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Transfer ownership out of a cleanup variable. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _tp = (p);                                                           \
                (p) = NULL;                                                                        \
                _tp;                                                                               \
        })

static inline bool streq(const char *a, const char *b)
{
        return a && b && strcmp(a, b) == 0;
}

static inline bool str_empty(const char *s)
{
        return !s || !*s;
}

static inline bool startswith(const char *s, const char *prefix)
{
        return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Constant-time comparison of two equally long secrets. */
bool mem_equal_ct(const void *a, const void *b, size_t n);

/* Parse a decimal integer in [min,max]; the whole string must be consumed. */
int parse_int64(const char *s, long long min, long long max, long long *out);
