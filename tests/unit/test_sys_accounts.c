#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sys/accounts.h"

#define SHELLS FIXTURES "/accounts/shells"

static void test_valid_names(void **state)
{
        const char *good[] = {"deploy", "_svc",   "a",
                              "web-1",  "a_b-c9", "abcdefghijklmnopqrstuvwxyz012345" /* 32 */};
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                assert_true(accounts_valid_name(good[i]));
        const char *bad[] = {"",
                             "-o",
                             "--badname",
                             "a:b",
                             "x\nroot",
                             "../x",
                             "a/b",
                             "Deploy",
                             "1abc",
                             "a b",
                             "a.b",
                             "a$",
                             "abcdefghijklmnopqrstuvwxyz0123456" /* 33 */};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(accounts_valid_name(bad[i]));
        assert_false(accounts_valid_name(NULL));
        char longname[300];
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_false(accounts_valid_name(longname));
}

static void test_protected_names(void **state)
{
        assert_true(accounts_protected_name("root"));
        assert_true(accounts_protected_name("autarch"));
        assert_false(accounts_protected_name("deploy"));
        assert_false(accounts_protected_name(NULL));
}

static void test_valid_passwords(void **state)
{
        assert_true(accounts_valid_password("x"));
        assert_true(accounts_valid_password("S3cret pass with spaces & $(shell) `x`"));
        assert_false(accounts_valid_password(""));
        assert_false(accounts_valid_password(NULL));
        assert_false(accounts_valid_password("a:b"));
        assert_false(accounts_valid_password(":"));
        assert_false(accounts_valid_password("x\nroot:owned"));
        assert_false(accounts_valid_password("x\rroot"));
        assert_false(accounts_valid_password("pw\n"));
        char pw[1100];
        memset(pw, 'p', sizeof(pw));
        pw[ACCOUNTS_PASSWORD_MAX] = '\0';
        assert_true(accounts_valid_password(pw)); /* 511 bytes */
        pw[ACCOUNTS_PASSWORD_MAX] = 'p';
        pw[ACCOUNTS_PASSWORD_MAX + 1] = '\0';
        assert_false(accounts_valid_password(pw)); /* 512: PAM refuses it */
        pw[1024] = '\0';
        assert_false(accounts_valid_password(pw));
        pw[1099] = '\0';
        assert_false(accounts_valid_password(pw));
}

static void test_shells(void **state)
{
        assert_true(accounts_shell_allowed(SHELLS, "/bin/sh"));
        assert_true(accounts_shell_allowed(SHELLS, "/bin/bash")); /* trailing blanks in file */
        assert_true(accounts_shell_allowed(SHELLS, "/usr/bin/zsh"));
        assert_false(accounts_shell_allowed(SHELLS, "/bin/dash")); /* not listed */
        assert_false(accounts_shell_allowed(SHELLS, "/bin/ba"));   /* prefix only */
        assert_false(accounts_shell_allowed(SHELLS, "/bin/bash "));
        assert_false(accounts_shell_allowed(SHELLS, "bash"));
        assert_false(accounts_shell_allowed(SHELLS, "# /etc/shells: valid login shells"));
        assert_false(accounts_shell_allowed(SHELLS, "/bin/sh\n/bin/evil"));
        assert_false(accounts_shell_allowed(SHELLS, "-o"));
        assert_false(accounts_shell_allowed(SHELLS, ""));
        assert_false(accounts_shell_allowed(SHELLS, NULL));
        assert_false(accounts_shell_allowed(FIXTURES "/accounts/no-such-file", "/bin/sh"));
}

static void test_shell_list(void **state)
{
        char **list = NULL;
        size_t n = 0;
        assert_int_equal(accounts_shells(SHELLS, &list, &n), 0);
        assert_int_equal(n, 3); /* comment skipped, trailing blanks cut, duplicate dropped */
        assert_string_equal(list[0], "/bin/sh");
        assert_string_equal(list[1], "/bin/bash");
        assert_string_equal(list[2], "/usr/bin/zsh");
        accounts_shells_free(list, n);
        assert_int_equal(accounts_shells(FIXTURES "/accounts/no-such-file", &list, &n), -ENOENT);
}

