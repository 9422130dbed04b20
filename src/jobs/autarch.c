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

/* Time limits per step (a hung mirror must not hold the subject forever). */
#define CLONE_TIMEOUT_MS (10u * 60u * 1000u)
#define VENV_TIMEOUT_MS  (5u * 60u * 1000u)
#define PIP_TIMEOUT_MS   (20u * 60u * 1000u)
#define NPM_TIMEOUT_MS   (10u * 60u * 1000u)
#define GO_TIMEOUT_MS    (10u * 60u * 1000u)
#define SMALL_TIMEOUT_MS (60u * 1000u)
#define UNIT_TIMEOUT_MS  (90u * 1000u)
#define KEEP_OUTPUT      (64u * 1024u)

static const char *const data_dirs[] = {"data",    "data/certs", "data/dns",
                                        "results", "dossiers",   "models"};

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

/* The last non-empty line of out (for the error text), at most 300 bytes. */
static void last_line(const char *out, char *buf, size_t len)
{
        buf[0] = '\0';
        if (!out)
                return;
        size_t n = strlen(out);
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
                n--;
        size_t s = n;
        while (s > 0 && out[s - 1] != '\n' && out[s - 1] != '\r')
                s--;
        size_t k = n - s < len - 1 ? n - s : len - 1;
        memcpy(buf, out + s, k);
        buf[k] = '\0';
        /* no cut UTF-8 sequence at the end */
        while (k > 0 && ((unsigned char)buf[k - 1] & 0x80)) {
                if (((unsigned char)buf[k - 1] & 0xc0) == 0xc0) {
                        buf[k - 1] = '\0';
                        break;
                }
                k--;
        }
}

/* Run a program for the current step with its output going to the job. */
static int run_prog(struct job *j, struct autarch_ctx *c, const char *const *argv, const char *cwd,
                    const char *const *env, unsigned timeout_ms)
{
        _cleanup_strbuf_ struct strbuf shown = STRBUF_INIT(0);
        strbuf_puts(&shown, "$");
        for (size_t i = 0; argv[i]; i++)
                strbuf_printf(&shown, " %s", argv[i]);
        job_printf(j, "%s\n", shown.data ? shown.data : "");
        struct exec_opts o = {
            .argv = argv,
            .cwd = cwd,
            .env = env,
            .timeout_ms = timeout_ms,
            .max_output = KEEP_OUTPUT,
            .on_output = job_output,
            .ctx = j,
        };
        struct exec_result res = {0};
        int r = exec_run(&o, &res);
        if (r < 0)
                return failf(j, r, "cannot run %s: %s", argv[0], strerror(-r));
        char line[300];
        last_line(res.output, line, sizeof(line));
        if (res.timed_out)
                r = failf(j, -ETIMEDOUT, "%s timed out after %u s", argv[0], timeout_ms / 1000);
        else if (res.status != 0)
                r = failf(j, -EIO, "%s exited with status %d%s%s", argv[0], res.status,
                          line[0] ? ": " : "", line);
        exec_result_free(&res);
        return r;
}

static const char *python(void)
{
        return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
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
        _cleanup_free_ char *parent = path_dirname(c->dir);
        if (!parent)
                return failf(j, -ENOMEM, "out of memory");
        if (access(parent, F_OK) != 0) {
                int r = mkdir_p(parent, 0755);
                if (r < 0)
                        return failf(j, r, "mkdir %s: %s", parent, strerror(-r));
                c->parent_made = true;
        }
        /* core.fileMode false: the permission step must not make every file
         * look modified to a later git pull --ff-only */
        const char *const argv[] = {"git",      "clone",   "-c",         "core.fileMode=false",
                                    "--branch", c->branch, "--progress", "--",
                                    c->repo,    c->dir,    NULL};
        static const char *const env[] = {"GIT_TERMINAL_PROMPT=0", NULL};
        return run_prog(j, c, argv, NULL, env, CLONE_TIMEOUT_MS);
}

/* Whatever the clone (and every later step) put into dir goes; a dir that
 * was there (empty) before stays. */
static void undo_clone(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (str_empty(c->dir) || c->dir[0] != '/' || streq(c->dir, "/"))
                return;
        job_printf(j, "undo: removing %s\n", c->dir);
        int r = files_remove(c->dir);
        if (r < 0)
                job_printf(j, "undo: cannot remove %s: %s\n", c->dir, strerror(-r));
        if (c->dir_existed && mkdir(c->dir, 0755) < 0)
                job_printf(j, "undo: cannot recreate %s: %s\n", c->dir, strerror(errno));
}

static int step_venv(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        _cleanup_free_ char *venv = path_in(c, "venv");
        if (!venv)
                return failf(j, -ENOMEM, "out of memory");
        const char *const argv[] = {python(), "-m", "venv", "--", venv, NULL};
        return run_prog(j, c, argv, c->dir, NULL, VENV_TIMEOUT_MS);
}

