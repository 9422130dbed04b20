/* HEAD and its subject read from a real repository made with git: loose
 * objects and refs, then packed (git gc: a pack + packed-refs), detached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <dlfcn.h>
#include <errno.h>

#include "sys/gitread.h"

static char dir[] = "/tmp/setec-gitread-XXXXXX";

/* Run a shell command with every '@' replaced by the repository's path. */
static void sh(const char *tmpl)
{
        char cmd[2048];
        size_t o = 0;
        for (const char *p = tmpl; *p && o + sizeof(dir) < sizeof(cmd); p++) {
                if (*p == '@') {
                        memcpy(cmd + o, dir, strlen(dir));
                        o += strlen(dir);
                } else {
                        cmd[o++] = *p;
                }
        }
        cmd[o] = '\0';
        assert_int_equal(system(cmd), 0);
}

static void head_of_git(char *hash)
{
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "git -C %s rev-parse HEAD", dir);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        assert_non_null(fgets(hash, GIT_HASH_HEX + 2, f));
        hash[GIT_HASH_HEX] = '\0';
        pclose(f);
}

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(dir))
                return -1;
        setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
        setenv("GIT_CONFIG_SYSTEM", "/dev/null", 1);
        setenv("GIT_AUTHOR_NAME", "t", 1);
        setenv("GIT_AUTHOR_EMAIL", "t@t", 1);
        setenv("GIT_COMMITTER_NAME", "t", 1);
        setenv("GIT_COMMITTER_EMAIL", "t@t", 1);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        sh("rm -rf @");
        return 0;
}

static void test_read(void **state)
{
        (void)state;
        char hash[GIT_HASH_HEX + 1], want[GIT_HASH_HEX + 2], subject[64];
        assert_int_equal(git_read_head(dir, hash, subject, sizeof(subject)), -ENOENT);

        sh("git -C @ init -q -b main && echo a > @/a");
        assert_int_equal(git_read_head(dir, hash, subject, sizeof(subject)), -ENOENT); /* unborn */
        sh("git -C @ add a && git -C @ commit -q -m 'Fïrst commit\n\nbody text'");
        head_of_git(want);
        /* zlib comes with the first object read, not before */
        assert_null(dlopen("libz.so.1", RTLD_NOW | RTLD_NOLOAD));
        assert_int_equal(git_read_head(dir, hash, subject, sizeof(subject)), 0);
        void *z = dlopen("libz.so.1", RTLD_NOW | RTLD_NOLOAD);
        assert_non_null(z);
        dlclose(z);
        assert_string_equal(hash, want);
        assert_string_equal(subject, "Fïrst commit");

        /* packed: no loose object, no loose ref */
        sh("echo b > @/a && git -C @ commit -q -am second && git -C @ gc -q --prune=now");
        sh("test ! -e @/.git/refs/heads/main && test -s @/.git/packed-refs");
        head_of_git(want);
        assert_int_equal(git_read_head(dir, hash, subject, sizeof(subject)), 0);
        assert_string_equal(hash, want);
        assert_string_equal(subject, "second");

        /* detached HEAD */
        sh("git -C @ checkout -q --detach HEAD~1");
        head_of_git(want);
        assert_int_equal(git_head_hash(dir, hash), 0);
        assert_string_equal(hash, want);
        assert_int_equal(git_object_subject(dir, hash, subject, sizeof(subject)), 0);
        assert_string_equal(subject, "Fïrst commit");

        /* a subject cut short stays valid UTF-8 */
        assert_int_equal(git_object_subject(dir, hash, subject, 3), 0);
        assert_string_equal(subject, "F");

        /* a HEAD pointing outside refs/ is refused */
        sh("printf 'ref: ../../etc/passwd\n' > @/.git/HEAD");
        assert_int_equal(git_head_hash(dir, hash), -EINVAL);
}

static void test_subject_parse(void **state)
{
        (void)state;
        char s[32];
        const char body[] = "tree x\nauthor y\n\nsubj\x01"
                            "ect\nmore\n";
        assert_int_equal(git_commit_subject(body, sizeof(body) - 1, s, sizeof(s)), 0);
        assert_string_equal(s, "subject");
        assert_int_equal(git_commit_subject("tree x\n", 7, s, sizeof(s)), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_read, setup, teardown),
            cmocka_unit_test(test_subject_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
