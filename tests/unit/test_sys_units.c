/* systemd units of apps: golden renderings, refusal of hostile values,
 * quoting, behaviour without a system bus, chown without following links.
 * With SETEC_UNITS_LIVE=1 (tests/system/test_units_container.py runs this
 * binary inside a throw-away systemd container) the live group drives a real
 * systemd over sd-bus. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "core/config.h"
#include "core/site.h"
#include "sys/units.h"

#define GOLDEN FIXTURES "/units"

static struct config cfg;
static char tmpdir[] = "/tmp/setec-units-XXXXXX";

static int setup(void **state)
{
        (void)state;
        if (config_defaults(&cfg) < 0 || !mkdtemp(tmpdir))
                return -1;
        free(cfg.nginx.webroot);
        cfg.nginx.webroot = strdup("/var/www");
        free(cfg.systemd.unit_dir);
        char p[128];
        snprintf(p, sizeof(p), "%s/units", tmpdir);
        cfg.systemd.unit_dir = strdup(p);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        config_free(&cfg);
        char *argv[] = {"rm", "-rf", tmpdir, NULL};
        pid_t pid = fork();
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        return 0;
}

static void site_init(struct site *s, enum app_type t, const char *domain, const char *root,
                      int port, const char *entry)
{
        memset(s, 0, sizeof(*s));
        s->app_type = t;
        s->domain = (char *)domain;
        s->aliases = (char *)"";
        s->app_root = (char *)root;
        s->app_port = port;
        s->app_entry = (char *)entry;
        s->git_repo = (char *)"";
        s->git_branch = (char *)"main";
        s->ssl_cert_path = (char *)"";
        s->ssl_key_path = (char *)"";
        s->enabled = true;
}

static void check_golden(const char *file, const char *text)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", GOLDEN, file);
        if (getenv("SETEC_UPDATE_GOLDEN")) {
                assert_int_equal(mkdir_p(GOLDEN, 0755), 0);
                assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
        }
        char *want = NULL;
        size_t len = 0;
        assert_int_equal(read_file(path, 1 << 20, &want, &len), 0);
        assert_string_equal(text, want);
        free(want);
}

static void test_golden_python(void **state)
{
        (void)state;
        struct site s;
        site_init(&s, APP_PYTHON, "app.example.com", "/var/www/app.example.com", 8001, "app.py");
        char *t = unit_render_app(&s, &cfg, "setec-app");
        assert_non_null(t);
        check_golden("python.service", t);
        free(t);
}

static void test_golden_node(void **state)
{
        (void)state;
        struct site s;
        site_init(&s, APP_NODE, "node.example.org", "/var/www/node.example.org", 3100,
                  "src/server.js");
        char *t = unit_render_app(&s, &cfg, "setec-app");
        assert_non_null(t);
        check_golden("node.service", t);
        free(t);
}

static void test_golden_autarch(void **state)
{
        (void)state;
        struct site s;
        /* the entry is ignored: autarch always runs autarch_web.py */
        site_init(&s, APP_AUTARCH, "autarch.example.net", "/var/www/autarch", 8181, "other.py");
        char *t = unit_render_app(&s, &cfg, "setec-app");
        assert_non_null(t);
        check_golden("autarch.service", t);
        assert_null(strstr(t, "other.py"));
        free(t);
}

static void test_required_lines(void **state)
{
        (void)state;
        static const char *const lines[] = {
            "\nUser=setec-app\n",
            "\nGroup=setec-app\n",
            "\nWorkingDirectory=/var/www/p.example.com\n",
            "\nEnvironment=\"PORT=65535\"\n",
            "\nRestart=on-failure\n",
            "\nNoNewPrivileges=yes\n",
            "\nProtectSystem=strict\n",
            "\nReadWritePaths=\"/var/www/p.example.com\"\n",
            "\nPrivateTmp=yes\n",
            "\nWantedBy=multi-user.target\n",
        };
        struct site s;
        site_init(&s, APP_PYTHON, "p.example.com", "/var/www/p.example.com", 65535, "a/b.py");
        char *t = unit_render_app(&s, &cfg, "setec-app");
        assert_non_null(t);
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
                if (!strstr(t, lines[i]))
                        fail_msg("missing %s in\n%s", lines[i], t);
        assert_non_null(strstr(t, "ExecStart=\"/var/www/p.example.com/venv/bin/python3\" "
                                  "\"/var/www/p.example.com/a/b.py\"\n"));
        free(t);
        /* node gets no PYTHONUNBUFFERED */
        site_init(&s, APP_NODE, "p.example.com", "/var/www/p.example.com", 1024, "index.js");
        t = unit_render_app(&s, &cfg, "www-data");
        assert_non_null(t);
        assert_null(strstr(t, "PYTHONUNBUFFERED"));
        assert_non_null(strstr(t, "\nUser=www-data\n"));
        assert_non_null(
            strstr(t, "\nExecStart=/usr/bin/node \"/var/www/p.example.com/index.js\"\n"));
        free(t);
}

