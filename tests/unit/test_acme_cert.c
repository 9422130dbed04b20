#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "acme/acme.h"
#include "base/fsutil.h"

#define DAY 86400

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
        struct tm tm = {.tm_year = y - 1900,
                        .tm_mon = mo - 1,
                        .tm_mday = d,
                        .tm_hour = h,
                        .tm_min = mi,
                        .tm_sec = s};
        return timegm(&tm);
}

static char *slurp(const char *path)
{
        char *s = NULL;
        assert_int_equal(read_file(path, 1 << 20, &s, NULL), 0);
        return s;
}

static void test_cert_info(void **state)
{
        /* fixture made with python3-cryptography: CN example.com, SANs
         * example.com, IP 127.0.0.1, www.example.com; issuer CN
         * "Setec Test Intermediate" (O=Setec Test) */
        const char *files[] = {FIXTURES "/acme/leaf.pem", FIXTURES "/acme/fullchain.pem"};
        for (size_t f = 0; f < 2; f++) {
                struct cert_info ci;
                assert_int_equal(acme_cert_info(files[f], &ci), 0);
                assert_string_equal(ci.subject_cn, "example.com");
                assert_string_equal(ci.issuer, "Setec Test Intermediate");
                assert_int_equal(ci.nnames, 2); /* the IP SAN is not a DNS name */
                assert_string_equal(ci.names[0], "example.com");
                assert_string_equal(ci.names[1], "www.example.com");
                assert_int_equal(ci.not_before, utc(2025, 1, 1, 0, 0, 0));
                assert_int_equal(ci.not_after, utc(2025, 4, 1, 12, 30, 0));
                cert_info_clear(&ci);
                assert_null(ci.names);
        }
        struct cert_info ci;
        assert_int_equal(acme_cert_info(FIXTURES "/acme/nope.pem", &ci), -ENOENT);
        assert_int_equal(acme_cert_info(FIXTURES "/acme/account-p256-lz.pem", &ci), -EINVAL);
        assert_int_equal(acme_cert_info_mem("garbage", 7, &ci), -EINVAL);
}

static void test_split_chain(void **state)
{
        char *full = slurp(FIXTURES "/acme/fullchain.pem");
        char *leaf_want = slurp(FIXTURES "/acme/leaf.pem");
        char *chain_want = slurp(FIXTURES "/acme/intermediate.pem");
        char *leaf = NULL, *chain = NULL;
        assert_int_equal(acme_split_chain(full, strlen(full), &leaf, &chain), 0);
        assert_string_equal(leaf, leaf_want);
        assert_string_equal(chain, chain_want);
        free(leaf);
        free(chain);

        /* a lone leaf: empty chain */
        assert_int_equal(acme_split_chain(leaf_want, strlen(leaf_want), &leaf, &chain), 0);
        assert_string_equal(leaf, leaf_want);
        assert_string_equal(chain, "");
        free(leaf);
        free(chain);

        /* truncated download: refused */
        assert_int_equal(acme_split_chain(full, strlen(full) - 40, &leaf, &chain), -EINVAL);
        assert_null(leaf);
        assert_int_equal(acme_split_chain("", 0, &leaf, &chain), -EINVAL);
        /* found by fuzzing: a NUL byte inside (the leaf would be cut short
         * as a string), a BEGIN line inside the first block */
        size_t fl = strlen(full);
        char *bad = malloc(fl + 64);
        assert_non_null(bad);
        memcpy(bad, full, fl);
        bad[100] = '\0';
        assert_int_equal(acme_split_chain(bad, fl, &leaf, &chain), -EINVAL);
        assert_null(leaf);
        assert_null(chain);
        const char *b = "-----BEGIN CERTIFICATE-----\n";
        memcpy(bad, b, strlen(b));
        memcpy(bad + strlen(b), full, fl);
        assert_int_equal(acme_split_chain(bad, fl + strlen(b), &leaf, &chain), -EINVAL);
        free(bad);
        free(full);
        free(leaf_want);
        free(chain_want);
}

static void test_should_renew(void **state)
{
        time_t na = utc(2025, 4, 1, 12, 30, 0);
        assert_false(acme_should_renew(na - 31 * DAY, na, 0));
        assert_false(acme_should_renew(na - 30 * DAY - 1, na, 0));
        assert_true(acme_should_renew(na - 30 * DAY, na, 0)); /* exactly 30 days left */
        assert_true(acme_should_renew(na - DAY, na, 0));
        assert_true(acme_should_renew(na + DAY, na, 0)); /* expired */
        /* ARI window: from its start, even with 60 days left */
        time_t ws = na - 60 * DAY;
        assert_false(acme_should_renew(ws - 1, na, ws));
        assert_true(acme_should_renew(ws, na, ws));
        /* a window starting after the 30-day mark does not delay renewal */
        assert_true(acme_should_renew(na - 10 * DAY, na, na - 5 * DAY));
        /* a short-lived certificate (6 days) is always due */
        time_t now = 1750000000;
        assert_true(acme_should_renew(now, now + 6 * DAY, 0));
}

