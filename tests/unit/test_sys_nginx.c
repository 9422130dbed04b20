/* nginx vhosts: golden files of every variant (SETEC_UPDATE_GOLDEN=1
 * rewrites tests/fixtures/nginx/<name>.conf), refusal of invalid sites, the pid
 * directive parser, and transactions with rollback against a real nginx in a
 * private prefix (skipped when /usr/sbin/nginx is missing). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "base/fsutil.h"
#include "core/config.h"
#include "core/site.h"
#include "sys/nginx.h"
#include "sys/tlscert.h"

#define NGINX_BIN "/usr/sbin/nginx"

static void set(char **field, const char *v)
{
        free(*field);
        *field = v ? strdup(v) : NULL;
}

static void golden_config(struct config *c)
{
        assert_int_equal(config_defaults(c), 0);
        set(&c->nginx.webroot, "/var/www");
        set(&c->nginx.certbot_webroot, "/var/www/certbot");
        set(&c->nginx.snippets, "/etc/nginx/snippets");
        c->nginx.http_port = 80;
        c->nginx.https_port = 443;
}

static void make_site(struct site *s, enum app_type t, const char *domain, const char *aliases,
                      int port, bool ssl)
{
        memset(s, 0, sizeof(*s));
        s->domain = strdup(domain);
        s->aliases = strdup(aliases);
        s->app_type = t;
        char root[256];
        snprintf(root, sizeof(root), "/var/www/%s", domain);
        s->app_root = strdup(root);
        s->app_port = port;
        s->app_entry = strdup(t == APP_NODE ? "server.js" : t == APP_STATIC ? "" : "app.py");
        s->git_repo = strdup("");
        s->git_branch = strdup("main");
        s->ssl_enabled = ssl;
        char p[300];
        snprintf(p, sizeof(p), "/etc/letsencrypt/live/%s/fullchain.pem", domain);
        s->ssl_cert_path = strdup(ssl ? p : "");
        snprintf(p, sizeof(p), "/etc/letsencrypt/live/%s/privkey.pem", domain);
        s->ssl_key_path = strdup(ssl ? p : "");
        s->enabled = true;
}

static char *slurp(const char *path)
{
        char *text = NULL;
        if (read_file(path, 1 << 20, &text, NULL) < 0)
                return NULL;
        return text;
}

static void check_golden(const char *name, const struct site *s, const struct config *c)
{
        char *got = nginx_render_vhost(s, c);
        assert_non_null(got);
        char path[512];
        snprintf(path, sizeof(path), "%s/nginx/%s.conf", FIXTURES, name);
        const char *upd = getenv("SETEC_UPDATE_GOLDEN");
        if (upd && strcmp(upd, "1") == 0)
                assert_int_equal(write_file_atomic(path, got, strlen(got), 0644), 0);
        char *want = slurp(path);
        if (!want)
                fail_msg("missing golden file %s (run with SETEC_UPDATE_GOLDEN=1)", path);
        if (strcmp(got, want) != 0)
                fail_msg("%s differs from the rendering:\n%s", path, got);
        free(want);
        free(got);
}

static void test_golden(void **state)
{
        (void)state;
        struct config c = {0};
        golden_config(&c);
        struct site s;

        make_site(&s, APP_STATIC, "example.com", "", 0, false);
        check_golden("static", &s, &c);
        site_clear(&s);

        make_site(&s, APP_STATIC, "example.com", "", 0, true);
        check_golden("static-ssl", &s, &c);
        site_clear(&s);

        make_site(&s, APP_STATIC, "example.com", "www.example.com  blog.example.com", 0, false);
        check_golden("static-aliases", &s, &c);
        site_clear(&s);

        make_site(&s, APP_PYTHON, "app.example.com", "", 8000, false);
        check_golden("python", &s, &c);
        site_clear(&s);

        make_site(&s, APP_PYTHON, "app.example.com", "www.app.example.com", 8000, true);
        check_golden("python-ssl", &s, &c);
        site_clear(&s);

        make_site(&s, APP_NODE, "node.example.com", "", 3000, false);
        check_golden("node", &s, &c);
        site_clear(&s);

        make_site(&s, APP_NODE, "node.example.com", "", 3000, true);
        check_golden("node-ssl", &s, &c);
        site_clear(&s);

        make_site(&s, APP_AUTARCH, "autarch.example.com", "", 8181, false);
        check_golden("autarch", &s, &c);
        site_clear(&s);

        /* ssl wanted but no certificate yet: served like a plain site */
        make_site(&s, APP_STATIC, "example.com", "", 0, false);
        s.ssl_enabled = true;
        check_golden("static", &s, &c);
        site_clear(&s);

        /* per-site settings (issue 11): strict headers and the site's own
         * body size in both server blocks; "off": no headers at all */
        make_site(&s, APP_STATIC, "example.com", "", 0, true);
        s.security_headers = SITE_HEADERS_STRICT;
        set(&s.max_body_size, "200m");
        check_golden("static-ssl-strict", &s, &c);
        site_clear(&s);
        make_site(&s, APP_PYTHON, "app.example.com", "", 8000, true);
        s.security_headers = SITE_HEADERS_OFF;
        set(&s.max_body_size, "512k");
        check_golden("python-ssl-headers-off", &s, &c);
        site_clear(&s);
        /* an empty size is the config's, like a site made before the field */
        make_site(&s, APP_STATIC, "example.com", "", 0, false);
        set(&s.max_body_size, "");
        s.security_headers = SITE_HEADERS_DEFAULT;
        check_golden("static", &s, &c);
        site_clear(&s);
        set(&c.nginx.client_max_body_size, "1g");
        make_site(&s, APP_STATIC, "example.com", "", 0, false);
        char *got = nginx_render_vhost(&s, &c);
        assert_non_null(got);
        assert_non_null(strstr(got, "    client_max_body_size 1g;\n"));
        free(got);
        site_clear(&s);
        set(&c.nginx.client_max_body_size, "64m");

        c.nginx.http_port = 8080;
        c.nginx.https_port = 8443;
        make_site(&s, APP_PYTHON, "app.example.com", "", 8000, true);
        check_golden("python-ssl-ports", &s, &c);
        site_clear(&s);
        make_site(&s, APP_STATIC, "example.com", "", 0, false);
        check_golden("static-ports", &s, &c);
        site_clear(&s);
        config_free(&c);
}

