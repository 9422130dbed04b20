/* Firewall (ufw): GET /firewall, GET /api/firewall/status,
 * POST /firewall/rules, DELETE /firewall/rules/{id}, POST /firewall/enable,
 * POST /firewall/disable. The rules are ufw's own, read on every request. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/json.h"
#include "api/module.h"
#include "base/util.h"
#include "sys/firewall.h"

static json_t *rule_json(const struct fw_rule *r)
{
        json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", r->id, "direction",
                              r->direction, "protocol", r->protocol, "port", r->port, "source",
                              r->source, "action", r->action, "comment", r->comment, "destination",
                              r->destination, "interface", r->interface, "rule", r->text);
        if (j && r->v6_id)
                json_object_set_new(j, "v6_id", json_integer(r->v6_id));
        return j;
}

static void reply_read_error(struct http_req *r, int rc, const char *err)
{
        if (rc == -ENOENT) {
                http_reply_error(r, 503, "ufw is not installed");
                return;
        }
        http_reply_errorf(r, 500, "%s", err ? err : "cannot read the firewall state");
}

static void firewall_list(struct http_req *r)
{
        _cleanup_free_ char *err = NULL;
        struct fw_state s;
        fw_lock();
        int rc = fw_read(&s, &err);
        fw_unlock();
        if (rc == -ENOENT) {
                /* a server without ufw still gets a page that says so */
                api_reply_json(r, 200,
                               json_pack("{s:b,s:[],s:s,s:b}", "enabled", 0, "rules", "ufw_output",
                                         "", "installed", 0));
                return;
        }
        if (rc < 0) {
                reply_read_error(r, rc, err);
                return;
        }
        json_t *rules = json_array();
        for (size_t i = 0; i < s.n; i++)
                json_array_append_new(rules, rule_json(&s.rules[i]));
        json_t *defaults =
            json_pack("{s:s?,s:s?,s:s?}", "incoming", s.st.default_incoming, "outgoing",
                      s.st.default_outgoing, "routed", s.st.default_routed);
        api_reply_json(r, 200,
                       json_pack("{s:b,s:o,s:s,s:b,s:s?,s:o}", "enabled", s.active, "rules", rules,
                                 "ufw_output", s.output, "installed", 1, "logging", s.st.logging,
                                 "defaults", defaults));
        fw_state_free(&s);
}

struct rule_body {
        char *port, *protocol, *source, *action, *comment, *direction;
        bool has_port, has_protocol, has_source, has_action, has_comment, has_direction;
};

static const struct field rule_fields[] = {
    FIELD(struct rule_body, FIELD_STRING, port, false, 32),
    FIELD(struct rule_body, FIELD_STRING, protocol, false, 16),
    FIELD(struct rule_body, FIELD_STRING, source, false, 64),
    FIELD(struct rule_body, FIELD_STRING, action, false, 16),
    FIELD(struct rule_body, FIELD_STRING, comment, false, 256),
    FIELD(struct rule_body, FIELD_STRING, direction, false, 16),
};

static void rule_body_free(struct rule_body *b)
{
        fields_free(rule_fields, ARRAY_SIZE(rule_fields), b);
}

static void reply_done(struct http_req *r, int status, const char *what)
{
        if (api_body_is_form(r)) {
                http_redirect(r, 303, "/firewall");
                return;
        }
        api_reply_status(r, status, what);
}

static void firewall_add(struct http_req *r)
{
        __attribute__((cleanup(rule_body_free))) struct rule_body b = {0};
        if (!fields_decode(r, rule_fields, ARRAY_SIZE(rule_fields), &b))
                return;
        if (b.has_direction && !streq(b.direction, "in")) {
                http_reply_error(r, 400, "direction must be in");
                return;
        }
        struct fw_new_rule nr = {
            .port = b.port,
            /* absent = tcp; present and empty = both */
            .protocol = b.has_protocol ? b.protocol : "tcp",
            .source = b.has_source && *b.source ? b.source : "any",
            .action = b.has_action && *b.action ? b.action : "allow",
            .comment = b.has_comment ? b.comment : "",
        };
        const char *bad = fw_new_rule_check(&nr);
        if (bad) {
                http_reply_error(r, 400, bad);
                return;
        }
        _cleanup_free_ char *err = NULL;
        fw_lock();
        int rc = fw_add(&nr, &err);
        fw_unlock();
        if (rc == -EEXIST) {
                http_reply_error(r, 409, "rule already exists");
                return;
        }
        if (rc < 0) {
                if (rc == -ENOENT)
                        http_reply_error(r, 503, "ufw is not installed");
                else
                        http_reply_errorf(r, 500, "ufw add rule failed: %s", err ? err : "error");
                return;
        }
        reply_done(r, 201, "rule added");
}