static void test_useradd_argv(void **state)
{
        const char *argv[9];
        accounts_useradd_argv("deploy", "/bin/bash", argv);
        const char *want[] = {"useradd", "--create-home", "--shell", "/bin/bash", "--user-group",
                              "--",      "deploy",        NULL};
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                if (!want[i])
                        assert_null(argv[i]);
                else
                        assert_string_equal(argv[i], want[i]);
        }
}

static void test_chpasswd_line(void **state)
{
        char *l = accounts_chpasswd_line("deploy", "p a$s`w");
        assert_non_null(l);
        assert_string_equal(l, "deploy:p a$s`w\n");
        free(l);
        /* hostile input never produces a line */
        assert_null(accounts_chpasswd_line("deploy", "x\nroot:owned"));
        assert_null(accounts_chpasswd_line("deploy", "a:b"));
        assert_null(accounts_chpasswd_line("deploy", ""));
        assert_null(accounts_chpasswd_line("root\nx", "pw"));
        assert_null(accounts_chpasswd_line("a:b", "pw"));
        assert_null(accounts_chpasswd_line("-o", "pw"));
}

static void test_parse_fixture(void **state)
{
        struct account *a = NULL;
        size_t n = 99;
        assert_int_equal(accounts_list(FIXTURES "/accounts/passwd", &a, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(a[0].username, "autarch");
        assert_int_equal(a[0].uid, 1000);
        assert_string_equal(a[0].home, "/home/autarch");
        assert_string_equal(a[0].shell, "/bin/bash");
        assert_string_equal(a[1].username, "deploy");
        assert_int_equal(a[1].uid, 1001);
        assert_string_equal(a[1].shell, "/usr/bin/zsh");
        assert_string_equal(a[2].username, "edge");
        assert_int_equal(a[2].uid, 65533);
        assert_string_equal(a[3].username, "crlf");
        assert_string_equal(a[3].shell, "/bin/dash"); /* CR stripped */
        accounts_free(a, n);
}

static void test_parse_all_uids(void **state)
{
        FILE *f = fopen(FIXTURES "/accounts/passwd", "r");
        assert_non_null(f);
        struct account *a = NULL;
        size_t n = 0;
        assert_int_equal(accounts_parse(f, 0, 0xffffffffu, &a, &n), 0);
        fclose(f);
        /* root daemon autarch deploy edge nobody huge crlf */
        assert_int_equal(n, 8);
        assert_string_equal(a[0].username, "root");
        assert_int_equal(a[0].uid, 0);
        assert_string_equal(a[5].username, "nobody");
        assert_string_equal(a[6].username, "huge");
        assert_int_equal(a[6].uid, 4294967295u);
        accounts_free(a, n);
}

static void test_parse_empty_and_missing(void **state)
{
        FILE *f = fmemopen((char *)"\n# only a comment\n", 18, "r");
        assert_non_null(f);
        struct account *a = (struct account *)1;
        size_t n = 5;
        assert_int_equal(accounts_parse(f, 1000, 65533, &a, &n), 0);
        fclose(f);
        assert_int_equal(n, 0);
        assert_null(a);
        assert_int_equal(accounts_list(FIXTURES "/accounts/no-such-file", &a, &n), -ENOENT);
}

static void test_refusals_run_nothing(void **state)
{
        /* Invalid input is refused before any lookup or command. */
        char *err = NULL;
        assert_int_equal(accounts_create("-o", "pw", "/bin/sh", SHELLS, &err), -EINVAL);
        assert_int_equal(accounts_create("x\nroot", "pw", "/bin/sh", SHELLS, &err), -EINVAL);
        assert_int_equal(accounts_create("deploy", "a:b", "/bin/sh", SHELLS, &err), -EINVAL);
        assert_int_equal(accounts_create("deploy", "x\nroot:pw", "/bin/sh", SHELLS, &err), -EINVAL);
        assert_int_equal(accounts_create("deploy", "pw", "/bin/dash", SHELLS, &err), -EINVAL);
        assert_null(err);
        bool kept = true;
        assert_int_equal(accounts_delete("root", &kept, &err), -EPERM);
        assert_int_equal(accounts_delete("autarch", &kept, &err), -EPERM);
        assert_int_equal(accounts_delete("../x", &kept, &err), -EINVAL);
        assert_int_equal(accounts_delete("-o", &kept, &err), -EINVAL);
        assert_false(kept);
        assert_null(err);
}

static void test_lookup(void **state)
{
        unsigned uid = 12345;
        assert_int_equal(accounts_lookup("root", &uid), 0);
        assert_int_equal(uid, 0);
        assert_int_equal(accounts_lookup("setec_no_such_user_x", &uid), -ENOENT);
        assert_int_equal(accounts_lookup("a:b", &uid), -EINVAL);
        /* a UID below 1000 is protected even though the name is not special */
        char *err = NULL;
        bool kept = false;
        assert_int_equal(accounts_delete("daemon", &kept, &err), -EPERM);
        assert_int_equal(accounts_delete("setec_no_such_user_x", &kept, &err), -ENOENT);
        assert_null(err);
}

static void test_site_user_names(void **state)
{
        char n[ACCOUNTS_SITE_NAME_MAX];
        assert_int_equal(accounts_site_user_name(1, n), 0);
        assert_string_equal(n, "setec-s1");
        assert_int_equal(accounts_site_user_name(9223372036854775807LL, n), 0);
        assert_string_equal(n, "setec-s9223372036854775807");
        assert_true(accounts_valid_name(n));
        assert_true(accounts_is_site_user(n));
        assert_int_equal(accounts_site_user_name(0, n), -EINVAL);
        assert_int_equal(accounts_site_user_name(-5, n), -EINVAL);
        assert_true(accounts_is_site_user("setec-s42"));
        static const char *const not_ours[] = {"setec-s",   "setec-s0", "setec-s01", "setec-s1x",
                                               "setec-app", "root",     "setec-s-1", "xsetec-s1",
                                               "setec-s1 ", "SETEC-S1", NULL};
        for (size_t i = 0; not_ours[i]; i++)
                if (accounts_is_site_user(not_ours[i]))
                        fail_msg("%s taken for a site user", not_ours[i]);
        assert_false(accounts_is_site_user(NULL));
        /* nothing runs for a name that is not a site user's */
        assert_int_equal(accounts_site_user_add("root", "/srv/x", NULL), -EINVAL);
        assert_int_equal(accounts_site_user_add("setec-s1", "relative", NULL), -EINVAL);
        assert_int_equal(accounts_site_user_add("setec-s1", "/srv/../etc", NULL), -EINVAL);
        assert_int_equal(accounts_site_user_del("root", NULL), -EINVAL);
        assert_int_equal(accounts_site_user_del("setec-app", NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_valid_names),
            cmocka_unit_test(test_protected_names),
            cmocka_unit_test(test_valid_passwords),
            cmocka_unit_test(test_shells),
            cmocka_unit_test(test_shell_list),
            cmocka_unit_test(test_useradd_argv),
            cmocka_unit_test(test_chpasswd_line),
            cmocka_unit_test(test_parse_fixture),
            cmocka_unit_test(test_parse_all_uids),
            cmocka_unit_test(test_parse_empty_and_missing),
            cmocka_unit_test(test_refusals_run_nothing),
            cmocka_unit_test(test_lookup),
            cmocka_unit_test(test_site_user_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
