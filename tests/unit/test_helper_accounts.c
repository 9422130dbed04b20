/* The helper's ufw and account ops driven through helper_serve_call with
 * hostile requests: each must be refused and run nothing.
 *
 * Every call is served in a forked child inside a private mount namespace
 * whose /usr/local/sbin (first in exec's PATH) holds recorders named like
 * the programs the ops run (ufw, useradd, userdel, chpasswd, pkill): a
 * program that ran leaves its argv in a file. The valid requests at the end
 * show that the recorders do see what runs. Needs root (unshare); skipped
 * otherwise. */
#include "core/config.h"

static struct config cfg;
#include "helper_ops.h"

static const char *const progs[] = {"ufw", "useradd", "userdel", "chpasswd", "pkill", NULL};

static int setup(void **state)
{
        (void)state;
        if (geteuid() != 0)
                return 0;
        if (ops_setup("/tmp/setec-helper-acc-XXXXXX", progs) < 0)
                return -1;
        if (config_defaults(&cfg) < 0)
                return -1;
        cfg.server.port = 8443;
        free(cfg.nginx.webroot);
        cfg.nginx.webroot = strdup("/srv/setec-test-www");
        return 0;
}

static void test_user_create_refused(void **state)
{
        (void)state;
        need_root();
        REFUSED(req(HOP_USER_CREATE, "sss", "-oops", "pw", "/bin/sh"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "--badname", "pw", "/bin/sh"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "Root", "pw", "/bin/sh"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "x\nroot", "pw", "/bin/sh"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "setecunitx", "a:b", "/bin/sh"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "setecunitx", "a\nroot:x", "/bin/sh"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "setecunitx", "a\rb", "/bin/sh"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "setecunitx", "", "/bin/sh"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "setecunitx", "pw", "/bin/evil-shell"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "setecunitx", "pw", "bash"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "sss", "setecunitx", "pw", "/etc/shells"), -EINVAL);
        /* root exists: found before useradd could run */
        REFUSED(req(HOP_USER_CREATE, "sss", "root", "pw", "/bin/sh"), -EEXIST);
        /* the wrong shape */
        REFUSED(req(HOP_USER_CREATE, "ss", "setecunitx", "pw"), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "ssi", "setecunitx", "pw", 1LL), -EINVAL);
        REFUSED(req(HOP_USER_CREATE, "ssss", "setecunitx", "pw", "/bin/sh", "x"), -EINVAL);
}

static void test_password_never_in_message(void **state)
{
        (void)state;
        need_root();
        struct result r = req(HOP_USER_CREATE, "sss", "setecunitx", "s3cret-pw-42", "/bin/nosuch");
        _cleanup_free_ char *ran_ = recorded();
        assert_int_equal(r.rc, -EINVAL);
        assert_string_equal(ran_, "");
        assert_null(strstr(r.msg, "s3cret-pw-42"));
}

static void test_user_delete_refused(void **state)
{
        (void)state;
        need_root();
        REFUSED(req(HOP_USER_DELETE, "s", "root"), -EPERM);
        REFUSED(req(HOP_USER_DELETE, "s", "autarch"), -EPERM);
        /* an existing account below UID 1000 (daemon, bin, nobody's 65534) */
        REFUSED(req(HOP_USER_DELETE, "s", "daemon"), -EPERM);
        REFUSED(req(HOP_USER_DELETE, "s", "nobody"), -EPERM);
        REFUSED(req(HOP_USER_DELETE, "s", "-r"), -EINVAL);
        REFUSED(req(HOP_USER_DELETE, "s", ""), -EINVAL);
        REFUSED(req(HOP_USER_DELETE, "s", "../root"), -EINVAL);
        REFUSED(req(HOP_USER_DELETE, "i", 0LL), -EINVAL);
        REFUSED(req(HOP_USER_DELETE, ""), -EINVAL);
}

static void test_site_user_refused(void **state)
{
        (void)state;
        need_root();
        REFUSED(req(HOP_SITE_USER_ADD, "is", 0LL, "/srv/setec-test-www/a"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "is", -1LL, "/srv/setec-test-www/a"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "is", (long long)INT64_MIN, "/srv/setec-test-www/a"),
                -EINVAL);
        /* homes outside the webroot, or not normalised */
        REFUSED(req(HOP_SITE_USER_ADD, "is", 7LL, "/etc"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "is", 7LL, "/root"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "is", 7LL, "/srv/setec-test-www"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "is", 7LL, "/srv/setec-test-www/../../etc"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "is", 7LL, "/srv/setec-test-www/a/"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "is", 7LL, "/srv/setec-test-wwwx/a"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "is", 7LL, "srv/setec-test-www/a"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "is", 7LL, ""), -EINVAL);
        /* a name instead of an id: the wrong shape */
        REFUSED(req(HOP_SITE_USER_ADD, "ss", "setec-s7", "/srv/setec-test-www/a"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_ADD, "ss", "root", "/srv/setec-test-www/a"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_DEL, "i", 0LL), -EINVAL);
        REFUSED(req(HOP_SITE_USER_DEL, "i", -3LL), -EINVAL);
        REFUSED(req(HOP_SITE_USER_DEL, "s", "root"), -EINVAL);
        REFUSED(req(HOP_SITE_USER_DEL, "s", "setec-s7"), -EINVAL);
}

