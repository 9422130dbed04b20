/* The root helper's vhost, unit and certificate ops driven through
 * helper_serve_call on a socket pair, as the HTTP process would call them:
 * hostile requests (a site with a bad domain or an app_root outside the
 * webroot, a domain holding '/', a unit the panel does not manage, a
 * request of the wrong shape, a certificate that is not for its key) are
 * refused and nothing is written; good ones do what they say. nginx is
 * /bin/true or /bin/false here (reload "signal" with no master running), so
 * no nginx and no systemd are needed. */
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

#include "base/fsutil.h"
#include "core/config.h"
#include "core/site.h"
#include "helper/helper.h"
#include "sys/helpmsg.h"
#include "sys/nginx.h"
#include "sys/sitemsg.h"
#include "sys/tlscert.h"
#include "sys/units.h"

/* each test's own, made by env_setup */
static struct config cfg;
#include "helper_ops.h"

struct env {
        char dir[64];
        char avail[128], en[128], www[128], units[128], certs[128], conf[128];
};

static void set(char **field, const char *v)
{
        free(*field);
        *field = v ? strdup(v) : NULL;
}

static int env_setup(void **state)
{
        struct env *e = calloc(1, sizeof(*e));
        snprintf(e->dir, sizeof(e->dir), "/tmp/setec-helper-nginx-XXXXXX");
        assert_non_null(mkdtemp(e->dir));
        snprintf(e->avail, sizeof(e->avail), "%s/avail", e->dir);
        snprintf(e->en, sizeof(e->en), "%s/enabled", e->dir);
        snprintf(e->www, sizeof(e->www), "%s/www", e->dir);
        snprintf(e->units, sizeof(e->units), "%s/units", e->dir);
        snprintf(e->certs, sizeof(e->certs), "%s/certs", e->dir);
        snprintf(e->conf, sizeof(e->conf), "%s/nginx.conf", e->dir);
        const char *dirs[] = {e->avail, e->en, e->www, e->units, e->certs};
        for (size_t i = 0; i < 5; i++)
                assert_int_equal(mkdir(dirs[i], 0755), 0);
        assert_int_equal(write_file_atomic(e->conf, "events {}\n", 10, 0644), 0);
        assert_int_equal(config_defaults(&cfg), 0);
        set(&cfg.nginx.sites_available, e->avail);
        set(&cfg.nginx.sites_enabled, e->en);
        set(&cfg.nginx.webroot, e->www);
        set(&cfg.nginx.certbot_webroot, e->www);
        set(&cfg.nginx.snippets, e->dir);
        set(&cfg.nginx.binary, "/bin/true");
        set(&cfg.nginx.conf, e->conf);
        set(&cfg.nginx.reload, "signal");
        set(&cfg.nginx.error_log, "");
        set(&cfg.systemd.unit_dir, e->units);
        set(&cfg.acme.cert_dir, e->certs);
        set(&cfg.autarch.install_dir, "/opt/autarch");
        *state = e;
        return 0;
}

static int env_teardown(void **state)
{
        struct env *e = *state;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
        assert_int_equal(system(cmd), 0);
        config_free(&cfg);
        free(e);
        return 0;
}

static void make_site(struct env *e, struct site *s, const char *domain, enum app_type t)
{
        memset(s, 0, sizeof(*s));
        char root[256];
        snprintf(root, sizeof(root), "%s/%s", e->www, domain);
        s->id = 7;
        s->domain = strdup(domain);
        s->aliases = strdup("");
        s->app_type = t;
        s->app_root = strdup(root);
        s->app_port = t == APP_STATIC ? 0 : 8001;
        s->app_entry = strdup(t == APP_STATIC ? "" : "app.py");
        s->git_repo = strdup("");
        s->git_branch = strdup("main");
        s->ssl_cert_path = strdup("");
        s->ssl_key_path = strdup("");
        s->enabled = true;
}

static void begin_apply(struct hm_builder *inner)
{
        *inner = (struct hm_builder){.b = STRBUF_INIT(HM_MAX)};
        hm_begin(inner, HM_REQUEST, HOP_NGINX_APPLY);
}

static int apply(struct env *e, struct hm_builder *inner, char *msg, size_t msglen)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_NGINX_APPLY);
        hm_add_bytes(&hb, inner->b.data, inner->b.len);
        hm_builder_free(inner);
        return serve_built(&hb, msg, msglen, NULL);
}