static void expect_refused(const struct site *s, const struct config *c)
{
        errno = 0;
        char *got = nginx_render_vhost(s, c);
        if (got)
                fail_msg("rendered an invalid site:\n%s", got);
        assert_int_equal(errno, EINVAL);
}

static void test_refuses_invalid(void **state)
{
        (void)state;
        struct config c = {0};
        golden_config(&c);
        struct site s;
        static const char *const bad_domains[] = {"Example.com", "a;b", "a b",  "a\nb", "../x",
                                                  "-x.com",      "a{b", "a\"b", "",     "x.com;"};
        for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
                make_site(&s, APP_STATIC, "example.com", "", 0, false);
                set(&s.domain, bad_domains[i]);
                expect_refused(&s, &c);
                site_clear(&s);
        }
        static const char *const bad_aliases[] = {"a;b", "x.com;\n", "a{b", "'a'", "-a.com"};
        for (size_t i = 0; i < sizeof(bad_aliases) / sizeof(bad_aliases[0]); i++) {
                make_site(&s, APP_STATIC, "example.com", "", 0, false);
                set(&s.aliases, bad_aliases[i]);
                expect_refused(&s, &c);
                site_clear(&s);
        }
        static const char *const bad_roots[] = {
            "/etc",         "/var/www",    "/var/www/a b", "/var/www/../etc",
            "/var/www/a;b", "/var/www/a{", "relative"};
        for (size_t i = 0; i < sizeof(bad_roots) / sizeof(bad_roots[0]); i++) {
                make_site(&s, APP_STATIC, "example.com", "", 0, false);
                set(&s.app_root, bad_roots[i]);
                expect_refused(&s, &c);
                site_clear(&s);
        }
        int bad_ports[] = {0, 80, 1023, 65536, -5};
        for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
                make_site(&s, APP_PYTHON, "example.com", "", bad_ports[i], false);
                expect_refused(&s, &c);
                site_clear(&s);
        }
        static const char *const bad_certs[] = {
            "/etc/c.pem;",   "/etc/a b.pem",           "c.pem",
            "/etc/../c.pem", "/etc/c.pem\ninclude /x", "/etc/\"c\".pem"};
        for (size_t i = 0; i < sizeof(bad_certs) / sizeof(bad_certs[0]); i++) {
                make_site(&s, APP_STATIC, "example.com", "", 0, true);
                set(&s.ssl_cert_path, bad_certs[i]);
                expect_refused(&s, &c);
                site_clear(&s);
                make_site(&s, APP_NODE, "example.com", "", 3000, true);
                set(&s.ssl_key_path, bad_certs[i]);
                expect_refused(&s, &c);
                site_clear(&s);
        }
        make_site(&s, (enum app_type)9, "example.com", "", 3000, false);
        expect_refused(&s, &c);
        site_clear(&s);
        static const char *const bad_sizes[] = {"10m;\n include /etc/shadow",
                                                "10m; include /etc/shadow;",
                                                "5g",
                                                "10mb",
                                                "m",
                                                "1 m",
                                                "{"};
        for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
                make_site(&s, APP_STATIC, "example.com", "", 0, true);
                set(&s.max_body_size, bad_sizes[i]);
                expect_refused(&s, &c);
                site_clear(&s);
        }
        make_site(&s, APP_STATIC, "example.com", "", 0, false);
        s.security_headers = (enum site_headers)3;
        expect_refused(&s, &c);
        site_clear(&s);

        /* unsafe configuration values are refused too */
        make_site(&s, APP_STATIC, "example.com", "", 0, false);
        set(&c.nginx.certbot_webroot, "/var/www/cert bot");
        expect_refused(&s, &c);
        set(&c.nginx.certbot_webroot, "/var/www/certbot");
        set(&c.nginx.snippets, "/etc/nginx/snip;pets");
        expect_refused(&s, &c);
        site_clear(&s);
        config_free(&c);
}

