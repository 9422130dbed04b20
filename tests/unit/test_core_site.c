/* Site validation: every field accepts its good values and refuses hostile
 * ones (newlines, ';', '{', quotes, '..', leading '-', spaces) with a
 * message that starts with the field's name. */
#include <errno.h>
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

#include "core/config.h"
#include "core/site.h"

static struct config cfg;

static int setup(void **state)
{
        (void)state;
        assert_int_equal(config_defaults(&cfg), 0);
        free(cfg.nginx.webroot);
        cfg.nginx.webroot = strdup("/var/www");
        free(cfg.git.local_root);
        cfg.git.local_root = strdup("/srv/git");
        return 0;
}

static void good_site(struct site *s)
{
        memset(s, 0, sizeof(*s));
        s->domain = strdup("Example.COM");
        s->aliases = strdup("www.example.com  Blog.example.com");
        s->app_type = APP_PYTHON;
        s->app_root = strdup("/var/www/example.com");
        s->app_port = 8000;
        s->app_entry = strdup("app/main.py");
        s->git_repo = strdup("https://github.com/user/repo.git");
        s->git_branch = strdup("main");
        s->ssl_cert_path = strdup("/etc/letsencrypt/live/example.com/fullchain.pem");
        s->ssl_key_path = strdup("/etc/letsencrypt/live/example.com/privkey.pem");
}

static void test_type_names(void **state)
{
        (void)state;
        const char *names[] = {"static", "python", "node", "autarch"};
        for (size_t i = 0; i < 4; i++) {
                enum app_type t;
                assert_int_equal(app_type_parse(names[i], &t), 0);
                assert_int_equal(t, (enum app_type)i);
                assert_string_equal(app_type_name(t), names[i]);
        }
        enum app_type t = APP_NODE;
        assert_int_equal(app_type_parse("php", &t), -EINVAL);
        assert_int_equal(app_type_parse("", &t), -EINVAL);
        assert_int_equal(app_type_parse("Static", &t), -EINVAL);
        assert_int_equal(app_type_parse(NULL, &t), -EINVAL);
        assert_int_equal(t, APP_NODE);
}

static void test_valid_and_lowercased(void **state)
{
        (void)state;
        struct site s;
        good_site(&s);
        char err[256] = "";
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), 0);
        assert_string_equal(s.domain, "example.com");
        assert_string_equal(s.aliases, "www.example.com  blog.example.com");
        char unit[300];
        site_unit_name(&s, unit, sizeof(unit));
        assert_string_equal(unit, "app-example.com.service");
        site_clear(&s);
        assert_null(s.domain);
        assert_null(s.ssl_key_path);
        site_clear(&s); /* twice is fine */
}

static void test_empty_optionals(void **state)
{
        (void)state;
        struct site s;
        good_site(&s);
        s.app_type = APP_STATIC;
        s.app_port = 0;
        free(s.aliases);
        s.aliases = strdup("");
        free(s.app_entry);
        s.app_entry = strdup("");
        free(s.git_repo);
        s.git_repo = strdup("");
        free(s.git_branch);
        s.git_branch = strdup("");
        free(s.ssl_cert_path);
        s.ssl_cert_path = strdup("");
        free(s.ssl_key_path);
        s.ssl_key_path = strdup("");
        char err[256] = "";
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), 0);
        /* a local bare repository inside git.local_root */
        free(s.git_repo);
        s.git_repo = strdup("/srv/git/site.git");
        free(s.git_branch);
        s.git_branch = strdup("release/v1.2");
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), 0);
        s.app_port = 1024;
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), 0);
        s.app_port = 65535;
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), 0);
        site_clear(&s);
}

enum fld { F_DOMAIN, F_ALIASES, F_ROOT, F_ENTRY, F_REPO, F_BRANCH, F_CERT, F_KEY, F_BODY };
static const char *const fld_names[] = {"domain",        "aliases",      "app_root",
                                        "app_entry",     "git_repo",     "git_branch",
                                        "ssl_cert_path", "ssl_key_path", "max_body_size"};

static char **field_ptr(struct site *s, enum fld f)
{
        switch (f) {
        case F_DOMAIN:
                return &s->domain;
        case F_ALIASES:
                return &s->aliases;
        case F_ROOT:
                return &s->app_root;
        case F_ENTRY:
                return &s->app_entry;
        case F_REPO:
                return &s->git_repo;
        case F_BRANCH:
                return &s->git_branch;
        case F_CERT:
                return &s->ssl_cert_path;
        case F_KEY:
                return &s->ssl_key_path;
        case F_BODY:
                return &s->max_body_size;
        }
        return NULL;
}

