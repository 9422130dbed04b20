/* The scheduler over a real database with a fake handler table: seeding,
 * due selection, last_run/next_run, malformed schedules, handlerless types,
 * run-now, and the thread (first tick, prompt stop, signals blocked). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/timeutil.h"
#include "base/util.h"
#include "db/db.h"
#include "db/schedjobs.h"
#include "jobs/cron.h"
#include "jobs/scheduler.h"

static char dir[64], dbpath[128];
static struct db *db;

/* what the fake handlers saw */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static long long seen_ids[32];
static time_t seen_now[32];
static int nseen;
static int fail_next;       /* the renew handler fails with this (-errno) */
static int sigterm_blocked; /* -1 unknown, else whether SIGTERM was blocked */
static pthread_t handler_thread;

static int fake_renew(void *ctx, const struct cron_job_row *job, time_t now, char **err)
{
        pthread_mutex_lock(&seen_lock);
        assert_ptr_equal(ctx, &seen_ids);
        if (nseen < 32) {
                seen_ids[nseen] = job->id;
                seen_now[nseen] = now;
        }
        nseen++;
        sigset_t cur;
        pthread_sigmask(SIG_SETMASK, NULL, &cur);
        sigterm_blocked = sigismember(&cur, SIGTERM);
        handler_thread = pthread_self();
        int r = 0;
        if (fail_next) {
                r = fail_next;
                fail_next = 0;
                *err = strdup("the CA said no");
        }
        pthread_mutex_unlock(&seen_lock);
        return r < 0 ? r : 3;
}

static const struct sched_handler handlers[] = {
    {"ssl_renew", fake_renew},
    {"cleanup", fake_renew},
};

static struct scheduler *new_sched(unsigned max_sleep)
{
        struct sched_config cfg = {
            .db = db,
            .handlers = handlers,
            .nhandlers = ARRAY_SIZE(handlers),
            .ctx = &seen_ids,
            .max_sleep_s = max_sleep,
        };
        struct scheduler *s;
        assert_int_equal(sched_new(&cfg, &s), 0);
        return s;
}

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/setec-sched-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(dbpath, sizeof(dbpath), "%s/setec.db", dir);
        assert_int_equal(db_open(dbpath, &db), 0);
        nseen = 0;
        fail_next = 0;
        sigterm_blocked = -1;
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

static time_t at(const char *s)
{
        time_t t;
        assert_int_equal(time_parse(s, &t), 0);
        return t;
}

