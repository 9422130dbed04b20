/* The job engine's state machine against a real SQLite file: steps run in
 * order, JOB_SKIP, a failing step undoes what ran in reverse, the row
 * follows (state, steps, output, error), a busy subject names the running
 * job, cancel of a running program (SIGTERM to its group) and of a queued
 * job, end callbacks see ctx, and jobs a crash left running are failed at
 * start and handed to their kind's recover. (The jobs table's own queries:
 * test_db_jobs.c.) */
#include <errno.h>
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

#include "base/strbuf.h"
#include "base/util.h"
#include "db/db.h"
#include "db/jobs.h"
#include "jobs/engine.h"
#include "jobs/locks.h"
#include "sys/exec.h"

static char dir[64], dbpath[128];
static struct db *db;

/* what the steps did, in order: "a b !b ..." ('!' = undo) */
struct trace {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        char log[512];
        int fail_at;        /* step index that fails, -1 none */
        int skip_at;        /* step index that skips, -1 none */
        bool gate_open;     /* the "wait" step blocks until set */
        bool in_wait;       /* the "wait" step has started */
        int ended;          /* end callbacks seen */
        bool ctx_seen;      /* the end callback got this ctx */
        int abandoned;      /* abandon calls */
        int freed;          /* free_ctx calls */
        int exec_cancelled; /* the program step saw res.cancelled */
};

static void note(struct trace *t, const char *what)
{
        pthread_mutex_lock(&t->mu);
        if (*t->log)
                strcat(t->log, " ");
        strcat(t->log, what);
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
}

static int step_n(struct job *j, struct trace *t, int i, const char *name)
{
        note(t, name);
        job_printf(j, "step %s\n", name);
        if (i == t->skip_at)
                return JOB_SKIP;
        if (i == t->fail_at) {
                if (i == 1)
                        job_fail(j, "b failed: it did not work");
                return -EIO;
        }
        return 0;
}

static int run_a(struct job *j, void *ctx)
{
        return step_n(j, ctx, 0, "a");
}
static int run_b(struct job *j, void *ctx)
{
        return step_n(j, ctx, 1, "b");
}
static int run_c(struct job *j, void *ctx)
{
        return step_n(j, ctx, 2, "c");
}
static void undo_a(struct job *j, void *ctx)
{
        note(ctx, "!a");
}
static void undo_b(struct job *j, void *ctx)
{
        note(ctx, "!b");
}

static void free_trace(void *ctx)
{
        struct trace *t = ctx;
        pthread_mutex_lock(&t->mu);
        t->freed++;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
}

static void abandon_trace(struct job *j, void *ctx)
{
        struct trace *t = ctx;
        pthread_mutex_lock(&t->mu);
        t->abandoned++;
        pthread_mutex_unlock(&t->mu);
}

static void on_end(struct job *j, void *ctx, void *arg)
{
        struct trace *t = arg;
        pthread_mutex_lock(&t->mu);
        t->ended++;
        t->ctx_seen = ctx == (void *)t;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
}

static const struct job_step abc_steps[] = {
    {"a", run_a, undo_a},
    {"b", run_b, undo_b},
    {"c", run_c, NULL},
};
static const struct job_kind abc_kind = {"site_update", abc_steps, 3,
                                         abandon_trace, NULL,      free_trace};

/* a step that waits for the test to open the gate */
static int run_wait(struct job *j, void *ctx)
{
        struct trace *t = ctx;
        pthread_mutex_lock(&t->mu);
        t->in_wait = true;
        pthread_cond_broadcast(&t->cv);
        while (!t->gate_open)
                pthread_cond_wait(&t->cv, &t->mu);
        pthread_mutex_unlock(&t->mu);
        note(t, "wait");
        return 0;
}
static const struct job_step wait_steps[] = {{"wait", run_wait, NULL}};
static const struct job_kind wait_kind = {"site_deploy", wait_steps, 1,
                                          abandon_trace, NULL,       free_trace};

/* a step that runs a program which never ends by itself */
static int run_sleep(struct job *j, void *ctx)
{
        struct trace *t = ctx;
        const char *const argv[] = {"sleep", "600", NULL};
        struct exec_opts o = {
            .argv = argv, .timeout_ms = 600000, .on_output = job_output, .ctx = j};
        struct exec_result res;
        pthread_mutex_lock(&t->mu);
        t->in_wait = true;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        int rc = exec_run(&o, &res);
        if (rc == 0) {
                if (res.cancelled)
                        t->exec_cancelled = 1;
                exec_result_free(&res);
        }
        note(t, "sleep");
        return res.cancelled ? -ECANCELED : 0;
}
static const struct job_step sleep_steps[] = {{"sleep", run_sleep, undo_a}, {"c", run_c, NULL}};
static const struct job_kind sleep_kind = {"backup_create", sleep_steps, 2,
                                           abandon_trace,   NULL,        free_trace};

