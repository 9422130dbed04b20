#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "base/util.h"
#include "core/config.h"

#define ACME_PROD    "https://acme-v02.api.letsencrypt.org/directory"
#define ACME_STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"

static char tmpdir[64];
static char warnings[16][256];
static size_t nwarnings;

static void capture_warn(const char *msg)
{
        if (nwarnings < ARRAY_SIZE(warnings))
                snprintf(warnings[nwarnings], sizeof(warnings[0]), "%s", msg);
        nwarnings++;
}

static int setup(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_core_config.XXXXXX");
        if (!mkdtemp(tmpdir))
                return -1;
        nwarnings = 0;
        return 0;
}

static int teardown(void **state)
{
        char p[128];
        snprintf(p, sizeof(p), "%s/c.yaml", tmpdir);
        unlink(p);
        rmdir(tmpdir);
        return 0;
}

/* Write text to <tmpdir>/c.yaml and return that path. */
static const char *write_yaml(const char *text)
{
        static char path[128];
        snprintf(path, sizeof(path), "%s/c.yaml", tmpdir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        return path;
}

static void assert_list(const struct config_strlist *l, const char *const *want, size_t n)
{
        assert_int_equal(l->n, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(l->items[i], want[i]);
}

static void check_defaults(const struct config *c)
{
        assert_string_equal(c->server.host, "0.0.0.0");
        assert_int_equal(c->server.port, 9090);
        assert_true(c->server.tls);
        assert_string_equal(c->server.cert, "/opt/setec-manager/data/acme/manager.crt");
        assert_string_equal(c->server.key, "/opt/setec-manager/data/acme/manager.key");
        assert_int_equal(c->server.trusted_proxies.n, 0);
        assert_string_equal(c->server.acme_hostname, "");
        assert_string_equal(c->server.public_ipv4, "");
        assert_string_equal(c->server.public_ipv6, "");
        assert_string_equal(c->database.path, "/opt/setec-manager/data/setec.db");
        assert_string_equal(c->nginx.sites_available, "/etc/nginx/sites-available");
        assert_string_equal(c->nginx.sites_enabled, "/etc/nginx/sites-enabled");
        assert_string_equal(c->nginx.snippets, "/etc/nginx/snippets");
        assert_string_equal(c->nginx.webroot, "/var/www");
        assert_string_equal(c->nginx.certbot_webroot, "/var/www/certbot");
        assert_string_equal(c->nginx.binary, "nginx");
        assert_string_equal(c->nginx.conf, "/etc/nginx/nginx.conf");
        assert_string_equal(c->nginx.reload, "systemd");
        assert_string_equal(c->nginx.access_log, "/var/log/nginx/access.log");
        assert_string_equal(c->nginx.error_log, "/var/log/nginx/error.log");
        assert_int_equal(c->nginx.http_port, 80);
        assert_int_equal(c->nginx.https_port, 443);
        assert_string_equal(c->systemd.unit_dir, "/etc/systemd/system");
        assert_string_equal(c->git.local_root, "/srv/git");
        assert_string_equal(c->git.ca_bundle, "");
        assert_string_equal(c->acme.email, "");
        assert_false(c->acme.staging);
        assert_string_equal(c->acme.account_dir, "/opt/setec-manager/data/acme");
        assert_string_equal(c->acme.directory_url, ACME_PROD);
        assert_string_equal(c->acme.ca_bundle, "");
        assert_string_equal(c->acme.cert_dir, "/etc/letsencrypt/live");
        assert_string_equal(c->autarch.install_dir, "/var/www/autarch");
        assert_string_equal(c->autarch.git_repo, "https://github.com/DigijEth/autarch.git");
        assert_string_equal(c->autarch.git_branch, "main");
        assert_int_equal(c->autarch.web_port, 8181);
        assert_int_equal(c->autarch.dns_port, 53);
        assert_false(c->float_.enabled);
        assert_int_equal(c->float_.max_sessions, 10);
        assert_string_equal(c->float_.session_ttl, "24h");
        assert_int_equal(c->float_.session_ttl_s, 86400);
        assert_string_equal(c->backups.dir, "/opt/setec-manager/data/backups");
        assert_int_equal(c->backups.max_age_days, 30);
        assert_int_equal(c->backups.max_count, 50);
        assert_string_equal(c->logging.level, "info");
        assert_string_equal(c->logging.file, "/var/log/setec-manager.log");
        assert_int_equal(c->logging.max_size_mb, 100);
        assert_int_equal(c->logging.max_backups, 3);
        static const char *const svc[] = {"nginx", "autarch-web", "autarch-dns", "setec-manager",
                                          "ufw"};
        assert_list(&c->monitor.services, svc, ARRAY_SIZE(svc));
        assert_string_equal(c->hosting.dir, "/opt/setec-manager/data/hosting");
        assert_int_equal(c->audit.max_age_days, 90);
        assert_string_equal(c->data_dir, "/opt/setec-manager/data");
}

static void test_defaults(void **state)
{
        struct config c;
        assert_int_equal(config_defaults(&c), 0);
        check_defaults(&c);
        assert_null(c.path);
        config_free(&c);
        /* idempotent, and zeroed afterwards */
        config_free(&c);
        assert_null(c.server.host);
        assert_int_equal(c.monitor.services.n, 0);
        struct config z = {0};
        config_free(&z);
        config_free(NULL);
}

static void test_full_fixture(void **state)
{
        struct config c;
        char err[256] = "";
        bool missing = true;
        assert_int_equal(config_defaults(&c), 0);
        int r =
            config_load(&c, FIXTURES "/config/full.yaml", &missing, capture_warn, err, sizeof(err));
        if (r < 0)
                fail_msg("load failed: %s", err);
        assert_false(missing);
        assert_int_equal(nwarnings, 0);
        assert_string_equal(c.path, FIXTURES "/config/full.yaml");

        assert_string_equal(c.server.host, "127.0.0.1");
        assert_int_equal(c.server.port, 9443);
        assert_false(c.server.tls);
        assert_string_equal(c.server.cert, "/tmp/setec/manager.crt");
        assert_string_equal(c.server.key, "/tmp/setec/manager.key");
        static const char *const px[] = {"10.0.0.1", "192.168.0.0/16", "::1"};
        assert_list(&c.server.trusted_proxies, px, ARRAY_SIZE(px));
        assert_string_equal(c.server.acme_hostname, "panel.example.com");
        assert_string_equal(c.database.path, "/tmp/setec/data/panel.db");
        assert_string_equal(c.nginx.sites_available, "/tmp/setec/nginx/sites-available");
        assert_string_equal(c.nginx.sites_enabled, "/tmp/setec/nginx/sites-enabled");
        assert_string_equal(c.nginx.snippets, "/tmp/setec/nginx/snippets");
        assert_string_equal(c.nginx.webroot, "/tmp/setec/www");
        assert_string_equal(c.nginx.certbot_webroot, "/tmp/setec/www/certbot");
        assert_string_equal(c.nginx.binary, "/usr/sbin/nginx");
        assert_string_equal(c.nginx.conf, "/tmp/setec/nginx/nginx.conf");
        assert_string_equal(c.nginx.reload, "signal");
        assert_string_equal(c.nginx.access_log, "/tmp/setec/log/access.log");
        assert_string_equal(c.nginx.error_log, "/tmp/setec/log/error.log");
        assert_int_equal(c.nginx.http_port, 8080);
        assert_int_equal(c.nginx.https_port, 8443);
        assert_string_equal(c.systemd.unit_dir, "/tmp/setec/units");
        assert_string_equal(c.git.local_root, "/tmp/setec/git");
        assert_string_equal(c.git.ca_bundle, "/tmp/setec/git-ca.pem");
        assert_string_equal(c.acme.email, "admin@example.com");
        assert_true(c.acme.staging);
        assert_string_equal(c.acme.account_dir, "/tmp/setec/acme");
        /* explicit directory_url wins over the staging switch */
        assert_string_equal(c.acme.directory_url, "https://localhost:14000/dir");
        assert_string_equal(c.acme.ca_bundle, "/tmp/setec/pebble.minica.pem");
        assert_string_equal(c.acme.cert_dir, "/tmp/setec/certs");
        assert_string_equal(c.autarch.install_dir, "/tmp/setec/autarch");
        assert_string_equal(c.autarch.git_repo, "git@example.com:team/autarch.git");
        assert_string_equal(c.autarch.git_branch, "develop");
        assert_int_equal(c.autarch.web_port, 8282);
        assert_int_equal(c.autarch.dns_port, 5353);
        assert_true(c.float_.enabled);
        assert_int_equal(c.float_.max_sessions, 3);
        assert_string_equal(c.float_.session_ttl, "1h30m");
        assert_int_equal(c.float_.session_ttl_s, 5400);
        assert_string_equal(c.backups.dir, "/tmp/setec/backups");
        assert_int_equal(c.backups.max_age_days, 7);
        assert_int_equal(c.backups.max_count, 5);
        assert_string_equal(c.logging.level, "debug");
        assert_string_equal(c.logging.file, "/tmp/setec/log/setec.log");
        assert_int_equal(c.logging.max_size_mb, 10);
        assert_int_equal(c.logging.max_backups, 0);
        static const char *const svc[] = {"nginx", "sshd.service", "getty@tty1.service"};
        assert_list(&c.monitor.services, svc, ARRAY_SIZE(svc));
        assert_string_equal(c.hosting.dir, "/tmp/setec/hosting");
        assert_string_equal(c.data_dir, "/tmp/setec/data");
        config_free(&c);
}

static void test_missing_file(void **state)
{
        struct config c = {0};
        char err[128] = "x";
        bool missing = false;
        char path[128];
        snprintf(path, sizeof(path), "%s/does-not-exist.yaml", tmpdir);
        /* a zeroed struct gets the defaults underneath */
        assert_int_equal(config_load(&c, path, &missing, capture_warn, err, sizeof(err)), 0);
        assert_true(missing);
        assert_null(c.path);
        check_defaults(&c);
        config_free(&c);
}

static void test_empty_file(void **state)
{
        static const char *const texts[] = {"", "# only a comment\n", "---\n", "server:\n"};
        for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
                struct config c;
                char err[128] = "";
                bool missing = true;
                assert_int_equal(config_defaults(&c), 0);
                const char *p = write_yaml(texts[i]);
                assert_int_equal(config_load(&c, p, &missing, NULL, err, sizeof(err)), 0);
                assert_false(missing);
                assert_string_equal(c.path, p);
                check_defaults(&c);
                config_free(&c);
        }
        assert_int_equal(nwarnings, 0);
}

static void test_unknown_keys(void **state)
{
        struct config c;
        char err[128] = "";
        assert_int_equal(config_defaults(&c), 0);
        const char *p = write_yaml("server:\n  port: 9091\n  foo: 1\n"
                                   "colour: blue\n"
                                   "nginx:\n  bogus:\n    deep: 1\n");
        assert_int_equal(config_load(&c, p, NULL, capture_warn, err, sizeof(err)), 0);
        assert_int_equal(c.server.port, 9091);
        assert_int_equal(nwarnings, 3);
        assert_non_null(strstr(warnings[0], "unknown config key 'server.foo'"));
        assert_non_null(strstr(warnings[1], "unknown config key 'colour'"));
        assert_non_null(strstr(warnings[2], "unknown config key 'nginx.bogus'"));
        config_free(&c);

        /* hostile key names are made printable before they reach the log */
        nwarnings = 0;
        assert_int_equal(config_defaults(&c), 0);
        p = write_yaml("server:\n  \"a\\nb\\e[31m\": 1\n");
        assert_int_equal(config_load(&c, p, NULL, capture_warn, err, sizeof(err)), 0);
        assert_int_equal(nwarnings, 1);
        assert_null(strchr(warnings[0], '\n'));
        assert_null(strchr(warnings[0], '\x1b'));
        config_free(&c);
}

static void test_bad_values(void **state)
{
        static const struct {
                const char *yaml, *key;
        } cases[] = {
            {"server:\n  port: abc\n", "server.port"},
            {"server:\n  port: \"9090\"\n", "server.port"},
            {"server:\n  port: 0\n", "server.port"},
            {"server:\n  port: 65536\n", "server.port"},
            {"server:\n  port: 9090.5\n", "server.port"},
            {"server:\n  port: [1]\n", "server.port"},
            {"nginx:\n  http_port: -1\n", "nginx.http_port"},
            {"nginx:\n  https_port: 70000\n", "nginx.https_port"},
            {"autarch:\n  web_port: 0\n", "autarch.web_port"},
            {"autarch:\n  dns_port: 99999\n", "autarch.dns_port"},
            {"server:\n  tls: maybe\n", "server.tls"},
            {"server:\n  tls: 1\n", "server.tls"},
            {"acme:\n  staging: \"yes\"\n", "acme.staging"},
            {"float:\n  enabled: enabled\n", "float.enabled"},
            {"float:\n  max_sessions: 0\n", "float.max_sessions"},
            {"backups:\n  max_age_days: -1\n", "backups.max_age_days"},
            {"backups:\n  max_count: -5\n", "backups.max_count"},
            {"audit:\n  max_age_days: 0\n", "audit.max_age_days"},
            {"audit:\n  max_age_days: ninety\n", "audit.max_age_days"},
            {"logging:\n  max_size_mb: 0\n", "logging.max_size_mb"},
            {"logging:\n  max_backups: -1\n", "logging.max_backups"},
            {"float:\n  session_ttl: forever\n", "float.session_ttl"},
            {"float:\n  session_ttl: 0s\n", "float.session_ttl"},
            {"float:\n  session_ttl: -1h\n", "float.session_ttl"},
            {"float:\n  session_ttl: 24\n", "float.session_ttl"},
            {"logging:\n  level: verbose\n", "logging.level"},
            {"nginx:\n  reload: restart\n", "nginx.reload"},
            {"database:\n  path: \"\"\n", "database.path"},
            {"server:\n  tls: true\n  cert: \"\"\n", "server.cert"},
            {"server:\n  key: ''\n", "server.key"},
            {"server:\n  trusted_proxies: 10.0.0.1\n", "server.trusted_proxies"},
            {"server:\n  trusted_proxies: [10.0.0.1, not-an-ip]\n", "server.trusted_proxies"},
            {"server:\n  trusted_proxies: [10.0.0.0/33]\n", "server.trusted_proxies"},
            {"server:\n  trusted_proxies: [[1]]\n", "server.trusted_proxies"},
            {"server:\n  acme_hostname: \"bad host\"\n", "server.acme_hostname"},
            {"server:\n  acme_hostname: -x.example.com\n", "server.acme_hostname"},
            {"server:\n  acme_hostname: [a.example.com]\n", "server.acme_hostname"},
            {"server:\n  public_ipv4: 2001:db8::1\n", "server.public_ipv4"},
            {"server:\n  public_ipv4: 300.1.2.3\n", "server.public_ipv4"},
            {"server:\n  public_ipv6: 192.0.2.1\n", "server.public_ipv6"},
            {"server:\n  public_ipv6: \"::ffff:192.0.2.1\"\n", "server.public_ipv6"},
            {"monitor:\n  services: [nginx, \"-x\"]\n", "monitor.services"},
            {"monitor:\n  services: [\"a;reboot\"]\n", "monitor.services"},
            {"monitor:\n  services: nginx\n", "monitor.services"},
            {"nginx:\n  webroot: \"/var/www\\n}\"\n", "nginx.webroot"},
            {"nginx:\n  webroot: {a: 1}\n", "nginx.webroot"},
            {"autarch:\n  git_repo: \"ext::sh -c id\"\n", "autarch.git_repo"},
            {"autarch:\n  git_repo: \"--upload-pack=x\"\n", "autarch.git_repo"},
            {"autarch:\n  git_branch: \"-x\"\n", "autarch.git_branch"},
            {"git:\n  ca_bundle: relative/ca.pem\n", "git.ca_bundle"},
            {"git:\n  ca_bundle: /etc/../x.pem\n", "git.ca_bundle"},
            {"git:\n  ca_bundle: \"/etc/ca\\n.pem\"\n", "git.ca_bundle"},
            {"server: 5\n", "server"},
            {"nginx: [a, b]\n", "nginx"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct config c;
                char err[256] = "";
                assert_int_equal(config_defaults(&c), 0);
                const char *p = write_yaml(cases[i].yaml);
                int r = config_load(&c, p, NULL, capture_warn, err, sizeof(err));
                if (r != -EINVAL)
                        fail_msg("case %zu (%s): got %d, want -EINVAL", i, cases[i].key, r);
                if (!strstr(err, cases[i].key))
                        fail_msg("case %zu: err \"%s\" does not name %s", i, err, cases[i].key);
                /* a failed load leaves the previous configuration intact */
                check_defaults(&c);
                assert_null(c.path);
                config_free(&c);
        }
}

static void test_syntax_error(void **state)
{
        struct config c;
        char err[256] = "";
        assert_int_equal(config_defaults(&c), 0);
        const char *p = write_yaml("server:\n  port: 1\n  host: [unclosed\nnginx:\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "line "));
        config_free(&c);

        assert_int_equal(config_defaults(&c), 0);
        p = write_yaml("server:\n  port: 1\n\tbad: tab\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "line 3"));
        config_free(&c);

        /* a bad value reports the line it is on */
        assert_int_equal(config_defaults(&c), 0);
        p = write_yaml("server:\n  host: x\n  port: nope\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "line 3"));
        config_free(&c);

        /* a directory is not a config file */
        assert_int_equal(config_defaults(&c), 0);
        assert_true(config_load(&c, tmpdir, NULL, NULL, err, sizeof(err)) < 0);
        config_free(&c);
}

static void test_staging_switch(void **state)
{
        struct config c;
        char err[256] = "";
        assert_int_equal(config_defaults(&c), 0);
        const char *p = write_yaml("acme:\n  staging: true\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), 0);
        assert_true(c.acme.staging);
        assert_string_equal(c.acme.directory_url, ACME_STAGING);
        config_free(&c);

        assert_int_equal(config_defaults(&c), 0);
        p = write_yaml("acme:\n  staging: off\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), 0);
        assert_string_equal(c.acme.directory_url, ACME_PROD);
        config_free(&c);

        assert_int_equal(config_defaults(&c), 0);
        p = write_yaml("acme:\n  staging: yes\n  directory_url: https://pebble:14000/dir\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), 0);
        assert_string_equal(c.acme.directory_url, "https://pebble:14000/dir");
        config_free(&c);
}

static void test_derived_dirs(void **state)
{
        struct config c;
        char err[256] = "";
        assert_int_equal(config_defaults(&c), 0);
        const char *p = write_yaml("database:\n  path: /tmp/x/data/s.db\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), 0);
        assert_string_equal(c.data_dir, "/tmp/x/data");
        assert_string_equal(c.hosting.dir, "/tmp/x/data/hosting");
        config_free(&c);

        assert_int_equal(config_defaults(&c), 0);
        p = write_yaml("database:\n  path: s.db\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), 0);
        assert_string_equal(c.data_dir, ".");
        assert_string_equal(c.hosting.dir, "./hosting");
        config_free(&c);

        assert_int_equal(config_defaults(&c), 0);
        p = write_yaml("database:\n  path: /s.db\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), 0);
        assert_string_equal(c.data_dir, "/");
        assert_string_equal(c.hosting.dir, "/hosting");
        config_free(&c);
}

static void test_value_forms(void **state)
{
        struct config c;
        char err[256] = "";
        assert_int_equal(config_defaults(&c), 0);
        /* null values keep defaults; accepted bool spellings; warning -> warn */
        const char *p = write_yaml("server:\n  host: ~\n  tls: False\n"
                                   "float:\n  enabled: YES\n  session_ttl: 45s\n"
                                   "logging:\n  level: warning\n"
                                   "server_extra: null\n"
                                   "monitor:\n  services: []\n"
                                   "acme:\n  email: \"\"\n");
        assert_int_equal(config_load(&c, p, NULL, capture_warn, err, sizeof(err)), 0);
        assert_string_equal(c.server.host, "0.0.0.0");
        assert_false(c.server.tls);
        assert_true(c.float_.enabled);
        assert_int_equal(c.float_.session_ttl_s, 45);
        assert_string_equal(c.logging.level, "warn");
        assert_int_equal(c.monitor.services.n, 0);
        assert_int_equal(nwarnings, 1);
        config_free(&c);

        /* loading a second file over a loaded config replaces lists and strings */
        assert_int_equal(config_defaults(&c), 0);
        assert_int_equal(
            config_load(&c, FIXTURES "/config/full.yaml", NULL, NULL, err, sizeof(err)), 0);
        p = write_yaml("server:\n  trusted_proxies: [\"10.1.0.0/16\"]\n");
        assert_int_equal(config_load(&c, p, NULL, NULL, err, sizeof(err)), 0);
        assert_int_equal(c.server.trusted_proxies.n, 1);
        assert_string_equal(c.server.trusted_proxies.items[0], "10.1.0.0/16");
        assert_string_equal(c.nginx.reload, "signal");
        assert_string_equal(c.path, p);
        config_free(&c);
}

static void test_duration(void **state)
{
        static const struct {
                const char *s;
                long sec;
        } ok[] = {
            {"24h", 86400},   {"90m", 5400},
            {"1h30m", 5400},  {"45s", 45},
            {"1.5h", 5400},   {"0", 0},
            {"1h0m1s", 3601}, {"1500ms", 1},
            {"-2m", -120},    {"2562047h", 9223369200},
        };
        for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
                long sec = -999;
                if (config_parse_duration(ok[i].s, &sec) != 0)
                        fail_msg("refused \"%s\"", ok[i].s);
                assert_int_equal(sec, ok[i].sec);
        }
        static const char *const bad[] = {
            "",     "24", "h",    "1d",  "1hh",    "1h 30m",         " 1h",
            "1.h.", ".h", "1e3s", "abc", "1h-30m", "9999999999999h", "1H"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                long sec = 0;
                if (config_parse_duration(bad[i], &sec) != -EINVAL)
                        fail_msg("accepted \"%s\"", bad[i]);
        }
        long sec;
        assert_int_equal(config_parse_duration(NULL, &sec), -EINVAL);
}

static void test_locate(void **state)
{
        assert_string_equal(config_locate("/x/explicit.yaml"), "/x/explicit.yaml");
        assert_int_equal(setenv("SETEC_CONFIG", "/from/env.yaml", 1), 0);
        assert_string_equal(config_locate(NULL), "/from/env.yaml");
        assert_string_equal(config_locate("/x/explicit.yaml"), "/x/explicit.yaml");
        assert_int_equal(setenv("SETEC_CONFIG", "", 1), 0);
        const char *want = access("/etc/setec-manager/config.yaml", F_OK) == 0
                               ? "/etc/setec-manager/config.yaml"
                               : "/opt/setec-manager/config.yaml";
        assert_string_equal(config_locate(NULL), want);
        assert_int_equal(unsetenv("SETEC_CONFIG"), 0);
        assert_string_equal(config_locate(NULL), want);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
            cmocka_unit_test_setup_teardown(test_full_fixture, setup, teardown),
            cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
            cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
            cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
            cmocka_unit_test_setup_teardown(test_staging_switch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_derived_dirs, setup, teardown),
            cmocka_unit_test_setup_teardown(test_value_forms, setup, teardown),
            cmocka_unit_test_setup_teardown(test_duration, setup, teardown),
            cmocka_unit_test_setup_teardown(test_locate, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
