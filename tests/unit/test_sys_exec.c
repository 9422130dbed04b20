#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/timeutil.h"
#include "sys/exec.h"

static void test_output_and_status(void **state)
{
        const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv}, &r), 0);
        assert_int_equal(r.status, 3);
        assert_false(r.timed_out);
        assert_non_null(strstr(r.output, "out\n"));
        assert_non_null(strstr(r.output, "err\n"));
        exec_result_free(&r);
}

static void test_argv_is_not_a_shell(void **state)
{
        /* metacharacters in an argument reach the program verbatim */
        const char *argv[] = {"echo", "--", "a;b $(id) `x` | y", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv}, &r), 0);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.output, "-- a;b $(id) `x` | y\n");
        exec_result_free(&r);
}

static void test_stdin(void **state)
{
        const char *argv[] = {"cat", NULL};
        const char in[] = "user:secret\n";
        struct exec_result r;
        assert_int_equal(
            exec_run(&(struct exec_opts){.argv = argv, .stdin_data = in, .stdin_len = strlen(in)},
                     &r),
            0);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.output, in);
        exec_result_free(&r);
}

static void test_timeout_kills_group(void **state)
{
        const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30", NULL};
        struct exec_result r;
        double t0 = time_monotonic();
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv, .timeout_ms = 200}, &r), 0);
        assert_true(r.timed_out);
        assert_true(r.status >= 128);
        assert_true(time_monotonic() - t0 < 10.0);
        exec_result_free(&r);
}

static void test_output_cap(void **state)
{
        const char *argv[] = {"head", "-c", "100000", "/dev/zero", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv, .max_output = 1000}, &r), 0);
        assert_int_equal(r.status, 0);
        assert_true(r.truncated);
        assert_int_equal(r.output_len, 1000);
        exec_result_free(&r);
}

static void test_missing_program(void **state)
{
        const char *argv[] = {"setec-no-such-program", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv}, &r), -ENOENT);
        const char *empty[] = {NULL};
        assert_int_equal(exec_run(&(struct exec_opts){.argv = empty}, &r), -EINVAL);
        assert_false(exec_find("setec-no-such-program"));
        assert_true(exec_find("sh"));
}

static void test_env_and_cwd(void **state)
{
        setenv("SETEC_SECRET_FOR_TEST", "leak", 1);
        const char *argv[] = {"sh", "-c", "pwd; env", NULL};
        const char *env[] = {"PORT=8123", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv, .env = env, .cwd = "/tmp"}, &r),
                         0);
        assert_int_equal(r.status, 0);
        assert_true(strncmp(r.output, "/tmp\n", 5) == 0);
        assert_non_null(strstr(r.output, "PORT=8123\n"));
        assert_non_null(strstr(r.output, "LANG=C\n"));
        assert_null(strstr(r.output, "SETEC_SECRET_FOR_TEST"));
        exec_result_free(&r);
}

static void collect(void *ctx, const char *data, size_t len)
{
        *(size_t *)ctx += len;
}

static void test_live_output(void **state)
{
        const char *argv[] = {"sh", "-c", "echo one; echo two", NULL};
        size_t seen = 0;
        struct exec_result r;
        assert_int_equal(
            exec_run(&(struct exec_opts){.argv = argv, .on_output = collect, .ctx = &seen}, &r), 0);
        assert_int_equal(seen, 8);
        exec_result_free(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_output_and_status),
            cmocka_unit_test(test_argv_is_not_a_shell),
            cmocka_unit_test(test_stdin),
            cmocka_unit_test(test_timeout_kills_group),
            cmocka_unit_test(test_output_cap),
            cmocka_unit_test(test_missing_program),
            cmocka_unit_test(test_env_and_cwd),
            cmocka_unit_test(test_live_output),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