static bool exists(const char *dir, const char *name)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        struct stat st;
        return lstat(p, &st) == 0;
}

static size_t entries(const char *dir)
{
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
        return system(cmd) == 0 ? 0 : 1;
}

/* ---- nginx ---- */

static void test_apply_site(void **state)
{
        struct env *e = *state;
        struct site s;
        make_site(e, &s, "good.example.com", APP_STATIC);
        struct hm_builder inner;
        begin_apply(&inner);
        hm_add_str(&inner, NGINX_CHANGE_SITE);
        hm_add_site(&inner, &s);
        char msg[512];
        assert_int_equal(apply(e, &inner, msg, sizeof(msg)), 0);
        assert_true(exists(e->avail, "good.example.com"));
        assert_true(exists(e->en, "good.example.com"));
        /* and dropped again, file and all */
        begin_apply(&inner);
        hm_add_str(&inner, NGINX_CHANGE_DROP);
        hm_add_str(&inner, "good.example.com");
        hm_add_int(&inner, 1);
        assert_int_equal(apply(e, &inner, msg, sizeof(msg)), 0);
        assert_false(exists(e->avail, "good.example.com"));
        assert_false(exists(e->en, "good.example.com"));
        site_clear(&s);
}

static void test_apply_bad_domain(void **state)
{
        struct env *e = *state;
        const char *bad[] = {"bad_domain!.com", "../../etc/passwd", "a/b.com", "localhost"};
        for (size_t i = 0; i < 4; i++) {
                struct site s;
                make_site(e, &s, "x.example.com", APP_STATIC);
                set(&s.domain, bad[i]);
                struct hm_builder inner;
                begin_apply(&inner);
                hm_add_str(&inner, NGINX_CHANGE_SITE);
                hm_add_site(&inner, &s);
                char msg[512];
                assert_int_equal(apply(e, &inner, msg, sizeof(msg)), -EINVAL);
                assert_non_null(strstr(msg, "domain"));
                site_clear(&s);
        }
        assert_int_equal(entries(e->avail), 0);
        assert_int_equal(entries(e->en), 0);
}

static void test_apply_root_outside_webroot(void **state)
{
        struct env *e = *state;
        struct site s;
        make_site(e, &s, "out.example.com", APP_STATIC);
        set(&s.app_root, "/etc");
        struct hm_builder inner;
        begin_apply(&inner);
        hm_add_str(&inner, NGINX_CHANGE_SITE);
        hm_add_site(&inner, &s);
        char msg[512];
        assert_int_equal(apply(e, &inner, msg, sizeof(msg)), -EINVAL);
        assert_non_null(strstr(msg, "app_root"));
        assert_int_equal(entries(e->avail), 0);
        site_clear(&s);
}

static void test_apply_drop_slash(void **state)
{
        struct env *e = *state;
        /* a file beside sites_available that a "../" would reach */
        char victim[256];
        snprintf(victim, sizeof(victim), "%s/victim", e->dir);
        assert_int_equal(write_file_atomic(victim, "x", 1, 0644), 0);
        const char *bad[] = {"../victim", "a/b", "/etc/passwd", ""};
        for (size_t i = 0; i < 4; i++) {
                struct hm_builder inner;
                begin_apply(&inner);
                hm_add_str(&inner, NGINX_CHANGE_DROP);
                hm_add_str(&inner, bad[i]);
                hm_add_int(&inner, 1);
                char msg[512];
                assert_int_equal(apply(e, &inner, msg, sizeof(msg)), -EINVAL);
        }
        assert_true(exists(e->dir, "victim"));
}

static char *vhost_text(struct env *e, const char *domain)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", e->avail, domain);
        char *text = NULL;
        assert_int_equal(read_file(p, 1 << 20, &text, NULL), 0);
        return text;
}

/* The per-site nginx settings travel in the site's fields and the helper
 * renders them itself. */