static struct trace *trace_new(void)
{
        struct trace *t = calloc(1, sizeof(*t));
        pthread_mutex_init(&t->mu, NULL);
        pthread_cond_init(&t->cv, NULL);
        t->fail_at = t->skip_at = -1;
        return t;
}

static void trace_free(struct trace *t)
{
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        free(t);
}

/* wait (no deadline needed: a hang fails the ctest timeout) for a field */
#define WAIT_FOR(t, cond)                                                                          \
        do {                                                                                       \
                pthread_mutex_lock(&(t)->mu);                                                      \
                while (!(cond))                                                                    \
                        pthread_cond_wait(&(t)->cv, &(t)->mu);                                     \
                pthread_mutex_unlock(&(t)->mu);                                                    \
        } while (0)

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/setec-engine-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(dbpath, sizeof(dbpath), "%s/setec.db", dir);
        assert_int_equal(db_open(dbpath, &db), 0);
        assert_int_equal(jobs_engine_start(db, 1), 0);
        return 0;
}

static int teardown(void **state)
{
        jobs_engine_stop();
        db_close(db);
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        char p[256];
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                snprintf(p, sizeof(p), "%s%s", dbpath, suffixes[i]);
                unlink(p);
        }
        rmdir(dir);
        assert_int_equal(locks_count(), 0);
        return 0;
}

static struct job *start(const struct job_kind *k, const char *subject, struct trace *t)
{
        struct job *j = NULL;
        struct job_start_opts o = {.user = "admin", .on_end = on_end, .on_end_arg = t};
        assert_int_equal(job_start(k, subject, t, &o, &j, NULL), 0);
        assert_non_null(j);
        return j;
}

static void test_all_steps_done(void **state)
{
        struct trace *t = trace_new();
        struct job *j = start(&abc_kind, "site:1", t);
        WAIT_FOR(t, t->ended == 1 && t->freed == 1);
        assert_string_equal(t->log, "a b c");
        assert_true(t->ctx_seen);
        assert_int_equal(t->abandoned, 0);
        bool ok = false;
        assert_true(job_done(j, &ok));
        assert_true(ok);
        assert_int_equal(job_state_of(j), JOB_DONE);
        assert_null(job_summary(j));
        assert_int_equal(locks_holder("site:1"), -1);
        /* the row: done, every step done, the output, times */
        struct job_row row;
        assert_int_equal(jobs_get(db, job_id(j), &row), 0);
        assert_string_equal(row.state, "done");
        assert_string_equal(row.kind, "site_update");
        assert_string_equal(row.subject, "site:1");
        assert_string_equal(row.user, "admin");
        assert_non_null(strstr(row.output, "step a\nstep b\nstep c\n"));
        assert_non_null(strstr(row.steps, "\"name\":\"c\",\"state\":\"done\""));
        assert_non_null(row.started_at);
        assert_non_null(row.finished_at);
        assert_string_equal(row.error, "");
        job_row_clear(&row);
        /* the API's view */
        json_t *o = job_json(j, true);
        assert_string_equal(json_string_value(json_object_get(o, "state")), "done");
        assert_int_equal(json_array_size(json_object_get(o, "steps")), 3);
        assert_true(json_is_null(json_object_get(o, "error")));
        json_decref(o);
        /* an ended job: cancel refused, late watchers called at once */
        assert_int_equal(job_cancel(j), -EALREADY);
        assert_int_equal(job_on_end(j, on_end, t), 0);
        assert_int_equal(t->ended, 2);
        assert_false(t->ctx_seen); /* ctx is gone by then */
        job_unref(j);
        trace_free(t);
}