static void expect_bad(enum fld f, const char *value)
{
        struct site s;
        good_site(&s);
        char **p = field_ptr(&s, f);
        free(*p);
        *p = value ? strdup(value) : NULL;
        char err[256] = "";
        int r = site_validate(&s, &cfg, err, sizeof(err));
        if (r != -EINVAL || strncmp(err, fld_names[f], strlen(fld_names[f])) != 0 ||
            err[strlen(fld_names[f])] != ' ')
                fail_msg("%s=\"%s\": got %d \"%s\"", fld_names[f], value ? value : "(null)", r,
                         err);
        site_clear(&s);
}

/* Hostile in any field. */
static const char *const hostile[] = {"a\nb",
                                      "a\rb",
                                      "a;b",
                                      "a{b",
                                      "a}b",
                                      "a\"b",
                                      "a'b",
                                      "a b",
                                      "a\tb",
                                      "../x",
                                      "-x",
                                      "a$b",
                                      "a#b",
                                      "a`b`",
                                      "a\\b",
                                      "\n",
                                      "x;\nserver",
                                      "a/../../etc",
                                      "a\x01b",
                                      ("a\x7f"
                                       "b"), /* split: \x7fb would be one escape */
                                      "include /x;",
                                      "{",
                                      "\"quoted\""};

static void test_hostile_everywhere(void **state)
{
        (void)state;
        for (size_t f = 0; f <= F_BODY; f++)
                for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
                        /* a space separates aliases: "a b" is two fine names */
                        if (f == F_ALIASES && strcmp(hostile[i], "a b") == 0)
                                continue;
                        expect_bad((enum fld)f, hostile[i]);
                }
        for (size_t f = 0; f < 8; f++)
                expect_bad((enum fld)f, NULL);
}

