/* The helper's ops for vhosts (nginx transactions, reloads), systemd units, certificate files. */
#include "helper/ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/validate.h"
#include "core/site.h"
#include "sys/nginx.h"
#include "sys/sitemsg.h"
#include "sys/tlscert.h"
#include "sys/units.h"

/* A message of nginx or systemd, cut to what a result holds. */
static void put_msg(struct helper_call *c, const char *m)
{
        if (!str_empty(m))
                helper_msgf(c, "%.60000s", m);
}

/* The site at field at of m, validated against the helper's own config. */
static int take_site(struct helper_call *c, const struct hm_msg *m, unsigned at, struct site *s)
{
        int r = hm_get_site(m, at, s);
        if (r < 0) {
                helper_msgf(c, "malformed site");
                return r;
        }
        char err[512] = "";
        r = site_validate(s, c->cfg, err, sizeof(err));
        if (r < 0) {
                helper_msgf(c, "%s", err[0] ? err : "invalid site");
                site_clear(s);
                return -EINVAL;
        }
        return 0;
}

/* One change of the list at *i (advanced past it). */
static int apply_change(struct helper_call *c, struct nginx_txn *t, const struct hm_msg *m,
                        unsigned *i)
{
        const char *tag = hm_str(m, *i);
        if (!tag) {
                helper_msgf(c, "malformed change %u", *i);
                return -EINVAL;
        }
        (*i)++;
        if (streq(tag, NGINX_CHANGE_SITE)) {
                struct site s;
                int r = take_site(c, m, *i, &s);
                if (r < 0)
                        return r;
                *i += HM_SITE_N;
                strbuf_printf(&c->subject, " site %s", s.domain);
                r = nginx_txn_put_site(t, &s);
                if (r < 0)
                        helper_msgf(c, "cannot write the vhost of %s: %s", s.domain, strerror(-r));
                site_clear(&s);
                return r;
        }
        if (streq(tag, NGINX_CHANGE_DROP)) {
                const char *domain = hm_str(m, *i);
                int64_t remove = hm_int(m, *i + 1, -1);
                if (!domain || (remove != 0 && remove != 1)) {
                        helper_msgf(c, "malformed drop");
                        return -EINVAL;
                }
                *i += 2;
                if (!valid_domain(domain)) {
                        helper_msgf(c, "not a valid domain");
                        return -EINVAL;
                }
                strbuf_printf(&c->subject, " drop %s%s", domain, remove ? " (file)" : "");
                int r = nginx_txn_drop_site(t, domain, remove == 1);
                if (r < 0)
                        helper_msgf(c, "cannot drop the vhost of %s: %s", domain, strerror(-r));
                return r;
        }
        if (streq(tag, NGINX_CHANGE_PANEL)) {
                strbuf_printf(&c->subject, " panel");
                int r = nginx_txn_put_panel(t);
                if (r < 0)
                        helper_msgf(c, "cannot write the panel's vhost: %s", strerror(-r));
                return r;
        }
        helper_msgf(c, "unknown change");
        return -EINVAL;
}

/* ("b" the changes, an HM_REQUEST message of tagged fields: sys/nginx.h) */
int op_nginx_apply(struct helper_call *c)
{
        const struct hm_field *f = &c->req->f[0];
        struct hm_msg m;
        int r = hm_parse(f->data, f->len, &m);
        if (r < 0 || m.kind != HM_REQUEST || m.op != HOP_NGINX_APPLY || m.n == 0) {
                hm_msg_clear(&m);
                helper_msgf(c, "malformed list of changes");
                return r == -ENOMEM ? r : -EINVAL;
        }
        struct nginx_txn *t = NULL;
        r = nginx_txn_begin(c->cfg, &t);
        for (unsigned i = 0; r == 0 && i < m.n;)
                r = apply_change(c, t, &m, &i);
        hm_msg_clear(&m);
        if (r == 0) {
                _cleanup_free_ char *msg = NULL;
                r = nginx_txn_commit(t, &msg);
                put_msg(c, msg);
        }
        nginx_txn_free(t); /* undoes whatever was not committed */
        return r;
}

