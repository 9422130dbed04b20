/* The one timestamp format of the panel: RFC 3339 UTC, "2026-03-11T14:30:00Z". */
#pragma once

#include <stddef.h>
#include <time.h>

#define TIME_RFC3339_LEN 21 /* including NUL */

/* Format t into out (>= TIME_RFC3339_LEN bytes). */
void time_format_rfc3339(time_t t, char out[TIME_RFC3339_LEN]);
/* Parse RFC 3339 UTC ("...Z"), SQLite's "YYYY-MM-DD HH:MM:SS" (UTC) and Go's
 * time.String() layout "YYYY-MM-DD HH:MM:SS[.frac] +hhmm ZONE". 0 or -EINVAL. */
int time_parse(const char *s, time_t *out);
/* Seconds since an arbitrary start, never going backwards. */
double time_monotonic(void);