static void expect_refused(enum app_type t, const char *domain, const char *root, int port,
                           const char *entry, const char *user)
{
        struct site s;
        site_init(&s, t, domain, root, port, entry);
        char *text = unit_render_app(&s, &cfg, user);
        if (text) {
                fail_msg("rendered domain=%s root=%s port=%d entry=%s user=%s:\n%s",
                         domain ? domain : "(null)", root ? root : "(null)", port,
                         entry ? entry : "(null)", user ? user : "(null)", text);
        }
}

static void test_hostile_refused(void **state)
{
        (void)state;
        const char *D = "ok.example.com", *R = "/var/www/ok", *E = "app.py", *U = "setec-app";
        static const char *const bad_domains[] = {
            "a.com\nExecStartPre=/bin/sh",
            "a.com;b",
            "a{.com",
            "a\".com",
            "a'.com",
            "..",
            "a..com",
            "-a.com",
            "a.com\r",
            "a .com",
            "a%n.com",
            "",
            "a/b.com",
        };
        for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++)
                expect_refused(APP_PYTHON, bad_domains[i], R, 8000, E, U);
        expect_refused(APP_PYTHON, NULL, R, 8000, E, U);

        static const char *const bad_roots[] = {
            "/var/www",     "/var/www/",     "/var/www/../etc",       "/var/www/a/../../etc",
            "/etc/x",       "var/www/x",     "/var/www/a\nUser=root", "/var/www/a b",
            "/var/www/a;b", "/var/www/a\"b", "/var/www/a'b",          "/var/www/a\\b",
            "/var/www//a",  "/var/www/./a",  "/var/wwwx/a",           "",
        };
        for (size_t i = 0; i < sizeof(bad_roots) / sizeof(bad_roots[0]); i++)
                expect_refused(APP_NODE, D, bad_roots[i], 8000, E, U);
        expect_refused(APP_NODE, D, NULL, 8000, E, U);

        static const char *const bad_entries[] = {
            "",       "../x.py", "a/../../x.py", "/abs.py", "-m",      "a/-c",
            "a\nb",   "a;b.py",  "a{b}.py",      "a\"b.py", "a'b.py",  "a b.py",
            "a$HOME", "a%n.py",  "a\\b.py",      "./a.py",  "a//b.py",
        };
        for (size_t i = 0; i < sizeof(bad_entries) / sizeof(bad_entries[0]); i++) {
                expect_refused(APP_PYTHON, D, R, 8000, bad_entries[i], U);
                expect_refused(APP_NODE, D, R, 8000, bad_entries[i], U);
        }
        expect_refused(APP_PYTHON, D, R, 8000, NULL, U);

        static const int bad_ports[] = {0, -1, 80, 1023, 65536, 100000};
        for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++)
                expect_refused(APP_PYTHON, D, R, bad_ports[i], E, U);

        static const char *const bad_users[] = {
            "",    "-root", "root\n", "a b",
            "a;b", "Root",  "a\"b",   "x234567890123456789012345678901234"};
        for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++)
                expect_refused(APP_PYTHON, D, R, 8000, E, bad_users[i]);
        expect_refused(APP_PYTHON, D, R, 8000, E, NULL);

        /* static sites have no unit; an unknown type neither */
        expect_refused(APP_STATIC, D, R, 8000, E, U);
        expect_refused((enum app_type)42, D, R, 8000, E, U);
        assert_null(unit_render_app(NULL, &cfg, U));

        /* the same site with good values renders (the refusals are the values) */
        struct site s;
        site_init(&s, APP_PYTHON, D, R, 8000, E);
        char *t = unit_render_app(&s, &cfg, U);
        assert_non_null(t);
        free(t);
}

