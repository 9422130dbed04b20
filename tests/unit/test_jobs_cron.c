/* Cron schedules: parse errors naming the field, and next-run search over
 * month ends, leap years, steps and the day-of-month/day-of-week OR rule. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/timeutil.h"
#include "jobs/cron.h"

static time_t at(const char *s)
{
        time_t t;
        if (time_parse(s, &t) != 0)
                fail_msg("bad time %s", s);
        return t;
}

/* The next run of sched after from, as RFC 3339 (or "none"). */
static void expect_next(const char *sched, const char *from, const char *want)
{
        struct cron_expr e;
        char *err = NULL;
        int r = cron_parse(sched, &e, &err);
        if (r != 0)
                fail_msg("'%s' did not parse: %s", sched, err ? err : "?");
        time_t next;
        char got[TIME_RFC3339_LEN] = "none";
        if (cron_next(&e, at(from), &next) == 0)
                time_format_rfc3339(next, got);
        if (strcmp(got, want) != 0)
                fail_msg("'%s' after %s: got %s, want %s", sched, from, got, want);
}

static void expect_error(const char *sched, const char *want_substr)
{
        struct cron_expr e;
        char *err = NULL;
        int r = cron_parse(sched, &e, &err);
        if (r != -EINVAL)
                fail_msg("'%s' parsed (want error containing '%s')", sched, want_substr);
        if (!err || !strstr(err, want_substr))
                fail_msg("'%s': error '%s' does not contain '%s'", sched, err ? err : "(null)",
                         want_substr);
        free(err);
}

static void test_parse_errors_name_the_field(void **state)
{
        expect_error("", "expected 5 fields");
        expect_error("* * * *", "got 4");
        expect_error("* * * * * *", "more than 5");
        expect_error("60 * * * *", "minute: 60 is out of range 0-59");
        expect_error("* 24 * * *", "hour: 24 is out of range 0-23");
        expect_error("* * 0 * *", "day-of-month: 0 is out of range 1-31");
        expect_error("* * 32 * *", "day-of-month: 32");
        expect_error("* * * 13 *", "month: 13 is out of range 1-12");
        expect_error("* * * 0 *", "month: 0");
        expect_error("* * * * 8", "day-of-week: 8 is out of range 0-7");
        expect_error("5-1 * * * *", "minute: range 5-1 is reversed");
        expect_error("*/0 * * * *", "minute: step 0 must be 1-60");
        expect_error("* */25 * * *", "hour: step 25 must be 1-24");
        expect_error("1,,2 * * * *", "minute: empty list item");
        expect_error("1, * * * *", "minute: empty list item");
        expect_error("* a * * *", "hour: 'a' is not a number");
        expect_error("* * * jan *", "month: 'jan'");
        expect_error("* * * * mon", "day-of-week: 'mon'");
        expect_error("1- * * * *", "minute: '1-' has no range end");
        expect_error("1/ * * * *", "minute: '1/' has no step number");
        expect_error("*5 * * * *", "minute: unexpected '5'");
        expect_error("*-5 * * * *", "minute: unexpected '-'");
        expect_error("1-2-3 * * * *", "minute: unexpected '-'");
        expect_error("-1 * * * *", "minute: '-1' is not a number");
        expect_error("0001 * * * *", "minute: '0001' is not a number");
        expect_error("@daily", "expected 5 fields");
        expect_error(NULL, "schedule: missing");
        char long_sched[CRON_MAX_LEN + 10];
        memset(long_sched, '1', sizeof(long_sched) - 1);
        long_sched[sizeof(long_sched) - 1] = '\0';
        expect_error(long_sched, "longer than");
}

