/* Tables of accepted and refused values for every validator, with the hostile
 * inputs of reference-behaviour.md §15 (injection into nginx, argv, chpasswd). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/util.h"
#include "base/validate.h"

static char *repeat(char c, size_t n)
{
        char *s = malloc(n + 1);
        assert_non_null(s);
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

#define CHECK_ALL(fn, ok, bad)                                                                     \
        do {                                                                                       \
                for (size_t i_ = 0; i_ < ARRAY_SIZE(ok); i_++) {                                   \
                        if (!fn(ok[i_]))                                                           \
                                fail_msg(#fn " refused \"%s\"", ok[i_]);                           \
                }                                                                                  \
                for (size_t i_ = 0; i_ < ARRAY_SIZE(bad); i_++) {                                  \
                        if (fn(bad[i_]))                                                           \
                                fail_msg(#fn " accepted \"%s\"", bad[i_]);                         \
                }                                                                                  \
                assert_false(fn(NULL));                                                            \
        } while (0)

static void test_domain(void **state)
{
        static const char *ok[] = {
            "example.com",
            "a.b.c.example.org",
            "x",
            "localhost",
            "EXAMPLE.COM",
            "my-site.example",
            "1.2.3.4",
            "xn--bcher-kva.example",
            "a23456789012345678901234567890123456789012345678901234567890123.com",
        };
        static const char *bad[] = {
            "",
            ".",
            "example.com.",
            ".example.com",
            "a..b",
            "-a.com",
            "a-.com",
            "a.-b.com",
            "a_b.com",
            "ex ample.com",
            "example.com\n",
            "example.com;",
            "exa{mple.com",
            "\"example.com\"",
            "../etc",
            "ex/ample",
            ("b\xc3\xbc"
             "cher.de"), /* split: \xbc would swallow the "c" */
            "a*.com",
            "a234567890123456789012345678901234567890123456789012345678901234.com",
        };
        CHECK_ALL(valid_domain, ok, bad);

        /* total length limit 253 */
        char *label = repeat('a', 63);
        char buf[512];
        snprintf(buf, sizeof(buf), "%s.%s.%s.%s", label, label, label, label); /* 255 */
        assert_false(valid_domain(buf));
        buf[strlen(buf) - 2] = '\0'; /* 253 */
        assert_int_equal(strlen(buf), 253);
        assert_true(valid_domain(buf));
        free(label);
}

static void test_aliases(void **state)
{
        static const char *ok[] = {"", "www.example.com", "a.com b.com", "a.com  b.com c.org",
                                   " a.com "};
        static const char *bad[] = {
            "a.com,b.com", "a.com\tb.com", "a.com\nb.com", "a.com; return 301",
            "a.com {",     "a.com ../x",   "-x.com",       "a.com b..com"};
        CHECK_ALL(valid_aliases, ok, bad);
}

static void test_username(void **state)
{
        static const char *ok[] = {"alice", "_svc",   "a",
                                   "web-1", "a_b-c9", "a2345678901234567890123456789012"};
        static const char *bad[] = {
            "",
            "Alice",
            "1abc",
            "-rf",
            "--help",
            "a b",
            "a\nroot",
            "a:b",
            "a;b",
            "a.b",
            "a/b",
            "..",
            "\xc3\xa9t\xc3\xa9",
            "a23456789012345678901234567890123",
            "root\n",
        };
        CHECK_ALL(valid_username, ok, bad);
}

static void test_password(void **state)
{
        static const char *ok[] = {"x", "correct horse battery staple", "p@ss:w;rd{}'\"",
                                   "\xc3\xa9t\xc3\xa9"};
        static const char *bad[] = {"", "pass\nroot:x", "pass\r", "\n"};
        CHECK_ALL(valid_password, ok, bad);

        char *s = repeat('a', 1024);
        assert_true(valid_password(s));
        free(s);
        s = repeat('a', 1025);
        assert_false(valid_password(s));
        free(s);
}

static void test_unit_name(void **state)
{
        static const char *ok[] = {"nginx",
                                   "nginx.service",
                                   "autarch-web",
                                   "getty@tty1.service",
                                   "systemd-fsck@dev-disk-by\\x2duuid.service",
                                   "a:b",
                                   "setec-manager",
                                   "ufw",
                                   "backup.timer"};
        static const char *bad[] = {
            "",    "-nginx",  ".hidden", "nginx.",    "ngi nx",  "nginx;reboot", "../etc/passwd",
            "a/b", "nginx\n", "a$b",     "n\xc3\xa9", "'nginx'", "nginx{"};
        CHECK_ALL(valid_unit_name, ok, bad);

        char *s = repeat('a', 255);
        assert_true(valid_unit_name(s));
        free(s);
        s = repeat('a', 256);
        assert_false(valid_unit_name(s));
        free(s);
}

