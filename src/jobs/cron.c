/* Cron schedules: parsing and next-run search (see cron.h). */
#include "jobs/cron.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct field {
        const char *name;
        int lo, hi;
};

static const struct field fields[5] = {
    {"minute", 0, 59}, {"hour", 0, 23},       {"day-of-month", 1, 31},
    {"month", 1, 12},  {"day-of-week", 0, 7},
};

__attribute__((format(printf, 2, 3))) static int fail(char **err, const char *fmt, ...)
{
        if (err) {
                va_list ap;
                va_start(ap, fmt);
                char *m = NULL;
                if (vasprintf(&m, fmt, ap) < 0)
                        m = NULL;
                va_end(ap);
                free(*err);
                *err = m;
        }
        return -EINVAL;
}

/* A number of at most 3 digits at *p (every value and step fits), advancing
 * *p. -1 when there is none or it is longer. */
static int number(const char **p)
{
        const char *s = *p;
        int v = 0, n = 0;
        while (isdigit((unsigned char)*s)) {
                if (++n > 3)
                        return -1;
                v = v * 10 + (*s - '0');
                s++;
        }
        if (!n)
                return -1;
        *p = s;
        return v;
}

/* One comma-separated item [s, end) of field f into bits. */
static int parse_item(const struct field *f, const char *s, const char *end, uint64_t *bits,
                      char **err)
{
        int len = (int)(end - s);
        int lo, hi, step = 1;
        const char *p = s;
        if (p == end)
                return fail(err, "%s: empty list item", f->name);
        if (*p == '*') {
                lo = f->lo;
                hi = f->hi;
                p++;
        } else {
                if ((lo = number(&p)) < 0)
                        return fail(err, "%s: '%.*s' is not a number, range or '*'", f->name, len,
                                    s);
                hi = lo;
                if (p < end && *p == '-') {
                        p++;
                        if ((hi = number(&p)) < 0)
                                return fail(err, "%s: '%.*s' has no range end", f->name, len, s);
                }
                if (lo < f->lo || lo > f->hi)
                        return fail(err, "%s: %d is out of range %d-%d", f->name, lo, f->lo, f->hi);
                if (hi < f->lo || hi > f->hi)
                        return fail(err, "%s: %d is out of range %d-%d", f->name, hi, f->lo, f->hi);
                if (hi < lo)
                        return fail(err, "%s: range %d-%d is reversed", f->name, lo, hi);
        }
        if (p < end && *p == '/') {
                p++;
                const char *st = p;
                if ((step = number(&p)) < 0)
                        return fail(err, "%s: '%.*s' has no step number", f->name, len, s);
                if (step < 1 || step > f->hi - f->lo + 1)
                        return fail(err, "%s: step %.*s must be 1-%d", f->name, (int)(p - st), st,
                                    f->hi - f->lo + 1);
                /* "N/S" means N to the maximum, step S */
                if (s[0] != '*' && lo == hi && memchr(s, '-', (size_t)len) == NULL)
                        hi = f->hi;
        }
        if (p != end)
                return fail(err, "%s: unexpected '%c' in '%.*s'", f->name, *p, len, s);
        for (int v = lo; v <= hi; v += step)
                *bits |= 1ULL << v;
        return 0;
}

static int parse_field(const struct field *f, const char *s, size_t n, uint64_t *bits, char **err)
{
        const char *end = s + n;
        *bits = 0;
        for (const char *p = s;;) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *e = comma ? comma : end;
                int r = parse_item(f, p, e, bits, err);
                if (r < 0)
                        return r;
                if (!comma)
                        return 0;
                p = comma + 1;
        }
}

int cron_parse(const char *text, struct cron_expr *out, char **err)
{
        if (err)
                *err = NULL;
        if (!text)
                return fail(err, "schedule: missing");
        if (strlen(text) > CRON_MAX_LEN)
                return fail(err, "schedule: longer than %d characters", CRON_MAX_LEN);
        const char *start[6];
        size_t len[6];
        int nf = 0;
        for (const char *p = text; *p;) {
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;
                const char *b = p;
                while (*p && *p != ' ' && *p != '\t')
                        p++;
                if (nf == 5) {
                        nf++;
                        break;
                }
                start[nf] = b;
                len[nf] = (size_t)(p - b);
                nf++;
        }
        if (nf != 5)
                return fail(err,
                            "schedule: expected 5 fields (minute hour day-of-month month "
                            "day-of-week), got %s%d",
                            nf > 5 ? "more than " : "", nf > 5 ? 5 : nf);
        uint64_t bits[5];
        for (int i = 0; i < 5; i++) {
                int r = parse_field(&fields[i], start[i], len[i], &bits[i], err);
                if (r < 0)
                        return r;
        }
        if (bits[4] & (1ULL << 7))
                bits[4] = (bits[4] | 1ULL) & 0x7f;
        *out = (struct cron_expr){
            .minute = bits[0],
            .hour = (uint32_t)bits[1],
            .dom = (uint32_t)bits[2],
            .month = (uint16_t)bits[3],
            .dow = (uint8_t)bits[4],
            .dom_star = start[2][0] == '*',
            .dow_star = start[4][0] == '*',
        };
        return 0;
}

static bool day_matches(const struct cron_expr *e, const struct tm *tm)
{
        bool dom = e->dom & (1U << tm->tm_mday);
        bool dow = e->dow & (1U << tm->tm_wday);
        if (e->dom_star || e->dow_star)
                return dom && dow;
        return dom || dow;
}

bool cron_matches(const struct cron_expr *e, time_t t)
{
        struct tm tm;
        if (!gmtime_r(&t, &tm))
                return false;
        return (e->month & (1U << (tm.tm_mon + 1))) && day_matches(e, &tm) &&
               (e->hour & (1U << tm.tm_hour)) && (e->minute & (1ULL << tm.tm_min));
}

int cron_next(const struct cron_expr *e, time_t after, time_t *out)
{
        /* years past 9999 are not worth gmtime's overflow cases */
        if (after < 0 || after > (time_t)253402300799LL - 5LL * 366 * 86400)
                return -ERANGE;
        time_t t = after - after % 60 + 60;
        time_t limit = t + (time_t)CRON_SEARCH_YEARS * 366 * 86400;
        struct tm tm;
        /* whole months, days and hours are skipped at once: at most
         * 12*4 + 366*4 + 24 + 60 steps for any schedule */
        while (t <= limit) {
                if (!gmtime_r(&t, &tm))
                        return -ERANGE;
                if (!(e->month & (1U << (tm.tm_mon + 1)))) {
                        tm.tm_mon++;
                        tm.tm_mday = 1;
                        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                        t = timegm(&tm);
                        continue;
                }
                if (!day_matches(e, &tm)) {
                        tm.tm_mday++;
                        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                        t = timegm(&tm);
                        continue;
                }
                if (!(e->hour & (1U << tm.tm_hour))) {
                        t += 3600 - tm.tm_min * 60 - tm.tm_sec;
                        continue;
                }
                if (!(e->minute & (1ULL << tm.tm_min))) {
                        t += 60;
                        continue;
                }
                *out = t;
                return 0;
        }
        return -ERANGE;
}