static void test_apply_site_settings(void **state)
{
        struct env *e = *state;
        struct site s;
        make_site(e, &s, "big.example.com", APP_STATIC);
        set(&s.max_body_size, "200m");
        s.security_headers = SITE_HEADERS_STRICT;
        struct hm_builder inner;
        begin_apply(&inner);
        hm_add_str(&inner, NGINX_CHANGE_SITE);
        hm_add_site(&inner, &s);
        char msg[512];
        assert_int_equal(apply(e, &inner, msg, sizeof(msg)), 0);
        char *text = vhost_text(e, "big.example.com");
        assert_non_null(strstr(text, "    client_max_body_size 200m;\n"));
        assert_non_null(strstr(text, "X-Frame-Options DENY always;"));
        free(text);
        s.security_headers = SITE_HEADERS_OFF;
        set(&s.max_body_size, "");
        begin_apply(&inner);
        hm_add_str(&inner, NGINX_CHANGE_SITE);
        hm_add_site(&inner, &s);
        assert_int_equal(apply(e, &inner, msg, sizeof(msg)), 0);
        text = vhost_text(e, "big.example.com");
        assert_non_null(strstr(text, "    client_max_body_size 64m;\n")); /* the config's */
        assert_null(strstr(text, "add_header"));
        free(text);
        site_clear(&s);
}

/* A hostile max_body_size or headers mode from the HTTP side is refused
 * by the helper's own check (site_validate, hm_get_site): nothing written. */
static void test_apply_hostile_site_settings(void **state)
{
        struct env *e = *state;
        const char *bad[] = {"10m;\n include /etc/shadow", "10m; include /etc/shadow;", "5g",
                             "10mb", "1 m"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                struct site s;
                make_site(e, &s, "hostile.example.com", APP_STATIC);
                set(&s.max_body_size, bad[i]);
                struct hm_builder inner;
                begin_apply(&inner);
                hm_add_str(&inner, NGINX_CHANGE_SITE);
                hm_add_site(&inner, &s);
                char msg[512];
                assert_int_equal(apply(e, &inner, msg, sizeof(msg)), -EINVAL);
                if (!strstr(msg, "max_body_size"))
                        fail_msg("\"%s\": %s", bad[i], msg);
                site_clear(&s);
        }
        const int64_t bad_modes[] = {3, -1, 1000};
        for (size_t i = 0; i < sizeof(bad_modes) / sizeof(*bad_modes); i++) {
                struct site s;
                make_site(e, &s, "hostile.example.com", APP_STATIC);
                s.security_headers = (enum site_headers)bad_modes[i];
                struct hm_builder inner;
                begin_apply(&inner);
                hm_add_str(&inner, NGINX_CHANGE_SITE);
                hm_add_site(&inner, &s);
                char msg[512];
                assert_int_equal(apply(e, &inner, msg, sizeof(msg)), -EINVAL);
                assert_non_null(strstr(msg, "malformed site"));
                site_clear(&s);
        }
        /* the unit op reads the same site fields */
        struct site s;
        make_site(e, &s, "hostile.example.com", APP_PYTHON);
        set(&s.max_body_size, "10m;\n include /etc/shadow");
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_UNIT_INSTALL_SITE);
        hm_add_site(&hb, &s);
        char msg[512];
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
        assert_non_null(strstr(msg, "max_body_size"));
        site_clear(&s);
        assert_int_equal(entries(e->avail), 0);
        assert_int_equal(entries(e->en), 0);
        assert_int_equal(entries(e->units), 0);
}