static const char *const pip_env[] = {"PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
                                      "PYTHONDONTWRITEBYTECODE=1", NULL};

static int step_upgrade_pip(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!c->upgrade_pip)
                return JOB_SKIP;
        _cleanup_free_ char *pip = path_in(c, "venv/bin/pip");
        if (!pip)
                return failf(j, -ENOMEM, "out of memory");
        const char *const argv[] = {pip,   "install",    "--no-input", "--retries",
                                    "1",   "--timeout",  "15",         "--upgrade",
                                    "pip", "setuptools", "wheel",      NULL};
        return run_prog(j, c, argv, c->dir, pip_env, PIP_TIMEOUT_MS);
}

static int step_pip(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!exists_in(c, "requirements.txt"))
                return JOB_SKIP;
        _cleanup_free_ char *pip = path_in(c, "venv/bin/pip");
        _cleanup_free_ char *req = path_in(c, "requirements.txt");
        if (!pip || !req)
                return failf(j, -ENOMEM, "out of memory");
        const char *const argv[] = {pip,         "install", "--no-input", "--retries", "1",
                                    "--timeout", "15",      "-r",         req,         NULL};
        return run_prog(j, c, argv, c->dir, pip_env, PIP_TIMEOUT_MS);
}

static int step_npm(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!exists_in(c, "package.json"))
                return JOB_SKIP;
        _cleanup_strbuf_ struct strbuf cache = STRBUF_INIT(0);
        if (strbuf_printf(&cache, "npm_config_cache=%s/.cache/npm", c->dir) < 0)
                return failf(j, -ENOMEM, "out of memory");
        const char *const env[] = {cache.data,
                                   "npm_config_yes=true",
                                   "npm_config_fetch_retries=1",
                                   "npm_config_fetch_timeout=15000",
                                   "npm_config_update_notifier=false",
                                   NULL};
        bool lock = exists_in(c, "package-lock.json");
        /* without a lock file of its own, none is made: an untracked lock in
         * the checkout would stop a later git pull that brings one */
        const char *const argv[] = {
            "npm",       lock ? "ci" : "install", "--no-audit",
            "--no-fund", "--ignore-scripts",      lock ? NULL : "--no-package-lock",
            NULL};
        return run_prog(j, c, argv, c->dir, env, NPM_TIMEOUT_MS);
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
        unsigned uid;
        if (accounts_lookup(AUTARCH_USER, &uid) == 0) {
                job_printf(j, "user %s exists (uid %u)\n", AUTARCH_USER, uid);
                return 0;
        }
        const char *const argv[] = {"useradd",          "--system", "--home-dir",        c->dir,
                                    "--no-create-home", "--shell",  "/usr/sbin/nologin", "--",
                                    AUTARCH_USER,       NULL};
        int r = run_prog(j, c, argv, NULL, NULL, SMALL_TIMEOUT_MS);
        if (r == 0)
                c->user_made = true;
        return r;
}

static void undo_user(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        if (!c->user_made)
                return;
        const char *const argv[] = {"userdel", "--", AUTARCH_USER, NULL};
        struct exec_opts o = {.argv = argv, .timeout_ms = SMALL_TIMEOUT_MS, .max_output = 8192};
        struct exec_result res = {0};
        if (exec_run(&o, &res) == 0 && res.status == 0)
                job_printf(j, "undo: user %s removed\n", AUTARCH_USER);
        else
                job_printf(j, "undo: userdel %s failed\n", AUTARCH_USER);
        exec_result_free(&res);
        c->user_made = false;
}

/* The data directories of the reference, the tree to the autarch user,
 * the settings file 0600. */
static int step_permissions(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        for (size_t i = 0; i < ARRAY_SIZE(data_dirs); i++) {
                _cleanup_free_ char *p = path_in(c, data_dirs[i]);
                int r = p ? mkdir_p(p, 0755) : -ENOMEM;
                if (r < 0)
                        return failf(j, r, "mkdir %s: %s", data_dirs[i], strerror(-r));
        }
        int r = units_chown_tree(c->dir, AUTARCH_USER);
        if (r < 0)
                return failf(j, r, "chown %s to %s: %s", c->dir, AUTARCH_USER, strerror(-r));
        _cleanup_free_ char *settings = path_in(c, AUTARCH_SETTINGS);
        if (settings && chmod(settings, 0600) < 0 && errno != ENOENT)
                return failf(j, -errno, "chmod %s: %s", AUTARCH_SETTINGS, strerror(errno));
        if (chmod(c->dir, 0755) < 0)
                return failf(j, -errno, "chmod %s: %s", c->dir, strerror(errno));
        job_printf(j, "%s owned by %s, data directories made, %s mode 0600\n", c->dir, AUTARCH_USER,
                   AUTARCH_SETTINGS);
        return 0;
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
                int r = unit_remove(&cfg, units[i]);
                if (r < 0) {
                        /* no bus: the file goes all the same */
                        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
                        strbuf_printf(&p, "%s/%s", c->unit_dir, units[i]);
                        if (p.data)
                                unlink(p.data);
                }
                job_printf(j, "undo: %s removed\n", units[i]);
        }
}