static long long add_row(const char *type, const char *sched, int enabled, const char *next_run)
{
        sqlite3 *c = db_conn(db);
        sqlite3_stmt *s;
        assert_int_equal(sqlite3_prepare_v2(c,
                                            "INSERT INTO cron_jobs (job_type, schedule, enabled,"
                                            " next_run) VALUES (?, ?, ?, ?)",
                                            -1, &s, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, sched, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3, enabled);
        if (next_run)
                sqlite3_bind_text(s, 4, next_run, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        sqlite3_finalize(s);
        return sqlite3_last_insert_rowid(c);
}

static struct cron_job_row get_row(long long id)
{
        struct cron_job_row j;
        assert_int_equal(schedjobs_get(db, id, &j), 0);
        return j;
}

static void assert_row(long long id, bool enabled, const char *last_run, const char *next_run)
{
        struct cron_job_row j = get_row(id);
        assert_int_equal(j.enabled, enabled);
        if (last_run)
                assert_string_equal(j.last_run, last_run);
        else
                assert_null(j.last_run);
        if (next_run)
                assert_string_equal(j.next_run, next_run);
        else
                assert_null(j.next_run);
        cron_job_row_clear(&j);
}

static void test_seed(void **state)
{
        struct scheduler *s = new_sched(0);
        assert_int_equal(sched_seed(s, at("2026-03-11T10:00:00Z")), 1);
        struct cron_job_row *rows;
        size_t n;
        assert_int_equal(schedjobs_list(db, &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(rows[0].job_type, "ssl_renew");
        assert_string_equal(rows[0].schedule, "17 3,15 * * *");
        assert_true(rows[0].enabled);
        assert_int_equal(rows[0].site_id, 0);
        assert_null(rows[0].last_run);
        assert_string_equal(rows[0].next_run, "2026-03-11T15:17:00Z");
        long long id = rows[0].id;
        schedjobs_list_free(rows, n);

        /* again: nothing new, nothing changed */
        assert_int_equal(sched_seed(s, at("2026-03-12T10:00:00Z")), 0);
        assert_row(id, true, NULL, "2026-03-11T15:17:00Z");
        sched_free(s);
}

static void test_seed_respects_existing_rows(void **state)
{
        /* the admin's (or the reference's) own ssl_renew row, disabled */
        long long id = add_row("ssl_renew", "0 3 * * *", 0, NULL);
        long long missing = add_row("cleanup", "30 4 * * *", 1, NULL);
        long long bad = add_row("cleanup", "61 * * * *", 1, NULL);
        long long garbled = add_row("cleanup", "0 5 * * *", 1, "yesterday");
        struct scheduler *s = new_sched(0);
        assert_int_equal(sched_seed(s, at("2026-03-11T10:00:00Z")), 0);
        assert_row(id, false, NULL, NULL);
        /* next_run computed where missing or unreadable */
        assert_row(missing, true, NULL, "2026-03-12T04:30:00Z");
        assert_row(garbled, true, NULL, "2026-03-12T05:00:00Z");
        /* a malformed schedule disables the row */
        assert_row(bad, false, NULL, NULL);
        sched_free(s);
}

static void test_tick_runs_due_jobs(void **state)
{
        long long a = add_row("ssl_renew", "17 3,15 * * *", 1, "2026-03-11T15:17:00Z");
        long long b = add_row("cleanup", "0 * * * *", 1, "2026-03-11T14:00:00Z");
        long long future = add_row("cleanup", "0 * * * *", 1, "2026-03-11T16:00:00Z");
        long long off = add_row("cleanup", "0 * * * *", 0, "2026-03-11T12:00:00Z");
        struct scheduler *s = new_sched(0);
        time_t now = at("2026-03-11T15:20:30Z"), wake;
        assert_int_equal(sched_tick(s, now, &wake), 2);
        assert_int_equal(nseen, 2);
        /* oldest next_run first */
        assert_int_equal(seen_ids[0], b);
        assert_int_equal(seen_ids[1], a);
        assert_true(seen_now[0] == now);
        assert_row(a, true, "2026-03-11T15:20:30Z", "2026-03-12T03:17:00Z");
        assert_row(b, true, "2026-03-11T15:20:30Z", "2026-03-11T16:00:00Z");
        assert_row(future, true, NULL, "2026-03-11T16:00:00Z");
        assert_row(off, false, NULL, "2026-03-11T12:00:00Z");
        assert_true(wake == at("2026-03-11T16:00:00Z"));

        /* nothing is due any more */
        assert_int_equal(sched_tick(s, now + 60, &wake), 0);
        assert_int_equal(nseen, 2);
        /* an hour later the hourly ones run */
        assert_int_equal(sched_tick(s, at("2026-03-11T16:00:05Z"), &wake), 2);
        assert_int_equal(nseen, 4);
        assert_row(future, true, "2026-03-11T16:00:05Z", "2026-03-11T17:00:00Z");
        sched_free(s);
}

static void test_tick_failure_still_reschedules(void **state)
{
        long long a = add_row("ssl_renew", "17 3,15 * * *", 1, "2026-03-11T03:17:00Z");
        struct scheduler *s = new_sched(0);
        fail_next = -EIO;
        assert_int_equal(sched_tick(s, at("2026-03-11T03:17:01Z"), NULL), 1);
        assert_row(a, true, "2026-03-11T03:17:01Z", "2026-03-11T15:17:00Z");
        sched_free(s);
}

static void test_tick_malformed_and_handlerless(void **state)
{
        long long bad = add_row("ssl_renew", "0 25 * * *", 1, "2026-03-11T00:00:00Z");
        long long never = add_row("ssl_renew", "0 0 31 2 *", 1, "2026-03-11T00:00:00Z");
        long long nohandler = add_row("git_pull", "*/10 * * * *", 1, "2026-03-11T00:00:00Z");
        long long unset = add_row("cleanup", "0 0 * * *", 1, NULL);
        struct scheduler *s = new_sched(0);
        time_t wake;
        assert_int_equal(sched_tick(s, at("2026-03-11T10:05:00Z"), &wake), 0);
        assert_int_equal(nseen, 0);
        assert_row(bad, false, NULL, NULL);
        assert_row(never, false, NULL, NULL);
        /* skipped: not run (no last_run), but its next run advances */
        assert_row(nohandler, true, NULL, "2026-03-11T10:10:00Z");
        /* never computed: scheduled, not run */
        assert_row(unset, true, NULL, "2026-03-12T00:00:00Z");
        assert_true(wake == at("2026-03-11T10:10:00Z"));
        sched_free(s);
}

static void test_run_job(void **state)
{
        long long a = add_row("ssl_renew", "17 3,15 * * *", 1, "2026-03-11T15:17:00Z");
        long long off = add_row("cleanup", "0 0 * * *", 0, NULL);
        long long bad = add_row("cleanup", "0 0 * * 9", 1, "2026-03-12T00:00:00Z");
        long long nohandler = add_row("backup", "0 0 * * *", 1, "2026-03-12T00:00:00Z");
        struct scheduler *s = new_sched(0);
        struct sched_result res;

        /* not due, runs anyway */
        assert_int_equal(sched_run_job(s, a, at("2026-03-11T10:00:00Z"), &res), 0);
        assert_true(res.ran);
        assert_int_equal(res.rc, 3);
        assert_null(res.err);
        assert_string_equal(res.job_type, "ssl_renew");
        assert_string_equal(res.last_run, "2026-03-11T10:00:00Z");
        assert_string_equal(res.next_run, "2026-03-11T15:17:00Z");
        sched_result_clear(&res);
        assert_row(a, true, "2026-03-11T10:00:00Z", "2026-03-11T15:17:00Z");

        fail_next = -EPROTO;
        assert_int_equal(sched_run_job(s, a, at("2026-03-11T10:01:00Z"), &res), 0);
        assert_true(res.ran);
        assert_int_equal(res.rc, -EPROTO);
        assert_string_equal(res.err, "the CA said no");
        sched_result_clear(&res);

        /* a disabled row runs and stays disabled, without a next run */
        assert_int_equal(sched_run_job(s, off, at("2026-03-11T10:02:00Z"), &res), 0);
        assert_true(res.ran);
        assert_string_equal(res.next_run, "");
        sched_result_clear(&res);
        assert_row(off, false, "2026-03-11T10:02:00Z", NULL);

        assert_int_equal(sched_run_job(s, bad, at("2026-03-11T10:03:00Z"), &res), -EINVAL);
        assert_false(res.ran);
        assert_non_null(strstr(res.err, "day-of-week: 9 is out of range 0-7"));
        sched_result_clear(&res);
        assert_row(bad, false, NULL, NULL);

        assert_int_equal(sched_run_job(s, nohandler, at("2026-03-11T10:04:00Z"), &res), 0);
        assert_false(res.ran);
        sched_result_clear(&res);
        assert_row(nohandler, true, NULL, "2026-03-12T00:00:00Z");

        assert_int_equal(sched_run_job(s, 9999, at("2026-03-11T10:05:00Z"), &res), -ENOENT);
        sched_result_clear(&res);
        assert_int_equal(nseen, 3);
        assert_true(sched_has_handler(s, "ssl_renew"));
        assert_false(sched_has_handler(s, "backup"));
        sched_free(s);
}

static int seen_count(void)
{
        pthread_mutex_lock(&seen_lock);
        int n = nseen;
        pthread_mutex_unlock(&seen_lock);
        return n;
}

static void test_thread_first_tick_and_prompt_stop(void **state)
{
        /* missed while the panel was down: runs once at the first tick */
        long long a = add_row("ssl_renew", "17 3,15 * * *", 1, "2020-01-01T00:00:00Z");
        struct scheduler *s = new_sched(30);
        assert_int_equal(sched_start(s), 0);
        assert_int_equal(sched_start(s), -EALREADY);
        for (int i = 0; i < 500 && sched_tick_count(s) < 1; i++)
                usleep(10000);
        assert_true(sched_tick_count(s) >= 1);
        assert_int_equal(seen_count(), 1);
        assert_int_equal(seen_ids[0], a);
        /* on the scheduler's own thread, with every signal blocked */
        assert_false(pthread_equal(handler_thread, pthread_self()));
        assert_int_equal(sigterm_blocked, 1);
        struct cron_job_row j = get_row(a);
        time_t next;
        assert_int_equal(time_parse(j.next_run, &next), 0);
        assert_true(next > time(NULL));
        cron_job_row_clear(&j);
        /* seeded nothing: an ssl_renew row exists */
        struct cron_job_row *rows;
        size_t n;
        assert_int_equal(schedjobs_list(db, &rows, &n), 0);
        assert_int_equal(n, 1);
        schedjobs_list_free(rows, n);

        /* the thread sleeps up to 30 s: stop must wake it at once */
        double t0 = time_monotonic();
        sched_stop(s);
        double took = time_monotonic() - t0;
        if (took > 2.0)
                fail_msg("sched_stop took %.2f s", took);
        sched_stop(s); /* idempotent */
        sched_free(s);
}

static void test_thread_seeds_on_start(void **state)
{
        struct scheduler *s = new_sched(0);
        time_t before = time(NULL);
        assert_int_equal(sched_start(s), 0);
        /* visible as soon as start returns */
        struct cron_job_row *rows;
        size_t n;
        assert_int_equal(schedjobs_list(db, &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(rows[0].job_type, "ssl_renew");
        time_t next;
        assert_int_equal(time_parse(rows[0].next_run, &next), 0);
        assert_true(next > before && next <= before + 12 * 3600);
        struct cron_expr e;
        assert_int_equal(cron_parse(rows[0].schedule, &e, NULL), 0);
        assert_true(cron_matches(&e, next));
        schedjobs_list_free(rows, n);
        sched_free(s); /* stops the running thread */
        assert_int_equal(seen_count(), 0);
}

static void test_run_now_wakes_and_serialises(void **state)
{
        /* run-now while the thread runs: both paths share one lock, the row
         * ends with the run's times */
        long long a = add_row("cleanup", "0 0 1 1 *", 1, NULL);
        struct scheduler *s = new_sched(30);
        assert_int_equal(sched_start(s), 0);
        struct sched_result res;
        for (int i = 0; i < 5; i++) {
                assert_int_equal(sched_run_job(s, a, time(NULL), &res), 0);
                assert_true(res.ran);
                sched_result_clear(&res);
        }
        assert_int_equal(seen_count(), 5);
        sched_free(s);
        struct cron_job_row j = get_row(a);
        assert_non_null(j.last_run);
        assert_non_null(strstr(j.next_run, "-01-01T00:00:00Z"));
        cron_job_row_clear(&j);
}

static void exec_sql(const char *q)
{
        char *err = NULL;
        if (sqlite3_exec(db_conn(db), q, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", q, err);
}

static void test_ssl_warnings(void **state)
{
        struct ssl_warning *w;
        size_t n;
        assert_int_equal(sched_ssl_warnings(db, &w, &n), 0);
        assert_int_equal(n, 0);
        exec_sql("INSERT INTO sites (domain, app_root) VALUES ('a.test', '/x'), ('b.test', '/y'),"
                 " ('c.test', '/z'), ('d.test', '/w')");
        exec_sql("INSERT INTO cert_attempts (domain, kind, result, error, created_at) VALUES"
                 /* a: renewed after a failure: fine */
                 " ('a.test', 'auto', 'failed', 'timeout', '2026-03-10T03:17:00Z'),"
                 " ('a.test', 'renew', 'success', NULL, '2026-03-10T04:00:00Z'),"
                 /* b: the latest automatic renewal failed */
                 " ('b.test', 'issue', 'success', NULL, '2026-03-01T00:00:00Z'),"
                 " ('b.test', 'auto', 'failed', 'replaced below',"
                 "  '2026-03-11T03:17:00Z'),"
                 /* c: a failed first issuance is not a renewal */
                 " ('c.test', 'issue', 'failed', 'rejected', '2026-03-11T05:00:00Z'),"
                 /* d: a manual renewal failed */
                 " ('d.test', 'renew', 'failed', NULL, '2026-03-11T06:00:00Z'),"
                 /* gone.test is no longer a site */
                 " ('gone.test', 'auto', 'failed', 'x', '2026-03-11T06:00:00Z')");
        /* a raw non-UTF-8 byte in an error */
        exec_sql("UPDATE cert_attempts SET error = 'bad ' || CAST(x'ff' AS TEXT) || ' byte'"
                 " WHERE domain = 'b.test' AND result = 'failed'");
        assert_int_equal(sched_ssl_warnings(db, &w, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(w[0].domain, "b.test");
        assert_string_equal(w[0].message,
                            "certificate renewal failed at 2026-03-11T03:17:00Z: bad ? byte");
        assert_string_equal(w[1].domain, "d.test");
        assert_string_equal(w[1].message, "certificate renewal failed at 2026-03-11T06:00:00Z");
        ssl_warnings_free(w, n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_seed, setup, teardown),
            cmocka_unit_test_setup_teardown(test_seed_respects_existing_rows, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tick_runs_due_jobs, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tick_failure_still_reschedules, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tick_malformed_and_handlerless, setup, teardown),
            cmocka_unit_test_setup_teardown(test_run_job, setup, teardown),
            cmocka_unit_test_setup_teardown(test_thread_first_tick_and_prompt_stop, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_thread_seeds_on_start, setup, teardown),
            cmocka_unit_test_setup_teardown(test_run_now_wakes_and_serialises, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ssl_warnings, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
