/* The jobs table: insert, save (NULL keeps a column), get, the list with
 * filters, search, sort and paging, and the crash leftovers marked failed
 * and handed out once for recovery. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/util.h"
#include "db/db.h"
#include "db/jobs.h"

static char dir[64], dbpath[128];
static struct db *db;

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/setec-dbjobs-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(dbpath, sizeof(dbpath), "%s/setec.db", dir);
        assert_int_equal(db_open(dbpath, &db), 0);
        return 0;
}

static int teardown(void **state)
{
        db_close(db);
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        char p[256];
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                snprintf(p, sizeof(p), "%s%s", dbpath, suffixes[i]);
                unlink(p);
        }
        rmdir(dir);
        return 0;
}

static void test_insert_save_get(void **state)
{
        long long id = jobs_insert(db, "site_create", "site:1", "admin", "[]", 0);
        assert_true(id > 0);
        struct job_row r;
        assert_int_equal(jobs_get(db, id, &r), 0);
        assert_string_equal(r.state, "queued");
        assert_string_equal(r.step, "");
        assert_string_equal(r.data, "{}");
        assert_null(r.started_at);
        assert_int_equal(r.deployment_id, 0);
        assert_true(strlen(r.created_at) == 20 && r.created_at[19] == 'Z');
        job_row_clear(&r);
        assert_int_equal(jobs_save(db, id, "running", "git clone", "[1]", "out", NULL, NULL,
                                   "2026-01-01T00:00:00Z", NULL),
                         0);
        /* NULL keeps the column */
        assert_int_equal(jobs_save(db, id, NULL, NULL, NULL, "more out", NULL, NULL, NULL, NULL),
                         0);
        assert_int_equal(jobs_get(db, id, &r), 0);
        assert_string_equal(r.state, "running");
        assert_string_equal(r.step, "git clone");
        assert_string_equal(r.steps, "[1]");
        assert_string_equal(r.output, "more out");
        assert_string_equal(r.started_at, "2026-01-01T00:00:00Z");
        job_row_clear(&r);
        assert_int_equal(jobs_get(db, id + 100, &r), -ENOENT);
        assert_int_equal(jobs_save(db, id + 100, "done", NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                         -ENOENT);
}

static void test_list_filters_and_paging(void **state)
{
        for (int i = 0; i < 5; i++)
                assert_true(jobs_insert(db, i % 2 ? "cert_issue" : "backup_create",
                                        i % 2 ? "domain:a.test" : "backup:1", "", "[]", 0) > 0);
        struct jobs_filter f = {.kind = "cert_issue"};
        struct job_row *rows;
        size_t n, total;
        assert_int_equal(jobs_list(db, &f, &rows, &n, &total), 0);
        assert_int_equal(n, 2);
        assert_int_equal(total, 2);
        assert_true(rows[0].id > rows[1].id); /* newest first */
        job_rows_free(rows, n);
        f = (struct jobs_filter){.q = "backup", .limit = 2, .offset = 2};
        assert_int_equal(jobs_list(db, &f, &rows, &n, &total), 0);
        assert_int_equal(total, 3);
        assert_int_equal(n, 1);
        job_rows_free(rows, n);
        f = (struct jobs_filter){.sort = "kind", .asc = true};
        assert_int_equal(jobs_list(db, &f, &rows, &n, &total), 0);
        assert_int_equal(n, 5);
        assert_string_equal(rows[0].kind, "backup_create");
        assert_string_equal(rows[4].kind, "cert_issue");
        job_rows_free(rows, n);
        assert_true(jobs_sort_key_valid("created_at"));
        assert_false(jobs_sort_key_valid("output; DROP TABLE jobs"));
}