static void test_parse_fields(void **state)
{
        struct cron_expr e;
        assert_int_equal(cron_parse("17 3,15 * * *", &e, NULL), 0);
        assert_true(e.minute == (1ULL << 17));
        assert_true(e.hour == ((1U << 3) | (1U << 15)));
        assert_true(e.dom == 0xfffffffeU);
        assert_true(e.month == 0x1ffe);
        assert_true(e.dow == 0x7f);
        assert_true(e.dom_star && e.dow_star);

        assert_int_equal(cron_parse("*/15 0-23/6 1,15 */3 1-5", &e, NULL), 0);
        assert_true(e.minute == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45)));
        assert_true(e.hour == ((1U << 0) | (1U << 6) | (1U << 12) | (1U << 18)));
        assert_true(e.dom == ((1U << 1) | (1U << 15)));
        assert_true(e.month == ((1U << 1) | (1U << 4) | (1U << 7) | (1U << 10)));
        assert_true(e.dow == 0x3e);
        assert_false(e.dom_star);
        assert_false(e.dow_star);

        /* N/S = N to the maximum, step S */
        assert_int_equal(cron_parse("50/3 * * * *", &e, NULL), 0);
        assert_true(e.minute == ((1ULL << 50) | (1ULL << 53) | (1ULL << 56) | (1ULL << 59)));
        /* 7 is Sunday too; 5-7 is Fri, Sat, Sun */
        assert_int_equal(cron_parse("0 0 * * 7", &e, NULL), 0);
        assert_true(e.dow == 1);
        assert_int_equal(cron_parse("0 0 * * 5-7", &e, NULL), 0);
        assert_true(e.dow == ((1U << 5) | (1U << 6) | 1U));
        assert_int_equal(cron_parse("0 0 * * 0,7", &e, NULL), 0);
        assert_true(e.dow == 1);
        /* tabs and extra blanks separate fields */
        assert_int_equal(cron_parse("  0\t0   1 1 *  ", &e, NULL), 0);
        assert_true(e.minute == 1 && e.hour == 1 && e.dom == 2 && e.month == 2);
        /* a step as large as the range: only the start */
        assert_int_equal(cron_parse("*/60 * * * *", &e, NULL), 0);
        assert_true(e.minute == 1);
        /* a starred step still counts as `*` for the day rule (Vixie cron) */
        assert_int_equal(cron_parse("0 0 */2 * 1", &e, NULL), 0);
        assert_true(e.dom_star);
        assert_false(e.dow_star);
        /* the error pointer is cleared on success */
        char *err = (char *)0x1;
        assert_int_equal(cron_parse("* * * * *", &e, &err), 0);
        assert_null(err);
}