static void test_field_specific(void **state)
{
        (void)state;
        /* domain */
        expect_bad(F_DOMAIN, "");
        expect_bad(F_DOMAIN, "-example.com");
        expect_bad(F_DOMAIN, "example-.com");
        expect_bad(F_DOMAIN, "exa_mple.com");
        expect_bad(F_DOMAIN, "example..com");
        expect_bad(F_DOMAIN, "example.com/x");
        expect_bad(F_DOMAIN,
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com");
        /* aliases */
        expect_bad(F_ALIASES, "www.example.com -x.com");
        expect_bad(F_ALIASES, "*.example.com");
        expect_bad(F_ALIASES, "www.example.com;");
        /* app_root: inside the webroot, normalised */
        expect_bad(F_ROOT, "");
        expect_bad(F_ROOT, "/var/www");
        expect_bad(F_ROOT, "/var/www/");
        expect_bad(F_ROOT, "/var/wwwx/site");
        expect_bad(F_ROOT, "/etc/passwd");
        expect_bad(F_ROOT, "/var/www/../etc");
        expect_bad(F_ROOT, "/var/www/./site");
        expect_bad(F_ROOT, "/var/www//site");
        expect_bad(F_ROOT, "/var/www/site/");
        expect_bad(F_ROOT, "var/www/site");
        expect_bad(F_ROOT, "/var/www/my site");
        expect_bad(F_ROOT, "/var/www/site;root /");
        /* app_entry */
        expect_bad(F_ENTRY, "/app.py");
        expect_bad(F_ENTRY, "../app.py");
        expect_bad(F_ENTRY, "app/../../x.py");
        expect_bad(F_ENTRY, "-m.py");
        expect_bad(F_ENTRY, "app/-x.py");
        expect_bad(F_ENTRY, "app.py --inspect");
        /* git_repo */
        expect_bad(F_REPO, "-uhttps://x");
        expect_bad(F_REPO, "ext::sh -c id");
        expect_bad(F_REPO, "file:///etc");
        expect_bad(F_REPO, "/etc/repo.git");
        expect_bad(F_REPO, "/srv/git/../etc");
        expect_bad(F_REPO, "http://plain.example/repo.git");
        expect_bad(F_REPO, "https://host/repo.git --upload-pack=x");
        /* credentials in the URL: refused (ssh remotes and deploy keys instead) */
        expect_bad(F_REPO, "https://deploy:t0ken@example.com/a/b.git");
        expect_bad(F_REPO, "https://ghp_t0ken@github.com/a/b.git");
        /* git_branch */
        expect_bad(F_BRANCH, "-main");
        expect_bad(F_BRANCH, "a..b");
        expect_bad(F_BRANCH, "a b");
        expect_bad(F_BRANCH, "a~1");
        expect_bad(F_BRANCH, "a.lock");
        expect_bad(F_BRANCH, "@{-1}");
        expect_bad(F_BRANCH, ""); /* a repository needs a branch */
        /* certificate paths */
        expect_bad(F_CERT, "relative/cert.pem");
        expect_bad(F_CERT, "/etc/ssl/../shadow");
        expect_bad(F_CERT, "/etc/ssl//c.pem");
        expect_bad(F_CERT, "/etc/ssl/c.pem;");
        expect_bad(F_CERT, "/etc/ssl/c.pem/");
        expect_bad(F_KEY, "/etc/ssl/k.pem\nssl_certificate_key /etc/shadow");
        expect_bad(F_KEY, "/etc/ssl/$k.pem");
}

static void test_credentials_redacted(void **state)
{
        (void)state;
        assert_true(site_git_repo_has_credentials("https://u:p@h.example/r.git"));
        assert_true(site_git_repo_has_credentials("https://tok@h.example/r.git"));
        assert_false(site_git_repo_has_credentials("https://h.example/r.git"));
        assert_false(site_git_repo_has_credentials("https://h.example/a@b.git"));
        assert_false(site_git_repo_has_credentials("git@github.com:u/r.git"));
        assert_false(site_git_repo_has_credentials("ssh://git@github.com/u/r.git"));
        assert_false(site_git_repo_has_credentials(""));
        assert_false(site_git_repo_has_credentials(NULL));
        struct {
                const char *in, *out;
        } cases[] = {
            {"https://deploy:TOKEN@h.example/r.git", "https://h.example/r.git"},
            {"https://TOKEN@h.example:8443/r.git", "https://h.example:8443/r.git"},
            {"https://a@b:c@h.example/r.git", "https://h.example/r.git"},
            {"https://h.example/a@b.git", "https://h.example/a@b.git"},
            {"git@github.com:u/r.git", "git@github.com:u/r.git"},
            {"", ""},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *r = site_git_repo_redacted(cases[i].in);
                assert_non_null(r);
                assert_string_equal(r, cases[i].out);
                free(r);
        }
        char *t = site_text_redacted("==> git clone https://deploy:TOKEN@h.example/r.git (branch "
                                     "main)\nfatal: 'https://x:y@h.example/r.git' not found\nhttp"
                                     " https://h.example/ok http");
        assert_non_null(t);
        assert_string_equal(t, "==> git clone https://h.example/r.git (branch main)\nfatal: "
                               "'https://h.example/r.git' not found\nhttp https://h.example/ok "
                               "http");
        free(t);
        assert_null(site_text_redacted(NULL));
}

/* max_body_size: "" or NULL is the config's size; else valid_nginx_size. */
static void test_body_size(void **state)
{
        (void)state;
        const char *good[] = {"", "200m", "512k", "1g", "4g", "4G", "0", "1048576"};
        for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
                struct site s;
                good_site(&s);
                s.max_body_size = strdup(good[i]);
                char err[256] = "";
                if (site_validate(&s, &cfg, err, sizeof(err)) != 0)
                        fail_msg("max_body_size \"%s\" refused: %s", good[i], err);
                site_clear(&s);
        }
        struct site s;
        good_site(&s); /* NULL: a site made before the field */
        char err[256] = "";
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), 0);
        site_clear(&s);
        expect_bad(F_BODY, "10m;\n include /etc/shadow");
        expect_bad(F_BODY, "5g");
        expect_bad(F_BODY, "4097m");
        expect_bad(F_BODY, "10mb");
        expect_bad(F_BODY, "m");
        expect_bad(F_BODY, "1.5m");
        expect_bad(F_BODY, "-1");
        expect_bad(F_BODY, "10 m");
        expect_bad(F_BODY, "99999999999");
}

static void test_security_headers(void **state)
{
        (void)state;
        const char *names[] = {"default", "strict", "off"};
        for (size_t i = 0; i < 3; i++) {
                enum site_headers h;
                assert_int_equal(site_headers_parse(names[i], &h), 0);
                assert_int_equal(h, (enum site_headers)i);
                assert_string_equal(site_headers_name(h), names[i]);
        }
        enum site_headers h = SITE_HEADERS_OFF;
        assert_int_equal(site_headers_parse("on", &h), -EINVAL);
        assert_int_equal(site_headers_parse("", &h), -EINVAL);
        assert_int_equal(site_headers_parse("Strict", &h), -EINVAL);
        assert_int_equal(h, SITE_HEADERS_OFF);

        struct site s;
        good_site(&s);
        char err[256] = "";
        s.security_headers = SITE_HEADERS_STRICT;
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), 0);
        s.security_headers = (enum site_headers)7;
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), -EINVAL);
        assert_true(strncmp(err, "security_headers ", 17) == 0);
        site_clear(&s);
}

