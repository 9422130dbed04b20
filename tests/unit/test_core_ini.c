#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/ini.h"

static unsigned bad_line(const char *text)
{
        struct ini_error e;
        assert_false(ini_check(text, strlen(text), &e));
        assert_true(e.line > 0);
        assert_non_null(strstr(e.msg, "line "));
        return e.line;
}

static void test_valid(void **state)
{
        (void)state;
        const char *ok[] = {
            "",
            "\n\n",
            "# only a comment\n",
            "[autarch]\nfirst_run = false\nmodules_path = modules\n\n[web]\nhost = "
            "127.0.0.1\nport = 8181\nsecret_key =\n",
            "[a]\nkey: value\n; comment\n  # indented comment\n",
            "[a]\nlong = first\n  second line\n\tthird\n",
            "[a]\r\nk = v\r\n",
            "[a]\nurl = http://x:80/y=z\n",
            "[DEFAULT]\nk=v\n[b]\nk=v\n",
            "[a]\nk = v", /* no final newline */
        };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                struct ini_error e;
                assert_true(ini_check(ok[i], strlen(ok[i]), &e));
                assert_int_equal(e.line, 0);
        }
}

static void test_errors_name_the_line(void **state)
{
        (void)state;
        assert_int_equal(bad_line("key = v\n"), 1);
        assert_int_equal(bad_line("# c\n\n[a]\nk = v\n[b\n"), 5);
        assert_int_equal(bad_line("[]\n"), 1);
        assert_int_equal(bad_line("[a]\njust words\n"), 2);
        assert_int_equal(bad_line("[a]\n = v\n"), 2);
        assert_int_equal(bad_line("[a]\nk = 1\nK = 2\n"), 3); /* keys are case-insensitive */
        assert_int_equal(bad_line("[a]\nk = 1\n[a]\n"), 3);
        assert_int_equal(bad_line("[a]\nk = v\x01\n"), 2);
        assert_int_equal(bad_line("[a]\nk = v\rx\n"), 2);
        assert_int_equal(bad_line("[a]]\n"), 1);
        /* the same key in another section is fine, sections are case-sensitive */
        const char *t = "[a]\nk=1\n[b]\nk=2\n[A]\nk=3\n";
        assert_true(ini_check(t, strlen(t), NULL));
        /* an indented line with no key above it is an ordinary line */
        assert_int_equal(bad_line("[a]\n  words\n"), 2);
}

static void test_nul_and_size(void **state)
{
        (void)state;
        struct ini_error e;
        assert_false(ini_check("[a]\nk=\0v\n", 9, &e));
        assert_int_equal(e.line, 2);
        char *big = malloc(INI_MAX_SIZE + 2);
        assert_non_null(big);
        memset(big, '#', INI_MAX_SIZE + 1);
        assert_false(ini_check(big, INI_MAX_SIZE + 1, &e));
        free(big);
}

static void test_get(void **state)
{
        (void)state;
        const char *t = "[autarch]\nport = 1\n[web]\n# port = 2\nhost = 127.0.0.1\n"
                        "Port =  38181 \n  continued\n";
        char v[32];
        assert_true(ini_get(t, strlen(t), "web", "port", v, sizeof(v)));
        assert_string_equal(v, "38181");
        assert_true(ini_get(t, strlen(t), "autarch", "port", v, sizeof(v)));
        assert_string_equal(v, "1");
        assert_false(ini_get(t, strlen(t), "web", "nope", v, sizeof(v)));
        assert_false(ini_get(t, strlen(t), "dns", "port", v, sizeof(v)));
        assert_false(ini_get(t, strlen(t), "web", "host", v, 5)); /* does not fit */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_valid),
            cmocka_unit_test(test_errors_name_the_line),
            cmocka_unit_test(test_nul_and_size),
            cmocka_unit_test(test_get),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
