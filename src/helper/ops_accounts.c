/* The helper's ops for ufw rules and state, system accounts, per-site users.
 * Every value is checked again here with the sys/ rules (fw_new_rule_check,
 * fw_delete_argv's, accounts_valid_*, the helper's own /etc/shells and
 * nginx.webroot) before the sys/ function (which checks once more) runs. */
#include "helper/ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/validate.h"
#include "sys/accounts.h"
#include "sys/firewall.h"

#define SHELLS_FILE "/etc/shells"

/* The sys/ function's *err (or a refusal's text) into the result's message (call it
 * after the function: the order of arguments is not defined). */
static int done(struct helper_call *c, int rc, const char *err)
{
        if (!str_empty(err))
                helper_msgf(c, "%s", err);
        return rc;
}

static int refuse(struct helper_call *c, const char *why)
{
        helper_msgf(c, "%s", why);
        return -EINVAL;
}

/* ---- ufw ---- */

int op_fw_read(struct helper_call *c)
{
        /* the commands' texts only: the HTTP process parses them */
        struct fw_texts t;
        _cleanup_free_ char *err = NULL;
        int rc = fw_read_texts(&t, &err);
        if (rc < 0)
                return done(c, rc, err);
        hm_add_str(&c->extra, t.verbose);
        hm_add_str(&c->extra, t.added);
        hm_add_str(&c->extra, t.numbered ? t.numbered : "");
        fw_texts_free(&t);
        /* room left for the result's own fields */
        if (hm_end(&c->extra) < 0 || c->extra.b.len > HM_MAX - 1024) {
                hm_begin(&c->extra, HM_RESULT, HOP_NONE);
                return done(c, -E2BIG, "ufw's listings are too large to answer");
        }
        return 0;
}

int op_fw_add(struct helper_call *c)
{
        const struct fw_new_rule r = {.port = hm_str(c->req, 0),
                                      .protocol = hm_str(c->req, 1),
                                      .source = hm_str(c->req, 2),
                                      .action = hm_str(c->req, 3),
                                      .comment = hm_str(c->req, 4)};
        const char *bad = fw_new_rule_check(&r);
        if (bad)
                return refuse(c, bad);
        strbuf_printf(&c->subject, "%s %s/%s from %s", r.action, r.port,
                      *r.protocol ? r.protocol : "any", r.source);
        _cleanup_free_ char *err = NULL;
        int rc = fw_add(&r, &err);
        return done(c, rc, err);
}

int op_fw_delete(struct helper_call *c)
{
        /* the rule's spec, one token a line */
        _cleanup_free_ char *text = strdup(hm_str(c->req, 0));
        char *spec[64];
        size_t n = 0;
        if (!text)
                return -ENOMEM;
        char *save = NULL;
        for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                if (n + 1 >= ARRAY_SIZE(spec))
                        return refuse(c, "rule spec too long");
                spec[n++] = t;
        }
        spec[n] = NULL;
        /* an empty line would have been skipped above: the tokens must add
         * up to the whole text again */
        size_t total = n ? n - 1 : 0;
        for (size_t i = 0; i < n; i++)
                total += strlen(spec[i]);
        if (total != strlen(hm_str(c->req, 0)))
                return refuse(c, "rule spec has an empty token");
        const char *argv[ARRAY_SIZE(spec) + 4];
        struct fw_rule r = {.spec = spec};
        if (fw_delete_argv(&r, argv, ARRAY_SIZE(argv)) < 0)
                return refuse(c, "not one rule's spec (an option, a control character, no "
                                 "action first)");
        for (size_t i = 0; i < n; i++)
                strbuf_printf(&c->subject, "%s%s", i ? " " : "", spec[i]);
        r.text = c->subject.data;
        _cleanup_free_ char *err = NULL;
        int rc = fw_delete(&r, &err);
        return done(c, rc, err);
}

