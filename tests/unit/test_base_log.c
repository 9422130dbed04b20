/* log_set_file: appends to a regular file; refuses a symbolic link, a file
 * with another hard link and a directory (the panel opens its log as root
 * while the file belongs to the HTTP process's user), writing nothing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"

static char dir[] = "/tmp/setec-log-test-XXXXXX";

static void path_in(char *out, size_t n, const char *name)
{
        snprintf(out, n, "%s/%s", dir, name);
}

static off_t size_of(const char *p)
{
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        return st.st_size;
}

static void test_regular_file(void **state)
{
        (void)state;
        char p[128];
        path_in(p, sizeof(p), "panel.log");
        assert_int_equal(log_set_file(p), 0);
        log_msg(LOG_ERROR, "a line for the file");
        assert_int_equal(log_set_file(NULL), 0);
        char buf[256] = "";
        FILE *f = fopen(p, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        assert_non_null(strstr(buf, "a line for the file"));
}

static void test_links_refused(void **state)
{
        (void)state;
        char target[128], sym[128], hard[128];
        path_in(target, sizeof(target), "root-owned");
        path_in(sym, sizeof(sym), "symlink.log");
        path_in(hard, sizeof(hard), "hardlink.log");
        FILE *f = fopen(target, "w");
        assert_non_null(f);
        fputs("keep\n", f);
        fclose(f);
        assert_int_equal(symlink(target, sym), 0);
        assert_int_equal(link(target, hard), 0);
        assert_int_equal(log_set_file(sym), -EPERM);
        assert_int_equal(log_set_file(hard), -EPERM);
        assert_int_equal(log_set_file(dir), -EISDIR);
        log_msg(LOG_ERROR, "must not reach the target");
        assert_int_equal(size_of(target), 5);
}

static int setup(void **state)
{
        (void)state;
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        const char *names[] = {"panel.log", "root-owned", "symlink.log", "hardlink.log"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char p[128];
                path_in(p, sizeof(p), names[i]);
                unlink(p);
        }
        return rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_regular_file),
                                           cmocka_unit_test(test_links_refused)};
        return cmocka_run_group_tests(tests, setup, teardown);
}
