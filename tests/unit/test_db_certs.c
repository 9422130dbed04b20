/* cert_attempts rows (migration 3): insert and validation, newest-first
 * lists per domain with a limit, the last attempt, and the back-off of
 * scheduled renewals after consecutive failures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/timeutil.h"
#include "base/util.h"
#include "db/certs.h"
#include "db/db.h"

static char dir[64], dbpath[128];
static struct db *db;

static void exec_sql(const char *sql)
{
        char *msg = NULL;
        int rc = sqlite3_exec(db_conn(db), sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
                fail_msg("%s: %s", sql, msg);
}

static long long count(const char *sql)
{
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_prepare_v2(db_conn(db), sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        long long n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return n;
}

/* Move an attempt's created_at to t. */
static void stamp(long long id, time_t t)
{
        char ts[TIME_RFC3339_LEN], sql[160];
        time_format_rfc3339(t, ts);
        snprintf(sql, sizeof(sql), "UPDATE cert_attempts SET created_at = '%s' WHERE id = %lld", ts,
                 id);
        exec_sql(sql);
}

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/setec-dbcerts-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(dbpath, sizeof(dbpath), "%s/setec.db", dir);
        assert_int_equal(db_open(dbpath, &db), 0);
        return 0;
}

static int teardown(void **state)
{
        db_close(db);
        db = NULL;
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        char p[256];
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                snprintf(p, sizeof(p), "%s%s", dbpath, suffixes[i]);
                unlink(p);
        }
        rmdir(dir);
        return 0;
}

static void test_schema(void **state)
{
        assert_true(db_latest_version() >= 3);
        assert_int_equal(db_schema_version(db), db_latest_version());
        assert_int_equal(count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                               " AND name = 'idx_cert_attempts_domain'"),
                         1);
        assert_int_equal(count("SELECT COUNT(*) FROM cert_attempts"), 0);
}