static void test_stale_and_recover(void **state)
{
        long long a = jobs_insert(db, "site_create", "site:1", "", "[]", 0);
        long long b = jobs_insert(db, "cert_issue", "domain:a.test", "", "[]", 0);
        long long c = jobs_insert(db, "site_create", "site:2", "", "[]", 0);
        assert_int_equal(jobs_save(db, a, "running", "unit", NULL, NULL, NULL, NULL, NULL, NULL),
                         0);
        assert_int_equal(jobs_save(db, c, "done", NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
        assert_int_equal(jobs_fail_stale(db), 2);
        assert_int_equal(jobs_fail_stale(db), 0);
        struct job_row *rows;
        size_t n;
        assert_int_equal(jobs_list_recover(db, "site_create", &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(rows[0].id, a);
        assert_string_equal(rows[0].error, "interrupted: the panel stopped during step unit");
        job_rows_free(rows, n);
        assert_int_equal(jobs_recovered(db, a), 0);
        assert_int_equal(jobs_list_recover(db, "site_create", &rows, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(jobs_list_recover(db, "cert_issue", &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(rows[0].id, b);
        job_rows_free(rows, n);
}

static const char *state_of(long long id)
{
        static char st[32];
        struct job_row r;
        if (jobs_get(db, id, &r) < 0)
                return "gone";
        snprintf(st, sizeof(st), "%s", r.state);
        job_row_clear(&r);
        return st;
}

static void test_prune(void **state)
{
        const char *old = "2000-01-01T00:00:00Z";
        long long done_old = jobs_insert(db, "cert_renew", "domain:a.test", "", "[]", 0);
        long long failed_old = jobs_insert(db, "cert_renew", "domain:b.test", "", "[]", 0);
        long long done_new = jobs_insert(db, "cert_renew", "domain:c.test", "", "[]", 0);
        long long running_old = jobs_insert(db, "site_create", "site:1", "", "[]", 0);
        long long stale_old = jobs_insert(db, "site_create", "site:2", "", "[]", 0);
        assert_true(done_old > 0 && failed_old > 0 && done_new > 0 && running_old > 0 &&
                    stale_old > 0);
        assert_int_equal(jobs_save(db, done_old, "done", NULL, NULL, NULL, NULL, NULL, old, old),
                         0);
        assert_int_equal(
            jobs_save(db, failed_old, "failed", NULL, NULL, NULL, NULL, NULL, old, old), 0);
        assert_int_equal(jobs_save(db, done_new, "done", NULL, NULL, NULL, NULL, NULL, NULL,
                                   "2999-01-01T00:00:00Z"),
                         0);
        assert_int_equal(
            jobs_save(db, running_old, "running", NULL, NULL, NULL, NULL, NULL, old, NULL), 0);
        assert_int_equal(
            jobs_save(db, stale_old, "running", NULL, NULL, NULL, NULL, NULL, old, NULL), 0);
        /* a crash leftover still waiting for recovery is kept */
        assert_int_equal(jobs_fail_stale(db), 2);

        assert_int_equal(jobs_prune(db, 0), -EINVAL);
        assert_int_equal(jobs_prune(db, 30), 2);
        assert_string_equal(state_of(done_old), "gone");
        assert_string_equal(state_of(failed_old), "gone");
        assert_string_equal(state_of(done_new), "done");
        assert_string_equal(state_of(running_old), "failed");
        assert_string_equal(state_of(stale_old), "failed");
        assert_int_equal(jobs_prune(db, 30), 0);

        /* once recovered, an old failed row goes too */
        assert_int_equal(jobs_recovered(db, running_old), 0);
        assert_int_equal(jobs_recovered(db, stale_old), 0);
        /* jobs_fail_stale stamped finished_at now: still younger than 30 days */
        assert_int_equal(jobs_prune(db, 30), 0);
        assert_int_equal(jobs_save(db, stale_old, NULL, NULL, NULL, NULL, NULL, NULL, NULL, old),
                         0);
        assert_int_equal(jobs_prune(db, 30), 1);
        assert_string_equal(state_of(stale_old), "gone");
        assert_string_equal(state_of(running_old), "failed");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_insert_save_get, setup, teardown),
            cmocka_unit_test_setup_teardown(test_list_filters_and_paging, setup, teardown),
            cmocka_unit_test_setup_teardown(test_stale_and_recover, setup, teardown),
            cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