static void test_port_str(void **state)
{
        static const char *ok[] = {"1", "22", "80", "443", "65535", "9090"};
        static const char *bad[] = {"",    "0",    "65536", "-1", "+80",
                                    "080", " 80",  "80 ",   "8o", "99999999999999999999",
                                    "80;", "0x50", "1:2"};
        CHECK_ALL(valid_port_str, ok, bad);
}

static void test_port_range(void **state)
{
        static const char *ok[] = {"22", "1:2", "6000:6007", "1:65535"};
        static const char *bad[] = {"",        ":",     "1:",  ":2",     "2:1", "5:5", "0:10",
                                    "1:65536", "1:2:3", "1-2", "10:20 ", "a:b", "22\n"};
        CHECK_ALL(valid_port_range, ok, bad);
}

static void test_ip_or_cidr(void **state)
{
        static const char *ok[] = {"127.0.0.1",     "10.0.0.0/8", "0.0.0.0/0", "192.168.1.1/32",
                                   "::1",           "fe80::/10",  "::/0",      "2001:db8::/128",
                                   "::ffff:1.2.3.4"};
        static const char *bad[] = {"",
                                    "any",
                                    "1.2.3",
                                    "1.2.3.4/33",
                                    "::1/129",
                                    "1.2.3.4/",
                                    "1.2.3.4/08",
                                    "1.2.3.4/-1",
                                    "/24",
                                    "1.2.3.4 ",
                                    "1.2.3.4\n",
                                    "1.2.3.4/24;x",
                                    "fe80::1%eth0",
                                    "256.1.1.1",
                                    "1.2.3.4/3a",
                                    "example.com",
                                    "1.2.3.4/24/1"};
        CHECK_ALL(valid_ip_or_cidr, ok, bad);
}

static void test_git_branch(void **state)
{
        static const char *ok[] = {"main", "feature/x", "release-1.2", "v1.0.0", "a@b",
                                   "user/feat_1", "x.lockx",
                                   /* git allows these; the branch only ever reaches argv */
                                   "main;rm", "caf\xc3\xa9"};
        static const char *bad[] = {
            "",         "-main", "--upload-pack=x",
            "/main",    "main/", "main.",
            "a..b",     "a b",   "a\nb",
            "a~1",      "a^",    "a:b",
            "a?",       "a*",    "a[b",
            "a\\b",     "a@{1}", "@",
            ".hidden",  "a/.b",  "x.lock",
            "a/b.lock", "a//b",  "HEAD",
            "a\x7f",
        };
        CHECK_ALL(valid_git_branch, ok, bad);
        assert_false(valid_git_branch("main\tx"));
}

static bool repo_no_root(const char *s)
{
        return valid_git_repo(s, NULL);
}

static bool repo_root(const char *s)
{
        return valid_git_repo(s, "/srv/git");
}

static void test_git_repo(void **state)
{
        static const char *ok[] = {
            "https://github.com/DigijEth/autarch.git", "https://user:tok3n@example.com/a/b.git",
            "https://example.com:8443/r.git",          "https://10.0.0.1/r.git",
            "https://[2001:db8::1]:443/r.git",         "ssh://git@github.com/x/y.git",
            "ssh://host.example:2222/srv/r.git",       "ssh://example.com/r",
            "git@github.com:DigijEth/autarch.git",     "deploy_1@10.0.0.2:repos/site.git",
        };
        static const char *bad[] = {
            "",
            "-u",
            "--upload-pack=touch /tmp/pwned",
            "ext::sh -c touch% /tmp/pwned",
            "ext::sh",
            "fd::17",
            "foo+bar::baz",
            "file:///etc",
            "file:/etc",
            "http://example.com/r.git",
            "git://example.com/r.git",
            "ftp://example.com/r.git",
            "https://",
            "https:///r.git",
            "https://example.com",
            "https://example.com/",
            "https://exa mple.com/r.git",
            "https://example.com/r.git\n",
            "https://example.com/r\".git",
            "https://example.com/r`id`.git",
            "https://example.com/r<x>.git",
            "https://-x.com/r.git",
            "https://example.com:0/r.git",
            "https://example.com:99999/r.git",
            "ssh://user:pw@host/r.git",
            "ssh://-oProxyCommand=x/r",
            "ssh://host",
            "git@github.com:-x",
            "git@github.com:",
            "@github.com:x",
            "-git@github.com:x",
            "git@:x",
            "git@gith ub.com:x",
            "git@host_1:x",
            "g it@host:x",
            "host:path",
            "/srv/git/site.git",
            "relative/path",
            "https://ex\xc3\xa4mple.com/r.git",
        };
        CHECK_ALL(repo_no_root, ok, bad);

        static const char *ok_root[] = {"/srv/git/site.git", "/srv/git/team/site.git"};
        static const char *bad_root[] = {"/srv/git",        "/srv/git/",        "/srv/gitx/a.git",
                                         "/srv/git/../etc", "/srv/git/./a.git", "/srv/git//a.git",
                                         "/etc/passwd",     "/srv/git/a b.git", "/srv/git/a;b.git",
                                         "/srv/git/a.git/", "ext::sh -c id"};
        CHECK_ALL(repo_root, ok_root, bad_root);
}