static void test_paths(void **state)
{
        (void)state;
        struct config c = {0};
        golden_config(&c);
        set(&c.nginx.sites_available, "/etc/nginx/sites-available");
        char *p = nginx_vhost_path(&c, "example.com");
        assert_string_equal(p, "/etc/nginx/sites-available/example.com");
        free(p);
        assert_null(nginx_vhost_path(&c, "../etc/passwd"));
        assert_null(nginx_vhost_path(&c, "a/b"));
        assert_null(nginx_vhost_path(&c, ""));
        char *out = NULL;
        assert_int_equal(nginx_read_vhost(&c, "../x", &out), -EINVAL);
        assert_int_equal(nginx_read_vhost(&c, "a;b", &out), -EINVAL);
        assert_null(out);
        config_free(&c);
}

static void test_pid_directive(void **state)
{
        (void)state;
        char *p = nginx_conf_pid_path("user www-data;\npid /run/nginx.pid;\nevents {}\n", "/etc");
        assert_string_equal(p, "/run/nginx.pid");
        free(p);
        p = nginx_conf_pid_path("worker_processes 1;\n  pid   run/x.pid ; # comment", "/srv/ng");
        assert_string_equal(p, "/srv/ng/run/x.pid");
        free(p);
        p = nginx_conf_pid_path("# pid /nope.pid;\npid \"/q/n.pid\";", "/d");
        assert_string_equal(p, "/q/n.pid");
        free(p);
        /* only the top level counts, and only whole directive names */
        assert_null(nginx_conf_pid_path("http { pid /nope.pid; }\npidfile /x;\n", "/d"));
        assert_null(nginx_conf_pid_path("error_log pid;\n", "/d"));
        assert_null(nginx_conf_pid_path("", "/d"));
}