static void test_apply_malformed(void **state)
{
        struct env *e = *state;
        char msg[512];
        /* not a message at all */
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_NGINX_APPLY);
        hm_add_bytes(&hb, "garbage", 7);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
        /* a site cut short, an unknown tag, a drop with a wrong flag */
        struct hm_builder inner;
        begin_apply(&inner);
        hm_add_str(&inner, NGINX_CHANGE_SITE);
        hm_add_int(&inner, 1);
        hm_add_str(&inner, "short.example.com");
        assert_int_equal(apply(e, &inner, msg, sizeof(msg)), -EINVAL);
        begin_apply(&inner);
        hm_add_str(&inner, "write");
        hm_add_str(&inner, "/etc/passwd");
        assert_int_equal(apply(e, &inner, msg, sizeof(msg)), -EINVAL);
        begin_apply(&inner);
        hm_add_str(&inner, NGINX_CHANGE_DROP);
        hm_add_str(&inner, "ok.example.com");
        hm_add_int(&inner, 7);
        assert_int_equal(apply(e, &inner, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(entries(e->avail), 0);
}

static void test_apply_failed_test_undone(void **state)
{
        struct env *e = *state;
        set(&cfg.nginx.binary, "/bin/false");
        struct site s;
        make_site(e, &s, "undone.example.com", APP_STATIC);
        struct hm_builder inner;
        begin_apply(&inner);
        hm_add_str(&inner, NGINX_CHANGE_SITE);
        hm_add_site(&inner, &s);
        char msg[512];
        assert_int_equal(apply(e, &inner, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(entries(e->avail), 0);
        assert_int_equal(entries(e->en), 0);
        site_clear(&s);
}

static void test_reload_modes(void **state)
{
        (void)state;
        char msg[512];
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_NGINX_RELOAD);
        hm_add_int(&hb, 9);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
        /* the wrong shape */
        hm_begin(&hb, HM_REQUEST, HOP_NGINX_RELOAD);
        hm_add_str(&hb, "reload");
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
        /* a test: /bin/true passes (the answer carries an int extra) */
        hb = (struct hm_builder){.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_NGINX_RELOAD);
        hm_add_int(&hb, NGINX_MODE_TEST);
        char *x[2];
        assert_int_equal(serve_built_x(&hb, msg, sizeof(msg), NULL, x), 0);
        assert_null(x[0]);
}

/* ---- units ---- */

static void test_unit_control_unmanaged(void **state)
{
        (void)state;
        const char *bad[] = {"ssh.service",         "app-../x.service",
                             "app-Foo.com.service", "systemd-journald.service",
                             "app-.service",        ""};
        for (size_t i = 0; i < 6; i++) {
                char msg[512];
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_UNIT_CONTROL);
                hm_add_str(&hb, bad[i]);
                hm_add_int(&hb, UNIT_STOP);
                hm_add_int(&hb, 1000);
                assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EPERM);
        }
        /* nginx.service may be controlled but never removed */
        char msg[512];
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_UNIT_REMOVE);
        hm_add_str(&hb, "nginx.service");
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EPERM);
        hb = (struct hm_builder){.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_UNIT_REMOVE);
        hm_add_str(&hb, "ssh.service");
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EPERM);
        /* the wrong shape */
        hb = (struct hm_builder){.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_UNIT_CONTROL);
        hm_add_str(&hb, "nginx.service");
        hm_add_str(&hb, "stop");
        hm_add_int(&hb, 1000);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
        /* a managed unit, an operation that does not exist */
        hb = (struct hm_builder){.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_UNIT_CONTROL);
        hm_add_str(&hb, "app-good.example.com.service");
        hm_add_int(&hb, 99);
        hm_add_int(&hb, 1000);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
}

static void test_managed(void **state)
{
        (void)state;
        assert_true(units_managed(&cfg, "app-good.example.com.service", false));
        assert_true(units_managed(&cfg, AUTARCH_WEB_UNIT, false));
        assert_false(units_managed(&cfg, "nginx.service", false));
        assert_true(units_managed(&cfg, "nginx.service", true));
        /* monitor.services' defaults */
        assert_true(units_managed(&cfg, "ufw", true));
        assert_false(units_managed(&cfg, "ufw", false));
        assert_false(units_managed(&cfg, "ssh.service", true));
        assert_false(units_managed(&cfg, "app-x.service.d", true));
}

static void test_unit_install_site_refused(void **state)
{
        struct env *e = *state;
        struct site s;
        char msg[512];
        /* outside the webroot, a bad domain, a static site, no id */
        for (int k = 0; k < 4; k++) {
                make_site(e, &s, "unit.example.com", APP_PYTHON);
                if (k == 0)
                        set(&s.app_root, "/root");
                else if (k == 1)
                        set(&s.domain, "a/b");
                else if (k == 2)
                        s.app_type = APP_STATIC, s.app_port = 0;
                else
                        s.id = 0;
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_UNIT_INSTALL_SITE);
                hm_add_site(&hb, &s);
                assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
                site_clear(&s);
        }
        /* a rendered text instead of the site */
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_UNIT_INSTALL_SITE);
        hm_add_str(&hb, "app-x.service");
        hm_add_str(&hb, "[Service]\nExecStart=/bin/sh -c id\n");
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
        hb = (struct hm_builder){.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_UNIT_INSTALL_AUTARCH);
        hm_add_int(&hb, 5);
        hm_add_int(&hb, 8080);
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
        assert_int_equal(entries(e->units), 0);
}

