/* files_rm_tree removes what is inside (and the top with self) without
 * following a symlink out of the tree; files_remove; files_dir_empty. */
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

#include "sys/files.h"

static void touch(const char *p)
{
        int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
}

static void test_rm_tree_and_empty(void **state)
{
        char base[] = "/tmp/setec-files-test-XXXXXX";
        assert_non_null(mkdtemp(base));
        char tree[128], sub[160], f[192], outside[128], keep[160], link[160];
        snprintf(tree, sizeof(tree), "%s/tree", base);
        snprintf(sub, sizeof(sub), "%s/a", tree);
        snprintf(f, sizeof(f), "%s/file", sub);
        snprintf(outside, sizeof(outside), "%s/outside", base);
        snprintf(keep, sizeof(keep), "%s/keep", outside);
        snprintf(link, sizeof(link), "%s/link", tree);
        assert_int_equal(mkdir(tree, 0755), 0);
        assert_true(files_dir_empty(tree));
        assert_int_equal(mkdir(sub, 0755), 0);
        touch(f);
        assert_int_equal(mkdir(outside, 0755), 0);
        touch(keep);
        assert_int_equal(symlink(outside, link), 0);
        assert_false(files_dir_empty(tree));
        assert_false(files_dir_empty(link)); /* a link is no directory here */
        assert_false(files_dir_empty(f));
        /* contents only */
        files_rm_tree(tree, false);
        assert_true(files_dir_empty(tree));
        assert_int_equal(access(keep, F_OK), 0); /* the link's target is untouched */
        /* and the top */
        assert_int_equal(mkdir(sub, 0755), 0);
        files_rm_tree(tree, true);
        assert_int_equal(access(tree, F_OK), -1);
        files_rm_tree(tree, true); /* gone already: fine */
        files_rm_tree(NULL, true);
        unlink(keep);
        rmdir(outside);
        rmdir(base);
}

static void test_remove(void **state)
{
        char base[] = "/tmp/setec-files-test-XXXXXX";
        assert_non_null(mkdtemp(base));
        char file[128], tree[64], sub[96];
        snprintf(file, sizeof(file), "%s/file", base);
        snprintf(tree, sizeof(tree), "%s/tree", base);
        snprintf(sub, sizeof(sub), "%s/a/b", tree);
        touch(file);
        assert_int_equal(files_remove(file), 0);
        assert_int_equal(access(file, F_OK), -1);
        assert_int_equal(mkdir(tree, 0755), 0);
        snprintf(sub, sizeof(sub), "%s/a", tree);
        assert_int_equal(mkdir(sub, 0755), 0);
        snprintf(file, sizeof(file), "%s/a/f", tree);
        touch(file);
        assert_int_equal(files_remove(tree), 0);
        assert_int_equal(access(tree, F_OK), -1);
        assert_int_equal(files_remove(tree), 0); /* absent: fine */
        assert_int_equal(files_remove("relative/path"), -EINVAL);
        assert_int_equal(files_remove("/"), -EINVAL);
        assert_int_equal(files_remove(NULL), -EINVAL);
        rmdir(base);
}

static void test_placeholder(void **state)
{
        (void)state;
        char base[] = "/tmp/setec-files-ph-XXXXXX";
        assert_non_null(mkdtemp(base));
        char page[96];
        snprintf(page, sizeof(page), "%s/index.html", base);
        /* names that are no domain never reach the page */
        assert_int_equal(files_placeholder(base, "<script>.test"), -EINVAL);
        assert_int_equal(files_placeholder(base, "a.test\"><b"), -EINVAL);
        assert_int_equal(files_placeholder("relative", "a.test"), -EINVAL);
        assert_int_equal(access(page, F_OK), -1);
        assert_int_equal(files_placeholder(base, "shop.example.test"), 0);
        struct stat st;
        assert_int_equal(stat(page, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        char buf[2048] = "";
        FILE *f = fopen(page, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        assert_non_null(strstr(buf, "<h1>shop.example.test</h1>"));
        /* only into an empty directory: a second one writes nothing */
        assert_int_equal(files_placeholder(base, "other.test"), -ENOTEMPTY);
        assert_null(strstr(buf, "other.test"));
        assert_int_equal(files_remove(base), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_rm_tree_and_empty),
                                           cmocka_unit_test(test_remove),
                                           cmocka_unit_test(test_placeholder)};
        return cmocka_run_group_tests(tests, NULL, NULL);
}