static void test_ari_window(void **state)
{
        /* RFC 9773 §4.1 example: AKI 69:88:5B:..:D4, serial 00:87:65:43:21 */
        char *id = NULL;
        assert_int_equal(acme_ari_cert_id(FIXTURES "/acme/leaf.pem", &id), 0);
        assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
        free(id);
        /* the self-signed intermediate has no AKI */
        assert_int_equal(acme_ari_cert_id(FIXTURES "/acme/intermediate.pem", &id), -ENOENT);

        struct acme_renewal_window w;
        assert_int_equal(
            acme_renewal_info_parse("{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
                                    "\"end\":\"2025-01-03T04:00:00.123456Z\"},"
                                    "\"explanationURL\":\"https://ca.test/why\"}",
                                    &w),
            0);
        assert_int_equal(w.start, utc(2025, 1, 2, 4, 0, 0));
        assert_int_equal(w.end, utc(2025, 1, 3, 4, 0, 0));
        assert_string_equal(w.explanation_url, "https://ca.test/why");
        /* found by fuzzing: a refused body leaves nothing half-filled */
        struct acme_renewal_window w2;
        assert_int_equal(
            acme_renewal_info_parse("{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
                                    "\"end\":\"soon\"}}",
                                    &w2),
            -EINVAL);
        assert_int_equal(w2.start, 0);
        assert_int_equal(w2.end, 0);
        assert_null(w2.explanation_url);
        for (int i = 0; i < 1000; i++) {
                time_t t = acme_ari_pick(w.start, w.end, (unsigned long)rand());
                assert_true(t >= w.start && t < w.end);
        }
        assert_int_equal(acme_ari_pick(w.start, w.end, 0), w.start);
        assert_int_equal(acme_ari_pick(w.end, w.start, 5), w.end); /* inverted: start */
        time_t na = utc(2025, 4, 1, 12, 30, 0);
        assert_true(acme_should_renew(acme_ari_pick(w.start, w.end, 77), na, w.start));
        acme_renewal_window_clear(&w);
        assert_null(w.explanation_url);

        /* end before start, missing window, bad times, not JSON */
        assert_int_equal(acme_renewal_info_parse("{\"suggestedWindow\":{\"start\":\"2025-01-03T00:"
                                                 "00:00Z\",\"end\":\"2025-01-02T00:00:00Z\"}}",
                                                 &w),
                         -EINVAL);
        assert_int_equal(acme_renewal_info_parse("{}", &w), -EINVAL);
        assert_int_equal(acme_renewal_info_parse("{\"suggestedWindow\":{\"start\":\"yesterday\","
                                                 "\"end\":\"2025-01-02T00:00:00Z\"}}",
                                                 &w),
                         -EINVAL);
        assert_int_equal(acme_renewal_info_parse("nope", &w), -EINVAL);
}

static void test_parse_time(void **state)
{
        time_t t;
        assert_int_equal(acme_parse_time("2025-04-01T12:30:00Z", &t), 0);
        assert_int_equal(t, utc(2025, 4, 1, 12, 30, 0));
        assert_int_equal(acme_parse_time("2025-04-01T14:30:00+02:00", &t), 0);
        assert_int_equal(t, utc(2025, 4, 1, 12, 30, 0));
        assert_int_equal(acme_parse_time("2025-04-01T12:00:00.5-00:30", &t), 0);
        assert_int_equal(t, utc(2025, 4, 1, 12, 30, 0));
        assert_int_equal(acme_parse_time("2025-04-01T12:30:00", &t), -EINVAL); /* no zone */
        assert_int_equal(acme_parse_time("2025-13-01T12:30:00Z", &t), -EINVAL);
        assert_int_equal(acme_parse_time("2025-04-01T12:30:00Zjunk", &t), -EINVAL);
        assert_int_equal(acme_parse_time("2025-04-01T12:30:00.Z", &t), -EINVAL);
        assert_int_equal(acme_parse_time(NULL, &t), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cert_info),    cmocka_unit_test(test_split_chain),
            cmocka_unit_test(test_should_renew), cmocka_unit_test(test_ari_window),
            cmocka_unit_test(test_parse_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
