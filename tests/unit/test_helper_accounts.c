/* The helper's ufw and account ops driven through helper_serve_call with
 * hostile requests: each must be refused and run nothing.
 *
 * Every call is served in a forked child inside a private mount namespace
 * whose /usr/local/sbin (first in exec's PATH) holds recorders named like
 * the programs the ops run (ufw, useradd, userdel, chpasswd, pkill): a
 * program that ran leaves its argv in a file. The valid requests at the end
 * show that the recorders do see what runs. Needs root (unshare); skipped
 * otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "base/util.h"
#include "core/config.h"
#include "helper/helper.h"
#include "sys/helpmsg.h"

static char dir[] = "/tmp/setec-helper-acc-XXXXXX";
static char bindir[256], ran[256];
static struct config cfg;

static const char *const progs[] = {"ufw", "useradd", "userdel", "chpasswd", "pkill"};

static int setup(void **state)
{
        (void)state;
        if (geteuid() != 0)
                return 0;
        if (!mkdtemp(dir))
                return -1;
        snprintf(bindir, sizeof(bindir), "%s/bin", dir);
        snprintf(ran, sizeof(ran), "%s/ran", dir);
        if (mkdir(bindir, 0755) < 0)
                return -1;
        for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
                char path[512], text[512];
                snprintf(path, sizeof(path), "%s/%s", bindir, progs[i]);
                snprintf(text, sizeof(text), "#!/bin/sh\necho \"%s $*\" >> %s\nexit 0\n", progs[i],
                         ran);
                FILE *f = fopen(path, "w");
                if (!f)
                        return -1;
                fputs(text, f);
                fclose(f);
                chmod(path, 0755);
        }
        if (config_defaults(&cfg) < 0)
                return -1;
        cfg.server.port = 8443;
        free(cfg.nginx.webroot);
        cfg.nginx.webroot = strdup("/srv/setec-test-www");
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        if (geteuid() != 0)
                return 0;
        config_free(&cfg);
        for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
                char path[512];
                snprintf(path, sizeof(path), "%s/%s", bindir, progs[i]);
                unlink(path);
        }
        unlink(ran);
        rmdir(bindir);
        rmdir(dir);
        return 0;
}

static void need_root(void)
{
        if (geteuid() != 0)
                skip();
}

/* What the recorders saw since the last call ("" when nothing ran). */
static char *recorded(void)
{
        char *data = NULL;
        size_t len = 0;
        if (read_file(ran, 1 << 20, &data, &len) < 0)
                return strdup("");
        unlink(ran);
        return data;
}

struct result {
        int rc;
        char msg[4096];
        int64_t extra; /* the first int extra, -1 when none */
};

/* Send hb (an HM_REQUEST) and serve it in a child with the recorders first
 * in PATH. */
static struct result call(struct hm_builder *hb)
{
        struct result res = {.rc = 1, .extra = -1};
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        assert_int_equal(hm_end(hb), 0);
        assert_int_equal(hm_send(sv[0], hb, -1), 0);
        hm_builder_free(hb);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
                    mount(bindir, "/usr/local/sbin", NULL, MS_BIND, NULL) < 0)
                        _exit(77);
                _exit(helper_serve_call(&cfg, sv[1]) < 0 ? 1 : 0);
        }
        close(sv[1]);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
                close(sv[0]);
                skip(); /* no mount namespace here */
        }
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        unsigned char *buf = malloc(HM_MAX);
        assert_non_null(buf);
        size_t len = 0;
        int fd = -1;
        assert_int_equal(hm_recv(sv[0], buf, HM_MAX, &len, &fd), 0);
        close(sv[0]);
        struct hm_msg m;
        assert_int_equal(hm_parse(buf, len, &m), 0);
        assert_int_equal(m.kind, HM_RESULT);
        assert_true(m.n >= 2);
        res.rc = (int)hm_int(&m, 0, 1);
        snprintf(res.msg, sizeof(res.msg), "%s", hm_str(&m, 1) ? hm_str(&m, 1) : "");
        res.extra = hm_int(&m, 2, -1);
        hm_msg_clear(&m);
        free(buf);
        return res;
}

/* Build a request: sig says the fields' types, then the values. */
static struct result req(unsigned op, const char *sig, ...)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, op);
        va_list ap;
        va_start(ap, sig);
        for (const char *t = sig; *t; t++)
                if (*t == 's')
                        hm_add_str(&hb, va_arg(ap, const char *));
                else
                        hm_add_int(&hb, va_arg(ap, long long));
        va_end(ap);
        return call(&hb);
}

/* rc is refused with want and nothing ran. */
#define REFUSED(r, want)                                                                           \
        do {                                                                                       \
                struct result r_ = (r);                                                            \
                _cleanup_free_ char *ran_ = recorded();                                            \
                if (r_.rc != (want) || *ran_)                                                      \
                        fail_msg("line %d: rc %d (want %d) msg '%s' ran '%s'", __LINE__, r_.rc,    \
                                 (want), r_.msg, ran_);                                            \
        } while (0)

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