/* ---- a real nginx in a private prefix ---- */

struct prefix {
        char dir[256];
        struct config c;
        int port;
        pid_t pid;
};

static int free_port(void)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        socklen_t len = sizeof(a);
        getsockname(fd, (struct sockaddr *)&a, &len);
        close(fd);
        return ntohs(a.sin_port);
}

static char *pathf(const struct prefix *p, const char *rel)
{
        char *out = NULL;
        assert_true(asprintf(&out, "%s/%s", p->dir, rel) > 0);
        return out;
}

static void put(const struct prefix *p, const char *rel, const char *text)
{
        char *path = pathf(p, rel);
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
        free(path);
}

static void mk(const struct prefix *p, const char *rel)
{
        char *path = pathf(p, rel);
        assert_int_equal(mkdir_p(path, 0755), 0);
        free(path);
}

static void prefix_setup(struct prefix *p)
{
        memset(p, 0, sizeof(*p));
        snprintf(p->dir, sizeof(p->dir), "/tmp/setec-ngx-XXXXXX");
        assert_non_null(mkdtemp(p->dir));
        chmod(p->dir, 0755);
        const char *dirs[] = {"sites-available", "sites-enabled", "snippets", "www",
                              "certbot",         "logs",          "tmp",      "run"};
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                mk(p, dirs[i]);
        p->port = free_port();
        char *conf = NULL;
        assert_true(asprintf(&conf,
                             "worker_processes 1;\n"
                             "pid %1$s/run/nginx.pid;\n"
                             "error_log %1$s/logs/error.log;\n"
                             "events { worker_connections 64; }\n"
                             "http {\n"
                             "    default_type text/plain;\n"
                             "    access_log %1$s/logs/access.log;\n"
                             "    client_body_temp_path %1$s/tmp/body;\n"
                             "    proxy_temp_path %1$s/tmp/proxy;\n"
                             "    fastcgi_temp_path %1$s/tmp/fastcgi;\n"
                             "    uwsgi_temp_path %1$s/tmp/uwsgi;\n"
                             "    scgi_temp_path %1$s/tmp/scgi;\n"
                             "    include %1$s/sites-enabled/*;\n"
                             "}\n",
                             p->dir) > 0);
        put(p, "nginx.conf", conf);
        free(conf);
        put(p, "snippets/proxy-params.conf", "proxy_set_header Host $host;\n");
        put(p, "snippets/ssl-params.conf", "ssl_protocols TLSv1.2 TLSv1.3;\n");

        assert_int_equal(config_defaults(&p->c), 0);
        struct config *c = &p->c;
        set(&c->nginx.binary, NGINX_BIN);
        char *v;
        v = pathf(p, "nginx.conf");
        set(&c->nginx.conf, v);
        free(v);
        v = pathf(p, "logs/error.log");
        set(&c->nginx.error_log, v);
        free(v);
        v = pathf(p, "sites-available");
        set(&c->nginx.sites_available, v);
        free(v);
        v = pathf(p, "sites-enabled");
        set(&c->nginx.sites_enabled, v);
        free(v);
        v = pathf(p, "snippets");
        set(&c->nginx.snippets, v);
        free(v);
        v = pathf(p, "www");
        set(&c->nginx.webroot, v);
        free(v);
        v = pathf(p, "certbot");
        set(&c->nginx.certbot_webroot, v);
        free(v);
        set(&c->nginx.reload, "signal");
        c->nginx.http_port = p->port;
        /* the default servers listen on the https port too */
        c->nginx.https_port = free_port();
}