static void test_next_simple(void **state)
{
        expect_next("* * * * *", "2026-03-11T14:30:00Z", "2026-03-11T14:31:00Z");
        /* strictly after, from the next whole minute */
        expect_next("* * * * *", "2026-03-11T14:30:59Z", "2026-03-11T14:31:00Z");
        expect_next("30 14 * * *", "2026-03-11T14:30:00Z", "2026-03-12T14:30:00Z");
        expect_next("30 14 * * *", "2026-03-11T14:29:59Z", "2026-03-11T14:30:00Z");
        expect_next("17 3,15 * * *", "2026-03-11T03:17:00Z", "2026-03-11T15:17:00Z");
        expect_next("17 3,15 * * *", "2026-03-11T15:17:00Z", "2026-03-12T03:17:00Z");
        expect_next("17 3,15 * * *", "2026-03-11T00:00:00Z", "2026-03-11T03:17:00Z");
        expect_next("0 0 * * *", "2026-12-31T23:59:00Z", "2027-01-01T00:00:00Z");
        expect_next("0 0 1 1 *", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        expect_next("59 23 31 12 *", "2026-06-01T00:00:00Z", "2026-12-31T23:59:00Z");
}

static void test_next_steps(void **state)
{
        expect_next("*/15 * * * *", "2026-03-11T14:01:00Z", "2026-03-11T14:15:00Z");
        expect_next("*/15 * * * *", "2026-03-11T14:45:00Z", "2026-03-11T15:00:00Z");
        expect_next("*/7 * * * *", "2026-03-11T14:56:00Z", "2026-03-11T15:00:00Z");
        expect_next("10-20/5 * * * *", "2026-03-11T14:16:00Z", "2026-03-11T14:20:00Z");
        expect_next("10-20/5 * * * *", "2026-03-11T14:20:00Z", "2026-03-11T15:10:00Z");
        expect_next("0 */6 * * *", "2026-03-11T19:00:00Z", "2026-03-12T00:00:00Z");
        expect_next("0 0 */10 * *", "2026-03-21T00:00:00Z", "2026-03-31T00:00:00Z");
        expect_next("0 0 */10 * *", "2026-04-21T00:00:00Z", "2026-05-01T00:00:00Z");
        expect_next("0 0 1 */4 *", "2026-02-01T00:00:00Z", "2026-05-01T00:00:00Z");
        expect_next("0 0 1 */4 *", "2026-09-01T00:00:00Z", "2027-01-01T00:00:00Z");
        expect_next("45/5 * * * *", "2026-03-11T14:56:00Z", "2026-03-11T15:45:00Z");
}

static void test_next_month_ends(void **state)
{
        /* day 31 skips the 30-day months and February */
        expect_next("0 12 31 * *", "2026-01-31T12:00:00Z", "2026-03-31T12:00:00Z");
        expect_next("0 12 31 * *", "2026-03-31T12:00:00Z", "2026-05-31T12:00:00Z");
        expect_next("0 12 31 * *", "2026-07-31T12:00:00Z", "2026-08-31T12:00:00Z");
        expect_next("0 12 30 * *", "2026-01-30T12:00:00Z", "2026-03-30T12:00:00Z");
        expect_next("0 0 31 4 *", "2026-01-01T00:00:00Z", "none"); /* never */
        expect_next("0 0 30,31 2 *", "2026-01-01T00:00:00Z", "none");
        expect_next("0 0 28-31 2 *", "2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z");
        expect_next("0 0 28-31 2 *", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z");
}

static void test_next_leap_years(void **state)
{
        expect_next("0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z");
        expect_next("0 0 29 2 *", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z");
        /* 2100 is not a leap year: the next one after 2096 is 2104, beyond 4 years */
        expect_next("0 0 29 2 *", "2096-02-29T00:00:00Z", "none");
        /* 2000 was (divisible by 400) */
        expect_next("0 0 29 2 *", "1999-01-01T00:00:00Z", "2000-02-29T00:00:00Z");
        expect_next("30 6 * 2 *", "2028-02-28T23:59:00Z", "2028-02-29T06:30:00Z");
        expect_next("30 6 * 2 *", "2027-02-28T23:59:00Z", "2028-02-01T06:30:00Z");
        expect_next("0 0 1 3 *", "2028-02-29T12:00:00Z", "2028-03-01T00:00:00Z");
}

static void test_next_dom_dow(void **state)
{
        /* 2026-03-11 is a Wednesday */
        /* only dow restricted: Mondays */
        expect_next("0 9 * * 1", "2026-03-11T00:00:00Z", "2026-03-16T09:00:00Z");
        /* 7 = Sunday */
        expect_next("0 9 * * 7", "2026-03-11T00:00:00Z", "2026-03-15T09:00:00Z");
        expect_next("0 9 * * 0", "2026-03-11T00:00:00Z", "2026-03-15T09:00:00Z");
        /* only dom restricted */
        expect_next("0 9 13 * *", "2026-03-11T00:00:00Z", "2026-03-13T09:00:00Z");
        /* both restricted: OR (the 13th, a Friday, or any Monday) */
        expect_next("0 9 20 * 1", "2026-03-11T00:00:00Z", "2026-03-16T09:00:00Z");
        expect_next("0 9 20 * 1", "2026-03-16T09:00:00Z", "2026-03-20T09:00:00Z");
        expect_next("0 9 20 * 1", "2026-03-20T09:00:00Z", "2026-03-23T09:00:00Z");
        expect_next("0 9 12 * 1", "2026-03-11T00:00:00Z", "2026-03-12T09:00:00Z");
        /* the reference's AND would wait for a Friday the 13th (2026-11-13);
         * classic cron runs on every 13th and every Friday */
        expect_next("0 0 13 * 5", "2026-03-11T00:00:00Z", "2026-03-13T00:00:00Z");
        expect_next("0 0 13 * 5", "2026-03-13T00:00:00Z", "2026-03-20T00:00:00Z");
        /* OR with month restriction: Feb 30 never exists, but Sundays in Feb do */
        expect_next("0 0 30 2 0", "2026-03-01T00:00:00Z", "2027-02-07T00:00:00Z");
        /* a starred dom with a step keeps AND (Vixie): odd days that are Mondays */
        expect_next("0 0 */2 * 1", "2026-03-11T00:00:00Z", "2026-03-23T00:00:00Z");
        /* explicit full dow range is restricted: OR with the 1st */
        expect_next("0 0 1 * 1-5", "2026-03-13T00:00:00Z", "2026-03-16T00:00:00Z");
        /* weekend days listed with 7 */
        expect_next("0 0 * * 6,7", "2026-03-11T00:00:00Z", "2026-03-14T00:00:00Z");
        expect_next("0 0 * * 6,7", "2026-03-14T00:00:00Z", "2026-03-15T00:00:00Z");
        expect_next("0 0 * * 6,7", "2026-03-15T00:00:00Z", "2026-03-21T00:00:00Z");
}

static void test_next_far_and_bounds(void **state)
{
        /* AND with a starred step: February's 1st, 14th or 27th on a Friday */
        expect_next("0 0 */13 2 5", "2026-01-01T00:00:00Z", "2026-02-27T00:00:00Z");
        expect_next("0 0 */13 2 5", "2026-02-27T00:00:00Z", "2030-02-01T00:00:00Z");
        expect_next("0 0 */13 2 5", "2030-02-01T00:00:00Z", "2031-02-14T00:00:00Z");
        /* four years ahead is still found */
        expect_next("0 0 29 2 *", "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z");
        struct cron_expr e;
        time_t t;
        assert_int_equal(cron_parse("* * * * *", &e, NULL), 0);
        assert_int_equal(cron_next(&e, -5, &t), -ERANGE);
        assert_int_equal(cron_next(&e, (time_t)253402300799LL, &t), -ERANGE);
        assert_int_equal(cron_next(&e, 0, &t), 0);
        assert_int_equal((long long)t, 60);
}

static void test_matches(void **state)
{
        struct cron_expr e;
        assert_int_equal(cron_parse("17 3,15 * * *", &e, NULL), 0);
        assert_true(cron_matches(&e, at("2026-03-11T03:17:00Z")));
        assert_true(cron_matches(&e, at("2026-03-11T15:17:42Z")));
        assert_false(cron_matches(&e, at("2026-03-11T15:18:00Z")));
        assert_false(cron_matches(&e, at("2026-03-11T04:17:00Z")));
        assert_int_equal(cron_parse("0 0 13 * 5", &e, NULL), 0);
        assert_true(cron_matches(&e, at("2026-03-13T00:00:00Z")));
        assert_true(cron_matches(&e, at("2026-03-20T00:00:00Z")));
        assert_false(cron_matches(&e, at("2026-03-19T00:00:00Z")));
}

/* Every next-run of a set of schedules over a year, checked against a
 * minute-by-minute scan. */
static void test_next_agrees_with_brute_force(void **state)
{
        static const char *const scheds[] = {
            "17 3,15 * * *", "*/20 */7 * * *", "0 0 13 * 5",  "5 4 */9 * *", "0 12 31 * *",
            "30 1 * 2,8 0",  "0 0 1-7 * 1",    "0 0 */2 * 1", "59 23 * * 6",
        };
        time_t start = at("2027-12-20T00:00:00Z");
        for (size_t i = 0; i < sizeof(scheds) / sizeof(scheds[0]); i++) {
                struct cron_expr e;
                assert_int_equal(cron_parse(scheds[i], &e, NULL), 0);
                time_t t = start, brute = start;
                for (int k = 0; k < 40; k++) {
                        time_t next;
                        assert_int_equal(cron_next(&e, t, &next), 0);
                        do
                                brute += 60;
                        while (!cron_matches(&e, brute));
                        if (next != brute)
                                fail_msg("'%s': next %lld, scan %lld", scheds[i], (long long)next,
                                         (long long)brute);
                        t = next;
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_errors_name_the_field),
            cmocka_unit_test(test_parse_fields),
            cmocka_unit_test(test_next_simple),
            cmocka_unit_test(test_next_steps),
            cmocka_unit_test(test_next_month_ends),
            cmocka_unit_test(test_next_leap_years),
            cmocka_unit_test(test_next_dom_dow),
            cmocka_unit_test(test_next_far_and_bounds),
            cmocka_unit_test(test_matches),
            cmocka_unit_test(test_next_agrees_with_brute_force),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
