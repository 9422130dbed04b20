/* Tracked jobs: row lifecycle, live output window, subscribers woken by
 * their eventfd, reading from offsets, loss accounting, lingering. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
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
#include "db/sites.h"
#include "jobs/job.h"

static char dir[64], dbpath[128];
static struct db *db;

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/setec-jobs-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(dbpath, sizeof(dbpath), "%s/setec.db", dir);
        assert_int_equal(db_open(dbpath, &db), 0);
        return 0;
}

static int teardown(void **state)
{
        jobs_reap(0);
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

static bool readable(int fd, int ms)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};
        return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void test_lifecycle(void **state)
{
        struct job *j;
        assert_int_equal(job_new(db, 0, "create", &j), 0);
        long long id = job_id(j);
        assert_true(id > 0);
        struct deployment d = {0};
        assert_int_equal(deployments_get(db, id, &d), 0);
        assert_string_equal(d.status, "running");
        assert_string_equal(d.type, "create");
        deployment_clear(&d);

        job_output(j, "line one\n", 9);
        job_printf(j, "step %d\n", 2);
        assert_false(job_done(j, NULL));
        assert_null(job_summary(j));
        char *tail = job_tail(j, 100);
        assert_string_equal(tail, "line one\nstep 2");
        free(tail);
        tail = job_tail(j, 6);
        assert_string_equal(tail, "step 2");
        free(tail);

        assert_int_equal(job_finish(j, false, "git clone failed: nope"), 0);
        bool ok = true;
        assert_true(job_done(j, &ok));
        assert_false(ok);
        char *sum = job_summary(j);
        assert_string_equal(sum, "git clone failed: nope");
        free(sum);
        /* only the first end counts; output after the end is ignored */
        assert_int_equal(job_finish(j, true, "again"), 0);
        job_output(j, "late\n", 5);
        assert_true(job_done(j, &ok));
        assert_false(ok);

        assert_int_equal(deployments_get(db, id, &d), 0);
        assert_string_equal(d.status, "failed");
        assert_string_equal(d.output, "line one\nstep 2\ngit clone failed: nope\n");
        assert_non_null(d.finished_at);
        deployment_clear(&d);

        struct job *f = job_find(id);
        assert_ptr_equal(f, j);
        job_unref(f);
        job_unref(j);
        /* finished and past its linger time: only the row stays */
        jobs_reap(0);
        assert_null(job_find(id));
        assert_int_equal(deployments_get(db, id, &d), 0);
        deployment_clear(&d);
        assert_null(job_find(987654));
}

static void test_subscriber(void **state)
{
        struct job *j;
        assert_int_equal(job_new(db, 0, "deploy", &j), 0);
        job_output(j, "before\n", 7);
        struct job_sub *s;
        assert_int_equal(job_subscribe(j, 0, &s), 0);
        int fd = job_sub_fd(s);
        assert_true(readable(fd, 0)); /* the first read is due at once */

        struct strbuf out = STRBUF_INIT(0);
        size_t skipped, off;
        bool done, ok;
        assert_int_equal(job_sub_read(s, &out, 1 << 20, &skipped, &off, &done, &ok), 0);
        assert_string_equal(out.data, "before\n");
        assert_int_equal(off, 7);
        assert_int_equal(skipped, 0);
        assert_false(done);
        assert_false(readable(fd, 0)); /* acknowledged */

        job_output(j, "abc", 3);
        assert_true(readable(fd, 1000));
        strbuf_reset(&out);
        /* a small max leaves the fd readable for the rest */
        assert_int_equal(job_sub_read(s, &out, 2, &skipped, &off, &done, &ok), 0);
        assert_string_equal(out.data, "ab");
        assert_int_equal(off, 9);
        assert_true(readable(fd, 0));
        strbuf_reset(&out);
        assert_int_equal(job_sub_read(s, &out, 100, &skipped, &off, &done, &ok), 0);
        assert_string_equal(out.data, "c");
        assert_false(done);

        job_finish(j, true, "done");
        assert_true(readable(fd, 1000));
        strbuf_reset(&out);
        assert_int_equal(job_sub_read(s, &out, 100, &skipped, &off, &done, &ok), 0);
        assert_string_equal(out.data, "\ndone\n");
        assert_true(done);
        assert_true(ok);

        /* a late subscriber from an offset */
        struct job_sub *s2;
        assert_int_equal(job_subscribe(j, 7, &s2), 0);
        strbuf_reset(&out);
        assert_int_equal(job_sub_read(s2, &out, 100, &skipped, &off, &done, &ok), 0);
        assert_string_equal(out.data, "abc\ndone\n");
        assert_true(done);
        /* an offset beyond the end is clamped */
        struct job_sub *s3;
        assert_int_equal(job_subscribe(j, 1000000, &s3), 0);
        strbuf_reset(&out);
        assert_int_equal(job_sub_read(s3, &out, 100, &skipped, &off, &done, &ok), 0);
        assert_int_equal(out.len, 0);
        assert_int_equal(off, 16);
        assert_true(done);
        strbuf_free(&out);
        /* subscriptions keep the job alive after the caller lets go */
        job_unref(j);
        job_sub_free(s);
        job_sub_free(s2);
        job_sub_free(s3);
}