int op_fw_enable(struct helper_call *c)
{
        int64_t port = hm_int(c->req, 0, 0), allow = hm_int(c->req, 1, -1);
        /* only the panel's own port is kept open by enabling */
        if (port != c->cfg->server.port)
                return refuse(c, "panel port is not the configured server.port");
        if (allow < 0 || (allow & ~(int64_t)(FW_ALLOW_PANEL | FW_ALLOW_SSH)))
                return refuse(c, "unknown allow flags");
        strbuf_printf(&c->subject, "panel port %d%s%s", (int)port,
                      allow & FW_ALLOW_PANEL ? " +allow panel" : "",
                      allow & FW_ALLOW_SSH ? " +allow ssh" : "");
        _cleanup_free_ char *err = NULL;
        int rc = fw_enable_allowing((int)port, (unsigned)allow, &err);
        return done(c, rc, err);
}

int op_fw_disable(struct helper_call *c)
{
        _cleanup_free_ char *err = NULL;
        int rc = fw_disable(&err);
        return done(c, rc, err);
}

/* ---- system accounts ---- */

int op_user_create(struct helper_call *c)
{
        const char *name = hm_str(c->req, 0), *pw = hm_str(c->req, 1), *shell = hm_str(c->req, 2);
        /* never the password in a message or the log line */
        if (!accounts_valid_name(name))
                return refuse(c, "invalid user name");
        strbuf_printf(&c->subject, "%s", name);
        if (!accounts_valid_password(pw))
                return refuse(c, "invalid password");
        if (!accounts_shell_allowed(SHELLS_FILE, shell))
                return refuse(c, "shell not listed in " SHELLS_FILE);
        strbuf_printf(&c->subject, " shell %s", shell);
        _cleanup_free_ char *err = NULL;
        int rc = accounts_create(name, pw, shell, SHELLS_FILE, &err);
        return done(c, rc, err);
}

int op_user_delete(struct helper_call *c)
{
        const char *name = hm_str(c->req, 0);
        if (!accounts_valid_name(name))
                return refuse(c, "invalid user name");
        strbuf_printf(&c->subject, "%s", name);
        if (accounts_protected_name(name)) {
                helper_msgf(c, "protected account");
                return -EPERM;
        }
        bool home_kept = false;
        _cleanup_free_ char *err = NULL;
        int rc = accounts_delete(name, &home_kept, &err);
        hm_add_int(&c->extra, home_kept);
        return done(c, rc, err);
}

/* The site user of the request's site id into name; false (c->msg set) when
 * the id is no site's. */
static bool site_user(struct helper_call *c, char name[ACCOUNTS_SITE_NAME_MAX])
{
        int64_t id = hm_int(c->req, 0, 0);
        if (accounts_site_user_name(id, name) < 0) {
                helper_msgf(c, "invalid site id %lld", (long long)id);
                return false;
        }
        strbuf_printf(&c->subject, "%s", name);
        return true;
}

int op_site_user_add(struct helper_call *c)
{
        char name[ACCOUNTS_SITE_NAME_MAX];
        if (!site_user(c, name))
                return -EINVAL;
        const char *home = hm_str(c->req, 1);
        /* an app_root: inside the helper's own nginx.webroot */
        if (str_empty(c->cfg->nginx.webroot) || !valid_path_inside(home, c->cfg->nginx.webroot))
                return refuse(c, "home is not an app_root inside nginx.webroot");
        strbuf_printf(&c->subject, " home %s", home);
        _cleanup_free_ char *err = NULL;
        int rc = accounts_site_user_add(name, home, &err);
        hm_add_int(&c->extra, rc == 1);
        return done(c, rc, err);
}

int op_site_user_del(struct helper_call *c)
{
        char name[ACCOUNTS_SITE_NAME_MAX];
        if (!site_user(c, name))
                return -EINVAL;
        _cleanup_free_ char *err = NULL;
        int rc = accounts_site_user_del(name, &err);
        return done(c, rc, err);
}