static void test_fw_refused(void **state)
{
        (void)state;
        need_root();
        /* delete: one rule's spec, no options */
        REFUSED(req(HOP_FW_DELETE, "s", "allow\n--force"), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "s", "-h"), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "s", "--dry-run\nallow\n22"), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "s", "3"), -EINVAL); /* by number: not a spec */
        REFUSED(req(HOP_FW_DELETE, "s", "route\n-x"), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "s", "route"), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "s", "reset"), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "s", "allow\n\n22"), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "s", "allow\n22\x01"), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "s", "allow\n22\r"), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "s", ""), -EINVAL);
        REFUSED(req(HOP_FW_DELETE, "ss", "allow", "22"), -EINVAL);
        /* add: fw_new_rule_check */
        REFUSED(req(HOP_FW_ADD, "sssss", "22;reboot", "tcp", "any", "allow", ""), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "0", "tcp", "any", "allow", ""), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "65536", "tcp", "any", "allow", ""), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "--force", "tcp", "any", "allow", ""), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "22", "icmp", "any", "allow", ""), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "22", "tcp", "10.0.0.0/33", "allow", ""), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "22", "tcp", "::1/129", "allow", ""), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "22", "tcp", "-1.2.3.4", "allow", ""), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "22", "tcp", "any", "drop", ""), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "22", "tcp", "any", "allow", "--force"), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "sssss", "22", "tcp", "any", "allow", "it's"), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "ssss", "22", "tcp", "any", "allow"), -EINVAL);
        REFUSED(req(HOP_FW_ADD, "issss", 22LL, "tcp", "any", "allow", ""), -EINVAL);
        /* enable: only the configured panel port, known flags */
        REFUSED(req(HOP_FW_ENABLE, "ii", 22LL, 3LL), -EINVAL);
        REFUSED(req(HOP_FW_ENABLE, "ii", 0LL, 0LL), -EINVAL);
        REFUSED(req(HOP_FW_ENABLE, "ii", 8443LL, 4LL), -EINVAL);
        REFUSED(req(HOP_FW_ENABLE, "ii", 8443LL, -1LL), -EINVAL);
        REFUSED(req(HOP_FW_ENABLE, "i", 8443LL), -EINVAL);
        REFUSED(req(HOP_FW_DISABLE, "s", "--force"), -EINVAL);
        REFUSED(req(HOP_FW_READ, "s", "x"), -EINVAL);
}

/* The detector works: valid requests reach the recorders, with what ufw
 * and useradd should get and no password in any argv. */
static void test_valid_requests_run(void **state)
{
        (void)state;
        need_root();
        struct result r = req(HOP_FW_ADD, "sssss", "8080", "tcp", "any", "allow", "App");
        _cleanup_free_ char *a = recorded();
        assert_int_equal(r.rc, 0);
        assert_string_equal(a, "ufw allow to any port 8080 proto tcp comment App\n");

        r = req(HOP_FW_DELETE, "s", "allow\n22/tcp");
        _cleanup_free_ char *d = recorded();
        assert_int_equal(r.rc, 0);
        assert_string_equal(d, "ufw delete allow 22/tcp\n");

        r = req(HOP_FW_ENABLE, "ii", 8443LL, 2LL);
        _cleanup_free_ char *e = recorded();
        assert_int_equal(r.rc, 0);
        assert_string_equal(e,
                            "ufw allow to any port 22 proto tcp comment SSH\nufw --force enable\n");

        r = req(HOP_SITE_USER_ADD, "is", 987654321LL, "/srv/setec-test-www/site");
        _cleanup_free_ char *s = recorded();
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.extra, 0);
        assert_string_equal(s, "useradd --system --user-group --no-create-home --home-dir "
                               "/srv/setec-test-www/site --shell /usr/sbin/nologin -- "
                               "setec-s987654321\n");

        r = req(HOP_USER_CREATE, "sss", "setecunitx", "s3cret-pw-42", "/bin/sh");
        _cleanup_free_ char *c = recorded();
        assert_int_equal(r.rc, 0);
        assert_non_null(strstr(c, "useradd --create-home --shell /bin/sh --user-group -- "
                                  "setecunitx\n"));
        assert_non_null(strstr(c, "chpasswd \n"));
        assert_null(strstr(c, "s3cret"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_user_create_refused),
            cmocka_unit_test(test_password_never_in_message),
            cmocka_unit_test(test_user_delete_refused),
            cmocka_unit_test(test_site_user_refused),
            cmocka_unit_test(test_fw_refused),
            cmocka_unit_test(test_valid_requests_run),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
