/* The nginx vhost for the panel's own host name (server.acme_hostname):
 * its exact text, the redirect to the panel's port, its file name apart
 * from every site's, and refusal of unset or invalid host names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/validate.h"
#include "core/config.h"
#include "sys/nginx.h"

static void set(char **field, const char *v)
{
        free(*field);
        *field = v ? strdup(v) : NULL;
}

static void base_config(struct config *c, const char *host)
{
        assert_int_equal(config_defaults(c), 0);
        set(&c->server.acme_hostname, host);
        set(&c->nginx.certbot_webroot, "/var/www/certbot");
        set(&c->nginx.sites_available, "/etc/nginx/sites-available");
        set(&c->nginx.sites_enabled, "/etc/nginx/sites-enabled");
        c->nginx.http_port = 80;
        c->server.port = 9090;
}

static void test_render(void **state)
{
        (void)state;
        struct config c;
        base_config(&c, "Panel.Example.com");
        char *got = nginx_render_panel_vhost(&c);
        assert_non_null(got);
        assert_string_equal(got, "# Managed by Setec Manager - do not edit\n"
                                 "# the panel's host name: ACME HTTP-01 challenges for its "
                                 "certificate\n"
                                 "server {\n"
                                 "    listen 80;\n"
                                 "    server_name panel.example.com;\n"
                                 "\n"
                                 "    location ^~ /.well-known/acme-challenge/ {\n"
                                 "        root /var/www/certbot;\n"
                                 "        default_type text/plain;\n"
                                 "    }\n"
                                 "\n"
                                 "    location / {\n"
                                 "        return 301 https://$host:9090$request_uri;\n"
                                 "    }\n"
                                 "}\n");
        free(got);

        c.server.port = 443;
        c.nginx.http_port = 8080;
        got = nginx_render_panel_vhost(&c);
        assert_non_null(got);
        assert_non_null(strstr(got, "    listen 8080;\n"));
        assert_non_null(strstr(got, "return 301 https://$host$request_uri;\n"));
        free(got);
        config_free(&c);
}

static void test_path(void **state)
{
        (void)state;
        struct config c;
        base_config(&c, "panel.example.com");
        char *p = nginx_panel_vhost_path(&c);
        assert_string_equal(p, "/etc/nginx/sites-available/setec-panel_panel.example.com");
        /* no site's domain can name the same file */
        assert_false(valid_domain(strrchr(p, '/') + 1));
        free(p);
        config_free(&c);
}

static void test_refuses(void **state)
{
        (void)state;
        static const char *const bad[] = {"", "bad host", "-x.example.com", "a..b", "x/../y"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct config c;
                base_config(&c, bad[i]);
                errno = 0;
                assert_null(nginx_render_panel_vhost(&c));
                assert_int_equal(errno, EINVAL);
                assert_null(nginx_panel_vhost_path(&c));
                config_free(&c);
        }
        /* a webroot that would break out of the directive */
        struct config c;
        base_config(&c, "panel.example.com");
        set(&c.nginx.certbot_webroot, "/var/www/x;\n}");
        assert_null(nginx_render_panel_vhost(&c));
        config_free(&c);
        base_config(&c, "panel.example.com");
        c.server.port = 0;
        assert_null(nginx_render_panel_vhost(&c));
        config_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_render),
            cmocka_unit_test(test_path),
            cmocka_unit_test(test_refuses),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
