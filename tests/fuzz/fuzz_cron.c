/* Cron schedules (jobs/cron.h): any text either parses into in-range bit
 * sets or fails with a message naming its field; for a parsed schedule the
 * next run after a few fixed times agrees with a day-by-day search written
 * independently here (and is strictly later, on a whole minute, matching),
 * or both say "never" within the search window. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "fuzz.h"
#include "jobs/cron.h"

/* The first minute strictly after `after` matching e, within the window
 * cron_next() documents: days first, then hours and minutes of that day. */
static int ref_next(const struct cron_expr *e, time_t after, time_t *out)
{
        time_t first = after - after % 60 + 60;
        time_t limit = first + (time_t)CRON_SEARCH_YEARS * 366 * 86400;
        for (time_t day = first - first % 86400; day <= limit; day += 86400) {
                struct tm tm;
                CHECK(gmtime_r(&day, &tm));
                if (!(e->month & (1U << (tm.tm_mon + 1))))
                        continue;
                bool dom = e->dom & (1U << tm.tm_mday), dow = e->dow & (1U << tm.tm_wday);
                if (!((e->dom_star || e->dow_star) ? dom && dow : dom || dow))
                        continue;
                for (int h = 0; h < 24; h++) {
                        if (!(e->hour & (1U << h)))
                                continue;
                        for (int m = 0; m < 60; m++) {
                                time_t t = day + h * 3600 + m * 60;
                                if ((e->minute & (1ULL << m)) && t >= first && t <= limit) {
                                        *out = t;
                                        return 0;
                                }
                        }
                }
        }
        return -ERANGE;
}

static bool names_field(const char *err)
{
        static const char *const prefixes[] = {
            "schedule: ", "minute: ", "hour: ", "day-of-month: ", "month: ", "day-of-week: "};
        for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
                if (startswith(err, prefixes[i]))
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        char *text = strndup((const char *)data, size);
        CHECK(text);
        struct cron_expr e;
        char *err = NULL;
        int r = cron_parse(text, &e, &err);
        if (r < 0) {
                CHECK(r == -EINVAL);
                CHECK(err && names_field(err));
                free(err);
                free(text);
                return 0;
        }
        CHECK(r == 0 && !err);
        /* every field allows at least one value, and only values of its range */
        CHECK(e.minute && !(e.minute >> 60));
        CHECK(e.hour && !(e.hour >> 24));
        CHECK(e.dom && !(e.dom & 1) && !((uint64_t)e.dom >> 32));
        CHECK(e.month && !(e.month & 1) && !(e.month >> 13));
        CHECK(e.dow && !(e.dow >> 7));

        static const time_t starts[] = {
            1704067199, /* 2023-12-31T23:59:59Z */
            1709164830, /* 2024-02-29T00:00:30Z */
            1735689600, /* 2025-01-01T00:00:00Z */
        };
        for (size_t i = 0; i < ARRAY_SIZE(starts); i++) {
                time_t got = 0, want = 0;
                int rg = cron_next(&e, starts[i], &got), rw = ref_next(&e, starts[i], &want);
                CHECK(rg == rw);
                if (rg == 0) {
                        CHECK(got == want);
                        CHECK(got > starts[i] && got % 60 == 0);
                        CHECK(cron_matches(&e, got));
                }
        }
        free(text);
        return 0;
}