static void sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static void prefix_start(struct prefix *p)
{
        p->pid = fork();
        assert_true(p->pid >= 0);
        if (p->pid == 0) {
                int null = open("/dev/null", O_RDWR);
                dup2(null, 1);
                dup2(null, 2);
                execl(NGINX_BIN, "nginx", "-c", p->c.nginx.conf, "-e", p->c.nginx.error_log, "-g",
                      "daemon off;", (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 200; i++) {
                bool running = false;
                nginx_status(&p->c, &running, NULL, 0);
                if (running)
                        return;
                sleep_ms(25);
        }
        fail_msg("nginx did not start");
}

/* The master named by the pid file (a restart daemonises a new one). */
static pid_t pidfile_pid(const struct prefix *p)
{
        char *path = pathf(p, "run/nginx.pid");
        char *t = slurp(path);
        free(path);
        pid_t pid = t ? (pid_t)atol(t) : 0;
        free(t);
        return pid;
}

static void prefix_stop(struct prefix *p)
{
        pid_t pid = pidfile_pid(p);
        if (pid > 0)
                kill(pid, SIGTERM);
        if (p->pid > 0) {
                kill(p->pid, SIGTERM);
                waitpid(p->pid, NULL, 0);
        }
        for (int i = 0; i < 200 && pid > 0 && kill(pid, 0) == 0; i++)
                sleep_ms(25);
        char *cmd[] = {"rm", "-rf", p->dir, NULL};
        pid_t rm = fork();
        if (rm == 0) {
                execvp("rm", cmd);
                _exit(127);
        }
        waitpid(rm, NULL, 0);
        config_free(&p->c);
}

/* GET path with Host: host through the prefix's nginx; the whole response
 * (status line and headers included) or NULL. */
static char *http_get_path(int port, const char *host, const char *path)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
                close(fd);
                return NULL;
        }
        char req[300];
        int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
        assert_int_equal(write(fd, req, (size_t)n), n);
        char *buf = calloc(1, 65536);
        size_t len = 0;
        ssize_t k;
        while (len < 65535 && (k = read(fd, buf + len, 65535 - len)) > 0)
                len += (size_t)k;
        close(fd);
        return buf;
}

/* A POST to / announcing len body bytes (none sent): nginx decides from
 * Content-Length alone whether the body is too large. The status line. */
static char *http_post_len(int port, const char *host, long len)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
                close(fd);
                return NULL;
        }
        char req[300];
        int n = snprintf(req, sizeof(req),
                         "POST / HTTP/1.0\r\nHost: %s\r\nContent-Length: %ld\r\n\r\n", host, len);
        assert_int_equal(write(fd, req, (size_t)n), n);
        shutdown(fd, SHUT_WR);
        char *buf = calloc(1, 4096);
        size_t got = 0;
        ssize_t k;
        while (got < 4095 && (k = read(fd, buf + got, 4095 - got)) > 0)
                got += (size_t)k;
        close(fd);
        buf[strcspn(buf, "\r\n")] = '\0';
        return buf;
}

/* Wait until host answers with a response containing want (reloads replace
 * workers gracefully, so the first answers may still come from old ones). */
static bool serves_path(int port, const char *host, const char *path, const char *want)
{
        for (int i = 0; i < 100; i++) {
                char *r = http_get_path(port, host, path);
                bool ok = r && strstr(r, want);
                free(r);
                if (ok)
                        return true;
                sleep_ms(30);
        }
        return false;
}

static bool serves(int port, const char *host, const char *want)
{
        return serves_path(port, host, "/", want);
}

/* Wait until nginx closes a request for host without any answer (the
 * default server's return 444). */
static bool refused(int port, const char *host)
{
        for (int i = 0; i < 100; i++) {
                char *r = http_get_path(port, host, "/");
                bool none = r && r[0] == '\0';
                free(r);
                if (none)
                        return true;
                sleep_ms(30);
        }
        return false;
}

static void static_site(struct prefix *p, struct site *s, const char *domain, const char *body)
{
        char rel[300], root[512];
        snprintf(rel, sizeof(rel), "www/%s", domain);
        mk(p, rel);
        snprintf(rel, sizeof(rel), "www/%s/index.html", domain);
        put(p, rel, body);
        memset(s, 0, sizeof(*s));
        s->domain = strdup(domain);
        s->aliases = strdup("");
        s->app_type = APP_STATIC;
        snprintf(root, sizeof(root), "%s/www/%s", p->dir, domain);
        s->app_root = strdup(root);
        s->app_entry = strdup("");
        s->git_repo = strdup("");
        s->git_branch = strdup("main");
        s->ssl_cert_path = strdup("");
        s->ssl_key_path = strdup("");
}

