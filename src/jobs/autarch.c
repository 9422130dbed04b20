#include "jobs/autarch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/accounts.h"
#include "sys/autarch.h"
#include "sys/files.h"
#include "sys/exec.h"
#include "sys/gitread.h"
#include "sys/services.h"
#include "sys/units.h"

#define UNIT_TIMEOUT_MS (90u * 1000u)

/* ---- context ---- */

struct autarch_ctx *autarch_ctx_new(const struct config *cfg)
{
        struct autarch_ctx *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->dir = strdup(cfg->autarch.install_dir ? cfg->autarch.install_dir : "");
        c->repo = strdup(cfg->autarch.git_repo ? cfg->autarch.git_repo : "");
        c->branch = strdup(cfg->autarch.git_branch ? cfg->autarch.git_branch : "main");
        c->unit_dir = strdup(cfg->systemd.unit_dir ? cfg->systemd.unit_dir : "");
        c->web_port = cfg->autarch.web_port;
        c->upgrade_pip = cfg->autarch.upgrade_pip;
        c->cfg = cfg;
        if (!c->dir || !c->repo || !c->branch || !c->unit_dir) {
                autarch_ctx_free(c);
                return NULL;
        }
        return c;
}

void autarch_ctx_free(void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!c)
                return;
        free(c->dir);
        free(c->repo);
        free(c->branch);
        free(c->unit_dir);
        free(c);
}

/* ---- helpers ---- */

/* The reason of the failing step (the engine puts "<step> failed: " in
 * front). Returns rc (< 0). */
static int failf(struct job *j, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(struct job *j, int rc, const char *fmt, ...)
{
        char msg[800];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        job_fail(j, "%s", msg);
        return rc < 0 ? rc : -EIO;
}

static char *path_in(const struct autarch_ctx *c, const char *rel)
{
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        if (strbuf_printf(&p, "%s/%s", c->dir, rel) < 0)
                return NULL;
        return strbuf_steal(&p);
}

static bool exists_in(const struct autarch_ctx *c, const char *rel)
{
        _cleanup_free_ char *p = path_in(c, rel);
        return p && access(p, F_OK) == 0;
}

/* One step in the root helper (sys/autarch.c builds its argv from the
 * helper's config), its output to the job. */
static int run_step(struct job *j, struct autarch_ctx *c, const char *step, const char *arg,
                    long long flags, long long *made)
{
        char err[600] = "";
        int r = autarch_step(c->cfg, step, arg, flags, job_output, j, made, err, sizeof(err));
        if (r < 0)
                return failf(j, r, "%s", err[0] ? err : strerror(-r));
        return 0;
}

static bool unit_running(const char *unit)
{
        struct unit_state st;
        return unit_state(unit, &st) == 0 && st.running;
}

/* ---- install ---- */

static int step_clone(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (str_empty(c->dir) || c->dir[0] != '/' || !valid_git_branch(c->branch) ||
            str_empty(c->repo) || c->repo[0] == '-')
                return failf(j, -EINVAL,
                             "autarch.install_dir, git_repo or git_branch is not usable");
        _cleanup_free_ char *git = path_in(c, ".git");
        if (git && access(git, F_OK) == 0)
                return failf(j, -EEXIST, "AUTARCH already installed at %s", c->dir);
        struct stat st;
        c->dir_existed = stat(c->dir, &st) == 0;
        job_set_data(j, "dir", json_string(c->dir));
        job_set_data(j, "dir_existed", json_boolean(c->dir_existed));
        long long made = 0;
        int r = run_step(j, c, "clone", NULL, 0, &made);
        c->parent_made = made & 2;
        return r;
}

/* Whatever the clone (and every later step) put into dir goes; a dir that
 * was there (empty) before stays, a parent the clone made goes when empty. */
static void undo_clone(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (str_empty(c->dir) || c->dir[0] != '/' || streq(c->dir, "/"))
                return;
        char err[600] = "";
        int r = autarch_step(c->cfg, "clone_undo", NULL,
                             (c->dir_existed ? 1 : 0) | (c->parent_made ? 2 : 0), job_output, j,
                             NULL, err, sizeof(err));
        if (r < 0)
                job_printf(j, "undo: %s\n", err[0] ? err : strerror(-r));
}

static int step_venv(struct job *j, void *ctx)
{
        return run_step(j, ctx, "venv", NULL, 0, NULL);
}

static int step_upgrade_pip(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!c->upgrade_pip)
                return JOB_SKIP;
        return run_step(j, c, "upgrade_pip", NULL, 0, NULL);
}

static int step_pip(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!exists_in(c, "requirements.txt"))
                return JOB_SKIP;
        return run_step(j, c, "pip", NULL, 0, NULL);
}

