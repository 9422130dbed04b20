#include "sys/deploy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/exec.h"
#include "sys/helpcall.h"

#define STEP_TIMEOUT_MS (10u * 60u * 1000u)
/* The deployment record keeps what the callback saw; this only bounds the
 * copy exec keeps for us. */
#define KEEP_OUTPUT (64u * 1024u)

static void emit(deploy_output_fn out, void *ctx, const char *s)
{
        if (out)
                out(ctx, s, strlen(s));
}

static bool safe_arg(const char *s)
{
        if (str_empty(s) || s[0] == '-')
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static bool safe_dir(const char *s)
{
        return safe_arg(s) && s[0] == '/';
}

/* A path git's config syntax takes verbatim (no quote, backslash, '#', ';'). */
static bool config_safe_path(const char *s)
{
        return safe_dir(s) && !strpbrk(s, "\"\\#;") && strlen(s) < 4000;
}

/* The environment of a step: never a prompt (nobody answers), the private
 * CA of git.ca_bundle, and for a local source repository a global git
 * config, written by us and read-only to the step, that trusts exactly that
 * repository (git drops -c and GIT_CONFIG_* for local transports). */
struct step_env {
        const char *env[5];
        char cainfo[4200];
        char global[4200];
        char global_file[64];
};

static int step_env_init(struct step_env *e, const struct deploy_as *as, bool git)
{
        memset(e, 0, sizeof(*e));
        size_t n = 0;
        if (!git)
                return 0;
        e->env[n++] = "GIT_TERMINAL_PROMPT=0";
        if (as && !str_empty(as->ca_bundle)) {
                if (!safe_dir(as->ca_bundle))
                        return -EINVAL;
                snprintf(e->cainfo, sizeof(e->cainfo), "GIT_SSL_CAINFO=%s", as->ca_bundle);
                e->env[n++] = e->cainfo;
        }
        if (as && as->user && !str_empty(as->local_source)) {
                if (!config_safe_path(as->local_source))
                        return -EINVAL;
                snprintf(e->global_file, sizeof(e->global_file), "/tmp/setec-gitconfig-XXXXXX");
                int fd = mkostemp(e->global_file, O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                _cleanup_strbuf_ struct strbuf c = STRBUF_INIT(0);
                strbuf_printf(&c, "[safe]\n\tdirectory = %s\n\tdirectory = %s/.git\n",
                              as->local_source, as->local_source);
                bool ok =
                    c.data && fchmod(fd, 0644) == 0 && write(fd, c.data, c.len) == (ssize_t)c.len;
                close(fd);
                if (!ok) {
                        unlink(e->global_file);
                        e->global_file[0] = 0;
                        return -EIO;
                }
                snprintf(e->global, sizeof(e->global), "GIT_CONFIG_GLOBAL=%s", e->global_file);
                e->env[n++] = e->global;
        }
        return 0;
}

static void step_env_done(struct step_env *e)
{
        if (e->global_file[0])
                unlink(e->global_file);
}

static int run_step(const struct deploy_as *as, const char *const *argv, const char *cwd, bool git,
                    deploy_output_fn out, void *ctx)
{
        struct exec_user user;
        if (as && as->user) {
                int r = exec_user_lookup(as->user, &user);
                if (r < 0) {
                        _cleanup_strbuf_ struct strbuf m = STRBUF_INIT(0);
                        strbuf_printf(&m, "user %s: %s\n", as->user, strerror(-r));
                        emit(out, ctx, m.data ? m.data : "");
                        return r;
                }
                /* never root through a site user's name */
                if (user.uid == 0 || user.gid == 0)
                        return -EPERM;
        }
        struct step_env e;
        int r = step_env_init(&e, as, git);
        if (r < 0) {
                step_env_done(&e);
                return r;
        }
        struct exec_opts o = {
            .argv = argv,
            /* a site user may not enter the panel's own working directory */
            .cwd = cwd ? cwd : (as && as->user ? "/" : NULL),
            .env = e.env,
            .timeout_ms = STEP_TIMEOUT_MS,
            .max_output = KEEP_OUTPUT,
            .on_output = out,
            .ctx = ctx,
            .user = as && as->user ? &user : NULL,
        };
        struct exec_result res = {0};
        r = exec_run(&o, &res);
        step_env_done(&e);
        if (r < 0) {
                _cleanup_strbuf_ struct strbuf m = STRBUF_INIT(0);
                strbuf_printf(&m, "%s: cannot run: %s\n", argv[0], strerror(-r));
                emit(out, ctx, m.data ? m.data : "");
                return r;
        }
        if (res.timed_out) {
                emit(out, ctx, "timed out\n");
                r = -ETIMEDOUT;
        } else if (res.status != 0) {
                log_debug("deploy: %s exited with %d", argv[0], res.status);
                r = -EIO;
        }
        exec_result_free(&res);
        return r;
}

/* The HTTP process's side: the step runs in the root helper, its output
 * streams back to out. */
static int remote_step(const char *step, const struct deploy_as *as, const char *dir,
                       const char *repo, const char *branch, deploy_output_fn out, void *ctx)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_DEPLOY_STEP);
        hm_add_str(&hb, step);
        hm_add_int(&hb, as ? as->site_id : 0);
        hm_add_str(&hb, dir);
        hm_add_str(&hb, repo);
        hm_add_str(&hb, branch);
        struct helpcall_reply rep;
        int r = helpcall_send(&hb, out, ctx, &rep, NULL);
        /* a failed call or a refusal says why (a failed program's output is
         * there already) */
        _cleanup_strbuf_ struct strbuf m = STRBUF_INIT(0);
        if (!rep.answered)
                strbuf_printf(&m, "%s: %s\n", step, helpcall_strerror(r));
        else if (r < 0 && r != -EIO && *rep.msg)
                strbuf_printf(&m, "%s\n", rep.msg);
        helpcall_reply_free(&rep);
        if (m.len)
                emit(out, ctx, m.data);
        return r;
}

