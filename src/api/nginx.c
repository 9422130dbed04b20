/* Nginx section: GET /nginx, POST /nginx/reload (tested first),
 * POST /nginx/restart, GET /nginx/config/{domain}, POST /nginx/test. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/json.h"
#include "api/module.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/nginx.h"

/* nginx output and hand-edited vhosts need not be UTF-8; JSON must be. */
static json_t *text_json(const char *s)
{
        if (!s)
                s = "";
        json_t *j = json_string(s);
        if (j)
                return j;
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return NULL;
        for (char *p = copy; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        *p = '?';
        return json_string(copy);
}

static void nginx_overview(struct http_req *r)
{
        const struct config *cfg = app_of(r)->cfg;
        bool running = false;
        char state[32] = "unknown";
        nginx_status(cfg, &running, state, sizeof(state));
        _cleanup_free_ char *out = NULL;
        int valid = nginx_test(cfg, &out);
        api_reply_json(r, 200,
                       json_pack("{s:b,s:s,s:o,s:b}", "running", running, "status", state,
                                 "config_test", text_json(out), "config_ok", valid == 1));
}

static void reply_done(struct http_req *r, const char *what)
{
        if (api_body_is_form(r)) {
                http_redirect(r, 303, "/nginx");
                return;
        }
        api_reply_status(r, 200, what);
}

static void nginx_reload_h(struct http_req *r)
{
        _cleanup_free_ char *msg = NULL;
        int rc = nginx_checked_reload(app_of(r)->cfg, &msg);
        if (rc == -EINVAL) {
                /* the seed's message, plus nginx's own words for the UI */
                api_reply_json(r, 400,
                               json_pack("{s:s,s:o}", "error",
                                         "nginx config test failed -- not reloading", "output",
                                         text_json(msg)));
                return;
        }
        if (rc == -ENOENT) {
                http_reply_error(r, 503, "nginx is not installed");
                return;
        }
        if (rc < 0) {
                http_reply_errorf(r, 500, "nginx reload failed: %s", msg ? msg : strerror(-rc));
                return;
        }
        reply_done(r, "reloaded");
}

static void nginx_restart_h(struct http_req *r)
{
        _cleanup_free_ char *msg = NULL;
        int rc = nginx_restart(app_of(r)->cfg, &msg);
        if (rc == -ENOENT) {
                http_reply_error(r, 503, "nginx is not installed");
                return;
        }
        if (rc < 0) {
                http_reply_errorf(r, 500, "nginx restart failed: %s", msg ? msg : strerror(-rc));
                return;
        }
        reply_done(r, "restarted");
}

static void nginx_config_h(struct http_req *r)
{
        const char *param = http_param(r, "domain");
        if (!param || !valid_domain(param)) {
                http_reply_error(r, 400, "domain must be a valid DNS host name");
                return;
        }
        _cleanup_free_ char *domain = strdup(param);
        if (!domain) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        str_tolower(domain);
        _cleanup_free_ char *text = NULL;
        int rc = nginx_read_vhost(app_of(r)->cfg, domain, &text);
        if (rc == -ENOENT) {
                http_reply_errorf(r, 404, "config not found for %s", domain);
                return;
        }
        if (rc < 0) {
                http_reply_errorf(r, 500, "cannot read the config of %s: %s", domain,
                                  strerror(-rc));
                return;
        }
        api_reply_json(r, 200, json_pack("{s:s,s:o}", "domain", domain, "config", text_json(text)));
}

static void nginx_test_h(struct http_req *r)
{
        _cleanup_free_ char *out = NULL;
        int valid = nginx_test(app_of(r)->cfg, &out);
        api_reply_json(r, 200,
                       json_pack("{s:o,s:b}", "output", text_json(out), "valid", valid == 1));
}

static const struct route nginx_routes[] = {
    {"GET", "/nginx", nginx_overview, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
    {"POST", "/nginx/reload", nginx_reload_h, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/nginx/restart", nginx_restart_h, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"GET", "/nginx/config/{domain}", nginx_config_h, ROUTE_USER, ROUTE_WORKER, NULL},
    {"POST", "/nginx/test", nginx_test_h, ROUTE_ADMIN, ROUTE_WORKER, NULL},
};

const struct api_module nginx_module = {"nginx", nginx_routes, ARRAY_SIZE(nginx_routes), NULL,
                                        NULL};