static int step_npm(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!exists_in(c, "package.json"))
                return JOB_SKIP;
        return run_step(j, c, "npm", NULL, 0, NULL);
}

/* Before anything is made outside the install dir: units need systemd. */
static int step_systemd(struct job *j, void *ctx)
{
        (void)ctx;
        struct sd_bus *bus = NULL;
        int r = services_bus(2000, &bus);
        if (r < 0)
                return failf(j, r, "no system bus reachable (%s): is systemd running?",
                             strerror(-r));
        job_printf(j, "system bus reachable\n");
        return 0;
}

static int step_user(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        long long made = 0;
        int r = run_step(j, c, "user", NULL, 0, &made);
        if (made)
                c->user_made = true;
        return r;
}

static void undo_user(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!c->user_made)
                return;
        char err[600] = "";
        if (autarch_step(c->cfg, "user_undo", NULL, 0, job_output, j, NULL, err, sizeof(err)) == 0)
                job_printf(j, "undo: user %s removed\n", AUTARCH_USER);
        else
                job_printf(j, "undo: userdel %s failed\n", AUTARCH_USER);
        c->user_made = false;
}

/* The data directories of the reference, the tree to the autarch user,
 * the settings file 0600. */
static int step_permissions(struct job *j, void *ctx)
{
        return run_step(j, ctx, "permissions", NULL, 0, NULL);
}

static int install_one_unit(struct job *j, struct autarch_ctx *c, enum autarch_unit which,
                            const char *name)
{
        _cleanup_free_ char *text = unit_render_autarch(which, c->dir, AUTARCH_USER, c->web_port);
        if (!text)
                return failf(j, -EINVAL, "cannot render %s (install_dir %s)", name, c->dir);
        struct config cfg = {0};
        cfg.systemd.unit_dir = c->unit_dir;
        cfg.autarch.install_dir = c->dir;
        int r = units_install_autarch(&cfg, which, c->web_port);
        if (r < 0)
                return failf(j, r, "cannot install %s: %s", name, strerror(-r));
        job_printf(j, "%s/%s written\n", c->unit_dir, name);
        return 0;
}

static int step_units(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        c->units_made = true; /* the undo removes whatever got written */
        job_set_data(j, "units", json_true());
        int r = install_one_unit(j, c, AUTARCH_UNIT_WEB, AUTARCH_WEB_UNIT);
        if (r == 0)
                r = install_one_unit(j, c, AUTARCH_UNIT_DNS, AUTARCH_DNS_UNIT);
        if (r == 0)
                job_printf(j, "units installed and daemon-reloaded (not started)\n");
        return r;
}

static void undo_units(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!c->units_made)
                return;
        struct config cfg = {0};
        cfg.systemd.unit_dir = c->unit_dir;
        const char *units[] = {AUTARCH_WEB_UNIT, AUTARCH_DNS_UNIT};
        for (size_t i = 0; i < 2; i++) {
                /* without a bus the file goes all the same (unit_remove) */
                int r = unit_remove(&cfg, units[i]);
                job_printf(j, "undo: %s removed%s%s\n", units[i], r < 0 ? ": " : "",
                           r < 0 ? strerror(-r) : "");
        }
}

/* The panel stopped during an install: what the clone step recorded goes,
 * as its undo would have done, so the next install starts clean. */
static void recover_install(const struct config *cfg, struct db *db, const char *subject,
                            json_t *data, const char *failed_step)
{
        (void)db;
        (void)subject;
        const char *dir = json_string_value(json_object_get(data, "dir"));
        if (!dir || dir[0] != '/' || streq(dir, "/"))
                return;
        log_warn("autarch: an install was interrupted (step %s): removing %s",
                 failed_step && *failed_step ? failed_step : "?", dir);
        /* the helper removes its own install_dir only */
        if (!streq(dir, cfg->autarch.install_dir ? cfg->autarch.install_dir : ""))
                return;
        char err[600] = "";
        int r = autarch_step(cfg, "clone_undo", NULL,
                             json_is_true(json_object_get(data, "dir_existed")) ? 1 : 0, NULL, NULL,
                             NULL, err, sizeof(err));
        if (r < 0)
                log_warn("autarch: %s", err[0] ? err : strerror(-r));
        if (json_is_true(json_object_get(data, "units"))) {
                unit_remove(cfg, AUTARCH_WEB_UNIT);
                unit_remove(cfg, AUTARCH_DNS_UNIT);
        }
}

/* The user first: the tree is its own from the clone on, and the venv, pip
 * and npm steps (the repository's code) run as it, never as root. */