static void test_quote(void **state)
{
        (void)state;
        static const struct {
                const char *in;
                bool exec;
                const char *out;
        } cases[] = {
            {"/var/www/a", true, "\"/var/www/a\""},
            {"a b", false, "\"a b\""},
            {"100%", false, "\"100%%\""},
            {"%n", true, "\"%%n\""},
            {"$HOME", true, "\"$$HOME\""},
            {"$HOME", false, "\"$HOME\""},
            {"a\"b", true, "\"a\\\"b\""},
            {"a\\b", true, "\"a\\\\b\""},
            {"a;b", true, "\"a;b\""},
            {"", true, "\"\""},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *q = unit_quote(cases[i].in, cases[i].exec);
                assert_non_null(q);
                assert_string_equal(q, cases[i].out);
                free(q);
        }
        assert_null(unit_quote("a\nb", true));
        assert_null(unit_quote("a\rb", false));
        assert_null(unit_quote("a\tb", false));
        assert_null(unit_quote("a\x7f", false));
        assert_null(unit_quote(NULL, false));
}

static bool file_exists(const char *p)
{
        return access(p, F_OK) == 0;
}

static void test_no_bus(void **state)
{
        (void)state;
        assert_int_equal(setenv("SETEC_SYSTEM_BUS", "unix:path=/nonexistent/bus", 1), 0);
        char err[256] = "x";
        assert_int_equal(
            unit_control("app-a.example.com.service", UNIT_START, 1000, err, sizeof(err)),
            -EHOSTDOWN);
        assert_non_null(strstr(err, "no system bus reachable"));
        for (int op = UNIT_START; op <= UNIT_DISABLE; op++) {
                err[0] = 0;
                assert_int_equal(unit_control("x.service", (enum unit_op)op, 500, err, sizeof(err)),
                                 -EHOSTDOWN);
                assert_true(err[0] != 0);
        }
        struct unit_state st;
        assert_int_equal(unit_state("app-a.example.com.service", &st), -EHOSTDOWN);
        assert_string_equal(st.active, "unknown");
        assert_false(st.running);

        /* install without a systemd: nothing is left behind */
        char path[256];
        snprintf(path, sizeof(path), "%s/app-new.example.com.service", cfg.systemd.unit_dir);
        assert_int_equal(unit_install(&cfg, "app-new.example.com.service", "[Unit]\n"), -EHOSTDOWN);
        assert_false(file_exists(path));
        /* ... and an existing unit keeps its old text */
        assert_int_equal(write_file_atomic(path, "old\n", 4, 0644), 0);
        assert_int_equal(unit_install(&cfg, "app-new.example.com.service", "new\n"), -EHOSTDOWN);
        char *text = NULL;
        size_t len;
        assert_int_equal(read_file(path, 1024, &text, &len), 0);
        assert_string_equal(text, "old\n");
        free(text);
        /* remove still deletes the file, and says systemd was not told */
        assert_int_equal(unit_remove(&cfg, "app-new.example.com.service"), -EHOSTDOWN);
        assert_false(file_exists(path));
        unsetenv("SETEC_SYSTEM_BUS");
}

static void test_bad_names(void **state)
{
        (void)state;
        char err[128] = "";
        static const char *const names[] = {"-x.service",  "a/b.service", "../x.service",
                                            "a b.service", "a\n.service", ""};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                assert_int_equal(unit_control(names[i], UNIT_START, 100, err, sizeof(err)),
                                 -EINVAL);
                assert_int_equal(unit_install(&cfg, names[i], "[Unit]\n"), -EINVAL);
                assert_int_equal(unit_remove(&cfg, names[i]), -EINVAL);
        }
        assert_int_equal(unit_control(NULL, UNIT_STOP, 100, err, sizeof(err)), -EINVAL);
        /* nothing was created by the refused installs */
        char p[256];
        snprintf(p, sizeof(p), "%s/../x.service", cfg.systemd.unit_dir);
        assert_false(file_exists(p));
}

static void owner_is(const char *path, uid_t uid, gid_t gid)
{
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        if (st.st_uid != uid || st.st_gid != gid)
                fail_msg("%s owned by %u:%u, want %u:%u", path, st.st_uid, st.st_gid, uid, gid);
}