/* (mode) */
int op_nginx_reload(struct helper_call *c)
{
        int64_t mode = hm_int(c->req, 0, -1);
        _cleanup_free_ char *msg = NULL;
        int r;
        switch (mode) {
        case NGINX_MODE_RELOAD:
                strbuf_printf(&c->subject, "reload");
                r = nginx_reload(c->cfg, &msg);
                break;
        case NGINX_MODE_CHECKED_RELOAD:
                strbuf_printf(&c->subject, "checked reload");
                r = nginx_checked_reload(c->cfg, &msg);
                break;
        case NGINX_MODE_RESTART:
                strbuf_printf(&c->subject, "restart");
                r = nginx_restart(c->cfg, &msg);
                break;
        case NGINX_MODE_TEST:
                strbuf_printf(&c->subject, "test");
                r = nginx_test(c->cfg, &msg);
                if (r >= 0) {
                        hm_add_int(&c->extra, r == 1);
                        r = 0;
                }
                break;
        default:
                helper_msgf(c, "unknown mode");
                return -EINVAL;
        }
        put_msg(c, msg);
        return r;
}

/* (the site) */
int op_unit_install_site(struct helper_call *c)
{
        struct site s;
        int r = take_site(c, c->req, 0, &s);
        if (r < 0)
                return r;
        char unit[300];
        site_unit_name(&s, unit, sizeof(unit));
        strbuf_printf(&c->subject, "%s", unit);
        if (s.id <= 0 || s.app_type == APP_STATIC || !units_is_site_unit(unit)) {
                helper_msgf(c, "%s has no unit", s.domain);
                r = -EINVAL;
        } else {
                r = units_install_site(c->cfg, &s);
                if (r < 0)
                        helper_msgf(c, "cannot install %s: %s", unit, strerror(-r));
        }
        site_clear(&s);
        return r;
}

/* (which, web_port) */
int op_unit_install_autarch(struct helper_call *c)
{
        int64_t which = hm_int(c->req, 0, -1), port = hm_int(c->req, 1, -1);
        if ((which != AUTARCH_UNIT_WEB && which != AUTARCH_UNIT_DNS) || port < 1 || port > 65535) {
                helper_msgf(c, "bad unit or port");
                return -EINVAL;
        }
        const char *name = which == AUTARCH_UNIT_WEB ? AUTARCH_WEB_UNIT : AUTARCH_DNS_UNIT;
        strbuf_printf(&c->subject, "%s", name);
        int r = units_install_autarch(c->cfg, (enum autarch_unit)which, (int)port);
        if (r < 0)
                helper_msgf(c, "cannot install %s: %s", name, strerror(-r));
        return r;
}

/* (name) */
int op_unit_remove(struct helper_call *c)
{
        const char *name = hm_str(c->req, 0);
        if (!units_managed(c->cfg, name, false)) {
                helper_msgf(c, "not a unit the panel installs");
                return -EPERM;
        }
        strbuf_printf(&c->subject, "%s", name);
        int r = unit_remove(c->cfg, name);
        if (r < 0)
                helper_msgf(c, "cannot remove %s: %s", name, strerror(-r));
        return r;
}

#define CONTROL_TIMEOUT_MAX_MS (10u * 60u * 1000u)

/* (name, op, timeout_ms) */
int op_unit_control(struct helper_call *c)
{
        const char *name = hm_str(c->req, 0);
        int64_t op = hm_int(c->req, 1, -1), timeout = hm_int(c->req, 2, -1);
        if (!units_managed(c->cfg, name, true)) {
                helper_msgf(c, "not a unit the panel manages");
                return -EPERM;
        }
        if (op < UNIT_START || op > UNIT_DISABLE || timeout < 0 ||
            timeout > CONTROL_TIMEOUT_MAX_MS) {
                helper_msgf(c, "bad operation or timeout");
                return -EINVAL;
        }
        strbuf_printf(&c->subject, "%s %lld", name, (long long)op);
        char err[512] = "";
        int r = unit_control(name, (enum unit_op)op, (unsigned)timeout, err, sizeof(err));
        if (r < 0)
                put_msg(c, err);
        return r;
}

/* (domain, fullchain, key) */
int op_cert_install(struct helper_call *c)
{
        const char *domain = hm_str(c->req, 0);
        strbuf_printf(&c->subject, "%s", domain && valid_domain(domain) ? domain : "?");
        _cleanup_free_ char *cert = NULL, *key = NULL, *msg = NULL;
        int r = tlscert_install_site(c->cfg, domain, hm_str(c->req, 1), hm_str(c->req, 2), &cert,
                                     &key, &msg);
        if (r < 0) {
                put_msg(c, msg ? msg : strerror(-r));
                return r;
        }
        hm_add_str(&c->extra, cert);
        hm_add_str(&c->extra, key);
        return 0;
}
