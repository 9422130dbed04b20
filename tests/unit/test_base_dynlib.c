#include <dlfcn.h>
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

#include "base/dynlib.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"

#define NO_LIB "libsetec-no-such-library.so.0"

static char logpath[] = "/tmp/test_base_dynlib.XXXXXX";

static int setup(void **state)
{
        (void)state;
        int fd = mkstemp(logpath);
        if (fd < 0)
                return -1;
        close(fd);
        return log_set_file(logpath);
}

static int teardown(void **state)
{
        (void)state;
        log_set_file(NULL);
        unlink(logpath);
        return 0;
}

/* The log written since the last call. */
static char *new_log(void)
{
        static size_t seen;
        char *text = NULL;
        size_t len = 0;
        assert_int_equal(read_file(logpath, 1 << 20, &text, &len), 0);
        assert_true(len >= seen);
        char *fresh = strdup(text + seen);
        seen = len;
        free(text);
        assert_non_null(fresh);
        return fresh;
}

static void test_loads_and_resolves(void **state)
{
        (void)state;
        static const char *const sonames[] = {"libz.so.1", NULL};
        static const char *const names[] = {"zlibVersion", "crc32"};
        void *slots[2];
        assert_int_equal(dynlib_load(sonames, names, slots, 2, "test"), 0);
        assert_non_null(slots[0]);
        assert_non_null(slots[1]);
        const char *(*version)(void);
        *(void **)&version = slots[0];
        assert_true(startswith(version(), "1."));
        _cleanup_free_ char *log = new_log();
        assert_string_equal(log, "");
}

static void test_falls_back_to_the_next_soname(void **state)
{
        (void)state;
        static const char *const sonames[] = {NO_LIB, "libz.so.1", NULL};
        static const char *const names[] = {"zlibVersion"};
        void *slots[1];
        assert_int_equal(dynlib_load(sonames, names, slots, 1, "test"), 0);
        assert_non_null(slots[0]);
        _cleanup_free_ char *log = new_log();
        assert_string_equal(log, "");
}

static void test_missing_library(void **state)
{
        (void)state;
        static const char *const sonames[] = {NO_LIB, "libsetec-neither.so.1", NULL};
        static const char *const names[] = {"zlibVersion"};
        void *slots[1] = {(void *)1};
        assert_int_equal(dynlib_load(sonames, names, slots, 1, "dyntest"), -ENOENT);
        assert_null(slots[0]);
        _cleanup_free_ char *log = new_log();
        assert_non_null(strstr(log, "error: dyntest: cannot load " NO_LIB
                                    " or libsetec-neither.so.1: " NO_LIB));
        assert_non_null(strchr(log, '\n'));
        assert_string_equal(strchr(log, '\n'), "\n"); /* one line */
}

static void test_missing_symbol(void **state)
{
        (void)state;
        static const char *const sonames[] = {"libz.so.1", NULL};
        static const char *const names[] = {"zlibVersion", "setec_no_such_symbol", "crc32"};
        void *slots[3] = {(void *)1, (void *)1, (void *)1};
        assert_int_equal(dynlib_load(sonames, names, slots, 3, "dyntest"), -ENOSYS);
        for (size_t i = 0; i < ARRAY_SIZE(slots); i++)
                assert_null(slots[i]);
        _cleanup_free_ char *log = new_log();
        assert_non_null(strstr(log, "error: dyntest: libz.so.1 lacks setec_no_such_symbol\n"));
        assert_string_equal(strchr(log, '\n'), "\n");
}

/* libyaml: a dependency of the project that nothing in this test links or
 * loads otherwise, so closing the one handle unloads it */
#define YAML_LIB "libyaml-0.so.2"

static bool is_loaded(const char *soname)
{
        void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
        if (h)
                dlclose(h); /* drop the reference RTLD_NOLOAD took */
        return h != NULL;
}

static void test_open_and_close(void **state)
{
        (void)state;
        static const char *const sonames[] = {NO_LIB, YAML_LIB, NULL};
        static const char *const names[] = {"yaml_get_version_string"};
        void *slots[1];
        void *handle = NULL;
        assert_false(is_loaded(YAML_LIB));
        assert_int_equal(dynlib_open(sonames, names, slots, 1, "test", &handle), 0);
        assert_non_null(handle);
        assert_non_null(slots[0]);
        assert_true(is_loaded(YAML_LIB));
        const char *(*version)(void);
        *(void **)&version = slots[0];
        assert_true(startswith(version(), "0."));
        dynlib_close(handle);
        assert_false(is_loaded(YAML_LIB)); /* its pages left the process */
        dynlib_close(NULL);

        /* and again: a closed library loads anew */
        assert_int_equal(dynlib_open(sonames, names, slots, 1, "test", &handle), 0);
        assert_true(is_loaded(YAML_LIB));
        dynlib_close(handle);
        assert_false(is_loaded(YAML_LIB));
        _cleanup_free_ char *log = new_log();
        assert_string_equal(log, "");
}

static void test_open_failures_clear_the_handle(void **state)
{
        (void)state;
        static const char *const none[] = {NO_LIB, NULL};
        static const char *const sonames[] = {YAML_LIB, NULL};
        static const char *const names[] = {"yaml_get_version_string", "setec_no_such_symbol"};
        void *slots[2];
        void *handle = (void *)1;
        assert_int_equal(dynlib_open(none, names, slots, 1, "dyntest", &handle), -ENOENT);
        assert_null(handle);
        handle = (void *)1;
        assert_int_equal(dynlib_open(sonames, names, slots, 2, "dyntest", &handle), -ENOSYS);
        assert_null(handle);
        assert_null(slots[0]);
        assert_false(is_loaded(YAML_LIB)); /* closed again */
        _cleanup_free_ char *log = new_log();
        assert_non_null(strstr(log, "error: dyntest: cannot load " NO_LIB ": " NO_LIB));
        assert_non_null(strstr(log, "error: dyntest: " YAML_LIB " lacks setec_no_such_symbol\n"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_loads_and_resolves),
            cmocka_unit_test(test_falls_back_to_the_next_soname),
            cmocka_unit_test(test_missing_library),
            cmocka_unit_test(test_missing_symbol),
            cmocka_unit_test(test_open_and_close),
            cmocka_unit_test(test_open_failures_clear_the_handle),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