/* Optional body of DELETE: the rule as the client saw it. When given, the
 * rule with that id must still look like this, else 409 (ufw renumbers rules
 * when one is deleted, so a stale id could name another rule). */
struct expect_body {
        char *port, *protocol, *source, *action;
        bool has_port, has_protocol, has_source, has_action;
};

static const struct field expect_fields[] = {
    FIELD(struct expect_body, FIELD_STRING, port, false, 64),
    FIELD(struct expect_body, FIELD_STRING, protocol, false, 16),
    FIELD(struct expect_body, FIELD_STRING, source, false, 64),
    FIELD(struct expect_body, FIELD_STRING, action, false, 16),
};

static void expect_body_free(struct expect_body *b)
{
        fields_free(expect_fields, ARRAY_SIZE(expect_fields), b);
}

static bool matches(const struct fw_rule *rule, const struct expect_body *e)
{
        return (!e->has_port || streq(e->port, rule->port)) &&
               (!e->has_protocol || streq(e->protocol, rule->protocol)) &&
               (!e->has_source || streq(e->source, rule->source)) &&
               (!e->has_action || streq(e->action, rule->action));
}

static void firewall_delete(struct http_req *r)
{
        long long id;
        /* well-formed = any positive int: an id no rule has is a 404 below */
        if (parse_int64(http_param(r, "id"), 1, INT_MAX, &id) < 0) {
                http_reply_error(r, 400, "invalid id");
                return;
        }
        __attribute__((cleanup(expect_body_free))) struct expect_body e = {0};
        if (!fields_decode(r, expect_fields, ARRAY_SIZE(expect_fields), &e))
                return;
        _cleanup_free_ char *err = NULL;
        struct fw_state s;
        fw_lock();
        /* re-read, match, then delete by the full rule (source included) */
        int rc = fw_read(&s, &err);
        if (rc < 0) {
                fw_unlock();
                reply_read_error(r, rc, err);
                return;
        }
        const struct fw_rule *rule = NULL;
        for (size_t i = 0; i < s.n; i++)
                if (s.rules[i].id == id)
                        rule = &s.rules[i];
        if (!rule) {
                fw_unlock();
                fw_state_free(&s);
                http_reply_error(r, 404, "rule not found");
                return;
        }
        if (!matches(rule, &e)) {
                fw_unlock();
                fw_state_free(&s);
                http_reply_errorf(r, 409, "rule %lld changed since it was listed", id);
                return;
        }
        rc = fw_delete(rule, &err);
        fw_unlock();
        fw_state_free(&s);
        if (rc == -ESTALE) {
                http_reply_errorf(r, 409, "rule %lld changed since it was listed", id);
                return;
        }
        if (rc == -EINVAL) {
                http_reply_errorf(r, 422, "%s", err ? err : "rule cannot be deleted");
                return;
        }
        if (rc < 0) {
                http_reply_errorf(r, 500, "ufw delete rule failed: %s", err ? err : "error");
                return;
        }
        api_reply_status(r, 200, "rule deleted");
}

static void firewall_enable(struct http_req *r)
{
        _cleanup_free_ char *err = NULL;
        fw_lock();
        int rc = fw_enable(app_of(r)->cfg->server.port, &err);
        fw_unlock();
        if (rc < 0) {
                if (rc == -ENOENT)
                        http_reply_error(r, 503, "ufw is not installed");
                else
                        http_reply_errorf(r, 500, "ufw enable failed: %s", err ? err : "error");
                return;
        }
        reply_done(r, 200, "enabled");
}

static void firewall_disable(struct http_req *r)
{
        _cleanup_free_ char *err = NULL;
        fw_lock();
        int rc = fw_disable(&err);
        fw_unlock();
        if (rc < 0) {
                if (rc == -ENOENT)
                        http_reply_error(r, 503, "ufw is not installed");
                else
                        http_reply_errorf(r, 500, "ufw disable failed: %s", err ? err : "error");
                return;
        }
        reply_done(r, 200, "disabled");
}

static const struct route firewall_routes[] = {
    {"GET", "/firewall", firewall_list, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
    {"GET", "/api/firewall/status", firewall_list, ROUTE_USER, ROUTE_WORKER, NULL},
    {"POST", "/firewall/rules", firewall_add, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"DELETE", "/firewall/rules/{id}", firewall_delete, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/firewall/enable", firewall_enable, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/firewall/disable", firewall_disable, ROUTE_ADMIN, ROUTE_WORKER, NULL},
};

const struct api_module firewall_module = {"firewall", firewall_routes, ARRAY_SIZE(firewall_routes),
                                           NULL, NULL};