static void undo_parent(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        (void)j;
        if (!c->parent_made)
                return;
        _cleanup_free_ char *parent = path_dirname(c->dir);
        if (parent)
                rmdir(parent); /* only when still empty */
}

static int step_clone_all(struct job *j, void *ctx)
{
        return step_clone(j, ctx);
}

static void undo_clone_all(struct job *j, void *ctx)
{
        undo_clone(j, ctx);
        undo_parent(j, ctx);
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
        files_remove(dir);
        if (json_is_true(json_object_get(data, "dir_existed")))
                mkdir(dir, 0755);
        if (json_is_true(json_object_get(data, "units"))) {
                unit_remove(cfg, AUTARCH_WEB_UNIT);
                unit_remove(cfg, AUTARCH_DNS_UNIT);
        }
}

static const struct job_step install_steps[] = {
    {"clone", step_clone_all, undo_clone_all},
    {"venv", step_venv, NULL},
    {"upgrade pip", step_upgrade_pip, NULL},
    {"pip install", step_pip, NULL},
    {"npm install", step_npm, NULL},
    {"systemd", step_systemd, NULL},
    {"user", step_user, undo_user},
    {"permissions", step_permissions, NULL},
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
        _cleanup_strbuf_ struct strbuf safe = STRBUF_INIT(0);
        if (strbuf_printf(&safe, "safe.directory=%s", c->dir) < 0)
                return failf(j, -ENOMEM, "out of memory");
        const char *const argv[] = {"git",  "-c",        safe.data,    "-C", c->dir,
                                    "pull", "--ff-only", "--progress", NULL};
        static const char *const env[] = {"GIT_TERMINAL_PROMPT=0", NULL};
        return run_prog(j, c, argv, NULL, env, CLONE_TIMEOUT_MS);
}

/* A failed update goes back to the commit that was running. */
static void undo_pull(struct job *j, void *ctx)
{
        struct autarch_ctx *c = ctx;
        char now[GIT_HASH_HEX + 1];
        if (!c->old_head[0] || git_head_hash(c->dir, now) < 0 || streq(now, c->old_head))
                return;
        _cleanup_strbuf_ struct strbuf safe = STRBUF_INIT(0);
        strbuf_printf(&safe, "safe.directory=%s", c->dir);
        const char *const argv[] = {"git",   "-c",     safe.data,   "-C", c->dir,
                                    "reset", "--hard", c->old_head, NULL};
        struct exec_opts o = {.argv = argv, .timeout_ms = SMALL_TIMEOUT_MS, .max_output = 8192};
        struct exec_result res = {0};
        if (safe.data && exec_run(&o, &res) == 0 && res.status == 0)
                job_printf(j, "undo: back at %.7s\n", c->old_head);
        else
                job_printf(j, "undo: git reset to %.7s failed\n", c->old_head);
        exec_result_free(&res);
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
        _cleanup_strbuf_ struct strbuf cache = STRBUF_INIT(0);
        _cleanup_strbuf_ struct strbuf gopath = STRBUF_INIT(0);
        if (strbuf_printf(&cache, "GOCACHE=%s/.cache/go", c->dir) < 0 ||
            strbuf_printf(&gopath, "GOPATH=%s/.cache/gopath", c->dir) < 0)
                return failf(j, -ENOMEM, "out of memory");
        const char *const env[] = {cache.data,          gopath.data,     "GOFLAGS=-mod=mod",
                                   "GOTOOLCHAIN=local", "CGO_ENABLED=0", NULL};
        /* no VCS stamp: git would refuse the tree another user owns */
        const char *const argv[] = {"go", "build", "-buildvcs=false", "-o", "autarch-dns",
                                    ".",  NULL};
        r = run_prog(j, c, argv, src, env, GO_TIMEOUT_MS);
        if (r < 0)
                return r;
        _cleanup_free_ char *cachedir = path_in(c, ".cache");
        _cleanup_free_ char *bin = path_in(c, "services/dns-server/autarch-dns");
        if (cachedir && units_chown_tree(cachedir, AUTARCH_USER) < 0)
                job_printf(j, "note: cannot give %s to %s\n", cachedir, AUTARCH_USER);
        if (bin && units_chown_tree(src, AUTARCH_USER) < 0)
                job_printf(j, "note: cannot give %s to %s\n", src, AUTARCH_USER);
        return 0;
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