static void test_chown_tree(void **state)
{
        (void)state;
        struct passwd *pw = getpwnam("nobody");
        if (geteuid() != 0 || !pw) {
                skip();
                return;
        }
        char root[256], sub[300], deep[320], f[320], outside[256], link1[320], link2[320];
        snprintf(root, sizeof(root), "%s/tree", tmpdir);
        snprintf(sub, sizeof(sub), "%s/sub", root);
        snprintf(deep, sizeof(deep), "%s/sub/deeper", root);
        snprintf(f, sizeof(f), "%s/sub/deeper/file", root);
        snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
        snprintf(link1, sizeof(link1), "%s/link-file", root);
        snprintf(link2, sizeof(link2), "%s/sub/link-dir", root);
        assert_int_equal(mkdir_p(deep, 0755), 0);
        assert_int_equal(write_file_atomic(f, "x", 1, 0644), 0);
        assert_int_equal(mkdir_p(outside, 0755), 0);
        char of[300];
        snprintf(of, sizeof(of), "%s/secret", outside);
        assert_int_equal(write_file_atomic(of, "s", 1, 0600), 0);
        assert_int_equal(symlink(of, link1), 0);
        assert_int_equal(symlink(outside, link2), 0);

        assert_int_equal(units_chown_tree(root, "nobody"), 0);
        uid_t u = pw->pw_uid;
        gid_t g = pw->pw_gid;
        owner_is(root, u, g);
        owner_is(sub, u, g);
        owner_is(deep, u, g);
        owner_is(f, u, g);
        owner_is(link1, u, g); /* the links themselves */
        owner_is(link2, u, g);
        owner_is(outside, 0, 0); /* never what they point to */
        owner_is(of, 0, 0);

        /* a root that is itself a symlink is refused */
        char lroot[300];
        snprintf(lroot, sizeof(lroot), "%s/lroot", tmpdir);
        assert_int_equal(symlink(outside, lroot), 0);
        assert_true(units_chown_tree(lroot, "nobody") < 0);
        owner_is(outside, 0, 0);
        assert_int_equal(units_chown_tree(root, "no-such-user-xyz"), -ENOENT);
        assert_int_equal(units_chown_tree(root, "-x"), -EINVAL);
        assert_int_equal(units_chown_tree("relative", "nobody"), -EINVAL);
}

/* ---- live: a real systemd (inside the test container only) ---- */

static bool live(void)
{
        const char *v = getenv("SETEC_UNITS_LIVE");
        return v && strcmp(v, "1") == 0;
}

static char live_root[256];

static void get_prop(const char *unit, const char *prop, char *out, size_t outlen)
{
        sd_bus *bus = NULL;
        assert_int_equal(sd_bus_open_system(&bus), 0);
        char *path = NULL;
        assert_true(sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path) >= 0);
        char *v = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
                                           "org.freedesktop.systemd1.Unit", prop, &e, &v);
        assert_true(r >= 0);
        snprintf(out, outlen, "%s", v);
        free(v);
        free(path);
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(bus);
}

static bool http_get(int port, const char *want)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = false;
        for (int i = 0; i < 100 && !ok; i++) {
                if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
                        ok = true;
                        break;
                }
                close(fd);
                fd = socket(AF_INET, SOCK_STREAM, 0);
                usleep(50000);
        }
        if (!ok) {
                close(fd);
                return false;
        }
        const char req[] = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
        assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
        char buf[4096];
        size_t n = 0;
        ssize_t k;
        while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
                n += (size_t)k;
        buf[n] = 0;
        close(fd);
        return strstr(buf, want) != NULL;
}

static const char live_app[] =
    "import http.server, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        b = ('live-app user=%d cwd=%s' % (os.getuid(), os.getcwd())).encode()\n"
    "        self.send_response(200); self.end_headers(); self.wfile.write(b)\n"
    "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n";

