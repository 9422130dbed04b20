#include "base/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void time_format_rfc3339(time_t t, char out[TIME_RFC3339_LEN])
{
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, TIME_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int time_parse(const char *s, time_t *out)
{
        if (!s)
                return -EINVAL;
        struct tm tm = {0};
        const char *p = strptime(s, "%Y-%m-%d", &tm);
        if (!p || (*p != 'T' && *p != ' '))
                return -EINVAL;
        p = strptime(p + 1, "%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') /* fractional seconds are dropped */
                for (p++; *p >= '0' && *p <= '9'; p++)
                        ;
        long offset = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == ' ' || *p == '+' || *p == '-') {
                if (*p == ' ')
                        p++;
                if (*p == '+' || *p == '-') {
                        int sign = *p == '-' ? -1 : 1, hh, mm;
                        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 &&
                            sscanf(p + 1, "%2d%2d", &hh, &mm) != 2)
                                return -EINVAL;
                        offset = sign * (hh * 3600L + mm * 60L);
                }
                p += strlen(p); /* a trailing zone abbreviation is informational */
        }
        if (*p)
                return -EINVAL;
        *out = timegm(&tm) - offset;
        return 0;
}

double time_monotonic(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