static const struct job_step install_steps[] = {
    {"systemd", step_systemd, NULL},         {"user", step_user, undo_user},
    {"clone", step_clone, undo_clone},       {"venv", step_venv, NULL},
    {"upgrade pip", step_upgrade_pip, NULL}, {"pip install", step_pip, NULL},
    {"npm install", step_npm, NULL},         {"permissions", step_permissions, NULL},
    {"units", step_units, undo_units},
};

const struct job_kind autarch_install_kind = {
    .name = "autarch_install",
    .steps = install_steps,
    .nsteps = ARRAY_SIZE(install_steps),
    .recover = recover_install,
    .free_ctx = autarch_ctx_free,
};

/* ---- update ---- */

static int require_installed(struct job *j, struct autarch_ctx *c)
{
        if (!exists_in(c, ".git"))
                return failf(j, -ENOENT, "AUTARCH is not installed at %s", c->dir);
        return 0;
}

static int step_pull(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        int r = require_installed(j, c);
        if (r < 0)
                return r;
        c->web_was_running = unit_running(AUTARCH_WEB_UNIT);
        c->dns_was_running = unit_running(AUTARCH_DNS_UNIT);
        if (git_head_hash(c->dir, c->old_head) < 0)
                c->old_head[0] = '\0';
        return run_step(j, c, "pull", NULL, 0, NULL);
}

/* A failed update goes back to the commit that was running. */
static void undo_pull(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        char now[GIT_HASH_HEX + 1];
        if (!c->old_head[0] || git_head_hash(c->dir, now) < 0 || streq(now, c->old_head))
                return;
        char err[600] = "";
        if (autarch_step(c->cfg, "reset", c->old_head, 0, job_output, j, NULL, err, sizeof(err)) ==
            0)
                job_printf(j, "undo: back at %.7s\n", c->old_head);
        else
                job_printf(j, "undo: git reset to %.7s failed: %s\n", c->old_head, err);
}

static int step_venv_if_missing(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (exists_in(c, "venv/bin/python3"))
                return JOB_SKIP;
        return step_venv(j, ctx);
}

static int restart_if(struct job *j, struct autarch_ctx *c, const char *unit, bool was)
{
        if (!was) {
                job_printf(j, "%s was not running: left stopped\n", unit);
                return 0;
        }
        char err[512] = "";
        job_printf(j, "restarting %s\n", unit);
        int r = unit_control(unit, UNIT_RESTART, UNIT_TIMEOUT_MS, err, sizeof(err));
        if (r < 0)
                return failf(j, r, "%s: %s", unit, err[0] ? err : strerror(-r));
        return 0;
}

static int step_restart(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!c->web_was_running && !c->dns_was_running)
                return JOB_SKIP;
        int r = restart_if(j, c, AUTARCH_WEB_UNIT, c->web_was_running);
        if (r == 0)
                r = restart_if(j, c, AUTARCH_DNS_UNIT, c->dns_was_running);
        return r;
}

static const struct job_step update_steps[] = {
    {"git pull", step_pull, undo_pull},      {"venv", step_venv_if_missing, NULL},
    {"pip install", step_pip, NULL},         {"npm install", step_npm, NULL},
    {"permissions", step_permissions, NULL}, {"restart", step_restart, NULL},
};

const struct job_kind autarch_update_kind = {
    .name = "autarch_update",
    .steps = update_steps,
    .nsteps = ARRAY_SIZE(update_steps),
    .free_ctx = autarch_ctx_free,
};

/* ---- DNS build ---- */

static int step_go_build(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        int r = require_installed(j, c);
        if (r < 0)
                return r;
        c->dns_was_running = unit_running(AUTARCH_DNS_UNIT);
        _cleanup_free_ char *src = path_in(c, "services/dns-server");
        if (!src)
                return failf(j, -ENOMEM, "out of memory");
        struct stat st;
        if (stat(src, &st) < 0 || !S_ISDIR(st.st_mode))
                return failf(j, -ENOENT, "no services/dns-server in %s", c->dir);
        return run_step(j, c, "go_build", NULL, 0, NULL);
}

static int step_dns_restart(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!c->dns_was_running)
                return JOB_SKIP;
        return restart_if(j, c, AUTARCH_DNS_UNIT, true);
}

static const struct job_step dns_steps[] = {
    {"go build", step_go_build, NULL},
    {"restart", step_dns_restart, NULL},
};

const struct job_kind autarch_dns_build_kind = {
    .name = "autarch_dns_build",
    .steps = dns_steps,
    .nsteps = ARRAY_SIZE(dns_steps),
    .free_ctx = autarch_ctx_free,
};