static bool exists(const char *dir, const char *rel)
{
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        if (strbuf_printf(&p, "%s/%s", dir, rel) < 0)
                return false;
        return access(p.data, F_OK) == 0;
}

int deploy_git_clone(const struct deploy_as *as, const char *repo, const char *branch,
                     const char *dest, deploy_output_fn out, void *ctx)
{
        if (helpcall_active())
                return remote_step("git_clone", as, dest, repo, branch, out, ctx);
        /* The repo is validated upstream too; this layer refuses anything
         * git could read as an option on its own. */
        if (!safe_arg(repo) || !valid_git_branch(branch) || !safe_dir(dest))
                return -EINVAL;
        const char *const argv[] = {"git", "clone", "--branch", branch, "--progress",
                                    "--",  repo,    dest,       NULL};
        return run_step(as, argv, NULL, true, out, ctx);
}

int deploy_git_pull(const struct deploy_as *as, const char *dir, deploy_output_fn out, void *ctx)
{
        if (helpcall_active())
                return remote_step("git_pull", as, dir, as ? as->local_source : NULL, NULL, out,
                                   ctx);
        if (!safe_dir(dir))
                return -EINVAL;
        /* Run by the tree's owner (the site user; root for a static site):
         * no safe.directory override, so git itself refuses a tree that is
         * not the runner's, and whatever the tree's .git/config names
         * (core.fsmonitor, hooks) runs with the owner's rights only. */
        const char *const argv[] = {"git", "-C", dir, "pull", "--ff-only", NULL};
        return run_step(as, argv, dir, true, out, ctx);
}

int deploy_python(const struct deploy_as *as, const char *dir, deploy_output_fn out, void *ctx)
{
        if (helpcall_active())
                return remote_step("python", as, dir, NULL, NULL, out, ctx);
        if (!safe_dir(dir))
                return -EINVAL;
        _cleanup_strbuf_ struct strbuf venv = STRBUF_INIT(0);
        _cleanup_strbuf_ struct strbuf pip = STRBUF_INIT(0);
        _cleanup_strbuf_ struct strbuf req = STRBUF_INIT(0);
        if (strbuf_printf(&venv, "%s/venv", dir) < 0 ||
            strbuf_printf(&pip, "%s/venv/bin/pip", dir) < 0 ||
            strbuf_printf(&req, "%s/requirements.txt", dir) < 0)
                return -ENOMEM;
        int r;
        if (!exists(dir, "venv/bin/python3")) {
                /* The system interpreter: a venv of some per-user python (pyenv)
                 * would point into a home directory the unit cannot see. */
                const char *py =
                    access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
                const char *const argv[] = {py, "-m", "venv", "--", venv.data, NULL};
                emit(out, ctx, "$ python3 -m venv venv\n");
                r = run_step(as, argv, dir, false, out, ctx);
                if (r < 0)
                        return r;
        }
        if (access(req.data, F_OK) != 0)
                return 0;
        const char *const argv[] = {
            pip.data, "install", "--disable-pip-version-check", "--no-input", "-r", req.data, NULL};
        emit(out, ctx, "$ pip install -r requirements.txt\n");
        return run_step(as, argv, dir, false, out, ctx);
}

int deploy_node(const struct deploy_as *as, const char *dir, deploy_output_fn out, void *ctx)
{
        if (helpcall_active())
                return remote_step("node", as, dir, NULL, NULL, out, ctx);
        if (!safe_dir(dir))
                return -EINVAL;
        bool lock = exists(dir, "package-lock.json");
        if (!lock && !exists(dir, "package.json"))
                return 0;
        const char *const argv[] = {"npm", lock ? "ci" : "install", "--no-audit", "--no-fund",
                                    NULL};
        emit(out, ctx, lock ? "$ npm ci\n" : "$ npm install\n");
        return run_step(as, argv, dir, false, out, ctx);
}

static bool port_free(int port)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        return ok;
}

int deploy_pick_port(int lo, int hi, const int *used, size_t n)
{
        if (lo < 1 || hi > 65535 || lo > hi)
                return 0;
        for (int p = lo; p <= hi; p++) {
                bool taken = false;
                for (size_t i = 0; i < n && !taken; i++)
                        taken = used[i] == p;
                if (!taken && port_free(p))
                        return p;
        }
        return 0;
}