static char *file_of(const struct prefix *p, const char *rel)
{
        char *path = pathf(p, rel);
        char *t = slurp(path);
        free(path);
        return t;
}

static char *link_of(const struct prefix *p, const char *rel)
{
        char *path = pathf(p, rel);
        char buf[1024];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);
        free(path);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        return strdup(buf);
}

static void test_txn_real_nginx(void **state)
{
        (void)state;
        if (access(NGINX_BIN, X_OK) != 0)
                skip();
        struct prefix p;
        prefix_setup(&p);

        /* nginx not running yet: a valid change is written without a reload */
        struct site a;
        static_site(&p, &a, "a.test", "site A v1\n");
        struct nginx_txn *t = NULL;
        char *msg = NULL;
        assert_int_equal(nginx_txn_begin(&p.c, &t), 0);
        assert_int_equal(nginx_txn_put_site(t, &a), 0);
        int r = nginx_txn_commit(t, &msg);
        if (r != 0)
                fail_msg("commit: %d %s", r, msg ? msg : "");
        nginx_txn_free(t);
        char *target = link_of(&p, "sites-enabled/a.test");
        char *want = pathf(&p, "sites-available/a.test");
        assert_string_equal(target, want);
        free(target);
        free(want);

        bool running = true;
        char state_s[32];
        assert_int_equal(nginx_status(&p.c, &running, state_s, sizeof(state_s)), 0);
        assert_false(running);
        assert_string_equal(state_s, "inactive");

        prefix_start(&p);
        assert_int_equal(nginx_status(&p.c, &running, state_s, sizeof(state_s)), 0);
        assert_true(running);
        assert_string_equal(state_s, "active");
        assert_true(serves(p.port, "a.test", "site A v1"));

        char *out = NULL;
        assert_int_equal(nginx_test(&p.c, &out), 1);
        assert_non_null(strstr(out, "syntax is ok"));
        free(out);

        /* a second site, committed with a reload, serves */
        struct site b;
        static_site(&p, &b, "b.test", "site B\n");
        assert_int_equal(nginx_txn_begin(&p.c, &t), 0);
        assert_int_equal(nginx_txn_put_site(t, &b), 0);
        assert_int_equal(nginx_txn_commit(t, &msg), 0);
        nginx_txn_free(t);
        assert_true(serves(p.port, "b.test", "site B"));

        char *a_before = file_of(&p, "sites-available/a.test");
        char *b_before = file_of(&p, "sites-available/b.test");
        char *b_link_before = link_of(&p, "sites-enabled/b.test");
        assert_non_null(a_before);
        assert_non_null(b_link_before);

        /* a change nginx refuses (a certificate that does not exist), plus a
         * drop and a new site in the same transaction: all undone */
        set(&a.aliases, "www.a.test");
        a.ssl_enabled = true;
        char *cert = pathf(&p, "no/such/cert.pem");
        set(&a.ssl_cert_path, cert);
        set(&a.ssl_key_path, cert);
        free(cert);
        struct site c;
        static_site(&p, &c, "c.test", "site C\n");
        assert_int_equal(nginx_txn_begin(&p.c, &t), 0);
        assert_int_equal(nginx_txn_put_site(t, &a), 0);
        assert_int_equal(nginx_txn_drop_site(t, "b.test", true), 0);
        assert_int_equal(nginx_txn_put_site(t, &c), 0);
        msg = NULL;
        assert_int_equal(nginx_txn_commit(t, &msg), -EINVAL);
        nginx_txn_free(t);
        assert_non_null(msg);
        if (!strstr(msg, "cert.pem"))
                fail_msg("nginx's message missing: %s", msg);
        free(msg);
        msg = NULL;

        char *a_after = file_of(&p, "sites-available/a.test");
        char *b_after = file_of(&p, "sites-available/b.test");
        char *b_link_after = link_of(&p, "sites-enabled/b.test");
        assert_string_equal(a_after, a_before);
        assert_string_equal(b_after, b_before);
        assert_string_equal(b_link_after, b_link_before);
        char *gone = file_of(&p, "sites-available/c.test");
        assert_null(gone);
        char *gone_link = link_of(&p, "sites-enabled/c.test");
        assert_null(gone_link);
        free(a_after);
        free(b_after);
        free(b_link_after);
        assert_int_equal(nginx_test(&p.c, NULL), 1);

        /* a broken file written by hand: every commit fails with nginx's
         * message, the transaction's own change is undone */
        put(&p, "sites-enabled/broken", "bogus_directive on;\n");
        assert_int_equal(nginx_test(&p.c, &out), 0);
        assert_non_null(strstr(out, "unknown directive"));
        free(out);
        assert_int_equal(nginx_checked_reload(&p.c, &msg), -EINVAL);
        assert_non_null(strstr(msg, "bogus_directive"));
        free(msg);
        msg = NULL;
        set(&a.aliases, "");
        a.ssl_enabled = false;
        assert_int_equal(nginx_txn_begin(&p.c, &t), 0);
        assert_int_equal(nginx_txn_put_site(t, &c), 0);
        assert_int_equal(nginx_txn_commit(t, &msg), -EINVAL);
        nginx_txn_free(t);
        assert_non_null(strstr(msg, "bogus_directive"));
        free(msg);
        msg = NULL;
        assert_null(file_of(&p, "sites-available/c.test"));
        /* the old configuration keeps serving */
        assert_true(serves(p.port, "a.test", "site A v1"));
        assert_true(serves(p.port, "b.test", "site B"));
        char *broken = pathf(&p, "sites-enabled/broken");
        unlink(broken);
        free(broken);

        /* an uncommitted transaction is undone when freed */
        assert_int_equal(nginx_txn_begin(&p.c, &t), 0);
        assert_int_equal(nginx_txn_drop_site(t, "a.test", false), 0);
        assert_null(link_of(&p, "sites-enabled/a.test"));
        nginx_txn_free(t);
        target = link_of(&p, "sites-enabled/a.test");
        assert_non_null(target);
        free(target);

        /* dropping a site for real, then the reload and the restart */
        assert_int_equal(nginx_txn_begin(&p.c, &t), 0);
        assert_int_equal(nginx_txn_drop_site(t, "b.test", false), 0);
        assert_int_equal(nginx_txn_drop_site(t, "never.test", true), 0);
        assert_int_equal(nginx_txn_commit(t, &msg), 0);
        nginx_txn_free(t);
        assert_null(link_of(&p, "sites-enabled/b.test"));
        char *kept = file_of(&p, "sites-available/b.test");
        assert_string_equal(kept, b_before);
        free(kept);
        /* an unknown name gets nothing: not the site that sorts first */
        assert_true(refused(p.port, "b.test"));
        assert_true(refused(p.port, "unknown.test"));

        /* rendered SSL and proxy vhosts run for real: the port-80 block
         * answers ACME challenges and redirects the rest, the proxy proxies */
        p.c.nginx.https_port = free_port();
        char *crt = pathf(&p, "tls/cert.pem"), *key = pathf(&p, "tls/key.pem");
        assert_int_equal(tlscert_create_selfsigned(crt, key, "s.test"), 0);
        struct site ssl, px;
        static_site(&p, &ssl, "s.test", "secure site\n");
        ssl.ssl_enabled = true;
        set(&ssl.ssl_cert_path, crt);
        set(&ssl.ssl_key_path, key);
        free(crt);
        free(key);
        memset(&px, 0, sizeof(px));
        static_site(&p, &px, "p.test", "unused\n");
        px.app_type = APP_PYTHON;
        px.app_port = free_port(); /* nothing listens there: 502 */
        mk(&p, "certbot/.well-known/acme-challenge");
        put(&p, "certbot/.well-known/acme-challenge/tok123", "tok123.thumbprint");
        assert_int_equal(nginx_txn_begin(&p.c, &t), 0);
        assert_int_equal(nginx_txn_put_site(t, &ssl), 0);
        assert_int_equal(nginx_txn_put_site(t, &px), 0);
        r = nginx_txn_commit(t, &msg);
        if (r != 0)
                fail_msg("ssl commit: %d %s", r, msg ? msg : "");
        nginx_txn_free(t);
        char loc[128];
        snprintf(loc, sizeof(loc), "Location: https://s.test:%d/x?y=1", p.c.nginx.https_port);
        assert_true(serves_path(p.port, "s.test", "/x?y=1", loc));
        assert_true(serves_path(p.port, "s.test", "/.well-known/acme-challenge/tok123",
                                "tok123.thumbprint"));
        assert_true(serves_path(p.port, "p.test", "/.well-known/acme-challenge/tok123",
                                "tok123.thumbprint"));
        assert_true(serves(p.port, "p.test", "502 Bad Gateway"));
        site_clear(&ssl);
        site_clear(&px);

        /* per-site headers and body size, served by the real nginx */
        struct site hs, ho;
        static_site(&p, &hs, "h.test", "strict site\n");
        hs.security_headers = SITE_HEADERS_STRICT;
        set(&hs.max_body_size, "1k");
        static_site(&p, &ho, "o.test", "headers off\n");
        ho.security_headers = SITE_HEADERS_OFF;
        assert_int_equal(nginx_txn_begin(&p.c, &t), 0);
        assert_int_equal(nginx_txn_put_site(t, &hs), 0);
        assert_int_equal(nginx_txn_put_site(t, &ho), 0);
        r = nginx_txn_commit(t, &msg);
        if (r != 0)
                fail_msg("headers commit: %d %s", r, msg ? msg : "");
        nginx_txn_free(t);
        assert_true(serves(p.port, "h.test", "strict site"));
        char *resp = http_get_path(p.port, "h.test", "/");
        assert_non_null(strstr(resp, "X-Frame-Options: DENY\r\n"));
        assert_non_null(strstr(resp, "Content-Security-Policy: frame-ancestors 'none'\r\n"));
        assert_non_null(strstr(resp, "X-Content-Type-Options: nosniff\r\n"));
        free(resp);
        assert_true(serves(p.port, "o.test", "headers off"));
        resp = http_get_path(p.port, "o.test", "/");
        assert_null(strstr(resp, "X-Frame-Options"));
        assert_null(strstr(resp, "X-Content-Type-Options"));
        assert_null(strstr(resp, "Referrer-Policy"));
        free(resp);
        /* a.test keeps the defaults */
        resp = http_get_path(p.port, "a.test", "/");
        assert_non_null(strstr(resp, "X-Frame-Options: SAMEORIGIN\r\n"));
        free(resp);
        char *st = http_post_len(p.port, "h.test", 2048);
        assert_non_null(strstr(st, " 413 "));
        free(st);
        st = http_post_len(p.port, "o.test", 2048); /* the config's 64m */
        assert_null(strstr(st, " 413 "));
        free(st);
        site_clear(&hs);
        site_clear(&ho);

        assert_int_equal(nginx_reload(&p.c, &msg), 0);
        pid_t old = pidfile_pid(&p);
        r = nginx_restart(&p.c, &msg);
        if (r != 0)
                fail_msg("restart: %d %s", r, msg ? msg : "");
        waitpid(p.pid, NULL, 0);
        p.pid = 0;
        pid_t now = pidfile_pid(&p);
        assert_true(now > 0 && now != old);
        assert_int_equal(nginx_status(&p.c, &running, NULL, 0), 0);
        assert_true(running);
        assert_true(serves(p.port, "a.test", "site A v1"));

        free(a_before);
        free(b_before);
        free(b_link_before);
        site_clear(&a);
        site_clear(&b);
        site_clear(&c);
        prefix_stop(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_golden),         cmocka_unit_test(test_refuses_invalid),
            cmocka_unit_test(test_paths),          cmocka_unit_test(test_pid_directive),
            cmocka_unit_test(test_txn_real_nginx),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