static void test_insert_and_list(void **state)
{
        long long a = cert_attempts_insert(db, "a.example.com", "issue", "success", NULL,
                                           "2026-03-01T00:00:00Z");
        assert_true(a > 0);
        long long b = cert_attempts_insert(db, "b.example.com", "renew", "failed",
                                           "urn:ietf:params:acme:error:connection: refused", NULL);
        assert_true(b > a);
        long long c = cert_attempts_insert(db, "a.example.com", "auto", "failed", "timeout", NULL);
        assert_true(c > b);

        struct cert_attempt *list = NULL;
        size_t n = 0;
        assert_int_equal(cert_attempts_list(db, "a.example.com", 0, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].id, c); /* newest first */
        assert_string_equal(list[0].kind, "auto");
        assert_string_equal(list[0].result, "failed");
        assert_string_equal(list[0].error, "timeout");
        assert_null(list[0].not_after);
        assert_int_equal(list[1].id, a);
        assert_string_equal(list[1].result, "success");
        assert_null(list[1].error);
        assert_string_equal(list[1].not_after, "2026-03-01T00:00:00Z");
        time_t t;
        assert_int_equal(time_parse(list[1].created_at, &t), 0);
        assert_true(labs((long)(time(NULL) - t)) < 60);
        assert_int_equal(strlen(list[1].created_at), TIME_RFC3339_LEN - 1);
        cert_attempts_free(list, n);

        assert_int_equal(cert_attempts_list(db, NULL, 0, &list, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(list[0].id, c);
        assert_int_equal(list[2].id, a);
        cert_attempts_free(list, n);

        assert_int_equal(cert_attempts_list(db, "none.example.com", 0, &list, &n), 0);
        assert_int_equal(n, 0);
        assert_null(list);

        struct cert_attempt last = {0};
        assert_int_equal(cert_attempts_last(db, "b.example.com", &last), 0);
        assert_int_equal(last.id, b);
        assert_string_equal(last.kind, "renew");
        assert_string_equal(last.error, "urn:ietf:params:acme:error:connection: refused");
        cert_attempt_clear(&last);
        assert_int_equal(cert_attempts_last(db, "none.example.com", &last), -ENOENT);
}

static void test_insert_rejects_bad_values(void **state)
{
        assert_int_equal(cert_attempts_insert(db, "a.example.com", "other", "success", NULL, NULL),
                         -EINVAL);
        assert_int_equal(cert_attempts_insert(db, "a.example.com", "issue", "ok", NULL, NULL),
                         -EINVAL);
        assert_int_equal(cert_attempts_insert(db, "", "issue", "success", NULL, NULL), -EINVAL);
        assert_int_equal(cert_attempts_insert(db, NULL, "issue", "success", NULL, NULL), -EINVAL);
        assert_int_equal(count("SELECT COUNT(*) FROM cert_attempts"), 0);
        /* hostile text is stored as given (bound, never spliced) */
        const char *evil = "x'); DROP TABLE cert_attempts; --";
        assert_true(cert_attempts_insert(db, "a.example.com", "issue", "failed", evil, NULL) > 0);
        struct cert_attempt last = {0};
        assert_int_equal(cert_attempts_last(db, "a.example.com", &last), 0);
        assert_string_equal(last.error, evil);
        cert_attempt_clear(&last);
}

static void test_limit(void **state)
{
        for (int i = 0; i < 30; i++)
                assert_true(
                    cert_attempts_insert(db, "many.example.com", "auto", "failed", "e", NULL) > 0);
        struct cert_attempt *list = NULL;
        size_t n = 0;
        assert_int_equal(cert_attempts_list(db, "many.example.com", 0, &list, &n), 0);
        assert_int_equal(n, 20);
        for (size_t i = 1; i < n; i++)
                assert_true(list[i - 1].id > list[i].id);
        cert_attempts_free(list, n);
        assert_int_equal(cert_attempts_list(db, "many.example.com", 5, &list, &n), 0);
        assert_int_equal(n, 5);
        cert_attempts_free(list, n);
}

static void test_backoff_seconds(void **state)
{
        assert_int_equal(cert_backoff_seconds(0), 0);
        assert_int_equal(cert_backoff_seconds(-3), 0);
        assert_int_equal(cert_backoff_seconds(1), 2 * 3600);
        assert_int_equal(cert_backoff_seconds(2), 4 * 3600);
        assert_int_equal(cert_backoff_seconds(3), 8 * 3600);
        assert_int_equal(cert_backoff_seconds(4), 16 * 3600);
        assert_int_equal(cert_backoff_seconds(5), 24 * 3600);
        assert_int_equal(cert_backoff_seconds(40), 24 * 3600);
}

static void test_next_auto(void **state)
{
        const char *d = "bo.example.com";
        time_t next = 123;
        int k = -1;
        /* nothing recorded: no hold */
        assert_int_equal(cert_attempts_next_auto(db, d, &next, &k), 0);
        assert_int_equal(next, 0);
        assert_int_equal(k, 0);

        time_t base = 1767225600; /* 2026-01-01T00:00:00Z */
        long long s = cert_attempts_insert(db, d, "issue", "success", NULL, NULL);
        stamp(s, base - 86400);
        assert_int_equal(cert_attempts_next_auto(db, d, &next, &k), 0);
        assert_int_equal(next, 0);

        long long f1 = cert_attempts_insert(db, d, "auto", "failed", "e1", NULL);
        stamp(f1, base);
        assert_int_equal(cert_attempts_next_auto(db, d, &next, &k), 0);
        assert_int_equal(k, 1);
        assert_int_equal(next, base + 2 * 3600);

        /* a failed manual attempt does not extend the streak */
        long long m = cert_attempts_insert(db, d, "renew", "failed", "manual", NULL);
        stamp(m, base + 3600);
        assert_int_equal(cert_attempts_next_auto(db, d, &next, &k), 0);
        assert_int_equal(k, 1);
        assert_int_equal(next, base + 2 * 3600);

        long long f2 = cert_attempts_insert(db, d, "auto", "failed", "e2", NULL);
        stamp(f2, base + 3 * 3600);
        long long f3 = cert_attempts_insert(db, d, "auto", "failed", "e3", NULL);
        stamp(f3, base + 8 * 3600);
        assert_int_equal(cert_attempts_next_auto(db, d, &next, &k), 0);
        assert_int_equal(k, 3);
        assert_int_equal(next, base + 8 * 3600 + 8 * 3600);

        for (int i = 0; i < 4; i++) {
                long long f = cert_attempts_insert(db, d, "auto", "failed", "e", NULL);
                stamp(f, base + 86400 * (i + 1));
        }
        assert_int_equal(cert_attempts_next_auto(db, d, &next, &k), 0);
        assert_int_equal(k, 7);
        assert_int_equal(next, base + 4 * 86400 + 24 * 3600); /* capped at a day */

        /* another domain's failures do not count */
        time_t other = 0;
        assert_int_equal(cert_attempts_next_auto(db, "else.example.com", &other, NULL), 0);
        assert_int_equal(other, 0);

        /* any success ends the streak */
        long long ok = cert_attempts_insert(db, d, "renew", "success", NULL, NULL);
        stamp(ok, base + 5 * 86400);
        assert_int_equal(cert_attempts_next_auto(db, d, &next, &k), 0);
        assert_int_equal(k, 0);
        assert_int_equal(next, 0);
        long long after = cert_attempts_insert(db, d, "auto", "failed", "again", NULL);
        stamp(after, base + 6 * 86400);
        assert_int_equal(cert_attempts_next_auto(db, d, &next, &k), 0);
        assert_int_equal(k, 1);
        assert_int_equal(next, base + 6 * 86400 + 2 * 3600);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
            cmocka_unit_test_setup_teardown(test_insert_and_list, setup, teardown),
            cmocka_unit_test_setup_teardown(test_insert_rejects_bad_values, setup, teardown),
            cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
            cmocka_unit_test_setup_teardown(test_backoff_seconds, setup, teardown),
            cmocka_unit_test_setup_teardown(test_next_auto, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