static void test_failure_undoes_in_reverse(void **state)
{
        struct trace *t = trace_new();
        t->fail_at = 2;
        struct job *j = start(&abc_kind, "site:2", t);
        WAIT_FOR(t, t->ended == 1 && t->freed == 1);
        /* c failed: b and a are undone, in reverse; c has no undo */
        assert_string_equal(t->log, "a b c !b !a");
        assert_int_equal(job_state_of(j), JOB_FAILED);
        char *err = job_summary(j), *step = job_failed_step(j);
        assert_string_equal(err, "c failed: Input/output error");
        assert_string_equal(step, "c");
        free(err);
        free(step);
        struct job_row row;
        assert_int_equal(jobs_get(db, job_id(j), &row), 0);
        assert_string_equal(row.state, "failed");
        assert_string_equal(row.error, "c failed: Input/output error");
        assert_string_equal(row.step, "c");
        assert_non_null(strstr(row.steps, "\"name\":\"a\",\"state\":\"undone\""));
        assert_non_null(strstr(row.steps, "\"name\":\"c\",\"state\":\"failed\""));
        assert_non_null(strstr(row.output, "==> rolling back"));
        job_row_clear(&row);
        job_unref(j);
        trace_free(t);
}

static void test_failure_message_and_skip(void **state)
{
        struct trace *t = trace_new();
        t->skip_at = 0;
        t->fail_at = 1;
        struct job *j = start(&abc_kind, "site:3", t);
        WAIT_FOR(t, t->ended == 1 && t->freed == 1);
        /* a skipped: never undone; b failed with its own text; c never ran */
        assert_string_equal(t->log, "a b !b");
        char *err = job_summary(j);
        assert_string_equal(err, "b failed: it did not work");
        free(err);
        json_t *o = job_json(j, true);
        json_t *steps = json_object_get(o, "steps");
        assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0), "state")),
                            "skipped");
        assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 1), "state")),
                            "failed");
        assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 2), "state")),
                            "pending");
        json_decref(o);
        job_unref(j);
        trace_free(t);
}

static void test_busy_subject_names_the_job(void **state)
{
        struct trace *t = trace_new(), *t2 = trace_new();
        struct job *j = start(&wait_kind, "site:4", t);
        WAIT_FOR(t, t->in_wait);
        long long busy = 0;
        /* the engine owns ctx whatever happens: t2 is freed (free_ctx) and
         * abandoned, no end callback */
        struct job_start_opts o = {.on_end = on_end, .on_end_arg = t2};
        assert_int_equal(job_start(&abc_kind, "site:4", t2, &o, NULL, &busy), -EBUSY);
        assert_int_equal(busy, job_id(j));
        assert_int_equal(t2->freed, 1);
        assert_int_equal(t2->ended, 0);
        assert_int_equal(t2->abandoned, 1);
        assert_int_equal(locks_holder("site:4"), job_id(j));
        assert_int_equal(job_state_of(j), JOB_RUNNING);
        /* another subject is not blocked by it (it queues: one worker) */
        pthread_mutex_lock(&t->mu);
        t->gate_open = true;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        WAIT_FOR(t, t->ended == 1 && t->freed == 1);
        assert_int_equal(locks_holder("site:4"), -1);
        job_unref(j);
        trace_free(t);
        trace_free(t2);
}

static void test_cancel_running_program_and_queued_job(void **state)
{
        struct trace *t = trace_new(), *q = trace_new();
        struct job *j = start(&sleep_kind, "backup:1", t);
        WAIT_FOR(t, t->in_wait);
        /* one worker: this one waits */
        struct job *k = start(&abc_kind, "backup:2", q);
        assert_int_equal(job_state_of(k), JOB_QUEUED);
        assert_int_equal(job_cancel(k), 0);
        /* cancelled at once, its steps never run, the kind undid the start */
        assert_int_equal(job_state_of(k), JOB_CANCELLED);
        assert_int_equal(q->abandoned, 1);
        assert_int_equal(q->ended, 1);
        assert_string_equal(q->log, "");
        assert_int_equal(locks_holder("backup:2"), -1);
        /* the running program gets SIGTERM; the step's undo runs */
        assert_int_equal(job_cancel(j), 0);
        WAIT_FOR(t, t->ended == 1 && t->freed == 1);
        assert_int_equal(t->exec_cancelled, 1);
        assert_string_equal(t->log, "sleep !a");
        assert_int_equal(job_state_of(j), JOB_CANCELLED);
        char *err = job_summary(j);
        assert_string_equal(err, "cancelled");
        free(err);
        struct job_row row;
        assert_int_equal(jobs_get(db, job_id(j), &row), 0);
        assert_string_equal(row.state, "cancelled");
        job_row_clear(&row);
        assert_int_equal(jobs_get(db, job_id(k), &row), 0);
        assert_string_equal(row.state, "cancelled");
        job_row_clear(&row);
        job_unref(j);
        job_unref(k);
        WAIT_FOR(q, q->freed == 1);
        trace_free(t);
        trace_free(q);
}

