/* Five-field cron schedules (minute hour day-of-month month day-of-week) and
 * the next matching minute in UTC.
 *
 * Each field is a comma list of `*`, `N`, `N-M`, `*\/S`, `N-M/S` and `N/S`
 * (N up to the field's maximum, step S). Day-of-week is 0-7 with both 0 and 7
 * meaning Sunday. No names, no macros. Like classic (Vixie) cron, when both
 * day fields are restricted (neither starts with `*`) a day matches if EITHER
 * matches; otherwise both must (a `*` one always does). The reference's AND
 * semantics (§15 item 17) are not kept. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* How far ahead cron_next() looks: every valid date recurs within 4 years
 * (February 29 included), so "never" means the schedule can never match. */
#define CRON_SEARCH_YEARS 4
/* Longest schedule text accepted. */
#define CRON_MAX_LEN 256

struct cron_expr {
        uint64_t minute; /* bit m: minute m (0-59) */
        uint32_t hour;   /* bit h: 0-23 */
        uint32_t dom;    /* bit d: day of month 1-31 */
        uint16_t month;  /* bit m: 1-12 */
        uint8_t dow;     /* bit d: 0-6, 0 = Sunday (7 folded into 0) */
        bool dom_star;   /* the field starts with `*` (unrestricted for the OR rule) */
        bool dow_star;
};

/* Parse text into out. 0, or -EINVAL with *err (malloc'd, may be left NULL
 * on out of memory) naming the field and the problem, e.g.
 * "hour: 24 is out of range 0-23". err may be NULL. */
int cron_parse(const char *text, struct cron_expr *out, char **err);

/* Whether the minute containing t matches. */
bool cron_matches(const struct cron_expr *e, time_t t);

/* The first whole minute strictly after `after` that matches, in UTC, within
 * CRON_SEARCH_YEARS. 0, or -ERANGE when nothing matches in that window (a
 * schedule such as "0 0 31 2 *"). */
int cron_next(const struct cron_expr *e, time_t after, time_t *out);