static void test_live(void **state)
{
        (void)state;
        if (!live()) {
                skip();
                return;
        }
        struct config lc = cfg;
        lc.systemd.unit_dir = (char *)"/etc/systemd/system";
        lc.nginx.webroot = (char *)"/srv/setec-live";
        snprintf(live_root, sizeof(live_root), "/srv/setec-live/app.live.test");
        char p[512];
        snprintf(p, sizeof(p), "%s/venv/bin", live_root);
        assert_int_equal(mkdir_p(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/venv/bin/python3", live_root);
        unlink(p);
        assert_int_equal(symlink("/usr/bin/python3", p), 0);
        snprintf(p, sizeof(p), "%s/app.py", live_root);
        assert_int_equal(write_file_atomic(p, live_app, strlen(live_app), 0644), 0);

        const char *user = NULL;
        assert_int_equal(units_ensure_app_user(&user), 0);
        assert_string_equal(user, "setec-app");
        assert_int_equal(units_ensure_app_user(NULL), 0); /* idempotent */
        struct passwd *pw = getpwnam("setec-app");
        assert_non_null(pw);
        assert_true(pw->pw_uid < 1000 && pw->pw_uid > 0);
        assert_string_equal(pw->pw_shell, "/usr/sbin/nologin");
        assert_int_equal(units_chown_tree(live_root, user), 0);

        struct site s;
        site_init(&s, APP_PYTHON, "app.live.test", live_root, 18901, "app.py");
        char *text = unit_render_app(&s, &lc, user);
        assert_non_null(text);
        const char *name = "app-app.live.test.service";
        assert_int_equal(unit_install(&lc, name, text), 0);
        free(text);
        char v[64], err[512] = "";
        get_prop(name, "LoadState", v, sizeof(v));
        assert_string_equal(v, "loaded");

        assert_int_equal(unit_control(name, UNIT_ENABLE, 10000, err, sizeof(err)), 0);
        assert_true(file_exists("/etc/systemd/system/multi-user.target.wants/"
                                "app-app.live.test.service"));
        get_prop(name, "UnitFileState", v, sizeof(v));
        assert_string_equal(v, "enabled");

        if (unit_control(name, UNIT_START, 20000, err, sizeof(err)) != 0)
                fail_msg("start: %s", err);
        struct unit_state st;
        assert_int_equal(unit_state(name, &st), 0);
        assert_string_equal(st.active, "active");
        assert_true(st.running);
        char want[512];
        snprintf(want, sizeof(want), "live-app user=%u cwd=%s", pw->pw_uid, live_root);
        assert_true(http_get(18901, want));

        if (unit_control(name, UNIT_STOP, 20000, err, sizeof(err)) != 0)
                fail_msg("stop: %s", err);
        assert_int_equal(unit_state(name, &st), 0);
        assert_string_equal(st.active, "inactive");
        assert_false(http_get(18901, "live-app"));

        if (unit_control(name, UNIT_RESTART, 20000, err, sizeof(err)) != 0)
                fail_msg("restart: %s", err);
        assert_int_equal(unit_state(name, &st), 0);
        assert_string_equal(st.active, "active");
        assert_true(http_get(18901, want));

        /* no ExecReload: systemd's refusal comes back in err */
        err[0] = 0;
        assert_true(unit_control(name, UNIT_RELOAD, 20000, err, sizeof(err)) < 0);
        assert_non_null(strstr(err, "reload"));

        /* the sandbox: the app's view of / is read-only outside its root */
        assert_int_equal(unit_control(name, UNIT_DISABLE, 10000, err, sizeof(err)), 0);
        assert_false(file_exists("/etc/systemd/system/multi-user.target.wants/"
                                 "app-app.live.test.service"));

        assert_int_equal(unit_remove(&lc, name), 0);
        assert_false(file_exists("/etc/systemd/system/app-app.live.test.service"));
        get_prop(name, "LoadState", v, sizeof(v));
        assert_string_equal(v, "not-found");
        assert_false(http_get(18901, "live-app"));

        /* a unit that fails: the job result and the unit's Result in err */
        const char *bad = "setec-live-fail.service";
        const char *bad_text = "[Service]\nType=oneshot\nExecStart=/bin/false\n";
        assert_int_equal(unit_install(&lc, bad, bad_text), 0);
        err[0] = 0;
        assert_int_equal(unit_control(bad, UNIT_START, 20000, err, sizeof(err)), -EIO);
        assert_non_null(strstr(err, "failed"));
        assert_non_null(strstr(err, "exit-code"));
        assert_int_equal(unit_state(bad, &st), 0);
        assert_string_equal(st.active, "failed");
        /* removing a failed unit unloads it */
        assert_int_equal(unit_remove(&lc, bad), 0);
        get_prop(bad, "LoadState", v, sizeof(v));
        assert_string_equal(v, "not-found");

        /* a unit that does not exist: systemd's message */
        err[0] = 0;
        assert_true(unit_control("setec-nope.service", UNIT_START, 5000, err, sizeof(err)) < 0);
        assert_non_null(strstr(err, "not found"));
        /* removing it twice is fine */
        assert_int_equal(unit_remove(&lc, bad), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_golden_python),   cmocka_unit_test(test_golden_node),
            cmocka_unit_test(test_golden_autarch),  cmocka_unit_test(test_required_lines),
            cmocka_unit_test(test_hostile_refused), cmocka_unit_test(test_quote),
            cmocka_unit_test(test_no_bus),          cmocka_unit_test(test_bad_names),
            cmocka_unit_test(test_chown_tree),      cmocka_unit_test(test_live),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