/* ---- certificates ---- */

struct pem {
        char *cert, *key;
};

static void make_pair(struct env *e, const char *cn, struct pem *p)
{
        char c[256], k[256];
        snprintf(c, sizeof(c), "%s/%s.crt", e->dir, cn);
        snprintf(k, sizeof(k), "%s/%s.key", e->dir, cn);
        assert_int_equal(tlscert_create_selfsigned(c, k, cn), 0);
        assert_int_equal(read_file(c, 1 << 20, &p->cert, NULL), 0);
        assert_int_equal(read_file(k, 1 << 20, &p->key, NULL), 0);
}

/* rc of a certificate install; x (when given) gets the two files it wrote */
static int cert_call(const char *domain, const char *chain, const char *key, char *x[2])
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_CERT_INSTALL);
        hm_add_str(&hb, domain);
        hm_add_str(&hb, chain);
        hm_add_str(&hb, key);
        char msg[512];
        return serve_built_x(&hb, msg, sizeof(msg), NULL, x);
}

static void test_cert_install(void **state)
{
        struct env *e = *state;
        struct pem a = {0}, b = {0};
        make_pair(e, "a.example.com", &a);
        make_pair(e, "b.example.com", &b);
        /* refused: a domain with '/', "..", upper case; garbage; a foreign key */
        const char *bad[] = {"x/y.com", "..", "../certs2", "UP.example.com"};
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(cert_call(bad[i], a.cert, a.key, NULL), -EINVAL);
        assert_int_equal(cert_call("a.example.com", "not a pem", a.key, NULL), -EINVAL);
        assert_int_equal(cert_call("a.example.com", a.cert, b.key, NULL), -EINVAL);
        assert_int_equal(cert_call("a.example.com", a.cert, "", NULL), -EINVAL);
        assert_int_equal(entries(e->certs), 0);
        /* the wrong shape */
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_CERT_INSTALL);
        hm_add_str(&hb, "a.example.com");
        hm_add_bytes(&hb, a.cert, strlen(a.cert));
        char msg[512];
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), NULL), -EINVAL);
        /* a good pair, chain of two */
        char *chain = malloc(strlen(a.cert) + strlen(b.cert) + 1);
        strcpy(chain, a.cert);
        strcat(chain, b.cert);
        char *x[2];
        assert_int_equal(cert_call("a.example.com", chain, a.key, x), 0);
        char *cp = x[0], *kp = x[1];
        char want[512];
        snprintf(want, sizeof(want), "%s/a.example.com/fullchain.pem", e->certs);
        assert_string_equal(cp, want);
        snprintf(want, sizeof(want), "%s/a.example.com/privkey.pem", e->certs);
        assert_string_equal(kp, want);
        struct stat st;
        assert_int_equal(stat(kp, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        char *got = NULL;
        assert_int_equal(read_file(cp, 1 << 20, &got, NULL), 0);
        assert_string_equal(got, chain);
        free(got);
        snprintf(want, sizeof(want), "%s/a.example.com/cert.pem", e->certs);
        assert_int_equal(read_file(want, 1 << 20, &got, NULL), 0);
        assert_string_equal(got, a.cert);
        free(got);
        snprintf(want, sizeof(want), "%s/a.example.com/chain.pem", e->certs);
        assert_int_equal(read_file(want, 1 << 20, &got, NULL), 0);
        assert_string_equal(got, b.cert);
        free(got);
        free(cp);
        free(kp);
        free(chain);
        free(a.cert);
        free(a.key);
        free(b.cert);
        free(b.key);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_apply_site, env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(test_apply_bad_domain, env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(test_apply_root_outside_webroot, env_setup,
                                            env_teardown),
            cmocka_unit_test_setup_teardown(test_apply_drop_slash, env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(test_apply_malformed, env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(test_apply_site_settings, env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(test_apply_hostile_site_settings, env_setup,
                                            env_teardown),
            cmocka_unit_test_setup_teardown(test_apply_failed_test_undone, env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(test_reload_modes, env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(test_unit_control_unmanaged, env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(test_managed, env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(test_unit_install_site_refused, env_setup,
                                            env_teardown),
            cmocka_unit_test_setup_teardown(test_cert_install, env_setup, env_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
