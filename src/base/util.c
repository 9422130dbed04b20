#include "base/util.h"

#include <errno.h>
#include <stdint.h>

bool mem_equal_ct(const void *a, const void *b, size_t n)
{
        const volatile uint8_t *x = a, *y = b;
        uint8_t d = 0;
        for (size_t i = 0; i < n; i++)
                d |= x[i] ^ y[i];
        return d == 0;
}

int parse_int64(const char *s, long long min, long long max, long long *out)
{
        if (str_empty(s) || (*s != '-' && (*s < '0' || *s > '9')))
                return -EINVAL;
        errno = 0;
        char *end = NULL;
        long long v = strtoll(s, &end, 10);
        if (errno || !end || *end)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *out = v;
        return 0;
}