static void test_roots_overlap(void **state)
{
        (void)state;
        assert_true(site_roots_overlap("/var/www/a", "/var/www/a"));
        assert_true(site_roots_overlap("/var/www/a", "/var/www/a/b"));
        assert_true(site_roots_overlap("/var/www/a/b/c", "/var/www/a"));
        assert_false(site_roots_overlap("/var/www/a", "/var/www/ab"));
        assert_false(site_roots_overlap("/var/www/ab", "/var/www/a"));
        assert_false(site_roots_overlap("/var/www/a", "/var/www/b"));
        assert_true(site_roots_overlap("/", "/var/www/a"));
        assert_false(site_roots_overlap(NULL, "/var/www/a"));
}

static void test_root_free(void **state)
{
        (void)state;
        char dir[] = "/tmp/setec-root-XXXXXX", path[320], err[512];
        assert_non_null(mkdtemp(dir));
        struct site app = {.app_type = APP_PYTHON, .app_root = path, .git_repo = (char *)""};
        struct site cloned = {.app_type = APP_STATIC,
                              .app_root = path,
                              .git_repo = (char *)"https://example.com/r.git"};
        struct site plain = {.app_type = APP_STATIC, .app_root = path, .git_repo = (char *)""};
        /* absent, then an empty directory: free */
        snprintf(path, sizeof(path), "%s/new", dir);
        assert_int_equal(site_check_root_free(&app, err, sizeof(err)), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(site_check_root_free(&app, err, sizeof(err)), 0);
        /* a dot-file is content too */
        char f[400];
        snprintf(f, sizeof(f), "%s/.keep", path);
        FILE *fp = fopen(f, "w");
        assert_non_null(fp);
        fclose(fp);
        assert_int_equal(site_check_root_free(&app, err, sizeof(err)), -EEXIST);
        assert_true(strncmp(err, "app_root ", 9) == 0);
        assert_int_equal(site_check_root_free(&cloned, err, sizeof(err)), -EEXIST);
        /* served as it is: nothing is written into it */
        assert_int_equal(site_check_root_free(&plain, err, sizeof(err)), 0);
        /* a file where the directory would be */
        assert_true(strlen(f) < sizeof(path));
        strcpy(path, f);
        assert_int_equal(site_check_root_free(&plain, err, sizeof(err)), -ENOTDIR);
        assert_true(strncmp(err, "app_root ", 9) == 0);
        unlink(f);
        snprintf(path, sizeof(path), "%s/new", dir);
        rmdir(path);
        rmdir(dir);
}

static void test_port_and_type(void **state)
{
        (void)state;
        int bad_ports[] = {1, 80, 443, 1023, 65536, -1, 100000};
        for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
                struct site s;
                good_site(&s);
                s.app_port = bad_ports[i];
                char err[256] = "";
                assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), -EINVAL);
                assert_memory_equal(err, "app_port ", 9);
                site_clear(&s);
        }
        struct site s;
        good_site(&s);
        s.app_type = (enum app_type)17;
        char err[256] = "";
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), -EINVAL);
        assert_memory_equal(err, "app_type ", 9);
        site_clear(&s);
}

static void test_no_local_root(void **state)
{
        (void)state;
        char *saved = cfg.git.local_root;
        cfg.git.local_root = NULL;
        struct site s;
        good_site(&s);
        free(s.git_repo);
        s.git_repo = strdup("/srv/git/site.git");
        char err[256] = "";
        assert_int_equal(site_validate(&s, &cfg, err, sizeof(err)), -EINVAL);
        assert_memory_equal(err, "git_repo ", 9);
        site_clear(&s);
        cfg.git.local_root = saved;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_type_names),      cmocka_unit_test(test_valid_and_lowercased),
            cmocka_unit_test(test_empty_optionals), cmocka_unit_test(test_hostile_everywhere),
            cmocka_unit_test(test_field_specific),  cmocka_unit_test(test_port_and_type),
            cmocka_unit_test(test_no_local_root),   cmocka_unit_test(test_credentials_redacted),
            cmocka_unit_test(test_roots_overlap),   cmocka_unit_test(test_root_free),
            cmocka_unit_test(test_body_size),       cmocka_unit_test(test_security_headers),
        };
        int r = cmocka_run_group_tests(tests, setup, NULL);
        config_free(&cfg);
        return r;
}