static bool inside_www(const char *s)
{
        return valid_path_inside(s, "/var/www");
}

static void test_path_inside(void **state)
{
        static const char *ok[] = {"/var/www/site", "/var/www/a/b/c", "/var/www/example.com",
                                   "/var/www/my_site-2", "/var/www/.well-known"};
        static const char *bad[] = {
            "",
            "/var/www",
            "/var/www/",
            "/var/wwwx/site",
            "/var/www/../etc",
            "/var/www/a/../../etc",
            "/var/www/./a",
            "/var/www/a/.",
            "/var/www//a",
            "/var/www/a/",
            "var/www/a",
            "/",
            "/etc",
            "/var/www/a\nb",
            "/var/www/a;b",
            "/var/www/a{b",
            "/var/www/a b",
            "/var/www/a\"b",
            "/var/www/a'b",
            "/var/www/$x",
            "/var/www/caf\xc3\xa9",
        };
        CHECK_ALL(inside_www, ok, bad);
        assert_false(valid_path_inside("/var/www/a", NULL));

        /* the root may be given with a trailing slash */
        assert_true(valid_path_inside("/var/www/a", "/var/www/"));
        assert_false(valid_path_inside("/var/www", "/var/www/"));
        assert_true(valid_path_inside("/a", "/"));
        assert_false(valid_path_inside("/", "/"));

        /* <= 4096 bytes in total */
        char *seg = repeat('a', 4096);
        char *p = malloc(4200);
        assert_non_null(p);
        snprintf(p, 4200, "/var/www/%.*s", 4096 - 9, seg);
        assert_int_equal(strlen(p), 4096);
        assert_true(valid_path_inside(p, "/var/www"));
        snprintf(p, 4200, "/var/www/%.*s", 4097 - 9, seg);
        assert_false(valid_path_inside(p, "/var/www"));
        free(p);
        free(seg);
}

static void test_relative_path(void **state)
{
        static const char *ok[] = {"app.py", "server/index.js", "src/main_1.py", ".env.example"};
        static const char *bad[] = {"",    "/app.py", "../app.py", "a/../../b", "a/..",
                                    "./a", "a//b",    "a/",        "a\nb",      "a b",
                                    "a;b", "-m",      "a/-x",      "a{b",       "\"a\""};
        CHECK_ALL(valid_relative_path, ok, bad);
        char *s = repeat('a', 255);
        assert_true(valid_relative_path(s));
        free(s);
        s = repeat('a', 256);
        assert_false(valid_relative_path(s));
        free(s);
}

static void test_printable(void **state)
{
        assert_true(valid_printable("", 64));
        assert_true(valid_printable("allow ssh from office; {ok} 'x'", 64));
        assert_false(valid_printable("line\nbreak", 64));
        assert_false(valid_printable("tab\there", 64));
        assert_false(valid_printable("caf\xc3\xa9", 64));
        assert_false(valid_printable("del\x7f", 64));
        assert_false(valid_printable(NULL, 64));
        char *s = repeat('x', 64);
        assert_true(valid_printable(s, 64));
        assert_false(valid_printable(s, 63));
        free(s);
}

static void test_nginx_size(void **state)
{
        (void)state;
        const char *good[] = {"0",  "1",  "512k",  "10m",      "64M",        "1g",
                              "4g", "4G", "4096m", "4194304k", "4294967296", "0010m"};
        for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
                assert_true(valid_nginx_size(good[i]));
        const char *bad[] = {"",           "m",
                             "10 m",       "10mb",
                             "-1",         "1.5m",
                             "10t",        "5g",
                             "4097m",      "4194305k",
                             "4294967297", "99999999999",
                             "10m;",       "10m;\n include /etc/shadow",
                             " 10m"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
                assert_false(valid_nginx_size(bad[i]));
        assert_false(valid_nginx_size(NULL));
}

static void test_tolower(void **state)
{
        char s[] = "Example.COM-9";
        assert_ptr_equal(str_tolower(s), s);
        assert_string_equal(s, "example.com-9");
        assert_null(str_tolower(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_domain),      cmocka_unit_test(test_aliases),
            cmocka_unit_test(test_username),    cmocka_unit_test(test_password),
            cmocka_unit_test(test_unit_name),   cmocka_unit_test(test_port_str),
            cmocka_unit_test(test_port_range),  cmocka_unit_test(test_ip_or_cidr),
            cmocka_unit_test(test_git_branch),  cmocka_unit_test(test_git_repo),
            cmocka_unit_test(test_path_inside), cmocka_unit_test(test_relative_path),
            cmocka_unit_test(test_printable),   cmocka_unit_test(test_tolower),
            cmocka_unit_test(test_nginx_size),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