static void test_subscriber_follows_output_and_steps(void **state)
{
        struct trace *t = trace_new();
        struct job *j = start(&wait_kind, "site:5", t);
        WAIT_FOR(t, t->in_wait);
        struct job_sub *s;
        assert_int_equal(job_subscribe(j, 0, &s), 0);
        json_t *steps = json_array();
        assert_int_equal(job_sub_steps(s, steps), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0), "state")),
                            "running");
        assert_int_equal(job_sub_steps(s, steps), 0); /* nothing new */
        json_decref(steps);
        job_printf(j, "hello\n");
        struct strbuf out = STRBUF_INIT(1 << 20);
        size_t skipped, off;
        bool done, ok;
        assert_int_equal(job_sub_read(s, &out, 1024, &skipped, &off, &done, &ok), 0);
        assert_string_equal(out.data, "hello\n");
        assert_int_equal(off, 6);
        assert_false(done);
        pthread_mutex_lock(&t->mu);
        t->gate_open = true;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        WAIT_FOR(t, t->ended == 1 && t->freed == 1);
        assert_int_equal(job_sub_read(s, &out, 1024, &skipped, &off, &done, &ok), 0);
        assert_true(done);
        assert_true(ok);
        strbuf_free(&out);
        job_sub_free(s);
        job_unref(j);
        trace_free(t);
}

static int recovered;
static char recovered_subject[64], recovered_step[64];
static long long recovered_value;

static void recover_it(const struct config *cfg, struct db *d, const char *subject, json_t *data,
                       const char *failed_step)
{
        if (recovered++)
                return; /* keep the first */
        snprintf(recovered_subject, sizeof(recovered_subject), "%s", subject);
        snprintf(recovered_step, sizeof(recovered_step), "%s", failed_step);
        recovered_value = json_integer_value(json_object_get(data, "site_id"));
}

static const struct job_kind recover_kind = {"site_create", abc_steps, 3, NULL, recover_it, NULL};

static void test_crash_leftovers_fail_and_recover(void **state)
{
        jobs_engine_stop();
        /* rows as a killed process leaves them */
        long long a = jobs_insert(db, "site_create", "site:9", "admin", "[]", 0);
        long long b = jobs_insert(db, "site_create", "site:10", "admin", "[]", 0);
        long long c = jobs_insert(db, "site_deploy", "site:11", "admin", "[]", 0);
        assert_true(a > 0 && b > 0 && c > 0);
        assert_int_equal(jobs_save(db, a, "running", "git clone", NULL, NULL, NULL,
                                   "{\"site_id\":9}", "2026-01-01T00:00:00Z", NULL),
                         0);
        assert_int_equal(
            jobs_save(db, c, "done", "", NULL, NULL, NULL, NULL, NULL, "2026-01-01T00:00:01Z"), 0);
        assert_int_equal(jobs_engine_start(db, 1), 0);
        struct job_row row;
        assert_int_equal(jobs_get(db, a, &row), 0);
        assert_string_equal(row.state, "failed");
        assert_string_equal(row.error, "interrupted: the panel stopped during step git clone");
        assert_non_null(row.finished_at);
        job_row_clear(&row);
        assert_int_equal(jobs_get(db, b, &row), 0);
        assert_string_equal(row.state, "failed");
        assert_string_equal(row.error, "interrupted: the panel stopped before the job ran");
        job_row_clear(&row);
        assert_int_equal(jobs_get(db, c, &row), 0);
        assert_string_equal(row.state, "done"); /* ended jobs stay as they were */
        job_row_clear(&row);
        /* the kind repairs its subjects once */
        recovered = 0;
        jobs_recover(NULL, db, &recover_kind);
        assert_int_equal(recovered, 2);
        jobs_recover(NULL, db, &recover_kind);
        assert_int_equal(recovered, 2);
        /* the first one carried its data and step */
        assert_string_equal(recovered_subject, "site:9");
        assert_string_equal(recovered_step, "git clone");
        assert_int_equal(recovered_value, 9);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_all_steps_done, setup, teardown),
            cmocka_unit_test_setup_teardown(test_failure_undoes_in_reverse, setup, teardown),
            cmocka_unit_test_setup_teardown(test_failure_message_and_skip, setup, teardown),
            cmocka_unit_test_setup_teardown(test_busy_subject_names_the_job, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cancel_running_program_and_queued_job, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_subscriber_follows_output_and_steps, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_crash_leftovers_fail_and_recover, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