static void test_window_bounded(void **state)
{
        struct job *j;
        assert_int_equal(job_new(db, 0, "deploy", &j), 0);
        struct job_sub *s;
        assert_int_equal(job_subscribe(j, 0, &s), 0);
        size_t chunk = 256 * 1024;
        char *buf = malloc(chunk);
        assert_non_null(buf);
        for (int i = 0; i < 6; i++) { /* 1.5 MiB through a 1 MiB window */
                memset(buf, 'a' + i, chunk);
                job_output(j, buf, chunk);
        }
        free(buf);
        struct strbuf out = STRBUF_INIT(0);
        size_t skipped, off;
        bool done, ok;
        assert_int_equal(job_sub_read(s, &out, 4 << 20, &skipped, &off, &done, &ok), 0);
        assert_int_equal(skipped, 6 * chunk - JOB_OUTPUT_KEEP);
        assert_int_equal(out.len, JOB_OUTPUT_KEEP);
        assert_int_equal(off, 6 * chunk);
        assert_int_equal(out.data[0], 'c');
        assert_int_equal(out.data[out.len - 1], 'f');
        strbuf_free(&out);
        /* one output bigger than the window */
        char *big = malloc(JOB_OUTPUT_KEEP + 10);
        assert_non_null(big);
        memset(big, 'z', JOB_OUTPUT_KEEP + 10);
        big[JOB_OUTPUT_KEEP + 9] = 'Y';
        job_output(j, big, JOB_OUTPUT_KEEP + 10);
        free(big);
        job_finish(j, true, NULL);
        struct deployment d = {0};
        assert_int_equal(deployments_get(db, job_id(j), &d), 0);
        /* the row keeps the window plus a note of what was left out */
        assert_non_null(strstr(d.output, "bytes of earlier output omitted"));
        assert_true(strlen(d.output) < JOB_OUTPUT_KEEP + 100);
        assert_int_equal(d.output[strlen(d.output) - 1], 'Y');
        deployment_clear(&d);
        job_sub_free(s);
        job_unref(j);
}

struct writer {
        struct job *j;
        int n;
};

static void *write_lines(void *arg)
{
        struct writer *w = arg;
        for (int i = 0; i < w->n; i++)
                job_printf(w->j, "%06d\n", i);
        return NULL;
}

static void test_concurrent_reader(void **state)
{
        struct job *j;
        char *msg = NULL;
        assert_int_equal(sqlite3_exec(db_conn(db),
                                      "INSERT INTO sites (id, domain, app_root) VALUES"
                                      " (7, 'j.example.com', '/var/www/j')",
                                      NULL, NULL, &msg),
                         SQLITE_OK);
        assert_int_equal(job_new(db, 7, "deploy", &j), 0);
        assert_int_equal(job_site_id(j), 7);
        struct job_sub *s;
        assert_int_equal(job_subscribe(j, 0, &s), 0);
        struct writer w = {j, 20000};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, write_lines, &w), 0);
        struct strbuf out = STRBUF_INIT(0);
        size_t skipped, off, total_skipped = 0;
        bool done = false, ok;
        bool finished = false;
        while (!done) {
                if (!readable(job_sub_fd(s), 5000))
                        fail_msg("no wake-up");
                assert_int_equal(job_sub_read(s, &out, 4096, &skipped, &off, &done, &ok), 0);
                total_skipped += skipped;
                if (!finished && out.len >= 20000 * 7) {
                        pthread_join(t, NULL);
                        job_finish(j, true, NULL);
                        finished = true;
                }
        }
        if (!finished)
                pthread_join(t, NULL);
        assert_int_equal(total_skipped, 0);
        assert_int_equal(out.len, 20000 * 7);
        /* every line, in order */
        for (int i = 0; i < 20000; i += 997) {
                char want[8];
                snprintf(want, sizeof(want), "%06d", i);
                assert_memory_equal(out.data + (size_t)i * 7, want, 6);
        }
        strbuf_free(&out);
        job_sub_free(s);
        job_unref(j);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
            cmocka_unit_test_setup_teardown(test_subscriber, setup, teardown),
            cmocka_unit_test_setup_teardown(test_window_bounded, setup, teardown),
            cmocka_unit_test_setup_teardown(test_concurrent_reader, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
